"""NETCONF limits over real SSH (issue 8, hostile input): message size, XML depth and
element count, sessions in all and per user, hello and idle timeouts, and XXE / billion
laughs / DTD payloads. Each limit gets its standard error, and the session (where the
framing allows it) and the server stay up with running unchanged."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest
from lxml import etree
from ncclient.operations.rpc import RPCError

from server.netconf.framing import encode_chunked, encode_eom
from tests.server.conftest import PASSWORD, USER, Running, connect, netconf_server
from tests.server.helpers import IF, NC, iface, names
from tests.server.test_bad_input import HELLO_10, HELLO_11, Raw, err, open_raw

BOB, BOB_PW = "bob", "bob-pw"
GET = f'<rpc message-id="{{}}" xmlns="{NC}"><get-config><source><running/></source></get-config></rpc>'


@contextlib.contextmanager
def server(tmp_path: Path, **overrides: Any) -> Iterator[Running]:
    """A real yangd NETCONF server (users admin and bob) with the given configuration overrides."""
    with netconf_server(tmp_path, {BOB: BOB_PW}, **{"max_message_size": 64 * 1024, **overrides}) as run:
        yield run


def go(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 30))


def serving(run: Running, head: int) -> None:
    """A fresh session works and running is as it was."""
    with connect(run) as m:
        assert names(m.get_config("running")) == []
    assert run.ds.head == head and not run.ds.locks


async def closed(raw: Raw, within: float) -> bool:
    """True when the server closes the channel within ``within`` seconds (no message first)."""
    try:
        return await raw.recv(timeout=within) is None
    except TimeoutError:
        return False


# ---- message size (RFC 6241 Appendix A too-big; RFC 6242 framing resynchronised) ----------------

@pytest.mark.parametrize("chunked", [True, False], ids=["base11-chunked", "base10-eom"])
def test_oversize_message_too_big_then_session_goes_on(tmp_path: Path, chunked: bool) -> None:
    with server(tmp_path) as run:
        head = run.ds.head
        limit = run.server.config.max_message_size

        async def main() -> None:
            raw, conn = await open_raw(run, None if chunked else HELLO_10)
            if chunked:
                raw.send_raw(encode_eom(HELLO_11))
                raw.dec.use_chunked()
                raw.chunked = True
            big = (f'<rpc message-id="41" xmlns="{NC}"><edit-config><target><candidate/></target>'
                   f"{iface('eth0', extra='<description>' + 'x' * (2 * limit) + '</description>')}"
                   "</edit-config></rpc>").encode()
            raw.send_raw(encode_chunked(big, 8192) if chunked else encode_eom(big))
            e = err(etree.fromstring(await raw.recv() or b""))
            assert e["tag"] == "too-big" and e["type"] == "rpc"
            assert e["message-id"] == "41"  # echoed from the skipped message's start tag
            ok = await raw.rpc(GET.format(42).encode())  # the very next message is read whole
            assert ok.get("message-id") == "42" and ok.find(f"{{{NC}}}data") is not None
            conn.close()

        go(main())
        serving(run, head)
        assert getattr(run.ds.candidate.tree, "interfaces", None) is None


def test_oversize_edit_with_ncclient(tmp_path: Path) -> None:
    """ncclient sees an RPCError too-big for its own message-id and the session goes on."""
    with server(tmp_path) as run, connect(run) as m:
        head = run.ds.head
        limit = run.server.config.max_message_size
        cfg = iface("eth0", extra=f"<description>{'d' * limit}</description>")
        with pytest.raises(RPCError) as ei:
            m.edit_config(target="candidate", config=cfg)
        assert ei.value.tag == "too-big"
        m.edit_config(target="candidate", config=iface("eth1"))  # same session, still fine
        assert names(m.get_config("candidate")) == ["eth1"]
        m.discard_changes()
        assert run.ds.head == head


def test_oversize_hello_closes(tmp_path: Path) -> None:
    """Before the hello nothing can be answered in a negotiated framing: closed."""
    with server(tmp_path) as run:
        async def main() -> None:
            raw, conn = await open_raw(run, None)
            raw.send_raw(b"<hello>" + b"x" * (run.server.config.max_message_size + 100))
            reply = await raw.recv()
            assert reply is not None and err(etree.fromstring(reply))["tag"] == "too-big"
            assert await closed(raw, 5)
            conn.close()
        go(main())
        serving(run, run.ds.head)


def test_broken_chunk_framing_closes(tmp_path: Path) -> None:
    """A bad chunk header cannot be resynchronised (RFC 6242 §4.2): error, then closed."""
    with server(tmp_path) as run:
        async def main() -> None:
            raw, conn = await open_raw(run)
            raw.send_raw(b"\n#5\n<rpc>\n#zz\n")
            reply = await raw.recv()
            assert reply is not None and err(etree.fromstring(reply))["tag"] == "malformed-message"
            assert await closed(raw, 5)
            conn.close()
        go(main())
        serving(run, run.ds.head)


# ---- XML depth and element count --------------------------------------------------------------

def test_xml_nesting_depth(tmp_path: Path) -> None:
    with server(tmp_path, max_nesting_depth=20) as run:
        async def main() -> None:
            raw, conn = await open_raw(run)
            deep = "<a>" * 30 + "</a>" * 30
            r = err(await raw.rpc(f'<rpc message-id="1" xmlns="{NC}"><get><filter>{deep}</filter></get></rpc>'
                                  .encode()))
            assert r["tag"] == "too-big" and r["type"] == "rpc"
            # beyond libxml2's own 256: the same answer, not a parser crash
            deeper = "<a>" * 300 + "</a>" * 300
            r = err(await raw.rpc(f'<rpc message-id="2" xmlns="{NC}"><get><filter>{deeper}</filter></get></rpc>'
                                  .encode()))
            assert r["tag"] == "too-big"
            ok = await raw.rpc(GET.format(3).encode())  # just under: fine
            assert ok.get("message-id") == "3"
            shallow = "<a>" * 10 + "</a>" * 10
            ok = await raw.rpc(f'<rpc message-id="4" xmlns="{NC}"><get><filter type="subtree">{shallow}'
                               "</filter></get></rpc>".encode())
            assert ok.find(f"{{{NC}}}data") is not None
            conn.close()
        go(main())
        serving(run, run.ds.head)


def test_xml_element_count(tmp_path: Path) -> None:
    with server(tmp_path, max_elements=500) as run:
        async def main() -> None:
            raw, conn = await open_raw(run)
            many = "".join(f"<interface><name>e{i}</name></interface>" for i in range(300))
            msg = (f'<rpc message-id="1" xmlns="{NC}"><edit-config><target><candidate/></target>'
                   f'<config><interfaces xmlns="{IF}">{many}</interfaces></config></edit-config></rpc>')
            r = err(await raw.rpc(msg.encode()))
            assert r["tag"] == "too-big" and r["message-id"] is None
            # '<' in comments and CDATA only loosen the quick bound; the real count decides
            noisy = (f'<rpc message-id="2" xmlns="{NC}"><get-config><source><running/></source>'
                     f"</get-config><!-- {'<' * 2000} --></rpc>")
            ok = await raw.rpc(noisy.encode())
            assert ok.get("message-id") == "2" and ok.find(f"{{{NC}}}data") is not None
            conn.close()
        go(main())
        assert getattr(run.ds.candidate.tree, "interfaces", None) is None
        serving(run, run.ds.head)


# ---- sessions ---------------------------------------------------------------------------------

async def _session(run: Running, user: str = USER, password: str = PASSWORD) -> tuple[Raw, Any]:
    conn = await asyncssh.connect("127.0.0.1", run.port, username=user, password=password,
                                  known_hosts=None)
    writer, reader, _ = await conn.open_session(subsystem="netconf", encoding=None)
    raw = Raw(reader, writer, conn, False)
    assert await raw.recv() is not None  # the server's hello
    raw.send(HELLO_10)
    return raw, conn


def test_max_sessions(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "yangd.netconf.ssh")
    with server(tmp_path, max_sessions=2) as run:
        async def main() -> None:
            a, ca = await _session(run)
            _b, cb = await _session(run, BOB, BOB_PW)
            conn = await asyncssh.connect("127.0.0.1", run.port, username=BOB, password=BOB_PW,
                                          known_hosts=None)
            with pytest.raises(asyncssh.ChannelOpenError) as ei:
                await conn.open_session(subsystem="netconf", encoding=None)
            assert ei.value.code == asyncssh.OPEN_RESOURCE_SHORTAGE
            assert "resource-denied" in ei.value.reason
            ok = etree.fromstring(await _rpc(a, GET.format(1)))  # the others are untouched
            assert ok.get("message-id") == "1"
            ca.close()
            await ca.wait_closed()
            for _ in range(100):  # the freed place is taken by the next one
                if len(run.server.sessions) < 2:
                    break
                await asyncio.sleep(0.02)
            await conn.open_session(subsystem="netconf", encoding=None)
            conn.close()
            cb.close()
        go(main())
        assert "resource-denied" in caplog.text


def test_max_sessions_per_user(tmp_path: Path) -> None:
    with server(tmp_path, max_sessions_per_user=1) as run:
        async def main() -> None:
            _a, ca = await _session(run)
            conn = await asyncssh.connect("127.0.0.1", run.port, username=USER, password=PASSWORD,
                                          known_hosts=None)
            with pytest.raises(asyncssh.ChannelOpenError) as ei:
                await conn.open_session(subsystem="netconf", encoding=None)
            assert ei.value.code == asyncssh.OPEN_RESOURCE_SHORTAGE and USER in ei.value.reason
            b, cb = await _session(run, BOB, BOB_PW)  # another user still gets in
            assert etree.fromstring(await _rpc(b, GET.format(1))).get("message-id") == "1"
            for c in (conn, ca, cb):
                c.close()
        go(main())


async def _rpc(raw: Raw, text: str) -> bytes:
    raw.send(text.encode())
    reply = await raw.recv()
    assert reply is not None
    return reply


def test_ncclient_refused_beyond_limit(tmp_path: Path) -> None:
    with server(tmp_path, max_sessions=1) as run, connect(run) as m:
        with pytest.raises(Exception, match=r"(?i)resource"):
            connect(run)
        assert names(m.get_config("running")) == []


def test_hello_timeout(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "yangd.netconf")
    with server(tmp_path, hello_timeout=0.5) as run:
        async def main() -> float:
            raw, conn = await open_raw(run, None)
            t = time.monotonic()
            assert await closed(raw, 5)
            conn.close()
            return time.monotonic() - t
        took = go(main())
        assert 0.3 < took < 3
        assert "no hello in 0.5 s" in caplog.text
        assert not run.server.sessions
        serving(run, run.ds.head)


def test_idle_timeout(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "yangd.netconf")
    with server(tmp_path, idle_timeout=0.6) as run:
        async def main() -> None:
            raw, conn = await open_raw(run)
            lock = f'<rpc message-id="1" xmlns="{NC}"><lock><target><candidate/></target></lock></rpc>'
            assert (await raw.rpc(lock.encode())).find(f"{{{NC}}}ok") is not None
            for _ in range(3):  # activity keeps it open
                await asyncio.sleep(0.3)
                assert (await raw.rpc(GET.format(2).encode())).get("message-id") == "2"
            t = time.monotonic()
            assert await closed(raw, 5)
            assert 0.4 < time.monotonic() - t < 3
            conn.close()
        go(main())
        assert "idle for 0.6 s; closing" in caplog.text
        for _ in range(50):
            if not run.ds.locks:
                break
            time.sleep(0.05)
        assert not run.ds.locks  # the idle session's lock went with it
        serving(run, run.ds.head)


def test_idle_timeout_spares_subscribers(tmp_path: Path) -> None:
    with server(tmp_path, idle_timeout=0.4) as run:
        async def main() -> None:
            raw, conn = await open_raw(run)
            sub = f'<rpc message-id="1" xmlns="{NC}"><create-subscription xmlns="urn:ietf:params:xml:ns:netconf:notification:1.0"/></rpc>'
            assert (await raw.rpc(sub.encode())).find(f"{{{NC}}}ok") is not None
            assert not await closed(raw, 1.2)  # listening for notifications is not idle
            conn.close()
        go(main())


# ---- XXE, billion laughs, DTDs ----------------------------------------------------------------

class Listener:
    """A TCP port that records whether anything connected (an XXE fetch would)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]

    def touched(self) -> bool:
        try:
            c, _ = self.sock.accept()
        except TimeoutError:
            return False
        c.close()
        return True

    def close(self) -> None:
        self.sock.close()


