"""NETCONF ``<edit-config>`` content (RFC 6241 §7.2) to edit trees (models/edit.py).

The ``<config>`` element's children are top-level data nodes. Every element is looked up in
its parent's schema node by namespace and local name; its ``nc:operation`` attribute
(RFC 6241 §7.2) and, for ordered-by user lists and leaf-lists, ``yang:insert`` /
``yang:key`` / ``yang:value`` (RFC 7950 §7.8.6, §7.7.9) become fields of the EditNode; leaf
text becomes a typed, validated value. Structure only is checked here: whether the edit makes
sense against the datastore (data-exists, ordered-by user, anchors present, …) is
datastore/edit.py's business.

Malformed input is reported whole: every problem found becomes one YangdError (instance path
in RFC 7951 form, RFC 6241 Appendix A tag and error-info) in a single YangdErrors.
Attributes in other namespaces (e.g. RFC 7952 metadata) are ignored; an unknown attribute in
the NETCONF or YANG namespace, or an unqualified ``operation``/``insert``/``key``/``value``
(a client forgetting the prefix would otherwise silently merge), is unknown-attribute.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from models.bundle import Bundle
from models.codec.errors import InstanceError, format_value, leaf_list_step, quote
from models.codec.xml import _app_tag, _ElemNs, _msg, _split, anydata_json, decode_xml
from models.codec.xml_encode import NETCONF_NS
from models.edit import EditNode, Op
from models.errors import YangdError, YangdErrors, protected_message
from models.schema import Kind, SchemaNode
from models.xpath.errors import XPathSyntaxError
from models.xpath.paths import parse_instance_identifier

__all__ = ["YANG_NS", "edit_from_xml"]

YANG_NS = "urn:ietf:params:xml:ns:yang:1"
_OPS = {op.value: op for op in (Op.MERGE, Op.REPLACE, Op.CREATE, Op.DELETE, Op.REMOVE)}
_INSERTS = frozenset({"first", "last", "before", "after"})
_YANG_ATTRS = frozenset({"insert", "key", "value"})
_BARE = frozenset({"operation", *_YANG_ATTRS})
_NC_OPERATION = f"{{{NETCONF_NS}}}operation"

# any attribute on the element or below it (checked in C: one XPath call per subtree)
_ANY_ATTRIBUTE = etree.XPath("boolean(descendant-or-self::*/@*)")

# one raw issue: path steps (innermost first), tag, message, app-tag, error-info
_Raw = tuple[list[str], str, str, str | None, dict[str, Any]]


def edit_from_xml(bundle: Bundle, config_elem: Any) -> list[EditNode]:
    """The top-level EditNodes for a NETCONF ``<config>`` element (an lxml element).

    Raises YangdErrors listing every problem (unknown elements/namespaces/attributes, bad
    operation or insert attributes, lexical errors, list entries without keys).
    """
    b = _Builder(bundle)
    out = b.children(config_elem, bundle.schema.root, None)
    if b.issues:
        raise YangdErrors(
            YangdError(tag, msg, "/" + "/".join(reversed(steps)) if steps else "/", app,
                       "rpc" if tag == "malformed-message" else "application", info)
            for steps, tag, msg, app, info in b.issues)
    return out


class _Attrs:
    """The edit attributes of one element."""

    __slots__ = ("anchor", "insert", "key", "op", "value")

    def __init__(self) -> None:
        self.op: Op | None = None
        self.insert: str | None = None
        self.key: str | None = None
        self.value: str | None = None
        self.anchor: tuple[Any, ...] | None = None


class _Builder:
    def __init__(self, bundle: Bundle):
        self.bundle = bundle
        self.namespaces = bundle.schema.namespaces
        self.issues: list[_Raw] = []

    def fail(self, steps: list[str], tag: str, msg: str, app: str | None = None,
             **info: Any) -> None:
        self.issues.append((steps, tag, msg, app, info))

    def prefix(self, n: int, step: str) -> None:
        """Prepend ``step`` to the paths of the issues recorded since index ``n``."""
        for steps, *_ in self.issues[n:]:
            steps.append(step)

    # ---- structure ----------------------------------------------------------------------
    def children(self, elem: Any, parent: SchemaNode, inherited: Op | None) -> list[EditNode]:
        out: list[EditNode] = []
        single: set[str] = set()
        for child in elem:
            tag = child.tag
            if tag is etree.Comment or tag is etree.PI:
                continue
            if not isinstance(tag, str):
                self.fail([], "malformed-message", "unexpected non-element content")
                continue
            ns, local = _split(tag)
            module = self.namespaces.get(ns)
            if module is None:
                self.fail([local], "unknown-namespace", f"unknown namespace {ns!r}",
                          bad_element=local, bad_namespace=ns)
                continue
            sn = parent.data_child(module, local)
            name = local if module == parent.module else f"{module}:{local}"
            if sn is None:
                self.fail([name], "unknown-element", f"unknown element {name!r}", bad_element=local)
                continue
            if sn.kind not in (Kind.LIST, Kind.LEAF_LIST):
                if sn.py_name in single:
                    self.fail([sn.json_name()], "bad-element", "element appears more than once",
                              bad_element=local)
                    continue
                single.add(sn.py_name)
            node = self.element(child, sn, inherited)
            if node is not None:
                out.append(node)
        return out

    def element(self, elem: Any, sn: SchemaNode, inherited: Op | None) -> EditNode | None:
        n = len(self.issues)
        kind = sn.kind
        if kind in (Kind.LIST, Kind.CONTAINER) and not _ANY_ATTRIBUTE(elem):
            fast = self.decoded(elem, sn)
            if fast is not None:
                return fast
        attrs = self.attributes(elem, sn)
        op = attrs.op or inherited
        node: EditNode | None = None
        if kind is Kind.LIST:
            node = self.entry(elem, sn, attrs, op, n)
            return node if len(self.issues) == n else None
        step = sn.json_name()
        if kind is Kind.LEAF or kind is Kind.LEAF_LIST:
            text: str = elem.text or ""
            if kind is Kind.LEAF_LIST:
                step = leaf_list_step(sn, text)
            if kind is Kind.LEAF and op in (Op.DELETE, Op.REMOVE) and not text.strip():
                node = EditNode(sn, attrs.op, value=None)
            else:
                v = self.typed(sn, text, elem, step)
                if v is not None:
                    node = EditNode(sn, attrs.op, value=v[0])
            if kind is Kind.LEAF_LIST and node is not None:
                node.insert = attrs.insert
                if attrs.insert in ("before", "after"):
                    node.anchor = self.anchor_value(elem, sn, attrs)
        elif kind is Kind.CONTAINER:
            node = EditNode(sn, attrs.op, children=self.children(elem, sn, op))
        else:  # anydata / anyxml
            node = EditNode(sn, attrs.op, value=self.anydata(elem, _split(elem.tag)[0], step))
        if len(self.issues) > n:
            self.prefix(n, step)
            return None
        return node

    def decoded(self, elem: Any, sn: SchemaNode) -> EditNode | None:
        """A subtree without edit attributes, decoded whole into its generated class.

        The common case (plain configuration, e.g. a bulk load) then costs what decoding costs,
        and the engine takes the validated subtree as is. On any problem this returns None and
        the element-by-element path reports each one with its exact path.
        """
        try:
            obj = decode_xml(sn.cls, elem)
        except InstanceError:
            return None
        if sn.kind is Kind.LIST:
            key = tuple(getattr(obj, kn.py_name) for kn in (sn.child(sn.module, k) for k in sn.keys) if kn)
            return EditNode(sn, None, key=key, content=obj)
        return EditNode(sn, None, content=obj)

    def entry(self, elem: Any, sn: SchemaNode, attrs: _Attrs, op: Op | None, n: int) -> EditNode:
        children = self.children(elem, sn, op)
        by_name = {c.node.name: c for c in children if c.node.is_key}
        bad_keys = {steps[-1] for steps, *_ in self.issues[n:] if steps}
        key = tuple(by_name[k].value if k in by_name else None for k in sn.keys)
        step = sn.json_name()
        for k, v in zip(sn.keys, key, strict=True):
            if v is not None:
                step += f"[{k}={quote(format_value(v))}]"
        for k in sn.keys:
            if k not in by_name and k not in bad_keys:
                self.fail([], "missing-element", f"list entry without key {k!r}", bad_element=k)
        node = EditNode(sn, attrs.op, key=key, children=children, insert=attrs.insert)
        if attrs.insert in ("before", "after"):
            node.anchor = self.anchor_key(elem, sn, attrs)
        if len(self.issues) > n:
            self.prefix(n, step)
        return node

    def typed(self, sn: SchemaNode, text: str, elem: Any, step: str | None) -> tuple[Any] | None:
        """(value,) for ``text`` of leaf ``sn``; on a lexical error records it (at ``step``)."""
        t = self.bundle.type_of(sn)
        try:
            return (t.validate(t.from_text(text, _ElemNs(elem, self.namespaces))),)
        except ValueError as e:
            if step is not None:
                self.fail([], "invalid-value", protected_message(sn, _msg(e)), _app_tag(e))
            return None

    def anydata(self, elem: Any, parent_ns: str, step: str) -> dict[str, Any]:
        """anydata/anyxml content as decode_xml gives it: RFC 7951-style JSON."""
        def unknown(local: str, ns: str) -> None:
            self.fail([local], "unknown-namespace", f"unknown namespace {ns!r}",
                      bad_element=local, bad_namespace=ns)
        return anydata_json(elem, parent_ns, self.namespaces, unknown)

    # ---- attributes ---------------------------------------------------------------------
    def attributes(self, elem: Any, sn: SchemaNode) -> _Attrs:
        a = _Attrs()
        local_el = sn.name
        for qname, value in elem.attrib.items():
            ns, name = _split(qname)
            if ns == NETCONF_NS and name == "operation":
                op = _OPS.get(value)
                if op is None:
                    self.fail([], "bad-attribute", f"bad operation {value!r}",
                              bad_attribute="operation", bad_element=local_el)
                a.op = op
            elif ns == YANG_NS and name in _YANG_ATTRS:
                setattr(a, name, value)
            elif ns in (NETCONF_NS, YANG_NS) or (not ns and name in _BARE):
                why = "" if ns else " (it must be namespace-qualified)"
                self.fail([], "unknown-attribute", f"unknown attribute {name!r}{why}",
                          bad_attribute=name, bad_element=local_el)
        if a.insert is None:  # key / value are only read for insert before/after
            return a
        if a.insert not in _INSERTS:
            self.fail([], "bad-attribute", f"bad insert {a.insert!r}",
                      bad_attribute="insert", bad_element=local_el)
            a.insert = None
        elif sn.kind not in (Kind.LIST, Kind.LEAF_LIST):
            self.fail([], "bad-attribute", "insert applies to list and leaf-list entries only",
                      bad_attribute="insert", bad_element=local_el)
            a.insert = None
        elif a.insert in ("before", "after"):
            need = "key" if sn.kind is Kind.LIST else "value"
            if getattr(a, need) is None:
                self.fail([], "missing-attribute", f"insert {a.insert} needs a {need} attribute",
                          bad_attribute=need, bad_element=local_el)
                a.insert = None
        return a

    def anchor_value(self, elem: Any, sn: SchemaNode, a: _Attrs) -> tuple[Any, ...] | None:
        assert a.value is not None
        v = self.typed(sn, a.value, elem, None)
        if v is None:
            self.fail([], "bad-attribute", f"value {a.value!r} is not a valid {sn.name}",
                      bad_attribute="value", bad_element=sn.name)
        return v

    def anchor_key(self, elem: Any, sn: SchemaNode, a: _Attrs) -> tuple[Any, ...] | None:
        """The key tuple a ``yang:key`` predicate string names (prefixes via elem's nsmap)."""
        assert a.key is not None

        def bad(why: str) -> None:
            self.fail([], "bad-attribute", f"bad key {a.key!r}: {why}",
                      bad_attribute="key", bad_element=sn.name)

        try:
            preds = parse_instance_identifier(f"/{sn.name}{a.key}")[0].predicates
        except XPathSyntaxError as e:
            bad(str(e))
            return None
        if isinstance(preds, int) or any(p.name == "." for p in preds):
            bad("expected key predicates")
            return None
        ns = _ElemNs(elem, self.namespaces)
        given: dict[str, str] = {}
        for p in preds:
            module = ns.module_of_prefix(p.prefix) if p.prefix is not None else sn.module
            if module != sn.module or p.name not in sn.keys:
                bad(f"{p.name!r} is not a key of {sn.name}")
                return None
            given[p.name] = p.value
        if set(given) != set(sn.keys):
            bad(f"every key of {sn.name} is needed ({', '.join(sn.keys)})")
            return None
        out: list[Any] = []
        for k in sn.keys:
            leaf = sn.data_child(sn.module, k)
            assert leaf is not None
            v = self.typed(leaf, given[k], elem, None)
            if v is None:
                bad(f"{given[k]!r} is not a valid {k}")
                return None
            out.append(v[0])
        return tuple(out)
