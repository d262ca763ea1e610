"""The notification bus of the NETCONF server (RFC 5277) and the events it generates (RFC 6470).

Producers call ``publish(content)`` from any thread: ``content`` is a generated notification
instance, an lxml element, or a callable making either (built later, off the producer's
thread: a commit listener runs under the datastore lock and must stay cheap). The eventTime
is taken at publish. One dispatcher thread takes the queue in order, writes each batch to
the event log (datastore/events.py) in one transaction, then offers every event to every
subscription. A subscription frames and writes ``<notification>`` messages on its session's
event loop, between rpc-replies (:interleave).

Replay without gap or duplicate: a subscription is registered under the same lock the
dispatcher holds while it logs and fans out a batch, after reading the replay window from
the log, so an event is either in the log when the window is read or offered live after.
A subscription's messages are held back until its ``<ok/>`` is on the wire (``activate``).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lxml import etree

from datastore.datastores import CommitEvent
from datastore.events import NETCONF_STREAM, EventLog
from datastore.path import Path
from datastore.store import StoreError
from models.bundle import Bundle, YangModel
from models.codec.xml import encode_xml, parse
from models.schema import Kind
from models.types import MODULE_NAMES
from models.xpath.names import format_literal

if TYPE_CHECKING:
    from server.netconf.session import NetconfSession

__all__ = ["NCN", "NETMOD_NOTIF", "NOTIF", "NotificationBus", "Subscription", "event_time"]

log = logging.getLogger("yangd.netconf")

NOTIF = "urn:ietf:params:xml:ns:netconf:notification:1.0"
NETMOD_NOTIF = "urn:ietf:params:xml:ns:netmod:notification"  # replayComplete & co
NCN = "urn:ietf:params:xml:ns:yang:ietf-netconf-notifications"
_EDIT_OPS = {"create": "create", "delete": "delete", "modify": "replace"}
Content = YangModel | Any  # a generated notification instance or an lxml element
Matcher = Callable[[Any], bool]
BATCH_WAIT = 0.02  # seconds the dispatcher lets events gather before it logs them


def event_time(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def message(t: datetime, content: str) -> bytes:
    """The ``<notification>`` message for one event (``content``: its serialised element)."""
    return (f'<?xml version="1.0" encoding="UTF-8"?><notification xmlns="{NOTIF}">'
            f"<eventTime>{event_time(t)}</eventTime>{content}</notification>").encode()


def _marker(name: str) -> str:
    return f'<{name} xmlns="{NETMOD_NOTIF}"/>'


def host_of(peer: str) -> str | None:
    """The address part of an ``addr:port`` peer string."""
    host = peer.rpartition(":")[0] if ":" in peer else peer
    return host.strip("[]") or None


@dataclass(eq=False)
class Subscription:
    """One session's subscription: what it wants and the messages held for it."""

    bus: NotificationBus
    session: NetconfSession
    stream: str = NETCONF_STREAM
    matcher: Matcher | None = None
    stop: datetime | None = None
    held: list[bytes] = field(default_factory=list)
    active: bool = False
    ended: bool = False
    complete: bool = False  # notificationComplete is queued: end once it is written

    def wants(self, t: datetime, elem: Callable[[], Any]) -> bool:
        if self.stop is not None and t > self.stop:
            return False
        e = elem()
        return self._permitted(e) and (self.matcher is None or self.matcher(e))

    def _permitted(self, elem: Any) -> bool:
        """NACM (RFC 8341 §3.4.6): events the user may not receive are dropped, counted."""
        tag = elem.tag if isinstance(elem.tag, str) else ""
        ns, _, name = tag[1:].partition("}")
        schema = self.bus.bundle.schema
        module = schema.namespaces.get(ns)
        if module is None:
            return True
        node = next((n for n in schema.notifications if n.qname == (module, name)), None)
        return self.session.ds.may_receive(node, module, name)

    def hold(self, t: datetime, content: str) -> None:
        """Queue a replayed event (before the subscription is active)."""
        if self.wants(t, lambda: parse(content)):
            self.held.append(message(t, content))

    def hold_marker(self, name: str) -> None:
        self.held.append(message(datetime.now(UTC), _marker(name)))
        if name == "notificationComplete":
            self.complete = True

    def offer(self, data: bytes) -> None:
        """Any thread: write ``data`` on the session's loop (held until active)."""
        try:
            self.session.loop.call_soon_threadsafe(self._send, data)
        except RuntimeError:  # the loop is closed: the server is gone
            self.ended = True

    def _send(self, data: bytes) -> None:
        if self.ended:
            return
        if not self.active:
            self.held.append(data)
        else:
            self.session.send_message(data)

    def activate(self) -> None:
        """On the session's loop, once the create-subscription reply was written."""
        self.active = True
        held, self.held = self.held, []
        for data in held:
            self.session.send_message(data)
        if self.complete:
            self.ended = True
            self.bus.unsubscribe(self)
        elif self.stop is not None:
            delay = max(0.0, (self.stop - datetime.now(UTC)).total_seconds())
            self.session.loop.call_later(delay, self.bus.finish_later, self)

    def finish(self) -> None:
        """On the session's loop: stopTime passed and every event before it was offered."""
        if not self.ended:
            self._send(message(datetime.now(UTC), _marker("notificationComplete")))
            self.ended = True


