"""yangd-commits (yang/yangd/yangd-commits.yang) served from the datastore's commit log.

The server layers dispatch the module's RPCs and its config-false ``commits`` container here,
so NETCONF and RESTCONF get rollback, compare and the history without code of their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from datastore.changes import encode_value
from datastore.path import format_path
from models.bundle import YangModel
from models.errors import YangdErrors

if TYPE_CHECKING:
    from datastore.datastores import Datastores
    from datastore.session import Session

MODULE = "yangd-commits"


def commits_state(ds: Datastores, limit: int | None = None) -> YangModel:
    """The /yangd-commits:commits container (newest first)."""
    node = ds.bundle.node(f"/{MODULE}:commits")
    rows = []
    for c in ds.commits(limit):
        row: dict[str, Any] = {
            "id": c.id, "time": c.time.isoformat().replace("+00:00", "Z"), "user": c.user,
            "transport": c.transport, "confirmed": c.confirmed, "size": c.size,
        }
        if c.comment is not None:
            row["comment"] = c.comment
        if c.label is not None:
            row["label"] = c.label
        rows.append(row)
    return node.cls.model_validate({"head": ds.head, "commit": rows})  # type: ignore[no-any-return]


def rollback(session: Session, inp: YangModel) -> YangModel:
    """rpc rollback: to a commit given by id or label; output: the new head."""
    ds = session.ds
    target = getattr(inp, "id", None)
    label = getattr(inp, "label", None)
    if target is None:
        target = ds.store.by_label(label) if label is not None else None
        if target is None:
            raise YangdErrors.one("invalid-value", f"no commit is labelled {label!r}",
                                  f"/{MODULE}:rollback/label", "unknown-commit")
    head = session.rollback(int(target), getattr(inp, "comment", None))
    out = ds.bundle.node(f"/{MODULE}:rollback/output")
    return out.cls.model_validate({"id": head})  # type: ignore[no-any-return]


def compare(session: Session, inp: YangModel) -> YangModel:
    """rpc compare: the change list turning ``from`` into ``to``."""
    ds = session.ds
    args: Any = inp  # generated input class: fields from the YANG module
    a, b = args.from_, args.to
    if b is None:  # the schema default
        b = "candidate"
    changes = session.compare(a, b)
    rows = []
    for c in changes:
        last = c.path[-1]
        row: dict[str, Any] = {"operation": c.op, "path": format_path(ds.bundle, c.path)}
        if c.new is not None:
            keyed = last.key is not None
            v = encode_value(ds.bundle, last.node, keyed, c.new)
            # anydata content is a top-level document: its members are module-qualified (RFC 7951 §5.5)
            row["value"] = {f"{last.node.module}:{last.node.name}": [v] if keyed else v}
        rows.append(row)
    out = ds.bundle.node(f"/{MODULE}:compare/output")
    return out.cls.model_validate({"change": rows})  # type: ignore[no-any-return]
