"""netconf-console (the netconf-console2 package's script) as a subprocess against yangd."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.server.conftest import PASSWORD, USER, Running
from tests.server.helpers import iface

BIN = Path(sys.executable).parent


def console(run: Running, *args: str) -> str:
    exe = next((str(BIN / n) for n in ("netconf-console2", "netconf-console") if (BIN / n).exists()),
               None) or shutil.which("netconf-console2")
    assert exe is not None, "netconf-console (a test dependency) is not installed"
    p = subprocess.run([exe, "--host", "127.0.0.1", "--port", str(run.port), "-u", USER,
                        "-p", PASSWORD, *args], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Traceback" not in p.stdout + p.stderr
    return p.stdout


def oks(out: str) -> int:
    return len(re.findall(r"<(?:\w+:)?ok\b", out))


def content(config: str) -> str:
    """netconf-console wraps the file in <config> itself."""
    return config[config.index("<interfaces"):config.rindex("</config>")]


def test_console_hello_getconfig_edit_commit(nc_server: Running, tmp_path: Path) -> None:
    head = nc_server.ds.head  # the users commit (users.json imported into ietf-system)
    out = console(nc_server, "--hello")
    assert "urn:ietf:params:netconf:base:1.1" in out and "candidate:1.0" in out
    cfg = tmp_path / "edit.xml"
    cfg.write_text(content(iface("eth0")))
    out = console(nc_server, "--db", "candidate", "--edit-config", str(cfg))
    assert oks(out) == 1
    assert "eth0" in console(nc_server, "--db", "candidate", "--get-config")
    assert "eth0" not in console(nc_server, "--get-config")
    # one session: edit, then commit (the candidate is shared, so two runs also work)
    assert oks(console(nc_server, "--commit")) == 1
    assert "eth0" in console(nc_server, "--get-config")
    assert nc_server.ds.head == head + 1


def test_console_confirmed_commit(nc_server: Running, tmp_path: Path) -> None:
    cfg = tmp_path / "edit.xml"
    cfg.write_text(content(iface("eth1")))
    out = console(nc_server, "--db", "candidate", "--edit-config", str(cfg), "--commit", "confirmed")
    assert oks(out) == 2
    # the console's session ended without confirming: the commit is rolled back
    assert nc_server.ds.pending is None
    assert "eth1" not in console(nc_server, "--get-config")
