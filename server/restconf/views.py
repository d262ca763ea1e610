"""What a GET returns (RFC 8040 §3.5, §4.3, §4.8): the data a resource holds, shaped by the
``content``, ``depth`` and ``with-defaults`` query parameters, in JSON or XML.

Reads are cheap for one resource: configuration is read from running along the path
(no copy of the datastore); the operational view (state providers) is only computed when
providers exist and state is asked for, and the server's own state containers
(ietf-yang-library, yangd-commits) only when the resource lies in them.

Encoding: the resource is placed alone in an otherwise empty tree, encoded with the codecs
(models/codec) and the node cut out of the document again, so every type is written by
the one encoder. ``depth`` is applied to the encoded document (the resource is level 1;
for the datastore its top-level nodes are).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from datastore.history import commits_state
from datastore.path import Path
from datastore.session import Session
from datastore.tree import get_at, set_at
from models.bundle import Bundle, YangModel
from models.codec import encode_json, encode_xml, to_bytes
from models.defaults import default_of, with_defaults
from models.library import yang_library
from models.schema import Kind, SchemaNode
from models.yanglist import YangList
from server.restconf.errors import RESTCONF_NS, RestconfError
from server.restconf.media import Media
from server.restconf.paths import Resource

__all__ = ["ReadParams", "read"]

_SERVER_STATE = ("/ietf-yang-library:yang-library", "/yangd-commits:commits")


@dataclass(frozen=True)
class ReadParams:
    content: str = "all"  # config | nonconfig | all
    depth: int | None = None  # None: unbounded
    with_defaults: str | None = None  # None: the basic mode, explicit


def _source(session: Session, bundle: Bundle, res: Resource, content: str) -> YangModel:
    """The root tree to read ``res`` from."""
    ds = session.ds
    if content == "config":
        return session.get("running")
    tree = session.get("operational") if ds.state_providers else session.get("running")
    state: dict[str, Any] = {}
    first = res.path[0].node if res.path else None
    for p in _SERVER_STATE:
        node = bundle.node(p)
        if first is None or first is node:
            if node.module == "ietf-yang-library":
                state[node.py_name] = yang_library(bundle)
            else:
                state[node.py_name] = commits_state(ds)
    return tree.model_copy(update=state) if state else tree


def _missing(bundle: Bundle, res: Resource) -> RestconfError:
    from datastore.path import format_path

    where = format_path(bundle, res.path)
    return RestconfError.one("data-missing", f"no data at {where}", 404, where, type="application")


def read(session: Session, res: Resource, params: ReadParams, media: Media) -> bytes:
    """The encoded content of ``res``; RestconfError 404 when it does not exist."""
    bundle = session.ds.bundle
    tree = _source(session, bundle, res, params.content)
    node = res.node or bundle.schema.root
    value: Any = get_at(tree, res.path) if res.path else tree
    wd = params.with_defaults
    if value is None and wd == "report-all" and node.kind is Kind.LEAF and node.default is not None:
        value = default_of(bundle, node)
    if value is None or not _content_allows(node, params.content):
        raise _missing(bundle, res)
    value = _shape(bundle, node, value, params.content, wd)
    if value is None and res.path:
        raise _missing(bundle, res)
    if not res.path:
        return _encode_data(value, media, params.depth)
    single = set_at(session.ds.empty(), res.path, value)
    if media is Media.JSON:
        return _json_resource(single, res.path, node, params.depth)
    return _xml_resource(bundle, single, res.path, params.depth)


def _content_allows(node: SchemaNode, content: str) -> bool:
    if content == "config":
        return node.config or not node.module
    if content == "nonconfig" and node.kind in (Kind.LEAF, Kind.LEAF_LIST):
        return not node.config
    return True


# ---- content and with-defaults -------------------------------------------------------------

def _shape(bundle: Bundle, node: SchemaNode, value: Any, content: str, wd: str | None) -> Any:
    if content == "all" and wd in (None, "explicit"):
        return value
    if wd == "report-all" and node.kind in (Kind.CONTAINER, Kind.LIST):
        fill: Callable[[Any], Any] = lambda o: with_defaults(bundle, node, o, content == "config")  # noqa: E731
        value = _each(value, fill)
    if content == "all" and wd != "trim":
        return value
    return _each(value, lambda o: _prune(bundle, node, o, content, wd == "trim"))


def _each(value: Any, fn: Callable[[Any], Any]) -> Any:
    if isinstance(value, YangList):
        entries = [x for x in (fn(e) for e in value) if x is not None]
        return type(value)(entries, value.key_names) if entries else None
    if isinstance(value, YangModel):
        return fn(value)
    return value


def _prune(bundle: Bundle, node: SchemaNode, obj: YangModel, content: str, trim: bool) -> YangModel | None:
    """``obj`` without the nodes ``content`` excludes and (trim) default-valued leaves."""
    updates: dict[str, Any] = {}
    kept = False
    for c in node.data_children():
        v = getattr(obj, c.py_name)
        if v is None:
            continue
        new = v
        if content == "config" and not c.config:
            new = None
        elif content == "nonconfig" and c.config:
            if c.kind is Kind.CONTAINER:
                new = _prune(bundle, c, v, content, trim)
            elif c.kind is Kind.LIST:
                new = _each(v, lambda o, c=c: _prune(bundle, c, o, content, trim))  # type: ignore[misc]
            elif not c.is_key:
                new = None
        elif c.kind is Kind.CONTAINER:
            new = _prune(bundle, c, v, content, trim)
        elif c.kind is Kind.LIST:
            new = _each(v, lambda o, c=c: _prune(bundle, c, o, content, trim))  # type: ignore[misc]
        elif trim and c.kind is Kind.LEAF and c.default is not None and not c.is_key \
                and v == default_of(bundle, c):
            new = None
        if new is not v:
            updates[c.py_name] = new
        if new is not None and not c.is_key:
            kept = True
    if content == "nonconfig" and not kept and node.module and node.config:
        return None
    return obj.model_copy(update=updates) if updates else obj


# ---- encoding ---------------------------------------------------------------------------------

def _cut(d: dict[str, Any], level: int, depth: int) -> dict[str, Any]:
    """RFC 8040 §4.8.2: members of an object at ``level`` are at level + 1."""
    out: dict[str, Any] = {}
    if level + 1 > depth:
        return out
    for k, v in d.items():
        if isinstance(v, dict):
            out[k] = _cut(v, level + 1, depth)
        elif isinstance(v, list):
            out[k] = [_cut(e, level + 1, depth) if isinstance(e, dict) else e for e in v]
        else:
            out[k] = v
    return out


def _cut_xml(elem: Any, level: int, depth: int) -> None:
    for c in list(elem):
        if level + 1 > depth:
            elem.remove(c)
        else:
            _cut_xml(c, level + 1, depth)


def _dump(doc: Any) -> bytes:
    return json.dumps(doc, indent=2, ensure_ascii=False).encode()


def _encode_data(tree: YangModel, media: Media, depth: int | None) -> bytes:
    if media is Media.JSON:
        inner = json.loads(encode_json(tree))
        if depth is not None:
            inner = _cut(inner, 0, depth)
        return _dump({"ietf-restconf:data": inner})
    elem = encode_xml(tree, wrapper="data", wrapper_ns=RESTCONF_NS)
    if depth is not None:
        _cut_xml(elem, 0, depth)
    return to_bytes(elem, pretty=True)


def _json_resource(single: YangModel, path: Path, node: SchemaNode, depth: int | None) -> bytes:
    cur: Any = json.loads(encode_json(single))
    for st in path:
        cur = cur[st.node.json_name()]
        if st is not path[-1] and isinstance(cur, list):
            cur = cur[0]
    doc = {f"{node.module}:{node.name}": cur}
    return _dump(_cut(doc, 0, depth) if depth is not None else doc)


def _xml_resource(bundle: Bundle, single: YangModel, path: Path, depth: int | None) -> bytes:
    elem = encode_xml(single, wrapper="data", wrapper_ns=RESTCONF_NS)
    found: list[Any] = [elem]
    for st in path:
        tag = f"{{{bundle.schema.modules[st.node.module].namespace}}}{st.node.name}"
        found = [c for e in found[:1] for c in e if c.tag == tag]
    if len(found) != 1:
        raise RestconfError.one("invalid-value", "in XML a whole list or leaf-list cannot be one "
                                "document: name one entry, GET its parent, or ask for JSON", 400)
    out = found[0]
    if depth is not None:
        _cut_xml(out, 1, depth)
    return to_bytes(out, pretty=True)
