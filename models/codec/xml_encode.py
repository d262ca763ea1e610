"""Encode generated-class instances as RFC 7950 XML (lxml elements).

Elements come in schema order with list keys first (RFC 7950 §7.8.5); each element is in
its module's namespace, declared as the default namespace wherever the module changes.
identityref and instance-identifier values get their prefixes declared on the leaf element
itself (the module's own prefix, numbered on a clash).
"""

from __future__ import annotations

from typing import Any

from lxml import etree
from pydantic import BaseModel

from models.bundle import Bundle
from models.codec._plan import ANY, CONTAINER, LEAF, LIST, Child, Plan, bundle_of, plan_of, sub_plan
from models.schema import Kind, SchemaNode

NETCONF_NS = "urn:ietf:params:xml:ns:netconf:base:1.0"
_SubElement = etree.SubElement


class _Prefixes:
    """The ``Namespaces`` view used to write one leaf: records the prefixes it needs."""

    __slots__ = ("bundle", "declared")

    def __init__(self, bundle: Bundle):
        self.bundle = bundle
        self.declared: dict[str, str] = {}  # prefix → namespace URI

    def prefix_of_module(self, module: str) -> str:
        info = self.bundle.schema.modules.get(module)
        if info is None:
            raise ValueError(f"unknown module {module!r}")
        prefix, n = info.prefix, 1
        while self.declared.get(prefix, info.namespace) != info.namespace:
            n += 1
            prefix = f"{info.prefix}{n}"
        self.declared[prefix] = info.namespace
        return prefix

    def module_of_prefix(self, prefix: str | None) -> str | None:
        raise TypeError("this namespace map only writes prefixes (encoding)")


class _Encoder:
    def __init__(self, bundle: Bundle):
        self.bundle = bundle

    def fill(self, elem: Any, obj: Any, plan: Plan, ns: str) -> None:
        """Append the children of ``obj`` (an instance of ``plan.node``'s class) to ``elem``."""
        for c in plan.ordered:
            v = getattr(obj, c.py)
            if v is None:
                continue
            nsmap: dict[str | None, str] | None = None if c.ns == ns else {None: c.ns}
            kind = c.kind
            if kind == LEAF:
                self.leaf(elem, c, v, nsmap)
            elif kind == CONTAINER:
                self.fill(_SubElement(elem, c.tag, nsmap=nsmap), v, c.plan or sub_plan(self.bundle, c), c.ns)
            elif kind == LIST:
                sub = c.plan or sub_plan(self.bundle, c)
                for entry in v:
                    self.fill(_SubElement(elem, c.tag, nsmap=nsmap), entry, sub, c.ns)
            elif kind == ANY:
                self.anydata(_SubElement(elem, c.tag, nsmap=nsmap), v, c.ns)
            else:
                for x in v:
                    self.leaf(elem, c, x, nsmap)

    def leaf(self, elem: Any, c: Child, v: Any, nsmap: dict[str | None, str] | None) -> None:
        if c.needs_ns:
            rec = _Prefixes(self.bundle)
            text = c.to_text(v, rec) if c.to_text is not None else str(v)
            m: dict[str | None, str] = {None: c.ns}  # keeps the tag unprefixed
            m.update(rec.declared)
            _SubElement(elem, c.tag, nsmap=m).text = text
        elif c.to_text is None:
            _SubElement(elem, c.tag, nsmap=nsmap).text = v if isinstance(v, str) else str(v)
        else:
            _SubElement(elem, c.tag, nsmap=nsmap).text = c.to_text(v, None) or None

    def anydata(self, elem: Any, value: Any, ns: str) -> None:
        """JSON-like anydata content: ``module:name`` members switch namespace."""
        if not isinstance(value, dict):
            if value is not None and value != [None]:
                elem.text = _scalar(value)
            return
        for name, v in value.items():
            module, _, local = name.rpartition(":")
            cns = ns
            if module:
                info = self.bundle.schema.modules.get(module)
                if info is None:
                    raise ValueError(f"anydata member {name!r}: unknown module {module!r}")
                cns = info.namespace
            nsmap = None if cns == ns else {None: cns}
            for x in v if isinstance(v, list) and v != [None] else [v]:
                self.anydata(_SubElement(elem, f"{{{cns}}}{local}", nsmap=nsmap), x, cns)


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def encode_xml(obj: BaseModel, wrapper: str | None = "data",
               wrapper_ns: str = NETCONF_NS) -> Any:
    """The XML element for ``obj``.

    For ``Root``: a ``{wrapper_ns}wrapper`` element holding every top-level node (with
    ``wrapper=None``: the single top-level element; ValueError if there is not exactly one).
    For any other class the element is the node itself and ``wrapper`` is not used: a
    container, list entry or notification is named after its node, an rpc/action input after
    the rpc (the NETCONF ``<rpc>`` child), an output ``output`` (RESTCONF).
    """
    node: SchemaNode = type(obj).__yang__  # type: ignore[attr-defined]
    bundle = bundle_of(type(obj))
    enc = _Encoder(bundle)
    if node is bundle.schema.root:
        if wrapper is None:
            holder = etree.Element(f"{{{wrapper_ns}}}data")
            enc.fill(holder, obj, plan_of(bundle, node), wrapper_ns)
            if len(holder) != 1:
                raise ValueError(f"wrapper=None needs exactly one top-level node, not {len(holder)}")
            return holder[0]
        elem = etree.Element(f"{{{wrapper_ns}}}{wrapper}", nsmap={None: wrapper_ns})
        enc.fill(elem, obj, plan_of(bundle, node), wrapper_ns)
        return elem
    ns = bundle.schema.modules[node.module].namespace
    name = node.name
    if node.kind is Kind.INPUT and node.parent is not None:
        name = node.parent.name
    elem = etree.Element(f"{{{ns}}}{name}", nsmap={None: ns})
    enc.fill(elem, obj, plan_of(bundle, node), ns)
    return elem


def to_bytes(elem: Any, pretty: bool = False) -> bytes:
    """UTF-8 serialisation of an element (no XML declaration)."""
    out: bytes = etree.tostring(elem, encoding="UTF-8", pretty_print=pretty)
    return out
