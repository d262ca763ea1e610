"""The NETCONF server: ``serve(config, datastores)`` starts it, ``Server.close()`` stops it.

One asyncio loop serves every session. Operations run in worker threads (the datastore is
synchronous and thread-safe under its own lock; a commit may wait on an fsync and on
southbound drivers for seconds), so a slow commit in one session never delays a hello or a
get in another. Each session still handles its own messages strictly in order.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from server.config import Config
from server.netconf.capabilities import server_capabilities
from server.netconf.monitoring import ServerStats
from server.netconf.ops import Operation, registry
from server.netconf.ops.retrieve import xpath_available

if TYPE_CHECKING:
    from datastore.datastores import Datastores
    from models.bundle import Bundle
    from server.netconf.notifications import NotificationBus
    from server.netconf.session import NetconfSession
    from server.netconf.tls import TlsListener

__all__ = ["Server", "serve", "session_limit"]

log = logging.getLogger("yangd.netconf")


@dataclass(eq=False)
class Server:
    config: Config
    datastores: Datastores
    operations: dict[tuple[str, str], Operation]
    capabilities: list[str]
    sessions: dict[int, NetconfSession] = field(default_factory=dict)
    acceptor: Any = None
    tls_acceptor: TlsListener | None = None  # NETCONF over TLS, when configured
    notifications: NotificationBus | None = None
    stats: ServerStats = field(default_factory=ServerStats)  # RFC 6022 statistics, lock times

    @property
    def bundle(self) -> Bundle:
        return self.datastores.bundle

    @property
    def port(self) -> int:
        """The port actually listened on (useful with port 0)."""
        return int(self.acceptor.get_port()) if self.acceptor is not None else 0

    @property
    def tls_port(self) -> int:
        """The NETCONF over TLS port actually listened on, 0 when off."""
        return self.tls_acceptor.port if self.tls_acceptor is not None else 0

    async def close(self) -> None:
        """Stop listening, end every session (datastore sessions closed), wait for them."""
        if self.acceptor is not None:
            self.acceptor.close()
            await self.acceptor.wait_closed()
            self.acceptor = None
        if self.tls_acceptor is not None:
            await self.tls_acceptor.close()
            self.tls_acceptor = None
        tasks = []
        for s in list(self.sessions.values()):
            s.abort()
            if s.task is not None:
                tasks.append(s.task)
        if tasks:
            await asyncio.wait(tasks, timeout=10)
        if self.notifications is not None:
            await asyncio.to_thread(self.notifications.close)
        log.info("NETCONF server stopped")


def session_limit(server: Server, user: str) -> str | None:
    """Why a new session for ``user`` is refused (max_sessions, or max_sessions_per_user
    for ``user``: NETCONF's resource-denied), or None; checked before any hello, on every
    transport."""
    cfg = server.config
    sessions = list(server.sessions.values())
    if len(sessions) >= cfg.max_sessions:
        return f"resource-denied: the server has {cfg.max_sessions} NETCONF sessions, its maximum"
    if sum(1 for s in sessions if s.user == user) >= cfg.max_sessions_per_user:
        return (f"resource-denied: user {user} has {cfg.max_sessions_per_user} NETCONF sessions, "
                "the maximum per user")
    return None


def capabilities_for(bundle: Bundle, ops: dict[tuple[str, str], Operation]) -> list[str]:
    from server.netconf.capabilities import XPATH

    protocol: list[str] = []
    for op in ops.values():
        for c in (op.CAPABILITY, *op.DEPENDS):
            if c is not None:
                protocol.append(c)
    if xpath_available():
        protocol.append(XPATH)
    return server_capabilities(bundle.schema, sorted(set(protocol)))


async def serve(config: Config, datastores: Datastores) -> Server:
    """Start the NETCONF/SSH listener at ``config.netconf_listen``, and NETCONF/TLS at
    ``config.netconf_tls_listen`` when set (ConfigError for a TLS setting it cannot use)."""
    from server.netconf.ssh import start_ssh

    ops = registry(datastores)
    bus = _notifications(datastores, ops)
    server = Server(config, datastores, ops, capabilities_for(datastores.bundle, ops))
    server.notifications = bus
    host, port = config.netconf_address
    server.acceptor = await start_ssh(server, host, port)
    log.info("NETCONF listening on %s:%d", host, server.port)
    tls = config.netconf_tls_address
    if tls is not None:
        from server.netconf.tls import start_tls

        try:
            server.tls_acceptor = await start_tls(server, *tls)
        except BaseException:
            await server.close()
            raise
        log.info("NETCONF over TLS listening on %s:%d", tls[0], server.tls_port)
    return server


def _notifications(datastores: Datastores, ops: dict[tuple[str, str], Operation]) -> NotificationBus:
    """The notification bus on the event log, fed by every commit; its operations added."""
    from datastore.events import EventLog
    from server.netconf.notifications import NotificationBus
    from server.netconf.ops.subscription import install

    bus = NotificationBus(datastores.bundle, EventLog(datastores.store))
    datastores.add_listener(bus.on_commit)
    install(ops, bus)
    return bus
