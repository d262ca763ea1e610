"""NETCONF side by side: yangd against the reference server (yuma123 netconfd), one run.

Runs ../shared/peer/bench.py (ncclient over SSH, anchor-bench module) with the same arguments
against both servers, one after the other on the same machine, then prints one table:

  (a) create N entries: one edit-config + commit     (b) get-config running, whole and filtered
  (c) one-leaf edit-config + commit transactions      (d) server RSS      (e) remove-all + commit

netconfd: started with ``../shared/peer/setup.sh all`` (Debian packages, a private sshd on
127.0.0.1:8830, user/pass ncbench/ncbench, client venv /tmp/anchor-venv) unless it is already
running; a netconfd this script started is stopped (``setup.sh stop``) once its run is done, and
its runtime directory and ~/.yuma (netconfd writes there) are removed if the script created them.
RSS/CPU are netconfd's own process (sshd and netconf-subsystem are not counted; yangd's figures
include its in-process SSH).

yangd: ``yangd serve --module anchor-bench.yang`` on an OS-chosen free port with a temporary
data dir and user; terminated (SIGTERM) and the data dir removed at the end.

Targets (issue): every row at least as good as netconfd; one-leaf edit+commit with 10,000
entries present > 100 tx/s. Prints a table; asserts nothing (exit 1 only if a run fails).

    .venv/bin/python bench/bench_netconf.py                 # sizes 1000,10000, 3 repeats
    .venv/bin/python bench/bench_netconf.py --quick         # sizes 1000, 1 repeat, 100 tx
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PEER = REPO.parent / "shared" / "peer"
SETUP = PEER / "setup.sh"
BENCH = PEER / "bench.py"
ANCHOR_YANG = PEER / "yang" / "anchor-bench.yang"
YANGD = Path(sys.executable).parent / "yangd"
if not YANGD.exists():
    YANGD = REPO / ".venv" / "bin" / "yangd"

STATE = Path(os.environ.get("ANCHOR_STATE", "/tmp/anchor-netconfd"))
CLIENT_VENV = Path(os.environ.get("ANCHOR_VENV", "/tmp/anchor-venv"))
NC_PORT = int(os.environ.get("ANCHOR_PORT", "8830"))
NC_USER = os.environ.get("ANCHOR_USER", "ncbench")
NC_PASS = os.environ.get("ANCHOR_PASS", "ncbench")
YD_USER, YD_PASS = "bench", "bench-pw"

LOWER, HIGHER, INFO = "lower", "higher", "info"
# (label, key in bench.py's per-run results, format, which direction is better)
ROWS: list[tuple[str, str, str, str]] = [
    ("connect + hello (SSH) [s]", "connect_s", "%.3f", LOWER),
    ("server RSS, empty [MiB]", "base_rss_kib", "rss", LOWER),
    ("(a) create N: edit-config + commit [s]", "create_total_s", "%.3f", LOWER),
    ("    of which edit-config [s]", "create_edit_s", "%.3f", LOWER),
    ("    of which commit [s]", "create_commit_s", "%.3f", LOWER),
    ("    server CPU [s]", "create_server_cpu_s", "%.3f", LOWER),
    ("(b) get-config running [s]", "getcfg_s", "%.3f", LOWER),
    ("    reply size as sent [bytes]", "getcfg_bytes", "%d", INFO),
    ("    reply size, no whitespace [bytes]", "getcfg_compact_bytes", "%d", INFO),
    ("    server CPU [s]", "getcfg_server_cpu_s", "%.3f", LOWER),
    ("    subtree filter <items/> [s]", "getcfg_filtered_s", "%.3f", LOWER),
    ("(c) one-leaf edit + commit [tx/s]", "small_tx_per_s", "%.2f", HIGHER),
    ("    transactions done per run", "small_tx_count", "%d", INFO),
    ("    latency p50 [ms]", "small_tx_p50_ms", "%.2f", LOWER),
    ("    latency p99 [ms]", "small_tx_p99_ms", "%.2f", LOWER),
    ("    server CPU per tx [ms]", "small_tx_server_cpu_ms_per_tx", "%.2f", LOWER),
    ("(d) server RSS with N entries [MiB]", "rss_kib", "rss", LOWER),
    ("(e) remove-all N: edit + commit [s]", "delete_all_s", "%.3f", LOWER),
]
TX_TARGET_N, TX_TARGET = 10000, 100.0
TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")


def log(msg: str) -> None:
    print(f"[bench_netconf] {msg}", file=sys.stderr, flush=True)


class Interrupted(Exception):
    pass


def _on_signal(signum: int, _frame: Any) -> None:
    raise Interrupted(f"signal {signum}")


# --- netconfd (../shared/peer/setup.sh) ------------------------------------------------------

def setup_sh(*args: str, check: bool = True) -> int:
    # setup.sh's own messages go to stderr so they do not mix with the table
    rc = subprocess.run([str(SETUP), *args], stdout=sys.stderr, stderr=sys.stderr).returncode
    if check and rc != 0:
        raise RuntimeError(f"{SETUP} {' '.join(args)} failed (rc {rc})")
    return rc


def netconfd_running() -> bool:
    return subprocess.run([str(SETUP), "status"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


@contextmanager
def netconfd() -> Iterator[int]:
    """The reference server's pid; started (and afterwards stopped) here unless already up."""
    if netconfd_running():
        log(f"netconfd already running (state {STATE}): using it, leaving it running")
        yield int((STATE / "netconfd.pid").read_text().strip())
        return
    made_state = not STATE.exists()
    yuma = Path(pwd.getpwuid(os.getuid()).pw_dir) / ".yuma"  # netconfd writes ~/.yuma
    made_yuma = not yuma.exists()
    made_run_sshd = not Path("/run/sshd").exists()
    try:
        setup_sh("all")
        yield int((STATE / "netconfd.pid").read_text().strip())
    finally:
        setup_sh("stop", check=False)
        if made_state:
            shutil.rmtree(STATE, ignore_errors=True)
        if made_yuma:
            shutil.rmtree(yuma, ignore_errors=True)
        if made_run_sshd:
            try:
                Path("/run/sshd").rmdir()
            except OSError:
                pass


