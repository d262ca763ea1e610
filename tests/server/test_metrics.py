"""GET /metrics and GET /health on the RESTCONF listener of a real `yangd serve` (with the test
driver configured), scraped over HTTPS and parsed with prometheus-client's own parser; the
counters must move with NETCONF rpcs, RESTCONF requests, commits and driver failures."""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ncclient import manager
from ncclient.operations.rpc import RPCError
from prometheus_client.parser import text_string_to_metric_families

from tests.server.helpers import iface
from tests.test_cli_client import PASSWORD, USER, Yangd, start_yangd, stop_yangd

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(scope="module")
def yangd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Yangd]:
    tmp = tmp_path_factory.mktemp("metrics")
    control = tmp / "control"
    control.write_text("ok\n")
    y = start_yangd(tmp, f'[drivers.flaky]\nkind = "flaky"\ncontrol = "{control}"\ntimeout = 1\n')
    try:
        yield y
    finally:
        control.write_text("ok\n")
        stop_yangd(y)


def client(y: Yangd, auth: bool = True) -> httpx.Client:
    tls = ssl.create_default_context(cafile=str(y.data / "restconf-cert.pem"))
    return httpx.Client(base_url=f"https://127.0.0.1:{y.rport}", verify=tls, timeout=20,
                        auth=(USER, PASSWORD) if auth else None)


