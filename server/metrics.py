"""yangd's own Prometheus metrics: one registry per ``Datastores`` (``metrics_for``).

Counted where things happen:

    yangd_sessions_opened_total{transport}                NETCONF sessions opened
    yangd_rpcs_total{transport, rpc, result}              NETCONF operations and RESTCONF
                                                          requests, result ok | error
    yangd_rpc_duration_seconds{transport, rpc}            their latency (histogram)
    yangd_commits_total{transport}                        commits to running
    yangd_commit_duration_seconds                         validate → southbound → durable
    yangd_driver_phase_duration_seconds{driver, phase}    southbound phases (histogram)
    yangd_driver_phase_failures_total{driver, phase}      refused, failed or timed out

and read at scrape time (a collector, nothing to keep in step):

    yangd_sessions_open{transport}                        datastore sessions open now
    yangd_head_commit                                     the commit running reflects
    yangd_confirmed_commit_pending                        1 while a confirmed commit waits
    yangd_datastore_bytes{datastore}                      running, candidate, startup
                                                          (stored JSON; computed once per tree)
    yangd_driver_in_sync{driver}                          0 when a driver needs a full sync

The registry is per ``Datastores`` rather than prometheus-client's global one, so several
yangd instances in one process (the tests) never mix their figures.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from datastore.datastores import CommitEvent, Datastores

__all__ = ["Metrics", "metrics_for"]

log = logging.getLogger("yangd.metrics")
disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series: scrapers have the process start time anyway
_RPC_ERROR = "{urn:ietf:params:xml:ns:netconf:base:1.0}rpc-error"
_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    def __init__(self, ds: Datastores):
        self.registry = CollectorRegistry()
        r = self.registry
        self.sessions = Counter("yangd_sessions_opened", "NETCONF sessions opened.", ["transport"], registry=r)
        self.rpcs = Counter("yangd_rpcs", "Operations handled: NETCONF rpcs by operation name, "
                            "RESTCONF requests by method and resource.",
                            ["transport", "rpc", "result"], registry=r)
        self.rpc_seconds = Histogram("yangd_rpc_duration_seconds", "Time to answer an operation.",
                                     ["transport", "rpc"], buckets=_LATENCY, registry=r)
        self.commits = Counter("yangd_commits", "Commits to running.", ["transport"], registry=r)
        self.commit_seconds = Histogram(
            "yangd_commit_duration_seconds",
            "Commit latency: validation, the southbound transaction and persisting.",
            buckets=_LATENCY, registry=r)
        self.phase_seconds = Histogram("yangd_driver_phase_duration_seconds",
                                       "Time a southbound driver spent in a phase.",
                                       ["driver", "phase"], buckets=_LATENCY, registry=r)
        self.phase_failures = Counter("yangd_driver_phase_failures",
                                      "Southbound driver phases that refused, failed or timed out.",
                                      ["driver", "phase"], registry=r)
        self._state = _StateCollector(ds)
        r.register(self._state)
        ds.add_listener(self._on_commit)

    # ---- hooks -------------------------------------------------------------------------------
    def session_opened(self, transport: str) -> None:
        self.sessions.labels(transport).inc()

    def rpc(self, transport: str, name: str, ok: bool, seconds: float) -> None:
        self.rpcs.labels(transport, name, "ok" if ok else "error").inc()
        self.rpc_seconds.labels(transport, name).observe(seconds)

    def netconf_rpc(self, name: str, body: Sequence[Any], seconds: float) -> None:
        """A NETCONF reply body: an error if it holds an ``rpc-error``."""
        ok = not any(getattr(e, "tag", None) == _RPC_ERROR for e in body)
        self.rpc("netconf", name, ok, seconds)

    def _on_commit(self, event: CommitEvent) -> None:
        self.commits.labels(event.transport).inc()
        duration = getattr(event, "duration", None)
        if duration is not None:
            self.commit_seconds.observe(duration)

    def watch_drivers(self, drivers: Iterable[Any]) -> None:
        """Time every phase of these southbound drivers and count their failures."""
        for d in drivers:
            self._state.drivers.append(weakref.ref(d))
            d.observers.append(self._phase)

    def _phase(self, driver: str, phase: Any, seconds: float, ok: bool) -> None:
        if not ok:
            self.phase_failures.labels(driver, str(phase)).inc()
        self.phase_seconds.labels(driver, str(phase)).observe(seconds)

    def exposition(self) -> bytes:
        """The Prometheus text format (version 0.0.4)."""
        return generate_latest(self.registry)


class _StateCollector(Collector):
    def __init__(self, ds: Datastores):
        self._ds = weakref.ref(ds)
        self.drivers: list[weakref.ref[Any]] = []
        self._sizes: dict[str, tuple[Any, int]] = {}  # datastore → (tree, bytes): trees are immutable
        self._mutex = threading.Lock()

    def _size(self, ds: Datastores, name: str, tree: Any) -> int:
        with self._mutex:
            seen = self._sizes.get(name)
            if seen is not None and seen[0] is tree:
                return seen[1]
        size = len(ds.encode_tree(tree).encode()) if tree is not None else 0
        with self._mutex:
            self._sizes[name] = (tree, size)
        return size

    def collect(self) -> Iterator[Metric]:
        ds = self._ds()
        if ds is None:
            return
        sessions = GaugeMetricFamily("yangd_sessions_open", "Datastore sessions open now (a RESTCONF "
                                     "request holds one while it runs).", labels=["transport"])
        counts: dict[str, int] = {"netconf": 0, "restconf": 0}
        for s in list(ds.sessions.values()):
            counts[s.transport] = counts.get(s.transport, 0) + 1
        for transport, n in sorted(counts.items()):
            sessions.add_metric([transport], n)
        yield sessions
        yield GaugeMetricFamily("yangd_head_commit", "The commit running reflects.", ds.head)
        yield GaugeMetricFamily("yangd_confirmed_commit_pending",
                                "1 while a confirmed commit waits for its confirmation.",
                                1 if ds.pending is not None else 0)
        sizes = GaugeMetricFamily("yangd_datastore_bytes", "Size of a datastore's content "
                                  "(stored JSON encoding).", labels=["datastore"])
        for name, tree in (("running", ds.running), ("candidate", ds.candidate.tree),
                           ("startup", ds.startup)):
            sizes.add_metric([name], self._size(ds, name, tree))
        yield sizes
        in_sync = GaugeMetricFamily("yangd_driver_in_sync", "1 when a southbound driver's backend "
                                    "follows running, 0 when it needs a full sync.", labels=["driver"])
        for d in driver_objects(ds, self.drivers):
            in_sync.add_metric([str(d.name)], 0 if driver_needs_sync(d) else 1)
        yield in_sync


def driver_objects(ds: Datastores, watched: Sequence[weakref.ref[Any]] = ()) -> list[Any]:
    """The southbound drivers taking part in commits (participants with a name and sync
    status), plus any watched ones."""
    found = [p for p in list(ds.participants) if hasattr(p, "needs_sync") and hasattr(p, "name")]
    for ref in watched:
        d = ref()
        if d is not None and all(d is not f for f in found):
            found.append(d)
    return found


def driver_needs_sync(d: Any) -> bool:
    status = getattr(d, "status", None)
    if status is not None:
        return str(status) != "in-sync"
    return bool(getattr(d, "needs_sync", False))


_by_ds: weakref.WeakKeyDictionary[Datastores, Metrics] = weakref.WeakKeyDictionary()
_by_ds_mutex = threading.Lock()


def metrics_for(ds: Datastores) -> Metrics:
    """The metrics of one yangd (created on first use; they live as long as ``ds``)."""
    with _by_ds_mutex:
        m = _by_ds.get(ds)
        if m is None:
            m = _by_ds[ds] = Metrics(ds)
        return m
