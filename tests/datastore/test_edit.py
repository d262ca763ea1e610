"""The edit engine (datastore/edit.py): NETCONF edit-config semantics, RFC 6241 §7.2.

Test module: tests/datastore/yang/dstest-edit.yang (+ dstest-edit-aug.yang augmenting it).
Every operation on every node kind, default-operation, operation inheritance, the error
options, exact rpc-error tags and paths, ordered-by user inserts, choices, the change list
(replay, encode/decode, diff) and that a failed edit changes nothing (also via Session).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from datastore.changes import decode_changes, encode_changes, replay
from datastore.datastores import Datastores
from datastore.diff import diff
from datastore.edit import EditResult, apply_edit
from datastore.path import format_path, parse_path
from datastore.session import Session
from datastore.store import Store
from datastore.tree import get_at, remove_at
from models.bundle import Bundle, YangModel
from models.edit import EditNode, Op, edit_from_json
from models.errors import YangdError, YangdErrors
from models.schema import Kind, SchemaNode

T = "/dstest-edit:top"


@pytest.fixture(scope="module")
def pkg(dstest_package: Any) -> ModuleType:
    return dstest_package("dstest-edit", "dstest-edit-aug")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def B(pkg: ModuleType) -> Bundle:
    return pkg.B  # type: ignore[no-any-return]


BASE: dict[str, Any] = {
    "name": "n",
    "np": {"a": "A", "b": 3},
    "pres": {"x": "X", "inner": {"y": "Y"}},
    "item": [{"id": "a", "val": 1, "sub": {"z": "Z"}, "tags": ["t1", "t2"]}, {"id": "b", "val": 2}],
    "pair": [{"k1": "a", "k2": 2, "v": "v"}],
    "rule": [{"name": "r1"}, {"name": "r2", "action": "drop"}, {"name": "r3"}],
    "seq": ["x", "y", "z"],
    "sys": [1, 2],
    "tcp-port": 80,
    "tcp-opts": "o",
    "blob": {"k": 1},
    "dstest-edit-aug:extra": "E",
    "dstest-edit-aug:ext": {"note": "N"},
}


def tree_of(pkg: ModuleType, top: dict[str, Any] | None = None) -> YangModel:
    return pkg.Root.model_validate({"dstest-edit:top": BASE if top is None else top})  # type: ignore[no-any-return]


@pytest.fixture
def base(pkg: ModuleType) -> YangModel:
    return tree_of(pkg)


# ---- a compact way to write edit trees --------------------------------------------------
@dataclass
class S:
    """Spec of one edit node: name (``module:name`` where the module changes), children, op,
    value (leaf / leaf-list entry / anydata), key (list entry), insert and anchor."""

    name: str
    kids: tuple[S, ...] = ()
    op: str | None = None
    v: Any = None
    k: tuple[Any, ...] | None = None
    ins: str | None = None
    at: tuple[Any, ...] | None = None


def e(name: str, *kids: S, op: str | None = None, v: Any = None, k: tuple[Any, ...] | None = None,
      ins: str | None = None, at: tuple[Any, ...] | None = None) -> S:
    return S(name, kids, op, v, k, ins, at)


def top(*kids: S, op: str | None = None) -> S:
    return e("dstest-edit:top", *kids, op=op)


def build(parent: SchemaNode, s: S) -> EditNode:
    mod, _, name = s.name.rpartition(":")
    sn = parent.data_child(mod or parent.module, name)
    assert sn is not None, s.name
    kids: list[EditNode] = []
    if sn.kind is Kind.LIST:
        assert s.k is not None, f"{s.name} needs a key"
        named = {c.name for c in s.kids}
        for kname, kv in zip(sn.keys, s.k, strict=True):
            if kname not in named:  # the key leaves travel with the entry, as in XML
                kn = sn.child(sn.module, kname)
                assert kn is not None
                kids.append(EditNode(kn, value=kv))
    kids += [build(sn, c) for c in s.kids]
    return EditNode(sn, Op(s.op) if s.op else None, value=s.v, key=s.k, children=kids,
                    insert=s.ins, anchor=s.at)


def edits(B: Bundle, *specs: S) -> list[EditNode]:
    return [build(B.schema.root, s) for s in specs]


def run(B: Bundle, tree: YangModel, *specs: S, dop: str = "merge", eo: str = "stop-on-error") -> EditResult:
    """apply_edit, checking the invariants every successful edit must keep."""
    before = tree.model_dump_json()
    res = apply_edit(B, tree, edits(B, *specs), Op(dop), eo)
    assert tree.model_dump_json() == before  # the input tree is never touched
    check_changes(B, tree, res)
    return res


def fail(B: Bundle, tree: YangModel, *specs: S, dop: str = "merge", eo: str = "stop-on-error") -> list[YangdError]:
    before = tree.model_dump_json()
    with pytest.raises(YangdErrors) as ei:
        apply_edit(B, tree, edits(B, *specs), Op(dop), eo)
    assert tree.model_dump_json() == before
    return ei.value.errors


def check_changes(B: Bundle, old: YangModel, res: EditResult) -> None:
    """The change list replays to the new tree, survives encode/decode, and diff agrees."""
    new_json = res.tree.model_dump_json()
    assert replay(old, res.changes).model_dump_json() == new_json
    decoded = decode_changes(B, encode_changes(B, res.changes))
    assert [(c.op, fmt(B, c)) for c in decoded] == [(c.op, fmt(B, c)) for c in res.changes]
    assert replay(old, decoded).model_dump_json() == new_json
    d = diff(B.schema.root, old, res.tree)
    assert replay(old, d).model_dump_json() == new_json
    assert bool(d) == bool(res.changes) or new_json == old.model_dump_json()
    # the re-validated tree is a valid instance (choices, keys)
    assert type(res.tree).model_validate_json(new_json).model_dump_json() == new_json


def fmt(B: Bundle, c: Any) -> str:
    return format_path(B, c.path)


def ops(B: Bundle, res: EditResult) -> list[tuple[str, str]]:
    return [(c.op, fmt(B, c)) for c in res.changes]


def js(tree: YangModel) -> dict[str, Any]:
    """The RFC 7951 JSON of /dstest-edit:top."""
    return tree.model_dump(mode="json", exclude_none=True).get("dstest-edit:top", {})  # type: ignore[no-any-return]


def at(B: Bundle, tree: YangModel, path: str) -> Any:
    return get_at(tree, parse_path(B, path))


def errs(errors: list[YangdError]) -> list[tuple[str, str | None, str | None]]:
    return [(x.tag, x.path, x.app_tag) for x in errors]


# ---- every operation x node kind ---------------------------------------------------------
# kind → (edit spec for an op, instance path of the target, how to make the target absent)
KINDS: dict[str, tuple[Any, str]] = {
    "leaf": (lambda op: top(e("name", op=op, v="new")), f"{T}/name"),
    "container": (lambda op: top(e("np", e("a", v="new"), op=op)), f"{T}/np"),
    "presence": (lambda op: top(e("pres", e("x", v="new"), op=op)), f"{T}/pres"),
    "list-entry": (lambda op: top(e("item", e("val", v=9), op=op, k=("a",))), f"{T}/item[id='a']"),
    "leaf-list-entry": (lambda op: top(e("sys", op=op, v=2)), f"{T}/sys[.='2']"),
    "anydata": (lambda op: top(e("blob", op=op, v={"new": [1]})), f"{T}/blob"),
    "augment-leaf": (lambda op: top(e("dstest-edit-aug:extra", op=op, v="new")), f"{T}/dstest-edit-aug:extra"),
}

# what the target looks like afterwards, by kind, when the edit put it there
NEW = {
    "leaf": "new",
    "container": {"a": "new"},
    "presence": {"x": "new"},
    "list-entry": {"id": "a", "val": 9},
    "leaf-list-entry": 2,
    "anydata": {"new": [1]},
    "augment-leaf": "new",
}
# merged into an existing target
MERGED = {
    "leaf": "new",
    "container": {"a": "new", "b": 3},
    "presence": {"x": "new", "inner": {"y": "Y"}},
    "list-entry": {"id": "a", "val": 9, "sub": {"z": "Z"}, "tags": ["t1", "t2"]},
    "leaf-list-entry": 2,
    "anydata": {"new": [1]},
    "augment-leaf": "new",
}


def dumped(v: Any) -> Any:
    return v.model_dump(mode="json", exclude_none=True) if isinstance(v, YangModel) else v


@pytest.mark.parametrize("present", [True, False], ids=["present", "absent"])
@pytest.mark.parametrize("op", ["merge", "replace", "create", "delete", "remove"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_operation_matrix(B: Bundle, base: YangModel, kind: str, op: str, present: bool) -> None:
    spec, path = KINDS[kind]
    tree = base if present else remove_at(base, parse_path(B, path))
    assert (at(B, tree, path) is not None) is present
    if op == "create" and present:
        assert errs(fail(B, tree, spec(op))) == [("data-exists", path, None)]
        return
    if op == "delete" and not present:
        assert errs(fail(B, tree, spec(op))) == [("data-missing", path, None)]
        return
    res = run(B, tree, spec(op))
    got = dumped(at(B, res.tree, path))
    if op in ("delete", "remove"):
        assert got is None
        assert ops(B, res) == ([("delete", path)] if present else [])
        return
    expected = MERGED[kind] if op == "merge" and present else NEW[kind]
    assert got == expected
    if not present:
        assert ops(B, res) == [("create", path)]
    elif kind == "leaf-list-entry":
        assert ops(B, res) == []  # the value is already there
    elif kind in ("container", "presence") and op == "merge":
        assert ops(B, res) == [("modify", f"{path}/{'a' if kind == 'container' else 'x'}")]
    elif kind == "list-entry" and op == "merge":
        assert ops(B, res) == [("modify", f"{path}/val")]
    else:
        assert ops(B, res) == [("modify", path)]
    # nothing else changed
    rest = {k: v for k, v in js(res.tree).items() if k not in ("name", "np", "pres", "item", "sys", "blob",
                                                                 "dstest-edit-aug:extra")}
    assert rest == {k: v for k, v in js(tree).items() if k not in ("name", "np", "pres", "item", "sys", "blob",
                                                                   "dstest-edit-aug:extra")}


def test_merge_same_leaf_value_records_nothing(B: Bundle, base: YangModel) -> None:
    res = run(B, base, top(e("name", v="n"), e("np", e("a", v="A"))))
    assert res.changes == [] and res.tree.model_dump_json() == base.model_dump_json()


def test_delete_last_child_of_np_container_removes_it(B: Bundle, base: YangModel) -> None:
    res = run(B, base, top(e("dstest-edit-aug:ext", e("note", op="delete"))))
    assert "dstest-edit-aug:ext" not in js(res.tree)  # RFC 7950 §7.5.1: no meaning of its own
    assert ops(B, res) == [("delete", f"{T}/dstest-edit-aug:ext/note")]


def test_presence_container_survives_empty(B: Bundle, base: YangModel) -> None:
    res = run(B, base, top(e("pres", e("x", op="delete"), e("inner", op="remove"))))
    assert js(res.tree)["pres"] == {}
    res = run(B, remove_at(base, parse_path(B, f"{T}/pres")), top(e("pres", op="create")))
    assert js(res.tree)["pres"] == {} and ops(B, res) == [("create", f"{T}/pres")]


def test_multi_key_list(B: Bundle, base: YangModel) -> None:
    p = f"{T}/pair[k1='a'][k2='2']"
    res = run(B, base, top(e("pair", e("v", v="w"), k=("a", 2)), e("pair", e("v", v="new"), k=("a", 3))))
    assert js(res.tree)["pair"] == [{"k1": "a", "k2": 2, "v": "w"}, {"k1": "a", "k2": 3, "v": "new"}]
    assert ops(B, res) == [("modify", f"{p}/v"), ("create", f"{T}/pair[k1='a'][k2='3']")]
    assert errs(fail(B, base, top(e("pair", op="create", k=("a", 2))))) == [("data-exists", p, None)]
    assert errs(fail(B, base, top(e("pair", op="delete", k=("b", 2))))) == [
        ("data-missing", f"{T}/pair[k1='b'][k2='2']", None)]
    assert errs(fail(B, base, top(e("pair", e("v", op="create", v="q"), k=("a", 2))))) == [
        ("data-exists", f"{p}/v", None)]


def test_leaves_with_defaults(B: Bundle, base: YangModel) -> None:
    # a default is not stored: deleting a leaf only holding its default is data-missing
    assert errs(fail(B, base, top(e("mtu", op="delete")))) == [("data-missing", f"{T}/mtu", None)]
    assert run(B, base, top(e("mtu", op="remove"))).changes == []
    res = run(B, base, top(e("mtu", op="create", v=1500), e("np", e("b", op="delete"))))
    assert js(res.tree)["mtu"] == 1500 and js(res.tree)["np"] == {"a": "A"}
    assert ops(B, res) == [("create", f"{T}/mtu"), ("delete", f"{T}/np/b")]


def test_edit_from_json(B: Bundle, base: YangModel) -> None:
    node = B.node(T)
    ed = edit_from_json(B, node, {"item": [{"id": "c", "val": 3, "dstest-edit-aug:color": "red"}],
                                  "dstest-edit-aug:ext": {"note": "M"}, "short": "s"})
    res = apply_edit(B, base, ed)
    check_changes(B, base, res)
    assert js(res.tree)["item"][-1] == {"id": "c", "val": 3, "dstest-edit-aug:color": "red"}
    assert js(res.tree)["dstest-edit-aug:ext"] == {"note": "M"} and js(res.tree)["short"] == "s"
    assert ("create", f"{T}/item[id='c']") in ops(B, res)
    assert ("delete", f"{T}/tcp-port") in ops(B, res)
    item = B.node(f"{T}/item")
    res2 = apply_edit(B, base, [EditNode(node, children=edit_from_json(B, item, [{"id": "a"}], Op.DELETE))])
    assert [i["id"] for i in js(res2.tree)["item"]] == ["b"]
    with pytest.raises(YangdErrors) as ei:
        apply_edit(B, base, [EditNode(node, children=edit_from_json(B, item, [{"id": "zz"}], Op.DELETE))])
    assert errs(ei.value.errors) == [("data-missing", f"{T}/item[id='zz']", None)]


def test_augment_paths(B: Bundle, base: YangModel) -> None:
    res = run(B, base, top(e("item", e("dstest-edit-aug:color", v="red"), k=("b",))))
    assert ops(B, res) == [("create", f"{T}/item[id='b']/dstest-edit-aug:color")]
    assert errs(fail(B, base, top(e("item", e("dstest-edit-aug:color", op="delete"), k=("a",))))) == [
        ("data-missing", f"{T}/item[id='a']/dstest-edit-aug:color", None)]
    assert errs(fail(B, base, top(e("dstest-edit-aug:ext", e("note", op="create", v="x"))))) == [
        ("data-exists", f"{T}/dstest-edit-aug:ext/note", None)]


# ---- default-operation --------------------------------------------------------------------
def test_default_operation_replace(B: Bundle, base: YangModel) -> None:
    res = run(B, base, top(e("name", v="m"), e("item", e("val", v=5), k=("b",))), dop="replace")
    assert js(res.tree) == {"name": "m", "item": [{"id": "b", "val": 5}]}
    assert ops(B, res) == [("modify", T)]


def test_default_operation_replace_keeps_unmentioned_top_level(B: Bundle, pkg: ModuleType) -> None:
    # replace applies to what the <config> names; top-level nodes it does not name are untouched
    res = run(B, tree_of(pkg), top(e("name", v="m")), dop="replace")
    assert js(res.tree) == {"name": "m"}


def test_default_operation_none_only_locates(B: Bundle, base: YangModel) -> None:
    res = run(B, base, top(e("name", v="ignored"), e("item", e("val", v=7), e("tags", op="delete", v="t1"),
                                                     k=("a",))), dop="none")
    assert js(res.tree)["name"] == "n"
    assert js(res.tree)["item"][0] == {"id": "a", "val": 1, "sub": {"z": "Z"}, "tags": ["t2"]}
    assert ops(B, res) == [("delete", f"{T}/item[id='a']/tags[.='t1']")]


def test_default_operation_none_data_missing(B: Bundle, base: YangModel) -> None:
    # RFC 6241 §7.2 "none": data for which there is no corresponding level → data-missing
    assert errs(fail(B, base, top(e("item", e("val", op="delete"), k=("zz",))), dop="none")) == [
        ("data-missing", f"{T}/item[id='zz']", None)]
    assert errs(fail(B, base, top(e("item", e("val", op="merge", v=1), k=("zz",))), dop="none")) == [
        ("data-missing", f"{T}/item[id='zz']", None)]
    no_pres = remove_at(base, parse_path(B, f"{T}/pres"))
    assert errs(fail(B, no_pres, top(e("pres", e("x", op="delete"))), dop="none")) == [
        ("data-missing", f"{T}/pres", None)]
    # a non-presence container exists implicitly: locating through it is fine
    no_ext = remove_at(base, parse_path(B, f"{T}/dstest-edit-aug:ext"))
    res = run(B, no_ext, top(e("dstest-edit-aug:ext", e("note", op="create", v="n2"))), dop="none")
    assert js(res.tree)["dstest-edit-aug:ext"] == {"note": "n2"}
    # an explicit delete under none of something missing is still data-missing
    assert errs(fail(B, base, top(e("np", e("a", op="delete")), e("mtu", op="delete")), dop="none")) == [
        ("data-missing", f"{T}/mtu", None)]


def test_operation_none_explicit(B: Bundle, base: YangModel) -> None:
    res = run(B, base, top(e("item", e("val", op="replace", v=4), op="none", k=("b",))))
    assert js(res.tree)["item"][1] == {"id": "b", "val": 4}
    assert errs(fail(B, base, top(e("item", e("val", v=4), op="none", k=("q",))))) == [
        ("data-missing", f"{T}/item[id='q']", None)]


# ---- operation inheritance ---------------------------------------------------------------
def test_operation_inherited(B: Bundle, base: YangModel) -> None:
    # create on the entry applies to its children: a new entry is created whole
    res = run(B, base, top(e("item", e("val", v=3), e("sub", e("z", v="q")), op="create", k=("c",))))
    assert js(res.tree)["item"][2] == {"id": "c", "val": 3, "sub": {"z": "q"}}
    assert ops(B, res) == [("create", f"{T}/item[id='c']")]
    # replace on the entry: children it does not name are gone
    res = run(B, base, top(e("item", e("val", v=3), op="replace", k=("a",))))
    assert js(res.tree)["item"][0] == {"id": "a", "val": 3}
    # delete on an ancestor removes the whole subtree, whatever children the edit names
    res = run(B, base, top(e("pres", e("x", v="zz"), op="delete")))
    assert "pres" not in js(res.tree) and ops(B, res) == [("delete", f"{T}/pres")]
    # create inherited by a child that exists → data-exists at the child
    assert errs(fail(B, base, top(e("np", e("a", v="A2")), op="create"))) == [("data-exists", T, None)]


def test_operation_override_deeper(B: Bundle, base: YangModel) -> None:
    res = run(B, base, top(e("item", e("val", v=5), e("tags", op="delete", v="t1"), e("sub", op="remove"),
                             k=("a",)), op="merge"))
    assert js(res.tree)["item"][0] == {"id": "a", "val": 5, "tags": ["t2"]}
    assert sorted(ops(B, res)) == sorted([
        ("modify", f"{T}/item[id='a']/val"), ("delete", f"{T}/item[id='a']/tags[.='t1']"),
        ("delete", f"{T}/item[id='a']/sub")])
    # merge on the entry, create deeper on an existing leaf → data-exists there
    assert errs(fail(B, base, top(e("item", e("sub", op="create", v=None), k=("b",)),
                                  e("item", e("val", op="create", v=1), k=("b",))))) == [
        ("data-exists", f"{T}/item[id='b']/val", None)]
    res = run(B, base, top(e("item", e("sub", e("z", v="w"), op="create"), k=("b",))))
    assert js(res.tree)["item"][1] == {"id": "b", "val": 2, "sub": {"z": "w"}}
    assert ops(B, res) == [("create", f"{T}/item[id='b']/sub")]


@pytest.mark.parametrize("op", ["delete", "remove", "replace", "create"])
def test_key_leaf_operations(B: Bundle, base: YangModel, op: str) -> None:
    assert errs(fail(B, base, top(e("item", e("id", op=op, v="a"), k=("a",))))) == [
        ("operation-not-supported", f"{T}/item[id='a']/id", None)]
    assert errs(fail(B, base, top(e("pair", e("k2", op=op, v=2), k=("a", 2))))) == [
        ("operation-not-supported", f"{T}/pair[k1='a'][k2='2']/k2", None)]


def test_key_leaf_merge_is_fine(B: Bundle, base: YangModel) -> None:
    res = run(B, base, top(e("item", e("id", op="merge", v="a"), e("val", v=8), k=("a",))))
    assert js(res.tree)["item"][0]["val"] == 8


# ---- error-option -------------------------------------------------------------------------
def _mixed() -> S:
    return top(e("name", v="m"),
               e("item", e("val", v=9), e("sub", op="delete"), k=("b",)),  # sub missing: fails
               e("item", op="create", k=("a",)),                          # exists: fails
               e("rule", e("action", v="accept"), k=("r4",)),
               e("pair", op="delete", k=("q", 1)))                        # missing: fails


def test_stop_on_error_first_error_nothing_applied(B: Bundle, base: YangModel) -> None:
    for eo in ("stop-on-error", "rollback-on-error"):
        assert errs(fail(B, base, _mixed(), eo=eo)) == [("data-missing", f"{T}/item[id='b']/sub", None)]


def test_continue_on_error(B: Bundle, base: YangModel) -> None:
    res = run(B, base, _mixed(), eo="continue-on-error")
    assert errs(res.errors) == [
        ("data-missing", f"{T}/item[id='b']/sub", None),
        ("data-exists", f"{T}/item[id='a']", None),
        ("data-missing", f"{T}/pair[k1='q'][k2='1']", None),
    ]
    j = js(res.tree)
    assert j["name"] == "m" and j["item"][1] == {"id": "b", "val": 9}  # the rest of item b applied
    assert j["item"][0] == BASE["item"][0] and j["pair"] == BASE["pair"]
    assert j["rule"][-1] == {"name": "r4", "action": "accept"}
    assert ops(B, res) == [("modify", f"{T}/name"), ("modify", f"{T}/item[id='b']/val"),
                           ("create", f"{T}/rule[name='r4']")]


def test_continue_on_error_inside_new_subtree(B: Bundle, base: YangModel) -> None:
    res = run(B, base, top(e("item", e("val", v=1), e("tags", op="delete", v="nope"), k=("c",))),
              eo="continue-on-error")
    assert errs(res.errors) == [("data-missing", f"{T}/item[id='c']/tags[.='nope']", None)]
    assert js(res.tree)["item"][2] == {"id": "c", "val": 1}


def test_continue_on_error_key_leaf_and_insert(B: Bundle, base: YangModel) -> None:
    res = run(B, base, top(e("item", e("id", op="delete", v="a"), e("val", v=5), k=("a",)),
                           e("item", ins="first", k=("z",)),
                           e("seq", ins="after", at=("nope",), v="w"),
                           e("name", v="ok")), eo="continue-on-error")
    assert [(x.tag, x.path) for x in res.errors] == [
        ("operation-not-supported", f"{T}/item[id='a']/id"),
        ("bad-attribute", f"{T}/item[id='z']"),
        ("bad-attribute", f"{T}/seq[.='w']")]
    assert js(res.tree)["name"] == "ok" and js(res.tree)["seq"] == ["x", "y", "z"]
    assert [i["id"] for i in js(res.tree)["item"]] == ["a", "b"]


# ---- insert (ordered-by user) -----------------------------------------------------------
def rules(tree: YangModel) -> list[str]:
    return [r["name"] for r in js(tree).get("rule", [])]


@pytest.mark.parametrize(("spec", "order"), [
    (dict(k=("r0",), ins="first"), ["r0", "r1", "r2", "r3"]),
    (dict(k=("r0",), ins="last"), ["r1", "r2", "r3", "r0"]),
    (dict(k=("r0",)), ["r1", "r2", "r3", "r0"]),
    (dict(k=("r0",), ins="before", at=("r2",)), ["r1", "r0", "r2", "r3"]),
    (dict(k=("r0",), ins="after", at=("r2",)), ["r1", "r2", "r0", "r3"]),
    (dict(k=("r0",), ins="after", at=("r3",)), ["r1", "r2", "r3", "r0"]),
    (dict(k=("r3",), ins="first"), ["r3", "r1", "r2"]),
    (dict(k=("r1",), ins="last"), ["r2", "r3", "r1"]),
    (dict(k=("r1",), ins="after", at=("r3",)), ["r2", "r3", "r1"]),
    (dict(k=("r3",), ins="before", at=("r1",)), ["r3", "r1", "r2"]),
    (dict(k=("r1",), ins="before", at=("r3",)), ["r2", "r1", "r3"]),
    (dict(k=("r2",)), ["r1", "r2", "r3"]),  # merge of an existing entry keeps its place
    (dict(k=("r1",), ins="first"), ["r1", "r2", "r3"]),  # already there
])
def test_insert_list(B: Bundle, base: YangModel, spec: dict[str, Any], order: list[str]) -> None:
    res = run(B, base, top(e("rule", e("action", v="log"), **spec)))
    assert rules(res.tree) == order
    key = spec["k"][0]
    entry = next(r for r in js(res.tree)["rule"] if r["name"] == key)
    assert entry["action"] == "log"
    moved = order != ["r1", "r2", "r3"] and key != "r0"
    got = ops(B, res)
    if key == "r0":
        assert got[0] == ("create", f"{T}/rule[name='r0']")
        if order[-1] == "r0":  # appended: the entry's create alone replays to this order
            assert got == [("create", f"{T}/rule[name='r0']")]
    if moved:
        assert ("modify", f"{T}/rule") in got  # the order is list-level state


def test_insert_list_replace_and_create_with_insert(B: Bundle, base: YangModel) -> None:
    res = run(B, base, top(e("rule", op="create", k=("r0",), ins="before", at=("r1",)),
                           e("rule", e("action", v="x"), op="replace", k=("r3",), ins="first")))
    assert rules(res.tree) == ["r3", "r0", "r1", "r2"]
    assert js(res.tree)["rule"][0] == {"name": "r3", "action": "x"}
    # several inserts in one edit apply in document order
    res = run(B, base, top(e("rule", k=("a",), ins="first"), e("rule", k=("b",), ins="after", at=("a",)),
                           e("rule", k=("r3",), ins="before", at=("b",))))
    assert rules(res.tree) == ["a", "r3", "b", "r1", "r2"]


def test_insert_into_empty_list(B: Bundle, pkg: ModuleType) -> None:
    tree = tree_of(pkg, {"name": "n"})
    res = run(B, tree, top(e("rule", k=("r1",), ins="first"), e("rule", k=("r0",), ins="first")))
    assert rules(res.tree) == ["r0", "r1"]
    res = run(B, tree, top(e("seq", v="a", ins="last"), e("seq", v="b", ins="first")))
    assert js(res.tree)["seq"] == ["b", "a"]


@pytest.mark.parametrize(("spec", "order"), [
    (dict(v="w", ins="first"), ["w", "x", "y", "z"]),
    (dict(v="w", ins="last"), ["x", "y", "z", "w"]),
    (dict(v="w"), ["x", "y", "z", "w"]),
    (dict(v="w", ins="before", at=("y",)), ["x", "w", "y", "z"]),
    (dict(v="w", ins="after", at=("y",)), ["x", "y", "w", "z"]),
    (dict(v="z", ins="first"), ["z", "x", "y"]),
    (dict(v="x", ins="last"), ["y", "z", "x"]),
    (dict(v="x", ins="after", at=("y",)), ["y", "x", "z"]),
    (dict(v="z", ins="before", at=("x",)), ["z", "x", "y"]),
    (dict(v="y"), ["x", "y", "z"]),
])
def test_insert_leaf_list(B: Bundle, base: YangModel, spec: dict[str, Any], order: list[str]) -> None:
    res = run(B, base, top(e("seq", **spec)))
    assert js(res.tree)["seq"] == order
    got = ops(B, res)
    if spec["v"] == "w":
        assert ("create", f"{T}/seq[.='w']") in got or ("modify", f"{T}/seq") in got
    elif order != ["x", "y", "z"]:
        assert got == [("modify", f"{T}/seq")]
    else:
        assert got == []


def test_insert_errors(B: Bundle, base: YangModel) -> None:
    # insert on a list / leaf-list that is not ordered-by user
    e1 = fail(B, base, top(e("item", k=("c",), ins="first")))
    assert errs(e1) == [("bad-attribute", f"{T}/item[id='c']", None)]
    assert e1[0].info.get("bad_attribute") == "insert"
    assert errs(fail(B, base, top(e("sys", v=5, ins="last")))) == [("bad-attribute", f"{T}/sys[.='5']", None)]
    # an anchor that does not exist
    e2 = fail(B, base, top(e("rule", k=("r0",), ins="before", at=("nope",))))
    assert errs(e2) == [("bad-attribute", f"{T}/rule[name='r0']", "missing-instance")]
    assert errs(fail(B, base, top(e("rule", k=("r1",), ins="after", at=("nope",))))) == [
        ("bad-attribute", f"{T}/rule[name='r1']", "missing-instance")]
    assert errs(fail(B, base, top(e("seq", v="w", ins="after", at=("nope",))))) == [
        ("bad-attribute", f"{T}/seq[.='w']", "missing-instance")]
    assert errs(fail(B, base, top(e("seq", v="x", ins="before", at=("nope",))))) == [
        ("bad-attribute", f"{T}/seq[.='x']", "missing-instance")]


# ---- choice ------------------------------------------------------------------------------
def choice_base(pkg: ModuleType, **members: Any) -> YangModel:
    top_json = {k: v for k, v in BASE.items() if k not in ("tcp-port", "tcp-opts")}
    return tree_of(pkg, {**top_json, **members})


def test_choice_case_switch(B: Bundle, base: YangModel) -> None:
    res = run(B, base, top(e("udp-port", v=53)))
    j = js(res.tree)
    assert j["udp-port"] == 53 and "tcp-port" not in j and "tcp-opts" not in j
    assert sorted(ops(B, res)) == sorted([("create", f"{T}/udp-port"), ("delete", f"{T}/tcp-port"),
                                          ("delete", f"{T}/tcp-opts")])
    # a node of the same case does not clear anything
    res = run(B, base, top(e("tcp-opts", v="p")))
    assert ops(B, res) == [("modify", f"{T}/tcp-opts")]


def test_nested_choice(B: Bundle, pkg: ModuleType) -> None:
    tree = choice_base(pkg, **{"s2-a": "A", "s2-c": {"q": "Q"}})
    res = run(B, tree, top(e("s1-a", v="s")))  # the sibling case of the nested choice
    j = js(res.tree)
    assert j["s1-a"] == "s" and "s2-a" not in j and "s2-c" not in j
    assert sorted(ops(B, res)) == sorted([("create", f"{T}/s1-a"), ("delete", f"{T}/s2-a"),
                                          ("delete", f"{T}/s2-c")])
    res = run(B, tree, top(e("short", v="x")))  # a shorthand case of the outer choice
    assert sorted(ops(B, res)) == sorted([("create", f"{T}/short"), ("delete", f"{T}/s2-a"),
                                          ("delete", f"{T}/s2-c")])
    res = run(B, base_tcp := tree_of(pkg), top(e("s2-c", e("q", v="q"))))  # container in a nested case
    assert sorted(ops(B, res)) == sorted([("create", f"{T}/s2-c"), ("delete", f"{T}/tcp-port"),
                                          ("delete", f"{T}/tcp-opts")])
    assert "tcp-port" not in js(res.tree) and base_tcp is not res.tree
    res = run(B, tree, top(e("s2-a", op="delete"), e("udp-port", v=1)))
    assert sorted(ops(B, res)) == sorted([("delete", f"{T}/s2-a"), ("create", f"{T}/udp-port"),
                                          ("delete", f"{T}/s2-c")])


def test_choice_switch_through_replace_and_json(B: Bundle, base: YangModel) -> None:
    res = apply_edit(B, base, [EditNode(B.node(T), children=edit_from_json(B, B.node(f"{T}/s1-a"), "v"))])
    check_changes(B, base, res)
    assert ("delete", f"{T}/tcp-port") in ops(B, res)


# ---- change lists --------------------------------------------------------------------------
def test_change_list_round_trip_of_a_big_edit(B: Bundle, base: YangModel) -> None:
    res = run(B, base, top(
        e("name", op="delete"), e("np", op="replace"),
        e("item", e("tags", v="t3", op="create"), e("sub", op="delete"), k=("a",)),
        e("item", op="remove", k=("b",)), e("item", e("val", v=1), k=("c",)),
        e("pair", e("v", op="remove"), k=("a", 2)),
        e("rule", k=("r2",), ins="first"), e("seq", v="z", ins="first"), e("sys", v=2, op="delete"),
        e("blob", v=[1, 2]), e("dstest-edit-aug:ext", op="delete"), e("udp-port", v=7)))
    assert ("delete", f"{T}/name") in ops(B, res)
    text = encode_changes(B, res.changes)
    assert json.loads(text)[0]["path"] == f"{T}/name"
    again = decode_changes(B, text)
    assert encode_changes(B, again) == text


# ---- failed edits leave everything untouched ----------------------------------------------
FAILING = [
    top(e("name", v="m"), e("item", op="create", k=("a",))),
    top(e("rule", k=("r9",), ins="after", at=("zz",))),
    top(e("item", e("id", op="delete", v="b"), k=("b",))),
    top(e("np", e("a", v="q")), e("pres", e("inner", op="delete"), e("x", op="delete")), e("mtu", op="delete")),
]


@pytest.mark.parametrize("spec", FAILING)
def test_failed_edit_leaves_tree(B: Bundle, base: YangModel, spec: S) -> None:
    before = base.model_dump_json()
    fail(B, base, spec)
    assert base.model_dump_json() == before


@pytest.fixture
def ds(B: Bundle, tmp_path: Path, base: YangModel) -> Iterator[Datastores]:
    d = Datastores(B, Store.open(f"sqlite:///{tmp_path / 'edit.db'}"))
    s = d.open_session("setup", "test")
    s.edit("running", [build(B.schema.root, top()), *edit_from_json(B, B.node(T), BASE)])
    s.close()
    yield d
    d.close()


def snapshot(s: Session) -> tuple[str, str, int]:
    return s.get("running").model_dump_json(), s.get("candidate").model_dump_json(), s.ds.head


@pytest.mark.parametrize("target", ["candidate", "running"])
@pytest.mark.parametrize("eo", ["stop-on-error", "rollback-on-error"])
@pytest.mark.parametrize("spec", FAILING)
def test_failed_session_edit_changes_nothing(B: Bundle, ds: Datastores, target: str, eo: str, spec: S) -> None:
    s = ds.open_session("alice", "netconf")
    s.edit("candidate", edits(B, top(e("name", v="pending"))))  # a dirty candidate stays as it was
    before = snapshot(s)
    with pytest.raises(YangdErrors):
        s.edit(target, edits(B, spec), error_option=eo)
    assert snapshot(s) == before
    assert js(s.get("running")) == BASE


def test_session_continue_on_error(B: Bundle, ds: Datastores) -> None:
    s = ds.open_session("alice", "netconf")
    got = s.edit("candidate", edits(B, _mixed()), error_option="continue-on-error")
    assert [x.tag for x in got] == ["data-missing", "data-exists", "data-missing"]
    assert js(s.get("candidate"))["name"] == "m" and js(s.get("running")) == BASE
    s.commit()
    assert js(s.get("running"))["name"] == "m"
    assert js(s.get("running"))["rule"][-1] == {"name": "r4", "action": "accept"}


def test_session_test_only(B: Bundle, ds: Datastores) -> None:
    s = ds.open_session("alice", "netconf")
    before = snapshot(s)
    for target in ("candidate", "running"):
        assert s.edit(target, edits(B, top(e("name", v="t"), e("udp-port", v=1))), test_option="test-only") == []
        assert snapshot(s) == before
        with pytest.raises(YangdErrors) as ei:
            s.edit(target, edits(B, top(e("item", op="create", k=("a",)))), test_option="test-only")
        assert errs(ei.value.errors) == [("data-exists", f"{T}/item[id='a']", None)]
        assert snapshot(s) == before
    s.edit("candidate", edits(B, top(e("name", v="t"))), test_option="test-then-set")
    assert js(s.get("candidate"))["name"] == "t" and js(s.get("running"))["name"] == "n"
