"""Sessions on the datastores: locks (RFC 6241 §7.5, §7.6), discard-changes, copy-config,
delete-config, validate, writable-running; every refused operation changes nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from datastore.datastores import Datastores
from datastore.session import Session
from models.edit import Op
from tests.datastore.helpers_b import (
    add_item,
    child_edit,
    dump,
    errors_of,
    item_names,
    state,
    top_edit,
)

CONFIG = ("running", "candidate", "startup")


def refused(ds: Datastores, s: Session, tag: str, fn: Callable[..., Any], *args: Any,
            **kw: Any) -> Any:
    """``fn`` fails with ``tag`` and running, candidate and startup stay byte-identical."""
    before = state(ds, s)
    head = ds.head
    err = errors_of(fn, *args, **kw)
    assert [e.tag for e in err.errors] == [tag], err
    assert state(ds, s) == before
    assert ds.head == head
    return err.errors[0]


@pytest.fixture
def two(dst_ds: Datastores) -> tuple[Datastores, Session, Session]:
    ds = dst_ds
    s1 = ds.open_session("alice", "netconf")
    s2 = ds.open_session("bob", "restconf")
    add_item(s1, "base", 1)
    s1.commit()
    s1.copy_config("running", "startup")
    return ds, s1, s2


# ---- lock / unlock -------------------------------------------------------------------------


@pytest.mark.parametrize("target", CONFIG)
def test_lock_unlock_each_datastore(two: Any, target: str) -> None:
    ds, s1, s2 = two
    s1.lock(target)
    assert ds.locks[target] == s1.id
    e = refused(ds, s2, "lock-denied", s2.lock, target)
    assert e.info["session_id"] == s1.id
    assert e.type == "protocol"
    e = refused(ds, s1, "lock-denied", s1.lock, target)  # not re-entrant either
    assert e.info["session_id"] == s1.id
    refused(ds, s2, "operation-failed", s2.unlock, target)  # held by another
    s1.unlock(target)
    assert target not in ds.locks
    refused(ds, s1, "operation-failed", s1.unlock, target)  # no longer held
    s2.lock(target)
    s2.unlock(target)


def test_unlock_never_locked_and_unknown_datastore(two: Any) -> None:
    ds, s1, _ = two
    for t in CONFIG:
        refused(ds, s1, "operation-failed", s1.unlock, t)
    refused(ds, s1, "invalid-value", s1.lock, "nonsense")


def test_locked_running_refuses_others(two: Any) -> None:
    ds, s1, s2 = two
    s1.lock("running")
    add_item(s2, "x")  # the candidate is not locked: editing it is fine
    before_cand = dump(ds.candidate.tree)
    e = refused(ds, s2, "in-use", s2.commit)
    assert e.info["session_id"] == s1.id
    refused(ds, s2, "in-use", s2.edit, "running", top_edit({"word": ["w"]}))
    refused(ds, s2, "in-use", s2.copy_config, "candidate", "running")
    refused(ds, s2, "in-use", s2.copy_config, ds.empty(), "running")
    refused(ds, s2, "in-use", s2.rollback, 0)
    assert dump(ds.candidate.tree) == before_cand
    # the holder itself may write
    s1.edit("running", top_edit({"word": ["mine"]}))
    assert ds.running.top.word == ("mine",)


def test_locked_candidate_refuses_others(two: Any) -> None:
    ds, s1, s2 = two
    s1.lock("candidate")
    refused(ds, s2, "in-use", s2.edit, "candidate", top_edit({"word": ["w"]}))
    refused(ds, s2, "in-use", s2.copy_config, "running", "candidate")
    refused(ds, s2, "in-use", s2.copy_config, "startup", "candidate")
    refused(ds, s2, "in-use", s2.discard_changes)
    add_item(s1, "mine")
    assert "mine" in item_names(s2.get("candidate"))  # others still read it


def test_locked_startup_refuses_others(two: Any) -> None:
    ds, s1, s2 = two
    s1.lock("startup")
    refused(ds, s2, "in-use", s2.copy_config, "running", "startup")
    refused(ds, s2, "in-use", s2.delete_config, "startup")
    s1.copy_config("running", "startup")
    s1.delete_config("startup")
    assert ds.startup is None


def test_candidate_lock_refused_with_others_uncommitted_changes(two: Any) -> None:
    ds, s1, s2 = two
    add_item(s2, "pending")
    e = refused(ds, s1, "lock-denied", s1.lock, "candidate")
    assert e.info["session_id"] == s2.id
    s2.lock("candidate")  # its own changes do not stop the session that made them
    s2.unlock("candidate")  # ...and go with its lock
    assert "pending" not in item_names(ds.candidate.tree)
    s1.lock("candidate")
    s1.unlock("candidate")
    # after a commit the candidate is clean again: the lock is granted
    add_item(s2, "again")
    s2.commit()
    s1.lock("candidate")


def test_running_lock_refused_while_other_confirmed_commit_pending(two: Any) -> None:
    ds, s1, s2 = two
    add_item(s2, "c")
    s2.commit(confirmed=True, confirm_timeout=60)
    e = refused(ds, s1, "lock-denied", s1.lock, "running")
    assert e.info["session_id"] == s2.id
    s2.lock("running")  # the session with the pending commit may
    s2.unlock("running")
    s2.commit()  # confirm
    s1.lock("running")


# ---- locks and the session's end ------------------------------------------------------------


def test_close_releases_every_lock(two: Any) -> None:
    ds, s1, s2 = two
    for t in CONFIG:
        s1.lock(t)
    s1.close()
    assert ds.locks == {}
    assert s1.id not in ds.sessions
    for t in CONFIG:
        s2.lock(t)
    refused(ds, s2, "operation-failed", s1.get)  # closed session refuses everything
    s1.close()  # idempotent


def test_dropped_session_closed_from_another_thread(two: Any) -> None:
    ds, s1, s2 = two
    s1.lock("running")
    s1.lock("candidate")
    add_item(s1, "unsaved")
    t = threading.Thread(target=s1.close)  # the transport noticed the connection is gone
    t.start()
    t.join(5)
    assert not t.is_alive()
    assert ds.locks == {}
    assert "unsaved" not in item_names(ds.candidate.tree)
    s2.lock("running")
    s2.lock("candidate")


def test_holder_changes_discarded_on_unlock_and_close(two: Any) -> None:
    ds, s1, s2 = two
    run = dump(ds.running)
    s1.lock("candidate")
    add_item(s1, "temp")
    s1.unlock("candidate")
    assert dump(ds.candidate.tree) == run
    s2.lock("candidate")
    add_item(s2, "temp2")
    s2.close()
    assert dump(ds.candidate.tree) == run
    assert not ds.candidate.dirty


def test_unlock_of_running_keeps_candidate(two: Any) -> None:
    ds, s1, _ = two
    s1.lock("running")
    add_item(s1, "kept")
    s1.unlock("running")
    assert "kept" in item_names(ds.candidate.tree)


# ---- discard-changes -------------------------------------------------------------------------


def test_discard_changes(two: Any) -> None:
    ds, s1, s2 = two
    run = dump(ds.running)
    add_item(s1, "gone")
    s2.edit("candidate", top_edit({"word": ["w"]}))
    s1.discard_changes()  # the shared candidate: everyone's changes go
    assert dump(ds.candidate.tree) == run
    assert not ds.candidate.dirty
    s1.lock("candidate")  # and nobody has uncommitted changes any more
    s1.discard_changes()
    assert dump(ds.running) == run


# ---- copy-config / delete-config / validate --------------------------------------------------


def test_copy_running_to_startup_and_startup_to_candidate(two: Any) -> None:
    ds, s1, _ = two
    s1.edit("running", top_edit({"word": ["r"]}))
    s1.copy_config("running", "startup")
    assert dump(s1.get("startup")) == dump(ds.running)
    assert dump(ds.decode_tree(ds.store.get_datastore("startup") or "{}")) == dump(ds.running)
    s1.edit("running", top_edit({"word": ["later"]}))
    s1.copy_config("startup", "candidate")
    assert dump(s1.get("candidate")) == dump(s1.get("startup"))
    assert ds.candidate.dirty
    head = ds.head
    s1.commit()
    assert ds.head == head + 1
    assert dump(ds.running) == dump(s1.get("startup"))


def test_copy_inline_to_running_is_a_commit(two: Any) -> None:
    ds, s1, _ = two
    new = ds.running.model_copy(update={"top": ds.running.top.model_copy(update={"word": ("i",)})})
    head = ds.head
    s1.copy_config(new, "running")
    assert ds.head == head + 1
    assert ds.running == new
    info = ds.commits(1)[0]
    assert (info.id, info.user, info.transport) == (ds.head, "alice", "netconf")
    assert dump(ds.candidate.tree) == dump(new)  # an unmodified candidate follows running


def test_copy_candidate_to_running(two: Any) -> None:
    ds, s1, _ = two
    add_item(s1, "cc")
    s1.copy_config("candidate", "running")
    assert "cc" in item_names(ds.running)


def test_copy_config_refusals(two: Any) -> None:
    ds, s1, _ = two
    refused(ds, s1, "invalid-value", s1.copy_config, "running", "running")
    refused(ds, s1, "invalid-value", s1.copy_config, "running", "nowhere")
    refused(ds, s1, "invalid-value", s1.copy_config, "nowhere", "startup")
    bad = ds.running.model_copy(update={"top": ds.running.top.model_copy(update={"guarded": 5000})})
    refused(ds, s1, "operation-failed", s1.copy_config, bad, "running")
    refused(ds, s1, "operation-failed", s1.copy_config, bad, "startup")


def test_delete_config(two: Any) -> None:
    ds, s1, _ = two
    assert ds.startup is not None
    refused(ds, s1, "operation-not-supported", s1.delete_config, "running")
    refused(ds, s1, "operation-not-supported", s1.delete_config, "candidate")
    s1.delete_config("startup")
    assert ds.startup is None
    assert ds.store.get_datastore("startup") is None
    assert dump(s1.get("startup")) == dump(ds.empty())


def test_validate(two: Any) -> None:
    ds, s1, _ = two
    s1.validate("running")
    s1.validate("candidate")
    s1.validate(ds.running)
    s1.edit("candidate", top_edit({"guarded": 5000}))
    e = refused(ds, s1, "operation-failed", s1.validate, "candidate")
    assert e.app_tag == "must-violation" and e.path == "/dst:top/guarded"
    s1.validate("running")
    refused(ds, s1, "operation-failed", s1.validate, s1.get("candidate"))
    refused(ds, s1, "operation-failed", s1.commit)
    refused(ds, s1, "operation-failed", s1.edit, "running", top_edit({"guarded": 5000}))


# ---- writable running, edit failures ---------------------------------------------------------


def test_writable_running_edit_is_a_commit(two: Any) -> None:
    ds, _, s2 = two
    head = ds.head
    s2.edit("running", top_edit({"word": ["direct"]}))
    assert ds.head == head + 1
    info = ds.commits(1)[0]
    assert (info.user, info.transport, info.confirmed) == ("bob", "restconf", True)
    assert ds.running.top.word == ("direct",)
    assert dump(ds.candidate.tree) == dump(ds.running)
    s2.edit("running", top_edit({"word": ["direct"]}))  # no change: no commit
    assert ds.head == head + 1


def test_failed_edits_change_nothing(two: Any) -> None:
    ds, s1, _ = two
    refused(ds, s1, "data-exists", s1.edit, "candidate",
            child_edit("item", [{"name": "base"}], Op.CREATE))
    refused(ds, s1, "data-missing", s1.edit, "candidate",
            child_edit("item", [{"name": "nope"}], Op.DELETE))
    refused(ds, s1, "data-missing", s1.edit, "running",
            child_edit("word", ["nope"], Op.DELETE))
    refused(ds, s1, "invalid-value", s1.edit, "startup", top_edit({"word": ["w"]}))
    # test-only validates and keeps nothing
    s1.edit("candidate", top_edit({"word": ["t"]}), test_option="test-only")
    assert dump(ds.candidate.tree) == dump(ds.running)
    refused(ds, s1, "operation-failed", s1.edit, "candidate", top_edit({"guarded": 5000}),
            test_option="test-only")
