"""Errors of the southbound layer, and their translation into the one error model.

A driver raises ``DriverError`` for anything its backend refuses (pyroute2's NetlinkError,
a daemon's reply, ...): each driver translates its backend's exceptions at its own boundary
(httpx ``map_httpcore_exceptions``). The driver framework turns a ``DriverError`` — or any
other exception, which is a bug — into ``YangdErrors`` with tag operation-failed, the driver
name and phase in ``info``, and the error-path the driver named; no traceback reaches a client.
"""

from __future__ import annotations

import logging

from models.errors import YangdError, YangdErrors

log = logging.getLogger("yangd.southbound")


class DriverError(Exception):
    """A backend refused or failed; ``path`` is the instance path (RFC 7951) it concerns."""

    def __init__(self, message: str, path: str | None = None, app_tag: str | None = None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.app_tag = app_tag


class DriverTimeout(DriverError):
    """A phase did not finish within the driver's timeout."""


def to_yangd(driver: str, phase: str, e: BaseException) -> YangdErrors:
    """The client-facing form of a driver failure."""
    if isinstance(e, YangdErrors):
        return YangdErrors(
            YangdError(x.tag, x.message, x.path, x.app_tag, x.type,
                       {**x.info, "driver": driver, "phase": phase})
            for x in e.errors
        )
    if isinstance(e, DriverError):
        return YangdErrors.one("operation-failed", e.message, e.path, e.app_tag,
                               driver=driver, phase=phase)
    log.error("driver %s: unexpected %s in %s", driver, type(e).__name__, phase, exc_info=e)
    return YangdErrors.one("operation-failed", f"internal error in {phase}: {type(e).__name__}",
                           driver=driver, phase=phase)
