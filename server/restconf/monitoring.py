"""ietf-restconf-monitoring:restconf-state (RFC 8040 §9): the capabilities the server really
implements and its event streams, with the URI of each stream in each encoding.

The stream locations are absolute URIs (inet:uri) built from the URL the client used to
reach the server (scheme and Host, as a 201's Location is): ``RequestBase`` is a small ASGI
middleware that keeps the request's scope in a context variable, which the synchronous
read path (views.py, in the thread pool, context copied) reads; without a request (a
caller outside HTTP) the locations are bare paths.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from datastore.datastores import Datastores
from datastore.events import NETCONF_STREAM, EventLog
from datastore.store import StoreError
from models.bundle import YangModel
from server.restconf.sse import event_time

__all__ = ["CAPABILITIES", "STREAM_PATH", "RequestBase", "restconf_state", "stream_paths"]

# RFC 8040 §9.1.2 and RFC 8072 §4.1: what works
CAPABILITIES = (
    "urn:ietf:params:restconf:capability:defaults:1.0?basic-mode=explicit",
    "urn:ietf:params:restconf:capability:depth:1.0",
    "urn:ietf:params:restconf:capability:fields:1.0",
    "urn:ietf:params:restconf:capability:filter:1.0",
    "urn:ietf:params:restconf:capability:replay:1.0",
    "urn:ietf:params:restconf:capability:with-defaults:1.0",
    "urn:ietf:params:restconf:capability:yang-patch:1.0",
)
STREAM_PATH = "/streams"  # + /NAME/ENCODING, outside the API root as RFC 8040 §6.3's example
ENCODINGS = ("json", "xml")

_SCOPE: ContextVar[Scope | None] = ContextVar("restconf_request_scope", default=None)


class RequestBase:
    """Pure ASGI middleware: the current request's scope for ``restconf_state``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _SCOPE.set(scope)
        try:
            await self.app(scope, receive, send)
        finally:
            _SCOPE.reset(token)


def stream_paths(name: str = NETCONF_STREAM) -> dict[str, str]:
    """encoding → the path of stream ``name`` in that encoding."""
    return {enc: f"{STREAM_PATH}/{name}/{enc}" for enc in ENCODINGS}


def _base() -> str:
    scope = _SCOPE.get()
    if scope is not None:
        return str(Request(scope).base_url).rstrip("/")
    return ""


def restconf_state(ds: Datastores) -> YangModel:
    """The restconf-state container, now."""
    bundle = ds.bundle
    try:
        oldest = EventLog(ds.store).oldest(NETCONF_STREAM)
    except StoreError:
        oldest = None
    base = _base()
    stream: dict[str, Any] = {
        "name": NETCONF_STREAM,
        "description": "default NETCONF event stream (RFC 5277): every notification yangd sends",
        "replay-support": True,
        "access": [{"encoding": enc, "location": base + path}
                   for enc, path in stream_paths().items()],
    }
    if oldest is not None:
        stream["replay-log-creation-time"] = event_time(oldest)
    cls = bundle.node("/ietf-restconf-monitoring:restconf-state").cls
    if cls is None:
        raise RuntimeError("ietf-restconf-monitoring is not compiled")
    state: YangModel = cls.model_validate({"capabilities": {"capability": list(CAPABILITIES)},
                                           "streams": {"stream": [stream]}})
    return state
