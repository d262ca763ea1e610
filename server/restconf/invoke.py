"""Invoking an operation (RFC 8040 §3.6, §4.4.2): an rpc at /restconf/operations/<module>:<rpc>
or an action at /restconf/data/<resource>/<module>:<action>.

The input is ``{"<module>:input": {...}}`` or ``<input xmlns="<module namespace>">`` (§3.6.1;
an absent body is an empty input), decoded with the generated input class (types, cases)
and checked by ``Datastores.invoke`` (mandatory nodes, choices, must) before the handler
runs. Output is ``<module>:output`` in the negotiated encoding (§3.6.2); no output → 204.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from fastapi import Request, Response

from datastore.path import Path, format_path
from datastore.session import Session
from models.bundle import Bundle, YangModel
from models.codec import InstanceError, decode_json, decode_xml, encode_json, encode_xml, to_bytes
from models.errors import YangdError, YangdErrors
from models.schema import Kind, SchemaNode
from server.restconf.dependencies import StateDep, raw_data_path, target
from server.restconf.errors import RestconfError
from server.restconf.media import Media, accepted, body_media
from server.restconf.parse import malformed, parse_json, parse_xml, split_tag
from server.restconf.paths import Resource, decode, parse_resource
from server.restconf.query import check_none

__all__ = ["ActionCall", "decode_input", "encode_output", "invoke", "post_target"]


@dataclass(frozen=True)
class ActionCall:
    """A POST URI naming an action: the instance it is invoked on and the action."""

    parent: Path
    action: SchemaNode


def _action_of(bundle: Bundle, raw: str) -> ActionCall | None:
    head, _, last = raw.rpartition("/")
    if not head or "=" in last:
        return None
    try:
        ident = decode(last)
        parent = parse_resource(bundle, head)
    except RestconfError:
        return None
    if not parent.path:  # RFC 7950 §7.15: an action is never top-level
        return None
    node = parent.path[-1].node
    mod, _, name = ident.rpartition(":")
    qname = (mod or node.module, name)
    act = next((o for o in node.operations() if o.kind is Kind.ACTION and o.qname == qname), None)
    return ActionCall(parent.path, act) if act is not None else None


def post_target(request: Request, state: StateDep) -> Resource | ActionCall:
    """What a POST on /restconf/data names: a data resource, or an action on one (§3.6)."""
    bundle = state.datastores.bundle
    raw = raw_data_path(request)
    try:
        return parse_resource(bundle, raw)
    except RestconfError:
        call = _action_of(bundle, raw)  # only when the path is not data: POSTs stay as cheap
        if call is None:
            raise
        return call


def _has_body(node: SchemaNode) -> bool:
    return any(True for _ in node.data_children())


def decode_input(bundle: Bundle, op: SchemaNode, raw: bytes, content_type: str | None) -> YangModel:
    """The typed input of ``op`` (rpc or action) from a request body (§3.6.1)."""
    node = bundle.node(f"{op.path()}/input")
    cls = node.cls
    if not raw.strip():
        return cls.model_validate({})  # type: ignore[no-any-return]
    if not _has_body(node):
        raise RestconfError.one("invalid-value", f"{op.module}:{op.name} takes no input: "
                                "send no message-body", 400, type="protocol")
    media = body_media(content_type, raw)
    module = op.module
    try:
        if media is Media.JSON:
            doc = parse_json(raw)
            member = f"{module}:input"
            if not isinstance(doc, dict) or set(doc) != {member} or not isinstance(doc[member], dict):
                raise malformed(f'the body must be {{"{member}": {{...}}}}')
            return decode_json(cls, json.dumps(doc[member]))  # type: ignore[no-any-return]
        elem = parse_xml(raw)
        ns = bundle.schema.modules[module].namespace
        if split_tag(elem.tag) != (ns, "input"):
            raise malformed(f'the body must be an <input xmlns="{ns}"> element')
        return decode_xml(cls, elem)  # type: ignore[no-any-return]
    except InstanceError as e:
        raise RestconfError([YangdError(i.tag, i.message, i.path, i.app_tag) for i in e.issues],
                            400) from None


def encode_output(out: YangModel, media: Media) -> bytes | None:
    """The ``<module>:output`` document, or None when the output holds nothing (→ 204)."""
    node: SchemaNode = type(out).__yang__
    if media is Media.JSON:
        text = encode_json(out)
        if text == "{}":
            return None
        return f'{{"{node.module}:output":{text}}}'.encode()
    elem = encode_xml(out)
    if len(elem) == 0:
        return None
    return to_bytes(elem, pretty=True)


def invoke(request: Request, session: Session, op: SchemaNode, raw: bytes,
           parent: Path | None = None) -> Response:
    """Run rpc/action ``op`` (with ``parent``: the action on that instance) for this request."""
    check_none(request.query_params.multi_items(), "an operation")
    media = accepted(request.headers.get("accept"))  # 406 before anything runs
    if parent is not None:
        tgt = target(request)
        if not tgt.unified and tgt.datastore != "operational":  # RFC 8527 §3.2
            raise RestconfError.one("invalid-value", "actions are invoked on /restconf/data "
                                    "or the operational datastore", 400)
    ds = session.ds
    path = op.path()
    if (ds.actions if parent is not None else ds.rpcs).get(path) is None:
        raise RestconfError.one("operation-not-supported", f"{op.module}:{op.name} is not "
                                "implemented by this server", 501, type="protocol")
    inp = decode_input(ds.bundle, op, raw, request.headers.get("content-type"))
    try:
        out = ds.invoke(session, path, inp, parent)
    except YangdErrors as e:
        if parent is not None and e.errors and e.errors[0].tag == "data-missing" \
                and e.errors[0].path == format_path(ds.bundle, parent):
            raise RestconfError(e.errors, 404) from None  # §3.6: the parent resource is missing
        raise
    body = encode_output(out, media) if out is not None else None
    if body is None:
        return Response(status_code=204)
    return Response(body, media_type=media.value)
