"""Event streams (RFC 8040 §6): GET on a stream location is a Server-Sent Events response.

``/streams/NETCONF/json`` and ``/streams/NETCONF/xml`` (advertised in restconf-state, see
monitoring.py) carry the NETCONF stream: every notification yangd sends, config-change from
a commit over any transport included. Query parameters (§4.8): ``filter`` (XPath),
``start-time`` (replay from the event log, then RFC 5277's replayComplete, then live) and
``stop-time`` (with a start-time: the stream ends with notificationComplete once it is
reached); any other, a repeated one or a bad value is 400 with an errors body.

The subscription is registered before the response starts, so a client that has the
response headers misses nothing after them; it is dropped when the response ends, whatever
way (client gone, stop-time, server shutdown): EventStream's ``finally``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from datastore.events import NETCONF_STREAM, Event, EventLog
from datastore.store import StoreError
from models.bundle import Bundle
from models.codec.xml import parse
from server.restconf.dependencies import StateDep, UserDep
from server.restconf.errors import RestconfError
from server.restconf.feed import EventFeed, Subscriber
from server.restconf.monitoring import ENCODINGS, STREAM_PATH
from server.restconf.sse import (
    KEEPALIVE,
    Matcher,
    compile_filter,
    frame,
    marker,
    notification,
    permitted,
)

__all__ = ["EventStream", "feed_of", "router"]

router = APIRouter(tags=["streams"])

KEEPALIVE_S = 15.0  # an idle stream sends a comment this often (finds dead peers)
STOP_GRACE = timedelta(seconds=0.5)  # events up to stop-time may still be on their way
EVENT_STREAM = "text/event-stream"
_PARAMS = ("filter", "start-time", "stop-time")


def feed_of(request: Request, state: StateDep) -> EventFeed:
    """The app's event feed, made on first use (closed by Server.close)."""
    feed: EventFeed | None = getattr(request.app.state, "event_feed", None)
    if feed is None:
        feed = EventFeed(EventLog(state.datastores.store))
        request.app.state.event_feed = feed
    return feed


def _bad(message: str) -> RestconfError:
    return RestconfError.one("invalid-value", message, 400, type="protocol")


def _params(items: list[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in items:
        if name in out:
            raise _bad(f"query parameter {name!r} is given more than once")
        if name not in _PARAMS:
            raise _bad(f"query parameter {name!r} is not allowed on an event stream; "
                       f"use {', '.join(_PARAMS)}")
        out[name] = value
    return out


def _time(name: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    # a '+' in a query string reads as a space unless sent as %2B: no date-and-time has one
    t = text.strip().replace(" ", "+")
    try:
        got = datetime.fromisoformat(t)
    except ValueError:
        got = None
    if got is None or got.tzinfo is None or got.utcoffset() is None:
        raise _bad(f"{name} {text!r} is not an RFC 3339 date-and-time with a time zone")
    return got.astimezone(UTC)


def _check_accept(accept: str | None) -> None:
    if not accept:
        return
    ranges = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    if not ranges & {EVENT_STREAM, "text/*", "*/*"}:
        raise RestconfError.one("invalid-value", f"an event stream is {EVENT_STREAM}, not any "
                                f"of {accept!r}", 406)


@router.get(STREAM_PATH + "/{name}/{encoding}")
async def event_stream(request: Request, name: str, encoding: str, _user: UserDep,
                       state: StateDep) -> StreamingResponse:
    if name != NETCONF_STREAM or encoding not in ENCODINGS:
        raise RestconfError.one("invalid-value", f"no event stream {name}/{encoding}", 404)
    _check_accept(request.headers.get("accept"))
    got = _params(request.query_params.multi_items())
    bundle = state.datastores.bundle
    matcher: Matcher | None = None
    if "filter" in got:
        try:
            matcher = compile_filter(bundle, got["filter"])
        except ValueError as e:
            raise _bad(str(e)) from None
    matcher = permitted(state.datastores, _user, matcher)  # NACM (RFC 8341 §3.4.6)
    start, stop = _time("start-time", got.get("start-time")), _time("stop-time", got.get("stop-time"))
    now = datetime.now(UTC)
    if start is not None and start > now:
        raise _bad("start-time is in the future")  # RFC 8040 §4.8.7
    if stop is not None and start is None:
        raise _bad("stop-time needs a start-time")  # RFC 8040 §4.8.8, RFC 5277 §2.1.1
    if start is not None and stop is not None and stop < start:
        raise _bad("stop-time is earlier than start-time")
    feed = feed_of(request, state)
    try:
        sub, replay = await feed.subscribe(start, stop)
    except StoreError as e:
        raise RestconfError.one("operation-failed", f"cannot read the event log: {e}", 500,
                                type="application") from None
    body = _events(bundle, sub, replay if start is not None else None, matcher, stop,
                   encoding == "json")
    return EventStream(feed, sub, body)


class EventStream(StreamingResponse):
    """An SSE response that drops its subscription when it ends, however it ends."""

    def __init__(self, feed: EventFeed, sub: Subscriber, body: AsyncIterator[bytes]) -> None:
        super().__init__(body, media_type=EVENT_STREAM,
                         headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        self.feed, self.sub = feed, sub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.feed.unsubscribe(self.sub)
            aclose: Any = getattr(self.body_iterator, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()


def _wanted(matcher: Matcher | None, ev: Event) -> bool:
    return matcher is None or matcher(parse(ev.content))


async def _events(bundle: Bundle, sub: Subscriber, replay: list[Event] | None,
                  matcher: Matcher | None, stop: datetime | None,
                  as_json: bool) -> AsyncIterator[bytes]:
    """The SSE body: the replay window and replayComplete (when asked for), then live
    events until stop-time, the client leaves or the feed drops the subscription."""
    if replay is not None:
        for old in replay:
            if _wanted(matcher, old):
                yield frame(notification(bundle, old.time, old.content, as_json))
        yield frame(marker("replayComplete", as_json))
    while not sub.ended:
        timeout = KEEPALIVE_S
        if stop is not None:
            timeout = min(timeout, (stop + STOP_GRACE - datetime.now(UTC)).total_seconds())
        try:
            ev: Event | None = await asyncio.wait_for(sub.queue.get(), max(timeout, 0.0))
        except TimeoutError:
            if stop is not None and datetime.now(UTC) >= stop + STOP_GRACE:
                yield frame(marker("notificationComplete", as_json))
                return
            yield KEEPALIVE
            continue
        if ev is None:  # the server is shutting down
            return
        if stop is not None and ev.time > stop:
            yield frame(marker("notificationComplete", as_json))
            return
        if _wanted(matcher, ev):
            yield frame(notification(bundle, ev.time, ev.content, as_json))
