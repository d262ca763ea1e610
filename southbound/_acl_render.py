"""ietf-access-control-list (RFC 8519) → one nftables table, as ``nft -f`` text.

The whole ACL configuration becomes ``table inet yangd``, written so that one ``nft -f``
transaction replaces it atomically (``table {}`` creates it if missing, ``delete table``
drops it, the full definition recreates it): the kernel sees the old table or the new one,
never a mixture (nft(8), "atomic rule replacement").

Layout: an interface's ingress ACLs run in the prerouting hook (every packet received on it,
before routing), its egress ACLs in the forward and output hooks (every packet leaving by it,
routed or local; reject is valid in all three on any kernel nftables supports). Each base
chain dispatches on the interface name with one verdict map (``iifname``/``oifname`` vmap,
so an interface need not exist yet: a commit creating it and attaching an ACL works whatever
the driver order); an attachment point (interface + direction) is one chain holding the
rules of its acl-sets in order, one rule per ACE, each with its own counter. RFC 8519's
first-match semantics are nftables' own: accept, drop and reject end the evaluation; an
unmatched packet continues (the base chains' policy is accept, RFC 8519 defines no default).
An ACL attached to several points is copied into each, which gives the per-attachment ACE
statistics (``ace-statistics``); the ACE's aggregate is their sum.

Large ACLs are mostly runs of ACEs that differ only in exact values (host addresses, single
ports) and share their action. A run of SET_MIN or more such consecutive ACEs becomes one rule
looking a concatenated key up in a set whose elements carry a counter each (``ip saddr .
tcp dport @s0 drop``): the same first-match result, because the keys are distinct and the
action is one (an ACE repeating an earlier key of its run can never match, and counts 0), and
the kernel loads 10k elements about five times faster than 10k rules.

What nftables cannot express here is refused, naming the node (RFC 8519 lets a server
support a subset: §4.1 features), never silently dropped: non-IP ethertypes (the inet family
sees IPv4 and IPv6 only), L2 matches on egress (no link-layer header yet), the TCP reserved
bits and options, ICMP rest-of-header, ICMP in an ACE that does not say IPv4 or IPv6.
"""

from __future__ import annotations

import gc
import ipaddress
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from southbound.errors import DriverError

TABLE = "yangd"
ACLS = "/ietf-access-control-list:acls"
P = "ietf-access-control-list:"
FORWARDING = {f"{P}accept": "accept", f"{P}drop": "drop", f"{P}reject": "reject"}
ETHERTYPES = {"ipv4": "ipv4", 0x0800: "ipv4", "ipv6": "ipv6", 0x86DD: "ipv6"}
FAMILY = {"ip": "ipv4", "ip6": "ipv6"}
# acl-type → what its ACEs may match (l2, the l3 families); an absent type allows anything
TYPES: dict[str, tuple[bool, frozenset[str]]] = {
    f"{P}ipv4-acl-type": (False, frozenset({"ip"})),
    f"{P}ipv6-acl-type": (False, frozenset({"ip6"})),
    f"{P}eth-acl-type": (True, frozenset()),
    f"{P}mixed-eth-ipv4-acl-type": (True, frozenset({"ip"})),
    f"{P}mixed-eth-ipv6-acl-type": (True, frozenset({"ip6"})),
    f"{P}mixed-eth-ipv4-ipv6-acl-type": (True, frozenset({"ip", "ip6"})),
}
OPERATORS = {None: "", "eq": "", "neq": "!= ", "lte": "<= ", "gte": ">= "}
IPV4_FLAGS = {"reserved": 0x8000, "fragment": 0x4000, "more": 0x2000}
TCP_FLAGS = ("cwr", "ece", "urg", "ack", "psh", "rst", "syn", "fin")
_IFNAME = re.compile(r"[^\s/\"'\\:*]{1,15}")  # '*' too: nft reads a trailing one as a wildcard
_LOG_UNSAFE = re.compile(r"[^A-Za-z0-9._:/@+-]")
_LEADING_ZERO = re.compile(r"(?:^|\.)0\d")


