"""Confirmed commit (RFC 6241 §8.4, :confirmed-commit:1.1): confirming, timeouts (also while
the client keeps working), follow-up confirmed commits, persist/persist-id, cancel-commit, the
session's end, and restarts inside and after the window."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from datastore.datastores import Datastores
from datastore.session import Session
from tests.datastore.helpers_b import add_item, dump, errors_of, item_names, open_ds, state

TIMEOUT = 1  # seconds: the confirm-timeout of these tests
SLACK = 1.5  # a timed-out commit is rolled back at most this late


def wait_for(pred: Callable[[], bool], limit: float) -> float | None:
    """Seconds until ``pred`` held (polling), or None if it never did within ``limit``."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        if pred():
            return time.monotonic() - t0
        time.sleep(0.02)
    return None


def crash(ds: Datastores) -> None:
    """Stop ``ds`` as a crash would: no session ends, nothing rolls back, the DB is left as is."""
    with ds.lock:
        ds._cancel_timer()
        ds.sessions.clear()  # the sessions die with the process: nothing of theirs runs
        ds.locks.clear()
        ds.pending = None
    ds._background.shutdown(wait=True)
    ds.store.close()


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'confirmed.db'}"


@pytest.fixture
def env(url: str) -> Iterator[tuple[Datastores, Session, Session]]:
    ds = open_ds(url)
    s1 = ds.open_session("alice", "netconf")
    s2 = ds.open_session("bob", "netconf")
    add_item(s1, "base")
    s1.commit(comment="baseline")
    try:
        yield ds, s1, s2
    finally:
        ds.close()


def arm(s: Session, name: str, timeout: int = TIMEOUT, **kw: Any) -> float:
    """A confirmed commit adding item ``name``; returns the monotonic time it was armed."""
    add_item(s, name)
    s.commit(confirmed=True, confirm_timeout=timeout, **kw)
    return time.monotonic()


def assert_rolls_back_on_time(ds: Datastores, armed: float, baseline: str, timeout: float) -> None:
    done = wait_for(lambda: ds.pending is None, timeout + SLACK + 1)
    assert done is not None, "the confirmed commit was never rolled back"
    elapsed = time.monotonic() - armed
    assert timeout - 0.05 <= elapsed <= timeout + SLACK, elapsed
    assert dump(ds.running) == baseline


def test_confirming_commit_same_session(env: Any) -> None:
    ds, s1, _ = env
    arm(s1, "new", timeout=TIMEOUT)
    cid = ds.head
    assert ds.pending is not None and ds.pending.commit_id == cid
    assert ds.commits(1)[0].confirmed is False
    s1.commit()  # the confirming commit
    assert ds.pending is None and ds.store.get_confirm() is None
    assert ds.head == cid  # confirming with nothing new adds no commit
    assert ds.commits(1)[0].confirmed is True
    time.sleep(TIMEOUT + 0.3)
    assert "new" in item_names(ds.running) and ds.head == cid


def test_timeout_rolls_back_on_time_and_is_a_commit(env: Any) -> None:
    ds, s1, _ = env
    baseline, before_head = dump(ds.running), ds.head
    armed = arm(s1, "new")
    time.sleep(TIMEOUT * 0.6)
    assert ds.pending is not None and "new" in item_names(ds.running)  # not before the timeout
    assert_rolls_back_on_time(ds, armed, baseline, TIMEOUT)
    assert ds.head == before_head + 2
    infos = ds.commits(2)
    assert infos[1].confirmed is False  # the unconfirmed commit stays in history as such
    assert infos[0].comment is not None and f"rollback to commit {before_head}" in infos[0].comment
    assert infos[0].confirmed is True
    assert ds.store.get_confirm() is None
    assert dump(ds.candidate.tree) == baseline


