"""RESTCONF benchmark (issue #5): a real ``yangd serve`` subprocess over HTTPS, httpx clients.

With N anchor-bench entries present (default 100,000, loaded by one PUT of the list):
(1) GET of one entry, sequential, one keep-alive connection    target: p50 < 5 ms
(2) PATCH of one leaf (a full commit), sequential               target: p50 < 15 ms
(3) GET requests/s with 32 concurrent clients (one keep-alive TLS connection each, asyncio,
    this process on its own core while yangd has the other)     target: >= 1000 GET/s
Prints a table; asserts nothing (exit 1 only if a run fails).

The concurrent clients of (3) speak HTTP/1.1 themselves (a request line and headers out, the
status line, headers and a Content-Length body back, checked): httpx costs ~1 ms of client
CPU per request, as much as the server, so with it (3) measured the client on its core, not
yangd. ``--httpx`` runs (3) with httpx.AsyncClient instead.

    .venv/bin/python bench/bench_restconf.py              # N=100000
    .venv/bin/python bench/bench_restconf.py --quick      # N=10000, fewer requests
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
ANCHOR = REPO.parent / "shared" / "peer" / "yang" / "anchor-bench.yang"
if not ANCHOR.exists():
    ANCHOR = REPO / "tests" / "data" / "anchor-bench.yang"
YANGD = Path(sys.executable).parent / "yangd"
if not YANGD.exists():
    YANGD = REPO / ".venv" / "bin" / "yangd"
USER, PASSWORD = "bench", "bench-pw"
ITEMS = "/restconf/data/anchor-bench:items"
JSON = "application/yang-data+json"


def log(msg: str) -> None:
    print(f"[bench_restconf] {msg}", file=sys.stderr, flush=True)


def entries(n: int) -> list[dict[str, object]]:  # as bench_datastore.py
    return [{"name": f"item-{i:06d}", "value": i, "description": f"benchmark entry {i}",
             "enabled": True, "settings": {"mtu": 1500, "mode": "auto"}} for i in range(n)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def yangd() -> Iterator[tuple[str, Path, int]]:
    """(base URL, certificate, pid) of a yangd with a temp data dir and anchor-bench."""
    data = Path(tempfile.mkdtemp(prefix="bench-restconf-yangd-"))
    logf = data / "yangd.log"
    proc: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run([str(YANGD), "users", "add", USER, "--password-stdin", "--data-dir",
                        str(data)], input=(PASSWORD + "\n").encode(), check=True,
                       stdout=subprocess.DEVNULL)
        port = free_port()
        with open(logf, "ab") as out:
            proc = subprocess.Popen(
                [str(YANGD), "serve", "--data-dir", str(data), "--netconf-listen",
                 f"127.0.0.1:{free_port()}", "--restconf-listen", f"127.0.0.1:{port}",
                 "--module", str(ANCHOR)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        deadline = time.monotonic() + 180
        while not _listening(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("yangd did not start:\n" + logf.read_text(errors="replace")[-3000:])
            time.sleep(0.2)
        log(f"yangd up (pid {proc.pid}), RESTCONF on https://127.0.0.1:{port}, data dir {data}")
        yield f"https://127.0.0.1:{port}", data / "restconf-cert.pem", proc.pid
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(data, ignore_errors=True)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(lat: list[float], q: float) -> float:
    s = sorted(lat)
    return s[min(len(s) - 1, int(len(s) * q))] * 1e3


def sequential(c: httpx.Client, count: int, request: Any) -> list[float]:
    lat = []
    for i in range(count):
        t0 = time.perf_counter()
        r = request(c, i)
        lat.append(time.perf_counter() - t0)
        if r.status_code >= 300:
            raise RuntimeError(f"{r.request.method} {r.request.url}: {r.status_code} {r.text[:300]}")
    return lat


async def concurrent_gets(base: str, ctx: ssl.SSLContext, n: int, clients: int,
                          seconds: float) -> tuple[int, float]:
    """(requests done, elapsed) with ``clients`` connections each GETting one entry in a loop."""
    done = 0
    stop_at = time.perf_counter() + seconds

    async def worker(k: int) -> None:
        nonlocal done
        async with httpx.AsyncClient(base_url=base, verify=ctx, auth=(USER, PASSWORD),
                                     timeout=30) as c:
            i = k
            while time.perf_counter() < stop_at:
                r = await c.get(f"{ITEMS}/item=item-{(i * 7919) % n:06d}")
                if r.status_code != 200:
                    raise RuntimeError(f"GET: {r.status_code} {r.text[:300]}")
                done += 1
                i += clients

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(clients)))
    return done, time.perf_counter() - t0


async def lean_gets(base: str, ctx: ssl.SSLContext, n: int, clients: int,
                    seconds: float) -> tuple[int, float]:
    """concurrent_gets with a minimal HTTP/1.1 client: one keep-alive connection per client,
    every reply's status, Content-Length body and JSON content checked."""
    host, port = base.removeprefix("https://").rsplit(":", 1)
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    done = 0
    stop_at = time.perf_counter() + seconds

    async def worker(k: int) -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection(host, int(port), ssl=ctx,
                                                       server_hostname=host)
        try:
            i = k
            while time.perf_counter() < stop_at:
                name = f"item-{(i * 7919) % n:06d}"
                writer.write(f"GET {ITEMS}/item={name} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                             f"Authorization: Basic {auth}\r\nAccept: {JSON}\r\n\r\n".encode())
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                status = lines[0].split(" ", 2)[1]
                length = next((int(h.split(":", 1)[1]) for h in lines[1:]
                               if h.lower().startswith("content-length:")), None)
                if length is None:
                    raise RuntimeError(f"GET: no Content-Length in {head!r}")
                body = await reader.readexactly(length)
                if status != "200" or json.loads(body)["anchor-bench:item"][0]["name"] != name:
                    raise RuntimeError(f"GET {name}: {status} {body[:300]!r}")
                done += 1
                i += clients
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(clients)))
    return done, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="N=10000, fewer requests")
    ap.add_argument("--entries", type=int, default=None, help="default 100000")
    ap.add_argument("--requests", type=int, default=None, help="sequential GETs (default 1000)")
    ap.add_argument("--patches", type=int, default=None, help="sequential PATCHes (default 300)")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=None, help="concurrent run (default 10)")
    ap.add_argument("--httpx", action="store_true", help="httpx clients for (3), not the lean ones")
    args = ap.parse_args()
    n = args.entries or (10_000 if args.quick else 100_000)
    gets = args.requests or (200 if args.quick else 1000)
    patches = args.patches or (100 if args.quick else 300)
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    rows: list[tuple[str, str, str]] = []
    t_start = time.monotonic()
    with yangd() as (base, cert, pid):
        ctx = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(base_url=base, verify=ctx, auth=(USER, PASSWORD), timeout=300) as c:
            body = json.dumps({"anchor-bench:items": {"item": entries(n)}}).encode()
            t0 = time.perf_counter()
            r = c.put(ITEMS, content=body, headers={"Content-Type": JSON})
            if r.status_code not in (201, 204):
                raise RuntimeError(f"PUT of {n} entries: {r.status_code} {r.text[:500]}")
            rows.append((f"(0) PUT {n:,} entries ({len(body) / 1e6:.1f} MB), one commit",
                         f"{time.perf_counter() - t0:.2f} s", ""))
            for i in range(50):  # warm-up: connection, caches, the user's password check
                c.get(f"{ITEMS}/item=item-{i:06d}")
            cpu0 = cpu_seconds(pid)
            lat = sequential(c, gets, lambda c, i: c.get(f"{ITEMS}/item=item-{(i * 7919) % n:06d}"))
            cpu = (cpu_seconds(pid) - cpu0) / gets * 1e3
            rows.append((f"(1) GET one entry, {n:,} present",
                         f"p50 {pct(lat, 0.5):.2f} ms, p99 {pct(lat, 0.99):.2f} ms",
                         "p50 < 5 ms"))
            rows.append(("    server CPU per GET", f"{cpu:.2f} ms", ""))
            cpu0 = cpu_seconds(pid)
            lat = sequential(c, patches, lambda c, i: c.patch(
                f"{ITEMS}/item=item-{(i * 7919) % n:06d}",
                content=json.dumps({"anchor-bench:item": [
                    {"name": f"item-{(i * 7919) % n:06d}", "value": -i}]}).encode(),
                headers={"Content-Type": JSON}))
            cpu = (cpu_seconds(pid) - cpu0) / patches * 1e3
            rows.append((f"(2) PATCH one leaf (commit), {n:,} present",
                         f"p50 {pct(lat, 0.5):.2f} ms, p99 {pct(lat, 0.99):.2f} ms",
                         "p50 < 15 ms"))
            rows.append(("    server CPU per PATCH", f"{cpu:.2f} ms", ""))
            check = c.get(f"{ITEMS}/item=item-000000/value").json()
            if check != {"anchor-bench:value": 0}:  # i = 0 patched item 0 to -0
                raise RuntimeError(f"unexpected value after the PATCHes: {check}")
        cpu0, mine0 = cpu_seconds(pid), time.process_time()
        run = concurrent_gets if args.httpx else lean_gets
        done, elapsed = asyncio.run(run(base, ctx, n, args.clients, seconds))
        cpu, mine = cpu_seconds(pid) - cpu0, time.process_time() - mine0
        rows.append((f"(3) GET one entry, {args.clients} concurrent clients",
                     f"{done / elapsed:.0f} GET/s ({done} in {elapsed:.1f} s)", ">= 1000 GET/s"))
        rows.append(("    server CPU busy", f"{cpu / elapsed * 100:.0f} % of one core, "
                     f"{cpu / max(done, 1) * 1e3:.2f} ms per GET", ""))
        rows.append(("    client CPU", f"{mine / max(done, 1) * 1e3:.2f} ms per GET"
                     f"{' (httpx)' if args.httpx else ''}", ""))
    print(f"bench_restconf.py, {date.today().isoformat()}: {os.cpu_count()} cores, load "
          f"{'/'.join(f'{x:.2f}' for x in os.getloadavg())}; total {time.monotonic() - t_start:.0f} s")
    w = max(len(r[0]) for r in rows)
    print(f"{'measure':<{w}}  {'result':<36}  target")
    for name, result, target in rows:
        print(f"{name:<{w}}  {result:<36}  {target}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (RuntimeError, httpx.HTTPError, subprocess.CalledProcessError) as e:
        log(f"failed: {e}")
        sys.exit(1)
