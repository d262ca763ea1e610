"""FastAPI dependencies shared by the routers: server state, user, datastore session,
negotiated media type, request body and the resource a data URI names.

Tests may replace any of them through ``app.dependency_overrides``.

The dependencies are ``async``: FastAPI runs every sync dependency in the thread pool, and
those hops (call_soon_threadsafe, a worker wake-up, the GIL handed back and forth), not the
work, were most of the CPU of a small GET. What they do is cheap and never waits, except
where a lock or a slow check may: opening or closing a datastore session takes the datastore
lock (held for the whole of a commit), so it runs inline only when that lock is free at once
and in the thread pool otherwise; a password is checked (a deliberately slow hash, ~50 ms) in
the thread pool, and only an Authorization header that passed that check recently is checked
again inline.
The sync ``get_state``, ``current_user`` and ``target`` stay for callers outside FastAPI's
dependency injection.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from datastore.datastores import Datastores
from datastore.session import Session
from server.config import Config
from server.restconf.auth import Authenticator
from server.restconf.cache import Versions
from server.restconf.errors import RestconfError
from server.restconf.media import Media, accepted
from server.restconf.paths import Resource, decode, parse_resource
from server.users import UserDirectory

__all__ = ["DATASTORES", "DATA_PREFIX", "DS_PREFIX", "BodyDep", "MediaDep", "ResourceDep",
           "RestconfState", "SessionDep", "StateDep", "Target", "TargetDep", "UserDep", "current_user",
           "datastore_session", "get_state", "request_body", "resource", "response_media", "target"]

DATA_PREFIX = "/restconf/data"
DS_PREFIX = "/restconf/ds"  # RFC 8527 §3.1
DATASTORES = ("running", "candidate", "startup", "operational")
TRANSPORT = "restconf"
_T = TypeVar("_T")
_VERIFIED_MAX = 1024


class _Verified:
    """Digests (keyed BLAKE2b: no password is kept) of Authorization headers that passed the
    slow check; such a header is checked again inline, where the Authenticator's own cache
    answers it without scrypt."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()

    def digest(self, header: str) -> bytes:
        return hashlib.blake2b(header.encode(), key=self._key, digest_size=16).digest()

    def __contains__(self, digest: bytes) -> bool:
        with self._lock:
            return digest in self._seen

    def add(self, digest: bytes) -> None:
        with self._lock:
            self._seen[digest] = None
            while len(self._seen) > _VERIFIED_MAX:
                self._seen.popitem(last=False)

    def discard(self, digest: bytes) -> None:
        with self._lock:
            self._seen.pop(digest, None)


@dataclass
class RestconfState:
    datastores: Datastores
    config: Config
    users: UserDirectory
    auth: Authenticator
    versions: Versions = field(init=False)
    verified: _Verified = field(init=False, default_factory=_Verified)

    def __post_init__(self) -> None:
        self.versions = Versions(self.datastores)


def get_state(request: Request) -> RestconfState:
    state: RestconfState = request.app.state.restconf
    return state


async def _state(request: Request) -> RestconfState:
    return get_state(request)


StateDep = Annotated[RestconfState, Depends(_state)]


def current_user(request: Request, state: RestconfState) -> str:
    """The request's user (auth.py); may take ~50 ms for a password not checked before."""
    return state.auth.user_of(request.headers.get("authorization"),
                              request.client.host if request.client else "")


async def _user(request: Request, state: StateDep) -> str:
    header = request.headers.get("authorization")
    if not header:  # a client certificate's user, or 401: nothing slow either way
        return current_user(request, state)
    digest = state.verified.digest(header)
    if digest in state.verified:
        try:
            return current_user(request, state)
        except RestconfError as e:
            state.verified.discard(digest)
            await state.auth.after_failure(e)
            raise
    try:
        user = await run_in_threadpool(current_user, request, state)
    except RestconfError as e:
        await state.auth.after_failure(e)  # the failed-login delay, holding no thread
        raise
    state.verified.add(digest)
    return user


UserDep = Annotated[str, Depends(_user)]


async def _unless_locked(lock: threading.RLock, fn: Callable[..., _T], *args: object) -> _T:
    """``fn(*args)`` (which takes ``lock``) inline when ``lock`` is free, else in the thread
    pool: the event loop never waits for a commit."""
    if lock.acquire(blocking=False):
        try:
            return fn(*args)
        finally:
            lock.release()
    return await run_in_threadpool(fn, *args)


async def datastore_session(user: UserDep, state: StateDep) -> AsyncIterator[Session]:
    """A datastore session for this one request, closed after it."""
    ds = state.datastores
    session = await _unless_locked(ds.lock, ds.open_session, user, TRANSPORT)
    try:
        yield session
    finally:
        await _unless_locked(ds.lock, session.close)


async def response_media(request: Request) -> Media:
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


@dataclass(frozen=True)
class Target:
    """The datastore a data URI works on: ``/restconf/data`` (RFC 8040: running, whose edits
    commit, read together with the server's state) or ``/restconf/ds/ietf-datastores:NAME``
    (RFC 8527: exactly that datastore)."""

    datastore: str  # running | candidate | startup | operational
    prefix: str  # the URI prefix in front of the resource path

    @property
    def unified(self) -> bool:
        return self.prefix == DATA_PREFIX


def _raw_path(request: Request) -> str:
    raw: bytes = request.scope.get("raw_path") or request.url.path.encode()
    return raw.split(b"?", 1)[0].decode("latin-1")


def target(request: Request) -> Target:
    text = _raw_path(request)
    if text == DATA_PREFIX or text.startswith(DATA_PREFIX + "/"):
        return Target("running", DATA_PREFIX)
    if text.startswith(DS_PREFIX + "/"):
        seg = text[len(DS_PREFIX) + 1:].split("/", 1)[0]
        name = decode(seg)
        ds = name.removeprefix("ietf-datastores:")
        if ds != name and ds in DATASTORES:
            return Target(ds, f"{DS_PREFIX}/{seg}")
        raise RestconfError.one("invalid-value", f"no datastore {name!r}; use one of "
                                f"{', '.join('ietf-datastores:' + d for d in DATASTORES)}", 404)
    raise RestconfError.one("invalid-value", "bad resource path", 400)


async def _target(request: Request) -> Target:
    return target(request)


TargetDep = Annotated[Target, Depends(_target)]


def raw_data_path(request: Request) -> str:
    """The still percent-encoded path after /restconf/data (or the NMDA datastore)."""
    return _raw_path(request)[len(target(request).prefix):]


async def resource(request: Request, state: StateDep) -> Resource:
    """The data resource the URI names (a whole list only for GET/HEAD/OPTIONS)."""
    whole = request.method in ("GET", "HEAD", "OPTIONS")
    return parse_resource(state.datastores.bundle, raw_data_path(request), allow_whole_list=whole)


# scope="function": the session ends when the handler does, before the reply is sent, so a
# client that has its answer never sees the session (or its locks) still open
SessionDep = Annotated[Session, Depends(datastore_session, scope="function")]
MediaDep = Annotated[Media, Depends(response_media)]
BodyDep = Annotated[bytes, Depends(request_body)]
ResourceDep = Annotated[Resource, Depends(resource)]