def scrape(y: Yangd) -> Samples:
    with client(y) as c:
        r = c.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=")
    out: Samples = {}
    for fam in text_string_to_metric_families(r.text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def val(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def nc(y: Yangd) -> Any:
    return manager.connect(host="127.0.0.1", port=y.port, username=USER, password=PASSWORD,
                           hostkey_verify=False, look_for_keys=False, allow_agent=False, timeout=20)


def test_health_needs_no_auth_and_metrics_do(yangd: Yangd) -> None:
    with client(yangd, auth=False) as c:
        r = c.get("/health")
        assert r.status_code == 200
        doc = r.json()
        assert doc["status"] == "ok" and doc["drivers"] == {"flaky": "in-sync"}
        assert isinstance(doc["head"], int) and doc["confirmed-commit-pending"] is False
        r = c.get("/metrics")
        assert r.status_code == 401 and "WWW-Authenticate" in r.headers
    with client(yangd) as c:
        assert c.get("/metrics", auth=("admin", "wrong")).status_code == 401


def test_counters_move_with_rpcs_commits_and_driver_phases(yangd: Yangd) -> None:
    before = scrape(yangd)
    with nc(yangd) as m:
        m.edit_config(target="candidate", config=iface("eth0"))
        m.commit()
        with pytest.raises(RPCError):
            m.unlock(target="running")  # not locked by this session: an rpc-error
        with pytest.raises(RPCError):
            m.commit(confirmed=False, persist_id="nothing-pending")
    with client(yangd) as c:
        assert c.get("/restconf/data/ietf-interfaces:interfaces").status_code == 200
        assert c.get("/restconf/data/ietf-interfaces:nothing").status_code in (400, 404)
    after = scrape(yangd)

    def moved(name: str, **labels: str) -> float:
        return val(after, name, **labels) - val(before, name, **labels)

    assert moved("yangd_sessions_opened_total", transport="netconf") == 1
    assert moved("yangd_rpcs_total", transport="netconf", rpc="edit-config", result="ok") == 1
    assert moved("yangd_rpcs_total", transport="netconf", rpc="commit", result="ok") == 1
    assert moved("yangd_rpcs_total", transport="netconf", rpc="commit", result="error") == 1
    assert moved("yangd_rpcs_total", transport="netconf", rpc="close-session", result="ok") == 1
    assert moved("yangd_rpcs_total", transport="netconf", rpc="unlock", result="error") == 1
    assert moved("yangd_rpc_duration_seconds_count", transport="netconf", rpc="edit-config") == 1
    assert moved("yangd_rpcs_total", transport="restconf", rpc="GET /restconf/data", result="ok") == 1
    assert moved("yangd_rpcs_total", transport="restconf", rpc="GET /restconf/data", result="error") == 1
    assert moved("yangd_rpcs_total", transport="restconf", rpc="GET /metrics", result="ok") == 1
    assert moved("yangd_commits_total", transport="netconf") == 1
    assert moved("yangd_commit_duration_seconds_count") == 1
    assert 0 < moved("yangd_commit_duration_seconds_sum") < 10
    head = val(after, "yangd_head_commit")
    assert head >= 1 and head == val(before, "yangd_head_commit") + 1
    assert val(after, "yangd_datastore_bytes", datastore="running") > val(
        before, "yangd_datastore_bytes", datastore="running")
    for phase in ("validate", "prepare", "commit"):
        assert moved("yangd_driver_phase_duration_seconds_count", driver="flaky", phase=phase) == 1
    assert val(after, "yangd_driver_in_sync", driver="flaky") == 1
    assert val(after, "yangd_confirmed_commit_pending") == 0
    assert ("yangd_sessions_open", (("transport", "netconf"),)) in after


def test_driver_failures_and_health_degraded(yangd: Yangd) -> None:
    control = yangd.data.parent / "control"
    before = scrape(yangd)
    with nc(yangd) as m:
        control.write_text("fail prepare\n")
        m.edit_config(target="candidate", config=iface("eth1"))
        with pytest.raises(RPCError):
            m.commit()
        control.write_text("hang commit\n")  # timeout = 1 s: the driver then needs a full sync
        with pytest.raises(RPCError):
            m.commit()
        with client(yangd, auth=False) as c:
            r = c.get("/health")
            assert r.status_code == 503
            assert r.json()["status"] == "degraded"
            assert r.json()["drivers"]["flaky"] in ("needs-sync", "failed")
        mid = scrape(yangd)
        assert val(mid, "yangd_driver_in_sync", driver="flaky") == 0
        control.write_text("ok\n")  # releases the hanging commit; the next commit re-syncs first
        deadline = time.monotonic() + 10
        while True:
            try:
                m.commit()
                break
            except RPCError:
                assert time.monotonic() < deadline
                time.sleep(0.3)
    after = scrape(yangd)

    def moved(name: str, **labels: str) -> float:
        return val(after, name, **labels) - val(before, name, **labels)

    assert moved("yangd_driver_phase_failures_total", driver="flaky", phase="prepare") == 1
    assert moved("yangd_driver_phase_failures_total", driver="flaky", phase="commit") >= 1
    assert moved("yangd_driver_phase_duration_seconds_count", driver="flaky", phase="full-sync") >= 1
    assert moved("yangd_rpcs_total", transport="netconf", rpc="commit", result="error") >= 2
    assert val(after, "yangd_driver_in_sync", driver="flaky") == 1
    with client(yangd, auth=False) as c:
        assert c.get("/health").json()["status"] == "ok"


def test_metrics_auth_can_be_turned_off(tmp_path: Path) -> None:
    """In-process: RESTCONF with metrics_auth = false serves /metrics to anyone."""
    import models.generated as g
    from datastore.datastores import Datastores
    from datastore.store import Store
    from server.config import Config
    from server.restconf import serve

    ds = Datastores(g.B, Store.open(f"sqlite:///{tmp_path / 'y.db'}"))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    cfg = Config(data_dir=tmp_path, restconf_listen="127.0.0.1:0", metrics_auth=False)
    srv = asyncio.run_coroutine_threadsafe(serve(cfg, ds), loop).result(20)
    try:
        tls = ssl.create_default_context(cafile=str(srv.cert))
        with httpx.Client(verify=tls, timeout=20) as c:
            r = c.get(f"https://127.0.0.1:{srv.port}/metrics")
            assert r.status_code == 200
            names = {f.name for f in text_string_to_metric_families(r.text)}
            assert {"yangd_rpcs", "yangd_commits", "yangd_head_commit", "yangd_datastore_bytes"} <= names
    finally:
        asyncio.run_coroutine_threadsafe(srv.close(), loop).result(20)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
        ds.close()


def test_drivers_and_resync_commands(yangd: Yangd) -> None:
    rows = yangd.json("drivers")
    assert [(r["name"], r["kind"], r["status"]) for r in rows] == [("flaky", "flaky", "in-sync")]
    assert rows[0]["last-sync"].endswith("Z")
    before = scrape(yangd)
    assert [d["name"] for d in yangd.json("resync", "flaky")] == ["flaky"]
    after = scrape(yangd)
    assert (val(after, "yangd_driver_phase_duration_seconds_count", driver="flaky", phase="full-sync")
            == val(before, "yangd_driver_phase_duration_seconds_count", driver="flaky", phase="full-sync") + 1)
    r = yangd.run("resync", "nope")
    assert r.exit_code == 1 and "nope" in r.stderr
    table = yangd.run("drivers").stdout
    assert "flaky" in table and "in-sync" in table
