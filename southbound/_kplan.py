"""The kernel driver's plan: desired link specs from config, diffed against what the kernel has.

Pure functions, no netlink: ``spec_of`` turns one ietf-interfaces entry into a ``LinkSpec``
(refusing what the kernel cannot do), ``plan_link`` compares a spec with the observed
``LinkState`` and yields ``Step``s — one operation plus the operations that undo it, computed
from what the kernel had at prepare time — so revert restores exactly the state before.

Decisions (see also southbound/kernel.py):
- ethernetCsmacd adopts an existing link of that name (a NIC, or a veth moved in); a
  missing one is a prepare error. yangd never creates NIC stand-ins: a veth needs a peer
  that standard YANG cannot express.
- softwareLoopback named ``lo`` adopts lo; any other name is a ``dummy`` link.
- bridge creates a bridge; l2vlan creates a vlan named ``<parent>.<vlan-id>``.
- Unset leaves mean the kernel default, not "leave alone", so config fully determines the
  link: mtu 1500 (lo 65536), no alias, forwarding off. The one link MTU is ipv4/mtu or
  ipv6/mtu; both set and different is refused.
- Removing an adopted link's config releases it: addresses, alias and forwarding go; its
  admin state and MTU stay as they are (yangd never takes down a NIC it does not configure;
  lo is brought up). Removing a created link deletes it. Full sync treats links running does
  not have the same way, so full sync after a delete changes nothing.
- Configured links get net.ipv6.conf.<if>.keep_addr_on_down=1: admin down must not make the
  kernel drop configured IPv6 addresses behind yangd's back.
- Kernel-owned addresses are never touched: IPv6 link-local, and lo's 127.0.0.1/8 and ::1.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from southbound.errors import DriverError

IANA = "iana-if-type:"
CREATED_KINDS = frozenset({"bridge", "dummy", "vlan"})
LO_ADDRS = frozenset({("127.0.0.1", 8), ("::1", 128)})
Addr = tuple[str, int]
Sysctls = tuple[tuple[str, str], ...]  # ((key, value), ...), key like "ipv4/forwarding"


@dataclass(frozen=True)
class LinkSpec:
    """A link as yangd wants it (or as the kernel has it: see LinkState)."""

    name: str
    kind: str  # lo | adopt | bridge | dummy | vlan
    up: bool = False
    alias: str = ""
    mtu: int = 1500
    addrs: frozenset[Addr] = frozenset()
    sysctl: Sysctls = (("ipv4/forwarding", "0"), ("ipv6/forwarding", "0"))
    parent: str | None = None
    vlan_id: int | None = None
    mtu_leaf: str = "ietf-ip:ipv4/mtu"  # the leaf the MTU came from, for error paths


@dataclass(frozen=True)
class LinkState(LinkSpec):
    index: int = 0
    kernel_kind: str = ""  # IFLA_INFO_KIND ("" for lo and plain NICs)
    min_mtu: int | None = None
    max_mtu: int | None = None


@dataclass(frozen=True)
class Op:
    verb: str  # link-add | link-del | link-set | addr-add | addr-del | sysctl
    ifname: str
    args: tuple[tuple[str, Any], ...] = ()
    path: str | None = None

    def arg(self, name: str) -> Any:
        return dict(self.args)[name]


@dataclass(frozen=True)
class Step:
    op: Op
    undo: tuple[Op, ...] = ()


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)


def if_path(name: str, leaf: str = "") -> str:
    esc = name.replace("'", "")
    return f"/ietf-interfaces:interfaces/interface[name='{esc}']" + (f"/{leaf}" if leaf else "")


def norm_ip(ip: str) -> str:
    return ipaddress.ip_address(ip.split("%")[0]).compressed


def kernel_owned(name: str, addr: Addr) -> bool:
    ip = ipaddress.ip_address(addr[0])
    return (ip.version == 6 and ip.is_link_local) or (name == "lo" and addr in LO_ADDRS)


def spec_of(itf: Any, kinds: frozenset[str]) -> LinkSpec:
    """The LinkSpec for one configured ietf-interfaces entry; DriverError if unsupported."""
    name: str = itf.name
    itype = str(itf.type or "")
    short = itype.split(":", 1)[1] if ":" in itype else itype
    parent: str | None = None
    vid: int | None = None
    if short == "softwareLoopback":
        kind = "lo" if name == "lo" else "dummy"
    elif short == "ethernetCsmacd":
        kind = "adopt"
    elif short == "bridge":
        kind = "bridge"
    elif short == "l2vlan":
        kind = "vlan"
        parent, _, tail = name.rpartition(".")
        if not parent or not tail.isdigit() or not 1 <= int(tail) <= 4094:
            raise DriverError(f"l2vlan interface {name!r} must be named <parent>.<vlan-id>",
                              if_path(name, "name"))
        vid = int(tail)
    else:
        raise DriverError(f"interface type {itype} is not supported by the kernel driver",
                          if_path(name, "type"), "unsupported-type")
    if kind in CREATED_KINDS and kind not in kinds:
        raise DriverError(f"interface type {itype} needs link kind {kind!r}, which this kernel "
                          "does not have", if_path(name, "type"), "unsupported-type")
    v4, v6 = itf.ipv4, itf.ipv6
    mtu4 = v4.mtu if v4 is not None else None
    mtu6 = v6.mtu if v6 is not None else None
    if mtu4 is not None and mtu6 is not None and mtu4 != mtu6:
        raise DriverError(f"the kernel has one MTU per link: ipv4 mtu {mtu4} and ipv6 mtu {mtu6} "
                          "differ", if_path(name, "ietf-ip:ipv6/mtu"))
    mtu = mtu4 or mtu6 or (65536 if kind == "lo" else 1500)
    addrs: set[Addr] = set()
    for fam, block in (("ipv4", v4), ("ipv6", v6)):
        if block is None or block.enabled is False or block.address is None:
            continue
        for a in block.address:
            plen = a.prefix_length
            if plen is None and getattr(a, "netmask", None):
                plen = ipaddress.ip_network(f"0.0.0.0/{a.netmask}").prefixlen
            if plen is None:
                raise DriverError(f"address {a.ip} has no prefix length",
                                  if_path(name, f"ietf-ip:{fam}/address[ip='{a.ip}']"))
            addrs.add((norm_ip(a.ip), plen))
    sysctl = [("ipv4/forwarding", "1" if v4 is not None and v4.forwarding else "0"),
              ("ipv6/forwarding", "1" if v6 is not None and v6.forwarding else "0")]
    sysctl.append(("ipv6/keep_addr_on_down", "1"))
    if v6 is not None and v6.enabled is False:
        sysctl.append(("ipv6/disable_ipv6", "1"))
    elif v6 is not None:
        sysctl.append(("ipv6/disable_ipv6", "0"))
    return LinkSpec(name, kind, up=itf.enabled is not False, alias=itf.description or "",
                    mtu=mtu, addrs=frozenset(addrs), sysctl=tuple(sysctl), parent=parent,
                    vlan_id=vid, mtu_leaf="ietf-ip:ipv6/mtu" if mtu4 is None else "ietf-ip:ipv4/mtu")


def baseline(obs: LinkState) -> LinkSpec:
    """What an adopted link returns to when its config is removed."""
    lo = obs.kernel_kind == "" and obs.name == "lo"
    return LinkSpec(obs.name, "lo" if lo else "adopt", up=lo or obs.up, mtu=obs.mtu)


def plan_link(want: LinkSpec | None, have: LinkState | None, ns: str) -> Iterator[Step]:
    """The steps taking ``have`` (None: absent) to ``want`` (None: not configured)."""
    if want is None:
        if have is None:
            return
        if have.kernel_kind in CREATED_KINDS:
            yield Step(Op("link-del", have.name, path=if_path(have.name)), tuple(recreate(have)))
            return
        want = baseline(have)
    path = if_path(want.name)
    if have is None:
        if want.kind not in CREATED_KINDS:
            raise DriverError(f"interface {want.name} does not exist in network namespace {ns}",
                              path, "no-such-interface")
        args: tuple[tuple[str, Any], ...] = (("kind", want.kind),)
        if want.kind == "vlan":
            args += (("parent", want.parent), ("vlan_id", want.vlan_id))
        yield Step(Op("link-add", want.name, args, path), (Op("link-del", want.name),))
        fresh = LinkState(want.name, want.kind, mtu=1500, sysctl=(), kernel_kind=want.kind)
        yield from _attrs(want, fresh, path)
        return
    if want.kind in CREATED_KINDS and have.kernel_kind != want.kind:
        raise DriverError(f"interface {want.name} exists in {ns} as a {have.kernel_kind or 'device'}"
                          f" link, not {want.kind}", path, "wrong-kind")
    if have.max_mtu and not (have.min_mtu or 0) <= want.mtu <= have.max_mtu:
        raise DriverError(f"mtu {want.mtu} is out of range {have.min_mtu or 0}..{have.max_mtu} "
                          f"for {want.name}", f"{path}/{want.mtu_leaf}", "mtu-out-of-range")
    yield from _attrs(want, have, path)


def _attrs(want: LinkSpec, have: LinkState, path: str) -> Iterator[Step]:
    name = want.name
    if want.up != have.up and not want.up:  # down first, before the rest changes
        yield Step(Op("link-set", name, (("up", False),), path), (Op("link-set", name, (("up", True),)),))
    if want.mtu != have.mtu:
        yield Step(Op("link-set", name, (("mtu", want.mtu),), f"{path}/{want.mtu_leaf}"),
                   (Op("link-set", name, (("mtu", have.mtu),)),))
    if want.alias != have.alias:
        yield Step(Op("link-set", name, (("alias", want.alias),), path + "/description"),
                   (Op("link-set", name, (("alias", have.alias),)),))
    have_sysctl = dict(have.sysctl)
    for key, value in want.sysctl:
        old = have_sysctl.get(key)
        if old != value:
            undo = (Op("sysctl", name, (("key", key), ("value", old)),),) if old is not None else ()
            yield Step(Op("sysctl", name, (("key", key), ("value", value)), path), undo)
    for ip, plen in sorted(have.addrs - want.addrs):
        if kernel_owned(name, (ip, plen)):
            continue
        a = (("ip", ip), ("plen", plen))
        yield Step(Op("addr-del", name, a, _addr_path(path, ip)), (Op("addr-add", name, a),))
    for ip, plen in sorted(want.addrs - have.addrs):
        a = (("ip", ip), ("plen", plen))
        yield Step(Op("addr-add", name, a, _addr_path(path, ip)), (Op("addr-del", name, a),))
    if want.up != have.up and want.up:
        yield Step(Op("link-set", name, (("up", True),), path + "/enabled"),
                   (Op("link-set", name, (("up", False),)),))


def _addr_path(path: str, ip: str) -> str:
    fam = "ipv6" if ":" in ip else "ipv4"
    return f"{path}/ietf-ip:{fam}/address[ip='{ip}']"


def recreate(have: LinkState) -> Iterator[Op]:
    """The operations that bring a deleted link back as it was."""
    args: tuple[tuple[str, Any], ...] = (("kind", have.kernel_kind),)
    if have.kernel_kind == "vlan":
        args += (("parent", have.parent), ("vlan_id", have.vlan_id))
    yield Op("link-add", have.name, args)
    fresh = LinkState(have.name, have.kind, mtu=1500, sysctl=(), kernel_kind=have.kernel_kind)
    for step in _attrs(replace(have), fresh, ""):
        yield step.op


def plan_all(want: dict[str, LinkSpec | None], have: dict[str, LinkState], ns: str) -> Plan:
    """Steps for every named link: deletions first (vlans before their parents), then the rest
    (links before the vlans on them)."""
    dels: list[Step] = []
    rest: list[Step] = []
    order = sorted(want, key=lambda n: (want[n] is not None and want[n].kind == "vlan",  # type: ignore[union-attr]
                                        n))
    for name in order:
        for st in plan_link(want[name], have.get(name), ns):
            (dels if st.op.verb == "link-del" else rest).append(st)
    dels.sort(key=lambda s: "." not in s.op.ifname)
    return Plan(dels + rest)
