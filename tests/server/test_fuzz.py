"""Fuzzing the hostile-input surface (issue 8) with hypothesis: thousands of cases, fast.

In process, called directly: the RFC 6242 decoder (both framings, any bytes, any split;
oversize messages skipped with resynchronisation), the XML parser and a whole NETCONF
session (hello, rpc parsing, dispatch, replies) over an in-memory transport, the RESTCONF
resource path parser and its body parsers (data resources, ``ietf-restconf:data``, YANG
Patch, operation input) in JSON and XML. Each may only refuse with its standard error
type, must finish quickly, and must leave running as it was.

Then fewer cases through a real yangd over SSH and HTTPS: no 5xx, no operation-failed
from an internal error, an answer in time, and the server still serving afterwards.

Last, when atheris is installed, a coverage-guided libFuzzer run over the same parsers
(atheris_targets.py) in a subprocess.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

import models.generated as g
from datastore.datastores import Datastores
from datastore.store import Store
from models.codec.xml import XmlLimits
from models.edit import Op
from models.errors import YangdErrors
from server.config import Config, add_user
from server.netconf.framing import (
    EOM,
    Decoder,
    FramingError,
    MessageTooBig,
    encode_chunked,
    encode_eom,
)
from server.netconf.ops import registry
from server.netconf.server import Server, capabilities_for
from server.netconf.session import NetconfSession, _parse
from server.restconf.body import data_edits, resource_edits
from server.restconf.errors import RestconfError
from server.restconf.invoke import decode_input
from server.restconf.media import Media
from server.restconf.paths import parse_resource
from server.restconf.yang_patch_doc import parse_patch
from tests.server.conftest import Running
from tests.server.helpers import IF, NC
from tests.server.test_bad_input import HELLO_11, open_raw


def fuzz(examples: int) -> settings:
    """Settings of one fuzz target: no per-example deadline (the machine is shared; hangs
    are caught by timeouts), no example database in the work tree, failures reproducible
    from the printed blob."""
    return settings(max_examples=examples, deadline=None, database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])
IANA = "urn:ietf:params:xml:ns:yang:iana-if-type"
IP = "urn:ietf:params:xml:ns:yang:ietf-ip"
B = g.B


# ---- RFC 6242 framing -------------------------------------------------------------------------

def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for p in points:
        pieces.append(data[last:p])
        last = p
    pieces.append(data[last:])
    return pieces


@fuzz(1500)
@given(st.binary(max_size=400), st.lists(st.integers(0, 400), max_size=8), st.booleans(),
       st.integers(1, 64))
def test_decoder_any_bytes(data: bytes, cuts: list[int], chunked: bool, max_size: int) -> None:
    """Any byte stream, split anywhere: messages, None, or FramingError; never anything
    else, and never more buffered than one message's worth."""
    dec = Decoder(max_size=max_size, chunked=chunked)
    for piece in _split(data, cuts):
        dec.feed(piece)
        try:
            while (m := dec.next_message()) is not None:
                assert isinstance(m, bytes) and len(m) <= max_size
        except MessageTooBig:
            continue  # the decoder stays usable
        except FramingError:
            return
        assert dec.pending <= max_size + len(piece) + 16


def _chunked_frames(msg: bytes, sizes: list[int]) -> bytes:
    out, i, k = [], 0, 0
    while i < len(msg):
        n = sizes[k % len(sizes)]
        out.append(b"\n#%d\n" % min(n, len(msg) - i) + msg[i:i + n])
        i += n
        k += 1
    return b"".join(out) + b"\n##\n"


@fuzz(1000)
@given(st.lists(st.binary(min_size=1, max_size=120).filter(lambda b: EOM not in b and b[-5:] != b"]]>]]"[:len(b[-5:])]),
                min_size=1, max_size=8),
       st.lists(st.integers(1, 50), min_size=1, max_size=4),
       st.lists(st.integers(0, 2000), max_size=10), st.booleans(), st.integers(4, 60))
