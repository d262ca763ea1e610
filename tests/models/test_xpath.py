"""Tests for the XPath 1.0 parser, printer and YANG path syntaxes (models.xpath)."""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterator
from pathlib import Path as FsPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.xpath import (
    AXES,
    DESCENDANT_OR_SELF,
    FUNCTIONS,
    PARENT,
    SELF,
    BinaryOp,
    Expr,
    FilterPath,
    FunctionCall,
    InstanceStep,
    KeyPredicate,
    Literal,
    NameTest,
    Negate,
    NodeTypeTest,
    Number,
    Path,
    PathKey,
    PathNode,
    Step,
    TokenKind,
    VarRef,
    XPathSyntaxError,
    check_functions,
    format_instance_identifier,
    iter_nodes,
    parse,
    parse_instance_identifier,
    parse_leafref_path,
    resolve_prefixes,
    tokenize,
    unparse,
)

CORPUS = FsPath("/work/shared/corpus/yang")


def name(local: str, prefix: str | None = None, axis: str = "child") -> Step:
    return Step(axis, NameTest(prefix, local))


def rel(*steps: Step) -> Path:
    return Path(False, steps)


def n(value: float) -> Number:
    return Number(float(value))


A, B, C = rel(name("a")), rel(name("b")), rel(name("c"))


# -- precedence and associativity ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", BinaryOp("+", n(1), BinaryOp("*", n(2), n(3)))),
        ("1 * 2 + 3", BinaryOp("+", BinaryOp("*", n(1), n(2)), n(3))),
        ("1 - 2 - 3", BinaryOp("-", BinaryOp("-", n(1), n(2)), n(3))),
        ("8 div 4 mod 3", BinaryOp("mod", BinaryOp("div", n(8), n(4)), n(3))),
        ("a or b and c", BinaryOp("or", A, BinaryOp("and", B, C))),
        ("a and b or c", BinaryOp("or", BinaryOp("and", A, B), C)),
        ("a or b or c", BinaryOp("or", BinaryOp("or", A, B), C)),
        ("a = b != c", BinaryOp("!=", BinaryOp("=", A, B), C)),
        ("a < b = c", BinaryOp("=", BinaryOp("<", A, B), C)),
        ("a = b < c", BinaryOp("=", A, BinaryOp("<", B, C))),
        ("1 + 2 <= 3", BinaryOp("<=", BinaryOp("+", n(1), n(2)), n(3))),
        ("a >= b > c", BinaryOp(">", BinaryOp(">=", A, B), C)),
        ("(1 + 2) * 3", BinaryOp("*", BinaryOp("+", n(1), n(2)), n(3))),
        ("-1", Negate(n(1))),
        ("- -1", Negate(Negate(n(1)))),
        ("--1", Negate(Negate(n(1)))),
        ("-1 - -2", BinaryOp("-", Negate(n(1)), Negate(n(2)))),
        ("-a * b", BinaryOp("*", Negate(A), B)),
        ("-a | b", Negate(BinaryOp("|", A, B))),
        ("a | b | c", BinaryOp("|", BinaryOp("|", A, B), C)),
        ("a | b = c", BinaryOp("=", BinaryOp("|", A, B), C)),
        ("a = b | c", BinaryOp("=", A, BinaryOp("|", B, C))),
        ("a|b", BinaryOp("|", A, B)),
        ("1-1", BinaryOp("-", n(1), n(1))),
    ],
)
def test_precedence(text: str, expected: Expr) -> None:
    assert parse(text) == expected


def test_hyphen_is_part_of_names() -> None:
    assert parse("a-b") == rel(name("a-b"))
    assert parse("a -b") == BinaryOp("-", A, B)
    assert parse("a - b") == BinaryOp("-", A, B)


# -- abbreviations and axes ------------------------------------------------------------


@pytest.mark.parametrize(
    ("abbreviated", "full"),
    [
        (".", "self::node()"),
        ("..", "parent::node()"),
        ("@x", "attribute::x"),
        ("@*", "attribute::*"),
        ("@p:x", "attribute::p:x"),
        ("x", "child::x"),
        ("//x", "/descendant-or-self::node()/child::x"),
        ("a//b", "child::a/descendant-or-self::node()/child::b"),
        ("a/./b", "child::a/self::node()/child::b"),
        ("../../x", "parent::node()/parent::node()/child::x"),
        ("$v//x", "$v/descendant-or-self::node()/child::x"),
        ("current()/../x", "current()/parent::node()/child::x"),
        ("a[. = 1]", "child::a[self::node() = 1]"),
        ("//@id", "/descendant-or-self::node()/attribute::id"),
    ],
)
def test_abbreviations_expand(abbreviated: str, full: str) -> None:
    assert parse(abbreviated) == parse(full)


