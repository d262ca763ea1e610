"""Validation (datastore/validate.py): RFC 7950 §8 constraints, full and incremental.

Test module: tests/datastore/yang/dstest-val.yang (+ dstest-val-aug.yang, an augment with a
when). Each failure's error-tag, error-app-tag (RFC 7950 §15) and path; every failure of a
tree reported at once; incremental validation over a change set reporting exactly what full
validation reports; and a refused commit changing nothing.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from datastore.datastores import Datastores
from datastore.edit import Change, apply_edit
from datastore.store import Store
from datastore.validate import validate
from models.bundle import Bundle, YangModel
from models.edit import EditNode
from models.errors import YangdErrors
from tests.datastore.test_edit import S, build, e

V = "/dstest-val:sys"
VA = "dstest-val-aug"


@pytest.fixture(scope="module")
def pkg(dstest_package: Any) -> ModuleType:
    return dstest_package("dstest-val", "dstest-val-aug")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def B(pkg: ModuleType) -> Bundle:
    return pkg.B  # type: ignore[no-any-return]


VBASE: dict[str, Any] = {
    "hostname": "h",
    "v4": "10.0.0.1",
    "iface": [{"name": "eth0", "mtu": 1500, "descr": "d0"},
              {"name": "eth1", "mtu": 9000, "descr": "d1", "enabled": False}],
    "user": [{"name": "u1", "uid": 1, "group": {"gid": 10}, "shell": "sh"},
             {"name": "u2", "uid": 2, "group": {"gid": 10}, "shell": "bash"}],
    "primary": "eth0",
    "soft": "not-there",
    "route": [{"dest": "0/0", "ifname": "eth0", "mtu": 1500}],
    "target": f"{V}/iface[name='eth0']/mtu",
    "target-soft": f"{V}/iface[name='nope']",
    "num-or-ref": 5,
    "limits": {"low": 1, "high": 2, "odd": 3},
}


def vtree(pkg: ModuleType, sys: dict[str, Any] | None = None, **over: Any) -> YangModel:
    body = dict(VBASE if sys is None else sys)
    body.update(over)
    body = {k: v for k, v in body.items() if v is not None}
    return pkg.Root.model_validate({"dstest-val:sys": body})  # type: ignore[no-any-return]


@pytest.fixture
def base(pkg: ModuleType) -> YangModel:
    return vtree(pkg)


def sys_(*kids: S, op: str | None = None) -> S:
    return e("dstest-val:sys", *kids, op=op)


def edits(B: Bundle, *specs: S) -> list[EditNode]:
    return [build(B.schema.root, s) for s in specs]


Err = tuple[str, str | None, str | None]  # tag, app_tag, path


def full(B: Bundle, tree: YangModel) -> set[Err]:
    got = validate(B, tree, None)
    out = {(x.tag, x.app_tag, x.path) for x in got}
    assert len(out) == len(got), f"an error reported twice: {got}"
    return out


def edited(B: Bundle, tree: YangModel, *specs: S) -> tuple[YangModel, set[Err]]:
    """Apply an edit to a valid tree; full and incremental validation must agree."""
    res = apply_edit(B, tree, edits(B, *specs))
    got = full(B, res.tree)
    inc = {(x.tag, x.app_tag, x.path) for x in validate(B, res.tree, res.changes)}
    assert inc == got, f"incremental {inc} != full {got}"
    return res.tree, got


def test_base_is_valid(B: Bundle, base: YangModel) -> None:
    assert validate(B, base, None) == []
    assert validate(B, base, []) == []


# ---- mandatory -----------------------------------------------------------------------------
def test_mandatory_leaf(B: Bundle, base: YangModel) -> None:
    _, got = edited(B, base, sys_(e("hostname", op="delete")))
    assert got == {("data-missing", None, f"{V}/hostname")}


def test_mandatory_in_absent_np_container(B: Bundle, pkg: ModuleType) -> None:
    # RFC 7950 §7.6.5 / §7.9.4: a non-presence container exists implicitly, so its mandatory
    # leaf and mandatory choice are required although nothing of it was configured
    empty = pkg.Root.model_validate({})
    assert full(B, empty) == {("data-missing", None, f"{V}/hostname"),
                              ("data-missing", "missing-choice", V)}


def test_mandatory_in_presence_container(B: Bundle, base: YangModel) -> None:
    _, got = edited(B, base, sys_(e("svc", op="create")))
    assert got == {("data-missing", None, f"{V}/svc/port"), ("data-missing", "missing-choice", f"{V}/svc")}
    _, got = edited(B, base, sys_(e("svc", e("port", v=80), e("udp", v=True))))
    assert got == set()


def test_mandatory_in_list_entry(B: Bundle, base: YangModel) -> None:
    _, got = edited(B, base, sys_(e("iface", e("mtu", v=1), k=("eth2",)), e("iface", k=("eth3",))))
    assert got == {("data-missing", None, f"{V}/iface[name='eth2']/descr"),
                   ("data-missing", None, f"{V}/iface[name='eth3']/descr")}
    _, got = edited(B, base, sys_(e("iface", e("descr", op="delete"), k=("eth0",))))
    assert got == {("data-missing", None, f"{V}/iface[name='eth0']/descr")}


def test_mandatory_under_when(B: Bundle, base: YangModel) -> None:
    # adv (a non-presence container) has when "../mode = 'advanced'": its mandatory level is
    # required only while the when holds
    assert full(B, base) == set()
    tree, got = edited(B, base, sys_(e("mode", v="advanced")))
    assert got == {("data-missing", None, f"{V}/adv/level")}
    tree, got = edited(B, tree, sys_(e("adv", e("level", v=2))))
    assert got == set()
    _, got = edited(B, tree, sys_(e("mode", op="delete")))  # default basic: adv must not exist
    assert got == {("operation-failed", "when-violation", f"{V}/adv")}


def test_mandatory_choice(B: Bundle, base: YangModel) -> None:
    _, got = edited(B, base, sys_(e("v4", op="delete")))
    assert got == {("data-missing", "missing-choice", V)}
    _, got = edited(B, base, sys_(e("v6", v="::1")))  # the other case replaces v4: fine
    assert got == set()


# ---- min/max-elements, unique ---------------------------------------------------------------
def test_min_max_elements(B: Bundle, base: YangModel) -> None:
    _, got = edited(B, base, sys_(e("pool", e("dns", v="a"), e("dns", v="b"), e("dns", v="c"),
                                    e("range", k=("10.0.0.1",)))))
    assert got == {("operation-failed", "too-many-elements", f"{V}/pool/dns"),
                   ("operation-failed", "too-few-elements", f"{V}/pool/range")}
    _, got = edited(B, base, sys_(e("pool", op="create")))
    assert got == {("operation-failed", "too-few-elements", f"{V}/pool/dns"),
                   ("operation-failed", "too-few-elements", f"{V}/pool/range")}
    tree, got = edited(B, base, sys_(e("pool", e("dns", v="a"), e("range", k=("1",)), e("range", k=("2",)))))
    assert got == set()
    _, got = edited(B, tree, sys_(e("pool", e("range", op="delete", k=("1",)))))
    assert got == {("operation-failed", "too-few-elements", f"{V}/pool/range")}
    _, got = edited(B, base, sys_(e("user", k=("u3",)), e("user", k=("u4",))))
    assert got == {("operation-failed", "too-many-elements", f"{V}/user")}


def test_unique(B: Bundle, base: YangModel) -> None:
    tree3, got = edited(B, base, sys_(e("user", e("uid", v=1), k=("u3",))))
    assert got == {("operation-failed", "data-not-unique", f"{V}/user[name='u3']")}
    (err,) = [x for x in validate(B, tree3, None) if x.app_tag == "data-not-unique"]
    assert err.info["non-unique"] == [f"{V}/user[name='u3']/uid"]  # RFC 7950 §15.1
    # multi-leaf unique with a descendant path: group/gid + shell
    tree, got = edited(B, base, sys_(e("user", e("shell", v="sh"), k=("u2",))))
    assert got == {("operation-failed", "data-not-unique", f"{V}/user[name='u2']")}
    # an entry missing one of the leaves takes no part
    _, got = edited(B, tree, sys_(e("user", e("group", op="delete"), k=("u2",))))
    assert got == set()
    _, got = edited(B, tree, sys_(e("user", e("group", e("gid", v=11)), k=("u2",))))
    assert got == set()


# ---- must / when ---------------------------------------------------------------------------
def test_must_with_error_message_and_app_tag(B: Bundle, base: YangModel) -> None:
    tree = apply_edit(B, base, edits(B, sys_(e("limits", e("low", v=5))))).tree
    errors = validate(B, tree, None)
    assert [(x.tag, x.app_tag, x.path, x.message) for x in errors] == [
        ("operation-failed", "range-inverted", f"{V}/limits", "low must not exceed high")]
    _, got = edited(B, base, sys_(e("limits", e("odd", v=4))))
    assert got == {("operation-failed", "must-violation", f"{V}/limits/odd")}


def test_must_on_ancestor_names_changed_descendant(B: Bundle, base: YangModel) -> None:
    # sys: count(iface[enabled = 'true']) <= 3; enabled defaults to true
    tree, got = edited(B, base, sys_(e("iface", e("descr", v="x"), k=("eth2",)),
                                     e("iface", e("descr", v="x"), k=("eth3",))))
    assert got == set()
    tree2, got = edited(B, tree, sys_(e("iface", e("enabled", v=True), k=("eth1",))))
    assert got == {("operation-failed", "must-violation", V)}
    assert validate(B, tree2, None)[0].message == "at most three enabled interfaces"
    _, got = edited(B, tree2, sys_(e("iface", op="delete", k=("eth3",))))
    assert got == set()


def test_when_on_node(B: Bundle, base: YangModel) -> None:
    _, got = edited(B, base, sys_(e("adv-note", v="x")))
    assert got == {("operation-failed", "when-violation", f"{V}/adv-note")}
    tree, got = edited(B, base, sys_(e("mode", v="advanced"), e("adv-note", v="x"), e("adv", e("level", v=1))))
    assert got == set()
    # the condition changes because another node changed
    _, got = edited(B, tree, sys_(e("mode", v="basic")))
    assert got == {("operation-failed", "when-violation", f"{V}/adv-note"),
                   ("operation-failed", "when-violation", f"{V}/adv")}


def test_when_on_augment(B: Bundle, base: YangModel) -> None:
    # the augment's when has the augment target (sys) as its context node
    _, got = edited(B, base, sys_(e(f"{VA}:tuning", v=3), e(f"{VA}:knobs", e("k", v="x"))))
    assert got == {("operation-failed", "when-violation", f"{V}/{VA}:tuning"),
                   ("operation-failed", "when-violation", f"{V}/{VA}:knobs")}
    tree, got = edited(B, base, sys_(e("mode", v="advanced"), e("adv", e("level", v=1)),
                                     e(f"{VA}:tuning", v=3)))
    assert got == set()
    _, got = edited(B, tree, sys_(e("mode", op="remove")))
    assert got == {("operation-failed", "when-violation", f"{V}/{VA}:tuning"),
                   ("operation-failed", "when-violation", f"{V}/adv")}


# ---- leafref / instance-identifier ------------------------------------------------------------
def test_leafref(B: Bundle, base: YangModel) -> None:
    _, got = edited(B, base, sys_(e("primary", v="eth9"), e("soft", v="eth9")))
    assert got == {("data-missing", "instance-required", f"{V}/primary")}  # soft: require-instance false
    # path predicate [name = current()/../ifname]
    _, got = edited(B, base, sys_(e("route", e("mtu", v=9000), k=("0/0",))))
    assert got == {("data-missing", "instance-required", f"{V}/route[dest='0/0']/mtu")}
    _, got = edited(B, base, sys_(e("route", e("ifname", v="eth1"), e("mtu", v=9000), k=("0/0",))))
    assert got == set()


def test_leafref_target_deleted(B: Bundle, base: YangModel) -> None:
    _, got = edited(B, base, sys_(e("iface", op="delete", k=("eth0",))))
    assert got == {
        ("data-missing", "instance-required", f"{V}/primary"),
        ("data-missing", "instance-required", f"{V}/route[dest='0/0']/ifname"),
        ("data-missing", "instance-required", f"{V}/route[dest='0/0']/mtu"),
        ("data-missing", "instance-required", f"{V}/target"),
    }
    # the target leaf's value changing breaks the predicate leafref and the instance-identifier
    _, got = edited(B, base, sys_(e("iface", e("mtu", op="delete"), k=("eth0",))))
    assert got == {("data-missing", "instance-required", f"{V}/route[dest='0/0']/mtu"),
                   ("data-missing", "instance-required", f"{V}/target")}


def test_instance_identifier(B: Bundle, base: YangModel) -> None:
    _, got = edited(B, base, sys_(e("target", v=f"{V}/iface[name='eth7']"),
                                  e("target-soft", v=f"{V}/iface[name='eth8']")))
    assert got == {("data-missing", "instance-required", f"{V}/target")}
    _, got = edited(B, base, sys_(e("target", v=f"{V}/iface[name='eth1']/mtu")))
    assert got == set()


def test_union_with_leafref(B: Bundle, base: YangModel) -> None:
    _, got = edited(B, base, sys_(e("num-or-ref", v="eth1")))
    assert got == set()
    _, got = edited(B, base, sys_(e("num-or-ref", v="eth7")))
    assert got == {("data-missing", "instance-required", f"{V}/num-or-ref")}
    _, got = edited(B, base, sys_(e("num-or-ref", v=77)))  # the uint32 member: no instance needed
    assert got == set()


# ---- all failures at once ------------------------------------------------------------------
def test_all_failures_reported(B: Bundle, base: YangModel) -> None:
    _, got = edited(B, base, sys_(
        e("hostname", op="delete"), e("v4", op="delete"), e("adv-note", v="n"),
        e("svc", e("port", v=1)), e("limits", e("low", v=9), e("odd", v=2)),
        e("iface", op="delete", k=("eth0",)), e("iface", k=("eth5",)),
        e("user", e("uid", v=2), k=("u3",)), e("user", k=("u4",)),
        e("pool", e("dns", v="a"), e("range", k=("1",))), e(f"{VA}:tuning", v=1)))
    assert got == {
        ("data-missing", None, f"{V}/hostname"),
        ("data-missing", "missing-choice", V),
        ("operation-failed", "when-violation", f"{V}/adv-note"),
        ("operation-failed", "when-violation", f"{V}/{VA}:tuning"),
        ("data-missing", "missing-choice", f"{V}/svc"),
        ("operation-failed", "range-inverted", f"{V}/limits"),
        ("operation-failed", "must-violation", f"{V}/limits/odd"),
        ("data-missing", None, f"{V}/iface[name='eth5']/descr"),
        ("operation-failed", "data-not-unique", f"{V}/user[name='u3']"),
        ("operation-failed", "too-many-elements", f"{V}/user"),
        ("operation-failed", "too-few-elements", f"{V}/pool/range"),
        ("data-missing", "instance-required", f"{V}/primary"),
        ("data-missing", "instance-required", f"{V}/route[dest='0/0']/ifname"),
        ("data-missing", "instance-required", f"{V}/route[dest='0/0']/mtu"),
        ("data-missing", "instance-required", f"{V}/target"),
    }


# ---- incremental == full over random edit sequences ----------------------------------------
def i(name: str, *kids: S, op: str | None = None) -> S:
    return e("iface", *kids, op=op, k=(name,))


def u(name: str, *kids: S, op: str | None = None) -> S:
    return e("user", *kids, op=op, k=(name,))


def _pool() -> list[S]:
    return [
        sys_(e("hostname", op="remove")), sys_(e("hostname", v="h2")),
        sys_(e("v4", v="1.2.3.4")), sys_(e("v6", v="::1")), sys_(e("v4", op="remove")), sys_(e("v6", op="remove")),
        sys_(e("mode", v="advanced")), sys_(e("mode", v="basic")), sys_(e("mode", op="remove")),
        sys_(e("adv", e("level", v=3))), sys_(e("adv", op="remove")), sys_(e("adv-note", v="n")),
        sys_(e("adv-note", op="remove")),
        sys_(e(f"{VA}:tuning", v=4)), sys_(e(f"{VA}:knobs", e("k", v="k"))), sys_(e(f"{VA}:knobs", op="remove")),
        sys_(e("svc", e("port", v=1))), sys_(e("svc", e("tcp", v=True))), sys_(e("svc", op="remove")),
        sys_(e("limits", e("low", v=5))), sys_(e("limits", e("low", v=1))), sys_(e("limits", e("high", op="remove"))),
        sys_(e("limits", e("odd", v=4))), sys_(e("limits", e("odd", v=5))), sys_(e("limits", op="remove")),
        sys_(i("eth0", op="remove")), sys_(i("eth0", e("descr", v="d"), e("mtu", v=1500))),
        sys_(i("eth0", e("mtu", v=1400))), sys_(i("eth0", e("mtu", op="remove"))),
        sys_(i("eth2", e("descr", v="d"))), sys_(i("eth2", e("mtu", v=1500))), sys_(i("eth2", op="remove")),
        sys_(i("eth1", e("enabled", v=True))), sys_(i("eth1", e("enabled", v=False))),
        sys_(i("eth3", e("descr", v="d"))), sys_(i("eth4", e("descr", v="d"))),
        sys_(i("eth1", e("descr", op="remove"))),
        sys_(u("u3", e("uid", v=1))), sys_(u("u3", op="remove")), sys_(u("u2", e("shell", v="sh"))),
        sys_(u("u2", e("group", e("gid", v=11)))), sys_(u("u4", e("uid", v=4))), sys_(u("u1", op="remove")),
        sys_(e("pool", e("dns", v="a"))), sys_(e("pool", e("dns", v="b"), e("dns", v="c"))),
        sys_(e("pool", e("range", k=("1",)), e("range", k=("2",)))), sys_(e("pool", op="remove")),
        sys_(e("pool", e("range", op="remove", k=("1",)))),
        sys_(e("primary", v="eth0")), sys_(e("primary", v="eth2")), sys_(e("primary", op="remove")),
        sys_(e("route", e("ifname", v="eth2"), k=("r2",))), sys_(e("route", e("mtu", v=9000), k=("0/0",))),
        sys_(e("route", e("ifname", v="eth1"), k=("0/0",))), sys_(e("route", op="remove", k=("0/0",))),
        sys_(e("target", v=f"{V}/iface[name='eth2']/mtu")), sys_(e("target", v=f"{V}/iface[name='eth0']")),
        sys_(e("num-or-ref", v="eth2")), sys_(e("num-or-ref", v=7)),
    ]


@pytest.mark.parametrize("seed", range(40))
def test_incremental_matches_full(B: Bundle, base: YangModel, seed: int) -> None:
    rnd = random.Random(seed)
    pool = _pool()
    tree = base
    acc: list[Change] = []
    for _ in range(8):
        res = apply_edit(B, tree, edits(B, *rnd.sample(pool, rnd.randint(1, 3))))
        tree = res.tree
        acc.extend(res.changes)
        want = {(x.tag, x.path) for x in validate(B, tree, None)}
        got = {(x.tag, x.path) for x in validate(B, tree, acc)}
        assert got == want, f"seed {seed}: incremental {got} != full {want}"


# ---- through Session: a refused commit changes nothing ----------------------------------------
@pytest.fixture
def ds(B: Bundle, tmp_path: Path) -> Iterator[Datastores]:
    d = Datastores(B, Store.open(f"sqlite:///{tmp_path / 'val.db'}"))
    s = d.open_session("setup", "test")
    from models.edit import edit_from_json

    s.edit("running", edit_from_json(B, B.node(V), VBASE))
    s.close()
    yield d
    d.close()


def test_commit_refuses_invalid_candidate(B: Bundle, ds: Datastores) -> None:
    s = ds.open_session("alice", "netconf")
    s.edit("candidate", edits(B, sys_(e("iface", op="delete", k=("eth0",)), e("limits", e("low", v=9)))))
    want = full(B, s.get("candidate"))
    assert want == {("data-missing", "instance-required", f"{V}/primary"),
                    ("data-missing", "instance-required", f"{V}/route[dest='0/0']/ifname"),
                    ("data-missing", "instance-required", f"{V}/route[dest='0/0']/mtu"),
                    ("data-missing", "instance-required", f"{V}/target"),
                    ("operation-failed", "range-inverted", f"{V}/limits")}
    before = (s.get("running").model_dump_json(), s.get("candidate").model_dump_json(), ds.head)
    with pytest.raises(YangdErrors) as ei:
        s.commit()
    assert {(x.tag, x.app_tag, x.path) for x in ei.value.errors} == want
    assert (s.get("running").model_dump_json(), s.get("candidate").model_dump_json(), ds.head) == before
    with pytest.raises(YangdErrors) as ei:
        s.validate("candidate")
    assert {(x.tag, x.app_tag, x.path) for x in ei.value.errors} == want
    s.validate("running")
    # fixing the candidate lets the commit through
    s.edit("candidate", edits(B, sys_(e("iface", e("descr", v="d"), e("mtu", v=1500), k=("eth0",)),
                                      e("limits", e("low", v=1)))))
    s.commit()
    assert ds.head == before[2] + 1


def test_invalid_edit_of_running_is_refused(B: Bundle, ds: Datastores) -> None:
    s = ds.open_session("alice", "netconf")
    before = (s.get("running").model_dump_json(), s.get("candidate").model_dump_json(), ds.head)
    with pytest.raises(YangdErrors) as ei:
        s.edit("running", edits(B, sys_(e("hostname", op="delete"))))
    assert [(x.tag, x.path) for x in ei.value.errors] == [("data-missing", f"{V}/hostname")]
    assert (s.get("running").model_dump_json(), s.get("candidate").model_dump_json(), ds.head) == before
    with pytest.raises(YangdErrors) as ei:
        s.edit("candidate", edits(B, sys_(e("user", e("uid", v=1), k=("u9",)))), test_option="test-only")
    assert [(x.app_tag, x.path) for x in ei.value.errors] == [("data-not-unique", f"{V}/user[name='u9']")]
    assert (s.get("running").model_dump_json(), s.get("candidate").model_dump_json(), ds.head) == before


def test_rfc7950_section15_error_info(pkg: ModuleType, B: Bundle) -> None:
    """missing-choice and non-unique carry the error-info RFC 7950 §15.1/§15.6 require."""
    errors = validate(B, pkg.Root.model_validate({}), None)
    choice = [e for e in errors if e.app_tag == "missing-choice"]
    assert choice and all(e.info.get("missing-choice") for e in choice)
