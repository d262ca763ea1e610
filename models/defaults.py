"""Default values (RFC 7950 §7.6.1, §7.7.2, §7.9.3): typed, where they apply, and as a view.

A tree stores only what was set. XPath evaluation and with-defaults views (RFC 6243) need
the defaults too: a leaf's default applies when its parent exists (a non-presence container
exists implicitly) and, inside a choice, when its case is the active one, or no case is
active and it is the choice's default case. And only while its whens hold (§7.6.1: "if the
leaf or any of its ancestors has a 'when' condition ... that evaluates to 'false', then the
default value is not in use"; likewise an NP container under a false when does not exist).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from models.bundle import Bundle, YangModel
from models.schema import Kind, SchemaNode, XPathExpr

if TYPE_CHECKING:  # models.instance is imported lazily where needed (it imports this module lazily)
    from models.instance import InstanceNode

_NONE = object()
_CACHE: dict[int, Any] = {}


class _Prefixes:
    def __init__(self, prefixes: dict[str, str], module: str):
        self.prefixes, self.module = prefixes, module

    def module_of_prefix(self, prefix: str | None) -> str | None:
        return self.module if prefix is None else self.prefixes.get(prefix)

    def prefix_of_module(self, module: str) -> str:
        return module


def default_of(bundle: Bundle, sn: SchemaNode) -> Any:
    """The typed default of a leaf (a value) or leaf-list (a tuple), or None."""
    got = _CACHE.get(id(sn), _NONE)
    if got is _NONE:
        got = None
        if sn.default is not None and sn.kind in (Kind.LEAF, Kind.LEAF_LIST):
            t = bundle.type_of(sn)
            ns = _Prefixes(dict(sn.default_prefixes or {}), sn.module)
            values = tuple(t.validate(t.from_text(d, ns)) for d in sn.default)
            got = values if sn.kind is Kind.LEAF_LIST else values[0]
        _CACHE[id(sn)] = got
    return got


def case_allows(obj: YangModel | None, sn: SchemaNode) -> bool:
    """Whether the cases ``sn`` sits in (if any) let its default apply, given parent ``obj``."""
    node = sn
    while node.parent is not None and node.parent.kind is Kind.CASE:
        case = node.parent
        choice = case.parent
        assert choice is not None
        active = _active_case(obj, choice)
        if active is None:
            if choice.default is None or choice.default[0] != case.name:
                return False
        elif active is not case:
            return False
        node = choice
    return True


def _active_case(obj: YangModel | None, choice: SchemaNode) -> SchemaNode | None:
    if obj is None:
        return None
    for case in choice.children:
        nodes = list(case.data_children()) if case.kind is Kind.CASE else [case]
        if any(getattr(obj, n.py_name) is not None for n in nodes):
            return case
    return None


def has_defaults(sn: SchemaNode) -> bool:
    """Whether a non-presence container's subtree holds a default that would make it exist."""
    key = ("np", id(sn))
    got = _CACHE.get(key)  # type: ignore[call-overload]
    if got is None:
        got = any(n.default is not None and n.kind in (Kind.LEAF, Kind.LEAF_LIST)
                  for n in sn.walk() if n is not sn and _np_path(sn, n))
        _CACHE[key] = got  # type: ignore[index]
    return bool(got)


def _np_path(top: SchemaNode, n: SchemaNode) -> bool:
    p = n.parent
    while p is not None and p is not top:
        if p.kind is Kind.LIST or (p.kind is Kind.CONTAINER and p.presence):
            return False
        p = p.parent
    return True


# ---- when (RFC 7950 §7.21.5) ----------------------------------------------------------------

_WHENS: dict[int, tuple[SchemaNode, tuple[XPathExpr, ...]]] = {}


def whens(sn: SchemaNode) -> tuple[XPathExpr, ...]:
    """The whens deciding whether ``sn`` may exist: those of the choices and cases between it
    and its data parent (outermost first), then its own (which include those of the uses and
    augments it came from). A choice's or case's when has the closest ancestor data node as
    its context, compiled as "parent", so each reads the same on any data node below it.
    Cached per node (holding it, so its id is not reused meanwhile)."""
    got = _WHENS.get(id(sn))
    if got is None or got[0] is not sn:
        found: list[XPathExpr] = list(sn.when)
        p = sn.parent
        while p is not None and p.kind in (Kind.CHOICE, Kind.CASE):
            found[:0] = p.when
            p = p.parent
        got = _WHENS[id(sn)] = (sn, tuple(found))
    return got[1]


_LOCAL = threading.local()  # per thread: the (schema node, parent) whose whens are being evaluated


def in_use(parent: InstanceNode, sn: SchemaNode) -> bool | None:
    """Whether the whens of absent ``sn`` (``whens``) let its implicit instance under
    ``parent`` exist: a default in use, an NP container existing (RFC 7950 §7.6.1).

    None while they are being evaluated (an expression reading the node itself, or a cycle
    through another node's when): §7.21.5 has the node be "a single dummy node with the same
    name, but with no value and no children" meanwhile, and the context of a "self" when."""
    found = whens(sn)
    if not found:
        return True
    active: set[tuple[int, InstanceNode]] | None = getattr(_LOCAL, "active", None)
    if active is None:
        active = _LOCAL.active = set()
    key = (id(sn), parent)
    if key in active:
        return None
    from models.instance import InstanceNode
    from models.xpath.evaluate import eval_expr

    dummy = InstanceNode(sn, None, parent, parent.bundle)
    schema = parent.bundle.schema
    active.add(key)
    try:
        return all(eval_expr(w, dummy, schema) for w in found)
    finally:
        active.discard(key)