def test_abbreviation_trees() -> None:
    assert parse(".") == rel(SELF)
    assert parse("..") == rel(PARENT)
    assert parse("@x") == rel(Step("attribute", NameTest(None, "x")))
    assert parse("//x") == Path(True, (DESCENDANT_OR_SELF, name("x")))
    assert parse("/") == Path(True, ())
    assert parse("/x") == Path(True, (name("x"),))
    assert parse("(a)//b") == FilterPath(A, (), (DESCENDANT_OR_SELF, name("b")))


@pytest.mark.parametrize("axis", sorted(AXES))
def test_all_axes(axis: str) -> None:
    assert len(AXES) == 13
    assert parse(f"{axis}::x") == rel(Step(axis, NameTest(None, "x")))
    assert parse(f"{axis} :: node()") == rel(Step(axis, NodeTypeTest("node")))
    assert parse(f"/{axis}::p:*[1]") == Path(True, (Step(axis, NameTest("p", "*"), (n(1),)),))


def test_node_type_tests() -> None:
    for node_type in ("node", "text", "comment", "processing-instruction"):
        assert parse(f"{node_type}()") == rel(Step("child", NodeTypeTest(node_type)))
        # Without '(' they are ordinary element names.
        assert parse(node_type) == rel(name(node_type))
    pi = parse("processing-instruction('xml-stylesheet')")
    assert pi == rel(Step("child", NodeTypeTest("processing-instruction", "xml-stylesheet")))
    # An axis name without '::' is an element name too.
    assert parse("child/parent") == rel(name("child"), name("parent"))


def test_filter_expressions() -> None:
    assert parse("(a)") == A
    assert parse("(a)[1]") == FilterPath(A, (n(1),))
    assert parse("a[1]") == rel(Step("child", NameTest(None, "a"), (n(1),)))
    assert parse("(a | b)[2]/c") == FilterPath(BinaryOp("|", A, B), (n(2),), (name("c"),))
    assert parse("$x[1]") == FilterPath(VarRef("x"), (n(1),))
    assert parse("$p:x") == VarRef("p:x")
    assert parse("f()[1][2]") == FilterPath(FunctionCall("f"), (n(1), n(2)))
    assert parse("'s'") == Literal("s")


# -- lexical disambiguation ---------------------------------------------------------------


def kinds(text: str) -> list[tuple[str, str]]:
    return [(t.kind.name, t.value) for t in tokenize(text)[:-1]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("* * *", BinaryOp("*", rel(name("*")), rel(name("*")))),
        ("2*3", BinaryOp("*", n(2), n(3))),
        ("a/*", rel(name("a"), name("*"))),
        ("@*", rel(Step("attribute", NameTest(None, "*")))),
        ("p:*", rel(name("*", "p"))),
        ("child::*", rel(name("*"))),
        ("(1)*2", BinaryOp("*", n(1), n(2))),
        ("a[*]", rel(Step("child", NameTest(None, "a"), (rel(name("*")),)))),
        ("count(*)*2", BinaryOp("*", FunctionCall("count", (rel(name("*")),)), n(2))),
        ("..*2", BinaryOp("*", rel(PARENT), n(2))),
        ("f(*, *)", FunctionCall("f", (rel(name("*")), rel(name("*"))))),
        ("-*", Negate(rel(name("*")))),
    ],
)
def test_star_disambiguation(text: str, expected: Expr) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize("op", ["div", "mod", "and", "or"])
def test_operator_names_as_names(op: str) -> None:
    node = rel(name(op))
    assert parse(f"{op} {op} {op}") == BinaryOp(op, node, node)
    assert parse(f"{op}") == node
    assert parse(f"/{op}/{op}") == Path(True, (name(op), name(op)))
    assert parse(f"{op}:{op}") == rel(name(op, op))
    assert parse(f"@{op}") == rel(Step("attribute", NameTest(None, op)))
    assert parse(f"x[{op}]") == rel(Step("child", NameTest(None, "x"), (node,)))
    assert parse(f"1 {op} {op}") == BinaryOp(op, n(1), node)


def test_div_div_div_tokens() -> None:
    assert kinds("div div div") == [
        ("NAME_TEST", "div"),
        ("OPERATOR", "div"),
        ("NAME_TEST", "div"),
    ]
    assert kinds("a mod -b") == [
        ("NAME_TEST", "a"),
        ("OPERATOR", "mod"),
        ("OPERATOR", "-"),
        ("NAME_TEST", "b"),
    ]


