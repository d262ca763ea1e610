"""The client commands (yangd show/load/diff/commit/...) end to end against a real `yangd serve`
subprocess over real SSH: in-process through typer's CliRunner (fast), and as the installed
console script where the process matters (lock holds its session; exit statuses)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from server.cli import app

REPO = Path(__file__).resolve().parents[1]
YANGD = str(Path(sys.executable).with_name("yangd"))
USER, PASSWORD = "admin", "s3cret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Yangd:
    """A `yangd serve` subprocess on free loopback ports, with its own data directory."""

    proc: subprocess.Popen[str]
    data: Path
    port: int
    rport: int
    home: Path
    log: Path
    env: dict[str, str] = field(default_factory=dict)

    def run(self, *args: str, input: str | None = None, env: dict[str, str] | None = None) -> Any:
        """A client command in-process (CliRunner); returns the click Result."""
        result = CliRunner().invoke(app, list(args), input=input, env={**self.env, **(env or {})},
                                    catch_exceptions=False)
        return result

    def json(self, *args: str) -> Any:
        r = self.run(*args, "--json")
        assert r.exit_code == 0, r.output
        return json.loads(r.stdout)

    def sh(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """A command as the installed console script."""
        return subprocess.run([YANGD, *args], capture_output=True, text=True, cwd=REPO,
                              env={**os.environ, **self.env}, timeout=timeout)


def start_yangd(tmp: Path, config: str = "") -> Yangd:
    data = tmp / "data"
    r = subprocess.run([YANGD, "users", "add", USER, "--password-stdin", "--data-dir", str(data)],
                       input=PASSWORD + "\n", capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    for _attempt in range(3):
        port, rport = free_port(), free_port()
        cfg = tmp / "yangd.toml"
        cfg.write_text(f'data_dir = "{data}"\nnetconf_listen = "127.0.0.1:{port}"\n'
                       f'restconf_listen = "127.0.0.1:{rport}"\n{config}')
        log = tmp / "yangd.log"
        with log.open("w") as f:
            proc = subprocess.Popen([YANGD, "serve", "--config", str(cfg)], stdout=f,
                                    stderr=subprocess.STDOUT, text=True, cwd=REPO)
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0 and "head commit" in log.read_text():
                    env = {"YANGD_HOST": "127.0.0.1", "YANGD_PORT": str(port), "YANGD_USER": USER,
                           "YANGD_PASSWORD": PASSWORD, "HOME": str(home),
                           "XDG_STATE_HOME": str(home / "state"), "COLUMNS": "200"}
                    return Yangd(proc, data, port, rport, home, log, env)
            time.sleep(0.2)
        proc.kill()
        proc.wait()
        if "in use" not in log.read_text():
            break
    raise AssertionError("yangd serve did not start:\n" + log.read_text())


def stop_yangd(y: Yangd) -> None:
    if y.proc.poll() is None:
        y.proc.send_signal(signal.SIGTERM)
        try:
            y.proc.wait(30)
        except subprocess.TimeoutExpired:
            y.proc.kill()
            y.proc.wait()
    assert "Traceback" not in y.log.read_text(), y.log.read_text()


@pytest.fixture(scope="module")
def yangd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Yangd]:
    y = start_yangd(tmp_path_factory.mktemp("yangd"))
    try:
        yield y
    finally:
        stop_yangd(y)


@pytest.fixture
def clean(yangd: Yangd) -> Yangd:
    """Each test starts from a running with only the users and an unmodified candidate (a
    rollback to commit 1: users.json imported into ietf-system; commit 0 has no users, so
    nobody could log in after a rollback to it)."""
    yangd.run("discard")
    yangd.run("cancel-commit")
    if yangd.json("commits")["head"] > 1:
        r = yangd.run("rollback", "1", "-m", "test reset")
        assert r.exit_code == 0, r.output
    return yangd


IF_JSON = {"ietf-interfaces:interfaces": {"interface": [
    {"name": "eth0", "type": "iana-if-type:ethernetCsmacd", "description": "uplink",
     "ietf-ip:ipv4": {"address": [{"ip": "192.0.2.1", "prefix-length": 24}]}},
    {"name": "lo1", "type": "iana-if-type:softwareLoopback"}]}}
DESCR_XML = """<interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces">
  <interface><name>eth0</name><description>uplink, moved</description></interface>
