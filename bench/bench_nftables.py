"""nftables driver benchmark (issue #7): ACLs through real nftables, in a namespace of its own.

One ACL of N ACEs (ipv4 source /32 + TCP destination port, drop) attached ingress to eth0.
(1) the driver's commit of 10k ACEs into the kernel: its validate (render), prepare
    (``nft -c``) and commit (``nft -f``, which returns once the kernel holds the table) on a
    transaction whose target tree holds them; ``nft -j list table`` then confirms 10k rules
    (not timed). Median of 3, a fresh namespace each                       target: 10k < 1 s
(2) the same through the datastore (one edit of running: edit → validate → the driver →
    stored), N = 1,000 and 10,000
(3) one-ACE change with 10k present, the driver's share (the table is replaced whole; the
    ACEs the change left alone are not rendered again)
(4) operational read of the 10k per-ACE counters (list the table, map back) and drift check
(5) full sync after the table was deleted behind the driver's back
Needs root: works in network namespaces yangd-bench-* deleted at the end, also on failure.
Prints a table; asserts nothing.
"""

from __future__ import annotations

import gc
import ipaddress
import json
import statistics
import subprocess
import sys
import tempfile
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
from datastore.transaction import Transaction  # noqa: E402
from models.codec import decode_json  # noqa: E402
from models.edit import EditNode, Op, edit_from_json  # noqa: E402
from southbound.driver import DriverTx  # noqa: E402
from southbound.manager import DriverManager  # noqa: E402
from southbound.nftables import NftablesDriver  # noqa: E402

ACLS = "/ietf-access-control-list:acls"
REPEAT = 3
CHANGES = 10


def sh(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


@contextmanager
def namespace() -> Iterator[str]:
    ns = f"yangd-bench-{uuid.uuid4().hex[:8]}"
    sh("ip", "netns", "add", ns)
    try:
        sh("ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p")
        yield ns
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)


class TimedNftables(NftablesDriver):
    """The nftables driver, timing its own phases (the driver's share of a commit)."""

    spent: dict[str, float]

    def _timed(self, phase: str, fn: Callable[[DriverTx], None], d: DriverTx) -> None:
        t = time.perf_counter()
        try:
            fn(d)
        finally:
            self.spent[phase] = self.spent.get(phase, 0.0) + time.perf_counter() - t

    def on_validate(self, d: DriverTx) -> None:
        self._timed("render", super().on_validate, d)

    def on_prepare(self, d: DriverTx) -> None:
        self._timed("nft -c", super().on_prepare, d)

    def on_commit(self, d: DriverTx) -> None:
        self._timed("nft -f", super().on_commit, d)


def aces(n: int) -> list[dict[str, Any]]:
    hosts = ipaddress.ip_network("10.0.0.0/8").hosts()
    out = []
    for i, h in zip(range(n), hosts, strict=False):
        port = 1024 + i % 60000
        out.append({"name": f"ace{i}", "matches": {"ipv4": {"source-ipv4-network": f"{h}/32"},
                    "tcp": {"destination-port": {"operator": "eq", "port": port}}},
                    "actions": {"forwarding": "drop"}})
    return out


def acl_doc(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"acl": [{"name": "bench", "type": "ipv4-acl-type", "aces": {"ace": entries}}],
            "attachment-points": {"interface": [{"interface-id": "eth0", "ingress": {
                "acl-sets": {"acl-set": [{"name": "bench"}]}}}]}}


def edit_acls(s: Session, doc: dict[str, Any]) -> None:
    """One replace of /acls the way NETCONF and RESTCONF apply a large body: the document
    decoded whole into the generated classes (RFC 7951 JSON here), then one edit of running."""
    tree = decode_json(g.Root, json.dumps({ACLS[1:]: doc}))
    s.edit("running", [EditNode(g.B.node(ACLS), Op.REPLACE, content=tree.acls)])


def rule_count(ns: str) -> int:
    """ACEs in the kernel: rules of the attachment chain plus the elements of its sets."""
    out = json.loads(sh("ip", "netns", "exec", ns, "nft", "-j", "list", "table", "inet", "yangd"))
    rules = [o["rule"] for o in out["nftables"] if "rule" in o and o["rule"]["chain"] == "in0"]
    elements = sum(len(o["set"].get("elem", ())) for o in out["nftables"] if "set" in o)
    return len(rules) - sum(1 for r in rules if "@" in json.dumps(r["expr"])) + elements


@contextmanager
def yangd(ns: str, work: Path) -> Iterator[tuple[Datastores, Session, TimedNftables]]:
    ds = Datastores(g.B, Store.open(f"sqlite:///{work}/{ns}.sqlite"))
    d = TimedNftables(g.B, ns, create=False, timeout=60)
    d.spent = {}
    m = DriverManager([d])
    try:
        m.attach(ds)
        s = ds.open_session("bench", "internal")
        s.edit("running", edit_from_json(g.B, g.B.node("/ietf-interfaces:interfaces"), {"interface": [
            {"name": "eth0", "type": "iana-if-type:ethernetCsmacd"}]}))
        yield ds, s, d
    finally:
        m.close()
        ds.close()


def fmt(spent: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in spent.items())


def root_cls() -> Any:
    cls = g.B.root_cls
    assert cls is not None
    return cls


def tree_of(doc: dict[str, Any]) -> Any:
    """A Root tree holding ``doc`` (RFC 7951 JSON), built directly (no datastore edit)."""
    full = {**doc, "acl": [{**a, "type": f"ietf-access-control-list:{a['type']}", "aces": {"ace": [
        {**e, "actions": {"forwarding": f"ietf-access-control-list:{e['actions']['forwarding']}"}}
        for e in a["aces"]["ace"]]}} for a in doc["acl"]]}
    return root_cls().model_validate({
        "ietf-interfaces:interfaces": {"interface": [{"name": "eth0", "type": "iana-if-type:ethernetCsmacd"}]},
        "ietf-access-control-list:acls": full})


