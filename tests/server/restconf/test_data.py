"""The data resource (RFC 8040 §4): every method, JSON and XML, against a running server."""

from __future__ import annotations

import httpx
from lxml import etree

from tests.server.restconf.conftest import Running
from tests.server.restconf.helpers import IF, JB, JB_NS, JSON, RC_NS, XML, jukebox, send, tag

ARTIST = f"{JB}/library/artist=Foo%20Fighters"
ALBUM = f"{ARTIST}/album=Wasting%20Light"


def test_get_datastore_json_and_xml(c: httpx.Client) -> None:
    jukebox(c)
    r = c.get("/restconf/data")
    assert r.status_code == 200 and r.headers["content-type"] == JSON
    data = r.json()["ietf-restconf:data"]
    assert data["example-jukebox:jukebox"]["library"]["artist"][0]["name"] == "Foo Fighters"
    assert "ietf-yang-library:yang-library" in data and "yangd-commits:commits" in data
    x = etree.fromstring(c.get("/restconf/data", headers={"Accept": XML}).content)
    assert x.tag == f"{{{RC_NS}}}data"
    assert x.find(f"{{{JB_NS}}}jukebox") is not None


def test_get_resource_json_and_xml(c: httpx.Client) -> None:
    jukebox(c)
    r = c.get(ALBUM)
    assert r.status_code == 200
    assert r.json() == {"example-jukebox:album": [
        {"name": "Wasting Light", "genre": "example-jukebox:alternative", "year": 2011}]}
    r = c.get(f"{ALBUM}/genre", headers={"Accept": XML})
    assert r.headers["content-type"] == XML
    el = etree.fromstring(r.content)
    assert el.tag == f"{{{JB_NS}}}genre"
    prefix, _, name = (el.text or "").partition(":")
    assert name == "alternative" and el.nsmap[prefix] == JB_NS
    assert c.get(f"{ALBUM}/year").json() == {"example-jukebox:year": 2011}


def test_get_missing_is_404(c: httpx.Client) -> None:
    r = c.get(f"{JB}/library/artist=Nobody")
    assert r.status_code == 404 and tag(r) == "data-missing"


def test_head(c: httpx.Client) -> None:
    jukebox(c)
    g, h = c.get(ARTIST), c.head(ARTIST)
    assert h.status_code == 200 and h.content == b""
    assert int(h.headers["content-length"]) == len(g.content)
    assert c.head(f"{JB}/library/artist=Nobody").status_code == 404


def test_put_create_then_replace(c: httpx.Client, rc_server: Running) -> None:
    jukebox(c)
    body = {"example-jukebox:album": [{"name": "Wasting Light", "year": 2012}]}
    r = send(c, "PUT", ALBUM, body)
    assert r.status_code == 204, r.text
    assert c.get(ALBUM).json() == {"example-jukebox:album": [{"name": "Wasting Light", "year": 2012}]}
    r = send(c, "PUT", f"{ARTIST}/album=Greatest%20Hits", {"example-jukebox:album": [{"name": "Greatest Hits"}]})
    assert r.status_code == 201
    xml = f'<year xmlns="{JB_NS}">2013</year>'
    r = send(c, "PUT", f"{ALBUM}/year", xml, XML)
    assert r.status_code == 204, r.text
    assert c.get(f"{ALBUM}/year").json() == {"example-jukebox:year": 2013}


def test_put_key_mismatch(c: httpx.Client) -> None:
    jukebox(c)
    r = send(c, "PUT", ALBUM, {"example-jukebox:album": [{"name": "Other"}]})
    assert r.status_code == 400 and tag(r) == "invalid-value"


def test_put_datastore_replaces_everything(c: httpx.Client, rc_server: Running) -> None:
    jukebox(c)
    logins = c.get("/restconf/data/ietf-system:system").json()  # kept: without them nobody logs in
    body = {"ietf-restconf:data": {**logins, "example-jukebox:jukebox": {"player": {"gap": "0.5"}}}}
    r = send(c, "PUT", "/restconf/data", body)
    assert r.status_code == 204, r.text
    assert c.get(JB).json() == {"example-jukebox:jukebox": {"player": {"gap": "0.5"}}}


def test_post_create_and_conflict(c: httpx.Client) -> None:
    jukebox(c)
    body = {"example-jukebox:album": [{"name": "Medium Rare", "year": 2011}]}
    r = send(c, "POST", ARTIST, body)
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"{c.base_url}{ARTIST}/album=Medium%20Rare".replace("//restconf", "/restconf")
    assert c.get(r.headers["location"]).json()["example-jukebox:album"][0]["year"] == 2011
    r = send(c, "POST", ARTIST, body)
    assert r.status_code == 409 and tag(r) == "data-exists"


def test_post_xml(c: httpx.Client) -> None:
    jukebox(c)
    xml = f'<album xmlns="{JB_NS}"><name>One By One</name><year>2002</year></album>'
    r = send(c, "POST", ARTIST, xml, XML)
    assert r.status_code == 201, r.text
    assert c.get(f"{ARTIST}/album=One%20By%20One/year").json() == {"example-jukebox:year": 2002}


def test_post_under_missing_parent_is_404(c: httpx.Client) -> None:
    jukebox(c)
    r = send(c, "POST", f"{JB}/library/artist=Nobody", {"example-jukebox:album": [{"name": "X"}]})
    assert r.status_code == 404


