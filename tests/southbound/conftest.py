"""Fixtures of the southbound tests: a network namespace per test, datastores, drivers.

Every namespace is ``yangd-t-<random>``, created here and deleted by the fixture's finalizer
(also when the test fails); nothing touches the root namespace. The kernel is read back
independently of yangd with ``ip -n NS -j ...`` and ``ip netns exec NS sysctl``.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import models.generated as g
from datastore.datastores import Datastores
from datastore.session import Session
from datastore.store import Store
from models.edit import EditNode, Op, edit_from_json
from southbound.driver import Driver
from southbound.kernel import KernelDriver
from southbound.manager import DriverManager

IF = "/ietf-interfaces:interfaces"


def ip(ns: str, *args: str) -> Any:
    out = subprocess.run(["ip", "-n", ns, "-j", *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout or "[]")


def sh(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True)


def sysctl(ns: str, key: str) -> str:
    out = subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-n", key], check=True,
                         capture_output=True, text=True)
    return out.stdout.strip()


def links(ns: str) -> dict[str, dict[str, Any]]:
    return {li["ifname"]: li for li in ip(ns, "-d", "link", "show")}


def addrs(ns: str) -> dict[str, set[str]]:
    """Interface → {"ip/len"}, without the kernel's IPv6 link-local addresses."""
    return {a["ifname"]: {f"{i['local']}/{i['prefixlen']}" for i in a.get("addr_info", ())
                          if not i["local"].startswith("fe80:")}
            for a in ip(ns, "addr", "show")}


def snapshot(ns: str) -> dict[str, tuple[Any, ...]]:
    """What a commit may change, per link: admin up, mtu, alias, addresses."""
    a = addrs(ns)
    return {n: ("UP" in li["flags"], li["mtu"], li.get("ifalias", ""), sorted(a.get(n, ())))
            for n, li in links(ns).items()}


@contextlib.contextmanager
def new_netns() -> Iterator[str]:
    """A network namespace of the test's own, deleted afterwards."""
    name = f"yangd-t-{uuid.uuid4().hex[:8]}"
    sh("ip", "netns", "add", name)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)


@pytest.fixture
def netns() -> Iterator[str]:
    with new_netns() as name:
        yield name


@pytest.fixture
def veth(netns: str) -> str:
    """A NIC stand-in to adopt: eth0 (peer eth0p, up, so eth0 can reach oper-status up)."""
    sh("ip", "-n", netns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p")
    sh("ip", "-n", netns, "link", "set", "eth0p", "up")
    return "eth0"


@pytest.fixture
def ds(tmp_path: Path) -> Iterator[Datastores]:
    d = Datastores(g.B, Store.open(f"sqlite:///{tmp_path / 'sb.db'}"))
    try:
        yield d
    finally:
        d.close()


@pytest.fixture
def attach(ds: Datastores) -> Iterator[Callable[..., DriverManager]]:
    """``attach(*drivers)``: wire drivers into ``ds`` (closed at the end)."""
    managers: list[DriverManager] = []

    def do(*drivers: Driver) -> DriverManager:
        m = DriverManager(list(drivers))
        m.attach(ds)
        managers.append(m)
        return m

    try:
        yield do
    finally:
        for m in managers:
            m.close()


@pytest.fixture
def kernel(netns: str, veth: str) -> Iterator[KernelDriver]:
    k = KernelDriver(g.B, netns, create=False, timeout=5)
    try:
        yield k
    finally:
        k.close()


def edit(s: Session, interfaces: list[dict[str, Any]], op: Op | None = None) -> int:
    s.edit("running", edit_from_json(g.B, g.B.node(IF), {"interface": interfaces}, op))
    return s.ds.head


def delete(s: Session, name: str) -> int:
    entry = edit_from_json(g.B, g.B.node(f"{IF}/interface"), [{"name": name}], Op.DELETE)
    s.edit("running", [EditNode(g.B.node(IF), children=entry)])
    return s.ds.head
