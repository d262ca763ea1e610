"""get and get-config (RFC 6241 §7.1, §7.7) with subtree/XPath filters and with-defaults.

with-defaults (RFC 6243): the datastore keeps only what was set, so the basic mode is
``explicit`` (the tree as stored). ``report-all`` fills in every default in use
(models/defaults.py); ``trim`` drops leaves whose value equals their default;
``report-all-tagged`` reports all and marks default-valued leaves ``wd:default="true"``.
Defaults are filled before filtering, so a content-match can select on a default value.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from datastore.history import commits_state
from models.bundle import YangModel
from models.codec.xml import _ElemNs, encode_xml
from models.codec.xml_write import encode_xml_bytes
from models.defaults import default_of, with_defaults
from models.library import yang_library
from models.schema import Kind, SchemaNode
from server.netconf.capabilities import WD_MODES, WITH_DEFAULTS
from server.netconf.errors import NC, NetconfError
from server.netconf.ops.base import Context, Operation, check_children, child, datastore_of

__all__ = ["Get", "GetConfig", "filter_tree", "xpath_available"]

WD_NS = "urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults"
WD_ATTR = "urn:ietf:params:xml:ns:netconf:default:1.0"


def xpath_available() -> bool:
    try:
        from models import filter as f
    except ImportError:
        return False
    return hasattr(f, "xpath_filter")


def filter_tree(ctx: Context, tree: YangModel, elem: Any) -> YangModel | None:
    """The part of ``tree`` the ``<filter>`` element selects (None: nothing)."""
    ftype = elem.get("type") or elem.get(f"{{{NC}}}type") or "subtree"
    try:
        from models import filter as f
    except ImportError:
        raise NetconfError("operation-not-supported", "filters are not available yet",
                           "application", bad_element="filter") from None
    if ftype == "subtree":
        if len(elem) == 0 and not (elem.text or "").strip():
            return None  # RFC 6241 §6.4.2: an empty filter selects nothing
        got: YangModel | None = f.subtree_filter(ctx.bundle, tree, elem)
        return got
    if ftype == "xpath":
        select = elem.get("select") or elem.get(f"{{{NC}}}select")
        if select is None:
            raise NetconfError("missing-attribute", "an xpath filter needs select",
                               bad_attribute="select", bad_element="filter")
        if not hasattr(f, "xpath_filter"):
            raise NetconfError("operation-not-supported", ":xpath is not supported",
                               bad_element="filter")
        nsmap = {k: v for k, v in elem.nsmap.items() if k is not None}
        got = f.xpath_filter(ctx.bundle, tree, select, nsmap)
        return got
    raise NetconfError("bad-attribute", f"unknown filter type {ftype!r}", bad_attribute="type",
                       bad_element="filter")


def wd_mode(elem: Any, modes: tuple[str, ...] = WD_MODES) -> str:
    """The RFC 6243 with-defaults mode asked for (the basic mode, ``modes[0]``, if none)."""
    c = child(elem, "with-defaults", WD_NS)
    if c is None:
        return modes[0]
    mode = (c.text or "").strip()
    if mode not in modes:
        raise NetconfError("invalid-value", f"with-defaults {mode!r} is not supported",
                           "application", bad_element="with-defaults")
    return mode


def _mark_defaults(ctx: Context, data: Any, mode: str) -> None:
    """trim: remove default-valued leaves; report-all-tagged: tag them."""
    namespaces = ctx.bundle.schema.namespaces

    def walk(elem: Any, node: SchemaNode) -> None:
        for c in list(elem):
            if not isinstance(c.tag, str) or not c.tag.startswith("{"):
                continue
            ns, _, local = c.tag[1:].partition("}")
            module = namespaces.get(ns)
            sn = node.data_child(module, local) if module else None
            if sn is None:
                continue
            if sn.kind in (Kind.CONTAINER, Kind.LIST):
                walk(c, sn)
            elif sn.kind is Kind.LEAF and sn.default is not None and _is_default(ctx, sn, c):
                if mode == "trim":
                    elem.remove(c)
                else:
                    c.set(f"{{{WD_ATTR}}}default", "true")

    walk(data, ctx.bundle.schema.root)


def _is_default(ctx: Context, sn: SchemaNode, elem: Any) -> bool:
    t = ctx.bundle.type_of(sn)
    try:
        v = t.validate(t.from_text(elem.text or "", _ElemNs(elem, ctx.bundle.schema.namespaces)))
    except ValueError:
        return False
    return bool(v == default_of(ctx.bundle, sn))


def _reply(ctx: Context, tree: YangModel | None, elem: Any, config_only: bool) -> list[Any]:
    mode = wd_mode(elem)
    if tree is not None and mode in ("report-all", "report-all-tagged"):
        tree = with_defaults(ctx.bundle, ctx.schema_root, tree, config_only)
        acc = ctx.session.access
        if acc is not None and tree is not None:  # a default must not bring back what NACM hid
            tree = acc.prune(tree)
    flt = child(elem, "filter")
    if flt is not None and tree is not None:
        tree = filter_tree(ctx, tree, flt)
    if tree is None:
        return [etree.Element(f"{{{NC}}}data", nsmap={None: NC})]
    if mode not in ("trim", "report-all-tagged"):
        return [encode_xml_bytes(tree, wrapper="data")]  # nothing left to edit: bytes at once
    data = encode_xml(tree, wrapper="data")
    _mark_defaults(ctx, data, mode)
    if mode == "report-all-tagged":
        etree.cleanup_namespaces(data, top_nsmap={"wd": WD_ATTR})
    return [data]


_PARAMS = [(NC, "filter"), (WD_NS, "with-defaults")]


class GetConfig(Operation):
    NAME = "get-config"
    CAPABILITY = WITH_DEFAULTS

    def run(self, ctx: Context, elem: Any) -> list[Any]:
        check_children(elem, [(NC, "source"), *_PARAMS])
        source = datastore_of(elem, "source")
        return _reply(ctx, ctx.session.get(source), elem, True)


class Get(Operation):
    NAME = "get"

    def run(self, ctx: Context, elem: Any) -> list[Any]:
        check_children(elem, _PARAMS)
        tree = ctx.session.get("running")
        commits = ctx.bundle.node("/yangd-commits:commits")
        lib = ctx.bundle.node("/ietf-yang-library:yang-library")
        tree = tree.model_copy(update={commits.py_name: commits_state(ctx.session.ds),
                                       lib.py_name: yang_library(ctx.bundle)})
        return _reply(ctx, tree, elem, False)

