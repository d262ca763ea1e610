"""Discovery (RFC 8040 §3.1-3.3): host-meta, API root, yang-library-version, library data."""

from __future__ import annotations

import httpx
from lxml import etree

from tests.server.restconf.helpers import JSON, RC_NS, XML

XRD = "http://docs.oasis-open.org/ns/xri/xrd-1.0"
YL = "urn:ietf:params:xml:ns:yang:ietf-yang-library"


def test_host_meta(c: httpx.Client) -> None:
    r = c.get("/.well-known/host-meta")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/xrd+xml")
    link = etree.fromstring(r.content).find(f"{{{XRD}}}Link")
    assert link is not None and link.get("rel") == "restconf" and link.get("href") == "/restconf"


def test_api_root_json(c: httpx.Client) -> None:
    r = c.get("/restconf")
    assert r.status_code == 200 and r.headers["content-type"] == JSON
    assert r.json() == {"ietf-restconf:restconf": {
        "data": {}, "operations": {}, "yang-library-version": "2019-01-04"}}


def test_api_root_xml(c: httpx.Client) -> None:
    r = c.get("/restconf", headers={"Accept": XML})
    assert r.status_code == 200 and r.headers["content-type"] == XML
    root = etree.fromstring(r.content)
    assert root.tag == f"{{{RC_NS}}}restconf"
    assert root.findtext(f"{{{RC_NS}}}yang-library-version") == "2019-01-04"
    assert root.find(f"{{{RC_NS}}}data") is not None


def test_yang_library_version(c: httpx.Client) -> None:
    assert c.get("/restconf/yang-library-version").json() == {
        "ietf-restconf:yang-library-version": "2019-01-04"}
    root = etree.fromstring(c.get("/restconf/yang-library-version", headers={"Accept": XML}).content)
    assert root.tag == f"{{{RC_NS}}}yang-library-version" and root.text == "2019-01-04"


def test_yang_library_data(c: httpx.Client) -> None:
    r = c.get("/restconf/data/ietf-yang-library:yang-library")
    assert r.status_code == 200
    lib = r.json()["ietf-yang-library:yang-library"]
    names = {m["name"] for m in lib["module-set"][0]["module"]}
    assert {"example-jukebox", "ietf-restconf", "ietf-yang-library"} <= names
    assert lib["content-id"]
    x = etree.fromstring(c.get("/restconf/data/ietf-yang-library:yang-library",
                               headers={"Accept": XML}).content)
    assert x.tag == f"{{{YL}}}yang-library"


def test_operations(c: httpx.Client) -> None:
    ops = c.get("/restconf/operations").json()["ietf-restconf:operations"]
    assert ops["yangd-commits:rollback"] == [None] and ops["yangd-commits:compare"] == [None]
    # defined, but served by nothing over RESTCONF: not listed
    assert "example-jukebox:play" not in ops and "ietf-netconf:lock" not in ops
    assert "yangd-commits:rollback" in ops
