"""Request documents as JSON values or XML elements; malformed ones are 400 malformed-message.

Used by every RESTCONF request body: data resources (body.py), operation input (RFC 8040
§3.6.1) and YANG Patch (RFC 8072). XML goes through the codecs' hardened parser (no DTD, no
entities, no network; a document type declaration is refused). Both encodings are held to
the server's document limits (``LIMITS``, set per request by limits.py from the config):
nesting depth and number of elements (XML) or values (JSON); over them is 413 too-big.

The JSON limits are checked before ``json.loads`` builds anything, at C speed: counts of
brackets and commas bound depth and size from above, and only a document over those bounds
has its strings blanked out (one linear regex pass) and its brackets walked.
"""

from __future__ import annotations

import json
import re
from contextvars import ContextVar
from itertools import accumulate
from typing import Any

from models.codec.errors import InstanceError
from models.codec.xml import XmlLimits, parse
from server.config import Config
from server.restconf.errors import RestconfError

__all__ = ["LIMITS", "check_json", "malformed", "parse_json", "parse_xml", "split_tag", "too_big"]

_DEFAULT_LIMITS = XmlLimits(Config.max_nesting_depth, Config.max_elements)  # frozen
LIMITS: ContextVar[XmlLimits] = ContextVar("restconf_document_limits", default=_DEFAULT_LIMITS)

# A JSON string, or an unterminated one up to the end: every '"' starts a match, so the scan
# stays linear on any input (possessive quantifiers: no backtracking)
_STRING = re.compile(rb'"(?:[^"\\]++|\\(?s:.)?)*+(?:"|\Z)')
_NOT_BRACKET = bytes(c for c in range(256) if c not in b"[]{}")
_STEP = [0] * 256
for _c in b"[{":
    _STEP[_c] = 1
for _c in b"]}":
    _STEP[_c] = -1


def malformed(msg: str) -> RestconfError:
    return RestconfError.one("malformed-message", msg, 400, type="protocol")


def too_big(msg: str) -> RestconfError:
    return RestconfError.one("too-big", msg, 413, type="protocol")


def check_json(raw: bytes, limits: XmlLimits) -> None:
    """Refuse (413 too-big) a JSON text nested deeper than ``limits.max_depth`` objects and
    arrays, or holding more than ``limits.max_elements`` values."""
    opens = raw.count(b"[") + raw.count(b"{")
    depth_ok = not limits.max_depth or opens <= limits.max_depth
    size_ok = not limits.max_elements or opens + raw.count(b",") + 1 <= limits.max_elements
    if depth_ok and size_ok:
        return
    # brackets and commas inside strings do not count: blank the strings out (without a
    # backslash, every other '"'-separated piece is a string: a faster split than the regex)
    bare = b"".join(raw.split(b'"')[::2]) if b"\\" not in raw else _STRING.sub(b"", raw)
    if not size_ok:
        values = bare.count(b"[") + bare.count(b"{") + bare.count(b",") + 1
        if values > limits.max_elements:
            raise too_big(f"the document holds more than {limits.max_elements} values")
    if not depth_ok:
        brackets = bare.translate(None, _NOT_BRACKET)
        if brackets and max(accumulate(map(_STEP.__getitem__, brackets))) > limits.max_depth:
            raise too_big(f"the document is nested deeper than {limits.max_depth} levels")


def parse_json(raw: bytes) -> Any:
    check_json(raw, LIMITS.get())
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise malformed(f"malformed JSON: {e}") from None


def parse_xml(raw: bytes) -> Any:
    try:
        root = parse(raw, LIMITS.get())
    except InstanceError as e:
        issue = e.issues[0] if e.issues else None
        if issue is not None and issue.tag == "too-big":
            raise too_big(issue.message) from None
        raise malformed(issue.message if issue is not None else "malformed XML") from None
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise malformed("a document type declaration is not allowed")
    return root


def split_tag(tag: str) -> tuple[str, str]:
    """(namespace, local name) of an lxml tag."""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag
