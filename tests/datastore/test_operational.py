"""The operational datastore (RFC 8342): running + provider state + defaults, with origins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import models.generated as g
from datastore.datastores import Datastores
from datastore.operational import DEFAULT, INTENDED, LEARNED, SYSTEM
from datastore.store import Store
from models.bundle import YangModel
from models.edit import edit_from_json

IF = "/ietf-interfaces:interfaces"
ETH0 = f"{IF}/interface[name='eth0']"


class Provider:
    def __init__(self, name: str, origin: str, data: dict | None, fail: bool = False):
        self.name, self.origin, self.data, self.fail = name, origin, data, fail

    def state(self) -> YangModel | None:
        if self.fail:
            raise RuntimeError("backend unreachable")
        return g.Root.model_validate(self.data) if self.data is not None else None


@pytest.fixture
def ds(tmp_path: Path) -> Iterator[Datastores]:
    d = Datastores(g.B, Store.open(f"sqlite:///{tmp_path}/y.db"))
    s = d.open_session("admin", "internal")
    s.edit("running", edit_from_json(g.B, g.B.node(IF), {"interface": [
        {"name": "eth0", "type": "iana-if-type:ethernetCsmacd",
         "ietf-ip:ipv4": {"address": [{"ip": "192.0.2.1", "prefix-length": 24}]}}]}))
    yield d
    d.close()


def test_running_only_is_intended_plus_defaults(ds: Datastores) -> None:
    view = ds.operational()
    eth0 = view.tree.interfaces.interface["eth0"]
    assert eth0.enabled is True  # default in use
    assert view.origin_of(ETH0) == INTENDED
    assert view.origin_of(f"{ETH0}/enabled") == DEFAULT
    assert ds.running.interfaces.interface["eth0"].enabled is None  # running keeps what was set


def test_provider_state_merges_with_its_origin(ds: Datastores) -> None:
    ds.add_state_provider(Provider("kernel", LEARNED, {"ietf-interfaces:interfaces": {"interface": [
        {"name": "eth0", "type": "iana-if-type:ethernetCsmacd", "oper-status": "up",
         "ietf-ip:ipv4": {"address": [{"ip": "192.0.2.1", "prefix-length": 24},
                                      {"ip": "198.51.100.7", "prefix-length": 32}]}},
        {"name": "lo", "type": "iana-if-type:softwareLoopback", "oper-status": "up"}]}}))
    view = ds.operational()
    ifs = view.tree.interfaces.interface
    assert [i.name for i in ifs] == ["eth0", "lo"]
    assert ifs["eth0"].oper_status == "up"
    assert [a.ip for a in ifs["eth0"].ipv4.address] == ["192.0.2.1", "198.51.100.7"]
    assert view.origin_of(f"{ETH0}/oper-status") == LEARNED
    assert view.origin_of(f"{ETH0}/ietf-ip:ipv4/address[ip='198.51.100.7']") == LEARNED
    assert view.origin_of(f"{ETH0}/ietf-ip:ipv4/address[ip='192.0.2.1']") == INTENDED
    assert view.origin_of(f"{IF}/interface[name='lo']/type") == LEARNED
    s = ds.open_session("bob", "restconf")
    assert s.get("operational") == view.tree


def test_failing_provider_is_reported_and_others_still_show(ds: Datastores) -> None:
    ds.add_state_provider(Provider("frr", SYSTEM, None, fail=True))
    ds.add_state_provider(Provider("kernel", LEARNED, {"ietf-interfaces:interfaces": {"interface": [
        {"name": "eth0", "type": "iana-if-type:ethernetCsmacd", "oper-status": "down"}]}}))
    view = ds.operational()
    assert view.errors == ["frr: backend unreachable"]
    assert view.tree.interfaces.interface["eth0"].oper_status == "down"


def test_get_path_reads_one_node(ds: Datastores) -> None:
    s = ds.open_session("bob", "netconf")
    assert s.get_path(f"{ETH0}/type") == "iana-if-type:ethernetCsmacd"
    assert s.get_path(f"{ETH0}/ietf-ip:ipv4/address[ip='192.0.2.1']/prefix-length") == 24
    assert s.get_path(f"{IF}/interface[name='nope']") is None
    assert s.get_path(f"{ETH0}/enabled", "operational") is True  # the default in use


def test_state_data_cannot_be_edited(ds: Datastores) -> None:
    from models.errors import YangdErrors

    s = ds.open_session("bob", "netconf")
    before = ds.running.model_dump_json()
    with pytest.raises(YangdErrors) as e:
        s.edit("running", edit_from_json(g.B, g.B.node(IF), {"interface": [
            {"name": "eth0", "oper-status": "up"}]}))
    err = e.value.errors[0]
    assert (err.tag, err.path) == ("invalid-value", f"{ETH0}/oper-status")
    assert ds.running.model_dump_json() == before


def test_state_data_inside_whole_subtrees_is_refused(ds: Datastores) -> None:
    """Content decoded whole (bulk JSON/XML path) is checked for state data too."""
    from models.edit import EditNode, edit_from_model
    from models.errors import YangdErrors

    s = ds.open_session("bob", "netconf")
    before = ds.running.model_dump_json()
    tree = g.Root.model_validate({"ietf-interfaces:interfaces": {"interface": [
        {"name": "eth9", "type": "iana-if-type:ethernetCsmacd", "statistics": {
            "discontinuity-time": "2026-01-01T00:00:00Z", "in-octets": 5}}]}})
    node = g.B.node(IF)
    with pytest.raises(YangdErrors) as e:
        s.edit("running", [EditNode(node, children=edit_from_model(
            node.data_child("ietf-interfaces", "interface"), tree.interfaces.interface))])
    err = e.value.errors[0]
    assert (err.tag, err.path) == ("invalid-value", f"{IF}/interface[name='eth9']/statistics")
    assert ds.running.model_dump_json() == before
