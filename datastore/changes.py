"""Change sets on the wire and on disk: RFC 7951 JSON, and replay onto a tree.

A commit's change set is the ordered list of ``Change(op, path, old, new)`` the edit engine
produced. It is stored as JSON (path as an RFC 7951 instance-identifier, values as RFC 7951
JSON of the subtree) so the commit log is readable and independent of Python; replaying it
in order onto the tree it was made against reproduces the committed tree exactly.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from datastore.edit import Change
from datastore.path import Path, format_path, parse_path
from datastore.tree import set_at
from models.bundle import Bundle, YangModel
from models.schema import Kind, SchemaNode
from models.yanglist import YangList


def encode_value(bundle: Bundle, node: SchemaNode, keyed: bool, value: Any) -> Any:
    """RFC 7951 JSON of the value at a path ending in ``node`` (``keyed``: one entry)."""
    if value is None:
        return None
    if node.kind is Kind.LIST and not keyed:
        return [e.model_dump(mode="json", exclude_none=True) for e in value]
    if isinstance(value, YangModel):
        return value.model_dump(mode="json", exclude_none=True)
    if node.kind in (Kind.ANYDATA, Kind.ANYXML):
        return value
    t = bundle.type_of(node)
    if node.kind is Kind.LEAF_LIST and not keyed:
        return [t.to_json(v) if t.json_serializes else v for v in value]
    return t.to_json(value) if t.json_serializes else value


def decode_value(bundle: Bundle, node: SchemaNode, keyed: bool, jv: Any) -> Any:
    if jv is None:
        return None
    if node.kind is Kind.LIST:
        if keyed:
            return node.cls.model_validate_json(json.dumps(jv))
        entries = [node.cls.model_validate_json(json.dumps(e)) for e in jv]
        keys = tuple(k.py_name for k in (node.child(node.module, n) for n in node.keys) if k)
        return YangList(entries, keys)
    if node.kind in (Kind.CONTAINER,):
        return node.cls.model_validate_json(json.dumps(jv))
    if node.kind in (Kind.ANYDATA, Kind.ANYXML):
        return jv
    t = bundle.type_of(node)
    if node.kind is Kind.LEAF_LIST and not keyed:
        return tuple(t.from_json(v) for v in jv)
    return t.from_json(jv)


def _value_json(bundle: Bundle, node: SchemaNode, keyed: bool, value: Any) -> str:
    """``encode_value`` as JSON text; subtrees are serialised by pydantic-core directly (a
    removed 10k-entry list would otherwise be dumped to dicts and re-encoded by json)."""
    if isinstance(value, YangModel):
        return value.model_dump_json(exclude_none=True)
    if node.kind is Kind.LIST and not keyed and value is not None:
        return "[" + ",".join(e.model_dump_json(exclude_none=True) for e in value) + "]"
    return json.dumps(encode_value(bundle, node, keyed, value), separators=(",", ":"))


def encode_changes(bundle: Bundle, changes: Sequence[Change]) -> str:
    out = []
    for c in changes:
        last = c.path[-1]
        keyed = last.key is not None
        op = json.dumps(c.op)
        path = json.dumps(format_path(bundle, c.path))
        old = _value_json(bundle, last.node, keyed, c.old)
        new = _value_json(bundle, last.node, keyed, c.new)
        out.append(f'{{"op":{op},"path":{path},"old":{old},"new":{new}}}')
    return "[" + ",".join(out) + "]"


def decode_changes(bundle: Bundle, text: str) -> list[Change]:
    out = []
    for d in json.loads(text):
        path: Path = parse_path(bundle, d["path"])
        last = path[-1]
        keyed = last.key is not None
        out.append(Change(d["op"], path, decode_value(bundle, last.node, keyed, d["old"]),
                          decode_value(bundle, last.node, keyed, d["new"])))
    return out


def replay(tree: YangModel, changes: Iterable[Change]) -> YangModel:
    """Apply a change set in order: set each path to its new value (None removes)."""
    for c in changes:
        new = c.new
        if c.path[-1].node.kind is Kind.LEAF_LIST and c.path[-1].key is not None:
            new = True if c.new is not None else None  # presence of the value is the state
        tree = set_at(tree, c.path, new)
    return tree


def invert(changes: Sequence[Change]) -> list[Change]:
    """The change set that undoes ``changes`` (for rollback of recent commits)."""
    inv = {"create": "delete", "delete": "create", "modify": "modify"}
    return [Change(inv[c.op], c.path, c.new, c.old) for c in reversed(changes)]
