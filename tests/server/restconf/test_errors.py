"""Bad requests (RFC 8040 §7): status, an errors body, and the datastore left unchanged."""

from __future__ import annotations

import httpx
import pytest
from lxml import etree

from tests.server.restconf.conftest import PASSWORD, USER, Running
from tests.server.restconf.helpers import JB, JB_NS, JSON, RC_NS, XML, errors, jukebox, send, tag

ARTIST = f"{JB}/library/artist=Foo%20Fighters"


def test_401_without_and_with_bad_credentials(rc_server: Running) -> None:
    with rc_server.client(auth=None) as anon:
        r = anon.get("/restconf/data")
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic")
        assert tag(r) == "access-denied"
    with rc_server.client(auth=(USER, "wrong")) as bad:
        assert bad.get("/restconf").status_code == 401
    with rc_server.client(auth=("nobody", PASSWORD)) as bad:
        assert bad.get("/restconf").status_code == 401


def test_406_and_415(c: httpx.Client) -> None:
    r = c.get("/restconf/data", headers={"Accept": "text/html"})
    assert r.status_code == 406 and tag(r) == "invalid-value"
    r = send(c, "PUT", JB, "name=x", "application/x-www-form-urlencoded")
    assert r.status_code == 415


@pytest.mark.parametrize(("body", "ctype"), [
    ('{"example-jukebox:jukebox": {', JSON),
    ('{"example-jukebox:jukebox": {"library": {"artist": [{"name": 7, "bogus": 1}]}}}', JSON),
    ('{"example-jukebox:jukebox": {"player": {"gap": "9.9"}}}', JSON),
    (f'<jukebox xmlns="{JB_NS}"><library>', XML),
    (f'<jukebox xmlns="{JB_NS}"><nope/></jukebox>', XML),
    ('<!DOCTYPE x [<!ENTITY a "b">]><jukebox xmlns="http://example.com/ns/example-jukebox"/>', XML),
])
def test_malformed_bodies(c: httpx.Client, rc_server: Running, body: str, ctype: str) -> None:
    jukebox(c)
    head, before = rc_server.ds.head, rc_server.ds.running
    r = send(c, "PUT", JB, body, ctype)
    assert r.status_code == 400, r.text
    assert errors(r)[0]["error-message"]
    assert rc_server.ds.head == head and rc_server.ds.running is before


def test_errors_in_xml(c: httpx.Client) -> None:
    r = c.get(f"{JB}/library/artist=Nobody", headers={"Accept": XML})
    assert r.status_code == 404 and r.headers["content-type"] == XML
    root = etree.fromstring(r.content)
    assert root.tag == f"{{{RC_NS}}}errors"
    err = root.find(f"{{{RC_NS}}}error")
    assert err is not None and err.findtext(f"{{{RC_NS}}}error-tag") == "data-missing"
    path = err.find(f"{{{RC_NS}}}error-path")
    assert path is not None and (path.text or "").startswith("/jbox:jukebox")
    assert path.nsmap["jbox"] == JB_NS


@pytest.mark.parametrize("url", [
    f"{JB}/library/artist=Foo%2",
    f"{JB}/library/artist=Foo%ZZ",
    f"{JB}/library/artist=%FF",
])
def test_bad_percent_encoding(c: httpx.Client, url: str) -> None:
    r = c.get(url)
    assert r.status_code == 400 and tag(r) == "invalid-value"


@pytest.mark.parametrize("url", [
    "/restconf/data/example-jukebox:nothing",
    "/restconf/data/no-such-module:x",
    "/restconf/data/jukebox",
    f"{JB}/library/artist",
    f"{JB}/library/artist=a,b",
    f"{JB}/library/artist=x/../../..",
    f"{JB}//library",
    f"{JB}/player=1",
])
def test_bad_paths(c: httpx.Client, url: str) -> None:
    r = send(c, "PUT", url, {"x": 1})
    assert r.status_code == 400, r.text
    errors(r)


def test_unknown_and_misplaced_query_parameters(c: httpx.Client) -> None:
    jukebox(c)
    for params in ({"bogus": "1"}, {"depth": "0"}, {"depth": "x"}, {"content": "some"},
                   {"with-defaults": "never"}):
        r = c.get(JB, params=params)
        assert r.status_code == 400 and tag(r) == "invalid-value", params
    assert c.get(f"{JB}?depth=1&depth=2").status_code == 400
    r = send(c, "PATCH", f"{JB}?depth=1", {"example-jukebox:jukebox": {}})
    assert r.status_code == 400
    assert c.delete(f"{ARTIST}?content=config").status_code == 400


def test_too_big(c: httpx.Client) -> None:
    r = send(c, "PUT", JB, b"{" + b" " * (300 * 1024) + b"}")
    assert r.status_code == 413 and tag(r) == "too-big"


def test_unknown_url_and_method(c: httpx.Client) -> None:
    r = c.get("/restconf/nothing")
    assert r.status_code == 404 and tag(r) == "invalid-value"
    r = c.request("TRACE", "/restconf/data")
    assert r.status_code == 405 and tag(r) == "operation-not-supported"
    r = c.delete("/restconf/data")
    assert r.status_code == 405


def test_state_is_not_editable(c: httpx.Client, rc_server: Running) -> None:
    head = rc_server.ds.head
    r = send(c, "PUT", f"{JB}/library/artist-count", {"example-jukebox:artist-count": 3})
    assert r.status_code == 400 and rc_server.ds.head == head
