"""Persistence of the cluster (datastore/cluster.py): the serialised commit transaction,
instances, leased locks and session-id blocks. Private to datastore/: the rest of yangd talks
to ``Store`` and ``Cluster``.

Every function taking a ``Session`` runs inside the caller's transaction (``Store.run``).
On PostgreSQL, changes other instances must see at once are announced with ``pg_notify`` on
the database's channel in the same transaction, so the notification is delivered exactly
when (and only if) the change commits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from datastore.db import (
    CommitRecord,
    CommitRow,
    ConfirmRow,
    DatastoreRow,
    InstanceRow,
    LockRow,
    MetaRow,
    PendingConfirm,
    SnapshotRow,
    commit_by_label,
    head_id,
    utcnow,
)

if TYPE_CHECKING:
    from datastore.store import Store

__all__ = [
    "Channel",
    "ClaimLostError",
    "CommitWriter",
    "InstanceInfo",
    "LockInfo",
    "Refresh",
    "advisory_key",
    "channel_name",
]

#: How long ``pg_advisory_xact_lock`` waits for another instance's commit before refusing.
COMMIT_LOCK_TIMEOUT = "30s"
SESSION_COUNTER = "next-session-id"
T = TypeVar("T")


def channel_name(scope: str) -> str:
    """The LISTEN/NOTIFY channel of one yangd database (database + schema)."""
    return "yangd_" + hashlib.sha1(scope.encode()).hexdigest()[:20]


def advisory_key(scope: str, name: str) -> int:
    """A signed 64-bit PostgreSQL advisory lock key for ``name`` within one yangd database."""
    digest = hashlib.sha1(f"{scope}/{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Channel(NamedTuple):
    """Where an instance announces changes: the database's channel, and its own id as the
    origin (a follower skips what it announced itself)."""

    name: str
    origin: str


def notify(s: Session, channel: Channel | None, kind: str) -> None:
    if channel is not None:
        s.execute(select(func.pg_notify(channel.name, f"{kind}:{channel.origin}")))


class ClaimLostError(Exception):
    """The pending confirmed commit was already confirmed, cancelled or rolled back."""


class CommitWriter:
    """One commit's place in the cluster-wide commit order.

    PostgreSQL: a transaction holding a transaction-scoped advisory lock from ``__enter__``
    to ``finish`` (COMMIT) or ``__exit__`` (ROLLBACK): commits of all instances run one at a
    time, and everything read here (head, newer commits, the pending confirm) stays true
    until the commit row is written. A killed instance's connection ends, and with it the
    transaction and the lock. SQLite (one instance): nothing is held while the southbound
    works; ``finish`` checks the head again in its BEGIN IMMEDIATE transaction.
    """

    def __init__(self, store: Store, channel: Channel | None, key: int | None) -> None:
        self.store = store
        self.channel = channel
        self.key = key
        self._s: Session | None = None

    def __enter__(self) -> CommitWriter:
        if self.key is not None and self._s is None:
            from datastore.store import StoreError

            s = self.store._write()
            try:
                s.begin()
                s.execute(text(f"SET LOCAL lock_timeout = '{COMMIT_LOCK_TIMEOUT}'"))
                s.execute(select(func.pg_advisory_xact_lock(self.key)))
            except Exception as e:
                s.close()
                raise StoreError(f"waiting for the commit lock: {e}") from e
            self._s = s
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._s is not None:
            try:
                self._s.rollback()
            finally:
                self._s.close()
                self._s = None

    def _read(self, what: str, work: Callable[[Session], T]) -> T:
        if self._s is not None:
            with self.store._translating(what):
                return work(self._s)
        return self.store.run(what, work)

    def head(self) -> int:
        return self._read("reading the head", head_id)

    def records_between(self, a: int, b: int) -> list[CommitRecord]:
        return self._read("reading newer commits", lambda s: records_between(s, a, b))

    def pending(self) -> PendingConfirm | None:
        return self._read("reading the confirmed commit", get_confirm)

    def label_used(self, label: str) -> bool:
        return self._read("looking up a label", lambda s: commit_by_label(s, label)) is not None

    def run(self, what: str, work: Callable[[Session], T]) -> T:
        """``work`` in this place of the commit order, committed (no commit row)."""
        if self._s is None:
            return self.store.run(what, work, write=True)
        s = self._s
        with self.store._translating(what):
            out = work(s)
            s.commit()
        s.close()
        self._s = None
        return out

    def finish(self, rec: CommitRecord, snapshot: str | None = None,
               extra: Callable[[Session], None] | None = None) -> None:
        """Write commit ``rec`` (id = head + 1) durably, and run ``extra`` (e.g. the pending
        confirmed commit's change) in the same transaction."""
        from datastore.store import LabelExistsError, StaleCommitError

        def work(s: Session) -> None:
            head = head_id(s)
            if rec.id != head + 1:
                raise StaleCommitError(f"commit {rec.id} is stale: the head is now {head}")
            if rec.label is not None and commit_by_label(s, rec.label) is not None:
                raise LabelExistsError(f"label {rec.label!r} is already used")
            s.add(CommitRow(id=rec.id, time=rec.time, user=rec.user, transport=rec.transport,
                            comment=rec.comment, label=rec.label, changes=rec.changes,
                            confirmed=rec.confirmed))
            if snapshot is not None:
                s.flush()
                s.add(SnapshotRow(commit_id=rec.id, tree=snapshot, created=utcnow()))
            if extra is not None:
                extra(s)
            notify(s, self.channel, f"c{rec.id}")

        self.run(f"appending commit {rec.id}", work)


def records_between(s: Session, a: int, b: int) -> list[CommitRecord]:
    stmt = select(CommitRow).where(CommitRow.id > a, CommitRow.id <= b).order_by(CommitRow.id)
    return [CommitRecord(r.id, r.time, r.user, r.transport, r.comment, r.label, r.changes,
                         r.confirmed) for r in s.scalars(stmt)]


def get_confirm(s: Session) -> PendingConfirm | None:
    row = s.get(ConfirmRow, 1)
    if row is None:
        return None
    return PendingConfirm(row.commit_id, row.rollback_to, row.deadline, row.persist_id,
                          row.session_id, row.armed_by_instance)


def set_confirm(s: Session, pending: PendingConfirm, channel: Channel | None) -> None:
    s.merge(ConfirmRow(id=1, commit_id=pending.commit_id, rollback_to=pending.rollback_to,
                       deadline=pending.deadline, persist_id=pending.persist_id,
                       session_id=pending.session_id, armed_by_instance=pending.instance))
    notify(s, channel, "p")


def claim_confirm(s: Session, commit_id: int, channel: Channel | None) -> None:
    """Take the pending confirmed commit ``commit_id`` away (its rollback or cancel is being
    committed); ClaimLostError if it is no longer pending (another instance got it)."""
    gone = s.execute(delete(ConfirmRow).where(ConfirmRow.commit_id == commit_id))
    if gone.rowcount != 1:  # type: ignore[attr-defined]
        raise ClaimLostError(f"confirmed commit {commit_id} is no longer pending")
    notify(s, channel, "p")


def confirm(s: Session, commit_id: int, channel: Channel | None) -> None:
    """The pending confirmed commit ``commit_id`` was confirmed (ClaimLostError if gone)."""
    claim_confirm(s, commit_id, channel)
    s.execute(update(CommitRow).where(CommitRow.id == commit_id).values(confirmed=True))


# ---- what a follower reads ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class LockInfo:
    target: str
    session_id: int
    instance_id: str
    since: datetime
    expires: datetime


@dataclass(frozen=True, slots=True)
class Refresh:
    head: int
    pending: PendingConfirm | None
    locks: tuple[LockInfo, ...]
    startup: datetime | None  # when startup was last written (None: there is none)


def refresh(s: Session) -> Refresh:
    """The shared state a follower mirrors: head, pending confirm, locks not expired."""
    now = utcnow()
    rows = s.scalars(select(LockRow).where(LockRow.expires > now)).all()
    locks = tuple(LockInfo(r.target, r.session_id, r.instance_id, r.since, r.expires)
                  for r in rows)
    startup = s.scalar(select(DatastoreRow.updated).where(DatastoreRow.name == "startup"))
    return Refresh(head_id(s), get_confirm(s), locks, startup)


# ---- locks ------------------------------------------------------------------------------------

def acquire_lock(s: Session, target: str, session_id: int, instance: str, lease: float,
                 channel: Channel | None) -> LockInfo | None:
    """Take the lock of ``target``; the current holder if it is held (not expired)."""
    now = utcnow()
    row = s.get(LockRow, target, with_for_update=True)
    if row is not None and row.expires > now:
        return LockInfo(row.target, row.session_id, row.instance_id, row.since, row.expires)
    if row is not None:
        s.delete(row)  # a lapsed lease: its instance died
        s.flush()
    s.add(LockRow(target=target, session_id=session_id, instance_id=instance, since=now,
                  expires=now + timedelta(seconds=lease)))
    notify(s, channel, "l")
    return None


def release_lock(s: Session, target: str, session_id: int, instance: str,
                 channel: Channel | None) -> bool:
    gone = s.execute(delete(LockRow).where(LockRow.target == target,
                                           LockRow.session_id == session_id,
                                           LockRow.instance_id == instance))
    notify(s, channel, "l")
    return bool(gone.rowcount)  # type: ignore[attr-defined]


def lock_holder(s: Session, target: str) -> LockInfo | None:
    row = s.get(LockRow, target)
    if row is None or row.expires <= utcnow():
        return None
    return LockInfo(row.target, row.session_id, row.instance_id, row.since, row.expires)


# ---- instances ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class InstanceInfo:
    id: str
    host: str
    pid: int
    started: datetime
    heartbeat: datetime
    netconf: str | None
    restconf: str | None
    leader_of: tuple[str, ...]
    sessions: int


def register(s: Session, row: InstanceRow, channel: Channel | None) -> None:
    s.merge(row)
    notify(s, channel, "i")


def heartbeat(s: Session, instance: str, lease: float, dead_after: float, sessions: int,
              leader_of: str, netconf: str | None, restconf: str | None) -> None:
    """This instance is alive: renew its heartbeat and its locks' leases; forget instances
    silent for ``dead_after`` seconds (their locks lapse on their own)."""
    now = utcnow()
    s.execute(update(InstanceRow).where(InstanceRow.id == instance).values(
        heartbeat=now, sessions=sessions, leader_of=leader_of or None, netconf=netconf,
        restconf=restconf))
    s.execute(update(LockRow).where(LockRow.instance_id == instance).values(
        expires=now + timedelta(seconds=lease)))
    s.execute(delete(InstanceRow).where(InstanceRow.heartbeat < now - timedelta(seconds=dead_after)))
    s.execute(delete(LockRow).where(LockRow.expires < now - timedelta(seconds=dead_after)))


def forget_all(s: Session) -> None:
    """Drop every instance and lock (SQLite: a new start is the only instance)."""
    s.execute(delete(LockRow))
    s.execute(delete(InstanceRow))


def unregister(s: Session, instance: str, channel: Channel | None) -> None:
    s.execute(delete(LockRow).where(LockRow.instance_id == instance))
    s.execute(delete(InstanceRow).where(InstanceRow.id == instance))
    notify(s, channel, "i")


def instances(s: Session) -> list[InstanceInfo]:
    rows = s.scalars(select(InstanceRow).order_by(InstanceRow.started, InstanceRow.id)).all()
    return [InstanceInfo(r.id, r.host, r.pid, r.started, r.heartbeat, r.netconf, r.restconf,
                         tuple((r.leader_of or "").split()), r.sessions) for r in rows]


def session_block(s: Session, size: int) -> int:
    """Reserve ``size`` session ids unique across instances and restarts; the first one."""
    row = s.get(MetaRow, SESSION_COUNTER, with_for_update=True)
    first = int(row.value) if row is not None else 1
    if row is None:
        s.add(MetaRow(key=SESSION_COUNTER, value=str(first + size)))
    else:
        row.value = str(first + size)
    return first
