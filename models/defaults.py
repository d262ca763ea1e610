"""Default values (RFC 7950 §7.6.1, §7.7.2, §7.9.3): typed, where they apply, and as a view.

A tree stores only what was set. XPath evaluation and with-defaults views (RFC 6243) need
the defaults too: a leaf's default applies when its parent exists (a non-presence container
exists implicitly) and, inside a choice, when its case is the active one, or no case is
active and it is the choice's default case.
"""

from __future__ import annotations

from typing import Any

from models.bundle import Bundle, YangModel
from models.schema import Kind, SchemaNode

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


def with_defaults(bundle: Bundle, node: SchemaNode, obj: YangModel | None, config_only: bool = False) -> YangModel | None:
    """``obj`` with every applicable default filled in (RFC 6243 report-all), recursively."""
    updates: dict[str, Any] = {}
    for c in node.data_children():
        if config_only and not c.config:
            continue
        v = getattr(obj, c.py_name) if obj is not None else None
        if v is None:
            if c.kind in (Kind.LEAF, Kind.LEAF_LIST) and c.default is not None and case_allows(obj, c):
                updates[c.py_name] = default_of(bundle, c)
            elif c.kind is Kind.CONTAINER and not c.presence and has_defaults(c) and case_allows(obj, c):
                filled = with_defaults(bundle, c, None, config_only)
                if filled is not None:
                    updates[c.py_name] = filled
        elif c.kind is Kind.CONTAINER:
            filled = with_defaults(bundle, c, v, config_only)
            if filled is not v:
                updates[c.py_name] = filled
        elif c.kind is Kind.LIST:
            entries = [with_defaults(bundle, c, e, config_only) for e in v]
            if any(a is not b for a, b in zip(entries, v, strict=True)):
                updates[c.py_name] = type(v)(entries, v.key_names)
    if not updates:
        return obj
    if obj is None:
        return node.cls.model_validate(updates)  # type: ignore[no-any-return]
    return obj.model_copy(update=updates)
