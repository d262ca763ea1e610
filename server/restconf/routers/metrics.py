"""GET /metrics (Prometheus text format) and GET /health (JSON) on the RESTCONF listener, and
the middleware counting RESTCONF requests into yangd's metrics (server/metrics.py).

/metrics asks for HTTP Basic authentication like RESTCONF itself (any yangd user), unless
``metrics_auth = false`` in the configuration: the figures tell an attacker little, but user
names of sessions are not among them anyway, and a scraper can be given a login.
/health never asks: orchestrators probe it without credentials. It answers 200 with
``"status": "ok"`` when every southbound driver follows running, and 503 with
``"status": "degraded"`` when one needs a full sync (a readiness signal: the daemon is up
and serving, but a backend may not match running).
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.metrics import driver_needs_sync, driver_objects, metrics_for
from server.restconf.dependencies import StateDep, current_user

__all__ = ["RequestMetrics", "install", "router"]

router = APIRouter(tags=["observability"])
_STARTED = time.time()


@router.get("/metrics")
def get_metrics(request: Request, state: StateDep) -> Response:
    if getattr(state.config, "metrics_auth", True):
        current_user(request, state)  # Basic or a client certificate, as RESTCONF itself
    return Response(metrics_for(state.datastores).exposition(), media_type=CONTENT_TYPE_LATEST)


@router.get("/health")
def get_health(state: StateDep) -> JSONResponse:
    ds = state.datastores
    drivers = {str(d.name): str(getattr(d, "status", "needs-sync" if d.needs_sync else "in-sync"))
               for d in driver_objects(ds)}
    ok = not any(driver_needs_sync(d) for d in driver_objects(ds))
    doc: dict[str, Any] = {
        "status": "ok" if ok else "degraded",
        "head": ds.head,
        "confirmed-commit-pending": ds.pending is not None,
        "drivers": drivers,
        "uptime": round(time.time() - _STARTED, 1),
    }
    return JSONResponse(doc, status_code=200 if ok else 503)


def _resource(path: str) -> str:
    """A low-cardinality label for a request path."""
    for prefix in ("/restconf/data", "/restconf/operations", "/restconf/ds", "/restconf",
                   "/.well-known", "/metrics", "/health"):
        if path == prefix or path.startswith(prefix + "/"):
            return prefix
    return "other"


class RequestMetrics:
    """Pure ASGI middleware: every HTTP request as ``yangd_rpcs_total{transport="restconf",
    rpc="METHOD /resource", result}`` (error: a status of 400 or more)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            state = getattr(scope["app"].state, "restconf", None) if "app" in scope else None
            if state is not None:
                metrics_for(state.datastores).rpc(
                    "restconf", f"{scope['method']} {_resource(scope['path'])}", status < 400,
                    time.perf_counter() - start)


def install(app: FastAPI) -> None:
    """Serve /metrics and /health and count requests (app.py calls this once)."""
    app.include_router(router)
    app.add_middleware(RequestMetrics)
