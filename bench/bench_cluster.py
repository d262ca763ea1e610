"""Cluster benchmark (issue #10): 1, 2 and 3 real ``yangd serve`` processes on one PostgreSQL.

For each cluster size, on a fresh schema of a fresh database at 127.0.0.1:5432:
(1) commits/s: 2 NETCONF clients per instance (ncclient, one thread each), every request an
    ``edit-config`` of running that adds one interface (a full commit), for ``--seconds``;
(2) RESTCONF GET/s: 8 concurrent keep-alive clients per instance (httpx.AsyncClient) reading
    one interface, for ``--seconds``;
(3) propagation (2 and 3 instances): a commit on instance 0 every 50 ms; a poller per other
    instance reads its head commit over RESTCONF in a tight loop; the delay is from the
    commit's acknowledgement to the first read showing it (resolution: one GET, a few ms).
Prints a table; asserts nothing. Client and servers share this machine's cores, so (2) is
bounded by the client's CPU as much as by yangd's.

    .venv/bin/python bench/bench_cluster.py                 # 8 s per measurement
    .venv/bin/python bench/bench_cluster.py --seconds 3     # quicker
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from ncclient import manager
from ncclient.transport import session as _nc_session

_nc_session.TICK = 0.001  # ncclient otherwise waits up to 100 ms per reply (bench_netconf.py)

REPO = Path(__file__).resolve().parents[1]
YANGD = Path(sys.executable).parent / "yangd"
if not YANGD.exists():
    YANGD = REPO / ".venv" / "bin" / "yangd"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
USER, PASSWORD = "bench", "bench-pw"
NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
IF = "urn:ietf:params:xml:ns:yang:ietf-interfaces"
IANA = "urn:ietf:params:xml:ns:yang:iana-if-type"
HEAD = "/restconf/data/yangd-commits:commits/head"
JSON = "application/yang-data+json"


def log(msg: str) -> None:
    print(f"[bench_cluster] {msg}", file=sys.stderr, flush=True)


def iface(name: str) -> str:
    return (f'<config xmlns="{NC}"><interfaces xmlns="{IF}" xmlns:ianaift="{IANA}"><interface>'
            f"<name>{name}</name><type>ianaift:ethernetCsmacd</type></interface></interfaces>"
            "</config>")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Instance:
    proc: subprocess.Popen[bytes]
    data: Path
    port: int
    rport: int

    def nc(self) -> Any:
        return manager.connect(host="127.0.0.1", port=self.port, username=USER,
                               password=PASSWORD, hostkey_verify=False, look_for_keys=False,
                               allow_agent=False, timeout=60)

    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.data / "restconf-cert.pem"))

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.rport}"


def start(tmp: Path, url: str) -> Instance:
    data = tmp / "data"
    subprocess.run([str(YANGD), "users", "add", USER, "--password-stdin", "--data-dir", str(data)],
                   input=PASSWORD + "\n", text=True, check=True, capture_output=True)
    port, rport = free_port(), free_port()
    cfg = tmp / "yangd.toml"
    cfg.write_text(f'data_dir = "{data}"\nnetconf_listen = "127.0.0.1:{port}"\n'
                   f'restconf_listen = "127.0.0.1:{rport}"\ndatabase_url = "{url}"\n'
                   'log_level = "warning"\n')
    logf = (tmp / "yangd.log").open("wb")
    proc = subprocess.Popen([str(YANGD), "serve", "--config", str(cfg)], stdout=logf,
                            stderr=subprocess.STDOUT, cwd=REPO)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"yangd exited: {(tmp / 'yangd.log').read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", rport), 0.5):
                inst = Instance(proc, data, port, rport)
                with inst.nc():
                    return inst
        except OSError:
            time.sleep(0.2)
        except Exception:
            time.sleep(0.2)
    raise RuntimeError("yangd did not start")


def stop(inst: Instance) -> None:
    if inst.proc.poll() is None:
        inst.proc.send_signal(signal.SIGTERM)
        try:
            inst.proc.wait(30)
        except subprocess.TimeoutExpired:
            inst.proc.kill()
            inst.proc.wait()


def commits_per_second(insts: list[Instance], seconds: float, tag: str) -> float:
    count = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    errors: list[str] = []

    def client(inst: Instance, name: str) -> None:
        i = 0
        try:
            with inst.nc() as m:
                while time.monotonic() < stop_at:
                    m.edit_config(target="running", config=iface(f"{tag}-{name}-{i}"))
                    i += 1
                    with lock:
                        count[0] += 1
        except Exception as e:
            errors.append(str(e))

    threads = [threading.Thread(target=client, args=(inst, f"{k}{j}"))
               for k, inst in enumerate(insts) for j in range(2)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        log(f"{len(errors)} client errors, e.g. {errors[0]}")
    return count[0] / (time.monotonic() - t0)


def gets_per_second(insts: list[Instance], seconds: float) -> float:
    async def run() -> int:
        stop_at = time.monotonic() + seconds
        n = 0

        async def client(inst: Instance, c: httpx.AsyncClient) -> None:
            nonlocal n
            while time.monotonic() < stop_at:
                r = await c.get("/restconf/data/ietf-interfaces:interfaces/interface=base",
                                headers={"Accept": JSON})
                r.raise_for_status()
                n += 1

        clients = [httpx.AsyncClient(base_url=i.base, verify=i.tls(), auth=(USER, PASSWORD),
                                     timeout=30) for i in insts]
        try:
            await asyncio.gather(*(client(i, c) for i, c in zip(insts, clients, strict=True)
                                   for _ in range(8)))
        finally:
            for c in clients:
                await c.aclose()
        return n

    t0 = time.monotonic()
    n = asyncio.run(run())
    return n / (time.monotonic() - t0)


def propagation(insts: list[Instance], rounds: int) -> list[float]:
    """Seconds from a commit's acknowledgement on instance 0 to each other instance showing it."""
    seen: dict[tuple[int, int], float] = {}
    done = threading.Event()

    def poller(k: int, inst: Instance) -> None:
        with httpx.Client(base_url=inst.base, verify=inst.tls(), auth=(USER, PASSWORD),
                          timeout=30) as c:
            last = -1
            while not done.is_set():
                head = int(c.get(HEAD, headers={"Accept": JSON}).json()["yangd-commits:head"])
                now = time.monotonic()
                for h in range(last + 1, head + 1):
                    seen.setdefault((k, h), now)
                last = max(last, head)

    threads = [threading.Thread(target=poller, args=(k, i), daemon=True)
               for k, i in enumerate(insts) if k]
    for t in threads:
        t.start()
    acked: dict[int, float] = {}
    with insts[0].nc() as m, httpx.Client(base_url=insts[0].base, verify=insts[0].tls(),
                                            auth=(USER, PASSWORD), timeout=30) as c:
        for i in range(rounds):
            m.edit_config(target="running", config=iface(f"prop-{i}"))
            at = time.monotonic()
            head = int(c.get(HEAD, headers={"Accept": JSON}).json()["yangd-commits:head"])
            acked[head] = at
            time.sleep(0.05)
    time.sleep(1.0)
    done.set()
    for t in threads:
        t.join(10)
    return [max(0.0, seen[(k, h)] - at) for h, at in acked.items()
            for k in range(1, len(insts)) if (k, h) in seen]


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] if xs else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=8.0, help="duration of (1) and (2)")
    ap.add_argument("--rounds", type=int, default=100, help="commits timed in (3)")
    ap.add_argument("--sizes", default="1,2,3")
    args = ap.parse_args()
    db = f"yangd_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    rows: list[tuple[int, float, float, list[float]]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
            for n in (int(x) for x in args.sizes.split(",")):
                schema = f"n{n}"
                with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{db}",
                                     autocommit=True) as conn:
                    conn.execute(f'CREATE SCHEMA "{schema}"')
                url = (f"postgresql+psycopg://postgres@127.0.0.1:5432/{db}"
                       f"?options=-csearch_path%3D{schema}")
                insts = []
                try:
                    for k in range(n):
                        d = Path(tmp) / f"n{n}-{k}"
                        d.mkdir()
                        insts.append(start(d, url))
                    with insts[0].nc() as m:
                        m.edit_config(target="running", config=iface("base"))
                    log(f"{n} instance(s) up; commits ...")
                    cps = commits_per_second(insts, args.seconds, f"n{n}")
                    log(f"{n}: {cps:.0f} commits/s; GETs ...")
                    gps = gets_per_second(insts, args.seconds)
                    log(f"{n}: {gps:.0f} GET/s")
                    delays = propagation(insts, args.rounds) if n > 1 else []
                    rows.append((n, cps, gps, delays))
                finally:
                    for i in insts:
                        stop(i)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    print(f"{'instances':>9} {'commits/s':>10} {'GET/s':>8} {'prop p50 ms':>12} "
          f"{'prop p99 ms':>12} {'samples':>8}")
    for n, cps, gps, delays in rows:
        p50 = f"{pct(delays, 50) * 1000:.1f}" if delays else "-"
        p99 = f"{pct(delays, 99) * 1000:.1f}" if delays else "-"
        print(f"{n:>9} {cps:>10.0f} {gps:>8.0f} {p50:>12} {p99:>12} {len(delays):>8}")
    if any(ds and statistics.median(ds) > 0.1 for _, _, _, ds in rows):
        log("propagation median above the 100 ms target")


if __name__ == "__main__":
    main()
