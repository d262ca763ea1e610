"""YANG Patch (RFC 8072): PATCH with application/yang-patch+json or +xml.

A patch is an ordered list of edits (create, delete, insert, merge, move, replace, remove),
each on a ``target`` relative to the request URI (§2.2; "/" is the resource itself). The
edits are applied in order to a copy of the target datastore (running, or the one an RFC 8527
URI names), each to the result of the ones before (§2.1), so a failing edit is known and
reported by its ``edit-id``; then all of them go to the datastore as ONE edit — for running
the commit path of every RESTCONF and NETCONF edit (targets.apply, Session.edit) — which
validates the result: constraint violations are reported as global errors (§2.3). Either
every edit is committed or nothing changes. Preconditions (If-Match, ...) and the reply's
ETag / Last-Modified are those of a plain edit of the request resource.

The reply is a ``yang-patch-status`` (§2.3) in the negotiated yang-data encoding: 200 with
``ok``, or the status of the first error's tag (RFC 8040 §7) with the failing edit's
``errors`` or the global ``errors``. A document that is not a YANG Patch at all is a plain
RFC 8040 errors reply (400).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import Request, Response
from lxml import etree

from datastore.edit import apply_edit
from datastore.path import Path, format_path
from datastore.session import Session
from datastore.tree import get_at
from models.bundle import Bundle, YangModel
from models.edit import EditNode, Op
from models.errors import YangdError, YangdErrors
from models.schema import Kind
from server.restconf.body import resource_edits, wrap, xml_resource_edits
from server.restconf.dependencies import get_state, raw_data_path, target
from server.restconf.errors import RESTCONF_NS, RestconfError, error_body, status_of
from server.restconf.media import Media, accepted
from server.restconf.parse import malformed, split_tag
from server.restconf.paths import Resource, parse_resource
from server.restconf.query import check_none
from server.restconf.targets import apply as apply_edits
from server.restconf.targets import check_edit, edit_headers, tree_of, writable
from server.restconf.yang_patch_doc import PATCH_NS, Edit, parse_patch

__all__ = ["ACCEPT_PATCH", "CAPABILITY", "PATCH_NS", "apply", "patch_media"]

log = logging.getLogger("yangd.restconf")

CAPABILITY = "urn:ietf:params:restconf:capability:yang-patch:1.0"  # RFC 8072 §3, §4.1
_TYPES = {"application/yang-patch+json": Media.JSON, "application/yang-patch+xml": Media.XML}
ACCEPT_PATCH = ", ".join(_TYPES)

_VALUE_OPS = ("create", "insert", "merge", "replace")  # the when of ``value``
_EDIT_OP = {"create": Op.CREATE, "insert": Op.CREATE, "merge": Op.MERGE, "replace": Op.REPLACE,
            "delete": Op.DELETE, "remove": Op.REMOVE, "move": Op.MERGE}


def patch_media(content_type: str | None) -> Media | None:
    """The encoding of a YANG Patch body, or None when the body is not a YANG Patch."""
    if not content_type:
        return None
    return _TYPES.get(content_type.split(";")[0].strip().lower())


# ---- one edit --------------------------------------------------------------------------
def _resolve(bundle: Bundle, base: str, offset: str, what: str) -> Path:
    """The data node ``offset`` names below the request resource (raw path ``base``)."""
    if not offset.startswith("/"):
        raise YangdErrors.one("invalid-value", f"{what} {offset!r} must start with '/'")
    res = parse_resource(bundle, base + offset if offset != "/" else base or "/")
    if not res.path:
        raise YangdErrors.one("invalid-value", f"the {what} must be a data resource, not the datastore")
    return res.path


def _bare(path: Path, op: Op) -> EditNode:
    last = path[-1]
    if last.node.kind is Kind.LIST:
        return EditNode(last.node, op, key=last.key)
    if last.node.kind is Kind.LEAF_LIST:
        return EditNode(last.node, op, value=last.key[0] if last.key else None)
    return EditNode(last.node, op)


def _xml_edits(bundle: Bundle, elem: Any, path: Path, op: Op) -> list[EditNode]:
    """The XML value ``elem`` as EditNodes of the target node (exactly that node)."""
    try:
        nodes = xml_resource_edits(bundle, elem, path[:-1], path[-1].node)
    except RestconfError as e:
        raise YangdErrors(e.errors) from None
    target = path[-1].node
    nodes = [ed for ed in nodes if not ed.node.is_key]  # the parent entry's keys written above
    if not nodes or any(ed.node is not target for ed in nodes):
        raise YangdErrors.one("invalid-value", f"value must hold {target.module}:{target.name}",
                              format_path(bundle, path))
    for ed in nodes:
        ed.op = op
    return nodes


def _value(bundle: Bundle, e: Edit, media: Media, path: Path) -> EditNode:
    """The EditNode of ``value``: exactly the target node, same key (§2.2)."""
    node = path[-1].node
    op = _EDIT_OP[e.operation]
    if media is Media.JSON:
        edits = resource_edits(bundle, json.dumps(e.value).encode(), media, path[:-1], node, op)
    else:
        inner = [c for c in e.value if isinstance(c.tag, str)]
        if len(inner) != 1:
            raise YangdErrors.one("invalid-value", "value must hold exactly one element",
                                  format_path(bundle, path))
        edits = _xml_edits(bundle, inner[0], path, op)
    if len(edits) != 1:
        raise YangdErrors.one("invalid-value", "value must hold exactly the target node",
                              format_path(bundle, path))
    ed = edits[0]
    key = path[-1].key
    got = ed.key if node.kind is Kind.LIST else (ed.value,) if node.kind is Kind.LEAF_LIST else None
    if key is not None and got != key:
        raise YangdErrors.one("invalid-value", "the key in value differs from the target's",
                              format_path(bundle, path))
    return ed


def _edit_nodes(bundle: Bundle, tree: YangModel, base: str, e: Edit, media: Media) -> list[EditNode]:
    """Edit ``e`` as EditNodes from the root, checked against ``tree`` (running so far)."""
    path = _resolve(bundle, base, e.target, "target")
    node = path[-1].node
    where = format_path(bundle, path)
    op = e.operation
    positional = op in ("insert", "move")
    if e.value is not None and op not in _VALUE_OPS:
        raise YangdErrors.one("invalid-value", f"value is not allowed with {op}", where)
    if e.where is not None and not positional:
        raise YangdErrors.one("invalid-value", "where is only allowed with insert and move", where)
    place = e.where or "last"
    if e.point is not None and not (positional and place in ("before", "after")):
        raise YangdErrors.one("invalid-value", "point is only allowed with insert or move, "
                              "where before or after", where)
    if op in _VALUE_OPS:
        if e.value is None:
            raise YangdErrors.one("missing-element", f"{op} needs a value", where, bad_element="value")
        ed = _value(bundle, e, media, path)
    else:
        if op == "move" and get_at(tree, path) is None:
            raise YangdErrors.one("data-missing", f"no data at {where} to move", where)
        ed = _bare(path, _EDIT_OP[op])
    if positional:
        if node.kind not in (Kind.LIST, Kind.LEAF_LIST) or not node.ordered_by_user:
            raise YangdErrors.one("invalid-value", f"{op} is only for entries of an ordered-by "
                                  "user list or leaf-list", where)
        ed.insert = place
        if place in ("before", "after"):
            if e.point is None:
                raise YangdErrors.one("missing-element", f"where {place} needs a point", where,
                                      bad_element="point")
            point = _resolve(bundle, base, e.point, "point")
            if point[-1].node is not node or point[:-1] != path[:-1]:
                raise YangdErrors.one("invalid-value", "point must be an entry of the target's "
                                      "list or leaf-list", where)
            ed.anchor = point[-1].key
    return wrap(path[:-1], [ed])


# ---- the reply -------------------------------------------------------------------------
def _errors_xml(parent: Any, errors: list[YangdError], bundle: Bundle) -> None:
    """The RFC 8040 errors element, re-rooted into ietf-yang-patch (``uses rc:errors``)."""
    def copy(src: Any, to: Any) -> None:
        ns, local = split_tag(src.tag)
        prefixes = {k: v for k, v in src.nsmap.items() if k is not None and v != RESTCONF_NS}
        el = etree.SubElement(to, f"{{{PATCH_NS}}}{local}" if ns == RESTCONF_NS else src.tag,
                              nsmap=prefixes or None)
        el.text = src.text
        for c in src:
            if isinstance(c.tag, str):
                copy(c, el)

    copy(etree.fromstring(error_body(errors, True, bundle)), parent)


def _status(bundle: Bundle, patch_id: str, media: Media, global_errors: list[YangdError] | None = None,
            edit: tuple[str, list[YangdError]] | None = None) -> bytes:
    ok = global_errors is None and edit is None
    if media is Media.JSON:
        st: dict[str, Any] = {"patch-id": patch_id}
        if ok:
            st["ok"] = [None]
        if global_errors is not None:
            st["errors"] = json.loads(error_body(global_errors, False))["ietf-restconf:errors"]
        if edit is not None:
            errs = json.loads(error_body(edit[1], False))["ietf-restconf:errors"]
            st["edit-status"] = {"edit": [{"edit-id": edit[0], "errors": errs}]}
        return json.dumps({"ietf-yang-patch:yang-patch-status": st}, indent=2).encode()
    root = etree.Element(f"{{{PATCH_NS}}}yang-patch-status", nsmap={None: PATCH_NS})
    etree.SubElement(root, f"{{{PATCH_NS}}}patch-id").text = patch_id
    if ok:
        etree.SubElement(root, f"{{{PATCH_NS}}}ok")
    if global_errors is not None:
        _errors_xml(root, global_errors, bundle)
    if edit is not None:
        es = etree.SubElement(etree.SubElement(root, f"{{{PATCH_NS}}}edit-status"), f"{{{PATCH_NS}}}edit")
        etree.SubElement(es, f"{{{PATCH_NS}}}edit-id").text = edit[0]
        _errors_xml(es, edit[1], bundle)
    etree.indent(root)
    out: bytes = etree.tostring(root, encoding="UTF-8", pretty_print=True)
    return out


def _must_exist(bundle: Bundle, res: Resource, tree: YangModel) -> None:
    """The request resource exists (as for a plain PATCH, RFC 8040 §4.6.1)."""
    for i, st in enumerate(res.path):
        kind = st.node.kind
        if kind is Kind.LIST or (kind is Kind.CONTAINER and st.node.presence) \
                or (i == len(res.path) - 1 and kind is not Kind.CONTAINER):
            if get_at(tree, res.path[: i + 1]) is None:
                where = format_path(bundle, res.path[: i + 1])
                raise RestconfError.one("data-missing", f"no data at {where}", 404, where,
                                        type="application")


def apply(request: Request, session: Session, res: Resource, raw: bytes) -> Response:
    """Apply the YANG Patch in ``raw`` at the request resource ``res`` of the datastore the URI
    names (targets.py: running committed at once, candidate, startup; operational is 405),
    with the RFC 7232 preconditions and ETag / Last-Modified of a plain edit."""
    check_none(request.query_params.multi_items(), "PATCH")
    tgt = target(request)
    writable(tgt)
    state = get_state(request)
    media = patch_media(request.headers.get("content-type"))
    if media is None:
        raise RestconfError.one("invalid-value", "not a YANG Patch media type", 415)
    out = accepted(request.headers.get("accept"))
    if not raw.strip():
        raise malformed("the request needs a YANG Patch body")
    patch = parse_patch(raw, media)
    ds = session.ds
    bundle = ds.bundle
    base = raw_data_path(request).rstrip("/")

    def reply(status: int, headers: Mapping[str, str] | None = None, **kw: Any) -> Response:
        return Response(_status(bundle, patch.patch_id, out, **kw), status_code=status,
                        media_type=out.value, headers=headers)

    with ds.lock:  # the checks and the edit see one datastore
        tree = tree_of(state, session, tgt)
        _must_exist(bundle, res, tree)
        check_edit(request, state, session, tgt, res.path)
        edits: list[EditNode] = []
        for e in patch.edits:
            try:
                nodes = _edit_nodes(bundle, tree, base, e, media)
                done = apply_edit(bundle, tree, nodes)
                session.check_write(done.changes)  # RFC 8341: a denied edit fails as itself
                tree = done.tree
            except YangdErrors as err:
                return reply(status_of(err.errors), edit=(e.edit_id, err.errors))
            except RestconfError as err:
                return reply(err.status, edit=(e.edit_id, err.errors))
            edits += nodes
        if edits:
            try:
                apply_edits(session, tgt, edits)
                log.info("yang-patch %r by %s: %d edits%s", patch.patch_id, session.user,
                         len(patch.edits), f" ({patch.comment})" if patch.comment else "")
            except YangdErrors as err:  # validation of the result, locks, the commit itself
                return reply(status_of(err.errors), global_errors=err.errors)
        headers = edit_headers(request, state, session, tgt, res.path)
    return reply(200, headers)