def test_token_kinds() -> None:
    assert kinds("count (a)") == [
        ("FUNCTION_NAME", "count"),
        ("PUNCT", "("),
        ("NAME_TEST", "a"),
        ("PUNCT", ")"),
    ]
    assert kinds("p:f(x)")[0] == ("FUNCTION_NAME", "p:f")
    assert kinds("node ( )")[0] == ("NODE_TYPE", "node")
    assert kinds("ancestor :: x")[:2] == [("AXIS_NAME", "ancestor"), ("PUNCT", "::")]
    assert kinds("a!=b<=c>=d<e>f") == [
        ("NAME_TEST", "a"),
        ("OPERATOR", "!="),
        ("NAME_TEST", "b"),
        ("OPERATOR", "<="),
        ("NAME_TEST", "c"),
        ("OPERATOR", ">="),
        ("NAME_TEST", "d"),
        ("OPERATOR", "<"),
        ("NAME_TEST", "e"),
        ("OPERATOR", ">"),
        ("NAME_TEST", "f"),
    ]
    toks = tokenize("  a  ")
    assert (toks[0].pos, toks[0].end) == (2, 3)
    assert toks[-1].kind is TokenKind.EOF


@pytest.mark.parametrize(
    ("text", "value"),
    [("1", 1.0), ("1.5", 1.5), (".5", 0.5), ("1.", 1.0), ("007", 7.0), ("0.25", 0.25)],
)
def test_numbers(text: str, value: float) -> None:
    assert parse(text) == Number(value)


def test_literals() -> None:
    assert parse("'a\"b'") == Literal('a"b')
    assert parse('"a\'b"') == Literal("a'b")
    assert parse("''") == Literal("")
    assert parse("'a  b\n'") == Literal("a  b\n")


def test_non_ascii_names() -> None:
    assert parse("/données/é") == Path(True, (name("données"), name("é")))


def test_parse_is_cached() -> None:
    assert parse("a/b[c = 1]") is parse("a/b[c = 1]")


# -- syntax errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "offset", "message"),
    [
        ("", 0, "expected an expression"),
        ("1 +", 3, "expected an expression"),
        ("'abc", 0, "unterminated string literal"),
        ('a = "x', 4, "unterminated string literal"),
        ("a b", 2, "expected an operator, found 'b'"),
        ("1 2", 2, "expected an operator or the end"),
        ("foo::x", 0, "unknown axis 'foo'"),
        ("!x", 0, "'!' must be followed by '='"),
        ("a[1", 3, "expected ']'"),
        ("f(1,", 4, "expected an expression"),
        ("f(1 2)", 4, "expected ')'"),
        ("$", 0, "variable name"),
        ("p:", 2, "local name after ':'"),
        ("a:", 2, "local name after ':'"),
        (")", 0, "expected an expression"),
        (".[1]", 1, "expected an operator or the end"),
        ("@", 1, "expected a node test"),
        ("child::", 7, "expected a node test"),
        ("a : b", 2, "unexpected ':'"),
        ("a # b", 2, "unexpected character '#'"),
        ("node(1)", 5, "expected ')'"),
        ("//", 2, "expected a node test"),
        ("a//", 3, "expected a node test"),
        ("a and", 5, "expected an expression"),
        ("(a", 2, "expected ')'"),
        ("- ", 2, "expected an expression"),
        ("a/(b)", 2, "expected a node test"),
        ("'it''s'", 4, "expected an operator or the end"),  # no '' escape in XPath 1.0
    ],
)
def test_syntax_errors(text: str, offset: int, message: str) -> None:
    with pytest.raises(XPathSyntaxError) as info:
        parse(text)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.offset == offset
    assert err.expression == text
    assert message in str(err)
    assert f"at offset {offset}" in str(err)


def test_deep_nesting_is_a_syntax_error() -> None:
    with pytest.raises(XPathSyntaxError, match="nested too deeply"):
        parse("(" * 5000 + "1" + ")" * 5000)


# -- function table ---------------------------------------------------------------------------


def test_function_table() -> None:
    assert len(FUNCTIONS) == 27 + 7
    assert FUNCTIONS["concat"].arity() == "2 or more"
    assert FUNCTIONS["substring"].arity() == "2-3"
    assert FUNCTIONS["re-match"].origin == "yang"


