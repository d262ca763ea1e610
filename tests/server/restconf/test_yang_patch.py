"""YANG Patch (RFC 8072) over HTTPS against example-jukebox: every edit operation in JSON and
XML, RFC 8072 Appendix A, atomic failure with per-edit and global errors."""

from __future__ import annotations

from typing import Any

import httpx
from lxml import etree

from tests.server.restconf.conftest import Running
from tests.server.restconf.helpers import JB, JB_NS, JSON, XML, errors, send, tag

YP_JSON = "application/yang-patch+json"
YP_XML = "application/yang-patch+xml"
YP_NS = "urn:ietf:params:xml:ns:yang:ietf-yang-patch"
ALBUM = f"{JB}/library/artist=Foo%20Fighters/album=Wasting%20Light"
FOO_ONE = f"{JB}/playlist=Foo-One"
SONGS = ["Bridge Burning", "Rope", "Dear Rosemary", "Walk", "These Days"]


def song_id(name: str) -> str:
    return ("/example-jukebox:jukebox/library/artist[name='Foo Fighters']"
            f"/album[name='Wasting Light']/song[name='{name}']")


def _setup(c: httpx.Client, library: list[str] = SONGS[:2], playlist: int = 4) -> None:
    """Foo Fighters' Wasting Light with ``library`` songs; playlist Foo-One with songs 1..n."""
    songs = [{"name": n, "location": f"/media/{n.lower().replace(' ', '_')}.mp3"} for n in SONGS]
    body = {"example-jukebox:jukebox": {
        "library": {"artist": [{"name": "Foo Fighters", "album": [{
            "name": "Wasting Light", "year": 2011,
            "song": [s for s in songs if s["name"] in library]}]}]},
        "playlist": [{"name": "Foo-One", "song": [
            {"index": i, "id": song_id(library[0])} for i in range(1, playlist + 1)]}],
    }}
    r = send(c, "PUT", JB, body)
    assert r.status_code == 201, r.text


def patch(c: httpx.Client, url: str, edits: list[dict[str, Any]], patch_id: str = "p1",
          **headers: str) -> httpx.Response:
    return send(c, "PATCH", url, {"ietf-yang-patch:yang-patch": {"patch-id": patch_id, "edit": edits}},
                YP_JSON, **headers)


def status(r: httpx.Response) -> dict[str, Any]:
    assert r.headers["content-type"].startswith(JSON), r.headers
    doc = r.json()
    assert set(doc) == {"ietf-yang-patch:yang-patch-status"}, doc
    st: dict[str, Any] = doc["ietf-yang-patch:yang-patch-status"]
    return st


def order(c: httpx.Client) -> list[int]:
    return [s["index"] for s in c.get(f"{FOO_ONE}/song").json()["example-jukebox:song"]]


def album_songs(c: httpx.Client) -> list[str]:
    r = c.get(f"{ALBUM}/song")
    return [] if r.status_code == 404 else [s["name"] for s in r.json()["example-jukebox:song"]]


def song_edit(edit_id: str, name: str, op: str = "create") -> dict[str, Any]:
    return {"edit-id": edit_id, "operation": op, "target": f"/song={name.replace(' ', '%20')}",
            "value": {"example-jukebox:song": [{"name": name, "location": f"/media/{edit_id}.mp3"}]}}


# ---- RFC 8072 Appendix A ---------------------------------------------------------------
def test_a11_add_resources_error(c: httpx.Client, rc_server: Running) -> None:
    """A.1.1: the first song exists → 409, edit1's data-exists error, nothing added."""
    _setup(c)
    head = rc_server.ds.head
    r = patch(c, ALBUM, [song_edit("edit1", "Bridge Burning"), song_edit("edit2", "Rope"),
                         song_edit("edit3", "Dear Rosemary")], "add-songs-patch")
    assert r.status_code == 409, r.text
    st = status(r)
    assert st["patch-id"] == "add-songs-patch" and "ok" not in st
    (edit,) = st["edit-status"]["edit"]
    assert edit["edit-id"] == "edit1"
    (e,) = edit["errors"]["error"]
    assert e["error-tag"] == "data-exists" and e["error-type"] == "application"
    assert e["error-path"] == song_id("Bridge Burning")
    assert album_songs(c) == SONGS[:2] and rc_server.ds.head == head