</interfaces>
"""


def write(tmp: Path, name: str, text: str) -> str:
    p = tmp / name
    p.write_text(text)
    return str(p)


def wait_head(y: Yangd, head: int, timeout: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        doc = y.json("commits")
        if doc["head"] >= head or time.monotonic() > deadline:
            return doc  # type: ignore[no-any-return]
        time.sleep(0.25)


def test_load_diff_confirmed_rollback_commit_rollback_history(clean: Yangd, tmp_path: Path) -> None:
    y = clean
    start = y.json("commits")["head"]
    r = y.run("load", write(tmp_path, "if.json", json.dumps(IF_JSON)))
    assert r.exit_code == 0, r.output
    r = y.run("diff")
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines() == [
        "+ set ietf-interfaces:interfaces interface eth0 description uplink",
        "+ set ietf-interfaces:interfaces interface eth0 type iana-if-type:ethernetCsmacd",
        "+ set ietf-interfaces:interfaces interface eth0 ietf-ip:ipv4 address 192.0.2.1 prefix-length 24",
        "+ set ietf-interfaces:interfaces interface lo1 type iana-if-type:softwareLoopback",
    ]
    # a confirmed commit with a 2-second window, never confirmed: yangd rolls it back itself
    doc = y.json("commit", "--confirmed", "2s", "-m", "try eth0")
    assert doc["commit"] == start + 1 and doc["confirmed"] is False and doc["persist-id"]
    hist = y.json("commits")
    assert hist["commits"][0]["confirmed"] is False  # pending: marked in the history
    assert "eth0" in y.run("show", "running", "-f", "set").stdout
    hist = wait_head(y, start + 2)
    assert hist["head"] == start + 2, hist
    back = hist["commits"][0]
    assert back["transport"] == "internal" and back["user"] == "yangd"
    assert back["comment"] == f"rollback to commit {start}: confirmed commit was not confirmed in time"
    shown = y.run("show", "running", "-f", "set").stdout.splitlines()
    # only the users and the factory NACM configuration (commit 1)
    assert [ln for ln in shown if not ln.startswith(("set ietf-system:", "set ietf-netconf-acm:"))] == []
    # commit again, for good this time, then change it
    assert y.run("load", write(tmp_path, "if.json", json.dumps(IF_JSON))).exit_code == 0
    r = y.run("commit", "-m", "eth0 for good", "--label", f"good-{start}", "--json")
    assert r.exit_code == 0, r.output
    assert "no longer pending" in r.stderr  # the timed-out commit's persist-id, noticed
    doc = json.loads(r.stdout)
    good = doc["commit"]
    assert good == start + 3 and doc["confirmed"] is True
    assert y.run("load", write(tmp_path, "d.xml", DESCR_XML)).exit_code == 0
    assert y.run("diff").stdout.splitlines() == [
        '~ set ietf-interfaces:interfaces interface eth0 description "uplink, moved"']
    assert y.json("commit", "-m", "move")["commit"] == good + 1
    d = y.json("diff", str(good), str(good + 1))
    assert d == [{"operation": "modify", "path": "/ietf-interfaces:interfaces/interface[name='eth0']/description",
                  "set": ['set ietf-interfaces:interfaces interface eth0 description "uplink, moved"']}]
    # rollback to an id, then by label
    assert y.json("rollback", str(good))["commit"] == good + 2
    assert y.json("show", "running", "ietf-interfaces:interfaces/interface=eth0/description") == {
        "ietf-interfaces:interfaces": {"interface": [{"name": "eth0", "description": "uplink"}]}}
    hist = y.json("commits")
    rows = {c["id"]: c for c in hist["commits"]}
    assert hist["head"] == good + 2
    assert rows[start + 1]["comment"] == "try eth0"
    assert rows[start + 2]["transport"] == "internal"
    assert rows[good]["label"] == f"good-{start}" and rows[good]["comment"] == "eth0 for good"
    assert rows[good + 1]["comment"] == "move"
    assert rows[good + 2]["comment"] == f"rollback to commit {good}"
    assert all(rows[i]["user"] == USER and rows[i]["transport"] == "netconf"
               for i in (start + 1, good, good + 1, good + 2))
    assert rows[start + 1]["confirmed"] is False  # never confirmed: rolled back
    assert all(r["confirmed"] for r in rows.values() if r["id"] > start + 1)
    assert all(r["size"] > 0 and r["time"].endswith("Z") for r in rows.values() if r["id"] > start)
    # the people's view: a table with the same facts
    table = y.run("commits", "-n", "6").stdout
    assert "eth0 for good" in table and f"good-{start}" in table and "internal" in table


def test_confirm_keeps_and_cancel_reverts(clean: Yangd, tmp_path: Path) -> None:
    y = clean
    head = y.json("commits")["head"]
    y.run("load", write(tmp_path, "if.json", json.dumps(IF_JSON)))
    doc = y.json("commit", "--confirmed", "1")  # minutes, as Junos counts
    rollback_at = doc["rollback-at"]
    assert 50 < (time.mktime(time.strptime(rollback_at[:19], "%Y-%m-%dT%H:%M:%S"))
                 - time.mktime(time.gmtime())) <= 61
    pending = list((y.home / "state" / "yangd").glob("confirm-*.json"))
    assert len(pending) == 1 and pending[0].stat().st_mode & 0o077 == 0
    r = y.run("confirm")
    assert r.exit_code == 0 and f"commit {head + 1} confirmed" in r.stdout
    assert not list((y.home / "state" / "yangd").glob("confirm-*.json"))
    assert y.json("commits")["commits"][0]["confirmed"] is True
    r = y.run("confirm")
    assert r.exit_code == 1 and "no confirmed commit of yours is pending" in r.stderr
    y.run("load", write(tmp_path, "d.xml", DESCR_XML))
    y.json("commit", "--confirmed", "5m")
    assert y.json("cancel-commit")["commit"] == head + 3
    assert y.json("show", "running", "ietf-interfaces:interfaces/interface=eth0/description") == {
        "ietf-interfaces:interfaces": {"interface": [{"name": "eth0", "description": "uplink"}]}}


def test_show_formats_and_paths(clean: Yangd, tmp_path: Path) -> None:
    y = clean
    y.run("load", write(tmp_path, "if.json", json.dumps(IF_JSON)))
    # running: the users and the factory NACM configuration, nothing committed
    assert set(y.json("show")) == {"ietf-system:system", "ietf-netconf-acm:nacm"}
    cand = y.json("show", "candidate")
    assert cand.pop("ietf-system:system") and cand.pop("ietf-netconf-acm:nacm")
    assert cand == IF_JSON  # and the loaded file
    xml = y.run("show", "candidate", "ietf-interfaces:interfaces/interface=lo1", "-f", "xml").stdout
    assert "<name>lo1</name>" in xml and "eth0" not in xml
    assert xml.startswith('<interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces"')
    tree = y.run("show", "candidate", "-f", "tree").stdout
    assert "interface eth0" in tree and "prefix-length 24" in tree
    sel = y.run("show", "candidate", "/ietf-interfaces:interfaces/interface[name='eth0']/ietf-ip:ipv4",
                "-f", "set").stdout
    assert sel.splitlines() == [
        "set ietf-interfaces:interfaces interface eth0 ietf-ip:ipv4 address 192.0.2.1 prefix-length 24"]
    y.run("commit")
    state = y.json("show", "operational", "ietf-interfaces:interfaces")
    assert [i["name"] for i in state["ietf-interfaces:interfaces"]["interface"]] == ["eth0", "lo1"]
    r = y.run("show", "candidate", "ietf-interfaces:nothing")
    assert r.exit_code == 2 and "no data node 'ietf-interfaces:nothing'" in r.stderr


def test_refusals_name_the_path_and_exit_status(clean: Yangd, tmp_path: Path) -> None:
    y = clean
    bad = {"ietf-interfaces:interfaces": {"interface": [{"name": "eth0", "mtu": 1500}]}}
    r = y.run("load", write(tmp_path, "bad.json", json.dumps(bad)))
    assert r.exit_code == 2
    assert "/ietf-interfaces:interfaces/interface[name='eth0']/mtu" in r.stderr
    no_type = {"ietf-interfaces:interfaces": {"interface": [{"name": "eth7"}]}}
    assert y.run("load", write(tmp_path, "nt.json", json.dumps(no_type))).exit_code == 0
    r = y.run("validate")
    assert r.exit_code == 1
    assert "data-missing at /ietf-interfaces:interfaces/interface[name='eth7']/type" in r.stderr
    r = y.run("commit", "--json")
    assert r.exit_code == 1
    err = json.loads(r.stdout)["errors"][0]
    assert err["error-tag"] == "data-missing"
    assert err["error-path"] == "/ietf-interfaces:interfaces/interface[name='eth7']/type"
    assert y.run("discard").exit_code == 0
    assert y.run("validate").stdout.strip() == "candidate is valid"
    r = y.run("rollback", "999")
    assert r.exit_code == 1 and "no commit 999" in r.stderr
    r = y.run("kill-session", "424242")
    assert r.exit_code == 1 and "invalid-value" in r.stderr
    r = y.run("commits", env={"YANGD_PORT": str(free_port())})
    assert r.exit_code == 3 and "cannot connect" in r.stderr
    r = y.run("commits", env={"YANGD_PASSWORD": "wrong"})
    assert r.exit_code == 3 and "authentication failed" in r.stderr


def test_profile_file_and_options(yangd: Yangd) -> None:
    y = yangd
    prof = y.home / ".config" / "yangd" / "profile.toml"
    prof.parent.mkdir(parents=True, exist_ok=True)
    prof.write_text(f'[lab]\nhost = "127.0.0.1"\nport = {y.port}\nuser = "{USER}"\n'
                    f'password = "{PASSWORD}"\n')
    env = {"YANGD_PORT": "", "YANGD_USER": "", "YANGD_PASSWORD": "", "YANGD_HOST": ""}
    r = y.run("sessions", "--profile", "lab", "--json", env=env)
    assert r.exit_code == 0, r.output
    me = [s for s in json.loads(r.stdout) if s["self"]]
    assert len(me) == 1 and me[0]["username"] == USER and me[0]["transport"] == "netconf-ssh"
    r = y.run("sessions", "--profile", "nope", env=env)
    assert r.exit_code == 2 and "no profile [nope]" in r.stderr
    r = y.run("commits", "--port", str(y.port), "--user", USER, "--password", PASSWORD, env=env)
    assert r.exit_code == 0 and "commits (head" in r.stdout


def test_edit_in_editor(clean: Yangd, tmp_path: Path) -> None:
    y = clean
    y.run("load", write(tmp_path, "if.json", json.dumps(IF_JSON)))
    y.run("commit")
    editor = write(tmp_path, "ed.sh", "#!/bin/sh\nsed -i 's/\"uplink\"/\"edited\"/' \"$1\"\n")
    os.chmod(editor, 0o755)
    r = y.run("edit", env={"EDITOR": editor, "VISUAL": ""})
    assert r.exit_code == 0, r.output
    assert y.run("diff").stdout.splitlines() == [
        "~ set ietf-interfaces:interfaces interface eth0 description edited"]
    r = y.run("edit", env={"EDITOR": "true", "VISUAL": ""})
    assert r.exit_code == 0 and "no change" in r.stdout


def test_lock_holds_until_unlock_as_processes(clean: Yangd) -> None:
    y = clean
    holder = subprocess.Popen([YANGD, "lock", "running", "--for", "60"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env={**os.environ, **y.env})
    try:
        first = holder.stdout.readline() if holder.stdout else ""
        assert "running locked by session" in first, first + (holder.stderr.read() if holder.stderr else "")
        sid = int(first.split("session ")[1].split(";")[0])
        rows = y.json("sessions")
        assert [r["locks"] for r in rows if r["session-id"] == sid] == [["running"]]
        r = y.sh("rollback", "0")
        assert r.returncode == 1 and f"running is locked by session {sid}" in r.stderr
        r = y.sh("unlock", "running", "--json")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout) == {"unlocked": "running", "session-id": sid}
        assert holder.wait(20) == 1
        assert "the lock on running is gone" in (holder.stderr.read() if holder.stderr else "")
        assert all(not r["locks"] for r in y.json("sessions"))
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_lock_released_on_sigterm(clean: Yangd) -> None:
    y = clean
    holder = subprocess.Popen([YANGD, "lock", "candidate"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env={**os.environ, **y.env})
    try:
        assert "candidate locked" in (holder.stdout.readline() if holder.stdout else "")
        holder.send_signal(signal.SIGTERM)
        assert holder.wait(20) == 0
        assert "candidate unlocked" in (holder.stdout.read() if holder.stdout else "")
        assert y.run("unlock", "candidate").stdout.strip() == "candidate is not locked"
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_every_command_has_help_with_examples() -> None:
    names = ["serve", "schema", "compile", "tree", "validate", "convert", "show", "load", "edit",
             "diff", "commit", "confirm", "cancel-commit", "discard", "rollback", "commits",
             "sessions", "kill-session", "lock", "unlock", "drivers", "resync"]
    for name in names:
        r = CliRunner().invoke(app, [name, "--help"], env={"COLUMNS": "120"})
        assert r.exit_code == 0, (name, r.output)
        assert "Examples" in r.stdout and f"yangd {name}" in r.stdout, name
    r = CliRunner().invoke(app, ["config", "check", "--help"])
    assert "yangd config check" in r.stdout


def test_load_modes_merge_replace_override(clean: Yangd, tmp_path: Path) -> None:
    y = clean
    y.run("load", write(tmp_path, "if.json", json.dumps(IF_JSON)))
    y.run("commit")
    only_lo1 = {"ietf-interfaces:interfaces": {"interface": [
        {"name": "lo1", "type": "iana-if-type:softwareLoopback", "description": "loopback"}]}}
    path = write(tmp_path, "lo1.json", json.dumps(only_lo1))
    assert y.run("load", path, "--merge").exit_code == 0
    assert y.run("diff").stdout.splitlines() == [
        "+ set ietf-interfaces:interfaces interface lo1 description loopback"]
    y.run("discard")
    r = y.run("load", path, "--override", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["mode"] == "override"
    diff = y.run("diff").stdout.splitlines()
    assert "- delete ietf-interfaces:interfaces interface eth0" in diff
    assert "+ set ietf-interfaces:interfaces interface lo1 description loopback" in diff
    y.run("discard")
    acl = {"ietf-access-control-list:acls": {"acl": [{"name": "a1", "type": "ipv4-acl-type"}]}}
    y.run("load", write(tmp_path, "acl.json", json.dumps(acl)))
    assert y.run("load", path, "--replace").exit_code == 0
    # the interfaces container is replaced as a whole; the acls, not in the file, stay
    cand = y.json("show", "candidate")
    assert cand["ietf-interfaces:interfaces"] == only_lo1["ietf-interfaces:interfaces"]
    assert cand["ietf-access-control-list:acls"]["acl"][0]["type"].endswith("ipv4-acl-type")
    r = y.run("load", path, "--merge", "--override")
    assert r.exit_code == 2 and "one of --merge, --replace, --override" in r.stderr
