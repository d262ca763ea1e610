"""The YANG Patch request document (RFC 8072 §2.1-§2.2): ``ietf-yang-patch:yang-patch`` in
JSON or XML to a ``Patch``, its edits in order.

The module defines the document with ``rc:yang-data``, so there is no generated class for
it: the few nodes are read here. A document that is not a YANG Patch — malformed, unknown
or missing nodes, a duplicate ``edit-id``, an unknown operation — is refused as a whole
(400, RFC 8040 errors body); what an edit means is checked later, per edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.restconf.errors import RestconfError
from server.restconf.media import Media
from server.restconf.parse import malformed, parse_json, parse_xml, split_tag

__all__ = ["PATCH_NS", "Edit", "Patch", "parse_patch"]

PATCH_NS = "urn:ietf:params:xml:ns:yang:ietf-yang-patch"
_OPS = ("create", "delete", "insert", "merge", "move", "replace", "remove")
_WHERE = ("before", "after", "first", "last")
_FIELDS = {"edit-id", "operation", "target", "point", "where", "value"}


@dataclass
class Edit:
    edit_id: str
    operation: str
    target: str
    point: str | None = None
    where: str | None = None  # None: not given (default last)
    value: Any = None  # JSON: the anydata object; XML: the <value> element


@dataclass
class Patch:
    patch_id: str
    comment: str | None
    edits: list[Edit]


def _text(v: Any, what: str) -> str:
    if not isinstance(v, str):
        raise malformed(f"{what} must be a string")
    return v


def _check_edit(e: Edit, seen: set[str]) -> Edit:
    if e.edit_id in seen:
        raise malformed(f"edit-id {e.edit_id!r} is used twice")
    seen.add(e.edit_id)
    if e.operation not in _OPS:
        raise RestconfError.one("invalid-value", f"edit {e.edit_id}: unknown operation "
                                f"{e.operation!r}", 400, type="protocol")
    if e.where is not None and e.where not in _WHERE:
        raise RestconfError.one("invalid-value", f"edit {e.edit_id}: where must be one of "
                                f"{', '.join(_WHERE)}", 400, type="protocol")
    return e


def _parse_json(raw: bytes) -> Patch:
    doc = parse_json(raw)
    if not isinstance(doc, dict) or set(doc) != {"ietf-yang-patch:yang-patch"} \
            or not isinstance(doc["ietf-yang-patch:yang-patch"], dict):
        raise malformed('the body must be {"ietf-yang-patch:yang-patch": {...}}')
    p = doc["ietf-yang-patch:yang-patch"]
    unknown = set(p) - {"patch-id", "comment", "edit"}
    if unknown:
        raise RestconfError.one("unknown-element", f"unknown member {sorted(unknown)[0]!r}", 400)
    if "patch-id" not in p:
        raise RestconfError.one("missing-element", "patch-id is required", 400,
                                bad_element="patch-id")
    edits_raw = p.get("edit", [])
    if not isinstance(edits_raw, list) or not all(isinstance(x, dict) for x in edits_raw):
        raise malformed("edit must be an array of objects")
    edits: list[Edit] = []
    seen: set[str] = set()
    for x in edits_raw:
        unknown = set(x) - _FIELDS
        if unknown:
            raise RestconfError.one("unknown-element", f"unknown member {sorted(unknown)[0]!r}", 400)
        for need in ("edit-id", "operation", "target"):
            if need not in x:
                raise RestconfError.one("missing-element", f"an edit without {need}", 400,
                                        bad_element=need)
        if "value" in x and not isinstance(x["value"], dict):
            raise malformed("value must be a JSON object")
        edits.append(_check_edit(Edit(
            _text(x["edit-id"], "edit-id"), _text(x["operation"], "operation"),
            _text(x["target"], "target"),
            _text(x["point"], "point") if "point" in x else None,
            _text(x["where"], "where") if "where" in x else None, x.get("value")), seen))
    comment = _text(p["comment"], "comment") if "comment" in p else None
    return Patch(_text(p["patch-id"], "patch-id"), comment, edits)


def _children(elem: Any) -> list[tuple[str, Any]]:
    out = []
    for c in elem:
        if not isinstance(c.tag, str):
            continue
        ns, local = split_tag(c.tag)
        if ns != PATCH_NS:
            raise RestconfError.one("unknown-namespace", f"unexpected element {c.tag!r}", 400)
        out.append((local, c))
    return out


def _one(kids: list[tuple[str, Any]], name: str, required: bool) -> Any:
    got = [c for n, c in kids if n == name]
    if len(got) > 1:
        raise malformed(f"<{name}> given more than once")
    if not got:
        if required:
            raise RestconfError.one("missing-element", f"<{name}> is required", 400, bad_element=name)
        return None
    return got[0]


def _leaf(kids: list[tuple[str, Any]], name: str, required: bool = False) -> str | None:
    el = _one(kids, name, required)
    return None if el is None else (el.text or "").strip()


def _parse_xml(raw: bytes) -> Patch:
    root = parse_xml(raw)
    if root.tag != f"{{{PATCH_NS}}}yang-patch":
        raise malformed(f'the body must be a <yang-patch xmlns="{PATCH_NS}"> element')
    kids = _children(root)
    for n, _c in kids:
        if n not in ("patch-id", "comment", "edit"):
            raise RestconfError.one("unknown-element", f"unknown element <{n}>", 400)
    edits: list[Edit] = []
    seen: set[str] = set()
    for n, c in kids:
        if n != "edit":
            continue
        ek = _children(c)
        for en, _x in ek:
            if en not in _FIELDS:
                raise RestconfError.one("unknown-element", f"unknown element <{en}>", 400)
        edits.append(_check_edit(Edit(
            _leaf(ek, "edit-id", True) or "", _leaf(ek, "operation", True) or "",
            _leaf(ek, "target", True) or "", _leaf(ek, "point"), _leaf(ek, "where"),
            _one(ek, "value", False)), seen))
    return Patch(_leaf(kids, "patch-id", True) or "", _leaf(kids, "comment"), edits)


def parse_patch(raw: bytes, media: Media) -> Patch:
    """The patch in a request body; RestconfError 400 when it is not a YANG Patch."""
    return _parse_json(raw) if media is Media.JSON else _parse_xml(raw)
