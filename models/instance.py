"""A read-only cursor over a data tree: the node model XPath and validation walk.

Why: a data tree is a tree of frozen pydantic objects whose fields are containers, YangLists,
tuples (leaf-lists) and plain values; none of them knows its parent, its schema node or
where it sits in document order.  XPath (RFC 7950 §6.4.1) needs all three, so an
:class:`InstanceNode` pairs one data node with its schema node and its parent cursor.  Nodes
are made on demand while navigating (never for the whole tree), are cheap (``__slots__``)
and compare equal when they denote the same data node, however they were reached.

Leaf values are given their canonical lexical text with module names as prefixes (the
RFC 7951 form): identityrefs read ``module:identity`` and instance-identifiers keep their
RFC 7951 spelling.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import TYPE_CHECKING, Any

from models.schema import Kind, SchemaNode
from models.yanglist import YangList

if TYPE_CHECKING:  # imported lazily: models.xpath (and models.bundle via it) import this module
    from models.bundle import Bundle
    from models.xpath.paths import InstanceStep, KeyPredicate

__all__ = [
    "MODULE_NAMES", "REVERSE_AXES", "InstanceNode", "axis_nodes", "find", "leaf_text", "root_node",
]


class _ModuleNames:
    """A Namespaces adapter whose prefixes are module names (the RFC 7951 convention)."""

    def module_of_prefix(self, prefix: str | None) -> str | None:
        return prefix

    def prefix_of_module(self, module: str) -> str:
        return module


MODULE_NAMES = _ModuleNames()

# Index of a schema node among its data parent's data children (document order of siblings).
_SIBLING_INDEX: weakref.WeakKeyDictionary[SchemaNode, int] = weakref.WeakKeyDictionary()


def _sibling_index(sn: SchemaNode) -> int:
    i = _SIBLING_INDEX.get(sn)
    if i is None:
        parent = sn.data_parent()
        siblings = list(parent.data_children()) if parent is not None else [sn]
        for j, c in enumerate(siblings):
            _SIBLING_INDEX[c] = j
        i = _SIBLING_INDEX.get(sn, 0)
    return i


class InstanceNode:
    """One node of a data tree (or the document root, whose ``schema`` is None).

    ``value`` is the model instance (document root, container, list entry), the leaf value,
    a single leaf-list value, or the anydata dict.  ``key`` is the key tuple of a list entry
    or the value of a leaf-list entry (None otherwise); ``position`` is the 0-based index
    among the entries of the same list or leaf-list (0 otherwise, -1 while unknown).
    """

    __slots__ = ("_hash", "bundle", "depth", "key", "parent", "position", "schema", "value")

    def __init__(
        self,
        schema: SchemaNode | None,
        value: Any,
        parent: InstanceNode | None,
        bundle: Bundle,
        key: Any = None,
        position: int = 0,
    ) -> None:
        self.schema = schema
        self.value = value
        self.parent = parent
        self.bundle = bundle
        self.key = key
        self.position = position
        self.depth: int = 0 if parent is None else parent.depth + 1
        self._hash: int | None = None

    # ---- identity -----------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, InstanceNode):
            return NotImplemented
        if self.schema is not other.schema or self.depth != other.depth:
            return False
        if self.schema is None:
            return self.value is other.value
        if self.key != other.key:
            return False
        if self.schema.kind is Kind.LEAF_LIST and self.position != other.position:
            return False
        return self.parent == other.parent

    def __hash__(self) -> int:
        h = self._hash
        if h is None:
            if self.schema is None:
                h = id(self.value)
            else:
                key = self.key
                if self.schema.kind is Kind.LEAF_LIST:
                    key = self.position
                h = hash((id(self.schema), key, hash(self.parent)))
            self._hash = h
        return h

    def __repr__(self) -> str:
        return f"InstanceNode({self.path()!r})"

    # ---- navigation ---------------------------------------------------------------------
    @property
    def children_schema(self) -> SchemaNode:
        """The schema node whose data children are this node's children."""
        sn = self.schema
        if sn is None:
            yang: SchemaNode = type(self.value).__yang__
            return yang
        return sn

    def root(self) -> InstanceNode:
        node = self
        while node.parent is not None:
            node = node.parent
        return node

    def is_interior(self) -> bool:
        sn = self.schema
        return sn is None or sn.kind is Kind.CONTAINER or sn.kind is Kind.LIST

    def children(self) -> Iterator[InstanceNode]:
        """Child nodes in document order (schema order; entries in list order)."""
        if not self.is_interior():
            return
        for sn in self.children_schema.data_children():
            yield from self.children_of(sn)

    def child_nodes(self, module: str, name: str) -> list[InstanceNode]:
        """The children named ``module:name`` (every entry of a list or leaf-list)."""
        if not self.is_interior():
            return []
        sn = self.children_schema.data_child(module, name)
        return [] if sn is None else self.children_of(sn)

    def children_of(self, sn: SchemaNode) -> list[InstanceNode]:
        """The children for data child schema node ``sn`` (a list's or leaf-list's entries)."""
        v = getattr(self.value, sn.py_name, None)
        if v is None:  # RFC 7950 §7.6.1: XPath sees defaults, and the NP containers holding them
            return self._implicit(sn)
        kind = sn.kind
        if kind is Kind.LIST or kind is Kind.LEAF_LIST:
            return list(self._expand(sn, v))
        return [InstanceNode(sn, v, self, self.bundle)]

    def _implicit(self, sn: SchemaNode) -> list[InstanceNode]:
        from models.defaults import case_allows, default_of, has_defaults, in_use, whens

        kind = sn.kind
        if kind is Kind.LEAF or kind is Kind.LEAF_LIST:
            if sn.default is None or not case_allows(self.value, sn):
                return []
            if whens(sn):  # §7.6.1: a default under a false when is not in use
                use = in_use(self, sn)
                if not use:  # None: its when is being evaluated, it is the dummy node (§7.21.5)
                    return [] if use is False else [InstanceNode(sn, None, self, self.bundle)]
            d = default_of(self.bundle, sn)
            return list(self._expand(sn, d)) if kind is Kind.LEAF_LIST else [InstanceNode(sn, d, self, self.bundle)]
        if kind is Kind.CONTAINER and not sn.presence and has_defaults(sn) and case_allows(self.value, sn) \
                and in_use(self, sn) is not False:  # an NP container under a false when does not exist
            return [InstanceNode(sn, None, self, self.bundle)]
        return []

    def child_schema(self, module: str, name: str) -> SchemaNode | None:
        return self.children_schema.data_child(module, name) if self.is_interior() else None

    def entry(self, sn: SchemaNode, key: tuple[Any, ...]) -> InstanceNode | None:
        """The entry of list ``sn`` (a data child of this node) with ``key``, by lookup."""
        yl = getattr(self.value, sn.py_name, None)
        if not isinstance(yl, YangList):
            return None
        e = yl.get(key)
        if e is None:
            return None
        return InstanceNode(sn, e, self, self.bundle, yl.key_of(e), -1)

    def _expand(self, sn: SchemaNode, v: Any) -> Iterator[InstanceNode]:
        kind = sn.kind
        b = self.bundle
        if kind is Kind.LIST:  # keys() is in iteration order and holds the key tuples
            for i, (k, e) in enumerate(zip(v.keys(), v, strict=True)):
                yield InstanceNode(sn, e, self, b, k, i)
        elif kind is Kind.LEAF_LIST:
            for i, x in enumerate(v):
                yield InstanceNode(sn, x, self, b, x, i)
        else:
            yield InstanceNode(sn, v, self, b)

    def list_position(self) -> int:
        """The 0-based index of a list entry among its list's entries (computed if unknown)."""
        if self.position < 0 and self.parent is not None and self.schema is not None:
            yl = getattr(self.parent.value, self.schema.py_name)
            self.position = yl.keys().index(self.key)
        return self.position

    def order_key(self) -> tuple[int, ...]:
        """A key that sorts nodes of one tree into document order."""
        parts: list[int] = []
        node: InstanceNode | None = self
        while node is not None and node.schema is not None:
            parts.append(node.list_position())
            parts.append(_sibling_index(node.schema))
            node = node.parent
        parts.reverse()
        return tuple(parts)

    # ---- values -------------------------------------------------------------------------
    def text(self) -> str:
        """The canonical lexical text of a leaf or leaf-list value ("" for interior nodes)."""
        sn = self.schema
        if sn is None:
            return ""
        kind = sn.kind
        if kind is Kind.LEAF or kind is Kind.LEAF_LIST:
            return leaf_text(self.bundle, sn, self.value)
        return _any_text(self.value) if kind is Kind.ANYDATA or kind is Kind.ANYXML else ""

    def string_value(self) -> str:
        """XPath string-value: a leaf's text, or the concatenated leaf texts below a node."""
        if not self.is_interior():
            return self.text()
        out: list[str] = []
        stack = [self]
        while stack:
            node = stack.pop()
            if node.is_interior():
                stack.extend(reversed(list(node.children())))
            else:
                out.append(node.text())
        return "".join(out)

    # ---- paths --------------------------------------------------------------------------
    def steps(self) -> list[InstanceStep]:
        """This node's instance-identifier steps (module names as prefixes)."""
        from models.xpath.paths import InstanceStep, KeyPredicate
        steps: list[InstanceStep] = []
        node: InstanceNode | None = self
        while node is not None and node.schema is not None:
            sn = node.schema
            parent = node.parent
            pmod = parent.schema.module if parent is not None and parent.schema else None
            prefix = sn.module if sn.module != pmod else None
            preds: tuple[KeyPredicate, ...] | int = ()
            if sn.kind is Kind.LIST:
                if sn.keys:
                    preds = tuple(
                        KeyPredicate(None, k, c[0].text())
                        for k in sn.keys
                        if (c := node.child_nodes(sn.module, k))
                    )
                else:
                    preds = node.list_position() + 1
            elif sn.kind is Kind.LEAF_LIST:
                preds = (KeyPredicate(None, ".", node.text()),)
            steps.append(InstanceStep(prefix, sn.name, preds))
            node = parent
        steps.reverse()
        return steps

    def path(self) -> str:
        """The RFC 7951 instance path, e.g. ``/ietf-interfaces:interfaces/interface[name='eth0']``."""
        steps = self.steps()
        if not steps:
            return "/"
        out: list[str] = []
        for prefix, name, preds in steps:
            out.append(f"/{name}" if prefix is None else f"/{prefix}:{name}")
            if isinstance(preds, int):
                out.append(f"[{preds}]")
            else:
                out.extend(f"[{k.name}={_quote(k.value)}]" for k in preds)
        return "".join(out)


