"""ietf-netconf-monitoring (RFC 6022): the counters, the ``/netconf-state`` tree, schema files.

The NETCONF layer owns what it reports: ``ServerStats`` lives on the ``Server`` (start time,
totals, when each lock was taken) and each ``NetconfSession`` has its ``SessionStats`` (login
time, its own counters). The session calls the hooks (``received``, ``replied``,
``bad_hello``, ``ended``, ``notification``); ``netconf_state`` turns it all into the generated
``/ietf-netconf-monitoring:netconf-state`` model, which ``get`` merges into its reply.

Lock times: the datastore records who holds a lock, not since when. ``ServerStats`` notes
the time a lock first appears in ``Datastores.locks`` (checked after every rpc, so within
the rpc that took it, and again whenever the state is built).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.bundle import Bundle, YangModel
from server.netconf.capabilities import CANDIDATE, STARTUP
from server.netconf.errors import NC

if TYPE_CHECKING:
    from server.netconf.server import Server

__all__ = [
    "NCM",
    "ServerStats",
    "SessionStats",
    "module_files",
    "netconf_state",
    "schema_rows",
    "timestamp",
]

NCM = "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"
SHIPPED_YANG = Path(__file__).resolve().parents[2] / "yang"
_RPC_ERROR = f"{{{NC}}}rpc-error"


def timestamp(t: datetime) -> str:
    """yang:date-and-time, UTC, whole seconds."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Counters:
    in_rpcs: int = 0
    in_bad_rpcs: int = 0
    out_rpc_errors: int = 0
    out_notifications: int = 0

    def doc(self) -> dict[str, int]:
        return {"in-rpcs": self.in_rpcs, "in-bad-rpcs": self.in_bad_rpcs,
                "out-rpc-errors": self.out_rpc_errors, "out-notifications": self.out_notifications}


@dataclass
class ServerStats(Counters):
    """Server-wide totals (RFC 6022 /netconf-state/statistics) and lock times."""

    start_time: datetime = field(default_factory=lambda: datetime.now(UTC))
    in_bad_hellos: int = 0
    in_sessions: int = 0
    dropped_sessions: int = 0
    lock_times: dict[str, tuple[int, datetime]] = field(default_factory=dict)
    _mutex: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def observe_locks(self, locks: Mapping[str, int]) -> dict[str, tuple[int, datetime]]:
        """Note the time of every lock not seen before; forget released ones."""
        now = datetime.now(UTC)
        with self._mutex:
            current = dict(locks)
            for target, sid in current.items():
                seen = self.lock_times.get(target)
                if seen is None or seen[0] != sid:
                    self.lock_times[target] = (sid, now)
            for target in [t for t in self.lock_times if t not in current]:
                del self.lock_times[target]
            return dict(self.lock_times)


class SessionStats(Counters):
    """One session's counters; every count also goes to the server totals."""

    def __init__(self, server: ServerStats, locks: Mapping[str, int]) -> None:
        super().__init__()
        self.server = server
        self.locks = locks
        self.login_time = datetime.now(UTC)
        server.in_sessions += 1  # RFC 6022: counted when the server's hello is sent

    def received(self, correct: bool) -> None:
        """A message arrived where an ``<rpc>`` was expected; ``correct`` False: it was not a
        valid ``<rpc>`` (XML or rpc-layer error)."""
        if correct:
            self.in_rpcs += 1
            self.server.in_rpcs += 1
        else:
            self.in_bad_rpcs += 1
            self.server.in_bad_rpcs += 1

    def replied(self, reply: Iterable[Any]) -> None:
        """An ``<rpc-reply>`` with these children was sent."""
        if any(getattr(e, "tag", None) == _RPC_ERROR for e in reply):
            self.out_rpc_errors += 1
            self.server.out_rpc_errors += 1
        self.server.observe_locks(self.locks)

    def notification(self) -> None:
        self.out_notifications += 1
        self.server.out_notifications += 1

    def bad_hello(self) -> None:
        self.server.in_bad_hellos += 1

    def ended(self, orderly: bool) -> None:
        """The session ended; not ``orderly`` (not close-session/kill-session) → dropped."""
        if not orderly:
            self.server.dropped_sessions += 1


# ---- schemas ------------------------------------------------------------------------------

def schema_rows(bundle: Bundle) -> list[tuple[str, str, str]]:
    """(identifier, version, namespace) for every loaded module and submodule."""
    rows: dict[tuple[str, str], str] = {}
    for m in bundle.schema.modules.values():
        rows[(m.name, m.revision or "")] = m.namespace
        for sub, rev in m.submodules:
            rows.setdefault((sub, rev or ""), m.namespace)
    return [(n, r, ns) for (n, r), ns in sorted(rows.items())]


_FILES: dict[tuple[str, ...], dict[str, Path]] = {}


def module_files(extra: Iterable[Path] = ()) -> dict[str, Path]:
    """File name → path for every ``.yang`` file under yang/ (recursively) and beside the
    extra modules (``--module``: their imports are searched beside them)."""
    dirs = tuple(str(Path(p).resolve().parent) for p in extra)
    got = _FILES.get(dirs)
    if got is None:
        got = {}
        for p in sorted(SHIPPED_YANG.rglob("*.yang")):
            got.setdefault(p.name, p)
        for d in dirs:
            for p in sorted(Path(d).glob("*.yang")):
                got[p.name] = p  # the operator's modules win over shipped ones of the same name
        for p in extra:
            got[Path(p).name] = Path(p)
        _FILES[dirs] = got
    return got


# ---- /netconf-state -----------------------------------------------------------------------

def netconf_state(server: Server) -> YangModel:
    """The /ietf-netconf-monitoring:netconf-state container, now."""
    stats: ServerStats = server.stats
    locks = stats.observe_locks(server.datastores.locks)
    names = ["running"]
    names += ["candidate"] if CANDIDATE in server.capabilities else []
    names += ["startup"] if STARTUP in server.capabilities else []
    datastores: list[dict[str, Any]] = []
    for name in names:
        row: dict[str, Any] = {"name": name}
        if name in locks:
            sid, since = locks[name]
            row["locks"] = {"global-lock": {"locked-by-session": sid, "locked-time": timestamp(since)}}
        datastores.append(row)
    sessions: list[dict[str, Any]] = []
    for s in sorted(server.sessions.values(), key=lambda s: s.id):
        st: SessionStats = s.stats
        transport = getattr(s.transport, "monitoring_transport", "netconf-ssh")  # tls.py: netconf-tls
        row = {"session-id": s.id, "transport": f"ietf-netconf-monitoring:{transport}",
               "username": s.user, "login-time": timestamp(st.login_time), **st.doc()}
        host = s.peer.rsplit(":", 1)[0] if ":" in s.peer else s.peer
        if host:
            row["source-host"] = host
        sessions.append(row)
    schemas = [{"identifier": n, "version": r, "format": "ietf-netconf-monitoring:yang",
                "namespace": ns, "location": ["NETCONF"]} for n, r, ns in schema_rows(server.bundle)]
    doc = {
        "capabilities": {"capability": list(server.capabilities)},
        "datastores": {"datastore": datastores},
        "schemas": {"schema": schemas},
        "sessions": {"session": sessions} if sessions else {},
        "statistics": {"netconf-start-time": timestamp(stats.start_time),
                       "in-bad-hellos": stats.in_bad_hellos, "in-sessions": stats.in_sessions,
                       "dropped-sessions": stats.dropped_sessions, **stats.doc()},
    }
    node = server.bundle.node("/ietf-netconf-monitoring:netconf-state")
    return node.cls.model_validate(doc)  # type: ignore[no-any-return]
