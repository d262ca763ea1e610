"""The FRR driver against real FRR daemons (zebra, staticd, bgpd) in test namespaces.

Two routers joined by a veth pair (10.0.12.0/24): A is managed by a real ``yangd serve``
subprocess (kernel driver for its interfaces, frr driver for static routes and BGP), B is a
plain FRR configured by the test with vtysh. Every FRR runs in its own namespace with its own
state directory (vty sockets, pid files, logs) under /tmp (the frr user must reach it), all
removed at the end. FRR and the kernel are read back independently of yangd: ``vtysh
--vty_socket DIR`` and ``ip -n NS -j route``. An in-process test covers full sync.
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from ncclient import manager

import models.generated as g
from datastore.datastores import Datastores
from models.edit import Op, edit_from_json
from models.errors import YangdErrors
from server.config import add_user
from southbound import _frr_daemons
from southbound.frr import FrrDriver
from southbound.manager import DriverManager
from tests.southbound.conftest import ip, sh

REPO = Path(__file__).resolve().parents[2]
YANGD = REPO / ".venv" / "bin" / "yangd"
USER, PASSWORD = "admin", "admin-pw"
JSON = "application/yang-data+json"
BGP_INST = "control-plane-protocols/control-plane-protocol=yangd-bgp%3Abgp,bgp"
ROUTING = "/restconf/data/ietf-routing:routing"
NEIGHBOR_B = f"{ROUTING}/{BGP_INST}/yangd-bgp:bgp/neighbors/neighbor=10.0.12.2"


def vtysh(d: Path, *cmds: str) -> str:
    args = [a for c in cmds for a in ("-c", c)]
    p = subprocess.run(["vtysh", "--vty_socket", str(d), *args], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def frr_routes(d: Path) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(vtysh(d, "show ip route json"))
    return out


def kroutes(ns: str) -> dict[str, dict[str, Any]]:
    return {r["dst"]: r for r in ip(ns, "route", "show", "table", "main")}


def bgp_config(d: Path) -> str:
    """bgpd's and staticd's part of FRR's running-config (without the version banner)."""
    text = vtysh(d, "show running-config")
    return text[text.index("service integrated-vtysh-config"):]


