"""The YANG 1.1 ``<action>`` operation (RFC 7950 §7.15.2): invoke an action on a data node.

The request names the node by nesting: ``<action xmlns="urn:ietf:params:xml:ns:yang:1">``
holds the node's ancestors from the top, each list entry with its key leaves, and innermost
the action element carrying the input parameters. The handler registered with
``Datastores.add_action`` runs with the instance path of that node; the node must exist
(data-missing otherwise). No capability announces it: servers of YANG 1.1 modules support it.
"""

from __future__ import annotations

from typing import Any

from datastore.path import Path, Step
from models.bundle import Bundle
from models.codec.errors import InstanceError
from models.codec.xml import decode_xml, encode_xml
from models.schema import Kind, SchemaNode
from server.netconf.errors import NetconfError
from server.netconf.ops.base import Context, Operation, instance_errors

__all__ = ["YANG_NS", "Action", "locate"]

YANG_NS = "urn:ietf:params:xml:ns:yang:1"


class _XmlPrefixes:
    """Prefixes of a key value (e.g. an identityref) resolved with the element's namespaces."""

    def __init__(self, bundle: Bundle, elem: Any):
        self.bundle = bundle
        self.elem = elem

    def module_of_prefix(self, prefix: str | None) -> str | None:
        return self.bundle.schema.namespaces.get(self.elem.nsmap.get(prefix))

    def prefix_of_module(self, module: str) -> str:
        return module


def _split(tag: str) -> tuple[str, str]:
    ns, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    return ns, local


def _elements(elem: Any) -> list[Any]:
    return [c for c in elem if isinstance(c.tag, str)]


def _key(bundle: Bundle, node: SchemaNode, elem: Any) -> tuple[Any, ...]:
    ns = bundle.schema.modules[node.module].namespace
    values: list[Any] = []
    for kname in node.keys:
        kelem = elem.find(f"{{{ns}}}{kname}")
        kn = node.child(node.module, kname)
        if kelem is None or kn is None:
            raise NetconfError("missing-element", f"{node.name} entry without key {kname}",
                               bad_element=kname)
        t = bundle.type_of(kn)
        try:
            values.append(t.validate(t.from_text((kelem.text or "").strip(), _XmlPrefixes(bundle, kelem))))
        except ValueError as e:
            raise NetconfError("invalid-value", f"key {kname}: {e}", bad_element=kname) from None
    return tuple(values)


def locate(bundle: Bundle, holder: Any) -> tuple[Path, SchemaNode, Any]:
    """(instance path of the node, the action's schema node, the action element)."""
    node = bundle.schema.root
    path: list[Step] = []
    kids = _elements(holder)
    while True:
        if len(kids) != 1:
            raise NetconfError("missing-element" if not kids else "bad-element",
                               "<action> must name exactly one node and action on it",
                               bad_element=node.name if path else "action")
        elem = kids[0]
        ns, local = _split(elem.tag)
        module = bundle.schema.namespaces.get(ns)
        if module is None:
            raise NetconfError("unknown-namespace", f"unknown namespace {ns!r}", bad_element=local,
                               bad_namespace=ns)
        if path:
            act = next((o for o in node.operations()
                        if o.kind is Kind.ACTION and o.qname == (module, local)), None)
            if act is not None:
                return tuple(path), act, elem
        child = node.data_child(module, local)
        if child is None or child.kind not in (Kind.CONTAINER, Kind.LIST):
            raise NetconfError("unknown-element", f"no container, list or action {local!r} here",
                               bad_element=local)
        key = _key(bundle, child, elem) if child.kind is Kind.LIST and child.keys else None
        if child.kind is Kind.LIST and not child.keys:
            raise NetconfError("bad-element", f"entries of keyless list {local} cannot be named",
                               bad_element=local)
        path.append(Step(child, key))
        keys = {f"{{{ns}}}{k}" for k in child.keys}
        kids = [c for c in _elements(elem) if c.tag not in keys]
        node = child


class Action(Operation):
    NAME = "action"
    NS = YANG_NS

    def run(self, ctx: Context, elem: Any) -> list[Any]:
        bundle = ctx.bundle
        parent, act, act_elem = locate(bundle, elem)
        input_cls = bundle.node(f"{act.path()}/input").cls
        try:
            inp = decode_xml(input_cls, act_elem)
        except InstanceError as e:
            raise instance_errors(e) from None
        out = ctx.session.ds.invoke(ctx.session, act.path(), inp, parent)
        return [] if out is None else list(encode_xml(out))
