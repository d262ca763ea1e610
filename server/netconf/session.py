"""One NETCONF session (RFC 6241): hello exchange, framing choice, the rpc loop.

Transport-free: the SSH layer (ssh.py) hands bytes to ``data_received`` and gives a
``Transport`` to write to and close, so the protocol can be driven by anything that moves
bytes. Messages are taken off the wire as they complete and handled one at a time, in order;
each operation runs in a worker thread (datastore calls are synchronous and a commit may wait
on the database and on southbound drivers) so the event loop keeps serving every other
session meanwhile.

Whatever happens, the client gets an ``rpc-error`` built from the one error model, never a
Python traceback: unexpected exceptions are logged here and answered with operation-failed.
However the session ends (close-session, kill-session, disconnect, framing error, server
shutdown), its datastore session is closed: locks released, a non-persisted confirmed commit
rolled back.

Hostile-input limits (config.py): a message over max_message_size is answered too-big and
skipped, the session going on (framing.py resynchronises; only broken chunk framing or an
oversize hello closes it); a document nested deeper than max_nesting_depth or with more
than max_elements elements is too-big; no hello within hello_timeout, or no rpc within
idle_timeout (unless subscribed to notifications), closes the session (RFC 6470
termination-reason timeout). A client that sends without reading replies is held back
(flow control below), so its session's memory stays bounded.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from lxml import etree

from datastore.memory import release_memory
from models.codec.errors import InstanceError
from models.codec.xml import XmlLimits, parse
from models.errors import YangdError, YangdErrors
from server import audit
from server.metrics import metrics_for
from server.netconf.capabilities import BASE_1_0, BASE_1_1
from server.netconf.errors import NC, NetconfError, rpc_errors
from server.netconf.framing import Decoder, FramingError, MessageTooBig, encode_eom, frame
from server.netconf.monitoring import SessionStats
from server.netconf.ops.base import Context, Operation

if TYPE_CHECKING:
    from datastore.session import Session
    from server.netconf.server import Server

__all__ = ["NetconfSession", "Transport"]

log = logging.getLogger("yangd.netconf")


_BODY_MARK = "\u2063yangd-reply-body\u2063"  # never in generated XML (an invisible separator)
_BODY_MARK_BYTES = _BODY_MARK.encode()

# A message or reply this large leaves enough freed memory behind to hand back to the OS
# (datastore.memory.release_memory); pieces smaller than _SMALL are joined before writing,
# larger ones go to the transport as they are (no copy of a 2 MB reply).
_LARGE = 256 * 1024
_SMALL = 16 * 1024


class Transport(Protocol):
    """What a session writes to. A transport may also offer flow control, used when there:
    ``async drain()`` (until the peer has read enough), ``pause_reading()``, ``resume_reading()``."""

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...


# Flow control: a client that sends without reading replies must not grow the server's
# memory. Reading pauses while this many messages wait, and each operation waits until the
# client has read enough of the replies before it (the idle timeout bounds that wait).
_MAX_QUEUED = 8


class NetconfSession:
    def __init__(self, server: Server, transport: Transport, user: str, peer: str = "") -> None:
        self.server = server
        self.transport = transport
        self.user = user
        self.peer = peer
        self.ds: Session = server.datastores.open_session(user, "netconf")
        self.id = self.ds.id
        self.decoder = Decoder(server.config.max_message_size)
        self.base11 = False
        self.closing = False  # set by close-session: close after this reply
        self.ended = False
        # messages in order; a MessageTooBig stands for an oversize one (answered too-big)
        self.queue: asyncio.Queue[bytes | MessageTooBig | None] = asyncio.Queue()
        cfg = server.config
        self.limits = XmlLimits(cfg.max_nesting_depth, cfg.max_elements)
        self.loop = asyncio.get_running_loop()
        self.ctx = Context(self.ds, server.bundle, self, self.id)
        self.task: asyncio.Task[None] | None = None
        self.stats = SessionStats(server.stats, server.datastores.locks)  # RFC 6022 counters
        self.killed_by: int | None = None  # RFC 6470 session-end: kill-session by whom
        self.end_reason: str | None = None  # RFC 6470 termination-reason when not derived
        self.after_reply: list[Callable[[], None]] = []  # run once the current reply is sent
        self.metrics = metrics_for(server.datastores)

    # ---- transport side --------------------------------------------------------------------
    def start(self) -> None:
        self.server.sessions[self.id] = self
        self.metrics.session_opened("netconf")
        log.info("session %d: user %s from %s", self.id, self.user, self.peer or "?")
        hello = etree.Element(f"{{{NC}}}hello", nsmap={None: NC})
        caps = etree.SubElement(hello, f"{{{NC}}}capabilities")
        for c in self.server.capabilities:
            etree.SubElement(caps, f"{{{NC}}}capability").text = c
        etree.SubElement(hello, f"{{{NC}}}session-id").text = str(self.id)
        self._write(encode_eom(etree.tostring(hello, encoding="UTF-8", xml_declaration=True)))
        self.task = self.loop.create_task(self._run())

    def data_received(self, data: bytes) -> None:
        if self.ended:
            return
        self.decoder.feed(data)
        self._pump()

    def _pump(self) -> None:
        """Queue every complete message; after the first one (the hello) wait until it is
        handled, since it decides the framing of the bytes behind it."""
        try:
            while not (self._hello_seen and not self._hello_done):
                if self.queue.qsize() >= _MAX_QUEUED:  # the rest stays in the decoder
                    if not self._reading_paused:
                        self._reading_paused = True
                        _call(self.transport, "pause_reading")
                    return
                try:
                    msg = self.decoder.next_message()
                except MessageTooBig as e:
                    if not self._hello_done:
                        raise  # an oversize hello: nothing to go on with
                    # RFC 6241 App. A too-big; the decoder skips the rest of the message and
                    # resynchronises (framing.py), so the session stays up
                    log.warning("session %d: %s; skipped", self.id, e)
                    self.queue.put_nowait(e)
                    continue
                if msg is None:
                    return
                self._hello_seen = True
                self.queue.put_nowait(msg)
        except FramingError as e:
            log.warning("session %d: %s; closing", self.id, e)
            tag = "too-big" if "larger" in str(e) else "malformed-message"
            if tag == "malformed-message" and not self.base11:
                tag = "operation-failed"  # malformed-message is a base:1.1 error-tag
            self._send_reply(None, self._error_elems([YangdError(tag, str(e), type="rpc")]))
            self.ended = True
            self.queue.put_nowait(None)

    _hello_seen = False
    _hello_done = False
    _reading_paused = False
    _sent = 0  # bytes written for the message being handled

    def connection_lost(self) -> None:
        self.queue.put_nowait(None)

    # ---- protocol side ---------------------------------------------------------------------
    async def _run(self) -> None:
        try:
            try:
                first = await asyncio.wait_for(self.queue.get(), self.server.config.hello_timeout or None)
            except TimeoutError:
                log.warning("session %d: no hello in %g s; closing", self.id,
                            self.server.config.hello_timeout)
                self.end_reason = "timeout"
                return
            if isinstance(first, MessageTooBig):
                first = None
            if first is None or not self._hello(first):
                if first is not None:
                    self.stats.bad_hello()
                return
            self._hello_done = True
            if self.server.notifications is not None:
                self.server.notifications.session_started(self)
            self._pump()  # bytes behind the hello: read with the framing it chose
            while not self.closing:
                msg = await self._next()
                if msg is None:
                    break
                if isinstance(msg, MessageTooBig):
                    self._too_big(msg)
                    continue
                self._sent = 0
                size = len(msg)
                await self._handle(msg)
                msg = None  # a large request is not kept while the session waits for the next
                if size >= _LARGE or self._sent >= _LARGE:
                    release_memory()
        except Exception:  # a bug must end this session, never the server
            log.exception("session %d failed", self.id)
        finally:
            await self._end()

    async def _next(self) -> bytes | MessageTooBig | None:
        """The next message; None at the end, also after ``idle_timeout`` without one (a
        session with a notification subscription waits on: it is listening, not idle)."""
        idle = self.server.config.idle_timeout
        while True:
            if self._reading_paused and self.queue.qsize() <= 1:
                self._reading_paused = False
                self._pump()  # what the decoder holds already, then more from the transport
                if not self._reading_paused:
                    _call(self.transport, "resume_reading")
            try:
                msg = await asyncio.wait_for(self.queue.get(), idle if idle > 0 else None)
            except TimeoutError:
                bus = self.server.notifications
                if bus is not None and self.id in bus.subs:
                    continue
                log.warning("session %d: idle for %g s; closing", self.id, idle)
                self.end_reason = "timeout"  # RFC 6470 termination-reason
                self.closing = True  # an orderly end, not a dropped connection
                return None
            drain = getattr(self.transport, "drain", None)
            if msg is not None and drain is not None:
                try:
                    await asyncio.wait_for(drain(), idle if idle > 0 else None)
                except TimeoutError:
                    log.warning("session %d: client not reading replies for %g s; closing", self.id, idle)
                    self.end_reason = "timeout"
                    return None
            return msg

    def _too_big(self, e: MessageTooBig) -> None:
        """Answer an oversize message: too-big, echoing the rpc's attributes when its start
        tag was among the bytes kept (RFC 6241 §4.1: the message-id above all)."""
        self.stats.received(False)
        self._send_reply(_rpc_start(e.head, self.limits),
                         self._error_elems([YangdError("too-big", str(e), type="rpc")]))

    def _hello(self, msg: bytes) -> bool:
        try:
            root = _parse(msg, self.limits)
        except YangdErrors:
            log.warning("session %d: malformed hello; closing", self.id)
            return False
        if root.tag != f"{{{NC}}}hello":
            log.warning("session %d: expected hello, got %s; closing", self.id, root.tag)
            return False
        if root.find(f"{{{NC}}}session-id") is not None:  # RFC 6241 §8.1
            log.warning("session %d: client hello with a session-id; closing", self.id)
            return False
        caps = {(c.text or "").strip() for c in root.iterfind(f"{{{NC}}}capabilities/{{{NC}}}capability")}
        if BASE_1_1 in caps:
            self.base11 = True
            self.decoder.use_chunked()  # RFC 6242 §4.1
        elif BASE_1_0 not in caps:
            log.warning("session %d: no common base capability; closing", self.id)
            return False
        log.info("session %d: hello, base:%s", self.id, "1.1" if self.base11 else "1.0")
        return True

    async def _handle(self, msg: bytes) -> None:
        try:
            root = _parse(msg, self.limits)
        except YangdErrors as e:
            self.stats.received(False)
            errs = e.errors
            if not self.base11:  # malformed-message is a base:1.1 error-tag
                errs = [x if x.tag != "malformed-message" else
                        YangdError("operation-failed", x.message, type="rpc") for x in errs]
            self._send_reply(None, self._error_elems(errs))
            return
        try:
            op, elem = self._operation(root)
        except YangdErrors as e:
            self.stats.received(False)
            self._send_reply(root if root.tag == f"{{{NC}}}rpc" else None, self._error_elems(e.errors))
            return
        self.stats.received(True)
        started = time.perf_counter()
        try:
            self._check_exec(*_split(elem.tag))  # a well-formed rpc, refused: not in-bad-rpcs
            body = await asyncio.to_thread(op.run, self.ctx, elem)
        except YangdErrors as e:
            body = self._error_elems(e.errors)
        except Exception:
            log.exception("session %d: %s failed", self.id, op.NAME)
            body = self._error_elems([YangdError("operation-failed", "internal error; see the server log")])
        self.metrics.netconf_rpc(op.NAME, body, time.perf_counter() - started)
        if op.NAME in ("lock", "unlock"):
            audit.lock(op.NAME, self.user, "netconf", self.id, _lock_target(elem), not body)
        self._send_reply(root, body)
        while self.after_reply:
            self.after_reply.pop(0)()

    def _operation(self, root: Any) -> tuple[Operation, Any]:
        if not isinstance(root.tag, str) or root.tag != f"{{{NC}}}rpc":
            ns, local = _split(root.tag)
            if ns != NC:
                raise NetconfError("unknown-namespace", f"{local} in namespace {ns!r} is not a NETCONF message",
                                   "rpc", bad_element=local, bad_namespace=ns)
            raise NetconfError("unknown-element", f"<{local}> is not an rpc", "rpc", bad_element=local)
        if root.get("message-id") is None:
            raise NetconfError("missing-attribute", "message-id is required", "rpc",
                               bad_attribute="message-id", bad_element="rpc")
        kids = [c for c in root if isinstance(c.tag, str)]
        if len(kids) != 1:
            raise NetconfError("missing-element" if not kids else "bad-element",
                               "an rpc holds exactly one operation", "rpc", bad_element="rpc")
        elem = kids[0]
        ns, local = _split(elem.tag)
        op = self.server.operations.get((ns, local))
        if op is None:
            if ns == NC or ns in self.server.bundle.schema.namespaces:
                raise NetconfError("operation-not-supported", f"operation {local!r} is not supported",
                                   bad_element=local)
            raise NetconfError("unknown-namespace", f"unknown namespace {ns!r}", bad_element=local,
                               bad_namespace=ns)
        return op, elem

    def _check_exec(self, ns: str, local: str) -> None:
        """NACM exec of a protocol operation or rpc (RFC 8341 §3.4.4), before it runs."""
        schema = self.server.bundle.schema
        module = "ietf-netconf" if ns == NC else schema.namespaces.get(ns)
        if module is None:  # e.g. <action> (checked on its data node by Datastores.invoke)
            return
        node = next((n for n in schema.rpcs if n.qname == (module, local)), None)
        if not self.ds.may_exec(module, local, node):
            raise NetconfError("access-denied", f"{module}:{local} is not permitted", "protocol")

    def _error_elems(self, errors: list[YangdError]) -> list[Any]:
        return rpc_errors(self.server.bundle.schema, errors)

    def _send_reply(self, rpc: Any, body: list[Any]) -> None:
        nsmap = dict(rpc.nsmap) if rpc is not None else {None: NC}
        reply = etree.Element(f"{{{NC}}}rpc-reply", nsmap=nsmap)
        if rpc is not None:
            for k, v in rpc.attrib.items():
                reply.set(k, v)
        self.stats.replied(body)
        if not body:
            etree.SubElement(reply, f"{{{NC}}}ok")
            self.send_message(etree.tostring(reply, encoding="UTF-8", xml_declaration=True))
            return
        # Serialise the body elements on their own and splice them in: moving them under
        # <rpc-reply> would let lxml drop prefix declarations it thinks redundant, including
        # ones that identityref and instance-identifier *values* use (RFC 7950 §9.10.3).
        reply.text = _BODY_MARK
        head = etree.tostring(reply, encoding="UTF-8", xml_declaration=True)
        start, end = head.split(_BODY_MARK_BYTES, 1)
        inner = [e if isinstance(e, bytes) else etree.tostring(e, encoding="UTF-8", with_tail=False)
                 for e in body]
        self.send_parts([start, *inner, end])

    def send_message(self, data: bytes) -> None:
        """Write one message with the session's framing (rpc-replies, notifications)."""
        self.send_parts([data])

    def send_parts(self, parts: list[bytes]) -> None:
        """Write the message made of ``parts`` (in order) with the session's framing; small
        pieces are joined, so a short reply is still one write."""
        run: list[bytes] = []
        for piece in frame(parts, self.base11):
            if len(piece) < _SMALL:
                run.append(piece)
                continue
            if run:
                self._write(b"".join(run))
                run = []
            self._write(piece)
        if run:
            self._write(b"".join(run))

    def _write(self, data: bytes) -> None:
        self._sent += len(data)
        try:
            self.transport.write(data)
        except Exception:  # the peer went away: the session ends on connection_lost
            log.debug("session %d: write failed", self.id, exc_info=True)

    # ---- ending ---------------------------------------------------------------------------------
    def request_close(self) -> None:
        self.closing = True

    def kill(self, session_id: int) -> None:
        """kill-session from this session (runs in the operation's worker thread)."""
        other = self.server.sessions.get(session_id)
        if other is None:
            raise NetconfError("invalid-value", f"no session {session_id}", bad_element="session-id")
        log.info("session %d killed by session %d", session_id, self.id)
        other.killed_by = self.id
        other.ds.close()  # locks released and confirmed commit rolled back before the reply
        self.loop.call_soon_threadsafe(other.abort)

    def abort(self) -> None:
        """End the session now (kill-session, server shutdown)."""
        self.ended = True
        self.end_reason = self.end_reason or "other"
        self.queue.put_nowait(None)
        self.closing = True
        self.transport.close()

    async def _end(self) -> None:
        self.stats.ended(orderly=self.closing)  # close-session, kill-session, shutdown
        self.ended = True
        self.server.sessions.pop(self.id, None)
        try:
            await asyncio.to_thread(self.ds.close)
        except Exception:
            log.exception("session %d: closing the datastore session failed", self.id)
        try:
            self.transport.close()
        except Exception:
            log.debug("session %d: close failed", self.id, exc_info=True)
        if self.server.notifications is not None:
            self.server.notifications.session_ended(self)
        log.info("session %d ended", self.id)
        why = (f"killed by session {self.killed_by}" if self.killed_by is not None
               else self.end_reason or ("close-session" if self.closing else "dropped"))
        audit.logout(self.user, "netconf", self.id, self.peer, why)


