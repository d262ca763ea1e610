"""NETCONF over SSH (RFC 6242): an asyncssh server offering the ``netconf`` subsystem.

Authentication is by password or public key against the ietf-system users in running
(server/users.py: ``UserDirectory``). A wrong password is answered after the configured delay
(asyncio sleep: other connections go on); a password that verified lately is remembered
(``UserDirectory.verify``), so a client opening session after session pays the crypt check
once. Failures are counted per client address, which is refused for a while after too
many; a connection that offered only keys none of which is authorized counts once when it
ends. Every login, failed login and refusal is audited
(server/audit.py), never with the password.

Every SSH session channel that asks for the ``netconf`` subsystem becomes one
``NetconfSession``; shells, exec requests and other subsystems are refused. asyncssh stays in
this module: the protocol sees only the ``Transport`` interface (write, close).
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncssh

from server import audit
from server.netconf.server import session_limit
from server.netconf.session import NetconfSession
from server.users import UserDirectory, users_for

if TYPE_CHECKING:
    from server.netconf.server import Server

__all__ = ["load_host_key", "start_ssh"]

log = logging.getLogger("yangd.netconf.ssh")


def load_host_key(path: Path) -> asyncssh.SSHKey:
    """The server's host key; generated (Ed25519, mode 0600) on first start and kept."""
    if path.exists():
        return asyncssh.read_private_key(str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    key = asyncssh.generate_private_key("ssh-ed25519")
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.export_private_key())
    os.replace(tmp, path)
    path.with_name(path.name + ".pub").write_bytes(key.export_public_key())
    log.info("generated SSH host key %s", path)
    return key


class _Auth(asyncssh.SSHServer):
    def __init__(self, server: Server, users: UserDirectory) -> None:
        self.server = server
        self.users = users
        self.peer = ""
        self.address = ""  # the client's IP: what failures are counted by
        self.username = ""
        self.method: str | None = None  # the method that succeeded
        self.done = False
        self.failed = False  # a failure was already counted for this connection
        self.rejected_keys = 0
        self.refused = False

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        peer = conn.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else ""
        self.address = str(peer[0]) if peer else ""

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done and self.rejected_keys and not self.failed and not self.refused:
            self.users.guard.failed(self.address)
            audit.login(self.username, "netconf", self.peer, "failed", "publickey",
                        "no authorized key offered")

    def begin_auth(self, username: str) -> bool:
        self.username = username
        return True  # always authenticate, also for unknown users (no user enumeration)

    def auth_completed(self) -> None:
        self.done = True
        self.users.guard.succeeded(self.address)
        audit.login(self.username, "netconf", self.peer, "ok", self.method)

    def _blocked(self) -> bool:
        if not self.users.guard.blocked(self.address):
            return False
        if not self.refused:
            self.refused = True
            audit.login(self.username, "netconf", self.peer, "refused", reason="too many failed logins")
        return True

    def password_auth_supported(self) -> bool:
        return True

    async def validate_password(self, username: str, password: str) -> bool:
        if self._blocked():
            return False
        ok, _fresh = await asyncio.to_thread(self.users.verify, username, password)
        if ok:
            self.method = "password"
            return True
        self.failed = True
        now_blocked = self.users.guard.failed(self.address)
        audit.login(username, "netconf", self.peer, "failed", "password",
                    "now blocked" if now_blocked else None)
        await asyncio.sleep(self.users.guard.delay)
        return False

    def session_requested(self) -> _Channel:
        _check_session_limits(self.server, self.conn.get_extra_info("username") or "?")
        return _Channel(self.server)

    def public_key_auth_supported(self) -> bool:
        return True

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        if self._blocked():
            return False
        # in a thread: the lookup may import users.json, which commits
        ok = await asyncio.to_thread(self.users.has_key, username, key.get_algorithm(), key.public_data)
        if ok:
            self.method = "publickey"
        else:
            self.rejected_keys += 1
        return ok


class _Channel(asyncssh.SSHServerSession):  # type: ignore[type-arg]
    """One SSH session channel: the Transport of a NETCONF session."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.chan: Any = None
        self.nc: NetconfSession | None = None
        self.writable = asyncio.Event()  # clear while the client does not read (flow control)
        self.writable.set()

    def connection_made(self, chan: Any) -> None:
        self.chan = chan

    def shell_requested(self) -> bool:
        return False

    def exec_requested(self, command: str) -> bool:
        return False

    def subsystem_requested(self, subsystem: str) -> bool:
        if subsystem != "netconf":
            return False
        try:  # again: channels opened together may all have passed session_requested
            _check_session_limits(self.server, self.chan.get_extra_info("username") or "?")
        except asyncssh.ChannelOpenError:
            return False
        return True

    def session_started(self) -> None:
        user = self.chan.get_extra_info("username") or "?"
        peer = self.chan.get_extra_info("peername")
        self.nc = NetconfSession(self.server, self, user, f"{peer[0]}:{peer[1]}" if peer else "")
        self.nc.start()

    def data_received(self, data: bytes, datatype: Any) -> None:
        if self.nc is not None:
            self.nc.data_received(data)

    def eof_received(self) -> bool:
        if self.nc is not None:
            self.nc.connection_lost()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.writable.set()  # nothing to wait for any more
        if self.nc is not None:
            self.nc.connection_lost()

    # asyncssh flow control: our send buffer is over its high-water mark
    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    # Transport
    async def drain(self) -> None:
        """Until the client has read enough of what was written (session.py waits on it
        before each operation, so a client that never reads cannot grow our buffers)."""
        await self.writable.wait()

    def pause_reading(self) -> None:
        if self.chan is not None:
            self.chan.pause_reading()

    def resume_reading(self) -> None:
        if self.chan is not None:
            self.chan.resume_reading()

    def write(self, data: bytes) -> None:
        if self.chan is not None and not self.chan.is_closing():
            self.chan.write(data)

    def close(self) -> None:
        self.writable.set()  # a session waiting to write ends now
        if self.chan is not None:
            self.chan.close()


def _check_session_limits(server: Server, user: str) -> None:
    """SSH's own resource-shortage refusal (RFC 4254 §5.1) of a session beyond the limits."""
    why = session_limit(server, user)
    if why is not None:
        log.warning("session refused for %s: %s", user, why)
        raise asyncssh.ChannelOpenError(asyncssh.OPEN_RESOURCE_SHORTAGE, why)


async def start_ssh(server: Server, host: str, port: int) -> asyncssh.SSHAcceptor:
    key = load_host_key(server.config.host_key_path)
    users = await asyncio.to_thread(users_for, server.datastores, server.config)
    return await asyncssh.create_server(
        lambda: _Auth(server, users), host, port,
        server_host_keys=[key], encoding=None,
        allow_scp=False, agent_forwarding=False, x11_forwarding=False,
        keepalive_interval=0, login_timeout=60,
    )
