"""kill -9 of a yangd committing in a loop, and of one with a confirmed commit pending: the
reopened datastore holds exactly what was acknowledged (at most the one commit in flight
more), and a pending confirmed commit still rolls back on time, or at once when late."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.datastore.helpers_b import REPO, dst_package_dir, dump, item_names, open_ds

CHILD = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
from datastore.datastores import Datastores
from datastore.store import Store
from models.compiler.package import import_package
from models.edit import edit_from_json

B = import_package(sys.argv[2]).B
url, mode = sys.argv[3], sys.argv[4]
ds = Datastores(B, Store.open(url), snapshot_every=7, history=1000)
s = ds.open_session("crash", "test")
top = B.node("/dst:top")
print("ready", ds.head, flush=True)
if mode == "stream":
    i = ds.head
    while True:
        i += 1
        s.edit("candidate", edit_from_json(B, top, {"item": [{"name": f"i{i % 13}", "value": i}],
                                                    "word": [f"w{i}"]}))
        print(s.commit(), flush=True)
else:
    s.edit("candidate", edit_from_json(B, top, {"item": [{"name": "armed", "value": 1}]}))
    persist = sys.argv[6] if len(sys.argv) > 6 else None
    print(s.commit(confirmed=True, confirm_timeout=int(sys.argv[5]), persist=persist), flush=True)
    time.sleep(120)
"""


def spawn(tmp_path: Path, url: str, *args: str) -> subprocess.Popen[str]:
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, str(script), str(REPO), str(dst_package_dir()), url, *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(tmp_path))


def read_line(p: subprocess.Popen[str]) -> str:
    assert p.stdout is not None
    line = p.stdout.readline()
    if not line:
        assert p.stderr is not None
        raise AssertionError(f"child ended: {p.wait()} {p.stderr.read()[-2000:]}")
    return line.strip()


def kill(p: subprocess.Popen[str]) -> list[str]:
    """SIGKILL; returns the lines the child printed before it died."""
    os.kill(p.pid, signal.SIGKILL)
    out, _ = p.communicate(timeout=10)
    assert p.returncode == -signal.SIGKILL
    return out.split()


def expected_stream(head: int) -> tuple[list[str], dict[str, int], tuple[str, ...]]:
    """Running after commit ``head`` of the child's stream (commit k sets i{k%13} and adds wk)."""
    values: dict[str, int] = {}
    for k in range(1, head + 1):
        values[f"i{k % 13}"] = k
    return list(values), values, tuple(f"w{k}" for k in range(1, head + 1))


def test_kill_during_commit_stream(db_url: str, tmp_path: Path, backend: str) -> None:
    rounds = 2 if backend == "sqlite" else 1
    acked = 0
    for r in range(rounds):
        p = spawn(tmp_path, db_url, "stream")
        try:
            ready = read_line(p).split()
            assert ready[0] == "ready" and int(ready[1]) >= acked
            start = int(ready[1])
            last = start
            while last < start + 15 + 7 * r:
                last = int(read_line(p))
        finally:
            rest = kill(p)
        acked = max([last, *map(int, rest)])
        ds = open_ds(db_url)
        try:
            assert acked <= ds.head <= acked + 1
            names, values, words = expected_stream(ds.head)
            tree = ds.running
            assert item_names(tree) == names
            assert {e.name: e.value for e in tree.top.item} == values
            assert tree.top.word == words
            assert ds.pending is None
        finally:
            ds.close()
        acked = max(acked, ds.head)


def arm_and_kill(tmp_path: Path, url: str, timeout: int, persist: str | None) -> float:
    p = spawn(tmp_path, url, "confirm", str(timeout), *([persist] if persist else []))
    try:
        assert read_line(p).split()[0] == "ready"
        int(read_line(p))
        armed = time.monotonic()
    finally:
        kill(p)
    return armed


def wait_rolled_back(ds: Any, limit: float) -> float | None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        if ds.pending is None:
            return time.monotonic()
        time.sleep(0.02)
    return None


@pytest.mark.parametrize("persist", [None, "tok"])
def test_confirmed_commit_survives_kill_inside_window(tmp_path: Path, persist: str | None) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    timeout = 2
    armed = arm_and_kill(tmp_path, url, timeout, persist)
    ds = open_ds(url)
    try:
        assert ds.pending is not None, "the pending confirmed commit was lost"
        assert item_names(ds.running) == ["armed"]
        done = wait_rolled_back(ds, timeout + 3)
        assert done is not None
        assert timeout - 0.2 <= done - armed <= timeout + 1.5, done - armed
        assert item_names(ds.running) == [] and dump(ds.running) == dump(ds.empty())
        assert ds.head == 2 and "rollback" in (ds.commits(1)[0].comment or "")
    finally:
        ds.close()


@pytest.mark.parametrize("persist", [None, "tok"])
def test_confirmed_commit_reopened_after_deadline(tmp_path: Path, persist: str | None) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    armed = arm_and_kill(tmp_path, url, 1, persist)
    time.sleep(max(0.0, armed + 1.2 - time.monotonic()))
    t0 = time.monotonic()
    ds = open_ds(url)
    try:
        done = wait_rolled_back(ds, 1.0)
        assert done is not None and done - t0 < 1.0
        assert item_names(ds.running) == [] and ds.head == 2
        assert ds.store.get_confirm() is None
    finally:
        ds.close()
