"""Translate YANG ``pattern`` arguments (XML Schema regular expressions) for the ``regex`` module.

RFC 7950 §9.4.5 says a ``pattern`` is an XML Schema regular expression (XSD Part 2,
Appendix F).  That dialect looks like Perl/Python syntax but differs where it hurts:

* it is implicitly anchored at both ends, and ``^``/``$`` are ordinary characters;
* ``.`` excludes only ``\\n`` and ``\\r``; ``\\d``, ``\\w`` are defined by Unicode categories;
* it has ``\\i``/``\\c`` (XML name characters), ``\\p{IsBlock}`` and ``[a-z-[aeiou]]``
  class subtraction, none of which Python's ``re`` understands;
* it has no anchors, backreferences, lookaround, lazy or possessive quantifiers, so
  ``\\b``, ``\\1``, ``*?`` are errors rather than silently meaning something else.

Feeding a YANG pattern to ``re`` therefore accepts wrong values and rejects right ones.
This module parses the XSD syntax with a small recursive-descent translator and emits an
equivalent pattern for the ``regex`` module in VERSION1 mode (which has nested sets and
set difference ``--``).  Translated patterns must be used with ``fullmatch``.
"""

from __future__ import annotations

import functools

import regex

__all__ = ["XsdRegexError", "compile_pattern", "matches", "translate"]


class XsdRegexError(ValueError):
    """An XSD regular expression is invalid; ``offset`` is where the problem was found."""

    def __init__(self, message: str, pattern: str, offset: int) -> None:
        super().__init__(f"{message} at offset {offset} in XSD pattern {pattern!r}")
        self.reason = message
        self.pattern = pattern
        self.offset = offset


# XML 1.0 (5th ed.) NameStartChar and NameChar, as set bodies for the ``regex`` module.
_NAME_START = (
    r"\:A-Z_a-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF"
    r"\u200C-\u200D\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF"
    r"\uF900-\uFDCF\uFDF0-\uFFFD\U00010000-\U000EFFFF"
)
_NAME_CHAR = _NAME_START + r"\-\.0-9\u00B7\u0300-\u036F\u203F-\u2040"

# Multi-character escapes, each written so it is valid both alone and nested in a V1 set.
_MULTI_ESCAPES: dict[str, str] = {
    "s": r"[ \t\n\r]",
    "S": r"[^ \t\n\r]",
    "i": f"[{_NAME_START}]",
    "I": f"[^{_NAME_START}]",
    "c": f"[{_NAME_CHAR}]",
    "C": f"[^{_NAME_CHAR}]",
    "d": r"\p{Nd}",
    "D": r"\P{Nd}",
    "w": r"[^\p{P}\p{Z}\p{C}]",
    "W": r"[\p{P}\p{Z}\p{C}]",
}
_SINGLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"} | {c: c for c in "\\|.-^?*+{}()[]"}
_CATEGORIES = frozenset(
    "L Lu Ll Lt Lm Lo M Mn Mc Me N Nd Nl No P Pc Pd Ps Pe Pi Pf Po "
    "Z Zs Zl Zp S Sm Sc Sk So C Cc Cf Co Cn".split()
)
# XSD block names whose meaning is not a single current Unicode block.
_BLOCK_OVERRIDES: dict[str, str] = {
    "PrivateUse": r"\p{Block=PrivateUseArea}\p{Block=SupplementaryPrivateUseAreaA}"
    r"\p{Block=SupplementaryPrivateUseAreaB}",
}
# The engine unrolls counted repeats; cap the unrolled size so a pattern cannot exhaust memory
# (10**6 costs ~300 MB).  XSD sets no limit; real YANG patterns stay far below this.
_MAX_EXPANSION = 100_000
# Sets, not strings: peek() returns "" at the end and "" is "in" every string.
_QUANTIFIER_START, _SIMPLE_QUANTIFIERS = frozenset("?*+{"), frozenset("?*+")
_BRANCH_END, _CLOSERS, _BRACKETS = frozenset("|)"), frozenset("]}"), frozenset("[]")


