"""create-subscription (RFC 5277 §2.1.1) and the commit operations' RFC 6470 events.

The subscription itself lives on the notification bus (server/netconf/notifications.py);
this module parses and checks the request. Filters apply to the notification content (the
element under ``<notification>`` after ``<eventTime>``): a subtree filter with the RFC 6241
§6 rules on XML (namespace-qualified names, an unqualified or base-namespace name matches
in any namespace, content match nodes compare trimmed text, selection and containment
nodes), or an XPath 1.0 expression (``type="xpath" select=...``) true for the content.

commit and cancel-commit are the base operations plus a netconf-confirmed-commit event
(start, extend, complete, cancel); timeouts and rollbacks at session end come from the
datastore's commit listener (notifications.py ``on_commit``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lxml import etree

from datastore.events import NETCONF_STREAM
from server.netconf.capabilities import INTERLEAVE, NOTIFICATION
from server.netconf.errors import NC, NetconfError
from server.netconf.ops.base import Context, Operation, check_children, child, text_of
from server.netconf.ops.commit import CancelCommit, Commit

if TYPE_CHECKING:
    from server.netconf.notifications import NotificationBus

__all__ = ["CreateSubscription", "NotifyingCancelCommit", "NotifyingCommit", "compile_filter",
           "install"]

NOTIF = "urn:ietf:params:xml:ns:netconf:notification:1.0"
Matcher = Callable[[Any], bool]


class CreateSubscription(Operation):
    NAME = "create-subscription"
    NS = NOTIF
    CAPABILITY = NOTIFICATION
    DEPENDS = (INTERLEAVE,)

    def __init__(self, bus: NotificationBus) -> None:
        self.bus = bus

    def run(self, ctx: Context, elem: Any) -> list[Any]:
        from server.netconf.notifications import Subscription

        check_children(elem, [(NOTIF, "stream"), (NOTIF, "filter"), (NC, "filter"),
                              (NOTIF, "startTime"), (NOTIF, "stopTime")])
        stream = text_of(elem, "stream", NOTIF) or NETCONF_STREAM
        if stream != NETCONF_STREAM:
            raise NetconfError("invalid-value", f"no event stream {stream!r}", "application",
                               bad_element="stream")
        flt = child(elem, "filter", NOTIF)
        if flt is None:
            flt = child(elem, "filter")
        start, stop = _time(elem, "startTime"), _time(elem, "stopTime")
        if stop is not None and start is None:
            raise NetconfError("missing-element", "stopTime needs a startTime", "protocol",
                               bad_element="startTime")
        if start is not None and start > datetime.now(UTC):
            raise NetconfError("bad-element", "startTime is in the future", "protocol",
                               bad_element="startTime")
        if start is not None and stop is not None and stop < start:
            raise NetconfError("bad-element", "stopTime is earlier than startTime", "protocol",
                               bad_element="stopTime")
        session: Any = ctx.control
        sub = Subscription(self.bus, session, stream, compile_filter(flt) if flt is not None else None,
                           stop)
        try:
            self.bus.subscribe(sub, start)
        except ValueError:
            raise NetconfError("in-use", "this session already has an active subscription",
                               "protocol") from None
        session.after_reply.append(sub.activate)
        return []


def _time(elem: Any, name: str) -> datetime | None:
    text = text_of(elem, name, NOTIF)
    if text is None:
        return None
    try:
        t = datetime.fromisoformat(text.replace("z", "Z"))
        if t.tzinfo is None or t.utcoffset() is None:
            raise ValueError("no time zone")
    except ValueError:
        raise NetconfError("bad-element", f"{name} {text!r} is not an RFC 3339 date-and-time",
                           "protocol", bad_element=name) from None
    return t.astimezone(UTC)


# ---- filters ------------------------------------------------------------------------------

def compile_filter(flt: Any) -> Matcher:
    """A predicate on notification content elements for a ``<filter>`` element."""
    ftype = flt.get("type") or flt.get(f"{{{NC}}}type") or "subtree"
    if ftype == "subtree":
        kids = _elements(flt)
        return lambda e: bool(kids) and _selects([e], kids)
    if ftype == "xpath":
        select = flt.get("select") or flt.get(f"{{{NC}}}select")
        if select is None:
            raise NetconfError("missing-attribute", "an xpath filter needs select",
                               bad_attribute="select", bad_element="filter")
        try:
            xp = etree.XPath(select, namespaces={k: v for k, v in flt.nsmap.items() if k})
        except etree.XPathSyntaxError as e:
            raise NetconfError("invalid-value", f"bad XPath {select!r}: {e}",
                               bad_element="filter") from None

        def matches(e: Any) -> bool:
            try:
                return bool(xp(e))
            except etree.XPathEvalError:
                return False

        return matches
    raise NetconfError("bad-attribute", f"unknown filter type {ftype!r}", bad_attribute="type",
                       bad_element="filter")


def _elements(e: Any) -> list[Any]:
    return [c for c in e if isinstance(c.tag, str)]


def _named(e: Any, f: Any) -> bool:
    ens, _, elocal = e.tag[1:].partition("}") if e.tag.startswith("{") else ("", "", e.tag)
    fns, _, flocal = f.tag[1:].partition("}") if f.tag.startswith("{") else ("", "", f.tag)
    return elocal == flocal and (fns in ("", NC, NOTIF) or fns == ens)


def _selects(elems: list[Any], fkids: list[Any]) -> bool:
    """Whether the sibling filter nodes ``fkids`` select anything among ``elems``."""
    content = [f for f in fkids if not _elements(f) and (f.text or "").strip()]
    for f in content:
        want = (f.text or "").strip()
        if not any(_named(e, f) and (e.text or "").strip() == want for e in elems):
            return False
    if content:
        return True  # the content match nodes themselves are selected (RFC 6241 §6.2.5)
    for f in fkids:
        sub = _elements(f)
        for e in elems:
            if _named(e, f) and not f.attrib and (not sub or _selects(_elements(e), sub)):
                return True
    return False


# ---- the commit operations with netconf-confirmed-commit events ---------------------------

class NotifyingCommit(Commit):
    def __init__(self, bus: NotificationBus) -> None:
        self.bus = bus

    def run(self, ctx: Context, elem: Any) -> list[Any]:
        before = ctx.session.ds.pending
        out = super().run(ctx, elem)
        if child(elem, "confirmed") is not None:
            timeout = int(text_of(elem, "confirm-timeout") or 600)
            self.bus.confirmed_commit("start" if before is None else "extend", ctx.session_id,
                                      timeout)
        elif before is not None and ctx.session.ds.pending is None:
            self.bus.confirmed_commit("complete", ctx.session_id)
        return out


class NotifyingCancelCommit(CancelCommit):
    def __init__(self, bus: NotificationBus) -> None:
        self.bus = bus

    def run(self, ctx: Context, elem: Any) -> list[Any]:
        out = super().run(ctx, elem)
        self.bus.confirmed_commit("cancel", ctx.session_id)
        return out


def install(ops: dict[tuple[str, str], Operation], bus: NotificationBus) -> None:
    """Add create-subscription, and the event-generating commit and cancel-commit."""
    if (NC, "commit") in ops:
        ops[(NC, "commit")] = NotifyingCommit(bus)
    if (NC, "cancel-commit") in ops:
        ops[(NC, "cancel-commit")] = NotifyingCancelCommit(bus)
    ops[(NOTIF, "create-subscription")] = CreateSubscription(bus)
