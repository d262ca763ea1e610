"""Discovery (RFC 8040 §3.1-3.3): host-meta, the API root, yang-library-version, operations."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response
from lxml import etree

from server.restconf.dependencies import MediaDep, RestconfState, StateDep, UserDep
from server.restconf.errors import RESTCONF_NS
from server.restconf.media import Media
from server.restconf.query import check_none

__all__ = ["router"]

router = APIRouter(tags=["discovery"])

XRD_NS = "http://docs.oasis-open.org/ns/xri/xrd-1.0"
API_ROOT = "/restconf"


def yang_library_version(state: RestconfState) -> str:
    info = state.datastores.bundle.schema.modules.get("ietf-yang-library")
    return info.revision or "" if info is not None else ""


@router.get("/.well-known/host-meta")
def host_meta() -> Response:
    """RFC 8040 §3.1 / RFC 6415: where the RESTCONF API root is."""
    root = etree.Element(f"{{{XRD_NS}}}XRD", nsmap={None: XRD_NS})
    etree.SubElement(root, f"{{{XRD_NS}}}Link", rel="restconf", href=API_ROOT)
    body: bytes = etree.tostring(root, encoding="UTF-8", pretty_print=True)
    return Response(body, media_type="application/xrd+xml")


def _leafy(media: Media, name: str, children: dict[str, str | None]) -> bytes:
    """A small ietf-restconf document: ``name`` holding leaves (None: an empty container)."""
    if media is Media.JSON:
        doc = {f"ietf-restconf:{name}": {k: ({} if v is None else v) for k, v in children.items()}}
        return json.dumps(doc, indent=2).encode()
    root = etree.Element(f"{{{RESTCONF_NS}}}{name}", nsmap={None: RESTCONF_NS})
    for k, v in children.items():
        etree.SubElement(root, f"{{{RESTCONF_NS}}}{k}").text = v
    out: bytes = etree.tostring(root, encoding="UTF-8", pretty_print=True)
    return out


@router.api_route(API_ROOT, methods=["GET", "HEAD"])
def api_root(request: Request, _user: UserDep,
             media: MediaDep,
             state: StateDep) -> Response:
    check_none(request.query_params.multi_items(), "GET")
    body = _leafy(media, "restconf", {"data": None, "operations": None,
                                      "yang-library-version": yang_library_version(state)})
    return Response(body if request.method == "GET" else b"", media_type=media.value)


@router.api_route(f"{API_ROOT}/yang-library-version", methods=["GET", "HEAD"])
def library_version(request: Request, _user: UserDep,
                    media: MediaDep,
                    state: StateDep) -> Response:
    check_none(request.query_params.multi_items(), "GET")
    version = yang_library_version(state)
    if media is Media.JSON:
        body = json.dumps({"ietf-restconf:yang-library-version": version}).encode()
    else:
        el = etree.Element(f"{{{RESTCONF_NS}}}yang-library-version", nsmap={None: RESTCONF_NS})
        el.text = version
        body = etree.tostring(el, encoding="UTF-8")
    return Response(body if request.method == "GET" else b"", media_type=media.value)


@router.api_route(f"{API_ROOT}/operations", methods=["GET", "HEAD"])
def operations(request: Request, _user: UserDep,
               media: MediaDep,
               state: StateDep) -> Response:
    """RFC 8040 §3.3.2: the RPC operations the server supports (each an empty leaf): those with
    a handler. Rpcs the schema defines but nothing serves (ietf-netconf's protocol operations,
    example-jukebox:play) would only answer 501, so they are not listed."""
    check_none(request.query_params.multi_items(), "GET")
    ds = state.datastores
    schema = ds.bundle.schema
    served = set(ds.rpcs)
    rpcs = [r for r in schema.rpcs if f"/{r.module}:{r.name}" in served]
    if media is Media.JSON:
        doc = {"ietf-restconf:operations": {f"{r.module}:{r.name}": [None] for r in rpcs}}
        body = json.dumps(doc, indent=2).encode()
    else:
        root = etree.Element(f"{{{RESTCONF_NS}}}operations", nsmap={None: RESTCONF_NS})
        for r in rpcs:
            ns = schema.modules[r.module].namespace
            etree.SubElement(root, f"{{{ns}}}{r.name}", nsmap={None: ns})
        body = etree.tostring(root, encoding="UTF-8", pretty_print=True)
    return Response(body if request.method == "GET" else b"", media_type=media.value)
