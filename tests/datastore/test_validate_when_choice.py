"""A when on a choice or case (RFC 7950 §7.21.5): its context node is the closest ancestor
data node; the data nodes of the choice or case (at any depth through nested choices and
cases) must not exist while it is false; a mandatory choice under a false when is not
required (§7.9.4); a default under a false when is not in use (§7.6.1).

Test module: tests/datastore/yang/dstest-when-choice.yang. Every when there reads
``../settings``, which only the closest ancestor data node (``/top``) reaches, or an
absolute path, or a sibling leaf of a list entry. Each change is validated in full and
incrementally (the two must agree), so a when flipped by a change elsewhere in the tree is
found by the change-driven validation too; commits go through Datastores.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from datastore.datastores import Datastores
from datastore.store import Store
from datastore.validate import validate
from models.bundle import Bundle, YangModel
from models.edit import edit_from_json
from models.errors import YangdErrors
from models.schema import Kind, SchemaNode
from tests.datastore.test_edit import S, e
from tests.datastore.test_validate import Err, edited, edits

M = "dstest-when-choice"
T = f"/{M}:top"
WHEN = ("operation-failed", "when-violation")

BASE: dict[str, Any] = {
    f"{M}:settings": {"mode": "on", "kind": "v4"},
    f"{M}:top": {"tcp": 80, "v4-addr": "10.0.0.1", "static-cfg": {"ip": "10.0.0.1"}, "password": "pw"},
    f"{M}:entry": [{"name": "a", "enabled": True, "forward": "x"}, {"name": "b"}],
}


@pytest.fixture(scope="module")
def pkg(dstest_package: Any) -> ModuleType:
    return dstest_package(M)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def B(pkg: ModuleType) -> Bundle:
    return pkg.B  # type: ignore[no-any-return]


@pytest.fixture
def base(pkg: ModuleType) -> YangModel:
    return pkg.Root.model_validate(BASE)  # type: ignore[no-any-return]


def settings(*kids: S) -> S:
    return e(f"{M}:settings", *kids)


def top(*kids: S) -> S:
    return e(f"{M}:top", *kids)


def entry(name: str, *kids: S) -> S:
    return e(f"{M}:entry", *kids, k=(name,))


def when_err(path: str) -> Err:
    return (*WHEN, path)


def _find(sn: SchemaNode, kind: Kind, name: str) -> SchemaNode:
    got = next((n for n in sn.walk() if n.kind is kind and n.name == name), None)
    assert got is not None, name
    return got


def test_choice_and_case_whens_have_the_data_ancestor_as_context(B: Bundle) -> None:
    """Compiled with context "parent": evaluated on a data node of the choice, that is its
    parent instance, the closest ancestor data node (here /top)."""
    t = B.node(T)
    for kind, name in ((Kind.CHOICE, "transport"), (Kind.CASE, "v4"), (Kind.CASE, "dhcp"),
                       (Kind.CHOICE, "auth"), (Kind.CHOICE, "log")):
        assert [w.context for w in _find(t, kind, name).when] == ["parent"], name
    # an augment of a case: the closest ancestor data node of the target (RFC 7950 §7.21.5)
    assert [w.context for w in _find(t, Kind.LEAF, "v6-plen").when] == ["parent"]
    assert [w.context for w in _find(B.node(f"/{M}:entry"), Kind.CHOICE, "action").when] == ["parent"]


def test_shipped_choice_when_context() -> None:
    """RFC 8526 get-data: choice origin-filters has when derived-from-or-self(datastore, ...),
    datastore being a sibling in the input, its closest ancestor data node (RFC 7950 errata
    5807: input counts as one)."""
    from models.generated import B as shipped

    rpc = next(r for r in shipped.schema.rpcs if r.name == "get-data")
    (w,) = _find(rpc, Kind.CHOICE, "origin-filters").when
    assert (w.xpath, w.context) == ('derived-from-or-self(datastore, "ds:operational")', "parent")


def test_base_is_valid(B: Bundle, base: YangModel) -> None:
    assert validate(B, base, None) == []
    assert validate(B, base, []) == []


def test_choice_when_turning_false_forbids_its_data(B: Bundle, base: YangModel) -> None:
    # transport: when ../settings/mode != 'off'; auth: when /settings/mode = 'on'
    _, got = edited(B, base, settings(e("mode", v="off")))
    assert got == {when_err(f"{T}/tcp"), when_err(f"{T}/password")}
    # a case of more than one node, one of them a container: each node is reported
    tree, got = edited(B, base, top(e("udp", v=53), e("udp-opts", e("checksum", v=True))))
    assert got == set()
    _, got = edited(B, tree, settings(e("mode", op="delete")))  # the default is off
    assert got == {when_err(f"{T}/udp"), when_err(f"{T}/udp-opts"), when_err(f"{T}/password")}


def test_choice_when_turning_true_allows_its_data(B: Bundle, base: YangModel) -> None:
    off, got = edited(B, base, settings(e("mode", v="off")), top(e("tcp", op="delete"), e("password", op="delete")))
    assert got == set()
    _, got = edited(B, off, top(e("tcp", v=22)))
    assert got == {when_err(f"{T}/tcp")}
    _, got = edited(B, off, settings(e("mode", v="deep")), top(e("tcp", v=22)))
    assert got == set()


def test_mandatory_choice_under_when(B: Bundle, base: YangModel) -> None:
    # auth is mandatory, and required only while its when holds (absolute: context-free)
    off, got = edited(B, base, settings(e("mode", v="off")), top(e("tcp", op="delete"), e("password", op="delete")))
    assert got == set()
    _, got = edited(B, off, settings(e("mode", v="on")))
    assert got == {("data-missing", "missing-choice", T)}
    _, got = edited(B, off, settings(e("mode", v="on")), top(e("key", v="k")))
    assert got == set()
    deep, got = edited(B, off, settings(e("mode", v="deep")))
    assert got == set()
    _, got = edited(B, deep, settings(e("mode", v="on")))
    assert got == {("data-missing", "missing-choice", T)}


def test_case_when(B: Bundle, base: YangModel) -> None:
    # case v4: when ../settings/kind = 'v4'; its nodes, the nested choice's included
    _, got = edited(B, base, settings(e("kind", v="v6")))
    assert got == {when_err(f"{T}/v4-addr"), when_err(f"{T}/static-cfg")}
    _, got = edited(B, base, settings(e("kind", op="delete")))
    assert got == {when_err(f"{T}/v4-addr"), when_err(f"{T}/static-cfg")}
    # the other case (no when of its own; an augment with a when adds v6-plen to it)
    v6, got = edited(B, base, settings(e("kind", v="v6")), top(e("v6-addr", v="::1"), e("v6-plen", v=64)))
    assert got == set()
    _, got = edited(B, v6, settings(e("kind", v="v4")))
    assert got == {when_err(f"{T}/v6-plen")}


def test_nested_mandatory_choice_follows_its_case_when(B: Bundle, base: YangModel) -> None:
    """v4-how (mandatory) sits in case v4: required only while that case's when holds."""
    bare, got = edited(B, base, top(e("static-cfg", op="delete")))
    assert got == {("data-missing", "missing-choice", T)}
    _, got = edited(B, bare, settings(e("kind", v="v6")))
    assert got == {when_err(f"{T}/v4-addr")}  # and v4-how is not required
    v6, got = edited(B, base, settings(e("kind", v="v6")), top(e("v4-addr", op="delete"), e("static-cfg", op="delete")))
    assert got == set()
    _, got = edited(B, v6, top(e("v4-addr", v="10.0.0.3")))  # selected while its when is false
    assert got == {when_err(f"{T}/v4-addr")}
    _, got = edited(B, v6, top(e("v4-addr", v="10.0.0.3")), settings(e("kind", v="v4")))
    assert got == {("data-missing", "missing-choice", T)}


