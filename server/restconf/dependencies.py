"""FastAPI dependencies shared by the routers: server state, user, datastore session,
negotiated media type, request body and the resource a data URI names.

Tests may replace any of them through ``app.dependency_overrides``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from datastore.datastores import Datastores
from datastore.session import Session
from server.config import Config, UserTable
from server.restconf.auth import Authenticator
from server.restconf.errors import RestconfError
from server.restconf.media import Media, accepted
from server.restconf.paths import Resource, parse_resource

__all__ = ["DATA_PREFIX", "BodyDep", "MediaDep", "ResourceDep", "RestconfState", "SessionDep",
           "StateDep", "UserDep", "current_user", "datastore_session", "get_state", "request_body",
           "resource", "response_media"]

DATA_PREFIX = "/restconf/data"
TRANSPORT = "restconf"


@dataclass
class RestconfState:
    datastores: Datastores
    config: Config
    users: UserTable
    auth: Authenticator


def get_state(request: Request) -> RestconfState:
    state: RestconfState = request.app.state.restconf
    return state


StateDep = Annotated[RestconfState, Depends(get_state)]


def current_user(request: Request, state: StateDep) -> str:
    return state.auth.user_of(request.headers.get("authorization"))


UserDep = Annotated[str, Depends(current_user)]


def datastore_session(user: UserDep, state: StateDep) -> Iterator[Session]:
    """A datastore session for this one request, closed after it."""
    session = state.datastores.open_session(user, TRANSPORT)
    try:
        yield session
    finally:
        session.close()


def response_media(request: Request) -> Media:
    return accepted(request.headers.get("accept"))


async def request_body(request: Request, state: StateDep) -> bytes:
    """The whole body, refused (413 too-big) beyond the configured message size."""
    limit = state.config.max_message_size
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RestconfError.one("too-big", f"the request body exceeds {limit} bytes", 413)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RestconfError.one("too-big", f"the request body exceeds {limit} bytes", 413)
        chunks.append(chunk)
    return b"".join(chunks)


def raw_data_path(request: Request) -> str:
    """The still percent-encoded path after /restconf/data."""
    raw: bytes = request.scope.get("raw_path") or request.url.path.encode()
    text = raw.split(b"?", 1)[0].decode("latin-1")
    if not text.startswith(DATA_PREFIX):
        raise RestconfError.one("invalid-value", "bad resource path", 400)
    return text[len(DATA_PREFIX):]


def resource(request: Request, state: StateDep) -> Resource:
    """The data resource the URI names (a whole list only for GET/HEAD/OPTIONS)."""
    whole = request.method in ("GET", "HEAD", "OPTIONS")
    return parse_resource(state.datastores.bundle, raw_data_path(request), allow_whole_list=whole)


SessionDep = Annotated[Session, Depends(datastore_session)]
MediaDep = Annotated[Media, Depends(response_media)]
BodyDep = Annotated[bytes, Depends(request_body)]
ResourceDep = Annotated[Resource, Depends(resource)]
