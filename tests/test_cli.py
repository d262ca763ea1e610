"""The `yangd` console command, run as a real subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
YANGD = str(Path(sys.executable).with_name("yangd"))


def yangd(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([YANGD, *args], capture_output=True, text=True, input=stdin, cwd=REPO,
                          timeout=120)


def test_tree_prints_rfc8340_diagram() -> None:
    r = yangd("tree", "ietf-interfaces")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "module: ietf-interfaces"
    assert lines[1] == "  +--rw interfaces"
    assert any(line.endswith("+--rw interface* [name]") for line in lines)
    assert any("+--rw ietf-ip:ipv4!" in line for line in lines)  # augments are merged in


def test_tree_unknown_module_fails_cleanly() -> None:
    r = yangd("tree", "no-such-module")
    assert r.returncode == 1
    assert "no implemented module 'no-such-module'" in r.stderr
    assert "Traceback" not in r.stderr


def test_compile_bad_yang_reports_pyang_file_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yang"
    bad.write_text('module bad {\n  yang-version 1.1;\n  namespace "urn:bad";\n  prefix b;\n'
                   '  leaf x { type no-such-type; }\n}\n')
    r = yangd("compile", str(bad), "-o", str(tmp_path / "out"))
    assert r.returncode == 2
    assert f"{bad}:5" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_compile_writes_importable_package(tmp_path: Path) -> None:
    mod = tmp_path / "ex.yang"
    mod.write_text('module ex {\n  yang-version 1.1;\n  namespace "urn:ex";\n  prefix ex;\n'
                   '  container c { leaf n { type uint8 { range "1..9"; } } }\n}\n')
    r = yangd("compile", str(mod), "-o", str(tmp_path / "pkg"))
    assert r.returncode == 0, r.stderr
    from models.compiler.package import import_package

    pkg = import_package(tmp_path / "pkg")
    assert pkg.Root.model_validate({"ex:c": {"n": 9}}).c.n == 9
    r = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]);"
                        "import pkg; pkg.Root.model_validate({'ex:c': {'n': 10}})", str(tmp_path)],
                       capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 1 and "less than or equal to 9" in r.stderr


def test_schema_loads_and_prints_modules() -> None:
    r = yangd("schema")
    assert r.returncode == 0, r.stderr
    assert "ietf-interfaces" in r.stdout and "2018-02-20" in r.stdout
    assert "modules implemented" in r.stdout


def test_schema_with_extra_module_compiles_and_caches(tmp_path: Path) -> None:
    mod = tmp_path / "extra.yang"
    mod.write_text('module extra {\n  yang-version 1.1;\n  namespace "urn:extra";\n  prefix x;\n'
                   '  import ietf-interfaces { prefix if; }\n'
                   '  augment "/if:interfaces/if:interface" { leaf colour { type string; } }\n}\n')
    args = ("schema", "--module", str(mod), "--data-dir", str(tmp_path / "data"))
    r = yangd(*args)
    assert r.returncode == 0, r.stderr
    assert "extra" in r.stdout
    caches = list((tmp_path / "data" / "schema-cache").iterdir())
    assert len(caches) == 1 and (caches[0] / "schema.json").exists()
    stamp = (caches[0] / "schema.json").stat().st_mtime_ns
    assert yangd(*args).returncode == 0
    assert (caches[0] / "schema.json").stat().st_mtime_ns == stamp  # reused, not recompiled
    r = yangd("tree", "extra", "--module", str(mod), "--data-dir", str(tmp_path / "data"))
    assert "augment /ietf-interfaces:interfaces/interface:" in r.stdout
    assert "+--rw extra:colour?" in r.stdout


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_runs_netconf_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    import signal
    import time

    from ncclient import manager

    data = tmp_path / "data"
    r = yangd("users", "add", "admin", "--password-stdin", "--data-dir", str(data), stdin="s3cret\n")
    assert r.returncode == 0, r.stderr
    port, rport = _free_port(), _free_port()
    proc = subprocess.Popen([YANGD, "serve", "--data-dir", str(data), "--netconf-listen",
                             f"127.0.0.1:{port}", "--restconf-listen", f"127.0.0.1:{rport}"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                m = manager.connect(host="127.0.0.1", port=port, username="admin", password="s3cret",
                                    hostkey_verify=False, look_for_keys=False, allow_agent=False,
                                    timeout=10)
                break
            except Exception:
                assert proc.poll() is None and time.monotonic() < deadline, "yangd serve did not start"
                time.sleep(0.3)
        with m:
            assert ":candidate" in " ".join(m.server_capabilities)
            m.edit_config(target="candidate", config="""<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">
              <interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces"
                          xmlns:ianaift="urn:ietf:params:xml:ns:yang:iana-if-type">
                <interface><name>eth0</name><type>ianaift:ethernetCsmacd</type></interface>
              </interfaces></config>""")
            m.commit()
            assert "<name>eth0</name>" in m.get_config(source="running").data_xml
        # the same commit over RESTCONF (HTTPS with the certificate yangd generated)
        import ssl

        import httpx

        tls = ssl.create_default_context(cafile=str(data / "restconf-cert.pem"))
        with httpx.Client(verify=tls, auth=("admin", "s3cret")) as c:
            r = c.get(f"https://127.0.0.1:{rport}/restconf/data/ietf-interfaces:interfaces/interface=eth0",
                      headers={"Accept": "application/yang-data+json"})
            assert r.status_code == 200, r.text
            assert r.json()["ietf-interfaces:interface"][0]["type"] == "iana-if-type:ethernetCsmacd"
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, out
        assert "shutting down" in out and "Traceback" not in out
    finally:
        if proc.poll() is None:
            proc.kill()
    # the commit is durable: a new yangd on the same data directory serves it
    from datastore.store import Store

    st = Store.open(f"sqlite:///{data / 'yangd.db'}")
    try:
        assert st.head() == 1
    finally:
        st.close()
