"""Pure functions from a validated pyang context to yangd's Schema (models/schema.py).

pyang has already expanded groupings, augments, refines and deviations into ``i_children``
and removed nodes whose if-feature is false for the chosen feature set; this module only
reads that result and records what later layers need.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pyang.statements import Statement

from models.compiler.frontend import CompileError
from models.compiler.types import prefix_map, qualify, resolve
from models.schema import Identity, Kind, ModuleInfo, Schema, SchemaNode, XPathExpr
from models.xpath import XPathSyntaxError, check_functions

_KINDS = {k.value: k for k in Kind}


def build_schema(ctx: Any, modules: Iterable[Statement], source_hash: str = "") -> Schema:
    """Schema of the implemented ``modules`` (every module in ctx is known for identities)."""
    implemented = [m for m in modules if m.keyword == "module"]
    root = SchemaNode(Kind.CONTAINER, "", "")
    rpcs: list[SchemaNode] = []
    notifs: list[SchemaNode] = []
    for mod in implemented:
        for ch in getattr(mod, "i_children", ()):
            node = _node(ch, ctx, root if ch.keyword not in ("rpc", "notification") else None)
            if node is None:
                continue
            if node.kind is Kind.RPC:
                rpcs.append(node)
            elif node.kind is Kind.NOTIFICATION:
                notifs.append(node)
            else:
                root.children.append(node)
    infos = {m.arg: _module_info(m, ctx, implemented=True) for m in implemented}
    for m in _all_modules(ctx):
        if m.arg not in infos:
            infos[m.arg] = _module_info(m, ctx, implemented=False)
    idents: dict[str, Identity] = {}
    for m in _all_modules(ctx):
        for ident in _identities(m):
            idents[ident.qname] = ident
    return Schema(root, infos, idents, rpcs, notifs, source_hash)


def _all_modules(ctx: Any) -> list[Statement]:
    seen: dict[str, Statement] = {}
    for (name, _rev), m in sorted(ctx.modules.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        if m.keyword == "module":
            seen[name] = m  # latest revision wins
    return list(seen.values())


def _identities(m: Statement) -> Iterable[Identity]:
    for name, stmt in getattr(m, "i_identities", {}).items():
        bases = []
        for b in stmt.search("base"):
            target = getattr(b, "i_identity", None)
            if target is not None:
                bases.append(f"{target.i_module.i_modulename}:{target.arg}")
            else:
                bases.append(qualify(b, b.arg))
        yield Identity(m.arg, name, tuple(bases))


def _module_info(m: Statement, ctx: Any, implemented: bool) -> ModuleInfo:
    rev = m.search_one("revision")
    ns = m.search_one("namespace")
    prefix = m.search_one("prefix")
    features = tuple(sorted(f for f in getattr(m, "i_features", {}) if _feature_enabled(ctx, m.arg, f)))
    subs = []
    for inc in m.search("include"):
        r = inc.search_one("revision-date")
        subs.append((inc.arg, r.arg if r is not None else None))
    deviators = sorted(
        d.arg for d in _all_modules(ctx)
        for dev in d.search("deviation")
        if getattr(dev, "i_target_node", None) is not None
        and dev.i_target_node.i_module.i_modulename == m.arg and d.arg != m.arg
    )
    return ModuleInfo(
        name=m.arg,
        revision=rev.arg if rev is not None else None,
        namespace=ns.arg if ns is not None else "",
        prefix=prefix.arg if prefix is not None else m.arg,
        features=features,
        deviations=tuple(dict.fromkeys(deviators)),
        submodules=tuple(subs),
        implemented=implemented,
        source=Path(str(m.pos.ref)).name if getattr(m.pos, "ref", None) else None,
        yang_version=_arg(m, "yang-version") or "1",
    )


def _feature_enabled(ctx: Any, module: str, feature: str) -> bool:
    chosen = getattr(ctx, "features", {}) or {}
    if module not in chosen:
        return True
    return feature in chosen[module]


def _node(s: Statement, ctx: Any, parent: SchemaNode | None) -> SchemaNode | None:
    kind = _KINDS.get(s.keyword)
    if kind is None:
        return None
    module = s.i_module.i_modulename
    name = s.arg if kind not in (Kind.INPUT, Kind.OUTPUT) else s.keyword
    cfg = getattr(s, "i_config", None)
    node = SchemaNode(kind, name, module, config=cfg is not False and kind not in _NONCONFIG, parent=parent)
    node.status = _arg(s, "status") or "current"
    desc = _arg(s, "description")
    node.description = desc.strip() if desc else None
    deny = {k[1] for k in (x.keyword for x in s.substmts)
            if isinstance(k, tuple) and k[0] == "ietf-netconf-acm"}
    node.nacm_default_deny = "all" if "default-deny-all" in deny else \
        "write" if "default-deny-write" in deny else None
    node.if_features = tuple(f.arg for f in s.search("if-feature"))
    node.must = tuple(_xpath(m, module, "self") for m in s.search("must"))
    node.when = tuple(_whens(s, module))
    if kind is Kind.CONTAINER:
        node.presence = s.search_one("presence") is not None
    if kind in (Kind.LIST, Kind.LEAF_LIST):
        node.ordered_by_user = _arg(s, "ordered-by") == "user"
        node.min_elements = int(_arg(s, "min-elements") or 0)
        mx = _arg(s, "max-elements")
        node.max_elements = None if mx in (None, "unbounded") else int(mx)
    if kind is Kind.LIST:
        key = _arg(s, "key")
        node.keys = tuple(k.rpartition(":")[2] for k in key.split()) if key else ()
        node.unique = tuple(tuple(u.arg.split()) for u in s.search("unique"))
    if kind in (Kind.LEAF, Kind.CHOICE, Kind.ANYDATA, Kind.ANYXML):
        node.mandatory = _arg(s, "mandatory") == "true"
    if kind in (Kind.LEAF, Kind.LEAF_LIST):
        t = s.search_one("type")
        node.type = resolve(t, ctx, s)
        node.units = _arg(s, "units") or _typedef_sub(t, "units")
        defaults = [d for d in s.search("default")]
        if defaults:
            node.default = tuple(d.arg for d in defaults)
            node.default_prefixes = prefix_map(defaults[0])
        elif not node.mandatory:
            td = _typedef_default(t)
            if td is not None:
                node.default = (td.arg,)
                node.default_prefixes = prefix_map(td)
    if kind is Kind.CHOICE:
        d = _arg(s, "default")
        if d is not None:
            node.default = (d,)
    for ch in getattr(s, "i_children", ()):
        c = _node(ch, ctx, node)
        if c is not None:
            node.children.append(c)
    if kind is Kind.LEAF and node.is_key:
        node.default = None
    return node


_NONCONFIG = frozenset({Kind.RPC, Kind.ACTION, Kind.INPUT, Kind.OUTPUT, Kind.NOTIFICATION})


def _arg(s: Statement, keyword: str) -> str | None:
    sub = s.search_one(keyword)
    return sub.arg if sub is not None else None


def _typedef_default(t: Statement) -> Statement | None:
    td = getattr(t, "i_typedef", None)
    while td is not None:
        d = td.search_one("default")
        if d is not None:
            return d
        td = getattr(td.search_one("type"), "i_typedef", None)
    return None


def _typedef_sub(t: Statement, keyword: str) -> str | None:
    td = getattr(t, "i_typedef", None)
    while td is not None:
        v = _arg(td, keyword)
        if v is not None:
            return v
        td = getattr(td.search_one("type"), "i_typedef", None)
    return None


def _xpath(stmt: Statement, module: str, context: str) -> XPathExpr:
    em, et = stmt.search_one("error-message"), stmt.search_one("error-app-tag")
    expr = XPathExpr(
        xpath=stmt.arg,
        module=module,
        prefixes=prefix_map(stmt),
        context=context,
        error_message=em.arg if em is not None else None,
        error_app_tag=et.arg if et is not None else None,
    )
    try:  # parse once now: a bad expression is a compile error with the statement's position
        check_functions(expr.ast, expr.xpath)
    except XPathSyntaxError as e:
        raise CompileError([f"{stmt.pos}: error: bad XPath in {stmt.keyword}: {e}"]) from None
    return expr


def _whens(s: Statement, module: str) -> Iterable[XPathExpr]:
    # pyang copies a uses' when onto each top-level node of the grouping (marked
    # i_origin "uses"); its context is the uses' parent. Descendants do not get it.
    # RFC 7950 §7.21.5: a when on a choice or case has the closest ancestor data node as its
    # context, which is "parent" too: the parent instance of every data node the choice holds.
    for w in s.search("when"):
        if getattr(w, "i_origin", None) == "uses":
            yield _xpath(w, w.i_module.i_modulename, "parent")
        elif s.keyword in ("choice", "case"):
            yield _xpath(w, module, "parent")
        else:
            yield _xpath(w, module, "self")
    aug = getattr(s, "i_augment", None)
    if aug is not None:
        w = aug.search_one("when")
        if w is not None:
            yield _xpath(w, aug.i_module.i_modulename, "parent")
