"""The XPath function library known to YANG, with arities.

Why: RFC 7950 §6.4 makes the XPath 1.0 core function library (XPath 1.0
§4) plus the YANG 1.1 functions of §10 the only functions a ``must``,
``when`` or ``path`` expression may call.  Checking names and argument
counts when the schema is compiled turns a typo in a model into an error at
load time instead of a confusing failure on the first edit-config.  The
table also records each function's result type for the evaluator.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

from models.xpath.ast import Expr, FunctionCall, iter_nodes
from models.xpath.errors import XPathSyntaxError

__all__ = ["FUNCTIONS", "FunctionSpec", "check_functions"]

ResultType = Literal["node-set", "string", "number", "boolean"]


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """Signature of one function; ``max_args`` is None for "any number"."""

    name: str
    min_args: int
    max_args: int | None
    result: ResultType
    origin: Literal["xpath", "yang"]

    def accepts(self, count: int) -> bool:
        """True if a call with ``count`` arguments is well-formed."""
        return count >= self.min_args and (self.max_args is None or count <= self.max_args)

    def arity(self) -> str:
        """The arity as text, e.g. ``"2"``, ``"0-1"`` or ``"2 or more"``."""
        if self.max_args is None:
            return f"{self.min_args} or more"
        if self.max_args == self.min_args:
            return str(self.min_args)
        return f"{self.min_args}-{self.max_args}"


_SPECS: Final = (
    # XPath 1.0 §4.1 node-set functions
    FunctionSpec("last", 0, 0, "number", "xpath"),
    FunctionSpec("position", 0, 0, "number", "xpath"),
    FunctionSpec("count", 1, 1, "number", "xpath"),
    FunctionSpec("id", 1, 1, "node-set", "xpath"),
    FunctionSpec("local-name", 0, 1, "string", "xpath"),
    FunctionSpec("namespace-uri", 0, 1, "string", "xpath"),
    FunctionSpec("name", 0, 1, "string", "xpath"),
    # §4.2 string functions
    FunctionSpec("string", 0, 1, "string", "xpath"),
    FunctionSpec("concat", 2, None, "string", "xpath"),
    FunctionSpec("starts-with", 2, 2, "boolean", "xpath"),
    FunctionSpec("contains", 2, 2, "boolean", "xpath"),
    FunctionSpec("substring-before", 2, 2, "string", "xpath"),
    FunctionSpec("substring-after", 2, 2, "string", "xpath"),
    FunctionSpec("substring", 2, 3, "string", "xpath"),
    FunctionSpec("string-length", 0, 1, "number", "xpath"),
    FunctionSpec("normalize-space", 0, 1, "string", "xpath"),
    FunctionSpec("translate", 3, 3, "string", "xpath"),
    # §4.3 boolean functions
    FunctionSpec("boolean", 1, 1, "boolean", "xpath"),
    FunctionSpec("not", 1, 1, "boolean", "xpath"),
    FunctionSpec("true", 0, 0, "boolean", "xpath"),
    FunctionSpec("false", 0, 0, "boolean", "xpath"),
    FunctionSpec("lang", 1, 1, "boolean", "xpath"),
    # §4.4 number functions
    FunctionSpec("number", 0, 1, "number", "xpath"),
    FunctionSpec("sum", 1, 1, "number", "xpath"),
    FunctionSpec("floor", 1, 1, "number", "xpath"),
    FunctionSpec("ceiling", 1, 1, "number", "xpath"),
    FunctionSpec("round", 1, 1, "number", "xpath"),
    # RFC 7950 §10 (YANG 1.1; current() is also YANG 1.0)
    FunctionSpec("current", 0, 0, "node-set", "yang"),
    FunctionSpec("re-match", 2, 2, "boolean", "yang"),
    FunctionSpec("deref", 1, 1, "node-set", "yang"),
    FunctionSpec("derived-from", 2, 2, "boolean", "yang"),
    FunctionSpec("derived-from-or-self", 2, 2, "boolean", "yang"),
    FunctionSpec("enum-value", 1, 1, "number", "yang"),
    FunctionSpec("bit-is-set", 2, 2, "boolean", "yang"),
)

#: Function name -> signature, read-only.
FUNCTIONS: Final = MappingProxyType({spec.name: spec for spec in _SPECS})


def check_functions(expr: Expr, text: str = "") -> None:
    """Raise :class:`XPathSyntaxError` for an unknown function or a bad arity.

    ``text`` is the source expression, used only to make the message (and
    the offset of the function name) useful.
    """
    for node in iter_nodes(expr):
        if not isinstance(node, FunctionCall):
            continue
        offset = node.pos if text and node.pos >= 0 else None
        spec = FUNCTIONS.get(node.name)
        if spec is None:
            raise XPathSyntaxError(f"unknown function {node.name}()", text, offset)
        if not spec.accepts(len(node.args)):
            raise XPathSyntaxError(
                f"{node.name}() takes {spec.arity()} argument(s), {len(node.args)} given",
                text,
                offset,
            )
