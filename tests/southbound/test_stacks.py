"""The stacks driver against real network namespaces: sysctls and per-route congctl/ECN, read
back with ``ip netns exec NS sysctl`` and ``ip -n NS -j route``, and real TCP connections.

The client namespace (``netns``) reaches a server namespace over a veth pair: v0 10.9.0.1/24
↔ v1 10.9.0.2/24 (and 10.9.0.200/32), with a default route via 10.9.0.2.
"""

from __future__ import annotations

import ipaddress
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from ncclient.operations.rpc import RPCError

import models.generated as g
from datastore.datastores import Datastores
from datastore.session import Session
from models.edit import EditNode, Op, edit_from_json
from models.errors import YangdErrors
from server.config import load_config
from southbound._stacks_plan import SYSCTLS, KRoute, Rule, Stack, plan_routes
from southbound.driver import Phase
from southbound.errors import DriverError
from southbound.manager import DriverManager, drivers_from_config
from southbound.stacks import StacksDriver
from southbound.testdriver import FlakyDriver
from tests.server.conftest import Running, connect, nc_server  # noqa: F401 (a fixture)
from tests.southbound.conftest import ip, new_netns, sh

ROOT = "/yangd-stacks:stacks"
YS = "urn:yangd:params:xml:ns:yang:yangd-stacks"
NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
KEYS = [f"net.ipv4.{k}" for k in SYSCTLS.values()]
ALLOWED = Path("/proc/sys/net/ipv4/tcp_allowed_congestion_control").read_text().split()
AVAILABLE = Path("/proc/sys/net/ipv4/tcp_available_congestion_control").read_text().split()

BASE: dict[str, Any] = {"name": "base", "tcp": {
    "congestion-control": "yangd-stacks:reno", "ecn": "off", "fastopen": "client server",
    "rmem": {"min": 4096, "default": 65536, "max": 1048576}, "sack": False,
    "mtu-probing": "always", "notsent-lowat": 131072, "slow-start-after-idle": False}}
FAST: dict[str, Any] = {"name": "fast", "tcp": {"congestion-control": "yangd-stacks:cubic",
                                                "ecn": "on"}}


def config(ns: str, rules: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"stack": [{**BASE, "namespace": ns}, {**FAST, "namespace": ns}],
            "default-stack": "base",
            "selection-rule": rules if rules is not None else [
                {"name": "lan", "match": {"destination-prefix": "10.9.0.0/25", "protocol": "tcp"},
                 "stack": "fast"}]}


def edit(s: Session, data: dict[str, Any], op: Op | None = None) -> int:
    s.edit("running", edit_from_json(g.B, g.B.node(ROOT), data, op))
    return s.ds.head


def sysctls(ns: str) -> dict[str, str]:
    out = subprocess.run(["ip", "netns", "exec", ns, "sysctl", *KEYS], check=True,
                         capture_output=True, text=True).stdout
    return {k.strip(): " ".join(v.split()) for k, v in (ln.split("=", 1) for ln in out.splitlines())}


def our_routes(ns: str) -> dict[str, dict[str, Any]]:
    """yangd's routes (protocol 201) by destination: dev, gateway and their metrics."""
    out = {}
    for r in ip(ns, "-d", "route", "show", "proto", "201") + ip(ns, "-6", "-d", "route", "show",
                                                                  "proto", "201"):
        metrics: dict[str, Any] = {}
        for m in r.get("metrics", ()):
            metrics.update(m)
        out[r["dst"]] = {"dev": r.get("dev"), "gateway": r.get("gateway"), **metrics}
    return out


def kernel(ns: str) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    return sysctls(ns), our_routes(ns)


@pytest.fixture
def server_ns() -> Iterator[str]:
    with new_netns() as name:
        yield name


