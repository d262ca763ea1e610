"""Tokenizer for XPath 1.0 expressions (XPath 1.0 §3.7).

Why hand-written: XPath's lexical structure is context dependent.  Whether
``*`` is a multiplication or a wildcard, and whether ``div`` is an operator
or an element name, depends on the preceding token; whether a name is a
function, a node type or an axis depends on what follows it.  §3.7 states
these disambiguation rules precisely and this module implements them
literally, so that the parser can work on unambiguous tokens:

* if there is a preceding token and it is not one of ``@ :: ( [ ,`` or an
  Operator, then ``*`` is the MultiplyOperator and an NCName must be an
  OperatorName (``and or mod div``);
* an NCName (or QName) followed by ``(`` is a NodeType or a FunctionName;
* an NCName followed by ``::`` is an AxisName;
* otherwise the token is a NameTest (or ``*`` wildcard).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Final

from models.xpath.ast import AXES, NODE_TYPES
from models.xpath.errors import XPathSyntaxError

__all__ = ["OPERATOR_NAMES", "Token", "TokenKind", "tokenize"]

OPERATOR_NAMES: Final = frozenset({"and", "or", "mod", "div"})

# XML 1.0 (5th ed.) NameStartChar / NameChar, without ':' (i.e. NCName).
_NAME_START = (
    "A-Z_a-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff"
    "\u200c-\u200d\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd"
    "\U00010000-\U000effff"
)
_NAME_CHAR = _NAME_START + r"\-.0-9\u00b7\u0300-\u036f\u203f-\u2040"
NCNAME_RE: Final = re.compile(f"[{_NAME_START}][{_NAME_CHAR}]*")
_NUMBER_RE: Final = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")
_WHITESPACE: Final = frozenset(" \t\r\n")


class TokenKind(enum.Enum):
    """The token classes of XPath 1.0 §3.7 (ExprToken), plus end of input."""

    LITERAL = "literal"
    NUMBER = "number"
    VARIABLE = "variable"
    NAME_TEST = "name test"
    NODE_TYPE = "node type"
    FUNCTION_NAME = "function name"
    AXIS_NAME = "axis name"
    OPERATOR = "operator"
    PUNCT = "punctuation"
    EOF = "end of expression"


@dataclass(frozen=True, slots=True)
class Token:
    """One token.

    ``value`` is: the literal's content without quotes; the number as
    written; the QName of a variable (without ``$``), function or name test;
    the axis or node type name; or the operator / punctuation text.
    ``prefix`` and ``local`` split QNames (name tests, functions, variables).
    ``pos``/``end`` delimit the token in the source text.
    """

    kind: TokenKind
    value: str
    pos: int
    end: int
    prefix: str | None = None
    local: str = ""

    def is_(self, kind: TokenKind, value: str | None = None) -> bool:
        """True if the token has this kind (and, if given, this value)."""
        return self.kind is kind and (value is None or self.value == value)

    def describe(self) -> str:
        """Human-readable token description for error messages."""
        if self.kind is TokenKind.EOF:
            return "end of expression"
        if self.kind is TokenKind.LITERAL:
            return f"literal {self.value!r}"
        return f"{self.kind.value} {self.value!r}"


# Punctuation after which '*' is a name test and an NCName is not an operator.
_NAME_CONTEXT_PUNCT: Final = frozenset({"@", "::", "(", "[", ","})


def _expects_operator(prev: Token | None) -> bool:
    if prev is None or prev.kind is TokenKind.OPERATOR:
        return False
    return not (prev.kind is TokenKind.PUNCT and prev.value in _NAME_CONTEXT_PUNCT)


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _WHITESPACE:
        pos += 1
    return pos


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; the last token is always ``EOF``.

    Raises :class:`XPathSyntaxError` with the offending offset.
    """
    tokens: list[Token] = []
    n = len(text)
    pos = _skip_ws(text, 0)
    while pos < n:
        tok = _next_token(text, pos, tokens[-1] if tokens else None)
        tokens.append(tok)
        pos = _skip_ws(text, tok.end)
    tokens.append(Token(TokenKind.EOF, "", n, n))
    return tokens