def test_oversize_messages_skipped_and_resynchronised(msgs: list[bytes], sizes: list[int],
                                                      cuts: list[int], chunked: bool,
                                                      max_size: int) -> None:
    """Whatever the mix of fitting and oversize messages and however the stream is cut,
    each oversize one is one MessageTooBig and every other comes out whole, in order."""
    stream = b"".join(_chunked_frames(m, sizes) if chunked else encode_eom(m) for m in msgs)
    want = [m if len(m) <= max_size else None for m in msgs]
    got: list[bytes | None] = []
    dec = Decoder(max_size=max_size, chunked=chunked)
    for piece in _split(stream, cuts):
        dec.feed(piece)
        while True:
            try:
                m = dec.next_message()
            except MessageTooBig as e:
                assert len(e.head) <= 4096
                got.append(None)
                continue
            if m is None:
                break
            got.append(m)
    assert got == want and dec.pending == 0


# ---- XML and the NETCONF rpc path, in process ---------------------------------------------------

_TAGS = [f"{{{NC}}}{t}" for t in ("rpc", "get", "get-config", "edit-config", "source", "target",
                                   "running", "candidate", "config", "filter", "lock", "unlock",
                                   "validate", "discard-changes", "delete-config", "copy-config",
                                   "kill-session", "session-id", "default-operation", "test-option",
                                   "error-option", "url", "with-defaults", "close-session", "get-schema")]
_TAGS += [f"{{{IF}}}{t}" for t in ("interfaces", "interface", "name", "type", "enabled", "description")]
_TAGS += [f"{{{IP}}}{t}" for t in ("ipv4", "address", "ip", "prefix-length", "mtu")]
_TAGS += ["{urn:x}junk", "plain", f"{{{NC}}}ok"]
_TEXTS = st.one_of(st.sampled_from(["", "eth0", "merge", "delete", "1", "-1", "4294967296",
                                    "ianaift:ethernetCsmacd", "x:y", "192.0.2.1", "24", "true",
                                    "subtree", "xpath", "/if:interfaces", "running", "candidate"]),
                   st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20))
_ATTRS = st.dictionaries(st.sampled_from([f"{{{NC}}}operation", "type", "select", "message-id",
                                          "xmlns:ianaift", "{urn:x}a"]),
                         st.sampled_from(["delete", "create", "remove", "merge", "replace", "bogus",
                                          "subtree", "xpath", "/", "1", IANA, "//*"]), max_size=2)


@st.composite
def _element(draw: Any, depth: int = 0) -> Any:
    tag = draw(st.sampled_from(_TAGS))
    e = etree.Element(tag)
    for k, v in draw(_ATTRS).items():
        if k.startswith("xmlns:"):
            continue
        e.set(k, v)
    if depth < 5 and draw(st.booleans()):
        for child in draw(st.lists(_element(depth + 1), max_size=3)):
            e.append(child)
    else:
        e.text = draw(_TEXTS)
    return e


@st.composite
def _rpc(draw: Any) -> bytes:
    """Mostly plausible rpcs (rpc > one operation > parameters), sometimes mangled."""
    rpc = etree.Element(f"{{{NC}}}rpc", nsmap={None: NC, "ianaift": IANA})
    if draw(st.booleans()):
        rpc.set("message-id", draw(st.sampled_from(["1", "abc", ""])))
    if draw(st.integers(0, 2)) == 0:  # an edit-config of candidate with fuzzed interfaces
        edit = etree.SubElement(rpc, f"{{{NC}}}edit-config")
        etree.SubElement(etree.SubElement(edit, f"{{{NC}}}target"), f"{{{NC}}}candidate")
        if draw(st.booleans()):
            etree.SubElement(edit, f"{{{NC}}}default-operation").text = draw(
                st.sampled_from(["merge", "replace", "none", "bogus"]))
        config = etree.SubElement(edit, f"{{{NC}}}config")
        ifs = _xml_of("ietf-interfaces:interfaces", IF, {"interface": draw(st.lists(_iface(), max_size=3))})
        for entry in ifs:
            if draw(st.booleans()):
                entry.set(f"{{{NC}}}operation", draw(st.sampled_from(
                    ["create", "delete", "remove", "replace", "merge", "bogus"])))
        config.append(ifs)
    for child in draw(st.lists(_element(1), min_size=0, max_size=2)):
        rpc.append(child)
    data: bytes = etree.tostring(rpc)
    how = draw(st.integers(0, 9))
    if how == 0:  # truncated
        data = data[:draw(st.integers(0, len(data)))]
    elif how == 1:  # a byte flipped
        i = draw(st.integers(0, len(data) - 1))
        data = data[:i] + bytes([draw(st.integers(0, 255))]) + data[i + 1:]
    elif how == 2:
        data = draw(st.binary(max_size=200))
    return data


