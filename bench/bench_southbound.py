"""Southbound benchmark (issue #6): static routes through the kernel driver, real netlink.

(1) commit of N static routes (one edit of running: request → edit → validate → prepare →
    commit to the kernel → stored), until ``ip -j route`` shows all N    target: 10k < 2 s
(2) one-route change (the gateway of one route) with N present, p50 over 100 changes,
    N = 100 and 10,000                               target: p50 < 20 ms, flat in N
(3) full sync after ``ip route flush proto <yangd's>`` with 10k in running
(4) how routes reach the kernel: pyroute2, one request and reply at a time, against
    southbound/_routes_nl.py, packed requests in bulk sends (10k routes, no datastore)
Needs root: every run works in network namespaces of its own (yangd-bench-*), deleted at the
end, also on failure. Prints a table; asserts nothing. ``--quick``: one commit per size instead
of the median of 3, and no (4) (~5 s instead of ~12 s).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import models.generated as g  # noqa: E402
from datastore.datastores import Datastores  # noqa: E402
from datastore.session import Session  # noqa: E402
from datastore.store import Store  # noqa: E402
from models.edit import edit_from_json  # noqa: E402
from southbound._routes import RT_PROTO, Hop, ROp, RouteSpec  # noqa: E402
from southbound._routes_nl import RouteSocket  # noqa: E402
from southbound.driver import DriverTx  # noqa: E402
from southbound.kernel import KernelDriver  # noqa: E402
from southbound.manager import DriverManager  # noqa: E402

R = "/ietf-routing:routing"
V4 = "ietf-ipv4-unicast-routing:ipv4"
CHANGES = 100
REPEAT = 3  # --quick: 1


def sh(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


@contextmanager
def namespace() -> Iterator[str]:
    ns = f"yangd-bench-{uuid.uuid4().hex[:8]}"
    sh("ip", "netns", "add", ns)
    try:
        sh("ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p")
        sh("ip", "-n", ns, "link", "set", "eth0p", "up")
        yield ns
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)


class TimedKernel(KernelDriver):
    """The kernel driver, timing its own phases (the driver's share of a commit)."""

    spent = 0.0

    def _timed(self, fn: Callable[[DriverTx], None], d: DriverTx) -> None:
        t = time.perf_counter()
        try:
            fn(d)
        finally:
            self.spent += time.perf_counter() - t

    def on_validate(self, d: DriverTx) -> None:
        self._timed(super().on_validate, d)

    def on_prepare(self, d: DriverTx) -> None:
        self._timed(super().on_prepare, d)

    def on_commit(self, d: DriverTx) -> None:
        self._timed(super().on_commit, d)


def prefixes(n: int) -> list[str]:
    return [str(p) for p, _ in zip(ipaddress.ip_network("10.0.0.0/8").subnets(new_prefix=24),
                                   range(n), strict=False)]


def routes_doc(routes: list[tuple[str, str]]) -> dict[str, Any]:
    return {"control-plane-protocols": {"control-plane-protocol": [{
        "type": "ietf-routing:static", "name": "bench", "static-routes": {V4: {"route": [
            {"destination-prefix": p, "next-hop": {"next-hop-address": gw}} for p, gw in routes]}}}]}}


def edit_routes(s: Session, routes: list[tuple[str, str]]) -> None:
    s.edit("running", edit_from_json(g.B, g.B.node(R), routes_doc(routes)))


def kernel_count(ns: str) -> int:
    return len(json.loads(sh("ip", "-n", ns, "-j", "route", "show", "proto", str(RT_PROTO)) or "[]"))


def pct(xs: list[float], q: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(q * len(xs)))]


@contextmanager
def yangd(ns: str, work: Path) -> Iterator[tuple[Datastores, Session, TimedKernel]]:
    ds = Datastores(g.B, Store.open(f"sqlite:///{work}/{ns}.sqlite"))
    k = TimedKernel(g.B, ns, create=False, timeout=60)
    m = DriverManager([k])
    try:
        m.attach(ds)
        s = ds.open_session("bench", "internal")
        s.edit("running", edit_from_json(g.B, g.B.node("/ietf-interfaces:interfaces"), {"interface": [
            {"name": "eth0", "type": "iana-if-type:ethernetCsmacd",
             "ietf-ip:ipv4": {"address": [{"ip": "192.0.2.1", "prefix-length": 24}]}}]}))
        yield ds, s, k
    finally:
        m.close()
        ds.close()


def commit_once(n: int, ns: str, s: Session, k: TimedKernel) -> tuple[float, float, float, int]:
    routes = [(p, "192.0.2.2") for p in prefixes(n)]
    k.spent = 0.0
    t0 = time.perf_counter()
    edit_routes(s, routes)
    t1 = time.perf_counter()
    count = kernel_count(ns)
    return time.perf_counter() - t0, t1 - t0, k.spent, count


