"""Event notifications as Server-Sent Events (RFC 8040 §6.4, W3C EventSource).

Each event is one SSE message: every line of the encoded notification on a ``data:`` line
of its own, then an empty line. XML is RFC 5277's ``<notification>`` with ``<eventTime>``
and the content element; JSON is ``ietf-restconf:notification`` holding ``eventTime`` and
the content member (RFC 8040 §6.4, RFC 7951), decoded from the logged XML through the
schema so every value is written by the one JSON encoder. The RFC 5277 markers
(replayComplete, notificationComplete) are events of the same shape.

Filters (RFC 8040 §4.8.4) are XPath 1.0 over the notification content, as the document
element of a document of its own (RFC 5277 §3.6: eventTime is not part of what is filtered);
the context node is the document root, and each YANG module name is a prefix for its
namespace.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from lxml import etree

from datastore.datastores import Datastores
from models.bundle import Bundle
from models.codec import InstanceError, decode_xml, encode_json
from models.codec.xml import anydata_json, parse

__all__ = ["KEEPALIVE", "NETMOD_NOTIF", "NOTIF", "Matcher", "compile_filter", "event_time", "frame",
           "marker", "notification", "permitted"]

NOTIF = "urn:ietf:params:xml:ns:netconf:notification:1.0"
NETMOD_NOTIF = "urn:ietf:params:xml:ns:netmod:notification"  # RFC 5277's markers
NETMOD_MODULE = "nc-notifications"  # the RFC 5277 YANG module of those markers
KEEPALIVE = b": keepalive\n\n"  # an SSE comment: ignored by clients, shows a dead peer
Matcher = Callable[[Any], bool]
_LINES = re.compile(r"\r\n|\r|\n")  # SSE's line ends (not str.splitlines's U+2028 & co)


def event_time(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def frame(text: str) -> bytes:
    """One SSE message carrying ``text`` (W3C: a ``data:`` field per line)."""
    return ("".join(f"data: {line}\n" for line in _LINES.split(text)) + "\n").encode()


def notification(bundle: Bundle, t: datetime, content: str, as_json: bool) -> str:
    """The notification message for a logged event (``content``: its XML element)."""
    if not as_json:
        return (f'<notification xmlns="{NOTIF}">\n  <eventTime>{event_time(t)}</eventTime>\n'
                f"  {content}\n</notification>")
    name, body = _json_content(bundle, parse(content))
    return _json_doc(t, name, body)


def marker(name: str, as_json: bool, t: datetime | None = None) -> str:
    """replayComplete or notificationComplete (RFC 5277 §2.1.2)."""
    t = t or datetime.now(UTC)
    if as_json:
        return _json_doc(t, f"{NETMOD_MODULE}:{name}", {})
    return (f'<notification xmlns="{NOTIF}">\n  <eventTime>{event_time(t)}</eventTime>\n'
            f'  <{name} xmlns="{NETMOD_NOTIF}"/>\n</notification>')


def _json_doc(t: datetime, name: str, body: Any) -> str:
    doc = {"ietf-restconf:notification": {"eventTime": event_time(t), name: body}}
    return json.dumps(doc, indent=2, ensure_ascii=False)


def _modules_by_namespace(bundle: Bundle) -> dict[str, str]:
    return {info.namespace: name for name, info in bundle.schema.modules.items()}


def _json_content(bundle: Bundle, elem: Any) -> tuple[str, Any]:
    """(module:name, RFC 7951 value) of a notification content element."""
    ns, _, local = elem.tag[1:].partition("}") if elem.tag[:1] == "{" else ("", "", elem.tag)
    namespaces = _modules_by_namespace(bundle)
    module = namespaces.get(ns)
    if module is None:  # not a module of ours: keep the local name, its content as-is
        return local, anydata_json(elem, ns, namespaces, lambda _l, _n: None)
    try:
        node = bundle.node(f"/{module}:{local}")
        if node.cls is not None:
            return f"{module}:{local}", json.loads(encode_json(decode_xml(node.cls, elem)))
    except (KeyError, ValueError, InstanceError):
        pass  # no such notification in the schema (or it changed since it was logged)
    return f"{module}:{local}", anydata_json(elem, ns, namespaces, lambda _l, _n: None)


def permitted(ds: Datastores, user: str, matcher: Matcher | None) -> Matcher:
    """``matcher`` narrowed to the events NACM lets ``user`` receive (RFC 8341 §3.4.6):
    the others are dropped silently and counted as denied-notifications."""
    schema = ds.bundle.schema

    def ok(elem: Any) -> bool:
        acc = ds.nacm.access(ds.running, user, "restconf")
        if acc is not None and isinstance(elem.tag, str):
            ns, _, name = elem.tag[1:].partition("}")
            module = schema.namespaces.get(ns)
            node = next((n for n in schema.notifications if n.qname == (module, name)), None)
            if module is not None and not acc.may_receive(module, name, node):
                ds.nacm.refused("denied_notifications", user, "restconf", None, "notification",
                                f"{module}:{name}")
                return False
        return matcher is None or matcher(elem)

    return ok


def compile_filter(bundle: Bundle, expr: str) -> Matcher:
    """A predicate on notification content elements; ValueError for a bad expression."""
    ns = {name: info.namespace for name, info in bundle.schema.modules.items()}
    try:
        xp = etree.XPath(expr, namespaces=ns)
    except etree.XPathSyntaxError as e:
        raise ValueError(f"bad XPath filter {expr!r}: {e}") from None
    try:  # an unknown prefix or function only shows when evaluated
        xp(etree.ElementTree(etree.Element("probe")))
    except etree.XPathEvalError as e:
        raise ValueError(f"bad XPath filter {expr!r}: {e}") from None

    def matches(elem: Any) -> bool:
        try:
            return bool(xp(elem.getroottree()))
        except etree.XPathEvalError:
            return False

    return matches
