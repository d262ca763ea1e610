"""A client session on the datastores: the operations of RFC 6241 §7-8 and yangd's history.

One ``Session`` per NETCONF/RESTCONF/CLI session. It owns its locks (released however the
session ends) and, optionally, a private candidate. Every method either completes or raises
YangdErrors having changed nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from datastore.changes import replay
from datastore.diff import diff
from datastore.edit import Change, apply_edit
from datastore.path import Path, Step, format_path, parse_path
from datastore.tree import get_at
from models.bundle import YangModel
from models.edit import EditNode, Op
from models.errors import YangdError, YangdErrors
from models.schema import SchemaNode

if TYPE_CHECKING:
    from datastore.datastores import Candidate, CommitMeta, ConfirmOp, Datastores
    from datastore.nacm import Access

CONFIG = ("running", "candidate", "startup")


class Session:
    def __init__(self, ds: Datastores, sid: int, user: str, transport: str, private: bool):
        self.ds = ds
        self.id = sid
        self.user = user
        self.transport = transport
        self.private: Candidate | None = None
        if private:
            from datastore.datastores import Candidate

            self.private = Candidate(ds.running, ds.running, ds.head)
        self.closed = False

    # ---- helpers -------------------------------------------------------------------------
    @property
    def candidate(self) -> Candidate:
        return self.private if self.private is not None else self.ds.candidate

    def _check_open(self) -> None:
        if self.closed:
            raise YangdErrors.one("operation-failed", "session is closed")

    def _check_writable(self, target: str) -> None:
        if target == "candidate" and self.private:
            return
        holder = self.ds.cluster.holder(target)  # cluster-wide (datastore/cluster.py)
        if holder is not None and holder.session_id != self.id:
            where = "" if holder.instance_id == self.ds.cluster.id else f" on instance {holder.instance_id}"
            raise YangdErrors.one("in-use", f"{target} is locked by session {holder.session_id}{where}",
                                  type="protocol", session_id=holder.session_id)

    # ---- access control (RFC 8341, datastore/nacm.py) -------------------------------------
    @property
    def access(self) -> Access | None:
        """The NACM rules this session is subject to now; None: unchecked."""
        acc = self.ds.nacm.access(self.ds.running, self.user, self.transport)
        if acc is not None:
            self.ds.nacm.attach(self.ds)
        return acc

    def check_write(self, changes: Iterable[Change]) -> None:
        """access-denied naming the first node ``changes`` may not write; nothing changed."""
        acc = self.access
        if acc is None:
            return
        bad = acc.denied_change(changes)
        if bad is not None:
            err = acc.write_error(bad[0])
            self._refused("denied_data_writes", bad[1], err.path)
            raise YangdErrors([err])

    def _check_tree(self, old: YangModel, new: YangModel) -> None:
        if old is not new and self.access is not None:
            self.check_write(diff(self.ds.bundle.schema.root, old, new))

    def check_exec(self, node: SchemaNode, parent: Path | None = None) -> None:
        """access-denied unless the rpc ``node`` (or with ``parent`` the action on that
        instance) may be run (RFC 8341 §3.4.4)."""
        acc = self.access
        if acc is None or acc.may_exec(node.module, node.name, node, parent):
            return
        if parent is None:
            self._refused("denied_operations", "exec", f"{node.module}:{node.name}")
            raise YangdErrors.one("access-denied", f"{node.module}:{node.name} is not permitted",
                                  type="protocol")
        where = format_path(self.ds.bundle, (*parent, Step(node)))
        self._refused("denied_operations", "exec", where)
        raise YangdErrors.one("access-denied", f"{where} is not permitted", where)

    def may_exec(self, module: str, name: str, node: SchemaNode | None = None) -> bool:
        """Whether the protocol operation or rpc ``module:name`` may run (counted if not)."""
        acc = self.access
        if acc is None or acc.may_exec(module, name, node):
            return True
        self._refused("denied_operations", "exec", f"{module}:{name}")
        return False

    def may_receive(self, node: SchemaNode | None, module: str, name: str) -> bool:
        """Whether this session gets the notification ``module:name`` (RFC 8341 §3.4.6)."""
        acc = self.access
        if acc is None or acc.may_receive(module, name, node):
            return True
        self._refused("denied_notifications", "notification", f"{module}:{name}")
        return False

    def _refused(self, counter: str, operation: str, path: str | None) -> None:
        self.ds.nacm.refused(counter, self.user, self.transport, self.id, operation, path)

    def _meta(self, comment: str | None = None, label: str | None = None, confirmed: bool = True) -> CommitMeta:
        from datastore.datastores import CommitMeta

        return CommitMeta(self.user, self.transport, self.id, comment, label, confirmed)

    def get(self, source: str = "running") -> YangModel:
        """The tree of a datastore as this session may read it: without what NACM denies it
        (RFC 8341 §3.4.5, silently). Startup: empty until copied to; operational: computed now."""
        tree = self._tree(source)
        acc = self.access
        return tree if acc is None else acc.prune(tree)

    def _tree(self, source: str) -> YangModel:
        """The whole tree of a datastore, unpruned (for the session's own work)."""
        self._check_open()
        if source == "running":
            return self.ds.running
        if source == "candidate":
            return self.candidate.tree
        if source == "startup":
            return self.ds.startup if self.ds.startup is not None else self.ds.empty()
        if source == "operational":
            return self.ds.operational().tree
        raise YangdErrors.one("invalid-value", f"unknown datastore {source!r}", type="protocol")

    def get_path(self, path: str, source: str = "running") -> Any:
        """The node at an RFC 7951 instance path in a datastore: a model, list entry, leaf value
        or leaf-list value; None when it does not exist (e.g.
        ``get_path("/ietf-interfaces:interfaces/interface[name='eth0']/mtu")``)."""
        return get_at(self.get(source), parse_path(self.ds.bundle, path))

    # ---- edit-config (RFC 6241 §7.2) ------------------------------------------------------
    def edit(self, target: str, edits: Sequence[EditNode], default_operation: Op = Op.MERGE,
             test_option: str = "test-then-set", error_option: str = "stop-on-error") -> list[YangdError]:
        """Apply an edit; returns the errors skipped under continue-on-error."""
        self._check_open()
        if target not in ("running", "candidate"):
            raise YangdErrors.one("invalid-value", f"cannot edit {target}", type="protocol")
        with self.ds.lock:
            self._check_writable(target)
            base = self.ds.running if target == "running" else self.candidate.tree
            result = apply_edit(self.ds.bundle, base, edits, default_operation, error_option)
            result.tree, result.changes = self.ds.normalizers.apply(result.tree, result.changes)
            self.check_write(result.changes)
            if error_option == "rollback-on-error" and result.errors:
                raise YangdErrors(result.errors)
            if test_option == "test-only":
                errors = self.ds.validator(self.ds.bundle, result.tree, None)
                if errors:
                    raise YangdErrors(errors)
                return result.errors
            if target == "running":
                if result.changes:
                    self.ds.commit_tree(result.tree, result.changes, self._meta())
                    self.ds.rebase_candidate()
                return result.errors
            cand = self.candidate
            if result.tree is not cand.tree:
                cand.tree = result.tree
                cand.changes.extend(result.changes)
                cand.editors.add(self.id)
            return result.errors

    # ---- validate / commit / discard (RFC 6241 §8.3, §8.4, §8.6) -------------------------------
    def validate(self, source: str | YangModel = "candidate") -> None:
        self._check_open()
        tree = self._tree(source) if isinstance(source, str) else source
        errors = self.ds.validator(self.ds.bundle, tree, None)
        if errors:
            raise YangdErrors(errors)

    def commit(self, confirmed: bool = False, confirm_timeout: int = 600,
               persist: str | None = None, persist_id: str | None = None,
               comment: str | None = None, label: str | None = None) -> int:
        """Commit the candidate; returns the new head commit id."""
        self._check_open()
        ds = self.ds
        with ds.lock:
            self._check_writable("running")
            ds.refresh_pending()  # another instance may have armed or ended one a moment ago
            pending = ds.pending
            if pending is not None:
                if pending.persist_id is not None:
                    if persist_id != pending.persist_id:
                        raise YangdErrors.one(
                            "invalid-value", "a persisted confirmed commit is pending: give its persist-id",
                            type="protocol", app_tag="persist-id-mismatch")
                elif pending.session_id != self.id:
                    raise YangdErrors.one("in-use", f"session {pending.session_id} has a confirmed commit pending",
                                          type="protocol", session_id=pending.session_id)
            elif persist_id is not None:
                raise YangdErrors.one("invalid-value", "no confirmed commit with that persist-id is pending",
                                      type="protocol")
            from datastore.datastores import ConfirmOp

            # RFC 6241 §8.4: a follow-up confirmed commit keeps the original rollback point
            # (None: the commit before this one). Arming or confirming is part of the commit's
            # own transaction, so no other instance sees one without the other.
            op = None
            if confirmed:
                op = ConfirmOp("arm", None, pending.rollback_to if pending is not None else None,
                               confirm_timeout, persist, None if persist is not None else self.id)
            elif pending is not None:
                op = ConfirmOp("confirm", pending.commit_id)
            if not self._commit_candidate(confirmed, comment, label, op):  # nothing to commit
                if confirmed:
                    rollback_to = pending.rollback_to if pending is not None else ds.head
                    ds.arm_confirm(ds.head, rollback_to, confirm_timeout, persist,
                                   None if persist is not None else self.id)
                elif pending is not None:
                    ds.confirm()
            return ds.head

    def _commit_candidate(self, confirmed: bool, comment: str | None, label: str | None,
                          op: ConfirmOp | None = None) -> bool:
        """Commit this session's candidate; False when there was nothing to commit."""
        ds = self.ds
        cand = self.candidate
        if self.private is None and cand.conflict:
            raise YangdErrors([YangdError(
                "in-use", "another instance committed here since the candidate was edited: "
                "discard-changes and edit again", p, "commit-conflict", "application",
                {"conflict": p}) for p in cand.conflict])
        if self.private is not None:
            new, changes = self._rebase_private()
        elif cand.base is ds.running:
            new, changes = cand.tree, cand.changes
        else:
            new, changes = cand.tree, None
        if new is not ds.running and (changes is None or changes):
            if changes is None:
                self._check_tree(ds.running, new)
            else:
                self.check_write(changes)
            ds.commit_tree(new, changes, self._meta(comment, label, not confirmed), op)
            committed = True
        else:
            committed = False
        if self.private is not None:
            from datastore.datastores import Candidate

            self.private = Candidate(ds.running, ds.running, ds.head)
        else:
            ds.reset_candidate()
        return committed

    def _rebase_private(self) -> tuple[YangModel, list[Change] | None]:
        """A private candidate's changes onto current running; overlapping changes conflict."""
        ds = self.ds
        cand = self.private
        assert cand is not None
        if cand.base is ds.running:
            return cand.tree, cand.changes
        theirs = diff(ds.bundle.schema.root, cand.base, ds.running)
        bundle = ds.bundle
        mine = {format_path(bundle, c.path) for c in cand.changes}
        clash = sorted(p for p in (format_path(bundle, c.path) for c in theirs)
                       if any(_related(p, m) for m in mine))
        if clash:
            raise YangdErrors([YangdError("operation-failed", "running changed here since this session began",
                                          p, "commit-conflict", info={"conflict": p}) for p in clash])
        return replay(ds.running, cand.changes), list(cand.changes)

    def cancel_commit(self, persist_id: str | None = None) -> None:
        self._check_open()
        ds = self.ds
        with ds.lock:
            ds.refresh_pending()
            p = ds.pending
            if p is None:
                raise YangdErrors.one("operation-failed", "no confirmed commit is pending", type="protocol")
            if p.persist_id is not None and persist_id != p.persist_id:
                raise YangdErrors.one("invalid-value", "persist-id does not match the pending confirmed commit",
                                      type="protocol")
            if p.persist_id is None and p.session_id != self.id:
                raise YangdErrors.one("operation-failed", "the confirmed commit belongs to another session",
                                      type="protocol")
            ds.rollback_pending("cancel-commit")

    def discard_changes(self) -> None:
        self._check_open()
        with self.ds.lock:
            if self.private is not None:
                from datastore.datastores import Candidate

                self.private = Candidate(self.ds.running, self.ds.running, self.ds.head)
            else:
                self._check_writable("candidate")
                self.ds.reset_candidate()

    # ---- copy-config / delete-config (RFC 6241 §7.3, §7.4) ---------------------------------------
    def copy_config(self, source: str | YangModel, target: str) -> None:
        self._check_open()
        ds = self.ds
        with ds.lock:
            tree = self._tree(source) if isinstance(source, str) else ds.normalizers.tree(source)
            if target not in CONFIG:
                raise YangdErrors.one("invalid-value", f"unknown target {target!r}", type="protocol")
            if source == target:
                raise YangdErrors.one("invalid-value", "source and target are the same datastore", type="protocol")
            self._check_writable(target)
            self._check_tree(self._tree(target), tree)
            if target == "running":
                if tree is not ds.running:
                    ds.commit_tree(tree, None, self._meta(comment="copy-config"))
                    ds.rebase_candidate()
            elif target == "candidate":
                cand = self.candidate
                cand.changes = diff(ds.bundle.schema.root, cand.base, tree)
                cand.tree = tree
                cand.editors.add(self.id)
            else:
                errors = ds.validator(ds.bundle, tree, None)
                if errors:
                    raise YangdErrors(errors)
                ds.store.set_datastore("startup", ds.encode_tree(tree))
                ds.startup = tree
                ds.cluster.announce()

    def delete_config(self, target: str) -> None:
        self._check_open()
        if target != "startup":
            raise YangdErrors.one("operation-not-supported", f"delete-config of {target} is not allowed",
                                  type="protocol")
        with self.ds.lock:
            self._check_writable("startup")
            self._check_tree(self._tree("startup"), self.ds.empty())
            self.ds.store.delete_datastore("startup")
            self.ds.startup = None
            self.ds.cluster.announce()

    # ---- locks (RFC 6241 §7.5, §7.6) -----------------------------------------------------------
    def lock(self, target: str) -> None:
        self._check_open()
        ds = self.ds
        with ds.lock:
            if target not in CONFIG:
                raise YangdErrors.one("invalid-value", f"unknown datastore {target!r}", type="protocol")
            owner = ds.locks.get(target)
            if owner is not None:
                raise YangdErrors.one("lock-denied", f"{target} is locked by session {owner}",
                                      type="protocol", session_id=owner)
            ds.refresh_pending()
            if target == "candidate" and ds.candidate.dirty and ds.candidate.editors - {self.id}:
                other = min(ds.candidate.editors - {self.id})
                raise YangdErrors.one("lock-denied", "the candidate has uncommitted changes of another session",
                                      type="protocol", session_id=other)
            if target == "running" and ds.pending is not None and ds.pending.session_id not in (None, self.id):
                raise YangdErrors.one("lock-denied", "another session has a confirmed commit pending",
                                      type="protocol", session_id=ds.pending.session_id)
            holder = ds.cluster.lock(target, self.id)  # cluster-wide, leased (datastore/cluster.py)
            if holder is not None:
                where = "" if holder.instance_id == ds.cluster.id else f" on instance {holder.instance_id}"
                raise YangdErrors.one("lock-denied", f"{target} is locked by session {holder.session_id}{where}",
                                      type="protocol", session_id=holder.session_id)

    def unlock(self, target: str) -> None:
        self._check_open()
        ds = self.ds
        with ds.lock:
            if ds.locks.get(target) != self.id:
                raise YangdErrors.one("operation-failed", f"{target} is not locked by this session",
                                      type="protocol")
            ds.cluster.unlock(target, self.id)
            if target == "candidate" and self.private is None and ds.candidate.dirty:
                ds.reset_candidate()  # a lock holder's uncommitted changes go with its lock

    def close(self) -> None:
        """End the session: locks released, a non-persist confirmed commit rolled back."""
        if self.closed:
            return
        ds = self.ds
        with ds.lock:
            for target in [t for t, owner in ds.locks.items() if owner == self.id]:
                self.unlock(target)
            p = ds.pending
            if p is not None and p.persist_id is None and p.session_id == self.id:
                try:
                    ds.rollback_pending(f"session {self.id} ended before confirming")
                except YangdErrors as e:  # e.g. another instance's timer rolled it back already
                    if not any(x.app_tag == "not-pending" for x in e.errors):
                        raise
            self.closed = True
            ds.sessions.pop(self.id, None)

    # ---- history (yangd-commits) -------------------------------------------------------------
    def rollback(self, commit_id: int, comment: str | None = None) -> int:
        """A new commit whose running equals running right after ``commit_id``."""
        self._check_open()
        ds = self.ds
        with ds.lock:
            self._check_writable("running")
            tree = ds.tree_at(commit_id)
            self._check_tree(ds.running, tree)
            if tree is not ds.running:
                ds.commit_tree(tree, None, self._meta(comment or f"rollback to commit {commit_id}"))
                ds.rebase_candidate()
            return ds.head

    def compare(self, a: int | str, b: int | str) -> list[Change]:
        """The change set turning tree ``a`` into tree ``b`` (commit ids or datastore names)."""
        ta = self.get(a) if isinstance(a, str) else self.ds.tree_at(a)
        tb = self.get(b) if isinstance(b, str) else self.ds.tree_at(b)
        return diff(self.ds.bundle.schema.root, ta, tb)


def _related(a: str, b: str) -> bool:
    """One path is the other or an ancestor of it."""
    return a == b or a.startswith(b + "/") or b.startswith(a + "/") or a.startswith(b + "[") or b.startswith(a + "[")