@fuzz(1000)
@given(st.one_of(_rpc(), st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_xml_parser_refuses_only_with_rpc_errors(msg: bytes) -> None:
    try:
        root = _parse(msg, XmlLimits(8, 50))
    except YangdErrors as e:
        assert e.errors and e.errors[0].tag in ("malformed-message", "too-big")
        return
    assert isinstance(root.tag, str)


class _Pipe:
    """The in-memory Transport of an in-process NETCONF session: replies de-framed."""

    def __init__(self) -> None:
        self.dec = Decoder()
        self.replies: queue.Queue[bytes | None] = queue.Queue()

    def write(self, data: bytes) -> None:
        self.dec.feed(data)
        while (m := self.dec.next_message()) is not None:
            self.replies.put(m)

    def close(self) -> None:
        self.replies.put(None)

    def get(self, timeout: float = 10) -> bytes | None:
        return self.replies.get(timeout=timeout)


class _Harness:
    """A NETCONF Server without a listener, its sessions fed bytes in process."""

    def __init__(self, data: Path) -> None:
        self.ds = Datastores(B, Store.open(f"sqlite:///{data / 'yangd.db'}"))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        ops = registry(self.ds)
        cfg = Config(data_dir=data, max_message_size=64 * 1024, max_nesting_depth=16, max_elements=500)
        self.server = Server(cfg, self.ds, ops, capabilities_for(B, ops))
        self.session: tuple[NetconfSession, _Pipe] | None = None

    def _open(self) -> tuple[NetconfSession, _Pipe]:
        pipe = _Pipe()

        async def start() -> NetconfSession:
            s = NetconfSession(self.server, pipe, "fuzz")
            s.start()
            return s
        s = asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)
        assert pipe.get() is not None  # the server's hello
        self.loop.call_soon_threadsafe(s.data_received, encode_eom(HELLO_11))
        pipe.dec.use_chunked()
        return s, pipe

    def rpc(self, msg: bytes) -> bytes | None:
        if self.session is None or self.session[0].ended:
            self.session = self._open()
        s, pipe = self.session
        self.loop.call_soon_threadsafe(s.data_received, encode_chunked(msg))
        reply = pipe.get()  # one reply per message, in time (queue.Empty: a hang)
        if reply is None:
            self.session = None
        return reply

    def close(self) -> None:
        if self.session is not None:
            self.loop.call_soon_threadsafe(self.session[0].abort)
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()
        self.ds.close()


def _check_reply(reply: bytes) -> None:
    assert b"Traceback" not in reply
    root = etree.fromstring(reply)
    assert root.tag == f"{{{NC}}}rpc-reply", reply
    for e in root.iterfind(f"{{{NC}}}rpc-error"):
        msg = e.findtext(f"{{{NC}}}error-message") or ""
        assert "internal error" not in msg, reply


def test_netconf_session_in_process(tmp_path: Path) -> None:
    """Whole rpcs through a real session (parse, dispatch, operation, reply) in process."""
    h = _Harness(tmp_path)
    head = h.ds.head
    try:
        @fuzz(400)
        @given(_rpc())
        def one(msg: bytes) -> None:
            reply = h.rpc(msg)
            if reply is not None:
                _check_reply(reply)

        one()
        # running is never the target of these (no commit among them): unchanged
        assert h.ds.head == head
        assert h.rpc(f'<rpc message-id="z" xmlns="{NC}"><get/></rpc>'.encode()) is not None
    finally:
        h.close()


# ---- RESTCONF paths and bodies, in process ----------------------------------------------------

_SEGMENTS = st.sampled_from([
    "ietf-interfaces:interfaces", "interface", "interface=eth0", "interface=eth%2F0", "interface=",
    "interface=a,b", "ietf-ip:ipv4", "address=192.0.2.1", "address", "name", "type", "enabled",
    "ietf-interfaces:interfaces-state", "ietf-routing:routing", "control-plane-protocols",
    "ietf-system:system", "..", ".", "", "%", "%zz", "%00", "x:y:z", "ietf-yang-library:modules-state",
    "mtu", "ietf-interfaces:interface", "a=b=c", "%2F", "=",
])


@fuzz(1500)
@given(st.one_of(st.lists(_SEGMENTS, max_size=6).map(lambda s: "/" + "/".join(s)),
                 st.text(max_size=80), st.text(alphabet="/:=,%az09.'\"[]*", max_size=60)),
       st.booleans())
def test_resource_path_parser(raw: str, whole: bool) -> None:
    try:
        res = parse_resource(B, raw, allow_whole_list=whole)
    except RestconfError as e:
        assert e.errors and 400 <= e.status < 500
        return
    assert isinstance(res.path, tuple)


def _json_values(depth: int = 0) -> Any:
    leaf = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=False),
                     _TEXTS, st.sampled_from(["eth0", "iana-if-type:ethernetCsmacd", "192.0.2.1", "[null]"]))
    return st.recursive(leaf, lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["name", "type", "enabled", "interface", "ietf-ip:ipv4",
                                         "address", "ip", "prefix-length", "mtu", "ietf-interfaces:interfaces",
                                         "ietf-interfaces:interface", "ietf-restconf:data", "description",
                                         "x:y", "@", "@name", "patch-id", "edit", "edit-id", "operation",
                                         "target", "value", "point", "where",
                                         "ietf-yang-patch:yang-patch"]), inner, max_size=4)),
        max_leaves=12)


