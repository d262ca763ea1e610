"""What the kernel's main routing table holds, as ietf-routing ribs (RFC 8349 §5.2, config false).

Two RIBs: ``ipv4-master`` and ``ipv6-master`` (the names RFC 8349 uses for the default RIBs),
each with every route of the main table, whoever installed it. source-protocol is
``ietf-routing:direct`` for the kernel's connected routes and ``ietf-routing:static`` for the
rest (yangd's own, an operator's ``ip route add``, RA and DHCP routes: ietf-routing has no
identity for those). A route is ``active`` unless all its next hops are dead or link-down.
The kernel records no time a route was last updated, so last-updated is left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from southbound._routes_nl import RTNH_F_DEAD, RTNH_F_LINKDOWN, KRoute

PROTO_KERNEL = 2
SPECIAL = {"blackhole": "blackhole", "unreachable": "unreachable", "prohibit": "prohibit",
           "local": "receive"}
RIBS = ((4, "ipv4-master", "ietf-ipv4-unicast-routing"),
        (6, "ipv6-master", "ietf-ipv6-unicast-routing"))


def ribs_json(routes: Iterable[KRoute], name: Callable[[int], str | None]) -> dict[str, Any]:
    """The RFC 7951 JSON of ``/ietf-routing:routing/ribs`` for kernel routes."""
    by_fam: dict[int, list[dict[str, Any]]] = {4: [], 6: []}
    for r in routes:
        if r.kind not in SPECIAL and r.kind != "unicast":
            continue
        mod = RIBS[0][2] if r.family == 4 else RIBS[1][2]
        entry: dict[str, Any] = {
            f"{mod}:destination-prefix": r.dst,
            "source-protocol": "ietf-routing:" + ("direct" if r.protocol == PROTO_KERNEL
                                                  else "static"),
            "next-hop": _next_hop(r, mod, name),
        }
        if r.kind != "unicast" or any(not fl & (RTNH_F_DEAD | RTNH_F_LINKDOWN)
                                      for _, _, fl in r.hops):
            entry["active"] = True
        by_fam[r.family].append(entry)
    ribs = [{"name": rib, "address-family": f"{mod}:{'ipv4' if fam == 4 else 'ipv6'}-unicast",
             "routes": {"route": by_fam[fam]}} for fam, rib, mod in RIBS if by_fam[fam]]
    return {"ribs": {"rib": ribs}} if ribs else {}


def _next_hop(r: KRoute, mod: str, name: Callable[[int], str | None]) -> dict[str, Any]:
    if r.kind in SPECIAL:
        return {"special-next-hop": SPECIAL[r.kind]}
    if len(r.hops) > 1:
        hops = []
        for gw, idx, _ in r.hops:
            h: dict[str, Any] = {}
            dev = name(idx) if idx else None
            if dev:
                h["outgoing-interface"] = dev
            if gw:
                h[f"{mod}:address"] = gw
            hops.append(h)
        return {"next-hop-list": {"next-hop": hops}}
    out: dict[str, Any] = {}
    for gw, idx, _ in r.hops:
        dev = name(idx) if idx else None
        if dev:
            out["outgoing-interface"] = dev
        if gw:
            out[f"{mod}:next-hop-address"] = gw
    return out
