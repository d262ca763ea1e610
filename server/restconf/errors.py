"""RFC 8040 §7 error reporting: YangdErrors to an ``ietf-restconf:errors`` body and status.

Every failure a RESTCONF client sees goes through here: the datastore's ``YangdErrors``, the
request checks of this package (``RestconfError``), Starlette's own HTTP errors (unknown URL,
method) and — logged, never shown — any unexpected exception, which becomes 500
operation-failed. The body is JSON or XML as negotiated; error paths are RFC 7951 instance
identifiers in JSON and get XML prefixes (declared on ``error-path``) in XML.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from lxml import etree

from models.bundle import Bundle
from models.errors import YangdError, YangdErrors

__all__ = ["RESTCONF_NS", "RestconfError", "error_body", "status_of"]

RESTCONF_NS = "urn:ietf:params:xml:ns:yang:ietf-restconf"

# RFC 8040 §7 table: error-tag → status (the first of the alternatives; callers that need the
# other one — 404 for a missing resource, 405 for a method — give it explicitly).
STATUS = {
    "in-use": 409, "invalid-value": 400, "too-big": 413, "missing-attribute": 400,
    "bad-attribute": 400, "unknown-attribute": 400, "bad-element": 400, "unknown-element": 400,
    "unknown-namespace": 400, "access-denied": 403, "lock-denied": 409, "resource-denied": 409,
    "rollback-failed": 500, "data-exists": 409, "data-missing": 409,
    "operation-not-supported": 501, "operation-failed": 500, "partial-operation": 500,
    "malformed-message": 400, "missing-element": 400,
}


class RestconfError(Exception):
    """Errors to report with an explicit status (None: from the first error's tag)."""

    def __init__(self, errors: Iterable[YangdError], status: int | None = None,
                 headers: Mapping[str, str] | None = None):
        self.errors = list(errors)
        self.status = status or status_of(self.errors)
        self.headers = dict(headers or {})
        super().__init__("; ".join(map(str, self.errors)))

    @classmethod
    def one(cls, tag: str, message: str, status: int | None = None, path: str | None = None,
            type: str = "protocol", headers: Mapping[str, str] | None = None,
            **info: Any) -> RestconfError:
        return cls([YangdError(tag, message, path, None, type, info)], status, headers)

    @classmethod
    def of(cls, err: YangdErrors, status: int | None = None) -> RestconfError:
        return cls(err.errors, status)


def status_of(errors: list[YangdError]) -> int:
    return STATUS.get(errors[0].tag, 500) if errors else 500


def _info_name(key: str) -> str:
    return key.replace("_", "-")


def _info_value(v: Any) -> Any:
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, Mapping):
        return {str(k): _info_value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_info_value(x) for x in v]
    return str(v)


def _error_json(e: YangdError) -> dict[str, Any]:
    out: dict[str, Any] = {"error-type": e.type, "error-tag": e.tag}
    if e.app_tag:
        out["error-app-tag"] = e.app_tag
    if e.path:
        out["error-path"] = e.path
    out["error-message"] = e.message
    if e.info:
        out["error-info"] = {_info_name(k): _info_value(v) for k, v in e.info.items()}
    return out


_QUOTED = re.compile(r"('[^']*'|\"[^\"]*\")")
_QNAME = re.compile(r"(?<![\w.-])([A-Za-z_][\w.-]*):(?=[A-Za-z_])")


def _xml_path(bundle: Bundle | None, path: str) -> tuple[str, dict[str, str]]:
    """An RFC 7951 instance path with XML prefixes, and the prefixes it uses (→ namespace)."""
    used: dict[str, str] = {}
    if bundle is None:
        return path, used
    modules = bundle.schema.modules

    def prefixed(m: re.Match[str]) -> str:
        info = modules.get(m.group(1))
        if info is None:
            return m.group(0)
        used[info.prefix] = info.namespace
        return f"{info.prefix}:"

    parts = _QUOTED.split(path)
    return "".join(p if i % 2 else _QNAME.sub(prefixed, p) for i, p in enumerate(parts)), used


def _error_xml(parent: Any, e: YangdError, bundle: Bundle | None) -> None:
    ns = RESTCONF_NS
    err = etree.SubElement(parent, f"{{{ns}}}error")
    etree.SubElement(err, f"{{{ns}}}error-type").text = e.type
    etree.SubElement(err, f"{{{ns}}}error-tag").text = e.tag
    if e.app_tag:
        etree.SubElement(err, f"{{{ns}}}error-app-tag").text = e.app_tag
    if e.path:
        text, used = _xml_path(bundle, e.path)
        nsmap: dict[str | None, str] = dict(used.items())
        etree.SubElement(err, f"{{{ns}}}error-path", nsmap=nsmap).text = text
    etree.SubElement(err, f"{{{ns}}}error-message").text = e.message
    if e.info:
        info = etree.SubElement(err, f"{{{ns}}}error-info")
        for k, v in e.info.items():
            _info_xml(info, _info_name(k), v)


def _info_xml(parent: Any, name: str, v: Any) -> None:
    if not re.fullmatch(r"[A-Za-z_][\w.-]*", name):
        return
    el = etree.SubElement(parent, f"{{{RESTCONF_NS}}}{name}")
    if isinstance(v, Mapping):
        for k, x in v.items():
            _info_xml(el, _info_name(str(k)), x)
    elif isinstance(v, bool):
        el.text = "true" if v else "false"
    elif v is not None:
        el.text = str(v)


def error_body(errors: list[YangdError], xml: bool, bundle: Bundle | None = None) -> bytes:
    """The ``ietf-restconf:errors`` document (RFC 8040 §7.1) in JSON or XML."""
    if not xml:
        doc = {"ietf-restconf:errors": {"error": [_error_json(e) for e in errors]}}
        return json.dumps(doc, indent=2).encode()
    root = etree.Element(f"{{{RESTCONF_NS}}}errors", nsmap={None: RESTCONF_NS})
    for e in errors:
        _error_xml(root, e, bundle)
    out: bytes = etree.tostring(root, encoding="UTF-8", pretty_print=True)
    return out
