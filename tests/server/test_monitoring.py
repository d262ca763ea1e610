"""ietf-netconf-monitoring (RFC 6022) through ncclient: /netconf-state in get, get-schema."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from lxml import etree
from ncclient.operations import RPCError

from models.schema import ModuleInfo
from server.config import add_user
from server.netconf.monitoring import NCM
from server.netconf.ops.base import Context
from server.netconf.ops.monitoring import GetSchema
from tests.server.conftest import Running, connect
from tests.server.helpers import NC, el, iface

YANG = Path(__file__).resolve().parents[2] / "yang"


def state(m: Any, part: str) -> Any:
    """/netconf-state/<part> from a filtered get."""
    flt = f'<filter type="subtree"><netconf-state xmlns="{NCM}"><{part}/></netconf-state></filter>'
    root = etree.fromstring(m.get(filter=flt).xml.encode())
    got = root.find(f"{{{NC}}}data/{{{NCM}}}netconf-state/{{{NCM}}}{part}")
    assert got is not None, etree.tostring(root)
    # the filter selected only that part
    assert len(root.find(f"{{{NC}}}data/{{{NCM}}}netconf-state")) == 1
    return got


def q(name: str) -> str:
    return f"{{{NCM}}}{name}"


def counters(e: Any) -> dict[str, int]:
    return {etree.QName(c).localname: int(c.text) for c in e
            if c.text and c.text.isdigit() and etree.QName(c).localname != "session-id"}


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def test_capabilities_match_the_hello(m: Any) -> None:
    caps = [c.text for c in state(m, "capabilities").iterfind(q("capability"))]
    assert sorted(caps) == sorted(m.server_capabilities)
    assert len(caps) == len(set(caps))


def test_get_without_filter_includes_netconf_state(m: Any) -> None:
    root = etree.fromstring(m.get().xml.encode())
    ns = root.find(f"{{{NC}}}data/{{{NCM}}}netconf-state")
    assert ns is not None
    assert [etree.QName(c).localname for c in ns] == [
        "capabilities", "datastores", "schemas", "sessions", "statistics"]
    assert root.find(f"{{{NC}}}data/{{urn:ietf:params:xml:ns:yang:ietf-yang-library}}yang-library") \
        is not None


def test_lock_shows_in_datastores_with_session_and_time(m: Any, nc_server: Running) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    with connect(nc_server) as other:
        other.lock("candidate")
        ds = {d.findtext(q("name")): d for d in state(m, "datastores").iterfind(q("datastore"))}
        assert set(ds) == {"running", "candidate", "startup"}
        lock = ds["candidate"].find(f"{q('locks')}/{q('global-lock')}")
        assert lock is not None
        assert lock.findtext(q("locked-by-session")) == str(other.session_id)
        assert before <= parse_time(lock.findtext(q("locked-time"))) <= datetime.now(UTC)
        assert ds["running"].find(q("locks")) is None
        other.unlock("candidate")
    ds = {d.findtext(q("name")): d for d in state(m, "datastores").iterfind(q("datastore"))}
    assert all(d.find(q("locks")) is None for d in ds.values())


def test_two_sessions_listed_with_usernames(m: Any, nc_server: Running) -> None:
    add_user(nc_server.data_dir, "oper", "oper-pw")
    with connect(nc_server, username="oper", password="oper-pw") as other:
        rows = {s.findtext(q("session-id")): s for s in state(m, "sessions").iterfind(q("session"))}
        assert set(rows) == {str(m.session_id), str(other.session_id)}
        mine, theirs = rows[str(m.session_id)], rows[str(other.session_id)]
        assert mine.findtext(q("username")) == "admin"
        assert theirs.findtext(q("username")) == "oper"
        for s in (mine, theirs):
            assert s.findtext(q("transport")).endswith(":netconf-ssh")
            assert s.findtext(q("source-host")) == "127.0.0.1"
            assert abs((parse_time(s.findtext(q("login-time"))) - datetime.now(UTC)).total_seconds()) < 60
        assert counters(theirs) == {"in-rpcs": 0, "in-bad-rpcs": 0, "out-rpc-errors": 0,
                                    "out-notifications": 0}
        assert counters(mine)["in-rpcs"] >= 1  # this get
    rows = [s.findtext(q("session-id")) for s in state(m, "sessions").iterfind(q("session"))]
    assert rows == [str(m.session_id)]


def test_identityref_prefix_is_declared(m: Any) -> None:
    t = state(m, "sessions").find(f"{q('session')}/{q('transport')}")
    assert t.nsmap.get(t.text.split(":")[0]) == NCM


def test_statistics_count_rpcs_bad_rpcs_and_errors(m: Any, nc_server: Running) -> None:
    stats = counters(state(m, "statistics"))
    start = parse_time(state(m, "statistics").findtext(q("netconf-start-time")))
    assert start <= datetime.now(UTC)
    mine = next(s for s in state(m, "sessions").iterfind(q("session"))
                if s.findtext(q("session-id")) == str(m.session_id))
    mine_before = counters(mine)
    with pytest.raises(RPCError):  # an rpc-layer error: not a correct <rpc>
        m.dispatch(el(f'<no-such-operation xmlns="{NC}"/>'))
    with pytest.raises(RPCError):  # a correct rpc that fails
        m.edit_config(target="running", config=iface("eth0", type_=None, extra="<mtu>x</mtu>"))
    m.get_config("running")
    after = counters(state(m, "statistics"))
    # three rpcs since the first statistics read: that read's successor reads count too
    assert after["in-bad-rpcs"] == stats["in-bad-rpcs"] + 1
    assert after["out-rpc-errors"] == stats["out-rpc-errors"] + 2
    assert after["in-rpcs"] == stats["in-rpcs"] + 5  # 2 state reads, edit, get-config, this read
    assert after["in-sessions"] == stats["in-sessions"] >= 1
    mine = next(s for s in state(m, "sessions").iterfind(q("session"))
                if s.findtext(q("session-id")) == str(m.session_id))
    got = counters(mine)
    assert got["in-bad-rpcs"] == mine_before["in-bad-rpcs"] + 1
    assert got["out-rpc-errors"] == mine_before["out-rpc-errors"] + 2


def test_sessions_dropped_and_bad_hellos(m: Any, nc_server: Running) -> None:
    import asyncssh

    from tests.server.test_bad_input import open_raw

    stats = counters(state(m, "statistics"))
    with connect(nc_server) as other:  # closed by close-session: not dropped
        other.get_config("running")

    async def go() -> None:
        raw, conn = await open_raw(nc_server, hello=None)
        raw.send(f'<hello xmlns="{NC}"><capabilities><capability>urn:x</capability>'
                 "</capabilities></hello>".encode())  # no base capability: dropped
        assert await raw.recv() is None
        conn.close()
        raw, conn = await open_raw(nc_server)  # transport closed without close-session
        conn.close()
        await conn.wait_closed()

    asyncio.run(asyncio.wait_for(go(), 20))
    del asyncssh
    deadline = time.monotonic() + 5
    while True:
        after = counters(state(m, "statistics"))
        if after["dropped-sessions"] >= stats["dropped-sessions"] + 2 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert after["in-sessions"] == stats["in-sessions"] + 3
    assert after["in-bad-hellos"] == stats["in-bad-hellos"] + 1
    assert after["dropped-sessions"] == stats["dropped-sessions"] + 2


# ---- schemas and get-schema ------------------------------------------------------------------

def test_schemas_list_every_module_and_submodule(m: Any, nc_server: Running) -> None:
    rows = {(s.findtext(q("identifier")), s.findtext(q("version"))): s
            for s in state(m, "schemas").iterfind(q("schema"))}
    schema = nc_server.ds.bundle.schema
    want = {(mi.name, mi.revision or "") for mi in schema.modules.values()}
    want |= {(n, r or "") for mi in schema.modules.values() for n, r in mi.submodules}
    assert set(rows) == want
    sub = rows[("ietf-ipv6-router-advertisements", "2018-03-13")]
    assert sub.findtext(q("namespace")) == schema.modules["ietf-ipv6-unicast-routing"].namespace
    ifs = rows[("ietf-interfaces", "2018-02-20")]
    assert ifs.findtext(q("format")).endswith(":yang")
    assert [x.text for x in ifs.iterfind(q("location"))] == ["NETCONF"]


@pytest.mark.parametrize(("ident", "version", "path"), [
    ("ietf-interfaces", None, "ietf/ietf-interfaces@2018-02-20.yang"),
    ("ietf-netconf-monitoring", "2010-10-04", "ietf/ietf-netconf-monitoring@2010-10-04.yang"),
    ("ietf-ipv6-router-advertisements", None, "ietf/ietf-ipv6-router-advertisements@2018-03-13.yang"),
    ("yangd-commits", None, "yangd/yangd-commits@2026-11-23.yang"),
])
def test_get_schema_returns_the_file(m: Any, ident: str, version: str | None, path: str) -> None:
    reply = m.get_schema(ident, version=version)
    assert reply.data == (YANG / path).read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", [f'<format xmlns:ncm="{NCM}">ncm:yang</format>',
                                 f'<format xmlns:x="{NCM}">x:yang</format>', "<format>yang</format>"])
def test_get_schema_with_format(m: Any, fmt: str) -> None:
    reply = m.dispatch(el(f'<get-schema xmlns="{NCM}"><identifier>ietf-origin</identifier>{fmt}'
                          "</get-schema>"))
    text = etree.fromstring(reply.xml.encode()).findtext(q("data"))
    assert text == (YANG / "ietf/ietf-origin@2018-02-14.yang").read_text(encoding="utf-8")


@pytest.mark.parametrize("body", [
    "<identifier>no-such-module</identifier>",
    "<identifier>ietf-interfaces</identifier><version>1999-01-01</version>",
    "<identifier>ietf-interfaces</identifier><format>yin</format>",
    '<identifier>ietf-interfaces</identifier><format xmlns:x="urn:x">x:yang</format>',
])
def test_get_schema_unknown_is_invalid_value(m: Any, body: str) -> None:
    with pytest.raises(RPCError) as e:
        m.dispatch(el(f'<get-schema xmlns="{NCM}">{body}</get-schema>'))
    assert e.value.tag == "invalid-value"


def test_get_schema_missing_identifier(m: Any) -> None:
    with pytest.raises(RPCError) as e:
        m.dispatch(el(f'<get-schema xmlns="{NCM}"/>'))
    assert e.value.tag == "missing-element"


def test_get_schema_several_versions_is_data_not_unique() -> None:
    """Two revisions of one module loaded (not in the shipped set: a stand-in bundle)."""
    mods = {"a": ModuleInfo("a", "2020-01-01", "urn:a", "a"),
            "a2": ModuleInfo("a", "2021-01-01", "urn:a", "a")}
    bundle: Any = SimpleNamespace(schema=SimpleNamespace(modules=mods))
    ctx = Context(None, bundle, SimpleNamespace(), 1)  # type: ignore[arg-type]
    from models.errors import YangdErrors

    with pytest.raises(YangdErrors) as e:
        GetSchema().run(ctx, el(f'<get-schema xmlns="{NCM}"><identifier>a</identifier></get-schema>'))
    err = e.value.errors[0]
    assert (err.tag, err.app_tag) == ("operation-failed", "data-not-unique")
    with pytest.raises(YangdErrors) as e:  # with the version it is found (but has no file)
        GetSchema().run(ctx, el(f'<get-schema xmlns="{NCM}"><identifier>a</identifier>'
                                "<version>2021-01-01</version></get-schema>"))
    assert e.value.errors[0].app_tag is None
