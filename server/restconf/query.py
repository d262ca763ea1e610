"""Query parameters (RFC 8040 §4.8, RFC 8527 §3.2.2): which a method takes, and their values.

Each parameter may appear once. A parameter the method does not take, an unknown one, or a
bad value is 400 invalid-value with an errors body (§4.8). GET/HEAD take ``content``,
``depth``, ``fields`` and ``with-defaults`` (and ``with-origin`` on the operational datastore);
POST and PUT take ``insert`` and ``point``; the other methods none. The stream parameters
(``filter``, ``start-time``, ``stop-time``) belong to event streams, not data resources.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from server.restconf.errors import RestconfError
from server.restconf.views import ReadParams

__all__ = ["EditParams", "check_none", "edit_params", "read_params"]

WITH_DEFAULTS = ("report-all", "trim", "explicit", "report-all-tagged")
INSERT = ("first", "last", "before", "after")
_KNOWN = {"content", "depth", "fields", "filter", "insert", "point", "start-time", "stop-time",
          "with-defaults", "with-origin"}


@dataclass(frozen=True)
class EditParams:
    insert: str | None = None  # first | last | before | after (§4.8.5)
    point: str | None = None  # data resource identifier of the anchor entry (§4.8.6)


def _bad(msg: str) -> RestconfError:
    return RestconfError.one("invalid-value", msg, 400, type="protocol")


def _collect(items: Iterable[tuple[str, str]], allowed: set[str], method: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in items:
        if name in out:
            raise _bad(f"query parameter {name!r} is given more than once")
        if name not in _KNOWN:
            raise _bad(f"unknown query parameter {name!r}")
        if name not in allowed:
            raise _bad(f"query parameter {name!r} is not allowed with {method} on this resource")
        out[name] = value
    return out


def check_none(items: Iterable[tuple[str, str]], method: str) -> None:
    """For methods that take no query parameter (PATCH, DELETE, OPTIONS)."""
    _collect(items, set(), method)


def edit_params(items: Iterable[tuple[str, str]], method: str) -> EditParams:
    """``insert`` and ``point`` of a POST or PUT (§4.8.5, §4.8.6)."""
    got = _collect(items, {"insert", "point"}, method)
    insert, point = got.get("insert"), got.get("point")
    if insert is not None and insert not in INSERT:
        raise _bad(f"insert must be one of {', '.join(INSERT)}, not {insert!r}")
    if insert in ("before", "after") and not point:
        raise _bad(f"insert={insert} needs a point parameter")
    if point is not None and insert not in ("before", "after"):
        raise _bad("point is only allowed with insert=before or insert=after")
    return EditParams(insert, point)


def read_params(items: Iterable[tuple[str, str]], method: str = "GET",
                operational: bool = False) -> ReadParams:
    allowed = {"content", "depth", "fields", "with-defaults"} | ({"with-origin"} if operational else set())
    got = _collect(items, allowed, method)
    content = got.get("content", "all")
    if content not in ("config", "nonconfig", "all"):
        raise _bad(f"content must be config, nonconfig or all, not {content!r}")
    depth: int | None = None
    text = got.get("depth", "unbounded")
    if text != "unbounded":
        if not text.isdigit() or not 1 <= int(text) <= 65535:
            raise _bad(f"depth must be unbounded or 1..65535, not {text!r}")
        depth = int(text)
    wd = got.get("with-defaults")
    if wd is not None and wd not in WITH_DEFAULTS:
        raise _bad(f"with-defaults must be one of {', '.join(WITH_DEFAULTS)}, not {wd!r}")
    fields = got.get("fields")
    if fields is not None and not fields.strip():
        raise _bad("fields must not be empty")
    origin = got.get("with-origin")
    if origin not in (None, ""):
        raise _bad("with-origin takes no value")
    return ReadParams(content, depth, wd, fields, origin is not None)
