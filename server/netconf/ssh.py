"""NETCONF over SSH (RFC 6242): an asyncssh server offering the ``netconf`` subsystem.

Authentication is by password or public key against the user table (server/config.py).
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

from server.config import UserTable
from server.netconf.session import NetconfSession

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
    def __init__(self, server: Server, users: UserTable) -> None:
        self.server = server
        self.users = users
        self.peer = ""

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        peer = conn.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else ""

    def begin_auth(self, username: str) -> bool:
        return True  # always authenticate, also for unknown users (no user enumeration)

    def password_auth_supported(self) -> bool:
        return True

    async def validate_password(self, username: str, password: str) -> bool:
        ok = await asyncio.to_thread(self.users.check_password, username, password)
        if not ok:
            log.warning("password authentication failed for %r from %s", username, self.peer)
        return ok

    def session_requested(self) -> _Channel:
        return _Channel(self.server)

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        user = self.users.get(username)
        if user is None:
            return False
        want = key.export_public_key("openssh").split()[:2]
        for line in user.keys:
            try:
                k = asyncssh.import_public_key(line)
            except (asyncssh.KeyImportError, ValueError):
                continue
            if k.export_public_key("openssh").split()[:2] == want:
                return True
        return False


class _Channel(asyncssh.SSHServerSession):  # type: ignore[type-arg]
    """One SSH session channel: the Transport of a NETCONF session."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.chan: Any = None
        self.nc: NetconfSession | None = None

    def connection_made(self, chan: Any) -> None:
        self.chan = chan

    def shell_requested(self) -> bool:
        return False

    def exec_requested(self, command: str) -> bool:
        return False

    def subsystem_requested(self, subsystem: str) -> bool:
        if subsystem != "netconf":
            return False
        return len(self.server.sessions) < self.server.config.max_sessions

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
        if self.nc is not None:
            self.nc.connection_lost()

    # Transport
    def write(self, data: bytes) -> None:
        if self.chan is not None and not self.chan.is_closing():
            self.chan.write(data)

    def close(self) -> None:
        if self.chan is not None:
            self.chan.close()


async def start_ssh(server: Server, host: str, port: int) -> asyncssh.SSHAcceptor:
    key = load_host_key(server.config.host_key_path)
    users = UserTable(server.config.users_path)
    return await asyncssh.create_server(
        lambda: _Auth(server, users), host, port,
        server_host_keys=[key], encoding=None,
        allow_scp=False, agent_forwarding=False, x11_forwarding=False,
        keepalive_interval=0, login_timeout=60,
    )
