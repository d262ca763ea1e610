"""The kernel driver against real network namespaces, read back with ``ip -j`` / sysctl."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import models.generated as g
from datastore.datastores import Datastores
from datastore.operational import LEARNED
from models.errors import YangdErrors
from southbound.driver import Phase
from southbound.kernel import KernelDriver
from southbound.manager import DriverManager
from southbound.testdriver import FlakyDriver
from tests.southbound.conftest import IF, addrs, delete, edit, links, sh, snapshot, sysctl

ETH0: dict[str, Any] = {
    "name": "eth0", "type": "iana-if-type:ethernetCsmacd", "description": "uplink",
    "ietf-ip:ipv4": {"mtu": 1400, "forwarding": True,
                     "address": [{"ip": "192.0.2.1", "prefix-length": 24}]},
    "ietf-ip:ipv6": {"address": [{"ip": "2001:db8::1", "prefix-length": 64}]},
}
BR0: dict[str, Any] = {"name": "br0", "type": "iana-if-type:bridge",
                       "ietf-ip:ipv4": {"address": [{"ip": "198.51.100.1", "prefix-length": 24}]}}
LO: dict[str, Any] = {"name": "lo", "type": "iana-if-type:softwareLoopback",
                      "ietf-ip:ipv4": {"address": [{"ip": "10.255.0.1", "prefix-length": 32}]}}


@pytest.fixture
def k(kernel: KernelDriver, ds: Datastores, attach: Callable[..., DriverManager]) -> KernelDriver:
    attach(kernel)
    return kernel


def test_commit_creates_links_addresses_mtu_state(k: KernelDriver, ds: Datastores, netns: str) -> None:
    s = ds.open_session("admin", "internal")
    edit(s, [ETH0, BR0, LO])
    li = links(netns)
    assert li["eth0"]["mtu"] == 1400 and "UP" in li["eth0"]["flags"]
    assert li["eth0"]["ifalias"] == "uplink"
    assert li["br0"]["linkinfo"]["info_kind"] == "bridge" and "UP" in li["br0"]["flags"]
    a = addrs(netns)
    assert a["eth0"] == {"192.0.2.1/24", "2001:db8::1/64"}
    assert a["br0"] == {"198.51.100.1/24"}
    assert a["lo"] == {"127.0.0.1/8", "10.255.0.1/32", "::1/128"}
    assert sysctl(netns, "net.ipv4.conf.eth0.forwarding") == "1"
    assert sysctl(netns, "net.ipv4.conf.br0.forwarding") == "0"
    # a change touches only what changed
    edit(s, [{"name": "eth0", "enabled": False, "description": "spare",
              "ietf-ip:ipv4": {"address": [{"ip": "192.0.2.9", "prefix-length": 25}]}}])
    li = links(netns)
    assert "UP" not in li["eth0"]["flags"] and li["eth0"]["ifalias"] == "spare"
    assert addrs(netns)["eth0"] == {"192.0.2.1/24", "192.0.2.9/25", "2001:db8::1/64"}
    assert k.drift(ds.running) == []


def test_delete_removes_created_and_releases_adopted(k: KernelDriver, ds: Datastores, netns: str) -> None:
    s = ds.open_session("admin", "internal")
    edit(s, [ETH0, BR0, LO])
    delete(s, "br0")
    assert "br0" not in links(netns)
    delete(s, "eth0")
    delete(s, "lo")
    li, a = links(netns), addrs(netns)
    assert "UP" in li["eth0"]["flags"]  # released: admin state and mtu stay
    assert not li["eth0"].get("ifalias") and a["eth0"] == set()
    assert a["lo"] == {"127.0.0.1/8", "::1/128"} and "UP" in li["lo"]["flags"]
    assert sysctl(netns, "net.ipv4.conf.eth0.forwarding") == "0"


def test_rollback_restores_earlier_kernel_state(k: KernelDriver, ds: Datastores, netns: str) -> None:
    s = ds.open_session("admin", "internal")
    first = edit(s, [ETH0, LO])
    after_first = snapshot(netns)
    edit(s, [BR0, {"name": "eth0", "ietf-ip:ipv4": {"mtu": 9000}}])
    delete(s, "lo")
    assert snapshot(netns) != after_first
    s.rollback(first)
    assert snapshot(netns) == after_first


def test_unsupported_type_is_a_validate_error_naming_it(k: KernelDriver, ds: Datastores, netns: str) -> None:
    s = ds.open_session("admin", "internal")
    before, head = snapshot(netns), ds.head
    with pytest.raises(YangdErrors) as e:
        edit(s, [{"name": "tun0", "type": "iana-if-type:tunnel"}])
    err = e.value.errors[0]
    assert err.tag == "operation-failed" and "iana-if-type:tunnel" in err.message
    assert err.info["driver"] == "kernel" and err.info["phase"] == "validate"
    assert err.path == f"{IF}/interface[name='tun0']/type"
    assert snapshot(netns) == before and ds.head == head


def test_missing_nic_and_bad_mtu_are_prepare_errors(k: KernelDriver, ds: Datastores, netns: str) -> None:
    s = ds.open_session("admin", "internal")
    before = snapshot(netns)
    with pytest.raises(YangdErrors) as e:
        edit(s, [BR0, {"name": "eth9", "type": "iana-if-type:ethernetCsmacd"}])
    err = e.value.errors[0]
    assert err.info["phase"] == "prepare" and "eth9 does not exist" in err.message
    assert err.path == f"{IF}/interface[name='eth9']"
    with pytest.raises(YangdErrors) as e:
        edit(s, [{"name": "eth0", "type": "iana-if-type:ethernetCsmacd",
                  "ietf-ip:ipv6": {"mtu": 70000}}])
    assert "out of range" in e.value.errors[0].message
    assert e.value.errors[0].path == f"{IF}/interface[name='eth0']/ietf-ip:ipv6/mtu"
    assert snapshot(netns) == before and ds.running.interfaces is None


@pytest.mark.parametrize("phase", [Phase.COMMIT, Phase.PREPARE])
def test_later_driver_failing_leaves_kernel_as_before(
        kernel: KernelDriver, ds: Datastores, attach: Callable[..., DriverManager], netns: str,
        phase: Phase) -> None:
    flaky = FlakyDriver(g.B, "flaky", fail_in=phase, error_path=f"{IF}/interface[name='br0']")
    attach(kernel, flaky)
    s = ds.open_session("admin", "internal")
    flaky.fail_in = None
    edit(s, [LO, {"name": "eth0", "type": "iana-if-type:ethernetCsmacd", "description": "x"}])
    flaky.fail_in = phase
    before, running = snapshot(netns), ds.running
    with pytest.raises(YangdErrors) as e:
        edit(s, [ETH0, BR0])
    err = e.value.errors[0]
    assert err.info["driver"] == "flaky" and err.info["phase"] == str(phase)
    assert "flaky" in err.message and err.path == f"{IF}/interface[name='br0']"
    assert snapshot(netns) == before and ds.running is running
    assert sysctl(netns, "net.ipv4.conf.eth0.forwarding") == "0"


def test_timeout_is_a_failure_and_kernel_is_reverted(
        kernel: KernelDriver, ds: Datastores, attach: Callable[..., DriverManager], netns: str) -> None:
    slow = FlakyDriver(g.B, "slow", hang_in=Phase.COMMIT, timeout=0.3)
    attach(kernel, slow)
    s = ds.open_session("admin", "internal")
    before, running = snapshot(netns), ds.running
    try:
        with pytest.raises(YangdErrors) as e:
            edit(s, [ETH0, BR0])
        err = e.value.errors[0]
        assert err.info["driver"] == "slow" and "did not finish within 0.3 s" in err.message
        assert snapshot(netns) == before and ds.running is running
    finally:
        slow.release()


def test_full_sync_restores_flushed_namespace(
        k: KernelDriver, ds: Datastores, attach: Callable[..., DriverManager], netns: str) -> None:
    s = ds.open_session("admin", "internal")
    edit(s, [ETH0, BR0, LO])
    want = snapshot(netns)
    sh("ip", "-n", netns, "addr", "flush", "dev", "eth0")
    sh("ip", "-n", netns, "link", "del", "br0")
    sh("ip", "-n", netns, "link", "add", "stray0", "type", "bridge")
    assert snapshot(netns) != want and k.drift(ds.running)
    k.full_sync(ds.running)
    assert snapshot(netns) == want and k.drift(ds.running) == []


def test_operational_view_shows_kernel_state(k: KernelDriver, ds: Datastores, netns: str) -> None:
    s = ds.open_session("admin", "internal")
    edit(s, [ETH0, LO])
    sh("ip", "-n", netns, "addr", "add", "203.0.113.5/24", "dev", "eth0")  # behind yangd's back
    view = ds.operational()
    assert view.errors == []
    eth0 = view.tree.interfaces.interface["eth0"]
    assert eth0.oper_status == "up" and eth0.admin_status == "up"
    assert eth0.if_index == links(netns)["eth0"]["ifindex"]
    assert eth0.phys_address == links(netns)["eth0"]["address"]
    assert eth0.statistics is not None and eth0.statistics.discontinuity_time
    learned = f"{IF}/interface[name='eth0']/ietf-ip:ipv4/address[ip='203.0.113.5']"
    assert view.origin_of(learned) == LEARNED
    assert {a.ip: a.origin for a in eth0.ipv4.address}["203.0.113.5"] == "static"
    lo = view.tree.interfaces.interface["lo"]
    assert {a.ip: a.origin for a in lo.ipv4.address}["127.0.0.1"] == "other"
    assert view.tree.interfaces.interface["eth0p"].oper_status == "up"


def test_kernel_failing_halfway_through_commit_undoes_itself(
        k: KernelDriver, ds: Datastores, netns: str) -> None:
    s = ds.open_session("admin", "internal")
    edit(s, [LO])
    before = snapshot(netns)
    # a new bridge has no MTU range to check at prepare: the kernel refuses at commit, after
    # the bridge was created and lo's address added
    with pytest.raises(YangdErrors) as e:
        edit(s, [{"name": "br1", "type": "iana-if-type:bridge", "ietf-ip:ipv6": {"mtu": 70000}},
                 {"name": "lo", "ietf-ip:ipv4": {"address": [{"ip": "10.255.0.2",
                                                              "prefix-length": 32}]}}])
    err = e.value.errors[0]
    assert err.info == {"driver": "kernel", "phase": "commit"}
    assert err.path == f"{IF}/interface[name='br1']/ietf-ip:ipv6/mtu"
    assert snapshot(netns) == before
