"""Wiring drivers into the datastores: start, full sync, resync, state providers.

The datastore never imports a driver; the server builds the drivers from its config and
calls ``attach``, which starts each driver, converges its backend to running (full sync),
and hands the drivers to ``Datastores`` as commit participants (in the given order: the
order of prepare and commit; abort and revert run in reverse) and as state providers.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from datastore.datastores import Datastores
from models.bundle import Bundle
from models.errors import YangdError, YangdErrors
from southbound.driver import Driver, check_unique_names

log = logging.getLogger("yangd.southbound")


class DriverManager:
    def __init__(self, drivers: Sequence[Driver]):
        check_unique_names(drivers)
        self.drivers = list(drivers)
        self.ds: Datastores | None = None

    def attach(self, ds: Datastores) -> None:
        """Start every driver, full-sync it to running, then make it a participant.

        A driver that fails to start or sync is still attached, marked ``needs_sync``: its
        next transaction retries the sync first, and fails until the backend is reachable.
        """
        with ds.lock:
            for d in self.drivers:
                try:
                    d.start()
                    d.full_sync(ds.running)
                except YangdErrors as e:
                    d.needs_sync = True
                    log.error("driver %s: start/full sync failed: %s", d.name, e)
                ds.add_participant(d)
                ds.add_state_provider(d)
        self.ds = ds

    def resync(self, name: str | None = None) -> None:
        """The ``resync`` RPC: full sync of one driver (or all) to running now."""
        ds = self._ds()
        targets = [d for d in self.drivers if name is None or d.name == name]
        if not targets:
            raise YangdErrors.one("invalid-value", f"no driver {name!r}")
        errors: list[YangdError] = []
        with ds.lock:
            for d in targets:
                try:
                    d.full_sync(ds.running)
                except YangdErrors as e:
                    d.needs_sync = True
                    errors.extend(e.errors)
        if errors:
            raise YangdErrors(errors)

    def close(self) -> None:
        if self.ds is not None:
            for d in self.drivers:
                self.ds.remove_participant(d)
                self.ds.remove_state_provider(d)
        for d in reversed(self.drivers):
            d.close()

    def _ds(self) -> Datastores:
        if self.ds is None:
            raise RuntimeError("DriverManager is not attached")
        return self.ds


class DriversConfig(Protocol):
    """What ``drivers_from_config`` needs of server.config.Config."""

    @property
    def drivers(self) -> Mapping[str, Mapping[str, Any]]: ...


# kind → {key: accepted types}; ``kind`` defaults to the table's name, ``enabled`` to true
KINDS: dict[str, dict[str, tuple[type, ...]]] = {
    "kernel": {"namespace": (str,), "create": (bool,), "allow_host": (bool,),
               "timeout": (int, float), "route_protocol": (int,)},
}
COMMON: dict[str, tuple[type, ...]] = {"kind": (str,), "enabled": (bool,)}


def drivers_from_config(cfg: DriversConfig, bundle: Bundle) -> DriverManager:
    """The drivers of ``[drivers.NAME]`` tables, in file order; none unless configured.

        [drivers.kernel]            # kind "kernel" (the table name, or kind = "kernel")
        namespace = "yangd"         # default "yangd"; "" is the host's, only with allow_host
        create = true               # create the namespace if missing
        timeout = 10                # seconds per phase
        route_protocol = 200        # rtnetlink protocol marking yangd's routes

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
        if table.get("enabled", True):
            drivers.append(_make(kind, name, bundle, args))
    try:
        return DriverManager(drivers)
    except ValueError as e:
        raise ValueError(f"drivers: {e}") from None


def _make(kind: str, name: str, bundle: Bundle, args: dict[str, Any]) -> Driver:
    if kind == "kernel":
        from southbound.kernel import KernelDriver  # pyroute2 only when configured
        try:
            return KernelDriver(bundle, name=name, **args)
        except ValueError as e:
            raise ValueError(f"[drivers.{name}]: {e}") from None
    raise AssertionError(kind)
