"""What FRR reports (``show … json``) as operational data: zebra's RIB and BGP sessions.

RIBs (RFC 8349 §5.2): zebra's RIB is reported as ``ipv4-frr`` and ``ipv6-frr`` — every route
zebra knows, selected or not (``active`` marks the selected ones), with its protocol
(connected → ietf-routing:direct, static and kernel → ietf-routing:static, bgp → yangd-bgp:bgp;
other protocols are left out: ietf-routing has no identity for them), its administrative
distance as route-preference and when it was last updated. The kernel driver reports the
kernel's own table as ipv4-master/ipv6-master; both are kept, under their own names.

BGP (yangd-bgp.yang): per neighbor, the session state, when it was last established and the
prefixes accepted over all address families (``show bgp neighbors json``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from southbound._frr_render import BGP

PROTOCOL = {"connected": "ietf-routing:direct", "static": "ietf-routing:static",
            "kernel": "ietf-routing:static", "bgp": BGP}
RIBS = ((4, "ipv4-frr", "ietf-ipv4-unicast-routing"), (6, "ipv6-frr", "ietf-ipv6-unicast-routing"))
STATES = {"idle", "connect", "active", "opensent", "openconfirm", "established"}
_UPTIME = re.compile(r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def uptime_seconds(text: str) -> int | None:
    """FRR's route uptime: ``HH:MM:SS`` (under a day), ``1d02h03m``, ``02w1d03h``."""
    parts = text.split(":")
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        return int(parts[0]) * 3600 + int(parts[1]) * 60 + int(parts[2])
    m = _UPTIME.match(text)
    if not m or not text:
        return None
    w, d, h, mi = (int(x) if x else 0 for x in m.groups())
    return ((w * 7 + d) * 24 + h) * 3600 + mi * 60


def ribs_json(tables: dict[int, dict[str, Any]], now: datetime | None = None) -> dict[str, Any]:
    """``/ietf-routing:routing/ribs`` from ``show ip route json`` / ``show ipv6 route json``."""
    now = now or datetime.now(UTC)
    ribs = []
    for fam, name, mod in RIBS:
        routes = []
        for entries in tables.get(fam, {}).values():
            for e in entries:
                proto = PROTOCOL.get(e.get("protocol", ""))
                if proto is None or "prefix" not in e:
                    continue
                r: dict[str, Any] = {f"{mod}:destination-prefix": e["prefix"],
                                     "source-protocol": proto,
                                     "next-hop": _next_hop(e.get("nexthops", []), mod)}
                if "distance" in e:
                    r["route-preference"] = e["distance"]
                if e.get("selected"):
                    r["active"] = True
                up = uptime_seconds(e.get("uptime", ""))
                if up is not None:
                    r["last-updated"] = _stamp(now - timedelta(seconds=up))
                routes.append(r)
        if routes:
            ribs.append({"name": name, "address-family": f"{mod}:{'ipv4' if fam == 4 else 'ipv6'}-unicast",
                         "routes": {"route": routes}})
    return {"ribs": {"rib": ribs}} if ribs else {}


def _hop(h: dict[str, Any], mod: str, leaf: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if h.get("interfaceName"):
        out["outgoing-interface"] = h["interfaceName"]
    if h.get("ip"):
        out[f"{mod}:{leaf}"] = h["ip"]
    return out


def _next_hop(hops: list[dict[str, Any]], mod: str) -> dict[str, Any]:
    if len(hops) == 1 and hops[0].get("blackhole"):
        return {"special-next-hop": "unreachable" if hops[0].get("reject") else "blackhole"}
    if len(hops) > 1:
        return {"next-hop-list": {"next-hop": [_hop(h, mod, "address") for h in hops]}}
    return _hop(hops[0], mod, "next-hop-address") if hops else {}


def neighbors_json(neighbors: dict[str, Any], now: datetime | None = None) -> list[dict[str, Any]]:
    """yangd-bgp neighbor state entries (address + config-false leaves) from
    ``show bgp neighbors json``."""
    now = now or datetime.now(UTC)
    out = []
    for addr, n in neighbors.items():
        if not isinstance(n, dict) or "bgpState" not in n:
            continue
        state = str(n["bgpState"]).lower()
        e: dict[str, Any] = {"address": addr}
        if state in STATES:
            e["session-state"] = state
        if "remoteAs" in n:
            e["remote-as"] = n["remoteAs"]
        epoch = n.get("bgpTimerUpEstablishedEpoch")
        if isinstance(epoch, int) and epoch > 0:
            e["last-established"] = _stamp(datetime.fromtimestamp(epoch, UTC))
        elif state == "established" and isinstance(n.get("bgpTimerUpMsec"), int):
            e["last-established"] = _stamp(now - timedelta(milliseconds=n["bgpTimerUpMsec"]))
        afs = n.get("addressFamilyInfo") or {}
        e["received-prefixes"] = sum(int(a.get("acceptedPrefixCounter", 0))
                                     for a in afs.values() if isinstance(a, dict))
        out.append(e)
    return out
