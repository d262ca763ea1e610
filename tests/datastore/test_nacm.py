"""NACM (RFC 8341 §3.4) on the datastore API: the decisions, pruning, write checks, exec."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import models.generated as g
from datastore.datastores import Datastores
from datastore.path import parse_path
from datastore.session import Session
from datastore.store import Store
from models.edit import Op, edit_from_json
from models.errors import YangdErrors

IFS = "/ietf-interfaces:interfaces"
ETH = "iana-if-type:ethernetCsmacd"


def rule(name: str, action: str, ops: str = "*", module: str = "*", **kw: str) -> dict[str, Any]:
    return {"name": name, "module-name": module, "access-operations": ops, "action": action, **kw}


def nacm(*lists: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"enable-nacm": True, **top,
            "groups": {"group": [{"name": "admin", "user-name": ["alice"]},
                                 {"name": "ops", "user-name": ["olga", "oscar"]}]},
            "rule-list": [{"name": "admin", "group": ["admin"], "rule": [rule("all", "permit")]}, *lists]}


OPS = {"name": "ops", "group": ["ops"], "rule": [
    rule("hide-secret", "deny", "read", path=f"{IFS}/interface[name='secret']"),
    rule("hide-descr", "deny", "read", path=f"{IFS}/interface/description"),
    rule("edit-eth", "permit", "create update", path=f"{IFS}/interface[name='eth9']"),
    rule("no-rollback", "deny", "exec", module="yangd-commits", **{"rpc-name": "rollback"}),
]}


@pytest.fixture
def ds(tmp_path: Path) -> Iterator[Datastores]:
    d = Datastores(g.B, Store.open(f"sqlite:///{tmp_path / 'n.db'}"))
    yield d
    d.close()


def setup(ds: Datastores, config: dict[str, Any], ifaces: list[dict[str, Any]] | None = None) -> None:
    s = ds.open_session("root", "internal")
    s.edit("running", edit_from_json(g.B, g.B.node("/ietf-netconf-acm:nacm"), config), Op.REPLACE)
    if ifaces:
        s.edit("running", edit_from_json(g.B, g.B.node(IFS), {"interface": ifaces}))
    s.close()


def iface(name: str, **kw: Any) -> dict[str, Any]:
    return {"name": name, "type": ETH, **kw}


def read(s: Session) -> Any:
    """running as ``s`` may read it (typed loosely: the generated Root's fields)."""
    return s.get("running")


def names(s: Session) -> list[str]:
    t = read(s)
    return sorted(e.name for e in t.interfaces.interface) if t.interfaces else []


def edit(s: Session, target: str, *ifaces: dict[str, Any]) -> None:
    s.edit(target, edit_from_json(g.B, g.B.node(IFS), {"interface": list(ifaces)}))


def denied(fn: Any, *args: Any) -> Any:
    with pytest.raises(YangdErrors) as e:
        fn(*args)
    assert e.value.errors[0].tag == "access-denied", e.value.errors
    return e.value.errors[0]


def test_factory_state_checks_nothing(ds: Datastores) -> None:
    s = ds.open_session("anyone", "netconf")
    assert s.access is None
    edit(s, "running", iface("eth0"))
    assert names(s) == ["eth0"]


def test_reads_pruned_by_key_and_by_leaf(ds: Datastores) -> None:
    setup(ds, nacm(OPS), [iface("eth0", description="d0"), iface("secret"), iface("eth1")])
    olga, alice = ds.open_session("olga", "netconf"), ds.open_session("alice", "restconf")
    assert names(olga) == ["eth0", "eth1"]
    assert read(olga).interfaces.interface.get(("eth0",)).description is None
    assert names(alice) == ["eth0", "eth1", "secret"]
    assert read(alice).interfaces.interface.get(("eth0",)).description == "d0"
    # the nacm container itself is default-deny-all: operators do not see the rules
    assert read(olga).nacm is None and read(alice).nacm is not None
    assert olga.get_path(f"{IFS}/interface[name='secret']") is None


def test_entry_copies_without_a_hidden_leaf_follow_rule_changes(ds: Datastores) -> None:
    """Copies of entries without a leaf every entry loses are kept across NACM changes that
    cut the same leaf, and never reused when the rules cut another one or none."""
    hide = {"name": "ops", "group": ["ops"], "rule": [
        rule("hide-secret", "deny", "read", path=f"{IFS}/interface[name='secret']"),
        rule("hide", "deny", "read", path=f"{IFS}/interface/description")]}
    ifs = [iface(f"eth{i}", description=f"d{i}", enabled=False) for i in range(5)] + [iface("secret")]
    setup(ds, nacm(hide), ifs)
    olga = ds.open_session("olga", "netconf")
    first = read(olga).interfaces.interface
    assert [e.description for e in first] == [None] * 5
    assert [e.enabled for e in first] == [False] * 5 and len(first) == 5
    assert first.get(("eth3",)).name == "eth3" and first.get(("secret",)) is None
    # a change of the rules that still hides descriptions: the same copies
    setup(ds, nacm({**hide, "rule": [*hide["rule"], rule("x", "deny", "exec", module="ietf-system")]}))
    again = read(olga).interfaces.interface
    assert all(a is b for a, b in zip(first, again, strict=True))
    # now "enabled" is hidden instead: new copies, descriptions back
    hide["rule"][1] = rule("hide", "deny", "read", path=f"{IFS}/interface/enabled")
    setup(ds, nacm(hide))
    other = read(olga).interfaces.interface
    assert [(e.description, e.enabled) for e in other] == [(f"d{i}", None) for i in range(5)]
    # and nothing hidden: the entries of running themselves
    setup(ds, nacm({**hide, "rule": hide["rule"][:1]}))
    plain = read(olga).interfaces.interface
    assert [(e.description, e.enabled) for e in plain] == [(f"d{i}", False) for i in range(5)]
    root = ds.open_session("root", "internal")
    assert all(a is b for a, b in zip(plain, root.get("running").interfaces.interface, strict=False))
    # an entry changed in running is copied afresh, the others kept
    edit(root, "running", iface("eth2", description="new"))
    setup(ds, nacm(hide))
    after = read(olga).interfaces.interface
    assert after.get(("eth2",)).description == "new" and after.get(("eth2",)).enabled is None


def test_access_kept_across_nacm_changes_that_leave_the_rules(ds: Datastores) -> None:
    setup(ds, nacm(OPS), [iface("eth0", description="d0"), iface("secret")])
    olga = ds.open_session("olga", "netconf")
    before = olga.access
    assert before is not None and names(olga) == ["eth0"]
    # another group's rules and a comment change: olga's rules are the same, so is her Access
    other = {"name": "extra", "group": ["admin"], "rule": [rule("x", "deny", "exec", module="ietf-system")]}
    ops = {**OPS, "rule": [{**OPS["rule"][0], "comment": "why"}, *OPS["rule"][1:]]}
    setup(ds, nacm(ops, other))
    assert olga.access is before and names(olga) == ["eth0"]
    # her rules change: a new Access, and reads follow it at once
    setup(ds, nacm({**OPS, "rule": OPS["rule"][1:]}))
    assert olga.access is not before and names(olga) == ["eth0", "secret"]


def test_write_default_deny_and_path_of_denied_node(ds: Datastores) -> None:
    setup(ds, nacm(OPS), [iface("eth0")])
    olga, nobody = ds.open_session("olga", "netconf"), ds.open_session("nobody", "netconf")
    heard: list[tuple[Any, ...]] = []
    ds.nacm.listeners.append(lambda *a: heard.append(a))  # e.g. the audit log
    head = ds.head
    err = denied(edit, olga, "running", iface("eth0", description="x"))
    assert err.path == f"{IFS}/interface[name='eth0']/description"
    err = denied(edit, nobody, "running", iface("eth9"))  # no group: write-default deny
    assert err.path == f"{IFS}/interface[name='eth9']"
    denied(edit, olga, "candidate", iface("eth1"))
    assert ds.head == head and not ds.candidate.dirty
    edit(olga, "running", iface("eth9", description="mine"))  # permitted by its rule
    assert "eth9" in names(olga)
    assert ds.nacm.denied_data_writes == 3
    assert heard[0] == ("olga", "netconf", olga.id, "create", f"{IFS}/interface[name='eth0']/description")
    # deleting is not in the rule: refused, and nothing changed
    with pytest.raises(YangdErrors):
        olga.edit("running", edit_from_json(g.B, g.B.node(IFS), {"interface": [
            {"name": "eth9", "@": {"ietf-netconf:operation": "delete"}}]}))


def test_rule_order_first_match_wins(ds: Datastores) -> None:
    deny_first = {"name": "ops", "group": ["ops"], "rule": [
        rule("deny-if", "deny", "*", module="ietf-interfaces"), rule("permit-all", "permit")]}
    setup(ds, nacm(deny_first), [iface("eth0")])
    olga = ds.open_session("olga", "netconf")
    assert names(olga) == []
    denied(edit, olga, "running", iface("eth1"))
    permit_first = {**deny_first, "rule": list(reversed(deny_first["rule"]))}
    setup(ds, nacm(permit_first))
    assert names(olga) == ["eth0"]
    edit(olga, "running", iface("eth1"))
    assert names(olga) == ["eth0", "eth1"]


def test_commit_checks_the_candidate_changes_of_the_committer(ds: Datastores) -> None:
    setup(ds, nacm(OPS))
    alice, olga = ds.open_session("alice", "netconf"), ds.open_session("olga", "netconf")
    edit(alice, "candidate", iface("eth3"))
    head = ds.head
    err = denied(olga.commit)
    assert err.path == IFS  # the container is created too: the first node refused
    assert ds.head == head
    alice.commit()
    assert "eth3" in names(alice)


def test_copy_and_delete_config_and_rollback_checked(ds: Datastores) -> None:
    setup(ds, nacm(OPS), [iface("eth0")])
    olga, alice = ds.open_session("olga", "netconf"), ds.open_session("alice", "netconf")
    denied(olga.copy_config, "running", "startup")
    alice.copy_config("running", "startup")
    denied(olga.delete_config, "startup")
    assert ds.startup is not None
    denied(olga.rollback, 0)


def test_exec_rules_defaults_and_always_permitted(ds: Datastores) -> None:
    setup(ds, nacm(OPS))
    olga, nobody, alice = (ds.open_session(u, "netconf") for u in ("olga", "nobody", "alice"))
    rollback = g.B.node("/yangd-commits:rollback")
    denied(olga.check_exec, rollback)
    nobody.check_exec(rollback)  # exec-default permit for a user in no group
    restart = g.B.node("/ietf-system:system-restart")  # nacm:default-deny-all
    denied(nobody.check_exec, restart)
    alice.check_exec(restart)
    assert not nobody.may_exec("ietf-netconf", "kill-session")  # RFC 8341 §3.4.4 step 11
    assert not nobody.may_exec("ietf-netconf", "delete-config")
    assert nobody.may_exec("ietf-netconf", "close-session") and alice.may_exec("ietf-netconf", "kill-session")
    assert ds.nacm.denied_operations == 4
    # invoke checks before the handler runs
    inp = rollback.cls.model_validate({"id": 0}) if rollback.cls else None
    if inp is not None:
        denied(ds.invoke, olga, "/yangd-commits:rollback", inp)


def test_recovery_internal_and_disabled_bypass(ds: Datastores) -> None:
    setup(ds, nacm(OPS), [iface("secret")])
    ds.nacm.configure(recovery_users=["root"], groups={"admin": ["eve"]})
    assert ds.open_session("root", "netconf").access is None
    assert ds.open_session("x", "internal").access is None
    eve = ds.open_session("eve", "restconf")  # a config-file (external) group
    edit(eve, "running", iface("eth5"))
    setup(ds, nacm(OPS, **{"enable-external-groups": False}))
    denied(edit, eve, "running", iface("eth6"))
    setup(ds, nacm(OPS, **{"enable-nacm": False}))
    assert ds.open_session("olga", "netconf").access is None


def test_notifications_and_counters_in_operational(ds: Datastores) -> None:
    deny_ev = {"name": "ops", "group": ["ops"], "rule": [
        rule("no-cfg", "deny", "read", module="ietf-netconf-notifications",
             **{"notification-name": "netconf-config-change"})]}
    setup(ds, nacm(deny_ev))
    olga, alice = ds.open_session("olga", "netconf"), ds.open_session("alice", "netconf")
    node = g.B.node("/ietf-netconf-notifications:netconf-config-change")
    assert not olga.may_receive(node, node.module, node.name)
    assert olga.may_receive(None, "ietf-netconf-notifications", "netconf-session-start")
    assert alice.may_receive(node, node.module, node.name)
    view: Any = ds.operational().tree
    assert view.nacm.denied_notifications == 1 and view.nacm.enable_nacm is True


def test_password_leaves_need_an_explicit_rule(ds: Datastores) -> None:
    setup(ds, nacm({"name": "ops", "group": ["ops"], "rule": [rule("all", "permit")]}))
    s = ds.open_session("root", "internal")
    s.edit("running", edit_from_json(g.B, g.B.node("/ietf-system:system"), {
        "authentication": {"user": [{"name": "bob", "password": "$0$secret-pw"}]}}))
    nobody = ds.open_session("nobody", "netconf")
    user = read(nobody).system.authentication.user.get(("bob",))
    assert user is not None and user.password is None
    olga = ds.open_session("olga", "netconf")  # a permit-all rule beats the default
    assert read(olga).system.authentication.user.get(("bob",)).password is not None


def test_actions_use_data_node_rules_with_exec(ds: Datastores) -> None:
    rib = "/ietf-routing:routing/ribs/rib"
    ops = {"name": "ops", "group": ["ops"], "rule": [
        rule("no-active-route", "deny", "exec", "ietf-routing", path=f"{rib}[name='secret']/active-route")]}
    setup(ds, nacm(ops))
    olga, alice = ds.open_session("olga", "netconf"), ds.open_session("alice", "netconf")
    action = g.B.node(f"{rib}/active-route")
    secret, main = parse_path(g.B, f"{rib}[name='secret']"), parse_path(g.B, f"{rib}[name='main']")
    err = denied(olga.check_exec, action, secret)
    assert err.path == f"{rib}[name='secret']/active-route"
    olga.check_exec(action, main)  # exec-default permit elsewhere
    alice.check_exec(action, secret)