@pytest.mark.parametrize(
    "text",
    [
        "last() = position()",
        "count(a) > 1 and not(b)",
        "concat('a', 'b', 'c', 'd')",
        "substring('abc', 1) = substring('abc', 1, 2)",
        "string-length() + string-length('x') + number() + number('1')",
        "normalize-space() = normalize-space(' a ')",
        "true() or false() or boolean(1) or lang('en')",
        "sum(x) + floor(1.5) + ceiling(1.5) + round(1.5) + translate('a', 'a', 'b')",
        "starts-with(x, 'a') or contains(x, 'b') or id('x') = 1",
        "substring-before(a, b) = substring-after(a, b)",
        "local-name() = name(.) and namespace-uri() = string()",
        "current() = deref(.)/../x and re-match(., '[a-z]+')",
        "derived-from(type, 'ianaift:ethernetCsmacd') or derived-from-or-self(type, 'x')",
        "enum-value(.) = 1 and bit-is-set(flags, 'up')",
    ],
)
def test_check_functions_accepts(text: str) -> None:
    check_functions(parse(text), text)


@pytest.mark.parametrize(
    ("text", "offset", "message"),
    [
        ("foo()", 0, "unknown function foo()"),
        ("a and p:count(a)", 6, "unknown function p:count()"),
        ("concat('a')", 0, "concat() takes 2 or more argument(s), 1 given"),
        ("x[substring('a')]", 2, "substring() takes 2-3 argument(s), 1 given"),
        ("1 + current(.)", 4, "current() takes 0 argument(s), 1 given"),
        ("count()", 0, "count() takes 1 argument(s), 0 given"),
        ("f(true(1))", 0, "unknown function f()"),
        ("not(true(1))", 4, "true() takes 0"),
        ("(a)[re-match(.)]/b", 4, "re-match() takes 2"),
    ],
)
def test_check_functions_rejects(text: str, offset: int, message: str) -> None:
    with pytest.raises(XPathSyntaxError) as info:
        check_functions(parse(text), text)
    assert info.value.offset == offset
    assert message in str(info.value)


def test_check_functions_without_text() -> None:
    with pytest.raises(XPathSyntaxError) as info:
        check_functions(parse("nope()"))
    assert info.value.offset is None
    assert str(info.value) == "unknown function nope()"


# -- unparse ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "1 + 2 * 3",
        "(1 + 2) * 3",
        "1 - (2 - 3)",
        "a or (b or c)",
        "(a or b) and c",
        "-(1 + 2)",
        "-(a | b) * 2",
        "(-a) | b",
        "a - -b",
        "--a",
        "(a | b)[1]",
        "(a)/b",
        "(a)//b",
        "(//a)[1]",
        "(/) * 2",
        "(-/) * 2",
        "(/) div 2",
        "(/) and 1",
        "/ | a",
        "a | (b | c)",
        "(a | /) * 2",
        "count(/)",
        "/",
        "//a//b",
        "descendant-or-self::node()/a",
        "a/descendant-or-self::node()",
        "a//descendant-or-self::node()/b",
        "(/)//descendant-or-self::node()/.",
        "a/descendant-or-self::node()[1]/b",
        "self::node()[1]",
        "parent::node()[1]",
        ". * 2",
        "@* * 2",
        "div div div",
        "* * *",
        "and and (or or or)",
        "$x[1]/y",
        "$p:v",
        '"it\'s"',
        "concat(\"it's\", 'x')",
        "processing-instruction('a')",
        "processing-instruction()",
        "node()/text()/comment()",
        "ancestor-or-self::p:*[@a][2]",
        "((a)[1])[2]",
        "f()[1][2]",
        "0.1 + 123456789012345678901234567890 + .5 + 1.",
    ],
)
def test_unparse_round_trip(text: str) -> None:
    tree = parse(text)
    printed = unparse(tree)
    assert parse(printed) == tree, printed


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        ("child::a/attribute::b", "a/@b"),
        ("self::node()/parent::node()", "./.."),
        ("/descendant-or-self::node()/child::a", "//a"),
        ("a  =  'x'", "a = 'x'"),
        ("1 + (2 * 3)", "1 + 2 * 3"),
        ("(1 + 2) * 3", "(1 + 2) * 3"),
        ('"a\'b"', '"a\'b"'),
        ("1.50", "1.5"),
        ("2.0", "2"),
        ("current()/../x", "current()/../x"),
        ("(a)[1]", "(a)[1]"),
        ("(/) * 2", "(/) * 2"),
    ],
)
def test_unparse_text(text: str, printed: str) -> None:
    assert unparse(parse(text)) == printed


