"""The datastore resource /restconf/data and its data resources (RFC 8040 §3.3.1, §4).

GET/HEAD read (views.py); PUT creates or replaces, POST creates a child, PATCH merges,
DELETE deletes — each one edit of running through ``Session.edit``, the commit path every
transport shares (RFC 8040 §1.4: the edit is committed, or nothing changes).

The same handlers serve the NMDA datastores (routers/ds.py, RFC 8527): the ``Target``
dependency says which datastore a URI names, targets.py reads, edits and validates per
datastore. Every method honours the RFC 7232 preconditions (cache.py) and replies carry
ETag / Last-Modified; POST and PUT take ``insert``/``point`` (RFC 8040 §4.8.5, §4.8.6).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from datastore.path import Path, Step, format_path
from datastore.session import Session
from datastore.tree import get_at
from models.bundle import YangModel
from models.edit import EditNode, Op
from models.schema import Kind, SchemaNode
from server.restconf import yang_patch
from server.restconf.body import bulk, data_edits, resource_edits, wrap
from server.restconf.dependencies import (
    DATA_PREFIX,
    BodyDep,
    MediaDep,
    ResourceDep,
    RestconfState,
    SessionDep,
    StateDep,
    Target,
    TargetDep,
)
from server.restconf.errors import RestconfError
from server.restconf.invoke import ActionCall, invoke, post_target
from server.restconf.media import Media, body_media
from server.restconf.paths import Resource, format_resource, parse_resource
from server.restconf.query import EditParams, check_none, edit_params, read_params
from server.restconf.targets import (
    READ_ONLY,
    apply,
    check_edit,
    edit_headers,
    read_reply,
    tree_of,
    writable,
)
from server.restconf.views import ReadParams, holds_state, read

router = APIRouter(prefix=DATA_PREFIX, tags=["data"])

PATCH_TYPES = f"{Media.JSON.value}, {Media.XML.value}, {yang_patch.ACCEPT_PATCH}"


def _query(request: Request) -> list[tuple[str, str]]:
    return request.query_params.multi_items()


@router.api_route("", methods=["GET", "HEAD"])
@router.api_route("/{rest:path}", methods=["GET", "HEAD"])
async def get_data(request: Request, session: SessionDep, media: MediaDep, res: ResourceDep,
                   target: TargetDep, state: StateDep) -> Response:
    operational = target.datastore == "operational" and not target.unified
    params = read_params(_query(request), request.method, operational)
    if _inline(state, session, target, res, params):
        return read_reply(request, state, session, target, res, params, media, read)
    return await run_in_threadpool(read_reply, request, state, session, target, res, params, media, read)


_BOUNDED: dict[int, bool] = {}


def _bounded(node: SchemaNode) -> bool:
    """No list or leaf-list below ``node``: one instance of it has a size the schema bounds."""
    got = _BOUNDED.get(id(node))
    if got is None:
        got = _BOUNDED[id(node)] = not any(n.kind in (Kind.LIST, Kind.LEAF_LIST)
                                           for c in node.children for n in c.walk())
    return got


def _inline(state: RestconfState, session: Session, target: Target, res: Resource,
            params: ReadParams) -> bool:
    """Whether a GET is answered on the event loop, without a thread-pool hop (most of the
    CPU of a small GET is such overhead, not the read): only a read of running that neither
    waits nor grows with the datastore — one list entry, container or leaf with no list
    below it, configuration only (no state provider, no server state: some read a
    database), its version known (cache.Versions.current), no access control rules to apply
    (pruning the tree for them may walk all of it). Anything else runs in the pool."""
    if target.datastore != "running" or not res.path or res.whole_list:
        return False
    node = res.path[-1].node
    if node.kind is Kind.LIST and res.path[-1].key is None:
        return False
    return _bounded(node) and (params.content == "config" or not holds_state(node)) \
        and state.versions.current() and session.access is None


def _missing(session: Session, path: Path) -> RestconfError:
    where = format_path(session.ds.bundle, path)
    return RestconfError.one("data-missing", f"no data at {where}", 404, where, type="application")


def _must_exist(session: Session, path: Path, tree: YangModel) -> None:
    """The resource exists (RFC 8040 §4.4.1, §4.6.1): every list entry and presence container
    on ``path``, and the target itself unless a non-presence container (those always exist)."""
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


def _place(session: Session, target: Target, res_path: Path, edit: EditNode, params: EditParams) -> None:
    """``insert``/``point`` (RFC 8040 §4.8.5, §4.8.6) on the entry ``edit`` creates or moves:
    only in an ordered-by user list or leaf-list; ``point`` names a sibling entry."""
    if params.insert is None:
        return
    node = edit.node
    if node.kind not in (Kind.LIST, Kind.LEAF_LIST) or not node.ordered_by_user:
        raise RestconfError.one("invalid-value", f"insert needs an ordered-by user list or leaf-list, "
                                f"not {node.module}:{node.name}", 400, type="protocol")
    edit.insert = params.insert
    if params.point is None:
        return
    raw = params.point
    if raw.startswith(target.prefix + "/"):
        raw = raw[len(target.prefix):]
    point = parse_resource(session.ds.bundle, raw)
    if not point.path or point.path[-1].node is not node or point.path[:-1] != res_path \
            or point.path[-1].key is None:
        raise RestconfError.one("invalid-value", f"point must name an entry of the same "
                                f"{node.name} {'leaf-list' if node.kind is Kind.LEAF_LIST else 'list'}",
                                400, type="protocol")
    edit.anchor = point.path[-1].key


@router.put("")
@router.put("/{rest:path}")
def put_data(request: Request, session: SessionDep, res: ResourceDep, raw: BodyDep,
             target: TargetDep, state: StateDep) -> Response:
    with bulk(raw):
        writable(target)
        params = edit_params(_query(request), "PUT")
        bundle = session.ds.bundle
        media = body_media(request.headers.get("content-type"), raw)
        ds = session.ds
        if not res.path:
            if params.insert is not None:
                raise RestconfError.one("invalid-value", "insert needs a list or leaf-list entry as target",
                                        400, type="protocol")
            edits = data_edits(bundle, raw, media, Op.REPLACE)
            given = {e.node.py_name for e in edits}
            with ds.lock:
                check_edit(request, state, session, target, ())
                current = tree_of(state, session, target)
                for c in bundle.schema.root.data_children():
                    v = getattr(current, c.py_name)
                    if c.config and v is not None and c.py_name not in given:
                        if c.kind is Kind.LIST:
                            edits += [EditNode(c, Op.REMOVE, key=v.key_of(e)) for e in v]
                        elif c.kind is Kind.LEAF_LIST:
                            edits += [EditNode(c, Op.REMOVE, value=x) for x in v]
                        else:
                            edits.append(EditNode(c, Op.REMOVE))
                apply(session, target, edits)
                headers = edit_headers(request, state, session, target, ())
            return Response(status_code=204, headers=headers)
        node = res.path[-1].node
        edits = resource_edits(bundle, raw, media, res.path[:-1], node, Op.REPLACE)
        _check_key(session, res, edits)
        if edits:
            _place(session, target, res.path[:-1], edits[0], params)
        elif params.insert is not None:
            raise RestconfError.one("invalid-value", "insert needs a list or leaf-list entry", 400)
        with ds.lock:
            existed = get_at(tree_of(state, session, target), res.path) is not None
            check_edit(request, state, session, target, res.path)
            apply(session, target, wrap(res.path[:-1], edits))
            headers = edit_headers(request, state, session, target, res.path)
        return Response(status_code=204 if existed else 201, headers=headers)


@router.post("")
@router.post("/{rest:path}")
def post_data(request: Request, session: SessionDep,
              res: Annotated[Resource | ActionCall, Depends(post_target)], raw: BodyDep,
              target: TargetDep, state: StateDep) -> Response:
    if isinstance(res, ActionCall):  # RFC 8040 §3.6: an action on a data resource
        return invoke(request, session, res.action, raw, res.parent)
    with bulk(raw):
        writable(target)
        params = edit_params(_query(request), "POST")
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
        _place(session, target, res.path, edits[0], params)
        with session.ds.lock:
            if res.path:
                _must_exist(session, res.path, tree_of(state, session, target))
            check_edit(request, state, session, target, res.path)
            apply(session, target, wrap(res.path, edits))
            headers = dict(edit_headers(request, state, session, target, new_path))
        headers["Location"] = str(request.base_url).rstrip("/") + target.prefix + format_resource(bundle, new_path)
        return Response(status_code=201, headers=headers)


@router.patch("")
@router.patch("/{rest:path}")
def patch_data(request: Request, session: SessionDep, res: ResourceDep, raw: BodyDep,
               target: TargetDep, state: StateDep) -> Response:
    if yang_patch.patch_media(request.headers.get("content-type")) is not None:  # RFC 8072
        return yang_patch.apply(request, session, res, raw)
    with bulk(raw):
        writable(target)
        check_none(_query(request), "PATCH")
        bundle = session.ds.bundle
        media = body_media(request.headers.get("content-type"), raw)
        if not res.path:
            edits = data_edits(bundle, raw, media, Op.MERGE)
        else:
            edits = resource_edits(bundle, raw, media, res.path[:-1], res.path[-1].node, Op.MERGE)
            _check_key(session, res, edits)
        with session.ds.lock:
            if res.path:
                _must_exist(session, res.path, tree_of(state, session, target))
            check_edit(request, state, session, target, res.path)
            apply(session, target, wrap(res.path[:-1], edits) if res.path else edits)
            headers = edit_headers(request, state, session, target, res.path)
        return Response(status_code=204, headers=headers)


@router.delete("")
@router.delete("/{rest:path}")
def delete_data(request: Request, session: SessionDep, res: ResourceDep,
                target: TargetDep, state: StateDep) -> Response:
    writable(target)
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
    with session.ds.lock:
        _must_exist(session, res.path, tree_of(state, session, target))
        check_edit(request, state, session, target, res.path)
        apply(session, target, wrap(res.path[:-1], [edit]), res.path)
    return Response(status_code=204)


def _allow(res: Resource, target: Target | None = None) -> str:
    if target is not None and target.datastore == "operational":
        return READ_ONLY
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
def options_data(request: Request, session: SessionDep, res: ResourceDep,
                 target: TargetDep, state: StateDep) -> Response:
    check_none(_query(request), "OPTIONS")
    check_edit(request, state, session, target, res.path)  # RFC 7232 holds for every method
    headers = {"Allow": _allow(res, target)}
    if "PATCH" in headers["Allow"]:
        headers["Accept-Patch"] = PATCH_TYPES
    return Response(status_code=200, headers=headers)
