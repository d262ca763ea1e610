"""YANG data-definition statements (RFC 7950 §7) through the compiler: the Schema it records
and what the generated models accept and refuse.
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest
from pydantic import ValidationError

from models.schema import Kind, XPathExpr

ST = """
module st {
  yang-version 1.1;
  namespace "urn:yangd:test:st";
  prefix st;
  include st-sub;

  grouping endpoint {
    leaf host { type string; }
    leaf port { type uint16; default 80; description "Port."; }
  }
  grouping deep {
    container dc { leaf dl { type string; } }
  }
  grouping extras {
    leaf extra-a { type string; }
  }

  container plain { leaf x { type string; } }
  container pres { presence "turns the feature on"; leaf x { type string; } }

  list multi {
    key "a b";
    ordered-by user;
    min-elements 1;
    max-elements 3;
    unique "u1 u2";
    unique "u3";
    leaf a { type string; }
    leaf b { type uint8; }
    leaf u1 { type string; }
    leaf u2 { type string; }
    leaf u3 { type string; }
  }
  list sys { key k; leaf k { type string; } leaf v { type int8; } }
  leaf-list tags { type string; max-elements 5; ordered-by user; }
  leaf-list nums { type uint8; }

  container leafs {
    leaf m { type string; mandatory true; }
    leaf d { type uint8; default 3; units "seconds"; }
    choice how {
      default by-name;
      case by-name {
        leaf name { type string; }
        leaf alias { type string; }
      }
      case by-id { leaf id { type uint32; } }
      leaf shorthand { type boolean; }
      container sh-cont { leaf v { type string; } }
    }
    choice must-pick {
      mandatory true;
      leaf one { type string; }
      leaf two { type string; }
    }
  }

  anydata blob;
  anyxml xmlblob;

  container server {
    uses endpoint {
      refine port { default 8080; description "Server port."; }
      refine host { mandatory true; }
    }
  }
  container client { uses endpoint; }

  augment "/st:plain" { leaf extra { type string; } }

  container state {
    config false;
    leaf counter { type uint64; }
    leaf-list history { type uint8; }
    list entry { leaf v { type string; } }
    container inner { leaf z { type string; } }
  }

  container guarded {
    must "count(st:item) < 5" {
      error-message "too many items";
      error-app-tag "too-many";
    }
    leaf a { type int8; when "../b = 'x'"; }
    leaf b { type string; must ". != 'bad'"; }
    leaf-list item { type string; }
    uses extras { when "b = 'y'"; }
    uses deep { when "b = 'z'"; }
  }

  rpc reset {
    input { leaf delay { type uint8; mandatory true; } }
    output { leaf done { type boolean; } }
  }
  notification fired { leaf why { type string; } }

