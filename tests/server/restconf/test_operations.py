"""Operation resources (RFC 8040 §3.6, §4.4.2) over HTTPS: yangd-commits rollback/compare end
to end, example-jukebox's play (RFC 8040 Appendix A), input errors in JSON and XML."""

from __future__ import annotations

from typing import Any

import httpx
from lxml import etree

from datastore.session import Session
from models.bundle import YangModel
from tests.server.restconf.conftest import Running
from tests.server.restconf.helpers import IF, JB, JB_NS, JSON, RC_NS, XML, errors, send, tag

OPS = "/restconf/operations"
YC = "yangd-commits"
YC_NS = "urn:yangd:params:xml:ns:yang:yangd-commits"


def _iface(c: httpx.Client, name: str) -> None:
    body = {"ietf-interfaces:interface": [{"name": name, "type": "iana-if-type:ethernetCsmacd"}]}
    assert send(c, "POST", IF, body).status_code == 201


def _names(c: httpx.Client) -> list[str]:
    r = c.get(IF)
    if r.status_code == 404:
        return []
    return [i["name"] for i in r.json()["ietf-interfaces:interfaces"]["interface"]]


def test_compare_and_rollback_end_to_end(c: httpx.Client, rc_server: Running) -> None:
    assert send(c, "PUT", IF, {"ietf-interfaces:interfaces": {}}).status_code in (201, 204)
    _iface(c, "eth0")
    one = rc_server.ds.head
    _iface(c, "eth1")
    two = rc_server.ds.head
    assert two == one + 1
    # compare in JSON: the one change between the two commits is eth1's creation
    r = send(c, "POST", f"{OPS}/{YC}:compare", {f"{YC}:input": {"from": str(one), "to": str(two)}})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(JSON)
    changes = r.json()[f"{YC}:output"]["change"]
    assert [(ch["operation"], ch["path"]) for ch in changes] == [
        ("create", "/ietf-interfaces:interfaces/interface[name='eth1']")]
    (entry,) = changes[0]["value"].values()  # the node itself, as in RFC 8072's value
    assert entry[0]["name"] == "eth1"
    # rollback in XML to the first commit: eth1 disappears, a new commit records it
    body = f'<input xmlns="{YC_NS}"><id>{one}</id><comment>undo eth1</comment></input>'
    r = send(c, "POST", f"{OPS}/{YC}:rollback", body, XML, Accept=XML)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(XML)
    out = etree.fromstring(r.content)
    assert out.tag == f"{{{YC_NS}}}output"
    assert out.findtext(f"{{{YC_NS}}}id") == str(two + 1)
    assert _names(c) == ["eth0"]
    assert rc_server.ds.head == two + 1
    assert rc_server.ds.commits(1)[0].comment == "undo eth1"
    assert rc_server.ds.commits(1)[0].transport == "restconf"
    # and compare says the same in XML, defaulting "to" (candidate, now equal to running)
    body = f'<input xmlns="{YC_NS}"><from>{two}</from></input>'
    r = send(c, "POST", f"{OPS}/{YC}:compare", body, XML, Accept=XML)
    assert r.status_code == 200, r.text
    out = etree.fromstring(r.content)
    assert [e.findtext(f"{{{YC_NS}}}operation") for e in out.iter(f"{{{YC_NS}}}change")] == ["delete"]


def test_rpc_without_output_is_204(c: httpx.Client, rc_server: Running) -> None:
    """RFC 8040 §3.6.1: jukebox's play (a handler registered the way a driver does)."""
    calls: list[tuple[str, int]] = []

    def play(session: Session, inp: YangModel) -> YangModel | None:
        args: Any = inp
        calls.append((args.playlist, args.song_number))
        return None

    assert rc_server.ds.add_rpc("/example-jukebox:play", play)
    r = send(c, "POST", f"{OPS}/example-jukebox:play",
             {"example-jukebox:input": {"playlist": "Foo-One", "song-number": 2}})
    assert r.status_code == 204 and r.content == b""
    body = f'<input xmlns="{JB_NS}"><playlist>Foo-One</playlist><song-number>3</song-number></input>'
    assert send(c, "POST", f"{OPS}/example-jukebox:play", body, XML).status_code == 204
    assert calls == [("Foo-One", 2), ("Foo-One", 3)]
    # a mandatory input leaf missing: 400 missing-element naming it; the handler never runs
    r = send(c, "POST", f"{OPS}/example-jukebox:play", {"example-jukebox:input": {"playlist": "x"}})
    assert r.status_code == 400
    (e,) = errors(r)
    assert e["error-tag"] == "missing-element"
    assert e["error-path"] == "/example-jukebox:play/input/song-number"
    # no body at all: every mandatory leaf is reported
    r = c.post(f"{OPS}/example-jukebox:play")
    assert r.status_code == 400 and {e["error-tag"] for e in errors(r)} == {"missing-element"}
    assert len(errors(r)) == 2
    assert len(calls) == 2


