"""FRR configuration as statements: what yangd has applied, what running wants, the difference.

Pure functions and one container class, no I/O. A statement (``Stmt``) is one line of FRR's
configuration in its context (``()`` for the top level, ``("router bgp 65001",)``,
``("router bgp 65001", "address-family ipv4 unicast")``), written exactly as FRR prints it
in ``show running-config``, so that a parsed running-config and yangd's rendering compare
equal line by line. Statements are keyed by (context, setting): a line that sets a value
(``neighbor X remote-as N``, ``neighbor X timers 1 3``, ``bgp router-id A``) is keyed
without the value, so a change is one command that overrides the old value; any other line
(``ip route P NH``, ``network P``) is its own key.

``plan`` turns two statement sets into ``Op``s: deletions first, then additions and changes
in rendering order (a block's header before its lines, a neighbor's remote-as before its other
settings). Deleting ``router bgp N`` or a neighbor's remote-as removes everything below it in
FRR, so the deletions those imply are not sent (and ``FrrConf.apply`` drops them too).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

Ctx = tuple[str, ...]
SKey = tuple[Ctx, str]
STATICD, BGPD = "staticd", "bgpd"

_SETTER = re.compile(r"(neighbor \S+ (?:remote-as|description|password|timers connect|timers)"
                     r"|bgp router-id) ")
_NEIGHBOR_AS = re.compile(r"neighbor (\S+) remote-as$")
_PASSWORD = re.compile(r"(neighbor \S+ password )\S.*")
_AF = {"address-family ipv4 unicast", "address-family ipv6 unicast"}
BGP_MANAGED = ("bgp router-id ", "neighbor ", "no bgp ebgp-requires-policy",
               "no bgp default ipv4-unicast")
AF_MANAGED = ("network ", "redistribute ", "neighbor ")


def setting(text: str) -> str:
    m = _SETTER.match(text)
    return m.group(1) if m else text


@dataclass(frozen=True)
class Stmt:
    ctx: Ctx
    text: str
    path: str | None = field(default=None, compare=False)  # the YANG instance it comes from

    @property
    def key(self) -> SKey:
        return (self.ctx, setting(self.text))

    @property
    def daemon(self) -> str:
        return BGPD if self.ctx or self.text.startswith("router bgp ") else STATICD

    def undo_text(self) -> str:
        """The command that removes this statement."""
        if not self.ctx and self.text.startswith("router bgp "):
            return "no " + self.text
        m = _NEIGHBOR_AS.match(setting(self.text))
        if m:
            return f"no neighbor {m.group(1)}"
        return self.text[3:] if self.text.startswith("no ") else "no " + self.text


@dataclass(frozen=True)
class Op:
    verb: str  # "set" | "del"
    stmt: Stmt

    @property
    def command(self) -> str:
        return self.stmt.text if self.verb == "set" else self.stmt.undo_text()


def _cascade(s: Stmt) -> tuple[Ctx, str] | None:
    """(context prefix, key prefix) of the statements FRR drops with ``s``."""
    if not s.ctx and s.text.startswith("router bgp "):
        return ((s.text,), "")
    m = _NEIGHBOR_AS.match(setting(s.text))
    if m:
        return (s.ctx, f"neighbor {m.group(1)} ")
    return None


def _covered(k: SKey, cut: tuple[Ctx, str]) -> bool:
    ctx, prefix = cut
    return k[0][:len(ctx)] == ctx and k[1].startswith(prefix)


class FrrConf:
    """The statements FRR has, as far as yangd knows; routes indexed by destination."""

    def __init__(self, stmts: Iterable[Stmt] = ()):
        self.stmts: dict[SKey, Stmt] = {}
        self.by_dst: dict[tuple[int, str], dict[SKey, Stmt]] = {}
        for s in stmts:
            self.set(s)

    def copy(self) -> FrrConf:
        c = FrrConf()
        c.stmts = dict(self.stmts)
        c.by_dst = {k: dict(v) for k, v in self.by_dst.items()}
        return c

    def set(self, s: Stmt) -> None:
        k = s.key
        self.stmts[k] = s
        d = route_dst(s)
        if d is not None:
            self.by_dst.setdefault(d, {})[k] = s

    def delete(self, s: Stmt) -> None:
        cut = _cascade(s)
        gone = [s.key]
        if cut is not None:
            gone += [k for k in self.stmts if _covered(k, cut)]
        for k in gone:
            old = self.stmts.pop(k, None)
            d = route_dst(old) if old is not None else None
            if d is not None:
                self.by_dst.get(d, {}).pop(k, None)
                if not self.by_dst.get(d, True):
                    del self.by_dst[d]

    def apply(self, op: Op) -> None:
        if op.verb == "set":
            self.set(op.stmt)
        else:
            self.delete(op.stmt)

    def of_daemon(self, daemon: str) -> dict[SKey, Stmt]:
        return {k: s for k, s in self.stmts.items() if s.daemon == daemon}

    def routes(self, keys: Iterable[tuple[int, str]]) -> dict[SKey, Stmt]:
        out: dict[SKey, Stmt] = {}
        for k in keys:
            out.update(self.by_dst.get(k, {}))
        return out


def route_dst(s: Stmt) -> tuple[int, str] | None:
    if s.ctx:
        return None
    t = s.text
    if t.startswith("ip route "):
        return (4, t.split(" ", 3)[2])
    if t.startswith("ipv6 route "):
        return (6, t.split(" ", 3)[2])
    return None


def plan(old: Mapping[SKey, Stmt], new: Mapping[SKey, Stmt]) -> list[Op]:
    """The operations taking ``old`` to ``new`` (both restricted to the same keys)."""
    dels = [s for k, s in old.items() if k not in new]
    cuts = [c for c in map(_cascade, dels) if c is not None]
    ops = [Op("del", s) for s in dels
           if not any(_covered(s.key, c) and _cascade(s) != c for c in cuts)]
    for k, s in new.items():
        o = old.get(k)
        if o is None or o.text != s.text:
            ops.append(Op("set", s))
    return ops


@dataclass(frozen=True)
class Line:
    text: str
    op: int | None  # index of the Op this line carries; None: navigation


def script(ops: Sequence[Op]) -> list[Line]:
    """Config-mode lines for ``ops`` (one daemon), with context enter/exit lines between."""
    lines: list[Line] = []
    cur: Ctx = ()
    for i, op in enumerate(ops):
        want = op.stmt.ctx
        n = 0
        while n < min(len(cur), len(want)) and cur[n] == want[n]:
            n += 1
        while len(cur) > n:
            lines.append(Line("exit-address-family" if len(cur) == 2 else "exit", None))
            cur = cur[:-1]
        for c in want[n:]:
            lines.append(Line(c, None))
        cur = want
        lines.append(Line(op.command, i))
    while cur:
        lines.append(Line("exit-address-family" if len(cur) == 2 else "exit", None))
        cur = cur[:-1]
    return lines


def parse(text: str, statics: bool) -> Iterator[Stmt]:
    """The statements yangd manages in a daemon's ``show running-config``: top-level static
    routes (``statics``) and the default VRF's ``router bgp`` block; anything else is the
    operator's and is left alone."""
    ctx: Ctx | None = ()
    for raw in text.splitlines():
        line = raw.rstrip()
        body = line.strip()
        if not body or body == "!":
            continue
        depth = len(line) - len(line.lstrip(" "))
        if depth == 0:  # a block's lines are indented: back at the top level
            ctx = ()
            if body.startswith("router bgp "):
                if " vrf " in body or " view " in body:
                    ctx = None  # another instance: skip its block
                else:
                    ctx = (body,)
                    yield Stmt((), body)
            elif statics and body.startswith(("ip route ", "ipv6 route ")):
                yield Stmt((), body)
            elif not body.startswith(("exit", "end")):
                ctx = None  # another block (or a top-level line: nothing follows it)
        elif ctx is None or ctx == ():
            continue
        elif body == "exit-address-family":
            ctx = ctx[:1]
        elif len(ctx) == 1 and body.startswith("address-family "):
            ctx = (*ctx, body) if body in _AF else (*ctx, "")
        elif len(ctx) == 1 and body.startswith(BGP_MANAGED):
            yield Stmt(ctx, body)
        elif len(ctx) == 2 and ctx[1] and body.startswith(AF_MANAGED):
            yield Stmt(ctx, body)


