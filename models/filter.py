"""NETCONF filtering of data trees: subtree filters (RFC 6241 §6) and XPath filters (§8.9).

Both return a pruned copy of the tree (the same generated class, sharing every selected
subtree with the input): first a *selection* is computed — for each model object, which
children are wanted, keyed by schema node: ``ALL`` (the whole subtree), a nested selection
(containers), key tuple → selection (list entries) or a set of values (leaf-list entries) —
then the copy is built from it. Nothing is validated again (the input was valid; a pruned
tree is a view, not a datastore).

Subtree filter rules (RFC 6241 §6.2), per set of sibling filter nodes:
- a filter element is matched to schema nodes by namespace and local name; an element
  without a namespace matches that local name in every module (§6.2.1 wildcard). Elements
  in the NETCONF base namespace are treated the same way: they are what a client gets by
  leaving ``<top/>`` unqualified inside ``<filter>``, and no module puts data there;
- attribute match expressions (§6.2.2): YANG data nodes carry no XML attributes, so a filter
  node with an attribute matches nothing ("if an element is not defined to include a
  specified attribute, then it is not selected");
- content match nodes (§6.2.5: no child elements, non-blank text) are tested first; all
  must hold (for a leaf-list: some entry equals the text), else the sibling set selects
  nothing. Text is compared as a typed value (prefixes through the filter's namespaces);
- when only content match nodes are present, the whole node is selected (§6.2.5);
  otherwise the content match leaves, the selection nodes (§6.2.4: empty element → whole
  subtree) and the containment nodes (§6.2.3: recursed into, kept only if something below
  matched) are selected; a list entry is kept only if something in it is selected, and then
  always with its keys;
- several filter nodes for the same node select the union (§6.4.6: multiple subtrees);
- a filter element naming an unknown node selects nothing (no error); an empty filter
  selects nothing (§6.4.2); no filter (None) selects everything (§6.4.1);
- anydata/anyxml nodes are selected whole by any filter node naming them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from models.bundle import Bundle
from models.codec.xml import _ElemNs, parse
from models.codec.xml_encode import NETCONF_NS
from models.errors import YangdErrors
from models.instance import InstanceNode, root_node
from models.schema import Kind, SchemaNode
from models.xpath import XPathEvalError, XPathSyntaxError, evaluate
from models.xpath import parse as parse_xpath
from models.xpath.ast import Expr, NameTest
from models.xpath.names import _Resolver
from models.yanglist import YangList

__all__ = ["subtree_filter", "xpath_filter"]


class _All:
    def __repr__(self) -> str:
        return "ALL"


ALL: Final = _All()
# schema node → ALL | Sel (container) | {key: Sel | ALL} (list) | set of values (leaf-list)
Sel = dict[SchemaNode, Any]
_TERMINAL = (Kind.LEAF, Kind.LEAF_LIST)


# ---- building the pruned tree -----------------------------------------------------------

def _build(obj: Any, sel: Sel | _All) -> Any:
    if isinstance(sel, _All):
        return obj
    fields: dict[str, Any] = {}
    for sn, spec in sel.items():
        v = getattr(obj, sn.py_name, None)
        if v is None:
            continue
        if isinstance(spec, _All) or sn.kind is Kind.LEAF or sn.kind in (Kind.ANYDATA, Kind.ANYXML):
            fields[sn.py_name] = v
        elif sn.kind is Kind.LEAF_LIST:
            kept = tuple(x for x in v if x in spec)
            if kept:
                fields[sn.py_name] = kept
        elif sn.kind is Kind.LIST:
            entries = [_build(e, spec[k]) for k, e in zip(v.keys(), v, strict=True) if k in spec]
            if entries:
                fields[sn.py_name] = YangList(entries, v.key_names)
        else:
            fields[sn.py_name] = _build(v, spec)
    return type(obj).model_construct(**fields)


def _merge(sn: SchemaNode, a: Any, b: Any) -> Any:
    """The union of two selections of node ``sn`` (``a`` may be None: nothing yet)."""
    if a is None:
        return b
    if isinstance(a, _All) or isinstance(b, _All):
        return ALL
    if sn.kind is Kind.LEAF_LIST:
        return a | b
    if sn.kind is Kind.LIST:
        out = dict(a)
        for k, s in b.items():
            out[k] = _merge_obj(out.get(k), s)
        return out
    return _merge_obj(a, b)


def _merge_obj(a: Sel | _All | None, b: Sel | _All) -> Sel | _All:
    if a is None:
        return b
    if isinstance(a, _All) or isinstance(b, _All):
        return ALL
    out = dict(a)
    for sn, s in b.items():
        out[sn] = _merge(sn, out.get(sn), s)
    return out


def _with_keys(sn: SchemaNode, sel: Sel | _All) -> Sel | _All:
    if isinstance(sel, _All):
        return sel
    out = dict(sel)
    for k in sn.keys:
        leaf = sn.data_child(sn.module, k)
        if leaf is not None:
            out[leaf] = ALL
    return out


# ---- subtree filtering (RFC 6241 §6) ----------------------------------------------------

def subtree_filter(bundle: Bundle, tree: Any, filter_elem: Any) -> Any:
    """The part of ``tree`` that subtree filter ``filter_elem`` selects.

    ``filter_elem`` is the ``<filter type="subtree">`` element (lxml, or its XML text); its
    children are the top-level filter nodes. None means no filter: the whole tree.
    """
    if filter_elem is None:
        return tree
    if isinstance(filter_elem, str | bytes):
        filter_elem = parse(filter_elem)
    f = _Subtree(bundle)
    kids = _elements(filter_elem)
    sel = f.sibling_set(tree, type(tree).__yang__, kids) if kids else None
    return _build(tree, sel if sel is not None else {})


def _elements(elem: Any) -> list[Any]:
    return [c for c in elem if isinstance(c.tag, str)]


def _split(tag: str) -> tuple[str, str]:
    if tag[:1] == "{":
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


class _Subtree:
    def __init__(self, bundle: Bundle):
        self.bundle = bundle
        self.namespaces = bundle.schema.namespaces
        self._matches: dict[tuple[int, str], list[SchemaNode]] = {}
        self._values: dict[tuple[int, int], list[Any]] = {}

    def match(self, node: SchemaNode, f: Any) -> list[SchemaNode]:
        """The data children of ``node`` filter element ``f`` names (§6.2.1)."""
        key = (id(node), f.tag)
        got = self._matches.get(key)
        if got is None:
            ns, local = _split(f.tag)
            if not ns or ns == NETCONF_NS:
                got = [c for c in node.data_children() if c.name == local]
            else:
                module = self.namespaces.get(ns)
                c = node.data_child(module, local) if module is not None else None
                got = [c] if c is not None else []
            self._matches[key] = got
        return got

    def wanted(self, sn: SchemaNode, f: Any) -> list[Any]:
        """The typed values the text of content match node ``f`` can mean for leaf ``sn``."""
        key = (id(f), id(sn))
        got = self._values.get(key)
        if got is None:
            got = []
            text: str = f.text or ""
            t = self.bundle.type_of(sn)
            for cand in dict.fromkeys((text, text.strip())):
                try:
                    got.append(t.validate(t.from_text(cand, _ElemNs(f, self.namespaces))))
                except ValueError:
                    continue
            self._values[key] = got
        return got

    def content(self, obj: Any, sns: list[SchemaNode], f: Any) -> Sel | None:
        """What content match node ``f`` selects in ``obj``, or None if it does not hold."""
        out: Sel = {}
        for sn in sns:
            v = getattr(obj, sn.py_name, None)
            if v is None or sn.kind not in _TERMINAL:
                continue
            want = self.wanted(sn, f)
            if sn.kind is Kind.LEAF:
                if v in want:
                    out[sn] = ALL
            else:
                hit = {x for x in v if x in want}
                if hit:
                    out[sn] = hit
        return out or None

    def sibling_set(self, obj: Any, node: SchemaNode, fkids: list[Any]) -> Sel | _All | None:
        """What the sibling filter nodes ``fkids`` select among the children of ``obj``."""
        sel: Sel = {}
        others: list[tuple[Any, list[SchemaNode], list[Any]]] = []
        for f in fkids:
            sns = [] if f.attrib else self.match(node, f)
            sub = _elements(f)
            if not sub and (f.text or "").strip():  # content match node
                got = self.content(obj, sns, f)
                if got is None:
                    return None
                sel = _merge_obj(sel, got)  # type: ignore[assignment]
            else:
                others.append((f, sns, sub))
        if sel and not others:
            return ALL
        for _f, sns, sub in others:
            for sn in sns:
                v = getattr(obj, sn.py_name, None)
                if v is None:
                    continue
                if not sub or sn.kind in (Kind.ANYDATA, Kind.ANYXML):  # selection node
                    sel[sn] = ALL
                elif sn.kind is Kind.CONTAINER:
                    s = self.sibling_set(v, sn, sub)
                    if s is not None:
                        sel[sn] = _merge(sn, sel.get(sn), s)
                elif sn.kind is Kind.LIST:
                    entries: dict[Any, Any] = {}
                    for k, e in zip(v.keys(), v, strict=True):
                        s = self.sibling_set(e, sn, sub)
                        if s is not None:
                            entries[k] = _with_keys(sn, s)
                    if entries:
                        sel[sn] = _merge(sn, sel.get(sn), entries)
                # a containment node naming a leaf or leaf-list matches nothing
        return sel or None


# ---- XPath filtering (RFC 6241 §8.9) ----------------------------------------------------

class _AnyModule(_Resolver):
    """Prefixes → modules; an unprefixed name matches any module (no data is in no namespace)."""

    def module(self, test: NameTest) -> str | None:
        return None if test.prefix is None else super().module(test)


def xpath_filter(bundle: Bundle, tree: Any, select: str, nsmap: Mapping[str | None, str]) -> Any:
    """The part of ``tree`` the XPath 1.0 ``select`` expression selects, with ancestors.

    ``nsmap`` is the filter element's namespace map (prefix → URI); a prefix bound to a
    namespace no module has matches nothing, an undeclared prefix is an error. Selected
    nodes come with their whole subtrees, their ancestors and the keys of ancestor list
    entries. A syntax error or a result that is not a node-set is invalid-value.
    """
    prefixes = {p: bundle.schema.namespaces.get(uri, uri) for p, uri in nsmap.items()
                if p is not None}
    try:
        raw = parse_xpath(select)
        expr: Expr = _AnyModule(prefixes, "", raw).expr(raw)
        value = evaluate(expr, root_node(tree, bundle), prefixes=prefixes)
    except (XPathSyntaxError, XPathEvalError) as e:
        raise YangdErrors.one("invalid-value", f"bad XPath filter {select!r}: {e}",
                              bad_attribute="select", bad_element="filter") from None
    if not isinstance(value, list):
        raise YangdErrors.one("invalid-value", f"XPath filter {select!r} does not select nodes",
                              bad_attribute="select", bad_element="filter")
    sel: Sel = {}
    for n in value:
        if n.schema is None:
            return tree
        _mark(sel, n)
    return _build(tree, sel)


def _mark(sel: Sel, n: InstanceNode) -> None:
    """Add node ``n`` (with its subtree) and its ancestors to ``sel``."""
    chain: list[InstanceNode] = []
    node: InstanceNode | None = n
    while node is not None and node.schema is not None:
        if node.parent is None or getattr(node.parent.value, node.schema.py_name, None) is None:
            return  # a default XPath sees (RFC 7950 §7.6.1) that the tree does not hold
        chain.append(node)
        node = node.parent
    chain.reverse()
    cur: Sel = sel
    for i, x in enumerate(chain):
        sn = x.schema
        assert sn is not None
        last = i == len(chain) - 1
        have = cur.get(sn)
        if isinstance(have, _All):
            return
        if sn.kind is Kind.LIST:
            entries = cur.setdefault(sn, {})
            e = entries.get(x.key)
            if isinstance(e, _All):
                return
            if last:
                entries[x.key] = ALL
                return
            if e is None:
                e = entries[x.key] = _with_keys(sn, {})
            cur = e
        elif sn.kind is Kind.LEAF_LIST:
            cur.setdefault(sn, set()).add(x.value)
            return
        elif last or sn.kind is not Kind.CONTAINER:
            cur[sn] = ALL
            return
        else:
            cur = cur.setdefault(sn, {})
