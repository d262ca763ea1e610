"""Resolve a pyang ``type`` statement into yangd's type descriptor (a small JSON dict).

The descriptor flattens the typedef chain: the built-in base, the effective range/length
(the most derived one), every pattern on the way (all must match, RFC 7950 §9.4.5), the
effective enum/bit set with values/positions, identityref bases, and for a leafref the path
and the resolved type of its target. models/types.py turns a descriptor into validators.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pyang import statements
from pyang.statements import Statement

from models.types import INT_BOUNDS

BUILTINS = frozenset(
    {*INT_BOUNDS, "decimal64", "string", "boolean", "enumeration", "bits", "binary", "leafref",
     "identityref", "empty", "union", "instance-identifier"}
)


def prefix_map(stmt: Statement) -> dict[str, str]:
    """Prefix → module name as visible where ``stmt`` was written (its original module)."""
    mod = getattr(stmt, "i_orig_module", None) or stmt.i_module
    out = {p: m for p, (m, _rev) in getattr(mod, "i_prefixes", {}).items()}
    return out


def qualify(stmt: Statement, name: str) -> str:
    """Resolve ``prefix:name`` (or a bare name) written at ``stmt`` to ``module:name``."""
    prefix, _, local = name.rpartition(":")
    if not prefix:
        mod = getattr(stmt, "i_orig_module", None) or stmt.i_module
        return f"{mod.i_modulename}:{local}"
    return f"{prefix_map(stmt).get(prefix, prefix)}:{local}"


def _bound(text: str, base_lo: Any, base_hi: Any, conv: Any) -> Any:
    if text == "min":
        return base_lo
    if text == "max":
        return base_hi
    return conv(text)


def _parse_parts(arg: str, lo: Any, hi: Any, conv: Any) -> list[list[Any]]:
    parts = []
    for part in arg.split("|"):
        a, sep, b = part.strip().partition("..")
        x = _bound(a.strip(), lo, hi, conv)
        y = _bound(b.strip(), lo, hi, conv) if sep else x
        parts.append([x, y])
    return parts


def _int(text: str) -> int:
    return int(text, 0) if text.lstrip("+-").startswith("0x") else int(text)


def resolve(t: Statement, ctx: Any, leaf: Statement | None, depth: int = 0) -> dict[str, Any]:
    """Descriptor for type statement ``t``; ``leaf`` is the leaf/leaf-list using it."""
    typedef = getattr(t, "i_typedef", None)
    if typedef is not None:
        inner_t = typedef.search_one("type")
        d = resolve(inner_t, ctx, leaf, depth)
        d["td"] = qualify(typedef, typedef.arg)
    else:
        base = t.arg.rpartition(":")[2]
        d = {"b": base}
        if base == "decimal64":
            fd = t.search_one("fraction-digits")
            d["fd"] = int(fd.arg) if fd is not None else 1
    base = d["b"]

    rng = t.search_one("range")
    if rng is not None:
        if base in INT_BOUNDS:
            cur = d.get("range") or [list(INT_BOUNDS[base])]
            d["range"] = _parse_parts(rng.arg, cur[0][0], cur[-1][1], _int)
        elif base == "decimal64":
            limit = Decimal(2**63 - 1).scaleb(-d["fd"])
            cur = d.get("range") or [[str(-limit - Decimal(1).scaleb(-d["fd"])), str(limit)]]
            d["range"] = [[str(a), str(b)] for a, b in
                          _parse_parts(rng.arg, Decimal(cur[0][0]), Decimal(cur[-1][1]), Decimal)]
        _msgs(rng, d, "range")
    length = t.search_one("length")
    if length is not None:
        cur = d.get("length") or [[0, 2**64 - 1]]
        d["length"] = _parse_parts(length.arg, cur[0][0], cur[-1][1], int)
        _msgs(length, d, "length")
    for p in t.search("pattern"):
        invert = p.search_one("modifier") is not None and p.search_one("modifier").arg == "invert-match"
        em, et = p.search_one("error-message"), p.search_one("error-app-tag")
        d.setdefault("pattern", []).append(
            [p.arg, invert, em.arg if em is not None else None, et.arg if et is not None else None]
        )
    enums = [e for e in t.search("enum") if not getattr(e, "i_not_implemented", False)]
    if enums:
        base_values = {n: v for n, v in d.get("enum", [])}  # a derived type restricts, keeps values
        d["enum"] = [[e.arg, base_values.get(e.arg, getattr(e, "i_value", None))] for e in enums]
    bits = [b for b in t.search("bit") if not getattr(b, "i_not_implemented", False)]
    if bits:
        base_pos = {n: v for n, v in d.get("bits", [])}
        d["bits"] = [[b.arg, base_pos.get(b.arg, getattr(b, "i_position", None))] for b in bits]
    bases = t.search("base")
    if bases:
        d["bases"] = [
            f"{b.i_identity.i_module.i_modulename}:{b.i_identity.arg}"
            if getattr(b, "i_identity", None) is not None else qualify(b, b.arg)
            for b in bases
        ]
    ri = t.search_one("require-instance")
    if ri is not None:
        d["ri"] = ri.arg == "true"
    if base == "leafref":
        path = t.search_one("path")
        if path is not None:
            d["path"] = path.arg
            d["pm"] = prefix_map(path)
            d["m"] = path.i_module.i_modulename
            d.setdefault("ri", True)
            _leafref_target(t, path, ctx, leaf, d, depth)
    if base == "instance-identifier":
        d.setdefault("ri", True)
    members = t.search("type")
    if members:
        d["types"] = [resolve(m, ctx, leaf, depth) for m in members]
    return d


def _msgs(stmt: Statement, d: dict[str, Any], what: str) -> None:
    em, et = stmt.search_one("error-message"), stmt.search_one("error-app-tag")
    if em is not None:
        d[f"{what}_em"] = em.arg
    if et is not None:
        d[f"{what}_et"] = et.arg


def _leafref_target(
    t: Statement, path: Statement, ctx: Any, leaf: Statement | None, d: dict[str, Any], depth: int
) -> None:
    if leaf is None or ctx is None or depth > 16:
        return
    spec = getattr(t, "i_type_spec", None)
    ptr = None
    if spec is not None and hasattr(spec, "path_spec"):
        try:
            x = statements.validate_leafref_path(
                ctx, leaf, spec.path_spec, spec.path_, accept_non_config_target=True
            )
        except Exception:  # pyang reports path errors itself; a bad path leaves no target
            x = None
        if x is not None:
            ptr = x[0]
    if ptr is None:
        return
    target_type = ptr.search_one("type")
    if target_type is not None:
        d["target"] = resolve(target_type, ctx, ptr, depth + 1)
    d["tp"] = schema_path(ptr)


def schema_path(stmt: Statement) -> str:
    """RFC 7951-style schema path of a pyang data node (choice/case/input/output skipped)."""
    parts: list[tuple[str, str]] = []
    s = stmt
    while s is not None and s.keyword not in ("module", "submodule"):
        if s.keyword not in ("choice", "case"):
            parts.append((s.i_module.i_modulename, s.arg if s.arg else s.keyword))
        s = s.parent
    out, prev = [], None
    for mod, name in reversed(parts):
        out.append(name if mod == prev else f"{mod}:{name}")
        prev = mod
    return "/" + "/".join(out)
