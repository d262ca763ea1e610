"""RPCs of loaded YANG modules, served by a handler on the datastore session.

The input is decoded with the generated class of the rpc's ``input`` (so types, mandatory
nodes and choices are checked exactly as for data), the handler returns the generated
``output`` instance (or None), and its children become the children of ``<rpc-reply>``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from datastore import history
from models.bundle import Bundle, YangModel
from models.codec.errors import InstanceError
from models.codec.xml import decode_xml, encode_xml
from server.netconf.ops.base import Context, Operation, instance_errors

if TYPE_CHECKING:
    from datastore.session import Session

__all__ = ["YangRpc", "module_rpcs"]

Handler = Callable[["Session", YangModel], YangModel | None]

# rpc schema path → handler
HANDLERS: dict[str, Handler] = {
    f"/{history.MODULE}:rollback": history.rollback,
    f"/{history.MODULE}:compare": history.compare,
}


class YangRpc(Operation):
    def __init__(self, bundle: Bundle, path: str, handler: Handler):
        rpc = bundle.node(path)
        self.NAME = rpc.name  # type: ignore[misc]
        self.NS = bundle.schema.modules[rpc.module].namespace  # type: ignore[misc]
        self.input_cls = bundle.node(f"{path}/input").cls
        self.handler = handler

    def run(self, ctx: Context, elem: Any) -> list[Any]:
        try:
            inp = decode_xml(self.input_cls, elem)
        except InstanceError as e:
            raise instance_errors(e) from None
        out = self.handler(ctx.session, inp)
        if out is None:
            return []
        return list(encode_xml(out))


def module_rpcs(bundle: Bundle) -> list[Operation]:
    """An operation per rpc that has a handler and is in the loaded schema."""
    out: list[Operation] = []
    for path, handler in HANDLERS.items():
        try:
            bundle.node(path)
        except KeyError:
            continue
        out.append(YangRpc(bundle, path, handler))
    return out
