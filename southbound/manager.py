"""Wiring drivers into the datastores: start, full sync, resync, state providers.

The datastore never imports a driver; the server builds the drivers from its config and
calls ``attach``, which starts each driver, converges its backend to running (full sync),
and hands the drivers to ``Datastores`` as commit participants (in the given order: the
order of prepare and commit; abort and revert run in reverse) and as state providers.

It also serves yang/yangd/yangd-southbound.yang: the ``resync`` rpc (registered with
``Datastores.add_rpc``, so every transport serves it) and the config-false ``drivers``
state, as a state provider of its own. Reading that state checks each driver for drift
under the datastore lock (a commit in flight is not drift); drivers configured with a
``drift_interval`` are also checked in the background, so drift is logged when nobody
reads. Drift is never repaired on its own: ``resync`` does that.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from datastore.datastores import Datastores
from datastore.operational import SYSTEM
from models.bundle import Bundle, YangModel
from models.errors import YangdError, YangdErrors
from southbound.driver import Driver, Status, check_unique_names

if TYPE_CHECKING:
    from datastore.session import Session

log = logging.getLogger("yangd.southbound")


MODULE = "yangd-southbound"
RESYNC = f"/{MODULE}:resync"
DIFFS_SHOWN = 20  # differences listed per driver in the state (all are counted)


class DriverManager:
    name = "southbound"  # as a StateProvider: the drivers state
    origin = SYSTEM

    def __init__(self, drivers: Sequence[Driver]):
        check_unique_names(drivers)
        self.drivers = list(drivers)
        self.ds: Datastores | None = None
        self._stop = threading.Event()
        self._checker: threading.Thread | None = None
        self.led: set[str] = set()  # drivers this instance drives (leader of; datastore/cluster.py)
        self._started: set[str] = set()

    def attach(self, ds: Datastores) -> None:
        """Start every driver, full-sync it to running, then make it a participant.

        A driver that fails to start or sync is still attached, marked ``needs_sync``: its
        next transaction retries the sync first, and fails until the backend is reachable.
        With several yangd instances on one database, exactly one drives each backend: the
        leader of ``driver/NAME`` (``Cluster.lead``). The others stand by; when the leader
        dies, the next one to win the lead starts the driver and full-syncs it.
        """
        with ds.lock:
            for d in self.drivers:
                ds.cluster.lead(f"driver/{d.name}", partial(self._lead, ds, d),
                                partial(self._unlead, ds, d))
            if self.drivers:
                ds.add_rpc(RESYNC, self._resync_rpc)
                ds.add_state_provider(self)
        self.ds = ds
        if any(d.drift_interval > 0 for d in self.drivers):
            self._checker = threading.Thread(target=self._check_loop, name="yangd-drift",
                                             daemon=True)
            self._checker.start()

    def _lead(self, ds: Datastores, d: Driver) -> None:
        """This instance now drives ``d``: catch up, start, full sync, join the commits."""
        with ds.lock:
            ds.follow()  # running as the database has it, before the sync
            try:
                if d.name not in self._started:
                    d.start()
                    self._started.add(d.name)
                d.full_sync(ds.running)
            except YangdErrors as e:
                d.needs_sync = True
                log.error("driver %s: start/full sync failed: %s", d.name, e)
            ds.add_participant(d)
            order = {id(x): i for i, x in enumerate(self.drivers)}
            ds.participants.sort(key=lambda p: order.get(id(p), -1))  # the configured order
            ds.add_state_provider(d)
            self.led.add(d.name)

    def _unlead(self, ds: Datastores, d: Driver) -> None:
        """Another instance may drive ``d`` now: stop pushing commits to it."""
        with ds.lock:
            self.led.discard(d.name)
            d.needs_sync = True
            ds.remove_participant(d)
            ds.remove_state_provider(d)

    def resync(self, name: str | None = None) -> dict[str, int | None]:
        """The ``resync`` RPC: full sync of one driver (or all) to running now; per driver
        the number of differences repaired (None: it cannot tell). A driver failing does
        not stop the others; the errors, naming each driver, are raised at the end."""
        ds = self._ds()
        targets = [d for d in self.drivers if name is None or d.name == name]
        if name is not None and targets and name not in self.led:
            raise YangdErrors.one("operation-failed", f"driver {name!r} is driven by another "
                                  "yangd instance: resync it there", f"{RESYNC}/driver")
        targets = [d for d in targets if d.name in self.led] if name is None else targets
        if not targets and name is not None:
            raise YangdErrors.one("invalid-value", f"no driver {name!r} (configured: "
                                  f"{', '.join(d.name for d in self.drivers) or 'none'})",
                                  f"{RESYNC}/driver", "unknown-driver")
        errors: list[YangdError] = []
        done: dict[str, int | None] = {}
        with ds.lock:
            for d in targets:
                try:
                    done[d.name] = d.full_sync(ds.running)
                except YangdErrors as e:
                    errors.extend(YangdError(x.tag, f"{d.name}: {x.message}", x.path, x.app_tag,
                                             x.type, x.info) for x in e.errors)
        for n, count in done.items():
            log.info("driver %s: resync done (%s differences repaired)", n,
                     "unknown" if count is None else count)
        if errors:
            raise YangdErrors(errors)
        return done

    def _resync_rpc(self, session: Session, inp: YangModel) -> YangModel:
        name: str | None = getattr(inp, "driver", None)
        done = self.resync(name)
        rows = [{"name": n, **({"repaired": c} if c is not None else {})} for n, c in done.items()]
        out = self._ds().bundle.node(f"{RESYNC}/output")
        return out.cls.model_validate({"driver": rows})  # type: ignore[no-any-return]

    # ---- the drivers state (StateProvider) -------------------------------------------------------
    def check_drift(self) -> None:
        """Compare every driver's backend with running now (each logs a change of drift)."""
        ds = self._ds()
        with ds.lock:  # running and the backends hold still: no commit is half applied
            for d in self.drivers:
                if d.name in self.led:
                    self._drift(d, ds.running)

    def _drift(self, d: Driver, running: YangModel) -> None:
        if d.status is Status.FAILED:  # unreachable: its last error says why, keep it
            return
        try:
            d.drift(running, timeout=min(d.timeout, 5.0))
        except YangdErrors as e:  # recorded as the driver's last error (phase state)
            log.debug("driver %s: drift check failed: %s", d.name, e)

    def state(self) -> YangModel | None:
        """/yangd-southbound:drivers, drift checked now (the drivers this instance drives:
        the others are reported by their leader, /yangd-cluster:cluster says which)."""
        ds = self._ds()
        if not any(d.name in self.led for d in self.drivers):
            return None
        self.check_drift()
        rows = [driver_state(d) for d in self.drivers if d.name in self.led]
        return ds.root_cls.model_validate({f"{MODULE}:drivers": {"driver": rows}})

    def _check_loop(self) -> None:
        due = {d.name: time.monotonic() + d.drift_interval for d in self.drivers}
        while not self._stop.is_set():
            now = time.monotonic()
            ds = self.ds
            for d in self.drivers:
                if d.drift_interval > 0 and now >= due[d.name] and ds is not None and d.name in self.led:
                    with ds.lock:
                        self._drift(d, ds.running)
                    due[d.name] = time.monotonic() + d.drift_interval
            soonest = min(t for n, t in due.items() if self._by_name(n).drift_interval > 0)
            self._stop.wait(max(0.05, soonest - time.monotonic()))

    def _by_name(self, name: str) -> Driver:
        return next(d for d in self.drivers if d.name == name)

    def close(self) -> None:
        self._stop.set()
        if self._checker is not None:
            self._checker.join(10)
        if self.ds is not None:
            for d in self.drivers:
                self.ds.remove_participant(d)
                self.ds.remove_state_provider(d)
            self.ds.remove_state_provider(self)
            if self.ds.rpcs.get(RESYNC) == self._resync_rpc:
                del self.ds.rpcs[RESYNC]
        for d in reversed(self.drivers):
            d.close()

    def _ds(self) -> Datastores:
        if self.ds is None:
            raise RuntimeError("DriverManager is not attached")
        return self.ds


