"""lock and unlock (RFC 6241 §7.5, §7.6)."""

from __future__ import annotations

from typing import Any

from server.netconf.errors import NC
from server.netconf.ops.base import Context, Operation, check_children, datastore_of

__all__ = ["Lock", "Unlock"]


class Lock(Operation):
    NAME = "lock"

    def run(self, ctx: Context, elem: Any) -> list[Any]:
        check_children(elem, [(NC, "target")])
        ctx.session.lock(datastore_of(elem, "target"))
        return []


class Unlock(Operation):
    NAME = "unlock"

    def run(self, ctx: Context, elem: Any) -> list[Any]:
        check_children(elem, [(NC, "target")])
        ctx.session.unlock(datastore_of(elem, "target"))
        return []
