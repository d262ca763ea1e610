"""Defaults (RFC 7950 §7.6.1, §7.7.2, §7.9.3) in views and in XPath."""

from __future__ import annotations

from types import ModuleType

import pytest

from models.defaults import default_of, with_defaults
from models.instance import root_node
from models.xpath import parse, resolve_prefixes
from models.xpath.evaluate import evaluate

MODULE = """
module df {
  yang-version 1.1;
  namespace "urn:df";
  prefix df;
  identity base;
  identity one { base base; }
  container top {
    leaf mtu { type uint16; default 1500; }
    leaf kind { type identityref { base base; } default df:one; }
    leaf-list tags { type string; default "a"; default "b"; }
    container inner { leaf depth { type int8; default -3; } }
    container pres { presence "on"; leaf x { type string; default "px"; } }
    choice how {
      default auto;
      case auto { leaf speed { type string; default "fast"; } }
      case manual { leaf rate { type uint8; default 7; } leaf note { type string; } }
    }
    list entry { key k; leaf k { type string; } leaf v { type boolean; default true; } }
    leaf plain { type string; }
  }
}
"""


@pytest.fixture(scope="module")
def df(compile_yang) -> ModuleType:  # type: ignore[no-untyped-def]
    return compile_yang({"df.yang": MODULE})


def test_typed_defaults(df: ModuleType) -> None:
    b = df.B
    assert default_of(b, b.node("/df:top/mtu")) == 1500
    assert default_of(b, b.node("/df:top/kind")) == "df:one"
    assert default_of(b, b.node("/df:top/tags")) == ("a", "b")
    assert default_of(b, b.node("/df:top/plain")) is None


def test_with_defaults_view_fills_what_applies(df: ModuleType) -> None:
    tree = df.Root.model_validate({"df:top": {"entry": [{"k": "e1"}]}})
    full = with_defaults(df.B, df.B.schema.root, tree)
    top = full.top
    assert (top.mtu, top.kind, top.tags, top.inner.depth) == (1500, "df:one", ("a", "b"), -3)
    assert top.speed == "fast" and top.rate is None  # the default case only
    assert top.pres is None  # a presence container is never implied
    assert top.entry["e1"].v is True
    assert tree.top.mtu is None  # the stored tree is untouched


def test_active_case_takes_over_defaults(df: ModuleType) -> None:
    tree = df.Root.model_validate({"df:top": {"note": "hand", "pres": {}}})
    top = with_defaults(df.B, df.B.schema.root, tree).top
    assert top.speed is None and top.rate == 7 and top.note == "hand"
    assert top.pres.x == "px"


def test_xpath_sees_defaults(df: ModuleType) -> None:
    tree = df.Root.model_validate({"df:top": {"plain": "x"}})
    root = root_node(tree, df.B)

    def ev(expr: str) -> object:
        ast = resolve_prefixes(parse(expr), {"df": "df"}, "df")
        return evaluate(ast, root, schema=df.B.schema)

    assert ev("/df:top/df:mtu = 1500") is True
    assert ev("/df:top/df:inner/df:depth + 3 = 0") is True
    assert ev("count(/df:top/df:tags)") == 2.0
    assert ev("/df:top/df:speed = 'fast'") is True
    assert ev("count(/df:top/df:rate)") == 0.0
    assert ev("count(/df:top/df:pres)") == 0.0
