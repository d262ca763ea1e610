"""Bad input over a raw SSH channel: standard rpc-errors or a closed session, never a
traceback; the server keeps serving other sessions and the datastores stay unchanged."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncssh
import pytest
from lxml import etree

from server.netconf.framing import Decoder, encode_chunked, encode_eom
from tests.server.conftest import PASSWORD, USER, Running, connect
from tests.server.helpers import NC, iface, names

HELLO_11 = (f'<hello xmlns="{NC}"><capabilities><capability>urn:ietf:params:netconf:base:1.1'
            "</capability></capabilities></hello>").encode()
HELLO_10 = HELLO_11.replace(b"base:1.1", b"base:1.0")


class Raw:
    def __init__(self, reader: Any, writer: Any, conn: Any, chunked: bool) -> None:
        self.reader, self.writer, self.conn = reader, writer, conn
        self.dec = Decoder()
        self.chunked = chunked

    async def recv(self, timeout: float = 5) -> bytes | None:
        """The next message, or None when the server closed the channel."""
        while (msg := self.dec.next_message()) is None:
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
            if not data:
                return None
            self.dec.feed(data)
        return msg

    def send_raw(self, data: bytes) -> None:
        self.writer.write(data)

    def send(self, msg: bytes) -> None:
        self.writer.write(encode_chunked(msg) if self.chunked else encode_eom(msg))

    async def rpc(self, msg: bytes) -> Any:
        self.send(msg)
        reply = await self.recv()
        assert reply is not None, "session closed"
        assert b"Traceback" not in reply
        return etree.fromstring(reply)


async def open_raw(run: Running, hello: bytes | None = HELLO_11) -> tuple[Raw, Any]:
    conn = await asyncssh.connect("127.0.0.1", run.port, username=USER, password=PASSWORD,
                                  known_hosts=None)
    writer, reader, _ = await conn.open_session(subsystem="netconf", encoding=None)
    raw = Raw(reader, writer, conn, False)
    server_hello = await raw.recv()
    assert server_hello is not None and b"<session-id>" in server_hello
    if hello is not None:
        raw.send(hello)
        if b"base:1.1" in hello:
            raw.dec.use_chunked()
            raw.chunked = True
    return raw, conn


def err(reply: Any) -> dict[str, Any]:
    e = reply.find(f"{{{NC}}}rpc-error")
    assert e is not None, etree.tostring(reply)
    info = e.find(f"{{{NC}}}error-info")
    return {
        "tag": e.findtext(f"{{{NC}}}error-tag"), "type": e.findtext(f"{{{NC}}}error-type"),
        "info": {etree.QName(c).localname: c.text for c in info} if info is not None else {},
        "message-id": reply.get("message-id"),
    }


def run_async(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 20))


def still_serving(run: Running, head: int) -> None:
    """Another session works, and nothing was committed after the first ``head`` + 1 commits
    (commit 1: the users of users.json, imported into ietf-system at start)."""
    with connect(run) as m:
        assert names(m.get_config("running")) == []
    assert run.ds.head == head + 1 and not run.ds.locks


def test_malformed_xml(nc_server: Running) -> None:
    async def go() -> None:
        raw, conn = await open_raw(nc_server)
        r = err(await raw.rpc(b'<rpc message-id="1" xmlns="' + NC.encode() + b'"><get>'))
        assert r["tag"] == "malformed-message" and r["type"] == "rpc" and r["message-id"] is None
        ok = await raw.rpc(f'<rpc message-id="2" xmlns="{NC}"><get-config><source><running/></source>'
                           "</get-config></rpc>".encode())  # the session goes on
        assert ok.get("message-id") == "2" and ok.find(f"{{{NC}}}data") is not None
        conn.close()
    run_async(go())
    still_serving(nc_server, 0)


def test_malformed_xml_base10_is_operation_failed(nc_server: Running) -> None:
    async def go() -> None:
        raw, conn = await open_raw(nc_server, HELLO_10)
        r = err(await raw.rpc(b"<rpc><unclosed"))
        assert r["tag"] == "operation-failed"  # malformed-message is new in base:1.1
        conn.close()
    run_async(go())


def test_doctype_refused(nc_server: Running) -> None:
    async def go() -> None:
        raw, conn = await open_raw(nc_server)
        bomb = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
                b'<rpc message-id="1" xmlns="' + NC.encode() + b'"><get/></rpc>')
        r = err(await raw.rpc(bomb))
        assert r["tag"] == "malformed-message"
        conn.close()
    run_async(go())


def test_missing_message_id(nc_server: Running) -> None:
    async def go() -> None:
        raw, conn = await open_raw(nc_server)
        r = err(await raw.rpc(f'<rpc xmlns="{NC}"><get/></rpc>'.encode()))
        assert r["tag"] == "missing-attribute" and r["type"] == "rpc"
        assert r["info"] == {"bad-attribute": "message-id", "bad-element": "rpc"}
        conn.close()
    run_async(go())


def test_rpc_attributes_echoed(nc_server: Running) -> None:
    async def go() -> None:
        raw, conn = await open_raw(nc_server)
        reply = await raw.rpc(f'<rpc xmlns="{NC}" xmlns:x="urn:x" message-id="7" x:user-attr="v">'
                              "<discard-changes/></rpc>".encode())
        assert reply.get("message-id") == "7" and reply.get("{urn:x}user-attr") == "v"
        assert reply.find(f"{{{NC}}}ok") is not None
        conn.close()
    run_async(go())


def test_unknown_operation_and_namespace(nc_server: Running) -> None:
    async def go() -> None:
        raw, conn = await open_raw(nc_server)
        r = err(await raw.rpc(f'<rpc message-id="1" xmlns="{NC}"><frobnicate/></rpc>'.encode()))
        assert r["tag"] == "operation-not-supported" and r["info"] == {"bad-element": "frobnicate"}
        assert r["message-id"] == "1"
        r = err(await raw.rpc(f'<rpc message-id="2" xmlns="{NC}"><get xmlns="urn:wrong"/></rpc>'.encode()))
        assert r["tag"] == "unknown-namespace"
        assert r["info"] == {"bad-element": "get", "bad-namespace": "urn:wrong"}
        r = err(await raw.rpc(b'<rpc message-id="3" xmlns="urn:wrong"><get/></rpc>'))
        assert r["tag"] == "unknown-namespace"
        r = err(await raw.rpc(f'<rpc message-id="4" xmlns="{NC}"><get-config><source><bogus/>'
                              "</source></get-config></rpc>".encode()))
        assert r["tag"] == "invalid-value"
        r = err(await raw.rpc(f'<rpc message-id="5" xmlns="{NC}"><get-config/></rpc>'.encode()))
        assert r["tag"] == "missing-element" and r["info"] == {"bad-element": "source"}
        conn.close()
    run_async(go())
    still_serving(nc_server, 0)


def test_oversize_message_is_skipped_and_session_goes_on(nc_server: Running) -> None:
    """too-big at once, the rest of the message skipped by its chunk sizes, then the next
    message is served (framing.py: chunked framing resynchronises; more in test_limits.py)."""
    async def go() -> None:
        raw, conn = await open_raw(nc_server)
        big = b"x" * (nc_server.server.config.max_message_size + 10)
        raw.send_raw(b"\n#%d\n" % len(big))
        raw.send_raw(big[:100000])
        reply = await raw.recv()
        assert reply is not None
        assert err(etree.fromstring(reply))["tag"] == "too-big"
        raw.send_raw(big[100000:] + b"\n##\n")
        ok = await raw.rpc(f'<rpc message-id="2" xmlns="{NC}"><get/></rpc>'.encode())
        assert ok.get("message-id") == "2" and ok.find(f"{{{NC}}}data") is not None
        conn.close()
    run_async(go())
    still_serving(nc_server, 0)


def test_malformed_chunk_header_closes_session(nc_server: Running) -> None:
    async def go() -> None:
        raw, conn = await open_raw(nc_server)
        raw.send_raw(b"\n#abc\n<rpc/>\n##\n")
        reply = await raw.recv()
        assert reply is not None and b"Traceback" not in reply
        assert await raw.recv() is None
        conn.close()
    run_async(go())
    still_serving(nc_server, 0)


def test_disconnect_mid_message_releases_locks(nc_server: Running) -> None:
    async def go() -> None:
        raw, conn = await open_raw(nc_server)
        await raw.rpc(f'<rpc message-id="1" xmlns="{NC}"><lock><target><candidate/></target></lock></rpc>'.encode())
        assert nc_server.ds.locks == {"candidate": int(nc_server.ds.locks["candidate"])}
        msg = (f'<rpc message-id="2" xmlns="{NC}"><edit-config><target><candidate/></target>'
               f"{iface('eth0')}</edit-config></rpc>").encode()
        raw.send_raw(encode_chunked(msg)[: len(msg) // 2])
        await asyncio.sleep(0.1)
        conn.close()
        await conn.wait_closed()
        for _ in range(50):
            if not nc_server.ds.locks:
                break
            await asyncio.sleep(0.05)
    run_async(go())
    still_serving(nc_server, 0)
    assert getattr(nc_server.ds.candidate.tree, "interfaces", None) is None


def test_disconnect_mid_commit(nc_server: Running) -> None:
    """The commit in flight completes or not as a whole; the server goes on."""
    async def go() -> None:
        raw, conn = await open_raw(nc_server)
        await raw.rpc(f'<rpc message-id="1" xmlns="{NC}"><edit-config><target><candidate/></target>'
                      f"{iface('eth0')}</edit-config></rpc>".encode())
        raw.send(f'<rpc message-id="2" xmlns="{NC}"><commit/></rpc>'.encode())
        conn.close()
    run_async(go())
    with connect(nc_server) as m:
        assert names(m.get_config("running")) in ([], ["eth0"])
        assert nc_server.ds.head in (1, 2)  # after the users commit


@pytest.mark.parametrize("hello", [
    b"<hello/>",  # wrong namespace
    f'<hello xmlns="{NC}"><capabilities><capability>urn:x</capability></capabilities></hello>'.encode(),
    f'<hello xmlns="{NC}"><capabilities><capability>urn:ietf:params:netconf:base:1.1</capability>'
    "</capabilities><session-id>4</session-id></hello>".encode(),
    b"<not-xml",
])
def test_bad_hello_closes_session(nc_server: Running, hello: bytes) -> None:
    async def go() -> None:
        raw, conn = await open_raw(nc_server, None)
        raw.send_raw(encode_eom(hello))
        assert await raw.recv() is None
        conn.close()
    run_async(go())
    still_serving(nc_server, 0)


def test_base10_session_uses_end_of_message_framing(nc_server: Running) -> None:
    async def go() -> None:
        raw, conn = await open_raw(nc_server, HELLO_10)
        # hello and first rpc in one write: the rpc is read with the framing the hello chose
        reply = await raw.rpc(f'<rpc message-id="1" xmlns="{NC}"><get/></rpc>'.encode())
        assert reply.get("message-id") == "1"
        conn.close()
    run_async(go())


def test_hello_and_rpc_in_one_write_with_chunked(nc_server: Running) -> None:
    async def go() -> None:
        raw, conn = await open_raw(nc_server, None)
        raw.send_raw(encode_eom(HELLO_11) + encode_chunked(
            f'<rpc message-id="1" xmlns="{NC}"><get/></rpc>'.encode(), 5))
        raw.dec.use_chunked()
        reply = await raw.recv()
        assert reply is not None and b'message-id="1"' in reply
        conn.close()
    run_async(go())


def test_no_shell_or_other_subsystem(nc_server: Running) -> None:
    async def go() -> None:
        conn = await asyncssh.connect("127.0.0.1", nc_server.port, username=USER,
                                      password=PASSWORD, known_hosts=None)
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.open_session(subsystem="sftp")
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.open_session()
        conn.close()
    run_async(go())


def test_wrong_password_refused(nc_server: Running) -> None:
    async def go() -> None:
        with pytest.raises(asyncssh.PermissionDenied):
            await asyncssh.connect("127.0.0.1", nc_server.port, username=USER, password="wrong",
                                   known_hosts=None)
    run_async(go())
