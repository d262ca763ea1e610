"""RFC 7950 XML encoding of instance data: decode to generated classes, and encode.

Decoding maps every element through its parent's dispatch table (models/codec/_plan.py)
to a dict keyed by Python field names, converting leaf text with the leaf's type
(``YangType.from_text``, prefixes resolved through the element's namespace map), then
validates it with the generated class. Every issue found on the way (unknown elements,
lexical errors, then pydantic's) is collected into one ``InstanceError``.

Input is parsed without DTDs, entities, network access or huge-tree support; a document
with a DOCTYPE is refused outright (XXE, billion laughs: libxml2 neither loads nor expands
anything, and its amplification guard stops an entity bomb inside the internal subset).
``parse`` optionally enforces ``XmlLimits`` (nesting depth, element count), refusing with
error-tag too-big; libxml2 itself never goes deeper than 256 without huge-tree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from lxml import etree
from pydantic import BaseModel, ValidationError

from models.codec._plan import (
    CONTAINER,
    LEAF,
    LEAF_LIST,
    LIST,
    Plan,
    bundle_of,
    plan_of,
    sub_plan,
)
from models.codec._util import no_gc
from models.codec.errors import (
    InstanceError,
    Issue,
    base_path,
    entry_step,
    from_validation_error,
    leaf_list_step,
)
from models.codec.json import node_of
from models.codec.xml_encode import NETCONF_NS, encode_xml, to_bytes
from models.schema import Kind, SchemaNode

__all__ = ["NETCONF_NS", "XmlLimits", "decode_xml", "encode_xml", "parse", "to_bytes"]

M = TypeVar("M", bound=BaseModel)
# one raw issue: [path steps, innermost first], message, tag, app-tag
_Raw = tuple[list[str], str, str, str | None]

_PARSER_OPTIONS: dict[str, Any] = dict(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
    remove_comments=True, remove_pis=True,
)
_PARSER = etree.XMLParser(**_PARSER_OPTIONS)


@dataclass(frozen=True)
class XmlLimits:
    """What one document may hold: elements nested ``max_depth`` deep (the document element
    is depth 1) and ``max_elements`` elements in all; 0 means no limit of ours."""

    max_depth: int = 0
    max_elements: int = 0


def _refuse(msg: str, tag: str = "malformed-message") -> InstanceError:
    return InstanceError([Issue("/", msg, tag)])


def parse(source: str | bytes, limits: XmlLimits | None = None) -> Any:
    """Parse a document with the hardened parser; its root element. A DOCTYPE, malformed
    XML (InstanceError, malformed-message) or a document over ``limits`` (too-big) is refused."""
    data = source.encode("utf-8") if isinstance(source, str) else source
    if isinstance(source, str) and data.lstrip().startswith(b"<?xml"):
        data = data[data.index(b"?>") + 2:]  # str input: the declared encoding no longer applies
    # start tags, counted at memchr speed: an upper bound of the element count (comments,
    # CDATA and PIs add to it) and so of the depth; most documents need no closer look
    starts = data.count(b"<") - data.count(b"</") if limits is not None else 0
    try:
        if limits is not None and 0 < limits.max_elements < starts:
            root = _parse_counting(data, limits.max_elements)
        else:
            root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as e:
        if "Excessive depth" in str(e):  # libxml2's own limit (256): the same refusal as ours
            raise _refuse(f"elements nested too deep: {e}", "too-big") from None
        raise _refuse(f"malformed XML: {e}") from None
    _check_tree(root)
    if limits is not None and 0 < limits.max_depth < starts and _deeper(limits.max_depth)(root):
        raise _refuse(f"elements nested deeper than {limits.max_depth} levels", "too-big")
    return root


def _parse_counting(data: bytes, limit: int) -> Any:
    """Parse incrementally, giving up as soon as the document has more than ``limit``
    elements: memory stays bounded by the limit, not by the message."""
    parser = etree.XMLPullParser(events=("start",), **_PARSER_OPTIONS)
    seen = 0
    step = 1 << 16
    for i in range(0, len(data), step):
        parser.feed(data[i:i + step])
        seen += sum(1 for _ in parser.read_events())
        if seen > limit:
            raise _refuse(f"more than {limit} elements", "too-big")
    return parser.close()


@lru_cache(maxsize=8)
def _deeper(depth: int) -> Any:
    """An XPath (evaluated in libxml2) true when an element lies deeper than ``depth``:
    one node-set per level, so linear in the document's size."""
    return etree.XPath("boolean(" + "/*" * (depth + 1) + ")")


def _check_tree(root: Any) -> None:
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise _refuse("a document type declaration is not allowed")


class _ElemNs:
    """The ``Namespaces`` view of an element's in-scope prefixes (default namespace → None)."""

    __slots__ = ("elem", "namespaces")

    def __init__(self, elem: Any, namespaces: dict[str, str]):
        self.elem = elem
        self.namespaces = namespaces

    def module_of_prefix(self, prefix: str | None) -> str | None:
        uri = self.elem.nsmap.get(prefix)
        return None if uri is None else self.namespaces.get(uri)

    def prefix_of_module(self, module: str) -> str:
        raise TypeError("this namespace map only reads prefixes (decoding)")