def changed(tree: Any, name: str, port: int) -> Any:
    """``tree`` with one ACE's destination port changed, copy on write as the datastore does
    (every other ACE is the same object in both trees)."""
    acls = tree.acls
    acl = next(iter(acls.acl))
    old = acl.aces.ace[name]
    tcp = old.matches.tcp
    new = old.model_copy(update={"matches": old.matches.model_copy(update={"tcp": tcp.model_copy(
        update={"destination_port": tcp.destination_port.model_copy(update={"port": port})})})})
    acl = acl.model_copy(update={"aces": acl.aces.model_copy(update={"ace": acl.aces.ace.set(new)})})
    return tree.model_copy(update={"acls": acls.model_copy(update={"acl": acls.acl.set(acl)})})


def driver_commit(d: TimedNftables, source: Any, target: Any) -> dict[str, float]:
    """validate → prepare → commit of the driver alone, as the framework runs them."""
    d.spent = {}
    dtx = DriverTx(Transaction(0, source, target, ()), ())
    d.on_validate(dtx)
    d.on_prepare(dtx)
    d.on_commit(dtx)
    return dict(d.spent)


def bench_driver(n: int, rows: list[tuple[str, str, str]]) -> None:
    empty = root_cls().model_validate({})
    target = tree_of(acl_doc(aces(n)))
    runs: list[tuple[float, dict[str, float], int]] = []
    for i in range(REPEAT):
        with namespace() as ns:
            d = TimedNftables(g.B, ns, create=False, timeout=60)
            try:
                d.on_start()
                t0 = time.perf_counter()
                phases = driver_commit(d, empty, target)  # nft -f returns once the kernel has them
                took = time.perf_counter() - t0
                runs.append((took, phases, rule_count(ns)))  # checked, not timed (a 10k listing)
                if i == REPEAT - 1:
                    more(d, ns, n, runs, target, rows)
            finally:
                d.close()


def more(d: TimedNftables, ns: str, n: int, runs: list[tuple[float, dict[str, float], int]],
         target: Any, rows: list[tuple[str, str, str]]) -> None:
    """Rows (1), (3), (4), (5) in the last run's namespace, 10k ACEs loaded."""
    total, phases, count = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
    rows.append((f"(1) driver commit of {n:,} ACEs into the kernel (`nft list`: {count:,} ACEs) "
                 f"(median of {REPEAT})", f"{total:.2f} s ({fmt(phases)}; best "
                 f"{min(r[0] for r in runs):.2f} s)", "< 1 s" if n == 10_000 else ""))
    times = []
    src = target
    for c in range(CHANGES):
        nxt = changed(src, f"ace{n // 2}", 2000 + c)
        t0 = time.perf_counter()
        driver_commit(d, src, nxt)
        times.append(time.perf_counter() - t0)
        src = nxt
    rows.append((f"(3) one-ACE change, {n:,} present, driver (p50 of {CHANGES}; table replaced "
                 "whole)", f"p50 {statistics.median(times) * 1e3:.0f} ms", ""))
    t0 = time.perf_counter()
    state: Any = d.read_state()
    t1 = time.perf_counter()
    drift = d.on_drift(src)
    t2 = time.perf_counter()
    got = sum(1 for a in state.acls.acl for e in a.aces.ace) if state is not None else 0
    rows.append((f"(4) read {n:,} ACE counters (list table + map) / drift check",
                 f"{(t1 - t0) * 1e3:.0f} ms ({got:,} ACEs) / {(t2 - t1) * 1e3:.0f} ms "
                 f"({len(drift)} differences)", ""))
    sh("ip", "netns", "exec", ns, "nft", "delete", "table", "inet", "yangd")
    t0 = time.perf_counter()
    repaired = d.on_full_sync(src)
    rows.append((f"(5) full sync after `nft delete table inet yangd`, {n:,} ACEs",
                 f"{time.perf_counter() - t0:.2f} s ({rule_count(ns):,} rules back, "
                 f"{repaired} differences)", ""))


def bench_datastore(n: int, work: Path, rows: list[tuple[str, str, str]]) -> None:
    with namespace() as ns, yangd(ns, work) as (_, s, d):
        doc = acl_doc(aces(n))
        d.spent = {}
        t0 = time.perf_counter()
        edit_acls(s, doc)
        total = time.perf_counter() - t0
        count = rule_count(ns)
        rows.append((f"(2) commit {n:,} ACEs through the datastore until `nft list` shows {count:,} ACEs",
                     f"{total:.2f} s (driver {sum(d.spent.values()):.2f} s: {fmt(d.spent)})", ""))


def main() -> None:
    # as `yangd serve` does after start-up (server/cli.py): what is loaded is frozen and full
    # collections are rare, which is most of the run-to-run spread otherwise
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    rows: list[tuple[str, str, str]] = []
    bench_driver(10_000, rows)
    with tempfile.TemporaryDirectory() as tmp:
        for n in (1_000, 10_000):
            bench_datastore(n, Path(tmp), rows)
    rows.sort(key=lambda r: r[0][:3])
    w = max(len(r[0]) for r in rows)
    print(f"{'measure':<{w}}  result  target")
    for m, r, t in rows:
        print(f"{m:<{w}}  {r}  {t}")


if __name__ == "__main__":
    main()
