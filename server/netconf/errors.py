"""``YangdError`` → RFC 6241 Appendix A ``<rpc-error>``.

The error model is the one of models/errors.py; this module only renders it. The RFC 7951
path (module names as prefixes, written where the module changes) becomes an XPath whose
every step carries the module's XML prefix, declared on the ``error-path`` element itself,
e.g. ``/if:interfaces/if:interface[if:name='eth0']/ip:ipv4``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lxml import etree

from models.errors import YangdError, YangdErrors
from models.schema import Schema
from models.xpath.names import format_literal
from models.xpath.paths import parse_instance_identifier

__all__ = ["NC", "YANG_NS", "NetconfError", "error_path", "rpc_error", "rpc_errors"]

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
YANG_NS = "urn:ietf:params:xml:ns:yang:1"  # RFC 7950 §15 error-info elements
YANGD_NS = "urn:yangd:params:xml:ns:error-info"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# error-info members by namespace; others go in yangd's own namespace
_NC_INFO = {"session-id", "bad-element", "bad-attribute", "bad-namespace", "ok-element",
            "err-element", "noop-element"}
_YANG_INFO = {"non-unique", "missing-choice"}
_PATH_INFO = {"non-unique"}  # values are instance-identifiers


class NetconfError(YangdErrors):
    """A protocol-level error raised by the NETCONF layer itself (same model, same rendering)."""

    def __init__(self, tag: str, message: str, type: str = "protocol", **info: Any):
        super().__init__([YangdError(tag, message, None, None, type, info)])


def _prefixes(schema: Schema) -> dict[str, str]:
    """module name → a unique XML prefix (the module's own where no other module has it)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for m in sorted(schema.modules.values(), key=lambda m: m.name):
        p, n = m.prefix, 1
        while p in used or p.lower().startswith("xml"):
            n += 1
            p = f"{m.prefix}{n}"
        used.add(p)
        out[m.name] = p
    return out


_CACHE: dict[int, dict[str, str]] = {}


def prefixes_of(schema: Schema) -> dict[str, str]:
    got = _CACHE.get(id(schema))
    if got is None:
        got = _CACHE[id(schema)] = _prefixes(schema)
    return got


def error_path(schema: Schema, path: str) -> tuple[str, dict[str, str]] | None:
    """(XPath with prefixes, {prefix: namespace}) for an RFC 7951 path; None if not one."""
    try:
        steps = parse_instance_identifier(path)
    except ValueError:
        return None
    pre = prefixes_of(schema)
    nsmap: dict[str, str] = {}
    out: list[str] = []
    module: str | None = None

    def qual(mod: str | None, name: str) -> str | None:
        if mod is None or mod not in schema.modules:
            return None
        p = pre[mod]
        nsmap[p] = schema.modules[mod].namespace
        return f"{p}:{name}"

    for st in steps:
        module = st.prefix or module
        q = qual(module, st.name)
        if q is None:
            return None
        out.append("/" + q)
        if isinstance(st.predicates, int):
            out.append(f"[{st.predicates}]")
            continue
        for k in st.predicates:
            if k.name == ".":
                out.append(f"[.={format_literal(k.value)}]")
            else:
                kq = qual(k.prefix or module, k.name)
                if kq is None:
                    return None
                out.append(f"[{kq}={format_literal(k.value)}]")
    return "".join(out), nsmap


def _path_elem(parent: Any, tag: str, schema: Schema, path: str) -> Any:
    conv = error_path(schema, path)
    if conv is None:
        e = etree.SubElement(parent, tag)
        e.text = path
        return e
    text, nsmap = conv
    e = etree.SubElement(parent, tag, nsmap=nsmap)
    e.text = text
    return e


def rpc_error(schema: Schema, err: YangdError) -> Any:
    """The ``<rpc-error>`` element (in the NETCONF base namespace) for one error."""
    q = f"{{{NC}}}"
    root = etree.Element(q + "rpc-error", nsmap={None: NC})
    etree.SubElement(root, q + "error-type").text = err.type
    etree.SubElement(root, q + "error-tag").text = err.tag
    etree.SubElement(root, q + "error-severity").text = err.severity
    if err.app_tag:
        etree.SubElement(root, q + "error-app-tag").text = err.app_tag
    if err.path and err.path != "/":
        _path_elem(root, q + "error-path", schema, err.path)
    if err.message:
        msg = etree.SubElement(root, q + "error-message")
        msg.set(XML_LANG, "en")
        msg.text = err.message
    if err.info:
        _info(etree.SubElement(root, q + "error-info"), schema, err.info)
    return root


def _info(elem: Any, schema: Schema, info: Mapping[str, Any]) -> None:
    for key, value in info.items():
        name = key.replace("_", "-")
        ns = NC if name in _NC_INFO else YANG_NS if name in _YANG_INFO else YANGD_NS
        values = value if isinstance(value, list | tuple) else [value]
        for v in values:
            if v is None:
                continue
            tag = f"{{{ns}}}{name}"
            if name in _PATH_INFO:
                _path_elem(elem, tag, schema, str(v))
            else:
                etree.SubElement(elem, tag).text = _text(v)


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def rpc_errors(schema: Schema, errors: Iterable[YangdError]) -> list[Any]:
    return [rpc_error(schema, e) for e in errors]
