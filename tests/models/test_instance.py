"""Tests for the data-tree cursor (models.instance): navigation, values, identity, paths."""

from __future__ import annotations

import json
from types import ModuleType

import pytest

from models.instance import InstanceNode, axis_nodes, find, root_node
from tests.models.conftest import CompileYang
from tests.models.test_xpath_eval import DOC, XT, _yang


@pytest.fixture(scope="module")
def pkg(compile_yang: CompileYang) -> ModuleType:
    return compile_yang({"xt.yang": XT, "ietf-interfaces.yang": _yang("ietf-interfaces"),
                         "iana-if-type.yang": _yang("iana-if-type")})


@pytest.fixture(scope="module")
def root(pkg: ModuleType) -> InstanceNode:
    return root_node(pkg.Root.model_validate_json(json.dumps(DOC)), pkg.B)


def get(root: InstanceNode, path: str) -> InstanceNode:
    n = find(root, path)
    assert n is not None, path
    return n


def all_nodes(root: InstanceNode) -> list[InstanceNode]:
    return [root, *axis_nodes(root, "descendant")]


def test_root(root: InstanceNode) -> None:
    assert root.schema is None and root.parent is None and root.path() == "/"
    assert root.root() is root
    got = [c.schema for c in root.children()]
    expected = [s for s in root.children_schema.data_children()
                if s.name in ("interfaces", "top", "more")]
    assert got == expected and len(got) == 3  # schema order of the top-level nodes


def test_children_in_document_order(root: InstanceNode) -> None:
    top = get(root, "/xt:top")
    names = [c.schema.name for c in top.children() if c.schema is not None]
    assert names == ["tags"] * 3 + ["item"] * 3 + ["pair"] * 3 + ["ref-a", "ref-b", "ref-v"] + [
        "log"] * 2
    tags = top.child_nodes("xt", "tags")
    assert [(t.value, t.key, t.position) for t in tags] == [("x", "x", 0), ("y", "y", 1),
                                                            ("x2", "x2", 2)]
    items = top.child_nodes("xt", "item")
    assert [(i.key, i.position) for i in items] == [((1,), 0), ((2,), 1), ((3,), 2)]
    assert top.child_nodes("xt", "nope") == [] and top.child_nodes("other", "item") == []
    leaf = get(root, "/xt:top/ref-b")
    assert list(leaf.children()) == [] and leaf.child_nodes("xt", "x") == []
    assert all(c.parent is top and c.depth == 2 for c in top.children())


def test_entry_lookup(root: InstanceNode) -> None:
    top = get(root, "/xt:top")
    item_sn = top.child_schema("xt", "item")
    assert item_sn is not None
    e = top.entry(item_sn, (2,))
    assert e is not None and e.position == -1  # unknown until needed
    assert e == top.child_nodes("xt", "item")[1] and e.list_position() == 1
    assert top.entry(item_sn, (9,)) is None


@pytest.mark.parametrize(("path", "text"), [
    ("/xt:top/item[id='1']/price", "1.5"),              # decimal64 canonical
    ("/xt:top/item[id='2']/price", "7.0"),
    ("/xt:top/item[id='1']/flags", "a c"),              # bits in position order
    ("/xt:top/item[id='1']/on", "true"),
    ("/xt:top/item[id='3']/on", "false"),
    ("/xt:top/item[id='1']/marker", ""),                # empty
    ("/xt:top/item[id='1']/kind", "xt:lion"),           # identityref, module-qualified
    ("/xt:top/item[id='1']/id", "1"),
    ("/xt:top/item[id='1']/ptr", "/ietf-interfaces:interfaces/interface[name='lo']/type"),
    ("/ietf-interfaces:interfaces/interface[name='eth0']/type", "iana-if-type:ethernetCsmacd"),
    ("/xt:top/tags[.='y']", "y"),
])
def test_leaf_text(root: InstanceNode, path: str, text: str) -> None:
    n = get(root, path)
    assert n.text() == text and n.string_value() == text


def test_interior_string_value(root: InstanceNode) -> None:
    assert get(root, "/xt:top/pair[a='p'][b='1']").string_value() == "p1p1"
    assert get(root, "/xt:top/item[id='3']").string_value() == "3bblue0.25false1"
    assert get(root, "/xt:top/log[2]").text() == ""
    blob = get(root, "/xt:more/blob")
    assert blob.text() == blob.string_value() == "1xtrue" and list(blob.children()) == []


