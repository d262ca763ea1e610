"""The validation walk's bookkeeping (datastore/validate.py): a subtree nothing was checked in
is walked without per-node lookups, checked subtrees are skipped by later passes, absent
non-presence containers are walked only when their implicit instance can report something,
and the dependents of a change are found without making a node per list entry. Also two
rules incremental validation used to miss or overdo: a mandatory node whose when turns true
through a change elsewhere (RFC 7950 §7.21.5), and a mandatory choice inside a case that is
not selected (§7.9.4).

Test modules: tests/datastore/yang/dstest-walk.yang and the shipped RFC 8519 ACL modules.
Every case checks that incremental validation (over the change set) reports exactly what
full validation reports, each failure once, also when the change set overlaps itself, in
either order.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import pytest

from datastore.edit import Change, apply_edit
from datastore.validate import validate
from models.bundle import Bundle, YangModel
from models.codec import decode_json
from models.edit import EditNode, Op, edit_from_json
from tests.datastore.test_edit import S, build, e

T = "/dstest-walk:top"
Err = tuple[str, str | None, str | None]


@pytest.fixture(scope="module")
def pkg(dstest_package: Any) -> ModuleType:
    return dstest_package("dstest-walk")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def B(pkg: ModuleType) -> Bundle:
    return pkg.B  # type: ignore[no-any-return]


def wtree(pkg: ModuleType, **top: Any) -> YangModel:
    return pkg.Root.model_validate({"dstest-walk:top": top})  # type: ignore[no-any-return]


def top_(*kids: S, op: str | None = None) -> S:
    return e("dstest-walk:top", *kids, op=op)


def item(name: str, *kids: S, op: str | None = None) -> S:
    return e("item", *kids, op=op, k=(name,))


def errs(B: Bundle, tree: YangModel, changes: Sequence[Change] | None) -> Counter[Err]:
    return Counter((x.tag, x.app_tag, x.path) for x in validate(B, tree, changes))


def check(B: Bundle, tree: YangModel, changes: Sequence[Change]) -> Counter[Err]:
    """Full validation of ``tree``; incremental validation over ``changes`` must agree."""
    full = errs(B, tree, None)
    assert all(n == 1 for n in full.values()), f"reported twice: {full}"
    inc = errs(B, tree, changes)
    assert inc == full, f"incremental {inc} != full {full}"
    return full


def edited(B: Bundle, tree: YangModel, *specs: S) -> tuple[YangModel, Counter[Err]]:
    res = apply_edit(B, tree, [build(B.schema.root, s) for s in specs])
    return res.tree, check(B, res.tree, res.changes)


def p(name: str, rest: str) -> str:
    return f"{T}/item[name='{name}']/{rest}"


def test_absent_np_container_binds_its_mandatory_once(B: Bundle, pkg: ModuleType) -> None:
    # np exists implicitly (it holds the default d), so its mandatory m is required; both the
    # check of m and the walk into np's defaults see the same implicit np: reported once
    _, got = edited(B, wtree(pkg), top_(item("i1"), item("i2", e("np", e("m", v="x")))))
    assert got == Counter({("data-missing", None, p("i1", "np/m")): 1})


def test_default_with_must_is_checked_and_rechecked(B: Bundle, pkg: ModuleType) -> None:
    # RFC 7950 §7.5.3: a must is evaluated on the accessible tree, defaults included
    tree, got = edited(B, wtree(pkg), top_(e("limit", v=3), item("i1", e("np", e("m", v="x"))),
                                           item("i2", e("np", e("m", v="y"), e("d", v=1)))))
    assert got == Counter({("operation-failed", "must-violation", p("i1", "np/d")): 1})
    # the must names limit: changing only limit re-checks every d, the defaults too
    tree, got = edited(B, tree, top_(e("limit", v=1)))
    assert got == Counter({("operation-failed", "must-violation", p("i1", "np/d")): 1,
                           ("operation-failed", "must-violation", p("i2", "np/d")): 1})
    _, got = edited(B, tree, top_(e("limit", op="remove")))
    assert got == Counter()


def test_inert_np_container_binds_only_its_selected_case(B: Bundle, pkg: ModuleType) -> None:
    # inert holds the default op, but in a case: an absent inert selects no case, binds nothing
    tree, got = edited(B, wtree(pkg), top_(item("i1", e("np", e("m", v="x")))))
    assert got == Counter()
    _, got = edited(B, tree, top_(item("i1", e("inert", e("op", v="lt")))))
    assert got == Counter({("data-missing", None, p("i1", "inert/y1")): 1})
    _, got = edited(B, tree, top_(item("i1", e("inert", e("x2", v=1)))))
    assert got == Counter({("data-missing", None, p("i1", "inert/x1")): 1})


def test_context_dependent_when_turns_false(B: Bundle, pkg: ModuleType) -> None:
    tree, got = edited(B, wtree(pkg), top_(*(item(f"i{n}", e("np", e("m", v="x")), e("gated", e("g", v="g")))
                                             for n in range(3))))
    assert got == Counter()
    tree, got = edited(B, tree, top_(e("kind", v="b")))  # a change outside the items
    assert got == Counter({("operation-failed", "when-violation", p(f"i{n}", "gated")): 1 for n in range(3)})
    _, got = edited(B, tree, top_(e("kind", op="remove")))  # the default 'a' again
    assert got == Counter()


def test_leafref_in_a_created_subtree_reported_once(B: Bundle, pkg: ModuleType) -> None:
    # the leafref names item/name, which the change touched: it is also a dependent of the
    # change, but the walk of the new items already checked it
    _, got = edited(B, wtree(pkg), top_(item("i1", e("np", e("m", v="x")), e("ref", v="nope"))))
    assert got == Counter({("data-missing", "instance-required", p("i1", "ref")): 1})


@pytest.mark.parametrize("reverse", [False, True])
def test_overlapping_changes_in_either_order(B: Bundle, pkg: ModuleType, reverse: bool) -> None:
    base = wtree(pkg, item=[{"name": "i1", "np": {"m": "x"}}])
    r1 = apply_edit(B, base, [build(B.schema.root, top_(item("i1", e("np", e("d", v=50)), e("ref", v="i9"))))])
    r2 = apply_edit(B, r1.tree, [build(B.schema.root, top_(item("i2"), e("kind", v="b")))])
    r3 = apply_edit(B, r2.tree, [build(B.schema.root, top_(item("i1", e("gated", e("g", v="g")))))])
    changes = [*r1.changes, *r2.changes, *r3.changes]
    if reverse:
        changes.reverse()
    got = check(B, r3.tree, changes)
    assert got == Counter({("operation-failed", "must-violation", p("i1", "np/d")): 1,
                           ("data-missing", "instance-required", p("i1", "ref")): 1,
                           ("operation-failed", "when-violation", p("i1", "gated")): 1,
                           ("data-missing", None, p("i2", "np/m")): 1})
    # the whole container replaced on top of changes inside it
    r4 = apply_edit(B, r3.tree, [EditNode(B.node(T), Op.REPLACE, content=r3.tree.top)])  # type: ignore[attr-defined]
    assert check(B, r4.tree, [*changes, *r4.changes]) == got


def _pool() -> list[S]:
    return [
        top_(e("kind", v="b")), top_(e("kind", v="a")), top_(e("kind", v="c")), top_(e("kind", op="remove")),
        top_(item("i1", e("need", v="n"))), top_(item("i2", e("extra", e("e", v="e")))),
        top_(e("opts", e("xa", v="x"))), top_(e("opts", e("ya", v="y"))), top_(e("opts", e("i1", v="1"))),
        top_(e("opts", op="remove")),
        top_(e("limit", v=3)), top_(e("limit", v=1)), top_(e("limit", op="remove")),
        top_(item("i1")), top_(item("i1", op="remove")), top_(item("i2", e("np", e("m", v="m")))),
        top_(item("i2", e("np", op="remove"))), top_(item("i1", e("np", e("d", v=2)))),
        top_(item("i3", e("inert", e("op", v="lt")))), top_(item("i3", e("inert", e("y1", v=1)))),
        top_(item("i3", e("inert", op="remove"))), top_(item("i2", e("inert", e("x2", v=1)))),
        top_(item("i1", e("gated", e("g", v="g")))), top_(item("i2", e("gated", op="remove"))),
        top_(item("i2", e("ref", v="i1"))), top_(item("i3", e("ref", v="i2"))),
        top_(item("i3", op="remove")), top_(op="remove"),
    ]


@pytest.mark.parametrize("seed", range(30))
def test_incremental_matches_full(B: Bundle, pkg: ModuleType, seed: int) -> None:
    rnd = random.Random(seed)
    pool = _pool()
    tree = wtree(pkg)
    acc: list[Change] = []
    for _ in range(8):
        res = apply_edit(B, tree, [build(B.schema.root, s) for s in rnd.sample(pool, rnd.randint(1, 3))])
        tree = res.tree
        acc.extend(res.changes)
        check(B, tree, acc)


def test_acl_type_change_rechecks_every_entry() -> None:
    """RFC 8519: each ACE's matches/ipv4 has a when on /acls/acl/type. Created whole, the ACEs
    are walked once; a later change of the type alone must still reach every ACE."""
    from models.generated import B as GB
    from models.generated import Root

    acls = "/ietf-access-control-list:acls"
    aces = [{"name": f"r{i}", "matches": {"ipv4": {"dscp": 1}, "tcp": {"destination-port": {"port": 80 + i}}},
             "actions": {"forwarding": "ietf-access-control-list:accept"}} for i in range(50)]
    doc = {"ietf-access-control-list:acls": {"acl": [
        {"name": "a", "type": "ietf-access-control-list:ipv4-acl-type", "aces": {"ace": aces}}]}}
    tree = decode_json(Root, json.dumps(doc))
    res = apply_edit(GB, Root.model_validate({}), [EditNode(GB.node(acls), Op.REPLACE, content=tree.acls)])
    assert check(GB, res.tree, res.changes) == Counter()
    # only the type leaf changes: the ACEs are no part of the change set
    res2 = apply_edit(GB, res.tree, edit_from_json(GB, GB.node(acls), {"acl": [
        {"name": "a", "type": "ietf-access-control-list:eth-acl-type"}]}))
    assert [str(c.path[-1].node.name) for c in res2.changes] == ["type"]
    got = check(GB, res2.tree, res2.changes)
    assert got == Counter({("operation-failed", "when-violation",
                            f"{acls}/acl[name='a']/aces/ace[name='r{i}']/matches/ipv4"): 1 for i in range(50)})


_P = "ietf-access-control-list:"


def _ace(name: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"acl": [{"name": "a", "aces": {"ace": [{"name": name, **body}]}}]}


_ACL_POOL: list[tuple[str, dict[str, Any]]] = [
    ("/ietf-access-control-list:acls", {"acl": [{"name": "a", "type": _P + "ipv4-acl-type"}]}),
    ("/ietf-access-control-list:acls", {"acl": [{"name": "a", "type": _P + "eth-acl-type"}]}),
    ("/ietf-access-control-list:acls", {"acl": [{"name": "b", "type": _P + "ipv6-acl-type"}]}),
    ("/ietf-access-control-list:acls", _ace("r1", {"matches": {"ipv4": {"dscp": 1}},
                                                   "actions": {"forwarding": _P + "accept"}})),
    ("/ietf-access-control-list:acls", _ace("r2", {"matches": {"eth": {"ethertype": 2048}},
                                                   "actions": {"forwarding": _P + "drop"}})),
    ("/ietf-access-control-list:acls", _ace("r3", {"matches": {"tcp": {"source-port": {"lower-port": 5}}}})),
    ("/ietf-access-control-list:acls", _ace("r3", {"matches": {"tcp": {"source-port": {"upper-port": 2}}}})),
    ("/ietf-access-control-list:acls", _ace("r3", {"actions": {"forwarding": _P + "accept"}})),
    ("/ietf-access-control-list:acls", _ace("r4", {"matches": {"tcp": {"destination-port": {"operator": "lte"}}},
                                                   "actions": {"forwarding": _P + "accept"}})),
    ("/ietf-access-control-list:acls", _ace("r4", {"matches": {"tcp": {"destination-port": {"port": 7}}}})),
    ("/ietf-access-control-list:acls", {"attachment-points": {"interface": [
        {"interface-id": "eth0", "ingress": {"acl-sets": {"acl-set": [{"name": "a"}]}}}]}}),
    ("/ietf-access-control-list:acls", {"attachment-points": {"interface": [
        {"interface-id": "eth1", "egress": {"acl-sets": {"acl-set": [{"name": "zz"}]}}}]}}),
    ("/ietf-interfaces:interfaces", {"interface": [{"name": "eth0", "type": "iana-if-type:ethernetCsmacd"}]}),
]


@pytest.mark.parametrize("seed", range(40))
def test_acl_incremental_matches_full(seed: int) -> None:
    """Random edits of RFC 8519 ACLs (context-free whens, port-range cases and musts,
    leafrefs to ACLs and interfaces): incremental == full, each failure once; validating only
    the last edit's changes reports a part of it (the tree before may have been invalid)."""
    from models.generated import B as GB
    from models.generated import Root

    rnd = random.Random(seed)
    tree: YangModel = Root.model_validate({})
    acc: list[Change] = []
    for _ in range(8):
        eds: list[EditNode] = []
        for path, body in rnd.sample(_ACL_POOL, rnd.randint(1, 3)):
            eds += edit_from_json(GB, GB.node(path), body)
        res = apply_edit(GB, tree, eds)
        tree = res.tree
        acc.extend(res.changes)
        full = check(GB, tree, acc)
        assert errs(GB, tree, res.changes) - full == Counter()