def _refused_properly(fn: Callable[[], Any]) -> None:
    try:
        fn()
    except (RestconfError, YangdErrors) as e:
        errs = e.errors
        assert errs and all(x.tag for x in errs)
        if isinstance(e, RestconfError):
            assert 400 <= e.status < 500


_IF_PATH = parse_resource(B, "/ietf-interfaces:interfaces").path
_IFACE_PATH = parse_resource(B, "/ietf-interfaces:interfaces/interface=eth0").path


_SCALARS = st.one_of(_TEXTS, st.integers(-5, 70000), st.booleans(), st.none(), st.just([None]))


@st.composite
def _iface(draw: Any) -> dict[str, Any]:
    """An ietf-interfaces entry, right or wrong in every member."""
    e: dict[str, Any] = {}
    if draw(st.integers(0, 4)):
        e["name"] = draw(st.one_of(st.sampled_from(["eth0", "eth1", "lo"]), _SCALARS))
    if draw(st.booleans()):
        e["type"] = draw(st.one_of(st.sampled_from(["iana-if-type:ethernetCsmacd",
                                                    "iana-if-type:softwareLoopback", "x:y", "ethernetCsmacd"]),
                                   _SCALARS))
    for key in draw(st.lists(st.sampled_from(["enabled", "description", "link-up-down-trap-enable",
                                              "junk", "ietf-ip:junk", "oper-status"]), max_size=2)):
        e[key] = draw(_SCALARS)
    if draw(st.booleans()):
        e["ietf-ip:ipv4"] = {"mtu": draw(_SCALARS), "address": [
            {"ip": draw(st.one_of(st.just("192.0.2.1"), _SCALARS)),
             "prefix-length": draw(st.one_of(st.just(24), _SCALARS))}]}
    return e


def _xml_of(name: str, ns: str, value: Any) -> Any:
    """RFC 7950 XML of an RFC 7951-ish JSON value (namespaces from module prefixes)."""
    mods = {"ietf-interfaces": IF, "ietf-ip": IP, "ietf-restconf": "urn:ietf:params:xml:ns:yang:ietf-restconf",
            "ietf-yang-patch": "urn:ietf:params:xml:ns:yang:ietf-yang-patch"}
    mod, _, local = name.rpartition(":")
    ns = mods.get(mod, "urn:x") if mod else ns
    e = etree.Element(f"{{{ns}}}{local}", nsmap={"ianaift": IANA})
    if isinstance(value, dict):
        for k, v in value.items():
            for item in v if isinstance(v, list) else [v]:
                e.append(_xml_of(k, ns, item))
    elif value is not None:
        e.text = str(value).lower() if isinstance(value, bool) else str(value).replace(
            "iana-if-type:", "ianaift:")
    return e