def test_a12_add_resources_success(c: httpx.Client, rc_server: Running) -> None:
    """A.1.2: three new songs → 200 and ok; one commit holds all three."""
    _setup(c)
    head = rc_server.ds.head
    r = patch(c, ALBUM, [song_edit("edit1", "Dear Rosemary"), song_edit("edit2", "Walk"),
                         song_edit("edit3", "These Days")], "add-songs-patch")
    assert r.status_code == 200, r.text
    assert status(r) == {"patch-id": "add-songs-patch", "ok": [None]}
    assert album_songs(c) == SONGS
    assert rc_server.ds.head == head + 1


def test_a2_insert_list_entry(c: httpx.Client) -> None:
    """A.2: insert song 5 after song 2 of the ordered-by user playlist."""
    _setup(c)
    r = patch(c, FOO_ONE, [{"edit-id": "edit1", "operation": "insert", "target": "/song=5",
                            "point": "/song=2", "where": "after",
                            "value": {"example-jukebox:song": [{"index": 5, "id": song_id("Rope")}]}}],
              "insert-song-patch")
    assert r.status_code == 200, r.text
    assert status(r)["ok"] == [None]
    assert order(c) == [1, 2, 5, 3, 4]
    assert c.get(f"{FOO_ONE}/song=5/id").json() == {"example-jukebox:id": song_id("Rope")}


def test_a3_move_list_entry(c: httpx.Client) -> None:
    """A.3: move song 1 after song 3."""
    _setup(c)
    r = patch(c, FOO_ONE, [{"edit-id": "edit1", "operation": "move", "target": "/song=1",
                            "point": "/song=3", "where": "after"}], "move-song-patch")
    assert r.status_code == 200, r.text
    assert order(c) == [2, 3, 1, 4]


# ---- every operation -------------------------------------------------------------------
def test_every_operation_json(c: httpx.Client, rc_server: Running) -> None:
    _setup(c)
    head = rc_server.ds.head
    edits = [
        song_edit("create", "Walk"),
        {"edit-id": "merge", "operation": "merge", "target": "/song=Walk",
         "value": {"example-jukebox:song": [{"name": "Walk", "length": 256}]}},
        {"edit-id": "replace", "operation": "replace", "target": "/song=Bridge%20Burning",
         "value": {"song": [{"name": "Bridge Burning", "location": "/media/bb2.mp3"}]}},
        {"edit-id": "delete", "operation": "delete", "target": "/song=Rope"},
        {"edit-id": "remove-missing", "operation": "remove", "target": "/song=These%20Days"},
        {"edit-id": "merge-leaf", "operation": "merge", "target": "/year",
         "value": {"example-jukebox:year": 2012}},
        {"edit-id": "create-admin", "operation": "create", "target": "/admin",
         "value": {"example-jukebox:admin": {"label": "RCA"}}},
        {"edit-id": "remove-leaf", "operation": "remove", "target": "/admin/label"},
    ]
    r = patch(c, ALBUM, edits)
    assert r.status_code == 200, r.text
    assert rc_server.ds.head == head + 1  # one commit for the whole patch
    album = c.get(ALBUM).json()["example-jukebox:album"][0]
    assert [s["name"] for s in album["song"]] == ["Bridge Burning", "Walk"]
    assert album["song"][0] == {"name": "Bridge Burning", "location": "/media/bb2.mp3"}
    assert album["song"][1]["length"] == 256 and album["song"][1]["location"] == "/media/create.mp3"
    assert album["year"] == 2012
    assert "label" not in album.get("admin", {})
    # insert at first/last, before; move to last/first/before — all in one patch on the playlist
    edits = [
        {"edit-id": "i-first", "operation": "insert", "target": "/song=10", "where": "first",
         "value": {"song": [{"index": 10, "id": song_id("Walk")}]}},
        {"edit-id": "i-last", "operation": "insert", "target": "/song=11",
         "value": {"song": [{"index": 11, "id": song_id("Walk")}]}},
        {"edit-id": "i-before", "operation": "insert", "target": "/song=12", "where": "before",
         "point": "/song=3", "value": {"song": [{"index": 12, "id": song_id("Walk")}]}},
        {"edit-id": "m-last", "operation": "move", "target": "/song=10", "where": "last"},
        {"edit-id": "m-first", "operation": "move", "target": "/song=4", "where": "first"},
        {"edit-id": "m-before", "operation": "move", "target": "/song=11", "where": "before",
         "point": "/song=1"},
    ]
    r = patch(c, FOO_ONE, edits)
    assert r.status_code == 200, r.text
    assert order(c) == [4, 11, 1, 2, 12, 3, 10]


