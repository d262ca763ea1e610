"""The `yangd` console command, run as a real subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

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
        assert st.head() == 2  # users.json imported into ietf-system, then the edit
    finally:
        st.close()


IF_JSON = """{"ietf-interfaces:interfaces": {"interface": [
  {"name": "eth0", "type": "iana-if-type:ethernetCsmacd", "description": "uplink",
   "ietf-ip:ipv4": {"mtu": 1400, "address": [{"ip": "192.0.2.1", "prefix-length": 24}]}},
  {"name": "lo1", "type": "iana-if-type:softwareLoopback", "enabled": false}]}}
"""
BAD_XML = """<data xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">
<interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces"
            xmlns:ianaift="urn:ietf:params:xml:ns:yang:iana-if-type">
  <interface><name>eth0</name><type>ianaift:ethernetCsmacd</type>
    <ipv4 xmlns="urn:ietf:params:xml:ns:yang:ietf-ip"><mtu>20</mtu>
      <address><ip>192.0.2.300</ip><prefix-length>24</prefix-length></address></ipv4>
  </interface>
  <interface><name>eth1</name><colour>red</colour></interface>
</interfaces></data>
"""


def test_validate_good_files_xml_and_json(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(IF_JSON)
    r = yangd("validate", str(good))
    assert (r.returncode, r.stdout.strip(), r.stderr) == (0, "valid", "")
    xml = yangd("convert", str(good), "--to", "xml").stdout
    r = yangd("validate", "-", stdin=xml)
    assert (r.returncode, r.stdout.strip()) == (0, "valid")


def test_validate_bad_files_name_each_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text(BAD_XML)
    r = yangd("validate", str(bad))
    assert r.returncode == 1 and r.stdout == ""
    lines = r.stderr.splitlines()
    assert "/ietf-interfaces:interfaces/interface[name='eth1']/colour: unknown element 'colour'" in lines
    assert ("/ietf-interfaces:interfaces/interface[name='eth0']/ietf-ip:ipv4/mtu: "
            "Input should be greater than or equal to 68") in lines
    assert any(ln.startswith("/ietf-interfaces:interfaces/interface[name='eth0']/ietf-ip:ipv4/"
                             "address[ip='192.0.2.300']/ip: '192.0.2.300' does not match pattern")
               for ln in lines)
    assert len(lines) == 3 and "Traceback" not in r.stderr
    r = yangd("validate", "-", stdin='{"ietf-interfaces:interfaces": {"interface": [{"name": "x", "mtu": 1}]}}')
    assert r.returncode == 1
    assert r.stderr.startswith("/ietf-interfaces:interfaces/interface[name='x']/mtu: ")


def test_convert_round_trips(tmp_path: Path) -> None:
    src = tmp_path / "a.json"
    src.write_text(IF_JSON)
    xml = yangd("convert", str(src), "--to", "xml")
    assert xml.returncode == 0, xml.stderr
    assert "<mtu>1400</mtu>" in xml.stdout and "ianaift:softwareLoopback" in xml.stdout
    back = yangd("convert", "-", "--to", "json", stdin=xml.stdout)
    assert back.returncode == 0, back.stderr
    import json

    assert json.loads(back.stdout) == json.loads(IF_JSON)
    again = yangd("convert", "-", "--to", "xml", stdin=back.stdout)
    assert again.stdout == xml.stdout
    r = yangd("convert", str(src), "--to", "yaml")
    assert r.returncode == 2 and "--to takes json or xml" in r.stderr


def test_config_check_example_and_errors_name_the_key(tmp_path: Path) -> None:
    r = yangd("config", "check", str(REPO / "server" / "yangd.example.toml"))
    assert r.returncode == 0, r.stderr
    assert "valid" in r.stdout and "netconf_listen = 127.0.0.1:8830" in r.stdout
    cases = {
        "max_sessions = \"many\"\n": "max_sessions: expected an integer, not 'many'",
        "listen = 3\n": "unknown configuration keys: listen",
        "log_json = \"yes\"\n": "log_json: expected true or false, not 'yes'",
        "log_level = \"loud\"\n": "log_level: one of debug, info, warning, error, critical",
        "restconf_listen = \"127.0.0.1:70000\"\n": "restconf_listen: port out of range",
        "[drivers.kernel]\nnamespce = \"x\"\n": "[drivers.kernel]: unknown key 'namespce'",
        "[drivers.quantum]\n": "[drivers.quantum]: unknown driver kind 'quantum'",
        "modules = [\"/nonexistent/x.yang\"]\n": "modules: no such file: /nonexistent/x.yang",
        "data_dir = [\n": "cannot read",
    }
    for text, message in cases.items():
        f = tmp_path / "c.toml"
        f.write_text(text)
        r = yangd("config", "check", str(f))
        assert r.returncode == 2, (text, r.stdout)
        assert message in r.stderr and str(f) in r.stderr, (text, r.stderr)
        assert "Traceback" not in r.stderr


def test_serve_logs_json_lines(tmp_path: Path) -> None:
    import json
    import signal

    cfg = tmp_path / "y.toml"
    cfg.write_text(f'data_dir = "{tmp_path / "data"}"\nnetconf_listen = "127.0.0.1:{_free_port()}"\n'
                   f'restconf_listen = "127.0.0.1:{_free_port()}"\nlog_json = true\nlog_level = "info"\n')
    proc = subprocess.Popen([YANGD, "serve", "--config", str(cfg)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=REPO)
    try:
        lines = []
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(json.loads(line))  # every line is one JSON object
            if "head commit" in lines[-1]["message"]:
                break
        import time

        time.sleep(0.5)  # the SIGTERM handler is installed right after that line
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=30)
        lines += [json.loads(ln) for ln in rest.splitlines()]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    start = next(d for d in lines if "head commit" in d["message"])
    assert start["level"] == "info" and start["logger"] == "yangd" and start["time"].endswith("Z")
    assert any(d["message"] == "shutting down" for d in lines)


def test_serve_writes_factory_nacm_and_applies_rfc8341_defaults(tmp_path: Path) -> None:
    """`yangd serve`: the first users get a factory /nacm (admin group, permit-all); a user
    added later is in no group, so the YANG default write-deny holds for them (RFC 8341
    §3.5); deleting /nacm then locks writes, it does not open them."""
    import time

    from ncclient import manager
    from ncclient.operations import RPCError

    nc = "urn:ietf:params:xml:ns:netconf:base:1.0"
    acm = "urn:ietf:params:xml:ns:yang:ietf-netconf-acm"
    iface = (f'<config xmlns="{nc}"><interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces" '
             'xmlns:ianaift="urn:ietf:params:xml:ns:yang:iana-if-type"><interface><name>{n}</name>'
             "<type>ianaift:ethernetCsmacd</type></interface></interfaces></config>")
    data = tmp_path / "data"
    assert yangd("users", "add", "admin", "--password-stdin", "--data-dir", str(data), stdin="s3cret\n").returncode == 0
    port, rport = _free_port(), _free_port()
    proc = subprocess.Popen([YANGD, "serve", "--data-dir", str(data), "--netconf-listen", f"127.0.0.1:{port}",
                             "--restconf-listen", f"127.0.0.1:{rport}"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO)

    def connect(user: str, password: str) -> Any:
        deadline = time.monotonic() + 60
        while True:
            try:
                return manager.connect(host="127.0.0.1", port=port, username=user, password=password,
                                       hostkey_verify=False, look_for_keys=False, allow_agent=False, timeout=10)
            except Exception:
                assert proc.poll() is None and time.monotonic() < deadline, "yangd serve did not start"
                time.sleep(0.3)

    try:
        with connect("admin", "s3cret") as m:
            conf = m.get_config(source="running", filter=("subtree", f'<nacm xmlns="{acm}"/>')).data_xml
            assert "<name>admin</name>" in conf and "<user-name>admin</user-name>" in conf
            assert "<action>permit</action>" in conf
            m.edit_config(target="candidate", config=iface.format(n="eth0"))
            m.commit()
        assert yangd("users", "add", "bob", "--password-stdin", "--data-dir", str(data), stdin="b0b\n").returncode == 0
        with connect("bob", "b0b") as b:  # imported while running; in no group
            assert "<name>eth0</name>" in b.get_config(source="running").data_xml  # read-default permit
            with pytest.raises(RPCError) as e:
                b.edit_config(target="running", config=iface.format(n="eth1"))
            assert e.value.tag == "access-denied"
        with connect("admin", "s3cret") as m:  # the admin removes /nacm: writes lock, not open
            m.edit_config(target="candidate", config=f'<config xmlns="{nc}" xmlns:nc="{nc}">'
                          f'<nacm xmlns="{acm}" nc:operation="delete"/></config>')
            m.commit()
            with pytest.raises(RPCError) as e:
                m.edit_config(target="candidate", config=iface.format(n="eth2"))
                m.commit()
            assert e.value.tag == "access-denied"
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
