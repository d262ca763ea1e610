"""The request paths made cheaper for speed still behave: a large body decoded by the generated
classes (body.py) gives the same tree and the same errors as a small one, with the garbage
collector running again afterwards; async dependencies answer authentication errors and keep
the event loop free while a commit holds the datastore lock; a GET of configuration only
does not ask the state providers."""

from __future__ import annotations

import gc
import json
import threading
import time
from typing import Any

import httpx

from server.restconf.body import BULK_BYTES
from tests.server.restconf.conftest import Running
from tests.server.restconf.helpers import JB, JSON, errors, send, tag

LIB = f"{JB}/library"


def _library(artists: int) -> dict[str, Any]:
    return {"example-jukebox:jukebox": {"library": {"artist": [
        {"name": f"artist-{i:04d}", "album": [
            {"name": f"album-{i}-{j}", "genre": "example-jukebox:jazz", "year": 1990 + j,
             "admin": {"label": f"label {i}"},
             "song": [{"name": f"song-{k}", "location": f"/music/{i}/{j}/{k}.ogg"} for k in range(2)]}
            for j in range(2)]}
        for i in range(artists)]}}}


def _big(artists: int = 140) -> tuple[dict[str, Any], bytes]:
    doc = _library(artists)
    raw = json.dumps(doc).encode()
    assert BULK_BYTES <= len(raw) < 256 * 1024  # the fast path, under the test server's limit
    return doc, raw


def test_bulk_put_gives_the_same_tree(c: httpx.Client) -> None:
    doc, raw = _big()
    r = send(c, "PUT", JB, raw)
    assert r.status_code == 201, r.text
    assert gc.isenabled()  # the server runs in this process: the collector is back on
    got = c.get(JB)
    assert got.status_code == 200
    assert got.json() == doc
    # the same content as a small edit: one album, then read back the same way
    small = c.get(f"{LIB}/artist=artist-0007/album=album-7-1").json()
    assert small == {"example-jukebox:album": [doc["example-jukebox:jukebox"]["library"]["artist"][7]["album"][1]]}
    # PATCH (merge) with a large body keeps what it does not name
    more = _library(150)
    for a in more["example-jukebox:jukebox"]["library"]["artist"]:
        for al in a["album"]:
            al.pop("song")
            al["year"] = 2001
    r = send(c, "PATCH", JB, more)
    assert r.status_code == 204, r.text
    album = c.get(f"{LIB}/artist=artist-0003/album=album-3-0").json()["example-jukebox:album"][0]
    assert album["year"] == 2001 and len(album["song"]) == 2
    assert c.get(f"{LIB}/artist=artist-0149").status_code == 200


def _bad_year(doc: dict[str, Any], artist: int) -> bytes:
    doc["example-jukebox:jukebox"]["library"]["artist"][artist]["album"][0]["year"] = 1800
    return json.dumps(doc).encode()


def test_bulk_put_invalid_reports_like_a_small_one(c: httpx.Client) -> None:
    before = c.get(JB)
    assert before.status_code == 404
    big = send(c, "PUT", JB, _bad_year(_big()[0], 120))
    small = send(c, "PUT", JB, _bad_year(_library(121), 120))
    assert big.status_code == small.status_code == 400, big.text
    assert errors(big) == errors(small)
    assert errors(big)[0]["error-path"].endswith("/album/year")
    unknown = _big()[0]
    unknown["example-jukebox:jukebox"]["library"]["artist"][5]["colour"] = "red"
    r = send(c, "PUT", JB, unknown)
    assert r.status_code == 400 and tag(r) == "unknown-element"
    assert c.get(JB).status_code == 404  # nothing changed
    assert gc.isenabled()


def test_authentication_errors_from_async_dependencies(rc_server: Running, c: httpx.Client) -> None:
    assert c.get(JB).status_code == 404  # right credentials (checked, then remembered)
    assert c.get(JB).status_code == 404
    with rc_server.client(auth=("admin", "wrong")) as bad:
        r = bad.get(JB)
        assert r.status_code == 401 and tag(r) == "access-denied"
        assert r.headers["www-authenticate"].startswith("Basic")
    with rc_server.client(auth=None) as anon:
        r = anon.get(JB)
        assert r.status_code == 401 and tag(r) == "access-denied"


def test_event_loop_free_while_a_commit_holds_the_lock(rc_server: Running, c: httpx.Client) -> None:
    result: dict[str, int] = {}

    def get() -> None:
        with rc_server.client() as other:
            result["status"] = other.get(JB).status_code

    with rc_server.ds.lock:  # as a long commit does
        t = threading.Thread(target=get)
        t.start()
        time.sleep(0.3)
        assert "status" not in result  # its session waits for the lock, in a worker thread
        t0 = time.monotonic()
        r = c.get("/restconf/yang-library-version")  # meanwhile the loop answers others
        assert r.status_code == 200 and time.monotonic() - t0 < 5
    t.join(10)
    assert result == {"status": 404}


class _Counting:
    name = "counting"
    origin = "ietf-origin:learned"

    def __init__(self) -> None:
        self.calls = 0

    def state(self) -> None:
        self.calls += 1
        return None


def test_config_only_get_does_not_ask_state_providers(rc_server: Running, c: httpx.Client) -> None:
    send(c, "PUT", JB, _library(2))
    provider = _Counting()
    rc_server.ds.add_state_provider(provider)
    try:
        assert c.get(f"{LIB}/artist=artist-0001").status_code == 200
        assert c.get(f"{LIB}/artist=artist-0001/album=album-1-0/year").status_code == 200
        assert provider.calls == 0  # no config-false node at or below an artist
        assert c.get(JB).status_code == 200  # library holds artist-count (config false)
        assert provider.calls == 1
        assert c.get(JB, params={"content": "config"}).status_code == 200
        assert provider.calls == 1
        r = c.get("/restconf/data", headers={"Accept": JSON})
        assert r.status_code == 200 and provider.calls == 2
        assert "example-jukebox:jukebox" in r.json()["ietf-restconf:data"]
    finally:
        rc_server.ds.remove_state_provider(provider)


def test_small_get_on_the_loop_keeps_validators(c: httpx.Client) -> None:
    """A song entry or a leaf (no list below, no state) is read on the event loop: the same
    body, ETag and 304 as any read, and a new ETag after a change."""
    send(c, "PUT", JB, _library(3))
    song = f"{LIB}/artist=artist-0002/album=album-2-1/song=song-1"
    r = c.get(song)
    assert r.status_code == 200
    assert r.json() == {"example-jukebox:song": [{"name": "song-1", "location": "/music/2/1/1.ogg"}]}
    etag = r.headers["etag"]
    assert c.get(song, headers={"If-None-Match": etag}).status_code == 304
    year = f"{LIB}/artist=artist-0002/album=album-2-1/year"
    assert c.get(year).json() == {"example-jukebox:year": 1991}
    assert send(c, "PATCH", song, {"example-jukebox:song": [{"name": "song-1", "location": "/x.ogg"}]}).status_code == 204
    r = c.get(song, headers={"If-None-Match": etag})
    assert r.status_code == 200 and r.headers["etag"] != etag
    assert r.json()["example-jukebox:song"][0]["location"] == "/x.ogg"
    r = c.get(f"{LIB}/artist=artist-0002/album=album-2-1/song=nope")
    assert r.status_code == 404 and tag(r) == "data-missing"
