"""The kernel driver's static routes: desired routes from ietf-routing, diffed against yangd's own.

Pure functions, no netlink. ``wanted`` turns the static-routes of every
``control-plane-protocol[type='ietf-routing:static']`` into ``RouteSpec``s keyed by
(address family, destination prefix) — the key the kernel has for a route in one table at
one metric; ``plan_routes`` compares them with what yangd installed (``have``) and yields
``ROp``s, each with the operation that undoes it.

Decisions (see also southbound/kernel.py):
- yangd's routes live in the main table at the kernel's default metric (IPv4 0, IPv6 1024),
  marked with their own rtnetlink protocol number (``RT_PROTO``, configurable): full sync and
  deletes act only on routes with that mark (a delete request carries the protocol, so the
  kernel itself refuses to match a route of another origin), never on connected, RA or
  operator routes.
- A new route is added with NLM_F_EXCL: if the kernel already has a route to that prefix at
  that metric (a connected route, an operator's route), the commit fails naming it instead of
  replacing it. Only routes yangd installed are replaced.
- special-next-hop blackhole, unreachable, prohibit are the kernel route types of that name;
  receive is a ``local`` route on lo. A next-hop-list of two or more entries is one multipath
  route (RTA_MULTIPATH, equal weights); a list of one is a plain route.
- A prefix with host bits set (10.0.0.1/24) or not in canonical text form is refused at
  validate, as is one prefix configured in two static instances (the kernel has one route).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from datastore.edit import Change
from southbound.errors import DriverError

RT_PROTO = 200  # rtnetlink protocol number marking yangd's routes (unassigned in rt_protos)
STATIC = "ietf-routing:static"
CPP = "/ietf-routing:routing/control-plane-protocols/control-plane-protocol"
SPECIAL = {"blackhole": "blackhole", "unreachable": "unreachable", "prohibit": "prohibit",
           "receive": "local"}
FAMILIES = ((4, "ipv4", "ietf-ipv4-unicast-routing"), (6, "ipv6", "ietf-ipv6-unicast-routing"))
Key = tuple[int, str]  # (4 | 6, "10.0.0.0/24")
AF = {4: socket.AF_INET, 6: socket.AF_INET6}


@dataclass(frozen=True, order=True)
class Hop:
    gateway: str | None = None
    ifname: str | None = None


@dataclass(frozen=True)
class RouteSpec:
    family: int
    dst: str
    kind: str = "unicast"  # unicast | blackhole | unreachable | prohibit | local
    hops: tuple[Hop, ...] = ()
    path: str | None = field(default=None, compare=False)

    @property
    def key(self) -> Key:
        return (self.family, self.dst)

    def describe(self) -> str:
        via = ", ".join(f"{h.gateway or ''}{'%' + h.ifname if h.ifname else ''}" for h in self.hops)
        return f"{self.kind} {self.dst}" + (f" via {via}" if via else "")


@dataclass(frozen=True)
class ROp:
    verb: str  # add | replace | del
    spec: RouteSpec
    undo: ROp | None = None

    @property
    def path(self) -> str | None:
        return self.spec.path


def route_path(ptype: str, pname: str, fam: int, dst: str, leaf: str = "") -> str:
    fname, mod = {4: ("ipv4", FAMILIES[0][2]), 6: ("ipv6", FAMILIES[1][2])}[fam]
    return (f"{CPP}[type='{ptype}'][name='{pname.replace(chr(39), '')}']/static-routes/"
            f"{mod}:{fname}/route[destination-prefix='{dst}']" + (f"/{leaf}" if leaf else ""))


def norm_prefix(fam: int, text: str, path: str) -> str:
    """``text`` checked (IPv<fam>, no host bits, canonical form); inet_pton, not ipaddress:
    this runs for every route of a 10k-route commit."""
    addr, sep, plen_text = text.partition("/")
    bits = 32 if fam == 4 else 128
    try:
        packed = socket.inet_pton(AF[fam], addr)
        plen = int(plen_text) if sep and plen_text.isdigit() else -1
    except OSError:
        plen = -1
    if 0 <= plen <= bits:
        canon = f"{socket.inet_ntop(AF[fam], packed)}/{plen}"
        if int.from_bytes(packed, "big") & ((1 << (bits - plen)) - 1) == 0 and canon == text:
            return canon
    try:  # the slow path, for the message
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as e:
        raise DriverError(f"destination-prefix {text}: {e}", path, "invalid-prefix") from None
    if net.version != fam:
        raise DriverError(f"destination-prefix {text} is not an IPv{fam} prefix", path)
    raise DriverError(f"destination-prefix {text} is not in canonical form: write {net}",
                      path, "invalid-prefix")


def _addr(fam: int, text: str, path: str) -> str:
    try:
        return socket.inet_ntop(AF[fam], socket.inet_pton(AF[fam], text.split("%")[0]))
    except OSError:
        pass
    try:
        ipaddress.ip_address(text.split("%")[0])
    except ValueError as e:
        raise DriverError(str(e), path) from None
    raise DriverError(f"next-hop-address {text} is not an IPv{fam} address", path)


def spec_of(fam: int, ptype: str, pname: str, route: Any) -> RouteSpec:
    """The RouteSpec for one configured static route; DriverError if the kernel cannot do it."""
    dst_text: str = route.destination_prefix
    path = route_path(ptype, pname, fam, dst_text)
    dst = norm_prefix(fam, dst_text, path + "/destination-prefix")
    nh = route.next_hop
    nh_path = path + "/next-hop"
    if nh is None:
        raise DriverError(f"static route {dst} has no next-hop", path, "no-next-hop")
    if nh.special_next_hop is not None:
        kind = SPECIAL[str(nh.special_next_hop)]
        hops = (Hop(None, "lo"),) if kind == "local" else ()
        return RouteSpec(fam, dst, kind, hops, path)
    hops_l: list[Hop] = []
    lst = nh.next_hop_list.next_hop if nh.next_hop_list is not None else None
    if lst:
        for e in lst:
            epath = f"{nh_path}/next-hop-list/next-hop[index='{e.index}']"
            if e.next_hop_address is None and e.outgoing_interface is None:
                raise DriverError(f"next-hop {e.index} of {dst} has neither an address nor an "
                                  "interface", epath, "no-next-hop")
            gw = _addr(fam, e.next_hop_address, epath) if e.next_hop_address else None
            hops_l.append(Hop(gw, e.outgoing_interface))
        if len(set(hops_l)) != len(hops_l):
            raise DriverError(f"next-hop-list of {dst} names one next hop twice", nh_path)
    elif nh.next_hop_address is not None or nh.outgoing_interface is not None:
        gw = _addr(fam, nh.next_hop_address, nh_path) if nh.next_hop_address else None
        hops_l.append(Hop(gw, nh.outgoing_interface))
    else:
        raise DriverError(f"static route {dst} has no next-hop", nh_path, "no-next-hop")
    return RouteSpec(fam, dst, "unicast", tuple(sorted(hops_l, key=hop_order)), path)


def hop_order(h: Hop) -> tuple[str, str]:
    return (h.gateway or "", h.ifname or "")


def static_instances(tree: Any) -> list[Any]:
    r = getattr(tree, "routing", None) if tree is not None else None
    cpps = r.control_plane_protocols if r is not None else None
    lst = cpps.control_plane_protocol if cpps is not None else None
    return [p for p in lst if p.type == STATIC] if lst is not None else []


def _routes(inst: Any, fname: str) -> Any:
    sr = inst.static_routes
    block = getattr(sr, fname) if sr is not None else None
    return block.route if block is not None else None


def affected(changes: Iterable[Change], source: Any, target: Any) -> set[Key] | None:
    """The route keys the changes touch (None: every route, a change above the instances)."""
    keys: set[Key] = set()
    whole: set[tuple[Any, ...]] = set()
    for c in changes:
        p = c.path
        if len(p) >= 6 and p[5].key is not None:
            keys.add((4 if p[4].node.name == "ipv4" else 6, str(p[5].key[0])))
        elif len(p) >= 3 and p[2].key is not None:
            whole.add(tuple(p[2].key))
        else:
            return None
    for tree in (source, target):
        for inst in static_instances(tree):
            if (inst.type, inst.name) in whole:
                keys |= {k for k, _ in _entries(inst)}
    return keys


def _entries(inst: Any) -> Iterator[tuple[Key, Any]]:
    for fam, fname, _ in FAMILIES:
        lst = _routes(inst, fname)
        for r in lst or ():
            yield (fam, r.destination_prefix), r


def wanted(tree: Any, keys: set[Key] | None) -> dict[Key, RouteSpec | None]:
    """What ``tree`` wants for ``keys`` (None: for every configured route). Few keys are
    looked up; many (a bulk edit) are picked in one pass over the lists."""
    out: dict[Key, RouteSpec | None] = {}
    if keys is not None:
        out = dict.fromkeys(keys)
    for inst in static_instances(tree):
        for fam, fname, _ in FAMILIES:
            lst = _routes(inst, fname)
            if not lst:
                continue
            if keys is None or len(keys) * 8 >= len(lst):
                picked = (r for r in lst if keys is None or (fam, r.destination_prefix) in keys)
            else:
                picked = (r for fk, dst in keys if fk == fam
                          for r in (lst.get((dst,)),) if r is not None)
            for r in picked:
                _put(out, spec_of(fam, inst.type, inst.name, r))
    return out


def _put(out: dict[Key, RouteSpec | None], spec: RouteSpec) -> None:
    prev = out.get(spec.key)
    if prev is not None:
        raise DriverError(f"destination {spec.dst} is configured in two static instances; the "
                          "kernel has one route per prefix", spec.path, "duplicate-route")
    out[spec.key] = spec


def same(want: RouteSpec, have: RouteSpec) -> bool:
    """``have`` (as the kernel reports it) is what ``want`` asks for; an unset interface
    matches the one the kernel chose."""
    if want.kind != have.kind or len(want.hops) != len(have.hops):
        return False
    free = list(have.hops)
    for w in want.hops:
        hit = next((h for h in free if h.gateway == w.gateway
                    and (w.ifname is None or w.ifname == h.ifname)), None)
        if hit is None:
            return False
        free.remove(hit)
    return True


def plan_routes(want: Mapping[Key, RouteSpec | None], have: Mapping[Key, RouteSpec]
                ) -> tuple[list[ROp], list[ROp]]:
    """(deletions, additions and replacements) taking ``have`` to ``want`` for want's keys."""
    dels: list[ROp] = []
    sets: list[ROp] = []
    for k, w in want.items():
        h = have.get(k)
        if w is None:
            if h is not None:
                dels.append(ROp("del", h, ROp("add", h)))
        elif h is None:
            sets.append(ROp("add", w, ROp("del", w)))
        elif not same(w, h):
            sets.append(ROp("replace", w, ROp("replace", h)))
    return dels, sets


def interfaces_of(ops: Iterable[ROp]) -> set[str]:
    return {h.ifname for op in ops for h in op.spec.hops if h.ifname}
