"""RFC 7950 §8 validation of a configuration tree, full or driven by a change set.

Checked: mandatory leaves/anydata and choices (§7.6.5, §7.9.4), min/max-elements (§7.7.5),
unique (§7.8.3), must (§7.5.3), when (§7.21.5: a node whose when is false must not exist,
nor a node of a choice or case whose when is false; a default under a false when is not in
use, §7.6.1, nor is a mandatory choice under one required), leafref and instance-identifier
require-instance (§9.9, §9.13). Types were checked when the data entered the tree. Every
failure is reported, each with its instance path.

Cost follows the change: with a change set, only the changed subtrees, the local constraints
of their ancestors, and the constraints elsewhere whose XPath names a changed node are
evaluated (also the parent rules of a node whose when does: §7.21.5, the node's mandatory may
bind now). A context-free must/when is evaluated once per tree, and while it holds its
instances elsewhere are not looked for. Schema subtrees with no constraint at all are never
walked, nor absent non-presence containers that cannot report anything; each failure is
reported once, however the change set overlaps itself.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any

from models.bundle import Bundle, YangModel
from models.defaults import has_defaults
from models.defaults import whens as _whens  # the whens deciding whether a node may exist
from models.errors import YangdError
from models.instance import InstanceNode, find, root_node
from models.schema import DATA_KINDS, Kind, SchemaNode
from models.types import UnionType
from models.xpath import NameTest, iter_nodes, parse, resolve_prefixes
from models.xpath.ast import BinaryOp, FilterPath, FunctionCall, Literal, Negate, Number
from models.xpath.ast import Path as XPath
from models.xpath.ast import Step as XStep
from models.xpath.evaluate import eval_expr, evaluate

_CONTAINERS = (Kind.CONTAINER, Kind.LIST)


def validate(bundle: Bundle, tree: YangModel, changes: Sequence[Any] | None = None) -> list[YangdError]:
    v = _Validator(bundle, tree)
    root = root_node(tree, bundle)
    if changes is None:
        v.subtree(root)
    else:
        v.changed(root, changes)
    return v.errors


class _Validator:
    """One validation run. What was already checked is remembered coarsely: ``done_sub`` holds
    the roots of fully checked subtrees (and checked terminals), ``done_local`` the nodes whose
    own constraints were checked outside them, and ``below`` every ancestor-or-self of either.
    A subtree that ``below`` does not reach holds nothing checked yet, so it is walked without
    a set lookup per node: a create of 10,000 list entries is one walk of plain attribute reads."""

    def __init__(self, bundle: Bundle, tree: YangModel):
        self.bundle = bundle
        self.tree = tree
        self.errors: list[YangdError] = []
        self.done_sub: set[InstanceNode] = set()
        self.done_local: set[InstanceNode] = set()
        self.below: set[InstanceNode] = set()
        self.done_ids: set[int] = set()  # id(value) of every node in done_sub
        self.constant: dict[int, bool] = {}  # id(XPathExpr) → its value in this tree

    def err(self, tag: str, msg: str, path: str, app_tag: str | None = None, **info: Any) -> None:
        self.errors.append(YangdError(tag, msg, path, app_tag, info=info))

    # ---- bookkeeping -------------------------------------------------------------------
    def _mark(self, done: set[InstanceNode], node: InstanceNode) -> None:
        done.add(node)
        if done is self.done_sub:
            self.done_ids.add(id(node.value))
        below = self.below
        n: InstanceNode | None = node
        while n is not None and n not in below:  # an ancestor in ``below`` has its own there
            below.add(n)
            n = n.parent

    def _covered(self, node: InstanceNode) -> bool:
        done = self.done_sub
        n: InstanceNode | None = node
        while n is not None:
            if n in done:
                return True
            n = n.parent
        return False

    # ---- walking -----------------------------------------------------------------------
    def subtree(self, node: InstanceNode) -> None:
        """Every constraint in the subtree at ``node`` (an interior node)."""
        if self._covered(node):
            return
        self._walk(node, node not in self.below)
        self._mark(self.done_sub, node)

    def _walk(self, node: InstanceNode, fresh: bool) -> None:
        """``fresh``: nothing at or below ``node`` was checked yet."""
        if fresh:
            self._fresh(node)
            return
        b = self.bundle
        plan = _plan(node.schema or b.schema.root)
        if plan.local and node not in self.done_local:
            self._local(node, plan)
        value = node.value
        done, below = self.done_sub, self.below
        for child, py, kind, implicit in plan.kids:
            v = getattr(value, py, None) if value is not None else None
            if v is None:
                if implicit:
                    self._implicit(node, child, kind, False)
                continue
            if kind is Kind.LIST:
                for i, (k, e) in enumerate(zip(v.keys(), v, strict=True)):
                    inst = InstanceNode(child, e, node, b, k, i)
                    if inst not in done:
                        self._walk(inst, inst not in below)
            elif kind is Kind.LEAF_LIST:
                for i, x in enumerate(v):
                    inst = InstanceNode(child, x, node, b, x, i)
                    if inst not in done:
                        self.terminal(inst)
            else:
                inst = InstanceNode(child, v, node, b)
                if inst not in done:
                    if kind is Kind.CONTAINER:
                        self._walk(inst, inst not in below)
                    else:
                        self.terminal(inst)

    def _fresh(self, node: InstanceNode, plan: _Plan | None = None) -> None:
        """``_walk`` of a subtree holding nothing checked: no bookkeeping per node (the
        subtree's root is marked when done). The one hot loop of validating a large create."""
        b = self.bundle
        if plan is None:
            plan = _plan(node.schema or b.schema.root)
        if plan.local:
            self._local(node, plan)
        value = node.value
        for child, py, kind, implicit in plan.kids:
            v = getattr(value, py, None) if value is not None else None
            if v is None:
                if implicit:
                    self._implicit(node, child, kind, True)
            elif kind is Kind.LIST:
                fresh, sub = self._fresh, _plan(child)
                for i, (k, e) in enumerate(zip(v.keys(), v, strict=True)):
                    fresh(InstanceNode(child, e, node, b, k, i), sub)
            elif kind is Kind.CONTAINER:
                self._fresh(InstanceNode(child, v, node, b))
            elif kind is Kind.LEAF_LIST:
                for i, x in enumerate(v):
                    self.terminal(InstanceNode(child, x, node, b, x, i))
            else:
                self.terminal(InstanceNode(child, v, node, b))

    def _implicit(self, node: InstanceNode, child: SchemaNode, kind: Kind, fresh: bool) -> None:
        """An absent ``child``'s implicit instances: RFC 7950 §7.6.1 defaults, and the NP
        containers holding them."""
        if _whens(child) and not self.applies(node, child):
            return  # §7.6.1: a default under a false when (its own, its choice's) is not in use
        for inst in node.children_of(child):
            if kind is not Kind.CONTAINER:
                if fresh or inst not in self.done_sub:
                    self.terminal(inst)
            elif inst not in self.done_sub:  # child_rules may have checked its local part
                self._walk(inst, inst not in self.below)

    def local(self, node: InstanceNode) -> None:
        """Constraints of ``node`` itself and about its direct children."""
        if node in self.done_local or self._covered(node):
            return
        self._mark(self.done_local, node)
        sn, parent = node.schema, node.parent
        if node.value is None and sn is not None and parent is not None and not self.applies(parent, sn):
            return  # an NP container under a false when does not exist implicitly (§7.6.1)
        self._local(node, _plan(node.schema or self.bundle.schema.root))

    def _local(self, node: InstanceNode, plan: _Plan) -> None:
        value = node.value
        if plan.exprs and value is not None:  # not for an implicit NP container
            sn = node.schema
            if sn is not None:
                self.exprs(node, sn)
        for child in plan.counted:
            self.child_rules(node, child)
        for child, py, cases in plan.if_absent:
            if value is None:
                if not cases:  # no case of an absent parent is selected (§7.9.4)
                    self.child_rules(node, child)
            elif getattr(value, py) is None and (
                    not cases or all(any(getattr(value, a) is not None for a in case) for case in cases)):
                self.child_rules(node, child)
        for choice, data, cases in plan.choices:
            # §7.9.4: a mandatory choice inside a case binds only while that case is selected
            if not cases or (value is not None and all(
                    any(getattr(value, a) is not None for a in case) for case in cases)):
                self.choice_rule(node, choice, data)

    def child_rules(self, node: InstanceNode, child: SchemaNode) -> None:
        value = getattr(node.value, child.py_name) if node.value is not None else None

        def where() -> str:  # built only for an error: paths cost more than the checks
            base = node.path() if node.schema is not None else ""
            return f"{base}/{_qname(child, node.schema)}"

        if value is None and child.kind in (Kind.LEAF, Kind.ANYDATA, Kind.ANYXML, Kind.CHOICE):
            if child.mandatory and self.applies(node, child) and _case_selected(node, child, self.bundle):
                self.err("data-missing", f"mandatory {child.kind.value} {child.name} is missing", where())
            return
        if child.kind in (Kind.LIST, Kind.LEAF_LIST):
            n = len(value) if value is not None else 0
            if n < child.min_elements and self.applies(node, child):
                self.err("operation-failed", f"{child.name} needs at least {child.min_elements} entries, has {n}",
                         where(), "too-few-elements")
            if child.max_elements is not None and n > child.max_elements:
                self.err("operation-failed", f"{child.name} allows at most {child.max_elements} entries, has {n}",
                         where(), "too-many-elements")
            if child.unique and value is not None:
                self.unique_rule(node, child, where())
        elif child.kind is Kind.CONTAINER and value is None and not child.presence and _has_mandatory(child):
            # NP container: exists implicitly (unless its when is false or its case is not selected)
            if self.applies(node, child) and _case_selected(node, child, self.bundle):
                self.local(InstanceNode(child, None, node, self.bundle))

    def choice_rule(self, node: InstanceNode, choice: SchemaNode, data: tuple[str, ...]) -> None:
        """A mandatory ``choice`` (``data``: the attributes of its cases' data nodes)."""
        # node.value is None for a non-presence container that exists implicitly (§7.9.4)
        value = node.value
        if (value is None or all(getattr(value, py) is None for py in data)) and self.applies(node, choice):
            base = node.path() if node.schema is not None else ""
            # RFC 7950 §15.6: error-info <missing-choice> names the choice
            self.err("data-missing", f"no case of mandatory choice {choice.name} is present",
                     base or "/", "missing-choice", **{"missing-choice": choice.name})

    def unique_rule(self, node: InstanceNode, lst: SchemaNode, where: str) -> None:
        for spec in lst.unique:
            seen: dict[tuple[Any, ...], InstanceNode] = {}
            for entry in node.children_of(lst):
                vals = tuple(_descend(entry.value, lst, p) for p in spec)
                if any(x is None for x in vals):
                    continue
                if vals in seen:
                    # RFC 7950 §15.1: error-info <non-unique> per leaf of the unique statement
                    leaves = [f"{entry.path()}/{p}" for p in spec]
                    self.err("operation-failed", f"unique {' '.join(spec)} violated by {entry.path()} "
                             f"and {seen[vals].path()}", entry.path(), "data-not-unique", **{"non-unique": leaves})
                else:
                    seen[vals] = entry

    def applies(self, parent: InstanceNode, child: SchemaNode) -> bool:
        """An absent node's whens (its own and its choices' and cases', ``_whens``), evaluated
        on a hypothetical instance: a choice's or case's has the parent as its context."""
        whens = _whens(child)
        if not whens:
            return True
        hypo = InstanceNode(child, None, parent, self.bundle)
        return all(self.truth(w, hypo) for w in whens)

    def terminal(self, node: InstanceNode) -> None:
        sn = node.schema
        assert sn is not None
        self.exprs(node, sn)
        t = sn.type
        if t is None:
            return
        for d in _value_refs(t, self.bundle.type_of(sn), node.value):
            if d["b"] == "leafref" and d.get("ri", True) and "path" in d:
                self.leafref(node, sn, d)
            elif d["b"] == "instance-identifier" and d.get("ri", True) and isinstance(node.value, str):
                if node.value.startswith("/") and find(node.root(), node.value) is None:
                    self.err("data-missing", f"{node.value} does not exist", node.path(), "instance-required")

    def leafref(self, node: InstanceNode, sn: SchemaNode, d: dict[str, Any]) -> None:
        expr = _leafref_ast(d["path"], tuple(sorted(d.get("pm", {}).items())), d.get("m", sn.module))
        targets = evaluate(expr, node, current=node, schema=self.bundle.schema)
        if not isinstance(targets, list) or not any(t.value == node.value for t in targets):
            self.err("data-missing", f"leafref {d['path']} has no instance with value {node.text()!r}",
                     node.path(), "instance-required")

    def truth(self, x: Any, node: InstanceNode) -> bool:
        """``eval_expr``, once per tree for an expression no context can change (e.g. RFC
        8519's ``derived-from-or-self(/acls/acl/type, …)`` on every ACE's matches)."""
        if not _context_free(x):
            return eval_expr(x, node, self.bundle.schema)
        got = self.constant.get(id(x))
        if got is None:
            got = self.constant[id(x)] = eval_expr(x, node, self.bundle.schema)
        return got

    def exprs(self, node: InstanceNode, sn: SchemaNode) -> None:
        for w in _whens(sn):
            if not self.truth(w, node):
                parent = node.parent
                if parent is not None and getattr(parent.value, sn.py_name, None) is None:
                    return  # a default, not in use under a false when (§7.6.1): nothing to check
                self.err("operation-failed", f"when {w.xpath!r} is false, so {sn.name} must not exist",
                         node.path(), "when-violation")
                return
        for m in sn.must:
            if not self.truth(m, node):
                self.err("operation-failed", m.error_message or f"must {m.xpath!r} is not satisfied",
                         node.path(), m.error_app_tag or "must-violation")

    def terminal_once(self, node: InstanceNode) -> None:
        if not self._covered(node):
            self.terminal(node)
            self._mark(self.done_sub, node)

    # ---- change-driven ---------------------------------------------------------------
    def changed(self, root: InstanceNode, changes: Sequence[Any]) -> None:
        touched: set[tuple[str, str]] = set()
        for c in changes:
            node = root
            chain = [root]
            for st in c.path:
                touched.add(st.node.qname)
                nxt = _step(node, st)
                if nxt is None:
                    break
                node = nxt
                chain.append(node)
            else:
                if node.schema is not None and node.schema.kind in _CONTAINERS:
                    self.subtree(node)
                    touched |= _names_below(node.schema)
                elif node.schema is not None:
                    self.terminal_once(node)
            if c.new is None and c.old is not None and c.path[-1].node.kind in _CONTAINERS:
                touched |= _names_below(c.path[-1].node)
            for anc in chain[: len(c.path)]:  # ancestors of the changed node, root included
                self.local(anc)
        for holder, own in _dependents(self.bundle, frozenset(touched)):
            if own and self._holds_everywhere(root, holder):
                continue
            for inst in self._instances(root, holder):
                if holder.kind in _CONTAINERS:
                    self.local(inst)
                else:
                    self.terminal_once(inst)

    def _holds_everywhere(self, root: InstanceNode, holder: SchemaNode) -> bool:
        """Whether no instance of ``holder`` can fail what made it a dependent: its must and
        when are all context-free and true in this tree, and it has no leafref or
        instance-identifier. E.g. RFC 8519's when on matches/ipv4, named by any change
        inside an ACL, need not be looked for in all 10,000 ACEs when it holds. (Its other
        rules, mandatory and the like, concern only changes inside it, checked there.)"""
        if holder.type is not None and _has_ref(holder.type):
            return False
        exprs = (*_whens(holder), *holder.must)
        return all(_context_free(x) for x in exprs) and all(self.truth(x, root) for x in exprs)

    def _instances(self, node: InstanceNode, target: SchemaNode) -> list[InstanceNode]:
        """The instances of ``target`` outside the subtrees already checked whole (those
        were checked with everything in them, so their instances need no second look).
        What ``children_of`` gives level by level, but its nodes are made only on the way to
        an instance found: most lookups (a when's node in each of 10,000 ACEs) find none."""
        chain: list[SchemaNode] = []
        s: SchemaNode | None = target
        while s is not None and s.module:
            if s.kind not in (Kind.CHOICE, Kind.CASE):
                chain.append(s)
            s = s.parent
        chain.reverse()
        done, ids, b = self.done_sub, self.done_ids, self.bundle
        if node in done:
            return []
        made: dict[int, tuple[_Lazy, InstanceNode]] = {}  # holding the key's tuple: ids stay unique
        top: _Lazy = (None, None, node.value, None, 0)
        made[id(top)] = (top, node)

        def real(x: _Lazy) -> InstanceNode:
            got = made.get(id(x))
            if got is None or got[0] is not x:
                parent, sn, value, key, pos = x
                assert parent is not None and sn is not None
                got = made[id(x)] = (x, InstanceNode(sn, value, real(parent), b, key, pos))
            return got[1]

        frontier = [top]
        for sn in chain:
            nxt: list[_Lazy] = []
            py, kind, implicit = sn.py_name, sn.kind, _may_be_implicit(sn)
            for n in frontier:
                v = getattr(n[2], py, None) if n[2] is not None else None
                if v is None:
                    if implicit:  # RFC 7950 §7.6.1: what XPath sees of an absent node
                        for c in real(n).children_of(sn):
                            if c not in done:
                                lazy: _Lazy = (n, sn, c.value, c.key, c.position)
                                made[id(lazy)] = (lazy, c)
                                nxt.append(lazy)
                    continue
                if kind is Kind.LIST:
                    new = [(n, sn, e, k, i) for i, (k, e) in enumerate(zip(v.keys(), v, strict=True))]
                elif kind is Kind.LEAF_LIST:
                    new = [(n, sn, x, x, i) for i, x in enumerate(v)]
                else:
                    new = [(n, sn, v, None, 0)]
                # a checked subtree's root holds the same value object: most need no lookup
                nxt.extend(c for c in new if id(c[2]) not in ids or real(c) not in done)
            frontier = nxt
        return [real(x) for x in frontier]


# (parent, schema node, value, key, position): an InstanceNode not made yet
_Lazy = tuple[Any, SchemaNode | None, Any, Any, int]


def _step(node: InstanceNode, st: Any) -> InstanceNode | None:
    sn = st.node
    if st.key is not None and sn.kind is Kind.LIST:
        return node.entry(sn, st.key)
    for inst in node.children_of(sn):
        if st.key is None or inst.key == st.key[0]:
            return inst
    return None


def _may_be_implicit(sn: SchemaNode) -> bool:
    """Whether an absent ``sn`` can still be seen: a default, or an NP container holding one."""
    if sn.kind in (Kind.LEAF, Kind.LEAF_LIST):
        return sn.default is not None
    return sn.kind is Kind.CONTAINER and not sn.presence and has_defaults(sn)


_NAMES: dict[int, tuple[SchemaNode, frozenset[tuple[str, str]]]] = {}


def _names_below(sn: SchemaNode) -> frozenset[tuple[str, str]]:
    """The qualified names of ``sn`` and every schema node below it (cached per node)."""
    got = _NAMES.get(id(sn))
    if got is None or got[0] is not sn:
        got = _NAMES[id(sn)] = (sn, frozenset(n.qname for n in sn.walk()))
    return got[1]


def _qname(child: SchemaNode, parent: SchemaNode | None) -> str:
    return child.name if parent is not None and parent.module == child.module else f"{child.module}:{child.name}"


def _descend(value: Any, lst: SchemaNode, rel: str) -> Any:
    node, v = lst, value
    for part in rel.split("/"):
        name = part.rpartition(":")[2]
        child = next((c for c in node.data_children() if c.name == name), None)
        if child is None or v is None:
            return None
        v, node = getattr(v, child.py_name), child
    return v


def _value_refs(t: dict[str, Any], yt: Any, value: Any) -> Iterator[dict[str, Any]]:
    """The type descriptors that apply to ``value``: of a union, only the member it belongs to."""
    if t["b"] == "union" and isinstance(yt, UnionType):
        m = yt.member_for(value)
        i = next(i for i, x in enumerate(yt.members) if x is m)
        yield from _value_refs(t["types"][i], m, value)
    else:
        yield t


def _refs(t: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield t
    for m in t.get("types", ()):
        yield from _refs(m)


@lru_cache(maxsize=4096)
def _leafref_ast(path: str, prefixes: tuple[tuple[str, str], ...], module: str) -> Any:
    return resolve_prefixes(parse(path), dict(prefixes), module)


# Functions whose value depends only on their arguments (with arguments given): an expression
# built from these, literals and absolute paths is the same for every context node.
_PURE = frozenset({
    "boolean", "ceiling", "concat", "contains", "count", "derived-from", "derived-from-or-self",
    "false", "floor", "normalize-space", "not", "number", "re-match", "round", "starts-with",
    "string", "string-length", "substring", "substring-after", "substring-before", "sum",
    "translate", "true",
})
_CONTEXT_FREE: dict[int, tuple[Any, bool]] = {}


def _context_free(x: Any) -> bool:
    """Whether the must/when expression ``x`` (an XPathExpr) has one value per tree: no
    relative top-level path, no current(), no function that reads the context."""
    got = _CONTEXT_FREE.get(id(x))
    if got is None or got[0] is not x:
        got = _CONTEXT_FREE[id(x)] = (x, _free(x.ast))
    return got[1]


def _free(e: Any) -> bool:
    if any(isinstance(n, FunctionCall) and n.name == "current" for n in iter_nodes(e)):
        return False
    match e:
        case Literal() | Number():
            return True
        case FunctionCall(name=name, args=args):
            return (name in ("true", "false") or (name in _PURE and bool(args))) and all(_free(a) for a in args)
        case BinaryOp(left=left, right=right):
            return _free(left) and _free(right)
        case Negate(expr=inner):
            return _free(inner)
        case XPath(absolute=absolute):
            return bool(absolute)  # its predicates are evaluated on its own nodes
        case FilterPath(primary=primary):
            return _free(primary)
    return False


def _choices(sn: SchemaNode) -> Iterator[SchemaNode]:
    for c in sn.children:
        if c.kind is Kind.CHOICE:
            yield c
        if c.kind in (Kind.CHOICE, Kind.CASE):
            yield from _choices(c)


# Per schema node, computed once: the walks below ran for every instance node and were most
# of the time of validating a large list (10k ACL entries). Keyed by id, holding the node so
# the id cannot be reused while the entry lives.
_Kid = tuple[SchemaNode, str, Kind, bool]


class _Plan:
    """What validating an instance of one interior schema node involves.

    ``kids``: the config data children to descend into, as (node, attribute, kind, whether an
    absent one can still appear as a default or an NP container holding defaults that has
    something to check); a terminal only if it has a must/when/leafref/instance-identifier
    (its mandatory is the parent's rule), an interior node only if its subtree has any
    constraint. ``counted``: the lists and leaf-lists ``child_rules`` checks (min/max-elements,
    unique); ``if_absent``: the children it has something to check on only when they are absent
    (a mandatory leaf; an NP container whose implicit instance binds a mandatory node), with
    the cases between (``_case_selected`` checked inline: most such leaves are in a case not
    taken, e.g. the port range of each RFC 8519 ACE that matches one port).
    ``choices``: the mandatory choices, with the attributes of their cases' data nodes and
    the cases they are in (a choice nested in another's case).
    """

    __slots__ = ("choices", "counted", "exprs", "if_absent", "kids", "local")

    def __init__(self, sn: SchemaNode):
        data = tuple(c for c in sn.data_children() if c.config)
        kids: list[_Kid] = []
        for c in data:
            if c.kind in _CONTAINERS:
                if not _needs(c):
                    continue
                implicit = c.kind is Kind.CONTAINER and not c.presence and has_defaults(c) and not _inert(c)
            elif _whens(c) or c.must or (c.type is not None and _has_ref(c.type)):
                implicit = c.default is not None
            else:
                continue
            kids.append((c, c.py_name, c.kind, implicit))
        self.kids: tuple[_Kid, ...] = tuple(kids)
        # an absent NP container is a rule only for what its implicit instance can report
        rules = [c for c in data if _has_child_rule(c) and not (c.kind is Kind.CONTAINER and _inert(c))]
        self.counted = tuple(c for c in rules if c.kind in (Kind.LIST, Kind.LEAF_LIST))
        self.if_absent = tuple((c, c.py_name, _cases_between(sn, c)) for c in rules
                               if c.kind not in (Kind.LIST, Kind.LEAF_LIST))
        self.exprs = bool(_whens(sn) or sn.must)
        self.choices = tuple((ch, tuple(d.py_name for d in _choice_data(ch)), _cases_between(sn, ch))
                             for ch in _choices(sn) if ch.mandatory)
        self.local = bool(self.exprs or self.counted or self.if_absent or self.choices)


_PLAN: dict[int, tuple[SchemaNode, _Plan]] = {}


def _plan(sn: SchemaNode) -> _Plan:
    got = _PLAN.get(id(sn))
    if got is None or got[0] is not sn:
        got = _PLAN[id(sn)] = (sn, _Plan(sn))
    return got[1]


def _inert(sn: SchemaNode) -> bool:
    """Whether an absent NP container ``sn`` (its instance holding only defaults) can have
    nothing to report, whatever the data and whens: no mandatory node, min-elements or
    mandatory choice binds in it outside a case (§7.9.4: a case holding only defaults is not
    selected), and no default below it has a constraint of its own. Conservative: False
    whenever unsure, which only costs the walk."""
    plan = _plan(sn)
    if plan.choices or any(implicit for *_, implicit in plan.kids):
        return False
    if any(c.min_elements for c in plan.counted):
        return False
    return all(cases for _c, _py, cases in plan.if_absent)  # the inert containers are not there


def _has_child_rule(c: SchemaNode) -> bool:
    if c.kind in (Kind.LEAF, Kind.ANYDATA, Kind.ANYXML, Kind.CHOICE):
        return bool(c.mandatory)
    if c.kind in (Kind.LIST, Kind.LEAF_LIST):
        return bool(c.min_elements or c.max_elements is not None or c.unique)
    return c.kind is Kind.CONTAINER and not c.presence and _has_mandatory(c)


def _choice_data(choice: SchemaNode) -> Iterator[SchemaNode]:
    for case in choice.children:
        yield from case.data_children() if case.kind is Kind.CASE else [case]


_NEEDS: dict[int, tuple[SchemaNode, bool]] = {}


def _needs(sn: SchemaNode) -> bool:
    """Whether the schema subtree at ``sn`` has any constraint to check."""
    got = _NEEDS.get(id(sn))
    if got is None or got[0] is not sn:
        got = _NEEDS[id(sn)] = (sn, any(
            n.config and (n.must or _whens(n) or n.mandatory or n.min_elements or n.max_elements is not None
                          or n.unique or (n.type is not None and _has_ref(n.type)))
            for n in sn.walk()))
    return got[1]


def _has_ref(t: dict[str, Any]) -> bool:
    return any(d["b"] in ("leafref", "instance-identifier") and d.get("ri", True) for d in _refs(t))


def _case_selected(node: InstanceNode, child: SchemaNode, bundle: Bundle) -> bool:
    """Whether every case between ``node`` and its absent ``child`` is the selected one: a
    mandatory node inside a case binds only when that case exists (RFC 7950 §7.9.4)."""
    cases = _cases_between(node.schema or bundle.schema.root, child)
    if not cases:
        return True
    value = node.value
    return value is not None and all(any(getattr(value, py) is not None for py in case) for case in cases)


_CASES: dict[tuple[int, int], tuple[SchemaNode, SchemaNode, tuple[tuple[str, ...], ...]]] = {}


def _cases_between(top: SchemaNode, child: SchemaNode) -> tuple[tuple[str, ...], ...]:
    """Per case between ``top`` and its data descendant ``child``: the attributes of the case's
    data nodes, one of which is present when the case is (a shorthand case: the node itself)."""
    got = _CASES.get((id(top), id(child)))
    if got is None or got[0] is not top or got[1] is not child:
        cases: list[tuple[str, ...]] = []
        prev, p = child, child.parent
        while p is not None and p is not top:
            if p.kind is Kind.CASE:
                cases.append(tuple(d.py_name for d in p.data_children()))
            elif p.kind is Kind.CHOICE and prev.kind is not Kind.CASE:  # shorthand case: prev itself
                cases.append((prev.py_name,) if prev.kind in DATA_KINDS else
                             tuple(d.py_name for d in prev.data_children()))
            prev, p = p, p.parent
        got = _CASES[(id(top), id(child))] = (top, child, tuple(cases))
    return got[2]


_MANDATORY: dict[int, tuple[SchemaNode, bool]] = {}


def _has_mandatory(sn: SchemaNode) -> bool:
    got = _MANDATORY.get(id(sn))
    if got is None or got[0] is not sn:
        got = _MANDATORY[id(sn)] = (sn, any(n.mandatory or n.min_elements for n in sn.walk()
                                            if n is not sn and n.config))
    return got[1]


# (holder, names its XPath reads (None: anything), whether the holder's own must/when/ref is
# what depends: else it is the parent of a node whose when decides a mandatory/min-elements)
_Dep = tuple[SchemaNode, frozenset[tuple[str, str]] | None, bool]
_DEPS: dict[int, tuple[Bundle, list[_Dep]]] = {}  # holding the bundle: its id is not reused meanwhile


def _dependents(bundle: Bundle, touched: frozenset[tuple[str, str]]) -> list[tuple[SchemaNode, bool]]:
    """Schema nodes with a must/when/leafref that names a touched node (None: names anything)."""
    got = _DEPS.get(id(bundle))
    if got is None or got[0] is not bundle:
        got = _DEPS[id(bundle)] = (bundle, _build_deps(bundle))
    return [(sn, own) for sn, names, own in got[1] if names is None or names & touched]


def _build_deps(bundle: Bundle) -> list[_Dep]:
    out: list[_Dep] = []
    for sn in bundle.schema.root.walk():
        if not sn.config or not sn.module:
            continue
        whens = _whens(sn)
        if sn.kind is Kind.CASE or (sn.kind is Kind.CHOICE and not (sn.mandatory and whens)):
            continue  # their whens are their data nodes' (``_whens``)
        # RFC 7950 §7.21.5: a when that turns true makes the node's mandatory (or
        # min-elements, or a mandatory choice) bind, which only its parent's rules see (the
        # node may be absent)
        if whens and (sn.mandatory or sn.min_elements or (
                sn.kind is Kind.CONTAINER and not sn.presence and _has_mandatory(sn))):
            parent = sn.data_parent()
            if parent is not None:
                out.append((parent, _names_read([x.ast for x in whens]), False))
        if sn.kind is Kind.CHOICE:
            continue
        asts = [x.ast for x in (*sn.must, *whens)]
        for d in _refs(sn.type or {"b": ""}):
            if d["b"] == "leafref" and "path" in d:
                asts.append(_leafref_ast(d["path"], tuple(sorted(d.get("pm", {}).items())), d.get("m", sn.module)))
        # an instance-identifier may point anywhere: any change can break it
        iid = any(d["b"] == "instance-identifier" and d.get("ri", True) for d in _refs(sn.type or {"b": ""}))
        if iid:
            out.append((sn, None, True))
        elif asts:
            out.append((sn, _names_read(asts), True))
    return out


def _names_read(asts: list[Any]) -> frozenset[tuple[str, str]] | None:
    """The qualified names the location steps of ``asts`` test (None: they may read anything)."""
    names: set[tuple[str, str]] = set()
    for ast in asts:
        for n in iter_nodes(ast):
            if not isinstance(n, XStep):  # name tests are held by the location steps
                continue
            nt = n.node_test
            if isinstance(nt, NameTest):
                if nt.local == "*" or nt.prefix is None:
                    return None
                names.add((nt.prefix, nt.local))
            elif n.axis not in ("parent", "self", "ancestor", "ancestor-or-self"):
                return None  # e.g. //, child::node(): may name anything below
    return frozenset(names)
