"""Several Datastores (yangd instances) on one PostgreSQL database, in one process: one commit
sequence, followers within a bounded delay, rebase or refusal of stale commits, cluster-wide
leased locks, confirmed commits rolled back exactly once, one leader per name; and the 0004
migration on both backends."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect

from datastore.changes import decode_changes, replay
from datastore.datastores import Datastores
from datastore.db import ALEMBIC_DIR, make_engine, migrate
from datastore.store import Store
from tests.datastore.conftest import new_url
from tests.datastore.helpers_b import add_item, bundle, dump, errors_of, item_names, open_ds


@pytest.fixture
def pg(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return new_url("postgresql", request, tmp_path)


@pytest.fixture
def cluster(pg: str) -> Iterator[Callable[[], Datastores]]:
    """``new()`` opens one more instance on the test's database; all closed afterwards."""
    opened: list[Datastores] = []

    def new() -> Datastores:
        ds = open_ds(pg, history=100_000)  # keep every commit: the tests read the history
        opened.append(ds)
        return ds

    yield new
    for ds in opened:
        if not ds.store.closed:
            ds.close()


def wait_for(pred: Callable[[], bool], limit: float) -> float | None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        if pred():
            return time.monotonic() - t0
        time.sleep(0.002)
    return None


def crash(ds: Datastores) -> None:
    """Stop ``ds`` as kill -9 would: its database connections end, nothing is cleaned up."""
    c = ds.cluster
    c._stop.set()
    with c._lead_mutex:
        c._close_lead_conn()
    ds._cancel_timer()
    ds.sessions.clear()
    ds._background.shutdown(wait=True)
    ds.store.close()


