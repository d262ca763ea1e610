"""What the data routes do per target datastore (``/restconf/data`` or an RFC 8527
``/restconf/ds/ietf-datastores:NAME``): read one consistent tree with its validators, check
preconditions, apply an edit, and put ETag / Last-Modified on the reply (cache.py).

Edits by datastore (RFC 8527 §3.1): running — committed at once, like ``/restconf/data``
(RFC 8040 §1.4); candidate — the shared candidate is edited and left uncommitted (a NETCONF
``commit`` or a later one publishes it); startup — the edit is applied to startup's tree and
stored as a whole (``copy-config`` semantics: validated first); operational — not writable:
405 with ``Allow: GET, HEAD, OPTIONS``.

Preconditions on edits are checked under the datastore lock, in the same critical section as
the edit, so no other writer can slip in between the check and the change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from fastapi import Request, Response

from datastore.edit import apply_edit
from datastore.path import Path, format_path
from datastore.session import Session
from datastore.tree import get_at
from models.bundle import YangModel
from models.edit import EditNode, Op
from models.errors import YangdErrors
from server.restconf.cache import Validators, body_tag, check_preconditions, headers_of, rep_of
from server.restconf.dependencies import RestconfState, Target
from server.restconf.errors import RestconfError
from server.restconf.media import Media, accepted
from server.restconf.paths import Resource
from server.restconf.views import ReadParams, Source, read

Reader = Callable[[Session, Resource, ReadParams, Media, Source], bytes]

__all__ = ["READ_ONLY", "apply", "check_edit", "edit_headers", "read_reply", "reply_media",
           "tree_of", "writable"]

READ_ONLY = "GET, HEAD, OPTIONS"


def writable(target: Target) -> None:
    """405 for edits of the operational datastore (RFC 8527 §3.1)."""
    if target.datastore == "operational":
        raise RestconfError.one("operation-not-supported", "the operational datastore is read-only",
                                405, headers={"Allow": READ_ONLY})


def reply_media(request: Request) -> Media:
    """The representation an edit's reply validators describe (Accept; JSON if none fits)."""
    try:
        return accepted(request.headers.get("accept"))
    except RestconfError:
        return Media.JSON


@dataclass(frozen=True)
class _Tree:
    """A datastore's tree as read once, with what its validators derive from."""

    tree: YangModel
    modified: datetime | None = None
    tag: str | None = None  # running's version tag; None: a content digest when asked


def _datastore(state: RestconfState, session: Session, target: Target) -> _Tree:
    if target.datastore == "running":
        tree, v = state.versions.running()
        return _Tree(tree, v.modified, v.tag)
    tree = session.get(target.datastore)
    if target.datastore == "operational":
        return _Tree(tree)
    return _Tree(tree, state.versions.first_seen(tree))


def tree_of(state: RestconfState, session: Session, target: Target) -> YangModel:
    return _datastore(state, session, target).tree


def _resource(state: RestconfState, ds: _Tree, path: Path, session: Session) -> Validators:
    """Validators of the configuration resource at ``path`` (empty: the datastore). Under NACM
    the tag is of what the user may read (RFC 8341 §3.4.5): a change to a node hidden from
    them does not change their entity tag, which would tell them it happened."""
    acc = session.access
    tree = ds.tree if acc is None else acc.prune(ds.tree)
    if not path:
        tag = ds.tag if acc is None else None
        return Validators(tag or "d" + state.versions.digest(tree), "", ds.modified)
    value = get_at(tree, path)
    return Validators(None if value is None else "d" + state.versions.digest(value), "", ds.modified)


def read_reply(request: Request, state: RestconfState, session: Session, target: Target, res: Resource,
               params: ReadParams, media: Media, read: Reader = read) -> Response:
    """GET/HEAD: the body with its validators, or 304 (RFC 7232) when the client's copy is current.
    ``read``: what encodes the body (views.read; the router passes its own name for it)."""
    if target.datastore == "operational":
        view = session.ds.operational()
        src = Source("operational", view.tree, False, view.origins)
        cur = _Tree(view.tree)
    else:
        cur = _datastore(state, session, target)
        src = Source(target.datastore, cur.tree, target.unified)
    node = res.node
    config = params.content != "nonconfig" and target.datastore != "operational" \
        and (node is None or node.config)
    body: bytes | None = None
    if config:
        v = replace(_resource(state, cur, res.path, session), rep=rep_of(media))
        if v.tag is None:  # config absent (state only, or a default): tag what is sent
            body = read(session, res, params, media, src)
            v = Validators(body_tag(body), "", cur.modified)
    else:
        body = read(session, res, params, media, src)
        v = Validators(body_tag(body))
    headers = headers_of(v)
    if check_preconditions(request.headers, request.method, v):
        return Response(status_code=304, headers=headers)
    if body is None:
        body = read(session, res, params, media, src)
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(body))
        return Response(b"", media_type=media.value, headers=headers)
    return Response(body, media_type=media.value, headers=headers)



def check_edit(request: Request, state: RestconfState, session: Session, target: Target,
               path: Path) -> None:
    """Preconditions of an edit on the resource at ``path``; caller holds the datastore lock."""
    headers = request.headers
    if not any(h in headers for h in ("if-match", "if-none-match", "if-unmodified-since")):
        return
    check_preconditions(headers, request.method,
                        _resource(state, _datastore(state, session, target), path, session))


def apply(session: Session, target: Target, edits: Sequence[EditNode], missing: Path | None = None) -> None:
    """Apply ``edits`` (from the root) to the target datastore; RestconfError 404 when
    ``missing`` (the resource itself) is what does not exist."""
    ds = session.ds
    try:
        if target.datastore == "startup":
            with ds.lock:
                # the whole startup, not the NACM-pruned view: hidden nodes must stay, not look deleted
                result = apply_edit(ds.bundle, ds.startup or ds.empty(), edits, Op.MERGE)
                session.copy_config(result.tree, "startup")
        else:
            session.edit(target.datastore, edits)
    except YangdErrors as e:
        if missing is not None and e.errors and e.errors[0].tag == "data-missing" \
                and e.errors[0].path == format_path(ds.bundle, missing):
            raise RestconfError(e.errors, 404) from None
        raise


def edit_headers(request: Request, state: RestconfState, session: Session, target: Target,
                 path: Path) -> Mapping[str, str]:
    """ETag and Last-Modified of the resource at ``path`` after an edit (RFC 8040 B.2)."""
    v = _resource(state, _datastore(state, session, target), path, session)
    return headers_of(replace(v, rep=rep_of(reply_media(request))))
