"""Instance errors: what the codecs (and the layers above) report about bad instance data.

An ``Issue`` carries the instance path of the offending node in RFC 7951 / RESTCONF style
(``/ietf-interfaces:interfaces/interface[name='eth0']/ietf-ip:ipv4/mtu``: modules written
where they change, list entries identified by all their keys, leaf-list entries by
``[.='value']``), an RFC 6241 Appendix A error-tag and, where RFC 7950 §15 defines one, an
error-app-tag. ``from_validation_error`` turns a pydantic ``ValidationError`` raised by a
generated class into such issues, reading key values from the input that was validated.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from models.errors import protected_message
from models.schema import Kind, SchemaNode

# RFC 6241 Appendix A error-tags: a pydantic error of one of these types keeps it as the tag.
ERROR_TAGS = frozenset({
    "in-use", "invalid-value", "too-big", "missing-attribute", "bad-attribute",
    "unknown-attribute", "missing-element", "bad-element", "unknown-element",
    "unknown-namespace", "access-denied", "lock-denied", "resource-denied", "rollback-failed",
    "data-exists", "data-missing", "operation-not-supported", "operation-failed",
    "partial-operation", "malformed-message",
})
# RFC 7950 §15: error-app-tags and the error-tag each goes with.
APP_TAGS = {
    "data-not-unique": "operation-failed", "too-many-elements": "operation-failed",
    "too-few-elements": "operation-failed", "must-violation": "operation-failed",
    "instance-required": "data-missing", "missing-choice": "data-missing",
}
_REJECTED_BRANCH = "is-instance[YangList]"
_PYDANTIC_TAGS = {"extra_forbidden": "unknown-element", "missing": "missing-element"}


@dataclass(frozen=True)
class Issue:
    path: str
    message: str
    tag: str = "invalid-value"
    app_tag: str | None = None

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class InstanceError(ValueError):
    """Instance data that does not conform to the schema; ``issues`` lists every problem."""

    def __init__(self, issues: Iterable[Issue]):
        self.issues: list[Issue] = list(issues)
        super().__init__("\n".join(map(str, self.issues)) or "invalid instance data")

    def __str__(self) -> str:
        return "\n".join(map(str, self.issues))


def tag_of(error_type: str, app_tag: str | None = None) -> tuple[str, str | None]:
    """(error-tag, error-app-tag) for a pydantic error type."""
    if error_type in ERROR_TAGS:
        return error_type, app_tag
    if error_type in APP_TAGS:
        return APP_TAGS[error_type], app_tag or error_type
    return _PYDANTIC_TAGS.get(error_type, "invalid-value"), app_tag


# ---- instance path rendering ----------------------------------------------------------------

def format_value(v: Any) -> str:
    """A value as it appears in an instance path predicate (RFC 7951 lexical form)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, bytes):
        return base64.b64encode(v).decode("ascii")
    if isinstance(v, frozenset):
        return " ".join(sorted(v))
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, list) and v == [None]:
        return ""
    return str(v)


def quote(s: str) -> str:
    """An XPath 1.0 string literal (no escapes exist: pick the quote the value lacks)."""
    return f'"{s}"' if "'" in s else f"'{s}'"


def member(d: Mapping[str, Any], node: SchemaNode) -> Any:
    """The member for ``node`` in decoded input keyed by RFC 7951 name or Python name."""
    v = d.get(node.json_name())
    if v is None and node.py_name:
        v = d.get(node.py_name)
    if v is None:
        v = d.get(node.name)
    return v


def entry_step(node: SchemaNode, entry: Any) -> str:
    """``name[k1='v1'][k2='v2']`` for a list entry (keys absent from ``entry`` are left out)."""
    step = node.json_name()
    if not node.keys or not isinstance(entry, Mapping):
        return step
    for k in node.keys:
        kn = node.data_child(node.module, k)
        v = member(entry, kn) if kn is not None else None
        if v is not None:
            step += f"[{k}={quote(format_value(v))}]"
    return step


def leaf_list_step(node: SchemaNode, value: Any) -> str:
    return f"{node.json_name()}[.={quote(format_value(value))}]"


def _duplicate(node: SchemaNode, items: Sequence[Any]) -> str | None:
    """The step naming the first repeated entry of a list/leaf-list in raw input."""
    seen: set[Any] = set()
    for item in items:
        if node.kind is Kind.LIST:
            if not isinstance(item, Mapping):
                return None
            ident: Any = entry_step(node, item)
        else:
            ident = format_value(item)
        if ident in seen:
            return ident if node.kind is Kind.LIST else leaf_list_step(node, item)
        seen.add(ident)
    return None