@pytest.mark.parametrize("path", [
    "/ietf-interfaces:interfaces",
    "/ietf-interfaces:interfaces/interface[name='eth0']",
    "/ietf-interfaces:interfaces/interface[name='eth0']/enabled",
    "/xt:top/item[id='2']/name",
    "/xt:top/pair[a='q'][b='1']/v",
    "/xt:top/tags[.='x2']",
    "/xt:top/log[2]/msg",
    "/xt:more/named[k=\"it's\"]",
    "/xt:more/named[k='say \"hi\"']/k",
    "/xt:more/nums[.='6']",
])
def test_path_format_and_find(root: InstanceNode, path: str) -> None:
    n = get(root, path)
    assert n.path() == path
    assert repr(n) == f"InstanceNode({path!r})"


def test_find_round_trips_every_node(root: InstanceNode) -> None:
    nodes = all_nodes(root)
    assert len(nodes) > 40
    seen: set[str] = set()
    for n in nodes[1:]:
        path = n.path()
        found = find(root, path)
        assert found is not None and found.path() == path
        if path not in seen:  # a repeated state leaf-list value names its first occurrence
            assert found == n, path
        seen.add(path)
    assert len(seen) == len(nodes) - 2  # only /xt:more/nums[.='5'] repeats


@pytest.mark.parametrize("path", [
    "/xt:top/item[id='9']", "/xt:top/item[id='x']", "/xt:top/item", "/xt:top/item[name='a']",
    "/xt:top/nope", "/nope:top", "/xt:top/tags[.='zz']", "/xt:top/log[3]", "/xt:top/log",
    "not a path", "/xt:top/pair[a='p']", "/xt:top/item[id='1']/name/x",
])
def test_find_missing(root: InstanceNode, path: str) -> None:
    assert find(root, path) is None


def test_find_lenient_forms(root: InstanceNode) -> None:
    assert get(root, "/xt:top/item[1]").path() == "/xt:top/item[id='1']"
    assert get(root, "/xt:top/pair[b='2'][a='p']").path() == "/xt:top/pair[a='p'][b='2']"
    assert get(root, "/xt:top/xt:ref-a").path() == "/xt:top/ref-a"
    # find starts at the document root whatever node it is given
    assert find(get(root, "/xt:top/ref-a"), "/xt:top/ref-b") == get(root, "/xt:top/ref-b")


def test_identity_and_hash(root: InstanceNode) -> None:
    a = get(root, "/xt:top/item[id='2']/name")
    b = next(c for c in get(root, "/xt:top").child_nodes("xt", "item")[1].children()
             if c.schema is not None and c.schema.name == "name")
    assert a is not b and a == b and hash(a) == hash(b)
    assert len({a, b, get(root, "/xt:top/item[id='3']/name")}) == 2
    # equal values in different places are different nodes
    assert get(root, "/xt:top/ref-a") != get(root, "/xt:top/pair[a='p'][b='1']/a")
    # keyless entries and leaf-list entries are told apart by position
    logs = get(root, "/xt:top").child_nodes("xt", "log")
    assert logs[0] != logs[1] and logs[0] == get(root, "/xt:top/log[1]")
    assert a != "name" and root == root_node(root.value, root.bundle)
    nums = get(root, "/xt:more").child_nodes("xt", "nums")
    assert [n.value for n in nums] == [5, 5, 6] and nums[0] != nums[1]
    assert len(set(nums)) == 3 and get(root, "/xt:more/nums[.='5']") == nums[0]


def test_document_order_key(root: InstanceNode) -> None:
    nodes = all_nodes(root)
    shuffled = sorted(nodes, key=lambda n: n.path()[::-1])
    assert sorted(shuffled, key=InstanceNode.order_key) == nodes


def test_root_over_a_subtree_model(pkg: ModuleType, root: InstanceNode) -> None:
    top = get(root, "/xt:top")
    sub = root_node(top.value, pkg.B)
    assert sub.children_schema is top.schema
    assert [c.schema.name for c in sub.children() if c.schema is not None][:2] == ["tags", "tags"]
