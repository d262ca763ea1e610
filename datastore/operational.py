"""The operational datastore (RFC 8342 §5.3): what the box really uses and reports.

It is computed on read: running (origin ``intended``), merged with the trees that state
providers (southbound drivers) report — config-false state and learned configuration, each
provider with its origin (``learned``, ``system``, ...) — plus the defaults in use (origin
``default``). Origins are kept beside the tree as a map from instance path to origin
identity, recorded only where a node's origin differs from its parent's (RFC 8342 §7.4:
origin is inherited), which is exactly what ``with-origin`` encoders need.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from datastore.diff import diff
from datastore.path import Path, Step, format_path
from models.bundle import Bundle, YangModel
from models.defaults import with_defaults
from models.schema import Kind, SchemaNode
from models.yanglist import YangList

log = logging.getLogger("yangd.operational")

INTENDED = "ietf-origin:intended"
DEFAULT = "ietf-origin:default"
LEARNED = "ietf-origin:learned"
SYSTEM = "ietf-origin:system"


class StateProvider(Protocol):
    """A source of operational data (a southbound driver reading its backend)."""

    name: str
    origin: str  # e.g. ietf-origin:learned

    def state(self) -> YangModel | None:
        """A Root tree with what the backend reports now (None: nothing)."""
        ...


@dataclass
class OperationalView:
    tree: YangModel
    origins: dict[str, str] = field(default_factory=dict)  # instance path → origin, where it changes
    errors: list[str] = field(default_factory=list)  # providers that failed this read

    def origin_of(self, path: str) -> str:
        """The origin of the node at ``path`` (inherited from the nearest recorded ancestor)."""
        p = path
        while p:
            if p in self.origins:
                return self.origins[p]
            p = _parent_path(p)
        return self.origins.get("/", INTENDED)


def _parent_path(p: str) -> str:
    depth = 0
    for i in range(len(p) - 1, -1, -1):
        ch = p[i]
        if ch == "]":
            depth += 1
        elif ch == "[":
            depth -= 1
        elif ch == "/" and depth == 0:
            return p[:i]
    return ""


def with_state(bundle: Bundle, running: YangModel, providers: Sequence[StateProvider],
               origins: dict[str, str] | None = None, errors: list[str] | None = None) -> YangModel:
    """``running`` with every provider's state merged in, defaults not filled: the legacy
    NETCONF ``<get>`` (RFC 6241 §7.7, running plus state data; RFC 8342 §7 keeps it)."""
    origins = {} if origins is None else origins
    tree = running
    root = bundle.schema.root
    for p in providers:
        try:
            state = p.state()
        except Exception as e:  # one backend failing must not hide the others' state
            log.warning("state provider %s failed: %s", p.name, e)
            if errors is not None:
                errors.append(f"{p.name}: {e}")
            continue
        if state is not None:
            tree = _merge(bundle, root, tree, state, (), p.origin, INTENDED, origins)
    return tree


def operational(bundle: Bundle, running: YangModel, providers: Sequence[StateProvider]) -> OperationalView:
    origins: dict[str, str] = {"/": INTENDED}
    view = OperationalView(running, origins)
    root = bundle.schema.root
    tree = with_state(bundle, running, providers, origins, view.errors)
    filled = with_defaults(bundle, root, tree)
    if filled is not None and filled is not tree:
        for c in diff(root, tree, filled):
            if c.op == "create":
                origins[format_path(bundle, c.path)] = DEFAULT
        tree = filled
    view.tree = tree
    return view


def _merge(bundle: Bundle, node: SchemaNode, a: YangModel | None, b: YangModel | None, path: Path,
           origin: str, inherited: str, origins: dict[str, str]) -> Any:
    """``a`` with ``b`` merged in; what only ``b`` has gets ``origin``."""
    if b is None:
        return a
    if a is None:
        if origin != inherited:
            origins[format_path(bundle, path) if path else "/"] = origin
        return b
    updates: dict[str, Any] = {}
    for c in node.data_children():
        va, vb = getattr(a, c.py_name), getattr(b, c.py_name)
        if vb is None or va is vb:
            continue
        if c.kind is Kind.CONTAINER:
            new = _merge(bundle, c, va, vb, (*path, Step(c)), origin, inherited, origins)
        elif c.kind is Kind.LIST:
            new = _merge_list(bundle, c, va, vb, path, origin, inherited, origins)
        elif c.kind is Kind.LEAF_LIST:
            new = (*(va or ()), *(v for v in vb if v not in (va or ())))
            if va is None and origin != inherited:
                origins[format_path(bundle, (*path, Step(c)))] = origin
        else:
            new = vb
            if va != vb and origin != inherited:
                origins[format_path(bundle, (*path, Step(c)))] = origin
        if new is not va:
            updates[c.py_name] = new
    return a.replace(**updates) if updates else a


def _merge_list(bundle: Bundle, node: SchemaNode, a: YangList[Any] | None, b: YangList[Any],
                path: Path, origin: str, inherited: str, origins: dict[str, str]) -> YangList[Any]:
    if a is None:
        for e in b:
            if origin != inherited:
                origins[format_path(bundle, (*path, Step(node, b.key_of(e))))] = origin
        return b
    out = a
    for e in b:
        k = b.key_of(e)
        mine = a.get(k) if node.keys else None
        p = (*path, Step(node, k))
        out = out.set(_merge(bundle, node, mine, e, p, origin, inherited, origins))
    return out
