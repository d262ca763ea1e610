"""What the kernel reports, as an ietf-interfaces + ietf-ip tree (RFC 8343, RFC 8344).

Every link in the namespace appears, configured or not: oper-status, admin-status, if-index,
phys-address, statistics (IFLA_STATS64) and the addresses with their ietf-ip origin
(static for permanent ones, link-layer for EUI-64 link-local and SLAAC, random for
temporary ones, other for the kernel's loopback addresses). ``speed`` is left out: netlink
does not report it (ethtool would).
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from typing import Any

from southbound._kplan import LO_ADDRS, norm_ip

OPER = {"UP": "up", "DOWN": "down", "LOWERLAYERDOWN": "lower-layer-down", "DORMANT": "dormant",
        "NOTPRESENT": "not-present", "TESTING": "testing"}
IFF_UP, IFF_LOWER_UP = 0x1, 0x10000
IFA_F_TEMPORARY, IFA_F_PERMANENT = 0x01, 0x80
TYPES = {"bridge": "bridge", "vlan": "l2vlan", "dummy": "softwareLoopback", "veth": "ethernetCsmacd",
         "": "ethernetCsmacd"}


def interfaces_json(links: list[Any], addrs: list[Any], first_seen: dict[int, str]) -> dict[str, Any]:
    """The RFC 7951 JSON of ``/ietf-interfaces:interfaces`` from netlink dumps."""
    by_index: dict[int, list[Any]] = {}
    for a in addrs:
        by_index.setdefault(a["index"], []).append(a)
    out = []
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for m in links:
        idx = m["index"]
        name = m.get_attr("IFLA_IFNAME")
        info = m.get_attr("IFLA_LINKINFO")
        kind = (info.get_attr("IFLA_INFO_KIND") if info is not None else None) or ""
        flags = m["flags"]
        itype = "softwareLoopback" if name == "lo" and not kind else TYPES.get(kind, "other")
        oper = OPER.get(m.get_attr("IFLA_OPERSTATE") or "", "unknown")
        if oper == "unknown" and flags & IFF_UP and flags & IFF_LOWER_UP:
            oper = "up"  # lo and some virtual links report UNKNOWN while working
        entry: dict[str, Any] = {
            "name": name, "type": f"iana-if-type:{itype}",
            "admin-status": "up" if flags & IFF_UP else "down", "oper-status": oper,
            "if-index": idx,
        }
        mac = m.get_attr("IFLA_ADDRESS")
        if mac:
            entry["phys-address"] = mac
        stats = _statistics(m.get_attr("IFLA_STATS64"), first_seen.setdefault(idx, now))
        if stats:
            entry["statistics"] = stats
        mtu = m.get_attr("IFLA_MTU")
        v4: dict[str, Any] = {}
        v6: dict[str, Any] = {}
        if mtu and mtu <= 65535:
            v4["mtu"] = mtu
        if mtu and mtu >= 1280:
            v6["mtu"] = mtu
        for a in by_index.get(idx, ()):
            ip = a.get_attr("IFA_LOCAL") or a.get_attr("IFA_ADDRESS")
            if not ip:
                continue
            ip = norm_ip(ip)
            fl = a.get_attr("IFA_FLAGS") or a["flags"]
            rec = {"ip": ip, "prefix-length": a["prefixlen"], "origin": _origin(name, ip, a["prefixlen"], fl)}
            (v6 if ":" in ip else v4).setdefault("address", []).append(rec)
        if v4:
            entry["ietf-ip:ipv4"] = v4
        if v6:
            entry["ietf-ip:ipv6"] = v6
        out.append(entry)
    return {"ietf-interfaces:interfaces": {"interface": out}}


def _origin(name: str, ip: str, plen: int, flags: int) -> str:
    if name == "lo" and (ip, plen) in LO_ADDRS:
        return "other"
    if flags & IFA_F_TEMPORARY:
        return "random"
    addr = ipaddress.ip_address(ip)
    if addr.version == 6 and (addr.is_link_local or not flags & IFA_F_PERMANENT):
        return "link-layer"
    return "static"


def _statistics(st: Any, since: str) -> dict[str, Any]:
    if st is None:
        return {}
    g = st.get
    rx, tx = g("rx_packets") or 0, g("tx_packets") or 0
    mc = g("multicast") or 0
    return {
        "discontinuity-time": since,
        "in-octets": g("rx_bytes") or 0, "in-unicast-pkts": max(0, rx - mc),
        "in-multicast-pkts": mc, "in-discards": g("rx_dropped") or 0,
        "in-errors": g("rx_errors") or 0, "out-octets": g("tx_bytes") or 0,
        "out-unicast-pkts": tx, "out-discards": g("tx_dropped") or 0,
        "out-errors": g("tx_errors") or 0,
    }