class NotificationBus:
    def __init__(self, bundle: Bundle, log_: EventLog) -> None:
        self.bundle = bundle
        self.log = log_
        self.subs: dict[int, Subscription] = {}  # session id → its subscription
        self.peers: dict[int, tuple[str, str | None]] = {}  # session id → (user, host)
        self.lock = threading.Lock()
        self.closed = False
        self._queue: queue.Queue[tuple[str, Any, Any]] = queue.Queue()
        self._thread = threading.Thread(target=self._dispatch, name="yangd-notify", daemon=True)
        self._thread.start()

    # ---- producers ------------------------------------------------------------------------
    def publish(self, content: Content | Callable[[], Content | None],
                at: datetime | None = None) -> None:
        """Queue an event (eventTime ``at``, default now); any thread, never blocks."""
        if not self.closed:
            self._queue.put(("event", at or datetime.now(UTC), content))

    def flush(self, timeout: float = 10) -> bool:
        """Wait until everything published so far is logged and offered."""
        done = threading.Event()
        self._queue.put(("flush", done, None))
        return done.wait(timeout)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._queue.put(("stop", None, None))
            self._thread.join(10)

    # ---- subscriptions --------------------------------------------------------------------
    def subscribe(self, sub: Subscription, start: datetime | None) -> None:
        """Register ``sub`` (replaying from ``start`` first); ``sub.activate`` must follow
        once the reply is written. Raises ValueError if the session has one already."""
        with self.lock:
            sid = sub.session.id
            if sid in self.subs:
                raise ValueError(f"session {sid} already has a subscription")
            if start is not None:
                for ev in self.log.replay(start, sub.stop, sub.stream):
                    sub.hold(ev.time, ev.content)
                sub.hold_marker("replayComplete")
                if sub.stop is not None and sub.stop <= datetime.now(UTC):
                    sub.hold_marker("notificationComplete")
            if not sub.session.ended:  # killed meanwhile: session_ended has run or will
                self.subs[sid] = sub

    def unsubscribe(self, sub: Subscription) -> None:
        # no lock: this runs on the event loop, which must not wait for a log write; a dict
        # pop is atomic and the dispatcher iterates over a copy
        if self.subs.get(sub.session.id) is sub:
            self.subs.pop(sub.session.id, None)

    def finish_later(self, sub: Subscription) -> None:
        """stopTime passed: end ``sub`` after every event published before now."""
        self._queue.put(("finish", sub, None))

    # ---- the dispatcher thread ------------------------------------------------------------
    def _dispatch(self) -> None:
        while True:
            batch = [self._queue.get()]
            if batch[0][0] == "event":
                time.sleep(BATCH_WAIT)  # gather a burst (one log write), not one fsync each
            while len(batch) < 1000:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._handle(batch)
            except Exception:  # the dispatcher must outlive any bad event
                log.exception("notification dispatch failed")
            for kind, arg, _ in batch:
                if kind == "flush":
                    arg.set()
                elif kind == "stop":
                    return

    def _handle(self, batch: list[tuple[str, Any, Any]]) -> None:
        events: list[tuple[datetime, Any, str]] = []
        for kind, t, content in batch:
            if kind != "event":
                continue
            try:
                elem = self._element(content() if callable(content) else content)
            except Exception:
                log.exception("could not build a notification")
                continue
            if elem is not None:
                events.append((t, elem, etree.tostring(elem, encoding="unicode")))
        with self.lock:
            try:
                self.log.append_many([(t, NETCONF_STREAM, text) for t, _, text in events])
            except StoreError:
                log.exception("could not record %d notification(s) in the event log", len(events))
            for t, elem, text in events:
                data = message(t, text)
                for sub in list(self.subs.values()):
                    if sub.stream == NETCONF_STREAM and sub.wants(t, _const(elem)):
                        sub.offer(data)
            for kind, sub, _ in batch:
                if kind == "finish" and self.subs.get(sub.session.id) is sub:
                    self.subs.pop(sub.session.id, None)
                    try:
                        sub.session.loop.call_soon_threadsafe(sub.finish)
                    except RuntimeError:
                        pass

    @staticmethod
    def _element(content: Content | None) -> Any:
        if content is None or not isinstance(content, YangModel):
            return content
        return encode_xml(content)

    # ---- RFC 6470 events ------------------------------------------------------------------
    def make(self, name: str, data: dict[str, Any]) -> YangModel | None:
        """An instance of notification ``name`` of ietf-netconf-notifications, or None when
        that module is not in the schema."""
        if "ietf-netconf-notifications" not in self.bundle.schema.modules:
            return None
        cls = self.bundle.node(f"/ietf-netconf-notifications:{name}").cls
        if cls is None:
            return None
        got: YangModel = cls.model_validate({k: v for k, v in data.items() if v is not None})
        return got

    def _who(self, session_id: int | None) -> dict[str, Any]:
        user, host = self.peers.get(session_id or 0, ("", None))
        return {"username": user or None, "session-id": session_id, "source-host": host}

    def session_started(self, s: NetconfSession) -> None:
        self.peers[s.id] = (s.user, host_of(s.peer))
        self.publish(lambda: self.make("netconf-session-start", self._who(s.id)))

    def session_ended(self, s: NetconfSession) -> None:
        sub = self.subs.pop(s.id, None)  # no lock, as in unsubscribe
        if sub is not None:
            sub.ended = True
        who = self._who(s.id) if s.id in self.peers else {
            "username": s.user, "session-id": s.id, "source-host": host_of(s.peer)}
        self.peers.pop(s.id, None)
        reason = termination_reason(s)
        who.update({"termination-reason": reason,
                    "killed-by": s.killed_by if reason == "killed" else None})
        self.publish(lambda: self.make("netconf-session-end", who))

    def confirmed_commit(self, event: str, session_id: int | None,
                         timeout: int | None = None) -> None:
        data = self._who(session_id) if event != "timeout" and session_id else {}
        data.update({"confirm-event": event, "timeout": timeout})
        self.publish(lambda: self.make("netconf-confirmed-commit", data))

    def on_commit(self, ev: CommitEvent) -> None:
        """Datastore listener (any transport, under the datastore lock): config-change, and
        confirmed-commit timeout/cancel for the datastore's own rollbacks."""
        comment = ev.comment or ""
        if ev.transport == "internal" and comment.startswith("rollback to commit"):
            if comment.endswith("not confirmed in time"):
                self.confirmed_commit("timeout", None)
            elif comment.endswith("ended before confirming"):
                who = comment.rpartition(": session ")[2].split(" ")[0]
                self.confirmed_commit("cancel", int(who) if who.isdigit() else None)
        if not ev.changes:
            return
        if ev.transport == "internal":
            by: dict[str, Any] = {"server": True}
        else:
            sid = ev.session_id if ev.transport == "netconf" and ev.session_id else 0
            by = {**self._who(sid), "username": ev.user, "session-id": sid}
            by = {k: v for k, v in by.items() if v is not None}
        edits = [{"target": qualified_path(self.bundle, c.path), "operation": _EDIT_OPS[c.op]}
                 for c in ev.changes if c.op in _EDIT_OPS and c.path]
        self.publish(lambda: self.make("netconf-config-change", {
            "changed-by": by, "datastore": "running", "edit": edits or None}))


