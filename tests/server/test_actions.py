"""YANG 1.1 actions (RFC 7950 §7.15) on both transports: NETCONF's <action> over SSH
(ncclient) and RESTCONF's POST on the action's data resource (RFC 8040 §3.6) over HTTPS.

One yangd (NETCONF + RESTCONF in one asyncio loop, as ``yangd serve`` runs them) loads the
test module tests/server/yang/yangd-test-actions through ``server.cli.load_package`` — the
very code ``yangd serve --module`` uses — and the handlers are registered with
``Datastores.add_action``, the way a southbound driver registers its operations.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from lxml import etree
from ncclient.operations.rpc import RPCError

from datastore.datastores import Datastores
from datastore.path import Path as IPath
from datastore.path import format_path
from datastore.session import Session
from datastore.store import Store
from models.bundle import YangModel
from models.edit import edit_from_json
from server.cli import load_package
from server.config import Config, add_user
from server.netconf import serve as serve_netconf
from server.restconf import serve as serve_restconf
from tests.server.conftest import PASSWORD, USER

MODULE = Path(__file__).parent / "yang" / "yangd-test-actions@2026-12-05.yang"
M = "yangd-test-actions"
NS = "urn:yangd:test:actions"
YANG1 = "urn:ietf:params:xml:ns:yang:1"
JSON = "application/yang-data+json"
XML = "application/yang-data+xml"
SERVERS = f"/restconf/data/{M}:servers"


@pytest.fixture(scope="module")
def pkg(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    return load_package([MODULE], tmp_path_factory.mktemp("actions-schema"))


@dataclass
class Yangd:
    ds: Datastores
    nc_port: int
    rc_url: str
    cert: Path
    calls: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)

    def https(self) -> httpx.Client:
        return httpx.Client(base_url=self.rc_url, auth=(USER, PASSWORD), timeout=10,
                            verify=ssl.create_default_context(cafile=str(self.cert)))

    def netconf(self) -> Any:
        from ncclient import manager

        return manager.connect(host="127.0.0.1", port=self.nc_port, username=USER,
                               password=PASSWORD, hostkey_verify=False, look_for_keys=False,
                               allow_agent=False, timeout=10)


def _handlers(run: Yangd) -> None:
    """What a driver would register: reset and ping on servers, restart-all on the container."""
    ds = run.ds

    def record(name: str) -> Any:
        def handler(session: Session, where: IPath, inp: YangModel) -> YangModel | None:
            data = inp.model_dump(exclude_none=True, by_alias=True)
            run.calls.append((name, session.transport, format_path(ds.bundle, where), data))
            if name == "reset":
                out = ds.bundle.node(f"/{M}:servers/server/reset/output").cls
                return out.model_validate({"reset-finished-at": f"after {data['reset-at']}"})  # type: ignore[no-any-return]
            if name == "restart-all":
                servers = session.get_path(f"/{M}:servers")
                out = ds.bundle.node(f"/{M}:servers/restart-all/output").cls
                return out.model_validate({"count": len(servers.server or [])})  # type: ignore[no-any-return]
            return None
        return handler

    for path, name in ((f"/{M}:servers/server/reset", "reset"), (f"/{M}:servers/server/ping", "ping"),
                       (f"/{M}:servers/restart-all", "restart-all")):
        assert ds.add_action(path, record(name))
    assert not ds.add_action("/no-such-module:x/y", record("x"))  # module not loaded: nothing served
    with pytest.raises(ValueError):
        ds.add_action(f"/{M}:servers", record("x"))


@pytest.fixture
def yangd(tmp_path: Path, pkg: ModuleType) -> Iterator[Yangd]:
    data = tmp_path / "data"
    add_user(data, USER, PASSWORD)
    ds = Datastores(pkg.B, Store.open(f"sqlite:///{data / 'yangd.db'}"))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    cfg = Config(data_dir=data, netconf_listen="127.0.0.1:0", restconf_listen="127.0.0.1:0",
                 hello_timeout=10)
    nc = asyncio.run_coroutine_threadsafe(serve_netconf(cfg, ds), loop).result(20)
    rc = None
    try:
        rc = asyncio.run_coroutine_threadsafe(serve_restconf(cfg, ds), loop).result(20)
        assert rc.cert is not None
        run = Yangd(ds, nc.port, f"https://127.0.0.1:{rc.port}", rc.cert)
        _handlers(run)
        s = ds.open_session("setup", "internal")
        s.edit("running", edit_from_json(pkg.B, pkg.B.node(f"/{M}:servers"), {
            "server": [{"name": "web1", "port": 80}, {"name": "db 1", "port": 5432}]}))
        s.close()
        yield run
    finally:
        if rc is not None:
            asyncio.run_coroutine_threadsafe(rc.close(), loop).result(20)
        asyncio.run_coroutine_threadsafe(nc.close(), loop).result(20)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
        ds.close()


def _errors(r: httpx.Response) -> list[dict[str, Any]]:
    errs: list[dict[str, Any]] = r.json()["ietf-restconf:errors"]["error"]
    return errs


# ---- RESTCONF --------------------------------------------------------------------------
def test_restconf_action_json_and_xml(yangd: Yangd) -> None:
    with yangd.https() as c:
        r = c.post(f"{SERVERS}/server=web1/reset", json={f"{M}:input": {"reset-at": "noon", "delay": 3}},
                   headers={"Content-Type": JSON})
        assert r.status_code == 200, r.text
        assert r.json() == {f"{M}:output": {"reset-finished-at": "after noon"}}
        body = f'<input xmlns="{NS}"><reset-at>dusk</reset-at></input>'
        r = c.post(f"{SERVERS}/server=db%201/{M}:reset", content=body,
                   headers={"Content-Type": XML, "Accept": XML})
        assert r.status_code == 200, r.text
        out = etree.fromstring(r.content)
        assert out.tag == f"{{{NS}}}output" and out.findtext(f"{{{NS}}}reset-finished-at") == "after dusk"
        # no input, no output: 204; on the container: its own instance path
        assert c.post(f"{SERVERS}/server=web1/ping").status_code == 204
        r = c.post(f"{SERVERS}/restart-all", headers={"Accept": XML})
        assert r.status_code == 200 and etree.fromstring(r.content).findtext(f"{{{NS}}}count") == "2"
    assert yangd.calls == [
        ("reset", "restconf", f"/{M}:servers/server[name='web1']", {"reset-at": "noon", "delay": 3}),
        ("reset", "restconf", f"/{M}:servers/server[name='db 1']", {"reset-at": "dusk"}),
        ("ping", "restconf", f"/{M}:servers/server[name='web1']", {}),
        ("restart-all", "restconf", f"/{M}:servers", {}),
    ]


def test_restconf_action_errors(yangd: Yangd) -> None:
    head = yangd.ds.head
    with yangd.https() as c:
        # the node it is invoked on must exist (§3.6): 404, the handler never runs
        r = c.post(f"{SERVERS}/server=nope/reset", json={f"{M}:input": {"reset-at": "x"}})
        assert r.status_code == 404
        (e,) = _errors(r)
        assert e["error-tag"] == "data-missing" and e["error-path"] == f"/{M}:servers/server[name='nope']"
        # input checked against the schema: type/range, mandatory node, unknown node, wrapper
        cases = [({f"{M}:input": {"reset-at": "x", "delay": 99}}, "invalid-value"),
                 ({f"{M}:input": {"delay": 1}}, "missing-element"),
                 ({f"{M}:input": {"reset-at": "x", "bogus": 1}}, "unknown-element"),
                 ({"input": {"reset-at": "x"}}, "malformed-message")]
        for body, want in cases:
            r = c.post(f"{SERVERS}/server=web1/reset", json=body)
            assert r.status_code == 400, (body, r.text)
            assert _errors(r)[0]["error-tag"] == want, (body, r.text)
        r = c.post(f"{SERVERS}/server=web1/reset", json={f"{M}:input": {"delay": 1}})
        assert _errors(r)[0]["error-path"] == f"/{M}:servers/server/reset/input/reset-at"
        # an action without input takes no body
        r = c.post(f"{SERVERS}/server=web1/ping", json={f"{M}:input": {}})
        assert r.status_code == 400
        # an action of the schema that nothing implements; one that does not exist
        r = c.post(f"{SERVERS}/unserved")
        assert r.status_code == 501 and _errors(r)[0]["error-tag"] == "operation-not-supported"
        assert c.post(f"{SERVERS}/server=web1/no-such-action").status_code == 400
        assert c.post(f"{SERVERS}/server=web1/reset?depth=1",
                      json={f"{M}:input": {"reset-at": "x"}}).status_code == 400
    assert yangd.calls == [] and yangd.ds.head == head


# ---- NETCONF ---------------------------------------------------------------------------
def _action(inner: str) -> Any:
    return etree.fromstring(f'<action xmlns="{YANG1}"><servers xmlns="{NS}">{inner}</servers></action>')


def test_netconf_action(yangd: Yangd) -> None:
    with yangd.netconf() as m:
        reply = m.dispatch(_action("<server><name>web1</name><reset><reset-at>dawn</reset-at>"
                                   "<delay>1</delay></reset></server>"))
        doc = etree.fromstring(reply.xml.encode())
        assert doc.findtext(f".//{{{NS}}}reset-finished-at") == "after dawn"
        reply = m.dispatch(_action("<server><name>db 1</name><ping/></server>"))
        assert reply.ok and etree.fromstring(reply.xml.encode()).find(
            "{urn:ietf:params:xml:ns:netconf:base:1.0}ok") is not None
        reply = m.dispatch(_action("<restart-all/>"))
        assert etree.fromstring(reply.xml.encode()).findtext(f".//{{{NS}}}count") == "2"
    assert yangd.calls == [
        ("reset", "netconf", f"/{M}:servers/server[name='web1']", {"reset-at": "dawn", "delay": 1}),
        ("ping", "netconf", f"/{M}:servers/server[name='db 1']", {}),
        ("restart-all", "netconf", f"/{M}:servers", {}),
    ]


def test_netconf_action_errors(yangd: Yangd) -> None:
    cases = [
        ("<server><name>nope</name><reset><reset-at>x</reset-at></reset></server>", "data-missing"),
        ("<server><name>web1</name><reset><delay>1</delay></reset></server>", "missing-element"),
        ("<server><name>web1</name><reset><reset-at>x</reset-at><delay>99</delay></reset></server>",
         "invalid-value"),
        ("<server><reset><reset-at>x</reset-at></reset></server>", "missing-element"),
        ("<server><name>web1</name><frobnicate/></server>", "unknown-element"),
        ("<server><name>web1</name></server>", "missing-element"),
        ("<unserved/>", "operation-not-supported"),
    ]
    with yangd.netconf() as m:
        for inner, want in cases:
            with pytest.raises(RPCError) as err:
                m.dispatch(_action(inner))
            assert err.value.tag == want, (inner, err.value.tag, err.value.message)
        with pytest.raises(RPCError) as err:
            m.dispatch(etree.fromstring(f'<action xmlns="{YANG1}"><x xmlns="urn:nope"/></action>'))
        assert err.value.tag == "unknown-namespace"
        # the <action> operation is advertised by no capability of its own (RFC 7950 §7.15.2)
        assert not any("action" in cap for cap in m.server_capabilities)
    assert yangd.calls == []


def test_action_sees_change_from_other_transport(yangd: Yangd) -> None:
    """A server created over RESTCONF can be reset over NETCONF at once."""
    with yangd.https() as c:
        r = c.post(SERVERS, json={f"{M}:server": [{"name": "new"}]})
        assert r.status_code == 201, r.text
    with yangd.netconf() as m:
        m.dispatch(_action("<server><name>new</name><reset><reset-at>now</reset-at></reset></server>"))
    assert yangd.calls[-1][2] == f"/{M}:servers/server[name='new']"


def test_restconf_action_nmda(yangd: Yangd) -> None:
    """RFC 8527 §3.2: actions on /restconf/ds/ietf-datastores:operational, not on running."""
    ds = "/restconf/ds/ietf-datastores"
    with yangd.https() as c:
        r = c.post(f"{ds}:operational/{M}:servers/server=web1/ping")
        assert r.status_code == 204, r.text
        r = c.post(f"{ds}:running/{M}:servers/server=web1/ping")
        assert r.status_code == 400
    assert [call[0] for call in yangd.calls] == ["ping"]
