"""The NETCONF operations: one class per RPC, grouped by family (as ncclient's operations/)."""

from __future__ import annotations

from datastore.datastores import Datastores
from server.netconf.ops.action import Action
from server.netconf.ops.base import Context, Operation
from server.netconf.ops.commit import CancelCommit, Commit, DiscardChanges, Validate
from server.netconf.ops.edit import CopyConfig, DeleteConfig, EditConfig
from server.netconf.ops.generic import YangRpc, module_rpcs
from server.netconf.ops.lock import Lock, Unlock
from server.netconf.ops.monitoring import Get as GetWithState
from server.netconf.ops.monitoring import GetSchema
from server.netconf.ops.nmda import EditData, GetData
from server.netconf.ops.retrieve import Get, GetConfig
from server.netconf.ops.session import CloseSession, KillSession

__all__ = ["BASE_OPERATIONS", "Context", "Operation", "YangRpc", "registry"]

BASE_OPERATIONS: tuple[type[Operation], ...] = (
    Get, GetConfig, EditConfig, CopyConfig, DeleteConfig, Lock, Unlock, CloseSession,
    KillSession, Validate, Commit, CancelCommit, DiscardChanges,
)
# RFC 6022 (get with /netconf-state, replacing the base get; get-schema), RFC 8526
MONITORING_OPERATIONS: tuple[type[Operation], ...] = (GetWithState, GetSchema, GetData, EditData)
# RFC 7950 §7.15.2: actions of YANG 1.1 modules (no capability of its own)
YANG_OPERATIONS: tuple[type[Operation], ...] = (Action,)


def registry(ds: Datastores) -> dict[tuple[str, str], Operation]:
    """(namespace, element name) → operation, for every operation this server serves."""
    classes = (*BASE_OPERATIONS, *MONITORING_OPERATIONS, *YANG_OPERATIONS)
    ops: list[Operation] = [cls() for cls in classes] + module_rpcs(ds)
    return {(op.NS, op.NAME): op for op in ops}
