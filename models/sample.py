"""Build a valid sample instance of a compiled schema: one value for every node that can have one.

``sample_instance(bundle)`` returns the whole datastore (config true and config false nodes)
as a dict keyed by RFC 7951 member names with Python leaf values, ready for
``Root.model_validate``. It exercises every generated class and every leaf type on real
modules: the corpus tests compile a module, sample it, and round-trip the sample through
the JSON and XML codecs.

What it fills: containers (a non-presence container only when something inside got a
value), list entries with distinct keys, leaf-lists, leaves; one case per choice (the
default case, else the first one that yields data). Values are chosen per type and each is
checked with the leaf type's ``validate`` and with its JSON and XML lexical round trip, so
the sample never holds a value that an encoder would turn into a different one (e.g. the
string "1" in a union whose first member is an integer). Strings satisfy length and every
pattern: common candidates first, then strings generated from the pattern itself.

``when`` and ``must`` are not evaluated; leafrefs take the value of their target leaf when
the sample has one. A leaf that cannot get a value is left out; when it is a key or
mandatory, its list entry or container is left out instead. ``SampleStats`` counts both.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

from models.bundle import Bundle
from models.schema import Kind, SchemaNode
from models.types import INT_BOUNDS, IdentityrefType, YangType
from models.xsd_regex import XsdRegexError, compile_pattern

COMMON_STRINGS: tuple[str, ...] = (
    "a", "example", "1", "192.0.2.1", "2001:db8::1", "192.0.2.0/24", "2001:db8::/32",
    "example.com", "00:00:5e:00:53:01", "2024-01-01T00:00:00Z", "2024-01-01", "1.2.3.4", "1:2",
    "0", "A", "abc123", "eth0", "00:00:00:00:00:01", "0.0.0.1", "1.1", "65000:1", "*",
    "00:00", "01:02:03:04:05:06", "0-0", "12:00:00", "http://example.com/",
    "urn:example", "a.b", "/", "a:b", "ab", "abc", "1/1", "P1D", "0x01", "ff02::1",
    "239.0.0.1", "232.0.0.1", "ff3e::1", "224.0.0.0/4", "ff00::/8",
)

_ALPHABET = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    "-_.:/@+=,;!~*'()#$%&?[]{}|\\^`\"<> \u00e9\u03b1"
)
# skip reason of a leaf whose identityref base has no derived identity in the compiled set
NO_IDENTITY = "no identity derived from the base"
_PREFERRED = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


@dataclass
class SampleStats:
    """What a sample holds and what it had to leave out."""

    values: Counter[str] = field(default_factory=Counter)  # module → leaf/leaf-list values made
    attempted: Counter[str] = field(default_factory=Counter)  # module → leaves tried
    by_top: Counter[str] = field(default_factory=Counter)  # module → values under its top nodes
    skipped: Counter[str] = field(default_factory=Counter)  # reason → count
    skipped_paths: list[str] = field(default_factory=list)  # first few schema paths left out
    skips: list[tuple[str, str]] = field(default_factory=list)  # every (reason, schema path)

    def skip(self, reason: str, path: str) -> None:
        self.skipped[reason] += 1
        self.skips.append((reason, path))
        if len(self.skipped_paths) < 50:
            self.skipped_paths.append(f"{reason}: {path}")


class _Unsatisfiable(Exception):
    """A required node (key, mandatory leaf or choice, min-elements list) has no value."""


class _PrefixNs:
    """XML namespace stand-in for the lexical round-trip check: prefixes are module names."""

    def module_of_prefix(self, prefix: str | None) -> str | None:
        return prefix

    def prefix_of_module(self, module: str) -> str:
        return module


_NS = _PrefixNs()


# ---- strings from XSD patterns ----------------------------------------------------------------
# A tiny parser for the XSD regex syntax (RFC 7950 §9.4.5): alternation, groups, quantifiers,
# literals, escapes and character classes. Classes are not interpreted: which characters they
# admit is found by testing an alphabet against the class compiled on its own.

_Node = tuple[Any, ...]  # ("alt", [seq…]) | ("seq", [(atom, lo, hi)…]) | ("lit", c) | ("cls", src)


class _PatternParser:
    def __init__(self, src: str):
        self.s = src
        self.i = 0

    def parse(self) -> _Node:
        node = self.alt()
        if self.i != len(self.s):
            raise ValueError("unbalanced pattern")
        return node

    def alt(self) -> _Node:
        branches = [self.seq()]
        while self.i < len(self.s) and self.s[self.i] == "|":
            self.i += 1
            branches.append(self.seq())
        return ("alt", branches)

    def seq(self) -> _Node:
        items: list[tuple[_Node, int, int | None]] = []
        while self.i < len(self.s) and self.s[self.i] not in "|)":
            atom = self.atom()
            lo, hi = self.quant()
            items.append((atom, lo, hi))
        return ("seq", items)

    def atom(self) -> _Node:
        s, c = self.s, self.s[self.i]
        if c == "(":
            self.i += 1
            if s.startswith("?:", self.i):
                self.i += 2
            inner = self.alt()
            if self.i >= len(s) or s[self.i] != ")":
                raise ValueError("unclosed group")
            self.i += 1
            return inner
        if c == "[":
            start, depth = self.i, 0
            while self.i < len(s):
                ch = s[self.i]
                if ch == "\\":
                    self.i += 2
                    continue
                if ch == "[":
                    depth += 1
                elif ch == "]":
                    depth -= 1
                    if depth == 0:
                        self.i += 1
                        return ("cls", s[start:self.i])
                self.i += 1
            raise ValueError("unclosed class")
        if c == "\\":
            e = s[self.i + 1:self.i + 2]
            if e in ("p", "P"):
                end = s.index("}", self.i)
                src = s[self.i:end + 1]
                self.i = end + 1
                return ("cls", src)
            self.i += 2
            if e in "sSiIcCdDwW":
                return ("cls", "\\" + e)
            return ("lit", {"n": "\n", "r": "\r", "t": "\t"}.get(e, e))
        self.i += 1
        if c == ".":
            return ("cls", ".")
        return ("lit", c)

    def quant(self) -> tuple[int, int | None]:
        s = self.s
        if self.i >= len(s):
            return 1, 1
        c = s[self.i]
        if c in "?*+":
            self.i += 1
            return {"?": (0, 1), "*": (0, None), "+": (1, None)}[c]
        if c == "{":
            end = s.index("}", self.i)
            body = s[self.i + 1:end]
            self.i = end + 1
            a, comma, b = body.partition(",")
            lo = int(a)
            hi = (int(b) if b.strip() else None) if comma else lo
            return lo, hi
        return 1, 1


@lru_cache(maxsize=4096)
def _class_chars(src: str) -> tuple[str, ...]:
    try:
        rx = compile_pattern(src)
    except XsdRegexError:
        return ()
    chars = [c for c in _ALPHABET if rx.fullmatch(c)]
    if not chars:
        chars = [chr(i) for i in range(0x20, 0x3000) if rx.fullmatch(chr(i))][:64]
    preferred = [c for c in chars if c in _PREFERRED]
    return tuple(preferred + [c for c in chars if c not in _PREFERRED])


@lru_cache(maxsize=4096)
def _parse_pattern(src: str) -> _Node | None:
    try:
        return _PatternParser(src).parse()
    except (ValueError, IndexError):
        return None


def _gen(node: _Node, rng: random.Random | None, spread: int, out: list[str]) -> bool:
    """Append a string matching ``node`` to ``out``.

    With ``rng`` None the choices are the first ones and every variable quantifier repeats
    its minimum plus ``spread`` times (within its maximum); else choices are random.
    """
    tag = node[0]
    if tag == "lit":
        out.append(node[1])
        return True
    if tag == "cls":
        chars = _class_chars(node[1])
        if not chars:
            return False
        out.append(chars[0] if rng is None else rng.choice(chars[:24] if rng.random() < 0.8 else chars))
        return True
    if tag == "alt":
        branches = node[1]
        order = list(range(len(branches)))
        if rng is not None:
            rng.shuffle(order)
        for b in order:
            mark = len(out)
            if _gen(branches[b], rng, spread, out):
                return True
            del out[mark:]
        return False
    for atom, lo, hi in node[1]:  # seq
        n = lo
        if rng is None and (hi is None or hi > lo):
            n = lo + spread if hi is None else min(hi, lo + spread)
        elif rng is not None and (hi is None or hi > lo):
            top = lo + spread if hi is None else min(hi, lo + spread)
            n = rng.randint(lo, top)
        for _ in range(n):
            if not _gen(atom, rng, spread, out):
                return False
    return True


def pattern_strings(patterns: Sequence[str], seed: int = 0, tries: int = 200) -> Iterator[str]:
    """Candidate strings for the (non-inverted) patterns; the caller checks them."""
    trees = [t for t in map(_parse_pattern, patterns) if t is not None]
    for reps in range(0, 66):  # first choices, each variable quantifier repeated 0, 1, … times
        for tree in trees:
            out: list[str] = []
            if _gen(tree, None, reps, out):
                yield "".join(out)
    rng = random.Random(seed)
    for i in range(tries):
        for tree in trees:
            out = []
            spread = (1, 3, 8, 40)[i % 4]
            if _gen(tree, rng, spread, out):
                yield "".join(out)


# ---- values per type ----------------------------------------------------------------------------

def _int_candidates(parts: list[list[int]]) -> Iterator[int]:
    for lo, hi in parts:
        if lo <= 0 <= hi:
            yield from range(0, min(hi, 64) + 1)
            yield from range(-1, max(lo, -64) - 1, -1)
    for lo, hi in parts:
        yield from range(lo, min(hi, lo + 64) + 1)


def _dec_candidates(d: Mapping[str, Any]) -> Iterator[Decimal]:
    fd = int(d["fd"])
    step = Decimal(1).scaleb(-fd)
    limit = Decimal(2**63 - 1).scaleb(-fd)
    parts = [[Decimal(a), Decimal(b)] for a, b in d.get("range", [])] or [[-limit - step, limit]]
    for lo, hi in parts:
        if lo <= 0 <= hi:
            for k in range(64):
                yield Decimal(k) * step
    for lo, hi in parts:
        first = lo.quantize(step, rounding="ROUND_CEILING")
        for k in range(64):
            v = first + k * step
            if v > hi:
                break
            yield v


def _string_candidates(d: Mapping[str, Any], seed: int) -> Iterator[str]:
    yield from COMMON_STRINGS
    for base in ("a", "x", "1"):
        for i in range(1, 64):
            yield f"{base}{i}"
    lengths = d.get("length") or [[0, 2**64 - 1]]
    positive = [p for p, inverted, *_ in d.get("pattern", ()) if not inverted]
    if positive:
        yield from pattern_strings(positive, seed)
    for lo, hi in lengths:
        for n in (lo, lo + 1, hi):
            if n <= 4096:
                yield "a" * n
                yield "1" * n
                yield "".join("abcdefghijklmnopqrstuvwxyz"[i % 26] for i in range(n))


def _raw_candidates(yt: YangType, d: Mapping[str, Any], seed: int) -> Iterator[Any]:
    b = d["b"]
    if b == "leafref":
        target = d.get("target")
        if target is None:
            yield from _string_candidates({"b": "string"}, seed)
        else:
            yield from _raw_candidates(yt, target, seed)
    elif b in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"):
        yield from _int_candidates(d.get("range") or [list(INT_BOUNDS[b])])
    elif b == "decimal64":
        yield from _dec_candidates(d)
    elif b == "string":
        yield from _string_candidates(d, seed)
    elif b == "boolean":
        yield from (True, False)
    elif b == "empty":
        yield True
    elif b == "enumeration":
        for name, _v in d.get("enum", []):
            yield name
    elif b == "bits":
        for name, _p in d.get("bits", []):
            yield frozenset({name})
        yield frozenset()
    elif b == "binary":
        for lo, hi in d.get("length") or [[0, 2**64 - 1]]:
            for k in range(min(hi - lo, 16) + 1):
                n = lo if lo > 0 else 1 if hi >= 1 else 0
                yield bytes([k % 256]) * n if n else b""
                if n == 0:
                    break
    elif b == "identityref":
        if isinstance(yt, IdentityrefType):
            yield from sorted(yt.allowed())
    elif b == "instance-identifier":
        return  # filled in by the sampler, which knows the sample's paths
    elif b == "union":
        for m, md in zip(_members(yt), d["types"], strict=True):
            yield from _raw_candidates(m, md, seed)


def _members(yt: YangType) -> list[YangType]:
    members: list[YangType] = getattr(yt, "members", [])
    return members


def _json_of(yt: YangType, v: Any) -> Any:
    return yt.to_json(v) if yt.json_serializes else v


def round_trips(yt: YangType, v: Any) -> bool:
    """``v`` is valid and comes back equal from its JSON and XML lexical forms."""
    try:
        if yt.validate(v) != v:
            return False
        j = json.loads(json.dumps(_json_of(yt, v)))
        if yt.from_json(j) != v:
            return False
        back = yt.from_text(yt.to_text(v, _NS), _NS)
        return bool(yt.validate(back) == v)
    except (ValueError, TypeError, ArithmeticError):
        return False


# ---- the sampler ----------------------------------------------------------------------------------

class _Sampler:
    def __init__(self, bundle: Bundle, seed: int, max_depth: int, max_list: int,
                 stats: SampleStats, known: Mapping[str, list[Any]], inst_path: str | None):
        self.bundle = bundle
        self.schema = bundle.schema
        self.seed = seed
        self.max_depth = max_depth
        self.max_list = max_list
        self.stats = stats
        self.known = known  # schema path → values the previous pass gave that leaf
        self.inst_path = inst_path
        self.values: dict[str, list[Any]] = {}
        self._cache: dict[tuple[str, str, int], list[Any]] = {}

    # values
    def leaf_values(self, node: SchemaNode, n: int) -> list[Any]:
        """Up to ``n`` distinct, round-tripping values for a leaf or leaf-list."""
        assert node.type is not None
        yt = self.bundle.type_of(node)
        d = node.type
        got: list[Any] = []
        for v in self._preferred(d):
            if v not in got and round_trips(yt, v):
                got.append(v)
                if len(got) >= n:
                    return got
        for v in self._valid(yt, d, node.module, n + len(got)):
            if v not in got:
                got.append(v)
        return got[:n]

    def _valid(self, yt: YangType, d: Mapping[str, Any], module: str, n: int) -> list[Any]:
        """The first ``n`` distinct round-tripping candidates of a type (cached per type)."""
        key = (json.dumps(d, sort_keys=True, default=str), module, n)
        cached = self._cache.get(key)
        if cached is None:
            cached = []
            for seen, v in enumerate(_raw_candidates(yt, d, self.seed)):
                if seen >= 4000 or len(cached) >= n:
                    break
                if v not in cached and round_trips(yt, v):
                    cached.append(v)
            self._cache[key] = cached
        return cached

    def _preferred(self, d: Mapping[str, Any]) -> Iterator[Any]:
        """Values to try first: a leafref's target values, an instance-identifier's path."""
        b = d["b"]
        if b == "leafref" and d.get("tp"):
            yield from self.known.get(d["tp"], ())
        elif b == "instance-identifier" and self.inst_path:
            yield self.inst_path
        elif b == "union":
            for md in d["types"]:
                yield from self._preferred(md)

    # nodes
    def fill(self, parent: SchemaNode, out: dict[str, Any], depth: int) -> None:
        """Fill ``out`` with ``parent``'s data children; raises _Unsatisfiable if it must."""
        for child in parent.children:
            self.node(child, out, depth)

    def node(self, node: SchemaNode, out: dict[str, Any], depth: int) -> None:
        k = node.kind
        if k is Kind.CHOICE:
            self.choice(node, out, depth)
        elif k is Kind.CASE:
            self.fill(node, out, depth)
        elif k is Kind.LEAF:
            self.leaf(node, out)
        elif k is Kind.LEAF_LIST:
            self.leaf_list(node, out)
        elif k is Kind.CONTAINER:
            self.container(node, out, depth)
        elif k is Kind.LIST:
            self.list(node, out, depth)
        elif k in (Kind.ANYDATA, Kind.ANYXML) and node.mandatory:
            self.stats.skip("mandatory anydata", node.path())
            raise _Unsatisfiable(node.path())

    def choice(self, node: SchemaNode, out: dict[str, Any], depth: int) -> None:
        cases = list(node.children)
        if node.default:
            cases.sort(key=lambda c: c.name != node.default[0])  # type: ignore[index]
        for case in cases:
            trial: dict[str, Any] = {}
            try:
                self.node(case, trial, depth)
            except _Unsatisfiable:
                continue
            if trial:
                out.update(trial)
                return
        if node.mandatory:  # an empty container (e.g. a mount point) still makes a case exist
            for case in cases:
                kids = [case] if case.kind is Kind.CONTAINER else list(case.children)
                empty = next((c for c in kids if c.kind is Kind.CONTAINER and not _has_mandatory(c)), None)
                if empty is not None:
                    out[empty.json_name()] = {}
                    return
            self.stats.skip("mandatory choice", node.path())
            raise _Unsatisfiable(node.path())

    def leaf(self, node: SchemaNode, out: dict[str, Any], index: int = 0) -> None:
        self.stats.attempted[node.module] += 1
        vals = self.leaf_values(node, index + 1)
        if len(vals) <= index:
            why = self._why(node)
            if node.is_key or node.mandatory:
                self.stats.skip(f"{why} (key/mandatory leaf)", node.path())
                raise _Unsatisfiable(node.path())
            self.stats.skip(why, node.path())
            return
        self._put(node, out, vals[index])

    def _why(self, node: SchemaNode) -> str:
        """Why a leaf got no value: NO_IDENTITY when the module set defines no identity for it."""
        assert node.type is not None
        if _no_identity(self.bundle.type_of(node), node.type):
            return NO_IDENTITY
        return "no value"

    def _put(self, node: SchemaNode, out: dict[str, Any], v: Any) -> None:
        out[node.json_name()] = v
        self.stats.values[node.module] += 1
        self.values.setdefault(node.path(), []).append(v)

    def leaf_list(self, node: SchemaNode, out: dict[str, Any]) -> None:
        self.stats.attempted[node.module] += 1
        n = max(node.min_elements, 1)
        if node.max_elements is not None:
            n = min(n, node.max_elements)
        vals = self.leaf_values(node, n)
        if len(vals) < max(node.min_elements, 1):
            if node.min_elements:
                self.stats.skip(f"{self._why(node)} (leaf-list min-elements)", node.path())
                raise _Unsatisfiable(node.path())
            self.stats.skip(self._why(node), node.path())
            return
        out[node.json_name()] = vals
        self.stats.values[node.module] += 1
        self.values.setdefault(node.path(), []).extend(vals)

    def container(self, node: SchemaNode, out: dict[str, Any], depth: int) -> None:
        if depth >= self.max_depth:
            self.stats.skip("max depth", node.path())
            return
        body: dict[str, Any] = {}
        try:
            self.fill(node, body, depth + 1)
        except _Unsatisfiable:
            if not node.presence and _has_mandatory(node):
                raise
            self.stats.skip("container with unsatisfiable content", node.path())
            return
        if body or node.presence:
            out[node.json_name()] = body

    def list(self, node: SchemaNode, out: dict[str, Any], depth: int) -> None:
        if depth >= self.max_depth:
            if node.min_elements:
                raise _Unsatisfiable(node.path())
            self.stats.skip("max depth", node.path())
            return
        n = max(node.min_elements, 1)
        if depth <= 1:  # top-level lists get several entries, to exercise distinct keys
            n = max(n, self.max_list)
        if node.max_elements is not None:
            n = min(n, node.max_elements)
        entries: list[dict[str, Any]] = []
        keys = [node.child(node.module, k) for k in node.keys]
        if any(k is None for k in keys):
            raise _Unsatisfiable(node.path())
        varying = next((k for k in keys if k is not None and len(self.leaf_values(k, n)) >= n), None)
        for i in range(n):
            entry: dict[str, Any] = {}
            try:
                for kn in keys:
                    assert kn is not None
                    # one key varies between entries, the others keep their first value
                    self.leaf(kn, entry, i if kn is varying else 0)
                for child in node.children:
                    if child.kind is Kind.LEAF and child.is_key:
                        continue
                    self.node(child, entry, depth + 1)
                if i and varying is None:
                    break
            except _Unsatisfiable:
                self.stats.skip("list entry with unsatisfiable content", node.path())
                break
            entries.append(entry)
        if len(entries) < node.min_elements:
            raise _Unsatisfiable(node.path())
        if entries:
            out[node.json_name()] = entries


