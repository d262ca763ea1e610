"""close-session and kill-session (RFC 6241 §7.8, §7.9)."""

from __future__ import annotations

from typing import Any

from server.netconf.errors import NC, NetconfError
from server.netconf.ops.base import Context, Operation, check_children, text_of

__all__ = ["CloseSession", "KillSession"]


class CloseSession(Operation):
    NAME = "close-session"

    def run(self, ctx: Context, elem: Any) -> list[Any]:
        check_children(elem, [])
        ctx.control.request_close()
        return []


class KillSession(Operation):
    NAME = "kill-session"

    def run(self, ctx: Context, elem: Any) -> list[Any]:
        check_children(elem, [(NC, "session-id")])
        text = text_of(elem, "session-id")
        if text is None:
            raise NetconfError("missing-element", "<session-id> is required", bad_element="session-id")
        if not text.isdigit() or int(text) == 0:
            raise NetconfError("invalid-value", f"bad session-id {text!r}", bad_element="session-id")
        sid = int(text)
        if sid == ctx.session_id:
            raise NetconfError("invalid-value", "use close-session to end the own session",
                               bad_element="session-id")
        ctx.control.kill(sid)
        return []
