"""Commit history on SQLite and PostgreSQL: metadata of every commit, rollback to any kept
commit (inverting recent change sets, or a snapshot plus replay further back), compare, the
history length with pruning, unique labels."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from datastore.changes import replay
from datastore.datastores import INVERT_WINDOW, Datastores
from datastore.session import Session
from models.edit import Op
from tests.datastore.helpers_b import add_item, child_edit, dump, errors_of, open_ds, top_edit


def settle(ds: Datastores) -> None:
    """Wait for the background snapshots (and pruning) submitted so far."""
    ds._background.submit(lambda: None).result(timeout=30)


def make_commits(s: Session, n: int) -> dict[int, str]:
    """``n`` commits of varied edits; returns running (JSON) after each commit id, and 0."""
    ds = s.ds
    seen = {ds.head: dump(ds.running)}
    for i in range(n):
        k = i % 7
        if k == 0:
            add_item(s, f"i{i % 11}", i)
        elif k == 1:
            s.edit("candidate", top_edit({"word": [f"w{i}"]}))
        elif k == 2 and ds.running.top is not None and ds.running.top.item is not None:
            name = next(iter(ds.running.top.item)).name
            s.edit("candidate", child_edit("item", [{"name": name}], Op.REMOVE))
        elif k == 3:
            s.edit("candidate", top_edit({"box": {"x": i, "y": f"y{i}"}}))
        elif k == 4:
            s.edit("candidate", top_edit({"alpha": f"a{i}"} if i % 2 else {"beta": i}))
        elif k == 5:
            s.edit("candidate", top_edit({"item": [{"name": f"i{i % 11}", "tag": [f"t{i}"],
                                                     "opt": {"a": str(i)}}]}))
        else:
            s.edit("candidate", top_edit({"pbox": {"z": i}} if i % 2 else {"guarded": i}))
        s.commit(comment=f"c{i}")
        seen[ds.head] = dump(ds.running)
    assert len(seen) == n + 1, "every step must have changed running"
    return seen


@pytest.fixture
def hds(db_url: str) -> Iterator[Datastores]:
    ds = open_ds(db_url, snapshot_every=5, history=1000)
    try:
        yield ds
    finally:
        ds.close()


def test_commit_metadata(hds: Datastores) -> None:
    ds = hds
    s1 = ds.open_session("alice", "netconf")
    s2 = ds.open_session("bob", "restconf")
    t0 = datetime.now(UTC)
    add_item(s1, "a")
    c1 = s1.commit(comment="first", label="v1")
    s2.edit("running", top_edit({"word": ["x"]}))
    c2 = ds.head
    s2.copy_config(ds.empty(), "running")
    c3 = ds.head
    t1 = datetime.now(UTC)
    infos = {c.id: c for c in ds.commits()}
    assert sorted(infos) == [c1, c2, c3] == [1, 2, 3]
    assert (infos[1].user, infos[1].transport, infos[1].comment, infos[1].label) == (
        "alice", "netconf", "first", "v1")
    assert (infos[2].user, infos[2].transport, infos[2].comment, infos[2].label) == (
        "bob", "restconf", None, None)
    assert (infos[3].user, infos[3].transport, infos[3].comment) == ("bob", "restconf",
                                                                      "copy-config")
    for c in infos.values():
        assert c.time.tzinfo is not None and t0 <= c.time <= t1
        assert c.confirmed is True and c.size > 2
    assert [c.id for c in ds.commits(2)] == [3, 2]
    assert ds.store.by_label("v1") == 1


def test_labels_are_unique(hds: Datastores) -> None:
    ds = hds
    s = ds.open_session("alice", "netconf")
    add_item(s, "a")
    s.commit(label="v1")
    add_item(s, "b")
    before = (dump(ds.running), dump(ds.candidate.tree), ds.head)
    e = errors_of(s.commit, label="v1")
    assert e.errors[0].tag == "invalid-value" and e.errors[0].app_tag == "label-exists"
    assert (dump(ds.running), dump(ds.candidate.tree), ds.head) == before
    s.commit(label="v2")
    assert ds.store.by_label("v2") == ds.head == 2
    s.edit("running", top_edit({"word": ["z"]}))
    assert [c.label for c in ds.commits()] == [None, "v2", "v1"]


@pytest.mark.parametrize("snapshot_every", [4, 1000])
def test_rollback_within_and_beyond_the_invert_window(db_url: str, snapshot_every: int) -> None:
    n = INVERT_WINDOW + 12
    ds = open_ds(db_url, snapshot_every=snapshot_every, history=1000)
    try:
        s = ds.open_session("alice", "netconf")
        seen = make_commits(s, n)
        settle(ds)
        head = ds.head
        for cid in range(head + 1):  # every commit, each way tree_at goes
            assert dump(ds.tree_at(cid)) == seen[cid], cid
        targets = [head - 1, head - INVERT_WINDOW, head - INVERT_WINDOW - 1, 3, 0]
        for target in targets:
            before = ds.head
            got = s.rollback(target)
            assert got == ds.head == before + 1
            assert dump(ds.running) == seen[target]
            info = ds.commits(1)[0]
            assert info.comment == f"rollback to commit {target}" and info.user == "alice"
            assert dump(ds.candidate.tree) == seen[target]
            seen[ds.head] = seen[target]
        same = ds.head
        assert s.rollback(same) == same  # rolling back to running itself is no commit
        for bad in (-1, ds.head + 1):
            e = errors_of(s.rollback, bad)
            assert e.errors[0].app_tag == "unknown-commit"
    finally:
        ds.close()
    ds2 = open_ds(db_url, snapshot_every=snapshot_every)  # the rollbacks replay after a restart
    try:
        assert dump(ds2.running) == seen[ds2.head]
    finally:
        ds2.close()


def test_rollback_then_model_equality(hds: Datastores) -> None:
    ds = hds
    s = ds.open_session("alice", "netconf")
    make_commits(s, 6)
    before_tree, before = ds.running, ds.head
    add_item(s, "zz", 9)
    s.edit("candidate", top_edit({"word": ["q"], "gamma": "g"}))
    s.commit()
    s.rollback(before)
    assert ds.running == before_tree
    assert dump(ds.running) == dump(before_tree)


def test_compare(hds: Datastores) -> None:
    ds = hds
    s = ds.open_session("alice", "netconf")
    seen = make_commits(s, 10)
    for a, b in [(1, 3), (3, 1), (0, 10), (10, 0), (4, 4), (2, 9)]:
        changes = s.compare(a, b)
        assert dump(replay(ds.tree_at(a), changes)) == seen[b], (a, b)
    assert s.compare(4, 4) == []
    assert s.compare(ds.head, "running") == []
    add_item(s, "cand", 5)
    s.edit("candidate", top_edit({"word": ["cw"]}))
    changes = s.compare(3, "candidate")
    assert dump(replay(ds.tree_at(3), changes)) == dump(s.get("candidate"))
    changes = s.compare(ds.head, "candidate")
    assert {c.op for c in changes} == {"create"} and len(changes) == 2


def test_history_length_prunes_but_keeps_oldest_rollbackable(db_url: str) -> None:
    keep, every = 10, 5
    ds = open_ds(db_url, snapshot_every=every, history=keep)
    try:
        s = ds.open_session("alice", "netconf")
        seen = make_commits(s, 40)
        settle(ds)
        ids = sorted(c.id for c in ds.commits())
        assert ids == list(range(ids[0], ds.head + 1))
        assert keep <= len(ids) < keep + 2 * every  # pruned at the last snapshot
        oldest = ids[0]
        assert oldest > 1
        assert dump(ds.tree_at(oldest)) == seen[oldest]
        s.rollback(oldest)
        assert dump(ds.running) == seen[oldest]
        pruned = oldest - 2
        e = errors_of(s.rollback, pruned)
        assert e.errors[0].app_tag == "unknown-commit"
    finally:
        ds.close()


def test_history_pruning_beyond_the_invert_window(db_url: str) -> None:
    keep, every = INVERT_WINDOW + 6, 8
    ds = open_ds(db_url, snapshot_every=every, history=keep)
    try:
        s = ds.open_session("alice", "netconf")
        seen = make_commits(s, keep + 3 * every)
        settle(ds)
        ids = sorted(c.id for c in ds.commits())
        assert keep <= len(ids) < keep + 2 * every  # pruned at the last snapshot
        for cid in (ids[0], ids[0] + 1, ds.head - INVERT_WINDOW - 1):
            assert dump(ds.tree_at(cid)) == seen[cid], cid
        assert errors_of(ds.tree_at, 1).errors[0].app_tag == "unknown-commit"
    finally:
        ds.close()
