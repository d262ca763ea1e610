"""Request bodies (RFC 8040 §4.4-4.6) to edit trees (models/edit.py).

A POST, PUT or PATCH body holds exactly one data resource: in JSON one member named
``module:name`` (the module may be left out below a node of the same module), in XML one
element in its module's namespace. On the datastore itself PUT and PATCH take the
``ietf-restconf:data`` wrapper instead. The body is checked against the node the URI names
(or, for POST, against the children of the target) and turned into EditNodes; ``wrap`` then
hangs them under the URI's ancestors so the datastore applies them from the root.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from lxml import etree

from datastore.memory import release_memory
from datastore.path import Path, format_path
from models.bundle import Bundle
from models.codec import InstanceError, decode_json, edit_from_xml
from models.edit import EditNode, Op, edit_from_json, edit_from_model
from models.schema import Kind, SchemaNode
from server.restconf.errors import RESTCONF_NS, RestconfError
from server.restconf.media import Media
from server.restconf.parse import parse_json, parse_xml, split_tag

__all__ = ["BULK_BYTES", "bulk", "data_edits", "resource_edits", "wrap"]

BULK_BYTES = 64 * 1024  # a body this large is a bulk edit (bulk(), _decoded())
RELEASE_BYTES = 256 * 1024  # … and this large, its freed memory goes back to the OS after it

_gc_lock = threading.Lock()
_gc_paused = 0  # requests inside bulk() that paused the collector


@contextmanager
def bulk(raw: bytes) -> Iterator[None]:
    """Around decoding and applying a large body: the cyclic garbage collector is paused.

    A 100k-entry PUT builds millions of long-lived, acyclic objects (decoded JSON, EditNodes,
    the new tree) while the datastore's tree is alive; each full collection walks all of them
    again, which was half of the request's CPU (models/codec/_util.py pauses it for the same
    reason). Counted, so concurrent bulk edits resume it only when the last one ends; a
    collector someone else disabled stays disabled.

    Before it resumes, everything alive is frozen (``gc.freeze``: moved out of the
    collector's generations). Otherwise the edit's objects, all still young, are walked by
    the next collections, and the new tree by every full one (1-2 s each at 100k entries,
    in the middle of later requests). Frozen objects are still freed by reference counting,
    as the datastore's acyclic trees are when replaced; only a reference cycle alive at that
    moment and dropped later is never collected, and bulk edits are rare. After a body of
    RELEASE_BYTES or more, the heap it freed is handed back to the OS (datastore/memory.py).
    """
    global _gc_paused
    if len(raw) < BULK_BYTES:
        yield
        return
    with _gc_lock:
        if _gc_paused == 0 and not gc.isenabled():
            paused = False
        else:
            paused = True
            _gc_paused += 1
            gc.disable()
    try:
        yield
    finally:
        if paused:
            with _gc_lock:
                _gc_paused -= 1
                if _gc_paused == 0:
                    gc.freeze()
                    gc.enable()
        if len(raw) >= RELEASE_BYTES:  # the parse tree and edits of a large body are garbage now
            release_memory()


def _bad(msg: str, tag: str = "invalid-value", path: str | None = None) -> RestconfError:
    return RestconfError.one(tag, msg, 400, path, type="protocol" if tag == "malformed-message" else "application")


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
        doc = parse_json(raw)
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
        edits = None
        if not parent_path and child.kind is Kind.CONTAINER and len(raw) >= BULK_BYTES:
            edits = _decoded(bundle, raw, child, op)
        if edits is None:
            edits = edit_from_json(bundle, child, value, op, _where(bundle, parent_path, child))
    else:
        root = parse_xml(raw)
        ns, local = split_tag(root.tag)
        module = bundle.schema.namespaces.get(ns)
        if module is None:
            raise _bad(f"unknown namespace {ns!r}", "unknown-namespace")
        child = parent.data_child(module, local)
        if child is None:
            raise _bad(f"unknown element {local!r}", "unknown-element",
                       _where_name(bundle, parent_path, f"{module}:{local}"))
        _check_expected(child, expect)
        edits = xml_resource_edits(bundle, root, parent_path, child)
    for e in edits:
        e.op = op
    return edits


def _decoded(bundle: Bundle, raw: bytes, child: SchemaNode, op: Op) -> list[EditNode] | None:
    """A large top-level container decoded by its generated class (the codecs' RFC 7951
    decoder, pydantic-core: 2-3x faster than edit_from_json building an EditNode per value)
    and applied whole. None when it does not validate: then edit_from_json decodes it again
    and reports the error exactly as for a small body."""
    try:
        doc = decode_json(bundle.schema.root.cls, raw)
    except InstanceError:
        return None
    value = getattr(doc, child.py_name, None)
    return None if value is None else edit_from_model(child, value, op)


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


def xml_resource_edits(bundle: Bundle, elem: Any, parent_path: Path, child: SchemaNode) -> list[EditNode]:
    """edit_from_xml on ``elem`` placed under its ancestors (keys written out) in a wrapper.

    ``elem`` is spliced in as serialised text, not moved in as an element: lxml's move drops
    the prefix declarations its identityref and instance-identifier *values* need wherever
    an ancestor declares the same namespace (RFC 7950 §9.10.3, §9.13.2).
    """
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
    etree.SubElement(cur, "yangd-value")
    text = etree.tostring(config).replace(b"<yangd-value/>", etree.tostring(elem, with_tail=False), 1)
    nodes = edit_from_xml(bundle, parse_xml(text))
    for st in parent_path:
        nodes = [c for n in nodes if n.node is st.node for c in n.kids()]
    return [n for n in nodes if n.node is child]


def data_edits(bundle: Bundle, raw: bytes, media: Media, op: Op) -> list[EditNode]:
    """The top-level EditNodes of an ``ietf-restconf:data`` body (PUT/PATCH on the datastore)."""
    if not raw.strip():
        raise _bad("the request needs a body holding ietf-restconf:data", "malformed-message")
    root = bundle.schema.root
    if media is Media.JSON:
        doc = parse_json(raw)
        if not isinstance(doc, dict) or set(doc) != {"ietf-restconf:data"}:
            raise _bad("the body must be {\"ietf-restconf:data\": {...}}", "malformed-message")
        value = doc["ietf-restconf:data"]
        if not isinstance(value, dict):
            raise _bad("ietf-restconf:data must be a JSON object", "malformed-message")
        edits = edit_from_json(bundle, root, value, None, "/")[0].children
    else:
        elem = parse_xml(raw)
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