def test_unparse_unrepresentable_values() -> None:
    # Not produced by the parser, but printing must still give equivalent XPath.
    assert parse(unparse(Literal("a'b\"c"))) == FunctionCall(
        "concat", (Literal("a"), Literal("'"), Literal('b"c'))
    )
    assert unparse(Number(float("inf"))).startswith("1000")
    assert parse(unparse(Number(float("inf")))) == Number(float("inf"))
    assert unparse(Number(float("nan"))) == "(0 div 0)"
    assert unparse(Number(1e-7)) == "0.0000001"
    assert unparse(Number(-2.0)) == "(-2)"


# Random trees of the shapes the parser produces must survive unparse -> parse.

_NAMES = st.sampled_from(
    ["a", "b-c", "x.y", "div", "and", "or", "mod", "node", "text", "child", "é"]
)
_PREFIXES = st.sampled_from([None, None, "p", "div"])
_NODE_TESTS = st.one_of(
    st.builds(NameTest, _PREFIXES, st.one_of(_NAMES, st.just("*"))),
    st.builds(NodeTypeTest, st.sampled_from(["node", "text", "comment"])),
    st.builds(
        NodeTypeTest,
        st.just("processing-instruction"),
        st.one_of(
            st.none(), st.text("ab'\" ", max_size=3).filter(lambda s: not ("'" in s and '"' in s))
        ),
    ),
)
_LEAVES = st.one_of(
    st.builds(
        Literal, st.text("ab '\"/", max_size=4).filter(lambda s: not ("'" in s and '"' in s))
    ),
    st.builds(Number, st.floats(min_value=0, max_value=1e30, allow_nan=False)),
    st.builds(VarRef, st.sampled_from(["v", "p:v", "div"])),
    st.just(Path(True, ())),
    st.builds(FunctionCall, st.sampled_from(["f", "p:f", "count", "current"])),
)


