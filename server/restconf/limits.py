"""Request limits in front of the RESTCONF application (pure ASGI, before any routing).

A request target longer than ``restconf_max_uri_length`` is 414, request headers over
``restconf_max_header_size`` are 431, each with an ``ietf-restconf:errors`` body (RFC 8040
§7: error-tag too-big). Every request also runs with the configured document limits
(parse.LIMITS) that the body parsers enforce.

Below the application, the HTTP protocol bounds what a request head may cost before any of
that runs: a head bigger than ``head_limit`` (a little above URI + header limits) is 400 and
the connection closed, and one not complete within ``restconf_header_timeout`` (slowloris)
is 408 and closed. h11 has the size bound built in (server.py sets it); httptools has
neither, so ``http_protocol`` gives a subclass of uvicorn's httptools protocol that adds
both, or "h11" when httptools is not installed. That subclass also answers a request beyond
``restconf_max_connections`` itself: 503 with an errors body (resource-denied) where
uvicorn's own limit_concurrency check (still the bound with h11) answers in plain text.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from models.codec.xml import XmlLimits
from models.errors import YangdError
from server.config import Config
from server.restconf.errors import error_body
from server.restconf.media import Media, accepted
from server.restconf.parse import LIMITS

__all__ = ["RequestLimits", "head_limit", "http_protocol"]

log = logging.getLogger("yangd.restconf")


def head_limit(config: Config) -> int:
    """Bytes a request line and headers may take in all before the connection is dropped."""
    return config.restconf_max_uri_length + config.restconf_max_header_size + 4096


class RequestLimits:
    def __init__(self, app: ASGIApp, config: Config) -> None:
        self.app = app
        self.max_uri = config.restconf_max_uri_length
        self.max_headers = config.restconf_max_header_size
        self.documents = XmlLimits(config.max_nesting_depth, config.max_elements)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        target = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"") + 1
        if target > self.max_uri:
            await _refuse(scope, send, 414, f"the request target is longer than {self.max_uri} bytes")
            return
        head = sum(len(k) + len(v) + 4 for k, v in scope["headers"])
        if head > self.max_headers:
            await _refuse(scope, send, 431, f"the request headers exceed {self.max_headers} bytes")
            return
        token = LIMITS.set(self.documents)
        try:
            await self.app(scope, receive, send)
        finally:
            LIMITS.reset(token)


async def _busy(scope: Scope, receive: Receive, send: Send) -> None:
    """The answer to a request over the connection limit (RFC 8040 §7 errors body)."""
    await _refuse(scope, send, 503, "too many connections; try again later", "resource-denied")


async def _refuse(scope: Scope, send: Send, status: int, message: str, tag: str = "too-big") -> None:
    accept = None
    for k, v in scope["headers"]:
        if k == b"accept":
            accept = v.decode("latin-1")
    try:
        media = accepted(accept)
    except Exception:  # an unacceptable Accept must not hide the real refusal
        media = Media.JSON
    body = b"" if scope.get("method") == "HEAD" else error_body(
        [YangdError(tag, message, type="transport")], media is Media.XML)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", media.value.encode()),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def http_protocol(config: Config) -> Any:
    """uvicorn's ``http`` setting: a bounded httptools protocol class, or "h11"."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return "h11"
    max_head = head_limit(config)
    timeout = config.restconf_header_timeout
    max_conn = config.restconf_max_connections

    class BoundedHttpTools(HttpToolsProtocol):
        _head = 0
        _in_head = False
        _timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._start_head()  # the first request must come in time too

        def _start_head(self) -> None:
            self._head = 0
            self._in_head = True
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self.loop.call_later(timeout, self._too_slow) if timeout > 0 else None

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._start_head()

        def on_headers_complete(self) -> None:
            self._in_head = False
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            # uvicorn's own check, with our answer instead of its plain-text one
            if len(self.connections) <= max_conn and len(self.tasks) <= max_conn:
                super().on_headers_complete()
                return
            log.warning("RESTCONF request refused: over %d connections", max_conn)
            app, limit = self.app, self.limit_concurrency
            self.app, self.limit_concurrency = _busy, None
            try:
                super().on_headers_complete()
            finally:
                self.app, self.limit_concurrency = app, limit

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            # still in a head after this feed: it was all head (httptools buffers it)
            if self._in_head and not self.transport.is_closing():
                self._head += len(data)
                if self._head > max_head:
                    log.warning("RESTCONF request head over %d bytes from %s; closing", max_head,
                                self.client)
                    self.send_400_response("Request head too large.")

        def _too_slow(self) -> None:
            self._timer = None
            if self._in_head and not self.transport.is_closing():
                log.warning("RESTCONF request head not complete in %g s from %s; closing", timeout,
                            self.client)
                msg = b"Request head not received in time."
                self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; "
                                     b"charset=utf-8\r\nconnection: close\r\ncontent-length: "
                                     + str(len(msg)).encode() + b"\r\n\r\n" + msg)
                self.transport.close()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            super().connection_lost(exc)

    return BoundedHttpTools
