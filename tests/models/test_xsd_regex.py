"""Tests for models.xsd_regex: XSD (YANG pattern) regular expressions on the `regex` module."""

from __future__ import annotations

from pathlib import Path

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st
from pyang import context, repository, yang_parser

from models.xsd_regex import XsdRegexError, compile_pattern, matches, translate

# (XSD pattern, values that must match, values that must not match)
FEATURES: list[tuple[str, list[str], list[str]]] = [
    # implicit anchoring; ^ and $ are ordinary characters outside classes
    ("abc", ["abc"], ["xabc", "abcx", "ab", ""]),
    ("^a$", ["^a$"], ["a", "^a", "a$"]),
    ("a$b^", ["a$b^"], ["ab", "a"]),
    ("a|bc", ["a", "bc"], ["abc", "b", "ac"]),
    ("(|a)b", ["b", "ab"], ["aab", ""]),
    ("", [""], ["a"]),
    # wildcard: everything but \n and \r
    (".", ["a", "é", " ", "\t", "\U0001f600"], ["\n", "\r", "", "ab"]),
    # multi-character escapes
    (r"\s", [" ", "\t", "\n", "\r"], ["a", "\u00a0", "\x0b", "\f"]),
    (r"\S", ["a", "\u00a0", "-"], [" ", "\n", "\t"]),
    (r"\i", ["a", "Z", "_", ":", "é", "中"], ["1", "-", ".", " ", "\u00b7"]),
    (r"\I", ["1", "-", ".", " "], ["a", "_", ":", "é"]),
    (r"\c", ["a", "1", "-", ".", ":", "_", "\u00b7", "\u0301"], [" ", "@", "/", "$"]),
    (r"\C", [" ", "@", "/"], ["a", "1", "-", "."]),
    (r"\d", ["5", "\u0663"], ["a", "\u00b2", "x"]),  # ARABIC-INDIC 3 is Nd, SUPERSCRIPT 2 is No
    (r"\D", ["a", "\u00b2"], ["5", "\u0663"]),
    (r"\w", ["a", "1", "é", "+", "$"], [".", " ", "\n", "-", "_"]),  # symbols are \w in XSD
    (r"\W", [".", " ", "-", "_", "\n"], ["a", "1", "+"]),
    # Unicode categories and blocks
    (r"\p{L}", ["é", "a", "Ж", "中"], ["1", "_", " "]),
    (r"\p{Lu}", ["A", "É"], ["a", "1"]),
    (r"\P{L}", ["1", "_"], ["a", "é"]),
    (r"\p{Nd}+", ["0123", "\u0663"], ["\u00b2", "a"]),
    (r"\p{IsBasicLatin}", ["a", "~", "\x00"], ["é", "\u03b1"]),
    (r"\P{IsBasicLatin}", ["é", "\u03b1"], ["a", "~"]),
    (r"\p{IsLatin-1Supplement}", ["é", "\u00a0"], ["a", "\u03b1"]),
    (r"\p{IsGreek}", ["\u03b1", "Ω"], ["a", "é"]),
    (r"\p{IsCJKUnifiedIdeographs}", ["中"], ["a", "あ"]),
    (r"\p{IsPrivateUse}", ["\ue000", "\U000f0000", "\U00100000"], ["a", "\uf900"]),
    (r"\P{IsPrivateUse}", ["a"], ["\ue000", "\U00100000"]),
    (r"[\p{L}\p{N}]*", ["", "abc123", "é٣"], ["a-b", "a b", "_"]),
    # character classes, including multi-char escapes nested in classes
    (r"[\d\-a-f]+", ["0-af", "9", "-"], ["g", "A", " "]),
    (r"[^\s]", ["a", "-"], [" ", "\n"]),
    (r"[^\S]", [" ", "\n"], ["a"]),
    (r"[\s\p{Lu}]", [" ", "A"], ["a"]),
    ("[^abc]", ["d", "^"], ["a", "c"]),
    ("[a^]", ["a", "^"], ["b"]),
    ("[-a]", ["-", "a"], ["b"]),
    ("[a-]", ["-", "a"], ["b"]),
    ("[+-]", ["+", "-"], [","]),  # a trailing '-' is literal, not a range
    ("[-]", ["-"], ["a"]),
    (r"[\--/]", ["-", ".", "/"], [","]),
    (" -@", [" -@"], [" "]),
    ("[ -@]", [" ", "5", "@"], ["A", "\x1f"]),
    # class subtraction, nested
    ("[a-z-[aeiou]]", ["b", "z"], ["a", "e", "B", "-"]),
    ("[a-z-[b-y-[m]]]", ["a", "z", "m"], ["b", "y", "c"]),
    ("[^a-z-[XYZ]]", ["A", "1"], ["a", "X", "Z"]),
    (r"[\p{L}-[\p{Lu}]]", ["a", "é"], ["A", "É", "1"]),
    (r"[\i-[:]][\c-[:]]*", ["abc", "_a-b.c", "é9"], ["a:b", "1abc", "-a", ""]),
    # characters special to `regex` (V1 sets, POSIX classes) but literal in XSD
    ("[a&&b]", ["a", "&", "b"], ["c"]),
    ("[a||b]", ["|"], ["c"]),
    ("[a~~b]", ["~"], ["c"]),
    (r"[a\-\-b]", ["-", "a"], ["c"]),
    ("[:alpha:]", [":", "a", "l", "h"], ["x", "b"]),
    ("a#b c", ["a#b c"], ["ab"]),
    ("\U0001f600+", ["\U0001f600\U0001f600"], ["a"]),
    # single-character escapes
    (r"\n\r\t", ["\n\r\t"], ["nrt"]),
    (r"\\\|\.\-\^\?\*\+\{\}\(\)\[\]", ["\\|.-^?*+{}()[]"], ["x"]),
    (r"\.", ["."], ["a"]),
    # quantifiers
    ("a?", ["", "a"], ["aa"]),
    ("a*", ["", "a", "aaaa"], ["b"]),
    ("a+", ["a", "aaa"], [""]),
    ("a{2}", ["aa"], ["a", "aaa"]),
    ("a{2,}", ["aa", "aaaaa"], ["a"]),
    ("a{2,3}", ["aa", "aaa"], ["a", "aaaa"]),
    ("a{0}b", ["b"], ["ab"]),
    ("(ab){2}", ["abab"], ["ab", "ababab"]),
    ("a{0,100000}", ["a" * 1000], ["b"]),
]


