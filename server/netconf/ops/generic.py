"""RPCs of loaded YANG modules, served by the handlers registered in ``Datastores.rpcs``.

The input is decoded with the generated class of the rpc's ``input`` (types, one case per
choice) and ``Datastores.invoke`` checks its constraints (mandatory nodes, choices, must)
before the handler runs; the handler returns the generated ``output`` instance (or None),
and its children become the children of ``<rpc-reply>``.
"""

from __future__ import annotations

from typing import Any

from datastore.datastores import Datastores
from models.codec.errors import InstanceError
from models.codec.xml import decode_xml, encode_xml
from server.netconf.ops.base import Context, Operation, instance_errors

__all__ = ["YangRpc", "module_rpcs"]


class YangRpc(Operation):
    def __init__(self, ds: Datastores, path: str):
        bundle = ds.bundle
        rpc = bundle.node(path)
        self.NAME = rpc.name  # type: ignore[misc]
        self.NS = bundle.schema.modules[rpc.module].namespace  # type: ignore[misc]
        self.input_cls = bundle.node(f"{path}/input").cls
        self.ds = ds
        self.path = path

    def run(self, ctx: Context, elem: Any) -> list[Any]:
        try:
            inp = decode_xml(self.input_cls, elem)
        except InstanceError as e:
            raise instance_errors(e) from None
        out = self.ds.invoke(ctx.session, self.path, inp)
        if out is None:
            return []
        return list(encode_xml(out))


def module_rpcs(ds: Datastores) -> list[Operation]:
    """An operation per rpc with a registered handler (only rpcs of loaded modules are)."""
    return [YangRpc(ds, path) for path in ds.rpcs]