def key(v: str) -> str:
    """A list key in an instance path (RFC 7951 §6.11 quoting)."""
    return f"'{v}'" if "'" not in v else f'"{v}"'


def acl_path(acl: str) -> str:
    return f"{ACLS}/acl[name={key(acl)}]"


def ace_path(acl: str, ace: str) -> str:
    return f"{acl_path(acl)}/aces/ace[name={key(ace)}]"


def attach_path(ifname: str, direction: str, acl: str | None = None) -> str:
    p = f"{ACLS}/attachment-points/interface[interface-id={key(ifname)}]/{direction}"
    return p if acl is None else f"{p}/acl-sets/acl-set[name={key(acl)}]"


@dataclass(frozen=True)
class Key:
    """A match on one exact value (a host address, a port): what a set element can hold."""

    expr: str  # "ip saddr"
    value: str  # as nft lists it: "192.0.2.1", "2001:db8::1", "8080"
    type: str  # the set type: "ipv4_addr"


@dataclass(frozen=True)
class AceRule:
    """One ACE as an nftables rule body (matches, counter, log, verdict). An ACE whose
    matches are exact values (``keys``) plus constant parts also has a ``shape``: runs of
    consecutive ACEs with one shape become one rule looking their keys up in a set."""

    ace: str
    text: str
    l2: bool  # matches link-layer fields: ingress only
    oif: bool  # matches the output interface: egress only
    shape: tuple[str, ...] | None = None  # constant parts, key exprs and types, the actions
    keys: tuple[Key, ...] = ()
    const: str = ""  # the non-key matches
    verdict: str = ""  # the actions after the counter


Parts = list[str | Key]

# ACE rule cache: (acl name, acl type, id of the ACE) → (the ACE, its rule). Trees are never
# mutated (copy on write), so an ACE object a commit left alone is the same object in the
# next tree: a one-ACE change renders one ACE. The ACE is kept so its id cannot be reused.
RuleCache = dict[tuple[str, str | None, int], tuple[Any, AceRule]]


@dataclass
class Item:
    """One rule of an attachment chain: one ACE, or a run of ACEs looked up in ``set``
    (``keys``: each entry's element as nft lists it; None for an ACE shadowed by an earlier
    one with the same key, which can never match: RFC 8519 first match)."""

    entries: list[tuple[str, str]]  # (acl, ace)
    set: str | None = None
    keys: list[tuple[str, ...] | None] = field(default_factory=list)


@dataclass
class Attachment:
    """One attachment point: its chain and, in order, the (acl, ace) of each entry."""

    chain: str
    ifname: str
    direction: str  # "ingress" | "egress"
    entries: list[tuple[str, str]] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)  # the chain's rules, filled by _text


@dataclass
class Ruleset:
    text: str
    lines: dict[int, str]  # line of ``text`` (1-based) → the instance path it renders
    attachments: list[Attachment]
    cache: RuleCache = field(default_factory=dict, repr=False)

    @property
    def rules(self) -> int:
        return sum(len(a.entries) for a in self.attachments)


def _items(lst: Any) -> list[Any]:
    return list(lst) if lst is not None else []


