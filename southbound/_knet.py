"""The kernel driver's netlink and sysctl access, inside one network namespace.

A ``KernelIO`` is created in the driver's worker thread and used only there: that thread
enters the namespace with setns(2) (which moves the calling thread only), so its rtnetlink
socket and its /proc/sys/net view are the namespace's. The process and every other thread
stay where they were; the host's networking is never touched unless the operator configured
the host namespace explicitly. pyroute2 and OS errors become DriverError here.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pyroute2 import IPRoute, netns
from pyroute2.netlink.exceptions import NetlinkError

from southbound._kplan import LinkState, Op, norm_ip
from southbound.errors import DriverError

log = logging.getLogger("yangd.southbound.kernel")
IFF_UP = 0x1
PROBE = "yangd-probe"


@contextmanager
def netlink_errors(what: str, path: str | None = None) -> Iterator[None]:
    try:
        yield
    except NetlinkError as e:
        raise DriverError(f"{what}: {os.strerror(e.code) if e.code else e}", path) from None
    except OSError as e:
        raise DriverError(f"{what}: {e.strerror or e}", path) from None


class KernelIO:
    def __init__(self, namespace: str, create: bool):
        self.ns = namespace
        if namespace:
            with netlink_errors(f"network namespace {namespace}"):
                if namespace not in netns.listnetns():
                    if not create:
                        raise DriverError(f"network namespace {namespace} does not exist")
                    netns.create(namespace)
                netns.setns(namespace, flags=0, fork=False)  # this (worker) thread only
        self.ipr: Any = IPRoute()

    def close(self) -> None:
        self.ipr.close()

    # ---- reading ------------------------------------------------------------------------------
    def dump_links(self) -> list[Any]:
        with netlink_errors("reading links"):
            return list(self.ipr.link("dump"))

    def dump_addrs(self) -> list[Any]:
        with netlink_errors("reading addresses"):
            return list(self.ipr.addr("dump"))

    def links(self) -> dict[str, LinkState]:
        msgs = self.dump_links()
        names = {m["index"]: m.get_attr("IFLA_IFNAME") for m in msgs}
        addrs: dict[int, set[tuple[str, int]]] = {}
        for a in self.dump_addrs():
            ip = a.get_attr("IFA_LOCAL") or a.get_attr("IFA_ADDRESS")
            if ip:
                addrs.setdefault(a["index"], set()).add((norm_ip(ip), a["prefixlen"]))
        out: dict[str, LinkState] = {}
        for m in msgs:
            name = names[m["index"]]
            info = m.get_attr("IFLA_LINKINFO")
            kind = (info.get_attr("IFLA_INFO_KIND") if info is not None else None) or ""
            vid = None
            if kind == "vlan" and info is not None:
                data = info.get_attr("IFLA_INFO_DATA")
                vid = data.get_attr("IFLA_VLAN_ID") if data is not None else None
            parent = names.get(m.get_attr("IFLA_LINK") or 0)
            out[name] = LinkState(
                name, "lo" if name == "lo" and not kind else kind or "adopt",
                up=bool(m["flags"] & IFF_UP), alias=m.get_attr("IFLA_IFALIAS") or "",
                mtu=m.get_attr("IFLA_MTU") or 0, addrs=frozenset(addrs.get(m["index"], ())),
                sysctl=self.link_sysctls(name), parent=parent, vlan_id=vid, index=m["index"],
                kernel_kind=kind, min_mtu=m.get_attr("IFLA_MIN_MTU"),
                max_mtu=m.get_attr("IFLA_MAX_MTU"))
        return out

    def link_sysctls(self, name: str) -> tuple[tuple[str, str], ...]:
        out = []
        for key in ("ipv4/forwarding", "ipv6/forwarding", "ipv6/disable_ipv6",
                    "ipv6/keep_addr_on_down"):
            v = self.read_sysctl(name, key)
            if v is not None:
                out.append((key, v))
        return tuple(out)

    def read_sysctl(self, name: str, key: str) -> str | None:
        fam, leaf = key.split("/")
        try:
            with open(f"/proc/sys/net/{fam}/conf/{name}/{leaf}") as f:
                return f.read().strip()
        except OSError:
            return None

    def write_sysctl(self, name: str, key: str, value: str, path: str | None = None) -> None:
        fam, leaf = key.split("/")
        with netlink_errors(f"sysctl net.{fam}.conf.{name}.{leaf}={value}", path), \
                open(f"/proc/sys/net/{fam}/conf/{name}/{leaf}", "w") as f:
            f.write(value)

    def probe_kinds(self) -> frozenset[str]:
        """The link kinds this kernel can create (tried once, in our own namespace)."""
        have: set[str] = set()
        for kind, extra in (("bridge", {}), ("dummy", {}), ("vlan", {"vlan_id": 1})):
            name = f"{PROBE}-{kind[:2]}"
            try:
                if extra:
                    lower = self.ipr.link_lookup(ifname=f"{PROBE}-br")
                    if not lower:
                        continue
                    self.ipr.link("add", ifname=name, kind=kind, link=lower[0], **extra)
                else:
                    self.ipr.link("add", ifname=name, kind=kind)
                have.add(kind)
            except NetlinkError as e:
                if e.code not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENODEV):
                    log.warning("probing link kind %s: %s", kind, e)
        for kind in ("vl", "du", "br"):
            for idx in self.ipr.link_lookup(ifname=f"{PROBE}-{kind}"):
                self.ipr.link("del", index=idx)
        return frozenset(have)

    # ---- applying -----------------------------------------------------------------------------
    def index(self, name: str, path: str | None = None) -> int:
        found = self.ipr.link_lookup(ifname=name)
        if not found:
            raise DriverError(f"interface {name} does not exist in network namespace {self.ns}", path)
        return int(found[0])

    def apply(self, op: Op) -> None:
        verb, name = op.verb, op.ifname
        with netlink_errors(f"{verb} {name} {dict(op.args)}", op.path):
            if verb == "sysctl":
                self.write_sysctl(name, op.arg("key"), op.arg("value"), op.path)
            elif verb == "link-add":
                extra: dict[str, Any] = {}
                if op.arg("kind") == "vlan":
                    extra = {"link": self.index(op.arg("parent"), op.path), "vlan_id": op.arg("vlan_id")}
                self.ipr.link("add", ifname=name, kind=op.arg("kind"), **extra)
            elif verb == "link-del":
                self.ipr.link("del", index=self.index(name, op.path))
            elif verb == "link-set":
                args = dict(op.args)
                idx = self.index(name, op.path)
                if "up" in args:
                    self.ipr.link("set", index=idx, state="up" if args["up"] else "down")
                if "mtu" in args:
                    self.ipr.link("set", index=idx, mtu=args["mtu"])
                if "alias" in args:
                    self.ipr.link("set", index=idx, ifalias=args["alias"])
            elif verb in ("addr-add", "addr-del"):
                try:
                    self.ipr.addr("add" if verb == "addr-add" else "del",
                                  index=self.index(name, op.path), address=op.arg("ip"),
                                  prefixlen=op.arg("plen"))
                except NetlinkError as e:  # already as wanted: the operation is idempotent
                    if e.code != (errno.EEXIST if verb == "addr-add" else errno.EADDRNOTAVAIL):
                        raise
            else:
                raise DriverError(f"unknown kernel operation {verb}", op.path)