class _Decoder:
    def __init__(self, cls: type[BaseModel]):
        self.bundle = bundle_of(cls)
        self.namespaces = self.bundle.schema.namespaces
        self.issues: list[_Raw] = []

    def members(self, elem: Any, plan: Plan) -> dict[str, Any]:
        """The dict (by Python name) for the children of ``elem``, a node described by ``plan``."""
        d: dict[str, Any] = {}
        get = plan.by_tag.get
        issues = self.issues
        for child in elem:
            c = get(child.tag)
            if c is None:
                self.unknown(child, plan)
                continue
            kind = c.kind
            if kind <= LEAF_LIST:  # LEAF or LEAF_LIST
                v: Any = child.text or ""
                if c.from_text is not None:
                    try:
                        v = c.from_text(v, _ElemNs(child, self.namespaces) if c.needs_ns else None)
                    except ValueError as e:
                        step = c.node.json_name() if kind == LEAF else leaf_list_step(c.node, v)
                        issues.append(([step], _msg(e), "invalid-value", _app_tag(e)))
                        continue
                if kind == LEAF_LIST:
                    d.setdefault(c.py, []).append(v)
                    continue
            elif kind == LIST:
                n = len(issues)
                v = self.members(child, c.plan or sub_plan(self.bundle, c))
                lst = d.get(c.py)
                if lst is None:
                    d[c.py] = [v]
                else:
                    lst.append(v)
                if len(issues) > n:
                    self.prefix(n, entry_step(c.node, v))
                continue
            elif kind == CONTAINER:
                n = len(issues)
                v = self.members(child, c.plan or sub_plan(self.bundle, c))
                if len(issues) > n:
                    self.prefix(n, c.node.json_name())
            else:
                v = self.anydata(child, c.ns, c.node)
            if c.py in d:
                issues.append(([c.node.json_name()], "element appears more than once",
                               "bad-element", None))
            d[c.py] = v
        return d

    def prefix(self, n: int, step: str) -> None:
        for steps, *_ in self.issues[n:]:
            steps.append(step)

    def unknown(self, child: Any, plan: Plan) -> None:
        tag = child.tag
        if not isinstance(tag, str):  # an entity reference or other non-element node
            self.issues.append(([], "unexpected non-element content", "malformed-message", None))
            return
        ns, _, local = tag[1:].rpartition("}") if tag[:1] == "{" else ("", "", tag)
        module = self.namespaces.get(ns)
        if module is None:
            self.issues.append(([local], f"unknown namespace {ns!r}", "unknown-namespace", None))
            return
        name = local if module == plan.node.module else f"{module}:{local}"
        self.issues.append(([name], f"unknown element {name!r}", "unknown-element", None))

    def anydata(self, elem: Any, parent_ns: str, node: SchemaNode) -> Any:
        """anydata/anyxml content as RFC 7951-style JSON: qualified names where modules change."""
        def unknown(local: str, ns: str) -> None:
            self.issues.append(([local, node.json_name()], f"unknown namespace {ns!r}",
                                "unknown-namespace", None))
        return anydata_json(elem, parent_ns, self.namespaces, unknown)


def anydata_json(elem: Any, parent_ns: str, namespaces: dict[str, str],
                 unknown: Callable[[str, str], None]) -> dict[str, Any]:
    """The content of an anydata/anyxml element as RFC 7951-style JSON.

    Member names are qualified with the module name where the namespace changes; leaves are
    their text; repeated names become arrays. ``unknown(local, ns)`` is told of elements in a
    namespace no loaded module has (they are left out).
    """
    out: dict[str, Any] = {}
    repeated: set[str] = set()
    for child in elem:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        ns, _, local = tag[1:].rpartition("}") if tag[:1] == "{" else ("", "", tag)
        if ns == parent_ns:
            name = local
        else:
            module = namespaces.get(ns)
            if module is None:
                unknown(local, ns)
                continue
            name = f"{module}:{local}"
        v = anydata_json(child, ns, namespaces, unknown) if len(child) else (child.text or "")
        if name in repeated:
            out[name].append(v)
        elif name in out:
            out[name] = [out[name], v]
            repeated.add(name)
        else:
            out[name] = v
    return out


def _split(tag: str) -> tuple[str, str]:
    """(namespace, local name) of a Clark-notation tag ``{ns}local``."""
    if tag[:1] == "{":
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _msg(e: ValueError) -> str:
    if isinstance(e, ValidationError):
        return "; ".join(x["msg"] for x in e.errors(include_url=False))
    return str(e)


def _app_tag(e: ValueError) -> str | None:
    ctx = getattr(e, "context", None)
    return ctx.get("app_tag") if isinstance(ctx, dict) else None


def decode_xml(cls: type[M], source: str | bytes | Any) -> M:
    """Parse and validate XML instance data into ``cls``.

    For ``Root`` the document element is a wrapper (any name, e.g. NETCONF ``<data>`` or
    ``<config>``) whose children are top-level nodes; for any other generated class the
    element is the node itself (an rpc's input: the rpc element; a list entry: the entry).
    """
    node = node_of(cls)
    root = parse(source) if isinstance(source, str | bytes) else source
    _check_tree(root)
    dec = _Decoder(cls)
    if node.kind in (Kind.CONTAINER, Kind.LIST, Kind.NOTIFICATION) and node is not dec.bundle.schema.root:
        ns = dec.bundle.schema.modules[node.module].namespace
        if root.tag != f"{{{ns}}}{node.name}":
            raise InstanceError([Issue(node.path(), f"expected element {node.name!r} in {ns!r}",
                                       "bad-element")])
    with no_gc():
        d = dec.members(root, plan_of(dec.bundle, node))
        base = base_path(node)
        issues = [Issue((base + "/" + "/".join(reversed(s))).rstrip("/") or "/", m, t, a)
                  for s, m, t, a in dec.issues]
        try:
            obj = cls.model_validate(d)
        except ValidationError as err:
            seen = {i.path for i in issues}
            issues += [i for i in from_validation_error(err, node, d).issues
                       if i.path not in seen]
            raise InstanceError(issues) from None
    if issues:
        raise InstanceError(issues)
    return obj
