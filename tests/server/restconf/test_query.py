"""Query parameters (RFC 8040 §4.8): fields, insert/point, with-defaults report-all-tagged —
good and bad values, JSON and XML, against a running server."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest
from lxml import etree

from tests.server.restconf.helpers import IF, JB, JB_NS, JSON, RC_NS, XML, send, tag

DNS = "/restconf/data/ietf-system:system/dns-resolver"
SYS_NS = "urn:ietf:params:xml:ns:yang:ietf-system"
IF_NS = "urn:ietf:params:xml:ns:yang:ietf-interfaces"
WD = "urn:ietf:params:xml:ns:netconf:default:1.0"
WD_JSON = "ietf-netconf-with-defaults:default"


def library(c: httpx.Client) -> None:
    body = {"example-jukebox:jukebox": {"library": {"artist": [
        {"name": "Foo Fighters", "album": [
            {"name": "Wasting Light", "genre": "example-jukebox:alternative", "year": 2011,
             "admin": {"label": "RCA", "catalogue-number": "1"}},
            {"name": "One By One", "year": 2002}]},
        {"name": "Nirvana", "album": [{"name": "Nevermind", "year": 1991}]},
    ]}, "player": {"gap": "0.5"}}}
    assert send(c, "PUT", JB, body).status_code == 201


# ---- fields (§4.8.3) ---------------------------------------------------------------------------

def test_fields_selects_subtrees(c: httpx.Client) -> None:
    library(c)
    got = c.get(JB, params={"fields": "library/artist(name)"}).json()
    assert got == {"example-jukebox:jukebox": {"library": {"artist": [
        {"name": "Foo Fighters"}, {"name": "Nirvana"}]}}}
    got = c.get(JB, params={"fields": "library/artist(album(name;year));player"}).json()
    artists = got["example-jukebox:jukebox"]["library"]["artist"]
    assert artists[0] == {"name": "Foo Fighters", "album": [
        {"name": "Wasting Light", "year": 2011}, {"name": "One By One", "year": 2002}]}
    assert got["example-jukebox:jukebox"]["player"] == {"gap": "0.5"}
    # a/b/c paths, module-qualified names, keys of entries on the way always kept
    got = c.get(JB, params={"fields": "example-jukebox:library/artist/album/admin/label"}).json()
    assert got["example-jukebox:jukebox"]["library"]["artist"] == [
        {"name": "Foo Fighters", "album": [{"name": "Wasting Light", "admin": {"label": "RCA"}}]}]


def test_fields_on_datastore_and_entry(c: httpx.Client) -> None:
    library(c)
    got = c.get("/restconf/data", params={"fields": "example-jukebox:jukebox/player"}).json()
    assert got == {"ietf-restconf:data": {"example-jukebox:jukebox": {"player": {"gap": "0.5"}}}}
    got = c.get(f"{JB}/library/artist=Nirvana", params={"fields": "album/year"}).json()
    assert got == {"example-jukebox:artist": [{"name": "Nirvana", "album": [
        {"name": "Nevermind", "year": 1991}]}]}
    # nothing selected exists: the target alone
    got = c.get(f"{JB}/library/artist=Nirvana", params={"fields": "album/admin"}).json()
    assert got == {"example-jukebox:artist": [{"name": "Nirvana"}]}


def test_fields_with_depth(c: httpx.Client) -> None:
    """§4.8.2: the selected nodes and their ancestors have depth 1."""
    library(c)
    got = c.get(JB, params={"fields": "library/artist", "depth": "2"}).json()
    artists = got["example-jukebox:jukebox"]["library"]["artist"]
    assert artists == [{"name": "Foo Fighters", "album": [{"name": "Wasting Light"}, {"name": "One By One"}]},
                       {"name": "Nirvana", "album": [{"name": "Nevermind"}]}]
    got = c.get(JB, params={"fields": "library/artist/album", "depth": "2"}).json()
    album = got["example-jukebox:jukebox"]["library"]["artist"][0]["album"][0]
    assert album == {"name": "Wasting Light", "genre": "example-jukebox:alternative", "year": 2011,
                     "admin": {}}


def test_fields_xml(c: httpx.Client) -> None:
    library(c)
    r = c.get(JB, params={"fields": "library/artist(name)"}, headers={"Accept": XML})
    assert r.status_code == 200 and r.headers["content-type"] == XML
    root = etree.fromstring(r.content)
    names = [e.text for e in root.iter(f"{{{JB_NS}}}name")]
    assert names == ["Foo Fighters", "Nirvana"]
    assert root.find(f".//{{{JB_NS}}}album") is None and root.find(f"{{{JB_NS}}}player") is None
    r = c.get("/restconf/data", params={"fields": "example-jukebox:jukebox/player/gap"},
              headers={"Accept": XML})
    root = etree.fromstring(r.content)
    assert root.tag == f"{{{RC_NS}}}data"
    assert [e.tag for e in root.iter() if e.text and e.text.strip()] == [f"{{{JB_NS}}}gap"]


@pytest.mark.parametrize("url,fields", [
    (JB, "library/nosuch"), (JB, "library/artist(name"), (JB, "library/artist)"),
    (JB, "library//artist"), (JB, "library;"), (JB, "nosuchmodule:library"), (JB, ""),
    ("/restconf/data", "jukebox"),  # the top-level node needs its module
    (f"{JB}/player/gap", "x"),  # a leaf has nothing to select
    (JB, "player/gap/x"),
])
def test_fields_bad(c: httpx.Client, url: str, fields: str) -> None:
    library(c)
    r = c.get(url, params={"fields": fields})
    assert r.status_code == 400 and tag(r) == "invalid-value", r.text
    r = c.get(url, params={"fields": fields}, headers={"Accept": XML})
    assert r.status_code == 400 and etree.fromstring(r.content).tag == f"{{{RC_NS}}}errors"


def test_fields_not_on_edits(c: httpx.Client) -> None:
    library(c)
    r = send(c, "PATCH", f"{JB}/player?fields=gap", {"example-jukebox:player": {"gap": "1.0"}})
    assert r.status_code == 400 and tag(r) == "invalid-value"
    assert c.get(f"{JB}/player/gap").json() == {"example-jukebox:gap": "0.5"}


# ---- insert / point (§4.8.5, §4.8.6) ---------------------------------------------------------------

def server(name: str, addr: str) -> dict[str, Any]:
    return {"ietf-system:server": [{"name": name, "udp-and-tcp": {"address": addr}}]}


def servers(c: httpx.Client) -> list[str]:
    r = c.get(f"{DNS}", params={"fields": "server(name)"})
    return [s["name"] for s in r.json()["ietf-system:dns-resolver"].get("server", [])]


def point(path: str) -> str:
    return path.removeprefix("/restconf/data")


def test_insert_point_list_post(c: httpx.Client) -> None:
    for name, n in (("a", 1), ("b", 2)):
        assert send(c, "POST", DNS, server(name, f"192.0.2.{n}")).status_code == 201
    assert servers(c) == ["a", "b"]
    r = send(c, "POST", f"{DNS}?insert=first", server("c", "192.0.2.3"))
    assert r.status_code == 201, r.text
    assert servers(c) == ["c", "a", "b"]
    p = quote(point(f"{DNS}/server=a"), safe="")
    r = send(c, "POST", f"{DNS}?insert=after&point={p}", server("d", "192.0.2.4"))
    assert r.status_code == 201, r.text
    assert servers(c) == ["c", "a", "d", "b"]
    r = send(c, "POST", f"{DNS}?insert=before&point={p}", server("e", "192.0.2.5"))
    assert servers(c) == ["c", "e", "a", "d", "b"]
    r = send(c, "POST", f"{DNS}?insert=last", server("f", "192.0.2.6"))
    assert servers(c) == ["c", "e", "a", "d", "b", "f"]


def test_insert_point_put_moves(c: httpx.Client) -> None:
    for name, n in (("a", 1), ("b", 2), ("c", 3)):
        assert send(c, "POST", DNS, server(name, f"192.0.2.{n}")).status_code == 201
    r = send(c, "PUT", f"{DNS}/server=c?insert=first", server("c", "192.0.2.33"))
    assert r.status_code == 204, r.text
    assert servers(c) == ["c", "a", "b"]
    assert c.get(f"{DNS}/server=c/udp-and-tcp/address").json() == {"ietf-system:address": "192.0.2.33"}
    p = quote(point(f"{DNS}/server=b"), safe="")
    xml = (f'<server xmlns="{SYS_NS}"><name>a</name><udp-and-tcp><address>192.0.2.1</address>'
           "</udp-and-tcp></server>")
    r = send(c, "PUT", f"{DNS}/server=a?insert=after&point={p}", xml, XML)
    assert r.status_code == 204, r.text
    assert servers(c) == ["c", "b", "a"]
    r = send(c, "PUT", f"{DNS}/server=z?insert=before&point={p}", server("z", "192.0.2.26"))
    assert r.status_code == 201
    assert servers(c) == ["c", "z", "b", "a"]


def test_insert_leaf_list(c: httpx.Client) -> None:
    for d in ("one.example", "two.example"):
        assert send(c, "POST", DNS, {"ietf-system:search": [d]}).status_code == 201
    r = send(c, "POST", f"{DNS}?insert=first", {"ietf-system:search": ["zero.example"]})
    assert r.status_code == 201, r.text
    p = quote(point(f"{DNS}/search=one.example"), safe="")
    r = send(c, "POST", f"{DNS}?insert=after&point={p}", f'<search xmlns="{SYS_NS}">half.example</search>', XML)
    assert r.status_code == 201, r.text
    got = c.get(f"{DNS}/search").json()
    assert got == {"ietf-system:search": ["zero.example", "one.example", "half.example", "two.example"]}


@pytest.mark.parametrize("query", [
    "insert=before",  # before/after need a point
    "insert=after&point=",
    "point=%2Fietf-system%3Asystem%2Fdns-resolver%2Fserver%3Da",  # point without insert
    "insert=first&point=%2Fietf-system%3Asystem%2Fdns-resolver%2Fserver%3Da",
    "insert=middle",
    "insert=first&insert=last",
    "insert=after&point=%2Fietf-system%3Asystem%2Fdns-resolver%2Fserver%3Dnosuch",  # no such entry
    "insert=after&point=%2Fietf-system%3Asystem%2Fdns-resolver%2Fsearch%3Dx.example",  # other node
    "insert=after&point=%2Fietf-system%3Asystem%2Fdns-resolver",  # not an entry
    "insert=after&point=garbage",
])
def test_insert_point_bad(c: httpx.Client, query: str) -> None:
    assert send(c, "POST", DNS, server("a", "192.0.2.1")).status_code == 201
    before = c.get(DNS).json()
    r = send(c, "POST", f"{DNS}?{query}", server("b", "192.0.2.2"))
    assert r.status_code == 400, r.text
    assert tag(r) in ("invalid-value", "bad-attribute", "unknown-element")
    assert c.get(DNS).json() == before


def test_insert_not_ordered_by_user(c: httpx.Client) -> None:
    library(c)
    r = send(c, "POST", f"{JB}/library?insert=first", {"example-jukebox:artist": [{"name": "ABBA"}]})
    assert r.status_code == 400 and tag(r) == "invalid-value"
    assert c.get(f"{JB}/library/artist=ABBA").status_code == 404
    r = send(c, "PATCH", f"{JB}/player?insert=first", {"example-jukebox:player": {"gap": "1.0"}})
    assert r.status_code == 400
    r = c.get(JB, params={"insert": "first"})
    assert r.status_code == 400 and tag(r) == "invalid-value"


# ---- with-defaults report-all-tagged (§4.8.9, RFC 6243 §6) ---------------------------------------

def test_report_all_tagged_json(c: httpx.Client) -> None:
    entries: list[dict[str, Any]] = [
        {"name": "eth0", "type": "iana-if-type:ethernetCsmacd"},
        {"name": "eth1", "type": "iana-if-type:ethernetCsmacd", "enabled": False},
        {"name": "eth2", "type": "iana-if-type:ethernetCsmacd", "enabled": True}]
    for e in entries:
        assert send(c, "PUT", f"{IF}/interface={e['name']}", {"ietf-interfaces:interface": [e]}).status_code == 201
    got = c.get(IF, params={"with-defaults": "report-all-tagged"}).json()
    by = {e["name"]: e for e in got["ietf-interfaces:interfaces"]["interface"]}
    assert by["eth0"]["enabled"] is True and by["eth0"]["@enabled"] == {WD_JSON: True}
    assert by["eth1"]["enabled"] is False and "@enabled" not in by["eth1"]
    assert by["eth2"]["@enabled"] == {WD_JSON: True}  # set to its default: tagged too (RFC 6243 §3.4)
    assert "@name" not in by["eth0"] and "@type" not in by["eth0"]
    one = c.get(f"{IF}/interface=eth0/enabled", params={"with-defaults": "report-all-tagged"}).json()
    assert one == {"ietf-interfaces:enabled": True, "@ietf-interfaces:enabled": {WD_JSON: True}}
    plain = c.get(f"{IF}/interface=eth0").json()["ietf-interfaces:interface"][0]
    assert "enabled" not in plain and not any(k.startswith("@") for k in plain)


def test_report_all_tagged_xml(c: httpx.Client) -> None:
    e = {"name": "eth0", "type": "iana-if-type:ethernetCsmacd"}
    assert send(c, "PUT", f"{IF}/interface=eth0", {"ietf-interfaces:interface": [e]}).status_code == 201
    r = c.get(f"{IF}/interface=eth0", params={"with-defaults": "report-all-tagged"}, headers={"Accept": XML})
    assert r.status_code == 200, r.text
    root = etree.fromstring(r.content)
    enabled = root.find(f"{{{IF_NS}}}enabled")
    assert enabled is not None and enabled.text == "true"
    assert enabled.get(f"{{{WD}}}default") == "true"
    name = root.find(f"{{{IF_NS}}}name")
    assert name is not None and name.get(f"{{{WD}}}default") is None
    assert b'xmlns:wd="urn:ietf:params:xml:ns:netconf:default:1.0"' in r.content
    r = c.get("/restconf/data", params={"with-defaults": "report-all-tagged", "content": "config"},
              headers={"Accept": XML})
    tagged = [el for el in etree.fromstring(r.content).iter() if el.get(f"{{{WD}}}default") == "true"]
    assert f"{{{IF_NS}}}enabled" in [el.tag for el in tagged]


@pytest.mark.parametrize("value", ["report-all-tagged ", "tagged", "REPORT-ALL", ""])
def test_with_defaults_bad(c: httpx.Client, value: str) -> None:
    r = c.get("/restconf/data", params={"with-defaults": value})
    assert r.status_code == 400 and tag(r) == "invalid-value"
    r = c.get("/restconf/data", params={"with-defaults": value}, headers={"Accept": XML})
    assert r.status_code == 400 and r.headers["content-type"] == XML


def test_unknown_and_repeated_parameters(c: httpx.Client) -> None:
    assert c.get("/restconf/data", params={"bogus": "1"}).status_code == 400
    r = c.get("/restconf/data?depth=1&depth=2")
    assert r.status_code == 400 and tag(r) == "invalid-value"
    assert c.get("/restconf/data", params={"with-origin": ""}).status_code == 400  # NMDA only
    assert c.get("/restconf/data", params={"fields": "ietf-interfaces:interfaces"},
                 headers={"Accept": JSON}).status_code == 200


def test_fields_module_qualified_where_module_changes(c: httpx.Client) -> None:
    body = {"ietf-interfaces:interface": [{"name": "eth0", "type": "iana-if-type:ethernetCsmacd",
                                           "description": "d", "ietf-ip:ipv4": {
                                               "address": [{"ip": "192.0.2.1", "prefix-length": 24}]}}]}
    assert send(c, "PUT", f"{IF}/interface=eth0", body).status_code == 201
    got = c.get(IF, params={"fields": "interface(ietf-ip:ipv4/address(ip))"}).json()
    assert got == {"ietf-interfaces:interfaces": {"interface": [
        {"name": "eth0", "ietf-ip:ipv4": {"address": [{"ip": "192.0.2.1"}]}}]}}
    r = c.get(IF, params={"fields": "interface(ipv4)"})  # ipv4 is ietf-ip's, not ietf-interfaces'
    assert r.status_code == 400 and tag(r) == "invalid-value"


def test_fields_yang_library(c: httpx.Client) -> None:
    """As RFC 8040 B.3.3 (with the RFC 8525 library): names and revisions only."""
    r = c.get("/restconf/data",
              params={"fields": "ietf-yang-library:yang-library/module-set(name;module(name;revision))"})
    assert r.status_code == 200, r.text
    lib = r.json()["ietf-restconf:data"]
    assert set(lib) == {"ietf-yang-library:yang-library"}
    mods = lib["ietf-yang-library:yang-library"]["module-set"][0]["module"]
    assert {"name": "example-jukebox", "revision": "2016-08-15"} in mods
    assert all(set(m) <= {"name", "revision"} for m in mods)


@pytest.mark.parametrize("params", [{"content": "state"}, {"content": ""}, {"depth": "0"},
                                    {"depth": "65536"}, {"depth": "-1"}, {"depth": "two"}])
def test_content_depth_bad(c: httpx.Client, params: dict[str, str]) -> None:
    r = c.get(JB, params=params)
    assert r.status_code == 400 and tag(r) == "invalid-value"
    r = c.get(JB, params=params, headers={"Accept": XML})
    assert r.status_code == 400 and etree.fromstring(r.content).tag == f"{{{RC_NS}}}errors"


def test_content_depth_xml(c: httpx.Client) -> None:
    library(c)
    r = c.get(JB, params={"depth": "2"}, headers={"Accept": XML})
    root = etree.fromstring(r.content)
    assert [e.tag for e in root] == [f"{{{JB_NS}}}library", f"{{{JB_NS}}}player"]
    assert all(len(e) == 0 for e in root)
    r = c.get("/restconf/data", params={"content": "nonconfig"}, headers={"Accept": XML})
    root = etree.fromstring(r.content)
    assert root.find(f"{{{JB_NS}}}jukebox") is None and len(root) > 0
