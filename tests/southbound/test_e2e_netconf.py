"""End to end: a real ``yangd serve`` subprocess with the kernel driver in a test namespace and
a FlakyDriver next to it, driven over NETCONF (ncclient), the kernel read back with ``ip -j``.

One yangd (and namespace) serves the module; each test starts from empty config, a resynced
kernel and a quiet FlakyDriver (its control file emptied).
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from ncclient.operations.rpc import RPCError
from ncclient.transport import session as nc_session

from southbound._routes import RT_PROTO
from tests.server.conftest import free_port
from tests.southbound.conftest import ip, sh, snapshot

YANGD = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "yangd"
USER, PASSWORD = "admin", "e2e-pw"
NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
IF = "urn:ietf:params:xml:ns:yang:ietf-interfaces"
IANA = "urn:ietf:params:xml:ns:yang:iana-if-type"
IPNS = "urn:ietf:params:xml:ns:yang:ietf-ip"
RT = "urn:ietf:params:xml:ns:yang:ietf-routing"
V4 = "urn:ietf:params:xml:ns:yang:ietf-ipv4-unicast-routing"
V6 = "urn:ietf:params:xml:ns:yang:ietf-ipv6-unicast-routing"
YC = "urn:yangd:params:xml:ns:yang:yangd-commits"
SB = "urn:yangd:params:xml:ns:yang:yangd-southbound"
NMDA = "urn:ietf:params:xml:ns:yang:ietf-netconf-nmda"
DS = "urn:ietf:params:xml:ns:yang:ietf-datastores"
INFO = "urn:yangd:params:xml:ns:error-info"


@dataclass
class Yangd:
    ns: str
    port: int
    control: Path
    log: Path

    def connect(self) -> Any:
        from ncclient import manager

        return manager.connect(host="127.0.0.1", port=self.port, username=USER, password=PASSWORD,
                               hostkey_verify=False, look_for_keys=False, allow_agent=False,
                               timeout=20)

    def tell(self, what: str) -> None:
        self.control.write_text(what)


def _start(tmp: Path, ns: str, control: Path, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    data = tmp / "data"
    for _attempt in range(5):
        port = free_port()
        cfg = tmp / "yangd.toml"
        cfg.write_text(f'data_dir = "{data}"\nnetconf_listen = "127.0.0.1:{port}"\n'
                       f'restconf_listen = "127.0.0.1:{free_port()}"\n'
                       f'[bootstrap_users]\n{USER} = "{PASSWORD}"\n'
                       f'[drivers.kernel]\nnamespace = "{ns}"\ncreate = false\ntimeout = 5\n'
                       f'[drivers.flaky]\nkind = "flaky"\ncontrol = "{control}"\ntimeout = 1\n')
        with open(log, "ab") as out:
            proc = subprocess.Popen([str(YANGD), "serve", "--config", str(cfg)],
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if "NETCONF over SSH on" in log.read_text(errors="replace"):
                return proc, port
            time.sleep(0.1)
        proc.kill()
        proc.wait()
        if "cannot listen" not in log.read_text(errors="replace"):
            break
    raise AssertionError("yangd did not start:\n" + log.read_text(errors="replace")[-3000:])


@pytest.fixture(scope="module")
def yangd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Yangd]:
    tmp = tmp_path_factory.mktemp("e2e")
    ns = f"yangd-t-{uuid.uuid4().hex[:8]}"
    sh("ip", "netns", "add", ns)
    proc: subprocess.Popen[bytes] | None = None
    try:
        sh("ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p")
        sh("ip", "-n", ns, "link", "set", "eth0p", "up")
        control, log = tmp / "flaky", tmp / "yangd.log"
        proc, port = _start(tmp, ns, control, log)
        tick, nc_session.TICK = nc_session.TICK, 0.002  # ncclient polls every 0.1 s by default
        try:
            yield Yangd(ns, port, control, log)
        finally:
            nc_session.TICK = tick
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)


@pytest.fixture
def m(yangd: Yangd) -> Iterator[Any]:
    """A NETCONF session on a clean yangd: no config, kernel resynced, flaky quiet."""
    yangd.tell("")
    with yangd.connect() as mgr:
        if "<interfaces" in mgr.get_config("running").data_xml or \
                "<routing" in mgr.get_config("running").data_xml:
            mgr.edit_config(target="candidate", config=(
                f'<config xmlns="{NC}" xmlns:nc="{NC}"><interfaces xmlns="{IF}" nc:operation="remove"/>'
                f'<routing xmlns="{RT}" nc:operation="remove"/></config>'))
            mgr.commit()
        resync(mgr)
        yield mgr


# ---- requests ------------------------------------------------------------------------------------
def config(interfaces: str = "", routes: str = "") -> str:
    body = f'<interfaces xmlns="{IF}" xmlns:ianaift="{IANA}">{interfaces}</interfaces>' if interfaces else ""
    if routes:
        body += (f'<routing xmlns="{RT}"><control-plane-protocols><control-plane-protocol>'
                 "<type>static</type><name>st</name>"  # RFC 7950 §9.10.3: default namespace
                 f"<static-routes>{routes}</static-routes>"
                 "</control-plane-protocol></control-plane-protocols></routing>")
    return f'<config xmlns="{NC}" xmlns:nc="{NC}">{body}</config>'


def iface(name: str, type_: str, extra: str = "", op: str = "") -> str:
    attr = f' nc:operation="{op}"' if op else ""
    t = f"<type>ianaift:{type_}</type>" if type_ else ""
    return f"<interface{attr}><name>{name}</name>{t}{extra}</interface>"


def ipv4(*addrs: str, mtu: int | None = None) -> str:
    a = "".join(f"<address><ip>{x.split('/')[0]}</ip><prefix-length>{x.split('/')[1]}"
                "</prefix-length></address>" for x in addrs)
    return f'<ipv4 xmlns="{IPNS}">{f"<mtu>{mtu}</mtu>" if mtu else ""}{a}</ipv4>'


def ipv6(*addrs: str) -> str:
    a = "".join(f"<address><ip>{x.split('/')[0]}</ip><prefix-length>{x.split('/')[1]}"
                "</prefix-length></address>" for x in addrs)
    return f'<ipv6 xmlns="{IPNS}">{a}</ipv6>'


def route4(prefix: str, gw: str | None = None, special: str | None = None, op: str = "") -> str:
    attr = f' nc:operation="{op}"' if op else ""
    nh = (f"<next-hop-address>{gw}</next-hop-address>" if gw else
          f"<special-next-hop>{special}</special-next-hop>" if special else "")
    return (f"<route{attr}><destination-prefix>{prefix}</destination-prefix>"
            f"{f'<next-hop>{nh}</next-hop>' if nh else ''}</route>")


def v4(*routes: str) -> str:
    return f'<ipv4 xmlns="{V4}">{"".join(routes)}</ipv4>'


def v6(prefix: str, gw: str) -> str:
    return (f'<ipv6 xmlns="{V6}"><route><destination-prefix>{prefix}</destination-prefix>'
            f"<next-hop><next-hop-address>{gw}</next-hop-address></next-hop></route></ipv6>")


def commit(m: Any, cfg: str) -> None:
    m.edit_config(target="candidate", config=cfg)
    m.commit()


def rpc(m: Any, xml: str) -> Any:
    return etree.fromstring(m.dispatch(etree.fromstring(xml)).xml.encode())


def resync(m: Any, driver: str | None = None) -> Any:
    arg = f"<driver>{driver}</driver>" if driver else ""
    return rpc(m, f'<resync xmlns="{SB}">{arg}</resync>')


def drivers_state(m: Any) -> dict[str, Any]:
    """name → driver element of /yangd-southbound:drivers in the operational datastore."""
    reply = rpc(m, f'<get-data xmlns="{NMDA}" xmlns:ds="{DS}"><datastore>ds:operational</datastore>'
                   f'<subtree-filter><drivers xmlns="{SB}"/></subtree-filter></get-data>')
    return {d.findtext(f"{{{SB}}}name"): d for d in reply.iter(f"{{{SB}}}driver")}


def head(m: Any) -> int:
    reply = etree.fromstring(m.get(filter=("subtree", f'<commits xmlns="{YC}"><head/></commits>')).xml.encode())
    return int(reply.findtext(f".//{{{YC}}}head") or "0")


# ---- the kernel, read back independently ------------------------------------------------------------
def kroutes(ns: str) -> dict[str, Any]:
    """yangd's routes (its protocol number), both families: dst → (type, gateway)."""
    out = {}
    for fam in ("-4", "-6"):
        for r in ip(ns, fam, "route", "show", "proto", str(RT_PROTO)):
            out[r["dst"]] = (r.get("type", "unicast"), r.get("gateway"))
    return out