@pytest.mark.parametrize(("xsd", "good", "bad"), FEATURES)
def test_feature_accepts_and_rejects(xsd: str, good: list[str], bad: list[str]) -> None:
    for value in good:
        assert matches(xsd, value), (xsd, value, translate(xsd))
    for value in bad:
        assert not matches(xsd, value), (xsd, value, translate(xsd))


IPV4 = (
    r"(([0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5])\.){3}"
    r"([0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5])(%[\p{N}\p{L}]+)?"
)
IPV6 = [  # ietf-inet-types@2013-07-15 ipv6-address: both patterns apply
    r"((:|[0-9a-fA-F]{0,4}):)([0-9a-fA-F]{0,4}:){0,5}((([0-9a-fA-F]{0,4}:)?"
    r"(:|[0-9a-fA-F]{0,4}))|(((25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])\.){3}"
    r"(25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])))(%[\p{N}\p{L}]+)?",
    r"(([^:]+:){6}(([^:]+:[^:]+)|(.*\..*)))|((([^:]+:)*[^:]+)?::(([^:]+:)*[^:]+)?)(%.+)?",
]
DOMAIN = (
    r"((([a-zA-Z0-9_]([a-zA-Z0-9\-_]){0,61})?[a-zA-Z0-9]\.)*"
    r"([a-zA-Z0-9_]([a-zA-Z0-9\-_]){0,61})?[a-zA-Z0-9]\.?)|\."
)
DATE_AND_TIME = (
    r"[0-9]{4}-(1[0-2]|0[1-9])-(0[1-9]|[1-2][0-9]|3[0-1])"
    r"T(0[0-9]|1[0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?"
    r"(Z|[\+\-]((1[0-3]|0[0-9]):([0-5][0-9])|14:00))?"
)
CRYPT_HASH = (  # openconfig-types / iana-crypt-hash: '$' is literal in XSD
    r"$0$.*|$1$[a-zA-Z0-9./]{1,8}$[a-zA-Z0-9./]{22}"
    r"|$5$(rounds=\d+$)?[a-zA-Z0-9./]{1,16}$[a-zA-Z0-9./]{43}"
    r"|$6$(rounds=\d+$)?[a-zA-Z0-9./]{1,16}$[a-zA-Z0-9./]{86}"
)

