"""Drift (the backend differs from running), the yangd-southbound drivers state and resync,
in process: the kernel driver in a test namespace, changed behind its back with ``ip``."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import models.generated as g
from datastore.datastores import Datastores
from datastore.session import Session
from models.codec import encode_json
from models.errors import YangdErrors
from server.config import load_config
from southbound._routes import RT_PROTO
from southbound.driver import Phase
from southbound.kernel import KernelDriver
from southbound.manager import RESYNC, DriverManager, drivers_from_config
from southbound.testdriver import FlakyDriver
from tests.southbound.conftest import edit, sh
from tests.southbound.test_routes import ETH0, routes_edit, rt

SB = "yangd-southbound:drivers"
DRIFT_LOG = "the backend differs from running"


def state(ds: Datastores) -> dict[str, dict[str, Any]]:
    """name → drivers/driver entry of the operational datastore, as RFC 7951 JSON."""
    import json

    doc = json.loads(encode_json(ds.operational().tree))
    return {d["name"]: d for d in doc[SB]["driver"]}


@pytest.fixture
def k(kernel: KernelDriver, ds: Datastores, attach: Callable[..., DriverManager],
      netns: str) -> KernelDriver:
    sh("ip", "netns", "exec", netns, "sysctl", "-qw", "net.ipv6.conf.eth0.accept_dad=0")
    attach(kernel)
    return kernel


@pytest.fixture
def s(k: KernelDriver, ds: Datastores) -> Session:
    s = ds.open_session("admin", "internal")
    edit(s, [ETH0])
    routes_edit(s, [rt("10.1.0.0/16", next_hop_address="192.0.2.2"),
                    rt("10.2.0.0/16", next_hop_address="192.0.2.3")])
    return s


def test_drift_is_reported_logged_once_per_change_and_not_repaired(
        s: Session, ds: Datastores, netns: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "yangd.southbound")
    st = state(ds)["kernel"]
    assert st["status"] == "in-sync" and st["kind"] == "kernel" and "last-sync" in st
    assert st["drift"]["in-drift"] is False and st["drift"]["differences"] == 0
    # an operator replaces one of yangd's routes and deletes the other
    sh("ip", "-n", netns, "route", "replace", "10.1.0.0/16", "via", "192.0.2.9", "proto", str(RT_PROTO))
    sh("ip", "-n", netns, "route", "del", "10.2.0.0/16")
    for _ in range(3):
        drift = state(ds)["kernel"]["drift"]
        assert drift["in-drift"] is True
        assert sorted(drift["difference"]) == ["route add unicast 10.2.0.0/16 via 192.0.2.3",
                                               "route replace unicast 10.1.0.0/16 via 192.0.2.2"]
    warnings = [r for r in caplog.records if DRIFT_LOG in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert warnings[0].name == "yangd.southbound"
    # a different drift is logged again
    sh("ip", "-n", netns, "route", "add", "10.2.0.0/16", "via", "192.0.2.3", "proto", str(RT_PROTO))
    assert state(ds)["kernel"]["drift"]["differences"] == 1
    assert len([r for r in caplog.records if DRIFT_LOG in r.getMessage()]) == 2
    route = ip_route(netns, "10.1.0.0/16")
    assert route["gateway"] == "192.0.2.9"  # reported, never repaired on its own
    # resync repairs it; back in sync is logged once
    (handler,) = [h for p, h in ds.rpcs.items() if p == RESYNC]
    out: Any = handler(s, g.B.node(f"{RESYNC}/input").cls.model_validate({}))
    assert [(d.name, d.repaired) for d in out.driver] == [("kernel", 1)]
    assert ip_route(netns, "10.1.0.0/16")["gateway"] == "192.0.2.2"
    assert state(ds)["kernel"]["drift"]["in-drift"] is False
    assert len([r for r in caplog.records if "matches running again" in r.getMessage()]) == 1


def ip_route(ns: str, dst: str) -> dict[str, Any]:
    from tests.southbound.conftest import ip

    (r,) = ip(ns, "route", "show", dst)
    return r  # type: ignore[no-any-return]


def test_drift_of_links_and_addresses(s: Session, ds: Datastores, netns: str) -> None:
    sh("ip", "-n", netns, "addr", "del", "192.0.2.1/24", "dev", "eth0")
    sh("ip", "-n", netns, "link", "add", "stray0", "type", "bridge")
    diffs = state(ds)["kernel"]["drift"]["difference"]
    assert "addr-add eth0 ip=192.0.2.1 plen=24" in diffs
    assert "link-del stray0" in diffs
    # the connected route went with the address: the kernel dropped yangd's routes via it
    assert "route add unicast 10.1.0.0/16 via 192.0.2.2" in diffs


def test_drivers_state_counts_failures_and_timeouts(
        ds: Datastores, attach: Callable[..., DriverManager]) -> None:
    slow = FlakyDriver(g.B, "slow", timeout=0.2)
    attach(slow)
    s = ds.open_session("admin", "internal")
    st = state(ds)["slow"]
    assert st == {"name": "slow", "kind": "flaky", "status": "in-sync",
                  "last-sync": st["last-sync"], "drift": {"supported": False}}
    edit(s, [{"name": "eth8", "type": "iana-if-type:ethernetCsmacd"}])
    slow.fail_in = Phase.PREPARE
    with pytest.raises(YangdErrors):
        edit(s, [{"name": "eth9", "type": "iana-if-type:ethernetCsmacd"}])
    slow.fail_in, slow.hang_in = None, Phase.COMMIT
    try:
        with pytest.raises(YangdErrors) as e:
            edit(s, [{"name": "eth9", "type": "iana-if-type:ethernetCsmacd"}])
        assert e.value.errors[0].path == "/ietf-interfaces:interfaces/interface[name='eth9']"
    finally:
        slow.release()
    st = state(ds)["slow"]
    assert st["status"] == "needs-sync"
    assert st["last-error"]["phase"] == "commit" and "0.2 s" in st["last-error"]["message"]
    assert {f["phase"]: (int(f["count"]), int(f["timeouts"])) for f in st["failures"]} == {  # RFC 7951 §6.1: 64-bit as strings
        "prepare": (1, 0), "commit": (1, 1)}
    slow.hang_in = None
    edit(s, [{"name": "eth9", "type": "iana-if-type:ethernetCsmacd"}])  # re-syncs first
    assert state(ds)["slow"]["status"] == "in-sync" and ds.head == 2


def test_failed_full_sync_is_status_failed_until_resync(
        ds: Datastores, attach: Callable[..., DriverManager], tmp_path: Path) -> None:
    ctl = tmp_path / "ctl"
    ctl.write_text("fail full-sync")
    d = FlakyDriver(g.B, "f", control=ctl)
    m = attach(d)  # start + full sync fails: still attached
    assert state(ds)["f"]["status"] == "failed"
    with pytest.raises(YangdErrors) as e:
        m.resync("f")
    assert e.value.errors[0].info["driver"] == "f" and e.value.errors[0].message.startswith("f: ")
    ctl.write_text("")
    assert m.resync() == {"f": None}
    assert state(ds)["f"]["status"] == "in-sync"
    with pytest.raises(YangdErrors) as e:
        m.resync("nope")
    assert e.value.errors[0].tag == "invalid-value"
    assert e.value.errors[0].path == "/yangd-southbound:resync/driver"


def test_background_drift_check_logs_without_reads(
        s: Session, k: KernelDriver, ds: Datastores, netns: str,
        attach: Callable[..., DriverManager], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "yangd.southbound")
    # a second manager over the same driver would double it up: check with one of its own
    m = next(p for p in ds.state_providers if isinstance(p, DriverManager))
    m.close()
    fresh = KernelDriver(g.B, netns, create=False, timeout=5)
    fresh.drift_interval = 0.1
    attach(fresh)
    sh("ip", "-n", netns, "route", "del", "10.2.0.0/16")
    deadline = time.monotonic() + 5
    while not any(DRIFT_LOG in r.getMessage() for r in caplog.records):
        assert time.monotonic() < deadline, "no drift logged"
        time.sleep(0.05)
    (diff,) = fresh.record.drift or ()
    assert diff.startswith("route add unicast 10.2.0.0/16 via 192.0.2.3")  # (%eth0: as dumped)


def test_flaky_and_drift_interval_from_config(tmp_path: Path) -> None:
    p = tmp_path / "yangd.toml"
    p.write_text('[drivers.kernel]\nnamespace = "lab"\ndrift_interval = 30\n'
                 f'[drivers.t]\nkind = "flaky"\ncontrol = "{tmp_path / "ctl"}"\ntimeout = 0.5\n'
                 'owns = ["/ietf-system:system"]\n')
    m = drivers_from_config(load_config(p), g.B)
    try:
        k, t = m.drivers
        assert isinstance(t, FlakyDriver) and t.control == tmp_path / "ctl" and t.timeout == 0.5
        assert [n.name for n in t.owned] == ["system"] and k.drift_interval == 30
    finally:
        m.close()
    p.write_text('[drivers.kernel]\ndrift_interval = -1\n')
    with pytest.raises(ValueError, match="drift_interval"):
        drivers_from_config(load_config(p), g.B)
