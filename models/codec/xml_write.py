"""Encode generated-class instances straight to RFC 7950 XML bytes, without an element tree.

The same document as ``to_bytes(encode_xml(obj, …))`` (xml_encode.py): schema order with
list keys first, each element in its module's namespace declared as the default namespace
where the module changes, prefixes for identityref/instance-identifier values declared on
the leaf. Building lxml elements only to serialise them again costs about as much as the
rest of a get-config; replies that are not edited afterwards (no with-defaults tagging) are
written here instead, about four times faster. anydata content is rare and goes through the
element encoder.

Each (schema node, parent namespace) gets a small Python function, generated the first time
such a node is written, with its children's tags and conversions as constants: a 10,000-entry
list costs about half of what walking a generic table per entry did. Only fixed statement
templates, indices and checked Python identifiers go into the generated source; every tag,
namespace and converter is passed in as a value.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable
from typing import Any

from lxml import etree
from pydantic import BaseModel

from models.codec._plan import ANY, CONTAINER, LEAF, LIST, Child, Plan, bundle_of, plan_of, sub_plan
from models.codec.xml_encode import NETCONF_NS, _Encoder, _Prefixes
from models.schema import Kind
from models.types import BoolType, DecimalType, IntType

__all__ = ["encode_xml_bytes"]

# Characters XML 1.0 cannot carry (§2.2); lxml refuses them too, and so do we, with the same
# ValueError, rather than write a document no client can parse. Lone surrogates fail the
# final UTF-8 encode (UnicodeEncodeError is a ValueError).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NOT_XML_MSG = "All strings must be XML compatible: Unicode or ASCII, no NULL bytes or control characters"


def _escape(text: str) -> str:
    if not text.isprintable() and _NOT_XML.search(text) is not None:  # isprintable: fast path
        raise ValueError(_NOT_XML_MSG)
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    return text


def _attr(text: str) -> str:
    return _escape(text).replace('"', "&quot;")


Push = Callable[[str], None]
Fill = Callable[[Any, Push, "_Writer"], None]


class _Writer:
    """What a generated function needs besides its constants: the bundle (prefixes, anydata)."""

    __slots__ = ("bundle",)

    def __init__(self, bundle: Any):
        self.bundle = bundle

    def prefixed(self, c: Child, v: Any, ns: str, push: Push) -> None:
        rec = _Prefixes(self.bundle)
        text = c.to_text(v, rec) if c.to_text is not None else str(v)
        decls = "".join(f' xmlns:{p}="{_attr(u)}"' for p, u in rec.declared.items())
        if c.ns != ns:
            decls = f' xmlns="{_attr(c.ns)}"{decls}'
        name = c.node.name
        push(f"<{name}{decls}>{_escape(text)}</{name}>" if text else f"<{name}{decls}/>")

    def anydata(self, c: Child, v: Any, push: Push) -> None:
        elem = etree.Element(c.tag, nsmap={None: c.ns})
        _Encoder(self.bundle).anydata(elem, v, c.ns)
        push(etree.tostring(elem, encoding="unicode"))


class _Lazy:
    """Stands in for a child's fill function until first called, then replaces itself."""

    __slots__ = ("bundle", "c", "cell", "i")

    def __init__(self, cell: list[Any], i: int, bundle: Any, c: Child):
        self.cell, self.i, self.bundle, self.c = cell, i, bundle, c

    def __call__(self, obj: Any, push: Push, w: _Writer) -> None:
        fn = fill_of(self.bundle, sub_plan(self.bundle, self.c), self.c.ns)
        self.cell[self.i] = fn
        fn(obj, push, w)


_FILLS: dict[tuple[int, str], tuple[Plan, Fill]] = {}  # (id(plan), parent ns) → plan kept, fn


def fill_of(bundle: Any, plan: Plan, ns: str) -> Fill:
    """The function writing the children of a ``plan.node`` instance inside namespace ``ns``."""
    hit = _FILLS.get((id(plan), ns))
    if hit is not None and hit[0] is plan:
        return hit[1]
    fn = _generate(bundle, plan, ns)
    _FILLS[(id(plan), ns)] = (plan, fn)
    return fn