def leaf_text(bundle: Bundle, sn: SchemaNode, v: Any) -> str:
    """Canonical lexical text of value ``v`` of leaf (or leaf-list) ``sn``, module names as
    prefixes."""
    t = type(v)
    if t is str:
        return v  # type: ignore[no-any-return]
    if t is int:
        return str(v)
    if v is None:  # the dummy node a when is evaluated on has no value (RFC 7950 §7.21.5)
        return ""
    return bundle.type_of(sn).to_text(v, MODULE_NAMES)


def _quote(value: str) -> str:
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    return "concat('" + "', \"'\", '".join(value.split("'")) + "')"  # not an instance-id


def _any_text(v: Any) -> str:
    """String value of anydata content (a decoded JSON value): its scalars concatenated."""
    if isinstance(v, dict):
        return "".join(_any_text(x) for x in v.values())
    if isinstance(v, list):
        return "".join(_any_text(x) for x in v)
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


# ---- XPath axes (XPath 1.0 §2.2) --------------------------------------------------------------
REVERSE_AXES = frozenset({"parent", "ancestor", "ancestor-or-self", "preceding", "preceding-sibling"})


def _descendants(node: InstanceNode) -> Iterator[InstanceNode]:
    stack = [node.children()]
    while stack:
        nxt = next(stack[-1], None)
        if nxt is None:
            stack.pop()
        else:
            yield nxt
            stack.append(nxt.children())


