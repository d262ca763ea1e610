"""Prefix resolution and printing of XPath trees.

Why: in YANG, the prefixes in an XPath expression are those of the module
the expression is *written* in (RFC 7950 §6.4.1), and an unprefixed name
means the module of the context node.  Once an expression leaves its module
(through ``uses``, ``augment`` or ``deviation``) the prefixes mean nothing,
so the compiler rewrites every name test to carry the *module name* instead.
:func:`unparse` prints trees back to XPath text (with module names in place
of prefixes after resolution, which is the RFC 7951 JSON style), for error
messages, for generated code and for the round-trip guarantee
``parse(unparse(parse(s))) == parse(s)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Final

from models.xpath.ast import (
    DESCENDANT_OR_SELF,
    PARENT,
    SELF,
    BinaryOp,
    Expr,
    FilterPath,
    FunctionCall,
    Literal,
    NameTest,
    Negate,
    Number,
    Path,
    Step,
    VarRef,
)
from models.xpath.errors import XPathSyntaxError
from models.xpath.parser import PRECEDENCE

__all__ = ["format_literal", "resolve_prefixes", "unparse"]


# -- prefix resolution --------------------------------------------------------


def resolve_prefixes(expr: Expr, prefixes: Mapping[str, str], default_module: str) -> Expr:
    """Return ``expr`` with every name test's prefix replaced by a module name.

    ``prefixes`` maps the prefixes in scope (the module's own prefix and its
    imports) to module names.  Unprefixed names get ``default_module``; the
    bare wildcard ``*`` keeps ``prefix=None`` because it matches nodes of
    every module.  String literals are not touched: identity names inside
    ``derived-from()`` arguments are resolved when evaluated.  An unknown
    prefix raises :class:`XPathSyntaxError`.
    """
    return _Resolver(prefixes, default_module, expr).expr(expr)


class _Resolver:
    def __init__(self, prefixes: Mapping[str, str], default: str, root: Expr) -> None:
        self.prefixes = prefixes
        self.default = default
        self.root = root

    def expr(self, e: Expr) -> Expr:
        match e:
            case FunctionCall(name=name, args=args, pos=pos):
                return FunctionCall(name, tuple(self.expr(a) for a in args), pos)
            case BinaryOp(op=op, left=left, right=right):
                return BinaryOp(op, self.expr(left), self.expr(right))
            case Negate(expr=inner):
                return Negate(self.expr(inner))
            case Path(absolute=absolute, steps=steps):
                return Path(absolute, self.steps(steps))
            case FilterPath(primary=primary, predicates=preds, steps=steps):
                return FilterPath(
                    self.expr(primary), tuple(self.expr(p) for p in preds), self.steps(steps)
                )
            case _:
                return e

    def steps(self, steps: tuple[Step, ...]) -> tuple[Step, ...]:
        return tuple(self.step(s) for s in steps)

    def step(self, step: Step) -> Step:
        test = step.node_test
        if isinstance(test, NameTest):
            test = NameTest(self.module(test), test.local)
        return Step(step.axis, test, tuple(self.expr(p) for p in step.predicates))

    def module(self, test: NameTest) -> str | None:
        if test.prefix is None:
            return None if test.local == "*" else self.default
        module = self.prefixes.get(test.prefix)
        if module is None:
            raise XPathSyntaxError(f"unknown prefix {test.prefix!r}", unparse(self.root))
        return module


# -- printing -----------------------------------------------------------------

_UNION: Final = 8  # binds tighter than unary minus (7) and every other operator
_UNARY: Final = 7
_ATOM: Final = 9  # primary expressions and location paths


def unparse(expr: Expr) -> str:
    """Print a tree as XPath 1.0 text that parses back to an equal tree.

    Parentheses are added only where precedence or associativity needs
    them; steps use the abbreviations ``.``, ``..``, ``@`` and ``//`` and
    omit ``child::`` where that is exact.
    """
    return _print(expr)


def format_literal(value: str) -> str:
    """Quote a string as an XPath literal.

    Single quotes unless the value contains one, then double quotes.  XPath
    1.0 has no escapes, so a value with both quote kinds becomes a
    ``concat()`` call (equal in value, though not a :class:`Literal`).
    """
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    parts = [format_literal(chunk) for chunk in _split_keep(value, "'")]
    return f"concat({', '.join(parts)})"


def _split_keep(value: str, sep: str) -> list[str]:
    out: list[str] = []
    for i, chunk in enumerate(value.split(sep)):
        if i:
            out.append(sep)
        if chunk:
            out.append(chunk)
    return out


def format_number(value: float) -> str:
    """Print a float in XPath Number syntax (no exponent, no sign)."""
    if value != value:  # NaN has no literal form
        return "(0 div 0)"
    if value in (float("inf"), float("-inf")):
        text = "1" + "0" * 400  # overflows to infinity when read back
        return text if value > 0 else f"(-{text})"
    if value.is_integer():
        text = str(int(value))
    else:
        text = format(Decimal(repr(value)), "f")
    return f"({text})" if text.startswith("-") else text


def _precedence(expr: Expr) -> int:
    if isinstance(expr, BinaryOp):
        return _UNION if expr.op == "|" else PRECEDENCE[expr.op]
    if isinstance(expr, Negate):
        return _UNARY
    return _ATOM


def _wrap(expr: Expr, minimum: int) -> str:
    text = _print(expr)
    return f"({text})" if _precedence(expr) < minimum else text


def _print(expr: Expr) -> str:
    match expr:
        case Literal(value=value):
            return format_literal(value)
        case Number(value=value):
            return format_number(value)
        case VarRef(name=name):
            return f"${name}"
        case FunctionCall(name=name, args=args):
            return f"{name}({', '.join(_print(a) for a in args)})"
        case Negate(expr=inner):
            return f"-{_wrap(inner, _UNARY)}"
        case BinaryOp(op=op, left=left, right=right):
            prec = _precedence(expr)
            lhs = _wrap(left, prec)
            # A bare '/' would swallow a following '*' or operator name as a
            # name test, so it is parenthesised when something follows it.
            if lhs.endswith("/"):
                lhs = f"({lhs})"
            return f"{lhs} {op} {_wrap(right, prec + 1)}"
        case Path(absolute=absolute, steps=steps):
            if absolute:
                return "/" + _print_steps(steps, leading_slash=True)
            return _print_steps(steps, leading_slash=False)
        case FilterPath(primary=primary, predicates=preds, steps=steps):
            head = _print(primary)
            if not isinstance(primary, (Literal, Number, VarRef, FunctionCall)):
                head = f"({head})"
            text = head + "".join(f"[{_print(p)}]" for p in preds)
            if steps:
                text += "/" + _print_steps(steps, leading_slash=True)
            return text
    raise TypeError(f"not an XPath expression: {expr!r}")  # pragma: no cover


def _print_steps(steps: tuple[Step, ...], *, leading_slash: bool) -> str:
    """Join steps with '/'; a slash already precedes the first step if ``leading_slash``."""
    parts: list[str] = []
    last = len(steps) - 1
    for i, step in enumerate(steps):
        # '//' abbreviates '/descendant-or-self::node()/' only between two slashes
        # and not right after another '//'.
        after_slash = (leading_slash and i == 0) or (i > 0 and parts[-1] != "")
        if step == DESCENDANT_OR_SELF and i < last and after_slash:
            parts.append("")
        else:
            parts.append(_print_step(step))
    return "/".join(parts)


def _print_step(step: Step) -> str:
    if step == SELF:
        return "."
    if step == PARENT:
        return ".."
    test = step.node_test
    if isinstance(test, NameTest):
        test_text = test.local if test.prefix is None else f"{test.prefix}:{test.local}"
    else:
        arg = "" if test.literal is None else format_literal(test.literal)
        test_text = f"{test.node_type}({arg})"
    if step.axis == "child":
        axis = ""
    elif step.axis == "attribute":
        axis = "@"
    else:
        axis = f"{step.axis}::"
    return axis + test_text + "".join(f"[{_print(p)}]" for p in step.predicates)
