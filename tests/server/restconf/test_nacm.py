"""NACM (RFC 8341) over RESTCONF: a real HTTPS server, Basic auth per user (httpx)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from server.config import add_user
from tests.server.restconf.conftest import USER, Running
from tests.server.restconf.helpers import IF, errors, send
from tests.server.restconf.test_streams import Both, json_url, names, sse
from tests.server.restconf.test_streams import both as both  # the fixture

NACM = "/restconf/data/ietf-netconf-acm:nacm"
OPS = "/restconf/operations"
PW = "pw-nacm"
PATCH = "application/yang-patch+json"


def rule(name: str, action: str, ops: str = "*", module: str = "*", **kw: str) -> dict[str, Any]:
    return {"name": name, "module-name": module, "access-operations": ops, "action": action, **kw}


OPS_RULES = [
    rule("hide-secret", "deny", "read", "ietf-interfaces",
         path="/ietf-interfaces:interfaces/interface[name='secret']"),
    rule("no-rollback", "deny", "exec", "yangd-commits", **{"rpc-name": "rollback"}),
    rule("no-config-change", "deny", "read", "ietf-netconf-notifications",
         **{"notification-name": "netconf-config-change"}),
]


def nacm_body(ops_rules: list[dict[str, Any]] = OPS_RULES) -> dict[str, Any]:
    return {"ietf-netconf-acm:nacm": {
        "groups": {"group": [{"name": "admin", "user-name": [USER]},
                             {"name": "ops", "user-name": ["olga"]}]},
        "rule-list": [{"name": "admin", "group": ["admin"], "rule": [rule("all", "permit")]},
                      {"name": "ops", "group": ["ops"], "rule": ops_rules}]}}


def iface(name: str) -> dict[str, Any]:
    return {"ietf-interfaces:interface": [{"name": name, "type": "iana-if-type:ethernetCsmacd"}]}


def setup(run: Running, ops_rules: list[dict[str, Any]] = OPS_RULES) -> None:
    for user in ("olga", "nobody"):
        add_user(run.data_dir, user, PW)
    with run.client() as admin:
        for name in ("eth0", "secret"):
            r = send(admin, "POST", "/restconf/data", {"ietf-interfaces:interfaces": iface(name)}) \
                if name == "eth0" else send(admin, "POST", IF, iface(name))
            assert r.status_code == 201, r.text
        r = send(admin, "PUT", NACM, nacm_body(ops_rules))
        assert r.status_code in (201, 204), r.text


@pytest.fixture
def run(rc_server: Running) -> Running:
    setup(rc_server)
    return rc_server


def client(run: Running, user: str) -> httpx.Client:
    return run.client(auth=(user, PW))


def if_names(c: httpx.Client) -> list[str]:
    r = c.get(IF)
    if r.status_code == 404:
        return []
    assert r.status_code == 200, r.text
    return sorted(i["name"] for i in r.json()["ietf-interfaces:interfaces"]["interface"])


def denied(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 403, r.text
    (err,) = errors(r)
    assert err["error-tag"] == "access-denied"
    return err


def test_operator_reads_all_but_the_denied_subtree(run: Running) -> None:
    with client(run, "olga") as olga, run.client() as admin:
        assert if_names(olga) == ["eth0"]
        assert if_names(admin) == ["eth0", "secret"]
        assert olga.get(f"{IF}/interface=secret").status_code == 404
        assert admin.get(f"{IF}/interface=secret").status_code == 200
        whole = olga.get("/restconf/data", params={"content": "config"}).json()["ietf-restconf:data"]
        assert "ietf-netconf-acm:nacm" not in whole  # nacm:default-deny-all
        assert "secret" not in str(whole)
        assert olga.get(NACM).status_code == 404
        # defaults filled in (RFC 8040 §4.8.9) do not bring a pruned container back
        full = olga.get("/restconf/data", params={"with-defaults": "report-all"}).json()
        assert "ietf-netconf-acm:nacm" not in full["ietf-restconf:data"]
        assert "ietf-netconf-acm:nacm" in admin.get(
            "/restconf/data", params={"with-defaults": "report-all"}).json()["ietf-restconf:data"]


def test_operator_cannot_edit_admin_can(run: Running) -> None:
    head = run.ds.head
    with client(run, "olga") as olga, run.client() as admin:
        err = denied(send(olga, "POST", IF, iface("eth1")))
        assert err["error-path"] == "/ietf-interfaces:interfaces/interface[name='eth1']"
        denied(olga.delete(f"{IF}/interface=eth0"))
        patch = {"ietf-yang-patch:yang-patch": {"patch-id": "p1", "edit": [
            {"edit-id": "e1", "operation": "create", "target": "/interface=eth5",
             "value": iface("eth5")}]}}
        r = send(olga, "PATCH", IF, patch, ctype=PATCH)
        assert r.status_code == 403, r.text
        status = r.json()["ietf-yang-patch:yang-patch-status"]
        (e,) = status["edit-status"]["edit"]
        assert e["edit-id"] == "e1" and e["errors"]["error"][0]["error-tag"] == "access-denied"
        assert run.ds.head == head
        assert send(admin, "POST", IF, iface("eth1")).status_code == 201
        assert if_names(olga) == ["eth0", "eth1"]


def test_default_write_deny_for_users_in_no_group(run: Running) -> None:
    with client(run, "nobody") as nobody:
        assert if_names(nobody) == ["eth0", "secret"]  # read-default permit
        err = denied(send(nobody, "POST", IF, iface("eth9")))
        assert err["error-path"] == "/ietf-interfaces:interfaces/interface[name='eth9']"
        denied(send(nobody, "PUT", "/restconf/ds/ietf-datastores:candidate/ietf-interfaces:interfaces",
                    {"ietf-interfaces:interfaces": iface("eth9")}))


def test_denied_rpc_admin_can(run: Running) -> None:
    head = run.ds.head
    body = {"yangd-commits:input": {"id": str(head)}}  # back to where it is: no new commit
    with client(run, "olga") as olga, run.client() as admin:
        denied(send(olga, "POST", f"{OPS}/yangd-commits:rollback", body))
        r = send(admin, "POST", f"{OPS}/yangd-commits:rollback", body)
        assert r.status_code == 200, r.text
        assert r.json()["yangd-commits:output"]["id"] == str(head)
        r = send(olga, "POST", f"{OPS}/yangd-commits:compare",
                 {"yangd-commits:input": {"from": "1", "to": "2"}})
        assert r.status_code == 200, r.text  # exec-default permit


def test_rule_order_and_counters(rc_server: Running) -> None:
    data = "read create update delete"
    setup(rc_server, [rule("deny-if", "deny", data, "ietf-interfaces"), rule("permit", "permit", data)])
    with client(rc_server, "olga") as olga, rc_server.client() as admin:
        assert if_names(olga) == []
        denied(send(olga, "POST", IF, iface("eth1")))
        body = nacm_body([rule("permit", "permit", data), rule("deny-if", "deny", data, "ietf-interfaces")])
        assert send(admin, "PUT", NACM, body).status_code == 204
        assert if_names(olga) == ["eth0", "secret"]
        assert send(olga, "POST", IF, iface("eth1")).status_code == 201
        state = admin.get(NACM).json()["ietf-netconf-acm:nacm"]
        assert state["denied-data-writes"] == 1, state
        assert state["denied-operations"] == 0


def test_sse_events_pruned(both: Both) -> None:
    setup(both)
    t0 = datetime.now(UTC)
    with both.client() as admin:
        assert send(admin, "POST", IF, iface("eth3")).status_code == 201
    both.flush()
    window = {"start-time": t0.isoformat(), "stop-time": datetime.now(UTC).isoformat()}
    with both.client() as admin:
        url = json_url(admin)
        with admin.stream("GET", url, params=window) as r:
            assert "ietf-netconf-notifications:netconf-config-change" in names(sse(r))
    with client(both, "olga") as olga, olga.stream("GET", url, params=window) as r:
        got = names(sse(r))
        assert "ietf-netconf-notifications:netconf-config-change" not in got
        assert "nc-notifications:replayComplete" in got
    assert both.ds.nacm.denied_notifications >= 1


def test_with_defaults_unchanged_while_nacm_applies(run: Running) -> None:
    """NACM being on (it adds a state provider: its counters) does not turn the basic mode
    (explicit, RFC 8040 §4.8.9) into report-all: a default in use is not shown unasked."""
    with client(run, "olga") as olga, run.client() as admin:
        for c in (olga, admin):
            entry = c.get(f"{IF}/interface=eth0").json()["ietf-interfaces:interface"][0]
            assert "enabled" not in entry, entry
            entry = c.get(f"{IF}/interface=eth0", params={"with-defaults": "report-all"}).json()
            assert entry["ietf-interfaces:interface"][0]["enabled"] is True


def test_entity_tags_follow_only_what_the_user_may_read(run: Running) -> None:
    """A change to a node hidden from a user leaves their ETags alone (they would tell them it
    happened); a change they can see moves them, and If-Match with their tag works."""
    with client(run, "olga") as olga, run.client() as admin:
        def tags(c: httpx.Client) -> tuple[str, str]:
            return c.get(IF).headers["etag"], c.get("/restconf/data").headers["etag"]

        olga_before, admin_before = tags(olga), tags(admin)
        r = send(admin, "PATCH", f"{IF}/interface=secret",
                 {"ietf-interfaces:interface": [{"name": "secret", "description": "hidden change"}]})
        assert r.status_code == 204, r.text
        assert tags(olga) == olga_before  # nothing she can read changed
        assert all(a != b for a, b in zip(tags(admin), admin_before, strict=True))
        r = send(admin, "PATCH", f"{IF}/interface=eth0",
                 {"ietf-interfaces:interface": [{"name": "eth0", "description": "visible"}]})
        assert r.status_code == 204, r.text
        after = tags(olga)
        assert after[0] != olga_before[0] and after[1] != olga_before[1]
        r = olga.get(IF, headers={"If-None-Match": after[0]})
        assert r.status_code == 304
