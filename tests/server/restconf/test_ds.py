"""NMDA over RESTCONF (RFC 8527): /restconf/ds/ietf-datastores:{running,candidate,startup,
operational} — reads of each, edits of running (committed), candidate (left uncommitted,
seen over NETCONF), startup, 405 on operational, with-origin and with-defaults there."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from lxml import etree

from datastore.operational import LEARNED
from models.bundle import YangModel
from server.config import Config
from server.netconf.server import serve as serve_netconf
from tests.server.conftest import free_port
from tests.server.restconf.conftest import PASSWORD, USER, Running
from tests.server.restconf.helpers import JB, JB_NS, XML, errors, jukebox, send, tag

DS = "/restconf/ds/ietf-datastores"
RUN, CAND, START, OPER = (f"{DS}:{n}" for n in ("running", "candidate", "startup", "operational"))
IFS = "ietf-interfaces:interfaces"
IF_NS = "urn:ietf:params:xml:ns:yang:ietf-interfaces"
OR_NS = "urn:ietf:params:xml:ns:yang:ietf-origin"
ORIGIN = "ietf-origin:origin"


def eth(name: str, **extra: Any) -> dict[str, Any]:
    return {"ietf-interfaces:interface": [{"name": name, "type": "iana-if-type:ethernetCsmacd", **extra}]}


def names(c: httpx.Client, url: str) -> list[str]:
    r = c.get(f"{url}/{IFS}")
    if r.status_code == 404:
        return []
    assert r.status_code == 200, r.text
    return [i["name"] for i in r.json()[IFS]["interface"]]


class Kernel:
    """A state provider like the kernel driver: oper-status of eth0 and a learned lo."""

    name, origin = "kernel", LEARNED

    def __init__(self, run: Running):
        self.run = run

    def state(self) -> YangModel | None:
        return self.run.ds.root_cls.model_validate({IFS: {"interface": [
            {"name": "eth0", "type": "iana-if-type:ethernetCsmacd", "oper-status": "up"},
            {"name": "lo", "type": "iana-if-type:softwareLoopback", "oper-status": "up"}]}})


@pytest.fixture
def nc(rc_server: Running) -> Iterator[Any]:
    """NETCONF on the same datastores and loop (as `yangd serve` runs both), an ncclient session."""
    from ncclient import manager

    srv = None
    for _attempt in range(5):
        cfg = Config(data_dir=rc_server.data_dir, netconf_listen=f"127.0.0.1:{free_port()}", hello_timeout=10)
        try:
            srv = asyncio.run_coroutine_threadsafe(serve_netconf(cfg, rc_server.ds), rc_server.loop).result(20)
            break
        except OSError:
            continue
    assert srv is not None
    try:
        with manager.connect(host="127.0.0.1", port=srv.port, username=USER, password=PASSWORD,
                             hostkey_verify=False, look_for_keys=False, allow_agent=False, timeout=10) as m:
            yield m
    finally:
        asyncio.run_coroutine_threadsafe(srv.close(), rc_server.loop).result(20)


def test_read_each_datastore(c: httpx.Client) -> None:
    jukebox(c)
    r = c.get(RUN)
    assert r.status_code == 200, r.text
    data = r.json()["ietf-restconf:data"]
    assert set(data) == {"example-jukebox:jukebox", "ietf-system:system"}  # config only: no state
    assert c.get(CAND).json() == r.json()  # an unmodified candidate is running
    assert c.get(START).json() == {"ietf-restconf:data": {}}
    oper = c.get(OPER).json()["ietf-restconf:data"]
    assert "yangd-commits:commits" in oper and "example-jukebox:jukebox" in oper
    assert c.get(f"{RUN}/example-jukebox:jukebox/library/artist=Foo%20Fighters").json()[
        "example-jukebox:artist"][0]["name"] == "Foo Fighters"
    x = c.get(RUN, headers={"Accept": XML})
    assert etree.fromstring(x.content).find(f"{{{JB_NS}}}jukebox") is not None
    assert c.get(f"{DS}:nosuch").status_code == 404
    assert c.get("/restconf/ds/running").status_code == 404
    assert c.get(f"{DS}%3Arunning").status_code == 200  # the identity may be percent-encoded


def test_running_edits_commit(c: httpx.Client, rc_server: Running) -> None:
    head = rc_server.ds.head
    r = send(c, "PUT", f"{RUN}/{IFS}/interface=eth0", eth("eth0"))
    assert r.status_code == 201, r.text
    assert rc_server.ds.head == head + 1 and names(c, "/restconf/data") == ["eth0"]
    r = send(c, "POST", f"{RUN}/{IFS}", eth("eth1"))
    assert r.status_code == 201
    assert r.headers["location"].endswith(f"{RUN}/{IFS}/interface=eth1")
    assert send(c, "PATCH", f"{RUN}/{IFS}/interface=eth1", eth("eth1", description="x")).status_code == 204
    assert c.delete(f"{RUN}/{IFS}/interface=eth0").status_code == 204
    assert names(c, RUN) == ["eth1"] == names(c, "/restconf/data")


def test_candidate_edits_stay_uncommitted(c: httpx.Client, rc_server: Running, nc: Any) -> None:
    assert send(c, "PUT", f"{RUN}/{IFS}/interface=eth0", eth("eth0")).status_code == 201
    head = rc_server.ds.head
    r = send(c, "POST", f"{CAND}/{IFS}", eth("eth1", description="cand"))
    assert r.status_code == 201, r.text
    assert r.headers["location"].endswith(f"{CAND}/{IFS}/interface=eth1")
    assert send(c, "PATCH", f"{CAND}/{IFS}/interface=eth0", eth("eth0", enabled=False)).status_code == 204
    assert rc_server.ds.head == head  # nothing committed
    assert names(c, CAND) == ["eth0", "eth1"] and names(c, RUN) == ["eth0"]
    # NETCONF sees the shared candidate, and its commit publishes the RESTCONF edit
    got = etree.fromstring(nc.get_config(source="candidate").xml.encode())
    assert "cand" in [e.text for e in got.iter(f"{{{IF_NS}}}description")]
    running = etree.fromstring(nc.get_config(source="running").xml.encode())
    assert "cand" not in [e.text for e in running.iter(f"{{{IF_NS}}}description")]
    nc.commit()
    assert names(c, RUN) == ["eth0", "eth1"]
    assert c.get(f"{RUN}/{IFS}/interface=eth0/enabled").json() == {"ietf-interfaces:enabled": False}


def test_candidate_locked_over_netconf(c: httpx.Client, nc: Any) -> None:
    with nc.locked("candidate"):
        r = send(c, "POST", f"{CAND}/{IFS}", eth("eth1"))
        assert r.status_code == 409 and tag(r) == "in-use"
    assert names(c, CAND) == []
    assert send(c, "POST", f"{CAND}/{IFS}", eth("eth1")).status_code == 201


def test_startup_edits(c: httpx.Client, rc_server: Running) -> None:
    jukebox(c)
    r = send(c, "PUT", f"{START}/{IFS}/interface=eth9", eth("eth9"))
    assert r.status_code == 201, r.text
    assert names(c, START) == ["eth9"] and names(c, RUN) == []
    assert send(c, "PATCH", f"{START}/{IFS}/interface=eth9", eth("eth9", description="boot")).status_code == 204
    assert c.get(f"{START}/{IFS}/interface=eth9/description").json() == {"ietf-interfaces:description": "boot"}
    s = rc_server.ds.open_session("check", "internal")
    try:
        assert s.get_path("/ietf-interfaces:interfaces/interface[name='eth9']/description", "startup") == "boot"
    finally:
        s.close()
    bad = send(c, "PUT", f"{START}/{IFS}/interface=eth8", {"ietf-interfaces:interface": [{"name": "eth8"}]})
    assert bad.status_code == 409 and tag(bad) == "data-missing"  # validated: type is mandatory
    assert names(c, START) == ["eth9"]
    assert c.delete(f"{START}/{IFS}/interface=eth9").status_code == 204
    assert names(c, START) == []
    assert c.get(JB).status_code == 200  # running untouched


def test_operational_is_read_only(c: httpx.Client) -> None:
    for method, url in (("PUT", f"{OPER}/{IFS}/interface=eth0"), ("POST", f"{OPER}/{IFS}"),
                        ("PATCH", f"{OPER}/{IFS}/interface=eth0"), ("DELETE", f"{OPER}/{IFS}/interface=eth0"),
                        ("PUT", OPER)):
        r = send(c, method, url, eth("eth0") if method != "DELETE" else None)
        assert r.status_code == 405, (method, url, r.text)
        assert r.headers["allow"] == "GET, HEAD, OPTIONS"
        assert errors(r)[0]["error-tag"] == "operation-not-supported"
    assert c.options(f"{OPER}/{IFS}").headers["allow"] == "GET, HEAD, OPTIONS"
    assert names(c, RUN) == []


def test_operational_with_origin(c: httpx.Client, rc_server: Running) -> None:
    rc_server.ds.add_state_provider(Kernel(rc_server))
    assert send(c, "PUT", f"{RUN}/{IFS}/interface=eth0", eth("eth0", description="uplink")).status_code == 201
    r = c.get(f"{OPER}/{IFS}", params={"with-origin": ""})
    assert r.status_code == 200, r.text
    top = r.json()[IFS]
    assert top["@"] == {ORIGIN: "ietf-origin:intended"}
    by = {i["name"]: i for i in top["interface"]}
    assert by["eth0"]["oper-status"] == "up" and by["eth0"]["description"] == "uplink"
    assert "@" not in by["eth0"] and "@description" not in by["eth0"]  # inherited: not repeated
    assert by["eth0"]["@enabled"] == {ORIGIN: "ietf-origin:default"}
    assert by["lo"]["@"] == {ORIGIN: "ietf-origin:learned"}
    assert "@oper-status" not in by["eth0"]  # state nodes carry no origin
    # without with-origin: no metadata; explicit leaves the defaults in use out
    plain = c.get(f"{OPER}/{IFS}").json()[IFS]["interface"]
    assert plain[0]["enabled"] is True and not any(k.startswith("@") for k in plain[0])
    explicit = c.get(f"{OPER}/{IFS}", params={"with-defaults": "explicit"}).json()[IFS]["interface"]
    assert "enabled" not in explicit[0] and explicit[0]["description"] == "uplink"
    # XML: or:origin attributes
    x = c.get(f"{OPER}/{IFS}", params={"with-origin": ""}, headers={"Accept": XML})
    assert x.status_code == 200, x.text
    root = etree.fromstring(x.content)
    assert root.get(f"{{{OR_NS}}}origin") == "or:intended" and root.nsmap["or"] == OR_NS
    lo = next(e for e in root.iter(f"{{{IF_NS}}}interface") if e.findtext(f"{{{IF_NS}}}name") == "lo")
    assert lo.get(f"{{{OR_NS}}}origin") == "or:learned"
    # an origin per data resource too
    one = c.get(f"{OPER}/{IFS}/interface=eth0/enabled", params={"with-origin": ""}).json()
    assert one == {"ietf-interfaces:enabled": True, "@ietf-interfaces:enabled": {ORIGIN: "ietf-origin:default"}}


@pytest.mark.parametrize("url", [RUN, CAND, START, "/restconf/data"])
def test_with_origin_only_on_operational(c: httpx.Client, url: str) -> None:
    r = c.get(url, params={"with-origin": ""})
    assert r.status_code == 400 and tag(r) == "invalid-value"
    r = c.get(OPER, params={"with-origin": "yes"})
    assert r.status_code == 400


def test_ds_preconditions(c: httpx.Client) -> None:
    assert send(c, "PUT", f"{CAND}/{IFS}/interface=eth0", eth("eth0")).status_code == 201
    r = c.get(CAND)
    etag = r.headers["etag"]
    assert c.get(CAND, headers={"If-None-Match": etag}).status_code == 304
    assert send(c, "POST", f"{CAND}/{IFS}", eth("eth1")).status_code == 201
    assert c.get(CAND, headers={"If-None-Match": etag}).status_code == 200
    r = send(c, "PATCH", CAND, {"ietf-restconf:data": {IFS: {"interface": [{"name": "eth2", "type": "iana-if-type:ethernetCsmacd"}]}}},
             **{"If-Match": etag})
    assert r.status_code == 412 and names(c, CAND) == ["eth0", "eth1"]
    assert c.get(OPER).headers.get("etag")  # state: a tag of what was sent
