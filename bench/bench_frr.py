"""FRR benchmark (issue #7): static routes through the frr driver into real FRR daemons.

(1) commit of N static routes (one edit of running: edit → validate → prepare (vtysh -C) →
    commit to staticd → stored), until zebra's RIB has all N installed in the FIB
                                                             target: 10k < 10 s
(2) one-route change (the gateway of one route) with N present: the commit, and until zebra
    has the new next hop, p50 over the changes              target: < 300 ms
(3) full sync after staticd was restarted (its 10k routes gone) with 10k in running
FRR users report hours for 10k static routes through vtysh: staticd commits its northbound
configuration after every command; the driver brackets a batch with XFRR_start/end and
pipelines the commands over the vty socket (southbound/_frr_vty.py).

Row (2) also gives staticd's own CPU time per change (/proc/PID/schedstat): on a shared machine
the wall time moves with the load, staticd's CPU much less.

Needs root and Debian's frr: zebra, staticd and bgpd run in a namespace of their own
(yangd-bench-*) with a state directory under /tmp, both removed at the end, also on failure.
Prints a table; asserts nothing. ``--quick``: 10 changes instead of 30. ``--malloc glibc``: the
daemons without tcmalloc (southbound/_frr_daemons.py), to compare.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
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
from southbound import _frr_daemons  # noqa: E402
from southbound._frr_vty import Vty  # noqa: E402
from southbound.frr import FrrDriver  # noqa: E402
from southbound.manager import DriverManager  # noqa: E402

R = "/ietf-routing:routing"
V4 = "ietf-ipv4-unicast-routing:ipv4"
N = 10_000


def sh(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


@contextmanager
def frr_namespace(malloc: str = "tcmalloc") -> Iterator[tuple[str, Path]]:
    ns = f"yangd-bench-{uuid.uuid4().hex[:8]}"
    d = Path(tempfile.mkdtemp(prefix="yangd-bench-frr-", dir="/tmp"))
    sh("ip", "netns", "add", ns)
    try:
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p")
        sh("ip", "-n", ns, "link", "set", "eth0p", "up")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "-n", ns, "addr", "add", "192.0.2.1/24", "dev", "eth0")
        _frr_daemons.start(ns, d, malloc=malloc)
        yield ns, d
    finally:
        _frr_daemons.stop(d)
        subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)
        shutil.rmtree(d, ignore_errors=True)


def prefixes(n: int) -> list[str]:
    return [str(p) for p, _ in zip(ipaddress.ip_network("10.0.0.0/8").subnets(new_prefix=24),
                                   range(n), strict=False)]


def edit_routes(s: Session, routes: list[tuple[str, str]]) -> None:
    s.edit("running", edit_from_json(g.B, g.B.node(R), {"control-plane-protocols": {
        "control-plane-protocol": [{"type": "ietf-routing:static", "name": "bench",
                                    "static-routes": {V4: {"route": [
                                        {"destination-prefix": p,
                                         "next-hop": {"next-hop-address": gw}}
                                        for p, gw in routes]}}}]}}))


def fib_statics(zebra: Vty) -> int:
    """Static routes zebra has installed in the kernel (``show ip route summary json``)."""
    doc: dict[str, Any] = zebra.json("show ip route summary json")
    return sum(int(r.get("fib", 0)) for r in doc.get("routes", []) if r.get("type") == "static")


def gateway(zebra: Vty, prefix: str) -> str | None:
    """The first next hop of zebra's route to ``prefix`` (None: no route right now)."""
    code, text = zebra.run([f"show ip route {prefix} json"])[0]
    routes = json.loads(text).get(prefix) if code == 0 and text.strip() else None
    hops = routes[0].get("nexthops", []) if routes else []
    return hops[0].get("ip") if hops else None


def cpu_ms(pid: int) -> float:
    """CPU time ``pid`` has used so far (the scheduler's count, in ns), in ms."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e6


def until(pred: Any, limit: float = 120.0) -> float:
    t0 = time.perf_counter()
    while not pred():
        if time.perf_counter() - t0 > limit:
            raise TimeoutError("FRR did not get there")
        time.sleep(0.005)
    return time.perf_counter()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--malloc", choices=("tcmalloc", "glibc"), default="tcmalloc")
    args = ap.parse_args()
    changes = 10 if args.quick else 30
    malloc = args.malloc if _frr_daemons.tcmalloc() else "glibc (tcmalloc is not installed)"
    rows: list[tuple[str, str, str]] = []
    work = Path(tempfile.mkdtemp(prefix="yangd-bench-"))
    try:
        with frr_namespace(args.malloc) as (ns, d):
            ds = Datastores(g.B, Store.open(f"sqlite:///{work}/frr.sqlite"))
            f = FrrDriver(g.B, ns, state_dir=str(d), timeout=120)
            m = DriverManager([f])
            zebra = Vty(d, "zebra")
            zebra.connect()
            try:
                m.attach(ds)
                s = ds.open_session("bench", "internal")
                routes = [(p, "192.0.2.2") for p in prefixes(N)]
                t0 = time.perf_counter()
                edit_routes(s, routes)
                t1 = time.perf_counter()
                t2 = until(lambda: fib_statics(zebra) >= N)
                kernel = sum(1 for r in json.loads(sh("ip", "-n", ns, "-j", "route") or "[]")
                             if r.get("protocol") == "static")  # FRR's protocol 196
                rows.append((f"(1) commit {N:,} static routes, until zebra has them in the FIB "
                             f"(kernel: {kernel:,})",
                             f"{t2 - t0:.2f} s (commit {t1 - t0:.2f} s)", "< 10 s"))
                rnd = random.Random(7)
                gws = dict(routes)
                commit: list[float] = []
                rib: list[float] = []
                cpu: list[float] = []
                staticd = _frr_daemons.pid_of(d, "staticd")
                assert staticd is not None
                for _ in range(changes):
                    p = rnd.choice(routes)[0]
                    gws[p] = gw = "192.0.2.3" if gws[p] == "192.0.2.2" else "192.0.2.2"
                    c0 = cpu_ms(staticd)
                    t0 = time.perf_counter()
                    edit_routes(s, [(p, gw)])
                    t1 = time.perf_counter()
                    cpu.append(cpu_ms(staticd) - c0)
                    t2 = until(lambda p=p, gw=gw: gateway(zebra, p) == gw)
                    commit.append(t1 - t0)
                    rib.append(t2 - t0)
                rows.append((f"(2) one-route change, {N:,} present (p50 of {changes}; {malloc})",
                             f"commit {statistics.median(commit) * 1e3:.0f} ms, in zebra's RIB "
                             f"{statistics.median(rib) * 1e3:.0f} ms (max {max(rib) * 1e3:.0f}); "
                             f"staticd CPU {statistics.median(cpu):.0f} ms", "< 300 ms"))
                _frr_daemons.stop(d, ("staticd",))
                _frr_daemons.start(ns, d, malloc=args.malloc)
                until(lambda: fib_statics(zebra) == 0)
                t0 = time.perf_counter()
                done = m.drivers[0].full_sync(ds.running)
                t2 = until(lambda: fib_statics(zebra) >= N)
                rows.append((f"(3) full sync after a staticd restart, {N:,} routes",
                             f"{t2 - t0:.2f} s until in the FIB ({done} commands)", ""))
            finally:
                zebra.close()
                m.close()
                ds.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    width = max(len(r[0]) for r in rows)
    print(f"{'bench_frr':<{width}}  result")
    for what, result, target in rows:
        print(f"{what:<{width}}  {result}" + (f"   [target {target}]" if target else ""))


if __name__ == "__main__":
    main()
