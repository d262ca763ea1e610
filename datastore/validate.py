"""RFC 7950 §8 validation of a configuration tree, full or driven by a change set.

Checked: mandatory leaves/anydata and choices (§7.6.5, §7.9.4), min/max-elements (§7.7.5),
unique (§7.8.3), must (§7.5.3), when (§7.21.5: a node whose when is false must not exist),
leafref and instance-identifier require-instance (§9.9, §9.13). Types were checked when the
data entered the tree. Every failure is reported, each with its instance path.

Cost follows the change: with a change set, only the changed subtrees, the local constraints
of their ancestors, and the constraints elsewhere whose XPath names a changed node are
evaluated. Schema subtrees with no constraint at all are never walked.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any

from models.bundle import Bundle, YangModel
from models.errors import YangdError
from models.instance import InstanceNode, find, root_node
from models.schema import Kind, SchemaNode
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
    def __init__(self, bundle: Bundle, tree: YangModel):
        self.bundle = bundle
        self.tree = tree
        self.errors: list[YangdError] = []
        self.seen_local: set[InstanceNode] = set()
        self.seen_subtree: set[InstanceNode] = set()
        self.constant: dict[int, bool] = {}  # id(XPathExpr) → its value in this tree

    def err(self, tag: str, msg: str, path: str, app_tag: str | None = None, **info: Any) -> None:
        self.errors.append(YangdError(tag, msg, path, app_tag, info=info))

    # ---- walking -----------------------------------------------------------------------
    def subtree(self, node: InstanceNode) -> None:
        """Every constraint in the subtree at ``node`` (an interior node)."""
        if node in self.seen_subtree:
            return
        self.seen_subtree.add(node)
        self.local(node)
        for child in _shape(node.schema or self.bundle.schema.root)[0]:
            for inst in node.children_of(child):
                if child.kind in _CONTAINERS:
                    self.subtree(inst)
                else:
                    self.terminal(inst)

    def local(self, node: InstanceNode) -> None:
        """Constraints of ``node`` itself and about its direct children."""
        if node in self.seen_local:
            return
        self.seen_local.add(node)
        sn = node.schema
        if sn is not None and node.value is not None:  # not for an implicit NP container
            self.exprs(node, sn)
        _kids, ruled, choices = _shape(sn or self.bundle.schema.root)
        for child in ruled:
            self.child_rules(node, child)
        for choice in choices:
            self.choice_rule(node, choice)

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

    def choice_rule(self, node: InstanceNode, choice: SchemaNode) -> None:
        if not choice.mandatory:
            return
        # node.value is None for a non-presence container that exists implicitly (§7.9.4)
        if node.value is None or not any(getattr(node.value, d.py_name) is not None for d in _choice_data(choice)):
            base = node.path() if node.schema is not None else ""
            # RFC 7950 §15.6: error-info <missing-choice> names the choice
            self.err("data-missing", f"no case of mandatory choice {choice.name} is present",
                     base or "/", "missing-choice", **{"missing-choice": choice.name})

    def unique_rule(self, node: InstanceNode, lst: SchemaNode, where: str) -> None:
        for spec in lst.unique:
            seen: dict[tuple[Any, ...], Any] = {}
            for entry in node.children_of(lst):
                vals = tuple(_descend(entry.value, lst, p) for p in spec)
                if any(x is None for x in vals):
                    continue
                if vals in seen:
                    # RFC 7950 §15.1: error-info <non-unique> per leaf of the unique statement
                    leaves = [f"{entry.path()}/{p}" for p in spec]
                    self.err("operation-failed", f"unique {' '.join(spec)} violated by {entry.path()} "
                             f"and {seen[vals]}", entry.path(), "data-not-unique", **{"non-unique": leaves})
                else:
                    seen[vals] = entry.path()

    def applies(self, parent: InstanceNode, child: SchemaNode) -> bool:
        """An absent node's when (evaluated on a hypothetical instance) and its parent's."""
        if not child.when:
            return True
        hypo = InstanceNode(child, None, parent, self.bundle)
        return all(self.truth(w, hypo) for w in child.when)

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
        for w in sn.when:
            if not self.truth(w, node):
                self.err("operation-failed", f"when {w.xpath!r} is false, so {sn.name} must not exist",
                         node.path(), "when-violation")
                return
        for m in sn.must:
            if not self.truth(m, node):
                self.err("operation-failed", m.error_message or f"must {m.xpath!r} is not satisfied",
                         node.path(), m.error_app_tag or "must-violation")

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
                    touched.update(n.qname for n in node.schema.walk())
                elif node.schema is not None:
                    self.terminal(node)
            if c.new is None and c.old is not None and c.path[-1].node.kind in _CONTAINERS:
                touched.update(n.qname for n in c.path[-1].node.walk())
            for anc in chain[: len(c.path)]:  # ancestors of the changed node, root included
                self.local(anc)
        for holder in _dependents(self.bundle, frozenset(touched)):
            for inst in _instances(root, holder):
                if holder.kind in _CONTAINERS:
                    self.local(inst)
                else:
                    self.terminal(inst)


def _step(node: InstanceNode, st: Any) -> InstanceNode | None:
    sn = st.node
    if st.key is not None and sn.kind is Kind.LIST:
        return node.entry(sn, st.key)
    for inst in node.children_of(sn):
        if st.key is None or inst.key == st.key[0]:
            return inst
    return None


def _instances(node: InstanceNode, target: SchemaNode) -> Iterator[InstanceNode]:
    chain: list[SchemaNode] = []
    s: SchemaNode | None = target
    while s is not None and s.module:
        if s.kind not in (Kind.CHOICE, Kind.CASE):
            chain.append(s)
        s = s.parent
    chain.reverse()
    frontier = [node]
    for sn in chain:
        frontier = [c for n in frontier for c in n.children_of(sn)]
    yield from frontier


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
_Shape = tuple[tuple[SchemaNode, ...], tuple[SchemaNode, ...], tuple[SchemaNode, ...]]
_SHAPE: dict[int, tuple[SchemaNode, _Shape]] = {}


def _shape(sn: SchemaNode) -> _Shape:
    """(config data children with a constraint in their subtree, those ``child_rules`` has
    something to check on, choices)."""
    got = _SHAPE.get(id(sn))
    if got is None or got[0] is not sn:
        kids = tuple(c for c in sn.data_children() if c.config)
        needy = tuple(c for c in kids if _needs(c))
        ruled = tuple(c for c in kids if _has_child_rule(c))
        got = _SHAPE[id(sn)] = (sn, (needy, ruled, tuple(_choices(sn))))
    return got[1]


def _has_child_rule(c: SchemaNode) -> bool:
    if c.kind in (Kind.LEAF, Kind.ANYDATA, Kind.ANYXML, Kind.CHOICE):
        return bool(c.mandatory)
    if c.kind in (Kind.LIST, Kind.LEAF_LIST):
        return bool(c.min_elements or c.max_elements is not None or c.unique)
    return c.kind is Kind.CONTAINER and not c.presence and _has_mandatory(c)


def _choice_data(choice: SchemaNode) -> Iterator[SchemaNode]:
    for case in choice.children:
        yield from case.data_children() if case.kind is Kind.CASE else [case]


_NEEDS: dict[int, bool] = {}


def _needs(sn: SchemaNode) -> bool:
    """Whether the schema subtree at ``sn`` has any constraint to check."""
    got = _NEEDS.get(id(sn))
    if got is None:
        got = any(
            n.config and (n.must or n.when or n.mandatory or n.min_elements or n.max_elements is not None
                          or n.unique or (n.type is not None and _has_ref(n.type)))
            for n in sn.walk())
        _NEEDS[id(sn)] = got
    return got


def _has_ref(t: dict[str, Any]) -> bool:
    return any(d["b"] in ("leafref", "instance-identifier") and d.get("ri", True) for d in _refs(t))


def _case_selected(node: InstanceNode, child: SchemaNode, bundle: Bundle) -> bool:
    """Whether every case between ``node`` and its absent ``child`` is the selected one: a
    mandatory node inside a case binds only when that case exists (RFC 7950 §7.9.4)."""
    top = node.schema or bundle.schema.root
    prev, p = child, child.parent
    while p is not None and p is not top:
        if p.kind is Kind.CASE:
            if node.value is None or not any(
                    getattr(node.value, d.py_name) is not None for d in p.data_children()):
                return False
        elif p.kind is Kind.CHOICE and prev.kind is not Kind.CASE:  # shorthand case: prev itself
            if node.value is None or getattr(node.value, prev.py_name) is None:
                return False
        prev, p = p, p.parent
    return True


_MANDATORY: dict[int, tuple[SchemaNode, bool]] = {}


def _has_mandatory(sn: SchemaNode) -> bool:
    got = _MANDATORY.get(id(sn))
    if got is None or got[0] is not sn:
        got = _MANDATORY[id(sn)] = (sn, any(n.mandatory or n.min_elements for n in sn.walk()
                                            if n is not sn and n.config))
    return got[1]


_DEPS: dict[int, list[tuple[SchemaNode, frozenset[tuple[str, str]] | None]]] = {}


def _dependents(bundle: Bundle, touched: frozenset[tuple[str, str]]) -> list[SchemaNode]:
    """Schema nodes with a must/when/leafref that names a touched node (None: names anything)."""
    idx = _DEPS.get(id(bundle))
    if idx is None:
        idx = _DEPS[id(bundle)] = _build_deps(bundle)
    return [sn for sn, names in idx if names is None or names & touched]


def _build_deps(bundle: Bundle) -> list[tuple[SchemaNode, frozenset[tuple[str, str]] | None]]:
    out: list[tuple[SchemaNode, frozenset[tuple[str, str]] | None]] = []
    for sn in bundle.schema.root.walk():
        if not sn.config or sn.kind in (Kind.CHOICE, Kind.CASE) or not sn.module:
            continue
        asts = [x.ast for x in (*sn.must, *sn.when)]
        for d in _refs(sn.type or {"b": ""}):
            if d["b"] == "leafref" and "path" in d:
                asts.append(_leafref_ast(d["path"], tuple(sorted(d.get("pm", {}).items())), d.get("m", sn.module)))
        # an instance-identifier may point anywhere: any change can break it
        iid = any(d["b"] == "instance-identifier" and d.get("ri", True) for d in _refs(sn.type or {"b": ""}))
        if iid:
            out.append((sn, None))
            continue
        if not asts:
            continue
        names: set[tuple[str, str]] | None = set()
        for ast in asts:
            for n in iter_nodes(ast):
                if not isinstance(n, XStep):  # name tests are held by the location steps
                    continue
                nt = n.node_test
                if isinstance(nt, NameTest):
                    if nt.local == "*" or nt.prefix is None:
                        names = None
                        break
                    names.add((nt.prefix, nt.local))  # type: ignore[union-attr]
                elif n.axis not in ("parent", "self", "ancestor", "ancestor-or-self"):
                    names = None  # e.g. //, child::node(): may name anything below
                    break
            if names is None:
                break
        out.append((sn, frozenset(names) if names is not None else None))
    return out

