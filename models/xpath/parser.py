"""Recursive-descent parser for the complete XPath 1.0 grammar (§3).

Why: YANG ``must``/``when`` statements (RFC 7950 §7.5.3, §7.21.5), leafref
paths and instance identifiers are all XPath 1.0, and the schema compiler
needs a faithful tree to check them (function names, prefixes) before any
data exists.  Binary operators are parsed by precedence climbing, which
gives the §3 precedence levels and left associativity while keeping Python
stack depth proportional to nesting, not to the number of levels::

    or < and < (= !=) < (< <= > >=) < (+ -) < (* div mod) < unary - < |

Parses are cached with :func:`functools.lru_cache`; the resulting trees are
immutable, so sharing them is safe.
"""

from __future__ import annotations

from functools import lru_cache
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
    NodeTest,
    NodeTypeTest,
    Number,
    Path,
    Step,
    VarRef,
)
from models.xpath.errors import XPathSyntaxError
from models.xpath.lexer import Token, TokenKind, tokenize

__all__ = ["PRECEDENCE", "parse"]

#: Binding strength of the binary operators other than ``|`` (which binds
#: tighter than unary minus and is handled separately).
PRECEDENCE: Final = {
    "or": 1,
    "and": 2,
    "=": 3,
    "!=": 3,
    "<": 4,
    "<=": 4,
    ">": 4,
    ">=": 4,
    "+": 5,
    "-": 5,
    "*": 6,
    "div": 6,
    "mod": 6,
}

_PRIMARY_START: Final = frozenset(
    {TokenKind.VARIABLE, TokenKind.LITERAL, TokenKind.NUMBER, TokenKind.FUNCTION_NAME}
)
_STEP_START: Final = frozenset({TokenKind.NAME_TEST, TokenKind.NODE_TYPE, TokenKind.AXIS_NAME})
_STEP_START_PUNCT: Final = frozenset({"@", ".", ".."})


@lru_cache(maxsize=4096)
def parse(expr: str) -> Expr:
    """Parse an XPath 1.0 expression into an :mod:`models.xpath.ast` tree.

    Raises :class:`XPathSyntaxError` (a ``ValueError``) with the offset of
    the offending token.  Function names and arities are not checked here;
    see :func:`models.xpath.functions.check_functions`.
    """
    parser = _Parser(expr, tokenize(expr))
    try:
        result = parser.expr()
    except RecursionError:
        raise XPathSyntaxError("expression is nested too deeply", expr, 0) from None
    parser.expect_end()
    return result