def test_timeout_while_the_client_keeps_working(env: Any) -> None:
    ds, s1, s2 = env
    baseline = dump(ds.running)
    stop = threading.Event()
    errors: list[BaseException] = []
    count = [0]

    def busy() -> None:
        try:
            i = 0
            while not stop.is_set():
                s1.get("running")
                s1.get("candidate")
                s2.validate("running")
                add_item(s2, f"k{i % 5}", i)
                if i % 7 == 0:
                    s2.discard_changes()
                i += 1
                count[0] = i
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    armed = arm(s1, "new")
    workers = [threading.Thread(target=busy) for _ in range(2)]
    for w in workers:
        w.start()
    try:
        assert_rolls_back_on_time(ds, armed, baseline, TIMEOUT)
    finally:
        stop.set()
        for w in workers:
            w.join(5)
    assert not errors, errors
    assert count[0] > 10


def test_follow_up_confirmed_commit_extends_and_keeps_rollback_point(env: Any) -> None:
    ds, s1, _ = env
    baseline, base_head = dump(ds.running), ds.head
    arm(s1, "first", timeout=TIMEOUT)
    time.sleep(0.6)
    again = arm(s1, "second", timeout=2)  # follow-up: a new timeout, same rollback point
    assert ds.pending is not None and ds.pending.rollback_to == base_head
    assert ds.pending.commit_id == ds.head
    time.sleep(TIMEOUT + 0.3 - 0.6)  # the first deadline has passed
    assert ds.pending is not None
    assert {"first", "second"} <= set(item_names(ds.running))
    assert_rolls_back_on_time(ds, again, baseline, 2)


def test_early_timer_does_not_lose_the_rollback(env: Any) -> None:
    """A timer firing a little before the wall-clock deadline must still roll back."""
    ds, s1, _ = env
    baseline = dump(ds.running)
    arm(s1, "new", timeout=60)
    with ds.lock:
        ds._cancel_timer()
        assert ds.pending is not None
        ds.pending = replace(ds.pending, deadline=datetime.now(UTC) + timedelta(seconds=0.3))
    ds._expired()  # fires early: must re-arm rather than give up
    assert wait_for(lambda: ds.pending is None, 2.0) is not None
    assert dump(ds.running) == baseline


def test_persist_confirmed_by_another_session(env: Any) -> None:
    ds, s1, s2 = env
    arm(s1, "p", timeout=30, persist="tok-1")
    assert ds.pending is not None and ds.pending.persist_id == "tok-1"
    s1.close()  # a persisted confirmed commit survives its session
    assert ds.pending is not None and "p" in item_names(ds.running)
    before = state(ds, s2)
    for bad in (None, "tok-2"):
        e = errors_of(s2.commit, persist_id=bad)
        assert e.errors[0].tag == "invalid-value"
        assert state(ds, s2) == before and ds.pending is not None
    s2.commit(persist_id="tok-1")
    assert ds.pending is None and "p" in item_names(ds.running)
    assert ds.commits(1)[0].confirmed is True


def test_persist_follow_up_from_another_session(env: Any) -> None:
    ds, s1, s2 = env
    baseline = dump(ds.running)
    arm(s1, "p1", timeout=30, persist="a")
    add_item(s2, "p2")
    again = time.monotonic()
    s2.commit(confirmed=True, confirm_timeout=TIMEOUT, persist="b", persist_id="a")
    assert ds.pending is not None and ds.pending.persist_id == "b"
    assert_rolls_back_on_time(ds, again, baseline, TIMEOUT)


def test_persist_id_without_pending_is_refused(env: Any) -> None:
    ds, s1, _ = env
    before = state(ds, s1)
    assert errors_of(s1.commit, persist_id="x").errors[0].tag == "invalid-value"
    assert state(ds, s1) == before


def test_other_session_cannot_confirm_or_commit(env: Any) -> None:
    ds, s1, s2 = env
    arm(s1, "mine", timeout=30)
    before = state(ds, s2)
    e = errors_of(s2.commit)
    assert e.errors[0].tag == "in-use" and e.errors[0].info["session_id"] == s1.id
    e = errors_of(s2.cancel_commit)
    assert e.errors[0].tag == "operation-failed"
    assert state(ds, s2) == before and ds.pending is not None


