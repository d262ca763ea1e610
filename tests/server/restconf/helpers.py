"""Bodies and small helpers shared by the RESTCONF tests."""

from __future__ import annotations

import json
from typing import Any

import httpx

JSON = "application/yang-data+json"
XML = "application/yang-data+xml"
JB = "/restconf/data/example-jukebox:jukebox"
JB_NS = "http://example.com/ns/example-jukebox"
IF = "/restconf/data/ietf-interfaces:interfaces"
RC_NS = "urn:ietf:params:xml:ns:yang:ietf-restconf"


def send(c: httpx.Client, method: str, url: str, body: Any = None, ctype: str = JSON,
         **headers: str) -> httpx.Response:
    """A request with a JSON (dict) or raw (str/bytes) body."""
    h = dict(headers)
    content: bytes | None = None
    if body is not None:
        content = json.dumps(body).encode() if isinstance(body, (dict, list)) else (
            body.encode() if isinstance(body, str) else body)
        h["Content-Type"] = ctype
    return c.request(method, url, content=content, headers=h)


def errors(r: httpx.Response) -> list[dict[str, Any]]:
    """The error list of a JSON errors body (RFC 8040 §7.1)."""
    assert r.headers["content-type"].startswith(JSON), r.headers
    doc = r.json()
    assert set(doc) == {"ietf-restconf:errors"}, doc
    errs: list[dict[str, Any]] = doc["ietf-restconf:errors"]["error"]
    for e in errs:
        assert {"error-type", "error-tag"} <= set(e), e
        assert "Traceback" not in json.dumps(e)
    return errs


def tag(r: httpx.Response) -> str:
    return str(errors(r)[0]["error-tag"])


def jukebox(c: httpx.Client) -> None:
    """RFC 8040 Appendix B starting point: a jukebox with one artist and album."""
    body = {"example-jukebox:jukebox": {"library": {"artist": [{
        "name": "Foo Fighters",
        "album": [{"name": "Wasting Light", "genre": "example-jukebox:alternative", "year": 2011}],
    }]}}}
    r = send(c, "PUT", JB, body)
    assert r.status_code == 201, r.text