def _next_token(text: str, pos: int, prev: Token | None) -> Token:
    c = text[pos]
    nxt = text[pos + 1] if pos + 1 < len(text) else ""
    if c in "'\"":
        close = text.find(c, pos + 1)
        if close < 0:
            raise XPathSyntaxError("unterminated string literal", text, pos)
        return Token(TokenKind.LITERAL, text[pos + 1 : close], pos, close + 1)
    if (c.isascii() and c.isdigit()) or (c == "." and nxt.isascii() and nxt.isdigit()):
        m = _NUMBER_RE.match(text, pos)
        assert m is not None
        return Token(TokenKind.NUMBER, m.group(), pos, m.end())
    if c == ".":
        if nxt == ".":
            return Token(TokenKind.PUNCT, "..", pos, pos + 2)
        return Token(TokenKind.PUNCT, ".", pos, pos + 1)
    if c in "()[],@":
        return Token(TokenKind.PUNCT, c, pos, pos + 1)
    if c == ":":
        if nxt == ":":
            return Token(TokenKind.PUNCT, "::", pos, pos + 2)
        raise XPathSyntaxError("unexpected ':'", text, pos)
    if c == "/":
        if nxt == "/":
            return Token(TokenKind.OPERATOR, "//", pos, pos + 2)
        return Token(TokenKind.OPERATOR, "/", pos, pos + 1)
    if c in "|+-=":
        return Token(TokenKind.OPERATOR, c, pos, pos + 1)
    if c == "!":
        if nxt == "=":
            return Token(TokenKind.OPERATOR, "!=", pos, pos + 2)
        raise XPathSyntaxError("'!' must be followed by '='", text, pos)
    if c in "<>":
        if nxt == "=":
            return Token(TokenKind.OPERATOR, c + "=", pos, pos + 2)
        return Token(TokenKind.OPERATOR, c, pos, pos + 1)
    if c == "*":
        if _expects_operator(prev):
            return Token(TokenKind.OPERATOR, "*", pos, pos + 1)
        return Token(TokenKind.NAME_TEST, "*", pos, pos + 1, None, "*")
    if c == "$":
        prefix, local, end = _qname(text, pos + 1, allow_star=False)
        if local is None:
            raise XPathSyntaxError("'$' must be followed by a variable name", text, pos)
        return Token(TokenKind.VARIABLE, text[pos + 1 : end], pos, end, prefix, local)
    if NCNAME_RE.match(text, pos):
        return _name_token(text, pos, prev)
    raise XPathSyntaxError(f"unexpected character {c!r}", text, pos)


def _qname(text: str, pos: int, *, allow_star: bool) -> tuple[str | None, str | None, int]:
    """Scan ``NCName`` or ``NCName:NCName`` (or ``NCName:*``) at ``pos``.

    Returns ``(prefix, local, end)``; ``local`` is None if no name is there.
    """
    m = NCNAME_RE.match(text, pos)
    if m is None:
        return None, None, pos
    end = m.end()
    if text.startswith(":", end) and not text.startswith("::", end):
        if allow_star and text.startswith("*", end + 1):
            return m.group(), "*", end + 2
        m2 = NCNAME_RE.match(text, end + 1)
        if m2 is None:
            raise XPathSyntaxError("expected a local name after ':'", text, end + 1)
        return m.group(), m2.group(), m2.end()
    return None, m.group(), end


def _name_token(text: str, pos: int, prev: Token | None) -> Token:
    if _expects_operator(prev):
        m = NCNAME_RE.match(text, pos)
        assert m is not None
        name = m.group()
        if name in OPERATOR_NAMES:
            return Token(TokenKind.OPERATOR, name, pos, m.end())
        raise XPathSyntaxError(f"expected an operator, found {name!r}", text, pos)
    prefix, local, end = _qname(text, pos, allow_star=True)
    assert local is not None
    qname = text[pos:end]
    after = _skip_ws(text, end)
    if text.startswith("(", after) and local != "*":
        if prefix is None and local in NODE_TYPES:
            return Token(TokenKind.NODE_TYPE, local, pos, end, None, local)
        return Token(TokenKind.FUNCTION_NAME, qname, pos, end, prefix, local)
    if text.startswith("::", after) and prefix is None:
        if local not in AXES:
            raise XPathSyntaxError(f"unknown axis {local!r}", text, pos)
        return Token(TokenKind.AXIS_NAME, local, pos, end, None, local)
    return Token(TokenKind.NAME_TEST, qname, pos, end, prefix, local)