# --- yangd -------------------------------------------------------------------------------------

def free_port() -> int:
    """A port the OS just handed out (random ephemeral port: parallel runs do not collide)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[bytes], logf: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"yangd exited (rc {proc.returncode}) before listening:\n"
                               + logf.read_text(errors="replace")[-3000:])
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"yangd did not listen on 127.0.0.1:{port} within {timeout:.0f} s:\n"
                       + logf.read_text(errors="replace")[-3000:])


@contextmanager
def yangd(keep: bool) -> Iterator[tuple[int, int, Path]]:
    """(pid, port, log file) of a yangd with a temp data dir, anchor-bench loaded, one user."""
    data = Path(tempfile.mkdtemp(prefix="bench-netconf-yangd-"))
    logf = data / "yangd.log"
    proc: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run([str(YANGD), "users", "add", YD_USER, "--password-stdin", "--data-dir",
                        str(data)], input=(YD_PASS + "\n").encode(), check=True,
                       stdout=subprocess.DEVNULL)
        for _attempt in range(5):
            port = free_port()
            with open(logf, "ab") as out:
                proc = subprocess.Popen(
                    [str(YANGD), "serve", "--data-dir", str(data), "--netconf-listen",
                     f"127.0.0.1:{port}", "--restconf-listen", f"127.0.0.1:{free_port()}",
                     "--module", str(ANCHOR_YANG)],
                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    start_new_session=True)
            try:
                wait_listening(port, proc, logf, 180)
                break
            except RuntimeError:
                if proc.poll() is None or "cannot listen" not in logf.read_text(errors="replace"):
                    raise
        else:
            raise RuntimeError("could not start yangd on a free port")
        log(f"yangd up (pid {proc.pid}) on 127.0.0.1:{port}, data dir {data}")
        yield proc.pid, port, logf
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                log(f"yangd (pid {proc.pid}) still alive 15 s after SIGTERM: killing it")
                proc.kill()
                proc.wait()
        if keep:
            log(f"kept yangd data dir {data}")
        else:
            shutil.rmtree(data, ignore_errors=True)


# --- bench.py ----------------------------------------------------------------------------------

def run_bench(name: str, port: int, user: str, password: str, pid: int, bench_args: list[str],
              json_out: Path) -> dict[str, Any]:
    python = CLIENT_VENV / "bin" / "python"
    cmd = [str(python), str(BENCH), "--host", "127.0.0.1", "--port", str(port), "-u", user,
           "-p", password, "--server-pid", str(pid), "--label", name, "--json-out", str(json_out),
           *bench_args]
    log(f"{name}: {' '.join(cmd[:2])} --port {port} --server-pid {pid} {' '.join(bench_args)}")
    t0 = time.monotonic()
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as p:
        assert p.stdout is not None
        tail: deque[str] = deque(maxlen=40)
        try:
            for line in p.stdout:
                line = line.rstrip("\n")
                tail.append(line)
                if not line.startswith("  cap: "):
                    print(f"[{name}] {line}", file=sys.stderr, flush=True)
        except BaseException:
            p.kill()  # interrupted: do not wait for the client to finish its run
            raise
    if p.returncode != 0:
        raise RuntimeError(f"bench.py against {name} failed (rc {p.returncode}):\n"
                           + "\n".join(tail))
    log(f"{name}: done in {time.monotonic() - t0:.0f} s")
    result: dict[str, Any] = json.loads(json_out.read_text())
    return result


# --- table -------------------------------------------------------------------------------------

def values(res: dict[str, Any], n: int, key: str) -> list[float]:
    if key == "connect_s":
        return list(res.get("connect_s") or [])
    if key == "base_rss_kib":
        return [res["base_rss_kib"]] if res.get("base_rss_kib") is not None else []
    return [r[key] for r in res["results"][str(n)] if r.get(key) is not None]


def fmt(v: float | None, f: str) -> str:
    if v is None:
        return "n/a"
    if f == "rss":
        return f"{v / 1024:.1f}"
    return f % v


def cell(vals: list[float], f: str) -> str:
    if not vals:
        return "n/a"
    if len(vals) == 1:
        return fmt(vals[0], f)
    return f"{fmt(statistics.median(vals), f)} ({fmt(min(vals), f)}..{fmt(max(vals), f)})"


def verdict(ref: list[float], ours: list[float], better: str,
            cpu_tick: float = 0.0) -> tuple[str, bool | None]:
    if better == INFO or not ref or not ours:
        return "", None
    a, b = statistics.median(ref), statistics.median(ours)
    if cpu_tick and abs(a - b) <= cpu_tick:  # /proc CPU times count whole clock ticks
        return "same (within one CPU tick)", True
    ok = b <= a if better == LOWER else b >= a
    if a == 0 or b == 0:
        return ("ok" if ok else "WORSE"), ok
    ratio = a / b if better == LOWER else b / a  # > 1: yangd better
    word = "ok" if ok else "WORSE"
    return (f"{word}, {ratio:.1f}x better" if ratio >= 1 else f"{word}, {1 / ratio:.1f}x worse"), ok


def table(ref: dict[str, Any], ours: dict[str, Any], sizes: list[int]) -> tuple[str, list[str]]:
    misses: list[str] = []
    w = 40
    lines = []
    for n in sizes:
        head = f"{'N=' + format(n, ','):<{w}} | {'netconfd':<28} | {'yangd':<28} | yangd vs netconfd"
        lines += [head, "-" * len(head)]
        for label, key, f, better in ROWS:
            if key in ("connect_s", "base_rss_kib") and n != sizes[0]:
                continue
            r, o = values(ref, n, key), values(ours, n, key)
            v, ok = verdict(r, o, better, TICK_S if key.endswith("server_cpu_s") else 0.0)
            if ok is False:
                misses.append(f"N={n}: {label.strip()}")
            lines.append(f"{label:<{w}} | {cell(r, f):<28} | {cell(o, f):<28} | {v}")
        lines.append("")
    return "\n".join(lines), misses


# --- main --------------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="try-out: sizes 1000, 1 repeat, 100 small tx in at most 20 s")
    ap.add_argument("--sizes", default=None, help="comma-separated N (default 1000,10000)")
    ap.add_argument("--repeats", type=int, default=None, help="default 3")
    ap.add_argument("--small-tx", type=int, default=None, help="default 1000")
    ap.add_argument("--small-tx-budget", type=float, default=None,
                    help="seconds per small-tx loop (default 120; netconfd at 10k needs ~40 s/tx)")
    ap.add_argument("--ncclient-tick", type=float, default=0.001,
                    help="ncclient transport poll interval, the same for both (default 0.001)")
    ap.add_argument("--connects", type=int, default=5)
    ap.add_argument("--only", choices=("netconfd", "yangd"), default=None,
                    help="run one server only (no comparison)")
    ap.add_argument("--json-dir", type=Path, default=None,
                    help="keep both bench.py JSON results here (default: a temp dir, removed)")
    ap.add_argument("--keep-yangd-data", action="store_true", help="do not remove yangd's data dir")
    args = ap.parse_args()

    q = args.quick
    sizes = args.sizes or ("1000" if q else "1000,10000")
    bench_args = ["--sizes", sizes,
                  "--repeats", str(args.repeats or (1 if q else 3)),
                  "--small-tx", str(args.small_tx or (100 if q else 1000)),
                  "--small-tx-budget", str(args.small_tx_budget or (20 if q else 120)),
                  "--ncclient-tick", str(args.ncclient_tick),
                  "--connects", str(args.connects)]
    size_list = [int(s) for s in sizes.split(",") if s.strip()]
    for path in (SETUP, BENCH, ANCHOR_YANG):
        if not path.exists():
            log(f"missing {path}")
            return 2

    signal.signal(signal.SIGTERM, _on_signal)
    json_dir = args.json_dir or Path(tempfile.mkdtemp(prefix="bench-netconf-"))
    json_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, Any]] = {}
    t0 = time.monotonic()
    runs: list[tuple[str, Callable[[], dict[str, Any]]]] = []

    def run_netconfd() -> dict[str, Any]:
        with netconfd() as pid:
            return run_bench("netconfd", NC_PORT, NC_USER, NC_PASS, pid, bench_args,
                             json_dir / "netconfd.json")

    def run_yangd() -> dict[str, Any]:
        if not (CLIENT_VENV / "bin" / "python").exists():  # the client venv comes with setup.sh
            setup_sh("install")
        with yangd(args.keep_yangd_data) as (pid, port, logf):
            try:
                return run_bench("yangd", port, YD_USER, YD_PASS, pid, bench_args,
                                 json_dir / "yangd.json")
            except RuntimeError:
                log(f"tail of yangd's log ({logf}):\n"
                    + logf.read_text(errors="replace")[-4000:])
                raise

    if args.only != "yangd":
        runs.append(("netconfd", run_netconfd))
    if args.only != "netconfd":
        runs.append(("yangd", run_yangd))
    rc = 0
    try:
        for name, fn in runs:
            try:
                results[name] = fn()
            except (RuntimeError, subprocess.CalledProcessError) as e:
                log(f"{name}: {e}")
                rc = 1
    except (Interrupted, KeyboardInterrupt) as e:
        log(f"interrupted ({e or 'SIGINT'}): servers stopped")
        return 130
    finally:
        if args.json_dir is None:
            shutil.rmtree(json_dir, ignore_errors=True)

    print(f"bench_netconf.py, {date.today().isoformat()}: bench.py {' '.join(bench_args)}; "
          f"{os.cpu_count()} cores, load {'/'.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"total {time.monotonic() - t0:.0f} s")
    print("median over repeats (min..max); RSS/CPU: netconfd's process only (not its sshd), "
          "yangd's whole process (SSH in-process)\n")
    empty: dict[str, Any] = {"results": {str(n): [] for n in size_list}}
    text, misses = table(results.get("netconfd", empty), results.get("yangd", empty), size_list)
    print(text)
    if "netconfd" in results and "yangd" in results:
        print("target: every row at least as good as netconfd: "
              + ("met" if not misses else "MISSED on " + "; ".join(misses)))
    if "yangd" in results and str(TX_TARGET_N) in results["yangd"]["results"]:
        tx = values(results["yangd"], TX_TARGET_N, "small_tx_per_s")
        if tx:
            m = statistics.median(tx)
            print(f"target: one-leaf edit+commit at N={TX_TARGET_N:,} > {TX_TARGET:.0f} tx/s: "
                  f"{m:.1f} tx/s, " + ("met" if m > TX_TARGET else "MISSED"))
    return rc


if __name__ == "__main__":
    sys.exit(main())
