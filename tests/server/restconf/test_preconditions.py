"""Caching and concurrency (RFC 8040 §3.4.1, §3.5.1-§3.5.2; RFC 7232): ETag and Last-Modified
on the datastore and on data resources, and If-Match / If-None-Match / If-Modified-Since /
If-Unmodified-Since on every method — 200/304/412 — with the datastore unchanged after a 412."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

import httpx
from lxml import etree

from models.edit import Op, edit_from_json
from tests.server.restconf.conftest import Running
from tests.server.restconf.helpers import JB, RC_NS, XML, errors, jukebox, send, tag

ARTIST = f"{JB}/library/artist=Foo%20Fighters"
ALBUM = f"{ARTIST}/album=Wasting%20Light"
YEAR = f"{ALBUM}/year"


def http_date(d: datetime) -> str:
    return format_datetime(d.astimezone(UTC), usegmt=True)


def refused(r: httpx.Response) -> None:
    """412 with an ietf-restconf:errors body, error-tag operation-failed (RFC 8040 §7)."""
    assert r.status_code == 412, r.text
    errs = errors(r)
    assert errs[0]["error-tag"] == "operation-failed" and errs[0]["error-type"] == "protocol"


def test_validators_on_reads(c: httpx.Client) -> None:
    jukebox(c)
    for url in ("/restconf/data", JB, ALBUM, YEAR):
        r = c.get(url)
        assert r.status_code == 200
        assert r.headers["etag"].startswith('"') and r.headers["etag"].endswith('"')
        assert parsedate_to_datetime(r.headers["last-modified"]) <= datetime.now(UTC) + timedelta(seconds=1)
        h = c.head(url)
        assert h.headers["etag"] == r.headers["etag"]
        assert h.headers["last-modified"] == r.headers["last-modified"]
        x = c.get(url, headers={"Accept": XML})
        assert x.headers["etag"] != r.headers["etag"]  # one tag per representation (§3.4.1.2)


def test_tags_follow_content(c: httpx.Client, rc_server: Running) -> None:
    jukebox(c)
    ds_tag, album_tag = c.get("/restconf/data").headers["etag"], c.get(ALBUM).headers["etag"]
    # another resource changes: the datastore's tag moves, the album's does not
    assert send(c, "PUT", f"{JB}/player", {"example-jukebox:player": {"gap": "0.5"}}).status_code == 201
    assert c.get("/restconf/data").headers["etag"] != ds_tag
    assert c.get(ALBUM).headers["etag"] == album_tag
    # the album changes (here below it, over the datastore API NETCONF uses): its tag moves
    s = rc_server.ds.open_session("other", "netconf")
    try:
        node = rc_server.ds.bundle.node("/example-jukebox:jukebox")
        s.edit("running", edit_from_json(rc_server.ds.bundle, node, {"library": {"artist": [
            {"name": "Foo Fighters", "album": [{"name": "Wasting Light", "year": 2012}]}]}}, Op.MERGE))
    finally:
        s.close()
    assert c.get(ALBUM).headers["etag"] != album_tag
    assert c.get(YEAR).json() == {"example-jukebox:year": 2012}


def test_if_none_match_and_if_modified_since_give_304(c: httpx.Client) -> None:
    jukebox(c)
    for url in ("/restconf/data", ALBUM):
        r = c.get(url)
        etag, modified = r.headers["etag"], r.headers["last-modified"]
        for method in ("GET", "HEAD"):
            n = c.request(method, url, headers={"If-None-Match": etag})
            assert n.status_code == 304 and n.content == b""
            assert n.headers["etag"] == etag
            assert c.request(method, url, headers={"If-None-Match": f'"other", {etag}'}).status_code == 304
            assert c.request(method, url, headers={"If-None-Match": f"W/{etag}"}).status_code == 304
            assert c.request(method, url, headers={"If-None-Match": "*"}).status_code == 304
            assert c.request(method, url, headers={"If-Modified-Since": modified}).status_code == 304
        assert c.get(url, headers={"If-None-Match": '"stale"'}).status_code == 200
        old = http_date(datetime.now(UTC) - timedelta(days=1))
        assert c.get(url, headers={"If-Modified-Since": old}).status_code == 200
        # If-None-Match wins over If-Modified-Since (RFC 7232 §6)
        assert c.get(url, headers={"If-None-Match": '"stale"', "If-Modified-Since": modified}).status_code == 200
        assert c.get(url, headers={"If-Modified-Since": "not a date"}).status_code == 200
    # the JSON tag does not validate the XML representation
    etag = c.get(ALBUM).headers["etag"]
    assert c.get(ALBUM, headers={"If-None-Match": etag, "Accept": XML}).status_code == 200
    # a missing resource stays 404 whatever the conditions
    assert c.get(f"{JB}/library/artist=Nobody", headers={"If-None-Match": "*"}).status_code == 404


def test_after_a_change_200_again(c: httpx.Client) -> None:
    jukebox(c)
    etag = c.get(ALBUM).headers["etag"]
    assert send(c, "PATCH", ALBUM, {"example-jukebox:album": [{"name": "Wasting Light", "year": 2020}]}).status_code == 204
    r = c.get(ALBUM, headers={"If-None-Match": etag})
    assert r.status_code == 200 and r.headers["etag"] != etag


def test_read_modify_write(c: httpx.Client, rc_server: Running) -> None:
    """GET etag → PUT If-Match; a second writer holding the old tag gets 412, nothing changes."""
    jukebox(c)
    r = c.get(ALBUM)
    etag = r.headers["etag"]
    album = r.json()
    album["example-jukebox:album"][0]["year"] = 2013
    w = send(c, "PUT", ALBUM, album, **{"If-Match": etag})
    assert w.status_code == 204, w.text
    new_tag = w.headers["etag"]
    assert new_tag != etag and c.get(ALBUM).headers["etag"] == new_tag  # the reply's tag is current
    head = rc_server.ds.head
    album["example-jukebox:album"][0]["year"] = 1999
    refused(send(c, "PUT", ALBUM, album, **{"If-Match": etag}))
    assert c.get(YEAR).json() == {"example-jukebox:year": 2013}
    assert rc_server.ds.head == head  # not even an empty commit
    # a tag from the XML representation protects the same version
    xtag = c.get(ALBUM, headers={"Accept": XML}).headers["etag"]
    assert send(c, "PUT", ALBUM, album, **{"If-Match": xtag}).status_code == 204


def test_if_match_on_every_edit(c: httpx.Client, rc_server: Running) -> None:
    jukebox(c)
    stale = '"d0000000000000000000000-j"'
    before = c.get("/restconf/data", params={"content": "config"}).json()
    head = rc_server.ds.head
    refused(send(c, "PATCH", ALBUM, {"example-jukebox:album": [{"name": "Wasting Light", "year": 2000}]},
                 **{"If-Match": stale}))
    refused(send(c, "POST", ARTIST, {"example-jukebox:album": [{"name": "New"}]}, **{"If-Match": stale}))
    refused(c.delete(ALBUM, headers={"If-Match": stale}))
    refused(send(c, "PUT", "/restconf/data", {"ietf-restconf:data": {}}, **{"If-Match": stale}))
    refused(send(c, "PATCH", "/restconf/data", {"ietf-restconf:data": {"example-jukebox:jukebox": {
        "player": {"gap": "1.0"}}}}, **{"If-Match": stale}))
    refused(c.delete(ALBUM, headers={"If-Match": "W/" + c.get(ALBUM).headers["etag"]}))  # weak: never
    assert c.get("/restconf/data", params={"content": "config"}).json() == before
    assert rc_server.ds.head == head
    # the current tags pass: POST is conditional on its target, the parent
    artist_tag = c.get(ARTIST).headers["etag"]
    r = send(c, "POST", ARTIST, {"example-jukebox:album": [{"name": "New"}]}, **{"If-Match": artist_tag})
    assert r.status_code == 201 and r.headers["etag"] == c.get(f"{ARTIST}/album=New").headers["etag"]
    ds_tag = c.get("/restconf/data").headers["etag"]
    r = send(c, "PATCH", "/restconf/data", {"ietf-restconf:data": {"example-jukebox:jukebox": {
        "player": {"gap": "1.0"}}}}, **{"If-Match": ds_tag})
    assert r.status_code == 204 and r.headers["etag"] == c.get("/restconf/data").headers["etag"] != ds_tag
    assert c.delete(ALBUM, headers={"If-Match": c.get(ALBUM).headers["etag"]}).status_code == 204


def test_if_match_star_and_if_none_match_star(c: httpx.Client) -> None:
    jukebox(c)
    body = {"example-jukebox:album": [{"name": "Greatest Hits"}]}
    url = f"{ARTIST}/album=Greatest%20Hits"
    refused(send(c, "PUT", url, body, **{"If-Match": "*"}))  # does not exist yet
    assert c.get(url).status_code == 404
    assert send(c, "PUT", url, body, **{"If-None-Match": "*"}).status_code == 201  # create only
    refused(send(c, "PUT", url, body, **{"If-None-Match": "*"}))
    assert send(c, "PUT", url, body, **{"If-Match": "*"}).status_code == 204
    etag = c.get(url).headers["etag"]
    refused(send(c, "PATCH", url, body, **{"If-None-Match": etag}))


def test_if_unmodified_since(c: httpx.Client) -> None:
    jukebox(c)
    patch = {"example-jukebox:album": [{"name": "Wasting Light", "year": 2001}]}
    past = http_date(datetime.now(UTC) - timedelta(days=1))
    refused(send(c, "PATCH", ALBUM, patch, **{"If-Unmodified-Since": past}))
    assert c.get(YEAR).json() == {"example-jukebox:year": 2011}
    future = http_date(datetime.now(UTC) + timedelta(days=1))
    assert send(c, "PATCH", ALBUM, patch, **{"If-Unmodified-Since": future}).status_code == 204
    # If-Match takes precedence over If-Unmodified-Since (RFC 7232 §6)
    etag = c.get(ALBUM).headers["etag"]
    assert send(c, "PATCH", ALBUM, patch, **{"If-Match": etag, "If-Unmodified-Since": past}).status_code == 204
    # and on a read: 412 too
    refused(c.get(ALBUM, headers={"If-Unmodified-Since": past}))
    refused(c.get(ALBUM, headers={"If-Match": '"nope"'}))
    assert c.get(ALBUM, headers={"If-Match": c.get(ALBUM).headers["etag"]}).status_code == 200


def test_412_in_xml(c: httpx.Client) -> None:
    jukebox(c)
    r = c.delete(ALBUM, headers={"If-Match": '"stale"', "Accept": XML})
    assert r.status_code == 412 and r.headers["content-type"] == XML
    root = etree.fromstring(r.content)
    assert root.tag == f"{{{RC_NS}}}errors"
    assert root.findtext(f"{{{RC_NS}}}error/{{{RC_NS}}}error-tag") == "operation-failed"
    assert c.get(ALBUM).status_code == 200


def test_precondition_does_not_mask_other_errors(c: httpx.Client) -> None:
    jukebox(c)
    r = c.delete(f"{JB}/library/artist=Nobody", headers={"If-Match": '"stale"'})
    assert r.status_code == 404 and tag(r) == "data-missing"
    r = send(c, "PUT", ALBUM, "{not json", **{"If-Match": '"stale"'})
    assert r.status_code == 400


def test_options_honours_preconditions(c: httpx.Client) -> None:
    jukebox(c)
    etag = c.get(ALBUM).headers["etag"]
    assert c.options(ALBUM, headers={"If-Match": etag}).status_code == 200
    refused(c.options(ALBUM, headers={"If-Match": '"stale"'}))
    refused(c.options(ALBUM, headers={"If-None-Match": etag}))