def kernel(ns: str) -> tuple[Any, ...]:
    return snapshot(ns), kroutes(ns)


ETH0 = iface("eth0", "ethernetCsmacd", "<description>uplink</description>"
             + ipv4("192.0.2.1/24", mtu=1400) + ipv6("2001:db8::1/64"))
BR0 = iface("br0", "bridge", ipv4("198.51.100.1/24"))
ROUTES = (v4(route4("10.1.0.0/16", "192.0.2.2"), route4("10.4.0.0/16", special="blackhole"))
          + v6("2001:db8:1::/48", "2001:db8::2"))


# ---- tests ----------------------------------------------------------------------------------------
def test_commit_creates_and_delete_removes(m: Any, yangd: Yangd) -> None:
    commit(m, config(ETH0 + BR0, ROUTES))
    snap, routes = kernel(yangd.ns)
    assert snap["eth0"][:3] == (True, 1400, "uplink")
    assert set(snap["eth0"][3]) == {"192.0.2.1/24", "2001:db8::1/64"}
    assert snap["br0"][3] == ["198.51.100.1/24"]
    assert ip(yangd.ns, "-d", "link", "show", "br0")[0]["linkinfo"]["info_kind"] == "bridge"
    assert routes == {"10.1.0.0/16": ("unicast", "192.0.2.2"), "10.4.0.0/16": ("blackhole", None),
                      "2001:db8:1::/48": ("unicast", "2001:db8::2")}
    commit(m, config(iface("br0", "", op="delete"), v4(route4("10.1.0.0/16", op="delete"))))
    snap, routes = kernel(yangd.ns)
    assert "br0" not in snap and set(snap["eth0"][3]) == {"192.0.2.1/24", "2001:db8::1/64"}
    assert routes == {"10.4.0.0/16": ("blackhole", None), "2001:db8:1::/48": ("unicast", "2001:db8::2")}