  container acts {
    list thing {
      key n;
      leaf n { type string; }
      action poke {
        input { leaf force { type boolean; } }
        output { leaf ok { type boolean; } }
      }
      notification changed { leaf to { type string; } }
    }
  }
}
"""

ST_SUB = """
submodule st-sub {
  yang-version 1.1;
  belongs-to st { prefix st; }
  typedef sub-id { type uint8 { range "1..9"; } }
  container from-sub { leaf q { type sub-id; } }
}
"""

ST_AUG = """
module st-aug {
  yang-version 1.1;
  namespace "urn:yangd:test:st-aug";
  prefix sa;
  import st { prefix s; }
  augment "/s:plain" {
    when "s:x = 'on'";
    leaf more { type int8; }
    container deeper { leaf y { type string; } }
  }
  augment "/s:multi" { leaf tag { type string; } }
  augment "/s:leafs/s:how" {
    case by-aug { leaf aug-leaf { type string; } }
  }
}
"""

# A YANG 1.0 module (no yang-version statement).
OLD = """
module old {
  namespace "urn:yangd:test:old";
  prefix o;
  container c {
    leaf x { type string; }
    leaf-list xs { type int16; }
  }
}
"""


@pytest.fixture(scope="module")
def pkg(compile_yang: Any) -> ModuleType:
    return compile_yang([ST, ST_AUG, OLD], extra=[ST_SUB])


def ok(pkg: ModuleType, doc: dict[str, Any]) -> Any:
    """Validate a document both in Python mode and as JSON text; both must agree."""
    r = pkg.Root.model_validate(doc)
    assert pkg.Root.model_validate_json(json.dumps(doc)) == r
    return r


def bad(pkg: ModuleType, doc: dict[str, Any]) -> ValidationError:
    with pytest.raises(ValidationError):
        pkg.Root.model_validate_json(json.dumps(doc))
    with pytest.raises(ValidationError) as ei:
        pkg.Root.model_validate(doc)
    return ei.value


def node(pkg: ModuleType, path: str) -> Any:
    return pkg.B.node(path)


# ---- containers -------------------------------------------------------------------------------


def test_presence_container_flag(pkg: ModuleType) -> None:
    assert node(pkg, "/st:pres").presence is True
    assert node(pkg, "/st:plain").presence is False
    r = ok(pkg, {"st:pres": {}})
    assert r.pres is not None and r.pres.x is None
    assert ok(pkg, {}).pres is None
    bad(pkg, {"st:pres": {"y": "1"}})  # unknown member
    bad(pkg, {"st:pres": "yes"})


# ---- lists -------------------------------------------------------------------------------------


def test_multi_key_list(pkg: ModuleType) -> None:
    r = ok(pkg, {"st:multi": [{"a": "x", "b": 1}, {"a": "x", "b": 2}, {"a": "y", "b": 1}]})
    assert [(e.a, e.b) for e in r.multi] == [("x", 1), ("x", 2), ("y", 1)]
    assert r.multi[("x", 2)].b == 2
    assert ("y", 1) in r.multi and ("y", 2) not in r.multi
    err = bad(pkg, {"st:multi": [{"a": "x", "b": 1}, {"a": "x", "b": 1, "u1": "z"}]})
    assert "data-not-unique" in {e["type"] for e in err.errors()}
    bad(pkg, {"st:multi": [{"a": "x"}]})  # missing key b
    bad(pkg, {"st:multi": [{"b": 1}]})  # missing key a
    bad(pkg, {"st:multi": [{"a": "x", "b": 256}]})  # key of the wrong type
    bad(pkg, {"st:multi": {"a": "x", "b": 1}})  # a list is a JSON array


def test_list_schema_flags(pkg: ModuleType) -> None:
    m = node(pkg, "/st:multi")
    assert m.kind is Kind.LIST
    assert m.keys == ("a", "b")
    assert m.ordered_by_user is True
    assert (m.min_elements, m.max_elements) == (1, 3)
    assert m.unique == (("u1", "u2"), ("u3",))
    assert [c.name for c in m.children if c.is_key] == ["a", "b"]
    s = node(pkg, "/st:sys")
    assert s.ordered_by_user is False and (s.min_elements, s.max_elements) == (0, None)
    assert s.unique == ()


def test_user_order_is_kept(pkg: ModuleType) -> None:
    r = ok(pkg, {"st:multi": [{"a": "z", "b": 9}, {"a": "a", "b": 0}]})
    assert [e.a for e in r.multi] == ["z", "a"]
    out = json.loads(r.model_dump_json(exclude_none=True))
    assert out == {"st:multi": [{"a": "z", "b": 9}, {"a": "a", "b": 0}]}


def test_leaf_list(pkg: ModuleType) -> None:
    r = ok(pkg, {"st:tags": ["b", "a"], "st:nums": [1, 2]})
    assert r.tags == ("b", "a") and r.nums == (1, 2)
    t = node(pkg, "/st:tags")
    assert t.kind is Kind.LEAF_LIST and t.ordered_by_user and t.max_elements == 5
    assert node(pkg, "/st:nums").ordered_by_user is False
    bad(pkg, {"st:tags": ["a", "a"]})  # config leaf-list: values are unique
    bad(pkg, {"st:nums": [1, 1]})
    bad(pkg, {"st:nums": [256]})
    bad(pkg, {"st:nums": 1})  # a leaf-list is a JSON array


def test_config_false_allows_duplicates_and_keyless_lists(pkg: ModuleType) -> None:
    r = ok(pkg, {"st:state": {"history": [1, 1], "entry": [{"v": "a"}, {"v": "a"}]}})
    assert r.state.history == (1, 1)
    assert [e.v for e in r.state.entry] == ["a", "a"]


# ---- leaves ------------------------------------------------------------------------------------


def test_leaf_mandatory_default_units(pkg: ModuleType) -> None:
    m, d = node(pkg, "/st:leafs/m"), node(pkg, "/st:leafs/d")
    assert m.mandatory is True and m.default is None
    assert d.mandatory is False and d.default == ("3",) and d.units == "seconds"
    assert d.type == {"b": "uint8"}


# ---- choice / case -----------------------------------------------------------------------------


def test_choice_schema(pkg: ModuleType) -> None:
    leafs = node(pkg, "/st:leafs")
    how = leafs.child("st", "how")
    assert how.kind is Kind.CHOICE and how.default == ("by-name",) and not how.mandatory
    cases = {c.name: c for c in how.children}
    assert set(cases) == {"by-name", "by-id", "shorthand", "sh-cont", "by-aug"}
    assert all(c.kind is Kind.CASE for c in cases.values())
    assert [n.name for n in cases["shorthand"].children] == ["shorthand"]  # implicit case
    assert cases["by-aug"].module == "st-aug"
    assert leafs.child("st", "must-pick").mandatory is True
    # choice and case are transparent in data and in paths
    name = node(pkg, "/st:leafs/name")
    assert name.path() == "/st:leafs/name" and name.case_of() == (how, cases["by-name"])


def test_choice_accepts_one_case(pkg: ModuleType) -> None:
    assert ok(pkg, {"st:leafs": {"name": "a", "alias": "b"}}).leafs.alias == "b"
    assert ok(pkg, {"st:leafs": {"id": 4}}).leafs.id == 4
    assert ok(pkg, {"st:leafs": {"shorthand": True}}).leafs.shorthand is True
    assert ok(pkg, {"st:leafs": {"sh-cont": {"v": "q"}}}).leafs.sh_cont.v == "q"
    assert ok(pkg, {"st:leafs": {"st-aug:aug-leaf": "q"}}).leafs.aug_leaf == "q"
    assert ok(pkg, {"st:leafs": {"one": "1", "id": 1}}).leafs.one == "1"  # two choices


def test_choice_rejects_two_cases(pkg: ModuleType) -> None:
    err = bad(pkg, {"st:leafs": {"name": "a", "id": 1}})
    assert "how" in str(err)
    bad(pkg, {"st:leafs": {"shorthand": True, "alias": "b"}})
    bad(pkg, {"st:leafs": {"sh-cont": {}, "id": 1}})
    bad(pkg, {"st:leafs": {"st-aug:aug-leaf": "q", "name": "n"}})
    bad(pkg, {"st:leafs": {"one": "1", "two": "2"}})


# ---- anydata / anyxml ----------------------------------------------------------------------------


def test_anydata_and_anyxml_accept_any_json(pkg: ModuleType) -> None:
    doc = {"st:blob": {"x": [1, {"y": None}], "z": "s"}, "st:xmlblob": {"any": ["thing"]}}
    r = ok(pkg, doc)
    assert r.blob == {"x": [1, {"y": None}], "z": "s"}
    assert json.loads(r.model_dump_json(exclude_none=True)) == doc
    assert node(pkg, "/st:blob").kind is Kind.ANYDATA
    assert node(pkg, "/st:xmlblob").kind is Kind.ANYXML


# ---- grouping / uses / refine ----------------------------------------------------------------


def test_uses_and_refine(pkg: ModuleType) -> None:
    port, host = node(pkg, "/st:server/port"), node(pkg, "/st:server/host")
    assert port.default == ("8080",) and port.description == "Server port."
    assert host.mandatory is True
    cport, chost = node(pkg, "/st:client/port"), node(pkg, "/st:client/host")
    assert cport.default == ("80",) and cport.description == "Port."
    assert chost.mandatory is False
    assert port.module == "st" and port.type == {"b": "uint16"}
    r = ok(pkg, {"st:server": {"host": "h", "port": 1}, "st:client": {"port": 2}})
    assert (r.server.port, r.client.port) == (1, 2)
    bad(pkg, {"st:server": {"port": 70000}})


# ---- augment -------------------------------------------------------------------------------------


def test_augment_same_module_is_unqualified(pkg: ModuleType) -> None:
    extra = node(pkg, "/st:plain/extra")
    assert extra.module == "st" and extra.json_name() == "extra"
    assert ok(pkg, {"st:plain": {"x": "1", "extra": "e"}}).plain.extra == "e"


def test_augment_other_module_is_qualified(pkg: ModuleType) -> None:
    more = node(pkg, "/st:plain/st-aug:more")
    assert more.module == "st-aug" and more.json_name() == "st-aug:more"
    assert node(pkg, "/st:plain/st-aug:deeper/y").json_name() == "y"
    doc = {"st:plain": {"x": "on", "st-aug:more": 5, "st-aug:deeper": {"y": "z"}}}
    r = ok(pkg, doc)
    assert r.plain.more == 5 and r.plain.deeper.y == "z"
    assert json.loads(r.model_dump_json(exclude_none=True)) == doc
    # must be qualified by the augmenting module (by_name=False: see test_json_needs_aliases)
    with pytest.raises(ValidationError):
        pkg.Root.model_validate_json('{"st:plain": {"more": 5}}', by_name=False)
    bad(pkg, {"st:plain": {"st:more": 5}})
    bad(pkg, {"st:plain": {"st-aug:more": 500}})
    r = ok(pkg, {"st:multi": [{"a": "x", "b": 1, "st-aug:tag": "t"}]})
    assert r.multi[("x", 1)].tag == "t"


def test_augment_when_has_parent_context(pkg: ModuleType) -> None:
    (w,) = node(pkg, "/st:plain/st-aug:more").when
    assert w == XPathExpr("s:x = 'on'", "st-aug", w.prefixes, "parent")
    assert w.prefixes["s"] == "st" and w.prefixes["sa"] == "st-aug"
    assert node(pkg, "/st:plain/extra").when == ()


# ---- config false ----------------------------------------------------------------------------------


def test_config_false_is_inherited(pkg: ModuleType) -> None:
    for p in ("/st:state", "/st:state/counter", "/st:state/history", "/st:state/entry",
              "/st:state/entry/v", "/st:state/inner", "/st:state/inner/z"):
        assert node(pkg, p).config is False, p
    for p in ("/st:plain", "/st:plain/x", "/st:multi/a", "/st:plain/st-aug:more"):
        assert node(pkg, p).config is True, p
    assert node(pkg, "/st:state/entry").keys == ()
    assert pkg.Root.model_validate_json('{"st:state": {"counter": "7"}}').state.counter == 7


# ---- must / when -------------------------------------------------------------------------------------


def test_must_and_when_are_kept_as_xpath(pkg: ModuleType) -> None:
    (m,) = node(pkg, "/st:guarded").must
    assert m.xpath == "count(st:item) < 5" and m.module == "st" and m.context == "self"
    assert (m.error_message, m.error_app_tag) == ("too many items", "too-many")
    assert m.prefixes["st"] == "st"
    (m,) = node(pkg, "/st:guarded/b").must
    assert m.xpath == ". != 'bad'" and m.error_message is None
    (w,) = node(pkg, "/st:guarded/a").when
    assert (w.xpath, w.context, w.module) == ("../b = 'x'", "self", "st")
    (w,) = node(pkg, "/st:guarded/extra-a").when  # from the uses: context is the parent
    assert (w.xpath, w.context) == ("b = 'y'", "parent")
    (w,) = node(pkg, "/st:guarded/dc").when
    assert (w.xpath, w.context) == ("b = 'z'", "parent")
    assert node(pkg, "/st:guarded/dc/dl").when == ()  # only the grouping's top nodes
    # the model itself does not evaluate them (the datastore does)
    assert ok(pkg, {"st:guarded": {"a": 1, "b": "bad"}}).guarded.b == "bad"


# ---- rpc / action / notification ---------------------------------------------------------------------


def test_rpc_input_output(pkg: ModuleType) -> None:
    rpc = pkg.B.schema.find("/st:reset")
    assert rpc.kind is Kind.RPC and rpc in pkg.B.schema.rpcs
    inp = node(pkg, "/st:reset/input")
    assert inp.kind is Kind.INPUT and inp.config is False
    assert inp.child("st", "delay").mandatory is True
    In, Out = inp.cls, node(pkg, "/st:reset/output").cls
    assert In.model_validate({"delay": 3}).delay == 3
    assert In.model_validate_json('{"delay": 4}').delay == 4
    assert Out.model_validate_json('{"done": true}').done is True
    with pytest.raises(ValidationError):
        In.model_validate({"delay": 300})
    with pytest.raises(ValidationError):
        In.model_validate({"done": True})  # an output member
    with pytest.raises(ValidationError):
        Out.model_validate_json('{"done": "yes"}')


def test_notification(pkg: ModuleType) -> None:
    n = pkg.B.schema.find("/st:fired")
    assert n.kind is Kind.NOTIFICATION and n in pkg.B.schema.notifications
    assert n.cls.model_validate_json('{"why": "because"}').why == "because"
    with pytest.raises(ValidationError):
        n.cls.model_validate_json('{"why": 1}')


def test_action_and_nested_notification(pkg: ModuleType) -> None:
    poke = node(pkg, "/st:acts/thing/poke")
    assert poke.kind is Kind.ACTION
    assert [o.name for o in node(pkg, "/st:acts/thing").operations()] == ["poke", "changed"]
    In = node(pkg, "/st:acts/thing/poke/input").cls
    Out = node(pkg, "/st:acts/thing/poke/output").cls
    assert In.model_validate_json('{"force": true}').force is True
    assert Out.model_validate_json('{"ok": false}').ok is False
    with pytest.raises(ValidationError):
        In.model_validate_json('{"force": 1}')
    ch = node(pkg, "/st:acts/thing/changed").cls
    assert ch.model_validate_json('{"to": "x"}').to == "x"
    # an action is not data
    bad(pkg, {"st:acts": {"thing": [{"n": "a", "poke": {}}]}})


# ---- submodules, YANG 1.0 ----------------------------------------------------------------------------


def test_submodule_include_and_belongs_to(pkg: ModuleType) -> None:
    q = node(pkg, "/st:from-sub/q")
    assert q.module == "st"  # submodule nodes belong to the main module's namespace
    assert q.type["td"] == "st:sub-id" and q.type["range"] == [[1, 9]]
    assert ok(pkg, {"st:from-sub": {"q": 9}}).from_sub.q == 9
    bad(pkg, {"st:from-sub": {"q": 10}})
    bad(pkg, {"st-sub:from-sub": {"q": 1}})
    info = pkg.B.schema.modules["st"]
    assert [s[0] for s in info.submodules] == ["st-sub"]
    assert "st-sub" not in pkg.B.schema.modules


def test_yang_version_1_module(pkg: ModuleType) -> None:
    assert pkg.B.schema.modules["old"].implemented is True
    r = ok(pkg, {"old:c": {"x": "1", "xs": [-1, 2]}})
    assert r.c.xs == (-1, 2)
    bad(pkg, {"old:c": {"xs": [40000]}})
    bad(pkg, {"old:c": {"xs": [1, 1]}})


def test_module_info(pkg: ModuleType) -> None:
    mods = pkg.B.schema.modules
    assert mods["st"].namespace == "urn:yangd:test:st" and mods["st"].prefix == "st"
    assert mods["st-aug"].implemented is True
    assert pkg.B.schema.namespaces["urn:yangd:test:st-aug"] == "st-aug"


# ---- Python names ------------------------------------------------------------------------------

NAMES = """
module nm {
  yang-version 1.1;
  namespace "urn:yangd:test:nm";
  prefix nm;
  container c {
    leaf str { type string; }
    leaf int { type int8; }
    leaf a-b { type string; }
    leaf a_b { type string; }
    leaf Field { type string; }
    leaf model-x { type string; }
    leaf copy { type string; }
    leaf class { type string; }
    leaf u { type union { type int8; type string; } }
    container decimal { leaf y { type decimal64 { fraction-digits 1; } } }
    list literal { key k; leaf k { type string; } }
  }
}
"""
NAMES_AUG = """
module nm-aug {
  yang-version 1.1;
  namespace "urn:yangd:test:nm-aug";
  prefix na;
  import nm { prefix n; }
  augment "/n:c" { leaf str { type int8; } }
}
"""


def test_python_names_never_shadow_the_generated_code(compile_yang: Any) -> None:
    pkg = compile_yang([NAMES, NAMES_AUG])
    doc = {"nm:c": {"str": "s", "int": 1, "a-b": "1", "a_b": "2", "Field": "f", "model-x": "m",
                    "copy": "c", "class": "k", "u": 5, "decimal": {"y": "1.5"},
                    "literal": [{"k": "x"}], "nm-aug:str": 3}}
    c = pkg.Root.model_validate_json(json.dumps(doc)).c
    assert (c.str_, c.int_, c.class_, c.u, c.nm_aug__str) == ("s", 1, "k", 5, 3)
    assert {c.a_b, c.a_b_} == {"1", "2"}
    out = json.loads(pkg.Root.model_validate_json(json.dumps(doc)).model_dump_json(exclude_none=True))
    assert out == doc
    with pytest.raises(ValidationError):
        pkg.Root.model_validate_json('{"nm:c": {"nm-aug:str": "s"}}')


# ---- known gaps (RFC 7951 strictness of model_validate_json) ---------------------------------


def test_json_needs_aliases(pkg: ModuleType) -> None:
    """The RFC 7951 decoder takes exact member names only, never Python field names."""
    from models.codec.errors import InstanceError
    from models.codec.json import decode_json

    with pytest.raises(InstanceError) as e:
        decode_json(pkg.Root, '{"st:plain": {"more": 5}}')
    assert e.value.issues[0].tag == "unknown-element"


def test_json_null_is_not_a_value(pkg: ModuleType) -> None:
    from models.codec.errors import InstanceError
    from models.codec.json import decode_json

    with pytest.raises(InstanceError) as e:
        decode_json(pkg.Root, '{"st:plain": {"x": null}}')
    assert e.value.issues[0].path == "/st:plain/x"
    assert e.value.issues[0].tag == "invalid-value"
