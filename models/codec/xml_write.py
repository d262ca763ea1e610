"""Encode generated-class instances straight to RFC 7950 XML bytes, without an element tree.

The same document as ``to_bytes(encode_xml(obj, …))`` (xml_encode.py): schema order with
list keys first, each element in its module's namespace declared as the default namespace
where the module changes, prefixes for identityref/instance-identifier values declared on
the leaf. Building lxml elements only to serialise them again costs about as much as the
rest of a get-config; replies that are not edited afterwards (no with-defaults tagging) are
written here instead, about four times faster. anydata content is rare and goes through the
element encoder.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree
from pydantic import BaseModel

from models.codec._plan import ANY, CONTAINER, LEAF, LIST, Child, Plan, bundle_of, plan_of, sub_plan
from models.codec.xml_encode import NETCONF_NS, _Encoder, _Prefixes
from models.schema import Kind

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


# One child as the writer walks it: (py attribute, kind, open tag, close tag, to_text, child).
_Step = tuple[str, int, str, str, Any, Child]


class _Writer:
    __slots__ = ("bundle", "out", "steps")

    def __init__(self, bundle: Any):
        self.bundle = bundle
        self.out: list[str] = []
        self.steps: dict[tuple[int, str], list[_Step]] = {}  # (id(plan), parent ns) → steps

    def _steps(self, plan: Plan, ns: str) -> list[_Step]:
        out: list[_Step] = []
        for c in plan.ordered:
            name = c.node.name
            open_ = f"<{name}>" if c.ns == ns else f'<{name} xmlns="{_attr(c.ns)}">'
            out.append((c.py, c.kind, open_, f"</{name}>", c.to_text, c))
        self.steps[(id(plan), ns)] = out
        return out

    def fill(self, obj: Any, plan: Plan, ns: str) -> None:
        push = self.out.append
        steps = self.steps.get((id(plan), ns)) or self._steps(plan, ns)
        for py, kind, open_, close, to_text, c in steps:
            v = getattr(obj, py)
            if v is None:
                continue
            if kind == LEAF:
                if c.needs_ns:
                    self.prefixed(c, v, ns)
                    continue
                text = v if to_text is None else to_text(v, None)
                if type(text) is not str:
                    text = str(text)
                push(f"{open_}{_escape(text)}{close}" if text else f"{open_[:-1]}/>")
            elif kind == CONTAINER:
                push(open_)
                self.fill(v, c.plan or sub_plan(self.bundle, c), c.ns)
                push(close)
            elif kind == LIST:
                sub = c.plan or sub_plan(self.bundle, c)
                cns = c.ns
                fill = self.fill
                for entry in v:
                    push(open_)
                    fill(entry, sub, cns)
                    push(close)
            elif kind == ANY:
                elem = etree.Element(c.tag, nsmap={None: c.ns})
                _Encoder(self.bundle).anydata(elem, v, c.ns)
                push(etree.tostring(elem, encoding="unicode"))
            else:
                for x in v:
                    if c.needs_ns:
                        self.prefixed(c, x, ns)
                        continue
                    text = x if to_text is None else to_text(x, None)
                    if type(text) is not str:
                        text = str(text)
                    push(f"{open_}{_escape(text)}{close}" if text else f"{open_[:-1]}/>")

    def prefixed(self, c: Child, v: Any, ns: str) -> None:
        rec = _Prefixes(self.bundle)
        text = c.to_text(v, rec) if c.to_text is not None else str(v)
        decls = "".join(f' xmlns:{p}="{_attr(u)}"' for p, u in rec.declared.items())
        if c.ns != ns:
            decls = f' xmlns="{_attr(c.ns)}"{decls}'
        name = c.node.name
        self.out.append(f"<{name}{decls}>{_escape(text)}</{name}>" if text else f"<{name}{decls}/>")


def encode_xml_bytes(obj: BaseModel, wrapper: str = "data", wrapper_ns: str = NETCONF_NS) -> bytes:
    """UTF-8 XML for ``obj``, as ``to_bytes(encode_xml(obj, wrapper, wrapper_ns))`` writes it.

    ``obj`` is a ``Root`` (every top-level node inside ``<wrapper xmlns=wrapper_ns>``) or any
    container-like instance (the element named after its node).
    """
    node = type(obj).__yang__  # type: ignore[attr-defined]
    bundle = bundle_of(type(obj))
    w = _Writer(bundle)
    if node is bundle.schema.root:
        name, ns = wrapper, wrapper_ns
    else:
        ns = bundle.schema.modules[node.module].namespace
        name = node.name
        if node.kind is Kind.INPUT and node.parent is not None:
            name = node.parent.name
    w.fill(obj, plan_of(bundle, node), ns)
    inner = "".join(w.out)
    head = f'<{name} xmlns="{_attr(ns)}"'
    text = f"{head}>{inner}</{name}>" if inner else f"{head}/>"
    return text.encode("utf-8")
