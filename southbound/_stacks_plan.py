"""The stacks driver's plan: yangd-stacks config → per-namespace sysctls and attributed routes.

Pure functions, no kernel access. ``read_config`` turns the ``/yangd-stacks:stacks`` tree into
``Config`` and refuses, naming the leaf, what a linux-kernel stack cannot realize whatever the
kernel (``check``). ``want_sysctls`` gives a namespace's sysctls as the config wants them.
``plan_routes`` turns the selection rules of one namespace into the routes that carry each
selected stack's per-route parameters, copied from the routes the namespace already forwards
with (``KRoute``s of the main table).

Decisions (see also southbound/stacks.py):
- A namespace's sysctls belong to its base stack: the default-stack if it serves the
  namespace, else the only stack serving it. Two stacks in one namespace without the default
  stack among them are refused (which one is the namespace's is not said). yangd owns every
  sysctl of ``SYSCTLS`` in a namespace it serves: one the base stack leaves unset is the value
  a new namespace gets (its kernel default), so removing a leaf restores that.
- The other stacks of a namespace act only per route: congctl (RTAX_CC_ALGO) and
  ``features ecn`` (RTAX_FEATURE_ECN: request and accept ECN). A route cannot turn ECN off,
  nor change a namespace-wide sysctl, so such a stack setting ecn other than on (or its base
  stack's), or any other parameter, is refused.
- Rules are first-match (ordered-by user) but routes are longest-prefix match, so a rule
  whose prefix lies within an earlier rule's prefix in the same namespace never matches and
  gets no routes, and no rule gets routes within an earlier rule's prefix.
- A rule's routes copy forwarding (type, scope, gateway, device, source, metrics) from the
  namespace's main table, so forwarding does not change: the rule's prefix gets a copy of the
  route covering it, and each more specific route inside the prefix gets a copy of itself.
  The kernel keeps one route per (prefix, metric), and the original must stay (its owner
  manages it), so where the prefix itself has a route the copy goes one metric lower
  (preferred); at metric 0 the copy is split into the two halves of the prefix, which
  longest-prefix match prefers. A host route at metric 0 cannot be shadowed either way:
  refused.
- A rule selecting a linux-kernel stack for ``udp`` alone is refused: per-route parameters are
  TCP's. ``any`` and ``tcp`` both give routes (UDP ignores congctl and ECN features).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from southbound.errors import DriverError

ROOT = "/yangd-stacks:stacks"
LINUX = "linux-kernel"
RTAX_FEATURE_ECN = 0x1
Net = ipaddress.IPv4Network | ipaddress.IPv6Network
RKey = tuple[int, str, int]  # (4 | 6, "10.0.0.0/24", metric)

ECN = {"off": "0", "on": "1", "server-only": "2"}
MTU_PROBING = {"off": "0", "blackhole-detected": "1", "always": "2"}
FASTOPEN_BITS = {"client": 0, "server": 1, "client-no-cookie": 2, "server-no-cookie": 9,
                 "server-all-listeners": 10}
# tcp leaf → sysctl under net.ipv4 (all per network namespace)
SYSCTLS: dict[str, str] = {
    "congestion-control": "tcp_congestion_control", "ecn": "tcp_ecn", "fastopen": "tcp_fastopen",
    "rmem": "tcp_rmem", "wmem": "tcp_wmem", "sack": "tcp_sack", "timestamps": "tcp_timestamps",
    "window-scaling": "tcp_window_scaling", "mtu-probing": "tcp_mtu_probing",
    "notsent-lowat": "tcp_notsent_lowat", "slow-start-after-idle": "tcp_slow_start_after_idle",
}
PER_ROUTE = frozenset({"congestion-control", "ecn"})


def stack_path(name: str, leaf: str = "") -> str:
    return f"{ROOT}/stack[name='{name.replace(chr(39), '')}']" + (f"/{leaf}" if leaf else "")


def rule_path(name: str, leaf: str = "") -> str:
    return f"{ROOT}/selection-rule[name='{name.replace(chr(39), '')}']" + (f"/{leaf}" if leaf else "")


def norm(value: str) -> str:
    """A sysctl value as compared: whitespace collapsed (tcp_rmem prints tabs)."""
    return " ".join(value.split())


@dataclass(frozen=True)
class Stack:
    name: str
    kind: str  # the identity's name, e.g. linux-kernel
    namespace: str
    params: dict[str, str] = field(default_factory=dict, compare=False)  # tcp leaf → sysctl value

    @property
    def cc(self) -> str | None:
        return self.params.get("congestion-control")

    @property
    def ecn(self) -> str | None:
        return self.params.get("ecn")


@dataclass(frozen=True)
class Rule:
    name: str
    prefix: Net
    protocol: str
    stack: str


@dataclass(frozen=True)
class Config:
    stacks: dict[str, Stack] = field(default_factory=dict)
    default: str | None = None
    rules: tuple[Rule, ...] = ()

    def namespaces(self) -> set[str]:
        return {s.namespace for s in self.stacks.values()}

    def serving(self, ns: str) -> list[Stack]:
        return [s for s in self.stacks.values() if s.namespace == ns]

    def base(self, ns: str) -> Stack | None:
        """The stack whose parameters are the namespace's sysctls."""
        serving = self.serving(ns)
        for s in serving:
            if s.name == self.default:
                return s
        return serving[0] if len(serving) == 1 else None

    def rules_of(self, ns: str) -> list[tuple[Rule, Stack]]:
        return [(r, self.stacks[r.stack]) for r in self.rules
                if r.stack in self.stacks and self.stacks[r.stack].namespace == ns]


