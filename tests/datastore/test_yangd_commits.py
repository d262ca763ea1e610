"""yangd-commits: the commit history as YANG state, and the rollback/compare RPCs."""

from __future__ import annotations

from pathlib import Path

import pytest

import models.generated as g
from datastore import history
from datastore.datastores import Datastores
from datastore.store import Store
from models.edit import edit_from_json
from models.errors import YangdErrors

IFS = "/ietf-interfaces:interfaces"


@pytest.fixture
def ds(tmp_path: Path) -> Datastores:
    d = Datastores(g.B, Store.open(f"sqlite:///{tmp_path}/y.db"))
    yield d
    d.close()


def add(s, name: str) -> None:
    node = g.B.node(IFS)
    s.edit("candidate", edit_from_json(g.B, node, {"interface": [
        {"name": name, "type": "iana-if-type:ethernetCsmacd"}]}))


def test_commits_state_lists_every_commit(ds: Datastores) -> None:
    s = ds.open_session("alice", "netconf")
    add(s, "eth0")
    s.commit(comment="first", label="base")
    add(s, "eth1")
    s.commit()
    state = history.commits_state(ds)
    assert state.head == 2
    rows = list(state.commit)
    assert [c.id for c in rows] == [2, 1]
    assert rows[1].user == "alice" and rows[1].transport == "netconf"
    assert rows[1].comment == "first" and rows[1].label == "base" and rows[1].confirmed is True
    assert rows[0].size == len(ds.store.commit(2).changes)
    assert rows[0].time.endswith("Z")


def test_rollback_rpc_by_id_and_label(ds: Datastores) -> None:
    s = ds.open_session("alice", "netconf")
    add(s, "eth0")
    s.commit(label="one")
    first = ds.running
    add(s, "eth1")
    s.commit()
    inp = g.B.node("/yangd-commits:rollback/input").cls
    out = history.rollback(s, inp.model_validate({"label": "one"}))
    assert out.id == 3 and ds.running == first
    out = history.rollback(s, inp.model_validate({"id": 2, "comment": "again"}))
    assert out.id == 4 and [i.name for i in ds.running.interfaces.interface] == ["eth0", "eth1"]
    assert ds.commits(1)[0].comment == "again"
    with pytest.raises(YangdErrors) as e:
        history.rollback(s, inp.model_validate({"label": "nope"}))
    assert e.value.errors[0].tag == "invalid-value"
    with pytest.raises(YangdErrors) as e:
        history.rollback(s, inp.model_validate({"id": 99}))
    assert e.value.errors[0].app_tag == "unknown-commit"
    assert ds.head == 4  # refused rollbacks commit nothing


def test_compare_rpc_reports_changes_with_values(ds: Datastores) -> None:
    s = ds.open_session("alice", "netconf")
    add(s, "eth0")
    s.commit()
    add(s, "eth1")
    inp = g.B.node("/yangd-commits:compare/input").cls
    out = history.compare(s, inp.model_validate({"from": "running"}))  # to: candidate
    (change,) = out.change
    assert change.operation == "create"
    assert change.path == "/ietf-interfaces:interfaces/interface[name='eth1']"
    assert change.value == {"ietf-interfaces:interface": [{"name": "eth1", "type": "iana-if-type:ethernetCsmacd"}]}
    out = history.compare(s, inp.model_validate({"from": 1, "to": 0}))
    assert [(c.operation, c.path) for c in out.change] == [("delete", "/ietf-interfaces:interfaces")]
    assert out.change[0].value is None