def _kind(token: str) -> str | None:
    """FRR's token type for an address or prefix written canonically (None: anything else)."""
    if not token[:1].isdigit() and not token.startswith(":") and ":" not in token:
        return None
    try:
        if "/" in token:
            if str(ipaddress.ip_interface(token)) != token:
                return None
            return "A.B.C.D/M" if "." in token and ":" not in token else "X:X::X:X/M"
        if str(ipaddress.ip_address(token)) != token:
            return None
        return "A.B.C.D" if ":" not in token else "X:X::X:X"
    except ValueError:
        return None


def shape(text: str) -> str:
    """``text`` with each canonical address and prefix replaced by its token type.

    FRR's command matcher (lib/command_match.c, what ``vtysh -C`` runs) decides from a token's
    characters which token types it matches: every canonical IPv4 address matches A.B.C.D
    (and WORD) and no keyword or number range, every canonical IPv6 address X:X::X:X, and the
    same for prefixes. So in the static-route grammar two lines of one shape are accepted or
    refused alike: FRR's verdict on ``ip route 10.0.5.0/24 192.0.2.3`` holds for every route
    written that way. Every other token (keywords, interface names, numbers) is kept as it is.
    Were the parser to refuse a line the shape let through, staticd would refuse it at commit,
    which the driver reverts like any refusal."""
    return " ".join(_kind(t) or t for t in text.split(" "))


def mask(text: str) -> str:
    """``text`` with BGP passwords replaced (FRR echoes the command in its messages)."""
    return _PASSWORD.sub(lambda m: m.group(1) + "*****", text)
