"""Several yangd instances on one database: PostgreSQL is the distributed engine.

yangd adds no consensus of its own; every shared decision is a database transaction.
``Datastores`` creates one ``Cluster`` (also on SQLite, where it is the only instance):

- **One commit sequence.** Every commit runs in ``Store.serialised()``: on PostgreSQL a
  transaction holding an advisory lock from reading the head until the commit row is
  written, so the commits of all instances form one sequence (datastore/datastores.py
  ``commit_tree``). A commit whose instance is behind the database head first *catches up*
  (replays the newer commits onto its running), then *rebases*: its own change set is
  replayed onto the new running and validated again. If a newer commit touched the same
  node, an ancestor or a descendant of one of its changes, the commit is refused with
  ``in-use`` (app-tag ``commit-conflict``, the path, and the conflicting commit in the
  message): never silently merged, never a lost update. A client retries against the new
  running.
- **Followers.** Each instance applies other instances' commits to its running within a
  bounded delay: a dedicated connection LISTENs on the database's channel (the committing
  transaction NOTIFYs, so the signal arrives right after COMMIT), with a poll every
  ``poll`` seconds as the fallback (and the only way on SQLite). Remote commits are
  replayed from their stored change sets; an unmodified shared candidate follows running,
  a modified one is rebased onto it (datastores.py ``follow_candidate``), or, when its edits
  touch what the other instance changed, is marked so that its commit is refused with
  ``in-use``/``commit-conflict`` instead of undoing that commit. (A commit made on the *same*
  instance keeps RFC 6241 §8.3: the shared candidate is a whole configuration.) Remote
  commits do not fire ``Datastores.listeners``: each commit's notification is generated
  once, by its own instance, into the shared event log.
- **Locks** (RFC 6241 §7.5) are rows of ``yangd_lock`` held by (instance, session) with a
  lease: the holder's heartbeat (every ``heartbeat`` s) renews it; a killed instance's locks
  lapse after ``lease`` s. Session ids come in blocks from a database counter, so they are
  unique across instances and restarts and a lock's session id names one session. What is
  shared: the locks, running, startup, the pending confirmed commit and the commit history.
  What is not: the *content* of the shared candidate is per instance (an edit lives in the
  instance that received it until committed); its lock is cluster-wide, so a candidate
  locked on one instance refuses edits, commits and locks on every other.
- **Confirmed commit** (RFC 6241 §8.4): the pending confirmed commit is the ``yangd_confirm``
  row; every instance mirrors it and arms a timer. The confirming commit or cancel-commit
  may arrive at any instance (persist-id). Whichever timer fires first claims the row
  inside the rollback's commit transaction (conditional DELETE): exactly one instance rolls
  back, even if the one that armed it is dead.
- **Leaders.** ``lead(name, …)`` elects one instance per name (one per southbound driver)
  with ``pg_try_advisory_lock`` on a dedicated connection; when that connection dies (the
  instance was killed), PostgreSQL releases the lock and the next instance to try becomes
  leader (southbound/manager.py then full-syncs the backend). SQLite: always the leader.
  A commit made on an instance that does not lead a driver is validated and made durable
  without that driver; the leader pushes it when it follows. If the backend refuses it
  then, the driver is marked ``needs_sync`` and converges on its next transaction (or a
  ``resync`` on the leader): the all-or-nothing contract holds per instance, not across
  instances.
- **Clocks.** Leases and confirmed-commit deadlines are wall-clock times written by the
  instances: their hosts' clocks must agree (NTP) to well within the lease.
- **Instances** register in ``yangd_instance`` (host, pid, start, heartbeat, listen
  addresses, the drivers they lead, their session count); ``instances()`` lists them.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import make_url

from datastore import _cluster_store as cs
from datastore._cluster_state import ClusterState
from datastore.db import InstanceRow, utcnow
from datastore.edit import Change
from datastore.path import format_path
from datastore.store import Store, StoreError
from models.bundle import Bundle
from models.errors import YangdErrors

if TYPE_CHECKING:
    from datastore.datastores import Datastores

__all__ = ["Cluster", "ClusterState", "InstanceInfo", "LockInfo", "conflicts"]

log = logging.getLogger("yangd.cluster")
InstanceInfo = cs.InstanceInfo
LockInfo = cs.LockInfo

LEASE = 10.0  # seconds a lock outlives its instance's last heartbeat
HEARTBEAT = 2.0
POLL = 1.0  # follower poll when no notification arrives (SQLite: the only way)
SESSION_BLOCK = 256


def conflicts(bundle: Bundle, mine: Sequence[Change], theirs: Sequence[Change]) -> list[str]:
    """The paths of ``theirs`` that are, or are an ancestor or descendant of, a path of
    ``mine``: where replaying ``mine`` after ``theirs`` would silently merge two edits."""
    if not mine or not theirs:
        return []
    ours = {format_path(bundle, c.path) for c in mine}
    return sorted({p for p in (format_path(bundle, c.path) for c in theirs)
                   if any(_related(p, m) for m in ours)})


def _related(a: str, b: str) -> bool:
    return a == b or _under(a, b) or _under(b, a)


def _under(a: str, top: str) -> bool:
    return a.startswith(top) and a[len(top):len(top) + 1] in ("/", "[")


@dataclass
class _Lead:
    name: str
    key: int
    on_acquire: Callable[[], None]
    on_lose: Callable[[], None]
    held: bool = False


class Cluster:
    def __init__(self, ds: Datastores, *, lease: float = LEASE, heartbeat: float = HEARTBEAT,
                 poll: float = POLL) -> None:
        self.ds = ds
        self.store: Store = ds.store
        self.lease, self.heartbeat, self.poll = lease, heartbeat, poll
        self.pg = self.store.is_postgresql
        self.id = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.channel = cs.Channel(cs.channel_name(self.store.scope), self.id) if self.pg else None
        self.netconf: str | None = None
        self.restconf: str | None = None
        self.locks: dict[str, LockInfo] = {}  # target → holder, mirrored from the database
        self.lock_gen = 0  # counts this instance's lock changes (a follower's read may be older)
        self._ids = (0, 0)  # the reserved session-id block [next, end)
        self._ids_lock = threading.Lock()
        self._leads: dict[str, _Lead] = {}
        self._lead_conn: Any = None
        self._lead_mutex = threading.RLock()
        self._stop = threading.Event()
        now = utcnow()
        self.started = now
        if not self.pg:  # SQLite serves one instance: whatever an earlier one held died with it
            self.store.run("clearing locks of earlier runs", cs.forget_all, write=True)
        self.store.run("registering this instance", lambda s: cs.register(s, InstanceRow(
            id=self.id, host=socket.gethostname(), pid=os.getpid(), started=now, heartbeat=now,
            sessions=0), self.channel), write=True)
        self._threads = [threading.Thread(target=self._follow_loop, daemon=True,
                                          name="yangd-cluster-follow"),
                         threading.Thread(target=self._beat_loop, daemon=True,
                                          name="yangd-cluster-heartbeat")]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    @property
    def dsn(self) -> str:
        """The libpq URL of the database (psycopg's own connections: LISTEN, leadership)."""
        return make_url(self.store.url).set(drivername="postgresql").render_as_string(
            hide_password=False)

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        if self.pg:
            self.announce()
        for t in self._threads:
            if t.ident is not None:
                t.join(5)
        with self._lead_mutex:
            for lead in self._leads.values():
                lead.held = False
            self._close_lead_conn()
        try:
            self.store.run("unregistering this instance",
                           lambda s: cs.unregister(s, self.id, self.channel), write=True)
        except StoreError:
            log.exception("unregistering instance %s failed", self.id)

    def announce(self) -> None:
        """Tell every follower (this instance's and the others') to read the database now: a
        change that is not a commit or a lock (e.g. startup written) has no NOTIFY of its own."""
        if not self.pg:  # one instance: nobody to tell
            return
        try:
            self.store.run("waking the follower", lambda s: cs.notify(s, self.channel, "w"),
                           write=True)
        except StoreError:
            pass

    # ---- session ids ------------------------------------------------------------------------
    def next_session_id(self) -> int:
        with self._ids_lock:
            nxt, end = self._ids
            if nxt >= end:
                nxt = self._reserve()
                end = nxt + SESSION_BLOCK
            self._ids = (nxt + 1, end)
            return nxt

    def _reserve(self) -> int:
        for attempt in range(3):
            try:
                return self.store.run("reserving session ids",
                                      lambda s: cs.session_block(s, SESSION_BLOCK), write=True)
            except StoreError:  # two instances created the counter at once: read it again
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    # ---- locks ------------------------------------------------------------------------------
    def lock(self, target: str, session_id: int) -> LockInfo | None:
        """Take ``target``'s lock for ``session_id``; None, or the holder that refuses it."""
        for attempt in range(3):
            try:
                holder = self.store.run(f"locking {target}", lambda s: cs.acquire_lock(
                    s, target, session_id, self.id, self.lease, self.channel), write=True)
                break
            except StoreError as e:  # another instance inserted the row at the same moment
                if attempt == 2:
                    raise YangdErrors.one("operation-failed", str(e)) from None
        if holder is None:
            now = utcnow()
            self._mirror(target, LockInfo(target, session_id, self.id, now, now))
        else:
            self._mirror(target, holder)
        return holder

    def unlock(self, target: str, session_id: int) -> bool:
        try:
            done = self.store.run(f"unlocking {target}", lambda s: cs.release_lock(
                s, target, session_id, self.id, self.channel), write=True)
        except StoreError as e:
            raise YangdErrors.one("operation-failed", str(e)) from None
        if self.locks.get(target) is not None and self.locks[target].session_id == session_id:
            self._mirror(target, None)
        return done

    def holder(self, target: str) -> LockInfo | None:
        """Who holds ``target``'s lock now, read from the database (and mirrored). SQLite
        has one instance: its mirror is the truth."""
        if not self.pg:
            return self.locks.get(target)
        try:
            got = self.store.run(f"reading the lock of {target}",
                                 lambda s: cs.lock_holder(s, target))
        except StoreError as e:
            raise YangdErrors.one("operation-failed", str(e)) from None
        self._mirror(target, got)
        return got

    def _mirror(self, target: str, info: LockInfo | None) -> None:
        """Keep ``self.locks`` and ``Datastores.locks`` (target → session id) in step."""
        self.lock_gen += 1
        ds_locks = self.ds.locks
        if info is None:
            self.locks.pop(target, None)
            ds_locks.pop(target, None)
        else:
            self.locks[target] = info
            ds_locks[target] = info.session_id

    def mirror_locks(self, locks: tuple[LockInfo, ...]) -> None:
        """The locks as read from the database (SQLite: this instance's are all there are,
        and its own mirror is exact)."""
        if not self.pg:
            return
        current = {li.target: li for li in locks}
        for target in [t for t in self.locks if t not in current]:
            self._mirror(target, None)
        for target in [t for t in self.ds.locks if t not in current]:
            self.ds.locks.pop(target, None)
        for target, li in current.items():
            self._mirror(target, li)

    # ---- instances ----------------------------------------------------------------------------
    def instances(self) -> list[InstanceInfo]:
        return self.store.run("listing instances", cs.instances)

    def led(self) -> list[str]:
        return sorted(n for n, lead in self._leads.items() if lead.held)

    # ---- leaders ------------------------------------------------------------------------------
    def lead(self, name: str, on_acquire: Callable[[], None],
             on_lose: Callable[[], None]) -> bool:
        """Stand for leader of ``name``: ``on_acquire`` runs when this instance becomes it
        (now, if it can; else from the heartbeat thread once the leader is gone),
        ``on_lose`` if it stops being leader while running. True: leader now."""
        lead = _Lead(name, cs.advisory_key(self.store.scope, f"lead/{name}"), on_acquire, on_lose)
        with self._lead_mutex:
            self._leads[name] = lead
            if not self.pg:
                lead.held = True
                on_acquire()
                return True
            self._try_lead(lead)
            return lead.held

    def resign(self, name: str) -> None:
        with self._lead_mutex:
            lead = self._leads.pop(name, None)
            if lead is not None and lead.held and self._lead_conn is not None:
                try:
                    self._lead_conn.execute("SELECT pg_advisory_unlock(%s)", (lead.key,))
                except Exception:
                    self._close_lead_conn()

    def _try_lead(self, lead: _Lead) -> None:
        import psycopg

        try:
            if self._lead_conn is None:
                self._lead_conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=5)
            row = self._lead_conn.execute("SELECT pg_try_advisory_lock(%s)", (lead.key,)).fetchone()
        except psycopg.Error as e:
            log.warning("leader election for %s: %s", lead.name, e)
            self._lost_all()
            return
        if row and row[0]:
            lead.held = True
            log.info("instance %s leads %s", self.id, lead.name)
            try:
                lead.on_acquire()
            except Exception:
                log.exception("taking the lead of %s failed", lead.name)

    def _check_leads(self) -> None:
        import psycopg

        with self._lead_mutex:
            if any(lead.held for lead in self._leads.values()):
                try:
                    self._lead_conn.execute("SELECT 1")
                except (psycopg.Error, AttributeError):
                    self._lost_all()
            for lead in list(self._leads.values()):
                if not lead.held and not self._stop.is_set():
                    self._try_lead(lead)

    def _lost_all(self) -> None:
        self._close_lead_conn()
        for lead in self._leads.values():
            if lead.held:
                lead.held = False
                log.error("instance %s lost the lead of %s (database connection)", self.id,
                          lead.name)
                try:
                    lead.on_lose()
                except Exception:
                    log.exception("giving up the lead of %s failed", lead.name)

    def _close_lead_conn(self) -> None:
        if self._lead_conn is not None:
            try:
                self._lead_conn.close()
            except Exception:
                pass
            self._lead_conn = None

    # ---- background ---------------------------------------------------------------------------
    def _beat_loop(self) -> None:
        while not self._stop.wait(self.heartbeat) and not self.store.closed:
            try:
                self.store.run("heartbeat", lambda s: cs.heartbeat(
                    s, self.id, self.lease, 3 * self.lease, len(self.ds.sessions),
                    " ".join(self.led()), self.netconf, self.restconf), write=True)
            except StoreError as e:
                log.warning("heartbeat of instance %s failed: %s", self.id, e)
            if self.pg and self._leads:
                self._check_leads()

    def _follow_loop(self) -> None:
        conn: Any = None
        last = time.monotonic()
        while not self._stop.is_set():
            foreign = True
            if self.pg:
                conn, foreign = self._wait_notify(conn)
            else:
                self._stop.wait(self.poll)
            if self._stop.is_set() or self.store.closed:
                break
            if not foreign and time.monotonic() - last < self.poll:
                continue  # only this instance's own announcements: nothing to follow
            last = time.monotonic()
            try:
                self.ds.follow()
            except Exception:
                log.exception("following the database failed")
                self._stop.wait(self.poll)
        if conn is not None:
            conn.close()

    def _wait_notify(self, conn: Any) -> tuple[Any, bool]:
        """Block until notifications on the channel arrive (or ``poll`` s pass): the
        connection to use next time (None after an error: reconnect, and poll meanwhile),
        and False if all that arrived were this instance's own."""
        import psycopg

        assert self.channel is not None
        try:
            if conn is None:
                conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=5)
                conn.execute(f'LISTEN "{self.channel.name}"')
            got = [n.payload for n in conn.notifies(timeout=self.poll, stop_after=1)]
            mine = f":{self.id}"
            return conn, not got or not all(p.endswith(mine) for p in got)
        except psycopg.Error as e:
            if not self._stop.is_set():
                log.warning("LISTEN connection failed (%s); polling", e)
            if conn is not None:
                try:
                    conn.close()
                except Exception:
                    pass
            self._stop.wait(self.poll)
            return None, True

