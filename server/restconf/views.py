"""What a GET returns (RFC 8040 §3.5, §4.3, §4.8; RFC 8527 §3.2): the data a resource holds,
shaped by the ``content``, ``depth``, ``fields``, ``with-defaults`` and ``with-origin`` query
parameters, in JSON or XML.

Reads are cheap for one resource: configuration is read from the datastore's tree along the
path (no copy of the datastore); the operational view (state providers) is only computed when
providers exist and state is asked for, and the server's own state containers
(ietf-yang-library, yangd-commits, ietf-restconf-monitoring) only when the resource lies in
them. ``/restconf/data`` reads running plus that state; ``/restconf/ds/ietf-datastores:X``
reads exactly datastore X (operational: the computed view, with the server's state).

Order of work: content and with-defaults shape the typed value, ``fields`` (fields.py) selects
from it (and applies ``depth`` from each selected node), the value is encoded with the codecs
(models/codec) — placed alone in an otherwise empty tree and cut out of the document again,
so every type is written by the one encoder — then ``depth`` without ``fields`` is applied to
the encoded document (the resource is level 1; for the datastore its top-level nodes are),
and last the metadata (annotate.py: report-all-tagged, with-origin, explicit on operational).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from datastore.history import commits_state
from datastore.operational import with_state
from datastore.path import Path
from datastore.session import Session
from datastore.tree import get_at, set_at
from models.bundle import Bundle, YangModel
from models.codec import encode_json, encode_xml, to_bytes
from models.defaults import default_of, with_defaults
from models.instance import InstanceNode, root_node
from models.library import yang_library
from models.schema import Kind, SchemaNode
from models.yanglist import YangList
from server.restconf.annotate import Annotator, with_namespaces
from server.restconf.errors import RESTCONF_NS, RestconfError
from server.restconf.fields import apply_fields, cut_depth, parse_fields
from server.restconf.media import Media
from server.restconf.monitoring import restconf_state
from server.restconf.paths import Resource

__all__ = ["ReadParams", "Source", "holds_state", "read"]

_SERVER_STATE = ("/ietf-yang-library:yang-library", "/yangd-commits:commits",
                 "/ietf-restconf-monitoring:restconf-state")


@dataclass(frozen=True)
class ReadParams:
    content: str = "all"  # config | nonconfig | all
    depth: int | None = None  # None: unbounded
    with_defaults: str | None = None  # None: the basic mode (explicit; operational: report-all)
    fields: str | None = None  # the fields expression (RFC 8040 §4.8.3), parsed per target
    with_origin: bool = False  # RFC 8527 §3.2.2, operational only


@dataclass(frozen=True)
class Source:
    """The datastore a read works on, as one consistent tree."""

    datastore: str  # running | candidate | startup | operational
    tree: YangModel  # its tree (operational: the computed view's)
    unified: bool = False  # /restconf/data: running plus the server's state (RFC 8040 §3.3.1)
    origins: dict[str, str] | None = None  # operational: instance path → origin where it changes


def _source(session: Session, bundle: Bundle, res: Resource, src: Source, content: str) -> YangModel:
    """The root tree to read ``res`` from."""
    ds = session.ds
    if not src.unified and src.datastore != "operational":
        return src.tree
    if content == "config":
        return src.tree
    tree = src.tree
    if src.unified and ds.state_providers:
        tree = _with_state(session, bundle, tree, res)
    state: dict[str, Any] = {}
    first = res.path[0].node if res.path else None
    for p in _SERVER_STATE:
        node = bundle.node(p)
        if first is None or first is node:
            if node.module == "ietf-yang-library":
                state[node.py_name] = yang_library(bundle)
            elif node.module == "ietf-restconf-monitoring":
                state[node.py_name] = restconf_state(ds)
            else:
                state[node.py_name] = commits_state(ds)
    return tree.model_copy(update=state) if state else tree


def _with_state(session: Session, bundle: Bundle, tree: YangModel, res: Resource) -> YangModel:
    """``tree`` with the providers' state at ``res`` merged in, defaults not filled (the
    with-defaults parameter decides those, as for NETCONF <get>): computed from the resource
    alone (placed in an otherwise empty tree), not from the whole datastore."""
    providers = list(session.ds.state_providers)
    if not res.path:
        return with_state(bundle, tree, providers)
    if not holds_state(res.path[-1].node):  # configuration only: running is the answer,
        return tree  # without asking every provider (some read a database) on every GET
    value = get_at(tree, res.path)
    part = set_at(session.ds.empty(), res.path, value) if value is not None else session.ds.empty()
    return with_state(bundle, part, providers)


_STATE_BELOW: dict[int, bool] = {}


def holds_state(node: SchemaNode) -> bool:
    """Whether ``node`` or a node below it is state data (config false)."""
    got = _STATE_BELOW.get(id(node))
    if got is None:
        got = _STATE_BELOW[id(node)] = any(not n.config for n in node.walk())
    return got


def _missing(bundle: Bundle, res: Resource) -> RestconfError:
    from datastore.path import format_path

    where = format_path(bundle, res.path)
    return RestconfError.one("data-missing", f"no data at {where}", 404, where, type="application")


def read(session: Session, res: Resource, params: ReadParams, media: Media, src: Source) -> bytes:
    """The encoded content of ``res`` in ``src``; RestconfError 404 when it does not exist."""
    bundle = session.ds.bundle
    tree = _source(session, bundle, res, src, params.content)
    acc = session.access
    if acc is not None:  # RFC 8341 §3.4.5: what the user may not read is left out, silently
        tree = acc.prune(tree)
    node = res.node or bundle.schema.root
    sel = parse_fields(node, params.fields) if params.fields is not None else None
    value: Any = get_at(tree, res.path) if res.path else tree
    wd = params.with_defaults
    reporting_all = wd in ("report-all", "report-all-tagged")
    # whens on defaults are XPath over the whole tree (RFC 7950 §7.6.1): the resource's
    # parent instance is where they are evaluated from
    above = _parent_instance(bundle, tree, res.path) if reporting_all and res.path else None
    if value is None and above is not None:
        if node.kind is Kind.LEAF and node.default is not None:
            in_use = above.children_of(node)  # a default under a false when is not in use
            value = in_use[0].value if in_use else None
        elif node.kind is Kind.CONTAINER and not node.presence and above.children_of(node):
            value = node.cls()  # an NP container holding defaults in use: filled in below
    if value is None or not _content_allows(node, params.content):
        raise _missing(bundle, res)
    value = _shape(bundle, node, value, params.content, wd, above)
    if acc is not None and value is not None and wd in ("report-all", "report-all-tagged"):
        # defaults filled in where NACM pruned a node must not bring it back
        value = acc.prune(value) if not res.path else \
            get_at(acc.prune(set_at(session.ds.empty(), res.path, value)), res.path)
    if value is None and res.path:
        raise _missing(bundle, res)
    depth = params.depth
    if sel is not None:
        picked = apply_fields(node, value, sel, depth)
        value = picked if picked is not None else cut_depth(node, value, 0)
        depth = None
    operational_ds = src.datastore == "operational" and not src.unified
    ann = Annotator(bundle, tag_defaults=wd == "report-all-tagged",
                    origins=src.origins if operational_ds else None,
                    with_origin=params.with_origin and operational_ds,
                    drop_defaults=operational_ds and wd == "explicit")
    if not res.path:
        return _encode_data(bundle, value, media, depth, ann)
    single = set_at(session.ds.empty(), res.path, value)
    parent = res.path[-2].node if len(res.path) > 1 else bundle.schema.root
    if media is Media.JSON:
        return _json_resource(single, res.path, node, depth, ann, parent)
    return _xml_resource(bundle, single, res.path, depth, ann, parent)


def _content_allows(node: SchemaNode, content: str) -> bool:
    if content == "config":
        return node.config or not node.module
    if content == "nonconfig" and node.kind in (Kind.LEAF, Kind.LEAF_LIST):
        return not node.config
    return True


# ---- content and with-defaults -------------------------------------------------------------

def _parent_instance(bundle: Bundle, tree: Any, path: Path) -> InstanceNode | None:
    """The instance of the parent of the node at ``path`` in ``tree``, or None when absent."""
    node = root_node(tree, bundle)
    for st in path[:-1]:
        if st.node.kind is Kind.LIST and st.key is not None:
            nxt = node.entry(st.node, st.key)
        else:
            kids = node.children_of(st.node)
            nxt = kids[0] if kids else None
        if nxt is None:
            return None
        node = nxt
    return node


def _shape(bundle: Bundle, node: SchemaNode, value: Any, content: str, wd: str | None,
           above: InstanceNode | None = None) -> Any:
    if content == "all" and wd in (None, "explicit"):
        return value
    if wd in ("report-all", "report-all-tagged") and node.kind in (Kind.CONTAINER, Kind.LIST):
        fill: Callable[[Any], Any] = lambda o: with_defaults(bundle, node, o, content == "config", above)  # noqa: E731
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


def _encode_data(bundle: Bundle, tree: YangModel, media: Media, depth: int | None,
                 ann: Annotator) -> bytes:
    if media is Media.JSON:
        inner = json.loads(encode_json(tree))
        if depth is not None:
            inner = _cut(inner, 0, depth)
        if ann.active:
            ann.json(inner, bundle.schema.root, ())
        return _dump({"ietf-restconf:data": inner})
    elem = encode_xml(tree, wrapper="data", wrapper_ns=RESTCONF_NS)
    if depth is not None:
        _cut_xml(elem, 0, depth)
    if ann.active:
        elem = with_namespaces(elem, ann.xml_namespaces())
        ann.xml(list(elem), bundle.schema.root, (), elem)
    return to_bytes(elem, pretty=True)


def _json_resource(single: YangModel, path: Path, node: SchemaNode, depth: int | None,
                   ann: Annotator, parent: SchemaNode) -> bytes:
    cur: Any = json.loads(encode_json(single))
    for st in path:
        cur = cur[st.node.json_name()]
        if st is not path[-1] and isinstance(cur, list):
            cur = cur[0]
    doc = {f"{node.module}:{node.name}": cur}
    if depth is not None:
        doc = _cut(doc, 0, depth)
    if ann.active:
        ann.json(doc, parent, path[:-1])
    return _dump(doc)


def _xml_resource(bundle: Bundle, single: YangModel, path: Path, depth: int | None,
                  ann: Annotator, parent: SchemaNode) -> bytes:
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
    if ann.active:
        out = with_namespaces(out, ann.xml_namespaces())
        ann.xml([out], parent, path[:-1], None)
    return to_bytes(out, pretty=True)