def _generate(bundle: Any, plan: Plan, ns: str) -> Fill:
    subs: list[Any] = []
    env: dict[str, Any] = {"esc": _escape, "str": str, "S": subs, "NS": ns}
    lines = ["def fill(obj, push, w):"]
    for i, c in enumerate(plan.ordered):
        name = c.node.name
        o = f"<{name}>" if c.ns == ns else f'<{name} xmlns="{_attr(c.ns)}">'
        env[f"O{i}"], env[f"C{i}"], env[f"E{i}"], env[f"K{i}"] = o, f"</{name}>", f"{o[:-1]}/>", c
        env[f"T{i}"], env[f"F{i}"] = f"{o}true</{name}>", f"{o}false</{name}>"
        env[f"X{i}"] = c.to_text
        py = c.py
        get = f"obj.{py}" if py.isidentifier() and not keyword.iskeyword(py) else f"getattr(obj, {py!r})"
        lines += [f"    v = {get}", "    if v is not None:"]
        kind = c.kind
        if kind in (CONTAINER, LIST):
            subs.append(_Lazy(subs, len(subs), bundle, c))
            call = f"S[{len(subs) - 1}](x, push, w)" if kind == LIST else f"S[{len(subs) - 1}](v, push, w)"
            if kind == LIST:
                lines.append("        for x in v:")
                lines += [f"            push(O{i})", f"            {call}", f"            push(C{i})"]
            else:
                lines += [f"        push(O{i})", f"        {call}", f"        push(C{i})"]
            continue
        if kind == ANY:
            lines.append(f"        w.anydata(K{i}, v, push)")
            continue
        ind = "        "
        if kind != LEAF:  # leaf-list: each value as a leaf
            lines.append("        for v in v:")
            ind += "    "
        lines += [ind + s for s in _leaf(bundle, c, i)]
    if len(lines) == 1:
        lines.append("    pass")
    exec(compile("\n".join(lines), f"<xml_write {plan.node.name}>", "exec"), env)
    fn: Fill = env["fill"]
    return fn


def _leaf(bundle: Any, c: Child, i: int) -> list[str]:
    """Statements writing leaf value ``v`` of child ``i``, as ``_Writer`` did generically."""
    if c.needs_ns:
        return [f"w.prefixed(K{i}, v, NS, push)"]
    t = bundle.type_of(c.node)
    if type(t) is BoolType:
        return [f"push(T{i} if v else F{i})"]
    if type(t) in (IntType, DecimalType):  # digits, sign, point: nothing to escape, never empty
        text = "str(v)" if c.to_text is None else f"X{i}(v, None)"
        return [f"push(f'{{O{i}}}{{{text}}}{{C{i}}}')"]
    text = "v" if c.to_text is None else f"X{i}(v, None)"
    return [f"t = {text}",
            "if type(t) is not str:", "    t = str(t)",
            "if not t:", f"    push(E{i})",
            # _escape's fast path inline: most texts have nothing to escape
            "elif t.isprintable() and '&' not in t and '<' not in t and '>' not in t:",
            f"    push(f'{{O{i}}}{{t}}{{C{i}}}')",
            "else:", f"    push(f'{{O{i}}}{{esc(t)}}{{C{i}}}')"]


def encode_xml_bytes(obj: BaseModel, wrapper: str = "data", wrapper_ns: str = NETCONF_NS) -> bytes:
    """UTF-8 XML for ``obj``, as ``to_bytes(encode_xml(obj, wrapper, wrapper_ns))`` writes it.

    ``obj`` is a ``Root`` (every top-level node inside ``<wrapper xmlns=wrapper_ns>``) or any
    container-like instance (the element named after its node).
    """
    node = type(obj).__yang__  # type: ignore[attr-defined]
    bundle = bundle_of(type(obj))
    if node is bundle.schema.root:
        name, ns = wrapper, wrapper_ns
    else:
        ns = bundle.schema.modules[node.module].namespace
        name = node.name
        if node.kind is Kind.INPUT and node.parent is not None:
            name = node.parent.name
    out: list[str] = [f'<{name} xmlns="{_attr(ns)}"']
    n = len(out)
    out.append(">")
    fill_of(bundle, plan_of(bundle, node), ns)(obj, out.append, _Writer(bundle))
    if len(out) == n + 1:  # no content
        out[n] = "/>"
    else:
        out.append(f"</{name}>")
    return "".join(out).encode("utf-8")