def _time(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def driver_state(d: Driver) -> dict[str, Any]:
    """One ``drivers/driver`` entry (RFC 7951 JSON) from the driver's record."""
    r = d.record
    row: dict[str, Any] = {"name": d.name, "kind": d.kind, "status": str(d.status)}
    if r.last_sync is not None:
        row["last-sync"] = _time(r.last_sync)
    if r.last_error is not None:
        t, phase, message = r.last_error
        row["last-error"] = {"time": _time(t), "phase": str(phase), "message": message}
    if r.failures:
        row["failures"] = [{"phase": str(p), "count": f.count, "timeouts": f.timeouts}
                           for p, f in r.failures.items()]
    drift: dict[str, Any] = {"supported": r.drift is not None or r.drift_checked is None}
    if r.drift is not None and r.drift_checked is not None:
        drift.update({"in-drift": bool(r.drift), "checked": _time(r.drift_checked),
                      "differences": len(r.drift)})
        if r.drift:
            drift["difference"] = list(r.drift[:DIFFS_SHOWN])
    row["drift"] = drift
    return row


class DriversConfig(Protocol):
    """What ``drivers_from_config`` needs of server.config.Config."""

    @property
    def drivers(self) -> Mapping[str, Mapping[str, Any]]: ...


# kind → {key: accepted types}; ``kind`` defaults to the table's name, ``enabled`` to true
KINDS: dict[str, dict[str, tuple[type, ...]]] = {
    "kernel": {"namespace": (str,), "create": (bool,), "allow_host": (bool,),
               "timeout": (int, float), "route_protocol": (int,), "static_routes": (bool,)},
    "nftables": {"namespace": (str,), "create": (bool,), "allow_host": (bool,),
                 "timeout": (int, float)},
    "stacks": {"timeout": (int, float), "route_protocol": (int,)},
    "frr": {"namespace": (str,), "state_dir": (str,), "start": (bool,),
            "static_routes": (bool,), "timeout": (int, float)},
    # tests only (southbound/testdriver.py): fails or hangs as its control file says
    "flaky": {"control": (str,), "owns": (list,), "timeout": (int, float)},
}
COMMON: dict[str, tuple[type, ...]] = {"kind": (str,), "enabled": (bool,),
                                       "drift_interval": (int, float)}


def drivers_from_config(cfg: DriversConfig, bundle: Bundle) -> DriverManager:
    """The drivers of ``[drivers.NAME]`` tables, in file order; none unless configured.

        [drivers.kernel]            # kind "kernel" (the table name, or kind = "kernel")
        namespace = "yangd"         # default "yangd"; "" is the host's, only with allow_host
        create = true               # create the namespace if missing
        timeout = 10                # seconds per phase
        route_protocol = 200        # rtnetlink protocol marking yangd's routes
        static_routes = true        # false: ietf-routing static routes belong to another driver
        drift_interval = 60         # any kind: check for drift every 60 s (default: on read)

        [drivers.stacks]            # yangd-stacks; each stack names the namespace it serves
        timeout = 10                # seconds per phase
        route_protocol = 201        # marks the routes of selection rules (not the kernel's)

        [drivers.frr]               # FRR (southbound/frr.py): yangd-bgp and static routes
        namespace = "yangd"         # where the daemons run
        state_dir = "/run/yangd/frr/yangd"  # their vty sockets, pid files, logs (the default)
        start = false               # true: yangd starts zebra, staticd, bgpd itself
        static_routes = true        # FRR owns ietf-routing static routes: then the kernel
                                    # driver needs static_routes = false (one owner per subtree)
        timeout = 60

    Raises ValueError naming the table and key for anything unknown or mistyped.
    """
    drivers: list[Driver] = []
    for name, table in cfg.drivers.items():
        kind = table.get("kind", name)
        keys = KINDS.get(kind) if isinstance(kind, str) else None
        if keys is None:
            raise ValueError(f"[drivers.{name}]: unknown driver kind {kind!r} "
                             f"(known: {', '.join(sorted(KINDS))})")
        args: dict[str, Any] = {}
        for key, value in table.items():
            types = keys.get(key) or COMMON.get(key)
            if types is None:
                raise ValueError(f"[drivers.{name}]: unknown key {key!r} "
                                 f"(known: {', '.join(sorted({*keys, *COMMON}))})")
            if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
                raise ValueError(f"[drivers.{name}]: {key} must be {types[0].__name__}")
            if key not in COMMON:
                args[key] = value
        if "timeout" in args and not args["timeout"] > 0:
            raise ValueError(f"[drivers.{name}]: timeout must be positive")
        interval = table.get("drift_interval", 0)
        if interval < 0:
            raise ValueError(f"[drivers.{name}]: drift_interval must not be negative")
        if table.get("enabled", True):
            d = _make(kind, name, bundle, args)
            d.kind = kind
            d.drift_interval = float(interval)
            drivers.append(d)
    _check_owners(drivers)
    try:
        return DriverManager(drivers)
    except ValueError as e:
        raise ValueError(f"drivers: {e}") from None


def _check_owners(drivers: Sequence[Driver]) -> None:
    """One owner per subtree: two drivers owning one node, or a node and its descendant,
    would both push the same configuration. The flaky test driver pushes nothing: it may
    shadow a real driver's subtree to fail its transactions."""
    real = [d for d in drivers if d.kind != "flaky"]
    for i, a in enumerate(real):
        for b in real[i + 1:]:
            for na in a.owned:
                for nb in b.owned:
                    if _within(na, nb) or _within(nb, na):
                        inner = nb if _within(nb, na) else na
                        raise ValueError(
                            f"[drivers.{a.name}] and [drivers.{b.name}] both own "
                            f"{inner.path()}: configure it in one of them only "
                            "(e.g. static_routes = false)")


def _within(node: Any, top: Any) -> bool:
    p = node
    while p is not None:
        if p is top:
            return True
        p = p.data_parent()
    return False


# kind → (module, class): imported only when configured (pyroute2, nft, FRR tools on demand)
_CLASSES = {
    "kernel": ("southbound.kernel", "KernelDriver"),
    "nftables": ("southbound.nftables", "NftablesDriver"),
    "stacks": ("southbound.stacks", "StacksDriver"),
    "frr": ("southbound.frr", "FrrDriver"),
}


def _make(kind: str, name: str, bundle: Bundle, args: dict[str, Any]) -> Driver:
    if kind in _CLASSES:
        module, cls_name = _CLASSES[kind]
        cls = getattr(importlib.import_module(module), cls_name)
        try:
            return cls(bundle, name=name, **args)  # type: ignore[no-any-return]
        except ValueError as e:
            raise ValueError(f"[drivers.{name}]: {e}") from None
    if kind == "flaky":
        from southbound.testdriver import FlakyDriver
        owns = args.pop("owns", None)
        if owns is not None and not all(isinstance(o, str) for o in owns):
            raise ValueError(f"[drivers.{name}]: owns must be a list of schema paths")
        control = args.pop("control", None)
        if owns:
            args["owns"] = tuple(owns)
        try:
            return FlakyDriver(bundle, name, control=Path(control) if control else None, **args)
        except ValueError as e:
            raise ValueError(f"[drivers.{name}]: {e}") from None
    raise AssertionError(kind)