def _reverse_subtree(node: InstanceNode) -> Iterator[InstanceNode]:
    for c in reversed(list(node.children())):
        yield from _reverse_subtree(c)
    yield node


def _ancestors(node: InstanceNode | None) -> Iterator[InstanceNode]:
    while node is not None:
        yield node
        node = node.parent


def _siblings(node: InstanceNode) -> tuple[list[InstanceNode], list[InstanceNode]]:
    if node.parent is None:
        return [], []
    kids = list(node.parent.children())
    i = kids.index(node)
    return kids[:i], kids[i + 1:]


def axis_nodes(node: InstanceNode, axis: str) -> Iterable[InstanceNode]:
    """The nodes on ``axis`` from ``node``, in axis order (reverse axes: nearest first)."""
    if axis == "child":
        return node.children()
    if axis == "self":
        return (node,)
    if axis == "parent":
        return () if node.parent is None else (node.parent,)
    if axis == "descendant":
        return _descendants(node)
    if axis == "descendant-or-self":
        return chain((node,), _descendants(node))
    if axis == "ancestor":
        return _ancestors(node.parent)
    if axis == "ancestor-or-self":
        return _ancestors(node)
    if axis == "following-sibling":
        return _siblings(node)[1]
    if axis == "preceding-sibling":
        return reversed(_siblings(node)[0])
    if axis == "following":
        return (x for a in _ancestors(node) for s in _siblings(a)[1]
                for x in chain((s,), _descendants(s)))
    if axis == "preceding":
        return (x for a in _ancestors(node) for s in reversed(_siblings(a)[0])
                for x in _reverse_subtree(s))
    return ()  # attribute, namespace: YANG data nodes have neither


