"""Normalizers: a leaf's value rewritten before it is stored (``Datastores.add_normalizer``).

A normalizer maps the value a client wrote to the value yangd keeps, e.g. RFC 7317's
ietf-system password: a ``$0$`` cleartext becomes a crypt hash, so the clear value never
reaches a candidate, the commit log or a reply. It runs on every edit and on every commit
(edit-config, copy-config, RESTCONF, rollback, internal commits) before validation.

Cost follows the change: only changes on the leaf or one of its ancestors are looked at, and
then only the leaf instances inside those changes' new values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from datastore.edit import Change
from datastore.path import Path, Step
from datastore.tree import get_at, set_at
from models.bundle import Bundle, YangModel
from models.schema import Kind, SchemaNode

__all__ = ["Normalizer", "Normalizers"]

# The value written → the value to store (the same object when nothing changes); may raise
# YangdErrors to refuse the value.
Normalizer = Callable[[Any], Any]


class Normalizers:
    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        self._rules: list[tuple[tuple[SchemaNode, ...], Normalizer]] = []

    def add(self, path: str, fn: Normalizer) -> bool:
        """Normalize the leaf at schema ``path``; False when its module is not loaded."""
        try:
            node = self.bundle.node(path)
        except KeyError:
            return False
        if node.kind is not Kind.LEAF:
            raise ValueError(f"{path} is not a leaf")
        chain: list[SchemaNode] = []
        n: SchemaNode | None = node
        while n is not None and n.parent is not None:  # up to (not including) the root
            chain.append(n)
            n = n.data_parent()
        self._rules.append((tuple(reversed(chain)), fn))
        return True

    def apply(self, tree: YangModel, changes: Sequence[Change]) -> tuple[YangModel, list[Change]]:
        """``tree`` and its change set with every normalized leaf the changes wrote rewritten."""
        if not isinstance(changes, list):
            changes = list(changes)
        if not self._rules or not changes:
            return tree, changes
        fixes: list[tuple[Path, Any]] = []
        touched: set[int] = set()
        for i, c in enumerate(changes):
            if c.op == "delete":
                continue
            for chain, fn in self._rules:
                depth = len(c.path)
                if depth > len(chain) or any(s.node is not chain[j] for j, s in enumerate(c.path)):
                    continue
                for path, value in _instances(c.new, chain, depth, c.path):
                    new = fn(value)
                    if new is not value and new != value:
                        fixes.append((path, new))
                        touched.add(i)
        if not fixes:
            return tree, changes
        for path, value in fixes:
            tree = set_at(tree, path, value)
        out = [replace(c, new=get_at(tree, c.path)) if i in touched else c
               for i, c in enumerate(changes)]
        return tree, out

    def tree(self, tree: YangModel) -> YangModel:
        """``tree`` with every instance of a normalized leaf rewritten (e.g. for copy-config)."""
        for chain, fn in self._rules:
            for path, value in list(_instances(tree, chain, 0, ())):
                new = fn(value)
                if new is not value and new != value:
                    tree = set_at(tree, path, new)
        return tree


def _instances(obj: Any, chain: tuple[SchemaNode, ...], i: int, path: Path) -> Iterator[tuple[Path, Any]]:
    """(path, value) of each instance of ``chain[-1]`` below ``obj``, the node at ``chain[i-1]``.

    ``obj`` is a list entry when the path's last step is a list entry, a leaf's value when
    ``i == len(chain)``.
    """
    if obj is None:
        return
    if i == len(chain):
        yield path, obj
        return
    node = chain[i]
    if i and path[-1].node.kind is Kind.LIST and path[-1].key is None:  # a list-level change
        for entry in obj:
            yield from _instances(entry, chain, i, (*path[:-1], Step(path[-1].node, obj.key_of(entry))))
        return
    value = getattr(obj, node.py_name, None)
    if value is None:
        return
    if node.kind is Kind.LIST:
        for entry in value:
            yield from _instances(entry, chain, i + 1, (*path, Step(node, value.key_of(entry))))
    else:
        yield from _instances(value, chain, i + 1, (*path, Step(node)))