def _extend(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    preds = st.lists(children, max_size=2).map(tuple)
    steps = st.lists(
        st.one_of(
            st.builds(Step, st.sampled_from(sorted(AXES)), _NODE_TESTS, preds),
            st.sampled_from([SELF, PARENT, DESCENDANT_OR_SELF]),
        ),
        min_size=1,
        max_size=3,
    ).map(tuple)
    ops = st.sampled_from(
        ["or", "and", "=", "!=", "<", "<=", ">", ">=", "+", "-", "*", "div", "mod", "|"]
    )
    return st.one_of(
        st.builds(BinaryOp, ops, children, children),
        st.builds(Negate, children),
        st.builds(Path, st.booleans(), steps),
        st.builds(
            FilterPath, children, st.lists(children, min_size=1, max_size=2).map(tuple), st.just(())
        ),
        st.builds(FilterPath, children, preds, steps),
        st.builds(
            FunctionCall,
            st.sampled_from(["f", "concat"]),
            st.lists(children, max_size=3).map(tuple),
        ),
    )


_TREES = st.recursive(_LEAVES, _extend, max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(_TREES)
def test_unparse_round_trip_random(tree: Expr) -> None:
    printed = unparse(tree)
    assert parse(printed) == tree, printed


# -- prefix resolution ------------------------------------------------------------------------

_PFX = {"if": "ietf-interfaces", "ip": "ietf-ip", "ianaift": "iana-if-type"}


def test_resolve_prefixes() -> None:
    text = (
        "derived-from-or-self(/if:interfaces/if:interface[if:name = current()/../name]/if:type,"
        " 'ianaift:ethernetCsmacd') and count(ip:*) > 0 and ../* and (a)[b]/ip:c"
    )
    resolved = resolve_prefixes(parse(text), _PFX, "ietf-ip")
    assert unparse(resolved) == (
        "derived-from-or-self(/ietf-interfaces:interfaces/ietf-interfaces:interface"
        "[ietf-interfaces:name = current()/../ietf-ip:name]/ietf-interfaces:type,"
        " 'ianaift:ethernetCsmacd') and count(ietf-ip:*) > 0 and ../* and"
        " (ietf-ip:a)[ietf-ip:b]/ietf-ip:c"
    )
    # Every name test now carries a module; the bare wildcard stays unqualified.
    assert resolve_prefixes(parse("*"), _PFX, "m") == parse("*")
    assert resolve_prefixes(parse("@x"), _PFX, "m") == rel(Step("attribute", NameTest("m", "x")))
    # Literals and variables are left alone; the input tree is not modified.
    tree = parse("$if:v = 'if:x'")
    assert resolve_prefixes(tree, _PFX, "m") == tree
    # Resolution is idempotent once every prefix is a module name mapped to itself.
    again = resolve_prefixes(resolved, {m: m for m in _PFX.values()}, "ietf-ip")
    assert again == resolved


def test_resolve_unknown_prefix() -> None:
    with pytest.raises(XPathSyntaxError, match="unknown prefix 'nope'"):
        resolve_prefixes(parse("a[nope:b = 1]"), _PFX, "m")


def test_resolve_keeps_function_offsets() -> None:
    text = "x or bad()"
    resolved = resolve_prefixes(parse(text), _PFX, "m")
    with pytest.raises(XPathSyntaxError) as info:
        check_functions(resolved, text)
    assert info.value.offset == 5


# -- leafref paths ----------------------------------------------------------------------------


def test_leafref_absolute() -> None:
    lp = parse_leafref_path("/if:interfaces/if:interface/if:name")
    assert lp.absolute and lp.up == 0 and lp.deref is None
    assert lp.steps == (
        PathNode("if", "interfaces"),
        PathNode("if", "interface"),
        PathNode("if", "name"),
    )
    assert lp.expr == parse("/if:interfaces/if:interface/if:name")


def test_leafref_relative_with_predicates() -> None:
    text = "../../a:x[a:k1 = current()/../k][k2=current()/../../b/c]/a:y"
    lp = parse_leafref_path(text)
    assert not lp.absolute and lp.up == 2
    assert lp.steps == (
        PathNode(
            "a",
            "x",
            (
                PathKey("a", "k1", 1, ((None, "k"),)),
                PathKey(None, "k2", 2, ((None, "b"), (None, "c"))),
            ),
        ),
        PathNode("a", "y"),
    )


def test_leafref_deref() -> None:
    lp = parse_leafref_path("deref(../mgmt-interface)/../type")
    assert lp.deref is not None
    assert lp.deref.up == 1 and lp.deref.steps == (PathNode(None, "mgmt-interface"),)
    assert lp.up == 1 and lp.steps == (PathNode(None, "type"),)


@pytest.mark.parametrize(
    "text",
    [
        "a/b",  # relative paths must start with ../
        "..",
        "/",
        "../*",
        "../p:*",
        "../a[b = 'x']",
        "../a[b = current()/c]",
        "../a[b = current()/..]",
        "../a[b = current()/../c[1]]",
        "../a[b/c = current()/../c]",
        "../a[1]",
        "count(../a)",
        "../a | ../b",
        "//a",
        "/a/../b",
        "../@a",
        "../ancestor::a",
        "deref(../a)[1]/../b",
        "deref(../a)",
        "../a[b = current()/../c or 1]",
        "../a[b = current()/../c]/*",
    ],
)
def test_leafref_rejects(text: str) -> None:
    with pytest.raises(XPathSyntaxError):
        parse_leafref_path(text)


def test_leafref_syntax_error_has_offset() -> None:
    with pytest.raises(XPathSyntaxError) as info:
        parse_leafref_path("../a[b = ]")
    assert info.value.offset == 9


# -- instance identifiers ---------------------------------------------------------------------


def test_instance_identifier_json_form() -> None:
    text = "/ietf-interfaces:interfaces/interface[name='eth0']/ietf-ip:ipv4/address[ip='192.0.2.1']"
    steps = parse_instance_identifier(text)
    assert steps == (
        InstanceStep("ietf-interfaces", "interfaces"),
        InstanceStep(None, "interface", (KeyPredicate(None, "name", "eth0"),)),
        InstanceStep("ietf-ip", "ipv4"),
        InstanceStep(None, "address", (KeyPredicate(None, "ip", "192.0.2.1"),)),
    )
    assert format_instance_identifier(steps) == text


@pytest.mark.parametrize(
    ("text", "predicates"),
    [
        ("/ex:a/ex:b[.='x']", (KeyPredicate(None, ".", "x"),)),
        ("/ex:a/ex:b[1]", 1),
        ("/ex:a/ex:b[42]", 42),
        (
            "/ex:a/ex:b[ex:k1='1'][ex:k2='2']",
            (KeyPredicate("ex", "k1", "1"), KeyPredicate("ex", "k2", "2")),
        ),
        ('/ex:a/ex:b[k="it\'s"]', (KeyPredicate(None, "k", "it's"),)),
        ("/ex:a/ex:b[k='say \"hi\"']", (KeyPredicate(None, "k", 'say "hi"'),)),
        ("/ex:a/ex:b[k='']", (KeyPredicate(None, "k", ""),)),
        ("/ex:a/ex:b[k='/x[y]=z']", (KeyPredicate(None, "k", "/x[y]=z"),)),
        ("/ex:a/ex:b[div='x']", (KeyPredicate(None, "div", "x"),)),
    ],
)
def test_instance_identifier_round_trip(
    text: str, predicates: tuple[KeyPredicate, ...] | int
) -> None:
    steps = parse_instance_identifier(text)
    assert steps == (InstanceStep("ex", "a"), InstanceStep("ex", "b", predicates))
    assert format_instance_identifier(steps) == text
    assert parse_instance_identifier(format_instance_identifier(steps)) == steps


def test_instance_identifier_whitespace_in_predicates() -> None:
    steps = parse_instance_identifier('/a[ k = "v" ]')
    assert steps == (InstanceStep(None, "a", (KeyPredicate(None, "k", "v"),)),)
    assert format_instance_identifier(steps) == "/a[k='v']"
    assert parse_instance_identifier("/a[ 3 ]") == (InstanceStep(None, "a", 3),)


def test_format_instance_identifier_quoting() -> None:
    steps = [
        InstanceStep("m", "l", (KeyPredicate(None, "k", "a'b"), KeyPredicate("m", "j", 'a"b'))),
        InstanceStep(None, "ll", (KeyPredicate(None, ".", "plain"),)),
    ]
    text = format_instance_identifier(steps)
    assert text == "/m:l[k=\"a'b\"][m:j='a\"b']/ll[.='plain']"
    assert parse_instance_identifier(text) == tuple(steps)
    with pytest.raises(ValueError, match="both quote"):
        format_instance_identifier([InstanceStep(None, "l", (KeyPredicate(None, "k", "'\""),))])
    with pytest.raises(ValueError, match="position"):
        format_instance_identifier([InstanceStep(None, "l", 0)])
    with pytest.raises(ValueError):
        format_instance_identifier([])


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("", 0),
        ("a/b", 0),
        ("/", 1),
        ("/a/", 3),
        ("/*", 1),
        ("/p:*", 1),
        (" /a", 0),
        ("/a ", 2),
        ("/a /b", 2),
        ("/ a", 1),
        ("/a [k='x']", 2),
        ("/a[k=1]", 5),
        ("/a[k='x'", 8),
        ("/a[k='x", 5),
        ("/a[0]", 3),
        ("/a[01]", 3),
        ("/a[1.5]", 3),
        ("/a[1][2]", 5),
        ("/a[k='x'][1]", 10),
        ("/a[.='x'][.='y']", 10),
        ("/a[k='x'][.='y']", 10),
        ("/a[.='x'][k='y']", 10),
        ("/a[k='x'][k='y']", 10),
        ("/a[k]", 4),
        ("/a[@k='x']", 3),
        ("/a//b", 2),
        ("/a[k='x']b", 9),
        ("/a[k='x'] ", 9),
    ],
)
def test_instance_identifier_errors(text: str, offset: int) -> None:
    with pytest.raises(XPathSyntaxError) as info:
        parse_instance_identifier(text)
    assert info.value.offset == offset, str(info.value)


