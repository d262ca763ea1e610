"""datastore.store.Store on SQLite and PostgreSQL: commits, replay, races, pruning, durability."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from datastore.db import WRITE_OPTION, CommitRow, make_engine
from datastore.store import (
    CommitRecord,
    LabelExistsError,
    PendingConfirm,
    StaleCommitError,
    Store,
    StoreError,
)

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store.open(db_url)
    yield s
    s.close()


def rec(i: int, label: str | None = None, confirmed: bool = True, **kw: object) -> CommitRecord:
    """Commit i sets key k<i> = i (a toy change set: a JSON object merged into the tree)."""
    return CommitRecord(
        id=i,
        time=T0 + timedelta(minutes=i),
        user=str(kw.get("user", "alice")),
        transport=str(kw.get("transport", "netconf")),
        comment=f"commit {i}",
        label=label,
        changes=json.dumps({f"k{i}": i}),
        confirmed=confirmed,
    )


def tree_after(i: int) -> dict[str, int]:
    return {f"k{j}": j for j in range(1, i + 1)}


def replay(tree_json: str | None, changes: list[tuple[int, str]]) -> dict[str, int]:
    tree: dict[str, int] = json.loads(tree_json) if tree_json is not None else {}
    for _, c in changes:
        tree.update(json.loads(c))
    return tree


def rebuild(store: Store, commit_id: int) -> dict[str, int]:
    """The tree after ``commit_id`` from the newest snapshot at or below it plus replay."""
    snap = store.snapshot_at_or_before(commit_id)
    base, tree = snap if snap is not None else (0, None)
    return replay(tree, store.changes_between(base, commit_id))


def append_n(store: Store, n: int, snapshots: frozenset[int] | set[int] = frozenset()) -> None:
    for i in range(store.head() + 1, store.head() + n + 1):
        snap = json.dumps(tree_after(i)) if i in snapshots else None
        store.append_commit(rec(i), snapshot=snap)


def test_empty_store(store: Store) -> None:
    assert store.head() == 0
    assert store.load_running() == (0, None, [])
    assert store.commits() == []
    assert store.commit(1) is None
    assert store.snapshot_at_or_before(10) is None


def test_append_load_running_snapshot_replay(store: Store, db_url: str) -> None:
    append_n(store, 5, snapshots={3})
    head, tree, changes = store.load_running()
    assert head == 5
    assert tree is not None and json.loads(tree) == tree_after(3)
    assert [i for i, _ in changes] == [4, 5]
    assert replay(tree, changes) == tree_after(5)
    store.write_snapshot(5, json.dumps(tree_after(5)))
    assert store.load_running()[1:] == (json.dumps(tree_after(5)), [])
    for i in range(1, 6):
        assert rebuild(store, i) == tree_after(i)
    store.close()
    with Store.open(db_url) as again:  # reopening reads the same history
        assert again.head() == 5
        assert replay(*again.load_running()[1:]) == tree_after(5)


def test_load_running_without_snapshot_replays_from_empty(store: Store) -> None:
    append_n(store, 3)
    assert store.load_running() == (3, None, [(i, json.dumps({f"k{i}": i})) for i in (1, 2, 3)])


def test_commit_record_roundtrip_and_listing(store: Store) -> None:
    store.append_commit(rec(1, user="bob", transport="cli"))
    store.append_commit(rec(2, label="v2", transport="restconf"))
    store.append_commit(rec(3, confirmed=False, transport="internal"))
    got = store.commit(2)
    assert got == rec(2, label="v2", transport="restconf")
    assert got is not None and got.time.tzinfo is not None and got.time == T0 + timedelta(minutes=2)
    listing = store.commits()
    assert [c.id for c in listing] == [3, 2, 1]
    assert [c.transport for c in listing] == ["internal", "restconf", "cli"]
    assert listing[0].confirmed is False and listing[1].label == "v2"
    assert listing[2].user == "bob" and listing[2].comment == "commit 1"
    assert listing[2].size == len(rec(1).changes)
    assert [c.id for c in store.commits(limit=2)] == [3, 2]
    assert [c.id for c in store.commits(newest_first=False)] == [1, 2, 3]
    store.mark_confirmed(3)
    assert store.commits(limit=1)[0].confirmed is True
    with pytest.raises(StoreError, match="no commit 9"):
        store.mark_confirmed(9)


def test_stale_commit_between_two_stores(db_url: str) -> None:
    with Store.open(db_url) as a, Store.open(db_url) as b:
        a.append_commit(rec(1))
        with pytest.raises(StaleCommitError):
            b.append_commit(rec(1))  # b's caller still thinks the head is 0
        with pytest.raises(StaleCommitError):
            b.append_commit(rec(3))  # not head + 1 either
        b.append_commit(rec(2))
        assert a.head() == b.head() == 2
        assert [i for i, _ in a.changes_between(0, 2)] == [1, 2]


def test_stale_commit_race_on_the_commit_row(db_url: str) -> None:
    """Another writer inserts commit 1 and holds its transaction open; our append of
    commit 1 must wait, then fail as stale once the other one commits."""
    engine = make_engine(db_url)
    result: list[BaseException | None] = []
    try:
        with Store.open(db_url) as store, engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True})
            other = Session(bind=conn)
            other.begin()
            r = rec(1, user="other")
            other.add(
                CommitRow(
                    id=1,
                    time=r.time,
                    user=r.user,
                    transport=r.transport,
                    comment=None,
                    label=None,
                    changes=r.changes,
                    confirmed=True,
                )
            )
            other.flush()

            def append() -> None:
                try:
                    store.append_commit(rec(1))
                    result.append(None)
                except BaseException as exc:
                    result.append(exc)

            t = threading.Thread(target=append)
            t.start()
            time.sleep(0.5)
            assert t.is_alive(), f"append did not wait for the other writer: {result}"
            other.commit()
            t.join(timeout=30)
            assert not t.is_alive()
            assert len(result) == 1 and isinstance(result[0], StaleCommitError), result
            assert store.head() == 1
            got = store.commit(1)
            assert got is not None and got.user == "other"
    finally:
        engine.dispose()


def test_labels_are_unique(store: Store) -> None:
    store.append_commit(rec(1, label="base"))
    store.append_commit(rec(2))
    store.append_commit(rec(3))  # any number of commits without a label
    assert store.by_label("base") == 1
    assert store.by_label("nope") is None
    with pytest.raises(LabelExistsError):
        store.append_commit(rec(4, label="base"))
    assert store.head() == 3
    store.append_commit(rec(4, label="next"))
    assert store.by_label("next") == 4


def test_prune_keeps_reconstructability(store: Store) -> None:
    append_n(store, 10, snapshots={4, 8})
    assert store.prune(keep=5) == 3  # oldest kept 6 needs snapshot 4: 1..3 go
    assert [c.id for c in store.commits(newest_first=False)] == [4, 5, 6, 7, 8, 9, 10]
    for i in range(4, 11):
        assert rebuild(store, i) == tree_after(i)
    assert store.prune(keep=3) == 4  # oldest kept 8 has its own snapshot
    assert [c.id for c in store.commits(newest_first=False)] == [8, 9, 10]
    assert store.snapshot_at_or_before(7) is None  # snapshot 4 went with its commit
    for i in range(8, 11):
        assert rebuild(store, i) == tree_after(i)
    assert replay(*store.load_running()[1:]) == tree_after(10)
    with pytest.raises(ValueError):
        store.prune(keep=0)


def test_prune_without_snapshot_keeps_everything(store: Store) -> None:
    append_n(store, 6)
    assert store.prune(keep=2) == 0
    assert store.head() == 6 and len(store.commits()) == 6
    assert rebuild(store, 5) == tree_after(5)


def test_prune_keeps_the_pending_rollback_target(store: Store) -> None:
    append_n(store, 10, snapshots={3, 9})
    store.set_confirm(PendingConfirm(10, 4, T0 + timedelta(minutes=10)))
    assert store.prune(keep=1) == 2  # rollback target 4 needs snapshot 3
    assert rebuild(store, 4) == tree_after(4)
    store.clear_confirm()
    assert store.prune(keep=1) == 6  # now only commit 10 is needed: snapshot 9
    assert [c.id for c in store.commits()] == [10, 9]


def test_startup_datastore(store: Store, db_url: str) -> None:
    assert store.get_datastore("startup") is None
    store.set_datastore("startup", '{"a": 1}')
    store.set_datastore("startup", '{"a": 2}')
    assert store.get_datastore("startup") == '{"a": 2}'
    store.close()
    with Store.open(db_url) as again:
        assert again.get_datastore("startup") == '{"a": 2}'
        again.delete_datastore("startup")
        again.delete_datastore("startup")  # deleting what is not there is fine
        assert again.get_datastore("startup") is None


def test_confirm_survives_reopen(store: Store, db_url: str) -> None:
    store.append_commit(rec(1))
    store.append_commit(rec(2, confirmed=False))
    deadline = datetime(2025, 3, 1, 14, 0, tzinfo=UTC)
    pending = PendingConfirm(2, 1, deadline, persist_id="p-1", session_id=7, instance="node-a")
    assert store.get_confirm() is None
    store.set_confirm(pending)
    store.close()
    with Store.open(db_url) as again:
        got = again.get_confirm()
        assert got == pending and got.deadline.tzinfo is not None
        replaced = PendingConfirm(2, 1, deadline + timedelta(minutes=10))
        again.set_confirm(replaced)
        assert again.get_confirm() == replaced
        again.mark_confirmed(2)
        again.clear_confirm()
        assert again.get_confirm() is None
        assert again.commits(limit=1)[0].confirmed is True


def test_confirm_deadline_in_another_zone_is_stored_as_utc(store: Store) -> None:
    from datetime import timezone

    local = datetime(2025, 3, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    store.set_confirm(PendingConfirm(1, 0, local))
    got = store.get_confirm()
    assert got is not None and got.deadline == local and got.deadline.utcoffset() == timedelta(0)


def test_meta(store: Store) -> None:
    assert store.get_meta("schema-hash") is None
    store.set_meta("schema-hash", "abc")
    store.set_meta("schema-hash", "def")
    assert store.get_meta("schema-hash") == "def"


def test_open_twice_and_concurrently(db_url: str) -> None:
    with Store.open(db_url) as a:
        a.append_commit(rec(1))
        with Store.open(db_url) as b:  # the second upgrade is a no-op
            assert b.head() == 1


def test_sqlite_connection_settings(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'sub' / 'dir' / 'y.db'}") as store:
        with store._engine.connect() as conn:  # the settings are the point of this test
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000


CHILD = """
import os, signal, sys
from datetime import UTC, datetime
from datastore.store import CommitRecord, Store
store = Store.open(sys.argv[1])
head = store.head()
store.append_commit(CommitRecord(head + 1, datetime.now(UTC), "child", "internal", None,
                                 "killed", '{"x": 1}'), snapshot='{"x": 1}')
