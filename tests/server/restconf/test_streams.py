"""Event streams end to end (RFC 8040 §6, §9.2): restconf-state discovery, Server-Sent Events
of the NETCONF stream over TLS receiving changes made over NETCONF (ncclient) and RESTCONF,
replay with start-time/stop-time, filters, bad parameters, and a client that leaves."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from lxml import etree

from datastore.datastores import Datastores
from datastore.store import Store
from server.config import Config, add_user
from server.netconf.server import Server as NcServer
from server.netconf.server import serve as serve_netconf
from server.restconf import Server, serve
from tests.server.conftest import free_port
from tests.server.helpers import iface
from tests.server.restconf.conftest import PASSWORD, USER, Running
from tests.server.restconf.helpers import JB, errors, jukebox, send

STATE = "/restconf/data/ietf-restconf-monitoring:restconf-state"
NCN = "urn:ietf:params:xml:ns:yang:ietf-netconf-notifications"
NOTIF = "urn:ietf:params:xml:ns:netconf:notification:1.0"
CHANGE = "ietf-netconf-notifications:netconf-config-change"
REPLAY_DONE = "nc-notifications:replayComplete"
ALL_DONE = "nc-notifications:notificationComplete"


@dataclass
class Both(Running):
    netconf: NcServer | None = None

    @property
    def nc_port(self) -> int:
        assert self.netconf is not None
        return self.netconf.port

    def flush(self) -> None:
        """Wait until every event so far is in the event log."""
        assert self.netconf is not None and self.netconf.notifications is not None
        assert self.netconf.notifications.flush()


@pytest.fixture
def both(tmp_path: Path, pkg: ModuleType) -> Iterator[Both]:
    """NETCONF and RESTCONF on one datastore, one asyncio loop (as `yangd serve` runs them)."""
    data = tmp_path / "data"
    add_user(data, USER, PASSWORD)
    ds = Datastores(pkg.B, Store.open(f"sqlite:///{data / 'yangd.db'}"))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def call(coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(20)

    nc: NcServer | None = None
    for _attempt in range(5):
        cfg = Config(data_dir=data, netconf_listen=f"127.0.0.1:{free_port()}",
                     restconf_listen="127.0.0.1:0", hello_timeout=10)
        try:
            nc = call(serve_netconf(cfg, ds))
            break
        except OSError:
            continue
    assert nc is not None
    rc: Server = call(serve(cfg, ds))
    run = Both(rc, ds, loop, data, nc)
    try:
        yield run
    finally:
        call(rc.close())
        call(nc.close())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
        ds.close()


def connect(run: Both) -> Any:
    from ncclient import manager

    return manager.connect(host="127.0.0.1", port=run.nc_port, username=USER, password=PASSWORD,
                           hostkey_verify=False, look_for_keys=False, allow_agent=False,
                           timeout=10)


def sse(r: httpx.Response) -> Iterator[str]:
    """The data of each Server-Sent Event (W3C: data lines joined by newlines)."""
    assert r.status_code == 200, r.read()
    assert r.headers["content-type"].startswith("text/event-stream")
    lines: list[str] = []
    for line in r.iter_lines():
        if line == "":
            if lines:
                yield "\n".join(lines)
            lines = []
        elif line.startswith("data:"):
            lines.append(line[6:] if line.startswith("data: ") else line[5:])


def name_of(doc: dict[str, Any]) -> str:
    (name,) = (k for k in doc["ietf-restconf:notification"] if k != "eventTime")
    return name


def next_json(events: Iterator[str], name: str) -> dict[str, Any]:
    """The content of the next JSON notification named ``name`` (others skipped)."""
    for text in events:
        doc = json.loads(text)
        datetime.fromisoformat(doc["ietf-restconf:notification"]["eventTime"])
        if name_of(doc) == name:
            got: dict[str, Any] = doc["ietf-restconf:notification"][name]
            return got
    pytest.fail(f"the stream ended before a {name} notification")


def names(events: Iterator[str]) -> list[str]:
    """Names of the JSON notifications up to the end of the stream."""
    return [name_of(json.loads(t)) for t in events]


def json_url(c: httpx.Client) -> str:
    doc = c.get(STATE).json()
    (stream,) = doc["ietf-restconf-monitoring:restconf-state"]["streams"]["stream"]
    return {a["encoding"]: a["location"] for a in stream["access"]}["json"]


# ---- discovery -----------------------------------------------------------------------------

def test_restconf_state(c: httpx.Client, rc_server: Running) -> None:
    r = c.get(STATE)
    assert r.status_code == 200, r.text
    state = r.json()["ietf-restconf-monitoring:restconf-state"]
    caps = state["capabilities"]["capability"]
    for want in ("depth", "fields", "filter", "replay", "with-defaults", "yang-patch"):
        assert f"urn:ietf:params:restconf:capability:{want}:1.0" in caps
    assert "urn:ietf:params:restconf:capability:defaults:1.0?basic-mode=explicit" in caps
    (stream,) = state["streams"]["stream"]
    assert stream["name"] == "NETCONF" and stream["replay-support"] is True
    access = {a["encoding"]: a["location"] for a in stream["access"]}
    assert access == {"json": f"{rc_server.url}/streams/NETCONF/json",
                      "xml": f"{rc_server.url}/streams/NETCONF/xml"}
    # XML, and config false: absent from content=config, a 400 on an edit
    x = c.get(f"{STATE}/streams", headers={"Accept": "application/yang-data+xml"})
    root = etree.fromstring(x.content)
    assert root.tag == "{urn:ietf:params:xml:ns:yang:ietf-restconf-monitoring}streams"
    assert c.get("/restconf/data", params={"content": "config"}).text.count("restconf-state") == 0
    assert "ietf-restconf-monitoring:restconf-state" in c.get("/restconf/data").json()[
        "ietf-restconf:data"]


# ---- live events -----------------------------------------------------------------------------

def test_change_over_netconf_reaches_both_encodings(both: Both) -> None:
    base = {"timeout": 10}
    with both.client(**base) as c:
        url = json_url(c)
        assert url.startswith("https://127.0.0.1:")
        with c.stream("GET", url, headers={"Accept": "text/event-stream"}) as rj, \
                c.stream("GET", url.replace("/json", "/xml")) as rx:
            ej, ex = sse(rj), sse(rx)
            with connect(both) as m:
                m.edit_config(target="candidate", config=iface("eth7"))
                m.commit()
                sid = m.session_id
            change = next_json(ej, CHANGE)
            assert change["changed-by"]["username"] == USER
            assert change["changed-by"]["session-id"] == int(sid)
            assert change["datastore"] == "running"
            assert change["edit"] == [{"target": "/ietf-interfaces:interfaces",
                                       "operation": "create"}]
            for text in ex:
                root = etree.fromstring(text.encode())
                assert root.tag == f"{{{NOTIF}}}notification"
                assert root[0].tag == f"{{{NOTIF}}}eventTime"
                if root[1].tag == f"{{{NCN}}}netconf-config-change":
                    assert root[1].findtext(f"{{{NCN}}}changed-by/{{{NCN}}}username") == USER
                    break
            # and a RESTCONF edit: same stream, transport-independent
            jukebox(c)
            change = next_json(ej, CHANGE)
            assert change["changed-by"]["username"] == USER
            assert change["changed-by"]["session-id"] == 0  # not a NETCONF session
            assert change["edit"][0]["target"] == "/example-jukebox:jukebox"


def test_disconnect_frees_the_subscription(both: Both) -> None:
    with both.client() as c:
        url = json_url(c)
        with c.stream("GET", url) as r:
            assert r.status_code == 200
            feed = both.server.app.state.event_feed
            assert len(feed.subs) == 1
    deadline = time.monotonic() + 10
    while feed.subs and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not feed.subs
    while feed._task is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert feed._task is None  # nobody listens: the log is not read any more


# ---- replay and filter -------------------------------------------------------------------------

def _history(both: Both, c: httpx.Client) -> tuple[datetime, datetime]:
    """A session start/end (NETCONF) and two config changes (RESTCONF), all logged."""
    both.flush()  # the users commit at start-up (users.json imported) is logged before t0
    t0 = datetime.now(UTC)
    with connect(both):
        pass
    jukebox(c)
    assert send(c, "PATCH", JB, {"example-jukebox:jukebox": {"player": {"gap": "0.5"}}}
                ).status_code == 204
    both.flush()
    return t0, datetime.now(UTC)


def test_replay_then_live(both: Both) -> None:
    with both.client() as c:
        t0, _t1 = _history(both, c)
        url = json_url(c)
        with c.stream("GET", url, params={"start-time": t0.isoformat()}) as r:
            events = sse(r)
            got: list[str] = []
            for text in events:
                got.append(name_of(json.loads(text)))
                if got[-1] == REPLAY_DONE:
                    break
            assert got == ["ietf-netconf-notifications:netconf-session-start",
                           "ietf-netconf-notifications:netconf-session-end", CHANGE, CHANGE,
                           REPLAY_DONE]
            send(c, "DELETE", f"{JB}/player")
            change = next_json(events, CHANGE)  # live after the replay, nothing twice
            (edit,) = change["edit"]
            assert edit["operation"] == "delete"
            # RFC 7951 §6.11 wants the abbreviated form; the codec keeps the value as logged
            assert edit["target"] in ("/example-jukebox:jukebox/player",
                                      "/example-jukebox:jukebox/example-jukebox:player")


def test_replay_window_and_filter(both: Both) -> None:
    with both.client() as c:
        t0, t1 = _history(both, c)
        url = json_url(c)
        window = {"start-time": t0.isoformat(), "stop-time": t1.isoformat()}
        with c.stream("GET", url, params=window) as r:  # ends by itself: stop-time is past
            assert names(sse(r)) == ["ietf-netconf-notifications:netconf-session-start",
                                     "ietf-netconf-notifications:netconf-session-end",
                                     CHANGE, CHANGE, REPLAY_DONE, ALL_DONE]
        flt = "/ietf-netconf-notifications:netconf-config-change"
        with c.stream("GET", url, params={**window, "filter": flt}) as r:
            assert names(sse(r)) == [CHANGE, CHANGE, REPLAY_DONE, ALL_DONE]
        flt = ("/ietf-netconf-notifications:netconf-config-change/ietf-netconf-notifications:edit"
               "[ietf-netconf-notifications:operation='merge' or "
               "ietf-netconf-notifications:operation='create']")
        with c.stream("GET", url.replace("/json", "/xml"), params={**window, "filter": flt}) as r:
            docs = [etree.fromstring(t.encode()) for t in sse(r)]
            assert [etree.QName(d[1]).localname for d in docs] == [
                "netconf-config-change", "netconf-config-change", "replayComplete",
                "notificationComplete"]
        # a '+' sent unencoded reads as a space: still understood as the time zone
        assert "+00:00" in t0.isoformat()
        r = c.get(f"{url}?start-time={t0.isoformat()}&stop-time={t1.isoformat()}")
        assert r.status_code == 200 and r.text.count(CHANGE) == 2


# ---- errors ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("params", "needle"), [
    ({"depth": "1"}, "not allowed"),
    ({"filter": "/["}, "XPath"),
    ({"filter": "/no-such-module:event"}, "XPath"),
    ({"start-time": "yesterday"}, "date-and-time"),
    ({"start-time": "2026-01-01T00:00:00"}, "time zone"),
    ({"start-time": "2999-01-01T00:00:00Z"}, "future"),
    ({"stop-time": "2026-01-01T00:00:00Z"}, "needs a start-time"),
    ({"start-time": "2026-01-02T00:00:00Z", "stop-time": "2026-01-01T00:00:00Z"}, "earlier"),
])
def test_bad_parameters(c: httpx.Client, params: dict[str, str], needle: str) -> None:
    r = c.get("/streams/NETCONF/json", params=params)
    assert r.status_code == 400, r.text
    (e,) = errors(r)
    assert e["error-tag"] == "invalid-value" and needle in e["error-message"]


def test_other_stream_errors(c: httpx.Client, rc_server: Running) -> None:
    r = c.get("/streams/NETCONF/json?filter=a&filter=b")
    assert r.status_code == 400 and "more than once" in errors(r)[0]["error-message"]
    assert c.get("/streams/OTHER/json").status_code == 404
    assert c.get("/streams/NETCONF/yaml").status_code == 404
    r = c.get("/streams/NETCONF/json", headers={"Accept": "application/yang-data+json"})
    assert r.status_code == 406 and errors(r)
    with httpx.Client(base_url=rc_server.url, verify=False) as anon:
        r = anon.get("/streams/NETCONF/json")
        assert r.status_code == 401 and errors(r)[0]["error-tag"] == "access-denied"
    assert getattr(rc_server.server.app.state, "event_feed", None) is None or \
        not rc_server.server.app.state.event_feed.subs


def test_server_close_ends_open_streams(rc_server: Running) -> None:
    with rc_server.client() as c, c.stream("GET", "/streams/NETCONF/xml") as r:
        assert r.status_code == 200
        t0 = time.monotonic()
        closing = asyncio.run_coroutine_threadsafe(rc_server.server.close(), rc_server.loop)
        assert list(sse(r)) == []  # the stream ends (no event came) instead of hanging
        assert time.monotonic() - t0 < 3  # not after uvicorn's graceful-shutdown timeout
    closing.result(10)