def hostile(secret: Path, port: int) -> dict[str, bytes]:
    """Payloads that, if expanded or fetched, would put the secret file's text or a 1 GB
    string into the candidate, or touch the listener."""
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    body = (f'<rpc message-id="9" xmlns="{NC}"><edit-config><target><candidate/></target>'
            f'<config><interfaces xmlns="{IF}"><interface><name>eth0</name>'
            '<type xmlns:ianaift="urn:ietf:params:xml:ns:yang:iana-if-type">ianaift:ethernetCsmacd</type>'
            "<description>&x;</description></interface></interfaces></config></edit-config></rpc>")
    return {
        "xxe-file": f'<?xml version="1.0"?><!DOCTYPE rpc [<!ENTITY x SYSTEM "file://{secret}">]>{body}'.encode(),
        "xxe-http": f'<?xml version="1.0"?><!DOCTYPE rpc [<!ENTITY x SYSTEM "http://127.0.0.1:{port}/x">]>{body}'.encode(),
        "external-dtd": f'<?xml version="1.0"?><!DOCTYPE rpc SYSTEM "http://127.0.0.1:{port}/x.dtd">{body.replace("&x;", "d")}'.encode(),
        "parameter-entity": (f'<?xml version="1.0"?><!DOCTYPE rpc [<!ENTITY % p SYSTEM "http://127.0.0.1:{port}/p">'
                             f'%p;<!ENTITY x "y">]>{body}').encode(),
        "billion-laughs": f'<?xml version="1.0"?><!DOCTYPE rpc [<!ENTITY l0 "lol">{lol}<!ENTITY x "&l9;">]>{body}'.encode(),
        "quadratic-blowup": (f'<?xml version="1.0"?><!DOCTYPE rpc [<!ENTITY x "{"a" * 50000}">]>'
                             + body.replace("&x;", "&x;" * 2000)).encode(),
        "internal-dtd-only": f'<?xml version="1.0"?><!DOCTYPE rpc [<!ELEMENT rpc ANY>]>{body.replace("&x;", "d")}'.encode(),
    }