def test_every_operation_xml(c: httpx.Client) -> None:
    _setup(c)

    def edit(eid: str, op: str, target: str, value: str = "", extra: str = "") -> str:
        v = f"<value>{value}</value>" if value else ""
        return (f"<edit><edit-id>{eid}</edit-id><operation>{op}</operation>"
                f"<target>{target}</target>{extra}{v}</edit>")

    song = f'<song xmlns="{JB_NS}"><name>Walk</name><location>/m/w.mp3</location></song>'
    body = (f'<yang-patch xmlns="{YP_NS}"><patch-id>xml-patch</patch-id><comment>all of them</comment>'
            + edit("e1", "create", "/song=Walk", song)
            + edit("e2", "merge", "/song=Walk", f'<song xmlns="{JB_NS}"><name>Walk</name><format>MP3</format></song>')
            + edit("e3", "replace", "/song=Rope", f'<song xmlns="{JB_NS}"><name>Rope</name><location>/r</location></song>')
            + edit("e4", "delete", "/song=Walk/format")
            + edit("e5", "remove", "/song=Nothing")
            + "</yang-patch>")
    r = send(c, "PATCH", ALBUM, body, YP_XML, Accept=XML)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(XML)
    doc = etree.fromstring(r.content)
    assert doc.tag == f"{{{YP_NS}}}yang-patch-status"
    assert doc.findtext(f"{{{YP_NS}}}patch-id") == "xml-patch"
    assert doc.find(f"{{{YP_NS}}}ok") is not None
    songs = c.get(f"{ALBUM}/song").json()["example-jukebox:song"]
    assert songs == [{"name": "Bridge Burning", "location": "/media/bridge_burning.mp3"},
                     {"name": "Rope", "location": "/r"}, {"name": "Walk", "location": "/m/w.mp3"}]
    # an instance-identifier with a prefix declared for it, as XML has them
    ins = (f'<song xmlns="{JB_NS}"><index>9</index>'
           f'<id xmlns:jbox="{JB_NS}">{_xml_id("Rope")}</id></song>')
    body = (f'<yang-patch xmlns="{YP_NS}"><patch-id>order</patch-id>'
            + edit("i", "insert", "/song=9", ins, "<point>/song=1</point><where>after</where>")
            + edit("m", "move", "/song=4", "", "<where>first</where>")
            + edit("d", "delete", "/song=3")
            + "</yang-patch>")
    r = send(c, "PATCH", FOO_ONE, body, YP_XML)
    assert r.status_code == 200, r.text
    assert status(r) == {"patch-id": "order", "ok": [None]}
    assert order(c) == [4, 1, 9, 2]


def _xml_id(name: str) -> str:
    return ("/jbox:jukebox/jbox:library/jbox:artist[jbox:name='Foo Fighters']"
            f"/jbox:album[jbox:name='Wasting Light']/jbox:song[jbox:name='{name}']")


def test_datastore_resource(c: httpx.Client, rc_server: Running) -> None:
    """A patch on /restconf/data: targets are module-qualified; "/" is refused (§2.2)."""
    _setup(c)
    r = patch(c, "/restconf/data", [
        {"edit-id": "1", "operation": "merge", "target": "/example-jukebox:jukebox/player",
         "value": {"example-jukebox:player": {"gap": "0.5"}}},
        {"edit-id": "2", "operation": "create",
         "target": "/example-jukebox:jukebox/playlist=Bar-Two",
         "value": {"example-jukebox:playlist": [{"name": "Bar-Two", "description": "new"}]}},
    ])
    assert r.status_code == 200, r.text
    assert c.get(f"{JB}/player/gap").json() == {"example-jukebox:gap": "0.5"}
    assert c.get(f"{JB}/playlist=Bar-Two/description").status_code == 200
    head = rc_server.ds.head
    r = patch(c, "/restconf/data", [{"edit-id": "x", "operation": "remove", "target": "/"}])
    assert r.status_code == 400
    assert status(r)["edit-status"]["edit"][0]["errors"]["error"][0]["error-tag"] == "invalid-value"
    assert rc_server.ds.head == head