store.set_datastore("startup", '{"s": 1}')
print("returned", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_commit_survives_kill9_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'y.db'}"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, url], cwd=REPO, env=env, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert proc.stdout.strip() == "returned"
    with Store.open(url) as store:
        assert store.head() == 1
        got = store.commit(1)
        assert got is not None and got.user == "child" and got.label == "killed"
        assert store.load_running() == (1, '{"x": 1}', [])
        assert store.get_datastore("startup") == '{"s": 1}'


@pytest.mark.parametrize(
    "url",
    [
        "nonsense",
        "nosuchdialect://x/y",
        "postgresql+psycopg://postgres@127.0.0.1:1/nope",
        "sqlite://",
        "sqlite:///:memory:",
    ],
)
def test_bad_url_is_store_error(url: str) -> None:
    with pytest.raises(StoreError) as info:
        Store.open(url)
    assert not isinstance(info.value, SQLAlchemyError)


def test_unwritable_sqlite_path_is_store_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(StoreError):
        Store.open(f"sqlite:///{tmp_path / 'file' / 'y.db'}")


def test_errors_are_translated(store: Store) -> None:
    with pytest.raises(StoreError, match="naive datetime"):
        store.append_commit(CommitRecord(1, datetime(2025, 1, 1), "u", "cli", None, None, "{}"))
    with pytest.raises(StoreError) as info:
        store.write_snapshot(42, "{}")  # no commit 42: foreign key
    assert not isinstance(info.value, SQLAlchemyError)
    assert store.head() == 0


