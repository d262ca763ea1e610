"""The RESTCONF application: routers plus the one error path (RFC 8040 §7).

``build_app(datastores, config, users)`` is all a server or a test needs; every failure —
ours, the datastore's, Starlette's, or an unexpected exception (logged, never shown) —
leaves as an ``ietf-restconf:errors`` body in the negotiated encoding.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from datastore.datastores import Datastores
from models.errors import YangdError, YangdErrors
from server.config import Config
from server.restconf.auth import Authenticator
from server.restconf.dependencies import RestconfState
from server.restconf.errors import RestconfError, error_body, status_of
from server.restconf.media import Media, accepted
from server.restconf.monitoring import RequestBase
from server.restconf.routers import data, discovery, ds, operations, streams
from server.restconf.routers.metrics import install as install_metrics
from server.users import UserDirectory, users_for

__all__ = ["build_app"]

log = logging.getLogger("yangd.restconf")

_HTTP_TAGS = {404: "invalid-value", 405: "operation-not-supported", 413: "too-big"}


def _media(request: Request) -> Media:
    try:
        return accepted(request.headers.get("accept"))
    except RestconfError:
        return Media.JSON


def _reply(request: Request, errors: list[YangdError], status: int,
           headers: dict[str, str] | None = None) -> Response:
    media = _media(request)
    bundle = None
    state = getattr(request.app.state, "restconf", None)
    if state is not None:
        bundle = state.datastores.bundle
    body = error_body(errors, media is Media.XML, bundle)
    if request.method == "HEAD":
        body = b""
    return Response(body, status_code=status, media_type=media.value, headers=headers)


def build_app(datastores: Datastores, config: Config, users: UserDirectory | None = None) -> FastAPI:
    users = users or users_for(datastores, config)  # ietf-system users; users.json imported
    app = FastAPI(title="yangd RESTCONF", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.restconf = RestconfState(datastores, config, users, Authenticator(users))
    app.include_router(discovery.router)
    app.include_router(data.router)
    app.include_router(ds.router)  # RFC 8527 NMDA datastores, the data router's handlers
    install_metrics(app)  # GET /metrics, GET /health, and request counting
    app.include_router(streams.router)
    app.add_middleware(RequestBase)  # stream locations in restconf-state name the request's host
    app.include_router(operations.router)

    @app.exception_handler(RestconfError)
    async def on_restconf(request: Request, exc: RestconfError) -> Response:
        return _reply(request, exc.errors, exc.status, exc.headers)

    @app.exception_handler(YangdErrors)
    async def on_yangd(request: Request, exc: YangdErrors) -> Response:
        return _reply(request, exc.errors, status_of(exc.errors))

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> Response:
        tag = _HTTP_TAGS.get(exc.status_code, "operation-failed")
        msg = "no such resource" if exc.status_code == 404 else str(exc.detail)
        return _reply(request, [YangdError(tag, msg, type="protocol")], exc.status_code,
                      dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def on_any(request: Request, exc: Exception) -> Response:
        log.exception("RESTCONF %s %s failed", request.method, request.url.path)
        return _reply(request, [YangdError("operation-failed", "internal error", type="application")], 500)

    return app
