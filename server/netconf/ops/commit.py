"""validate, commit, cancel-commit, discard-changes (RFC 6241 §8.3, §8.4, §8.6).

commit also takes the yangd-commits augment: ``<comment>`` and ``<label>`` in that module's
namespace, recorded with the commit (datastore/history.py serves them back).
"""

from __future__ import annotations

from typing import Any

from server.netconf.capabilities import CANDIDATE, CONFIRMED_COMMIT, VALIDATE
from server.netconf.errors import NC, NetconfError
from server.netconf.ops.base import (
    Context,
    Operation,
    check_children,
    child,
    datastore_of,
    decode_config,
    text_of,
)

__all__ = ["CancelCommit", "Commit", "DiscardChanges", "Validate"]

YC = "urn:yangd:params:xml:ns:yang:yangd-commits"


class Validate(Operation):
    NAME = "validate"
    CAPABILITY = VALIDATE

    def run(self, ctx: Context, elem: Any) -> list[Any]:
        check_children(elem, [(NC, "source")])
        source = datastore_of(elem, "source", inline=True)
        ctx.session.validate(source if isinstance(source, str) else decode_config(ctx, source))
        return []


class Commit(Operation):
    NAME = "commit"
    CAPABILITY = CANDIDATE
    DEPENDS = (CONFIRMED_COMMIT,)

    def run(self, ctx: Context, elem: Any) -> list[Any]:
        check_children(elem, [(NC, "confirmed"), (NC, "confirm-timeout"), (NC, "persist"),
                              (NC, "persist-id"), (YC, "comment"), (YC, "label")])
        confirmed = child(elem, "confirmed") is not None
        timeout_text = text_of(elem, "confirm-timeout")
        timeout = 600
        if timeout_text is not None:
            if not timeout_text.isdigit() or not 0 < int(timeout_text) <= 4294967295:
                raise NetconfError("invalid-value", "confirm-timeout must be 1..4294967295 seconds",
                                   bad_element="confirm-timeout")
            timeout = int(timeout_text)
        ctx.session.commit(confirmed=confirmed, confirm_timeout=timeout,
                           persist=text_of(elem, "persist"), persist_id=text_of(elem, "persist-id"),
                           comment=text_of(elem, "comment", YC), label=text_of(elem, "label", YC))
        return []


class CancelCommit(Operation):
    NAME = "cancel-commit"
    CAPABILITY = CONFIRMED_COMMIT

    def run(self, ctx: Context, elem: Any) -> list[Any]:
        check_children(elem, [(NC, "persist-id")])
        ctx.session.cancel_commit(text_of(elem, "persist-id"))
        return []


class DiscardChanges(Operation):
    NAME = "discard-changes"

    def run(self, ctx: Context, elem: Any) -> list[Any]:
        check_children(elem, [])
        ctx.session.discard_changes()
        return []