def root_node(tree: Any, bundle: Bundle) -> InstanceNode:
    """The document root over ``tree`` (a Root model, or any model such as an RPC input)."""
    return InstanceNode(None, tree, None, bundle)


def find(root: InstanceNode, instance_path: str) -> InstanceNode | None:
    """The node an RFC 7951 instance-identifier names, or None if absent or malformed."""
    from models.xpath.paths import parse_instance_identifier
    try:
        steps = parse_instance_identifier(instance_path)
    except ValueError:
        return None
    node = root.root()
    module = ""
    for prefix, name, preds in steps:
        module = prefix or module
        sn = node.child_schema(module, name)
        if sn is None:
            return None
        found = _find_step(node, sn, preds)
        if found is None:
            return None
        node = found
    return node


def _find_step(
    node: InstanceNode, sn: SchemaNode, preds: tuple[KeyPredicate, ...] | int
) -> InstanceNode | None:
    if isinstance(preds, int):
        kids = node.child_nodes(sn.module, sn.name)
        return kids[preds - 1] if preds <= len(kids) else None
    if sn.kind is Kind.LIST and sn.keys and preds:
        given = {k.name: k.value for k in preds}
        if set(given) != set(sn.keys) or len(given) != len(preds):
            return None
        key: list[Any] = []
        for k in sn.keys:
            leaf = sn.data_child(sn.module, k)
            if leaf is None:
                return None
            try:
                key.append(node.bundle.type_of(leaf).from_text(given[k], MODULE_NAMES))
            except ValueError:
                return None
        return node.entry(sn, tuple(key))
    kids = node.child_nodes(sn.module, sn.name)
    if preds:
        if sn.kind is not Kind.LEAF_LIST or preds[0].name != ".":
            return None
        want = preds[0].value
        return next((k for k in kids if k.text() == want), None)
    if sn.kind in (Kind.LIST, Kind.LEAF_LIST):
        return kids[0] if len(kids) == 1 else None
    return kids[0] if kids else None
