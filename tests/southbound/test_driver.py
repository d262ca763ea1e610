"""The driver framework with test drivers only: phases, ordering, errors, timeouts."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

import models.generated as g
from datastore.datastores import Datastores
from models.errors import YangdErrors
from southbound.driver import Driver, DriverTx, Phase
from southbound.manager import DriverManager
from southbound.testdriver import FlakyDriver
from tests.southbound.conftest import edit

ETH0 = {"name": "eth0", "type": "iana-if-type:ethernetCsmacd"}


def three(fail: Phase | None = None, **kw: object) -> tuple[list[str], list[FlakyDriver]]:
    log: list[str] = []
    ds = [FlakyDriver(g.B, "a", log=log), FlakyDriver(g.B, "b", log=log, fail_in=fail, **kw),  # type: ignore[arg-type]
          FlakyDriver(g.B, "c", log=log)]
    return log, ds


def test_owned_path_must_exist() -> None:
    with pytest.raises(ValueError, match="not in the schema"):
        FlakyDriver(g.B, owns=("/ietf-interfaces:interfaces/nope",))
    with pytest.raises(ValueError, match="unique"):
        DriverManager([FlakyDriver(g.B, "x"), FlakyDriver(g.B, "x")])


def test_typed_owned_path_and_relevance(ds: Datastores, attach: Callable[..., DriverManager]) -> None:
    class Sys(Driver):
        owns = (g.B.node("/ietf-system:system").cls,)

    sysd = Sys(g.B, name="sys")
    flaky = FlakyDriver(g.B)
    attach(sysd, flaky)
    s = ds.open_session("admin", "internal")
    edit(s, [ETH0])
    assert flaky.calls == ["validate", "prepare", "commit"]
    assert sysd.relevant(s.compare(0, 1)) == ()
    assert len(flaky.relevant(s.compare(0, 1))) == 1  # the /interfaces create holds interfaces


def test_commit_failure_reverts_committed_in_reverse_and_aborts_the_rest(
        ds: Datastores, attach: Callable[..., DriverManager]) -> None:
    log, drivers = three(Phase.COMMIT)
    attach(*drivers)
    log.clear()
    s = ds.open_session("admin", "internal")
    with pytest.raises(YangdErrors) as e:
        edit(s, [ETH0])
    assert log == ["a:validate", "b:validate", "c:validate", "a:prepare", "b:prepare", "c:prepare",
                   "a:commit", "b:commit", "b:revert", "b:abort", "c:abort", "a:revert", "a:abort"]
    err = e.value.errors[0]
    assert err.tag == "operation-failed" and err.info["driver"] == "b"
    assert err.info["phase"] == "commit" and "told to fail in commit" in err.message
    assert ds.head == 0 and ds.running.interfaces is None


def test_prepare_failure_aborts_only_the_prepared(ds: Datastores, attach: Callable[..., DriverManager]) -> None:
    log, drivers = three(Phase.PREPARE)
    attach(*drivers)
    log.clear()
    with pytest.raises(YangdErrors):
        edit(ds.open_session("admin", "internal"), [ETH0])
    assert log == ["a:validate", "b:validate", "c:validate", "a:prepare", "b:prepare", "a:abort"]


def test_validate_failure_prepares_nobody(ds: Datastores, attach: Callable[..., DriverManager]) -> None:
    log, drivers = three(Phase.VALIDATE)
    attach(*drivers)
    log.clear()
    with pytest.raises(YangdErrors) as e:
        edit(ds.open_session("admin", "internal"), [ETH0])
    assert log == ["a:validate", "b:validate"]
    assert e.value.errors[0].info["phase"] == "validate"


def test_prepare_timeout_fails_then_cleans_up_and_resyncs(
        ds: Datastores, attach: Callable[..., DriverManager]) -> None:
    log, drivers = three(hang_in=Phase.PREPARE, timeout=0.2)
    attach(*drivers)
    log.clear()
    s = ds.open_session("admin", "internal")
    t0 = time.monotonic()
    with pytest.raises(YangdErrors) as e:
        edit(s, [ETH0])
    assert time.monotonic() - t0 < 2
    assert "did not finish within 0.2 s" in e.value.errors[0].message and ds.head == 0
    b = drivers[1]
    assert b.needs_sync
    b.hang_in = None
    b.release()
    deadline = time.monotonic() + 2
    while "b:abort" not in log and time.monotonic() < deadline:
        time.sleep(0.01)
    # the late prepare is followed by its abort; c was never prepared
    assert log == ["a:validate", "b:validate", "c:validate", "a:prepare", "b:prepare", "a:abort",
                   "b:abort"]
    before = b.synced
    edit(s, [ETH0])  # the next transaction re-syncs b first
    assert b.synced == before + 1 and not b.needs_sync and ds.head == 1


def test_unexpected_exception_becomes_operation_failed(
        ds: Datastores, attach: Callable[..., DriverManager]) -> None:
    class Buggy(FlakyDriver):
        def on_prepare(self, d: DriverTx) -> None:
            raise KeyError("secret internals")

    attach(Buggy(g.B, "buggy"))
    with pytest.raises(YangdErrors) as e:
        edit(ds.open_session("admin", "internal"), [ETH0])
    err = e.value.errors[0]
    assert err.tag == "operation-failed" and "secret" not in err.message
    assert "KeyError" in err.message and err.info["driver"] == "buggy"


def test_resync_rpc(ds: Datastores, attach: Callable[..., DriverManager]) -> None:
    _log, drivers = three()
    m = attach(*drivers)
    assert [d.synced for d in drivers] == [1, 1, 1]  # full sync at attach
    m.resync("b")
    assert [d.synced for d in drivers] == [1, 2, 1]
    with pytest.raises(YangdErrors):
        m.resync("nope")
