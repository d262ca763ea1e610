"""/yangd-cluster:cluster (yang/yangd/yangd-cluster): the instances on this database and the
locks they hold, as a state provider of the operational datastore. Re-exported by
datastore/cluster.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from datastore.operational import SYSTEM
from models.bundle import YangModel

if TYPE_CHECKING:
    from datastore.cluster import Cluster

__all__ = ["ClusterState"]


class ClusterState:
    """/yangd-cluster:cluster (yang/yangd/yangd-cluster): the instances and the locks, as a
    state provider of the operational datastore (``yangd serve`` adds it)."""

    name = "cluster"
    origin = SYSTEM

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    def state(self) -> YangModel | None:
        ds = self.cluster.ds
        try:
            ds.bundle.node("/yangd-cluster:cluster")
        except KeyError:  # the module is not loaded
            return None
        instances = [{k: v for k, v in {
            "id": i.id, "host": i.host, "pid": i.pid, "started": _stamp(i.started),
            "heartbeat": _stamp(i.heartbeat), "netconf-listen": i.netconf,
            "restconf-listen": i.restconf, "sessions": i.sessions,
            "leader-of": list(i.leader_of) or None}.items() if v is not None}
            for i in self.cluster.instances()]
        locks = [{"datastore": li.target, "session-id": li.session_id, "instance": li.instance_id,
                  "locked-time": _stamp(li.since), "expires": _stamp(li.expires)}
                 for li in sorted(self.cluster.locks.values(), key=lambda x: x.target)]
        doc = {"this-instance": self.cluster.id, "instance": instances or None,
               "lock": locks or None}
        return ds.root_cls.model_validate(
            {"yangd-cluster:cluster": {k: v for k, v in doc.items() if v is not None}})


def _stamp(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
