"""Subtree filtering (RFC 6241 §6, the §6.4 examples) and XPath filtering (RFC 6241 §8.9)."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest

from models.codec import decode_xml, encode_json
from models.codec.xml import parse
from models.errors import YangdErrors
from models.filter import subtree_filter, xpath_filter
from tests.models.conftest import CompileYang

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
T = "http://example.com/schema/1.2/config"  # the RFC's example namespace
FA = "urn:yangd:test:filter-aug"

# the data model of the RFC 6241 §6.4 examples, as YANG
RFC_EXAMPLE = """
module rfc6241-example {
  yang-version 1.1;
  namespace "http://example.com/schema/1.2/config";
  prefix t;

  identity role;
  identity staff { base role; }
  identity boss { base role; }

  container top {
    container users {
      list user {
        key name;
        leaf name { type string; }
        leaf type { type string; }
        leaf full-name { type string; }
        leaf role { type identityref { base role; } }
        container company-info {
          leaf dept { type uint32; }
          leaf id { type uint32; }
        }
        leaf-list phone { type string; }
        leaf level { type uint8; default 3; }
      }
    }
    container groups {
      list group {
        key "name site";
        leaf name { type string; }
        leaf site { type uint8; }
        leaf size { type uint32; }
      }
    }
    leaf-list tags { type string; }
    leaf mode { type string; default "auto"; }
    anydata blob;
  }
  leaf motd { type string; }
}
"""

FILTER_AUG = """
module filter-aug {
  yang-version 1.1;
  namespace "urn:yangd:test:filter-aug";
  prefix fa;
  import rfc6241-example { prefix t; }
  augment "/t:top/t:users/t:user" { leaf type { type string; } }
}
"""

DATA = f"""<data xmlns="{NC}">
<top xmlns="{T}" xmlns:t="{T}">
  <users>
    <user>
      <name>root</name><type>superuser</type><full-name>Charlie Root</full-name>
      <role>t:boss</role>
      <company-info><dept>1</dept><id>1</id></company-info>
      <phone>111</phone><phone>112</phone>
    </user>
    <user>
      <name>fred</name><type>admin</type><full-name>Fred Flintstone</full-name>
      <role>t:staff</role>
      <company-info><dept>2</dept><id>2</id></company-info>
      <type xmlns="{FA}">aug-fred</type>
    </user>
    <user>
      <name>barney</name><type>admin</type><full-name>Barney Rubble</full-name>
      <company-info><dept>2</dept><id>3</id></company-info>
      <phone>333</phone>
    </user>
  </users>
  <groups>
    <group><name>admin</name><site>1</site><size>2</size></group>
    <group><name>admin</name><site>2</site><size>5</size></group>
    <group><name>ops</name><site>1</site></group>
  </groups>
  <tags>a</tags><tags>b</tags>
  <blob><k>v</k></blob>
