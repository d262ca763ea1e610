"""Random edit sequences (merge/replace/create/delete/remove on a list, a leaf-list, a container,
a presence container and a choice) through a Session against an independent reference model
of RFC 6241 §7.2 semantics kept in plain dicts; errors must agree too. Commit then rollback
returns exactly the prior running."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datastore.datastores import Datastores
from models.edit import Op
from models.errors import YangdErrors
from tests.datastore.helpers_b import child_edit, dump, open_ds

OPS = ["merge", "replace", "create", "delete", "remove"]
CASES = {"alpha": ("beta", "gamma"), "beta": ("alpha",), "gamma": ("alpha",)}


class RefError(Exception):
    def __init__(self, tag: str):
        super().__init__(tag)
        self.tag = tag


class Ref:
    """The expected contents of /dst:top, maintained with its own rules."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}  # name → {value, tag, opt}; insertion order
        self.word: list[str] = []
        self.box: dict[str, Any] = {}  # non-presence: empty means absent
        self.pbox: dict[str, Any] | None = None  # presence: {} exists
        self.leaf: dict[str, Any] = {"alpha": None, "beta": None, "gamma": None}

    # -- one edit on one child of top --------------------------------------------------------
    def apply(self, step: tuple[Any, ...]) -> None:
        kind, op = step[0], step[1]
        getattr(self, f"_{kind}")(op, *step[2:])

    @staticmethod
    def _gone(op: str, present: bool) -> bool:
        """delete/remove: True when handled (refuses delete of something absent)."""
        if op in ("delete", "remove"):
            if not present and op == "delete":
                raise RefError("data-missing")
            return True
        if op == "create" and present:
            raise RefError("data-exists")
        return False

    def _item(self, op: str, name: str, content: dict[str, Any]) -> None:
        cur = self.items.get(name)
        if self._gone(op, cur is not None):
            self.items.pop(name, None)
            return
        if cur is None or op in ("create", "replace"):
            self.items[name] = {"value": content.get("value"), "tag": list(content.get("tag", [])),
                                "opt": dict(content.get("opt") or {})}
            return
        if "value" in content:
            cur["value"] = content["value"]
        for t in content.get("tag", []):
            if t not in cur["tag"]:
                cur["tag"].append(t)
        cur["opt"].update(content.get("opt") or {})

    def _word(self, op: str, value: str) -> None:
        if self._gone(op, value in self.word):
            if value in self.word:
                self.word.remove(value)
        elif value not in self.word:
            self.word.append(value)

    def _box(self, op: str, content: dict[str, Any]) -> None:
        if self._gone(op, bool(self.box)):
            self.box = {}
        elif not self.box or op in ("create", "replace"):
            self.box = dict(content)
        else:
            self.box.update(content)

    def _pbox(self, op: str, content: dict[str, Any]) -> None:
        if self._gone(op, self.pbox is not None):
            self.pbox = None
        elif self.pbox is None or op in ("create", "replace"):
            self.pbox = dict(content)
        else:
            self.pbox.update(content)

    def _leaf(self, op: str, name: str, value: Any) -> None:
        if self._gone(op, self.leaf[name] is not None):
            self.leaf[name] = None
            return
        self.leaf[name] = value
        for other in CASES[name]:
            self.leaf[other] = None

    # -- as RFC 7951 JSON of the whole tree ----------------------------------------------------
    def json(self) -> dict[str, Any]:
        top: dict[str, Any] = {}
        if self.items:
            entries = []
            for name, e in self.items.items():
                j: dict[str, Any] = {"name": name}
                if e["value"] is not None:
                    j["value"] = e["value"]
                if e["tag"]:
                    j["tag"] = list(e["tag"])
                if e["opt"]:
                    j["opt"] = dict(e["opt"])
                entries.append(j)
            top["item"] = entries
        if self.word:
            top["word"] = list(self.word)
        if self.box:
            top["box"] = dict(self.box)
        if self.pbox is not None:
            top["pbox"] = dict(self.pbox)
        top.update({k: v for k, v in self.leaf.items() if v is not None})
        return {"dst:top": top} if top else {}


