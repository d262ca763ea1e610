"""The datastores of one yangd: running, the shared candidate, startup; commits and history.

Everything a client can do goes through a ``Session`` (datastore/session.py); this class
holds the shared state and the one commit pipeline every path uses (commit, writable-running
edits, copy-config to running, rollback, confirmed-commit timeout):

    validate → southbound transaction → persist (one DB transaction) → publish new running

Readers always see a complete tree: ``running`` is swapped in one assignment after the commit
is durable. All state changes hold ``self.lock``; trees are immutable so readers need none.

Several instances may share one database (datastore/cluster.py): the commit runs in the
database's commit order (``Store.serialised``); an instance behind the database head catches
up first and rebases the commit's change set onto the new running, refusing it with
``in-use``/``commit-conflict`` when a newer commit touched the same nodes. ``follow``
applies other instances' commits, locks and pending confirmed commit as they appear.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from datastore import _cluster_store as cs
from datastore.changes import decode_changes, encode_changes, invert, replay
from datastore.cluster import Cluster, conflicts
from datastore.diff import diff
from datastore.edit import Change
from datastore.nacm import Nacm
from datastore.normalize import Normalizer, Normalizers
from datastore.operational import OperationalView, StateProvider, operational
from datastore.store import CommitRecord, PendingConfirm, Store, StoreError
from datastore.transaction import Participant, Transaction, revert_all, run_transaction
from models.bundle import Bundle, YangModel
from models.errors import YangdError, YangdErrors

if TYPE_CHECKING:
    from datastore.path import Path
    from datastore.session import Session

log = logging.getLogger("yangd.datastore")
Validator = Callable[[Bundle, YangModel, Sequence[Change] | None], list[YangdError]]
# An RPC of a loaded module, served for every transport: (session, decoded input) → output.
RpcHandler = Callable[["Session", YangModel], YangModel | None]
# An action (RFC 7950 §7.15): (session, instance path of the node it is invoked on, input) → output.
ActionHandler = Callable[["Session", "Path", YangModel], YangModel | None]
INVERT_WINDOW = 64  # rollback within this many commits inverts change sets instead of replaying


@dataclass
class Candidate:
    """A candidate configuration: running at ``base_head`` plus the edits made since."""

    tree: YangModel
    base: YangModel
    base_head: int
    changes: list[Change] = field(default_factory=list)
    editors: set[int] = field(default_factory=set)  # sessions that changed it
    # paths another instance's commit changed under these edits: committing them would undo
    # that commit, so the commit is refused (datastore/cluster.py)
    conflict: tuple[str, ...] = ()

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
    duration: float = 0.0  # seconds from commit_tree's start to durable (validate, southbound, store)


@dataclass(frozen=True)
class CommitMeta:
    user: str = "yangd"
    transport: str = "internal"
    session_id: int | None = None
    comment: str | None = None
    label: str | None = None
    confirmed: bool = True  # False: a pending confirmed commit


@dataclass(frozen=True)
class ConfirmOp:
    """What a commit does to the pending confirmed commit, in the commit's own transaction:
    ``arm`` it (this commit is a confirmed commit; ``rollback_to`` None: the commit before
    it), ``confirm`` pending ``commit_id``, or ``claim`` it (this commit is its rollback)."""

    kind: str  # arm | confirm | claim
    commit_id: int | None = None
    rollback_to: int | None = None
    timeout: int = 600
    persist_id: str | None = None
    session_id: int | None = None


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
        self.nacm = Nacm(bundle)  # RFC 8341 access control (datastore/nacm.py)
        self.rpcs: dict[str, RpcHandler] = {}  # rpc schema path → handler
        self.normalizers = Normalizers(bundle)  # leaf values rewritten before they are stored
        self.actions: dict[str, ActionHandler] = {}  # action schema path → handler
        self.lock = threading.RLock()
        self.listeners: list[Callable[[CommitEvent], None]] = []
        self.sessions: dict[int, Session] = {}
        self.locks: dict[str, int] = {}  # datastore name → session id
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
        # Session ids come from the cluster's database counter: never reused, so no new
        # session takes the id of one that armed a pending confirmed commit and ended.
        self._seen_pending = self.pending  # as last read from the database
        self._pending_gen = 0  # counts changes of ``pending`` (follow skips stale reads)
        self._startup_seen: datetime | None = None  # startup's write time as last followed
        self.cluster = Cluster(self)
        if self.pending is not None:
            self._arm_timer()
        self.follow()  # the locks other instances hold
        self.cluster.start()

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
    def commit_tree(self, new: YangModel, changes: Sequence[Change] | None, meta: CommitMeta,
                    confirm: ConfirmOp | None = None) -> int:
        """Make ``new`` the running tree. ``changes``: the change set against running, if known.
        ``confirm``: what this commit does to the pending confirmed commit (same transaction).

        Caller holds ``self.lock``. Raises YangdErrors and changes nothing on any failure.
        """
        started = time.perf_counter()
        try:
            writer = self.store.serialised(self.cluster.id).__enter__()
        except StoreError as e:
            raise YangdErrors.one("in-use", f"the commit could not get its turn: {e}",
                                  app_tag="commit-busy") from None
        with writer:
            try:
                head = writer.head()
                theirs: list[Change] | None = None
                if head > self.head:  # another instance committed: catch up, then rebase
                    if changes is None:
                        changes = diff(self.bundle.schema.root, self.running, new)
                    theirs = self._catch_up(writer.records_between(self.head, head))
                if confirm is not None and confirm.kind != "arm":
                    p = writer.pending()
                    if p is None or p.commit_id != confirm.commit_id:
                        raise YangdErrors.one(
                            "operation-failed", "the confirmed commit is no longer pending: it "
                            "was confirmed, cancelled or rolled back meanwhile", app_tag="not-pending")
                if theirs is not None:
                    assert changes is not None
                    new, changes = self._rebase(changes, theirs)
                label_used = meta.label is not None and writer.label_used(meta.label)
            except StoreError as e:
                raise YangdErrors.one("operation-failed", f"commit could not be stored: {e}") from None
            old = self.running
            if changes is None:
                changes = diff(self.bundle.schema.root, old, new)
            new, changes = self.normalizers.apply(new, changes)  # e.g. $0$ passwords hashed
            errors = self.validator(self.bundle, new, changes)
            if errors:
                raise YangdErrors(errors)
            if label_used:
                raise YangdErrors.one("invalid-value", f"label {meta.label!r} is already used",
                                      app_tag="label-exists")
            cid = self.head + 1
            tx = Transaction(cid, old, new, tuple(changes), meta.user)
            if changes:
                run_transaction(self.participants, tx)
            rec = CommitRecord(id=cid, time=datetime.now(UTC), user=meta.user,
                               transport=meta.transport, comment=meta.comment, label=meta.label,
                               changes=encode_changes(self.bundle, changes),
                               confirmed=meta.confirmed)
            pending = self._pending_after(confirm, cid)
            try:
                writer.finish(rec, extra=self._confirm_work(confirm, pending))
            except Exception as e:  # any failure to persist: the backends must not keep the change
                if changes:
                    revert_all(self.participants, tx)
                if isinstance(e, cs.ClaimLostError):
                    raise YangdErrors.one("operation-failed", str(e), app_tag="not-pending") from None
                if not isinstance(e, StoreError):
                    log.exception("storing commit %d failed", cid)
                raise YangdErrors.one("operation-failed", f"commit could not be stored: {e}") from None
        self.head, self.running = cid, new
        if confirm is not None:
            self._set_pending(pending)
        log.info("commit %d by %s over %s: %d changes", cid, meta.user, meta.transport, len(changes))
        if cid % self.snapshot_every == 0:
            self._background.submit(self._snapshot, cid, new)
        event = CommitEvent(cid, meta.user, meta.transport, meta.session_id, tuple(changes),
                            meta.comment, meta.label, meta.confirmed, time.perf_counter() - started)
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:  # a listener must never undo or block a durable commit
                log.exception("commit listener failed")
        return cid

    def _pending_after(self, op: ConfirmOp | None, cid: int) -> PendingConfirm | None:
        if op is None or op.kind != "arm":
            return None
        deadline = datetime.now(UTC) + timedelta(seconds=op.timeout)
        rollback_to = op.rollback_to if op.rollback_to is not None else cid - 1
        return PendingConfirm(cid, rollback_to, deadline, op.persist_id, op.session_id,
                              self.cluster.id)

    def _confirm_work(self, op: ConfirmOp | None,
                      pending: PendingConfirm | None) -> Callable[[Any], None] | None:
        """The database side of ``op``, run in the commit's transaction."""
        if op is None:
            return None
        ch = self.cluster.channel
        if op.kind == "arm":
            assert pending is not None
            return lambda s: cs.set_confirm(s, pending, ch)
        commit_id = op.commit_id
        assert commit_id is not None
        if op.kind == "confirm":
            return lambda s: cs.confirm(s, commit_id, ch)
        return lambda s: cs.claim_confirm(s, commit_id, ch)

    # ---- following the database (datastore/cluster.py) --------------------------------------
    def follow(self) -> None:
        """Mirror what other instances did: commits, locks, the pending confirmed commit."""
        gen, lock_gen = self._pending_gen, self.cluster.lock_gen
        r = self.store.run("following the database", cs.refresh)  # outside the lock: readers
        with self.lock:  # and commits of this instance go on meanwhile
            if lock_gen == self.cluster.lock_gen:  # no lock taken or freed here since the read
                self.cluster.mirror_locks(r.locks)
            if r.head > self.head:
                self._catch_up(self.store.records_between(self.head, r.head))
            if r.pending != self._seen_pending and gen == self._pending_gen:
                self._set_pending(r.pending)  # changed in the database since last seen
            # copy-config/delete-config on any instance (this one's own writes leave
            # _startup_seen behind: presence is compared too, or a delete elsewhere is missed)
            if r.startup != self._startup_seen or (r.startup is None) != (self.startup is None):
                self._startup_seen = r.startup
                text = self.store.get_datastore("startup")
                self.startup = self.decode_tree(text) if text is not None else None

    def refresh_pending(self) -> None:
        """Read the pending confirmed commit again (another instance may have armed,
        confirmed or rolled it back a moment ago)."""
        with self.lock:
            p = self.store.get_confirm()
            if p != self._seen_pending:
                self._seen_pending = p
                self._set_pending(p)

    def _set_pending(self, p: PendingConfirm | None) -> None:
        self._pending_gen += 1
        self._seen_pending = p
        self.pending = p
        if p is None:
            self._cancel_timer()
        else:
            self._arm_timer()

    def _catch_up(self, records: Sequence[CommitRecord]) -> list[Change]:
        """Apply other instances' commits to running (and, on the leader, to the backends);
        returns their changes. Caller holds ``self.lock``."""
        if not records:
            return []
        theirs: list[Change] = []
        if records[0].id != self.head + 1:  # pruned past our head: reload from a snapshot
            old = self.running
            self.head, self.running = self._load_running()
            theirs = list(diff(self.bundle.schema.root, old, self.running))
            self._drive(Transaction(self.head, old, self.running, tuple(theirs), "yangd"))
        else:
            for rec in records:
                cs_ = decode_changes(self.bundle, rec.changes)
                new = replay(self.running, cs_)
                self._drive(Transaction(rec.id, self.running, new, tuple(cs_), rec.user))
                self.head, self.running = rec.id, new
                theirs.extend(cs_)
        log.debug("caught up to commit %d (%d changes)", self.head, len(theirs))
        self.follow_candidate(theirs)
        return theirs

    def _drive(self, tx: Transaction) -> None:
        """Push a commit another instance made to the backends this instance leads. It is
        durable already: a backend refusing it is out of sync and re-syncs on its next
        transaction (southbound/driver.py ``needs_sync``)."""
        if not tx.changes or not self.participants:
            return
        try:
            run_transaction(self.participants, tx)
        except YangdErrors as e:
            log.error("applying commit %d of another instance to the backends failed: %s",
                      tx.id, e)
            for p in self.participants:
                if hasattr(p, "needs_sync"):
                    p.needs_sync = True

    def _rebase(self, mine: Sequence[Change], theirs: Sequence[Change]) -> tuple[YangModel, list[Change]]:
        """``mine`` (made against an older running) onto running; in-use if they overlap."""
        clash = conflicts(self.bundle, mine, theirs)
        if clash:
            raise YangdErrors([YangdError(
                "in-use", f"{p} was changed by another commit (head is now {self.head}); "
                "nothing was committed: retry against the new running", p, "commit-conflict",
                "application", {"conflict": p}) for p in clash])
        return replay(self.running, mine), list(mine)

    def follow_candidate(self, theirs: Sequence[Change]) -> None:
        """After running moved under the shared candidate: an unmodified one follows it
        (RFC 6241 §8.3); a modified one keeps its edits, replayed onto the new running, unless
        they touch what moved (then it stays on its old base, and its commit is refused)."""
        cand = self.candidate
        if not cand.dirty:
            self.candidate = Candidate(self.running, self.running, self.head)
        elif not cand.changes:  # edited by copy-config: stays as it is
            return
        elif clash := conflicts(self.bundle, cand.changes, theirs):
            cand.conflict = tuple(sorted({*cand.conflict, *clash}))
        else:
            self.candidate = Candidate(replay(self.running, cand.changes), self.running,
                                       self.head, cand.changes, cand.editors, cand.conflict)

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
    # The pending confirmed commit is the database's yangd_confirm row; ``pending`` mirrors
    # it. Every change of it runs in the commit order (Store.serialised), so arming,
    # confirming and the one rollback of several instances never interleave.
    def arm_confirm(self, commit_id: int, rollback_to: int, timeout: int, persist_id: str | None,
                    session_id: int | None) -> None:
        """Arm (or re-arm) a confirmed commit that committed nothing new."""
        deadline = datetime.now(UTC) + timedelta(seconds=timeout)
        p = PendingConfirm(commit_id, rollback_to, deadline, persist_id, session_id, self.cluster.id)
        self._confirm_tx("persisting the confirmed commit",
                         lambda s: cs.set_confirm(s, p, self.cluster.channel))
        self._set_pending(p)

    def confirm(self) -> None:
        """Confirm the pending confirmed commit without a new commit."""
        assert self.pending is not None
        cid = self.pending.commit_id
        self._confirm_tx("confirming the confirmed commit",
                         lambda s: cs.confirm(s, cid, self.cluster.channel))
        self._set_pending(None)

    def _confirm_tx(self, what: str, work: Callable[[Any], None]) -> None:
        try:
            with self.store.serialised(self.cluster.id) as w:
                w.run(what, work)
        except cs.ClaimLostError as e:
            self.refresh_pending()
            raise YangdErrors.one("operation-failed", f"{e}: it was confirmed, cancelled or "
                                  "rolled back meanwhile", type="protocol", app_tag="not-pending") from None
        except StoreError as e:
            raise YangdErrors.one("operation-failed", f"{what} failed: {e}") from None

    def rollback_pending(self, why: str) -> int:
        """Restore running to before the confirmed commit; a new commit records it, and
        claims the pending confirmed commit in its transaction (exactly one instance does)."""
        self.follow()  # running as the database has it: the rollback's diff is against that
        p = self.pending
        if p is None:
            raise YangdErrors.one("operation-failed", "the confirmed commit is no longer pending",
                                  type="protocol", app_tag="not-pending")
        target = self.tree_at(p.rollback_to)
        meta = CommitMeta(comment=f"rollback to commit {p.rollback_to}: {why}")
        try:
            cid = self.commit_tree(target, None, meta, ConfirmOp("claim", p.commit_id))
        except YangdErrors as e:
            if any(x.app_tag == "not-pending" for x in e.errors):
                self.refresh_pending()
            raise
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
        """The timer of the pending confirmed commit fired (on every instance that mirrors
        it): the first to claim it rolls back; for the others the claim fails, harmlessly."""
        with self.lock:
            if self.pending is None:
                return
            if self.pending.deadline > datetime.now(UTC):  # the timer fired early: wait on
                self._arm_timer()
                return
            try:
                cid = self.rollback_pending("confirmed commit was not confirmed in time")
                log.warning("confirmed commit timed out; rolled back as commit %d", cid)
            except YangdErrors as e:
                if self.pending is None or any(x.app_tag == "not-pending" for x in e.errors):
                    return  # another instance rolled it back, or it was confirmed
                log.exception("rollback of an unconfirmed commit failed; retrying in 5 s")
                self._timer = threading.Timer(5.0, self._expired)
                self._timer.daemon = True
                self._timer.start()

    # ---- sessions -----------------------------------------------------------------------
    def open_session(self, user: str, transport: str, private_candidate: bool = False) -> Session:
        from datastore.session import Session

        with self.lock:
            sid = self.cluster.next_session_id()
            s = Session(self, sid, user, transport, private_candidate)
            self.sessions[sid] = s
            return s

    def close(self) -> None:
        self._cancel_timer()
        for s in list(self.sessions.values()):
            s.close()
        self.cluster.close()  # also releases any lock a session left behind
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

    def add_normalizer(self, path: str, fn: Normalizer) -> bool:
        """Rewrite every value written to the leaf at schema ``path`` with ``fn`` before it is
        validated or stored, on every edit and commit path; False when its module is not loaded."""
        return self.normalizers.add(path, fn)

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

    def add_action(self, path: str, handler: ActionHandler) -> bool:
        """Serve the action at schema ``path`` (e.g. ``/mod:things/thing/reset``) with
        ``handler`` on every transport; False (and nothing served) when its module is not loaded."""
        try:
            node = self.bundle.node(path)
        except KeyError:
            return False
        if node.kind.name != "ACTION":
            raise ValueError(f"{path} is not an action")
        self.actions[path] = handler
        return True

    def invoke(self, session: Session, path: str, inp: YangModel,
               parent: Path | None = None) -> YangModel | None:
        """Run the rpc at schema ``path``, or with ``parent`` the action on that instance.

        The input (already typed by its generated class) is validated first as RFC 7950
        §7.14.2 asks — mandatory nodes, choices, min/max-elements, must — and an action's
        parent must exist (§7.15.2: data-missing otherwise). Raises YangdErrors.
        """
        rpc = self.rpcs.get(path) if parent is None else None
        act = self.actions.get(path) if parent is not None else None
        if rpc is None and act is None:
            raise YangdErrors.one("operation-not-supported", f"{path} is not implemented",
                                  type="protocol")
        session.check_exec(self.bundle.node(path), parent)  # RFC 8341 §3.4.4, before anything runs
        if parent is not None and not _parent_exists(session, parent):
            from datastore.path import format_path

            where = format_path(self.bundle, parent)
            raise YangdErrors.one("data-missing", f"no data at {where}", where)
        errors = _check_operation_tree(self.bundle, inp)
        if errors:
            raise YangdErrors(errors)
        if act is not None and parent is not None:
            out = act(session, parent, inp)
        else:
            assert rpc is not None
            out = rpc(session, inp)
        if out is not None and (errors := _check_operation_tree(self.bundle, out)):
            log.error("%s returned invalid output: %s", path, "; ".join(map(str, errors)))
            raise YangdErrors.one("operation-failed", f"{path} produced invalid output")
        return out

    def operational(self) -> OperationalView:
        """The operational datastore now (RFC 8342 §5.3), with origins."""
        return operational(self.bundle, self.running, list(self.state_providers))

    def commits(self, limit: int | None = None) -> list[Any]:
        return self.store.commits(limit)