REAL_WORLD: list[tuple[str, list[str], list[str]]] = [
    (
        IPV4,
        ["192.168.0.1", "0.0.0.0", "10.0.0.1%eth0", "1.2.3.4%é1"],
        ["256.1.1.1", "1.2.3", "01.2.3.4x", "1.2.3.4%", "1.2.3.4%a-b", " 1.2.3.4"],
    ),
    (
        DOMAIN,
        ["example.com", "example.com.", ".", "a_b.c-d.e", "x"],
        ["-a.com", "a..b", "exa mple.com", "a-.com", ""],
    ),
    (
        DATE_AND_TIME,
        ["2024-02-29T23:59:60Z", "2024-01-01T00:00:00.123+05:30", "2024-01-01T00:00:00"],
        [
            "2024-13-01T00:00:00Z",
            "2024-01-01 00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:00:00+15:00",
        ],
    ),
    (
        r"[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}",
        ["00:1A:2b:3C:4d:5E"],
        ["00:1A:2b:3C:4d", "00-1A-2b-3C-4d-5E", "00:1A:2b:3C:4d:5G"],
    ),
    (
        r"[a-zA-Z_][a-zA-Z0-9\-_.]*",
        ["ietf-interfaces", "_x.y-z", "a"],
        ["1abc", "-a", "a b", "a:b", ""],
    ),
    (r"[\p{L}\p{N}]*", ["", "Zürich42"], ["a_b", "a.b"]),
    (
        CRYPT_HASH,
        ["$0$cleartext", "$1$abc$" + "a" * 22, "$5$rounds=5000$salt$" + "b" * 43],
        ["$2$x", "$1$abc$short", "0$x", "$6$" + "a" * 17 + "$" + "c" * 86],
    ),
    (r"[^\*].*", ["abc", "a*"], ["*", "*abc", ""]),
    (r"\S(.*\S)?", ["a", "a b"], [" a", "a ", ""]),
    (r"[ -@\[-\^_-~]*", ["hello world!", "_[\\^]`"], ["A", "Hello", "\x7f"]),  # no capitals
]


@pytest.mark.parametrize(("xsd", "good", "bad"), REAL_WORLD)
def test_real_world_pattern(xsd: str, good: list[str], bad: list[str]) -> None:
    for value in good:
        assert matches(xsd, value), (xsd, value)
    for value in bad:
        assert not matches(xsd, value), (xsd, value)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2001:db8::1", True),
        ("::", True),
        ("::ffff:192.0.2.1", True),
        ("fe80::1%eth0", True),
        ("1:2:3:4:5:6:7:8", True),
        ("2001:db8::1::2x", False),
        ("192.0.2.1", False),
        ("", False),
    ],
)
def test_ipv6_address_both_patterns(value: str, ok: bool) -> None:
    assert all(matches(p, value) for p in IPV6) is ok


INVALID: list[tuple[str, int]] = [  # (pattern, offset the error must report)
    (r"\b", 0),
    (r"ab\1", 2),
    (r"\A", 0),
    (r"\Z", 0),
    (r"\x41", 0),
    (r"\u0041", 0),
    (r"\$", 0),
    ("\\", 0),
    (r"[\b]", 1),
    ("a*?", 2),
    ("a+?", 2),
    ("a**", 2),
    ("a*+", 2),
    ("a{2}{3}", 4),
    ("*a", 0),
    ("a|*", 2),
    ("(?:a)", 1),
    ("(?=a)", 1),
    ("a{", 1),
    ("a{x}", 1),
    ("a{1,2", 1),
    ("a{,3}", 1),
    ("a{3,1}", 1),
    ("a{ 1}", 1),
    ("{1}", 0),
    ("a}", 1),
    ("]", 0),
    ("a)", 1),
    ("(a", 0),
    ("[", 0),
    ("[]", 0),
    ("[^]", 0),
    ("[a", 0),
    ("[z-a]", 1),
    (r"[a-\d]", 1),
    (r"[\d-z]", 3),
    ("[a-c-e]", 4),
    ("[[a]]", 1),
    ("[a-[b]c]", 6),
    ("[-[a]]", 1),
    ("[a--]", 3),
    (r"\p{Foo}", 0),
    (r"\p{IsNoSuchBlock}", 0),
    (r"a\p{L", 1),
    (r"\pL", 0),
    (r"\p{}", 0),
    (r"\p{Is}", 0),
    (r"\P{Is Greek}", 0),
    ("a{1000000}", 1),
    ("(a{1000}){1000}", 0),
]