@pytest.fixture
def pair(netns: str, server_ns: str) -> str:
    sh("ip", "-n", netns, "link", "add", "v0", "type", "veth", "peer", "name", "v1", "netns",
       server_ns)
    sh("ip", "-n", netns, "addr", "add", "10.9.0.1/24", "dev", "v0")
    sh("ip", "-n", server_ns, "addr", "add", "10.9.0.2/24", "dev", "v1")
    sh("ip", "-n", server_ns, "addr", "add", "10.9.0.200/32", "dev", "v1")
    for ns, dev in ((netns, "v0"), (server_ns, "v1")):
        sh("ip", "-n", ns, "link", "set", dev, "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    sh("ip", "-n", netns, "route", "add", "default", "via", "10.9.0.2")
    return netns


@pytest.fixture
def stacks(pair: str, attach: Callable[..., DriverManager]) -> Iterator[StacksDriver]:
    d = StacksDriver(g.B, timeout=5)
    attach(d)
    yield d


def test_commit_sets_sysctls_and_rule_routes_delete_restores(
        stacks: StacksDriver, ds: Datastores, netns: str) -> None:
    s = ds.open_session("admin", "internal")
    fresh = sysctls(netns)
    edit(s, config(netns, [
        {"name": "lan", "match": {"destination-prefix": "10.9.0.0/25", "protocol": "tcp"},
         "stack": "fast"},
        {"name": "wan", "match": {"destination-prefix": "198.51.100.0/24"}, "stack": "fast"},
        {"name": "inner", "match": {"destination-prefix": "10.9.0.0/26"}, "stack": "base"}]))
    k = sysctls(netns)
    assert k["net.ipv4.tcp_congestion_control"] == "reno"
    assert k["net.ipv4.tcp_ecn"] == "0" and k["net.ipv4.tcp_fastopen"] == "3"
    assert k["net.ipv4.tcp_rmem"] == "4096 65536 1048576" and k["net.ipv4.tcp_sack"] == "0"
    assert k["net.ipv4.tcp_mtu_probing"] == "2" and k["net.ipv4.tcp_notsent_lowat"] == "131072"
    assert k["net.ipv4.tcp_slow_start_after_idle"] == "0"
    assert k["net.ipv4.tcp_wmem"] == fresh["net.ipv4.tcp_wmem"]  # unset: the kernel default
    # rule "inner" lies within "lan": first match wins, it gets no route
    assert our_routes(netns) == {
        "10.9.0.0/25": {"dev": "v0", "gateway": None, "congestion": "cubic", "ecn": None},
        "198.51.100.0/24": {"dev": "v0", "gateway": "10.9.0.2", "congestion": "cubic",
                            "ecn": None}}
    assert stacks.drift(ds.running) == []
    tree: Any = ds.operational().tree
    st = tree.stacks.stack["base"].state
    assert st is not None and set(st.available_congestion_control) == set(AVAILABLE)
    assert st.sysctl["net.ipv4.tcp_congestion_control"].value == "reno"
    # a change touches what changed: rule wan removed, its route goes
    entry = edit_from_json(g.B, g.B.node(f"{ROOT}/selection-rule"), [{"name": "wan"}], Op.DELETE)
    s.edit("running", [EditNode(g.B.node(ROOT), children=entry)])
    assert set(our_routes(netns)) == {"10.9.0.0/25"}
    # deleting the stacks restores every default and removes the routes
    s.edit("running", edit_from_json(g.B, g.B.node(ROOT), {}, Op.DELETE))
    assert kernel(netns) == (fresh, {})


def test_tcp_connection_uses_the_selected_stack(
        stacks: StacksDriver, ds: Datastores, netns: str, server_ns: str) -> None:
    """10.9.0.2 is in rule lan's prefix (stack fast: cubic, ECN on); 10.9.0.200 is not (the
    namespace's base stack: reno, ECN off). Read on the client socket: TCP_CONGESTION, and
    TCP_INFO's tcpi_options, whose TCPI_OPT_ECN says ECN was negotiated."""
    s = ds.open_session("admin", "internal")
    edit(s, config(netns))
    server = subprocess.Popen(
        ["ip", "netns", "exec", server_ns, "python3", "-c",
         "import socket,sys\ns=socket.create_server(('0.0.0.0',5001))\nprint('up',flush=True)\n"
         "for _ in range(2):\n c,_=s.accept(); c.recv(1); c.close()\n"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "up"
        client = subprocess.run(
            ["ip", "netns", "exec", netns, "python3", "-c",
             "import socket\nfor a in ('10.9.0.2','10.9.0.200'):\n"
             " c=socket.create_connection((a,5001),timeout=5)\n"
             " cc=c.getsockopt(socket.IPPROTO_TCP,socket.TCP_CONGESTION,16).rstrip(b'\\0')\n"
             " info=c.getsockopt(socket.IPPROTO_TCP,socket.TCP_INFO,104)\n"
             " print(a,cc.decode(),bool(info[5]&8))\n c.send(b'x'); c.close()\n"],
            check=True, capture_output=True, text=True, timeout=20).stdout
    finally:
        server.wait(10)
    assert client.split("\n")[:2] == ["10.9.0.2 cubic True", "10.9.0.200 reno False"]


def test_refused_algorithm_fails_and_kernel_is_unchanged(
        stacks: StacksDriver, ds: Datastores, netns: str) -> None:
    """A namespace other than the host's may default only to an algorithm of
    tcp_allowed_congestion_control (the kernel answers EPERM): refused at prepare."""
    refused = next((a for a in ("cubic", "bbr") if a not in ALLOWED), None)
    if refused is None:
        pytest.skip(f"every algorithm is allowed here ({ALLOWED})")
    s = ds.open_session("admin", "internal")
    edit(s, config(netns))
    before, head = kernel(netns), ds.head
    bad = config(netns, [{"name": "wan", "match": {"destination-prefix": "198.51.100.0/24"},
                          "stack": "fast"}])
    bad["stack"][0]["tcp"] = {"congestion-control": f"yangd-stacks:{refused}", "ecn": "on"}
    with pytest.raises(YangdErrors) as e:
        edit(s, bad)
    err = e.value.errors[0]
    assert err.tag == "operation-failed" and err.info == {"driver": "stacks", "phase": "prepare"}
    assert f"may not default to congestion control {refused}" in err.message
    assert err.path == f"{ROOT}/stack[name='base']/tcp/congestion-control"
    assert kernel(netns) == before and ds.head == head
    # the kernel agrees: writing it behind yangd's back fails
    r = subprocess.run(["ip", "netns", "exec", netns, "sysctl", "-w",
                        f"net.ipv4.tcp_congestion_control={refused}"], capture_output=True)
    assert r.returncode != 0


def test_refusals_name_the_leaf(stacks: StacksDriver, ds: Datastores, netns: str) -> None:
    s = ds.open_session("admin", "internal")
    before = kernel(netns)
    cases: list[tuple[dict[str, Any], str, str, str]] = [
        ({"stack": [{"name": "x", "namespace": "yangd-t-missing"}]}, "prepare",
         f"{ROOT}/stack[name='x']/namespace", "does not exist"),
        ({"stack": [{"name": "a", "namespace": netns}, {"name": "b", "namespace": netns}]},
         "validate", f"{ROOT}/stack[name='b']/namespace", "ambiguous"),
        ({"stack": [{**BASE, "namespace": netns},
                    {"name": "fast", "namespace": netns, "tcp": {"sack": False}}],
          "default-stack": "base"},
         "validate", f"{ROOT}/stack[name='fast']/tcp/sack", "only congestion-control and ecn"),
        ({"stack": [{**BASE, "namespace": netns},
                    {"name": "fast", "namespace": netns, "tcp": {"ecn": "server-only"}}],
          "default-stack": "base"},
         "prepare", f"{ROOT}/stack[name='fast']/tcp/ecn", "can turn ECN on but not off"),
        (config(netns, [{"name": "dns", "match": {"destination-prefix": "10.9.0.0/25",
                                                  "protocol": "udp"}, "stack": "fast"}]),
         "validate", f"{ROOT}/selection-rule[name='dns']/match/protocol", "udp alone"),
        (config(netns, [{"name": "v6", "match": {"destination-prefix": "2001:db8::/32"},
                         "stack": "fast"}]),
         "prepare", f"{ROOT}/selection-rule[name='v6']/match/destination-prefix", "no route"),
    ]
    for data, phase, path, text in cases:
        with pytest.raises(YangdErrors) as e:
            edit(s, data)
        err = e.value.errors[0]
        assert (err.info.get("phase"), err.path) == (phase, path), err
        assert text in err.message
        running: Any = ds.running
        assert kernel(netns) == before and running.stacks is None


def test_exact_prefix_is_split_and_rollback_restores(
        stacks: StacksDriver, ds: Datastores, netns: str) -> None:
    """10.9.0.0/24 is the connected route at metric 0: its copy goes in two halves."""
    s = ds.open_session("admin", "internal")
    first = edit(s, config(netns))
    after_first = kernel(netns)
    edit(s, config(netns, [{"name": "all", "match": {"destination-prefix": "10.9.0.0/24"},
                            "stack": "fast"}]))
    assert set(our_routes(netns)) == {"10.9.0.0/25", "10.9.0.128/25"}
    assert our_routes(netns)["10.9.0.128/25"]["congestion"] == "cubic"
    s.rollback(first)
    assert kernel(netns) == after_first


@pytest.mark.parametrize("phase", [Phase.COMMIT, Phase.PREPARE])
def test_later_driver_failing_leaves_kernel_as_before(
        pair: str, ds: Datastores, attach: Callable[..., DriverManager], phase: Phase) -> None:
    d = StacksDriver(g.B, timeout=5)
    flaky = FlakyDriver(g.B, "flaky", owns=(ROOT,), fail_in=None)
    attach(d, flaky)
    s = ds.open_session("admin", "internal")
    edit(s, config(pair))
    before, running = kernel(pair), ds.running
    flaky.fail_in = phase
    changed = config(pair, [{"name": "wan", "match": {"destination-prefix": "0.0.0.0/1"},
                             "stack": "fast"}])
    changed["stack"][0]["tcp"] = {"congestion-control": "yangd-stacks:reno", "ecn": "on"}
    with pytest.raises(YangdErrors) as e:
        edit(s, changed)
    assert e.value.errors[0].info["driver"] == "flaky"
    assert kernel(pair) == before and ds.running is running


def test_full_sync_repairs_changes_behind_yangds_back(
        stacks: StacksDriver, ds: Datastores, netns: str) -> None:
    s = ds.open_session("admin", "internal")
    edit(s, config(netns))
    want = kernel(netns)
    sh("ip", "netns", "exec", netns, "sysctl", "-qw", "net.ipv4.tcp_ecn=1",
       "net.ipv4.tcp_rmem=4096 87380 6291456")
    sh("ip", "-n", netns, "route", "del", "10.9.0.0/25", "proto", "201")
    sh("ip", "-n", netns, "route", "add", "203.0.113.0/24", "via", "10.9.0.2", "proto", "201")
    assert kernel(netns) != want and len(stacks.drift(ds.running) or []) == 4
    assert stacks.full_sync(ds.running) == 4
    assert kernel(netns) == want and stacks.drift(ds.running) == []


def test_netconf_commit_and_refusal(nc_server: Running, pair: str, server_ns: str) -> None:  # noqa: F811
    m = DriverManager([StacksDriver(g.B, timeout=5)])
    m.attach(nc_server.ds)
    try:
        fresh = sysctls(pair)
        xml = (f'<config xmlns="{NC}"><stacks xmlns="{YS}" xmlns:ys="{YS}">'
               f"<stack><name>base</name><namespace>{pair}</namespace><tcp>"
               "<congestion-control>ys:reno</congestion-control><ecn>on</ecn>"
               "<wmem><min>8192</min><default>32768</default><max>2097152</max></wmem>"
               "</tcp></stack><default-stack>base</default-stack>"
               "<selection-rule><name>wan</name><match><destination-prefix>198.51.100.0/24"
               "</destination-prefix></match><stack>base</stack></selection-rule>"
               "</stacks></config>")
        with connect(nc_server) as mgr:
            mgr.edit_config(target="running", config=xml)
            k = sysctls(pair)
            assert (k["net.ipv4.tcp_congestion_control"], k["net.ipv4.tcp_ecn"],
                    k["net.ipv4.tcp_wmem"]) == ("reno", "1", "8192 32768 2097152")
            assert our_routes(pair) == {"198.51.100.0/24": {
                "dev": "v0", "gateway": "10.9.0.2", "congestion": "reno", "ecn": None}}
            before = kernel(pair)
            bad = xml.replace("<namespace>" + pair, "<namespace>yangd-t-missing")
            with pytest.raises(RPCError) as e:
                mgr.edit_config(target="running", config=bad)
            err = e.value
            assert err.tag == "operation-failed" and "does not exist" in err.message
            path = etree.fromstring(err.xml.encode() if isinstance(err.xml, str)
                                    else etree.tostring(err.xml)).find(f"{{{NC}}}error-path")
            assert path is not None and "stack[ys:name='base']/ys:namespace" in \
                path.text.replace(" ", "").replace('"', "'")
            assert kernel(pair) == before
            mgr.edit_config(target="running", default_operation="none",
                            config=f'<config xmlns="{NC}" xmlns:nc="{NC}"><stacks xmlns="{YS}" '
                                   'nc:operation="delete"/></config>')
            assert kernel(pair) == (fresh, {})
    finally:
        m.close()


def test_plan_routes_metric_and_host_route() -> None:
    """Pure planning: below a route at a metric above 0 the copy goes one lower; a host route at
    metric 0 cannot be shadowed; routes inside the prefix are copied with their own forwarding."""
    fast = Stack("fast", "linux-kernel", "ns", {"congestion-control": "bbr", "ecn": "1"})
    main = [KRoute(6, "2001:db8::/64", 1024, 2, oif=3), KRoute(6, "::/0", 1024, 3, gateway="fe80::1", oif=3),
            KRoute(6, "2001:db8:1::/48", 1024, 200, gateway="2001:db8::9", oif=3)]
    rule = Rule("r", ipaddress.ip_network("2001:db8::/32"), "any", "fast")
    want, shadowed = plan_routes([(rule, fast)], main, 201, "ns")
    assert shadowed == []
    got = {(r.dst, r.priority, r.gateway) for r in want.values()}
    assert got == {("2001:db8::/32", 1024, "fe80::1"), ("2001:db8::/64", 1023, None),
                   ("2001:db8:1::/48", 1023, "2001:db8::9")}
    assert all(dict(r.metrics) == {"RTAX_CC_ALGO": "bbr", "RTAX_FEATURES": 1}
               for r in want.values())
    host = [KRoute(4, "0.0.0.0/0", 0, 3, gateway="10.0.0.1"), KRoute(4, "10.1.2.3/32", 0, 3, oif=2)]
    with pytest.raises(DriverError) as e:
        plan_routes([(Rule("h", ipaddress.ip_network("10.0.0.0/8"), "any", "fast"), fast)], host,
                    201, "ns")
    assert "host route 10.1.2.3/32" in e.value.message


def test_stacks_driver_from_config(tmp_path: Path) -> None:
    p = tmp_path / "yangd.toml"
    p.write_text('[drivers.stacks]\ntimeout = 3\nroute_protocol = 202\n')
    m = drivers_from_config(load_config(p), g.B)
    try:
        (d,) = m.drivers
        assert isinstance(d, StacksDriver) and (d.name, d.timeout, d.rt_proto) == ("stacks", 3, 202)
    finally:
        m.close()
    p.write_text('[drivers.stacks]\nnamespace = "x"\n')
    with pytest.raises(ValueError, match="unknown key 'namespace'"):
        drivers_from_config(load_config(p), g.B)