def test_sqlalchemy_errors_do_not_leak_from_a_broken_database(store: Store) -> None:
    with store._engine.begin() as conn:  # sabotage: the table disappears under the store
        conn.execute(text("DROP TABLE yangd_meta"))
    with pytest.raises(StoreError) as info:
        store.get_meta("x")
    assert not isinstance(info.value, SQLAlchemyError)


def test_release_memory_returns_freed_heap_to_the_os() -> None:
    """release_memory (called after large commits, snapshots and NETCONF messages) gives the
    memory a thread's large, fragmented, freed allocations left in glibc back to the OS."""
    code = (
        "import threading, time\n"
        "from datastore.memory import release_memory\n"
        "def rss():\n"
        "    return next(int(l.split()[1]) // 1024 for l in open('/proc/self/status')"
        " if l.startswith('VmRSS:'))\n"
        "keep = []\n"
        "def work():\n"
        "    blocks = [bytes(2000) + bytes([i % 256]) for i in range(100_000)]\n"
        "    keep.extend(blocks[::50])\n"  # what stays alive pins the heap: no trim from the top
        "t = threading.Thread(target=work); t.start(); t.join()\n"
        "before = rss()\n"
        "for _ in range(10):\n"
        "    release_memory(0.05)\n"  # one trim for all of them
        "time.sleep(1.0)\n"
        "print(before, rss())\n"
    )
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    before, after = map(int, proc.stdout.split())
    assert before - after > 100, (before, after)  # about 190 MiB of 2 kB blocks were freed
