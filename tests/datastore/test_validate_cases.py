"""Mandatory nodes inside choice cases bind only when their case is selected (RFC 7950 §7.9.4),
on the shipped ietf-access-control-list / ietf-packet-fields modules, whose port ranges are
cases with mandatory leaves (RFC 8519)."""

from __future__ import annotations

import json
from typing import Any

from datastore.validate import validate
from models.codec import decode_json
from models.generated import B, Root

ACL = "/ietf-access-control-list:acls/acl[name='a']/aces/ace[name='r1']"


def tree(tcp: dict[str, Any]) -> Any:
    return decode_json(Root, json.dumps({"ietf-access-control-list:acls": {"acl": [{
        "name": "a", "type": "ietf-access-control-list:ipv4-acl-type",
        "aces": {"ace": [{"name": "r1", "matches": {"tcp": tcp},
                          "actions": {"forwarding": "ietf-access-control-list:accept"}}]}}]}}))


def missing(tcp: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e.message, e.path) for e in validate(B, tree(tcp), None) if e.tag == "data-missing"]


def test_no_case_selected_binds_nothing() -> None:
    assert missing({"flags": "syn"}) == []
    assert missing({"source-port": {}}) == []  # the NP container holding the choice, empty


def test_selected_case_binds_its_mandatory_leaves() -> None:
    got = missing({"source-port": {"lower-port": 1000}})
    assert got == [("mandatory leaf upper-port is missing",
                    f"{ACL}/matches/tcp/source-port/upper-port")]
    got = missing({"destination-port": {"operator": "lte"}})
    assert got == [("mandatory leaf port is missing", f"{ACL}/matches/tcp/destination-port/port")]
    assert missing({"source-port": {"lower-port": 1000, "upper-port": 2000}}) == []


def test_context_free_when_is_reported_for_every_entry() -> None:
    """RFC 8519's when on matches/ipv4 reads only /acls/acl/type: evaluated once per tree,
    still reported on each entry it fails for; a context-dependent must still sees each node."""
    from datastore.validate import _context_free

    aces = [{"name": f"r{i}", "matches": {"ipv4": {"dscp": 1}},
             "actions": {"forwarding": "ietf-access-control-list:accept"}} for i in range(3)]
    doc = {"ietf-access-control-list:acls": {"acl": [
        {"name": "a", "type": "ietf-access-control-list:eth-acl-type", "aces": {"ace": aces}}]}}
    errs = validate(B, decode_json(Root, json.dumps(doc)), None)
    bad = sorted(e.path or "" for e in errs if e.app_tag == "when-violation")
    assert bad == [f"/ietf-access-control-list:acls/acl[name='a']/aces/ace[name='r{i}']/matches/ipv4"
                   for i in range(3)]
    ipv4 = B.node("/ietf-access-control-list:acls/acl/aces/ace/matches/ipv4")
    assert _context_free(ipv4.when[0])
    port = B.node("/ietf-access-control-list:acls/acl/aces/ace/matches/tcp/source-port/lower-port")
    assert not _context_free(port.must[0])  # compares with ../upper-port
    errs = validate(B, tree({"source-port": {"lower-port": 2000, "upper-port": 1000}}), None)
    assert [(e.app_tag, e.path) for e in errs] == [("must-violation", f"{ACL}/matches/tcp/source-port/lower-port")]
    assert validate(B, tree({"source-port": {"lower-port": 1000, "upper-port": 2000}}), None) == []