@functools.lru_cache(maxsize=256)
def _block_body(name: str) -> str | None:
    """Set body for XSD block ``Is<name>``, or None if the ``regex`` module does not know it."""
    if name in _BLOCK_OVERRIDES:
        return _BLOCK_OVERRIDES[name]
    if not name or not all(c.isascii() and (c.isalnum() or c == "-") for c in name):
        return None
    body = rf"\p{{Block={name}}}"
    try:
        regex.compile(body, regex.VERSION1)
    except regex.error:
        return None
    return body


def _literal(ch: str) -> str:
    """Emit one character so that it is literal both outside and inside a V1 set."""
    if ch.isascii() and ch.isalnum():
        return ch
    if ch.isascii() and ch.isprintable():
        return "\\" + ch
    code = ord(ch)
    return f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}"


class _Translator:
    def __init__(self, src: str) -> None:
        self.src = src
        self.pos = 0

    def error(self, message: str, offset: int | None = None) -> XsdRegexError:
        return XsdRegexError(message, self.src, self.pos if offset is None else offset)

    def peek(self, ahead: int = 0) -> str:
        i = self.pos + ahead
        return self.src[i] if i < len(self.src) else ""

    def run(self) -> str:
        out, size = self.reg_exp(depth=0)
        if size > _MAX_EXPANSION:
            raise self.error(f"repeats expand to {size} items (limit {_MAX_EXPANSION})", 0)
        return out

    # regExp ::= branch ( '|' branch )*      Each parse method also returns the size the
    # engine will expand it to: it unrolls counted repeats, so (a{1000}){1000} costs 10**6.
    def reg_exp(self, depth: int) -> tuple[str, int]:
        branches = [self.branch(depth)]
        while self.peek() == "|":
            self.pos += 1
            branches.append(self.branch(depth))
        return "|".join(b[0] for b in branches), sum(b[1] for b in branches)

    # branch ::= piece*   piece ::= atom quantifier?
    def branch(self, depth: int) -> tuple[str, int]:
        parts: list[str] = []
        size = 0
        while self.pos < len(self.src) and self.peek() not in _BRANCH_END:
            text, atom_size = self.atom(depth)
            quant, times = self.quantifier()
            parts.append(text + quant)
            size += atom_size * times
        if self.peek() == ")" and depth == 0:
            raise self.error("unbalanced ')'")
        return "".join(parts), size

    def atom(self, depth: int) -> tuple[str, int]:
        start, ch = self.pos, self.peek()
        if ch in _QUANTIFIER_START:
            raise self.error(f"quantifier {ch!r} does not follow an atom")
        if ch in _CLOSERS:
            raise self.error(f"unescaped {ch!r}")
        self.pos += 1
        if ch == "(":
            inner, size = self.reg_exp(depth + 1)
            if self.peek() != ")":
                raise self.error("missing ')' for group", start)
            self.pos += 1
            return f"(?:{inner})", max(size, 1)
        if ch == "[":
            self.pos = start
            return self.char_class_expr(), 1
        if ch == ".":
            return r"[^\n\r]", 1
        if ch == "\\":
            self.pos = start
            escaped = self.escape()
            return (escaped if len(escaped) != 1 else _literal(escaped)), 1
        return _literal(ch), 1

    def quantifier(self) -> tuple[str, int]:
        """Parse an optional quantifier: its output text and how many times it repeats."""
        ch = self.peek()
        if ch in _SIMPLE_QUANTIFIERS:
            self.pos += 1
            return ch, 1
        if ch != "{":
            return "", 1
        start = self.pos
        end = self.src.find("}", start)
        body = self.src[start + 1 : end] if end >= 0 else ""
        low, comma, high = body.partition(",")
        if (
            end < 0
            or not low.isascii()
            or not low.isdigit()
            or (high and not (high.isascii() and high.isdigit()))
        ):
            raise self.error("'{' does not start a valid quantifier {n}, {n,} or {n,m}")
        if high and int(high) < int(low):
            raise self.error(f"quantifier {{{body}}} has maximum below minimum")
        times = max(int(low) + (1 if comma and not high else 0), int(high or 0), 1)
        if times > _MAX_EXPANSION:
            raise self.error(f"repeat count in {{{body}}} is above the limit {_MAX_EXPANSION}")
        self.pos = end + 1
        return "{" + str(int(low)) + comma + (str(int(high)) if high else "") + "}", times

    def escape(self) -> str:
        """Parse a backslash escape: return one character, or a set expression."""
        start = self.pos
        self.pos += 1
        ch = self.peek()
        self.pos += 1
        if not ch:
            raise self.error("pattern ends with a lone backslash", start)
        if ch in _SINGLE_ESCAPES:
            return _SINGLE_ESCAPES[ch]
        if ch in _MULTI_ESCAPES:
            return _MULTI_ESCAPES[ch]
        if ch in ("p", "P"):
            return self.property(negated=ch == "P", start=start)
        raise self.error(f"invalid escape '\\{ch}' (not allowed in XSD regular expressions)", start)

    def property(self, *, negated: bool, start: int) -> str:
        if self.peek() != "{":
            raise self.error("expected '{' after \\p or \\P", start)
        end = self.src.find("}", self.pos)
        if end < 0:
            raise self.error("unterminated \\p{...}", start)
        name = self.src[self.pos + 1 : end]
        self.pos = end + 1
        if name in _CATEGORIES:
            return ("\\P" if negated else "\\p") + "{" + name + "}"
        body = _block_body(name[2:]) if name.startswith("Is") else None
        if body is None:
            raise self.error(f"unknown Unicode category or block {name!r}", start)
        return f"[{'^' if negated else ''}{body}]"

    # charClassExpr ::= '[' ( '^'? posCharGroup ( '-' charClassExpr )? ) ']'
    def char_class_expr(self) -> str:
        start = self.pos
        self.pos += 1
        negated = self.peek() == "^"
        if negated:
            self.pos += 1
        items: list[str] = []
        subtract: str | None = None
        while True:
            ch = self.peek()
            if not ch:
                raise self.error("missing ']' for character class", start)
            if ch == "]":
                break
            if ch == "-" and self.peek(1) == "[":
                if not items:
                    raise self.error("class subtraction without a class to subtract from")
                self.pos += 1
                subtract = self.char_class_expr()
                if self.peek() != "]":
                    raise self.error("subtraction must be last in a character class")
                break
            items.append(self.char_range(first=not items))
        if not items:
            raise self.error("empty character class", start)
        self.pos += 1
        body = f"[{'^' if negated else ''}{''.join(items)}]"
        return body if subtract is None else f"[{body}--{subtract}]"

    def class_char(self) -> str:
        """One charOrEsc in a class: a character, or (from a multi-char escape) a set."""
        ch = self.peek()
        if ch == "\\":
            return self.escape()
        if ch == "[":
            raise self.error("unescaped '[' in character class")
        self.pos += 1
        return ch

    def char_range(self, *, first: bool) -> str:
        start = self.pos
        if self.peek() == "-":
            if not (first or self.peek(1) == "]"):
                raise self.error("'-' must be escaped unless first or last in a class")
            self.pos += 1
            return _literal("-")
        low = self.class_char()
        if len(low) != 1:  # multi-character escape / category: already a set
            if self.peek() == "-" and self.peek(1) not in _BRACKETS:
                raise self.error("a multi-character escape cannot start a range")
            return low
        if self.peek() != "-" or self.peek(1) in _BRACKETS:
            return _literal(low)
        self.pos += 1
        if self.peek() == "-":
            raise self.error("'-' as a range end must be escaped")
        high = self.class_char()
        if len(high) != 1:
            raise self.error("a multi-character escape cannot end a range", start)
        if ord(high) < ord(low):
            raise self.error(f"range {low!r}-{high!r} is out of order", start)
        return f"{_literal(low)}-{_literal(high)}"


def translate(xsd: str) -> str:
    """Translate XSD regex ``xsd`` to a ``regex`` VERSION1 pattern; use it with ``fullmatch``."""
    return _Translator(xsd).run()


@functools.lru_cache(maxsize=4096)
def compile_pattern(xsd: str) -> regex.Pattern[str]:
    """Compile XSD regex ``xsd``; raise XsdRegexError if it is not valid XSD syntax."""
    translated = translate(xsd)
    try:
        return regex.compile(translated, regex.VERSION1)
    except regex.error as exc:  # e.g. a repeat count beyond the engine's limit
        raise XsdRegexError(f"cannot compile ({exc})", xsd, 0) from exc


def matches(xsd: str, value: str) -> bool:
    """True if ``value`` matches XSD regex ``xsd`` in full (XSD patterns are anchored)."""
    return compile_pattern(xsd).fullmatch(value) is not None
