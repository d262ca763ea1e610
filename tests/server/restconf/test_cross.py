"""One datastore for every transport: a RESTCONF edit is a commit any session sees, and the
reverse (NETCONF shares Session; this checks through the datastore API it uses)."""

from __future__ import annotations

import httpx

from models.edit import Op, edit_from_json
from tests.server.restconf.conftest import Running
from tests.server.restconf.helpers import JB, jukebox, send


def test_restconf_edit_is_a_commit(c: httpx.Client, rc_server: Running) -> None:
    jukebox(c)
    ds = rc_server.ds
    s = ds.open_session("other", "netconf")
    try:
        got = s.get_path("/example-jukebox:jukebox/library/artist[name='Foo Fighters']/album[name='Wasting Light']/year")
        assert got == 2011
        commit = ds.commits(1)[0]
        assert commit.transport == "restconf" and commit.user == "admin"
    finally:
        s.close()


def test_datastore_edit_is_seen_over_restconf(c: httpx.Client, rc_server: Running) -> None:
    ds = rc_server.ds
    s = ds.open_session("other", "netconf")
    try:
        node = ds.bundle.node("/example-jukebox:jukebox")
        s.edit("running", edit_from_json(ds.bundle, node, {"player": {"gap": "0.3"}}, Op.MERGE))
    finally:
        s.close()
    assert c.get(f"{JB}/player/gap").json() == {"example-jukebox:gap": "0.3"}
    assert send(c, "DELETE", f"{JB}/player").status_code == 204
    running = ds.running.model_dump(exclude_none=True)
    running.pop("ietf-system:system")  # the users (ietf-system), not this test's data
    assert s.closed and running == {"example-jukebox:jukebox": {}}