@st.composite
def _structured(draw: Any) -> Any:
    """A document of the right outline (data, resource, patch) with fuzzed content."""
    entries = draw(st.lists(_iface(), min_size=1, max_size=3))
    which = draw(st.integers(0, 2))
    if which == 0:
        return {"ietf-restconf:data": {"ietf-interfaces:interfaces": {"interface": entries}}}
    if which == 1:
        return {"ietf-interfaces:interface": entries if draw(st.booleans()) else entries[0]}
    edits = [{"edit-id": draw(st.sampled_from(["1", "2", "1"])),
              "operation": draw(st.sampled_from(["create", "merge", "replace", "delete", "remove",
                                                 "insert", "move", "bogus"])),
              "target": draw(st.sampled_from(["/interface=eth0", "/interface=eth1/description", "/",
                                              "/ietf-interfaces:interfaces", "/interface", "x", ""])),
              **({"value": {"ietf-interfaces:interface": [e]}} if draw(st.booleans()) else {}),
              **({"point": "/interface=eth1", "where": draw(st.sampled_from(["after", "first", "x"]))}
                 if draw(st.booleans()) else {})} for e in entries]
    return {"ietf-yang-patch:yang-patch": {"patch-id": "p", "edit": edits}}


def _encode(doc: Any, media: Media) -> bytes:
    if media is Media.JSON:
        return json.dumps(doc).encode()
    ((name, value),) = doc.items()
    if isinstance(value, list):
        value = value[0]
    return bytes(etree.tostring(_xml_of(name, "", value)))


def _bodies() -> Any:
    js = _json_values().map(lambda v: json.dumps(v).encode())
    xml = _element().map(etree.tostring)
    raw = st.one_of(st.binary(max_size=200), st.text(max_size=100).map(str.encode))
    media = st.sampled_from([Media.JSON, Media.XML])
    structured = st.tuples(_structured(), media).map(lambda t: (_encode(t[0], t[1]), t[1]))
    return st.one_of(structured, structured, st.tuples(st.one_of(js, xml, raw), media))


@fuzz(1000)
@given(_bodies(), st.integers(0, 4))
def test_body_parsers(body: tuple[bytes, Media], which: int) -> None:
    raw, media = body
    if which == 0:
        _refused_properly(lambda: data_edits(B, raw, media, Op.MERGE))
    elif which == 1:
        _refused_properly(lambda: resource_edits(B, raw, media, _IF_PATH, None, Op.CREATE))
    elif which == 2:
        _refused_properly(lambda: resource_edits(B, raw, media, _IFACE_PATH[:-1], _IFACE_PATH[-1].node,
                                                 Op.REPLACE))
    elif which == 3:
        _refused_properly(lambda: parse_patch(raw, media))
    else:
        op = next(r for r in B.schema.rpcs if r.qname == ("yangd-commits", "rollback"))
        ctype = "application/yang-data+json" if media is Media.JSON else "application/yang-data+xml"
        _refused_properly(lambda: decode_input(B, op, raw, ctype))


@fuzz(300)
@given(st.lists(_json_values(), min_size=1, max_size=3))
def test_yang_patch_json_documents(edits: list[Any]) -> None:
    doc = {"ietf-yang-patch:yang-patch": {"patch-id": "p", "edit": [
        {"edit-id": str(i), "operation": "merge", "target": "/interface=eth0",
         **({"value": v} if isinstance(v, dict) else {})} for i, v in enumerate(edits)]}}
    _refused_properly(lambda: parse_patch(json.dumps(doc).encode(), Media.JSON))


# ---- through real servers ---------------------------------------------------------------------

def test_fuzz_over_ssh(nc_server: Running) -> None:
    """Fuzzed rpcs and raw bytes on real SSH channels: replies in time, the server up."""
    head = nc_server.ds.head
    cases: list[bytes] = []

    @fuzz(60)
    @given(st.one_of(_rpc(), st.binary(max_size=100)))
    def collect(msg: bytes) -> None:
        cases.append(msg)
    collect()

    async def main() -> None:
        raw, conn = await open_raw(nc_server)
        for msg in cases:
            if raw.reader.at_eof():
                conn.close()
                raw, conn = await open_raw(nc_server)
            try:
                raw.send(msg)
            except BrokenPipeError:  # the server ended the session (its last reply said why)
                conn.close()         # between at_eof() and the send: a new one for this case
                raw, conn = await open_raw(nc_server)
                raw.send(msg)
            reply = await raw.recv(timeout=10)  # TimeoutError: a hang
            if reply is None:  # closed (close-session, say): a new session
                conn.close()
                raw, conn = await open_raw(nc_server)
                continue
            _check_reply(reply)
        conn.close()
        # broken chunk framing on a fresh session: an error reply, then closed
        raw, conn = await open_raw(nc_server)
        raw.send_raw(b"\n#zz\n" + bytes(range(256)))
        assert await raw.recv(timeout=10) is not None
        assert await raw.recv(timeout=10) is None
        conn.close()
    asyncio.run(asyncio.wait_for(main(), 60))
    assert nc_server.ds.head == head
    from tests.server.conftest import connect
    with connect(nc_server) as m:
        assert m.get_config("running").ok