</top>
<motd xmlns="{T}">hello</motd>
</data>"""


@pytest.fixture(scope="module")
def pkg(compile_yang: CompileYang) -> ModuleType:
    return compile_yang([RFC_EXAMPLE, FILTER_AUG])


@pytest.fixture(scope="module")
def tree(pkg: ModuleType) -> Any:
    return decode_xml(pkg.Root, DATA)


def js(x: Any) -> Any:
    return json.loads(encode_json(x))


def flt(body: str) -> Any:
    return parse(f'<filter xmlns="{NC}" type="subtree">{body}</filter>')


def sub(pkg: ModuleType, tree: Any, body: str) -> Any:
    got = subtree_filter(pkg.B, tree, flt(body))
    assert type(got) is type(tree)
    return js(got)


def users(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"rfc6241-example:top": {"users": {"user": list(entries)}}}


# ---- RFC 6241 §6.4 examples -----------------------------------------------------------------

def test_6_4_1_no_filter(pkg: ModuleType, tree: Any) -> None:
    assert subtree_filter(pkg.B, tree, None) is tree


def test_6_4_2_empty_filter(pkg: ModuleType, tree: Any) -> None:
    assert sub(pkg, tree, "") == {}


def test_6_4_3_entire_users_subtree(pkg: ModuleType, tree: Any) -> None:
    got = sub(pkg, tree, f'<top xmlns="{T}"><users/></top>')
    assert got == {"rfc6241-example:top": {"users": js(tree)["rfc6241-example:top"]["users"]}}


def test_6_4_4_all_names(pkg: ModuleType, tree: Any) -> None:
    got = sub(pkg, tree, f'<top xmlns="{T}"><users><user><name/></user></users></top>')
    assert got == users({"name": "root"}, {"name": "fred"}, {"name": "barney"})


def test_6_4_5_one_specific_user(pkg: ModuleType, tree: Any) -> None:
    got = sub(pkg, tree, f'<top xmlns="{T}"><users><user><name>fred</name></user></users></top>')
    whole = js(tree)["rfc6241-example:top"]["users"]["user"][1]
    assert whole["name"] == "fred"
    assert got == users(whole)


def test_6_4_6_specific_elements_of_one_user(pkg: ModuleType, tree: Any) -> None:
    got = sub(pkg, tree, f'<top xmlns="{T}"><users><user>'
                         "<name>fred</name><type/><full-name/></user></users></top>")
    assert got == users({"name": "fred", "type": "admin", "full-name": "Fred Flintstone"})


def test_6_4_7_multiple_subtrees(pkg: ModuleType, tree: Any) -> None:
    got = sub(pkg, tree, f"""<top xmlns="{T}"><users>
        <user><name>root</name><company-info/></user>
        <user><name>fred</name><company-info><id/></company-info></user>
        <user><name>barney</name><type>superuser</type><company-info><dept/></company-info></user>
      </users></top>""")
    assert got == users(
        {"name": "root", "company-info": {"dept": 1, "id": 1}},
        {"name": "fred", "company-info": {"id": 2}},
    )


def test_6_4_8_attribute_match_selects_nothing(pkg: ModuleType, tree: Any) -> None:
    # YANG data nodes have no XML attributes: "if an element is not defined to include a
    # specified attribute, then it is not selected"
    got = sub(pkg, tree, f'<t:top xmlns:t="{T}"><t:users><t:user t:name="fred"/></t:users></t:top>')
    assert got == {}
    got = sub(pkg, tree, f'<t:top xmlns:t="{T}"><t:users><t:user><t:name>fred</t:name>'
                         '<t:type t:x="1"/></t:user></t:users></t:top>')
    assert got == users({"name": "fred"})


# ---- more rules -----------------------------------------------------------------------------

def test_several_top_level_subtrees(pkg: ModuleType, tree: Any) -> None:
    got = sub(pkg, tree, f'<motd xmlns="{T}"/><top xmlns="{T}"><tags/></top>')
    assert got == {"rfc6241-example:top": {"tags": ["a", "b"]}, "rfc6241-example:motd": "hello"}


def test_unknown_nodes_select_nothing(pkg: ModuleType, tree: Any) -> None:
    assert sub(pkg, tree, f'<nothing xmlns="{T}"/>') == {}
    assert sub(pkg, tree, '<top xmlns="urn:nowhere"/>') == {}
    assert sub(pkg, tree, f'<top xmlns="{T}"><users><bogus/></users></top>') == {}
    # an unknown content match node is false: the whole sibling set goes
    assert sub(pkg, tree, f'<top xmlns="{T}"><users><user><bogus>1</bogus>'
                          "<name/></user></users></top>") == {}


def test_namespace_wildcard(pkg: ModuleType, tree: Any) -> None:
    # RFC 6241 §6.2.1: an unqualified filter element matches every namespace
    assert sub(pkg, tree, '<motd xmlns=""/>') == {"rfc6241-example:motd": "hello"}
    # inherited NETCONF namespace (the common unqualified <top/> in a <filter>) too
    assert sub(pkg, tree, "<motd/>") == {"rfc6241-example:motd": "hello"}
    got = sub(pkg, tree, f'<top xmlns="{T}"><users><user><name>fred</name>'
                         '<type xmlns=""/></user></users></top>')
    assert got == users({"name": "fred", "type": "admin", "filter-aug:type": "aug-fred"})
    got = sub(pkg, tree, f'<top xmlns="{T}"><users><user><name>fred</name>'
                         f'<type xmlns="{FA}"/></user></users></top>')
    assert got == users({"name": "fred", "filter-aug:type": "aug-fred"})


def test_content_match_and_of_siblings(pkg: ModuleType, tree: Any) -> None:
    got = sub(pkg, tree, f'<top xmlns="{T}"><users><user><type>admin</type>'
                         "<company-info><dept>2</dept></company-info><full-name/>"
                         "</user></users></top>")
    assert got == users(
        {"name": "fred", "type": "admin", "full-name": "Fred Flintstone",
         "company-info": {"dept": 2, "id": 2}},  # only a content match inside: all of it
        {"name": "barney", "type": "admin", "full-name": "Barney Rubble",
         "company-info": {"dept": 2, "id": 3}},
    )
    got = sub(pkg, tree, f'<top xmlns="{T}"><users><user><type>admin</type>'
                         "<full-name>Barney Rubble</full-name><name/></user></users></top>")
    assert got == users({"name": "barney", "type": "admin", "full-name": "Barney Rubble"})


def test_content_match_only_selects_whole_entries(pkg: ModuleType, tree: Any) -> None:
    got = sub(pkg, tree, f'<top xmlns="{T}"><users><user><type>admin</type></user></users></top>')
    whole = js(tree)["rfc6241-example:top"]["users"]["user"]
    assert got == users(whole[1], whole[2])


def test_content_match_typed(pkg: ModuleType, tree: Any) -> None:
    # a number in another lexical form, surrounding whitespace, an identity with a prefix
    got = sub(pkg, tree, f'<top xmlns="{T}"><users><user><company-info><id> 03 </id>'
                         "</company-info></user></users></top>")
    assert got == users({"name": "barney", "company-info": {"dept": 2, "id": 3}})
    got = sub(pkg, tree, f'<top xmlns="{T}"><users><user><role xmlns:x="{T}">x:staff</role>'
                         "<name/></user></users></top>")
    assert got == users({"name": "fred", "role": "rfc6241-example:staff"})
    # not a valid value of the leaf's type: simply no match
    assert sub(pkg, tree, f'<top xmlns="{T}"><users><user><company-info><id>x</id>'
                          "</company-info></user></users></top>") == {}


def test_containment_keeps_only_entries_that_match(pkg: ModuleType, tree: Any) -> None:
    got = sub(pkg, tree, f'<top xmlns="{T}"><users><user><phone/></user></users></top>')
    assert got == users({"name": "root", "phone": ["111", "112"]},
                        {"name": "barney", "phone": ["333"]})


def test_leaf_list_content_match(pkg: ModuleType, tree: Any) -> None:
    got = sub(pkg, tree, f'<top xmlns="{T}"><users><user><phone>112</phone></user></users></top>')
    root = js(tree)["rfc6241-example:top"]["users"]["user"][0]
    assert got == users(root)
    got = sub(pkg, tree, f'<top xmlns="{T}"><users><user><phone>112</phone><name/>'
                         "</user></users></top>")
    assert got == users({"name": "root", "phone": ["112"]})
    got = sub(pkg, tree, f'<top xmlns="{T}"><tags>b</tags><motd/></top>')
    assert got == {"rfc6241-example:top": {"tags": ["b"]}}


def test_composite_keys_always_included(pkg: ModuleType, tree: Any) -> None:
    got = sub(pkg, tree, f'<top xmlns="{T}"><groups><group><size/></group></groups></top>')
    assert got == {"rfc6241-example:top": {"groups": {"group": [
        {"name": "admin", "site": 1, "size": 2}, {"name": "admin", "site": 2, "size": 5}]}}}
    got = sub(pkg, tree, f'<top xmlns="{T}"><groups><group><name>admin</name><site>2</site>'
                         "</group></groups></top>")
    assert got == {"rfc6241-example:top": {"groups": {"group": [
        {"name": "admin", "site": 2, "size": 5}]}}}


def test_union_of_overlapping_filters(pkg: ModuleType, tree: Any) -> None:
    got = sub(pkg, tree, f'<top xmlns="{T}"><users><user><name>fred</name><type/></user>'
                         "<user><name>fred</name><full-name/></user>"
                         "<user><company-info><dept>1</dept></company-info></user>"
                         "</users></top>")
    assert got == users(
        {"name": "root", "company-info": {"dept": 1, "id": 1}},
        {"name": "fred", "type": "admin", "full-name": "Fred Flintstone"},
    )
    # a selection and a containment of the same node: the selection wins
    got = sub(pkg, tree, f'<top xmlns="{T}"><groups/><groups><group><name>ops</name></group>'
                         "</groups></top>")
    assert got == {"rfc6241-example:top": {"groups": js(tree)["rfc6241-example:top"]["groups"]}}


def test_same_node_named_twice_in_one_sibling_set(pkg: ModuleType, tree: Any) -> None:
    got = sub(pkg, tree, f'<top xmlns="{T}"><users><user><name>fred</name>'
                         "<company-info><id/></company-info><company-info><dept/></company-info>"
                         "</user></users></top>")
    assert got == users({"name": "fred", "company-info": {"dept": 2, "id": 2}})
    got = sub(pkg, tree, f'<top xmlns="{T}"><users><user><phone>111</phone><phone>112</phone>'
                         "<name/></user></users></top>")  # content matches AND together
    assert got == users({"name": "root", "phone": ["111", "112"]})
    assert sub(pkg, tree, f'<top xmlns="{T}"><users><user><phone>111</phone><phone>333</phone>'
                          "<name/></user></users></top>") == {}
    got = sub(pkg, tree, f'<top xmlns="{T}"><users><user><name>fred</name><type/></user>'
                         "<user><name>fred</name></user></users></top>")
    assert got == users(js(tree)["rfc6241-example:top"]["users"]["user"][1])


def test_containment_on_a_leaf_and_anydata(pkg: ModuleType, tree: Any) -> None:
    assert sub(pkg, tree, f'<motd xmlns="{T}"><x/></motd>') == {}
    got = sub(pkg, tree, f'<top xmlns="{T}"><blob><k/></blob></top>')
    assert got == {"rfc6241-example:top": {"blob": {"k": "v"}}}


def test_filter_as_text_and_top_level_content_match(pkg: ModuleType, tree: Any) -> None:
    text = f'<filter xmlns="{NC}"><motd xmlns="{T}">hello</motd></filter>'
    assert js(subtree_filter(pkg.B, tree, text)) == js(tree)  # root: content match only
    text = f'<filter xmlns="{NC}"><motd xmlns="{T}">bye</motd><top xmlns="{T}"/></filter>'
    assert js(subtree_filter(pkg.B, tree, text)) == {}


def test_result_shares_subtrees(pkg: ModuleType, tree: Any) -> None:
    got = subtree_filter(pkg.B, tree, flt(f'<top xmlns="{T}"><users/></top>'))
    assert got.top.users is tree.top.users


# ---- XPath filter ---------------------------------------------------------------------------

NS = {"t": T, "fa": FA, "nc": NC, None: NC}


def xp(pkg: ModuleType, tree: Any, select: str, ns: dict[str | None, str] | None = None) -> Any:
    got = xpath_filter(pkg.B, tree, select, NS if ns is None else ns)
    assert type(got) is type(tree)
    return js(got)


def test_xpath_whole_subtree_and_root(pkg: ModuleType, tree: Any) -> None:
    got = xp(pkg, tree, "/t:top/t:users")
    assert got == {"rfc6241-example:top": {"users": js(tree)["rfc6241-example:top"]["users"]}}
    assert xp(pkg, tree, "/") == js(tree)
    assert xp(pkg, tree, "/t:nothing") == {}


def test_xpath_predicates_keep_keys(pkg: ModuleType, tree: Any) -> None:
    got = xp(pkg, tree, "/t:top/t:users/t:user[t:type='admin']/t:full-name")
    assert got == users({"name": "fred", "full-name": "Fred Flintstone"},
                        {"name": "barney", "full-name": "Barney Rubble"})
    got = xp(pkg, tree, "/t:top/t:groups/t:group[t:site=2]/t:size")
    assert got == {"rfc6241-example:top": {"groups": {"group": [
        {"name": "admin", "site": 2, "size": 5}]}}}
    got = xp(pkg, tree, "/t:top/t:users/t:user[t:company-info/t:id > 1][last()]")
    assert got == users(js(tree)["rfc6241-example:top"]["users"]["user"][2])


def test_xpath_unions_and_leaf_lists(pkg: ModuleType, tree: Any) -> None:
    got = xp(pkg, tree, "/t:motd | /t:top/t:tags[. = 'b'] | //t:user[t:name='root']/t:phone[2]")
    assert got == {
        "rfc6241-example:top": {"users": {"user": [{"name": "root", "phone": ["112"]}]},
                                "tags": ["b"]},
        "rfc6241-example:motd": "hello",
    }
    # overlapping: the whole entry absorbs the narrower selection
    got = xp(pkg, tree, "//t:user[t:name='fred']/t:type | //t:user[t:name='fred']")
    assert got == users(js(tree)["rfc6241-example:top"]["users"]["user"][1])


def test_xpath_prefixes_and_unprefixed_names(pkg: ModuleType, tree: Any) -> None:
    got = xp(pkg, tree, "//t:user/fa:type")
    assert got == users({"name": "fred", "filter-aug:type": "aug-fred"})
    got = xp(pkg, tree, "//x:user[x:name='fred']/type", {"x": T})  # unprefixed: any module
    assert got == users({"name": "fred", "type": "admin", "filter-aug:type": "aug-fred"})
    assert xp(pkg, tree, "/u:top", {"u": "urn:unknown"}) == {}


def test_xpath_defaults_are_seen_but_not_returned(pkg: ModuleType, tree: Any) -> None:
    # XPath sees default values (RFC 7950 §7.6.1) but the filtered tree holds stored data only
    assert xp(pkg, tree, "/t:top/t:mode") == {}
    assert xp(pkg, tree, "//t:user[t:name='fred']/t:level") == {}
    got = xp(pkg, tree, "//t:user[t:level = 3 and t:name != 'root']/t:name")
    assert got == users({"name": "fred"}, {"name": "barney"})


def test_xpath_functions(pkg: ModuleType, tree: Any) -> None:
    got = xp(pkg, tree, "//t:user[derived-from-or-self(t:role, 't:boss')]/t:name")
    assert got == users({"name": "root"})
    got = xp(pkg, tree, "//t:user[starts-with(t:full-name, 'B')]/t:company-info/t:id")
    assert got == users({"name": "barney", "company-info": {"id": 3}})


@pytest.mark.parametrize(("select", "what"), [
    ("count(//t:user)", "does not select nodes"),
    ("'x'", "does not select nodes"),
    ("1 = 1", "does not select nodes"),
    ("/t:top/", "bad XPath"),
    ("/q:top", "bad XPath"),  # undeclared prefix
    ("nosuch(1)", "bad XPath"),
])
def test_xpath_errors(pkg: ModuleType, tree: Any, select: str, what: str) -> None:
    with pytest.raises(YangdErrors) as ei:
        xpath_filter(pkg.B, tree, select, NS)
    [e] = ei.value.errors
    assert e.tag == "invalid-value" and what in e.message
    assert e.info == {"bad_attribute": "select", "bad_element": "filter"}
