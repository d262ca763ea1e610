"""Defaults under a when (RFC 7950 §7.6.1, §7.7.2, §7.9.3, §7.21.5): in use only while every
when on the node, on its choices and cases, and on the uses or augment it came from holds.

What this covers: report-all views (RFC 6243 §3.1, ``with_defaults``), what XPath sees
(``InstanceNode``, RFC 7950 §6.4.1), and a must reading such a default in full validation.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from datastore.validate import validate
from models.defaults import with_defaults
from models.instance import find, root_node
from models.xpath import parse, resolve_prefixes
from models.xpath.evaluate import evaluate
from tests.models.conftest import CompileYang

MODULE = """
module dw {
  yang-version 1.1;
  namespace "urn:dw";
  prefix dw;
  grouping g {
    leaf from-uses { type uint8; default 2; }
  }
  container top {
    leaf mode { type string; }
    leaf own { when "../mode = 'on'"; type uint8; default 1; }
    leaf-list tags { when "../mode = 'on'"; type string; default "t1"; default "t2"; }
    uses g { when "mode = 'on'"; }
    choice by-choice {
      when "mode = 'on'";
      default a;
      case a { leaf in-choice { type uint8; default 3; } }
      case b { leaf other { type string; } }
    }
    choice by-case {
      default c;
      case c { when "mode = 'on'"; leaf in-case { type uint8; default 4; } }
      case d { leaf else { type string; } }
    }
    container np {
      when "../mode = 'on'";
      leaf inner { type uint8; default 5; }
      container deeper { leaf deepest { type uint8; default 6; } }
    }
    container plain-np {
      leaf always { type uint8; default 7; }
      leaf gated { when "../../mode = 'on'"; type uint8; default 10; }
    }
    leaf self-count { when "count(../self-count) = 1"; type uint8; default 8; }
    leaf probe { type string; must "not(../own = 1)"; }
    list item {
      key k;
      leaf k { type string; }
      leaf kind { type string; }
      leaf speed { when "../kind = 'fast'"; type uint16; default 100; }
    }
  }
}
"""

AUGMENT = """
module dw-aug {
  yang-version 1.1;
  namespace "urn:dw-aug";
  prefix dwa;
  import dw { prefix dw; }
  augment "/dw:top" {
    when "dw:mode = 'on'";
    leaf from-aug { type uint8; default 9; }
  }
}
"""

WHEN_LEAVES = ("own", "from_uses", "in_choice", "in_case", "from_aug")


@pytest.fixture(scope="module")
def dw(compile_yang: CompileYang) -> ModuleType:
    return compile_yang([MODULE, AUGMENT])


def _full(dw: ModuleType, tree: Any) -> Any:
    """report-all of the whole tree (typed Any: the generated classes are imported at run time)."""
    full: Any = with_defaults(dw.B, dw.B.schema.root, tree)
    return full


def _view(dw: ModuleType, tree: Any, path: str, obj: Any, parent: str = "/") -> Any:
    """report-all of config ``obj`` at schema ``path`` alone (as a RESTCONF resource), the
    instance of its parent (at instance path ``parent``) given: the whens' XPath reads the
    whole tree."""
    root = root_node(tree, dw.B)
    at = root if parent == "/" else find(root, parent)
    assert at is not None
    got: Any = with_defaults(dw.B, dw.B.node(path), obj, True, parent=at)
    return got


def _tree(dw: ModuleType, mode: str, **more: Any) -> Any:
    return dw.Root.model_validate({"dw:top": {"mode": mode, **more}})


def _ev(dw: ModuleType, tree: Any, expr: str) -> object:
    ast = resolve_prefixes(parse(expr), {"dw": "dw", "dwa": "dw-aug"}, "dw")
    return evaluate(ast, root_node(tree, dw.B), schema=dw.B.schema)


def test_report_all_omits_defaults_under_a_false_when(dw: ModuleType) -> None:
    top = _full(dw, _tree(dw, "off")).top
    assert {n: getattr(top, n) for n in WHEN_LEAVES} == dict.fromkeys(WHEN_LEAVES)
    assert top.tags is None
    assert top.np is None  # an NP container under a false when does not exist
    assert (top.plain_np.always, top.plain_np.gated) == (7, None)  # no when on always
    assert top.self_count == 8  # its when sees the dummy node standing for it (§7.21.5)


def test_report_all_fills_defaults_under_a_true_when(dw: ModuleType) -> None:
    top = _full(dw, _tree(dw, "on")).top
    assert (top.own, top.from_uses, top.in_choice, top.in_case, top.from_aug) == (1, 2, 3, 4, 9)
    assert top.tags == ("t1", "t2")
    assert (top.np.inner, top.np.deeper.deepest) == (5, 6)
    assert top.plain_np.gated == 10  # its when reads above the implicit NP container


def test_report_all_config_only_and_subtree(dw: ModuleType) -> None:
    tree = _tree(dw, "off")
    top = _view(dw, tree, "/dw:top", tree.top)
    assert top.own is None and top.np is None and top.plain_np.always == 7
    on = _tree(dw, "on")
    top = _view(dw, on, "/dw:top", on.top)
    assert top.own == 1 and top.np.inner == 5


def test_when_per_list_entry(dw: ModuleType) -> None:
    tree = _tree(dw, "off", item=[{"k": "a", "kind": "fast"}, {"k": "b", "kind": "slow"}, {"k": "c"}])
    items = _full(dw, tree).top.item
    assert [items[k].speed for k in ("a", "b", "c")] == [100, None, None]
    one = [_view(dw, tree, "/dw:top/dw:item", tree.top.item[k], "/dw:top") for k in ("a", "b")]
    assert [e.speed for e in one] == [100, None]
    assert _ev(dw, tree, "count(/dw:top/dw:item/dw:speed)") == 1.0
    assert _ev(dw, tree, "/dw:top/dw:item[dw:k = 'a']/dw:speed = 100") is True


def test_xpath_sees_no_default_under_a_false_when(dw: ModuleType) -> None:
    off, on = _tree(dw, "off"), _tree(dw, "on")
    paths = ["/dw:top/dw:own", "/dw:top/dw:from-uses", "/dw:top/dw:in-choice", "/dw:top/dw:in-case",
             "/dw:top/dwa:from-aug", "/dw:top/dw:tags", "/dw:top/dw:np", "/dw:top/dw:np/dw:inner",
             "/dw:top/dw:np/dw:deeper/dw:deepest"]
    for p in paths:
        assert _ev(dw, off, f"count({p})") == 0.0, p
        assert _ev(dw, on, f"count({p}) > 0") is True, p
    assert _ev(dw, on, "/dw:top/dw:own + /dw:top/dwa:from-aug") == 10.0
    assert _ev(dw, off, "/dw:top/dw:plain-np/dw:always = 7") is True
    assert _ev(dw, off, "count(/dw:top/dw:plain-np/dw:gated)") == 0.0
    assert _ev(dw, on, "/dw:top/dw:plain-np/dw:gated = 10") is True
    assert _ev(dw, off, "/dw:top/dw:self-count = 8") is True


def test_explicit_value_is_reported_whatever_the_default(dw: ModuleType) -> None:
    # only the default depends on the when: a stored value is data (validation refuses it)
    tree = _tree(dw, "off", own=42)
    assert _full(dw, tree).top.own == 42
    assert _ev(dw, tree, "/dw:top/dw:own = 42") is True


def test_must_reading_a_default_under_a_false_when(dw: ModuleType) -> None:
    # probe's must fails exactly when own's default (1) is in use
    assert validate(dw.B, _tree(dw, "off", probe="x")) == []
    errors = validate(dw.B, _tree(dw, "on", probe="x"))
    assert [e.app_tag for e in errors] == ["must-violation"]
    assert errors[0].path == "/dw:top/probe"
