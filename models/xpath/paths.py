"""The two restricted path syntaxes of YANG: leafref paths and instance identifiers.

Why: both are XPath subsets with a fixed shape that the datastore uses
directly, without a general XPath evaluator: a leafref ``path`` (RFC 7950
§9.9.2, ABNF ``path-arg``) names the leaf it points at, with
``[key = current()/../x]`` predicates; an ``instance-identifier`` value
(RFC 7950 §9.13, JSON form RFC 7951 §6.11) names one data node by its keys.
Leafref paths are parsed with the full XPath parser and then checked against
the restricted grammar; instance identifiers, which are data rather than
schema, get a strict token-level parser with error offsets and a formatter
so that values round-trip.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from models.xpath.ast import PARENT, BinaryOp, Expr, FilterPath, FunctionCall, NameTest, Path, Step
from models.xpath.errors import XPathSyntaxError
from models.xpath.lexer import Token, TokenKind, tokenize
from models.xpath.parser import parse

__all__ = [
    "InstanceStep",
    "KeyPredicate",
    "LeafrefPath",
    "PathKey",
    "PathNode",
    "format_instance_identifier",
    "parse_instance_identifier",
    "parse_leafref_path",
]


# -- leafref path ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PathKey:
    """A path-predicate ``[prefix:name = current()/../../a/b]``.

    ``up`` counts the ``..`` steps after ``current()``; ``path`` is the
    ``(prefix, name)`` list that follows them.
    """

    prefix: str | None
    name: str
    up: int
    path: tuple[tuple[str | None, str], ...]


@dataclass(frozen=True, slots=True)
class PathNode:
    """One ``prefix:name[key = ...]...`` step of a leafref path."""

    prefix: str | None
    name: str
    predicates: tuple[PathKey, ...] = ()


@dataclass(frozen=True, slots=True)
class LeafrefPath:
    """A parsed leafref ``path`` argument.

    An absolute path has ``up == 0``; a relative one climbs ``up`` (>= 1)
    levels with ``..`` and then descends through ``steps``.  For the YANG 1.1
    form ``deref(<path>)/../x`` (RFC 7950 §10.3.1), ``deref`` holds the
    argument of ``deref()`` and ``up``/``steps`` apply to the node it
    returns.  ``expr`` is the full XPath tree, for the evaluator.
    """

    expr: Expr
    absolute: bool
    up: int
    steps: tuple[PathNode, ...]
    deref: LeafrefPath | None = None


def parse_leafref_path(text: str) -> LeafrefPath:
    """Parse a leafref ``path`` argument and check its restricted shape."""
    expr = parse(text)
    if isinstance(expr, FilterPath):
        primary = expr.primary
        if (
            isinstance(primary, FunctionCall)
            and primary.name == "deref"
            and len(primary.args) == 1
            and not expr.predicates
        ):
            inner = _leafref_shape(primary.args[0], text)
            up, steps = _relative_steps(expr.steps, text, require_up=False)
            if not steps:
                raise XPathSyntaxError("a leafref path must end in a node name", text)
            return LeafrefPath(expr, False, up, steps, inner)
    return _leafref_shape(expr, text)


def _leafref_shape(expr: Expr, text: str) -> LeafrefPath:
    if not isinstance(expr, Path):
        raise XPathSyntaxError(
            "a leafref path must be an absolute path or '../' followed by a relative path", text
        )
    if expr.absolute:
        if not expr.steps:
            raise XPathSyntaxError("a leafref path must name a node", text)
        return LeafrefPath(expr, True, 0, tuple(_path_node(s, text) for s in expr.steps))
    up, steps = _relative_steps(expr.steps, text, require_up=True)
    if not steps:
        raise XPathSyntaxError("a leafref path must end in a node name", text)
    return LeafrefPath(expr, False, up, steps)


def _relative_steps(
    steps: tuple[Step, ...], text: str, *, require_up: bool
) -> tuple[int, tuple[PathNode, ...]]:
    up = 0
    while up < len(steps) and steps[up] == PARENT:
        up += 1
    if require_up and up == 0:
        raise XPathSyntaxError("a relative leafref path must start with '../'", text)
    return up, tuple(_path_node(s, text) for s in steps[up:])


def _node_identifier(step: Step, text: str) -> tuple[str | None, str]:
    test = step.node_test
    if step.axis != "child" or not isinstance(test, NameTest) or test.local == "*":
        raise XPathSyntaxError("a leafref path step must be a node name, like 'prefix:name'", text)
    return test.prefix, test.local


def _path_node(step: Step, text: str) -> PathNode:
    prefix, name = _node_identifier(step, text)
    return PathNode(prefix, name, tuple(_path_key(p, text) for p in step.predicates))


def _path_key(pred: Expr, text: str) -> PathKey:
    bad = XPathSyntaxError("a leafref path predicate must be '[key = current()/../path]'", text)
    if not isinstance(pred, BinaryOp) or pred.op != "=":
        raise bad
    left, right = pred.left, pred.right
    if not isinstance(left, Path) or left.absolute or len(left.steps) != 1:
        raise bad
    if left.steps[0].predicates:
        raise bad
    key_prefix, key_name = _node_identifier(left.steps[0], text)
    if not (
        isinstance(right, FilterPath)
        and right.primary == FunctionCall("current")
        and not right.predicates
    ):
        raise bad
    up = 0
    while up < len(right.steps) and right.steps[up] == PARENT:
        up += 1
    rest = right.steps[up:]
    if up == 0 or not rest or any(s.predicates for s in rest):
        raise bad
    return PathKey(key_prefix, key_name, up, tuple(_node_identifier(s, text) for s in rest))


# -- instance-identifier --------------------------------------------------------


class KeyPredicate(NamedTuple):
    """``[prefix:name='value']``; ``name`` is ``'.'`` for a leaf-list entry."""

    prefix: str | None
    name: str
    value: str


class InstanceStep(NamedTuple):
    """One ``/prefix:name[...]`` step of an instance identifier.

    ``prefix`` is the XML prefix (RFC 7950 form) or module name (RFC 7951
    JSON form) as written, or None.  ``predicates`` is a tuple of key
    predicates (list keys, or a single ``'.'`` leaf-list predicate) or an
    int position (``[1]``, 1-based).
    """

    prefix: str | None
    name: str
    predicates: tuple[KeyPredicate, ...] | int = ()


def canonical_instance_identifier(steps: Sequence[InstanceStep],
                                  prefix_of: Callable[[str], str] | None = None) -> str:
    """Write parsed steps (prefixes are module names, absent where the module is the previous
    step's) back as text. Without ``prefix_of``: the RFC 7951 §6.11 JSON form, a module name
    only on the first step and where the module changes, none on keys. With it: the RFC 7950
    §9.13.2 XML form, every node name, keys included, with ``prefix_of(module)``.
    """
    out: list[str] = []
    current: str | None = None
    for st in steps:
        module = st.prefix or current
        if module is None:
            raise ValueError("the first node of an instance-identifier must be qualified")
        if prefix_of is not None:
            p = prefix_of(module)
            out.append(f"/{p}:{st.name}")
        else:
            p = ""
            out.append(f"/{st.name}" if module == current else f"/{module}:{st.name}")
        current = module
        if isinstance(st.predicates, int):
            out.append(f"[{st.predicates}]")
            continue
        for k in st.predicates:
            name = k.name if k.name == "." or not p else f"{p}:{k.name}"
            out.append(f"[{name}={_quote(k.value)}]")
    return "".join(out)


def parse_instance_identifier(text: str) -> tuple[InstanceStep, ...]:
    """Parse an instance-identifier value (RFC 7950 §9.13 / RFC 7951 §6.11).

    Whitespace is allowed only inside predicates, as in the ABNF.  Raises
    :class:`XPathSyntaxError` with the offset of the problem.
    """
    return _InstanceParser(text).parse()


class _InstanceParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.last_end = 0

    def error(self, message: str, tok: Token) -> XPathSyntaxError:
        return XPathSyntaxError(f"{message}, found {tok.describe()}", self.text, tok.pos)

    def take(self, kind: TokenKind, value: str | None, what: str, *, adjacent: bool) -> Token:
        tok = self.tokens[self.i]
        if not tok.is_(kind, value) or (kind is TokenKind.NAME_TEST and tok.local == "*"):
            raise self.error(f"expected {what}", tok)
        if adjacent and tok.pos != self.last_end:
            raise XPathSyntaxError("unexpected whitespace", self.text, self.last_end)
        self.i += 1
        self.last_end = tok.end
        return tok

    def peek(self, kind: TokenKind, value: str | None = None) -> bool:
        return self.tokens[self.i].is_(kind, value)

    def parse(self) -> tuple[InstanceStep, ...]:
        steps: list[InstanceStep] = []
        while True:
            self.take(TokenKind.OPERATOR, "/", "'/'", adjacent=True)
            name = self.take(TokenKind.NAME_TEST, None, "a node name", adjacent=True)
            steps.append(InstanceStep(name.prefix, name.local, self.predicates()))
            if self.peek(TokenKind.EOF):
                if self.last_end != len(self.text):
                    raise XPathSyntaxError("unexpected whitespace", self.text, self.last_end)
                return tuple(steps)

    def predicates(self) -> tuple[KeyPredicate, ...] | int:
        keys: list[KeyPredicate] = []
        while self.peek(TokenKind.PUNCT, "["):
            self.take(TokenKind.PUNCT, "[", "'['", adjacent=True)
            tok = self.tokens[self.i]
            if keys and (keys[0].name == "." or tok.is_(TokenKind.PUNCT, ".")):
                raise self.error("a leaf-list predicate must be the only predicate", tok)
            if tok.kind is TokenKind.NUMBER:
                if keys:
                    raise self.error("a position must be the only predicate", tok)
                self.i += 1
                if not tok.value.isdigit() or tok.value.startswith("0"):
                    raise self.error("expected a positive integer position", tok)
                self.take(TokenKind.PUNCT, "]", "']'", adjacent=False)
                if self.peek(TokenKind.PUNCT, "["):
                    raise self.error("a position must be the only predicate", self.tokens[self.i])
                return int(tok.value)
            if tok.is_(TokenKind.PUNCT, "."):
                self.i += 1
                prefix: str | None = None
                name = "."
            else:
                key = self.take(
                    TokenKind.NAME_TEST, None, "a key name, '.' or a position", adjacent=False
                )
                prefix, name = key.prefix, key.local
                if any(k.name == name and k.prefix == prefix for k in keys):
                    raise self.error("duplicate key predicate", key)
            self.take(TokenKind.OPERATOR, "=", "'='", adjacent=False)
            value = self.take(TokenKind.LITERAL, None, "a quoted value", adjacent=False)
            self.take(TokenKind.PUNCT, "]", "']'", adjacent=False)
            keys.append(KeyPredicate(prefix, name, value.value))
        return tuple(keys)


def _quote(value: str) -> str:
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    raise ValueError(f"value {value!r} contains both quote characters and cannot be quoted")


def format_instance_identifier(steps: tuple[InstanceStep, ...] | list[InstanceStep]) -> str:
    """Print steps as an instance identifier; inverse of :func:`parse_instance_identifier`.

    Values are single-quoted unless they contain a single quote, then
    double-quoted; a value with both (not representable) raises ValueError.
    """
    if not steps:
        raise ValueError("an instance identifier needs at least one step")
    out: list[str] = []
    for step in steps:
        prefix, name, predicates = step
        out.append(f"/{name}" if prefix is None else f"/{prefix}:{name}")
        if isinstance(predicates, int):
            if predicates < 1:
                raise ValueError(f"position must be >= 1, not {predicates}")
            out.append(f"[{predicates}]")
            continue
        for key_prefix, key_name, value in predicates:
            key = key_name if key_prefix is None else f"{key_prefix}:{key_name}"
            out.append(f"[{key}={_quote(value)}]")
    return "".join(out)