def test_xxe_and_entity_bombs_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    listener = Listener()
    try:
        with server(tmp_path, max_message_size=1024 * 1024) as run:
            head = run.ds.head
            payloads = hostile(secret, listener.port)

            async def main() -> None:
                raw, conn = await open_raw(run)
                for name, payload in payloads.items():
                    t = time.monotonic()
                    reply = await raw.rpc(payload)
                    assert time.monotonic() - t < 3, name
                    text = etree.tostring(reply)
                    assert b"TOP-SECRET" not in text and b"lollollol" not in text, name
                    e = err(reply)
                    assert e["tag"] == "malformed-message" and e["type"] == "rpc", (name, e)
                    assert reply.find(f"{{{NC}}}ok") is None, name
                ok = await raw.rpc(GET.format(10).encode())  # the session goes on
                assert ok.get("message-id") == "10"
                conn.close()
            go(main())
            assert not listener.touched()  # nothing was fetched
            assert getattr(run.ds.candidate.tree, "interfaces", None) is None
            serving(run, head)
    finally:
        listener.close()


def test_xinclude_is_inert(tmp_path: Path) -> None:
    """XInclude is never processed: the include element is just unknown data."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    with server(tmp_path) as run:
        async def main() -> None:
            raw, conn = await open_raw(run)
            msg = (f'<rpc message-id="1" xmlns="{NC}"><get-config><source><running/></source>'
                   f'<filter type="subtree"><xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
                   f'href="file://{secret}" parse="text"/></filter></get-config></rpc>')
            reply = await raw.rpc(msg.encode())
            assert b"TOP-SECRET" not in etree.tostring(reply)
            conn.close()
        go(main())


# ---- flow control -----------------------------------------------------------------------------

def test_client_that_does_not_read_is_held_back(tmp_path: Path) -> None:
    """Hundreds of rpcs sent without reading a reply: the server stops reading and stops
    working once its buffers are full (memory bounded), and loses nothing once read."""
    with server(tmp_path) as run:
        n = 600

        async def main() -> None:
            raw, conn = await open_raw(run)
            size = len(etree.tostring(await raw.rpc(f'<rpc message-id="x" xmlns="{NC}"><get/></rpc>'.encode())))
            assert n * size > 8 * 1024 * 1024  # far more than the SSH window and buffers
            msgs = b"".join(encode_chunked(f'<rpc message-id="{i}" xmlns="{NC}"><get/></rpc>'.encode())
                            for i in range(n))
            raw.writer.write(msgs)  # not awaited: the client's own buffer takes what is refused
            await asyncio.sleep(1.5)
            (session,) = run.server.sessions.values()
            assert session.queue.qsize() <= 8  # reading paused
            chan = session.transport.chan  # type: ignore[attr-defined]
            assert chan.get_write_buffer_size() < 2 * 1024 * 1024  # writing held back
            got = []
            for _ in range(n):
                reply = await raw.recv(timeout=20)
                assert reply is not None
                got.append(etree.fromstring(reply).get("message-id"))
            assert got == [str(i) for i in range(n)]
            conn.close()
        go(main())


@pytest.mark.parametrize(("key", "value"), [("max_sessions", 0), ("max_nesting_depth", -1),
                                            ("max_message_size", 0), ("idle_timeout", -5.0)])
def test_nonsense_limits_refused_in_config(tmp_path: Path, key: str, value: Any) -> None:
    from server.config import ConfigError, load_config

    f = tmp_path / "yangd.toml"
    f.write_text(f"{key} = {value}\n")
    with pytest.raises(ConfigError, match=key):
        load_config(f)
    f.write_text("max_sessions = 3\nidle_timeout = 0\nmax_elements = 10\n")  # 0: no idle timeout
    cfg = load_config(f)
    assert (cfg.max_sessions, cfg.idle_timeout, cfg.max_elements) == (3, 0, 10)