def test_nested_case_when(B: Bundle, base: YangModel) -> None:
    # case dhcp (in choice v4-how, in case v4): when ../settings/mode = 'deep'
    dhcp, got = edited(B, base, top(e("dhcp-id", v="c1")))  # replaces case static
    assert got == {when_err(f"{T}/dhcp-id")}
    deep, got = edited(B, dhcp, settings(e("mode", v="deep")), top(e("password", op="delete")))
    assert got == set()
    _, got = edited(B, deep, settings(e("mode", v="on")))
    assert got == {when_err(f"{T}/dhcp-id"), ("data-missing", "missing-choice", T)}
    # the outer case's when decides too
    _, got = edited(B, deep, settings(e("kind", v="v6")))
    assert got == {when_err(f"{T}/v4-addr"), when_err(f"{T}/dhcp-id")}


def test_default_case_under_when(B: Bundle, base: YangModel) -> None:
    """log (default case local: level, default 3, must ". < 3") has when
    ../settings/logging = 'true': while it is false, the default is not in use (§7.6.1)
    and its must is not evaluated; while it holds, the default is, and fails the must."""
    on, got = edited(B, base, settings(e("logging", v=True)))
    assert got == {("operation-failed", "must-violation", f"{T}/level")}
    on, got = edited(B, on, top(e("level", v=2)))
    assert got == set()
    _, got = edited(B, on, settings(e("logging", v=False)))
    assert got == {when_err(f"{T}/level")}
    remote, got = edited(B, base, settings(e("logging", v=True)), top(e("remote", v="syslog")))
    assert got == set()  # the other case: the default is not in use
    _, got = edited(B, remote, settings(e("logging", op="delete")))
    assert got == {when_err(f"{T}/remote")}  # a shorthand case


