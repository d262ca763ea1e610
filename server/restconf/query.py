"""Query parameters (RFC 8040 §4.8): which a method takes, and their values.

Each parameter may appear once. A parameter the method does not take, an unknown one, or a
bad value is 400 invalid-value with an errors body (§4.8). ``fields``, ``insert``/``point``
and the stream parameters are recognised but not implemented yet: they are refused the
same way rather than silently ignored.
"""

from __future__ import annotations

from collections.abc import Iterable

from server.restconf.errors import RestconfError
from server.restconf.views import ReadParams

__all__ = ["check_none", "read_params"]

WITH_DEFAULTS = ("report-all", "trim", "explicit")
_KNOWN = {"content", "depth", "fields", "filter", "insert", "point", "start-time", "stop-time",
          "with-defaults"}
_LATER = {"fields", "insert", "point"}


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
        if name in _LATER:
            raise _bad(f"query parameter {name!r} is not supported yet")
        out[name] = value
    return out


def check_none(items: Iterable[tuple[str, str]], method: str) -> None:
    """For methods that take no query parameter (PATCH, DELETE, OPTIONS; PUT/POST for now)."""
    allowed = {"insert", "point"} if method in ("POST", "PUT") else set()
    _collect(items, allowed, method)


def read_params(items: Iterable[tuple[str, str]], method: str = "GET") -> ReadParams:
    got = _collect(items, {"content", "depth", "fields", "with-defaults"}, method)
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
        if wd == "report-all-tagged":
            raise _bad("with-defaults report-all-tagged is not supported yet")
        raise _bad(f"with-defaults must be one of {', '.join(WITH_DEFAULTS)}, not {wd!r}")
    return ReadParams(content, depth, wd)