# ---- atomic failure --------------------------------------------------------------------
def test_one_bad_edit_changes_nothing(c: httpx.Client, rc_server: Running) -> None:
    _setup(c)
    before = c.get(JB).json()
    head = rc_server.ds.head
    bad: list[tuple[dict[str, Any], int, str]] = [
        ({"edit-id": "bad", "operation": "delete", "target": "/song=Nope"}, 409, "data-missing"),
        (song_edit("bad", "Rope"), 409, "data-exists"),
        ({"edit-id": "bad", "operation": "merge", "target": "/year",
          "value": {"example-jukebox:year": 1800}}, 400, "invalid-value"),
        ({"edit-id": "bad", "operation": "merge", "target": "/song=Rope",
          "value": {"example-jukebox:song": [{"name": "Other"}]}}, 400, "invalid-value"),
        ({"edit-id": "bad", "operation": "delete", "target": "/song=Rope", "value": {}}, 400,
         "invalid-value"),
        ({"edit-id": "bad", "operation": "insert", "target": "/song=Zed",
          "value": {"example-jukebox:song": [{"name": "Zed", "location": "z"}]}}, 400, "invalid-value"),
        ({"edit-id": "bad", "operation": "move", "target": "/song=Rope"}, 400, "invalid-value"),
        ({"edit-id": "bad", "operation": "create", "target": "/song=X"}, 400, "missing-element"),
        ({"edit-id": "bad", "operation": "merge", "target": "/no-such-node",
          "value": {"example-jukebox:x": 1}}, 400, "unknown-element"),
        ({"edit-id": "bad", "operation": "merge", "target": "/song=Rope",
          "value": {"example-jukebox:song": [{"name": "Rope", "bogus": 1}]}}, 400, "unknown-element"),
    ]
    for edit, code, want in bad:
        r = patch(c, ALBUM, [song_edit("good", "Walk"), edit, song_edit("later", "These Days")])
        assert r.status_code == code, (edit, r.text)
        st = status(r)
        assert "ok" not in st, st
        (es,) = st["edit-status"]["edit"]
        assert es["edit-id"] == "bad", st
        assert es["errors"]["error"][0]["error-tag"] == want, (edit, st)
        assert c.get(JB).json() == before and rc_server.ds.head == head
    # playlist: insert before a point of another list, point missing
    for edit in ({"edit-id": "bad", "operation": "move", "target": "/song=1", "where": "before",
                  "point": "/song=99"},
                 {"edit-id": "bad", "operation": "move", "target": "/song=1", "where": "after"},
                 {"edit-id": "bad", "operation": "move", "target": "/song=1", "point": "/song=2"},
                 {"edit-id": "bad", "operation": "move", "target": "/song=77", "where": "first"}):
        r = patch(c, FOO_ONE, [{"edit-id": "ok", "operation": "move", "target": "/song=4",
                                "where": "first"}, edit])
        assert r.status_code in (400, 409), (edit, r.text)
        assert status(r)["edit-status"]["edit"][0]["edit-id"] == "bad"
        assert order(c) == [1, 2, 3, 4]
    assert rc_server.ds.head == head


def test_validation_error_is_global(c: httpx.Client, rc_server: Running) -> None:
    """Each edit applies, but the result breaks a constraint: global errors, nothing changed."""
    _setup(c)
    head = rc_server.ds.head
    r = patch(c, FOO_ONE, [
        {"edit-id": "1", "operation": "create", "target": "/song=8",
         "value": {"example-jukebox:song": [{"index": 8, "id": song_id("Walk")}]}},  # no such song
        {"edit-id": "2", "operation": "delete", "target": "/song=1"},
    ], **{"Accept": XML})
    assert r.status_code == 409, r.text
    doc = etree.fromstring(r.content)
    assert doc.tag == f"{{{YP_NS}}}yang-patch-status"
    assert doc.find(f"{{{YP_NS}}}ok") is None and doc.find(f"{{{YP_NS}}}edit-status") is None
    err = doc.find(f"{{{YP_NS}}}errors/{{{YP_NS}}}error")
    assert err is not None
    assert err.findtext(f"{{{YP_NS}}}error-tag") == "data-missing"
    assert err.findtext(f"{{{YP_NS}}}error-app-tag") == "instance-required"
    assert "song" in (err.findtext(f"{{{YP_NS}}}error-path") or "")
    assert order(c) == [1, 2, 3, 4] and rc_server.ds.head == head


def test_edit_error_xml(c: httpx.Client) -> None:
    _setup(c)
    body = (f'<yang-patch xmlns="{YP_NS}"><patch-id>x</patch-id><edit><edit-id>only</edit-id>'
            "<operation>delete</operation><target>/song=Nope</target></edit></yang-patch>")
    r = send(c, "PATCH", ALBUM, body, YP_XML, Accept=XML)
    assert r.status_code == 409
    doc = etree.fromstring(r.content)
    edit = doc.find(f"{{{YP_NS}}}edit-status/{{{YP_NS}}}edit")
    assert edit is not None and edit.findtext(f"{{{YP_NS}}}edit-id") == "only"
    err = edit.find(f"{{{YP_NS}}}errors/{{{YP_NS}}}error")
    assert err is not None and err.findtext(f"{{{YP_NS}}}error-tag") == "data-missing"
    path = err.find(f"{{{YP_NS}}}error-path")
    assert path is not None and path.text is not None and "jbox:" in path.text
    assert JB_NS in path.nsmap.values()