def test_patch_merge(c: httpx.Client) -> None:
    jukebox(c)
    r = send(c, "PATCH", ALBUM, {"example-jukebox:album": [{"name": "Wasting Light", "year": 2015}]})
    assert r.status_code == 204, r.text
    got = c.get(ALBUM).json()["example-jukebox:album"][0]
    assert got == {"name": "Wasting Light", "genre": "example-jukebox:alternative", "year": 2015}
    r = send(c, "PATCH", f"{JB}/library/artist=Nobody", {"example-jukebox:artist": [{"name": "Nobody"}]})
    assert r.status_code == 404


def test_patch_datastore(c: httpx.Client) -> None:
    jukebox(c)
    r = send(c, "PATCH", "/restconf/data",
             {"ietf-restconf:data": {"example-jukebox:jukebox": {"player": {"gap": "1.5"}}}})
    assert r.status_code == 204, r.text
    j = c.get(JB).json()["example-jukebox:jukebox"]
    assert j["player"] == {"gap": "1.5"} and j["library"]["artist"][0]["name"] == "Foo Fighters"


def test_delete(c: httpx.Client) -> None:
    jukebox(c)
    assert c.delete(ALBUM).status_code == 204
    assert c.get(ALBUM).status_code == 404
    r = c.delete(ALBUM)
    assert r.status_code == 404 and tag(r) == "data-missing"


def test_options(c: httpx.Client) -> None:
    jukebox(c)
    r = c.options(ARTIST)
    assert r.status_code == 200
    assert set(r.headers["allow"].replace(" ", "").split(",")) == {
        "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"}
    assert JSON in r.headers["accept-patch"]
    r = c.options("/restconf/data/yangd-commits:commits")
    assert r.headers["allow"] == "GET, HEAD, OPTIONS"


def test_percent_encoded_keys(c: httpx.Client) -> None:
    send(c, "PUT", JB, {"example-jukebox:jukebox": {}})
    for name, enc in (("AC/DC", "AC%2FDC"), ("Crosby, Stills & Nash", "Crosby%2C%20Stills%20%26%20Nash"),
                      ("Motörhead", "Mot%C3%B6rhead")):
        r = send(c, "POST", f"{JB}/library", {"example-jukebox:artist": [{"name": name}]})
        assert r.status_code == 201, r.text
        assert r.headers["location"].endswith(f"/artist={enc}")
        assert c.get(f"{JB}/library/artist={enc}").json() == {"example-jukebox:artist": [{"name": name}]}


def test_query_content_depth(c: httpx.Client) -> None:
    jukebox(c)
    assert c.get(JB, params={"depth": "1"}).json() == {"example-jukebox:jukebox": {}}
    d2 = c.get(JB, params={"depth": "3"}).json()["example-jukebox:jukebox"]
    assert d2 == {"library": {"artist": [{}]}}
    assert c.get("/restconf/data/yangd-commits:commits", params={"content": "config"}).status_code == 404
    state = c.get("/restconf/data", params={"content": "nonconfig"}).json()["ietf-restconf:data"]
    assert "example-jukebox:jukebox" not in state and "yangd-commits:commits" in state
    config = c.get("/restconf/data", params={"content": "config"}).json()["ietf-restconf:data"]
    assert set(config) == {"example-jukebox:jukebox", "ietf-system:system"}  # + the users


def test_with_defaults(c: httpx.Client) -> None:
    body = {"ietf-interfaces:interface": [{"name": "eth0", "type": "iana-if-type:ethernetCsmacd"}]}
    assert send(c, "PUT", f"{IF}/interface=eth0", body).status_code == 201
    plain = c.get(f"{IF}/interface=eth0").json()["ietf-interfaces:interface"][0]
    assert "enabled" not in plain
    full = c.get(f"{IF}/interface=eth0", params={"with-defaults": "report-all"}).json()
    assert full["ietf-interfaces:interface"][0]["enabled"] is True
    assert c.patch(f"{IF}/interface=eth0/enabled", json={"ietf-interfaces:enabled": True}).status_code == 404
    assert send(c, "PUT", f"{IF}/interface=eth0/enabled", {"ietf-interfaces:enabled": True}).status_code == 201
    trimmed = c.get(f"{IF}/interface=eth0", params={"with-defaults": "trim"}).json()
    assert "enabled" not in trimmed["ietf-interfaces:interface"][0]
    assert c.get(f"{IF}/interface=eth0/enabled").json() == {"ietf-interfaces:enabled": True}


def test_xml_put_keeps_value_prefixes_of_an_ancestor_namespace(c: httpx.Client) -> None:
    """An identityref prefixed for the namespace its ancestors are in (RFC 7950 §9.10.3) survives
    the body being placed under those ancestors."""
    jukebox(c)
    body = (f'<album xmlns="{JB_NS}" xmlns:jb="{JB_NS}"><name>Wasting Light</name>'
            "<genre>jb:rock</genre><year>2011</year></album>")
    r = c.put(ALBUM, content=body, headers={"Content-Type": XML})
    assert r.status_code == 204, r.text
    assert c.get(f"{ALBUM}/genre").json() == {"example-jukebox:genre": "example-jukebox:rock"}
