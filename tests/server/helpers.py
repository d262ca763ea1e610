"""XML snippets and reply helpers shared by the NETCONF tests."""

from __future__ import annotations

from typing import Any

from lxml import etree

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
IF = "urn:ietf:params:xml:ns:yang:ietf-interfaces"
IANA = "urn:ietf:params:xml:ns:yang:iana-if-type"
YC = "urn:yangd:params:xml:ns:yang:yangd-commits"


def iface(name: str, op: str | None = None, type_: str | None = "ianaift:ethernetCsmacd",
          extra: str = "") -> str:
    attr = f' nc:operation="{op}"' if op else ""
    t = f"<type>{type_}</type>" if type_ else ""
    return (f'<config xmlns="{NC}" xmlns:nc="{NC}"><interfaces xmlns="{IF}" xmlns:ianaift="{IANA}">'
            f"<interface{attr}><name>{name}</name>{t}{extra}</interface></interfaces></config>")


def names(reply: Any) -> list[str]:
    """Interface names in a get/get-config reply."""
    root = etree.fromstring(reply.xml.encode()) if hasattr(reply, "xml") else reply
    return [e.text for e in root.iterfind(f".//{{{IF}}}interface/{{{IF}}}name")]


def el(text: str) -> Any:
    return etree.fromstring(text.encode())