def _local(identity: str) -> str:
    return identity.rsplit(":", 1)[-1]


def _params(tcp: Any) -> dict[str, str]:
    if tcp is None:
        return {}
    out: dict[str, str] = {}
    if tcp.congestion_control is not None:
        out["congestion-control"] = _local(str(tcp.congestion_control))
    if tcp.ecn is not None:
        out["ecn"] = ECN[tcp.ecn]
    if tcp.fastopen is not None:
        out["fastopen"] = str(sum(1 << FASTOPEN_BITS[b] for b in tcp.fastopen))
    for leaf in ("rmem", "wmem"):
        triple = getattr(tcp, leaf)
        if triple is not None:
            out[leaf] = f"{triple.min} {triple.default} {triple.max}"
    for leaf, attr in (("sack", "sack"), ("timestamps", "timestamps"),
                       ("window-scaling", "window_scaling"),
                       ("slow-start-after-idle", "slow_start_after_idle")):
        v = getattr(tcp, attr)
        if v is not None:
            out[leaf] = "1" if v else "0"
    if tcp.mtu_probing is not None:
        out["mtu-probing"] = MTU_PROBING[tcp.mtu_probing]
    if tcp.notsent_lowat is not None:
        out["notsent-lowat"] = str(tcp.notsent_lowat)
    return out


def read_config(tree: Any) -> Config:
    """The stacks config of a Root tree (None or no stacks container: empty)."""
    top = getattr(tree, "stacks", None) if tree is not None else None
    if top is None:
        return Config()
    stacks = {s.name: Stack(s.name, _local(str(s.kind or LINUX)), str(s.namespace or ""),
                            _params(s.tcp)) for s in (top.stack or ())}
    rules = tuple(Rule(r.name, ipaddress.ip_network(r.match.destination_prefix, strict=False),
                       str(r.match.protocol or "any"), str(r.stack))
                  for r in (top.selection_rule or ()))
    return Config(stacks, top.default_stack, rules)


