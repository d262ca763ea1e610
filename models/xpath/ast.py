"""Immutable abstract syntax tree for XPath 1.0 expressions.

Why: YANG ``must``/``when`` expressions, leafref paths and instance
identifiers are parsed once per schema and evaluated many times, so the tree
is made of frozen, hashable dataclasses that can be cached, shared between
threads and compared structurally (``parse(a) == parse(b)`` means "the same
expression").  All XPath abbreviations are expanded here (``.`` is
``self::node()``, ``..`` is ``parent::node()``, ``@x`` is ``attribute::x``
and ``//`` is ``/descendant-or-self::node()/``), so later stages only ever
see the unabbreviated forms.  Parentheses leave no trace in the tree except
where they change meaning (a parenthesised location path followed by a
predicate or a step becomes a :class:`FilterPath`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final, TypeAlias

__all__ = [
    "AXES",
    "BINARY_OPERATORS",
    "DESCENDANT_OR_SELF",
    "NODE_TYPES",
    "PARENT",
    "SELF",
    "BinaryOp",
    "Expr",
    "FilterPath",
    "FunctionCall",
    "Literal",
    "NameTest",
    "Negate",
    "NodeTest",
    "NodeTypeTest",
    "Number",
    "Path",
    "Step",
    "VarRef",
    "iter_nodes",
]

#: The 13 XPath 1.0 axes (XPath 1.0 §2.2).
AXES: Final = frozenset(
    {
        "ancestor",
        "ancestor-or-self",
        "attribute",
        "child",
        "descendant",
        "descendant-or-self",
        "following",
        "following-sibling",
        "namespace",
        "parent",
        "preceding",
        "preceding-sibling",
        "self",
    }
)

#: Node types usable in a node test (XPath 1.0 §2.3).
NODE_TYPES: Final = frozenset({"comment", "text", "processing-instruction", "node"})

#: Every binary operator, roughly lowest precedence first (see the parser for levels).
BINARY_OPERATORS: Final = (
    "or",
    "and",
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "*",
    "div",
    "mod",
    "|",
)


@dataclass(frozen=True, slots=True)
class Literal:
    """A string literal (``'abc'`` or ``"abc"``); ``value`` has no quotes."""

    value: str


@dataclass(frozen=True, slots=True)
class Number:
    """A numeric literal; XPath numbers are IEEE 754 doubles."""

    value: float


@dataclass(frozen=True, slots=True)
class VarRef:
    """A variable reference ``$name``; ``name`` is the QName without ``$``."""

    name: str


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """A function call; ``name`` is the QName as written.

    ``pos`` is the source offset of the name, used only in error messages;
    it takes no part in equality, hashing or ``repr``.
    """

    name: str
    args: tuple[Expr, ...] = ()
    pos: int = field(default=-1, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class BinaryOp:
    """A binary operation; ``op`` is one of :data:`BINARY_OPERATORS`."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Negate:
    """Unary minus."""

    expr: Expr


@dataclass(frozen=True, slots=True)
class NameTest:
    """A name test: ``prefix:local``, ``prefix:*``, ``local`` or ``*``.

    After :func:`models.xpath.names.resolve_prefixes` the ``prefix`` holds a
    YANG module name instead of a prefix.
    """

    prefix: str | None
    local: str


@dataclass(frozen=True, slots=True)
class NodeTypeTest:
    """A node type test such as ``node()`` or ``processing-instruction('x')``."""

    node_type: str
    literal: str | None = None


NodeTest: TypeAlias = NameTest | NodeTypeTest


@dataclass(frozen=True, slots=True)
class Step:
    """One location step: ``axis::node_test[predicate]...``."""

    axis: str
    node_test: NodeTest
    predicates: tuple[Expr, ...] = ()


@dataclass(frozen=True, slots=True)
class Path:
    """A location path; ``Path(True, ())`` is the root ``/``."""

    absolute: bool
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class FilterPath:
    """A filter expression: ``primary[pred]...`` optionally followed by steps.

    ``current()/../x`` is ``FilterPath(FunctionCall('current'), (), steps)``;
    ``(a|b)[1]`` is ``FilterPath(BinaryOp('|', ...), (Number(1.0),), ())``.
    """

    primary: Expr
    predicates: tuple[Expr, ...] = ()
    steps: tuple[Step, ...] = ()


Expr: TypeAlias = Literal | Number | VarRef | FunctionCall | BinaryOp | Negate | Path | FilterPath

#: ``self::node()``, the expansion of ``.``.
SELF: Final = Step("self", NodeTypeTest("node"))
#: ``parent::node()``, the expansion of ``..``.
PARENT: Final = Step("parent", NodeTypeTest("node"))
#: ``descendant-or-self::node()``, inserted for every ``//``.
DESCENDANT_OR_SELF: Final = Step("descendant-or-self", NodeTypeTest("node"))


def iter_nodes(expr: Expr) -> Iterator[Expr | Step]:
    """Yield ``expr`` and every expression and step nested in it, pre-order."""
    stack: list[Expr | Step] = [expr]
    while stack:
        node = stack.pop()
        yield node
        children: list[Expr | Step] = []
        match node:
            case FunctionCall(args=args):
                children.extend(args)
            case BinaryOp(left=left, right=right):
                children.extend((left, right))
            case Negate(expr=inner):
                children.append(inner)
            case Step(predicates=preds):
                children.extend(preds)
            case Path(steps=steps):
                children.extend(steps)
            case FilterPath(primary=primary, predicates=preds, steps=steps):
                children.append(primary)
                children.extend(preds)
                children.extend(steps)
            case _:
                pass
        stack.extend(reversed(children))
