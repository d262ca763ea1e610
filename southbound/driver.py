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
                 removing what running does not have
    read_state   the backend's state as a Root tree (StateProvider, origin ``learned``)

Every hook runs in the driver's own worker thread with a deadline (``timeout`` seconds). A
phase that misses it is a failure (DriverTimeout → operation-failed), never a success. The
late phase keeps running; the clean-up queued behind it (abort after a late prepare, revert
after a late commit) runs when it returns, and the driver is marked ``needs_sync``: its next
transaction first re-syncs the backend to running (see southbound/_worker.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from datastore.edit import Change
from datastore.operational import LEARNED
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
    owns: tuple[OwnedPath, ...] = ()
    origin: str = LEARNED
    timeout: float = 10.0

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
        limit = self.timeout if timeout is None else timeout
        fut = self._worker.submit(fn)
        try:
            return fut.result(timeout=limit)
        except FutureTimeout:
            self.needs_sync = True
            fut.add_done_callback(lambda f: log.warning(
                "driver %s: %s finished late (%s)", self.name, phase,
                "failed" if f.exception() else "ok"))
            raise DriverTimeout(f"{phase} did not finish within {limit:g} s") from None

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
            self._run(Phase.SYNC, lambda: self.on_full_sync(tx.source))
            self.needs_sync = False
        self._run(Phase.VALIDATE, lambda: self.on_validate(d))

    def prepare(self, tx: Transaction) -> None:
        d = self._dtx(tx)
        if not d.changes:
            return
        try:
            self._call(Phase.PREPARE, lambda: self.on_prepare(d))
        except DriverTimeout as e:
            self._worker.submit(lambda: self.on_abort(d))  # runs after the late prepare
            raise to_yangd(self.name, Phase.PREPARE, e) from None
        except Exception as e:
            raise to_yangd(self.name, Phase.PREPARE, e) from None
        d.prepared = True

    def commit(self, tx: Transaction) -> None:
        d = self._dtx(tx)
        if not d.prepared:
            return
        try:
            self._call(Phase.COMMIT, lambda: self.on_commit(d))
        except DriverTimeout as e:
            self._worker.submit(lambda: self._undo(d))  # runs after the late commit
            raise to_yangd(self.name, Phase.COMMIT, e) from None
        except Exception as e:
            try:
                self._call(Phase.REVERT, lambda: self._undo(d))
            except Exception:
                self.needs_sync = True
                log.exception("driver %s: undoing a failed commit failed", self.name)
            raise to_yangd(self.name, Phase.COMMIT, e) from None
        d.committed = True

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
        self._run(Phase.START, self.on_start)

    def full_sync(self, running: YangModel, timeout: float | None = None) -> None:
        """Converge the backend to ``running`` for the owned subtrees; raises YangdErrors."""
        self._run(Phase.SYNC, lambda: self.on_full_sync(running), timeout)
        self.needs_sync = False

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

    def on_full_sync(self, running: YangModel) -> None:
        pass

    def read_state(self) -> YangModel | None:
        return None


def check_unique_names(drivers: Sequence[Driver]) -> None:
    names = [d.name for d in drivers]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ValueError(f"driver names must be unique: {sorted(dup)}")


__all__ = ["Driver", "DriverError", "DriverTx", "Phase", "YangdErrors", "check_unique_names"]
