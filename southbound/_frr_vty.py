"""Talking to one FRR daemon over its vty socket, the way vtysh does (no vtysh process).

Each daemon (zebra, staticd, bgpd) listens on ``<vty dir>/<daemon>.vty``. The protocol is
vtysh's: a command is sent NUL-terminated; the daemon answers with the command's output
followed by a 4-byte trailer ``00 00 00 <status>`` (status 0 = CMD_SUCCESS, else the
CMD_* code: 1 warning, 2 unknown command, 13 config failed, ...). The session keeps its node
(``configure terminal`` enters config mode, ``router bgp N`` the BGP node), so a batch is
one ordered conversation.

Commands are pipelined (a window of them in flight): the daemon reads all NUL-terminated
commands of a read and answers each in order, so 10k commands cost 10k daemon executions,
not 10k round trips. ``XFRR_start_configuration`` / ``XFRR_end_configuration`` (what
``vtysh -f`` sends around a file) make northbound daemons such as staticd collect the edits
and commit them once at the end: without it, staticd commits after every command, which is
what makes 10k static routes through plain vtysh take hours.

A closed connection (the daemon exited or restarted) is ``FrrGone``; the caller reconnects
and treats a successful reconnect as a restart (southbound/frr.py re-syncs).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from southbound.errors import DriverError

WINDOW = 256  # commands in flight
CMD_SUCCESS = 0
TRAILER = b"\0\0\0"


class FrrGone(DriverError):
    """The daemon's vty socket is closed or refuses connections."""


class Vty:
    """One connection to one daemon; not thread-safe (the driver's worker owns it)."""

    def __init__(self, vty_dir: Path, daemon: str, timeout: float = 60.0):
        self.daemon = daemon
        self.path = vty_dir / f"{daemon}.vty"
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._buf = b""

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def connect(self) -> None:
        self.close()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        try:
            s.connect(str(self.path))
        except OSError as e:
            s.close()
            raise FrrGone(f"FRR {self.daemon} is not running ({self.path}: {e.strerror})") from None
        self._sock = s
        self._buf = b""
        code, out = self.run(["enable"])[0]
        if code != CMD_SUCCESS:
            self.close()
            raise DriverError(f"FRR {self.daemon} refused 'enable': {out.strip()}")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def alive(self) -> bool:
        """The connection is open and the daemon has not closed its end (no traffic sent)."""
        s = self._sock
        if s is None:
            return False
        try:
            s.setblocking(False)
            try:
                data = s.recv(1, socket.MSG_PEEK)
            except BlockingIOError:
                return True
            except OSError:
                return False
            return bool(data)
        finally:
            s.settimeout(self.timeout)

    def run(self, cmds: Sequence[str]) -> list[tuple[int, str]]:
        """Send ``cmds`` in order; (status, output) of each. FrrGone if the daemon went away."""
        s = self._sock
        if s is None:
            raise FrrGone(f"not connected to FRR {self.daemon}")
        out: list[tuple[int, str]] = []
        try:
            for i in range(0, len(cmds), WINDOW):
                chunk = cmds[i:i + WINDOW]
                s.sendall(b"".join(c.encode() + b"\0" for c in chunk))
                want = len(out) + len(chunk)
                while len(out) < want:
                    self._take(out, want)
                    if len(out) < want:
                        data = s.recv(1 << 20)
                        if not data:
                            raise ConnectionResetError("closed")
                        self._buf += data
        except TimeoutError:
            self.close()
            raise DriverError(f"FRR {self.daemon} did not answer within {self.timeout:g} s") from None
        except OSError as e:
            self.close()
            raise FrrGone(f"FRR {self.daemon} closed its vty connection ({e})") from None
        return out

    def _take(self, out: list[tuple[int, str]], want: int) -> None:
        buf = self._buf
        pos = 0
        while len(out) < want:
            j = buf.find(TRAILER, pos)
            if j < 0 or len(buf) < j + 4:
                break
            out.append((buf[j + 3], buf[pos:j].decode(errors="replace")))
            pos = j + 4
        self._buf = buf[pos:]

    def show(self, cmd: str) -> str:
        code, text = self.run([cmd])[0]
        if code != CMD_SUCCESS:
            raise DriverError(f"FRR {self.daemon}: '{cmd}' failed: {text.strip()}")
        return text

    def json(self, cmd: str) -> Any:
        text = self.show(cmd)
        try:
            return json.loads(text) if text.strip() else {}
        except ValueError:
            raise DriverError(f"FRR {self.daemon}: '{cmd}' did not return JSON") from None
