"""The single exception type of the XPath package.

Why a module of its own: the lexer, the parser, the function checker, the
prefix resolver and the restricted YANG path parsers all report malformed
input the same way, and none of them should have to import another just to
get at the exception.  Subclassing :class:`ValueError` lets callers that only
care about "bad value" catch it without knowing about XPath.
"""

from __future__ import annotations

__all__ = ["XPathSyntaxError"]


class XPathSyntaxError(ValueError):
    """A malformed (or, for YANG, semantically unacceptable) XPath expression.

    ``offset`` is the 0-based character offset into ``expression`` where the
    problem was detected, or ``None`` when the error was found on an already
    parsed tree (unknown function, unknown prefix, wrong path shape).
    """

    def __init__(self, message: str, expression: str = "", offset: int | None = None) -> None:
        self.message = message
        self.expression = expression
        self.offset = offset
        super().__init__(self._describe())

    def _describe(self) -> str:
        text = self.message
        if self.offset is not None:
            text += f" at offset {self.offset}"
        if self.expression or self.offset is not None:
            text += f" in {self.expression!r}"
        return text