def _naive_instances(node: Any, target: Any) -> list[Any]:
    chain = []
    s = target
    while s is not None and s.module:
        if s.kind.value not in ("choice", "case"):
            chain.append(s)
        s = s.parent
    frontier = [node]
    for sn in reversed(chain):
        frontier = [c for n in frontier for c in n.children_of(sn)]
    return frontier


@pytest.mark.parametrize("seed", range(5))
def test_instances_lookup_is_children_of(seed: int) -> None:
    """The dependents pass finds a node's instances without making the nodes on the way:
    it finds exactly what ``children_of`` level by level finds (implicit NP containers and
    defaults included), less those inside subtrees already checked whole."""
    from datastore.validate import _Validator
    from models.generated import B as GB
    from models.generated import Root
    from models.instance import root_node

    rnd = random.Random(seed)
    tree: YangModel = Root.model_validate({})
    for path, body in rnd.sample(_ACL_POOL, 9):
        tree = apply_edit(GB, tree, edit_from_json(GB, GB.node(path), body)).tree
    root = root_node(tree, GB)
    v = _Validator(GB, tree)
    acls = GB.node("/ietf-access-control-list:acls")
    targets = [n for n in acls.walk() if n.kind.value not in ("choice", "case")]
    aces = _naive_instances(root, GB.node("/ietf-access-control-list:acls/acl/aces/ace"))
    for checked in ([], rnd.sample(aces, min(2, len(aces)))):
        for node in checked:
            v.subtree(node)
        for t in targets:
            want = [n for n in _naive_instances(root, t) if not v._covered(n)]
            got = v._instances(root, t)
            assert got == want and [n.value for n in got] == [n.value for n in want], t.path()


