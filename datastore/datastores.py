"""The datastores of one yangd: running, the shared candidate, startup; commits and history.

Everything a client can do goes through a ``Session`` (datastore/session.py); this class
holds the shared state and the one commit pipeline every path uses (commit, writable-running
edits, copy-config to running, rollback, confirmed-commit timeout):

    validate → southbound transaction → persist (one DB transaction) → publish new running

Readers always see a complete tree: ``running`` is swapped in one assignment after the commit
is durable. All state changes hold ``self.lock``; trees are immutable so readers need none.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from datastore.changes import decode_changes, encode_changes, invert, replay
from datastore.diff import diff
from datastore.edit import Change
from datastore.operational import OperationalView, StateProvider, operational
from datastore.store import CommitRecord, PendingConfirm, Store, StoreError
from datastore.transaction import Participant, Transaction, revert_all, run_transaction
from models.bundle import Bundle, YangModel
from models.errors import YangdError, YangdErrors

if TYPE_CHECKING:
    from datastore.session import Session

log = logging.getLogger("yangd.datastore")
Validator = Callable[[Bundle, YangModel, Sequence[Change] | None], list[YangdError]]
# An RPC of a loaded module, served for every transport: (session, decoded input) → output.
RpcHandler = Callable[["Session", YangModel], YangModel | None]
INVERT_WINDOW = 64  # rollback within this many commits inverts change sets instead of replaying


@dataclass
class Candidate:
    """A candidate configuration: running at ``base_head`` plus the edits made since."""

    tree: YangModel
    base: YangModel
    base_head: int
    changes: list[Change] = field(default_factory=list)
    editors: set[int] = field(default_factory=set)  # sessions that changed it

    @property
    def dirty(self) -> bool:
        return bool(self.changes) or self.tree is not self.base


@dataclass(frozen=True)
class CommitEvent:
    id: int
    user: str
    transport: str
    session_id: int | None
    changes: tuple[Change, ...]
    comment: str | None
    label: str | None
    confirmed: bool


@dataclass(frozen=True)
class CommitMeta:
    user: str = "yangd"
    transport: str = "internal"
    session_id: int | None = None
    comment: str | None = None
    label: str | None = None
    confirmed: bool = True  # False: a pending confirmed commit


class Datastores:
    def __init__(self, bundle: Bundle, store: Store, *, history: int = 100,
                 snapshot_every: int = 64, validator: Validator | None = None,
                 participants: Sequence[Participant] = ()):
        self.bundle = bundle
        self.store = store
        self.history = history
        self.snapshot_every = snapshot_every
        self.validator = validator or _default_validator()
        self.participants = list(participants)
        self.state_providers: list[StateProvider] = []
        self.rpcs: dict[str, RpcHandler] = {}  # rpc schema path → handler
        self.lock = threading.RLock()
        self.listeners: list[Callable[[CommitEvent], None]] = []
        self.sessions: dict[int, Session] = {}
        self.locks: dict[str, int] = {}  # datastore name → session id
        self._next_session = 1
        self._background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="yangd-snapshot")
        self._timer: threading.Timer | None = None
        self.head, self.running = self._load_running()
        self.candidate = Candidate(self.running, self.running, self.head)
        text = store.get_datastore("startup")
        self.startup: YangModel | None = self.decode_tree(text) if text is not None else None
        self.pending: PendingConfirm | None = store.get_confirm()
        from datastore import history as commits

        self.add_rpc(f"/{commits.MODULE}:rollback", commits.rollback)
        self.add_rpc(f"/{commits.MODULE}:compare", commits.compare)
        if self.pending is not None:
            if self.pending.session_id is not None:
                # The session that armed it ended with the process: no new session may take
                # its id and so confirm a commit that was not its own.
                self._next_session = self.pending.session_id + 1
            self._arm_timer()

    # ---- trees ---------------------------------------------------------------------
    @property
    def root_cls(self) -> type[YangModel]:
        cls = self.bundle.root_cls
        assert cls is not None
        return cls

    def empty(self) -> YangModel:
        return self.root_cls.model_validate({})

    def decode_tree(self, text: str) -> YangModel:
        return self.root_cls.model_validate_json(text)

    def encode_tree(self, tree: YangModel) -> str:
        return tree.model_dump_json(exclude_none=True)

    def _load_running(self) -> tuple[int, YangModel]:
        head, snap, sets = self.store.load_running()
        tree = self.decode_tree(snap) if snap else self.empty()
        for _cid, text in sets:
            tree = replay(tree, decode_changes(self.bundle, text))
        return head, tree

    def tree_at(self, commit_id: int) -> YangModel:
        """Running as it was right after commit ``commit_id`` (0: the empty datastore)."""
        with self.lock:
            head, running = self.head, self.running
        if commit_id == head:
            return running
        if commit_id < 0 or commit_id > head:
            raise YangdErrors.one("invalid-value", f"no commit {commit_id}", app_tag="unknown-commit")
        if head - commit_id <= INVERT_WINDOW and self.store.commit(commit_id + 1) is not None:
            undo = [invert(decode_changes(self.bundle, text))
                    for _cid, text in reversed(self.store.changes_between(commit_id, head))]
            # Undoing the delete of a list entry or leaf-list value appends it: its old place
            # is not in the change set, so such history is replayed forward instead.
            if not any(c.op == "create" and c.path[-1].key is not None for cs in undo for c in cs):
                tree = running
                for cs in undo:
                    tree = replay(tree, cs)
                return tree
        if commit_id == 0:
            return self.empty()
        if self.store.commit(commit_id) is None:
            raise YangdErrors.one("invalid-value", f"commit {commit_id} is no longer kept",
                                  app_tag="unknown-commit")
        snap = self.store.snapshot_at_or_before(commit_id)
        base_id, tree = (snap[0], self.decode_tree(snap[1])) if snap else (0, self.empty())
        for _cid, text in self.store.changes_between(base_id, commit_id):
            tree = replay(tree, decode_changes(self.bundle, text))
        return tree

    # ---- the commit pipeline ---------------------------------------------------------
    def commit_tree(self, new: YangModel, changes: Sequence[Change] | None, meta: CommitMeta) -> int:
        """Make ``new`` the running tree. ``changes``: the change set against running, if known.

        Caller holds ``self.lock``. Raises YangdErrors and changes nothing on any failure.
        """
        old = self.running
        if changes is None:
            changes = diff(self.bundle.schema.root, old, new)
        errors = self.validator(self.bundle, new, changes)
        if errors:
            raise YangdErrors(errors)
        if meta.label is not None and self.store.by_label(meta.label) is not None:
            raise YangdErrors.one("invalid-value", f"label {meta.label!r} is already used",
                                  app_tag="label-exists")
        cid = self.head + 1
        tx = Transaction(cid, old, new, tuple(changes), meta.user)
        if changes:
            run_transaction(self.participants, tx)
        rec = CommitRecord(id=cid, time=datetime.now(UTC), user=meta.user, transport=meta.transport,
                           comment=meta.comment, label=meta.label,
                           changes=encode_changes(self.bundle, changes), confirmed=meta.confirmed)
        try:
            self.store.append_commit(rec)
        except Exception as e:  # any failure to persist: the backends must not keep the change
            if changes:
                revert_all(self.participants, tx)
            if not isinstance(e, StoreError):
                log.exception("storing commit %d failed", cid)
            raise YangdErrors.one("operation-failed", f"commit could not be stored: {e}") from None
        self.head, self.running = cid, new
        log.info("commit %d by %s over %s: %d changes", cid, meta.user, meta.transport, len(changes))
        if cid % self.snapshot_every == 0:
            self._background.submit(self._snapshot, cid, new)
        event = CommitEvent(cid, meta.user, meta.transport, meta.session_id, tuple(changes),
                            meta.comment, meta.label, meta.confirmed)
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:  # a listener must never undo or block a durable commit
                log.exception("commit listener failed")
        return cid

    def _snapshot(self, cid: int, tree: YangModel) -> None:
        try:
            self.store.write_snapshot(cid, self.encode_tree(tree))
            self.store.prune(self.history)
        except StoreError:
            log.exception("snapshot of commit %d failed", cid)

    def rebase_candidate(self) -> None:
        """After running moved: an unmodified shared candidate follows it (RFC 6241 §8.3)."""
        if not self.candidate.dirty:
            self.candidate = Candidate(self.running, self.running, self.head)

    def reset_candidate(self) -> None:
        self.candidate = Candidate(self.running, self.running, self.head)

    # ---- confirmed commit (RFC 6241 §8.4) -------------------------------------------------
    def arm_confirm(self, commit_id: int, rollback_to: int, timeout: int, persist_id: str | None,
                    session_id: int | None) -> None:
        deadline = datetime.now(UTC) + timedelta(seconds=timeout)
        self.pending = PendingConfirm(commit_id, rollback_to, deadline, persist_id, session_id, None)
        self.store.set_confirm(self.pending)
        self._arm_timer()

    def confirm(self) -> None:
        assert self.pending is not None
        self.store.mark_confirmed(self.pending.commit_id)
        self.store.clear_confirm()
        self.pending = None
        self._cancel_timer()

    def rollback_pending(self, why: str) -> int:
        """Restore running to before the confirmed commit; a new commit records it."""
        assert self.pending is not None
        target = self.tree_at(self.pending.rollback_to)
        meta = CommitMeta(comment=f"rollback to commit {self.pending.rollback_to}: {why}")
        cid = self.commit_tree(target, None, meta)
        self.store.clear_confirm()
        self.pending = None
        self._cancel_timer()
        self.reset_candidate()
        return cid

    def _arm_timer(self) -> None:
        self._cancel_timer()
        assert self.pending is not None
        delay = max(0.0, (self.pending.deadline - datetime.now(UTC)).total_seconds())
        self._timer = threading.Timer(delay, self._expired)
        self._timer.daemon = True
        self._timer.start()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self) -> None:
        with self.lock:
            if self.pending is None:
                return
            if self.pending.deadline > datetime.now(UTC):  # the timer fired early: wait on
                self._arm_timer()
                return
            try:
                cid = self.rollback_pending("confirmed commit was not confirmed in time")
                log.warning("confirmed commit timed out; rolled back as commit %d", cid)
            except YangdErrors:
                log.exception("rollback of an unconfirmed commit failed; retrying in 5 s")
                self._timer = threading.Timer(5.0, self._expired)
                self._timer.daemon = True
                self._timer.start()

    # ---- sessions -----------------------------------------------------------------------
    def open_session(self, user: str, transport: str, private_candidate: bool = False) -> Session:
        from datastore.session import Session

        with self.lock:
            sid = self._next_session
            self._next_session += 1
            s = Session(self, sid, user, transport, private_candidate)
            self.sessions[sid] = s
            return s

    def close(self) -> None:
        self._cancel_timer()
        for s in list(self.sessions.values()):
            s.close()
        self._background.shutdown(wait=True)
        self.store.close()

    def add_listener(self, fn: Callable[[CommitEvent], None]) -> None:
        self.listeners.append(fn)

    def add_state_provider(self, provider: StateProvider) -> None:
        self.state_providers.append(provider)

    def remove_state_provider(self, provider: StateProvider) -> None:
        if provider in self.state_providers:
            self.state_providers.remove(provider)

    def add_participant(self, participant: Participant) -> None:
        """Join every later commit's transaction (after those already added)."""
        with self.lock:
            self.participants.append(participant)

    def remove_participant(self, participant: Participant) -> None:
        with self.lock:
            if participant in self.participants:
                self.participants.remove(participant)

    def add_rpc(self, path: str, handler: RpcHandler) -> bool:
        """Serve the rpc at schema ``path`` with ``handler`` on every transport; False (and
        nothing served) when its module is not loaded."""
        try:
            node = self.bundle.node(path)
        except KeyError:
            return False
        if node.kind.name != "RPC":
            raise ValueError(f"{path} is not an rpc")
        self.rpcs[path] = handler
        return True

    def operational(self) -> OperationalView:
        """The operational datastore now (RFC 8342 §5.3), with origins."""
        return operational(self.bundle, self.running, list(self.state_providers))

    def commits(self, limit: int | None = None) -> list[Any]:
        return self.store.commits(limit)


def _default_validator() -> Validator:
    from datastore.validate import validate

    return validate