def test_malformed_patches(c: httpx.Client, rc_server: Running) -> None:
    """Not a YANG Patch at all: a plain RFC 8040 errors body, 400; nothing changed."""
    _setup(c)
    head = rc_server.ds.head
    good = song_edit("e", "Walk")
    docs: list[tuple[Any, str]] = [
        ("{nope", "malformed-message"),
        ({"yang-patch": {"patch-id": "x", "edit": []}}, "malformed-message"),
        ({"ietf-yang-patch:yang-patch": {"edit": [good]}}, "missing-element"),
        ({"ietf-yang-patch:yang-patch": {"patch-id": "x", "edit": [good, good]}}, "malformed-message"),
        ({"ietf-yang-patch:yang-patch": {"patch-id": "x", "edit": [{**good, "operation": "frob"}]}},
         "invalid-value"),
        ({"ietf-yang-patch:yang-patch": {"patch-id": "x", "edit": [{**good, "where": "middle"}]}},
         "invalid-value"),
        ({"ietf-yang-patch:yang-patch": {"patch-id": "x", "edit": [{"edit-id": "1", "target": "/"}]}},
         "missing-element"),
        ({"ietf-yang-patch:yang-patch": {"patch-id": "x", "bogus": 1}}, "unknown-element"),
    ]
    for body, want in docs:
        r = send(c, "PATCH", ALBUM, body, YP_JSON)
        assert r.status_code == 400, (body, r.text)
        assert tag(r) == want, (body, errors(r))
    for body in ("<yang-patch/>", f'<yang-patch xmlns="{YP_NS}"><edit/></yang-patch>',
                 f'<yang-patch xmlns="{YP_NS}"><patch-id>x</patch-id><x:y xmlns:x="urn:x"/></yang-patch>'):
        r = send(c, "PATCH", ALBUM, body, YP_XML)
        assert r.status_code == 400, (body, r.text)
    # the resource must exist; query parameters are refused; Accept must be satisfiable
    r = patch(c, f"{JB}/playlist=Nope", [good])
    assert r.status_code == 404 and tag(r) == "data-missing"
    assert patch(c, f"{ALBUM}?depth=1", [good]).status_code == 400
    assert patch(c, ALBUM, [good], Accept="text/plain").status_code == 406
    assert rc_server.ds.head == head
    # an empty patch is fine and commits nothing
    r = patch(c, ALBUM, [])
    assert r.status_code == 200 and status(r)["ok"] == [None] and rc_server.ds.head == head


def test_accept_patch_advertised(c: httpx.Client) -> None:
    _setup(c)
    r = c.options(ALBUM)
    assert r.status_code == 200
    got = {t.strip() for t in r.headers["accept-patch"].split(",")}
    assert {YP_JSON, YP_XML} <= got


def test_preconditions_and_etag(c: httpx.Client, rc_server: Running) -> None:
    """Safe read-modify-write with YANG Patch: If-Match on the request resource, a new ETag."""
    _setup(c)
    etag = c.get(ALBUM).headers["etag"]
    head = rc_server.ds.head
    r = patch(c, ALBUM, [song_edit("e", "Walk")], **{"If-Match": '"stale"'})
    assert r.status_code == 412 and rc_server.ds.head == head
    r = patch(c, ALBUM, [song_edit("e", "Walk")], **{"If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.headers["etag"] and r.headers["etag"] != etag
    assert r.headers["etag"] == c.get(ALBUM).headers["etag"]
    assert patch(c, ALBUM, [song_edit("f", "Rope", "merge")], **{"If-Match": etag}).status_code == 412


def test_nmda_datastores(c: httpx.Client, rc_server: Running) -> None:
    """RFC 8527 URIs: a patch of the candidate stays there; operational takes none (405)."""
    _setup(c)
    head = rc_server.ds.head
    cand = "/restconf/ds/ietf-datastores:candidate/example-jukebox:jukebox/library/" \
        "artist=Foo%20Fighters/album=Wasting%20Light"
    r = patch(c, cand, [song_edit("e", "Walk")])
    assert r.status_code == 200, r.text
    assert rc_server.ds.head == head and album_songs(c) == SONGS[:2]
    names = [s["name"] for s in c.get(f"{cand}/song").json()["example-jukebox:song"]]
    assert names == [*SONGS[:2], "Walk"]
    oper = cand.replace("candidate", "operational")
    r = patch(c, oper, [song_edit("e", "These Days")])
    assert r.status_code == 405 and tag(r) == "operation-not-supported"
