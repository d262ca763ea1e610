"""Media types (RFC 8040 §5.2): Accept and Content-Type negotiation.

``application/yang-data+json`` (RFC 7951) is the default; ``application/yang-data+xml`` is the
alternative. The generic ``application/json`` / ``application/xml`` are taken as synonyms so
plain tools work. A request whose Accept names neither gets 406; a body in any other type 415.
"""

from __future__ import annotations

from enum import StrEnum

from server.restconf.errors import RestconfError

__all__ = ["Media", "accepted", "body_media"]


class Media(StrEnum):
    JSON = "application/yang-data+json"
    XML = "application/yang-data+xml"


_TYPES = {
    "application/yang-data+json": Media.JSON, "application/json": Media.JSON,
    "application/yang-data+xml": Media.XML, "application/xml": Media.XML, "text/xml": Media.XML,
}


def _parse(header: str) -> list[tuple[str, float]]:
    """Media ranges with their q values, in preference order (stable for equal q)."""
    out: list[tuple[str, float, int]] = []
    for i, part in enumerate(header.split(",")):
        bits = [b.strip() for b in part.split(";")]
        if not bits[0]:
            continue
        q = 1.0
        for b in bits[1:]:
            name, _, value = b.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        out.append((bits[0].lower(), q, i))
    out.sort(key=lambda t: (-t[1], t[2]))
    return [(m, q) for m, q, _ in out if q > 0]


def accepted(accept: str | None, default: Media = Media.JSON) -> Media:
    """The response encoding for an Accept header; RestconfError 406 if none fits."""
    if not accept:
        return default
    for media, _q in _parse(accept):
        if media in ("*/*", "application/*"):
            return default
        got = _TYPES.get(media)
        if got is not None:
            return got
    raise RestconfError.one("invalid-value", f"cannot produce any of {accept!r}; use "
                            f"{Media.JSON.value} or {Media.XML.value}", 406, type="protocol")


def body_media(content_type: str | None, body: bytes) -> Media:
    """The encoding of a request body; RestconfError 415 for an unsupported type."""
    if not content_type:
        head = body.lstrip()[:1]
        return Media.XML if head == b"<" else Media.JSON
    media = content_type.split(";")[0].strip().lower()
    got = _TYPES.get(media)
    if got is None:
        raise RestconfError.one("invalid-value", f"unsupported media type {media!r}; use "
                                f"{Media.JSON.value} or {Media.XML.value}", 415, type="protocol")
    return got