def test_choice_when_in_list_entries(B: Bundle, base: YangModel) -> None:
    # action (mandatory): when enabled = 'true', its context the list entry
    E = f"/{M}:entry"
    _, got = edited(B, base, entry("b", e("enabled", v=True)))
    assert got == {("data-missing", "missing-choice", f"{E}[name='b']")}
    _, got = edited(B, base, entry("a", e("enabled", v=False)))
    assert got == {when_err(f"{E}[name='a']/forward")}
    _, got = edited(B, base, entry("a", e("enabled", op="delete")), entry("b", e("enabled", v=True), e("drop", v=True)))
    assert got == {when_err(f"{E}[name='a']/forward")}
    _, got = edited(B, base, entry("c", e("drop", v=True)))
    assert got == {when_err(f"{E}[name='c']/drop")}


# ---- commits ---------------------------------------------------------------------------------
@pytest.fixture
def ds(B: Bundle, tmp_path: Path) -> Iterator[Datastores]:
    d = Datastores(B, Store.open(f"sqlite:///{tmp_path / 'when.db'}"))
    s = d.open_session("setup", "test")
    s.edit("running", [x for name, body in BASE.items() for x in edit_from_json(B, B.node(f"/{name}"), body)])
    s.close()
    yield d
    d.close()


def refused(B: Bundle, ds: Datastores, *specs: S) -> set[Err]:
    """Edit the candidate, commit: refused, changing neither datastore nor the head."""
    s = ds.open_session("alice", "netconf")
    s.edit("candidate", edits(B, *specs))
    before = (s.get("running").model_dump_json(), s.get("candidate").model_dump_json(), ds.head)
    with pytest.raises(YangdErrors) as ei:
        s.commit()
    assert (s.get("running").model_dump_json(), s.get("candidate").model_dump_json(), ds.head) == before
    s.discard_changes()
    s.close()
    return {(x.tag, x.app_tag, x.path) for x in ei.value.errors}


def accepted(B: Bundle, ds: Datastores, *specs: S) -> None:
    s = ds.open_session("alice", "netconf")
    s.edit("candidate", edits(B, *specs))
    head = ds.head
    s.commit()
    assert ds.head == head + 1
    s.close()


def test_commits_follow_choice_and_case_whens(B: Bundle, ds: Datastores) -> None:
    # true -> false: the choices' data would have to go
    assert refused(B, ds, settings(e("mode", v="off"))) == {when_err(f"{T}/tcp"), when_err(f"{T}/password")}
    assert refused(B, ds, settings(e("kind", v="v6"))) == {when_err(f"{T}/v4-addr"), when_err(f"{T}/static-cfg")}
    accepted(B, ds, settings(e("mode", v="off")), top(e("tcp", op="delete"), e("password", op="delete")))
    # false -> true: the mandatory choice binds; data of a false when is refused
    assert refused(B, ds, settings(e("mode", v="on"))) == {("data-missing", "missing-choice", T)}
    assert refused(B, ds, top(e("tcp", v=1))) == {when_err(f"{T}/tcp")}
    accepted(B, ds, settings(e("mode", v="on")), top(e("key", v="k"), e("tcp", v=1)))
    assert refused(B, ds, entry("b", e("enabled", v=True))) == {
        ("data-missing", "missing-choice", f"/{M}:entry[name='b']")}
    accepted(B, ds, entry("b", e("enabled", v=True), e("drop", v=True)))
    s = ds.open_session("alice", "netconf")
    assert s.get("running").model_dump(by_alias=True, exclude_none=True)[f"{M}:top"]["key"] == "k"
    s.close()