def render(tree: Any, cache: RuleCache | None = None) -> Ruleset:
    """The table for the ACL configuration in ``tree`` (a Root); DriverError if unsupported.
    ``cache`` (from the previous render) is read, and the returned ruleset's is the new one."""
    with no_gc():
        return _render(tree, cache)


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic collector: rendering allocates many small acyclic objects while a
    large tree is alive, and each collection would walk the tree again (10k ACEs: 2.5x)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _render(tree: Any, cache: RuleCache | None) -> Ruleset:
    acls = getattr(tree, "acls", None) if tree is not None else None
    rules: dict[str, list[AceRule]] = {}
    old = cache or {}
    new: RuleCache = {}
    for acl in _items(getattr(acls, "acl", None)):
        out = rules[acl.name] = []
        for ace in _items(acl.aces.ace if acl.aces is not None else None):
            k = (acl.name, acl.type, id(ace))
            hit = old.get(k)
            r = hit[1] if hit is not None and hit[0] is ace else ace_rule(acl.name, acl.type, ace)
            new[k] = (ace, r)
            out.append(r)
    points = getattr(acls, "attachment_points", None) if acls is not None else None
    attachments: list[Attachment] = []
    for itf in _items(getattr(points, "interface", None)):
        for direction in ("ingress", "egress"):
            holder = getattr(itf, direction)
            sets = _items(holder.acl_sets.acl_set if holder is not None and holder.acl_sets is not None
                          else None)
            if not sets:
                continue
            ifname = _ifname(itf.interface_id, attach_path(itf.interface_id, direction)
                             .rsplit("/", 1)[0] + "/interface-id")
            a = Attachment(f"{'in' if direction == 'ingress' else 'out'}{len(attachments)}", ifname,
                           direction)
            attachments.append(a)
            for s in sets:
                for r in rules.get(s.name, ()):
                    if r.l2 and direction == "egress":
                        raise DriverError(f"ACE {r.ace} of ACL {s.name} matches Ethernet fields, which "
                                          "nftables cannot see on egress (no link-layer header yet)",
                                          attach_path(ifname, direction, s.name), "unsupported-match")
                    if r.oif and direction == "ingress":
                        raise DriverError(f"ACE {r.ace} of ACL {s.name} matches egress-interface, which "
                                          "is not known yet on ingress", attach_path(ifname, direction, s.name),
                                          "unsupported-match")
                    a.entries.append((s.name, r.ace))
    rs = _text(attachments, rules)
    rs.cache = new
    return rs


SET_MIN = 4  # a run of at least this many ACEs of one shape becomes a set lookup


def _text(attachments: list[Attachment], rules: dict[str, list[AceRule]]) -> Ruleset:
    out = [f"table inet {TABLE} {{}}", f"delete table inet {TABLE}"]
    lines: dict[int, str] = {}
    if not attachments:
        return Ruleset("\n".join(out) + "\n", lines, [])
    by_rule = {(acl, r.ace): r for acl, rs in rules.items() for r in rs}
    out.append(f"table inet {TABLE} {{")
    ins = [a for a in attachments if a.direction == "ingress"]
    outs = [a for a in attachments if a.direction == "egress"]
    for chain, hook, key_, group in (("ingress", "prerouting", "iifname", ins),
                                     ("egress-forward", "forward", "oifname", outs),
                                     ("egress-output", "output", "oifname", outs)):
        if not group:
            continue
        vmap = ", ".join(f'"{a.ifname}" : jump {a.chain}' for a in group)
        out += [f"  chain {chain} {{", f"    type filter hook {hook} priority filter; policy accept;"]
        for a in group:
            lines[len(out) + 1] = attach_path(a.ifname, a.direction)
        out += [f"    {key_} vmap {{ {vmap} }}", "  }"]
    sets, chains = _Block(), _Block()  # sets come first: the chains' rules name them
    for a in attachments:
        chains.add(f"  chain {a.chain} {{")
        chains.add(f'    comment "{a.direction} {a.ifname}"')
        a.items = []
        for run in _runs([(e, by_rule[e]) for e in a.entries]):
            if len(run) < SET_MIN:
                for e, r in run:
                    a.items.append(Item([e]))
                    chains.add("    " + r.text, ace_path(*e))
                continue
            first = run[0][1]
            item = Item([e for e, _ in run], f"s{sets.count}")
            sets.count += 1
            sets.add(f"  set {item.set} {{")
            sets.add(f"    type {' . '.join(k.type for k in first.keys)}")
            sets.add("    counter")
            sets.add("    elements = {")
            seen: set[tuple[str, ...]] = set()
            for e, r in run:
                k = tuple(x.value for x in r.keys)
                item.keys.append(None if k in seen else k)
                if k not in seen:
                    seen.add(k)
                    sets.add(f"      {' . '.join(k)},", ace_path(*e))
            sets.add("    }")
            sets.add("  }")
            a.items.append(item)
            lookup = f"{' . '.join(k.expr for k in first.keys)} @{item.set}"
            chains.add("    " + " ".join(x for x in (first.const, lookup, first.verdict) if x),
                       acl_path(run[0][0][0]))
        chains.add("  }")
    for b in (sets, chains):
        lines.update((len(out) + n, p) for n, p in b.lines.items())
        out += b.text
    out.append("}")
    return Ruleset("\n".join(out) + "\n", lines, attachments)


