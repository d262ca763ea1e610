"""The driver base class: one backend as a participant of every commit transaction.

A driver declares the schema subtrees it owns (``owns``: schema paths or generated classes,
resolved against the bundle at construction — a path that does not exist is a startup
error, not a silent no-op). For each transaction it sees only the changes touching those
subtrees (``relevant``); a transaction without any is skipped entirely. Subclasses override
the ``on_*`` hooks, which default to no-ops:

    on_validate  may refuse (DriverError); must not touch the backend
    on_prepare   may refuse; computes and checks the backend operations, applies nothing
    on_commit    applies what was prepared; if it raises, the framework calls on_revert
                 itself (the transaction runner never reverts the participant that failed),
                 so on_revert must also undo a commit that stopped halfway
    on_abort     drops what on_prepare computed (only after a successful prepare)
    on_revert    undoes what on_commit applied (a later participant failed)
    on_full_sync converges the backend to the whole running config of the owned subtrees,
                 removing what running does not have; may return how many operations
                 that took (the differences it repaired)
    on_drift     what on_full_sync would change now, as short descriptions (empty: the
                 backend matches running); None: the driver cannot tell. Reads only.
    read_state   the backend's state as a Root tree (StateProvider, origin ``learned``)

Every hook runs in the driver's own worker thread with a deadline (``timeout`` seconds). A
phase that misses it is a failure (DriverTimeout → operation-failed), never a success. The
late phase keeps running; the clean-up queued behind it (abort after a late prepare, revert
after a late commit) runs when it returns, and the driver is marked ``needs_sync``: its next
transaction first re-syncs the backend to running (see southbound/_worker.py).

Every driver keeps a record for its yangd-southbound state (southbound/manager.py): the
time of its last full sync, its last error, failures per phase, and the drift last seen —
logged (WARNING, ``yangd.southbound``) once each time it changes, never repaired on its own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from datastore.edit import Change
from datastore.operational import LEARNED
from datastore.path import format_path
from datastore.transaction import Transaction
from models.bundle import Bundle, YangModel
from models.errors import YangdErrors
from models.schema import SchemaNode
from southbound._worker import Worker
from southbound.errors import DriverError, DriverTimeout, to_yangd

log = logging.getLogger("yangd.southbound")
T = TypeVar("T")
OwnedPath = str | type[YangModel]


class Phase(StrEnum):
    START = "start"
    VALIDATE = "validate"
    PREPARE = "prepare"
    COMMIT = "commit"
    ABORT = "abort"
    REVERT = "revert"
    SYNC = "full-sync"
    STATE = "state"


class Status(StrEnum):
    """yangd-southbound sync-status."""

    IN_SYNC = "in-sync"
    NEEDS_SYNC = "needs-sync"
    FAILED = "failed"


@dataclass
class PhaseFailures:
    count: int = 0
    timeouts: int = 0


@dataclass
class Record:
    """What a driver's yangd-southbound state reports (kept by the framework)."""

    last_sync: datetime | None = None
    last_error: tuple[datetime, Phase, str] | None = None
    failures: dict[Phase, PhaseFailures] = field(default_factory=dict)
    sync_failed: bool = False  # the last start or full sync failed
    drift: tuple[str, ...] | None = None  # as last checked (None: never, or cannot tell)
    drift_checked: datetime | None = None

    def failed(self, phase: Phase, message: str, timeout: bool = False) -> None:
        f = self.failures.setdefault(phase, PhaseFailures())
        f.count += 1
        f.timeouts += timeout
        self.last_error = (datetime.now(UTC), phase, message)


@dataclass
class DriverTx:
    """What one driver sees of a transaction: its relevant changes and its own scratch."""

    tx: Transaction
    changes: tuple[Change, ...]
    scratch: dict[str, Any] = field(default_factory=dict)
    prepared: bool = False
    committed: bool = False

    @property
    def source(self) -> YangModel:
        return self.tx.source

    @property
    def target(self) -> YangModel:
        return self.tx.target