_CTX: dict[int, tuple[SchemaNode, bool]] = {}


def _needs_context(sn: SchemaNode) -> bool:
    """Whether filling defaults below ``sn`` may meet a when (on a default, on an NP container
    holding defaults, or on a choice or case above either): only then are instance nodes made
    for XPath; the common case is a plain walk of attributes (cached per node)."""
    got = _CTX.get(id(sn))
    if got is None or got[0] is not sn:
        got = _CTX[id(sn)] = (sn, any(
            n is not sn and n.kind in (Kind.LEAF, Kind.LEAF_LIST, Kind.CONTAINER) and bool(whens(n))
            and (n.default is not None if n.kind is not Kind.CONTAINER else not n.presence and has_defaults(n))
            for n in sn.walk()))
    return got[1]


def with_defaults(
    bundle: Bundle,
    node: SchemaNode,
    obj: YangModel | None,
    config_only: bool = False,
    parent: InstanceNode | None = None,
) -> YangModel | None:
    """``obj`` with every default in use filled in (RFC 6243 report-all), recursively.

    Whens on defaults (§7.6.1) are XPath over the whole tree: ``parent`` is the instance of
    ``obj``'s parent in it (e.g. ``models.instance.find`` of the resource's parent path); None
    when ``obj`` is the whole tree (``node`` the schema root), or when nothing above ``obj``
    matters (then an expression reaching above ``obj`` sees nothing there)."""
    if not _needs_context(node):
        return _fill(bundle, node, obj, config_only)
    from models.instance import InstanceNode, root_node

    if not node.module:  # the schema root: ``obj`` is the whole tree
        here = root_node(obj, bundle)
    else:
        key = None
        if node.kind is Kind.LIST and obj is not None:
            key = tuple(getattr(obj, k.py_name) for k in _key_nodes(node))
        here = InstanceNode(node, obj, parent, bundle, key, -1 if node.kind is Kind.LIST else 0)
    return _fill_at(bundle, node, obj, config_only, here)


def _key_nodes(lst: SchemaNode) -> list[SchemaNode]:
    return [k for k in (lst.data_child(lst.module, name) for name in lst.keys) if k is not None]


def _fill(bundle: Bundle, node: SchemaNode, obj: YangModel | None, config_only: bool) -> YangModel | None:
    """``with_defaults`` of a subtree where no when can apply to a default."""
    updates: dict[str, Any] = {}
    for c in node.data_children():
        if config_only and not c.config:
            continue
        v = getattr(obj, c.py_name) if obj is not None else None
        if v is None:
            if c.kind in (Kind.LEAF, Kind.LEAF_LIST) and c.default is not None and case_allows(obj, c):
                updates[c.py_name] = default_of(bundle, c)
            elif c.kind is Kind.CONTAINER and not c.presence and has_defaults(c) and case_allows(obj, c):
                filled = _fill(bundle, c, None, config_only)
                if filled is not None:
                    updates[c.py_name] = filled
        elif c.kind is Kind.CONTAINER:
            filled = _fill(bundle, c, v, config_only)
            if filled is not v:
                updates[c.py_name] = filled
        elif c.kind is Kind.LIST:
            entries = [_fill(bundle, c, e, config_only) for e in v]
            if any(a is not b for a, b in zip(entries, v, strict=True)):
                updates[c.py_name] = type(v)(entries, v.key_names)
    return _updated(node, obj, updates)


def _fill_at(
    bundle: Bundle, node: SchemaNode, obj: YangModel | None, config_only: bool, here: InstanceNode
) -> YangModel | None:
    """``_fill`` where a when may apply: ``here`` is ``obj``'s instance in the stored tree
    (an implicit NP container's has value None), the parent of the defaults' dummy nodes."""
    from models.instance import InstanceNode

    updates: dict[str, Any] = {}
    for c in node.data_children():
        if config_only and not c.config:
            continue
        v = getattr(obj, c.py_name) if obj is not None else None
        if v is None:
            if c.kind in (Kind.LEAF, Kind.LEAF_LIST) and c.default is not None and case_allows(obj, c):
                if in_use(here, c):
                    updates[c.py_name] = default_of(bundle, c)
            elif c.kind is Kind.CONTAINER and not c.presence and has_defaults(c) and case_allows(obj, c):
                if in_use(here, c):
                    filled = _fill_at(bundle, c, None, config_only, InstanceNode(c, None, here, bundle))
                    if filled is not None:
                        updates[c.py_name] = filled
        elif c.kind is Kind.CONTAINER:
            filled = (_fill_at(bundle, c, v, config_only, InstanceNode(c, v, here, bundle)) if _needs_context(c)
                      else _fill(bundle, c, v, config_only))
            if filled is not v:
                updates[c.py_name] = filled
        elif c.kind is Kind.LIST:
            if _needs_context(c):
                entries = [_fill_at(bundle, c, e, config_only, InstanceNode(c, e, here, bundle, k, i))
                           for i, (k, e) in enumerate(zip(v.keys(), v, strict=True))]
            else:
                entries = [_fill(bundle, c, e, config_only) for e in v]
            if any(a is not b for a, b in zip(entries, v, strict=True)):
                updates[c.py_name] = type(v)(entries, v.key_names)
    return _updated(node, obj, updates)


def _updated(node: SchemaNode, obj: YangModel | None, updates: dict[str, Any]) -> YangModel | None:
    if not updates:
        return obj
    if obj is None:
        return node.cls.model_validate(updates)  # type: ignore[no-any-return]
    return obj.model_copy(update=updates)
