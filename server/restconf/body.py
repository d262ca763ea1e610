"""Request bodies (RFC 8040 §4.4-4.6) to edit trees (models/edit.py).

A POST, PUT or PATCH body holds exactly one data resource: in JSON one member named
``module:name`` (the module may be left out below a node of the same module), in XML one
element in its module's namespace. On the datastore itself PUT and PATCH take the
``ietf-restconf:data`` wrapper instead. The body is checked against the node the URI names
(or, for POST, against the children of the target) and turned into EditNodes; ``wrap`` then
hangs them under the URI's ancestors so the datastore applies them from the root.
"""

from __future__ import annotations

import json
from typing import Any

from lxml import etree

from datastore.path import Path, format_path
from models.bundle import Bundle
from models.codec import InstanceError, edit_from_xml
from models.codec.xml import parse
from models.edit import EditNode, Op, edit_from_json
from models.schema import Kind, SchemaNode
from server.restconf.errors import RESTCONF_NS, RestconfError
from server.restconf.media import Media

__all__ = ["data_edits", "resource_edits", "wrap"]


def _bad(msg: str, tag: str = "invalid-value", path: str | None = None) -> RestconfError:
    return RestconfError.one(tag, msg, 400, path, type="protocol" if tag == "malformed-message" else "application")


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise _bad(f"malformed JSON: {e}", "malformed-message") from None


def _xml(raw: bytes) -> Any:
    try:
        root = parse(raw)
    except InstanceError as e:
        raise _bad(str(e.issues[0].message) if e.issues else "malformed XML", "malformed-message") from None
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None:
        raise _bad("a document type declaration is not allowed", "malformed-message")
    return root


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _where(bundle: Bundle, parent_path: Path, node: SchemaNode) -> str:
    base = format_path(bundle, parent_path) if parent_path else ""
    return f"{base}/{node.json_name()}"


def resource_edits(bundle: Bundle, raw: bytes, media: Media, parent_path: Path,
                   expect: SchemaNode | None, op: Op) -> list[EditNode]:
    """The EditNodes of one child resource of ``parent_path`` (``expect``: it must be that node)."""
    parent = parent_path[-1].node if parent_path else bundle.schema.root
    if not raw.strip():
        raise _bad("the request needs a body holding the resource", "malformed-message")
    if media is Media.JSON:
        doc = _json(raw)
        if not isinstance(doc, dict) or len(doc) != 1:
            raise _bad("the body must be a JSON object with exactly one member", "malformed-message")
        ((member, value),) = doc.items()
        mod, _, name = str(member).rpartition(":")
        child = parent.data_child(mod or parent.module, name) if (mod or parent.module) else None
        if child is None:
            raise _bad(f"unknown member {member!r}", "unknown-element", _where_name(bundle, parent_path, member))
        _check_expected(child, expect)
        if child.kind in (Kind.LIST, Kind.LEAF_LIST):
            value = [value] if isinstance(value, dict) else value
            if not isinstance(value, list) or len(value) != 1:
                raise _bad(f"{member} must hold exactly one entry", "invalid-value")
        edits = edit_from_json(bundle, child, value, op, _where(bundle, parent_path, child))
    else:
        root = _xml(raw)
        ns, local = _split(root.tag)
        module = bundle.schema.namespaces.get(ns)
        if module is None:
            raise _bad(f"unknown namespace {ns!r}", "unknown-namespace")
        child = parent.data_child(module, local)
        if child is None:
            raise _bad(f"unknown element {local!r}", "unknown-element",
                       _where_name(bundle, parent_path, f"{module}:{local}"))
        _check_expected(child, expect)
        edits = _xml_resource(bundle, root, parent_path, child)
    for e in edits:
        e.op = op
    return edits


def _where_name(bundle: Bundle, parent_path: Path, name: str) -> str:
    return (format_path(bundle, parent_path) if parent_path else "") + "/" + name


def _check_expected(child: SchemaNode, expect: SchemaNode | None) -> None:
    if expect is not None and child is not expect:
        raise _bad(f"the body holds {child.module}:{child.name}, the URI names "
                   f"{expect.module}:{expect.name}")


class _Decl:
    """Namespaces for writing key values: module names as prefixes, recorded."""

    def __init__(self, bundle: Bundle):
        self.bundle = bundle
        self.used: dict[str, str] = {}

    def prefix_of_module(self, module: str) -> str:
        self.used[module] = self.bundle.schema.modules[module].namespace
        return module

    def module_of_prefix(self, prefix: str | None) -> str | None:
        return prefix


def _xml_resource(bundle: Bundle, elem: Any, parent_path: Path, child: SchemaNode) -> list[EditNode]:
    """edit_from_xml on ``elem`` placed under its ancestors (keys written out) in a wrapper."""
    decl = _Decl(bundle)
    chain: list[tuple[str, list[tuple[str, str]]]] = []
    for st in parent_path:
        n = st.node
        ns = bundle.schema.modules[n.module].namespace
        keys: list[tuple[str, str]] = []
        if n.kind is Kind.LIST and st.key is not None:
            for kname, v in zip(n.keys, st.key, strict=True):
                kn = n.child(n.module, kname)
                assert kn is not None
                keys.append((f"{{{ns}}}{kname}", bundle.type_of(kn).to_text(v, decl)))
        chain.append((f"{{{ns}}}{n.name}", keys))
    nsmap: dict[str | None, str] = dict(decl.used.items())
    cur = config = etree.Element("config", nsmap=nsmap)
    for tag, keys in chain:
        cur = etree.SubElement(cur, tag)
        for ktag, text in keys:
            etree.SubElement(cur, ktag).text = text
    cur.append(elem)
    nodes = edit_from_xml(bundle, config)
    for st in parent_path:
        nodes = [c for n in nodes if n.node is st.node for c in n.kids()]
    return [n for n in nodes if n.node is child]


def data_edits(bundle: Bundle, raw: bytes, media: Media, op: Op) -> list[EditNode]:
    """The top-level EditNodes of an ``ietf-restconf:data`` body (PUT/PATCH on the datastore)."""
    if not raw.strip():
        raise _bad("the request needs a body holding ietf-restconf:data", "malformed-message")
    root = bundle.schema.root
    if media is Media.JSON:
        doc = _json(raw)
        if not isinstance(doc, dict) or set(doc) != {"ietf-restconf:data"}:
            raise _bad("the body must be {\"ietf-restconf:data\": {...}}", "malformed-message")
        value = doc["ietf-restconf:data"]
        if not isinstance(value, dict):
            raise _bad("ietf-restconf:data must be a JSON object", "malformed-message")
        edits = edit_from_json(bundle, root, value, None, "/")[0].children
    else:
        elem = _xml(raw)
        if elem.tag != f"{{{RESTCONF_NS}}}data":
            raise _bad(f"the body must be a <data xmlns=\"{RESTCONF_NS}\"> element", "malformed-message")
        edits = edit_from_xml(bundle, elem)
    for e in edits:
        e.op = op
    return edits


def wrap(path: Path, edits: list[EditNode]) -> list[EditNode]:
    """``edits`` (children of the node at ``path``) under ``path``'s ancestors, from the root."""
    for st in reversed(path):
        key = st.key if st.node.kind is Kind.LIST else None
        edits = [EditNode(st.node, None, key=key, children=edits)]
    return edits