def _child_by_name(node: SchemaNode, name: str) -> SchemaNode | None:
    cache: dict[str, SchemaNode] | None = node.__dict__.get("_codec_names")
    if cache is None:
        cache = {}
        for c in node.data_children():
            cache.setdefault(c.name, c)
            cache[c.py_name] = c
            cache[c.json_name()] = c
        node.__dict__["_codec_names"] = cache
    return cache.get(name)


def error_path(loc: Sequence[str | int], root: SchemaNode, data: Any,
               error_type: str = "") -> str:
    """The instance path for a pydantic ``loc`` under ``root`` (``data``: the validated input)."""
    steps: list[str] = []
    node = root
    cur: Any = data
    i = 0
    loc = [x for x in loc if not (isinstance(x, str) and "[" in x)]  # union member labels
    while i < len(loc):
        item = loc[i]
        if node.kind in (Kind.LEAF, Kind.ANYDATA, Kind.ANYXML):
            break  # the rest locates inside a value (union members, …)
        if not isinstance(item, str):
            break
        child = _child_by_name(node, item)
        if child is None:  # unknown member: named as written
            steps.append(item)
            break
        cur = member(cur, child) if isinstance(cur, Mapping) else None
        nxt = loc[i + 1] if i + 1 < len(loc) else None
        if child.kind in (Kind.LIST, Kind.LEAF_LIST) and isinstance(nxt, int):
            entry = cur[nxt] if isinstance(cur, list) and 0 <= nxt < len(cur) else None
            if child.kind is Kind.LIST:
                steps.append(entry_step(child, entry))
            else:
                steps.append(leaf_list_step(child, entry) if entry is not None else child.json_name())
                break
            cur = entry
            i += 2
        else:
            if (nxt is None and error_type == "data-not-unique" and isinstance(cur, list)
                    and child.kind in (Kind.LIST, Kind.LEAF_LIST)):
                steps.append(_duplicate(child, cur) or child.json_name())
                break
            steps.append(child.json_name())
            i += 1
        node = child
    return "/" + "/".join(steps)


def base_path(node: SchemaNode) -> str:
    """Where paths under ``node`` start: "" for the schema root, else its schema path."""
    return node.path() if node.module else ""


def _message(e: Any, root: SchemaNode) -> str:
    name = next((x for x in reversed(e["loc"]) if isinstance(x, str)), "")
    if e["type"] == "missing":
        return f"missing element {name!r}"
    if e["type"] == "extra_forbidden":
        return f"unknown element {name!r}"
    node = _node_at(e["loc"], root)
    return str(e["msg"]) if node is None else protected_message(node, str(e["msg"]))


def _node_at(loc: Sequence[str | int], root: SchemaNode) -> SchemaNode | None:
    """The schema node a pydantic ``loc`` ends in (list indexes and union labels skipped)."""
    node = root
    for item in loc:
        if node.kind in (Kind.LEAF, Kind.LEAF_LIST, Kind.ANYDATA, Kind.ANYXML):
            break
        if not isinstance(item, str) or "[" in item:
            continue
        child = _child_by_name(node, item)
        if child is None:
            return None
        node = child
    return node


def from_validation_error(err: ValidationError, root_node: SchemaNode, data: Any) -> InstanceError:
    """Map every error of ``err`` to an Issue with its instance path (one per path and tag)."""
    issues: dict[tuple[str, str], Issue] = {}
    base = base_path(root_node)
    for e in err.errors(include_url=False):
        if _REJECTED_BRANCH in e["loc"]:
            continue  # a list given as a list: the failed "already a YangList" alternative
        ctx = e.get("ctx") or {}
        tag, app_tag = tag_of(e["type"], ctx.get("app_tag"))
        path = base + error_path(e["loc"], root_node, data, e["type"])
        path = path.rstrip("/") if path != "/" else path
        prev = issues.get((path, tag))
        if prev is not None:  # e.g. one error per union member: keep them together
            if e["msg"] not in prev.message:
                issues[(path, tag)] = Issue(path, f"{prev.message}; {e['msg']}", tag, prev.app_tag)
            continue
        issues[(path, tag)] = Issue(path, _message(e, root_node), tag, app_tag)
    return InstanceError(issues.values())
