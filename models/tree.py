"""``yangd tree``: the schema as an RFC 8340 tree diagram, printed from yangd's own schema.

Printing from models.schema (not pyang's tree plugin) shows what yangd actually compiled:
features chosen, deviations applied, augments merged.
"""

from __future__ import annotations

from collections.abc import Iterator

from models.schema import Kind, Schema, SchemaNode


def tree_lines(schema: Schema, module: str) -> Iterator[str]:
    """RFC 8340 lines for ``module``: its top-level nodes, augments into others, rpcs, notifications."""
    yield f"module: {module}"
    tops = [n for n in schema.root.data_children() if n.module == module]
    yield from _children(tops, "  ")
    for top in schema.root.data_children():
        if top.module == module:
            continue
        for n in top.walk():
            aug = [c for c in n.children if c.module == module and (n.module != module)]
            if aug and n.kind is not Kind.CASE:
                yield ""
                yield f"  augment {n.path()}:"
                yield from _children(aug, "    ")
    rpcs = [r for r in schema.rpcs if r.module == module]
    if rpcs:
        yield ""
        yield "  rpcs:"
        yield from _children(rpcs, "    ")
    notifs = [n for n in schema.notifications if n.module == module]
    if notifs:
        yield ""
        yield "  notifications:"
        yield from _children(notifs, "    ")


def _children(nodes: list[SchemaNode], indent: str) -> Iterator[str]:
    for i, n in enumerate(nodes):
        last = i == len(nodes) - 1
        yield indent + "+--" + _line(n)
        kids = [c for c in n.children if c.kind not in (Kind.INPUT, Kind.OUTPUT) or c.children]
        if kids:
            yield from _children(kids, indent + ("   " if last else "|  "))


def _flags(n: SchemaNode) -> str:
    if n.kind in (Kind.RPC, Kind.ACTION):
        return "-x"
    if n.kind is Kind.NOTIFICATION:
        return "-n"
    if n.kind in (Kind.CHOICE, Kind.CASE):
        return ""
    p = n
    while p.parent is not None and p.kind not in (Kind.INPUT, Kind.OUTPUT):
        p = p.parent
    if p.kind is Kind.INPUT:
        return "-w"
    if p.kind is Kind.OUTPUT:
        return "ro"
    return "rw" if n.config else "ro"


def _line(n: SchemaNode) -> str:
    parent_module = n.parent.module if n.parent is not None and n.parent.module else n.module
    name = n.name if n.module == parent_module else f"{n.module}:{n.name}"
    flags = _flags(n)
    if n.kind is Kind.CHOICE:
        return f"({name}){'' if n.mandatory else '?'}"
    if n.kind is Kind.CASE:
        return f":({name})"
    if n.kind in (Kind.INPUT, Kind.OUTPUT):
        return f"{flags} {n.kind.value}" if flags else n.kind.value
    suffix = ""
    if n.kind is Kind.CONTAINER and n.presence:
        suffix = "!"
    elif n.kind is Kind.LIST:
        suffix = "* [" + " ".join(n.keys) + "]" if n.keys else "*"
    elif n.kind is Kind.LEAF_LIST:
        suffix = "*"
    elif n.kind in (Kind.LEAF, Kind.ANYDATA, Kind.ANYXML) and not n.mandatory and not n.is_key:
        suffix = "?"
    text = f"{flags} {name}{suffix}"
    if n.type is not None:
        text = f"{text:<40} {_type_name(n)}"
    elif n.kind in (Kind.ANYDATA, Kind.ANYXML):
        text = f"{text:<40} {n.kind.value}"
    if n.if_features:
        text += " {" + " ".join(n.if_features) + "}?"
    return text


def _type_name(n: SchemaNode) -> str:
    t = n.type or {}
    if t.get("b") == "leafref":
        return "-> " + str(t.get("path", "?"))
    td = t.get("td")
    if td:
        mod, _, name = str(td).partition(":")
        return name if mod == n.module else f"{mod}:{name}"
    return str(t.get("b"))
