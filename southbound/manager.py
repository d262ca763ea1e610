"""Wiring drivers into the datastores: start, full sync, resync, state providers.

The datastore never imports a driver; the server builds the drivers from its config and
calls ``attach``, which starts each driver, converges its backend to running (full sync),
and hands the drivers to ``Datastores`` as commit participants (in the given order: the
order of prepare and commit; abort and revert run in reverse) and as state providers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from datastore.datastores import Datastores
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
