"""NACM (RFC 8341) over NETCONF: a real server, real SSH sessions (ncclient) per user."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree
from ncclient.operations.rpc import RPCError

from server.config import add_user
from tests.server.conftest import USER, Running, connect
from tests.server.helpers import IF, NC, YC, el, iface, names
from tests.server.test_notifications import take

ACM = "urn:ietf:params:xml:ns:yang:ietf-netconf-acm"
PW = "pw-nacm"


def rule(name: str, action: str, ops: str = "*", module: str = "*", extra: str = "") -> str:
    return (f"<rule><name>{name}</name><module-name>{module}</module-name>{extra}"
            f"<access-operations>{ops}</access-operations><action>{action}</action></rule>")


OPS_RULES = "".join([
    rule("hide-secret", "deny", "read", "ietf-interfaces",
         f'<path xmlns:if="{IF}">/if:interfaces/if:interface[if:name=\'secret\']</path>'),
    rule("no-rollback", "deny", "exec", "yangd-commits", "<rpc-name>rollback</rpc-name>"),
    rule("no-config-change", "deny", "read", "ietf-netconf-notifications",
         "<notification-name>netconf-config-change</notification-name>"),
])


def nacm_config(ops_rules: str = OPS_RULES, op: str = "merge") -> str:
    return (f'<config xmlns="{NC}"><nacm xmlns="{ACM}" xmlns:nc="{NC}" nc:operation="{op}">'
            f"<groups><group><name>admin</name><user-name>{USER}</user-name></group>"
            f"<group><name>ops</name><user-name>olga</user-name></group></groups>"
            f"<rule-list><name>admin</name><group>admin</group>{rule('all', 'permit')}</rule-list>"
            f"<rule-list><name>ops</name><group>ops</group>{ops_rules}</rule-list>"
            f"</nacm></config>")


@pytest.fixture
def nacm_server(nc_server: Running) -> Running:
    """Interfaces eth0 and secret, then NACM: admin (all), olga in ops, nobody in no group."""
    for user in ("olga", "nobody"):
        add_user(nc_server.data_dir, user, PW)
    with connect(nc_server) as m:
        m.edit_config(target="running", config=iface("eth0"))
        m.edit_config(target="running", config=iface("secret"))
        m.edit_config(target="running", config=nacm_config())
    return nc_server


def as_user(run: Running, user: str) -> Any:
    return connect(run, username=user, password=PW)


def refused(fn: Any, *args: Any, **kw: Any) -> RPCError:
    with pytest.raises(RPCError) as e:
        fn(*args, **kw)
    assert e.value.tag == "access-denied", e.value
    return e.value


def test_operator_sees_config_except_denied_subtree(nacm_server: Running) -> None:
    with as_user(nacm_server, "olga") as olga, connect(nacm_server) as admin:
        assert names(olga.get_config(source="running")) == ["eth0"]
        assert names(olga.get()) == ["eth0"]
        assert sorted(names(admin.get_config(source="running"))) == ["eth0", "secret"]
        # the NACM rules themselves are nacm:default-deny-all: not for operators
        root = etree.fromstring(olga.get_config(source="running").xml.encode())
        assert root.find(f".//{{{ACM}}}nacm") is None
        root = etree.fromstring(admin.get_config(source="running").xml.encode())
        assert root.find(f".//{{{ACM}}}nacm") is not None


def test_operator_cannot_edit_admin_can(nacm_server: Running) -> None:
    head = nacm_server.ds.head
    with as_user(nacm_server, "olga") as olga, connect(nacm_server) as admin:
        err = refused(olga.edit_config, target="running", config=iface("eth1"))
        assert err.path == "/if:interfaces/if:interface[if:name='eth1']"  # XML prefixes on NETCONF
        assert err.type == "application"
        refused(olga.edit_config, target="running", config=iface("eth0", op="delete", type_=None))
        assert nacm_server.ds.head == head
        admin.edit_config(target="running", config=iface("eth1"))
        assert nacm_server.ds.head == head + 1


def test_default_write_deny_for_users_in_no_group(nacm_server: Running) -> None:
    with as_user(nacm_server, "nobody") as nobody:
        assert names(nobody.get_config(source="running")) == ["eth0", "secret"]  # read-default
        refused(nobody.edit_config, target="candidate", config=iface("eth7"))
        assert not nacm_server.ds.candidate.dirty
        refused(nobody.dispatch, el(f'<kill-session xmlns="{NC}"><session-id>999</session-id></kill-session>'))
        refused(nobody.delete_config, target="startup")


def test_denied_rpc_and_admin_can(nacm_server: Running) -> None:
    rollback = el(f'<rollback xmlns="{YC}"><id>1</id></rollback>')
    with as_user(nacm_server, "olga") as olga, connect(nacm_server) as admin:
        head = nacm_server.ds.head
        err = refused(olga.dispatch, rollback)
        assert err.type == "protocol"
        assert nacm_server.ds.head == head
        reply = admin.dispatch(rollback)
        assert reply.ok and nacm_server.ds.head == head + 1
        olga.validate(source="running")  # exec-default permit for other operations


def test_rule_order_matters(nc_server: Running) -> None:
    add_user(nc_server.data_dir, "olga", PW)
    data = "read create update delete"  # exec stays with exec-default (permit)
    permit_then_deny = rule("permit-if", "permit", data, "ietf-interfaces") + rule("deny-all", "deny", data)
    deny_then_permit = rule("deny-all", "deny", data) + rule("permit-if", "permit", data, "ietf-interfaces")
    with connect(nc_server) as admin:
        admin.edit_config(target="running", config=nacm_config(permit_then_deny))
        with as_user(nc_server, "olga") as olga:
            olga.edit_config(target="running", config=iface("eth2"))
        admin.edit_config(target="running", config=nacm_config(deny_then_permit, "replace"))
        with as_user(nc_server, "olga") as olga:
            refused(olga.edit_config, target="running", config=iface("eth3"))
            assert names(olga.get_config(source="running")) == []  # eth2 is there, unreadable
        assert names(admin.get_config(source="running")) == ["eth2"]


def test_counters(nacm_server: Running) -> None:
    with as_user(nacm_server, "olga") as olga:
        refused(olga.edit_config, target="running", config=iface("eth1"))
        refused(olga.dispatch, el(f'<rollback xmlns="{YC}"><id>1</id></rollback>'))
    with connect(nacm_server) as admin:
        flt = f'<nacm xmlns="{ACM}"/>'
        root = etree.fromstring(admin.get(filter=("subtree", flt)).xml.encode())
        got = {e.tag.split("}")[1]: e.text for e in root.iterfind(f".//{{{ACM}}}nacm/*")}
        assert got["denied-data-writes"] == "1" and got["denied-operations"] == "1", got
    with as_user(nacm_server, "olga") as olga:  # state is pruned too: /nacm is default-deny-all
        root = etree.fromstring(olga.get().xml.encode())
        assert root.find(f".//{{{ACM}}}nacm") is None
        assert names(olga.get()) == ["eth0"]


def test_config_file_groups_and_recovery_users(tmp_path: Any) -> None:
    from server.config import ConfigError, load_config

    f = tmp_path / "yangd.toml"
    f.write_text('[nacm]\ngroups = {admin = ["alice"]}\nrecovery_users = ["root"]\n')
    cfg = load_config(f)
    assert cfg.nacm_groups == {"admin": ["alice"]} and cfg.nacm_recovery_users == ["root"]
    f.write_text('[nacm]\ngroups = {admin = "alice"}\n')
    with pytest.raises(ConfigError, match=r"nacm\.groups"):
        load_config(f)


def test_notifications_pruned(nacm_server: Running) -> None:
    with as_user(nacm_server, "olga") as olga, connect(nacm_server) as admin:
        olga.create_subscription()
        admin.create_subscription()
        admin.edit_config(target="running", config=iface("eth4"))
        got = take(admin)
        assert got is not None and got[0] == "netconf-config-change"
        with connect(nacm_server):  # a session-start olga may see
            pass
        got = take(olga)
        assert got is not None and got[0] == "netconf-session-start", got
    assert nacm_server.ds.nacm.denied_notifications >= 1