class Driver:
    name: str = "driver"
    kind: str = "driver"  # the [drivers.NAME] kind it is configured with
    owns: tuple[OwnedPath, ...] = ()
    origin: str = LEARNED
    timeout: float = 10.0
    drift_interval: float = 0.0  # seconds between background drift checks (0: on read only)

    def __init__(self, bundle: Bundle, *, name: str | None = None, timeout: float | None = None):
        self.bundle = bundle
        if name is not None:
            self.name = name
        if timeout is not None:
            self.timeout = timeout
        self.owned: tuple[SchemaNode, ...] = tuple(self._resolve(p) for p in self.owns)
        self._owned_ids = {id(n) for n in self.owned}
        self._ancestor_ids: set[int] = set()
        for n in self.owned:
            p = n.data_parent()
            while p is not None:
                self._ancestor_ids.add(id(p))
                p = p.data_parent()
        self.needs_sync = False
        self.record = Record()
        # called after every phase: (driver name, phase, seconds, ok) — metrics, never control
        self.observers: list[Callable[[str, Phase, float, bool], None]] = []
        self._closed = False
        self._worker = Worker(f"yangd-driver-{self.name}")

    def _resolve(self, p: OwnedPath) -> SchemaNode:
        if isinstance(p, str):
            try:
                return self.bundle.node(p)
            except KeyError as e:
                raise ValueError(f"driver {self.name}: owned path {p} is not in the schema: {e}") from None
        node: SchemaNode | None = getattr(p, "__yang__", None)
        if node is None:
            raise ValueError(f"driver {self.name}: {p!r} is not a generated schema class")
        return node

    # ---- which changes are mine --------------------------------------------------------------
    def relevant(self, changes: Iterable[Change]) -> tuple[Change, ...]:
        """The changes at or below an owned node, or at an ancestor of one (a whole subtree)."""
        out = []
        for c in changes:
            if any(id(s.node) in self._owned_ids for s in c.path) or (
                    c.path and id(c.path[-1].node) in self._ancestor_ids):
                out.append(c)
        return tuple(out)

    def _dtx(self, tx: Transaction) -> DriverTx:
        d = tx.scratch.get(self.name)
        if not isinstance(d, DriverTx):
            d = DriverTx(tx, self.relevant(tx.changes))
            tx.scratch[self.name] = d
        return d

    # ---- running hooks in the worker ------------------------------------------------------------
    def _call(self, phase: Phase, fn: Callable[[], T], timeout: float | None = None) -> T:
        start = time.perf_counter()
        ok = False
        try:
            out = self._call_in_worker(phase, fn, timeout)
            ok = True
            return out
        finally:
            seconds = time.perf_counter() - start
            for obs in self.observers:
                try:
                    obs(self.name, phase, seconds, ok)
                except Exception:  # an observer must never fail a phase
                    log.exception("driver %s: phase observer failed", self.name)

    def _call_in_worker(self, phase: Phase, fn: Callable[[], T], timeout: float | None) -> T:
        limit = self.timeout if timeout is None else timeout
        fut = self._worker.submit(fn)
        try:
            return fut.result(timeout=limit)
        except FutureTimeout:
            if phase is not Phase.STATE:  # a slow read leaves the backend as it was
                self.needs_sync = True
            fut.add_done_callback(lambda f: log.warning(
                "driver %s: %s finished late (%s)", self.name, phase,
                "failed" if f.exception() else "ok"))
            message = f"{phase} did not finish within {limit:g} s"
            self.record.failed(phase, message, timeout=True)
            raise DriverTimeout(message) from None
        except Exception as e:
            self.record.failed(phase, _message(e))
            raise

    def _run(self, phase: Phase, fn: Callable[[], T], timeout: float | None = None) -> T:
        """``_call`` with the exception translated for the client."""
        try:
            return self._call(phase, fn, timeout)
        except Exception as e:
            raise to_yangd(self.name, phase, e) from None

    # ---- the Participant protocol (datastore/transaction.py) ------------------------------------
    def validate(self, tx: Transaction) -> None:
        d = self._dtx(tx)
        if not d.changes:
            return
        if self.needs_sync:
            self.full_sync(tx.source)
        try:
            self._call(Phase.VALIDATE, lambda: self.on_validate(d))
        except Exception as e:
            raise self._refusal(d, Phase.VALIDATE, e) from None

    def prepare(self, tx: Transaction) -> None:
        d = self._dtx(tx)
        if not d.changes:
            return
        try:
            self._call(Phase.PREPARE, lambda: self.on_prepare(d))
        except DriverTimeout as e:
            self._worker.submit(lambda: self.on_abort(d))  # runs after the late prepare
            raise self._refusal(d, Phase.PREPARE, e) from None
        except Exception as e:
            raise self._refusal(d, Phase.PREPARE, e) from None
        d.prepared = True

    def commit(self, tx: Transaction) -> None:
        d = self._dtx(tx)
        if not d.prepared:
            return
        try:
            self._call(Phase.COMMIT, lambda: self.on_commit(d))
        except DriverTimeout as e:
            self._worker.submit(lambda: self._undo(d))  # runs after the late commit
            raise self._refusal(d, Phase.COMMIT, e) from None
        except Exception as e:
            try:
                self._call(Phase.REVERT, lambda: self._undo(d))
            except Exception:
                self.needs_sync = True
                log.exception("driver %s: undoing a failed commit failed", self.name)
            raise self._refusal(d, Phase.COMMIT, e) from None
        d.committed = True

    def _refusal(self, d: DriverTx, phase: Phase, e: Exception) -> YangdErrors:
        """``e`` for the client; a failure naming no node (a timeout, a backend's refusal)
        gets the first change the driver was given as its error-path."""
        if isinstance(e, DriverError) and e.path is None and d.changes:
            e.path = format_path(self.bundle, d.changes[0].path)
        return to_yangd(self.name, phase, e)

    def _undo(self, d: DriverTx) -> None:
        self.on_revert(d)
        self.on_abort(d)

    def abort(self, tx: Transaction) -> None:
        d = self._dtx(tx)
        if d.prepared and not d.committed:
            self._run(Phase.ABORT, lambda: self.on_abort(d))
            d.prepared = False

    def revert(self, tx: Transaction) -> None:
        d = self._dtx(tx)
        if d.committed:
            try:
                self._call(Phase.REVERT, lambda: self._undo(d))
            except Exception as e:
                self.needs_sync = True
                raise to_yangd(self.name, Phase.REVERT, e) from None
            d.committed = d.prepared = False

    # ---- lifecycle, full sync, state ------------------------------------------------------------
    def start(self) -> None:
        """Connect to the backend (in the worker thread); raises YangdErrors."""
        try:
            self._run(Phase.START, self.on_start)
        except YangdErrors:
            self.record.sync_failed = True
            raise

    def full_sync(self, running: YangModel, timeout: float | None = None) -> int | None:
        """Converge the backend to ``running`` for the owned subtrees; raises YangdErrors.
        Returns the number of differences repaired when the driver can tell."""
        try:
            done = self._run(Phase.SYNC, lambda: self.on_full_sync(running), timeout)
        except YangdErrors:
            self.needs_sync = self.record.sync_failed = True
            raise
        self.needs_sync = self.record.sync_failed = False
        self.record.last_sync = datetime.now(UTC)
        return done

    @property
    def status(self) -> Status:
        if self.record.sync_failed:
            return Status.FAILED
        return Status.NEEDS_SYNC if self.needs_sync else Status.IN_SYNC

    def drift(self, running: YangModel, timeout: float | None = None) -> list[str] | None:
        """How the backend differs from ``running`` now (empty: it matches; None: the driver
        cannot tell); raises YangdErrors. A change from the drift last seen is logged once.
        The caller keeps ``running`` and the backend still (holds the datastore lock), or a
        commit in flight shows as drift."""
        diffs = self._run(Phase.STATE, lambda: self.on_drift(running), timeout)
        seen = tuple(diffs) if diffs is not None else None
        prev, self.record.drift = self.record.drift, seen
        self.record.drift_checked = datetime.now(UTC)
        if seen != prev and seen is not None:
            if seen:
                log.warning("driver %s: the backend differs from running (%d differences; "
                            "resync repairs): %s", self.name, len(seen), "; ".join(seen[:5])
                            + ("; ..." if len(seen) > 5 else ""))
            elif prev:
                log.info("driver %s: the backend matches running again", self.name)
        return diffs

    def state(self) -> YangModel | None:
        """StateProvider: the backend's state now (exceptions are reported by the reader)."""
        return self._call(Phase.STATE, self.read_state)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._call(Phase.STATE, self.on_close, timeout=min(self.timeout, 5.0))
        except Exception:
            log.warning("driver %s did not close cleanly", self.name)
        self._worker.close()

    # ---- hooks --------------------------------------------------------------------------------
    def on_start(self) -> None:
        pass

    def on_close(self) -> None:
        pass

    def on_validate(self, d: DriverTx) -> None:
        pass

    def on_prepare(self, d: DriverTx) -> None:
        pass

    def on_commit(self, d: DriverTx) -> None:
        pass

    def on_abort(self, d: DriverTx) -> None:
        pass

    def on_revert(self, d: DriverTx) -> None:
        pass

    def on_full_sync(self, running: YangModel) -> int | None:
        return None

    def on_drift(self, running: YangModel) -> list[str] | None:
        return None

    def read_state(self) -> YangModel | None:
        return None


def _message(e: BaseException) -> str:
    if isinstance(e, YangdErrors):
        return "; ".join(x.message for x in e.errors)
    if isinstance(e, DriverError):
        return e.message
    return f"{type(e).__name__}: {e}"


def check_unique_names(drivers: Sequence[Driver]) -> None:
    names = [d.name for d in drivers]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ValueError(f"driver names must be unique: {sorted(dup)}")


__all__ = ["Driver", "DriverError", "DriverTx", "Phase", "Record", "Status", "YangdErrors",
           "check_unique_names"]
