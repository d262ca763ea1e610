"""Private candidates: isolation, commit of the change set onto current running, conflicts,
and the shared candidate keeping RFC 6241 behaviour beside them."""

from __future__ import annotations

from typing import Any

import pytest

from datastore.datastores import Datastores
from models.edit import Op
from tests.datastore.helpers_b import add_item, child_edit, dump, errors_of, item_names, top_edit


@pytest.fixture
def env(dst_ds: Datastores) -> Any:
    ds = dst_ds
    shared = ds.open_session("alice", "netconf")
    add_item(shared, "base", 1)
    shared.edit("candidate", top_edit({"box": {"x": 1}, "word": ["w0"]}))
    shared.commit()
    p1 = ds.open_session("p1", "netconf", private_candidate=True)
    p2 = ds.open_session("p2", "restconf", private_candidate=True)
    return ds, shared, p1, p2


def test_isolation(env: Any) -> None:
    ds, shared, p1, p2 = env
    run = dump(ds.running)
    add_item(p1, "one")
    assert "one" in item_names(p1.get("candidate"))
    for other in (shared, p2):
        assert dump(other.get("candidate")) == run
    assert not ds.candidate.dirty
    add_item(shared, "sh")
    assert "sh" not in item_names(p1.get("candidate")) + item_names(p2.get("candidate"))
    add_item(p2, "two")
    assert item_names(p1.get("candidate")) == ["base", "one"]
    assert item_names(p2.get("candidate")) == ["base", "two"]
    assert dump(ds.running) == run
    p1.discard_changes()
    assert dump(p1.get("candidate")) == run
    assert item_names(p2.get("candidate")) == ["base", "two"]


def test_commit_applies_change_set_onto_current_running(env: Any) -> None:
    ds, shared, p1, _ = env
    add_item(p1, "mine", 5)
    shared.edit("running", top_edit({"word": ["w1"]}))  # running moves on meanwhile
    add_item(shared, "theirs")
    shared.commit()
    p1.commit()
    assert item_names(ds.running) == ["base", "theirs", "mine"]
    assert ds.running.top.word == ("w0", "w1")
    assert dump(p1.get("candidate")) == dump(ds.running)  # fresh private candidate


def test_non_overlapping_concurrent_changes_both_commit(env: Any) -> None:
    ds, _, p1, p2 = env
    add_item(p1, "a", 1)
    p1.edit("candidate", top_edit({"box": {"y": "p1"}}))
    add_item(p2, "b", 2)
    p2.edit("candidate", top_edit({"word": ["p2"]}))
    p2.edit("candidate", child_edit("word", ["w0"], Op.DELETE))
    p1.commit()
    p2.commit()
    top = ds.running.top
    assert item_names(ds.running) == ["base", "a", "b"]
    assert (top.box.x, top.box.y) == (1, "p1")
    assert top.word == ("p2",)


@pytest.mark.parametrize("second", ["same leaf", "deleted entry", "whole container"])
def test_overlapping_changes_conflict(env: Any, second: str) -> None:
    ds, _, p1, p2 = env
    p1.edit("candidate", top_edit({"item": [{"name": "base", "value": 10}], "box": {"x": 10}}))
    if second == "same leaf":
        p2.edit("candidate", top_edit({"item": [{"name": "base", "value": 20}]}))
        expect = {"/dst:top/item[name='base']/value"}
    elif second == "deleted entry":
        p2.edit("candidate", child_edit("item", [{"name": "base"}], Op.DELETE))
        expect = {"/dst:top/item[name='base']/value"}
    else:
        p2.edit("candidate", child_edit("box", {}, Op.DELETE))
        expect = {"/dst:top/box/x"}
    p1.commit()  # the error lists what running changed that this candidate touches too
    run, head, mine = dump(ds.running), ds.head, dump(p2.get("candidate"))
    e = errors_of(p2.commit)
    assert {x.tag for x in e.errors} == {"operation-failed"}
    assert {x.app_tag for x in e.errors} == {"commit-conflict"}
    assert {x.path for x in e.errors} == expect
    assert {x.info["conflict"] for x in e.errors} == expect
    assert (dump(ds.running), ds.head, dump(p2.get("candidate"))) == (run, head, mine)
    p2.discard_changes()  # starting again from current running works
    p2.edit("candidate", top_edit({"item": [{"name": "base", "value": 30}]}))
    p2.commit()
    assert ds.running.top.item["base"].value == 30


def test_shared_candidate_keeps_rfc6241_behaviour(env: Any) -> None:
    ds, shared, p1, _ = env
    other = ds.open_session("bob", "netconf")
    shared.lock("candidate")
    add_item(p1, "p")  # the shared lock does not cover private candidates
    e = errors_of(other.edit, "candidate", top_edit({"word": ["x"]}))
    assert e.errors[0].tag == "in-use"
    add_item(shared, "s")
    assert "s" in item_names(other.get("candidate"))  # shared users see each other's changes
    p1.commit()
    assert "s" not in item_names(ds.running)
    assert "s" in item_names(ds.candidate.tree)  # a dirty shared candidate does not follow running
    shared.commit()  # the shared candidate is a whole configuration (RFC 6241 §8.3)
    assert item_names(ds.running) == ["base", "s"]
    shared.unlock("candidate")
    add_item(other, "o")
    assert errors_of(shared.lock, "candidate").errors[0].tag == "lock-denied"
    p1.lock("running")
    assert errors_of(shared.commit).errors[0].tag == "in-use"
