"""Tests for XPath evaluation over data trees (models.xpath.evaluate, models.xpath.values)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from models.instance import InstanceNode, find, root_node
from models.xpath import (
    XPathEvalError,
    XPathValue,
    boolean,
    deref_node,
    eval_expr,
    evaluate,
    number,
    parse,
    resolve_prefixes,
    string,
)
from tests.models.conftest import REPO, CompileYang

XT = """
module xt {
  yang-version 1.1;
  namespace "urn:xt";
  prefix xt;
  import ietf-interfaces { prefix if; }
  identity animal;
  identity cat { base animal; }
  identity lion { base cat; }
  identity dog { base animal; }
  container top {
    leaf-list tags { type string; ordered-by user; }
    list item {
      key "id";
      leaf id { type uint32; }
      leaf name { type string; }
      leaf color { type enumeration { enum red { value 3; } enum green; enum blue { value 10; } } }
      leaf flags { type bits { bit a { position 0; } bit b { position 1; } bit c { position 5; } } }
      leaf price { type decimal64 { fraction-digits 2; } }
      leaf kind { type identityref { base animal; } }
      leaf on { type boolean; }
      leaf marker { type empty; }
      leaf peer { type leafref { path "../../item/id"; } }
      leaf ifname { type if:interface-ref; }
      leaf ptr { type instance-identifier; }
    }
    list pair {
      key "a b";
      leaf a { type string; }
      leaf b { type int8; }
      leaf v { type string; }
    }
    leaf ref-a { type leafref { path "../pair/a"; } }
    leaf ref-b { type int8; }
    leaf ref-v {
      type leafref { path "/top/pair[a = current()/../ref-a][b = current()/../ref-b]/v"; }
    }
    list log { config false; leaf msg { type string; } }
  }
  container more {
    anydata blob;
    leaf u { type union { type int8; type enumeration { enum x { value 7; } } } }
    leaf-list nums { config false; type int8; }
    list named { key k; leaf k { type string; } }
  }
}
"""

P = {"xt": "xt", "if": "ietf-interfaces", "ianaift": "iana-if-type"}

DOC: dict[str, Any] = {
    "ietf-interfaces:interfaces": {"interface": [
        {"name": "eth0", "type": "iana-if-type:ethernetCsmacd", "enabled": False},
        {"name": "lo", "type": "iana-if-type:softwareLoopback"},
    ]},
    "xt:top": {
        "tags": ["x", "y", "x2"],
        "item": [
            {"id": 1, "name": "a", "color": "red", "flags": "c a", "price": "1.50",
             "kind": "xt:lion", "on": True, "marker": [None], "peer": 2, "ifname": "eth0",
             "ptr": "/ietf-interfaces:interfaces/interface[name='lo']/type"},
            {"id": 2, "name": "b", "color": "green", "price": "7", "kind": "xt:dog", "peer": 3},
            {"id": 3, "name": "b", "color": "blue", "price": "0.25", "peer": 1, "on": False},
        ],
        "pair": [{"a": "p", "b": 1, "v": "p1"}, {"a": "p", "b": 2, "v": "p2"},
                 {"a": "q", "b": 1, "v": "q1"}],
        "ref-a": "p", "ref-b": 2, "ref-v": "p2",
        "log": [{"msg": "one"}, {"msg": "two"}],
    },
    "xt:more": {"blob": {"a": 1, "b": ["x", True]}, "u": "x", "nums": [5, 5, 6],
                "named": [{"k": "it's"}, {"k": "say \"hi\""}]},
}


def _yang(name: str) -> str:
    for d in ("ietf", "iana"):
        hits = sorted((REPO / "yang" / d).glob(f"{name}@*.yang"))
        if hits:
            return hits[-1].read_text(encoding="utf-8")
    raise FileNotFoundError(name)


@pytest.fixture(scope="module")
def pkg(compile_yang: CompileYang) -> ModuleType:
    return compile_yang({"xt.yang": XT, "ietf-interfaces.yang": _yang("ietf-interfaces"),
                         "iana-if-type.yang": _yang("iana-if-type")})


@pytest.fixture(scope="module")
def root(pkg: ModuleType) -> InstanceNode:
    return root_node(pkg.Root.model_validate_json(json.dumps(DOC)), pkg.B)


Ev = Callable[..., XPathValue]


@pytest.fixture(scope="module")
def X(root: InstanceNode) -> Ev:
    def ev(text: str, ctx: InstanceNode | None = None, **kw: Any) -> XPathValue:
        expr = resolve_prefixes(parse(text), P, "xt")
        return evaluate(expr, ctx if ctx is not None else root, **{"prefixes": P, **kw})
    return ev


def paths(v: XPathValue) -> list[str]:
    assert isinstance(v, list)
    return [n.path() for n in v]


def node(root: InstanceNode, path: str) -> InstanceNode:
    n = find(root, path)
    assert n is not None, path
    return n


# -- XPath 1.0 values and functions ----------------------------------------------------------------

@pytest.mark.parametrize(("expr", "expected"), [
    ("string(1.0)", "1"), ("string(0.5)", "0.5"), ("string(-0)", "0"), ("string(-2.25)", "-2.25"),
    ("string(1 div 0)", "Infinity"), ("string(-1 div 0)", "-Infinity"), ("string(0 div 0)", "NaN"),
    ("string(1000000 * 1000000)", "1000000000000"), ("string(0.1 + 0.2)", "0.30000000000000004"),
    ("string(true())", "true"), ("string(1 = 2)", "false"), ("string(/nothing)", ""),
    ("concat('a', 1, true())", "a1true"),
    ("substring('12345', 1.5, 2.6)", "234"), ("substring('12345', 0, 3)", "12"),
    ("substring('12345', 0 div 0, 3)", ""), ("substring('12345', 1, 0 div 0)", ""),
    ("substring('12345', -42, 1 div 0)", "12345"), ("substring('12345', -1 div 0, 1 div 0)", ""),
    ("substring('12345', 2)", "2345"),
    ("substring-before('1999/04/01', '/')", "1999"), ("substring-after('1999/04/01', '/')", "04/01"),
    ("substring-after('abc', 'z')", ""), ("substring-before('abc', '')", ""),
    ("substring-after('abc', '')", "abc"), ("substring-after('abc', 'c')", ""),
    ("translate('bar', 'abc', 'ABC')", "BAr"), ("translate('--aaa--', 'abc-', 'ABC')", "AAA"),
    ("normalize-space('  a  b \n\t c ')", "a b c"),
])
def test_string_results(X: Ev, expr: str, expected: str) -> None:
    assert X(expr) == expected


@pytest.mark.parametrize(("expr", "expected"), [
    ("number(' 12 ')", 12.0), ("number('-.5')", -0.5), ("number(true())", 1.0),
    ("round(2.5)", 3.0), ("round(-2.5)", -2.0), ("round(1.4999)", 1.0), ("floor(-1.5)", -2.0),
    ("ceiling(1.1)", 2.0), ("5 mod 2", 1.0), ("-5 mod 2", -1.0), ("5 mod -2", 1.0),
    ("7 div 2", 3.5), ("1 div 0", math.inf), ("-1 div 0", -math.inf), ("-(3)", -3.0),
    ("string-length('abc')", 3.0), ("count(/xt:top/xt:item)", 3.0),
    ("sum(/xt:top/xt:item/xt:price)", 8.75), ("2 + 3 * 4 - 1", 13.0),
])
def test_number_results(X: Ev, expr: str, expected: float) -> None:
    assert X(expr) == expected


@pytest.mark.parametrize("expr", [
    "number('abc')", "number('1e3')", "number('+1')", "number('')", "0 div 0", "5 mod 0",
    "round(0 div 0)", "number(/nothing)", "sum(/xt:top/xt:item/xt:name)",
])
def test_nan(X: Ev, expr: str) -> None:
    v = X(expr)
    assert isinstance(v, float) and math.isnan(v)


@pytest.mark.parametrize(("expr", "expected"), [
    ("boolean('')", False), ("boolean('0')", True), ("boolean(0)", False),
    ("boolean(0 div 0)", False), ("boolean(/nothing)", False), ("boolean(/xt:top)", True),
    ("not(1)", False), ("true() and false()", False), ("false() or 1", True),
    ("1 = '1'", True), ("'1.0' = 1", True), ("'1.0' = '1'", False), ("true() = 'x'", True),
    ("false() = ''", True), ("'abc' < 'abd'", False), ("2 > 1", True), ("1 >= 1", True),
    ("0 div 0 = 0 div 0", False), ("0 div 0 != 0 div 0", True), ("'a' != 'b'", True),
    ("starts-with('abc', 'ab')", True), ("contains('abc', 'd')", False), ("lang('en')", False),
])
def test_boolean_results(X: Ev, expr: str, expected: bool) -> None:
    assert X(expr) is expected


def test_conversion_helpers() -> None:
    assert string(3.0) == "3" and string(False) == "false" and string([]) == ""
    assert number("7") == 7.0 and math.isnan(number([])) and number(True) == 1.0
    assert boolean([]) is False and boolean("x") is True and boolean(math.nan) is False


# -- comparisons with node-sets (XPath 1.0 §3.4) ----------------------------------------------------

@pytest.mark.parametrize(("expr", "expected"), [
    ("/xt:top/xt:item/xt:name = 'b'", True),
    ("/xt:top/xt:item/xt:name != 'b'", True),       # 'a' differs
    ("/xt:top/xt:item/xt:name = 'z'", False),
    ("/xt:top/xt:item/xt:price > 5", True), ("/xt:top/xt:item/xt:price > 7", False),
    ("5 < /xt:top/xt:item/xt:price", True), ("/xt:top/xt:item/xt:price = 7", True),
    ("/xt:top/xt:item/xt:price = '1.5'", True),      # canonical decimal64 text
    ("/xt:top/xt:item/xt:price = '1.50'", False),
    ("/xt:top/xt:item/xt:price < '0.3'", True),      # relational: compared as numbers
    ("/xt:top/xt:item/xt:id = /xt:top/xt:item/xt:peer", True),
    ("/xt:top/xt:item[1]/xt:id = /xt:top/xt:item[2]/xt:id", False),
    ("/xt:top/xt:item/xt:id != /xt:top/xt:item/xt:id", True),
    ("/xt:top/xt:item[1]/xt:id != /xt:top/xt:item[1]/xt:id", False),
    ("/xt:top/xt:item/xt:id < /xt:top/xt:item/xt:peer", True),
    ("/xt:top/xt:item/xt:id > 3", False), ("/xt:top/xt:item/xt:id >= 3", True),
    ("/xt:more/xt:nums = 5", True), ("/xt:more/xt:nums != 5", True),
    ("/nothing = /xt:top/xt:item", False), ("/xt:top/xt:item/xt:id < /nothing", False),
    ("/nothing = ''", False), ("/nothing != ''", False), ("/nothing = /xt:top", False),
    ("/xt:top/xt:item = true()", True), ("/nothing = false()", True),
    ("/xt:top/xt:item[1]/xt:on = 'true'", True), ("/xt:top/xt:item[3]/xt:on = 'false'", True),
    ("/xt:top/xt:item[1]/xt:marker = ''", True), ("/xt:top/xt:item[2]/xt:marker = ''", False),
    ("/xt:top/xt:item[1]/xt:flags = 'a c'", True),  # bits canonical: position order
    ("/xt:top/xt:item[1]/xt:kind = 'xt:lion'", True),  # identityref: module-qualified
])
def test_node_set_comparisons(X: Ev, expr: str, expected: bool) -> None:
    assert X(expr) is expected


# -- location paths, positions, axes, union ---------------------------------------------------------

ITEM = "/xt:top/item[id='{}']"


def test_positions_and_predicates(X: Ev) -> None:
    assert paths(X("/xt:top/xt:item[1]")) == [ITEM.format(1)]
    assert paths(X("/xt:top/xt:item[last()]")) == [ITEM.format(3)]
    assert paths(X("/xt:top/xt:item[position() > 1]")) == [ITEM.format(2), ITEM.format(3)]
    assert paths(X("/xt:top/xt:item[xt:name = 'b'][2]")) == [ITEM.format(3)]
    assert paths(X("/xt:top/xt:item[xt:price > 1][xt:name = 'b']")) == [ITEM.format(2)]
    assert X("string((/xt:top/xt:item/xt:name)[2])") == "b"
    assert X("string(/xt:top/xt:tags[2])") == "y"
    assert X("/xt:top/xt:item[4]") == [] and X("/xt:top/xt:item[1.5]") == []
    assert paths(X("//xt:item[xt:kind][1]")) == [ITEM.format(1)]
    assert X("count(/xt:top/xt:item[xt:id = 2 or xt:id = 3])") == 2.0


def test_axes(X: Ev, root: InstanceNode) -> None:
    name2 = node(root, ITEM.format(2) + "/name")
    item2 = node(root, ITEM.format(2))
    assert paths(X("..", name2)) == [ITEM.format(2)]
    assert paths(X(".", name2)) == [ITEM.format(2) + "/name"]
    assert paths(X("ancestor::*", name2)) == ["/xt:top", ITEM.format(2)]
    assert paths(X("ancestor::*[1]", name2)) == [ITEM.format(2)]  # reverse axis: nearest first
    assert paths(X("ancestor-or-self::node()", name2))[0] == "/"
    assert X("count(ancestor-or-self::node())", name2) == 4.0
    assert paths(X("preceding-sibling::*", name2)) == [ITEM.format(2) + "/id"]
    assert paths(X("following-sibling::*[1]", name2)) == [ITEM.format(2) + "/color"]
    assert paths(X("preceding-sibling::xt:item", item2)) == [ITEM.format(1)]
    assert paths(X("following-sibling::xt:item", item2)) == [ITEM.format(3)]
    assert paths(X("preceding-sibling::*[1]", item2)) == [ITEM.format(1)]
    assert paths(X("following::xt:name", name2)) == [ITEM.format(3) + "/name"]
    assert paths(X("preceding::xt:name", name2)) == [ITEM.format(1) + "/name"]
    assert paths(X("preceding::*[1]", node(root, ITEM.format(2) + "/id"))) == [
        ITEM.format(1) + "/ptr"]
    assert X("count(descendant::*)", item2) == 6.0
    assert X("count(descendant-or-self::xt:item)", item2) == 1.0
    assert X("count(/xt:top/descendant::xt:name)") == 3.0
    assert X("count(//xt:name)") == 3.0  # module-qualified: not the interfaces' names
    assert X("count(//*[local-name() = 'name'])") == 5.0
    assert X("attribute::*", item2) == [] and X("namespace::*", item2) == []
    assert X("..", root) == [] and X("count(/)") == 1.0
    assert X("count(/xt:top/xt:*)") == 14.0 and X("count(/*)") == 3.0
    assert X("count(/xt:top/node())") == 14.0 and X("count(/xt:top/text())") == 0.0


def test_union_and_document_order(X: Ev) -> None:
    got = X("/xt:top/xt:item[3] | /xt:top/xt:item[1] | /xt:top/xt:item[3]/xt:name"
            " | /xt:top/xt:item[1]")
    assert paths(got) == [ITEM.format(1), ITEM.format(3), ITEM.format(3) + "/name"]
    assert paths(X("(/xt:top/xt:item/xt:name | /xt:top/xt:item/xt:id)[2]")) == [
        ITEM.format(1) + "/name"]
    assert X("count(//xt:item/.. | /xt:top)") == 1.0
    assert X("count(/xt:more/xt:nums[. = 5] | /xt:more/xt:nums)") == 3.0  # equal values, 3 nodes
    assert X("string(/xt:more/xt:blob)") == "1xtrue" and X("count(/xt:more/xt:blob/*)") == 0.0
    assert X("count(/xt:more/xt:nums/parent::*)") == 1.0
    with pytest.raises(XPathEvalError):
        X("/xt:top | 1")


def test_name_functions(X: Ev) -> None:
    assert X("local-name(/xt:top/xt:item)") == "item"
    assert X("name(/xt:top)") == "xt:top"
    assert X("namespace-uri(/xt:top)") == "urn:xt"
    assert X("local-name()") == "" and X("local-name(/nothing)") == ""
    assert X("string(/xt:top/xt:item[1]/xt:price)") == "1.5"
    assert X("count(id('x'))") == 0.0


@pytest.mark.parametrize("expr", ["$x", "foo(1)", "count(1)", "count(1, 2)",
                                  "re-match('a', '[')", "1[1]"])
def test_errors(X: Ev, expr: str) -> None:
    with pytest.raises(XPathEvalError):
        X(expr)


# -- YANG 1.1 functions (RFC 7950 §10) --------------------------------------------------------------

def test_current_in_predicate(X: Ev, root: InstanceNode) -> None:
    peer = node(root, ITEM.format(1) + "/peer")
    assert X("string(/xt:top/xt:item[xt:id = current()]/xt:name)", peer) == "b"
    assert X("string(/xt:top/xt:item[xt:id = current()/../xt:peer]/xt:name)", peer) == "b"
    assert paths(X("current()", peer)) == [peer.path()]
    other = node(root, ITEM.format(3))
    assert X("string(xt:name)", other, current=peer) == "b"
    assert X("string(/xt:top/xt:item[xt:id = current()]/xt:color)", other, current=peer) == "green"


def test_key_lookup_matches_general_semantics(X: Ev, root: InstanceNode) -> None:
    assert paths(X("/xt:top/xt:item[xt:id = '2']")) == [ITEM.format(2)]
    assert X("/xt:top/xt:item[xt:id = '02']") == []   # textual comparison: '02' is not '2'
    assert paths(X("/xt:top/xt:item[xt:id = 2.0]")) == [ITEM.format(2)]  # numeric comparison
    assert paths(X("/xt:top/xt:item['3' = xt:id]")) == [ITEM.format(3)]
    assert X("/xt:top/xt:item[xt:id = 'x']") == []
    assert X("/xt:top/xt:item[xt:id = /nothing]") == []
    assert paths(X("/xt:top/xt:item[xt:id = /xt:top/xt:item/xt:peer][2]")) == [ITEM.format(2)]
    assert paths(X("/xt:top/xt:pair[xt:a = 'p' and xt:b = '2']/xt:v")) == [
        "/xt:top/pair[a='p'][b='2']/v"]
    assert paths(X("/xt:top/xt:pair[xt:a = 'p'][xt:b = 1]")) == ["/xt:top/pair[a='p'][b='1']"]
    assert X("count(/xt:top/xt:pair[xt:a = 'p'])") == 2.0
    assert paths(X("/xt:top/xt:item[xt:id = '1'][1][xt:name = 'a']")) == [ITEM.format(1)]
    assert X("/xt:top/xt:item[xt:id = '1'][2]") == []
    # values depending on the candidate (or not textual) take the general path
    assert X("count(/xt:top/xt:item[xt:id = position()])") == 3.0
    assert paths(X("/xt:top/xt:item[xt:id = 1 + 1]")) == [ITEM.format(2)]
    assert paths(X("/xt:top/xt:item[xt:id = -(-3)]")) == [ITEM.format(3)]
    assert paths(X("/xt:top/xt:item[xt:id = string(3)]")) == [ITEM.format(3)]
    assert paths(X("/xt:top/xt:item[xt:id = string()]")) == []


def test_deref(X: Ev, root: InstanceNode) -> None:
    peer = node(root, ITEM.format(1) + "/peer")
    assert paths(deref_node(peer)) == [ITEM.format(2) + "/id"]
    assert X("string(deref(xt:peer)/../xt:name)", node(root, ITEM.format(1))) == "b"
    assert X("string(deref(deref(xt:peer)/../xt:peer)/../xt:color)",
             node(root, ITEM.format(1))) == "blue"
    # typedef'd leafref into another module (if:interface-ref)
    item1 = node(root, ITEM.format(1))
    assert paths(X("deref(xt:ifname)", item1)) == [
        "/ietf-interfaces:interfaces/interface[name='eth0']/name"]
    assert X("deref(xt:ifname)/../if:enabled = 'false'", item1) is True
    # instance-identifier
    assert paths(X("deref(xt:ptr)", item1)) == [
        "/ietf-interfaces:interfaces/interface[name='lo']/type"]
    # multi-key leafref with current() predicates
    assert paths(deref_node(node(root, "/xt:top/ref-v"))) == ["/xt:top/pair[a='p'][b='2']/v"]
    assert paths(deref_node(node(root, "/xt:top/ref-a"))) == [
        "/xt:top/pair[a='p'][b='1']/a", "/xt:top/pair[a='p'][b='2']/a"]
    assert X("deref(/nothing)") == [] and deref_node(node(root, ITEM.format(1) + "/name")) == []


def test_derived_from(X: Ev, root: InstanceNode) -> None:
    item1, item2 = node(root, ITEM.format(1)), node(root, ITEM.format(2))
    assert X("derived-from(xt:kind, 'xt:cat')", item1) is True
    assert X("derived-from(xt:kind, 'xt:animal')", item1) is True
    assert X("derived-from(xt:kind, 'xt:lion')", item1) is False
    assert X("derived-from-or-self(xt:kind, 'xt:lion')", item1) is True
    assert X("derived-from(xt:kind, 'cat')", item1) is True  # unprefixed: the node's module
    assert X("derived-from(xt:kind, 'xt:cat')", item2) is False
    assert X("derived-from(/xt:top/xt:item/xt:kind, 'xt:cat')") is True  # any node
    assert X("derived-from(xt:kind, 'nope:cat')", item1) is False
    assert X("derived-from(/nothing, 'xt:cat')") is False
    assert X("derived-from(/if:interfaces/if:interface/if:type, 'ianaift:iana-interface-type')")
    assert X("derived-from-or-self(/if:interfaces/if:interface[if:name = 'eth0']/if:type,"
             " 'ianaift:ethernetCsmacd')") is True
    assert X("derived-from-or-self(/if:interfaces/if:interface[if:name = 'lo']/if:type,"
             " 'ianaift:ethernetCsmacd')") is False
    # module names are accepted where no prefix map says otherwise
    assert X("derived-from-or-self(xt:kind, 'xt:lion')", item1, prefixes={}) is True


def test_re_match_enum_value_bit_is_set(X: Ev, root: InstanceNode) -> None:
    item1 = node(root, ITEM.format(1))
    assert X("re-match('abc', '[a-c]+')") is True
    assert X("re-match('abcd', '[a-c]+')") is False       # anchored, like a pattern
    assert X(r"re-match('1.22.333', '\d{1,3}\.\d{1,3}\.\d{1,3}')") is True
    assert X("re-match(xt:name, 'a|b')", item1) is True
    assert X("enum-value(xt:color)", item1) == 3.0
    assert X("enum-value(/xt:top/xt:item[2]/xt:color)") == 4.0
    assert X("enum-value(/xt:top/xt:item[3]/xt:color)") == 10.0
    assert math.isnan(number(X("enum-value(xt:name)", item1)))
    assert X("enum-value(/xt:more/xt:u)") == 7.0  # an enum member of a union
    assert math.isnan(number(X("enum-value(xt:peer)", item1)))  # a leafref to a non-enum
    assert math.isnan(number(X("enum-value(/nothing)")))
    assert X("bit-is-set(xt:flags, 'a')", item1) is True
    assert X("bit-is-set(xt:flags, 'b')", item1) is False
    assert X("bit-is-set(/xt:top/xt:item[2]/xt:flags, 'a')") is False


# -- must/when of real modules ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def routing(compile_yang: CompileYang) -> ModuleType:
    names = ["ietf-interfaces", "iana-if-type", "ietf-ip", "ietf-routing",
             "ietf-ipv4-unicast-routing", "ietf-ipv6-unicast-routing"]
    return compile_yang({f"{n}.yang": _yang(n) for n in names})


RT = "/ietf-routing:routing/control-plane-protocols/control-plane-protocol"


def _routing_tree(routing: ModuleType, min_interval: int) -> InstanceNode:
    doc = {
        "ietf-interfaces:interfaces": {"interface": [{
            "name": "eth0", "type": "iana-if-type:ethernetCsmacd",
            "ietf-ip:ipv6": {"ietf-ipv6-unicast-routing:ipv6-router-advertisements": {
                "max-rtr-adv-interval": 600, "min-rtr-adv-interval": min_interval}},
        }]},
        "ietf-routing:routing": {"control-plane-protocols": {"control-plane-protocol": [
            {"type": "ietf-routing:static", "name": "s1", "static-routes": {}},
            {"type": "ietf-routing:direct", "name": "d1", "static-routes": {}},
        ]}},
    }
    return root_node(routing.Root.model_validate_json(json.dumps(doc)), routing.B)


def test_when_from_ietf_routing(routing: ModuleType) -> None:
    root = _routing_tree(routing, 200)
    sn = routing.B.node(RT + "/static-routes")
    (when,) = sn.when
    static = node(root, RT + "[type='ietf-routing:static'][name='s1']/static-routes")
    direct = node(root, RT + "[type='ietf-routing:direct'][name='d1']/static-routes")
    assert static.schema is sn
    assert eval_expr(when, static) is True
    assert eval_expr(when, direct) is False


def test_must_from_ipv6_router_advertisements(routing: ModuleType) -> None:
    path = ("/ietf-interfaces:interfaces/interface[name='eth0']/ietf-ip:ipv6/"
            "ietf-ipv6-unicast-routing:ipv6-router-advertisements/min-rtr-adv-interval")
    for value, ok in ((200, True), (450, True), (451, False)):
        leaf = node(_routing_tree(routing, value), path)
        (must,) = leaf.schema.must if leaf.schema is not None else ()
        assert eval_expr(must, leaf) is ok, value