# -- real YANG modules --------------------------------------------------------------------------

_YANG_TOKEN = re.compile(
    r"""(?P<skip>\s+|//[^\n]*|/\*.*?\*/)
      | "(?P<dq>(?:[^"\\]|\\.)*)"
      | '(?P<sq>[^']*)'
      | (?P<punct>[;{}])
      | (?P<word>[^\s;{}"']+)""",
    re.S | re.X,
)
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


def yang_statements(text: str) -> Iterator[tuple[str, str, int]]:
    """Yield (keyword, argument, line) for every statement of a YANG module.

    Handles comments, single- and double-quoted strings (with escapes) and
    '+' concatenation; enough to pull out XPath arguments, not a YANG parser.
    """
    newlines = [m.start() for m in re.finditer("\n", text)]
    tokens: list[tuple[str, str, int]] = []
    for m in _YANG_TOKEN.finditer(text):
        kind = m.lastgroup
        if kind == "skip":
            continue
        if kind == "dq":
            value = re.sub(r"\\(.)", lambda e: _ESCAPES.get(e.group(1), "\\" + e.group(1)), m["dq"])
            tokens.append(("str", value, m.start()))
        elif kind == "sq":
            tokens.append(("str", m["sq"], m.start()))
        else:
            assert kind is not None
            tokens.append((kind, m.group(), m.start()))
    i = 0
    while i < len(tokens):
        kind, keyword, pos = tokens[i]
        i += 1
        if kind != "word":
            continue
        parts: list[str] = []
        if i < len(tokens) and tokens[i][0] == "word":  # unquoted argument
            parts.append(tokens[i][1])
            i += 1
        while i < len(tokens) and tokens[i][0] == "str":
            parts.append(tokens[i][1])
            i += 1
            if i + 1 < len(tokens) and tokens[i][:2] == ("word", "+") and tokens[i + 1][0] == "str":
                i += 1
            else:
                break
        yield keyword, "".join(parts), bisect.bisect(newlines, pos) + 1
        # Skip to the end of the statement header.
        while i < len(tokens) and tokens[i][0] != "punct":
            i += 1
        i += 1


