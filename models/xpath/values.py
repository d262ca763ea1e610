"""XPath 1.0 values: the four types, their conversions, comparisons and the core functions.

Why a module of its own: the rules of XPath 1.0 §3.4 and §4 (node-set comparisons, NaN, the
number and string conversions, substring's rounding) are pure functions of values; keeping
them apart from the tree walk of :mod:`models.xpath.evaluate` makes both easier to read and
lets validators convert values the same way.  A node-set is a ``list[InstanceNode]`` in
document order without duplicates; numbers are always ``float``.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable
from decimal import Decimal
from itertools import chain
from typing import Any, TypeAlias

from models.instance import InstanceNode

__all__ = [
    "COMPARISONS", "CORE_FUNCTIONS", "NAN", "XPathEvalError", "XPathValue", "arith", "boolean", "compare",
    "first_node", "node_number", "nodes_of", "number", "number_to_str", "sort_nodes",
    "str_to_number", "string",
]

XPathValue: TypeAlias = list[InstanceNode] | str | float | bool
NAN = float("nan")


class XPathEvalError(ValueError):
    """An expression that cannot be evaluated (unknown function, variable, bad operand)."""


# ---- conversions (XPath 1.0 §4.2-§4.4) ------------------------------------------------------
_NUMBER_RE = re.compile(r"[ \t\r\n]*-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[ \t\r\n]*")
_WS_RE = re.compile(r"[ \t\r\n]+")


def str_to_number(s: str) -> float:
    return float(s) if _NUMBER_RE.fullmatch(s) else NAN


def number_to_str(f: float) -> str:
    if f != f:
        return "NaN"
    if math.isinf(f):
        return "Infinity" if f > 0 else "-Infinity"
    if f.is_integer() and abs(f) < 1e16:
        return str(int(f))
    s = format(Decimal(repr(f)), "f")
    return s.rstrip("0").rstrip(".") if "." in s else s


def node_number(n: InstanceNode) -> float:
    v = n.value
    t = type(v)
    if t is int or t is Decimal:
        return float(v)
    return str_to_number(n.string_value())


def string(v: XPathValue) -> str:
    if isinstance(v, list):
        return v[0].string_value() if v else ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return number_to_str(v)
    return v


def number(v: XPathValue) -> float:
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, float):
        return v
    if isinstance(v, list):
        return node_number(v[0]) if v else NAN
    return str_to_number(v)


def boolean(v: XPathValue) -> bool:
    if isinstance(v, float):
        return not (v == 0 or v != v)
    return bool(v)


def nodes_of(v: XPathValue, what: str) -> list[InstanceNode]:
    if not isinstance(v, list):
        raise XPathEvalError(f"{what} needs a node-set, not {type(v).__name__}")
    return v


def sort_nodes(nodes: Iterable[InstanceNode]) -> list[InstanceNode]:
    """Deduplicate and put into document order."""
    out = list(dict.fromkeys(nodes))
    if len(out) > 1:
        out.sort(key=InstanceNode.order_key)
    return out


# ---- comparisons (§3.4) and arithmetic -------------------------------------------------------
COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge,
}
_FLIP = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def compare(op: str, left: XPathValue, right: XPathValue) -> bool:
    fn = COMPARISONS[op]
    if isinstance(right, list) and not isinstance(left, list):
        left, right, op = right, left, _FLIP[op]
        fn = COMPARISONS[op]
    if isinstance(left, list):
        if isinstance(right, list):
            if not left or not right:
                return False
            if op == "=":
                rs = {n.string_value() for n in right}
                return any(n.string_value() in rs for n in left)
            if op == "!=":
                return len({n.string_value() for n in chain(left, right)}) > 1
            ln = [x for x in map(node_number, left) if x == x]
            rn = [x for x in map(node_number, right) if x == x]
            if not ln or not rn:
                return False
            lo = min(ln) if op[0] == "<" else max(ln)
            return bool(fn(lo, max(rn) if op[0] == "<" else min(rn)))
        if isinstance(right, bool):
            return bool(fn(bool(left), right))
        if isinstance(right, float):
            if len(left) == 1:
                return bool(fn(node_number(left[0]), right))
            return any(fn(node_number(n), right) for n in left)
        if op in ("=", "!="):
            return any(fn(n.string_value(), right) for n in left)
        num = str_to_number(right)
        return any(fn(node_number(n), num) for n in left)
    if op in ("=", "!="):
        if isinstance(left, bool) or isinstance(right, bool):
            return bool(fn(boolean(left), boolean(right)))
        if isinstance(left, float) or isinstance(right, float):
            return bool(fn(number(left), number(right)))
        return bool(fn(left, right))
    return bool(fn(number(left), number(right)))


_ARITH: dict[str, Callable[[float, float], float]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul}


def arith(op: str, a: float, b: float) -> float:
    fn = _ARITH.get(op)
    if fn is not None:
        return fn(a, b)
    if op == "div":
        if b == 0:
            return NAN if a == 0 or a != a else math.copysign(math.inf, a) * math.copysign(1, b)
        return a / b
    return NAN if b == 0 or a != a or b != b or math.isinf(a) else math.fmod(a, b)  # mod


def _substring(s: str, start: float, length: float = math.inf) -> str:
    first = _round(start)
    last = first + _round(length)
    if first != first or last != last:
        return ""
    lo = max(first, 1.0)
    if lo >= last or lo > len(s):
        return ""
    hi = len(s) + 1 if last > len(s) + 1 else int(last)
    return s[int(lo) - 1:hi - 1]


def _round(x: float) -> float:
    if x != x or math.isinf(x):
        return x
    f = math.floor(x)
    return float(f + 1 if x - f >= 0.5 else f)


def _around(s: str, sep: str, after: bool) -> str:
    i = s.find(sep)
    if i < 0:
        return ""
    return s[i + len(sep):] if after else s[:i]


def _translate(s: str, frm: str, to: str) -> str:
    table: dict[int, str | None] = {}
    for i, c in enumerate(frm):
        table.setdefault(ord(c), to[i] if i < len(to) else None)
    return s.translate(table)


def first_node(v: XPathValue, fn: str) -> InstanceNode | None:
    ns = nodes_of(v, fn)
    return ns[0] if ns else None


def _name(v: XPathValue, how: str) -> str:
    n = first_node(v, f"{how}()")
    sn = n.schema if n is not None else None
    if sn is None or n is None:
        return ""
    if how == "namespace-uri":
        info = n.bundle.schema.modules.get(sn.module)
        return info.namespace if info is not None else ""
    return f"{sn.module}:{sn.name}" if how == "name" else sn.name


def _int_op(fn: Callable[[float], int], x: float) -> float:
    return x if x != x or math.isinf(x) else float(fn(x))


#: The XPath 1.0 core functions that depend on their arguments only (§4).
CORE_FUNCTIONS: dict[str, Callable[..., XPathValue]] = {
    "count": lambda v: float(len(nodes_of(v, "count()"))),
    "id": lambda v: [],
    "local-name": lambda v: _name(v, "local-name"),
    "name": lambda v: _name(v, "name"),
    "namespace-uri": lambda v: _name(v, "namespace-uri"),
    "string": string,
    "concat": lambda *vs: "".join(map(string, vs)),
    "starts-with": lambda a, b: string(a).startswith(string(b)),
    "contains": lambda a, b: string(b) in string(a),
    "substring-before": lambda a, b: _around(string(a), string(b), False),
    "substring-after": lambda a, b: _around(string(a), string(b), True),
    "substring": lambda s, *n: _substring(string(s), *map(number, n)),
    "string-length": lambda v: float(len(string(v))),
    "normalize-space": lambda v: " ".join(x for x in _WS_RE.split(string(v)) if x),
    "translate": lambda s, a, b: _translate(string(s), string(a), string(b)),
    "boolean": boolean,
    "not": lambda v: not boolean(v),
    "true": lambda: True,
    "false": lambda: False,
    "lang": lambda v: False,
    "number": number,
    "sum": lambda v: float(sum(map(node_number, nodes_of(v, "sum()")))),
    "floor": lambda v: _int_op(math.floor, number(v)),
    "ceiling": lambda v: _int_op(math.ceil, number(v)),
    "round": lambda v: _round(number(v)),
}
