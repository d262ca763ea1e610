"""NETCONF <edit-config> content to EditNodes: structure, attributes, typed values, errors."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
from lxml import etree

from datastore.edit import apply_edit
from models.codec import edit_from_xml
from models.codec.edit_xml import YANG_NS
from models.codec.xml import parse
from models.edit import EditNode, Op
from models.errors import YangdError, YangdErrors
from tests.models.conftest import CompileYang

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
ET = "urn:yangd:test:edit"
EA = "urn:yangd:test:edit-aug"

EDIT_TEST = """
module edit-test {
  yang-version 1.1;
  namespace "urn:yangd:test:edit";
  prefix et;

  identity proto;
  identity tcp { base proto; }
  identity udp { base proto; }

  container top {
    leaf name { type string; }
    leaf count { type uint8 { range "1..10"; } }
    leaf flag { type empty; }
    leaf kind { type identityref { base proto; } }
    leaf-list tags { type string; ordered-by user; }
    leaf-list nums { type int32; ordered-by user; }
    list rule {
      key "proto port";
      ordered-by user;
      leaf proto { type identityref { base proto; } }
      leaf port { type uint16; }
      leaf action { type string; }
    }
    list item {
      key id;
      leaf id { type string; }
      leaf v { type int32; }
      container sub { leaf x { type string; } }
    }
    anydata blob;
  }
  leaf top-leaf { type string; }
}
"""

EDIT_AUG = """
module edit-aug {
  yang-version 1.1;
  namespace "urn:yangd:test:edit-aug";
  prefix ea;
  import edit-test { prefix et; }
  augment "/et:top" { leaf extra { type int8; } }
}
"""


@pytest.fixture(scope="module")
def pkg(compile_yang: CompileYang) -> ModuleType:
    return compile_yang([EDIT_TEST, EDIT_AUG])


def cfg(body: str, extra_ns: str = "") -> Any:
    return parse(f'<config xmlns="{NC}" xmlns:nc="{NC}" xmlns:yang="{YANG_NS}" '
                 f'xmlns:et="{ET}" xmlns:ea="{EA}"{extra_ns}>{body}</config>')


def top(body: str, attrs: str = "") -> Any:
    return cfg(f'<top xmlns="{ET}"{attrs}>{body}</top>')


def edits(pkg: ModuleType, elem: Any) -> list[EditNode]:
    return edit_from_xml(pkg.B, elem)


def errors(pkg: ModuleType, elem: Any) -> list[YangdError]:
    with pytest.raises(YangdErrors) as ei:
        edit_from_xml(pkg.B, elem)
    return ei.value.errors


def one(pkg: ModuleType, elem: Any) -> YangdError:
    got = errors(pkg, elem)
    assert len(got) == 1, got
    return got[0]


def kids(e: EditNode) -> dict[str, list[EditNode]]:
    out: dict[str, list[EditNode]] = {}
    for c in e.kids():
        out.setdefault(c.node.name, []).append(c)
    return out


# ---- accepted input -------------------------------------------------------------------------

def test_structure_and_typed_values(pkg: ModuleType) -> None:
    [t] = edits(pkg, top(
        "<name> a b </name><count>3</count><flag/><kind>et:udp</kind>"
        "<tags>x</tags><tags>y</tags><nums>-4</nums>"
        "<rule><proto>et:tcp</proto><port>80</port><action>allow</action></rule>"
        "<item><id>i1</id><v>7</v><sub><x>s</x></sub></item>"
        f'<extra xmlns="{EA}">-5</extra>'))
    assert t.node.name == "top" and t.op is None
    k = kids(t)
    assert k["name"][0].value == " a b "  # string content is kept as is
    assert k["count"][0].value == 3
    assert k["flag"][0].value is True
    assert k["kind"][0].value == "edit-test:udp"
    assert [e.value for e in k["tags"]] == ["x", "y"]
    assert k["nums"][0].value == -4
    [rule] = k["rule"]
    assert rule.key == ("edit-test:tcp", 80)
    assert {c.node.name: c.value for c in rule.kids()} == {
        "proto": "edit-test:tcp", "port": 80, "action": "allow"}
    [item] = k["item"]
    assert item.key == ("i1",)
    assert kids(kids(item)["sub"][0])["x"][0].value == "s"
    assert k["extra"][0].value == -5 and k["extra"][0].node.module == "edit-aug"


def test_top_level_leaf_and_several_top_nodes(pkg: ModuleType) -> None:
    got = edits(pkg, cfg(f'<top-leaf xmlns="{ET}">v</top-leaf><top xmlns="{ET}"/>'))
    assert [(e.node.name, e.value) for e in got] == [("top-leaf", "v"), ("top", None)]


def test_empty_config(pkg: ModuleType) -> None:
    assert edits(pkg, cfg("")) == []


def test_keys_in_any_order(pkg: ModuleType) -> None:
    [t] = edits(pkg, top("<rule><port>53</port><proto>et:udp</proto></rule>"))
    assert kids(t)["rule"][0].key == ("edit-test:udp", 53)


@pytest.mark.parametrize("op", ["merge", "replace", "create", "delete", "remove"])
def test_operations(pkg: ModuleType, op: str) -> None:
    [t] = edits(pkg, top(f'<item nc:operation="{op}"><id>a</id></item>'))
    assert kids(t)["item"][0].op is Op(op)
    assert t.op is None


def test_operation_on_top_node(pkg: ModuleType) -> None:
    [t] = edits(pkg, top("", ' nc:operation="replace"'))
    assert t.op is Op.REPLACE


def test_delete_empty_leaf_and_inherited_delete(pkg: ModuleType) -> None:
    [t] = edits(pkg, top('<count nc:operation="delete"/><name nc:operation="remove"></name>'))
    assert [(c.op, c.value) for c in t.kids()] == [(Op.DELETE, None), (Op.REMOVE, None)]
    # the operation is inherited: an empty uint8 under a deleted container is fine
    [t] = edits(pkg, top("<count/>", ' nc:operation="delete"'))
    assert t.op is Op.DELETE and t.kids()[0].op is None and t.kids()[0].value is None
    # … but not under merge
    e = one(pkg, top("<count/>"))
    assert (e.tag, e.path) == ("invalid-value", "/edit-test:top/count")


def test_delete_leaf_list_entry_identified_by_text(pkg: ModuleType) -> None:
    [t] = edits(pkg, top('<nums nc:operation="delete">12</nums>'))
    assert (t.kids()[0].op, t.kids()[0].value) == (Op.DELETE, 12)


def test_delete_leaf_with_value_keeps_it(pkg: ModuleType) -> None:
    [t] = edits(pkg, top('<count nc:operation="delete">4</count>'))
    assert t.kids()[0].value == 4


def test_anydata(pkg: ModuleType) -> None:
    [t] = edits(pkg, top(
        f'<blob><a>1</a><a>2</a><b><c>x</c></b><q xmlns="{EA}">z</q></blob>'))
    assert kids(t)["blob"][0].value == {"a": ["1", "2"], "b": {"c": "x"}, "edit-aug:q": "z"}


def test_anydata_repeats_and_unknown_namespace(pkg: ModuleType) -> None:
    elem = top("<blob><a>1</a><a>2</a><a>3</a></blob>")
    elem[0][0].append(etree.Comment("c"))
    [t] = edits(pkg, elem)
    assert t.kids()[0].value == {"a": ["1", "2", "3"]}
    e = one(pkg, top('<blob><a><z xmlns="urn:nowhere">1</z></a></blob>'))
    assert (e.tag, e.path, e.info) == ("unknown-namespace", "/edit-test:top/blob/z",
                                       {"bad_element": "z", "bad_namespace": "urn:nowhere"})


def test_foreign_attributes_ignored_and_comments_skipped(pkg: ModuleType) -> None:
    elem = cfg(f'<top xmlns="{ET}" xmlns:md="urn:example:meta" md:note="hi">'
               "<name md:x='1'>n</name></top>")
    elem[0].insert(0, etree.Comment("c"))  # the hardened parser drops comments; lxml trees may not
    elem[0].append(etree.ProcessingInstruction("pi"))
    [t] = edits(pkg, elem)
    assert [c.value for c in t.kids()] == ["n"]


# ---- insert / key / value -------------------------------------------------------------------

def test_insert_first_last(pkg: ModuleType) -> None:
    [t] = edits(pkg, top(
        '<rule yang:insert="first"><proto>et:tcp</proto><port>1</port></rule>'
        '<tags yang:insert="last">z</tags>'))
    k = kids(t)
    assert (k["rule"][0].insert, k["rule"][0].anchor) == ("first", None)
    assert (k["tags"][0].insert, k["tags"][0].anchor) == ("last", None)


def test_insert_before_list_key_typed_with_prefixes(pkg: ModuleType) -> None:
    [t] = edits(pkg, cfg(
        f'<top xmlns="{ET}" xmlns:p="{ET}"><rule yang:insert="before" '
        "yang:key=\"[p:proto='p:udp'][port = '53']\">"
        "<proto>et:tcp</proto><port>1</port></rule></top>"))
    r = kids(t)["rule"][0]
    assert (r.insert, r.anchor) == ("before", ("edit-test:udp", 53))


def test_insert_after_leaf_list_value(pkg: ModuleType) -> None:
    [t] = edits(pkg, top('<nums yang:insert="after" yang:value="007">8</nums>'))
    n = t.kids()[0]
    assert (n.insert, n.anchor, n.value) == ("after", (7,), 8)


def test_key_without_insert_is_not_read(pkg: ModuleType) -> None:
    [t] = edits(pkg, top('<tags yang:value="nope">a</tags>'))
    assert t.kids()[0].anchor is None and t.kids()[0].insert is None


@pytest.mark.parametrize(("body", "tag", "attr", "msg"), [
    ('<rule yang:insert="before"><proto>et:tcp</proto><port>1</port></rule>',
     "missing-attribute", "key", "needs a key"),
    ('<tags yang:insert="after">a</tags>', "missing-attribute", "value", "needs a value"),
    ('<rule yang:insert="middle"><proto>et:tcp</proto><port>1</port></rule>',
     "bad-attribute", "insert", "bad insert"),
    ('<name yang:insert="first">a</name>', "bad-attribute", "insert", "list and leaf-list"),
    ("<rule yang:insert=\"after\" yang:key=\"[proto='et:tcp']\">"
     "<proto>et:tcp</proto><port>1</port></rule>", "bad-attribute", "key", "every key"),
    ("<rule yang:insert=\"after\" yang:key=\"[proto='et:tcp'][port='x']\">"
     "<proto>et:tcp</proto><port>1</port></rule>", "bad-attribute", "key", "not a valid port"),
    ("<rule yang:insert=\"after\" yang:key=\"[action='a'][proto='et:tcp'][port='2']\">"
     "<proto>et:tcp</proto><port>1</port></rule>", "bad-attribute", "key", "not a key"),
    ("<rule yang:insert=\"after\" yang:key=\"[ea:proto='et:tcp'][port='2']\">"
     "<proto>et:tcp</proto><port>1</port></rule>", "bad-attribute", "key", "not a key"),
    ("<rule yang:insert=\"after\" yang:key=\"proto='et:tcp'\">"
     "<proto>et:tcp</proto><port>1</port></rule>", "bad-attribute", "key", "bad key"),
    ("<rule yang:insert=\"after\" yang:key=\"[1]\">"
     "<proto>et:tcp</proto><port>1</port></rule>", "bad-attribute", "key", "key predicates"),
    ('<nums yang:insert="before" yang:value="x">1</nums>', "bad-attribute", "value", "not a valid"),
])
def test_insert_attribute_errors(pkg: ModuleType, body: str, tag: str, attr: str, msg: str) -> None:
    e = one(pkg, top(body))
    assert e.tag == tag and e.info["bad_attribute"] == attr and msg in e.message
    assert e.path is not None and e.path.startswith("/edit-test:top/")


def test_insert_error_path_names_the_entry(pkg: ModuleType) -> None:
    e = one(pkg, top('<rule yang:insert="before"><proto>et:tcp</proto><port>1</port></rule>'))
    assert e.path == "/edit-test:top/rule[proto='edit-test:tcp'][port='1']"
    assert e.info == {"bad_attribute": "key", "bad_element": "rule"}
    e = one(pkg, top('<tags yang:insert="after">a</tags>'))
    assert e.path == "/edit-test:top/tags[.='a']"


# ---- rejected input -------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["none", "bogus", "MERGE", ""])
def test_bad_operation(pkg: ModuleType, value: str) -> None:
    e = one(pkg, top(f'<name nc:operation="{value}">a</name>'))
    assert (e.tag, e.path, e.type) == ("bad-attribute", "/edit-test:top/name", "application")
    assert e.info == {"bad_attribute": "operation", "bad_element": "name"}


def test_unknown_attributes(pkg: ModuleType) -> None:
    e = one(pkg, top('<name nc:opération="merge">a</name>'))
    assert (e.tag, e.info["bad_attribute"], e.info["bad_element"]) == (
        "unknown-attribute", "opération", "name")
    e = one(pkg, top('<name yang:position="1">a</name>'))
    assert e.tag == "unknown-attribute" and e.info["bad_attribute"] == "position"
    e = one(pkg, top('<name operation="delete">a</name>'))  # unqualified: refused, not ignored
    assert e.tag == "unknown-attribute" and "namespace-qualified" in e.message
    assert e.path == "/edit-test:top/name"


def test_unknown_element_and_namespace(pkg: ModuleType) -> None:
    e = one(pkg, top("<bogus>1</bogus>"))
    assert (e.tag, e.path, e.info) == (
        "unknown-element", "/edit-test:top/bogus", {"bad_element": "bogus"})
    e = one(pkg, top(f'<bogus xmlns="{EA}"/>'))
    assert (e.tag, e.path) == ("unknown-element", "/edit-test:top/edit-aug:bogus")
    e = one(pkg, top('<x xmlns="urn:nowhere"/>'))
    assert (e.tag, e.path, e.info) == (
        "unknown-namespace", "/edit-test:top/x", {"bad_element": "x", "bad_namespace": "urn:nowhere"})
    e = one(pkg, cfg("<top/>"))  # the NETCONF namespace (ietf-netconf is not compiled here)
    assert (e.tag, e.path) == ("unknown-namespace", "/top")
    e = one(pkg, cfg('<top xmlns=""/>'))
    assert (e.tag, e.path) == ("unknown-namespace", "/top")


def test_invalid_values_with_paths(pkg: ModuleType) -> None:
    got = errors(pkg, top(
        "<count>11</count><kind>nope:x</kind><nums>x</nums>"
        "<item><id>i1</id><v>z</v><sub><x>ok</x></sub></item>"
        f'<extra xmlns="{EA}">999</extra>'))
    assert [(e.tag, e.path) for e in got] == [
        ("invalid-value", "/edit-test:top/count"),
        ("invalid-value", "/edit-test:top/kind"),
        ("invalid-value", "/edit-test:top/nums[.='x']"),
        ("invalid-value", "/edit-test:top/item[id='i1']/v"),
        ("invalid-value", "/edit-test:top/edit-aug:extra"),
    ]
    assert "10" in got[0].message  # the range


def test_missing_keys(pkg: ModuleType) -> None:
    e = one(pkg, top("<rule><proto>et:tcp</proto><action>a</action></rule>"))
    assert (e.tag, e.path, e.info) == (
        "missing-element", "/edit-test:top/rule[proto='edit-test:tcp']", {"bad_element": "port"})
    got = errors(pkg, top('<item nc:operation="delete"/>'))
    assert [(e.tag, e.path, e.info) for e in got] == [
        ("missing-element", "/edit-test:top/item", {"bad_element": "id"})]


def test_invalid_key_is_not_also_missing(pkg: ModuleType) -> None:
    e = one(pkg, top("<rule><proto>et:tcp</proto><port>x</port></rule>"))
    assert (e.tag, e.path) == ("invalid-value", "/edit-test:top/rule[proto='edit-test:tcp']/port")


def test_duplicate_single_node(pkg: ModuleType) -> None:
    e = one(pkg, top("<name>a</name><name>b</name>"))
    assert (e.tag, e.path) == ("bad-element", "/edit-test:top/name")


def test_all_issues_are_reported_together(pkg: ModuleType) -> None:
    got = errors(pkg, cfg(
        f'<top xmlns="{ET}" nc:operation="zap"><bogus/><count>0</count>'
        "<rule><port>1</port></rule></top>"
        f'<other xmlns="{ET}"/>'))
    assert [(e.tag, e.path) for e in got] == [
        ("bad-attribute", "/edit-test:top"),
        ("unknown-element", "/edit-test:top/bogus"),
        ("invalid-value", "/edit-test:top/count"),
        ("missing-element", "/edit-test:top/rule[port='1']"),
        ("unknown-element", "/edit-test:other"),
    ]


def test_non_element_content(pkg: ModuleType) -> None:
    elem = top("")
    elem[0].append(etree.Entity("amp"))
    e = one(pkg, elem)
    assert (e.tag, e.type, e.path) == ("malformed-message", "rpc", "/edit-test:top")


# ---- through the edit engine ----------------------------------------------------------------

def test_applies_with_the_engine(pkg: ModuleType) -> None:
    b = pkg.B
    tree: Any = pkg.Root()
    tree = apply_edit(b, tree, edit_from_xml(b, top(
        "<name>n</name><tags>a</tags><tags>c</tags>"
        "<rule><proto>et:tcp</proto><port>1</port></rule>"
        "<rule><proto>et:udp</proto><port>2</port></rule>"))).tree
    tree = apply_edit(b, tree, edit_from_xml(b, top(
        '<tags yang:insert="after" yang:value="a">b</tags>'
        "<rule yang:insert=\"before\" yang:key=\"[proto='et:tcp'][port='1']\">"
        "<proto>et:udp</proto><port>3</port></rule>"
        '<name nc:operation="delete"/>'))).tree
    t = tree.top
    assert t.name is None
    assert t.tags == ("a", "b", "c")
    assert t.rule.keys() == (("edit-test:udp", 3), ("edit-test:tcp", 1), ("edit-test:udp", 2))
    res: Any = apply_edit(b, tree, edit_from_xml(b, top(
        "<rule nc:operation=\"delete\"><proto>et:udp</proto><port>3</port></rule>"
        '<tags nc:operation="remove">c</tags>')))
    assert res.tree.top.rule.keys() == (("edit-test:tcp", 1), ("edit-test:udp", 2))
    assert res.tree.top.tags == ("a", "b")
    with pytest.raises(YangdErrors) as ei:
        apply_edit(b, res.tree, edit_from_xml(b, top('<count nc:operation="delete"/>')))
    assert ei.value.errors[0].tag == "data-missing"