def wait(pred: Callable[[], Any], what: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Router:
    ns: str
    dir: Path


@pytest.fixture(scope="module")
def routers() -> Iterator[tuple[Router, Router]]:
    """Namespaces A and B, veth vA/vB between them, FRR running in each (empty config)."""
    assert (_frr_daemons.SBIN / "zebra").exists(), "FRR is not installed (./run installs it)"
    tag = uuid.uuid4().hex[:6]
    made: list[Router] = []
    try:
        for side in "ab":
            r = Router(f"yangd-t-frr{side}-{tag}",
                       Path(tempfile.mkdtemp(prefix=f"yangd-t-frr{side}-", dir="/tmp")))
            made.append(r)
            sh("ip", "netns", "add", r.ns)
            sh("ip", "-n", r.ns, "link", "set", "lo", "up")
        a, b = made
        sh("ip", "link", "add", "vA", "netns", a.ns, "type", "veth", "peer", "name", "vB",
           "netns", b.ns)
        sh("ip", "-n", b.ns, "addr", "add", "10.0.12.2/24", "dev", "vB")
        sh("ip", "-n", b.ns, "link", "set", "vB", "up")
        for r in made:
            _frr_daemons.start(r.ns, r.dir)
        yield a, b
    finally:
        for r in made:
            _frr_daemons.stop(r.dir)
            subprocess.run(["ip", "netns", "del", r.ns], check=False, capture_output=True)
            shutil.rmtree(r.dir, ignore_errors=True)


@dataclass
class Yangd:
    netconf: int
    restconf: int
    data: Path
    log: Path

    def rc(self) -> httpx.Client:
        ctx = ssl.create_default_context(cafile=str(self.data / "restconf-cert.pem"))
        return httpx.Client(base_url=f"https://127.0.0.1:{self.restconf}", verify=ctx,
                            auth=(USER, PASSWORD), timeout=60)

    def nc(self) -> Any:
        return manager.connect(host="127.0.0.1", port=self.netconf, username=USER,
                               password=PASSWORD, hostkey_verify=False, look_for_keys=False,
                               allow_agent=False, timeout=60)


@pytest.fixture(scope="module")
def yangd_a(routers: tuple[Router, Router], tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Yangd]:
    """``yangd serve`` for router A: kernel driver (interfaces only) + frr driver."""
    a, _ = routers
    tmp = tmp_path_factory.mktemp("yangd-a")
    data = tmp / "data"
    add_user(data, USER, PASSWORD)
    logf = tmp / "yangd.log"
    proc: subprocess.Popen[bytes] | None = None
    try:
        for _attempt in range(5):
            y = Yangd(free_port(), free_port(), data, logf)
            cfg = tmp / "yangd.toml"
            cfg.write_text(
                f'data_dir = "{data}"\nnetconf_listen = "127.0.0.1:{y.netconf}"\n'
                f'restconf_listen = "127.0.0.1:{y.restconf}"\n\n'
                f'[drivers.kernel]\nnamespace = "{a.ns}"\ncreate = false\nstatic_routes = false\n\n'
                f'[drivers.frr]\nnamespace = "{a.ns}"\nstate_dir = "{a.dir}"\ntimeout = 30\n')
            with open(logf, "ab") as out:
                proc = subprocess.Popen([str(YANGD), "serve", "--config", str(cfg)],
                                        stdin=subprocess.DEVNULL, stdout=out,
                                        stderr=subprocess.STDOUT, cwd=REPO)
            deadline = time.monotonic() + 60
            up = False
            while proc.poll() is None and time.monotonic() < deadline and not up:
                with socket.socket() as s1, socket.socket() as s2:
                    up = (s1.connect_ex(("127.0.0.1", y.netconf)) == 0
                          and s2.connect_ex(("127.0.0.1", y.restconf)) == 0)
                time.sleep(0.1)
            if up or "cannot listen" not in logf.read_text(errors="replace"):
                break
        assert proc is not None and proc.poll() is None, logf.read_text(errors="replace")[-3000:]
        with y.rc() as c:  # A's interface, through the kernel driver
            r = c.put("/restconf/data/ietf-interfaces:interfaces", json={
                "ietf-interfaces:interfaces": {"interface": [
                    {"name": "lo", "type": "iana-if-type:softwareLoopback"},
                    {"name": "vA", "type": "iana-if-type:ethernetCsmacd",
                     "ietf-ip:ipv4": {"address": [{"ip": "10.0.12.1", "prefix-length": 24}]}}]}},
                headers={"Content-Type": JSON})
            assert r.status_code in (201, 204), r.text
        yield y
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def put_routing(y: Yangd, static: list[dict[str, Any]], bgp: dict[str, Any] | None = None
                ) -> httpx.Response:
    cpps: list[dict[str, Any]] = [{"type": "ietf-routing:static", "name": "st", "static-routes": {
        "ietf-ipv4-unicast-routing:ipv4": {"route": static}}}]
    if bgp is not None:
        cpps.append({"type": "yangd-bgp:bgp", "name": "bgp", "yangd-bgp:bgp": bgp})
    with y.rc() as c:
        return c.put(ROUTING, json={"ietf-routing:routing": {"control-plane-protocols": {
            "control-plane-protocol": cpps}}}, headers={"Content-Type": JSON})


def blackhole(prefix: str) -> dict[str, Any]:
    return {"destination-prefix": prefix, "next-hop": {"special-next-hop": "blackhole"}}


BGP_A: dict[str, Any] = {
    "local-as": 65001, "router-id": "10.0.12.1",
    "neighbors": {"neighbor": [{"address": "10.0.12.2", "remote-as": 65002,
                                "description": "router B",
                                "timers": {"keepalive": 1, "hold-time": 3, "connect-retry": 1}}]},
    "ipv4-unicast": {"network": ["10.1.0.0/16"]}}


def neighbor_state(y: Yangd) -> dict[str, Any]:
    with y.rc() as c:
        r = c.get(f"{NEIGHBOR_B}?content=nonconfig", headers={"Accept": JSON})
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()["yangd-bgp:neighbor"][0]
    return out


# ---- static routes over NETCONF ----------------------------------------------------------------
RT = "urn:ietf:params:xml:ns:yang:ietf-routing"
V4 = "urn:ietf:params:xml:ns:yang:ietf-ipv4-unicast-routing"
NC = "urn:ietf:params:xml:ns:netconf:base:1.0"


def static_xml(routes: str) -> str:
    return (f'<config xmlns="{NC}" xmlns:nc="{NC}" xmlns:rt="{RT}"><routing xmlns="{RT}">'
            f'<control-plane-protocols nc:operation="replace"><control-plane-protocol>'
            f'<type>rt:static</type><name>st</name><static-routes>'
            f'<ipv4 xmlns="{V4}">{routes}</ipv4></static-routes></control-plane-protocol>'
            f'</control-plane-protocols></routing></config>')


def test_static_route_over_netconf_reaches_frr_and_kernel(yangd_a: Yangd,
                                                          routers: tuple[Router, Router]) -> None:
    a, _ = routers
    routes = ("<route><destination-prefix>10.50.0.0/16</destination-prefix><next-hop>"
              "<next-hop-address>10.0.12.2</next-hop-address></next-hop></route>"
              "<route><destination-prefix>10.51.0.0/16</destination-prefix><next-hop>"
              "<special-next-hop>blackhole</special-next-hop></next-hop></route>")
    with yangd_a.nc() as m:
        m.edit_config(target="candidate", config=static_xml(routes))
        m.commit()
    # staticd took the routes in the commit; they reach zebra's RIB a moment later
    fr = wait(lambda: (r := frr_routes(a.dir)).keys() >= {"10.50.0.0/16", "10.51.0.0/16"} and r,
              "the routes in zebra")
    assert fr["10.50.0.0/16"][0]["protocol"] == "static"
    assert fr["10.50.0.0/16"][0]["nexthops"][0]["ip"] == "10.0.12.2"
    assert fr["10.51.0.0/16"][0]["nexthops"][0].get("blackhole") is True
    k = wait(lambda: (kr := kroutes(a.ns)).get("10.50.0.0/16") and kr, "the kernel route")
    assert k["10.50.0.0/16"]["gateway"] == "10.0.12.2" and k["10.50.0.0/16"]["protocol"] == "static"
    assert k["10.51.0.0/16"]["type"] == "blackhole"
    # the kernel driver does not own static routes here: none carries its mark (200)
    assert not [r for r in k.values() if r.get("protocol") == "200"]
    # operational: FRR's RIB, read back by the frr driver
    with yangd_a.nc() as m:
        reply = m.get(filter=("subtree", f'<routing xmlns="{RT}"><ribs/></routing>')).xml
    assert "ipv4-frr" in reply and "10.50.0.0/16" in reply
    # a one-route change: 10.50 goes, 10.52 comes; 10.51 stays
    routes2 = ("<route><destination-prefix>10.51.0.0/16</destination-prefix><next-hop>"
               "<special-next-hop>blackhole</special-next-hop></next-hop></route>"
               "<route><destination-prefix>10.52.0.0/16</destination-prefix><next-hop>"
               "<outgoing-interface>vA</outgoing-interface></next-hop></route>")
    with yangd_a.nc() as m:
        m.edit_config(target="candidate", config=static_xml(routes2))
        m.commit()
    fr = wait(lambda: (r := frr_routes(a.dir)).keys() >= {"10.51.0.0/16", "10.52.0.0/16"}
              and "10.50.0.0/16" not in r and r, "zebra to follow")
    assert fr["10.52.0.0/16"][0]["nexthops"][0]["interfaceName"] == "vA"
    wait(lambda: "10.50.0.0/16" not in kroutes(a.ns) and "10.52.0.0/16" in kroutes(a.ns),
         "the kernel to follow")


# ---- BGP between A (yangd) and B (plain FRR) -----------------------------------------------------
@pytest.fixture(scope="module")
def peer_b(routers: tuple[Router, Router]) -> Router:
    _, b = routers
    vtysh(b.dir, "configure terminal", "ip route 10.2.0.0/16 blackhole", "router bgp 65002",
          "no bgp ebgp-requires-policy", "neighbor 10.0.12.1 remote-as 65001",
          "neighbor 10.0.12.1 timers 1 3", "neighbor 10.0.12.1 timers connect 1",
          "address-family ipv4 unicast", "network 10.2.0.0/16", "exit-address-family")
    return b


def test_bgp_session_routes_and_disable_over_restconf(yangd_a: Yangd, peer_b: Router,
                                                      routers: tuple[Router, Router]) -> None:
    a, b = routers
    r = put_routing(yangd_a, [blackhole("10.1.0.0/16")], BGP_A)
    assert r.status_code in (201, 204), r.text
    wait(lambda: neighbor_state(yangd_a).get("session-state") == "established",
         "the session to come up")
    # A's network reaches B's kernel; B's reaches A's kernel, and A counts it
    wait(lambda: kroutes(b.ns).get("10.1.0.0/16", {}).get("gateway") == "10.0.12.1",
         "10.1.0.0/16 in B's kernel")
    assert kroutes(b.ns)["10.1.0.0/16"]["protocol"] == "bgp"
    wait(lambda: kroutes(a.ns).get("10.2.0.0/16", {}).get("gateway") == "10.0.12.2",
         "10.2.0.0/16 in A's kernel")
    st = wait(lambda: (s := neighbor_state(yangd_a)).get("received-prefixes") == 1 and s,
              "received-prefixes")
    assert st["last-established"].endswith("Z")
    # disabling the neighbor over RESTCONF takes the session down on both sides
    with yangd_a.rc() as c:
        r = c.patch(NEIGHBOR_B, json={"yangd-bgp:neighbor": [{"address": "10.0.12.2",
                                                              "enabled": False}]},
                    headers={"Content-Type": JSON})
    assert r.status_code == 204, r.text
    assert "neighbor 10.0.12.2 shutdown" in bgp_config(a.dir)
    wait(lambda: json.loads(vtysh(b.dir, "show bgp neighbors 10.0.12.1 json"))["10.0.12.1"]
         ["bgpState"] != "Established", "B to see the session down")
    wait(lambda: "10.1.0.0/16" not in kroutes(b.ns), "10.1.0.0/16 to leave B's kernel")
    assert neighbor_state(yangd_a)["session-state"] == "idle"
    # enabled again: the session comes back
    with yangd_a.rc() as c:
        r = c.patch(NEIGHBOR_B, json={"yangd-bgp:neighbor": [{"address": "10.0.12.2",
                                                              "enabled": True}]},
                    headers={"Content-Type": JSON})
    assert r.status_code == 204, r.text
    wait(lambda: neighbor_state(yangd_a).get("session-state") == "established",
         "the session to come back")


# ---- refusals: nothing changes ---------------------------------------------------------------
def test_frr_refusing_in_prepare_changes_nothing(yangd_a: Yangd,
                                                 routers: tuple[Router, Router]) -> None:
    """FRR's CLI cannot express a password with a space: vtysh -C refuses it at prepare."""
    a, _ = routers
    assert put_routing(yangd_a, [blackhole("10.1.0.0/16")], BGP_A).status_code in (201, 204)
    before, kbefore = bgp_config(a.dir), kroutes(a.ns)
    with yangd_a.rc() as c:
        r = c.patch(NEIGHBOR_B, json={"yangd-bgp:neighbor": [{"address": "10.0.12.2",
                                                              "password": "two words"}]},
                    headers={"Content-Type": JSON})
        assert r.status_code >= 400, r.text
        err = r.json()["ietf-restconf:errors"]["error"][0]
        assert err["error-tag"] == "operation-failed"
        assert "Unknown command" in err["error-message"], err
        assert "two words" not in err["error-message"]  # the password is masked
        assert err["error-path"].endswith("neighbor[address='10.0.12.2']/password")
        r = c.get(f"{NEIGHBOR_B}?content=config", headers={"Accept": JSON})
        assert "password" not in r.json()["yangd-bgp:neighbor"][0]  # running unchanged
    assert bgp_config(a.dir) == before
    assert kroutes(a.ns) == kbefore


def test_frr_refusing_in_commit_reverts(yangd_a: Yangd, routers: tuple[Router, Router]) -> None:
    """bgpd refuses a neighbor at a local address only when it executes the command; the
    static route staticd already took in the same commit is taken back."""
    a, _ = routers
    assert put_routing(yangd_a, [blackhole("10.1.0.0/16")], BGP_A).status_code in (201, 204)
    before, kbefore = bgp_config(a.dir), kroutes(a.ns)
    bad = json.loads(json.dumps(BGP_A))
    bad["neighbors"]["neighbor"].append({"address": "10.0.12.1", "remote-as": 65009})
    r = put_routing(yangd_a, [blackhole("10.1.0.0/16"), blackhole("10.99.0.0/16")], bad)
    assert r.status_code >= 400, r.text
    err = r.json()["ietf-restconf:errors"]["error"][0]
    assert err["error-tag"] == "operation-failed"
    assert "local system" in err["error-message"], err
    assert "neighbor[address='10.0.12.1']" in err["error-path"]
    assert bgp_config(a.dir) == before
    time.sleep(0.5)  # zebra removes the reverted route asynchronously
    assert "10.99.0.0/16" not in frr_routes(a.dir)
    assert kroutes(a.ns) == kbefore


def test_frr_restarted_behind_yangds_back_is_resynced(yangd_a: Yangd,
                                                      routers: tuple[Router, Router]) -> None:
    a, _ = routers
    assert put_routing(yangd_a, [blackhole("10.1.0.0/16")], BGP_A).status_code in (201, 204)
    before = bgp_config(a.dir)
    assert "router bgp 65001" in before and "ip route 10.1.0.0/16 blackhole" in before
    _frr_daemons.stop(a.dir, ("staticd", "bgpd"))
    _frr_daemons.start(a.ns, a.dir)  # back with an empty configuration
    assert "router bgp" not in bgp_config(a.dir)
    # the next state read notices the new daemons and re-syncs them to running
    wait(lambda: neighbor_state(yangd_a).get("session-state") is not None, "a state read")
    assert bgp_config(a.dir) == before
    wait(lambda: "10.1.0.0/16" in kroutes(a.ns), "the route back in the kernel")


# ---- in process: full sync converges FRR and finds no drift after -------------------------------
def test_full_sync_removes_foreign_config_and_leaves_no_drift(
        routers: tuple[Router, Router], ds: Datastores,
        attach: Callable[..., DriverManager]) -> None:
    _, b = routers  # B's FRR: its config is "foreign" to this driver and must go
    s = ds.open_session("admin", "internal")
    s.edit("running", edit_from_json(g.B, g.B.node("/ietf-routing:routing"), {
        "control-plane-protocols": {"control-plane-protocol": [
            {"type": "ietf-routing:static", "name": "st", "static-routes": {
                "ietf-ipv4-unicast-routing:ipv4": {"route": [blackhole("10.7.0.0/16")]},
                "ietf-ipv6-unicast-routing:ipv6": {"route": [
                    {"destination-prefix": "2001:db8:7::/48",
                     "next-hop": {"special-next-hop": "unreachable"}}]}}},
            {"type": "yangd-bgp:bgp", "name": "core", "yangd-bgp:bgp": {
                "local-as": 65002, "neighbors": {"neighbor": [
                    {"address": "2001:db8::2", "remote-as": 65003, "enabled": False,
                     "password": "s3cret", "address-family": ["ipv4-unicast", "ipv6-unicast"]}]},
                "ipv6-unicast": {"network": ["2001:db8:7::/48"],
                                 "redistribute": ["static", "connected"]}}}]}}))
    f = FrrDriver(g.B, b.ns, state_dir=str(b.dir), timeout=30)
    try:
        attach(f)
        assert f.needs_sync is False, f.record.last_error
        text = bgp_config(b.dir)
        assert "ip route 10.2.0.0/16" not in text  # the test's own route is gone
        assert "neighbor 10.0.12.1" not in text  # and so is the foreign neighbor
        assert "ip route 10.7.0.0/16 blackhole" in text
        assert "ipv6 route 2001:db8:7::/48 reject" in text
        assert " neighbor 2001:db8::2 shutdown" in text and "password s3cret" in text
        assert "  redistribute connected" in text and "  network 2001:db8:7::/48" in text
        assert f.drift(ds.running) == []  # FRR prints what yangd rendered, line for line
        vtysh(b.dir, "configure terminal", "no ip route 10.7.0.0/16 blackhole")
        assert f.drift(ds.running) == ["staticd: ip route 10.7.0.0/16 blackhole"]
    finally:
        f.close()


def test_changes_leave_frr_equal_to_running(routers: tuple[Router, Router], ds: Datastores,
                                            attach: Callable[..., DriverManager]) -> None:
    """Each edit's commands take FRR exactly to what running renders (no drift after)."""
    _, b = routers
    f = FrrDriver(g.B, b.ns, state_dir=str(b.dir), timeout=30)
    attach(f)
    s = ds.open_session("admin", "internal")
    node = g.B.node("/ietf-routing:routing")

    def put(bgp: dict[str, Any], routes: list[dict[str, Any]]) -> str:
        s.edit("running", edit_from_json(g.B, node, {"control-plane-protocols": {
            "control-plane-protocol": [
                {"type": "ietf-routing:static", "name": "st", "static-routes": {
                    "ietf-ipv4-unicast-routing:ipv4": {"route": routes}}},
                {"type": "yangd-bgp:bgp", "name": "core", "yangd-bgp:bgp": bgp}]}}, Op.REPLACE))
        assert f.drift(ds.running) == [], bgp
        return bgp_config(b.dir)

    n1 = {"address": "10.0.12.1", "remote-as": 65001, "description": "one",
          "password": "pw1", "timers": {"keepalive": 5, "hold-time": 15}}
    n2 = {"address": "2001:db8::1", "remote-as": 65003, "address-family": ["ipv6-unicast"]}
    text = put({"local-as": 65002, "router-id": "10.0.12.2", "neighbors": {"neighbor": [n1, n2]},
                "ipv4-unicast": {"network": ["10.3.0.0/16"], "redistribute": ["static"]}},
               [blackhole("10.3.0.0/16")])
    assert "neighbor 10.0.12.1 timers 5 15" in text and "neighbor 2001:db8::1 activate" in text
    # settings change in place, one is removed, the route becomes a gateway route
    n1b = {"address": "10.0.12.1", "remote-as": 65004, "description": "one, renamed",
           "timers": {"connect-retry": 2}}
    text = put({"local-as": 65002, "neighbors": {"neighbor": [n1b, n2]},
                "ipv4-unicast": {"redistribute": ["connected"]}},
               [{"destination-prefix": "10.3.0.0/16",
                 "next-hop": {"next-hop-address": "10.0.12.1"}}])
    assert "neighbor 10.0.12.1 remote-as 65004" in text and "password" not in text
    assert "timers 5 15" not in text and "bgp router-id" not in text
    assert "ip route 10.3.0.0/16 10.0.12.1" in text and "blackhole" not in text
    # a neighbor goes (with all its lines), then the AS changes: a new instance
    text = put({"local-as": 65002, "neighbors": {"neighbor": [n2]}}, [])
    assert "10.0.12.1" not in text
    text = put({"local-as": 65005, "neighbors": {"neighbor": [n2]}}, [])
    assert "router bgp 65005" in text and "router bgp 65002" not in text


def test_parser_checks_each_shape_of_static_route_once(routers: tuple[Router, Router],
                                                       ds: Datastores,
                                                       attach: Callable[..., DriverManager]) -> None:
    """vtysh -C runs for a static-route line of a shape it has not accepted yet (a route
    written the same way with other addresses needs no new check); a refused shape is refused
    at every commit, and FRR is left as it was."""
    _, b = routers
    s = ds.open_session("admin", "internal")
    s.edit("running", edit_from_json(g.B, g.B.node("/ietf-interfaces:interfaces"), {
        "interface": [{"name": "two words", "type": "iana-if-type:ethernetCsmacd"}]}))
    f = FrrDriver(g.B, b.ns, state_dir=str(b.dir), timeout=30)
    attach(f)
    node = g.B.node("/ietf-routing:routing")

    def put(*routes: tuple[str, ...]) -> None:
        """Routes (prefix, gateway[, interface]) replace the static routes of running."""
        rs = [{"destination-prefix": p, "next-hop": {"next-hop-address": gw, **(
            {"outgoing-interface": ifs[0]} if ifs else {})}} for p, gw, *ifs in routes]
        s.edit("running", edit_from_json(g.B, node, {"control-plane-protocols": {
            "control-plane-protocol": [{"type": "ietf-routing:static", "name": "st",
                                        "static-routes": {"ietf-ipv4-unicast-routing:ipv4": {
                                            "route": rs}}}]}}, Op.REPLACE))

    assert f.checks == 0  # full sync sends what running has: FRR's parser saw it in prepare
    put(("10.4.0.0/16", "10.0.12.1"))
    assert f.checks == 1
    put(("10.4.0.0/16", "10.0.12.1"), ("10.5.0.0/16", "10.0.12.9"), ("10.6.0.0/24", "10.0.12.3"))
    assert f.checks == 1  # "ip route A.B.C.D/M A.B.C.D" was accepted before
    put(("10.4.0.0/16", "10.0.12.7"))  # deletions: "no ip route ..." is a shape of its own
    assert f.checks == 2
    text = bgp_config(b.dir)
    assert "ip route 10.4.0.0/16 10.0.12.7" in text and "10.0.12.1" not in text
    assert "10.5.0.0" not in text and f.drift(ds.running) == []
    for _ in range(2):
        with pytest.raises(YangdErrors, match=r"FRR refuses 'ip route 10.8.0.0/16 10.0.12.1 two "
                                              r"words': % Unknown command"):
            put(("10.4.0.0/16", "10.0.12.7"), ("10.8.0.0/16", "10.0.12.1", "two words"))
    assert f.checks == 4  # a refused shape is checked again
    assert bgp_config(b.dir) == text


# ---- configuration: one owner per subtree; yangd starting FRR itself ---------------------------
def test_static_routes_have_one_owner(tmp_path: Path) -> None:
    from server.config import load_config
    from southbound.manager import drivers_from_config

    def drivers(text: str) -> list[str]:
        (tmp_path / "y.toml").write_text(text)
        m = drivers_from_config(load_config(tmp_path / "y.toml"), g.B)
        try:
            return [d.name for d in m.drivers]
        finally:
            m.close()

    with pytest.raises(ValueError, match=r"\[drivers.kernel\] and \[drivers.frr\] both own "
                                         r"/ietf-routing:routing/.*/static-routes"):
        drivers('[drivers.kernel]\nnamespace = "x"\n[drivers.frr]\nnamespace = "x"\n')
    assert drivers('[drivers.kernel]\nnamespace = "x"\nstatic_routes = false\n'
                   '[drivers.frr]\nnamespace = "x"\n') == ["kernel", "frr"]
    assert drivers('[drivers.kernel]\nnamespace = "x"\n'
                   '[drivers.frr]\nnamespace = "x"\nstatic_routes = false\n') == ["kernel", "frr"]
    with pytest.raises(ValueError, match="static_routes must be bool"):
        drivers('[drivers.frr]\nstatic_routes = "no"\n')


def test_yangd_starts_and_stops_frr_itself(netns: str, ds: Datastores) -> None:
    d = Path(tempfile.mkdtemp(prefix="yangd-t-frr-start-", dir="/tmp"))
    s = ds.open_session("admin", "internal")
    f = FrrDriver(g.B, netns, state_dir=str(d / "frr"), start=True, timeout=30)
    with pytest.raises(YangdErrors, match=r"cannot reach .*frr: .* is not searchable"):
        f.start()  # mkdtemp made d private (0700): the frr user could not open the sockets
    f.close()
    d.chmod(0o755)
    s.edit("running", edit_from_json(g.B, g.B.node("/ietf-routing:routing"), {
        "control-plane-protocols": {"control-plane-protocol": [
            {"type": "ietf-routing:static", "name": "st", "static-routes": {
                "ietf-ipv4-unicast-routing:ipv4": {"route": [blackhole("10.9.0.0/16")]}}}]}}))
    f = FrrDriver(g.B, netns, state_dir=str(d / "frr"), start=True, timeout=30)
    m = DriverManager([f])
    try:
        m.attach(ds)
        pids = {n: _frr_daemons.pid_of(d / "frr", n) for n in _frr_daemons.DAEMONS}
        assert all(pids.values()), pids
        lib = _frr_daemons.tcmalloc()
        assert lib, "tcmalloc_minimal is not installed (./run installs libtcmalloc-minimal4)"
        for n, pid in pids.items():  # FRR's --enable-tcmalloc, by preloading
            assert lib in Path(f"/proc/{pid}/maps").read_text(), n
        assert "ip route 10.9.0.0/16 blackhole" in vtysh(d / "frr", "show running-config")
        wait(lambda: kroutes(netns).get("10.9.0.0/16", {}).get("type") == "blackhole",
             "the route in the namespace's kernel")
    finally:
        m.close()
        shutil.rmtree(d, ignore_errors=True)
    assert not any(_frr_daemons.pid_of(d / "frr", n) for n in _frr_daemons.DAEMONS)


def test_shape_replaces_canonical_addresses_only() -> None:
    from southbound._frr_conf import shape

    assert shape("ip route 10.0.0.0/8 192.0.2.1 eth0") == "ip route A.B.C.D/M A.B.C.D eth0"
    assert shape("no ipv6 route 2001:db8::/32 fe80::1 eth1") == \
        "no ipv6 route X:X::X:X/M X:X::X:X eth1"
    assert shape("ip route 10.0.0.0/8 blackhole") == "ip route A.B.C.D/M blackhole"
    # not canonical, or not an address: kept, so they are checked as written
    assert shape("ipv6 route 2001:DB8::/32 reject") == "ipv6 route 2001:DB8::/32 reject"
    assert shape("ip route 10.0.0.0/8 010.0.0.1 1") == "ip route A.B.C.D/M 010.0.0.1 1"
    assert shape("ip route 10.0.0.0/8 192.0.2.1 two words") == \
        "ip route A.B.C.D/M A.B.C.D two words"


def test_parse_keeps_only_what_yangd_manages() -> None:
    from southbound._frr_conf import Stmt, parse

    text = ("frr version 8.4.4\nhostname r1\n!\nip route 10.0.0.0/8 blackhole\n!\n"
            "vrf red\n ip route 10.9.0.0/16 blackhole\nexit-vrf\n!\n"
            "router bgp 65001 vrf red\n neighbor 1.1.1.1 remote-as 1\nexit\n!\n"
            "router bgp 65001\n bgp log-neighbor-changes\n neighbor 10.0.0.2 remote-as 2\n !\n"
            " address-family ipv4 unicast\n  network 10.1.0.0/16\n  neighbor 10.0.0.2 activate\n"
            " exit-address-family\n !\n address-family l2vpn evpn\n  advertise-all-vni\n"
            " exit-address-family\nexit\n!\ninterface eth0\n ip address 1.2.3.4/24\nexit\n"
            "ipv6 route 2001:db8::/32 reject\nend\n")
    r, af = ("router bgp 65001",), ("router bgp 65001", "address-family ipv4 unicast")
    assert list(parse(text, True)) == [
        Stmt((), "ip route 10.0.0.0/8 blackhole"), Stmt((), "router bgp 65001"),
        Stmt(r, "neighbor 10.0.0.2 remote-as 2"), Stmt(af, "network 10.1.0.0/16"),
        Stmt(af, "neighbor 10.0.0.2 activate"), Stmt((), "ipv6 route 2001:db8::/32 reject")]
    assert "ip route" not in " ".join(s.text for s in parse(text, False))
