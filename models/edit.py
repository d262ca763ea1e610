"""Edit trees: what a NETCONF ``<config>`` or a RESTCONF request asks the datastore to do.

An ``EditNode`` is one node of the edit with its typed value (leaves), its key (list
entries), its explicit operation (RFC 6241 §7.2; None = inherited) and, for ``ordered-by
user`` nodes, where to insert it (RFC 7950 §7.8.6, §7.7.9). The codecs build edit trees from
XML (with ``nc:operation`` / ``yang:insert`` attributes) or JSON; datastore/edit.py applies
them. Values are already checked against their types here, so the engine only deals with
structure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from models.bundle import Bundle
from models.errors import YangdErrors, protected_message
from models.schema import Kind, SchemaNode


class Op(StrEnum):
    MERGE = "merge"
    REPLACE = "replace"
    CREATE = "create"
    DELETE = "delete"
    REMOVE = "remove"
    NONE = "none"


@dataclass
class EditNode:
    node: SchemaNode
    op: Op | None = None
    value: Any = None  # leaf, leaf-list entry, anydata
    key: tuple[Any, ...] | None = None  # list entry
    children: list[EditNode] = field(default_factory=list)
    insert: str | None = None  # first | last | before | after
    anchor: tuple[Any, ...] | None = None  # key of the list entry / value of the leaf-list entry
    # A validated model instance for this whole subtree when it carries no nested operations:
    # building new data then takes it as is (bulk loads), and ``kids`` derives the children
    # only when they must be merged into existing data.
    content: Any = None

    def kids(self) -> list[EditNode]:
        if not self.children and self.content is not None:
            self.children = _model_children(self.node, self.content)
        return self.children

    def __repr__(self) -> str:
        bits = [self.node.name]
        if self.op:
            bits.append(self.op.value)
        if self.key is not None:
            bits.append(repr(self.key))
        if self.value is not None:
            bits.append(repr(self.value))
        kids = f" {self.children!r}" if self.children else ""
        return f"<{' '.join(bits)}{kids}>"


def edit_from_json(
    bundle: Bundle, node: SchemaNode, value: Any, op: Op | None = None, path: str = ""
) -> list[EditNode]:
    """Edit nodes for ``value``, the RFC 7951 JSON (decoded) of data node ``node``.

    A list or leaf-list value is a JSON array and gives one EditNode per entry.
    """
    where = path or node.path()
    if node.kind is Kind.LIST:
        if not isinstance(value, list):
            raise YangdErrors.one("invalid-value", f"{node.name} must be a JSON array", where)
        return [_entry(bundle, node, v, op, where) for v in value]
    if node.kind is Kind.LEAF_LIST:
        if not isinstance(value, list):
            raise YangdErrors.one("invalid-value", f"{node.name} must be a JSON array", where)
        t = bundle.type_of(node)
        return [EditNode(node, op, value=_typed(t.from_json, v, where, node)) for v in value]
    if node.kind is Kind.LEAF:
        t = bundle.type_of(node)
        return [EditNode(node, op, value=_typed(t.from_json, value, where, node))]
    if node.kind in (Kind.ANYDATA, Kind.ANYXML):
        return [EditNode(node, op, value=value)]
    if not isinstance(value, Mapping):
        raise YangdErrors.one("invalid-value", f"{node.name} must be a JSON object", where)
    return [EditNode(node, op, children=_members(bundle, node, value, where))]


def edit_from_model(node: SchemaNode, value: Any, op: Op | None = None) -> list[EditNode]:
    """Edit nodes for an already validated value of ``node`` (model, YangList, tuple, leaf)."""
    if value is None:
        return []
    if node.kind is Kind.LIST:
        return [EditNode(node, op, key=value.key_of(e), content=e) for e in value]
    if node.kind is Kind.LEAF_LIST:
        return [EditNode(node, op, value=v) for v in value]
    if node.kind in (Kind.CONTAINER, Kind.INPUT, Kind.OUTPUT, Kind.NOTIFICATION):
        return [EditNode(node, op, content=value)]
    return [EditNode(node, op, value=value)]


def _model_children(node: SchemaNode, obj: Any) -> list[EditNode]:
    out: list[EditNode] = []
    for child in node.data_children():
        v = getattr(obj, child.py_name)
        if v is not None:
            out.extend(edit_from_model(child, v))
    return out


def _entry(bundle: Bundle, node: SchemaNode, value: Any, op: Op | None, where: str) -> EditNode:
    if not isinstance(value, Mapping):
        raise YangdErrors.one("invalid-value", f"an entry of {node.name} must be a JSON object", where)
    children = _members(bundle, node, value, where)
    by_name = {c.node.name: c for c in children if c.node.is_key}
    missing = [k for k in node.keys if k not in by_name]
    if missing:
        raise YangdErrors.one("missing-element", f"list entry without key {', '.join(missing)}",
                              where, bad_element=missing[0])
    return EditNode(node, op, key=tuple(by_name[k].value for k in node.keys), children=children)


def _members(bundle: Bundle, node: SchemaNode, obj: Mapping[str, Any], where: str) -> list[EditNode]:
    out: list[EditNode] = []
    for member, v in obj.items():
        mod, _, name = member.rpartition(":")
        child = node.data_child(mod or node.module, name)
        if child is None or (not mod and not node.module):
            raise YangdErrors.one("unknown-element", f"unknown member {member!r}", where,
                                  bad_element=member)
        out.extend(edit_from_json(bundle, child, v, None, f"{where}/{member}"))
    return out


def _typed(fn: Any, v: Any, where: str, node: SchemaNode) -> Any:
    try:
        return fn(v)
    except ValueError as e:  # pydantic ValidationError is a ValueError
        msg = e.errors()[0]["msg"] if hasattr(e, "errors") else str(e)
        raise YangdErrors.one("invalid-value", protected_message(node, msg), where) from None
