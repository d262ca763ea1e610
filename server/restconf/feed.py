"""The NETCONF event stream for RESTCONF subscribers (RFC 8040 §6), read from the event log.

RESTCONF and NETCONF never import each other (DESIGN.md), and the notification bus lives in
the NETCONF server; but the bus writes every event to the event log (datastore/events.py)
before it sends it anywhere, one writer, in order. So RESTCONF tails the log: while anyone
listens, one task reads the rows after the last one it saw every ``poll`` seconds (one
primary-key range query) and hands them to each subscriber's queue; nobody listening, no
task and no query. Events from every transport arrive this way, and with several yangd on
one PostgreSQL database, every instance's.

Replay (RFC 8040 §4.8.7) reads the same log by eventTime. A subscriber is registered at the
feed's current row (its mark) before its replay window is read, and the window is cut at
the mark: each event is either replayed or delivered live, never both, never neither.
A subscriber whose queue overflows (a client that does not read) is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datastore.db import EventRow
from datastore.events import NETCONF_STREAM, Event, EventLog
from datastore.store import StoreError

__all__ = ["POLL", "EventFeed", "Subscriber"]

log = logging.getLogger("yangd.restconf")

POLL = 0.1  # seconds between two reads of the log while someone listens
_BATCH = 1000  # rows read at most per poll


@dataclass(eq=False)
class Subscriber:
    """One listener: live events arrive on ``queue``; ``ended`` once the feed dropped it."""

    queue: asyncio.Queue[Event | None] = field(default_factory=lambda: asyncio.Queue(10000))
    ended: bool = False


class EventFeed:
    """The NETCONF stream of one event log for any number of subscribers (one event loop)."""

    def __init__(self, events: EventLog, poll: float = POLL) -> None:
        self.events = events
        self.poll = poll
        self.subs: set[Subscriber] = set()
        self.cursor = 0  # the last row handed out
        self.closed = False
        self._task: asyncio.Task[None] | None = None
        self._starting = asyncio.Lock()

    async def subscribe(self, start: datetime | None = None,
                        stop: datetime | None = None) -> tuple[Subscriber, list[Event]]:
        """A new subscriber and, when ``start`` is given, its replay window (oldest first).
        StoreError when the log cannot be read."""
        if self.closed:
            raise StoreError("the event stream is shutting down")
        async with self._starting:
            if self._task is None:
                self.cursor = await asyncio.to_thread(self._last_row)
                self._task = asyncio.create_task(self._run(), name="restconf-event-feed")
            sub = Subscriber()
            self.subs.add(sub)
            mark = self.cursor
        if start is None:
            return sub, []
        try:
            window = await asyncio.to_thread(self.events.replay, start, stop, NETCONF_STREAM)
        except BaseException:
            self.unsubscribe(sub)
            raise
        return sub, [e for e in window if e.id <= mark]

    def unsubscribe(self, sub: Subscriber) -> None:
        sub.ended = True
        self.subs.discard(sub)

    def close(self) -> None:
        """End every subscription (their streams finish) and stop reading the log."""
        self.closed = True
        for sub in list(self.subs):
            self.unsubscribe(sub)
            with contextlib.suppress(asyncio.QueueFull):
                sub.queue.put_nowait(None)
        if self._task is not None:
            self._task.cancel()

    # ---- the reading task ---------------------------------------------------------------

    async def _run(self) -> None:
        try:
            while self.subs and not self.closed:
                await asyncio.sleep(self.poll)
                try:
                    rows = await asyncio.to_thread(self._rows_after, self.cursor)
                except StoreError as e:
                    log.warning("RESTCONF event stream: cannot read the event log: %s", e)
                    continue
                for ev in rows:
                    for sub in list(self.subs):
                        try:
                            sub.queue.put_nowait(ev)
                        except asyncio.QueueFull:
                            log.warning("RESTCONF event stream: a client does not keep up; "
                                        "dropping its subscription")
                            self.unsubscribe(sub)
                if rows:
                    self.cursor = rows[-1].id
        finally:
            self._task = None

    def _last_row(self) -> int:
        stmt = select(func.max(EventRow.id))
        return int(self.events.store.run("reading the event log", lambda s: s.scalar(stmt)) or 0)

    def _rows_after(self, cursor: int) -> list[Event]:
        stmt = (select(EventRow).where(EventRow.id > cursor, EventRow.stream == NETCONF_STREAM)
                .order_by(EventRow.id).limit(_BATCH))

        def work(s: Session) -> list[Event]:
            return [Event(r.id, r.time, r.stream, r.content) for r in s.scalars(stmt)]

        return self.events.store.run("reading the event log", work)
