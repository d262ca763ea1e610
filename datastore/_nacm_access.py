"""NACM decisions (RFC 8341 §3.4) for one group set under one NACM configuration.

``Access`` answers: may this data node instance be read / created / updated / deleted
(§3.4.5), may this rpc or action be run (§3.4.4), may this notification be received
(§3.4.6). A data-node decision that does not depend on instance keys is computed once per
schema node and kept (``static``); ``clean`` says a whole schema subtree is permitted, which
is what lets reads and writes skip subtrees. Reads are pruned by the ``Pruning`` part
(datastore/_nacm_prune.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from datastore._nacm_prune import Pruning, chain_of
from datastore._nacm_rules import CREATE, DELETE, EXEC, READ, UPDATE, Rule, Rules
from datastore.path import Path, Step, format_path
from models.bundle import YangModel
from models.errors import YangdError
from models.schema import Kind, SchemaNode
from models.types import MODULE_NAMES

if TYPE_CHECKING:
    from datastore.edit import Change
    from datastore.nacm import Nacm

__all__ = ["ALWAYS_PERMITTED", "Access"]

# §3.4.4 step 3, RFC 5277/8639: operations and events NACM never refuses.
ALWAYS_PERMITTED = frozenset({("ietf-netconf", "close-session")})
_ALWAYS_EVENTS = frozenset({"replayComplete", "notificationComplete"})
# §3.4.4 step 11: denied unless a rule permits them.
_DENY_BY_DEFAULT = frozenset({("ietf-netconf", "kill-session"), ("ietf-netconf", "delete-config")})
_OP_OF_CHANGE = {"create": CREATE, "modify": UPDATE, "delete": DELETE}


class Access(Pruning):
    """The compiled rules of one group set: the §3.4 decisions, with per-node memos."""

    def __init__(self, nacm: Nacm, rules: Rules) -> None:
        self.nacm = nacm
        self.rules = rules
        self._static: dict[tuple[str, int], bool | None] = {}
        self._clean: dict[tuple[str, int], bool] = {}
        self._init_memos()

    def _derived(self, rules: Rules) -> Access:
        return Access(self.nacm, rules)

    # ---- data nodes (§3.4.5) --------------------------------------------------------------
    def _default(self, op: str, node: SchemaNode) -> bool:
        deny = self.nacm.default_deny(node)
        if deny == "all" or (deny == "write" and op != READ):
            return False
        if op == READ:
            return self.rules.read_default
        if op == EXEC:
            return self.rules.exec_default
        return self.rules.write_default

    def static(self, op: str, node: SchemaNode) -> bool | None:
        """The decision for every instance of ``node``, or None when it depends on keys."""
        k = (op, id(node))
        if k in self._static:
            return self._static[k]
        res: bool | None = None
        chain = chain_of(node)
        for r in self.rules.data[op]:
            if r.module is not None and r.module != node.module:
                continue
            if r.path is not None and not _schema_match(r, chain):
                continue
            res = None if r.keyed else r.permit
            break
        else:
            res = self._default(op, node)
        self._static[k] = res
        return res

    def allowed(self, op: str, node: SchemaNode, path: Path) -> bool:
        s = self.static(op, node)
        if s is not None:
            return s
        chain = chain_of(node)
        for r in self.rules.data[op]:
            if r.module is not None and r.module != node.module:
                continue
            if r.path is not None and not (_schema_match(r, chain) and self._keys_match(r, path)):
                continue
            return r.permit
        return self._default(op, node)

    def clean(self, op: str, node: SchemaNode) -> bool:
        """Every node strictly below ``node`` is permitted for every instance."""
        k = (op, id(node))
        got = self._clean.get(k)
        if got is None:
            got = all(c.is_key or (self.static(op, c) is True and self.clean(op, c))
                      for c in node.data_children())
            self._clean[k] = got
        return got

    def _keys_match(self, r: Rule, path: Path) -> bool:
        assert r.path is not None
        bundle = self.nacm.bundle
        for rs, st in zip(r.path, path, strict=False):
            if rs.keys is None or st.key is None:
                continue
            n = st.node
            if n.kind is Kind.LEAF_LIST:
                want = dict(rs.keys).get(".")
                if want is not None and bundle.type_of(n).to_text(st.key[0], MODULE_NAMES) != want:
                    return False
                continue
            values = dict(zip(n.keys, st.key, strict=False))
            for kname, text in rs.keys:
                kn = n.child(n.module, kname)
                if kn is None or kname not in values:
                    return False
                got = bundle.type_of(kn).to_text(values[kname], MODULE_NAMES)
                if got != text and got.rpartition(":")[2] != text.rpartition(":")[2]:
                    return False
        return True
    # ---- writes -------------------------------------------------------------------------------
    def denied_change(self, changes: Iterable[Change]) -> tuple[Path, str] | None:
        """The first node a change set may not write and the access operation refused
        (create/update/delete per node, §3.4.5; a created or deleted subtree is checked node
        by node), or None."""
        for ch in changes:
            node = ch.path[-1].node
            op = _OP_OF_CHANGE[ch.op]
            if not self.allowed(op, node, ch.path):
                return ch.path, op
            if ch.op != "modify" and node.kind in (Kind.CONTAINER, Kind.LIST):
                value = ch.new if ch.op == "create" else ch.old
                if value is not None and not self.clean(op, node):
                    bad = self._denied_below(op, node, value, ch.path)
                    if bad is not None:
                        return bad, op
        return None

    def _denied_below(self, op: str, node: SchemaNode, obj: YangModel, path: Path) -> Path | None:
        for c in node.data_children():
            v = getattr(obj, c.py_name, None)
            if v is None or c.is_key:
                continue
            if self.static(op, c) is True and self.clean(op, c):
                continue
            if c.kind is Kind.LIST:
                for e in v:
                    p = (*path, Step(c, v.key_of(e)))
                    if not self.allowed(op, c, p):
                        return p
                    bad = self._denied_below(op, c, e, p)
                    if bad is not None:
                        return bad
            elif c.kind is Kind.LEAF_LIST:
                for x in v:
                    p = (*path, Step(c, (x,)))
                    if not self.allowed(op, c, p):
                        return p
            else:
                p = (*path, Step(c))
                if not self.allowed(op, c, p):
                    return p
                if c.kind is Kind.CONTAINER:
                    bad = self._denied_below(op, c, v, p)
                    if bad is not None:
                        return bad
        return None

    def write_error(self, path: Path) -> YangdError:
        where = format_path(self.nacm.bundle, path)
        return YangdError("access-denied", f"access to {where} is denied", where)

    # ---- protocol operations and actions (§3.4.4) --------------------------------------------
    def may_exec(self, module: str, name: str, node: SchemaNode | None = None,
                 parent: Path | None = None) -> bool:
        """Exec of rpc ``module:name`` (``node``: its schema node, for default-deny-all), or with
        ``parent`` the action ``node`` on that instance (data-node rules with exec)."""
        if (module, name) in ALWAYS_PERMITTED:
            return True
        if parent is not None and node is not None:
            return self.allowed(EXEC, node, (*parent, Step(node)))
        for r in self.rules.rpc:
            if (r.module is None or r.module == module) and (r.target is None or r.target == name):
                return r.permit
        if node is not None and node.nacm_default_deny == "all":
            return False
        if (module, name) in _DENY_BY_DEFAULT:
            return False
        return self.rules.exec_default

    # ---- notifications (§3.4.6) ---------------------------------------------------------------
    def may_receive(self, module: str, name: str, node: SchemaNode | None = None) -> bool:
        if name in _ALWAYS_EVENTS:
            return True
        for r in self.rules.notification:
            if (r.module is None or r.module == module) and (r.target is None or r.target == name):
                return r.permit
        if node is not None and node.nacm_default_deny == "all":
            return False
        return self.rules.read_default



def _schema_match(r: Rule, chain: tuple[SchemaNode, ...]) -> bool:
    """The rule's path names ``chain``'s last node or one of its ancestors (§3.4.5: a rule on
    a node covers its descendants)."""
    assert r.path is not None
    if len(r.path) > len(chain):
        return False
    return all(s.name == n.name and s.module == n.module for s, n in zip(r.path, chain, strict=False))
