"""Interop: ../shared/peer/clients.sh (netconf-console and yuma123 yangcli) against a real
``yangd serve`` process with the anchor-bench module loaded.

clients.sh creates items/item[cli-1] in candidate + commit with netconf-console, reads it back
(whole get-config, XPath filter), reads it with yangcli (libssh2, C), then deletes it with a
yangcli script + commit and checks it is gone (checked again here with ncclient). netconf-console comes from this venv (a test
dependency); yangcli from the Debian package ``yangcli`` (./run test installs it).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PEER = REPO.parent / "shared" / "peer"
CLIENTS = PEER / "clients.sh"
ANCHOR = PEER / "yang" / "anchor-bench.yang"
VENV = Path(sys.executable).parent.parent
YANGD = Path(sys.executable).parent / "yangd"
USER, PASSWORD = "interop", "interop-pw"


def _free_port() -> int:
    """A port the OS just handed out (random ephemeral port: parallel runs do not collide)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def yangd_proc(tmp_path: Path) -> Iterator[int]:
    """Port of a ``yangd serve --module anchor-bench.yang`` subprocess (temp data dir, one user)."""
    assert ANCHOR.exists(), f"missing {ANCHOR}"
    assert YANGD.exists(), f"missing {YANGD}"
    data = tmp_path / "data"
    subprocess.run([str(YANGD), "users", "add", USER, "--password-stdin", "--data-dir", str(data)],
                   input=PASSWORD + "\n", text=True, check=True, capture_output=True, timeout=60)
    logf = tmp_path / "yangd.log"
    proc: subprocess.Popen[bytes] | None = None
    try:
        for _attempt in range(5):
            port = _free_port()
            with open(logf, "ab") as out:
                proc = subprocess.Popen(
                    [str(YANGD), "serve", "--data-dir", str(data), "--netconf-listen",
                     f"127.0.0.1:{port}", "--restconf-listen", f"127.0.0.1:{_free_port()}",
                     "--module", str(ANCHOR)],
                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + 120
            while proc.poll() is None and time.monotonic() < deadline:
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", port)) == 0:
                        break
                time.sleep(0.1)
            if proc.poll() is None:
                break
            if "cannot listen" not in logf.read_text(errors="replace"):  # not a port race
                break
        assert proc is not None and proc.poll() is None, \
            "yangd did not start:\n" + logf.read_text(errors="replace")[-3000:]
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) == 0, \
                "yangd is not listening:\n" + logf.read_text(errors="replace")[-3000:]
        yield port
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_clients_sh(yangd_proc: int, tmp_path: Path) -> None:
    assert CLIENTS.exists(), f"missing {CLIENTS}"
    assert shutil.which("yangcli"), "yangcli is not installed (Debian package yangcli)"
    assert (VENV / "bin" / "netconf-console2").exists(), "netconf-console (test extra) is missing"
    # yangcli writes ~/.yuma of the passwd entry (not $HOME): remove it if it was not there
    yuma = Path(pwd.getpwuid(os.getuid()).pw_dir) / ".yuma"
    had_yuma = yuma.exists()
    env = {**os.environ, "ANCHOR_VENV": str(VENV)}
    try:
        p = subprocess.run(["bash", str(CLIENTS), "127.0.0.1", str(yangd_proc), USER, PASSWORD],
                           env=env, capture_output=True, text=True, timeout=300)
    finally:
        if not had_yuma:
            shutil.rmtree(yuma, ignore_errors=True)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    assert "ALL CLIENT CHECKS PASSED" in p.stdout, out
    assert "FAILED" not in p.stdout, out
    assert "(anchor-bench advertised)" in p.stdout, out
    # clients.sh's last step also "passes" when yangcli never ran its script: the entry that
    # netconf-console created must really be gone from running
    from ncclient import manager

    with manager.connect(host="127.0.0.1", port=yangd_proc, username=USER, password=PASSWORD,
                         hostkey_verify=False, look_for_keys=False, allow_agent=False,
                         timeout=30) as m:
        running = m.get_config(source="running").xml
    assert "cli-1" not in running, "yangcli's delete + commit did not land:\n" + running