@pytest.fixture
def https(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    from server.restconf import serve as rc_serve
    from tests.server.conftest import PASSWORD, USER

    data = tmp_path / "data"
    add_user(data, USER, PASSWORD)
    ds = Datastores(B, Store.open(f"sqlite:///{data / 'yangd.db'}"))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    cfg = Config(data_dir=data, restconf_listen="127.0.0.1:0", max_message_size=64 * 1024)
    srv = asyncio.run_coroutine_threadsafe(rc_serve(cfg, ds), loop).result(20)
    try:
        yield f"https://127.0.0.1:{srv.port}", ds
    finally:
        asyncio.run_coroutine_threadsafe(srv.close(), loop).result(20)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
        ds.close()


def test_fuzz_over_https(https: tuple[str, Any]) -> None:
    from tests.server.conftest import PASSWORD, USER

    url, ds = https
    head = ds.head
    cases: list[tuple[str, str, bytes, str]] = []

    @fuzz(120)
    @given(st.sampled_from(["GET", "PUT", "POST", "PATCH", "DELETE", "HEAD", "OPTIONS"]),
           st.one_of(st.lists(_SEGMENTS, max_size=4).map(lambda s: "/" + "/".join(s)),
                     st.text(alphabet="/:=,%az09.?&[]'", max_size=40)),
           _bodies(), st.sampled_from(["application/yang-data+json", "application/yang-data+xml",
                                       "application/yang-patch+json", "application/yang-patch+xml",
                                       "text/plain", ""]),
           st.sampled_from(["/restconf/data", "/restconf/ds/ietf-datastores:candidate",
                            "/restconf/operations/yangd-commits:rollback", "/restconf"]))
    def collect(method: str, path: str, body: tuple[bytes, Media], ctype: str, prefix: str) -> None:
        # writes go to candidate only: running must stay as it was
        if method in ("PUT", "POST", "PATCH", "DELETE") and prefix == "/restconf/data":
            prefix = "/restconf/ds/ietf-datastores:candidate"
        cases.append((method, prefix + (path if prefix != "/restconf/operations/yangd-commits:rollback"
                                        else ""), body[0], ctype))
    collect()

    statuses: set[int] = set()
    started = time.monotonic()
    with httpx.Client(base_url=url, verify=False, auth=(USER, PASSWORD), timeout=10) as c:
        for method, path, body, ctype in cases:
            headers = {"Content-Type": ctype} if ctype else {}
            try:
                r = c.request(method, path, content=body if method not in ("GET", "HEAD", "DELETE")
                              else None, headers=headers)
            except httpx.InvalidURL:
                continue
            assert r.status_code < 500, (method, path, body, r.status_code, r.text)
            assert "Traceback" not in r.text
            statuses.add(r.status_code)
        assert c.get("/restconf/data/ietf-interfaces:interfaces").status_code in (200, 204, 404)
    assert time.monotonic() - started < 60
    assert ds.head == head
    # the cases got past authentication and routing to the parsers and the datastore
    assert len(statuses) >= 4 and any(x < 300 for x in statuses), statuses


def test_atheris_coverage_guided(tmp_path: Path) -> None:
    """libFuzzer (atheris) over the decoder, XML, JSON and path parsers: tens of thousands of
    coverage-guided inputs; any unexpected exception fails with the input saved (crash-*)."""
    import atheris  # noqa: F401 - a test dependency (pyproject.toml): missing is a failure

    repo = Path(__file__).resolve().parents[2]
    r = subprocess.run(
        [sys.executable, "-m", "tests.server.atheris_targets", "all", "-runs=30000",
         "-max_total_time=20", "-rss_limit_mb=2048"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(repo)}, capture_output=True, timeout=180)
    out = r.stderr.decode(errors="replace")
    assert r.returncode == 0, out[-4000:]
    assert "Done " in out and " runs in " in out
