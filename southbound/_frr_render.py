"""Running config → FRR statements: ietf-routing static routes (staticd) and yangd-bgp (bgpd).

Statements are written the way FRR prints them (southbound/_frr_conf.py), addresses and
prefixes in canonical form. Static routes reuse the kernel driver's reading of ietf-routing
(southbound/_routes.py: ``wanted``, ``affected``, ``RouteSpec``), so both drivers accept and
refuse the same configurations, except what staticd cannot express: ``prohibit`` and
``receive`` special next hops are refused at validate.

BGP (yangd-bgp.yang): FRR runs one BGP instance in the default VRF, so a second instance is
refused at validate. Every rendered instance carries ``no bgp ebgp-requires-policy`` (the
model has no policies: eBGP announces what the address families say) and ``no bgp default
ipv4-unicast`` (a neighbor exchanges exactly the families it is activated in).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from southbound._frr_conf import Stmt
from southbound._routes import CPP, RouteSpec, norm_prefix
from southbound.errors import DriverError

BGP = "yangd-bgp:bgp"
AF4, AF6 = "address-family ipv4 unicast", "address-family ipv6 unicast"
KIND = {"blackhole": "blackhole", "unreachable": "reject"}


def route_stmts(spec: RouteSpec) -> list[Stmt]:
    """One statement per next hop of ``spec`` (staticd's ``ip route`` / ``ipv6 route``)."""
    cmd = "ip route" if spec.family == 4 else "ipv6 route"
    if spec.kind != "unicast":
        kind = KIND.get(spec.kind)
        if kind is None:
            special = "receive" if spec.kind == "local" else spec.kind
            raise DriverError(f"FRR's staticd has no {special} routes ({spec.dst})",
                              f"{spec.path}/next-hop/special-next-hop", "unsupported")
        return [Stmt((), f"{cmd} {spec.dst} {kind}", spec.path)]
    return [Stmt((), " ".join([cmd, spec.dst, *(x for x in (h.gateway, h.ifname) if x)]),
                 spec.path) for h in spec.hops]


def bgp_instances(tree: Any) -> list[Any]:
    r = getattr(tree, "routing", None) if tree is not None else None
    cpps = r.control_plane_protocols if r is not None else None
    lst = cpps.control_plane_protocol if cpps is not None else None
    return [p for p in lst if p.type == BGP] if lst is not None else []


def base_path(name: str) -> str:
    return f"{CPP}[type='{BGP}'][name='{name.replace(chr(39), '')}']/{BGP}"


def bgp_stmts(tree: Any) -> list[Stmt]:
    """The statements of the BGP instance of ``tree`` (none: no BGP configured)."""
    insts = bgp_instances(tree)
    if len(insts) > 1:
        raise DriverError("FRR runs one BGP instance per VRF: configure one bgp "
                          "control-plane-protocol", base_path(insts[1].name), "too-many-instances")
    if not insts or insts[0].bgp is None or insts[0].bgp.local_as is None:
        return []
    inst = insts[0]
    b = inst.bgp
    base = base_path(inst.name)
    head = f"router bgp {b.local_as}"
    r = (head,)
    out = [Stmt((), head, base + "/local-as")]
    if b.router_id is not None:
        out.append(Stmt(r, f"bgp router-id {b.router_id}", base + "/router-id"))
    out += [Stmt(r, "no bgp ebgp-requires-policy", base),
            Stmt(r, "no bgp default ipv4-unicast", base)]
    afs: dict[str, list[Stmt]] = {AF4: [], AF6: []}
    for fam, af, block in ((4, AF4, b.ipv4_unicast), (6, AF6, b.ipv6_unicast)):
        if block is None:
            continue
        fname = "ipv4-unicast" if fam == 4 else "ipv6-unicast"
        for p in block.network or ():
            path = f"{base}/{fname}/network[.='{p}']"
            afs[af].append(Stmt((head, af), f"network {norm_prefix(fam, p, path)}", path))
        for src in block.redistribute or ():
            afs[af].append(Stmt((head, af), f"redistribute {src}", f"{base}/{fname}/redistribute"))
    nbs = b.neighbors.neighbor if b.neighbors is not None else None
    for n in nbs or ():
        ip = ipaddress.ip_address(n.address)
        a = str(ip)
        path = f"{base}/neighbors/neighbor[address='{n.address}']"
        out.append(Stmt(r, f"neighbor {a} remote-as {n.remote_as}", path + "/remote-as"))
        if n.description is not None:
            out.append(Stmt(r, f"neighbor {a} description {n.description}", path + "/description"))
        if n.enabled is False:
            out.append(Stmt(r, f"neighbor {a} shutdown", path + "/enabled"))
        if n.password is not None:
            out.append(Stmt(r, f"neighbor {a} password {n.password}", path + "/password"))
        t = n.timers
        if t is not None and (t.keepalive is not None or t.hold_time is not None):
            ka = 60 if t.keepalive is None else t.keepalive
            hold = 180 if t.hold_time is None else t.hold_time
            out.append(Stmt(r, f"neighbor {a} timers {ka} {hold}", path + "/timers"))
        if t is not None and t.connect_retry is not None:
            out.append(Stmt(r, f"neighbor {a} timers connect {t.connect_retry}",
                            path + "/timers/connect-retry"))
        fams: tuple[str, ...] = n.address_family or (f"ipv{ip.version}-unicast",)
        for fname in fams:
            af = AF4 if fname == "ipv4-unicast" else AF6
            afs[af].append(Stmt((head, af), f"neighbor {a} activate", path + "/address-family"))
    return out + afs[AF4] + afs[AF6]
