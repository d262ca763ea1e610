"""RFC 8040 Appendix B with the example-jukebox module (Appendix A), as the RFC shows it."""

from __future__ import annotations

import httpx

from tests.server.restconf.helpers import JB, JB_NS, XML, send, tag

LIB = f"{JB}/library"


def _setup(c: httpx.Client) -> None:
    assert send(c, "PUT", JB, {"example-jukebox:jukebox": {}}).status_code == 201


def test_b21_create_resource(c: httpx.Client) -> None:
    """B.2.1: POST an artist into the library → 201 and its Location."""
    _setup(c)
    r = send(c, "POST", LIB, {"example-jukebox:artist": [{"name": "Foo Fighters"}]})
    assert r.status_code == 201
    assert r.headers["location"].endswith("/restconf/data/example-jukebox:jukebox/library/artist=Foo%20Fighters")
    # and an album below it, in XML, as the RFC's second example does
    xml = f'<album xmlns="{JB_NS}"><name>Wasting Light</name><year>2011</year></album>'
    r = send(c, "POST", f"{LIB}/artist=Foo%20Fighters", xml, XML)
    assert r.status_code == 201
    assert r.headers["location"].endswith("/artist=Foo%20Fighters/album=Wasting%20Light")


def test_b22_detect_resource_exists(c: httpx.Client) -> None:
    """B.2.2: POST of an existing resource → 409 data-exists."""
    _setup(c)
    body = {"example-jukebox:artist": [{"name": "Foo Fighters"}]}
    assert send(c, "POST", LIB, body).status_code == 201
    r = send(c, "POST", LIB, body)
    assert r.status_code == 409 and tag(r) == "data-exists"


def test_b3_edit_and_read_back(c: httpx.Client) -> None:
    """B.2.4-style: PUT replaces an album; PATCH merges the year; content/depth reads."""
    _setup(c)
    album = f"{LIB}/artist=Foo%20Fighters/album=Wasting%20Light"
    body = {"example-jukebox:album": [{"name": "Wasting Light", "genre": "example-jukebox:alternative",
                                       "year": 2011}]}
    assert send(c, "PUT", album, body).status_code == 201
    assert send(c, "PATCH", album, {"example-jukebox:album": [{"name": "Wasting Light", "year": 2012}]}
                ).status_code == 204
    assert c.get(f"{album}/year").json() == {"example-jukebox:year": 2012}
    assert c.get(JB, params={"depth": "1"}).json() == {"example-jukebox:jukebox": {}}
    cfg = c.get(JB, params={"content": "config"}).json()["example-jukebox:jukebox"]
    assert cfg["library"]["artist"][0]["album"][0]["genre"] == "example-jukebox:alternative"
    assert c.delete(f"{LIB}/artist=Foo%20Fighters").status_code == 204
    assert c.get(f"{LIB}/artist=Foo%20Fighters").status_code == 404