def optional(d: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=d)


ops = st.sampled_from(OPS)
item_content = optional({
    "value": st.integers(0, 3),
    "tag": st.lists(st.sampled_from(["t1", "t2", "t3"]), unique=True, max_size=3),
    "opt": optional({"a": st.sampled_from(["p", "q"]), "b": st.integers(0, 2)}),
})
steps = st.one_of(
    st.tuples(st.just("item"), ops, st.sampled_from(["a", "b"]), item_content),
    st.tuples(st.just("word"), ops, st.sampled_from(["x", "y"])),
    st.tuples(st.just("box"), ops, optional({"x": st.integers(0, 2), "y": st.sampled_from(["m", "n"])})),
    st.tuples(st.just("pbox"), ops, optional({"z": st.integers(0, 2)})),
    st.tuples(st.just("leaf"), ops, st.sampled_from(["alpha", "gamma"]), st.sampled_from(["s", "t"])),
    st.tuples(st.just("leaf"), ops, st.just("beta"), st.integers(0, 2)),
)
programs = st.lists(st.tuples(steps, st.booleans()), min_size=8, max_size=30)


def edit_of(step: tuple[Any, ...]) -> Any:
    kind, op = step[0], Op(step[1])
    if kind == "item":
        entry = {"name": step[2], **(step[3] if op not in (Op.DELETE, Op.REMOVE) else {})}
        return child_edit("item", [entry], op)
    if kind == "word":
        return child_edit("word", [step[2]], op)
    if kind in ("box", "pbox"):
        return child_edit(kind, step[2], op)
    return child_edit(step[2], step[3], op)


@pytest.fixture(scope="module")
def pds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Datastores]:
    ds = open_ds(f"sqlite:///{tmp_path_factory.mktemp('prop') / 'p.db'}", snapshot_every=16)
    try:
        yield ds
    finally:
        ds.close()


@settings(derandomize=True, database=None, max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(program=programs, extra=steps)
def test_edits_match_reference_and_rollback_restores(pds: Datastores, program: list[Any],
                                                     extra: tuple[Any, ...]) -> None:
    ds = pds
    s = ds.open_session("prop", "test")
    try:
        s.copy_config(ds.empty(), "running")  # each example starts from an empty running
        ref, committed = Ref(), Ref()
        seen = {ds.head: dump(ds.running)}
        for step, commit in program:
            before_cand = dump(s.get("candidate"))
            want: str | None = None
            trial = copy.deepcopy(ref)
            try:
                trial.apply(step)
                ref = trial
            except RefError as e:
                want = e.tag
            try:
                s.edit("candidate", edit_of(step))
                got = None
            except YangdErrors as e:
                got = ",".join(x.tag for x in e.errors)
            assert got == want, (step, got, want)
            if got is not None:
                assert dump(s.get("candidate")) == before_cand
            assert json.loads(dump(s.get("candidate"))) == ref.json(), step
            if commit:
                s.commit()
                committed = copy.deepcopy(ref)
                seen[ds.head] = dump(ds.running)
            assert json.loads(dump(ds.running)) == committed.json()
        s.commit()
        seen[ds.head] = dump(ds.running)
        assert json.loads(dump(ds.running)) == ref.json()

        prior, prior_head = ds.running, ds.head
        try:
            s.edit("candidate", edit_of(extra))
        except YangdErrors:
            pass
        s.commit()
        s.rollback(prior_head)
        assert ds.running == prior
        assert dump(ds.running) == dump(prior)
        for cid in sorted(seen):  # and back to every state of this example
            s.rollback(cid)
            assert dump(ds.running) == seen[cid], cid
    finally:
        s.close()