def check(cfg: Config) -> None:
    """Refuse what no kernel can realize (DriverError naming the leaf)."""
    for s in cfg.stacks.values():
        if s.kind != LINUX:
            raise DriverError(f"stack kind {s.kind} is not supported by the stacks driver",
                              stack_path(s.name, "kind"), "unsupported-kind")
    for ns in sorted(cfg.namespaces()):
        serving = cfg.serving(ns)
        base = cfg.base(ns)
        if base is None:
            names = ", ".join(sorted(s.name for s in serving))
            raise DriverError(f"stacks {names} serve network namespace {ns} and none of them is "
                              "the default-stack: which one's parameters are the namespace's is "
                              "ambiguous", stack_path(sorted(s.name for s in serving)[1], "namespace"),
                              "ambiguous-base-stack")
        for s in serving:
            if s is base:
                continue
            for leaf in sorted(set(s.params) - PER_ROUTE):
                raise DriverError(f"stack {s.name} shares network namespace {ns} with its base "
                                  f"stack {base.name}: {leaf} is namespace-wide "
                                  f"(net.ipv4.{SYSCTLS[leaf]}), only congestion-control and "
                                  "ecn apply per route", stack_path(s.name, f"tcp/{leaf}"),
                                  "not-per-route")
    for r in cfg.rules:
        st = cfg.stacks.get(r.stack)
        if st is not None and st.kind == LINUX and r.protocol == "udp":
            raise DriverError(f"selection rule {r.name}: a linux-kernel stack's per-route "
                              "parameters are TCP's; it cannot be selected for udp alone",
                              rule_path(r.name, "match/protocol"), "not-per-route")


def want_sysctls(cfg: Config, ns: str, defaults: dict[str, str]) -> dict[str, tuple[str, str | None]]:
    """sysctl → (value, the leaf setting it or None for a kernel default) for namespace ``ns``
    (one no stack serves: every default)."""
    base = cfg.base(ns)
    params = base.params if base is not None else {}
    out: dict[str, tuple[str, str | None]] = {}
    for leaf, key in SYSCTLS.items():
        if leaf in params:
            out[key] = (params[leaf], stack_path(base.name, f"tcp/{leaf}") if base else None)
        elif key in defaults:
            out[key] = (defaults[key], None)
    return out


def check_ecn(cfg: Config, ns: str, base_ecn: str | None) -> None:
    """A non-base stack's ecn must be on, or what the namespace has (``base_ecn``)."""
    base = cfg.base(ns)
    for s in cfg.serving(ns):
        if s is base or s.ecn is None or s.ecn == ECN["on"] or s.ecn == base_ecn:
            continue
        raise DriverError(f"stack {s.name}: a route can turn ECN on but not off or server-only "
                          f"(network namespace {ns} has net.ipv4.tcp_ecn={base_ecn})",
                          stack_path(s.name, "tcp/ecn"), "not-per-route")


# ---- routes -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class KRoute:
    """A main-table route as the kernel has it, in the parts a copy keeps."""

    family: int
    dst: str
    priority: int = 0
    proto: int = 0
    type: int = 1
    scope: int = 0
    oif: int | None = None
    gateway: str | None = None
    prefsrc: str | None = None
    multipath: tuple[tuple[str | None, int, int], ...] = ()  # (gateway, oif, hops)
    metrics: tuple[tuple[str, Any], ...] = ()
    rule: str | None = field(default=None, compare=False)  # the selection rule it realizes

    @property
    def key(self) -> RKey:
        return (self.family, self.dst, self.priority)

    @property
    def net(self) -> Net:
        return ipaddress.ip_network(self.dst)

    def describe(self) -> str:
        m = dict(self.metrics)
        via = self.gateway or ",".join(g or str(o) for g, o, _ in self.multipath)
        return (f"{self.dst} metric {self.priority}" + (f" via {via}" if via else "")
                + (f" dev #{self.oif}" if self.oif else "")
                + (f" congctl {m['RTAX_CC_ALGO']}" if "RTAX_CC_ALGO" in m else "")
                + (" features ecn" if int(m.get("RTAX_FEATURES", 0)) & RTAX_FEATURE_ECN else ""))