def bench_commit(n: int, work: Path, rows: list[tuple[str, str, str]], repeat: int) -> None:
    runs = []
    for _ in range(repeat - 1):  # fresh namespace and datastore each time
        with namespace() as ns, yangd(ns, work) as (_, s, k):
            runs.append(commit_once(n, ns, s, k))
    with namespace() as ns, yangd(ns, work) as (ds, s, k):
        runs.append(commit_once(n, ns, s, k))
        total, commit, driver, count = sorted(runs)[len(runs) // 2]
        rows.append((f"(1) commit {n:,} static routes, until `ip -j route` shows {count:,} "
                     f"(median of {repeat})",
                     f"{total:.2f} s (commit {commit:.2f} s, of which driver {driver:.2f} s; "
                     f"best {min(runs)[0]:.2f} s)", "< 2 s" if n == 10_000 else ""))
        routes = [(p, "192.0.2.2") for p in prefixes(n)]
        bench_change(n, ns, s, k, routes, rows)
        if n == 10_000:
            sh("ip", "-n", ns, "route", "flush", "proto", str(RT_PROTO))
            t0 = time.perf_counter()
            k.full_sync(ds.running)
            t1 = time.perf_counter()
            rows.append((f"(3) full sync after `ip route flush proto {RT_PROTO}`, {n:,} routes",
                         f"{t1 - t0:.2f} s ({kernel_count(ns):,} back)", ""))
            t0 = time.perf_counter()
            drift = k.drift(ds.running)
            rows.append((f"    drift check (dump + compare), {n:,} routes",
                         f"{(time.perf_counter() - t0) * 1e3:.0f} ms ({len(drift)} differences)", ""))


def bench_change(n: int, ns: str, s: Session, k: TimedKernel, routes: list[tuple[str, str]],
                 rows: list[tuple[str, str, str]]) -> None:
    rnd = random.Random(6)
    total: list[float] = []
    driver: list[float] = []
    gws = dict(routes)
    for _ in range(CHANGES):
        p = rnd.choice(routes)[0]
        gws[p] = "192.0.2.3" if gws[p] == "192.0.2.2" else "192.0.2.2"
        k.spent = 0.0
        t0 = time.perf_counter()
        edit_routes(s, [(p, gws[p])])
        total.append(time.perf_counter() - t0)
        driver.append(k.spent)
    kern = {r["dst"]: r.get("gateway") for r in json.loads(
        sh("ip", "-n", ns, "-j", "route", "show", "proto", str(RT_PROTO)))}
    ok = "kernel matches" if kern == gws else "KERNEL DIFFERS"
    rows.append((f"(2) one-route change, {n:,} present ({CHANGES} changes, {ok})",
                 f"p50 {statistics.median(total) * 1e3:.1f} ms, p95 {pct(total, .95) * 1e3:.1f} ms "
                 f"(driver p50 {statistics.median(driver) * 1e3:.2f} ms)", "p50 < 20 ms"))


def bench_transport(n: int, rows: list[tuple[str, str, str]]) -> None:
    """pyroute2 request by request vs bulk sends, in a thread inside a fresh namespace."""
    from pyroute2 import IPRoute, netns

    result: dict[str, float] = {}

    def run(ns: str) -> None:
        netns.setns(ns, flags=0, fork=False)  # this thread only
        ipr = IPRoute()
        sh("ip", "-n", ns, "addr", "add", "192.0.2.1/24", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        nets = prefixes(n)
        t0 = time.perf_counter()
        for p in nets:
            ipr.route("add", dst=p, gateway="192.0.2.2", proto=RT_PROTO)
        result["pyroute2 add"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        got = list(ipr.route("dump", family=2, proto=RT_PROTO))
        result["pyroute2 dump"] = time.perf_counter() - t0
        assert len(got) >= n
        sh("ip", "-n", ns, "route", "flush", "proto", str(RT_PROTO))
        ipr.close()
        rs = RouteSocket()
        ops = [ROp("add", RouteSpec(4, p, "unicast", (Hop("192.0.2.2", None),))) for p in nets]
        t0 = time.perf_counter()
        res = rs.apply(ops, RT_PROTO, lambda name: 0)
        result["bulk add"] = time.perf_counter() - t0
        assert not any(res)
        t0 = time.perf_counter()
        dumped = rs.dump(4, RT_PROTO)
        result["bulk dump"] = time.perf_counter() - t0
        assert len(dumped) == n
        rs.close()

    with namespace() as ns:
        th = threading.Thread(target=run, args=(ns,))
        th.start()
        th.join()
    if len(result) == 4:
        rows.append((f"(4) install {n:,} routes: pyroute2, one request at a time",
                     f"{result['pyroute2 add']:.2f} s", ""))
        rows.append((f"(4) install {n:,} routes: bulk sends (_routes_nl)",
                     f"{result['bulk add']:.2f} s", ""))
        rows.append((f"(4) dump {n:,} routes: pyroute2 / _routes_nl",
                     f"{result['pyroute2 dump']:.2f} s / {result['bulk dump'] * 1e3:.0f} ms", ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="one commit per size, no (4)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("bench_southbound.py needs root (it creates network namespaces); skipped")
        return
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="yangd-bench-sb-") as tmp:
        work = Path(tmp)
        for n in (100, 10_000):
            bench_commit(n, work, rows, 1 if args.quick else REPEAT)
    if not args.quick:
        bench_transport(10_000, rows)
    print("| measure | result | target |\n|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} |")


if __name__ == "__main__":
    main()