class _Block:
    """Lines of the ruleset text, with the instance path of some (by 1-based line)."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.lines: dict[int, str] = {}
        self.count = 0

    def add(self, line: str, path: str | None = None) -> None:
        self.text.append(line)
        if path is not None:
            self.lines[len(self.text)] = path


Entry = tuple[tuple[str, str], AceRule]  # (acl, ace) and its rule


def _runs(entries: list[Entry]) -> list[list[Entry]]:
    """Consecutive entries grouped by shape (an entry without one is a run of its own)."""
    runs: list[list[Entry]] = []
    for e, r in entries:
        if runs and r.shape is not None and runs[-1][-1][1].shape == r.shape:
            runs[-1].append((e, r))
        else:
            runs.append([(e, r)])
    return runs


def _ifname(name: str, path: str) -> str:
    if not _IFNAME.fullmatch(name):
        raise DriverError(f"{name!r} cannot be a Linux interface name (1-15 characters, no "
                          "whitespace, '/', ':', '*' or quotes)", path, "unsupported-interface")
    return name


def _unsupported(what: str, path: str) -> DriverError:
    return DriverError(f"{what} cannot be expressed by the nftables driver", path, "unsupported-match")


def ace_rule(acl: str, acl_type: str | None, ace: Any) -> AceRule:
    """Render one ACE (RFC 8519 §4.1 matches and actions) as an nftables rule body."""
    path = ace_path(acl, ace.name)
    m = ace.matches
    parts: Parts = []
    l2 = oif = False
    allow_l2, families = (True, frozenset({"ip", "ip6"})) if acl_type is None else TYPES.get(
        acl_type, (False, frozenset()))
    if acl_type is not None and acl_type not in TYPES:
        raise _unsupported(f"ACL type {acl_type}", f"{acl_path(acl)}/type")
    fam: str | None = None
    if m is not None:
        if m.eth is not None:
            if not allow_l2:
                raise DriverError(f"an Ethernet match in an ACL of type {acl_type}", f"{path}/matches/eth",
                                  "type-mismatch")
            l2, etype = _eth(m.eth, f"{path}/matches/eth", parts)
            if etype is not None:
                fam = "ip" if etype == "ipv4" else "ip6"
        for name, f in (("ipv4", "ip"), ("ipv6", "ip6")):
            c = getattr(m, name)
            if c is None:
                continue
            if f not in families:
                raise DriverError(f"an {name.upper()} match in an ACL of type {acl_type}",
                                  f"{path}/matches/{name}", "type-mismatch")
            if fam is not None and fam != f:
                raise DriverError(f"ethertype {FAMILY[fam]} and an {name.upper()} match never match "
                                  "together", f"{path}/matches/{name}", "type-mismatch")
            fam = f
            (_ipv4 if f == "ip" else _ipv6)(c, f"{path}/matches/{name}", parts)
        if fam is None and len(families) == 1 and not allow_l2:
            fam = next(iter(families))
            parts.insert(0, f"meta nfproto {FAMILY[fam]}")
        l4 = [(n, getattr(m, n)) for n in ("tcp", "udp", "icmp") if getattr(m, n) is not None]
        if l4 and not families:
            raise DriverError(f"a {l4[0][0].upper()} match in an ACL of type {acl_type}",
                              f"{path}/matches/{l4[0][0]}", "type-mismatch")
        for n, c in l4:
            if n == "icmp":
                _icmp(c, fam, families, f"{path}/matches/icmp", parts)
            else:
                _l4(n, c, f"{path}/matches/{n}", parts)
        for leaf, kw in (("ingress_interface", "iifname"), ("egress_interface", "oifname")):
            v = getattr(m, leaf)
            if v is not None:
                name = _ifname(v, f"{path}/matches/{leaf.replace('_', '-')}")
                parts.append(f'{kw} "{name}"')
                oif = oif or kw == "oifname"
    elif acl_type is not None and len(families) == 1 and not allow_l2:
        parts.append(f"meta nfproto {FAMILY[next(iter(families))]}")
    actions = _actions(acl, ace, path, "tcp" in {n for n, _ in _l4_of(m)})
    text = " ".join([*(x if isinstance(x, str) else f"{x.expr} {x.value}" for x in parts), "counter",
                     *actions])
    keys = tuple(x for x in parts if isinstance(x, Key))
    if not keys or actions[0].startswith("log "):  # a log prefix names its ACE: a rule of its own
        return AceRule(ace.name, text, l2, oif)
    const = [x for x in parts if isinstance(x, str)]
    shape = (*const, *(f"{k.expr}:{k.type}" for k in keys), *actions)
    return AceRule(ace.name, text, l2, oif, shape, keys, " ".join(const), " ".join(actions))


def _l4_of(m: Any) -> list[tuple[str, Any]]:
    return [] if m is None else [(n, getattr(m, n)) for n in ("tcp", "udp", "icmp") if getattr(m, n) is not None]


def _actions(acl: str, ace: Any, path: str, tcp: bool) -> list[str]:
    a = ace.actions
    fwd = getattr(a, "forwarding", None)
    verdict = FORWARDING.get(fwd) if fwd is not None else None
    if verdict is None:
        raise _unsupported(f"forwarding action {fwd}", f"{path}/actions/forwarding")
    out: list[str] = []
    log = getattr(a, "logging", None)
    if log == f"{P}log-syslog":
        prefix = _LOG_UNSAFE.sub("_", f"{acl}/{ace.name}")[:100]
        out.append(f'log prefix "yangd {prefix}: "')
    elif log not in (None, f"{P}log-none"):
        raise _unsupported(f"logging action {log}", f"{path}/actions/logging")
    if verdict == "reject" and tcp:
        verdict = "reject with tcp reset"  # a TCP peer is told the way TCP understands
    out.append(verdict)
    return out


def _eth(e: Any, path: str, parts: Parts) -> tuple[bool, str | None]:
    l2 = False
    for name, field_ in (("destination", "daddr"), ("source", "saddr")):
        addr = getattr(e, f"{name}_mac_address")
        mask = getattr(e, f"{name}_mac_address_mask")
        if addr is None:
            if mask is not None:
                raise DriverError(f"{name}-mac-address-mask without {name}-mac-address",
                                  f"{path}/{name}-mac-address-mask", "unsupported-match")
            continue
        l2 = True
        if mask is None:
            parts.append(f"ether {field_} {addr.lower()}")
        else:
            a, k = int(addr.replace(":", ""), 16), int(mask.replace(":", ""), 16)
            parts.append(f"ether {field_} & {_mac(k)} == {_mac(a & k)}")
    etype = None
    if e.ethertype is not None:
        etype = ETHERTYPES.get(e.ethertype)
        if etype is None:
            raise DriverError(f"ethertype {e.ethertype}: only IPv4 and IPv6 reach the inet family "
                              "this driver filters in", f"{path}/ethertype", "unsupported-match")
        parts.append(f"meta nfproto {etype}")
    return l2, etype


def _mac(v: int) -> str:
    h = f"{v:012x}"
    return ":".join(h[i:i + 2] for i in range(0, 12, 2))


def _ipv4(c: Any, path: str, parts: Parts) -> None:
    for leaf, expr in (("dscp", "ip dscp"), ("ecn", "ip ecn"), ("length", "ip length"), ("ttl", "ip ttl"),
                       ("protocol", "ip protocol"), ("ihl", "ip hdrlength"), ("identification", "ip id")):
        v = getattr(c, leaf)
        if v is not None:
            parts.append(f"{expr} {v}")
    if c.flags is not None:  # the 3-bit flags field equals exactly the bits given
        bits = sum(IPV4_FLAGS[b] for b in c.flags)
        parts.append(f"ip frag-off & 0xe000 == 0x{bits:04x}")
    if c.offset is not None:
        parts.append(f"ip frag-off & 0x1fff == {c.offset}")
    _nets(c.source_ipv4_network, c.destination_ipv4_network, "ip", parts)


def _ipv6(c: Any, path: str, parts: Parts) -> None:
    for leaf, expr in (("dscp", "ip6 dscp"), ("ecn", "ip6 ecn"), ("length", "ip6 length"),
                       ("ttl", "ip6 hoplimit"), ("flow_label", "ip6 flowlabel")):
        v = getattr(c, leaf)
        if v is not None:
            parts.append(f"{expr} {v}")
    if c.protocol is not None:  # the transport protocol, after any extension headers
        parts.append(f"meta l4proto {c.protocol}")
    _nets(c.source_ipv6_network, c.destination_ipv6_network, "ip6", parts)


def _nets(src: str | None, dst: str | None, fam: str, parts: Parts) -> None:
    host = "/32" if fam == "ip" else "/128"
    for v, f in ((src, "saddr"), (dst, "daddr")):
        if v is None:
            continue
        if v.endswith(host):  # a host: one value, set element material
            a = v[:-len(host)]
            if fam == "ip6" or _LEADING_ZERO.search(a):
                a = str(ipaddress.ip_address(a))  # as nft lists it (set counters map back by it)
            parts.append(Key(f"{fam} {f}", a, "ipv4_addr" if fam == "ip" else "ipv6_addr"))
        else:  # host bits cleared: inet:ipv4-prefix allows them, nft does not
            parts.append(f"{fam} {f} {ipaddress.ip_network(v, strict=False)}")


def _l4(proto: str, c: Any, path: str, parts: Parts) -> None:
    start = len(parts)
    for leaf in ("reserved", "options"):
        if getattr(c, leaf, None) is not None:
            raise _unsupported(f"the TCP {leaf} field", f"{path}/{leaf}")
    for leaf, field_ in (("source_port", "sport"), ("destination_port", "dport")):
        p = getattr(c, leaf)
        if p is None:
            continue
        if p.lower_port is not None:
            lo, hi = p.lower_port, p.upper_port
            parts.append(Key(f"{proto} {field_}", str(lo), "inet_service") if lo == hi
                         else f"{proto} {field_} {lo}-{hi}")
        elif p.port is not None and p.operator in (None, "eq"):
            parts.append(Key(f"{proto} {field_}", str(p.port), "inet_service"))
        elif p.port is not None:
            parts.append(f"{proto} {field_} {OPERATORS[p.operator]}{p.port}")
    if proto == "tcp":
        for leaf, expr in (("sequence_number", "tcp sequence"), ("acknowledgement_number", "tcp ackseq"),
                           ("data_offset", "tcp doff"), ("window_size", "tcp window"),
                           ("urgent_pointer", "tcp urgptr")):
            v = getattr(c, leaf)
            if v is not None:
                parts.append(f"{expr} {v}")
        if c.flags is not None:  # the flags equal exactly the bits given (fin/syn/rst/... only)
            unknown = set(c.flags) - set(TCP_FLAGS)
            if unknown:
                raise _unsupported(f"TCP flag {sorted(unknown)[0]}", f"{path}/flags")
            bits = "|".join(b for b in TCP_FLAGS if b in c.flags)
            parts.append(f"tcp flags == {bits}" if bits else "tcp flags == 0x0")
    elif c.length is not None:
        parts.append(f"udp length {c.length}")
    if len(parts) == start:  # no field given: the protocol itself
        parts.append(f"meta l4proto {proto}")


def _icmp(c: Any, fam: str | None, families: frozenset[str], path: str, parts: Parts) -> None:
    if c.rest_of_header is not None:
        raise _unsupported("ICMP rest-of-header", f"{path}/rest-of-header")
    if fam is None:
        if len(families) != 1:
            raise DriverError("an ICMP match needs an IPv4 or IPv6 match (or an ACL of type ipv4 or "
                              "ipv6) in the same ACE: ICMP and ICMPv6 types differ", path,
                              "unsupported-match")
        fam = next(iter(families))
    proto = "icmp" if fam == "ip" else "icmpv6"
    n = len(parts)
    for leaf in ("type", "code"):
        v = getattr(c, leaf)
        if v is not None:
            parts.append(f"{proto} {leaf} {v}")
    if len(parts) == n:
        parts.append(f"meta l4proto {proto}")
