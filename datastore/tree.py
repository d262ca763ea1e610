"""Copy-on-write operations on a data tree (an immutable generated ``Root`` instance).

A tree is never mutated: ``set_at``/``remove_at`` copy only the nodes on the path from the
root to the change and share everything else (YangList is a HAMT, so a list of 100k entries
costs O(log n) to update). A failed edit therefore simply drops its new tree.
"""

from __future__ import annotations

from typing import Any

from datastore.path import Path
from models.bundle import YangModel
from models.schema import Kind, SchemaNode
from models.yanglist import YangList


def get_at(tree: YangModel, path: Path) -> Any:
    """The value at ``path`` (model, YangList entry, leaf value, leaf-list value) or None."""
    cur: Any = tree
    for step in path:
        if cur is None:
            return None
        cur = getattr(cur, step.node.py_name)
        if step.key is not None and cur is not None:
            if step.node.kind is Kind.LIST:
                cur = cur.get(step.key)
            else:
                cur = step.key[0] if step.key[0] in cur else None
    return cur


def empty(node: SchemaNode, key: tuple[Any, ...] | None = None) -> YangModel:
    """A new instance of ``node``'s class holding only its keys."""
    fields: dict[str, Any] = {}
    if key is not None and node.kind is Kind.LIST:
        for kname, v in zip(node.keys, key, strict=True):
            kn = node.child(node.module, kname)
            assert kn is not None
            fields[kn.py_name] = v
    return node.cls.model_validate(fields)  # type: ignore[no-any-return]


def with_field(obj: YangModel | None, node: SchemaNode, field: str, value: Any,
               key: tuple[Any, ...] | None = None) -> YangModel | None:
    """``obj`` with one field replaced; creates ``obj`` (an instance of node.cls) if None.

    A non-presence container left with no children disappears (RFC 7950 §7.5.1).
    """
    if obj is None:
        if value is None:
            return None
        obj = empty(node, key)
    new = obj.replace(**{field: value})
    if node.kind is Kind.CONTAINER and not node.presence and value is None and is_empty(new):
        return None
    return new


def is_empty(obj: YangModel) -> bool:
    return all(v is None for v in obj.__dict__.values())


def set_at(tree: YangModel, path: Path, value: Any) -> YangModel:
    """A new tree with ``value`` at ``path`` (None removes); missing ancestors are created."""
    new: YangModel | None = _set(tree, path, 0, value)
    assert new is not None
    return new


def remove_at(tree: YangModel, path: Path) -> YangModel:
    return set_at(tree, path, None)


def _set(obj: YangModel | None, path: Path, i: int, value: Any) -> Any:
    step = path[i]
    node = step.node
    last = i == len(path) - 1
    field_value = getattr(obj, node.py_name) if obj is not None else None
    if node.kind is Kind.LIST and step.key is not None:
        entry = field_value.get(step.key) if field_value is not None else None
        new_entry = value if last else _set(entry if entry is not None else empty(node, step.key), path, i + 1, value)
        field_value = _list_put(field_value, step.key, new_entry, node)
    elif node.kind is Kind.LEAF_LIST and step.key is not None:
        cur = field_value or ()
        v = step.key[0]
        if value is None:
            cur = tuple(x for x in cur if x != v)
        elif v not in cur:
            cur = (*cur, v)
        field_value = cur or None
    elif last:
        field_value = value
    else:
        field_value = _set(field_value if field_value is not None else empty(node), path, i + 1, value)
    parent = path[i - 1].node if i else None
    return _put(obj, parent, node.py_name, field_value, path[i - 1].key if i else None)


def _put(obj: YangModel | None, parent: SchemaNode | None, field: str, value: Any,
         key: tuple[Any, ...] | None) -> YangModel | None:
    if parent is None:  # the root always exists
        assert obj is not None
        return obj.replace(**{field: value})
    return with_field(obj, parent, field, value, key)


def _list_put(yl: YangList[Any] | None, key: tuple[Any, ...], entry: Any, node: SchemaNode) -> Any:
    if entry is None:
        if yl is None or key not in yl:
            return yl
        yl = yl.remove(key)
        return yl if len(yl) else None
    if yl is None:
        keys = tuple(k.py_name for k in (node.child(node.module, n) for n in node.keys) if k)
        return YangList([entry], keys)
    return yl.set(entry)

