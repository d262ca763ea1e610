"""The datastore resource /restconf/data and its data resources (RFC 8040 §3.3.1, §4).

GET/HEAD read (views.py); PUT creates or replaces, POST creates a child, PATCH merges,
DELETE deletes — each one edit of running through ``Session.edit``, the commit path every
transport shares (RFC 8040 §1.4: the edit is committed, or nothing changes).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from datastore.path import Path, Step, format_path
from datastore.session import Session
from datastore.tree import get_at
from models.edit import EditNode, Op
from models.errors import YangdErrors
from models.schema import Kind
from server.restconf.body import data_edits, resource_edits, wrap
from server.restconf.dependencies import DATA_PREFIX, BodyDep, MediaDep, ResourceDep, SessionDep
from server.restconf.errors import RestconfError
from server.restconf.media import Media, body_media
from server.restconf.paths import Resource, format_resource
from server.restconf.query import check_none, read_params
from server.restconf.views import read

router = APIRouter(prefix=DATA_PREFIX, tags=["data"])

PATCH_TYPES = f"{Media.JSON.value}, {Media.XML.value}"


def _query(request: Request) -> list[tuple[str, str]]:
    return request.query_params.multi_items()


@router.api_route("", methods=["GET", "HEAD"])
@router.api_route("/{rest:path}", methods=["GET", "HEAD"])
def get_data(request: Request, session: SessionDep,
             media: MediaDep, res: ResourceDep) -> Response:
    params = read_params(_query(request), request.method)
    body = read(session, res, params, media)
    if request.method == "HEAD":
        return Response(b"", media_type=media.value, headers={"Content-Length": str(len(body))})
    return Response(body, media_type=media.value)


def _missing(session: Session, path: Path) -> RestconfError:
    where = format_path(session.ds.bundle, path)
    return RestconfError.one("data-missing", f"no data at {where}", 404, where, type="application")


def _must_exist(session: Session, path: Path) -> None:
    """The resource exists (RFC 8040 §4.4.1, §4.6.1): every list entry and presence container
    on ``path``, and the target itself unless a non-presence container (those always exist)."""
    tree = session.get("running")
    for i, st in enumerate(path):
        kind = st.node.kind
        if kind is Kind.LIST or (kind is Kind.CONTAINER and st.node.presence) \
                or (i == len(path) - 1 and kind is not Kind.CONTAINER):
            if get_at(tree, path[: i + 1]) is None:
                raise _missing(session, path[: i + 1])


def _check_key(session: Session, res: Resource, edits: list[EditNode]) -> None:
    """RFC 8040 §4.5: the key in the body must be the key in the URI."""
    last = res.path[-1]
    if last.key is None or not edits:
        return
    got = edits[0].key if last.node.kind is Kind.LIST else (edits[0].value,)
    if got != last.key:
        raise RestconfError.one("invalid-value", "the key in the body differs from the key in the URI",
                                400, format_path(session.ds.bundle, res.path), type="protocol")


def _edit(session: Session, edits: list[EditNode], target: Path | None = None) -> None:
    try:
        session.edit("running", edits)
    except YangdErrors as e:
        if target is not None and e.errors and e.errors[0].tag == "data-missing" \
                and e.errors[0].path == format_path(session.ds.bundle, target):
            raise RestconfError(e.errors, 404) from None
        raise


@router.put("")
@router.put("/{rest:path}")
def put_data(request: Request, session: SessionDep,
             res: ResourceDep, raw: BodyDep) -> Response:
    check_none(_query(request), "PUT")
    bundle = session.ds.bundle
    media = body_media(request.headers.get("content-type"), raw)
    ds = session.ds
    if not res.path:
        edits = data_edits(bundle, raw, media, Op.REPLACE)
        given = {e.node.py_name for e in edits}
        with ds.lock:
            running = session.get("running")
            for c in bundle.schema.root.data_children():
                v = getattr(running, c.py_name)
                if c.config and v is not None and c.py_name not in given:
                    if c.kind is Kind.LIST:
                        edits += [EditNode(c, Op.REMOVE, key=v.key_of(e)) for e in v]
                    elif c.kind is Kind.LEAF_LIST:
                        edits += [EditNode(c, Op.REMOVE, value=x) for x in v]
                    else:
                        edits.append(EditNode(c, Op.REMOVE))
            _edit(session, edits)
        return Response(status_code=204)
    node = res.path[-1].node
    edits = resource_edits(bundle, raw, media, res.path[:-1], node, Op.REPLACE)
    _check_key(session, res, edits)
    with ds.lock:
        existed = get_at(session.get("running"), res.path) is not None
        _edit(session, wrap(res.path[:-1], edits))
    return Response(status_code=204 if existed else 201)


@router.post("")
@router.post("/{rest:path}")
def post_data(request: Request, session: SessionDep,
              res: ResourceDep, raw: BodyDep) -> Response:
    check_none(_query(request), "POST")
    bundle = session.ds.bundle
    if res.path and res.path[-1].node.kind not in (Kind.CONTAINER, Kind.LIST):
        raise RestconfError.one("operation-not-supported", "POST creates children of a container "
                                "or list entry", 405, headers={"Allow": _allow(res)})
    media = body_media(request.headers.get("content-type"), raw)
    edits = resource_edits(bundle, raw, media, res.path, None, Op.CREATE)
    child = edits[0].node
    key = edits[0].key if child.kind is Kind.LIST else (
        (edits[0].value,) if child.kind is Kind.LEAF_LIST else None)
    new_path: Path = (*res.path, Step(child, key))
    with session.ds.lock:
        if res.path:
            _must_exist(session, res.path)
        _edit(session, wrap(res.path, edits))
    location = str(request.base_url).rstrip("/") + DATA_PREFIX + format_resource(bundle, new_path)
    return Response(status_code=201, headers={"Location": location})


@router.patch("")
@router.patch("/{rest:path}")
def patch_data(request: Request, session: SessionDep,
               res: ResourceDep, raw: BodyDep) -> Response:
    check_none(_query(request), "PATCH")
    bundle = session.ds.bundle
    media = body_media(request.headers.get("content-type"), raw)
    if not res.path:
        _edit(session, data_edits(bundle, raw, media, Op.MERGE))
        return Response(status_code=204)
    edits = resource_edits(bundle, raw, media, res.path[:-1], res.path[-1].node, Op.MERGE)
    _check_key(session, res, edits)
    with session.ds.lock:
        _must_exist(session, res.path)
        _edit(session, wrap(res.path[:-1], edits))
    return Response(status_code=204)


@router.delete("")
@router.delete("/{rest:path}")
def delete_data(request: Request, session: SessionDep,
                res: ResourceDep) -> Response:
    check_none(_query(request), "DELETE")
    if not res.path:
        raise RestconfError.one("operation-not-supported", "the datastore itself cannot be deleted",
                                405, headers={"Allow": _allow(res)})
    last = res.path[-1]
    node = last.node
    if node.kind is Kind.LIST:
        edit = EditNode(node, Op.DELETE, key=last.key)
    elif node.kind is Kind.LEAF_LIST:
        edit = EditNode(node, Op.DELETE, value=last.key[0] if last.key else None)
    else:
        edit = EditNode(node, Op.DELETE)
    _edit(session, wrap(res.path[:-1], [edit]), res.path)
    return Response(status_code=204)


def _allow(res: Resource) -> str:
    if not res.path:
        return "GET, HEAD, OPTIONS, POST, PUT, PATCH"
    node = res.path[-1].node
    if not node.config or res.whole_list:
        return "GET, HEAD, OPTIONS"
    if node.kind in (Kind.CONTAINER, Kind.LIST):
        return "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
    return "DELETE, GET, HEAD, OPTIONS, PATCH, PUT"


@router.options("")
@router.options("/{rest:path}")
def options_data(request: Request, session: SessionDep,
                 res: ResourceDep) -> Response:
    check_none(_query(request), "OPTIONS")
    headers = {"Allow": _allow(res)}
    if "PATCH" in headers["Allow"]:
        headers["Accept-Patch"] = PATCH_TYPES
    return Response(status_code=200, headers=headers)