def test_rollback_restores_earlier_kernel_state(m: Any, yangd: Yangd) -> None:
    commit(m, config(ETH0, v4(route4("10.1.0.0/16", "192.0.2.2"))))
    first, before = head(m), kernel(yangd.ns)
    commit(m, config(BR0 + iface("eth0", "", ipv4("192.0.2.9/25", mtu=9000)),
                     v4(route4("10.1.0.0/16", "192.0.2.3"), route4("10.2.0.0/16", "192.0.2.4"))))
    assert kernel(yangd.ns) != before
    out = rpc(m, f'<rollback xmlns="{YC}"><id>{first}</id></rollback>')
    assert int(out.findtext(f"{{{YC}}}id") or 0) == first + 2
    assert kernel(yangd.ns) == before


@pytest.mark.parametrize("told", ["fail prepare", "fail commit", "hang prepare", "hang commit"])
def test_refused_commit_changes_nothing(m: Any, yangd: Yangd, told: str) -> None:
    commit(m, config(ETH0, v4(route4("10.1.0.0/16", "192.0.2.2"))))
    running, before, heads = m.get_config("running").data_xml, kernel(yangd.ns), head(m)
    yangd.tell(told)
    # interfaces reach both drivers (kernel first, so a flaky commit makes the kernel revert);
    # the route only the kernel
    m.edit_config(target="candidate", config=config(BR0 + iface("eth0", "", "<description>x</description>"),
                                                    v4(route4("10.2.0.0/16", "192.0.2.4"))))
    t0 = time.monotonic()
    with pytest.raises(RPCError) as e:
        m.commit()
    took = time.monotonic() - t0
    yangd.tell("")  # a hanging phase returns now; its clean-up runs after it
    err = e.value.errlist[0] if getattr(e.value, "errlist", None) else e.value
    assert err.tag == "operation-failed"
    assert "flaky" in err.message
    assert ("did not finish within 1 s" if told.startswith("hang") else "told to fail") in err.message
    xml = etree.fromstring(err.xml.encode() if isinstance(err.xml, str) else etree.tostring(err.xml))
    assert xml.findtext(f".//{{{INFO}}}driver") == "flaky"
    assert xml.findtext(f".//{{{INFO}}}phase") == told.split()[1]
    # the driver named no node: the first change it was given
    assert (xml.findtext(f"{{{NC}}}error-path") or "").strip() == "/if:interfaces/if:interface[if:name='br0']"
    if told.startswith("hang"):
        assert 0.9 < took < 10
    assert m.get_config("running").data_xml == running and head(m) == heads
    time.sleep(0.2)  # the late phase's clean-up
    assert kernel(yangd.ns) == before
    flaky = drivers_state(m)["flaky"]
    assert flaky.findtext(f"{{{SB}}}last-error/{{{SB}}}phase") == told.split()[1]
    fails = {f.findtext(f"{{{SB}}}phase"): f for f in flaky.iter(f"{{{SB}}}failures")}
    assert int(fails[told.split()[1]].findtext(f"{{{SB}}}count") or 0) >= 1
    if told.startswith("hang"):
        assert flaky.findtext(f"{{{SB}}}status") == "needs-sync"
        assert int(fails[told.split()[1]].findtext(f"{{{SB}}}timeouts") or 0) >= 1
    m.discard_changes()
    commit(m, config(BR0))  # and the next commit goes through (re-syncing flaky first)
    assert "br0" in snapshot(yangd.ns)
    assert drivers_state(m)["flaky"].findtext(f"{{{SB}}}status") == "in-sync"