def test_mandatory_under_a_when_turned_true_elsewhere(B: Bundle, pkg: ModuleType) -> None:
    """RFC 7950 §7.21.5: a mandatory node under a when is required once the when holds, also
    when what made it hold is a node far from it (here: kind, for every item's need/extra)."""
    tree, got = edited(B, wtree(pkg), top_(*(item(f"i{n}", e("np", e("m", v="x"))) for n in range(2))))
    assert got == Counter()
    _, got = edited(B, tree, top_(e("kind", v="c")))
    assert got == Counter({("data-missing", None, p(f"i{n}", leaf)): 1
                           for n in range(2) for leaf in ("need", "extra/e")})
    filled = [item(f"i{n}", e("need", v="y"), e("extra", e("e", v="z"))) for n in range(2)]
    _, got = edited(B, tree, top_(e("kind", v="c"), filled[0]))
    assert got == Counter({("data-missing", None, p("i1", leaf)): 1 for leaf in ("need", "extra/e")})
    tree, got = edited(B, tree, top_(e("kind", v="c"), *filled))
    assert got == Counter()
    _, got = edited(B, tree, top_(e("kind", v="a")))
    assert got == Counter({("operation-failed", "when-violation", p(f"i{n}", leaf)): 1
                           for n in range(2) for leaf in ("need", "extra")})


def test_mandatory_choice_in_a_case_binds_only_when_selected(B: Bundle, pkg: ModuleType) -> None:
    """RFC 7950 §7.9.4: the mandatory choice inner sits in case x of choice outer: it binds
    only while case x is selected (the presence container opts alone selects no case)."""
    o = f"{T}/opts"
    tree, got = edited(B, wtree(pkg), top_(e("opts", op="create")))
    assert got == Counter()
    _, got = edited(B, tree, top_(e("opts", e("ya", v="y"))))
    assert got == Counter()
    _, got = edited(B, tree, top_(e("opts", e("xa", v="x"))))
    assert got == Counter({("data-missing", "missing-choice", o): 1})
    _, got = edited(B, tree, top_(e("opts", e("xa", v="x"), e("i2", v="2"))))
    assert got == Counter()