@pytest.mark.parametrize(("xsd", "offset"), INVALID)
def test_invalid_pattern_rejected_with_offset(xsd: str, offset: int) -> None:
    with pytest.raises(XsdRegexError) as info:
        compile_pattern(xsd)
    assert info.value.offset == offset, str(info.value)
    assert info.value.pattern == xsd
    assert f"offset {offset}" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_translate_output_shape() -> None:
    assert translate("[a-z-[aeiou]]") == "[[a-z]--[aeiou]]"
    assert translate("^a$") == r"\^a\$"
    assert translate("(a|b)c") == "(?:a|b)c"
    assert translate(".") == r"[^\n\r]"
    assert translate("a{02,003}") == "a{2,3}"


def test_compile_pattern_is_cached() -> None:
    assert compile_pattern("[a-f]+") is compile_pattern("[a-f]+")


_TOKENS = [
    *"ab-^$[]\\(){}|?*+.,019:&~# \u00e9",
    *[r"\p{L}", r"\P{IsGreek}", r"\d", r"\i", r"\S", "-[", "[^", "{2}", "{1,3}", r"\-", r"\["],
]


@settings(max_examples=1000, deadline=None, database=None)
@given(st.lists(st.sampled_from(_TOKENS), max_size=12).map("".join))
def test_any_input_either_rejected_or_compiles(xsd: str) -> None:
    """translate() never crashes, and whatever it accepts the regex engine compiles."""
    try:
        translated = translate(xsd)
    except XsdRegexError:
        return
    regex.compile(translated, regex.VERSION1)


# ---------------------------------------------------------------------------------------
# Every pattern statement in the real YANG corpus must translate and compile.

CORPUS_ROOTS = [
    Path("/work/shared/corpus/yang"),
    Path("/usr/share/yang"),
    Path("/usr/share/yuma/modules"),
]
# Patterns in real modules that are not valid XSD (none so far; add with a comment why).
KNOWN_BAD: frozenset[str] = frozenset()


def _corpus_patterns() -> list[tuple[str, str]]:
    """(file, pattern argument) for every pattern statement, parsed by pyang's YANG parser,
    which applies the quoting, escaping and '+' concatenation rules of RFC 7950 §6.1.3."""
    ctx = context.Context(repository.FileRepository(""))
    found: list[tuple[str, str]] = []
    for root in CORPUS_ROOTS:
        for path in sorted(root.rglob("*.yang")) if root.is_dir() else []:
            stmt = yang_parser.YangParser().parse(ctx, str(path), path.read_text("utf-8"))
            stack = [stmt] if stmt is not None else []
            while stack:
                node = stack.pop()
                if node.keyword == "pattern" and isinstance(node.arg, str):
                    found.append((path.name, node.arg))
                stack.extend(node.substmts)
    return found


@pytest.mark.slow
def test_every_corpus_pattern_compiles() -> None:
    assert CORPUS_ROOTS[0].is_dir(), "the YANG corpus (../shared) must be beside the checkout"
    found = _corpus_patterns()
    failures = []
    for name, xsd in found:
        if xsd in KNOWN_BAD:
            continue
        try:
            compile_pattern(xsd)
        except XsdRegexError as exc:
            failures.append(f"{name}: {exc}")
    assert not failures, "\n".join(failures)
    # 244 pattern statements (141 distinct) in 483 modules when this test was written.
    assert len(found) > 200, len(found)
    assert len({xsd for _, xsd in found}) > 120