def test_drift_visible_and_resync_restores(m: Any, yangd: Yangd) -> None:
    commit(m, config(ETH0 + BR0, ROUTES))
    want = kernel(yangd.ns)
    k = drivers_state(m)["kernel"]
    assert k.findtext(f"{{{SB}}}status") == "in-sync" and k.findtext(f"{{{SB}}}kind") == "kernel"
    assert k.findtext(f"{{{SB}}}drift/{{{SB}}}in-drift") == "false"
    logged = yangd.log.read_text().count("the backend differs from running")
    # behind yangd's back
    sh("ip", "-n", yangd.ns, "link", "del", "br0")
    sh("ip", "-n", yangd.ns, "addr", "flush", "dev", "eth0")
    sh("ip", "-n", yangd.ns, "route", "flush", "proto", str(RT_PROTO))
    sh("ip", "-n", yangd.ns, "-6", "route", "flush", "proto", str(RT_PROTO))
    assert kernel(yangd.ns) != want
    for _ in range(2):  # read twice: logged once
        k = drivers_state(m)["kernel"]
        assert k.findtext(f"{{{SB}}}drift/{{{SB}}}in-drift") == "true"
    diffs = [d.text for d in k.iter(f"{{{SB}}}difference")]
    assert int(k.findtext(f"{{{SB}}}drift/{{{SB}}}differences") or 0) == len(diffs)
    assert "route add unicast 10.1.0.0/16 via 192.0.2.2" in diffs
    assert "route add blackhole 10.4.0.0/16" in diffs
    assert any(d.startswith("link-add br0") for d in diffs)
    assert "addr-add eth0 ip=192.0.2.1 plen=24" in diffs and "link-add br0 kind=bridge" in diffs
    assert yangd.log.read_text().count("the backend differs from running") == logged + 1
    assert kernel(yangd.ns) != want  # reported, not repaired
    out = resync(m, "kernel")
    (row,) = out.iter(f"{{{SB}}}driver")
    assert row.findtext(f"{{{SB}}}name") == "kernel"
    assert int(row.findtext(f"{{{SB}}}repaired") or 0) >= len(diffs)
    assert kernel(yangd.ns) == want
    k = drivers_state(m)["kernel"]
    assert k.findtext(f"{{{SB}}}drift/{{{SB}}}in-drift") == "false"
    assert k.find(f"{{{SB}}}last-sync") is not None


def test_resync_of_unknown_driver_is_invalid_value(m: Any) -> None:
    with pytest.raises(RPCError) as e:
        resync(m, "nope")
    err = e.value.errlist[0] if getattr(e.value, "errlist", None) else e.value
    assert err.tag == "invalid-value" and "nope" in err.message
    xml = etree.fromstring(err.xml.encode() if isinstance(err.xml, str) else etree.tostring(err.xml))
    assert (xml.findtext(f"{{{NC}}}error-path") or "").strip().endswith("resync/ysb:driver")


def test_plain_get_shows_what_the_backends_report(m: Any, yangd: Yangd) -> None:
    """RFC 6241 §7.7: <get> is running plus state data, the drivers' included."""
    commit(m, config(ETH0))
    reply = etree.fromstring(m.get(filter=("subtree", f'<drivers xmlns="{SB}"/>')).xml.encode())
    names = {d.findtext(f"{{{SB}}}name"): d.findtext(f"{{{SB}}}status") for d in reply.iter(f"{{{SB}}}driver")}
    assert names["kernel"] == "in-sync"
    ifs = IF
    reply = etree.fromstring(m.get(filter=("subtree", f'<interfaces xmlns="{ifs}"><interface>'
                                                     f'<name>eth0</name></interface></interfaces>')).xml.encode())
    entry = reply.find(f".//{{{ifs}}}interface")
    assert entry is not None and entry.findtext(f"{{{ifs}}}description") == "uplink"
    assert entry.findtext(f"{{{ifs}}}oper-status") in ("up", "down", "lower-layer-down", "unknown")
    assert entry.findtext(f"{{{ifs}}}if-index") is not None
    # get-config stays configuration only
    conf = etree.fromstring(m.get_config("running", filter=("subtree", f'<interfaces xmlns="{ifs}"/>')).xml.encode())
    assert conf.find(f".//{{{ifs}}}oper-status") is None
