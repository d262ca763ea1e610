"""The stacks driver's kernel access: sysctls and main-table routes of named network namespaces.

One driver serves many namespaces, so its worker thread does not stay in one: ``inside(ns)``
enters a namespace with setns(2) (which moves the calling thread only) and returns to the
thread's own namespace on leaving, so a /proc/sys/net/ipv4 file opened inside is that
namespace's. Route sockets are made inside too (a netlink socket belongs to the namespace of
its creator) and kept per namespace, recreated when the name points to a new namespace.
``fresh_defaults`` reads what a new namespace gets, from a namespace made for the purpose by
a short-lived thread (unshare(2)), which the kernel drops when the thread ends. Kernel
errors become DriverError here.
"""

from __future__ import annotations

import ctypes
import errno
import ipaddress
import os
import re
import socket
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from southbound._stacks_plan import KRoute, ROp, norm
from southbound.errors import DriverError

CLONE_NEWNET = 0x40000000
TABLE_MAIN = 254
SCOPE_NOWHERE = 255
IPV4 = "/proc/sys/net/ipv4"
AF = {4: socket.AF_INET, 6: socket.AF_INET6}
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def ns_ino(ns: str) -> tuple[int, int] | None:
    try:
        st = os.stat(f"/run/netns/{ns}")
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def is_host(ns: str) -> bool:
    """Whether the named namespace is the initial one (the only one that may default to a
    congestion control outside tcp_allowed_congestion_control)."""
    try:
        a, b = os.stat(f"/run/netns/{ns}"), os.stat("/proc/1/ns/net")
    except OSError:
        return False
    return a.st_ino == b.st_ino and a.st_dev == b.st_dev


def read_sysctl(key: str) -> str | None:
    """net.ipv4.``key`` of the namespace the thread is in (None: it does not exist)."""
    try:
        with open(f"{IPV4}/{key}") as f:
            return norm(f.read())
    except OSError:
        return None


def write_sysctl(key: str, value: str, path: str | None) -> None:
    try:
        with open(f"{IPV4}/{key}", "w") as f:
            f.write(value)
    except OSError as e:
        raise DriverError(f"sysctl net.ipv4.{key}={value}: {os.strerror(e.errno or 0)}",
                          path) from None


def fresh_defaults(keys: Iterable[str]) -> dict[str, str]:
    """The value of each sysctl in a network namespace created now."""
    out: dict[str, str] = {}
    failed: list[OSError] = []

    def probe() -> None:
        if _libc.unshare(CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            failed.append(OSError(e, os.strerror(e)))
            return
        for k in keys:
            v = read_sysctl(k)
            if v is not None:
                out[k] = v

    t = threading.Thread(target=probe, name="yangd-stacks-probe")
    t.start()
    t.join()
    if failed:
        raise DriverError(f"cannot create a network namespace to learn kernel defaults: "
                          f"{failed[0].strerror}")
    return out


def loadable(alg: str) -> bool:
    """Whether the kernel can load congestion control ``alg`` as module tcp_<alg>."""
    rel = os.uname().release
    pat = re.compile(rf"(^|/)tcp_{re.escape(alg)}\.ko", re.M)
    for f in ("modules.dep", "modules.builtin"):
        try:
            with open(f"/lib/modules/{rel}/{f}") as fh:
                if pat.search(fh.read()):
                    return True
        except OSError:
            continue
    return False


def to_kroute(msg: Any) -> KRoute:
    fam = 4 if msg["family"] == socket.AF_INET else 6
    dst = msg.get_attr("RTA_DST") or ("0.0.0.0" if fam == 4 else "::")
    metrics = msg.get_attr("RTA_METRICS")
    mx = tuple(sorted((a[0], a[1]) for a in metrics["attrs"])) if metrics else ()
    hops = msg.get_attr("RTA_MULTIPATH") or ()
    mp = tuple((h.get_attr("RTA_GATEWAY"), h["oif"], h["hops"]) for h in hops)
    return KRoute(fam, str(ipaddress.ip_network(f"{dst}/{msg['dst_len']}")),
                  msg.get_attr("RTA_PRIORITY") or 0, msg["proto"], msg["type"], msg["scope"],
                  msg.get_attr("RTA_OIF"), msg.get_attr("RTA_GATEWAY"),
                  msg.get_attr("RTA_PREFSRC"), mp, mx)


class StacksIO:
    """Used only in the driver's worker thread."""

    def __init__(self) -> None:
        self._ipr: dict[str, tuple[tuple[int, int], Any]] = {}

    def close(self) -> None:
        for _, ipr in self._ipr.values():
            ipr.close()
        self._ipr.clear()

    @contextmanager
    def inside(self, ns: str, path: str | None = None) -> Iterator[None]:
        try:
            fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
        except OSError:
            raise DriverError(f"network namespace {ns} does not exist", path,
                              "no-such-namespace") from None
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            try:
                _setns(fd)
            except OSError as e:
                raise DriverError(f"entering network namespace {ns}: {e.strerror}", path) from None
            try:
                yield
            finally:
                _setns(home)  # never leave the worker in a namespace it did not start in
        finally:
            os.close(fd)
            os.close(home)

    def ipr(self, ns: str) -> Any:
        """The route socket of ``ns``; call inside(ns)."""
        ino = ns_ino(ns)
        cached = self._ipr.get(ns)
        if cached is not None and cached[0] == ino:
            return cached[1]
        if cached is not None:
            cached[1].close()
        ipr = IPRoute()
        self._ipr[ns] = (ino or (0, 0), ipr)
        return ipr

    def main_routes(self, ns: str, families: Iterable[int] = (4, 6)) -> list[KRoute]:
        ipr = self.ipr(ns)
        out = []
        try:
            for fam in families:
                for m in ipr.route("dump", family=AF[fam]):
                    if (m.get_attr("RTA_TABLE") or m["table"]) == TABLE_MAIN:
                        out.append(to_kroute(m))
        except NetlinkError as e:
            raise DriverError(f"reading routes of network namespace {ns}: "
                              f"{os.strerror(e.code)}") from None
        return out

    def apply(self, ns: str, op: ROp, path: str | None = None) -> None:
        r = op.route
        args: dict[str, Any] = {"dst": r.dst, "family": AF[r.family], "table": TABLE_MAIN,
                                "priority": r.priority, "proto": r.proto}
        if op.verb == "del":
            args["scope"] = SCOPE_NOWHERE  # any scope (RTM_DELROUTE matches scope exactly else)
        else:
            args.update(type=r.type, scope=r.scope)
            if r.oif:
                args["oif"] = r.oif
            if r.gateway:
                args["gateway"] = r.gateway
            if r.prefsrc:
                args["prefsrc"] = r.prefsrc
            if r.multipath:
                args["multipath"] = [{"gateway": g, "oif": o, "hops": h} if g else
                                     {"oif": o, "hops": h} for g, o, h in r.multipath]
            if r.metrics:
                args["metrics"] = dict(r.metrics)
        try:
            self.ipr(ns).route(op.verb, **args)
        except NetlinkError as e:
            if op.verb == "del" and e.code == errno.ESRCH:
                return  # already gone: what a delete wants
            why = os.strerror(e.code)
            if e.code == errno.EINVAL and any(k == "RTAX_CC_ALGO" for k, _ in r.metrics):
                why += " (is the congestion control available?)"
            raise DriverError(f"route {op.verb} {r.describe()} in network namespace {ns}: {why}",
                              path) from None
