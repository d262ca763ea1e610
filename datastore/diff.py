"""Structural diff of two data trees into a Change list (create/modify/delete).

Trees share structure (copy-on-write), so identical subtrees are skipped by identity and a
diff costs what differs, except inside a changed YangList, where the keys of both versions
are compared (O(entries), still cheap per entry). Ordered-by user lists and leaf-lists whose
order changed are reported as one list-level modify, matching what the edit engine records.
"""

from __future__ import annotations

from typing import Any

from datastore.edit import Change
from datastore.path import Path, Step
from models.bundle import YangModel
from models.schema import Kind, SchemaNode


def diff(root: SchemaNode, old: YangModel | None, new: YangModel | None) -> list[Change]:
    out: list[Change] = []
    _fields(root, old, new, (), out)
    return out


def _fields(node: SchemaNode, old: YangModel | None, new: YangModel | None, path: Path,
            out: list[Change]) -> None:
    if old is new:
        return
    for child in node.data_children():
        f = child.py_name
        a = getattr(old, f) if old is not None else None
        b = getattr(new, f) if new is not None else None
        if a is b:
            continue
        if child.kind is Kind.LIST:
            _list(child, a, b, path, out)
        elif child.kind is Kind.LEAF_LIST:
            _leaf_list(child, a, b, path, out)
        elif child.kind is Kind.CONTAINER:
            p = (*path, Step(child))
            if a is None or b is None:
                out.append(Change("create" if a is None else "delete", p, a, b))
            else:
                _fields(child, a, b, p, out)
        elif a != b:
            op = "create" if a is None else "delete" if b is None else "modify"
            out.append(Change(op, (*path, Step(child)), a, b))


def _list(node: SchemaNode, a: Any, b: Any, path: Path, out: list[Change]) -> None:
    old_keys = a.keys() if a is not None else ()
    new_keys = b.keys() if b is not None else ()
    new_set = set(new_keys)
    for k in old_keys:
        if k not in new_set:
            out.append(Change("delete", (*path, Step(node, k)), a.get(k), None))
    old_set = set(old_keys)
    for k in new_keys:
        p = (*path, Step(node, k))
        if k not in old_set:
            out.append(Change("create", p, None, b.get(k)))
        else:
            ea, eb = a.get(k), b.get(k)
            if ea is not eb:
                _fields(node, ea, eb, p, out)
    if a is not None and b is not None:  # order is state for ordered-by system lists too
        # replaying the entry changes keeps old entries in place and appends new ones
        replayed = [k for k in old_keys if k in new_set] + [k for k in new_keys if k not in old_set]
        if replayed != list(new_keys):
            out.append(Change("modify", (*path, Step(node)), a, b))


def _leaf_list(node: SchemaNode, a: Any, b: Any, path: Path, out: list[Change]) -> None:
    a, b = a or (), b or ()
    for v in a:
        if v not in b:
            out.append(Change("delete", (*path, Step(node, (v,))), v, None))
    for v in b:
        if v not in a:
            out.append(Change("create", (*path, Step(node, (v,))), None, v))
    if a and b:  # ordered-by system too: the tree's order is part of its equality
        replayed = [v for v in a if v in b] + [v for v in b if v not in a]
        if replayed != list(b):
            out.append(Change("modify", (*path, Step(node)), a, b))