class _Parser:
    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.i = 0

    # -- token helpers -------------------------------------------------------

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind is not TokenKind.EOF:
            self.i += 1
        return tok

    def at(self, kind: TokenKind, value: str | None = None) -> bool:
        return self.tok.is_(kind, value)

    def error(self, message: str, tok: Token | None = None) -> XPathSyntaxError:
        tok = self.tok if tok is None else tok
        return XPathSyntaxError(f"{message}, found {tok.describe()}", self.text, tok.pos)

    def expect(self, kind: TokenKind, value: str) -> Token:
        if not self.at(kind, value):
            raise self.error(f"expected {value!r}")
        return self.advance()

    def expect_end(self) -> None:
        if not self.at(TokenKind.EOF):
            raise self.error("expected an operator or the end of the expression")

    # -- expressions ---------------------------------------------------------

    def expr(self, min_prec: int = 1) -> Expr:
        """[14]-[21] OrExpr ... MultiplicativeExpr by precedence climbing."""
        left = self.unary()
        while self.tok.kind is TokenKind.OPERATOR:
            prec = PRECEDENCE.get(self.tok.value)
            if prec is None or prec < min_prec:
                break
            op = self.advance().value
            right = self.expr(prec + 1)
            left = BinaryOp(op, left, right)
        return left

    def unary(self) -> Expr:
        """[27] UnaryExpr ::= UnionExpr | '-' UnaryExpr."""
        count = 0
        while self.at(TokenKind.OPERATOR, "-"):
            self.advance()
            count += 1
        result = self.union()
        for _ in range(count):
            result = Negate(result)
        return result

    def union(self) -> Expr:
        """[18] UnionExpr ::= PathExpr | UnionExpr '|' PathExpr."""
        left = self.path_expr()
        while self.at(TokenKind.OPERATOR, "|"):
            self.advance()
            left = BinaryOp("|", left, self.path_expr())
        return left

    def path_expr(self) -> Expr:
        """[19] PathExpr ::= LocationPath | FilterExpr (('/' | '//') RelativeLocationPath)?"""
        tok = self.tok
        if tok.kind in _PRIMARY_START or tok.is_(TokenKind.PUNCT, "("):
            primary = self.primary()
            predicates = self.predicates()
            steps: tuple[Step, ...] = ()
            if self.at(TokenKind.OPERATOR, "/") or self.at(TokenKind.OPERATOR, "//"):
                steps = self.relative_after_slash()
            if not predicates and not steps:
                return primary
            return FilterPath(primary, predicates, steps)
        if tok.is_(TokenKind.OPERATOR, "/"):
            self.advance()
            if self.starts_step():
                return Path(True, self.relative())
            return Path(True, ())
        if tok.is_(TokenKind.OPERATOR, "//"):
            self.advance()
            return Path(True, (DESCENDANT_OR_SELF, *self.relative()))
        if self.starts_step():
            return Path(False, self.relative())
        raise self.error("expected an expression")

    def primary(self) -> Expr:
        """[15] PrimaryExpr ::= VariableReference | '(' Expr ')' | Literal | Number | FunctionCall."""
        tok = self.advance()
        if tok.kind is TokenKind.LITERAL:
            return Literal(tok.value)
        if tok.kind is TokenKind.NUMBER:
            return Number(float(tok.value))
        if tok.kind is TokenKind.VARIABLE:
            return VarRef(tok.value)
        if tok.kind is TokenKind.FUNCTION_NAME:
            self.expect(TokenKind.PUNCT, "(")
            args: list[Expr] = []
            if not self.at(TokenKind.PUNCT, ")"):
                args.append(self.expr())
                while self.at(TokenKind.PUNCT, ","):
                    self.advance()
                    args.append(self.expr())
            self.expect(TokenKind.PUNCT, ")")
            return FunctionCall(tok.value, tuple(args), tok.pos)
        # '(' Expr ')'
        inner = self.expr()
        self.expect(TokenKind.PUNCT, ")")
        return inner

    def predicates(self) -> tuple[Expr, ...]:
        """[8] Predicate ::= '[' PredicateExpr ']', zero or more times."""
        preds: list[Expr] = []
        while self.at(TokenKind.PUNCT, "["):
            self.advance()
            preds.append(self.expr())
            self.expect(TokenKind.PUNCT, "]")
        return tuple(preds)

    # -- location paths ------------------------------------------------------

    def starts_step(self) -> bool:
        tok = self.tok
        return tok.kind in _STEP_START or (
            tok.kind is TokenKind.PUNCT and tok.value in _STEP_START_PUNCT
        )

    def relative_after_slash(self) -> tuple[Step, ...]:
        """``'/' RelativeLocationPath`` or ``'//' RelativeLocationPath``."""
        if self.advance().value == "//":
            return (DESCENDANT_OR_SELF, *self.relative())
        return self.relative()

    def relative(self) -> tuple[Step, ...]:
        """[3] RelativeLocationPath ::= Step (('/' | '//') Step)*."""
        steps = [self.step()]
        while True:
            if self.at(TokenKind.OPERATOR, "/"):
                self.advance()
            elif self.at(TokenKind.OPERATOR, "//"):
                self.advance()
                steps.append(DESCENDANT_OR_SELF)
            else:
                return tuple(steps)
            steps.append(self.step())

    def step(self) -> Step:
        """[4] Step ::= AxisSpecifier NodeTest Predicate* | '.' | '..'."""
        tok = self.tok
        if tok.is_(TokenKind.PUNCT, "."):
            self.advance()
            return SELF
        if tok.is_(TokenKind.PUNCT, ".."):
            self.advance()
            return PARENT
        axis = "child"
        if tok.kind is TokenKind.AXIS_NAME:
            axis = self.advance().value
            self.expect(TokenKind.PUNCT, "::")
        elif tok.is_(TokenKind.PUNCT, "@"):
            self.advance()
            axis = "attribute"
        node_test = self.node_test()
        return Step(axis, node_test, self.predicates())

    def node_test(self) -> NodeTest:
        """[7] NodeTest ::= NameTest | NodeType '(' ')' | 'processing-instruction' '(' Literal ')'."""
        tok = self.tok
        if tok.kind is TokenKind.NAME_TEST:
            self.advance()
            return NameTest(tok.prefix, tok.local)
        if tok.kind is TokenKind.NODE_TYPE:
            self.advance()
            self.expect(TokenKind.PUNCT, "(")
            literal: str | None = None
            if tok.value == "processing-instruction" and self.at(TokenKind.LITERAL):
                literal = self.advance().value
            self.expect(TokenKind.PUNCT, ")")
            return NodeTypeTest(tok.value, literal)
        raise self.error("expected a node test")