def _lock_target(elem: Any) -> str:
    """The datastore a <lock>/<unlock> names: <target><running/></target> or an RFC 8526
    <datastore>ds:running</datastore>."""
    for child in elem:
        name = _split(child.tag)[1]
        if name == "target":
            kids = [k for k in child if isinstance(k.tag, str)]
            return _split(kids[0].tag)[1] if kids else "?"
        if name == "datastore":
            return (child.text or "").strip().rpartition(":")[2] or "?"
    return "?"


def _split(tag: Any) -> tuple[str, str]:
    if not isinstance(tag, str):
        return "", "?"
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _parse(msg: bytes, limits: XmlLimits | None = None) -> Any:
    """A message's root element, parsed hardened; malformed XML or a DOCTYPE → YangdErrors
    (malformed-message), a document over ``limits`` → too-big."""
    try:
        root = parse(msg, limits)
    except InstanceError as e:
        issue = e.issues[0]
        tag = "too-big" if issue.tag == "too-big" else "malformed-message"
        raise YangdErrors([YangdError(tag, issue.message, type="rpc")]) from None
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise YangdErrors([YangdError("malformed-message", "a document type declaration is not allowed",
                                      type="rpc")])
    return root


_START_TAG = re.compile(rb"<(?![?!/])[^<>]*>")


def _rpc_start(head: bytes, limits: XmlLimits) -> Any:
    """The ``<rpc>`` element of a message's first start tag (attributes and namespace
    declarations, no content), or None when ``head`` holds no such tag."""
    m = _START_TAG.search(head)
    if m is None:
        return None
    tag = m.group()
    if not tag.endswith(b"/>"):
        tag = tag[:-1] + b"/>"
    try:
        elem = parse(tag, limits)
    except InstanceError:
        return None
    return elem if elem.tag == f"{{{NC}}}rpc" else None


def _call(transport: Transport, method: str) -> None:
    """An optional flow-control method of the transport, if it has it."""
    fn = getattr(transport, method, None)
    if fn is not None:
        fn()
