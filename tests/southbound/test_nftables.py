"""The nftables driver with real nftables: two namespaces joined by a veth pair, the driver
acting in one of them (``a``, address 10.9.0.1, link a0) and traffic from the other (``b``,
10.9.0.2, link b0). The ruleset is read back independently with ``nft`` in the namespace.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import models.generated as g
from datastore.datastores import Datastores
from datastore.session import Session
from models.edit import EditNode, Op, edit_from_json
from models.errors import YangdErrors
from server.config import load_config
from southbound.driver import DriverTx, Phase
from southbound.manager import DriverManager, drivers_from_config
from southbound.nftables import NftablesDriver
from southbound.testdriver import FlakyDriver
from tests.server.conftest import free_port
from tests.southbound.conftest import sh

REPO = Path(__file__).resolve().parents[2]
ACLS = "/ietf-access-control-list:acls"
A_IP, B_IP = "10.9.0.1", "10.9.0.2"
A_IP6, B_IP6 = "fd09::1", "fd09::2"


@dataclass
class Pair:
    a: str
    b: str


def run_in(ns: str, *args: str, timeout: float = 10) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", "netns", "exec", ns, *args], capture_output=True, text=True,
                          timeout=timeout)


def nft(ns: str, *args: str) -> str:
    p = run_in(ns, "nft", *args)
    assert p.returncode == 0, p.stderr
    return p.stdout


def ruleset_json(ns: str) -> Any:
    return json.loads(nft(ns, "-j", "list", "ruleset"))


# ICMP echo over a raw socket (iputils is not a dependency): exit 0 on an echo reply
PING = """
import os, select, socket, struct, sys, time
dst = sys.argv[1]
v6 = ":" in dst
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_RAW,
                  socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