def _no_identity(yt: YangType, d: Mapping[str, Any]) -> bool:
    """Every member of the type is an identityref with no identity derived from its bases."""
    if d["b"] == "leafref":
        target = d.get("target")
        return target is not None and _no_identity(yt, target)
    if d["b"] == "identityref":
        return isinstance(yt, IdentityrefType) and not yt.allowed()
    if d["b"] == "union":
        return all(_no_identity(m, md) for m, md in zip(_members(yt), d["types"], strict=True))
    return False


def _has_mandatory(node: SchemaNode) -> bool:
    """A non-presence container "exists" when a mandatory node inside it must (RFC 7950 §3)."""
    for c in node.children:
        if c.kind in (Kind.LEAF, Kind.CHOICE, Kind.ANYDATA, Kind.ANYXML) and c.mandatory:
            return True
        if c.kind in (Kind.LIST, Kind.LEAF_LIST) and c.min_elements:
            return True
        if c.kind is Kind.CONTAINER and not c.presence and _has_mandatory(c):
            return True
    return False


def sample_instance(
    bundle: Bundle, rng_seed: int = 0, max_depth: int = 64, max_list: int = 2,
    stats: SampleStats | None = None,
) -> dict[str, Any]:
    """A sample of the whole datastore of ``bundle``, keyed by RFC 7951 member names.

    Two passes: the first gathers leaf values, the second gives leafrefs the values of their
    targets and instance-identifiers the path of a top-level container that has data.
    A list gets max(min-elements, 1) entries (within max-elements); lists at the top (the
    top level or directly in a top-level container) get ``max_list`` entries, to exercise
    distinct keys. ``max_depth`` bounds the nesting of containers and lists; ``stats``, when
    given, receives what was made and what was left out.
    """
    first = _Sampler(bundle, rng_seed, max_depth, max_list, SampleStats(), {}, None)
    out1: dict[str, Any] = {}
    _fill_root(first, out1)
    inst = next(
        (f"/{c.json_name()}" for c in bundle.schema.root.data_children()
         if c.kind is Kind.CONTAINER and c.json_name() in out1), None)
    final = _Sampler(bundle, rng_seed, max_depth, max_list, stats or SampleStats(), first.values, inst)
    out: dict[str, Any] = {}
    _fill_root(final, out)
    return out


def _fill_root(s: _Sampler, out: dict[str, Any]) -> None:
    for top in s.schema.root.children:
        trial: dict[str, Any] = {}
        try:
            s.node(top, trial, 0)
        except _Unsatisfiable:
            s.stats.skip("top-level node unsatisfiable", top.path())
            continue
        out.update(trial)
        s.stats.by_top[top.module] += _count_values(trial)


def _count_values(v: Any) -> int:
    """Leaf and leaf-list values in a sample subtree."""
    if isinstance(v, dict):
        return sum(_count_values(x) for x in v.values())
    if isinstance(v, list) and v and isinstance(v[0], dict):
        return sum(_count_values(x) for x in v)
    return 1


__all__ = ["COMMON_STRINGS", "NO_IDENTITY", "SampleStats", "pattern_strings", "round_trips", "sample_instance"]