def test_input_errors_json(c: httpx.Client, rc_server: Running) -> None:
    url = f"{OPS}/{YC}:rollback"
    head = rc_server.ds.head
    cases: list[tuple[Any, str, str | None]] = [
        ({f"{YC}:input": {"id": "x"}}, "invalid-value", f"/{YC}:rollback/input/id"),
        ({f"{YC}:input": {"id": "1", "label": "a"}}, "bad-element", f"/{YC}:rollback/input"),
        ({f"{YC}:input": {"idx": "1"}}, "unknown-element", f"/{YC}:rollback/input/idx"),
        ({f"{YC}:input": {}}, "missing-element", f"/{YC}:rollback/input"),
        ({"input": {"id": "0"}}, "malformed-message", None),
        ({f"{YC}:output": {"id": "0"}}, "malformed-message", None),
        ("{not json", "malformed-message", None),
    ]
    for body, want, path in cases:
        r = send(c, "POST", url, body)
        assert r.status_code == 400, (body, r.text)
        (e,) = errors(r)
        assert e["error-tag"] == want, (body, e)
        assert e.get("error-path") == path, (body, e)
    r = send(c, "POST", url, {f"{YC}:input": {"id": "99"}})
    assert r.status_code == 400 and errors(r)[0]["error-app-tag"] == "unknown-commit"
    assert rc_server.ds.head == head  # nothing was committed by any of them


def test_input_errors_xml(c: httpx.Client, rc_server: Running) -> None:
    url = f"{OPS}/{YC}:rollback"
    r = send(c, "POST", url, f'<input xmlns="{YC_NS}"><id>x</id></input>', XML, Accept=XML)
    assert r.status_code == 400
    doc = etree.fromstring(r.content)
    assert doc.tag == f"{{{RC_NS}}}errors"
    assert doc.findtext(f".//{{{RC_NS}}}error-tag") == "invalid-value"
    path = doc.find(f".//{{{RC_NS}}}error-path")
    assert path is not None and path.text is not None
    assert path.text.startswith("/yc:rollback/") and path.text.endswith("id")
    assert path.nsmap["yc"] == YC_NS
    for body in (f'<rollback xmlns="{YC_NS}"><id>0</id></rollback>', '<input><id>0</id></input>',
                 f'<input xmlns="{YC_NS}"><id>0</input>'):
        r = send(c, "POST", url, body, XML)
        assert r.status_code == 400 and tag(r) == "malformed-message", body
    r = send(c, "POST", url, f'<input xmlns="{YC_NS}"><bogus>0</bogus></input>', XML)
    assert r.status_code == 400 and tag(r) == "unknown-element"


def test_unknown_unimplemented_and_methods(c: httpx.Client, rc_server: Running) -> None:
    r = send(c, "POST", f"{OPS}/{YC}:no-such-rpc", {})
    assert r.status_code == 404 and tag(r) == "invalid-value"
    assert c.post(f"{OPS}/no-such-module:x").status_code == 404
    assert c.post(f"{OPS}/rollback").status_code == 400  # not module-qualified
    # an rpc of a loaded module that nothing serves over RESTCONF
    r = c.post(f"{OPS}/ietf-netconf:lock")
    assert r.status_code == 501 and tag(r) == "operation-not-supported"
    r = c.get(f"{OPS}/{YC}:rollback")
    assert r.status_code == 405 and r.headers["allow"] == "OPTIONS, POST"
    assert tag(r) == "operation-not-supported"
    assert c.delete(f"{OPS}/{YC}:rollback").status_code == 405
    r = c.options(f"{OPS}/{YC}:rollback")
    assert r.status_code == 200 and r.headers["allow"] == "OPTIONS, POST"
    # query parameters are not for operations; Accept must be satisfiable — before anything runs
    head = rc_server.ds.head
    r = send(c, "POST", f"{OPS}/{YC}:rollback?depth=1", {f"{YC}:input": {"id": "0"}})
    assert r.status_code == 400 and tag(r) == "invalid-value"
    r = send(c, "POST", f"{OPS}/{YC}:rollback", {f"{YC}:input": {"id": "0"}}, Accept="text/html")
    assert r.status_code == 406
    r = send(c, "POST", f"{OPS}/{YC}:rollback", "x", "text/plain")
    assert r.status_code == 415
    assert rc_server.ds.head == head
    # unauthenticated: 401, the rpc does not run
    r = httpx.post(f"{rc_server.url}{OPS}/{YC}:rollback", verify=False,
                   json={f"{YC}:input": {"id": "0"}})
    assert r.status_code == 401 and rc_server.ds.head == head


def test_operations_list(c: httpx.Client) -> None:
    """§3.3.2: the operations resource in JSON and XML names rollback and compare."""
    ops = c.get(OPS).json()["ietf-restconf:operations"]
    assert ops[f"{YC}:rollback"] == [None] and ops[f"{YC}:compare"] == [None]
    doc = etree.fromstring(c.get(OPS, headers={"Accept": XML}).content)
    assert doc.tag == f"{{{RC_NS}}}operations"
    names = {etree.QName(e).localname for e in doc if etree.QName(e).namespace == YC_NS}
    assert {"rollback", "compare"} <= names


def test_jukebox_play_unimplemented(c: httpx.Client) -> None:
    """Without a registered handler an rpc of a loaded module is 501, and changes nothing."""
    r = send(c, "POST", f"{OPS}/example-jukebox:play",
             {"example-jukebox:input": {"playlist": "x", "song-number": 1}})
    assert r.status_code == 501 and tag(r) == "operation-not-supported"
    assert c.get(JB).status_code == 404
