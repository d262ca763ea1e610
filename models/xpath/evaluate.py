"""XPath 1.0 evaluation over YANG data trees (XPath 1.0; RFC 7950 §6.4.1, §10).

Why: must/when constraints, leafref targets and deref() need XPath over instance data.  The
evaluator walks :class:`models.instance.InstanceNode` cursors, so a relative path touches only
the nodes it names (``../mtu >= 68`` is a parent hop, an attribute read and a comparison), and
a list step whose leading predicates fix every key to a value independent of the candidate
(the leafref shape ``list[key = current()/../x]``) is one keyed lookup, not a scan.  Values
are ``list[InstanceNode]`` (node-set: document order, no duplicates), str, float or bool.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from itertools import chain
from typing import Any, TypeAlias

from models.instance import (
    MODULE_NAMES,
    REVERSE_AXES,
    InstanceNode,
    axis_nodes,
    find,
    leaf_text,
)
from models.schema import Kind, Schema, SchemaNode, XPathExpr
from models.xpath.ast import (
    BinaryOp,
    Expr,
    FilterPath,
    FunctionCall,
    Literal,
    NameTest,
    Negate,
    NodeTest,
    Number,
    Path,
    Step,
    VarRef,
)
from models.xpath.functions import FUNCTIONS
from models.xpath.names import resolve_prefixes
from models.xpath.parser import parse
from models.xpath.values import (
    COMPARISONS,
    CORE_FUNCTIONS,
    NAN,
    XPathEvalError,
    XPathValue,
    arith,
    boolean,
    compare,
    first_node,
    nodes_of,
    number,
    sort_nodes,
    string,
)
from models.xsd_regex import compile_pattern

__all__ = [
    "XPathEvalError", "XPathValue", "boolean", "deref_node", "eval_expr", "evaluate", "number",
    "string",
]

def _match(n: InstanceNode, test: NodeTest) -> bool:
    if isinstance(test, NameTest):
        sn = n.schema
        return sn is not None and (test.local == "*" or sn.name == test.local) and (
            test.prefix is None or sn.module == test.prefix)
    return test.node_type == "node"


# ---- candidate-independent expressions (for the keyed-lookup fast path) -----------------------
_CONTEXT_FUNCS = frozenset({"position", "last", "string", "number", "string-length",
                            "normalize-space", "local-name", "name", "namespace-uri"})


def _independent(e: Expr) -> bool:
    """True if ``e`` has the same value for every context node (current() allowed)."""
    if isinstance(e, (Literal, Number)):
        return True
    if isinstance(e, Path):
        return e.absolute
    if isinstance(e, FilterPath):
        return _independent(e.primary)
    if isinstance(e, FunctionCall):
        if e.name in ("position", "last") or (not e.args and e.name in _CONTEXT_FUNCS):
            return False
        return all(map(_independent, e.args))
    if isinstance(e, BinaryOp):
        return _independent(e.left) and _independent(e.right)
    if isinstance(e, Negate):
        return _independent(e.expr)
    return False


def _key_terms(pred: Expr, sn: SchemaNode) -> list[tuple[str, Expr]] | None:
    """``key = expr [and ...]`` over keys of list ``sn`` → [(key, expr)], else None."""
    if isinstance(pred, BinaryOp) and pred.op == "and":
        a, b = _key_terms(pred.left, sn), _key_terms(pred.right, sn)
        return None if a is None or b is None else a + b
    if not isinstance(pred, BinaryOp) or pred.op != "=":
        return None
    for side, other in ((pred.left, pred.right), (pred.right, pred.left)):
        if isinstance(side, Path) and not side.absolute and len(side.steps) == 1:
            st = side.steps[0]
            t = st.node_test
            if (st.axis == "child" and not st.predicates and isinstance(t, NameTest)
                    and t.prefix == sn.module and t.local in sn.keys and _independent(other)):
                return [(t.local, other)]
    return None


_Plan: TypeAlias = tuple[list[tuple[SchemaNode, Expr]], tuple[Expr, ...]] | None
_PLANS: dict[int, tuple[tuple[Expr, ...], SchemaNode, _Plan]] = {}


def _key_plan(sn: SchemaNode, preds: tuple[Expr, ...]) -> _Plan:
    """[(key leaf, value expr)] in key order and the predicates they use, if all keys are set."""
    terms: dict[str, Expr] = {}
    used = 0
    while sn.keys and used < len(preds) and len(terms) < len(sn.keys):
        got = _key_terms(preds[used], sn)
        if got is None or any(k in terms for k, _ in got):
            break
        terms.update(got)
        used += 1
    leaves = [sn.data_child(sn.module, k) for k in sn.keys]
    if not sn.keys or len(terms) < len(sn.keys) or None in leaves:
        return None
    return [(leaf, terms[leaf.name]) for leaf in leaves if leaf is not None], preds[:used]


class _Evaluator:
    __slots__ = ("current", "module", "prefixes", "schema")

    def __init__(self, current: InstanceNode, prefixes: Mapping[str, str], schema: Schema,
                 module: str | None) -> None:
        self.current = current
        self.prefixes = prefixes
        self.schema = schema
        self.module = module

    def ev(self, e: Expr, node: InstanceNode, pos: int, size: int) -> XPathValue:
        if isinstance(e, Path):
            return self.steps([node.root()] if e.absolute else [node], e.steps)
        if isinstance(e, BinaryOp):
            op = e.op
            if op == "or":
                return boolean(self.ev(e.left, node, pos, size)) or boolean(
                    self.ev(e.right, node, pos, size))
            if op == "and":
                return boolean(self.ev(e.left, node, pos, size)) and boolean(
                    self.ev(e.right, node, pos, size))
            left, right = self.ev(e.left, node, pos, size), self.ev(e.right, node, pos, size)
            if op in COMPARISONS:
                return compare(op, left, right)
            if op == "|":
                return sort_nodes(chain(nodes_of(left, "|"), nodes_of(right, "|")))
            return arith(op, number(left), number(right))
        if isinstance(e, Literal):
            return e.value
        if isinstance(e, Number):
            return e.value
        if isinstance(e, FunctionCall):
            return self.call(e, node, pos, size)
        if isinstance(e, FilterPath):
            v = self.ev(e.primary, node, pos, size)
            if not e.predicates and not e.steps:
                return v
            nodes = nodes_of(v, "a filter or path step")
            for p in e.predicates:
                nodes = self.filter(nodes, p)
            return self.steps(nodes, e.steps)
        if isinstance(e, Negate):
            return -number(self.ev(e.expr, node, pos, size))
        if isinstance(e, VarRef):
            raise XPathEvalError(f"unbound variable ${e.name}")
        raise XPathEvalError(f"not an XPath expression: {e!r}")

    # ---- location steps ---------------------------------------------------------------------
    def steps(self, nodes: list[InstanceNode], steps: tuple[Step, ...]) -> list[InstanceNode]:
        for st in steps:
            if not nodes:
                break
            if len(nodes) == 1:
                nodes = self.step(nodes[0], st)
                continue
            parts = [self.step(n, st) for n in nodes]
            flat = [x for part in parts for x in part]
            depth = nodes[0].depth
            same = all(n.depth == depth for n in nodes)
            if same and st.axis in ("child", "self"):
                nodes = flat  # children of unrelated nodes in document order: still ordered
            elif same and st.axis == "parent":
                nodes = [x for i, x in enumerate(flat) if i == 0 or x != flat[i - 1]]
            else:
                nodes = sort_nodes(flat)
        return nodes

    def step(self, node: InstanceNode, st: Step) -> list[InstanceNode]:
        test, preds, axis = st.node_test, st.predicates, st.axis
        if axis == "child" and isinstance(test, NameTest) and test.prefix is not None \
                and test.local != "*":
            sn = node.child_schema(test.prefix, test.local)
            if sn is None:
                return []
            found = self.lookup(node, sn, preds) if preds and sn.kind is Kind.LIST else None
            if found is not None:
                cands, preds = found
            else:
                cands = node.children_of(sn)
        elif axis == "parent":
            up = node.parent
            cands = [up] if up is not None and _match(up, test) else []
        else:
            cands = [n for n in axis_nodes(node, axis) if _match(n, test)]
        for p in preds:
            cands = self.filter(cands, p)
        if axis in REVERSE_AXES and len(cands) > 1:
            cands.reverse()
        return cands

    def filter(self, cands: list[InstanceNode], pred: Expr) -> list[InstanceNode]:
        size = len(cands)
        if isinstance(pred, Number):
            i = pred.value
            return [cands[int(i) - 1]] if i.is_integer() and 1 <= i <= size else []
        out = []
        for i, n in enumerate(cands, 1):
            v = self.ev(pred, n, i, size)
            if v == i if isinstance(v, float) else boolean(v):
                out.append(n)
        return out

    def lookup(self, node: InstanceNode, sn: SchemaNode, preds: tuple[Expr, ...]
               ) -> tuple[list[InstanceNode], tuple[Expr, ...]] | None:
        """Entries of list ``sn`` picked by leading full-key predicates, by keyed lookup."""
        plan = _PLANS.get(id(preds))
        if plan is None or plan[0] is not preds or plan[1] is not sn:
            plan = (preds, sn, _key_plan(sn, preds))
            _PLANS[id(preds)] = plan
        terms = plan[2]
        if terms is None:
            return None
        rest = preds[len(terms[1]):]
        key = []
        for leaf, e in terms[0]:
            v = self.ev(e, node, 1, 1)
            if isinstance(v, list):
                if not v:
                    return [], rest  # nothing equals an empty node-set
                if len(v) > 1 and len({n.string_value() for n in v}) > 1:
                    return None  # several candidate values: the general path
                v = v[0].string_value()
            if not isinstance(v, str):
                return None  # a number or boolean comparison: the general path
            try:
                k = node.bundle.type_of(leaf).from_text(v, MODULE_NAMES)
            except ValueError:
                return [], rest
            if leaf_text(node.bundle, leaf, k) != v:  # the comparison is textual: "01" != "1"
                return [], rest
            key.append(k)
        entry = node.entry(sn, tuple(key))
        return ([] if entry is None else [entry]), rest

    # ---- functions ----------------------------------------------------------------------------
    def call(self, e: FunctionCall, node: InstanceNode, pos: int, size: int) -> XPathValue:
        name = e.name
        spec = FUNCTIONS.get(name)
        if spec is None or not spec.accepts(len(e.args)):
            raise XPathEvalError(f"unknown function or wrong arity: {name}()/{len(e.args)}")
        if name == "position":
            return float(pos)
        if name == "last":
            return float(size)
        if name == "current":
            return [self.current]
        args = [self.ev(a, node, pos, size) for a in e.args]
        if not args and name in _CONTEXT_FUNCS:
            args = [[node]]
        pure = _PURE.get(name)
        if pure is not None:
            return pure(*args)
        if name in ("derived-from", "derived-from-or-self"):
            ns = nodes_of(args[0], name)
            return self.derived_from(ns, string(args[1]), name == "derived-from-or-self", node)
        raise XPathEvalError(f"function {name}() is not implemented")  # pragma: no cover

    def derived_from(self, ns: list[InstanceNode], ident: str, or_self: bool,
                     node: InstanceNode) -> bool:
        prefix, _, local = ident.strip().rpartition(":")
        if prefix:
            module = self.prefixes.get(prefix) or (prefix if prefix in self.schema.modules else None)
        else:
            module = self.module or (node.schema.module if node.schema is not None else None)
        if module is None:
            return False
        base = f"{module}:{local}"
        derived = self.schema.derived_from(base)
        return any((t := n.text()) in derived or (or_self and t == base) for n in ns
                   if n.schema is not None and n.schema.kind in (Kind.LEAF, Kind.LEAF_LIST))


@lru_cache(maxsize=512)
def _pattern(xsd: str) -> Any:
    return compile_pattern(xsd)


def _re_match(s: XPathValue, pattern: XPathValue) -> bool:
    try:
        return _pattern(string(pattern)).fullmatch(string(s)) is not None
    except ValueError as exc:
        raise XPathEvalError(f"re-match(): bad pattern: {exc}") from None


def _bit_is_set(v: XPathValue, bit: XPathValue) -> bool:
    n = first_node(v, "bit-is-set()")
    return n is not None and string(bit) in n.text().split()


_PURE: dict[str, Callable[..., XPathValue]] = {
    **CORE_FUNCTIONS,
    "re-match": _re_match,
    "deref": lambda v: deref_node(n) if (n := first_node(v, "deref()")) is not None else [],
    "enum-value": lambda v: _enum_value(first_node(v, "enum-value()")),
    "bit-is-set": _bit_is_set,
}


# ---- YANG: deref, enum-value -------------------------------------------------------------------
def _members(d: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield d
    for m in d.get("types", ()):
        yield from _members(m)
    if d.get("b") == "leafref" and d.get("target"):
        yield from _members(d["target"])


def _enum_value(n: InstanceNode | None) -> float:
    if n is None or n.schema is None or n.schema.type is None or not isinstance(n.value, str):
        return NAN
    for d in _members(n.schema.type):
        for name, value in d.get("enum", ()):
            if name == n.value and value is not None:
                return float(value)
    return NAN


_LEAFREF: weakref.WeakKeyDictionary[SchemaNode, Expr | None] = weakref.WeakKeyDictionary()


def _leafref_expr(n: InstanceNode, sn: SchemaNode) -> Expr | None:
    """The leaf's leafref path, resolved; a key-leaf target becomes a keyed list lookup."""
    if sn in _LEAFREF:
        return _LEAFREF[sn]
    assert sn.type is not None
    d = next((m for m in _members(sn.type) if m.get("b") == "leafref" and "path" in m), None)
    expr: Expr | None = None
    if d is not None:
        expr = resolve_prefixes(parse(d["path"]), d.get("pm", {}), d.get("m", sn.module))
        target = None
        if isinstance(expr, Path) and len(expr.steps) >= 2 and d.get("tp"):
            try:
                target = n.bundle.node(d["tp"])
            except KeyError:
                target = None
        lst = target.data_parent() if target is not None else None
        if isinstance(expr, Path) and target is not None and lst is not None and target.is_key:
            *head, prev, last = expr.steps
            name = NameTest(target.module, target.name)
            if last.node_test == name and prev.node_test == NameTest(lst.module, lst.name):
                pred = BinaryOp("=", Path(False, (Step("child", name),)), FunctionCall("current"))
                prev = Step(prev.axis, prev.node_test, (pred, *prev.predicates))
                expr = Path(expr.absolute, (*head, prev, last))
    _LEAFREF[sn] = expr
    return expr


