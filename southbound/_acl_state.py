"""Per-ACE match counters from ``nft list table inet yangd``, as ietf-access-control-list state.

Each attachment chain holds its rules in the order the ruleset was rendered (Ruleset.items):
a rule of one ACE carries that ACE's counter; a rule looking a run of ACEs up in a set has
none, the set's elements carry a counter each (``counter`` flag), and each element is one
ACE's key. So everything maps back by position and by key, with no comment or handle
bookkeeping. A chain or set that differs from what was loaded (edited behind yangd's back)
is skipped and logged, never mapped wrongly; the drift check reports it.

The counters restart whenever a commit replaces the table (RFC 8519 defines no
discontinuity time for them).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from southbound._acl_render import TABLE, Attachment, Ruleset

log = logging.getLogger("yangd.southbound.nftables")
Counts = tuple[int, int]  # packets, bytes


@dataclass
class Chain:
    """One chain of the listing: its rules' counters (None for a rule without) and the
    interface names its verdict maps dispatch on."""

    counters: list[Counts | None] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)


@dataclass
class Listing:
    chains: dict[str, Chain] = field(default_factory=dict)
    sets: dict[str, dict[tuple[str, ...], Counts]] = field(default_factory=dict)


_BLOCK = re.compile(r"^\s*(chain|set) (\S+) \{$")
_COUNTER = re.compile(r"\bcounter packets (\d+) bytes (\d+)")
_KEY = re.compile(r'"([^"]*)" : (?:jump|goto)')
_ELEMENT = re.compile(r"([^,{}]+?) counter packets (\d+) bytes (\d+)")


def parse_table(text: str) -> Listing:
    """``nft list table`` output (text: half the time of ``-j``, and no JSON to decode).
    A rule is one line, or more while braces are open; a set's elements span lines."""
    out = Listing()
    chain: Chain | None = None
    set_name: str | None = None
    body: list[str] = []
    rule = ""
    for line in text.splitlines():
        t = line.strip()
        if set_name is not None:
            if t != "}" or sum(x.count("{") - x.count("}") for x in body) > 0:
                body.append(t)
                continue
            elems = " ".join(body).partition("elements = {")[2]
            out.sets[set_name] = {tuple(m.group(1).strip().split(" . ")): (int(m.group(2)), int(m.group(3)))
                                  for m in _ELEMENT.finditer(elems)}
            set_name, body = None, []
            continue
        if rule:
            rule += " " + t
        elif chain is None:
            m = _BLOCK.match(line)
            if m is not None and m.group(1) == "chain":
                chain = out.chains[m.group(2)] = Chain()
            elif m is not None:
                set_name = m.group(2)
            continue
        elif t == "}":
            chain = None
            continue
        elif not t or t.startswith(("type ", "comment ", "policy ", "devices ")):
            continue  # chain properties, not rules
        else:
            rule = t
        if rule.count("{") > rule.count("}") or chain is None:
            continue
        m = _COUNTER.search(rule)
        chain.counters.append((int(m.group(1)), int(m.group(2))) if m is not None else None)
        chain.keys.update(_KEY.findall(rule))
        rule = ""
    return out


def _counts(a: Attachment, listing: Listing) -> list[Counts] | None:
    """Per entry of ``a``, its counter; None if the table does not hold what was loaded."""
    c = listing.chains.get(a.chain)
    if c is None or len(c.counters) != len(a.items):
        return None
    out: list[Counts] = []
    for item, got in zip(a.items, c.counters, strict=True):
        if item.set is None:
            if got is None:
                return None
            out.append(got)
            continue
        elements = listing.sets.get(item.set)
        if elements is None:
            return None
        for k in item.keys:
            n = elements.get(k) if k is not None else (0, 0)  # shadowed: never matches
            if n is None:
                return None
            out.append(n)
    return out


def acls_state(rs: Ruleset, listing: Listing) -> dict[str, Any]:
    """RFC 7951 JSON of /ietf-access-control-list:acls with the statistics (keys only besides)."""
    total: dict[tuple[str, str], list[int]] = {}
    order: list[tuple[str, str]] = []
    points: dict[str, dict[str, dict[str, list[dict[str, Any]]]]] = {}
    for a in rs.attachments:
        got = _counts(a, listing)
        if got is None:
            log.warning("nftables: chain %s does not hold the rules loaded: its counters are not "
                        "reported", a.chain)
            continue
        sets = points.setdefault(a.ifname, {}).setdefault(a.direction, {})
        for (acl, ace), (pk, by) in zip(a.entries, got, strict=True):
            t = total.get((acl, ace))
            if t is None:
                t = total[(acl, ace)] = [0, 0]
                order.append((acl, ace))
            t[0] += pk
            t[1] += by
            sets.setdefault(acl, []).append({"name": ace, "matched-packets": pk,
                                             "matched-octets": by})
    acls: dict[str, list[dict[str, Any]]] = {}
    for acl, ace in order:
        pk, by = total[(acl, ace)]
        acls.setdefault(acl, []).append({"name": ace, "statistics": {
            "matched-packets": pk, "matched-octets": by}})
    if not acls:
        return {}
    itfs = [{"interface-id": name, **{d: {"acl-sets": {"acl-set": [
        {"name": acl, "ace-statistics": stats} for acl, stats in sets.items()]}}
        for d, sets in dirs.items()}} for name, dirs in points.items()]
    return {"ietf-access-control-list:acls": {
        "acl": [{"name": acl, "aces": {"ace": aces}} for acl, aces in acls.items()],
        "attachment-points": {"interface": itfs}}}


def drift(rs: Ruleset, listing: Listing | None) -> list[str]:
    """How the table differs from ``rs`` in structure: its chains and sets, the interfaces
    each base chain dispatches on, the number of rules per chain and the elements of each
    set (a rule edited in place, with the count unchanged, is not seen: that needs the whole
    table compared, which costs a parse)."""
    want: dict[str, tuple[int, frozenset[str]]] = {}
    for chain, direction in (("ingress", "ingress"), ("egress-forward", "egress"),
                             ("egress-output", "egress")):
        names = frozenset(a.ifname for a in rs.attachments if a.direction == direction)
        if names:
            want[chain] = (1, names)
    want_sets: dict[str, set[tuple[str, ...]]] = {}
    for a in rs.attachments:
        want[a.chain] = (len(a.items), frozenset())
        for item in a.items:
            if item.set is not None:
                want_sets[item.set] = {k for k in item.keys if k is not None}
    if listing is None:
        return [] if not want else [f"table inet {TABLE} is missing"]
    have = listing.chains
    out = [f"chain {c} is missing" for c in want if c not in have]
    out += [f"chain {c} is not yangd's" for c in have if c not in want]
    for c, (n, names) in want.items():
        got = have.get(c)
        if got is None:
            continue
        if len(got.counters) != n:
            out.append(f"chain {c} has {len(got.counters)} rules, {n} expected")
        if names and got.keys != names:
            out.append(f"chain {c} dispatches on {sorted(got.keys)}, {sorted(names)} expected")
    for name, keys in want_sets.items():
        elements = listing.sets.get(name)
        if elements is None:
            out.append(f"set {name} is missing")
        elif set(elements) != keys:
            out.append(f"set {name} has {len(set(elements) - keys)} elements yangd did not load and "
                       f"lacks {len(keys - set(elements))}")
    out += [f"set {s} is not yangd's" for s in listing.sets if s not in want_sets]
    return out
