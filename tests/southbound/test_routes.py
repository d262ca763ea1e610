"""Static routes through the kernel driver, read back independently with ``ip -j route``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import models.generated as g
from datastore.datastores import Datastores
from datastore.session import Session
from models.edit import EditNode, Op, edit_from_json
from models.errors import YangdErrors
from southbound._routes import RT_PROTO
from southbound.driver import Phase
from southbound.kernel import KernelDriver
from southbound.manager import DriverManager
from southbound.testdriver import FlakyDriver
from tests.southbound.conftest import edit, ip, sh

R = "/ietf-routing:routing"
CPP = f"{R}/control-plane-protocols/control-plane-protocol"
V4, V6 = "ietf-ipv4-unicast-routing:ipv4", "ietf-ipv6-unicast-routing:ipv6"
ETH0: dict[str, Any] = {
    "name": "eth0", "type": "iana-if-type:ethernetCsmacd",
    "ietf-ip:ipv4": {"address": [{"ip": "192.0.2.1", "prefix-length": 24}]},
    "ietf-ip:ipv6": {"address": [{"ip": "2001:db8::1", "prefix-length": 64}]},
}
LO: dict[str, Any] = {"name": "lo", "type": "iana-if-type:softwareLoopback"}


def rt(prefix: str, **nh: Any) -> dict[str, Any]:
    return {"destination-prefix": prefix, "next-hop": {k.replace("_", "-"): v for k, v in nh.items()}}


def hops(*pairs: tuple[str | None, str | None]) -> dict[str, Any]:
    out = []
    for i, (gw, dev) in enumerate(pairs):
        e: dict[str, Any] = {"index": str(i)}
        if gw:
            e["next-hop-address"] = gw
        if dev:
            e["outgoing-interface"] = dev
        out.append(e)
    return {"next-hop": out}


def routes_edit(s: Session, v4: list[dict[str, Any]] = (), v6: list[dict[str, Any]] = (),  # type: ignore[assignment]
                name: str = "st", delete: bool = False) -> int:
    sr: dict[str, Any] = {}
    if v4:
        sr[V4] = {"route": list(v4)}
    if v6:
        sr[V6] = {"route": list(v6)}
    doc = {"control-plane-protocols": {"control-plane-protocol": [
        {"type": "ietf-routing:static", "name": name, "static-routes": sr}]}}
    nodes = edit_from_json(g.B, g.B.node(R), doc)
    if delete:
        _mark_routes(nodes)
    s.edit("running", nodes)
    return s.ds.head


def _mark_routes(nodes: list[EditNode]) -> None:
    for n in nodes:
        if n.node.name == "route":
            n.op = Op.DELETE
            n.children = [c for c in n.children if c.node.is_key]
        else:
            _mark_routes(n.children)


def kroutes(ns: str, fam: int = 4) -> dict[str, dict[str, Any]]:
    """The main table, by destination (``ip -j route``, independent of yangd)."""
    out = ip(ns, *(["-6"] if fam == 6 else []), "route", "show", "table", "main")
    return {r["dst"]: r for r in out}


def ours(ns: str, fam: int = 4) -> dict[str, dict[str, Any]]:
    return {d: r for d, r in kroutes(ns, fam).items() if r.get("protocol") == str(RT_PROTO)}


def nexthops(r: dict[str, Any]) -> set[tuple[str | None, str | None]]:
    if "nexthops" in r:
        return {(h.get("gateway"), h.get("dev")) for h in r["nexthops"]}
    return {(r.get("gateway"), r.get("dev"))}


@pytest.fixture
def k(kernel: KernelDriver, ds: Datastores, attach: Callable[..., DriverManager],
      netns: str) -> KernelDriver:
    sh("ip", "netns", "exec", netns, "sysctl", "-qw", "net.ipv6.conf.eth0.accept_dad=0")
    attach(kernel)
    edit(ds.open_session("admin", "internal"), [ETH0, LO])
    return kernel


@pytest.fixture
def s(k: KernelDriver, ds: Datastores) -> Session:
    return ds.open_session("admin", "internal")


def test_commit_creates_ipv4_and_ipv6_routes(s: Session, netns: str) -> None:
    connected = kroutes(netns)["192.0.2.0/24"]
    routes_edit(s, [rt("10.1.0.0/16", next_hop_address="192.0.2.2"),
                    rt("10.2.0.0/16", outgoing_interface="eth0"),
                    rt("10.3.0.0/16", next_hop_address="192.0.2.3", outgoing_interface="eth0"),
                    rt("0.0.0.0/0", next_hop_address="192.0.2.254")],
                [rt("2001:db8:1::/48", next_hop_address="2001:db8::2"),
                 rt("2001:db8:2::/48", outgoing_interface="eth0")])
    v4, v6 = ours(netns), ours(netns, 6)
    assert set(v4) == {"10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16", "default"}
    assert nexthops(v4["10.1.0.0/16"]) == {("192.0.2.2", "eth0")}
    assert nexthops(v4["10.2.0.0/16"]) == {(None, "eth0")} and v4["10.2.0.0/16"]["scope"] == "link"
    assert nexthops(v4["default"]) == {("192.0.2.254", "eth0")}
    assert set(v6) == {"2001:db8:1::/48", "2001:db8:2::/48"}
    assert nexthops(v6["2001:db8:1::/48"]) == {("2001:db8::2", "eth0")}
    assert kroutes(netns)["192.0.2.0/24"] == connected  # the connected route is untouched
    # a change replaces the one route in place
    routes_edit(s, [rt("10.1.0.0/16", next_hop_address="192.0.2.9")])
    assert nexthops(ours(netns)["10.1.0.0/16"]) == {("192.0.2.9", "eth0")}


def test_special_next_hops(s: Session, netns: str) -> None:
    routes_edit(s, [rt("10.4.0.0/16", special_next_hop="blackhole"),
                    rt("10.5.0.0/16", special_next_hop="unreachable"),
                    rt("10.6.0.0/16", special_next_hop="prohibit"),
                    rt("10.7.0.0/16", special_next_hop="receive")],
                [rt("2001:db8:4::/48", special_next_hop="blackhole"),
                 rt("2001:db8:5::/48", special_next_hop="unreachable"),
                 rt("2001:db8:6::/48", special_next_hop="prohibit")])
    v4, v6 = ours(netns), ours(netns, 6)
    assert {d: r.get("type") for d, r in v4.items()} == {
        "10.4.0.0/16": "blackhole", "10.5.0.0/16": "unreachable", "10.6.0.0/16": "prohibit",
        "10.7.0.0/16": "local"}
    assert {d: r.get("type") for d, r in v6.items()} == {
        "2001:db8:4::/48": "blackhole", "2001:db8:5::/48": "unreachable",
        "2001:db8:6::/48": "prohibit"}
    # special to unicast and back is a replace
    routes_edit(s, [rt("10.4.0.0/16", next_hop_address="192.0.2.2")])
    assert nexthops(ours(netns)["10.4.0.0/16"]) == {("192.0.2.2", "eth0")}


def test_multipath(k: KernelDriver, s: Session, ds: Datastores, netns: str) -> None:
    routes_edit(s, [rt("10.8.0.0/16", next_hop_list=hops(("192.0.2.3", "eth0"), ("192.0.2.4", None))),
                    rt("10.9.0.0/16", next_hop_list=hops((None, "eth0"), ("192.0.2.5", None)))],
                [rt("2001:db8:8::/48", next_hop_list=hops(("2001:db8::3", "eth0"), ("2001:db8::4", "eth0")))])
    assert nexthops(ours(netns)["10.8.0.0/16"]) == {("192.0.2.3", "eth0"), ("192.0.2.4", "eth0")}
    assert nexthops(ours(netns)["10.9.0.0/16"]) == {(None, "eth0"), ("192.0.2.5", "eth0")}
    assert k.drift(ds.running) == []
    assert nexthops(ours(netns, 6)["2001:db8:8::/48"]) == {("2001:db8::3", "eth0"),
                                                           ("2001:db8::4", "eth0")}
    # to one next hop and back to three
    routes_edit(s, [], [rt("2001:db8:8::/48", next_hop_address="2001:db8::5")])
    assert nexthops(ours(netns, 6)["2001:db8:8::/48"]) == {("2001:db8::5", "eth0")}
    routes_edit(s, [rt("10.8.0.0/16", next_hop_list=hops(("192.0.2.5", None), ("192.0.2.6", None),
                                                          ("192.0.2.7", None)))])
    assert len(nexthops(ours(netns)["10.8.0.0/16"])) == 3


def test_delete_removes_routes(s: Session, netns: str) -> None:
    routes_edit(s, [rt("10.1.0.0/16", next_hop_address="192.0.2.2"),
                    rt("10.4.0.0/16", special_next_hop="blackhole")],
                [rt("2001:db8:1::/48", next_hop_address="2001:db8::2")])
    routes_edit(s, [rt("10.1.0.0/16")], [rt("2001:db8:1::/48")], delete=True)
    assert set(ours(netns)) == {"10.4.0.0/16"} and ours(netns, 6) == {}
    # deleting the whole instance removes the rest; connected routes stay
    node = edit_from_json(g.B, g.B.node(CPP), [{"type": "ietf-routing:static", "name": "st"}], Op.DELETE)
    s.edit("running", [EditNode(g.B.node(R), children=[EditNode(g.B.node(f"{R}/control-plane-protocols"),
                                                                children=node)])])
    assert ours(netns) == {} and "192.0.2.0/24" in kroutes(netns)


def test_rollback_restores_routes(s: Session, netns: str) -> None:
    first = routes_edit(s, [rt("10.1.0.0/16", next_hop_address="192.0.2.2"),
                            rt("10.8.0.0/16", next_hop_list=hops(("192.0.2.3", None), ("192.0.2.4", None)))],
                        [rt("2001:db8:1::/48", next_hop_address="2001:db8::2")])
    before = (kroutes(netns), kroutes(netns, 6))
    routes_edit(s, [rt("10.1.0.0/16", special_next_hop="unreachable"),
                    rt("10.9.0.0/16", next_hop_address="192.0.2.9")])
    routes_edit(s, [rt("10.8.0.0/16")], [rt("2001:db8:1::/48")], delete=True)
    assert (kroutes(netns), kroutes(netns, 6)) != before
    s.rollback(first)
    assert (kroutes(netns), kroutes(netns, 6)) == before


@pytest.mark.parametrize("phase", [Phase.COMMIT, Phase.PREPARE])
def test_later_driver_failing_leaves_routes_as_before(
        kernel: KernelDriver, ds: Datastores, attach: Callable[..., DriverManager], netns: str,
        phase: Phase) -> None:
    flaky = FlakyDriver(g.B, "flaky", owns=(CPP,), error_path=CPP)
    attach(kernel, flaky)
    s = ds.open_session("admin", "internal")
    edit(s, [ETH0])
    routes_edit(s, [rt("10.1.0.0/16", next_hop_address="192.0.2.2"),
                    rt("10.2.0.0/16", special_next_hop="blackhole")])
    before, running = (kroutes(netns), kroutes(netns, 6)), ds.running
    flaky.fail_in = phase
    with pytest.raises(YangdErrors) as e:  # add, replace and delete in one commit
        routes_edit(s, [rt("10.1.0.0/16", next_hop_address="192.0.2.7"),
                        rt("10.3.0.0/16", next_hop_list=hops(("192.0.2.3", None), ("192.0.2.4", None)))],
                    [rt("2001:db8:1::/48", special_next_hop="prohibit")])
    assert e.value.errors[0].info["driver"] == "flaky"
    with pytest.raises(YangdErrors):
        routes_edit(s, [rt("10.2.0.0/16")], delete=True)
    assert (kroutes(netns), kroutes(netns, 6)) == before and ds.running is running


def test_kernel_refusal_undoes_the_applied_routes(s: Session, netns: str) -> None:
    routes_edit(s, [rt("10.1.0.0/16", next_hop_address="192.0.2.2")])
    before = (kroutes(netns), kroutes(netns, 6))
    with pytest.raises(YangdErrors) as e:  # the gateway is not on any connected network
        routes_edit(s, [rt("10.1.0.0/16", special_next_hop="blackhole"),
                        rt("10.2.0.0/16", next_hop_address="192.0.2.2"),
                        rt("10.3.0.0/16", next_hop_address="203.0.113.1")])
    err = e.value.errors[0]
    assert err.info == {"driver": "kernel", "phase": "commit"} and "203.0.113.1" in err.message
    assert err.path == f"{CPP}[type='ietf-routing:static'][name='st']/static-routes/{V4}/route[destination-prefix='10.3.0.0/16']"
    assert (kroutes(netns), kroutes(netns, 6)) == before


def test_route_over_connected_prefix_is_refused_not_replaced(s: Session, netns: str) -> None:
    connected = kroutes(netns)["192.0.2.0/24"]
    with pytest.raises(YangdErrors) as e:
        routes_edit(s, [rt("192.0.2.0/24", outgoing_interface="eth0")])
    assert "did not install" in e.value.errors[0].message
    assert kroutes(netns)["192.0.2.0/24"] == connected


def test_validate_errors(s: Session, netns: str) -> None:
    with pytest.raises(YangdErrors) as e:
        routes_edit(s, [rt("10.1.0.1/16", next_hop_address="192.0.2.2")])
    assert e.value.errors[0].info["phase"] == "validate" and "host bits" in e.value.errors[0].message
    routes_edit(s, [rt("10.1.0.0/16", next_hop_address="192.0.2.2")], name="a")
    with pytest.raises(YangdErrors) as e:
        routes_edit(s, [rt("10.1.0.0/16", next_hop_address="192.0.2.3")], name="b")
    assert "two static instances" in e.value.errors[0].message


def test_full_sync_after_flush_restores_and_spares_foreign_routes(
        k: KernelDriver, s: Session, ds: Datastores, netns: str) -> None:
    routes_edit(s, [rt("10.1.0.0/16", next_hop_address="192.0.2.2"),
                    rt("10.8.0.0/16", next_hop_list=hops(("192.0.2.3", None), ("192.0.2.4", None))),
                    rt("10.4.0.0/16", special_next_hop="blackhole")],
                [rt("2001:db8:1::/48", next_hop_address="2001:db8::2")])
    want = (kroutes(netns), kroutes(netns, 6))
    sh("ip", "-n", netns, "route", "flush", "proto", str(RT_PROTO))
    sh("ip", "-n", netns, "-6", "route", "flush", "proto", str(RT_PROTO))
    sh("ip", "-n", netns, "route", "add", "10.50.0.0/16", "via", "192.0.2.50")  # operator's
    sh("ip", "-n", netns, "route", "add", "10.51.0.0/16", "via", "192.0.2.51", "proto", str(RT_PROTO))
    assert ours(netns) == {"10.51.0.0/16": ours(netns)["10.51.0.0/16"]}
    assert sorted(k.drift(ds.running)) == sorted([
        "route add unicast 10.1.0.0/16 via 192.0.2.2", "route add blackhole 10.4.0.0/16",
        "route add unicast 10.8.0.0/16 via 192.0.2.3, 192.0.2.4",
        "route add unicast 2001:db8:1::/48 via 2001:db8::2",
        "route del unicast 10.51.0.0/16 via 192.0.2.51%eth0"])
    k.full_sync(ds.running)
    after = kroutes(netns)
    assert after.pop("10.50.0.0/16")["gateway"] == "192.0.2.50"  # not ours: never touched
    assert (after, kroutes(netns, 6)) == want and k.drift(ds.running) == []


def test_operational_ribs(s: Session, ds: Datastores, netns: str) -> None:
    routes_edit(s, [rt("10.1.0.0/16", next_hop_address="192.0.2.2"),
                    rt("10.4.0.0/16", special_next_hop="blackhole"),
                    rt("10.8.0.0/16", next_hop_list=hops(("192.0.2.3", None), ("192.0.2.4", None)))],
                [rt("2001:db8:1::/48", next_hop_address="2001:db8::2")])
    view = ds.operational()
    assert view.errors == []
    ribs = view.tree.routing.ribs.rib
    v4 = {r.ietf_ipv4_unicast_routing__destination_prefix: r for r in ribs[("ipv4-master",)].routes.route}
    assert v4["10.1.0.0/16"].source_protocol == "ietf-routing:static"
    assert v4["10.1.0.0/16"].next_hop.ietf_ipv4_unicast_routing__next_hop_address == "192.0.2.2"
    assert v4["10.1.0.0/16"].next_hop.outgoing_interface == "eth0" and v4["10.1.0.0/16"].active
    assert v4["10.4.0.0/16"].next_hop.special_next_hop == "blackhole"
    assert len(v4["10.8.0.0/16"].next_hop.next_hop_list.next_hop) == 2
    assert v4["192.0.2.0/24"].source_protocol == "ietf-routing:direct"
    v6 = {r.ietf_ipv6_unicast_routing__destination_prefix: r for r in ribs[("ipv6-master",)].routes.route}
    assert v6["2001:db8:1::/48"].next_hop.ietf_ipv6_unicast_routing__next_hop_address == "2001:db8::2"
    assert view.origin_of(f"{R}/ribs") == "ietf-origin:learned"
