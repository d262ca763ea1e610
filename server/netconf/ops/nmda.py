"""get-data and edit-data (RFC 8526 §3.1): NETCONF on the NMDA datastores.

``get-data`` reads ``ds:running``, ``ds:candidate``, ``ds:startup`` or ``ds:operational``
(the last: ``Datastores.operational()`` plus the server's own state, as ``get`` has it).
Order of work: with-defaults fills the tree, the subtree/XPath filter selects from it, then
one walk over the encoded reply applies ``config-filter``, ``origin-filter`` /
``negated-origin-filter``, ``max-depth`` (depth 1: the nodes a subtree filter selects, else
the top-level nodes, also with an XPath filter; the keys of a kept list entry are always
kept) and ``with-origin`` (an ``or:origin`` attribute on every top-level configuration node
and wherever the origin changes, RFC 8342 §7.4 inheritance). Ancestors of selected nodes,
with their list keys, are kept, so the reply is a valid instance tree. Origin filters and
with-origin are refused with invalid-value on anything but operational.

with-defaults (RFC 6243) on the configuration datastores works as for get-config (basic mode
explicit). On operational, whose defaults in use are part of the datastore (origin
``or:default``), the basic mode is report-all and the server advertises
``:with-operational-defaults`` (RFC 8526 §3.1.1.2); ``explicit`` drops the default nodes.

NMDA itself is announced as RFC 8526 §2 asks: the yang-library:1.1 capability, and
ietf-netconf-nmda (features ``origin`` and ``with-defaults``) implemented in the YANG library.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from datastore.operational import DEFAULT, OperationalView
from models.bundle import YangModel
from models.codec.xml import _ElemNs, encode_xml
from models.defaults import with_defaults
from models.edit import Op
from models.schema import Kind, SchemaNode
from models.types import MODULE_NAMES
from models.xpath.names import format_literal
from server.netconf.capabilities import WD_MODES
from server.netconf.errors import NetconfError, rpc_errors
from server.netconf.ops.base import Context, Operation, check_children, child, text_of
from server.netconf.ops.monitoring import state_tree
from server.netconf.ops.retrieve import WD_ATTR, WD_NS, _mark_defaults, filter_tree, wd_mode

__all__ = ["NMDA", "ORIGIN", "EditData", "GetData"]

NMDA = "urn:ietf:params:xml:ns:yang:ietf-netconf-nmda"
DS = "urn:ietf:params:xml:ns:yang:ietf-datastores"
ORIGIN = "urn:ietf:params:xml:ns:yang:ietf-origin"
ORIGIN_ATTR = f"{{{ORIGIN}}}origin"
OPERATIONAL_WD_MODES = ("report-all", "explicit", "trim", "report-all-tagged")  # first: basic mode
WITH_OPERATIONAL_DEFAULTS = ("urn:ietf:params:netconf:capability:with-operational-defaults:1.0"
                             f"?basic-mode={OPERATIONAL_WD_MODES[0]}"
                             f"&also-supported={','.join(OPERATIONAL_WD_MODES[1:])}")
_GET_PARAMS = [*((NMDA, n) for n in ("datastore", "subtree-filter", "xpath-filter", "config-filter",
                                     "origin-filter", "negated-origin-filter", "max-depth",
                                     "with-origin")), (WD_NS, "with-defaults")]
_DEFAULT_OPS = {"merge": Op.MERGE, "replace": Op.REPLACE, "none": Op.NONE}


def _split(tag: str) -> tuple[str, str]:
    ns, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    return ns, local


def _identity(ctx: Context, e: Any, what: str) -> str:
    """An identityref value as ``module:name`` (prefix resolved in the element's scope)."""
    text = (e.text or "").strip()
    prefix, _, local = text.rpartition(":")
    module = ctx.bundle.schema.namespaces.get(e.nsmap.get(prefix or None, ""))
    if not local or module is None:
        raise NetconfError("invalid-value", f"bad {what} {text!r}", "protocol", bad_element=what)
    return f"{module}:{local}"


def _datastore(ctx: Context, elem: Any, allowed: tuple[str, ...]) -> str:
    e = child(elem, "datastore", NMDA, required=True)
    ident = _identity(ctx, e, "datastore")
    name = ident.removeprefix("ietf-datastores:")
    if name == ident or name not in allowed:
        raise NetconfError("invalid-value", f"datastore {ident} is not supported here", "protocol",
                           bad_element="datastore")
    return name


def _max_depth(elem: Any) -> int | None:
    text = text_of(elem, "max-depth", NMDA)
    if text is None or text == "unbounded":
        return None
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise NetconfError("invalid-value", f"bad max-depth {text!r}", "protocol", bad_element="max-depth")
    return int(text)


def _config_filter(elem: Any) -> bool | None:
    text = text_of(elem, "config-filter", NMDA)
    if text is None:
        return None
    if text not in ("true", "false"):
        raise NetconfError("invalid-value", f"bad config-filter {text!r}", "protocol",
                           bad_element="config-filter")
    return text == "true"


class _Shaper:
    """The reply walk: config/origin filters, max-depth, explicit-on-operational, with-origin."""

    def __init__(self, ctx: Context, view: OperationalView | None, config: bool | None,
                 origins: tuple[frozenset[str], bool] | None, depth: int | None,
                 with_origin: bool, drop_defaults: bool, prefixes: dict[str, str]) -> None:
        self.ctx = ctx
        self.namespaces = ctx.bundle.schema.namespaces
        self.view = view
        self.config = config
        self.origins = origins  # (origins matched, negated)
        self.depth = depth
        self.with_origin = with_origin
        self.drop_defaults = drop_defaults
        self.prefixes = prefixes  # module → XML prefix for origin identity values
        self.paths = view is not None and (with_origin or origins is not None or drop_defaults)

    def walk(self, elem: Any, node: SchemaNode, path: str, module: str, parent_origin: str | None,
             depth: int | None, flt: Any = None) -> bool:
        """Shape ``elem``'s children in place; True if a non-key child is kept. ``depth``: that
        of ``elem`` (None: above the nodes a subtree filter selects, ``flt`` its filter node)."""
        kept = False
        for c in list(elem):
            if not isinstance(c.tag, str):
                continue
            ns, local = _split(c.tag)
            mod = self.namespaces.get(ns)
            sn = node.data_child(mod, local) if mod else None
            if sn is None or sn.is_key:
                continue  # keys go with their entry
            cpath = ""
            if self.paths:
                cpath = f"{path}/{local if mod == module else f'{mod}:{local}'}{self._keys(c, sn)}"
            origin = self.view.origin_of(cpath) if self.view is not None and self.paths else None
            d, fc = (None if depth is None else depth + 1), None
            if flt is not None:
                fc = next((f for f in flt if f.tag in (c.tag, local)), None)  # §6.2.1: no ns
                if fc is not None and _selects(fc):
                    d, fc = 1, None
            if self._node(c, sn, cpath, origin, parent_origin, d, fc):
                kept = True
            else:
                elem.remove(c)
        return kept

    def _node(self, c: Any, sn: SchemaNode, path: str, origin: str | None,
              parent_origin: str | None, depth: int | None, flt: Any) -> bool:
        if self.depth is not None and depth is not None and depth > self.depth:
            return False
        if self.drop_defaults and origin == DEFAULT:
            return False
        if self.config is True and not sn.config:
            return False
        matches = self.config is None or sn.config == self.config
        if matches and sn.config and self.origins is not None:
            wanted, negated = self.origins
            matches = ((origin or "ietf-origin:unknown") in wanted) != negated
        if sn.kind in (Kind.CONTAINER, Kind.LIST):
            inner = self.walk(c, sn, path, sn.module, origin if sn.config else parent_origin, depth,
                              flt)
            keep = matches or inner
        else:
            keep = matches
        if keep and self.with_origin and sn.config and origin is not None and origin != parent_origin:
            mod, _, name = origin.partition(":")
            c.set(ORIGIN_ATTR, f"{self.prefixes.get(mod, mod)}:{name}")
        return keep

    def _keys(self, c: Any, sn: SchemaNode) -> str:
        if sn.kind is not Kind.LIST or not sn.keys:
            return ""
        out = []
        ns = self.ctx.bundle.schema.modules[sn.module].namespace
        for k in sn.keys:
            ke = c.find(f"{{{ns}}}{k}")
            text = (ke.text or "") if ke is not None else ""
            knode = sn.child(sn.module, k)
            if knode is not None and ke is not None:
                t = self.ctx.bundle.type_of(knode)
                try:
                    v = t.validate(t.from_text(text, _ElemNs(ke, self.namespaces)))
                    text = t.to_text(v, MODULE_NAMES)
                except ValueError:
                    pass
            out.append(f"[{k}={format_literal(text)}]")
        return "".join(out)


def _selects(f: Any) -> bool:
    """A subtree-filter node that selects its data node (RFC 6241 §6.2.5): it has no child
    elements, or only content-match nodes (which select the whole sibling set)."""
    kids = [k for k in f if isinstance(k.tag, str)]
    return all(len(k) == 0 and (k.text or "").strip() for k in kids)


class GetData(Operation):
    NAME = "get-data"
    NS = NMDA
    CAPABILITY = WITH_OPERATIONAL_DEFAULTS

    def run(self, ctx: Context, elem: Any) -> list[Any]:
        check_children(elem, _GET_PARAMS)
        source = _datastore(ctx, elem, ("running", "candidate", "startup", "operational"))
        operational = source == "operational"
        config = _config_filter(elem)
        depth = _max_depth(elem)
        with_origin = child(elem, "with-origin", NMDA) is not None
        origins = self._origin_filter(ctx, elem)
        if not operational and (with_origin or origins is not None):
            raise NetconfError("invalid-value", "origin filters and with-origin need ds:operational",
                               "protocol", bad_element="with-origin" if with_origin else "origin-filter")
        mode = wd_mode(elem, OPERATIONAL_WD_MODES if operational else WD_MODES)
        view: OperationalView | None = None
        if operational:
            view = ctx.session.ds.operational()
            tree: YangModel | None = state_tree(ctx, view.tree)
        else:
            tree = ctx.session.get(source)
            if mode in ("report-all", "report-all-tagged"):
                tree = with_defaults(ctx.bundle, ctx.schema_root, tree, True)
        tree = self._filter(ctx, elem, tree)
        prefixes = {"ietf-origin": "or"}
        nsmap: dict[str | None, str] = {None: NMDA}
        if view is not None and with_origin:
            nsmap["or"] = ORIGIN
            for o in set(view.origins.values()):
                mod = o.partition(":")[0]
                if mod not in prefixes and mod in ctx.bundle.schema.modules:
                    info = ctx.bundle.schema.modules[mod]
                    prefixes[mod] = f"or{len(prefixes)}"
                    nsmap[prefixes[mod]] = info.namespace
        data = etree.Element(f"{{{NMDA}}}data", nsmap=nsmap)
        if tree is None:
            return [data]
        data.extend(list(encode_xml(tree, wrapper="data")))
        shaper = _Shaper(ctx, view, config, origins, depth, with_origin,
                         operational and mode == "explicit", prefixes)
        sub = child(elem, "subtree-filter", NMDA)
        shaper.walk(data, ctx.schema_root, "", "", None, None if sub is not None else 0, sub)
        if mode in ("trim", "report-all-tagged"):
            _mark_defaults(ctx, data, mode)
            if mode == "report-all-tagged":
                etree.cleanup_namespaces(data, top_nsmap={"wd": WD_ATTR})
        return [data]

    @staticmethod
    def _origin_filter(ctx: Context, elem: Any) -> tuple[frozenset[str], bool] | None:
        pos = elem.findall(f"{{{NMDA}}}origin-filter")
        neg = elem.findall(f"{{{NMDA}}}negated-origin-filter")
        if pos and neg:
            raise NetconfError("bad-element", "origin-filter and negated-origin-filter exclude each other",
                               "protocol", bad_element="negated-origin-filter")
        if not pos and not neg:
            return None
        wanted: set[str] = set()
        schema = ctx.bundle.schema
        for e in pos or neg:
            ident = _identity(ctx, e, e.tag.partition("}")[2])
            if ident not in schema.identities:
                raise NetconfError("invalid-value", f"unknown origin {ident}", "protocol",
                                   bad_element="origin-filter")
            wanted |= {ident, *schema.derived_from(ident)}  # derived-from-or-self
        return frozenset(wanted), bool(neg)


    @staticmethod
    def _filter(ctx: Context, elem: Any, tree: YangModel | None) -> YangModel | None:
        sub = child(elem, "subtree-filter", NMDA)
        xp = child(elem, "xpath-filter", NMDA)
        if sub is not None and xp is not None:
            raise NetconfError("bad-element", "subtree-filter and xpath-filter exclude each other",
                               "protocol", bad_element="xpath-filter")
        if tree is None:
            return None
        if sub is not None:
            return filter_tree(ctx, tree, sub)
        if xp is not None:
            flt = etree.Element("filter", nsmap={k: v for k, v in xp.nsmap.items() if k is not None})
            flt.set("type", "xpath")
            flt.set("select", (xp.text or "").strip())
            return filter_tree(ctx, tree, flt)
        return tree


class EditData(Operation):
    NAME = "edit-data"
    NS = NMDA

    def run(self, ctx: Context, elem: Any) -> list[Any]:
        from models.codec.edit_xml import edit_from_xml

        check_children(elem, [(NMDA, n) for n in ("datastore", "default-operation", "config", "url")])
        target = _datastore(ctx, elem, ("running", "candidate"))
        dop = text_of(elem, "default-operation", NMDA) or "merge"
        if dop not in _DEFAULT_OPS:
            raise NetconfError("invalid-value", "<default-operation> must be merge, replace or none",
                               "protocol", bad_element="default-operation")
        if child(elem, "url", NMDA) is not None:
            raise NetconfError("operation-not-supported", ":url is not supported", bad_element="url")
        config = child(elem, "config", NMDA, required=True)
        edits = edit_from_xml(ctx.bundle, config)
        # RFC 8526 §3.1.2: on an error the datastore is restored to its state before the edit
        skipped = ctx.session.edit(target, edits, _DEFAULT_OPS[dop], "test-then-set", "rollback-on-error")
        return rpc_errors(ctx.bundle.schema, skipped)