def test_cancel_commit(env: Any) -> None:
    ds, s1, _ = env
    baseline = dump(ds.running)
    arm(s1, "c", timeout=30)
    s1.cancel_commit()
    assert ds.pending is None and dump(ds.running) == baseline
    assert "cancel-commit" in (ds.commits(1)[0].comment or "")
    assert errors_of(s1.cancel_commit).errors[0].tag == "operation-failed"  # nothing pending


def test_cancel_commit_with_persist_id(env: Any) -> None:
    ds, s1, s2 = env
    baseline = dump(ds.running)
    arm(s1, "c", timeout=30, persist="P")
    before = state(ds, s2)
    for bad in (None, "Q"):
        assert errors_of(s2.cancel_commit, persist_id=bad).errors[0].tag == "invalid-value"
        assert state(ds, s2) == before
    s2.cancel_commit(persist_id="P")
    assert ds.pending is None and dump(ds.running) == baseline


def test_session_end_rolls_back_at_once(env: Any) -> None:
    ds, s1, s2 = env
    baseline = dump(ds.running)
    arm(s1, "gone", timeout=30)
    t = threading.Thread(target=s1.close)  # the connection dropped
    t.start()
    t.join(5)
    assert ds.pending is None and dump(ds.running) == baseline
    assert "ended before confirming" in (ds.commits(1)[0].comment or "")
    s2.lock("running")


def test_restart_inside_window_rolls_back_on_time(url: str, env: Any) -> None:
    ds, s1, _ = env
    baseline = dump(ds.running)
    armed = arm(s1, "r", timeout=2, persist="keep")
    crash(ds)
    ds2 = open_ds(url)
    try:
        assert ds2.pending is not None and "r" in item_names(ds2.running)
        time.sleep(0.5)
        assert ds2.pending is not None  # not before the deadline
        assert_rolls_back_on_time(ds2, armed, baseline, 2)
        assert "rollback" in (ds2.commits(1)[0].comment or "")
    finally:
        ds2.close()


def test_restart_inside_window_then_confirmed(url: str, env: Any) -> None:
    ds, s1, _ = env
    arm(s1, "r", timeout=30, persist="keep")
    crash(ds)
    ds2 = open_ds(url)
    try:
        ds2.open_session("carol", "netconf").commit(persist_id="keep")
        assert ds2.pending is None and ds2.store.get_confirm() is None
        assert "r" in item_names(ds2.running)
    finally:
        ds2.close()


def test_restart_non_persist_pending_cannot_be_confirmed_by_a_new_session(url: str,
                                                                          env: Any) -> None:
    """Session ids start again after a restart: a new session with the id of the one that armed
    the confirmed commit is not that session and must not confirm it."""
    ds, s1, _ = env
    baseline = dump(ds.running)
    armed = arm(s1, "r", timeout=TIMEOUT)
    crash(ds)
    ds2 = open_ds(url)
    try:
        news = [ds2.open_session("mallory", "netconf") for _ in range(3)]
        for s in news:
            e = errors_of(s.commit)
            assert e.errors[0].tag == "in-use"
        assert ds2.pending is not None and "r" in item_names(ds2.running)
        assert_rolls_back_on_time(ds2, armed, baseline, TIMEOUT)
    finally:
        ds2.close()


@pytest.mark.parametrize("persist", [None, "keep"])
def test_restart_after_deadline_rolls_back_at_once(url: str, env: Any, persist: str | None) -> None:
    ds, s1, _ = env
    baseline, base_head = dump(ds.running), ds.head
    arm(s1, "late", timeout=TIMEOUT, persist=persist)
    crash(ds)
    time.sleep(TIMEOUT + 0.2)
    t0 = time.monotonic()
    ds2 = open_ds(url)
    try:
        assert wait_for(lambda: ds2.pending is None, 1.0) is not None
        assert time.monotonic() - t0 < 1.0
        assert dump(ds2.running) == baseline
        assert ds2.head == base_head + 2
        assert ds2.store.get_confirm() is None
    finally:
        ds2.close()
    ds3 = open_ds(url)  # and it stays rolled back
    try:
        assert dump(ds3.running) == baseline and ds3.pending is None
    finally:
        ds3.close()
