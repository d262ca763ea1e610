"""Starting and stopping FRR daemons in a network namespace with a state directory of their own.

Debian's FRR (``/usr/lib/frr``) is started the way its init script would, but with every path
moved into ``state_dir``: vty sockets (``--vty_socket``), the zebra API socket (``-z``), pid
files (``-i``), an empty per-daemon config file (``-f``; yangd configures the daemons over
their vty sockets, never through files) and a log file. No TCP vty port is opened (``-P 0``).
The daemons run as the ``frr`` user (FRR refuses root without the frrvty group), so the
directory is handed to that user. Nothing under /etc/frr or /var/run/frr is touched, so a
host's own FRR is never disturbed.

Memory allocator: the daemons run with gperftools' tcmalloc_minimal preloaded when it is
installed (Debian: libtcmalloc-minimal4), which is what FRR's own ``--enable-tcmalloc`` build
option links in (Debian's build leaves it out). Every northbound transaction of staticd copies,
validates, diffs and frees its whole libyang tree; with glibc's malloc a one-route change with
10,000 static routes costs staticd about 360 ms of CPU, with tcmalloc about 240 ms (bench_frr,
bench/README.md). An operator starting FRR themselves gets the same with
``LD_PRELOAD=libtcmalloc_minimal.so.4``.
"""

from __future__ import annotations

import ctypes.util
import functools
import os
import pwd
import signal
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

from southbound.errors import DriverError

SBIN = Path("/usr/lib/frr")
DAEMONS = ("zebra", "staticd", "bgpd")


def pid_of(state_dir: Path, daemon: str) -> int | None:
    """The pid of ``daemon`` if its pid file names a live process."""
    try:
        pid = int((state_dir / f"{daemon}.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


@functools.cache
def tcmalloc() -> str | None:
    """The soname of tcmalloc_minimal if the dynamic linker finds it (ldconfig's cache)."""
    name = ctypes.util.find_library("tcmalloc_minimal")
    return name if name and name.startswith("libtcmalloc_minimal.so") else None


def environment(malloc: str = "tcmalloc") -> dict[str, str]:
    """The daemons' environment: ours, with tcmalloc preloaded (``malloc="glibc"``: without)."""
    env = dict(os.environ)
    lib = tcmalloc() if malloc == "tcmalloc" else None
    if lib is not None:
        env["LD_PRELOAD"] = " ".join(x for x in (env.get("LD_PRELOAD"), lib) if x)
    return env


def command(namespace: str, state_dir: Path, daemon: str) -> list[str]:
    d = str(state_dir)
    ns = ["ip", "netns", "exec", namespace] if namespace else []
    return [*ns, str(SBIN / daemon), "-d", "--vty_socket", d, "-z", f"{d}/zserv.api",
            "-i", f"{d}/{daemon}.pid", "-f", f"{d}/{daemon}.conf", "-P", "0",
            "--log", f"file:{d}/{daemon}.log"]


def start(namespace: str, state_dir: Path, daemons: Iterable[str] = DAEMONS, *,
          malloc: str = "tcmalloc") -> None:
    """Start the daemons not running yet (zebra first: the others connect to it);
    ``malloc``: "tcmalloc" (when installed) or "glibc"."""
    if not (SBIN / "zebra").exists():
        raise DriverError(f"FRR is not installed ({SBIN / 'zebra'} is missing)")
    state_dir.mkdir(parents=True, exist_ok=True)
    try:
        frr = pwd.getpwnam("frr")
    except KeyError:
        raise DriverError("the frr user does not exist (is the frr package installed?)") from None
    if os.geteuid() == 0:
        os.chown(state_dir, frr.pw_uid, frr.pw_gid)
    state_dir.chmod(0o755)
    for parent in state_dir.resolve().parents:  # the daemons run as frr: they must reach it
        st = parent.stat()
        if not (st.st_mode & 0o001 or (st.st_uid == frr.pw_uid and st.st_mode & 0o100)
                or (st.st_gid == frr.pw_gid and st.st_mode & 0o010)):
            raise DriverError(f"FRR's daemons (user frr) cannot reach {state_dir}: {parent} is not "
                              "searchable by that user")
    for daemon in daemons:
        if pid_of(state_dir, daemon) is not None:
            continue
        conf = state_dir / f"{daemon}.conf"
        conf.touch()
        if os.geteuid() == 0:
            os.chown(conf, frr.pw_uid, frr.pw_gid)
        p = subprocess.run(command(namespace, state_dir, daemon), capture_output=True, text=True,
                           timeout=30, env=environment(malloc))
        if p.returncode != 0:  # -d returns once the daemon is up, or with its error
            raise DriverError(f"FRR {daemon} did not start in namespace {namespace!r}: "
                              f"{(p.stderr or p.stdout).strip()}")


def stop(state_dir: Path, daemons: Iterable[str] = DAEMONS, wait: float = 5.0) -> None:
    """SIGTERM the daemons of ``state_dir`` (reverse start order), SIGKILL the slow ones."""
    pids = [p for d in reversed(tuple(daemons)) if (p := pid_of(state_dir, d)) is not None]
    for p in pids:
        _signal(p, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    for p in pids:
        if _alive(p):
            _signal(p, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie (our own child, not reaped yet) is dead
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except OSError:
        pass