def _default_validator() -> Validator:
    from datastore.validate import validate

    return validate


def _check_operation_tree(bundle: Bundle, obj: YangModel) -> list[YangdError]:
    """RFC 7950 §8 constraints inside an rpc/action input or output (its own subtree)."""
    from datastore.validate import _Validator  # the same rules as for data, on this subtree
    from models.instance import InstanceNode

    node = type(obj).__yang__
    v = _Validator(bundle, obj)
    v.subtree(InstanceNode(node, obj, None, bundle))
    # Paths as the codecs write them (/mod:rpc/input/leaf), and a missing parameter is
    # missing-element as for any rpc (RFC 6241 Appendix A), not data-missing as in data.
    local, full = f"/{node.module}:{node.name}", node.path()
    out = []
    for e in v.errors:
        if e.path and e.path.startswith(local):
            e = replace(e, path=full + e.path[len(local):])
        if e.tag == "data-missing" and e.app_tag in (None, "missing-choice"):
            e = replace(e, tag="missing-element")
        out.append(e)
    return out


def _parent_exists(session: Session, parent: Path) -> bool:
    """The node an action is invoked on exists (config from running, state if provided)."""
    from datastore.tree import get_at

    ds = session.ds
    tree = session.get("operational") if ds.state_providers and not all(
        st.node.config for st in parent) else session.get("running")
    return get_at(tree, parent) is not None