def deref_node(n: InstanceNode) -> list[InstanceNode]:
    """RFC 7950 §10.3.1 for one node: the leafref's target node(s) or the instance-id's node."""
    sn = n.schema
    if sn is None or sn.type is None:
        return []
    expr = _leafref_expr(n, sn)
    if expr is not None:
        ev = _Evaluator(n, {}, n.bundle.schema, None)
        targets = nodes_of(ev.ev(expr, n, 1, 1), "a leafref path")
        text = n.text()
        return [t for t in targets if t.text() == text]
    if isinstance(n.value, str) and any(
            m.get("b") == "instance-identifier" for m in _members(sn.type)):
        found = find(n, n.value)
        return [found] if found is not None else []
    return []


# ---- entry points ------------------------------------------------------------------------------
def evaluate(expr: Expr, context: InstanceNode, *, current: InstanceNode | None = None,
             prefixes: Mapping[str, str] | None = None, schema: Schema | None = None,
             module: str | None = None) -> XPathValue:
    """Evaluate a (prefix-resolved) expression with ``context`` as the context node.

    ``current`` is what current() returns (default: ``context``); ``prefixes`` (prefix →
    module) and ``module`` (for unprefixed names; default: the node's module) resolve identity
    literals in derived-from(); ``schema`` defaults to the tree's.
    """
    ev = _Evaluator(current if current is not None else context, prefixes or {},
                    schema if schema is not None else context.bundle.schema, module)
    return ev.ev(expr, context, 1, 1)


def eval_expr(xexpr: XPathExpr, node: InstanceNode, schema: Schema | None = None) -> bool:
    """A must/when expression's truth for ``node`` (the context per ``xexpr.context``)."""
    ctx = node if xexpr.context == "self" or node.parent is None else node.parent
    return boolean(evaluate(xexpr.ast, ctx, prefixes=xexpr.prefixes, schema=schema,
                            module=xexpr.module))
