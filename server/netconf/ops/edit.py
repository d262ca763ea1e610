"""edit-config, copy-config, delete-config (RFC 6241 §7.2-§7.4)."""

from __future__ import annotations

from typing import Any

from models.edit import Op
from server.netconf.capabilities import ROLLBACK_ON_ERROR, STARTUP, WRITABLE_RUNNING
from server.netconf.errors import NC, NetconfError, rpc_errors
from server.netconf.ops.base import (
    Context,
    Operation,
    check_children,
    child,
    datastore_of,
    decode_config,
    text_of,
)

__all__ = ["CopyConfig", "DeleteConfig", "EditConfig"]

_DEFAULT_OPS = {"merge": Op.MERGE, "replace": Op.REPLACE, "none": Op.NONE}
_TEST = ("test-then-set", "set", "test-only")
_ERROR = ("stop-on-error", "continue-on-error", "rollback-on-error")


def _choice(elem: Any, name: str, allowed: tuple[str, ...] | dict[str, Any], default: str) -> str:
    v = text_of(elem, name)
    if v is None:
        return default
    if v not in allowed:
        raise NetconfError("invalid-value", f"<{name}> must be one of {', '.join(allowed)}",
                           bad_element=name)
    return v


class EditConfig(Operation):
    NAME = "edit-config"
    CAPABILITY = WRITABLE_RUNNING
    DEPENDS = (ROLLBACK_ON_ERROR,)

    def run(self, ctx: Context, elem: Any) -> list[Any]:
        from models.codec.edit_xml import edit_from_xml

        check_children(elem, [(NC, n) for n in ("target", "default-operation", "test-option",
                                               "error-option", "config", "url")])
        target = datastore_of(elem, "target", ("running", "candidate"))
        default_op = _DEFAULT_OPS[_choice(elem, "default-operation", _DEFAULT_OPS, "merge")]
        test = _choice(elem, "test-option", _TEST, "test-then-set")
        error = _choice(elem, "error-option", _ERROR, "stop-on-error")
        if child(elem, "url") is not None:
            raise NetconfError("operation-not-supported", ":url is not supported", bad_element="url")
        config = child(elem, "config", required=True)
        edits = edit_from_xml(ctx.bundle, config)
        skipped = ctx.session.edit(target, edits, default_op, test, error)
        return rpc_errors(ctx.bundle.schema, skipped)


class CopyConfig(Operation):
    NAME = "copy-config"

    def run(self, ctx: Context, elem: Any) -> list[Any]:
        check_children(elem, [(NC, "target"), (NC, "source")])
        target = datastore_of(elem, "target")
        source = datastore_of(elem, "source", inline=True)
        tree = source if isinstance(source, str) else decode_config(ctx, source)
        ctx.session.copy_config(tree, target)
        return []


class DeleteConfig(Operation):
    NAME = "delete-config"
    CAPABILITY = STARTUP

    def run(self, ctx: Context, elem: Any) -> list[Any]:
        check_children(elem, [(NC, "target")])
        target = datastore_of(elem, "target")
        ctx.session.delete_config(target)
        return []
