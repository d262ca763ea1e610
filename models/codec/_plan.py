"""Per-schema-node dispatch tables for the XML codec, built once and cached.

Decoding looks every element's Clark-notation tag (``{namespace}local``, exactly what lxml's
``elem.tag`` is) up in its parent's table, so the hot loop does one dict lookup per element
and no string splitting. Encoding walks a precomputed field list in schema order, list keys
first (RFC 7950 §7.8.5).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from models.bundle import Bundle
from models.schema import Kind, SchemaNode
from models.types import IdentityrefType, InstanceIdType, StringType, UnionType, YangType

# kind codes (ints compare faster than enum members in the hot loop)
LEAF, LEAF_LIST, CONTAINER, LIST, ANY = range(5)
_CODES = {Kind.LEAF: LEAF, Kind.LEAF_LIST: LEAF_LIST, Kind.CONTAINER: CONTAINER,
          Kind.LIST: LIST, Kind.ANYDATA: ANY, Kind.ANYXML: ANY}

FromText = Callable[[str, Any], Any]
ToText = Callable[[Any, Any], str]


class Child:
    """One child schema node as the codec sees it."""

    __slots__ = ("from_text", "kind", "needs_ns", "node", "ns", "plan", "py", "tag", "to_text")

    def __init__(self, kind: int, py: str, node: SchemaNode, ns: str, tag: str,
                 from_text: FromText | None, to_text: ToText | None, needs_ns: bool):
        self.kind = kind
        self.py = py
        self.node = node
        self.ns = ns  # the namespace URI of the child's module
        self.tag = tag  # "{ns}name", as lxml spells an element's tag
        self.from_text = from_text  # None: the text is the value (plain string types)
        self.to_text = to_text  # None: str(value) is the text
        self.needs_ns = needs_ns  # the lexical form uses XML prefixes (identityref, …)
        self.plan: Plan | None = None  # containers and lists: filled on first use


def needs_prefixes(t: YangType) -> bool:
    if isinstance(t, IdentityrefType | InstanceIdType):
        return True
    return isinstance(t, UnionType) and any(needs_prefixes(m) for m in t.members)


class Plan:
    """What the codec needs to know about one container-like node's children."""

    __slots__ = ("by_tag", "node", "ns", "ordered")

    def __init__(self, bundle: Bundle, node: SchemaNode):
        schema = bundle.schema
        self.node = node
        info = schema.modules.get(node.module)
        self.ns = info.namespace if info is not None else ""
        kids: list[Child] = []
        for c in node.data_children():
            ns = schema.modules[c.module].namespace
            code = _CODES[c.kind]
            ft: FromText | None = None
            tt: ToText | None = None
            pre = False
            if code in (LEAF, LEAF_LIST):
                t = bundle.type_of(c)
                pre = needs_prefixes(t)
                if type(t) is not StringType:
                    ft = t.from_text
                    if type(t).to_text is not YangType.to_text:
                        tt = t.to_text
            kids.append(Child(code, c.py_name, c, ns, f"{{{ns}}}{c.name}", ft, tt, pre))
        self.by_tag: dict[str, Child] = {k.tag: k for k in kids}
        keys = [k for k in kids if k.node.is_key]
        keys.sort(key=lambda k: node.keys.index(k.node.name))
        self.ordered: tuple[Child, ...] = (*keys, *(k for k in kids if not k.node.is_key))


_PLANS: dict[int, tuple[SchemaNode, Plan]] = {}  # id(node) → (node kept alive, plan)


def sub_plan(bundle: Bundle, c: Child) -> Plan:
    p = c.plan
    if p is None:
        p = c.plan = plan_of(bundle, c.node)
    return p


def plan_of(bundle: Bundle, node: SchemaNode) -> Plan:
    hit = _PLANS.get(id(node))
    if hit is not None and hit[0] is node:
        return hit[1]
    p = Plan(bundle, node)
    _PLANS[id(node)] = (node, p)
    return p


def bundle_of(cls: Any) -> Bundle:
    """The Bundle a generated class was bound by (found through its fields' markers)."""
    b: Bundle | None = getattr(cls, "__yang_bundle__", None)
    if b is not None:
        return b
    node: SchemaNode = cls.__yang__
    for b in Bundle._loaded.values():
        if _owns(b, node):
            cls.__yang_bundle__ = b
            return b
    raise TypeError(f"no loaded bundle holds the schema of {cls.__name__}")


def _owns(b: Bundle, node: SchemaNode) -> bool:
    top = node
    while top.parent is not None:
        top = top.parent
    s = b.schema
    return top is s.root or any(top is n for n in (*s.rpcs, *s.notifications))