def test_commit_reaches_every_instance_fast(cluster: Callable[[], Datastores]) -> None:
    a, b, c = cluster(), cluster(), cluster()
    s = a.open_session("alice", "netconf")
    delays = []
    for i in range(10):
        add_item(s, f"i{i}")
        s.commit()
        head = a.head
        got = wait_for(lambda h=head: b.head == h and c.head == h, 2.0)  # type: ignore[misc]
        assert got is not None, f"commit {head} did not reach the other instances"
        delays.append(got)
    assert dump(b.running) == dump(a.running) == dump(c.running)
    assert sorted(delays)[len(delays) // 2] < 0.1, delays  # LISTEN/NOTIFY, not the 1 s poll


def test_session_ids_are_unique_across_instances(cluster: Callable[[], Datastores]) -> None:
    a, b = cluster(), cluster()
    ids = [a.open_session("u", "netconf").id for _ in range(5)]
    ids += [b.open_session("u", "netconf").id for _ in range(5)]
    assert len(set(ids)) == 10


def test_concurrent_commits_form_one_history(cluster: Callable[[], Datastores]) -> None:
    instances = [cluster(), cluster(), cluster()]
    base = instances[0].open_session("setup", "cli")
    add_item(base, "base")
    base.commit()  # the container exists: first entries from two instances never clash
    assert wait_for(lambda: all(ds.head == 1 for ds in instances), 2.0) is not None
    per_client, clients = 25, 4  # 3 instances x 4 clients x 25 = 300 commits
    failures: list[BaseException] = []

    def client(ds: Datastores, n: int) -> None:
        try:
            private = n % 2 == 0  # half on private candidates, half writable-running edits
            s = ds.open_session(f"c{n}", "netconf", private_candidate=private)
            for i in range(per_client):
                name = f"d{id(ds) % 997}-{n}-{i}"
                if private:
                    add_item(s, name)
                    s.commit()
                else:
                    add_item(s, name, target="running")
        except BaseException as e:  # reported by the main thread
            failures.append(e)

    threads = [threading.Thread(target=client, args=(ds, n))
               for ds in instances for n in range(clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not failures, failures
    total = 1 + len(instances) * clients * per_client
    head = instances[0].store.head()
    assert head == total, (head, total)
    assert wait_for(lambda: all(ds.head == head for ds in instances), 3.0) is not None
    trees = {dump(ds.running) for ds in instances}
    assert len(trees) == 1
    assert len(item_names(instances[0].running)) == total
    # the one history: ids 1..head without a gap, and replaying it rebuilds running
    ids = [c.id for c in instances[0].store.commits(newest_first=False)]
    assert ids == list(range(1, head + 1))
    tree = instances[0].empty()
    for _cid, text in instances[0].store.changes_between(0, head):
        tree = replay(tree, decode_changes(bundle(), text))
    assert dump(tree) == trees.pop()
    assert time.monotonic() - t0 < 60


def test_stale_commit_rebases_or_is_refused(cluster: Callable[[], Datastores]) -> None:
    a, b = cluster(), cluster()
    sa, sb = a.open_session("a", "netconf"), b.open_session("b", "netconf")
    add_item(sa, "x", 1)
    sa.commit()
    assert wait_for(lambda: b.head == a.head, 2.0) is not None
    # different nodes: A's candidate, edited before B's commit, is rebased onto it
    add_item(sa, "mine")
    add_item(sb, "theirs")
    sb.commit()
    sa.commit()
    assert set(item_names(a.running)) == {"x", "mine", "theirs"}
    # the same node: refused, never merged; nothing changes
    add_item(sa, "x", 5)
    add_item(sb, "x", 7)
    sb.commit()
    assert wait_for(lambda: a.head == b.head, 2.0) is not None
    before = dump(a.running)
    e = errors_of(sa.commit)
    assert (e.errors[0].tag, e.errors[0].app_tag) == ("in-use", "commit-conflict")
    assert "x" in (e.errors[0].path or "")
    assert dump(a.running) == before and a.store.head() == b.head
    sa.discard_changes()
    sa.commit()  # nothing left to commit
    # a commit racing with another instance's commit on the same node (no time to follow):
    # the commit transaction catches up itself and refuses
    a.cluster._stop.set()  # A's follower stops: it only learns in the commit
    time.sleep(1.2)
    add_item(sb, "x", 9, target="running")
    e = errors_of(add_item, sa, "x", 11, target="running")
    assert (e.errors[0].tag, e.errors[0].app_tag) == ("in-use", "commit-conflict")
    assert a.head == b.head and dump(a.running) == dump(b.running)


def test_lock_on_one_instance_refuses_the_others(cluster: Callable[[], Datastores]) -> None:
    a, b = cluster(), cluster()
    sa, sb = a.open_session("a", "netconf"), b.open_session("b", "netconf")
    for target in ("candidate", "running"):
        sa.lock(target)
        e = errors_of(sb.lock, target)
        assert e.errors[0].tag == "lock-denied" and e.errors[0].info["session_id"] == sa.id
    e = errors_of(add_item, sb, "y")  # B's candidate: its lock is cluster-wide
    assert e.errors[0].tag == "in-use" and e.errors[0].info["session_id"] == sa.id
    e = errors_of(add_item, sb, "y", target="running")
    assert e.errors[0].tag == "in-use"
    e = errors_of(sb.commit)
    assert e.errors[0].tag == "in-use"
    assert wait_for(lambda: b.locks == {"candidate": sa.id, "running": sa.id}, 2.0) is not None
    sa.close()  # its locks go with the session
    assert wait_for(lambda: not b.locks, 2.0) is not None
    sb.lock("running")
    add_item(sb, "y", target="running")
    assert "y" in item_names(b.running)


def test_locks_of_a_dead_instance_lapse_after_the_lease(cluster: Callable[[], Datastores]) -> None:
    a, b = cluster(), cluster()
    a.cluster.lease = 1.5
    sa, sb = a.open_session("a", "netconf"), b.open_session("b", "netconf")
    sa.lock("running")
    crash(a)
    e = errors_of(add_item, sb, "y", target="running")
    assert e.errors[0].tag == "in-use"
    t0 = time.monotonic()
    assert wait_for(lambda: not errors_or_none(lambda: sb.lock("running")), 5.0) is not None
    assert 1.0 < time.monotonic() - t0 < 4.0
    add_item(sb, "y", target="running")


def errors_or_none(fn: Callable[[], Any]) -> bool:
    """True if ``fn`` raised (it is retried by the caller)."""
    try:
        fn()
    except Exception:
        return True
    return False


def test_confirmed_commit_rolls_back_once(cluster: Callable[[], Datastores]) -> None:
    a, b, c = cluster(), cluster(), cluster()
    sa = a.open_session("a", "netconf")
    add_item(sa, "base")
    sa.commit()
    baseline = dump(a.running)
    add_item(sa, "tentative")
    sa.commit(confirmed=True, confirm_timeout=1, persist="p1")
    assert wait_for(lambda: b.pending is not None and c.pending is not None, 2.0) is not None
    assert wait_for(lambda: a.pending is None and b.pending is None and c.pending is None
                    and a.head == b.head == c.head, 4.0) is not None
    assert dump(a.running) == dump(b.running) == dump(c.running) == baseline
    comments = [i.comment or "" for i in a.commits()]
    assert sum("not confirmed in time" in x for x in comments) == 1, comments


def test_confirmed_commit_of_a_dead_instance_rolls_back_on_a_survivor(
        cluster: Callable[[], Datastores]) -> None:
    a, b = cluster(), cluster()
    sa = a.open_session("a", "netconf")
    add_item(sa, "base")
    sa.commit()
    baseline = dump(a.running)
    add_item(sa, "tentative")
    sa.commit(confirmed=True, confirm_timeout=2)
    armed = time.monotonic()
    assert wait_for(lambda: b.pending is not None, 2.0) is not None
    crash(a)
    assert wait_for(lambda: b.pending is None, 5.0) is not None
    assert time.monotonic() - armed < 3.5  # on time: the deadline, plus a little
    assert dump(b.running) == baseline and b.store.get_confirm() is None


def test_confirm_and_cancel_arrive_at_another_instance(cluster: Callable[[], Datastores]) -> None:
    a, b = cluster(), cluster()
    sa, sb = a.open_session("a", "netconf"), b.open_session("b", "netconf")
    add_item(sa, "kept")
    sa.commit(confirmed=True, confirm_timeout=30, persist="tok")
    sb.commit(persist_id="tok")  # B confirms what A armed
    assert a.store.get_confirm() is None
    assert wait_for(lambda: a.pending is None, 2.0) is not None
    add_item(sa, "dropped")
    sa.commit(confirmed=True, confirm_timeout=30, persist="tok2")
    sb.cancel_commit(persist_id="tok2")
    assert wait_for(lambda: a.pending is None and a.head == b.head, 2.0) is not None
    assert item_names(a.running) == item_names(b.running) == ["kept"]


def test_startup_is_shared(cluster: Callable[[], Datastores]) -> None:
    a, b = cluster(), cluster()
    sa, sb = a.open_session("a", "netconf"), b.open_session("b", "netconf")
    add_item(sa, "boot", target="running")
    sa.copy_config("running", "startup")
    assert wait_for(lambda: item_names(sb.get("startup")) == ["boot"], 3.0) is not None
    sb.delete_config("startup")
    assert wait_for(lambda: a.startup is None, 3.0) is not None


def test_one_leader_per_name_and_failover(cluster: Callable[[], Datastores]) -> None:
    a, b = cluster(), cluster()
    events: list[str] = []
    assert a.cluster.lead("driver/x", lambda: events.append("a+"), lambda: events.append("a-"))
    b.cluster.heartbeat = 0.2
    assert not b.cluster.lead("driver/x", lambda: events.append("b+"), lambda: events.append("b-"))
    assert events == ["a+"]
    crash(a)  # its connection ends: PostgreSQL releases the advisory lock
    assert wait_for(lambda: "b+" in events, 5.0) is not None
    assert events == ["a+", "b+"] and b.cluster.led() == ["driver/x"]


def test_one_instance_drives_each_backend_and_the_next_takes_over(pg: str) -> None:
    import models.generated as g
    from models.edit import edit_from_json
    from southbound.manager import DriverManager
    from southbound.testdriver import FlakyDriver

    def ifaces(*names: str) -> Any:
        node = g.B.node("/ietf-interfaces:interfaces")
        return edit_from_json(g.B, node, {"interface": [
            {"name": n, "type": "iana-if-type:ethernetCsmacd"} for n in names]})

    a, b = Datastores(g.B, Store.open(pg)), Datastores(g.B, Store.open(pg))
    b.cluster.heartbeat = 0.2
    da, db = FlakyDriver(g.B, "flaky"), FlakyDriver(g.B, "flaky")
    ma, mb = DriverManager([da]), DriverManager([db])
    try:
        ma.attach(a)
        mb.attach(b)
        assert (da.synced, db.synced) == (1, 0) and (ma.led, mb.led) == ({"flaky"}, set())
        assert db not in b.participants
        b.open_session("u", "netconf").edit("running", ifaces("eth0"))  # committed on B ...
        assert wait_for(lambda: da.calls[-1:] == ["commit"], 2.0) is not None  # ... driven by A
        assert db.calls == []
        crash(a)
        assert wait_for(lambda: mb.led == {"flaky"}, 5.0) is not None
        assert db.synced == 1 and db in b.participants  # the new leader full-synced first
        b.open_session("u", "netconf").edit("running", ifaces("eth1"))
        assert db.calls == ["validate", "prepare", "commit"]
    finally:
        mb.close()
        b.close()
        da.close()


def test_instances_are_listed(cluster: Callable[[], Datastores]) -> None:
    from datastore.cluster import ClusterState

    a, b = cluster(), cluster()
    ids = {i.id for i in a.cluster.instances()}
    assert ids == {a.cluster.id, b.cluster.id}
    assert ClusterState(a.cluster).state() is None  # yangd-cluster is not in this test bundle
    b.close()
    assert {i.id for i in a.cluster.instances()} == {a.cluster.id}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_0004_upgrades_and_downgrades(backend: str, request: pytest.FixtureRequest,
                                                tmp_path: Path) -> None:
    url = new_url(backend, request, tmp_path)
    migrate(url, "0003")
    engine = make_engine(url)
    try:
        assert "yangd_lock" not in inspect(engine).get_table_names()
        Store.open(url).close()
        engine.dispose()
        assert {"yangd_instance", "yangd_lock"} <= set(inspect(engine).get_table_names())
        cfg = Config()
        cfg.set_main_option("script_location", str(ALEMBIC_DIR))
        cfg.attributes["url"] = url
        command.downgrade(cfg, "0003")
        engine.dispose()
        assert not {"yangd_instance", "yangd_lock"} & set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