@functools.cache
def corpus_statements(path: FsPath) -> tuple[tuple[str, str, int], ...]:
    return tuple(yang_statements(path.read_text(encoding="utf-8")))


def corpus_files() -> list[FsPath]:
    files = sorted(CORPUS.rglob("*.yang"))
    assert files, f"no YANG corpus at {CORPUS} (../shared must be beside the checkout)"
    return files


def corpus_xpath() -> list[tuple[str, str, str, int]]:
    return [
        (f.name, keyword, arg, line)
        for f in corpus_files()
        for keyword, arg, line in corpus_statements(f)
        if keyword in ("must", "when", "path")
    ]


# Corpus expressions that are not valid XPath/YANG; none so far.
KNOWN_UNPARSEABLE: frozenset[str] = frozenset()


def test_yang_statement_extraction() -> None:
    text = """
      // must "ignored";
      /* when 'ignored'; */
      container c {
        must "a = 'x'" + ' and b' { error-message "must \\"x\\""; }
        when
          "../t = " +
          "'y\\n'";
        leaf l { type leafref { path ../x; } }
        description "must 'not' this";
      }
    """
    found = [(k, a) for k, a, _ in yang_statements(text) if k in ("must", "when", "path")]
    assert found == [("must", "a = 'x' and b"), ("when", "../t = 'y\n'"), ("path", "../x")]


@pytest.mark.slow
def test_corpus_expressions() -> None:
    checked = 0
    failures: list[str] = []
    for file, keyword, arg, line in corpus_xpath():
        if arg in KNOWN_UNPARSEABLE:
            continue
        try:
            tree = parse(arg)
            check_functions(tree, arg)
            if keyword == "path":
                assert parse_leafref_path(arg).expr == tree
            printed = unparse(tree)
            assert parse(printed) == tree, printed
        except (XPathSyntaxError, AssertionError) as exc:
            failures.append(f"{file}:{line}: {keyword} {arg!r}: {exc}")
            continue
        checked += 1
    assert not failures, "\n".join(failures)
    assert checked > 500, checked


def _module_prefixes(statements: tuple[tuple[str, str, int], ...]) -> tuple[str, dict[str, str]]:
    """(module name, prefix -> module name) from a module's header statements."""
    module = ""
    prefixes: dict[str, str] = {}
    pending: str | None = None
    for keyword, arg, _ in statements:
        if keyword in ("module", "submodule") and not module:
            module = arg
            pending = arg if keyword == "module" else None
        elif keyword == "belongs-to":
            module = pending = arg  # unprefixed names belong to the parent module
        elif keyword == "import":
            pending = arg
        elif keyword == "prefix" and pending is not None:
            prefixes[arg] = pending
            pending = None
        elif keyword in ("revision-date", "description", "reference", "organization", "contact"):
            continue
        elif keyword not in ("yang-version", "namespace", "include"):
            pending = None
    return module, prefixes


@pytest.mark.slow
def test_corpus_prefixes_resolve() -> None:
    resolved = 0
    for f in corpus_files():
        statements = corpus_statements(f)
        module, prefixes = _module_prefixes(statements)
        assert module, f
        for keyword, arg, line in statements:
            if keyword not in ("must", "when", "path"):
                continue
            tree = resolve_prefixes(parse(arg), prefixes, module)
            for node in _name_tests(tree):
                assert node.prefix is None or node.prefix in prefixes.values(), (f.name, line)
            assert parse(unparse(tree)) == tree
            resolved += 1
    assert resolved > 500


def _name_tests(tree: Expr) -> Iterator[NameTest]:
    for node in iter_nodes(tree):
        if isinstance(node, Step) and isinstance(node.node_test, NameTest):
            yield node.node_test
