"""Datastore benchmark (issue #3), in-process, anchor-bench module, real SQLite store.

(1) create N entries in one edit + commit (N = 10k, 100k)       target: 100k < 5 s
(2) one-leaf edit + commit with N entries present (100/10k/100k) target: p50 < 5 ms, flat
    (p50 at 100k within 1.5x of p50 at 100)
(3) full read of running (RFC 7951 JSON encode of the whole tree)
(4) memory per entry (tracemalloc, the running tree only)          target: < 2 KiB
Prints a table; asserts nothing (speed is measured here, never in tests).
"""

from __future__ import annotations

import gc
import json
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from datastore.datastores import Datastores  # noqa: E402
from datastore.store import Store  # noqa: E402
from models.compiler.package import compile_package, import_package  # noqa: E402
from models.edit import EditNode, edit_from_json, edit_from_model  # noqa: E402

ANCHOR = REPO.parent / "shared" / "peer" / "yang" / "anchor-bench.yang"
if not ANCHOR.exists():
    ANCHOR = REPO / "tests" / "data" / "anchor-bench.yang"


def entries(n: int) -> list[dict[str, object]]:
    return [{"name": f"item-{i:06d}", "value": i, "description": f"benchmark entry {i}",
             "enabled": True, "settings": {"mtu": 1500, "mode": "auto"}} for i in range(n)]


def main() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    work = Path(tempfile.mkdtemp(prefix="yangd-bench-"))
    compile_package([ANCHOR], work / "pkg")
    pkg = import_package(work / "pkg")
    B, Root = pkg.B, pkg.Root
    items = B.node("/anchor-bench:items")
    item = items.data_child("anchor-bench", "item")
    rows: list[tuple[str, str, str]] = []

    def fresh(n: int) -> tuple[Datastores, object, float]:
        ds = Datastores(B, Store.open(f"sqlite:///{work}/db-{n}-{time.time_ns()}.sqlite"))
        s = ds.open_session("bench", "internal")
        text = json.dumps({"anchor-bench:items": {"item": entries(n)}})
        t0 = time.perf_counter()
        doc = Root.model_validate_json(text)  # the request body is part of the cost
        s.edit("candidate", [EditNode(items, children=edit_from_model(item, doc.items.item))])
        s.commit()
        return ds, s, time.perf_counter() - t0

    for n in (10_000, 100_000):
        ds, _s, dt = fresh(n)
        rows.append((f"(1) create {n} entries: parse + edit + commit", f"{dt:.2f} s", "100k < 5 s" if n == 100_000 else ""))
        ds.close()

    p50s = {}
    for n in (100, 10_000, 100_000):
        ds, s, _ = fresh(n)
        lat = []
        for i in range(300):
            ed = edit_from_json(B, items, {"item": [{"name": f"item-{i % n:06d}", "value": -i}]})
            t0 = time.perf_counter()
            s.edit("candidate", ed)
            s.commit()
            lat.append(time.perf_counter() - t0)
        lat.sort()
        p50s[n] = statistics.median(lat)
        rows.append((f"(2) one-leaf edit + commit, {n} present",
                     f"p50 {p50s[n]*1e3:.2f} ms, p99 {lat[int(len(lat)*0.99)]*1e3:.2f} ms",
                     "p50 < 5 ms"))
        if n == 100_000:
            t0 = time.perf_counter()
            text = ds.running.model_dump_json(exclude_none=True)
            rows.append((f"(3) full read of running, {n} entries (JSON)",
                         f"{time.perf_counter()-t0:.2f} s, {len(text)/1e6:.1f} MB", ""))
        ds.close()
    rows.append(("(2) flatness: p50(100k) / p50(100)", f"{p50s[100_000]/p50s[100]:.2f}x", "<= 1.5x"))

    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    tree = Root.model_validate({"anchor-bench:items": {"item": entries(100_000)}})
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    rows.append(("(4) memory per entry (running tree)", f"{used/100_000:.0f} B", "< 2048 B"))
    del tree

    w = max(len(r[0]) for r in rows)
    print(f"{'measure':<{w}}  {'result':<32}  target")
    for name, result, target in rows:
        print(f"{name:<{w}}  {result:<32}  {target}")


if __name__ == "__main__":
    main()