ident = os.getpid() & 0xFFFF
msg = struct.pack("!BBHHH", 128 if v6 else 8, 0, 0, ident, 1) + b"yangd" * 8
if not v6:  # the kernel sums ICMPv6 itself
    t = sum(struct.unpack("!%dH" % (len(msg) // 2), msg))
    t = (t >> 16) + (t & 0xFFFF)
    msg = msg[:2] + struct.pack("!H", ~(t + (t >> 16)) & 0xFFFF) + msg[4:]
end = time.monotonic() + 1.2
while (left := end - time.monotonic()) > 0:
    s.sendto(msg, (dst, 0))  # again every 0.4 s: the first may wait on neighbour discovery
    nxt = time.monotonic() + min(left, 0.4)
    while (wait := nxt - time.monotonic()) > 0 and select.select([s], [], [], wait)[0]:
        data = s.recv(2048)
        icmp = data if v6 else data[(data[0] & 15) * 4:]
        if icmp[0] == (129 if v6 else 0) and struct.unpack("!H", icmp[4:6])[0] == ident:
            sys.exit(0)
sys.exit(1)
"""


def ruleset_shape(ns: str) -> Any:
    """The ruleset without what a reload renumbers or resets (handles, counter values)."""
    def strip(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: (None if k == "counter" else strip(v)) for k, v in x.items() if k != "handle"}
        return [strip(v) for v in x] if isinstance(x, list) else x
    return strip(ruleset_json(ns))


def ping(src: str, dst: str) -> bool:
    return run_in(src, sys.executable, "-c", PING, dst).returncode == 0


def tcp_ok(src: str, dst: str, port: int) -> bool:
    code = (f"import socket\ntry:\n socket.create_connection(({dst!r}, {port}), timeout=1).close()\n"
            "except OSError:\n raise SystemExit(1)")
    return run_in(src, sys.executable, "-c", code).returncode == 0


@pytest.fixture
def pair() -> Iterator[Pair]:
    tag = uuid.uuid4().hex[:8]
    p = Pair(f"yangd-t-{tag}a", f"yangd-t-{tag}b")
    try:
        sh("ip", "netns", "add", p.a)
        sh("ip", "netns", "add", p.b)
        sh("ip", "-n", p.a, "link", "add", "a0", "type", "veth", "peer", "name", "b0", "netns", p.b)
        for ns, link, v4, v6 in ((p.a, "a0", A_IP, A_IP6), (p.b, "b0", B_IP, B_IP6)):
            sh("ip", "-n", ns, "addr", "add", f"{v4}/24", "dev", link)
            sh("ip", "-n", ns, "addr", "add", f"{v6}/64", "dev", link, "nodad")
            sh("ip", "-n", ns, "link", "set", link, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        yield p
    finally:
        for ns in (p.a, p.b):
            subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)


@pytest.fixture
def listener(pair: Pair) -> Iterator[Callable[[int], None]]:
    """``listen(port)``: a TCP server in namespace a (accepting until the test ends)."""
    procs: list[subprocess.Popen[str]] = []

    def listen(port: int) -> None:
        code = ("import socket\ns = socket.socket(socket.AF_INET6)\n"
                "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                f"s.bind(('::', {port}))\ns.listen()\nprint('ready', flush=True)\n"
                "while True:\n c, _ = s.accept()\n c.close()")
        p = subprocess.Popen(["ip", "netns", "exec", pair.a, sys.executable, "-c", code],
                             stdout=subprocess.PIPE, text=True)
        procs.append(p)
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"

    try:
        yield listen
    finally:
        for p in procs:
            p.kill()
            p.wait()


@pytest.fixture
def drv(pair: Pair, ds: Datastores, attach: Callable[..., DriverManager]) -> NftablesDriver:
    d = NftablesDriver(g.B, pair.a, create=False, timeout=10)
    attach(d)
    s = ds.open_session("test", "internal")
    s.edit("running", edit_from_json(g.B, g.B.node("/ietf-interfaces:interfaces"), {"interface": [
        {"name": n, "type": "iana-if-type:ethernetCsmacd"} for n in ("a0", "lo")]}))
    return d


def set_acls(s: Session, doc: dict[str, Any]) -> None:
    s.edit("running", edit_from_json(g.B, g.B.node(ACLS), doc, Op.REPLACE))


def clear_acls(s: Session) -> None:
    s.edit("running", [EditNode(g.B.node(ACLS), op=Op.REMOVE)])


def ace(name: str, matches: dict[str, Any], action: str = "drop") -> dict[str, Any]:
    return {"name": name, "matches": matches, "actions": {"forwarding": action}}


def acls(acl_list: list[dict[str, Any]], ingress: Sequence[str] = (), egress: Sequence[str] = (),
         ifname: str = "a0") -> dict[str, Any]:
    itf: dict[str, Any] = {"interface-id": ifname}
    for d, names in (("ingress", ingress), ("egress", egress)):
        if names:
            itf[d] = {"acl-sets": {"acl-set": [{"name": n} for n in names]}}
    doc: dict[str, Any] = {"acl": acl_list}
    if ingress or egress:
        doc["attachment-points"] = {"interface": [itf]}
    return doc


BLOCK = {"name": "block", "type": "ipv4-acl-type", "aces": {"ace": [
    ace("no-ping", {"ipv4": {"protocol": 1, "source-ipv4-network": f"{B_IP}/32"}}),
    ace("no-8080", {"tcp": {"destination-port": {"operator": "eq", "port": 8080}}}),
    ace("web", {"tcp": {"destination-port": {"lower-port": 8000, "upper-port": 8999}}}, "accept"),
]}}


def stats(ds: Datastores) -> dict[str, tuple[int, int]]:
    """ACE name → (matched-packets, matched-octets) in the operational datastore."""
    s = ds.open_session("test", "internal")
    tree: Any = s.get("operational")
    out: dict[str, tuple[int, int]] = {}
    for acl in tree.acls.acl:
        for e in acl.aces.ace:
            if e.statistics is not None:
                out[f"{acl.name}/{e.name}"] = (e.statistics.matched_packets, e.statistics.matched_octets)
    return out


def test_drop_acl_stops_traffic_counts_and_removal_restores(
        drv: NftablesDriver, ds: Datastores, pair: Pair, listener: Callable[[int], None]) -> None:
    listener(8080)
    listener(8081)
    assert ping(pair.b, A_IP) and tcp_ok(pair.b, A_IP, 8080) and tcp_ok(pair.b, A_IP, 8081)
    s = ds.open_session("test", "internal")
    set_acls(s, acls([BLOCK], ingress=["block"]))
    assert not ping(pair.b, A_IP)
    assert not tcp_ok(pair.b, A_IP, 8080)
    assert tcp_ok(pair.b, A_IP, 8081)  # only what the ACEs name is dropped
    assert ping(pair.a, B_IP6)  # not an IPv4 packet: the ACL (ipv4 type) lets it through
    st = stats(ds)
    assert st["block/no-ping"][0] >= 1 and st["block/no-ping"][1] >= 68  # 68-byte echo requests
    assert st["block/no-8080"][0] >= 1
    assert st["block/web"][0] >= 1  # 8081 is in its range; 8080 matched no-8080 first
    # per attachment point too
    tree: Any = s.get("operational")
    itf = next(iter(tree.acls.attachment_points.interface))
    per = {x.name: x.matched_packets for x in next(iter(itf.ingress.acl_sets.acl_set)).ace_statistics}
    assert per["no-ping"] == st["block/no-ping"][0]
    # removing the attachment restores traffic; the table is gone
    set_acls(s, acls([BLOCK]))
    assert ping(pair.b, A_IP) and tcp_ok(pair.b, A_IP, 8080)
    assert "yangd" not in nft(pair.a, "list", "tables")


def test_egress_reject_and_other_tables_untouched(drv: NftablesDriver, ds: Datastores, pair: Pair) -> None:
    nft(pair.a, "add", "table", "ip", "mine")
    nft(pair.a, "add", "chain", "ip", "mine", "c")
    nft(pair.a, "add", "rule", "ip", "mine", "c", "counter")
    mine = nft(pair.a, "list", "table", "ip", "mine")
    s = ds.open_session("test", "internal")
    out = {"name": "out", "type": "ipv6-acl-type", "aces": {"ace": [
        ace("no-ping6", {"ipv6": {"destination-ipv6-network": f"{B_IP6}/128"}, "icmp": {"type": 128}},
            "reject")]}}
    set_acls(s, acls([out], egress=["out"]))
    assert not ping(pair.a, B_IP6)  # rejected on the way out
    assert ping(pair.a, B_IP)
    assert stats(ds)["out/no-ping6"][0] >= 1
    clear_acls(s)
    assert ping(pair.a, B_IP6)
    assert nft(pair.a, "list", "table", "ip", "mine") == mine
    assert "yangd" not in nft(pair.a, "list", "tables")


def test_refused_acl_changes_nothing(drv: NftablesDriver, ds: Datastores, pair: Pair) -> None:
    s = ds.open_session("test", "internal")
    set_acls(s, acls([BLOCK], ingress=["block"]))
    before, head = ruleset_json(pair.a), ds.head
    running = s.get("running")
    # nft refuses (the model allows ihl up to 60, the 4-bit field holds 15): a prepare failure
    # with nft's message and the path of the ACE
    bad = {"name": "bad", "type": "ipv4-acl-type", "aces": {"ace": [
        ace("ok", {"ipv4": {"ttl": 1}}), ace("ihl", {"ipv4": {"ihl": 20}})]}}
    with pytest.raises(YangdErrors) as ei:
        set_acls(s, acls([BLOCK, bad], ingress=["block", "bad"]))
    (e,) = ei.value.errors
    assert e.tag == "operation-failed" and e.info["driver"] == "nftables" and e.info["phase"] == "prepare"
    assert "nft:" in e.message and "exceeds valid range" in e.message
    assert e.path == f"{ACLS}/acl[name='bad']/aces/ace[name='ihl']"
    # what this driver cannot express: a validate failure naming the node
    arp = {"name": "arp", "type": "eth-acl-type", "aces": {"ace": [
        ace("arp", {"eth": {"ethertype": "arp"}})]}}
    with pytest.raises(YangdErrors) as ei:
        set_acls(s, acls([BLOCK, arp], ingress=["block", "arp"]))
    (e,) = ei.value.errors
    assert e.info["phase"] == "validate" and "ethertype arp" in e.message
    assert e.path == f"{ACLS}/acl[name='arp']/aces/ace[name='arp']/matches/eth/ethertype"
    # an Ethernet match on egress cannot be seen: refused, naming the attachment
    mac = {"name": "mac", "type": "eth-acl-type", "aces": {"ace": [
        ace("m", {"eth": {"source-mac-address": "02:00:00:00:00:01"}})]}}
    with pytest.raises(YangdErrors) as ei:
        set_acls(s, acls([BLOCK, mac], ingress=["block"], egress=["mac"]))
    assert ei.value.errors[0].path == f"{ACLS}/attachment-points/interface[interface-id='a0']" \
                                      "/egress/acl-sets/acl-set[name='mac']"
    assert ruleset_json(pair.a) == before
    assert ds.head == head and s.get("running") == running


def test_later_driver_failing_reverts_the_table(
        pair: Pair, ds: Datastores, attach: Callable[..., DriverManager]) -> None:
    reverted: list[bool] = []

    class Recording(NftablesDriver):
        def on_revert(self, d: DriverTx) -> None:
            reverted.append(bool(d.scratch.get("loaded")))  # it had loaded the new table
            super().on_revert(d)

    d = Recording(g.B, pair.a, create=False, timeout=10)
    flaky = FlakyDriver(g.B, "flaky", owns=(ACLS,))
    attach(d, flaky)  # prepare and commit in this order: nftables commits, then flaky fails
    s = ds.open_session("test", "internal")
    s.edit("running", edit_from_json(g.B, g.B.node("/ietf-interfaces:interfaces"), {"interface": [
        {"name": "a0", "type": "iana-if-type:ethernetCsmacd"}]}))
    set_acls(s, acls([BLOCK], ingress=["block"]))
    before = ruleset_shape(pair.a)
    flaky.fail_in = Phase.COMMIT
    with pytest.raises(YangdErrors) as ei:
        set_acls(s, acls([BLOCK], egress=["block"]))
    assert ei.value.errors[0].info["driver"] == "flaky"
    assert reverted == [True] and "commit" in flaky.calls
    assert ruleset_shape(pair.a) == before and not ping(pair.b, A_IP)  # reloaded as it was


def test_driver_from_config(tmp_path: Path) -> None:
    cfg = tmp_path / "yangd.toml"
    cfg.write_text('[drivers.acl]\nkind = "nftables"\nnamespace = "lab"\ntimeout = 3\n')
    m = drivers_from_config(load_config(cfg), g.B)
    try:
        (d,) = m.drivers
        assert isinstance(d, NftablesDriver) and (d.name, d.namespace, d.timeout) == ("acl", "lab", 3)
    finally:
        m.close()
    cfg.write_text('[drivers.nftables]\nnamespace = ""\n')
    with pytest.raises(ValueError, match="host namespace only with allow_host"):
        drivers_from_config(load_config(cfg), g.B)


def test_namespace_created_when_missing_refused_with_create_false() -> None:
    ns = f"yangd-t-{uuid.uuid4().hex[:8]}"
    try:
        with pytest.raises(YangdErrors, match=f"network namespace {ns} does not exist"):
            d = NftablesDriver(g.B, ns, create=False)
            try:
                d.start()
            finally:
                d.close()
        d = NftablesDriver(g.B, ns)
        try:
            d.start()
            assert ns in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
            assert d.drift(g.B.root_cls.model_validate({})) == []  # type: ignore[union-attr]
        finally:
            d.close()
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)


def test_eth_ipv6_mixed_rendering(drv: NftablesDriver, ds: Datastores, pair: Pair) -> None:
    s = ds.open_session("test", "internal")
    eth = {"name": "eth", "type": "eth-acl-type", "aces": {"ace": [
        ace("mac", {"eth": {"source-mac-address": "02:aa:bb:cc:dd:ee",
                            "source-mac-address-mask": "ff:ff:ff:00:00:00", "ethertype": "ipv4"}})]}}
    v6 = {"name": "v6", "type": "ipv6-acl-type", "aces": {"ace": [
        ace("ssh", {"ipv6": {"source-ipv6-network": "2001:db8::/32", "ttl": 64},
                    "tcp": {"source-port": {"lower-port": 1000, "upper-port": 2000},
                            "destination-port": {"operator": "neq", "port": 22},
                            "flags": "syn"}}, "reject"),
        ace("echo", {"icmp": {"type": 128, "code": 0}}, "accept")]}}
    mixed = {"name": "mixed", "type": "mixed-eth-ipv4-ipv6-acl-type", "aces": {"ace": [
        ace("v4", {"eth": {"destination-mac-address": "02:00:00:00:00:01"},
                   "ipv4": {"destination-ipv4-network": "192.0.2.0/24", "dscp": 46},
                   "udp": {"destination-port": {"operator": "lte", "port": 53}}}),
        ace("any", {}, "accept")]}}
    set_acls(s, acls([eth, v6, mixed], ingress=["eth", "v6", "mixed"]))
    text = nft(pair.a, "list", "table", "inet", "yangd")
    for want in ('iifname vmap { "a0" : jump in0 }',
                 "ether saddr & ff:ff:ff:00:00:00 == 02:aa:bb:00:00:00 meta nfproto ipv4",
                 "ip6 saddr 2001:db8::/32", "ip6 hoplimit 64", "tcp sport 1000-2000", "tcp dport != 22",
                 "tcp flags == syn", "reject with tcp reset", "icmpv6 type echo-request icmpv6 code no-route",
                 "ether daddr 02:00:00:00:00:01", "ip dscp ef", "ip daddr 192.0.2.0/24", "udp dport <= 53"):
        assert want in text, (want, text)
    rules = [o["rule"] for o in ruleset_json(pair.a)["nftables"] if "rule" in o and o["rule"]["chain"] == "in0"]
    assert len(rules) == 5 and rules[-1]["expr"][-1] == {"accept": None}
    # the same ACLs egress: the Ethernet ones are refused, the IPv6 one renders in both hooks
    set_acls(s, acls([eth, v6, mixed], egress=["v6"]))
    text = nft(pair.a, "list", "table", "inet", "yangd")
    assert "hook forward" in text and "hook output" in text and "hook prerouting" not in text
    assert 'oifname vmap { "a0" : jump out0 }' in text and "ether" not in text


def test_run_of_exact_aces_is_one_set_lookup(
        drv: NftablesDriver, ds: Datastores, pair: Pair, listener: Callable[[int], None]) -> None:
    listener(8080)
    listener(8081)
    s = ds.open_session("test", "internal")
    hosts = [ace(f"h{i}", {"ipv4": {"source-ipv4-network": f"10.9.0.{i}/32"},
                           "tcp": {"destination-port": {"port": 8080}}}) for i in range(2, 12)]
    hosts.append(ace("dup", {"ipv4": {"source-ipv4-network": f"{B_IP}/32"},  # shadowed by h2
                             "tcp": {"destination-port": {"port": 8080}}}))
    set_acls(s, acls([{"name": "hosts", "type": "ipv4-acl-type", "aces": {"ace": hosts}}],
                     ingress=["hosts"]))
    text = nft(pair.a, "list", "table", "inet", "yangd")
    assert "ip saddr . tcp dport @s0 drop" in text and text.count("counter packets") == 10, text
    assert not tcp_ok(pair.b, A_IP, 8080) and tcp_ok(pair.b, A_IP, 8081)
    st = stats(ds)
    assert st["hosts/h2"][0] >= 1 and st["hosts/h3"] == (0, 0) and st["hosts/dup"] == (0, 0)
    assert drv.drift(ds.running) == []
    nft(pair.a, "delete", "element", "inet", "yangd", "s0", "{ 10.9.0.3 . 8080 }")
    assert drv.drift(ds.running) == ["set s0 has 0 elements yangd did not load and lacks 1"]


def test_full_sync_restores_flushed_table(drv: NftablesDriver, ds: Datastores, pair: Pair) -> None:
    s = ds.open_session("test", "internal")
    set_acls(s, acls([BLOCK], ingress=["block"]))
    assert drv.drift(ds.running) == []
    nft(pair.a, "delete", "table", "inet", "yangd")
    assert ping(pair.b, A_IP)
    assert drv.drift(ds.running) == ["table inet yangd is missing"]
    assert drv.full_sync(ds.running) == 1
    assert drv.drift(ds.running) == [] and not ping(pair.b, A_IP)
    nft(pair.a, "flush", "chain", "inet", "yangd", "in0")
    assert drv.drift(ds.running) == ["chain in0 has 0 rules, 3 expected"]
    drv.full_sync(ds.running)
    assert not ping(pair.b, A_IP)


# ---- over NETCONF, with a real yangd ------------------------------------------------------------
NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
ACL_NS = "urn:ietf:params:xml:ns:yang:ietf-access-control-list"
NMDA = "urn:ietf:params:xml:ns:yang:ietf-netconf-nmda"
DS = "urn:ietf:params:xml:ns:yang:ietf-datastores"


def _yangd(tmp: Path, ns: str) -> tuple[subprocess.Popen[bytes], int, Path]:
    data, log = tmp / "data", tmp / "yangd.log"
    r = subprocess.run([sys.executable, "-m", "server.cli", "users", "add", "admin", "--password-stdin",
                        "--data-dir", str(data)], input="nft-pw\n", capture_output=True, text=True,
                       cwd=REPO, timeout=120)
    assert r.returncode == 0, r.stderr
    cfg = tmp / "yangd.toml"
    for _attempt in range(5):
        port = free_port()
        cfg.write_text(f'[drivers.nftables]\nnamespace = "{ns}"\ncreate = false\n')
        with open(log, "ab") as out:
            proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--config", str(cfg),
                                     "--data-dir", str(data), "--netconf-listen", f"127.0.0.1:{port}",
                                     "--restconf-listen", f"127.0.0.1:{free_port()}"],
                                    cwd=REPO, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if "NETCONF over SSH on" in log.read_text(errors="replace"):
                return proc, port, log
            time.sleep(0.1)
        proc.kill()
        proc.wait()
        if "cannot listen" not in log.read_text(errors="replace"):
            break
    raise AssertionError("yangd did not start:\n" + log.read_text(errors="replace")[-3000:])


def test_netconf_commit_and_counters_in_get(tmp_path: Path, pair: Pair) -> None:
    from lxml import etree
    from ncclient import manager

    proc, port, log = _yangd(tmp_path, pair.a)
    try:
        with manager.connect(host="127.0.0.1", port=port, username="admin", password="nft-pw",
                             hostkey_verify=False, look_for_keys=False, allow_agent=False,
                             timeout=20) as m:
            m.edit_config(target="candidate", config=f"""<config xmlns="{NC}">
              <interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces"
                          xmlns:ianaift="urn:ietf:params:xml:ns:yang:iana-if-type">
                <interface><name>a0</name><type>ianaift:ethernetCsmacd</type></interface></interfaces>
              <acls xmlns="{ACL_NS}"><acl><name>block</name><type>ipv4-acl-type</type>
                <aces><ace><name>no-ping</name>
                  <matches><ipv4><protocol>1</protocol></ipv4></matches>
                  <actions><forwarding>drop</forwarding></actions></ace></aces></acl>
                <attachment-points><interface><interface-id>a0</interface-id>
                  <ingress><acl-sets><acl-set><name>block</name></acl-set></acl-sets></ingress>
                </interface></attachment-points></acls></config>""")
            m.commit()
            assert not ping(pair.b, A_IP) and not ping(pair.b, A_IP)
            # NMDA get-data of ds:operational (RFC 8526 §3.1.1): config merged with driver state
            reply = m.dispatch(etree.fromstring(
                f'<get-data xmlns="{NMDA}" xmlns:ds="{DS}"><datastore>ds:operational</datastore>'
                f'<subtree-filter><acls xmlns="{ACL_NS}"/></subtree-filter></get-data>'))
            root = etree.fromstring(reply.xml.encode())
            q = {"a": ACL_NS}
            pk = root.xpath("//a:acl[a:name='block']/a:aces/a:ace[a:name='no-ping']/a:statistics/"
                            "a:matched-packets/text()", namespaces=q)
            assert pk and int(pk[0]) >= 2, reply.xml
            per = root.xpath("//a:attachment-points/a:interface/a:ingress//a:ace-statistics"
                             "[a:name='no-ping']/a:matched-packets/text()", namespaces=q)
            assert per == pk
            m.edit_config(target="candidate", config=f"""<config xmlns="{NC}"
                xmlns:nc="{NC}"><acls xmlns="{ACL_NS}" nc:operation="delete"/></config>""")
            m.commit()
            assert ping(pair.b, A_IP)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert "Traceback" not in log.read_text(errors="replace")
