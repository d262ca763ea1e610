"""The event log: every notification yangd sends, kept for replay (RFC 5277 §3.2).

Each notification is one row of ``yangd_event`` (datastore/db.py, Alembic revision 0003) in
the same database as the commit log, so several yangd instances on one PostgreSQL database
share it: its stream name, its eventTime (aware UTC) and its content, the serialised XML of
the notification's top element (without the ``<notification>``/``<eventTime>`` envelope).

The log is bounded: ``prune`` keeps the newest ``keep`` events (default 10000) and, when
``max_age`` is set, none older than that. ``append`` prunes by itself every
``prune_every`` appended events, so a long-running server stays bounded without a timer.
``replay(start, stop)`` reads a window, oldest first, for replay subscriptions.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from datastore.db import EventRow
from datastore.store import Store

__all__ = ["DEFAULT_KEEP", "NETCONF_STREAM", "Event", "EventLog"]

#: The default number of events the log keeps.
DEFAULT_KEEP = 10000
#: RFC 5277 §3.2.3: the default stream, every event the server generates.
NETCONF_STREAM = "NETCONF"


@dataclass(frozen=True, slots=True)
class Event:
    """One logged notification: ``content`` is the XML text of its top element."""

    id: int
    time: datetime
    stream: str
    content: str


class EventLog:
    """The persisted notification log of one Store. Thread-safe (as Store is)."""

    def __init__(self, store: Store, keep: int = DEFAULT_KEEP, max_age: timedelta | None = None,
                 prune_every: int = 100) -> None:
        if keep < 1:
            raise ValueError(f"the event log must keep at least one event, not {keep}")
        self.store = store
        self.keep = keep
        self.max_age = max_age
        self.prune_every = max(1, prune_every)
        self._since_prune = 0
        self._lock = threading.Lock()

    def append(self, content: str, time: datetime | None = None,
               stream: str = NETCONF_STREAM) -> Event:
        """Record one notification durably (committed when this returns)."""
        t = _utc(time) if time is not None else datetime.now(UTC)
        return self.append_many([(t, stream, content)])[0]

    def append_many(self, rows: Sequence[tuple[datetime, str, str]]) -> list[Event]:
        """Record (time, stream, content) notifications in one transaction, in order."""
        if not rows:
            return []

        def work(s: Session) -> list[Event]:
            objs = [EventRow(time=_utc(t), stream=st, content=c) for t, st, c in rows]
            s.add_all(objs)
            s.flush()
            return [Event(o.id, _utc(o.time), o.stream, o.content) for o in objs]

        events = self.store.run("appending to the event log", work, write=True)
        with self._lock:
            self._since_prune += len(rows)
            due = self._since_prune >= self.prune_every
            if due:
                self._since_prune = 0
        if due:
            self.prune()
        return events

    def replay(self, start: datetime | None = None, stop: datetime | None = None,
               stream: str = NETCONF_STREAM, limit: int | None = None) -> list[Event]:
        """The events of ``stream`` with start <= eventTime <= stop, oldest first."""
        stmt = select(EventRow).where(EventRow.stream == stream)
        if start is not None:
            stmt = stmt.where(EventRow.time >= _utc(start))
        if stop is not None:
            stmt = stmt.where(EventRow.time <= _utc(stop))
        stmt = stmt.order_by(EventRow.time, EventRow.id).limit(limit)

        def work(s: Session) -> list[Event]:
            return [Event(r.id, _utc(r.time), r.stream, r.content) for r in s.scalars(stmt)]

        return self.store.run("reading the event log", work)

    def oldest(self, stream: str = NETCONF_STREAM) -> datetime | None:
        """The eventTime of the oldest event kept (RFC 5277 replayLogCreationTime/AgedTime)."""
        stmt = select(func.min(EventRow.time)).where(EventRow.stream == stream)
        t = self.store.run("reading the event log", lambda s: s.scalar(stmt))
        return None if t is None else _utc(t)

    def count(self, stream: str | None = None) -> int:
        stmt = select(func.count()).select_from(EventRow)
        if stream is not None:
            stmt = stmt.where(EventRow.stream == stream)
        return int(self.store.run("counting the event log", lambda s: s.scalar(stmt)) or 0)

    def prune(self, now: datetime | None = None) -> int:
        """Drop all but the newest ``keep`` events and those older than ``max_age``;
        returns how many went."""
        before = None
        if self.max_age is not None:
            before = (_utc(now) if now is not None else datetime.now(UTC)) - self.max_age

        def work(s: Session) -> int:
            n = 0
            newest = select(EventRow.id).order_by(EventRow.id.desc())
            cut = s.scalar(newest.offset(self.keep).limit(1))
            if cut is not None:
                n += _rowcount(s.execute(delete(EventRow).where(EventRow.id <= cut)))
            if before is not None:
                n += _rowcount(s.execute(delete(EventRow).where(EventRow.time < before)))
            return n

        return self.store.run("pruning the event log", work, write=True)


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _utc(t: datetime) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"naive datetime {t!r}: the event log keeps aware UTC timestamps")
    return t.astimezone(UTC)