@dataclass(frozen=True)
class ROp:
    verb: str  # add | replace | del
    route: KRoute
    undo: ROp | None = None


def _attributed(src: KRoute, dst: Net, priority: int, stack: Stack, proto: int,
                rule: str) -> KRoute:
    metrics = {k: v for k, v in src.metrics if k not in ("RTAX_CC_ALGO",)}
    if stack.cc is not None:
        metrics["RTAX_CC_ALGO"] = stack.cc
    features = int(metrics.pop("RTAX_FEATURES", 0))
    if stack.ecn == ECN["on"]:
        features |= RTAX_FEATURE_ECN
    if features:
        metrics["RTAX_FEATURES"] = features
    return replace(src, dst=str(dst), priority=priority, proto=proto,
                   metrics=tuple(sorted(metrics.items())), rule=rule)


def plan_routes(rules: Iterable[tuple[Rule, Stack]], main: Iterable[KRoute], proto: int,
                ns: str) -> tuple[dict[RKey, KRoute], list[str]]:
    """The attributed routes the rules of one namespace want (by key), and the rules that
    never match (shadowed). ``main`` is the namespace's main table without yangd's routes."""
    best: dict[Net, KRoute] = {}  # per prefix, the route in use (lowest metric)
    for r in main:
        n = r.net
        if n not in best or r.priority < best[n].priority:
            best[n] = r
    want: dict[RKey, KRoute] = {}
    earlier: list[Net] = []
    shadowed: list[str] = []

    def inside_earlier(n: Net) -> bool:
        return any(n.version == e.version and n.subnet_of(e) for e in earlier)  # type: ignore[arg-type]

    def cover(d: Net, src: KRoute, rule: Rule, stack: Stack) -> None:
        ex = best.get(d)
        if ex is None:
            out = [(d, src.priority)]
        elif ex.priority > 0:
            out = [(d, ex.priority - 1)]
        elif d.prefixlen == d.max_prefixlen:
            raise DriverError(f"selection rule {rule.name}: host route {d} in network namespace "
                              f"{ns} has metric 0, so no route can take precedence over it to "
                              "carry the stack's parameters", rule_path(rule.name, "match/destination-prefix"),
                              "cannot-shadow-route")
        else:
            out = [(h, src.priority) for h in d.subnets(1)
                   if h not in best and not inside_earlier(h)]
        for n, prio in out:
            k = _attributed(src, n, prio, stack, proto, rule.name)
            want[k.key] = k

    for rule, stack in rules:
        p = rule.prefix
        if inside_earlier(p):
            shadowed.append(rule.name)
            continue
        covering = [n for n in best if n.version == p.version and p.subnet_of(n)]  # type: ignore[arg-type]
        if not covering:
            raise DriverError(f"selection rule {rule.name}: network namespace {ns} has no route "
                              f"to {p}; a rule adds the stack's parameters to the forwarding the "
                              "namespace has, it does not create any",
                              rule_path(rule.name, "match/destination-prefix"), "no-route")
        c = max(covering, key=lambda n: n.prefixlen)
        cover(p, best[c], rule, stack)
        for n in sorted((n for n in best if n.version == p.version and n != p
                         and n.subnet_of(p) and not inside_earlier(n)),  # type: ignore[arg-type]
                        key=lambda n: (n.prefixlen, n)):
            cover(n, best[n], rule, stack)
        earlier.append(p)
    return want, shadowed


def diff_routes(want: dict[RKey, KRoute], have: dict[RKey, KRoute]) -> list[ROp]:
    """Operations taking yangd's routes ``have`` to ``want``: deletions first."""
    ops = [ROp("del", r, ROp("add", r)) for k, r in sorted(have.items()) if k not in want]
    for k, r in sorted(want.items()):
        old = have.get(k)
        if old is None:
            ops.append(ROp("add", r, ROp("del", r)))
        elif old != r:
            ops.append(ROp("replace", r, ROp("replace", old)))
    return ops