def qualified_path(bundle: Bundle, path: Path) -> str:
    """An instance-identifier with every node name module-qualified, so that its XML form
    has a prefix on each step (RFC 7950 §9.13.2), e.g. ``/if:interfaces/if:interface[if:name
    ='eth0']`` (the abbreviated RFC 7951 form would lose them in XML)."""
    out: list[str] = []
    for step in path:
        n = step.node
        out.append(f"/{n.module}:{n.name}")
        if step.key is None:
            continue
        if n.kind is Kind.LIST:
            for kname, v in zip(n.keys, step.key, strict=False):
                knode = n.child(n.module, kname)
                assert knode is not None
                text = bundle.type_of(knode).to_text(v, MODULE_NAMES)
                out.append(f"[{n.module}:{kname}={format_literal(text)}]")
        else:
            text = bundle.type_of(n).to_text(step.key[0], MODULE_NAMES)
            out.append(f"[.={format_literal(text)}]")
    return "".join(out) or "/"


def _const(elem: Any) -> Callable[[], Any]:
    return lambda: elem


def termination_reason(s: NetconfSession) -> str:
    """RFC 6470 termination-reason of a session that has ended."""
    if s.killed_by is not None:
        return "killed"
    if s.end_reason is not None:
        return s.end_reason
    if not s._hello_done:
        return "bad-hello" if s._hello_seen else "dropped"
    return "closed" if s.closing else "dropped"
