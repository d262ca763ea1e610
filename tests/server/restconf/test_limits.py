"""RESTCONF limits and TLS over real HTTPS (issue 8): body size (413), JSON and XML depth and
size (413), URI and header length (414, 431), concurrent connections (503), keep-alive
timeout, TLS 1.2+ with modern ciphers only, and XXE / billion laughs / DTD bodies refused
(400 malformed-message), each leaving the server serving and running unchanged."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from datastore.datastores import Datastores
from datastore.store import Store
from server.config import Config, add_user
from server.restconf import serve
from tests.server.restconf.conftest import PASSWORD, USER, Running
from tests.server.restconf.helpers import JB, JB_NS, JSON, RC_NS, XML, errors, jukebox, send, tag

YP_XML = "application/yang-patch+xml"
# without httptools uvicorn runs h11, whose 503 is plain text
HTTPTOOLS = importlib.util.find_spec("httptools") is not None
YP_NS = "urn:ietf:params:xml:ns:yang:ietf-yang-patch"
YC_NS = "urn:yangd:params:xml:ns:yang:yangd-commits"
LIB = f"{JB}/library"


@contextlib.contextmanager
def server(tmp_path: Path, pkg: ModuleType, **overrides: Any) -> Iterator[Running]:
    data = tmp_path / "data"
    add_user(data, USER, PASSWORD)
    ds = Datastores(pkg.B, Store.open(f"sqlite:///{data / 'yangd.db'}"))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        cfg = Config(data_dir=data, restconf_listen="127.0.0.1:0",
                     **{"max_message_size": 256 * 1024, **overrides})
        srv = asyncio.run_coroutine_threadsafe(serve(cfg, ds), loop).result(20)
        run = Running(srv, ds, loop, data)
        try:
            yield run
        finally:
            asyncio.run_coroutine_threadsafe(srv.close(), loop).result(20)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
        ds.close()


@pytest.fixture
def small(tmp_path: Path, pkg: ModuleType) -> Iterator[Running]:
    """Small document and request limits, to reach them with small requests."""
    with server(tmp_path, pkg, max_nesting_depth=12, max_elements=400,
                restconf_max_uri_length=1024, restconf_max_header_size=4096) as run:
        yield run


def unchanged(run: Running, head: int) -> None:
    """Still serving, and nothing was committed."""
    with run.client() as c:
        assert c.get("/restconf/data/ietf-restconf-monitoring:restconf-state").status_code == 200
    assert run.ds.head == head


# ---- body size --------------------------------------------------------------------------------

def test_body_too_big_413(small: Running) -> None:
    head = small.ds.head
    limit = small.server.config.max_message_size
    big = {"example-jukebox:jukebox": {"library": {"artist": [{"name": "x" * limit}]}}}
    with small.client() as c:
        r = send(c, "PUT", JB, big)
        assert r.status_code == 413 and tag(r) == "too-big"
        # no Content-Length (chunked upload): refused while streaming, all the same

        def stream() -> Iterator[bytes]:
            yield b'{"example-jukebox:jukebox": {"library": {"artist": [{"name": "'
            for _ in range(limit // 65536 + 2):
                yield b"y" * 65536
            yield b'"}]}}}'
        r = c.request("PUT", JB, content=stream(), headers={"Content-Type": JSON})
        assert r.status_code == 413 and tag(r) == "too-big"
        r = send(c, "PUT", JB, big, Accept=XML)  # the errors body in the negotiated encoding
        assert r.status_code == 413 and r.headers["content-type"].startswith(XML)
        assert b"<error-tag>too-big</error-tag>" in r.content and RC_NS.encode() in r.content
    unchanged(small, head)


# ---- JSON and XML depth and size --------------------------------------------------------------

def _nested(depth: int) -> dict[str, Any]:
    """A jukebox body whose artist carries ``depth`` levels of unknown nested objects."""
    inner: Any = 1
    for _ in range(depth):
        inner = {"x": inner}
    return {"example-jukebox:jukebox": {"library": {"artist": [{"name": "a", "junk": inner}]}}}


def test_json_depth_and_size(small: Running) -> None:
    head = small.ds.head
    with small.client() as c:
        r = send(c, "PUT", JB, _nested(20))
        assert r.status_code == 413 and tag(r) == "too-big"
        assert "deeper than 12" in errors(r)[0]["error-message"]
        far = '{"example-jukebox:jukebox": ' + '{"x": ' * 5000 + "1" + "}" * 5001
        r = send(c, "PUT", JB, far)  # far beyond Python's recursion limit
        assert r.status_code == 413 and tag(r) == "too-big"
        many = {"example-jukebox:jukebox": {"library": {"artist": [
            {"name": f"a{i}"} for i in range(500)]}}}
        r = send(c, "PUT", JB, many)
        assert r.status_code == 413 and "more than 400 values" in errors(r)[0]["error-message"]
        # brackets and commas inside strings are text, not structure
        ok = {"example-jukebox:jukebox": {"library": {"artist": [
            {"name": "[[[[{{{{[[[[{{{{[[[[" + "," * 600 + "\\\"[[[["}]}}}
        r = send(c, "PUT", JB, ok)
        assert r.status_code == 201, r.text
        r = send(c, "PUT", JB, _nested(3))  # under the depth limit: judged on content
        assert r.status_code == 400 and tag(r) == "unknown-element"
        assert small.ds.head == head + 1
    unchanged(small, head + 1)


def test_xml_depth_and_size(small: Running) -> None:
    head = small.ds.head
    with small.client() as c:
        deep = "<junk>" * 30 + "</junk>" * 30
        body = f'<jukebox xmlns="{JB_NS}"><library><artist><name>a</name>{deep}</artist></library></jukebox>'
        r = send(c, "PUT", JB, body, XML)
        assert r.status_code == 413 and tag(r) == "too-big"
        many = "".join(f"<artist><name>a{i}</name></artist>" for i in range(300))
        r = send(c, "PUT", JB, f'<jukebox xmlns="{JB_NS}"><library>{many}</library></jukebox>', XML)
        assert r.status_code == 413 and "more than 400 elements" in errors(r)[0]["error-message"]
        patch = (f'<yang-patch xmlns="{YP_NS}"><patch-id>p</patch-id><edit><edit-id>1</edit-id>'
                 f'<operation>merge</operation><target>/library</target><value>{deep}</value></edit></yang-patch>')
        r = send(c, "PATCH", JB, patch, YP_XML)
        assert r.status_code == 413 and tag(r) == "too-big"
        r = send(c, "POST", "/restconf/operations/yangd-commits:rollback",
                 f'<input xmlns="{YC_NS}">{deep}</input>', XML)
        assert r.status_code == 413 and tag(r) == "too-big"
    unchanged(small, head)


# ---- request head -----------------------------------------------------------------------------

def test_uri_and_header_limits(small: Running) -> None:
    head = small.ds.head
    with small.client() as c:
        r = c.get(f"{LIB}/artist={'a' * 2000}")
        assert r.status_code == 414 and tag(r) == "too-big"
        r = c.get(LIB, params={"depth": "1", "x": "y" * 2000})  # the query counts too
        assert r.status_code == 414
        r = c.get(LIB, headers={"X-Filler": "z" * 5000})
        assert r.status_code == 431 and tag(r) == "too-big"
        r = c.get(LIB, headers={"X-Filler": "z" * 5000, "Accept": XML})
        assert r.status_code == 431 and r.headers["content-type"].startswith(XML)
        # far beyond: h11's buffer limit answers before any application code runs
        r = c.get(LIB, headers={"X-Filler": "z" * 100_000})
        assert r.status_code in (400, 431)
    unchanged(small, head)


# ---- connections ------------------------------------------------------------------------------

def _tls_socket(run: Running, version: ssl.TLSVersion | None = None, ciphers: str | None = None) -> ssl.SSLSocket:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if version is not None:
        ctx.minimum_version = ctx.maximum_version = version
        if version < ssl.TLSVersion.TLSv1_2:
            ctx.set_ciphers("ALL:@SECLEVEL=0")  # let the client at least try old versions
    if ciphers is not None:
        ctx.set_ciphers(ciphers)
    raw = socket.create_connection(("127.0.0.1", run.server.port), timeout=5)
    try:
        return ctx.wrap_socket(raw)
    except BaseException:
        raw.close()
        raise


def _request(s: ssl.SSLSocket, path: str = "/restconf/data/ietf-restconf-monitoring:restconf-state") -> bytes:
    return _request_body(s, path)[0]


def _request_body(s: ssl.SSLSocket, path: str = "/restconf/data/ietf-restconf-monitoring:restconf-state",
                  ) -> tuple[bytes, bytes]:
    """A GET on a raw TLS socket (kept alive): the response head and body."""
    import base64

    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next((int(ln.split(b":")[1]) for ln in head.split(b"\r\n")
                   if ln.lower().startswith(b"content-length:")), 0)
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head, rest


def test_concurrent_connections(tmp_path: Path, pkg: ModuleType) -> None:
    with server(tmp_path, pkg, restconf_max_connections=3) as run:
        socks = [_tls_socket(run) for _ in range(3)]
        try:
            for s in socks:  # three kept-alive connections are served
                assert _request(s).startswith(b"HTTP/1.1 200")
            extra = _tls_socket(run)
            try:
                head, body = _request_body(extra)
                assert head.startswith(b"HTTP/1.1 503")  # the fourth is not
                if HTTPTOOLS:  # our protocol: the standard errors body
                    assert json.loads(body)["ietf-restconf:errors"]["error"][0]["error-tag"] == "resource-denied"
            finally:
                extra.close()
            time.sleep(0.3)  # the server notices the refused one is gone
            assert _request(socks[0]).startswith(b"HTTP/1.1 200")
        finally:
            for s in socks:
                s.close()
        time.sleep(0.3)
        with run.client() as c:  # places freed: served again
            assert c.get(LIB).status_code in (200, 404)


def test_keepalive_timeout(tmp_path: Path, pkg: ModuleType) -> None:
    with server(tmp_path, pkg, restconf_keepalive_timeout=1) as run:
        s = _tls_socket(run)
        try:
            assert _request(s).startswith(b"HTTP/1.1 200")
            t = time.monotonic()
            s.settimeout(5)
            try:
                closed = s.recv(1) == b""
            except (ConnectionResetError, ssl.SSLError):
                closed = True
            assert closed and 0.5 < time.monotonic() - t < 4
        finally:
            s.close()


# ---- TLS --------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
def test_tls_versions_and_ciphers(rc_server: Running) -> None:
    for old in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
        with pytest.raises((ssl.SSLError, ConnectionResetError)):
            _tls_socket(rc_server, old).close()
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        s = _tls_socket(rc_server, version)
        try:
            assert s.version() == {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version]
            cipher = s.cipher()
            assert cipher is not None
            name = cipher[0]
            if version == ssl.TLSVersion.TLSv1_2:
                assert name.startswith("ECDHE-") and ("GCM" in name or "CHACHA20" in name), name
            assert _request(s).startswith(b"HTTP/1.1 200")
        finally:
            s.close()
    # TLS 1.2 without forward secrecy, or with CBC: no common cipher
    for weak in ("AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384"):
        with pytest.raises(ssl.SSLError):
            _tls_socket(rc_server, ssl.TLSVersion.TLSv1_2, weak).close()
    with rc_server.client() as c:  # still serving
        assert c.get("/restconf/data/ietf-restconf-monitoring:restconf-state").status_code == 200


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


def _prologs(secret: Path, port: int) -> dict[str, tuple[str, str]]:
    """name → (DOCTYPE prolog, the entity text to put where a value goes)."""
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    return {
        "xxe-file": (f'<!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>', "&x;"),
        "xxe-http": (f'<!DOCTYPE r [<!ENTITY x SYSTEM "http://127.0.0.1:{port}/x">]>', "&x;"),
        "external-dtd": (f'<!DOCTYPE r SYSTEM "http://127.0.0.1:{port}/r.dtd">', "v"),
        "parameter-entity": (f'<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:{port}/p">%p;]>', "v"),
        "billion-laughs": (f'<!DOCTYPE r [<!ENTITY l0 "lol">{lol}]>', "&l9;"),
        "quadratic-blowup": (f'<!DOCTYPE r [<!ENTITY x "{"a" * 30000}">]>', "&x;" * 1000),
        "internal-dtd": ('<!DOCTYPE r [<!ELEMENT r ANY>]>', "v"),
    }


def test_xxe_and_entity_bombs_refused(tmp_path: Path, pkg: ModuleType) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    listener = Listener()
    try:
        with server(tmp_path, pkg, max_message_size=1024 * 1024) as run, run.client() as c:
            jukebox(c)
            head = run.ds.head
            for name, (prolog, value) in _prologs(secret, listener.port).items():
                decl = '<?xml version="1.0"?>'
                bodies = [
                    ("PUT", f"{LIB}/artist=Foo%20Fighters", XML,
                     f'{decl}{prolog}<artist xmlns="{JB_NS}"><name>Foo Fighters</name>'
                     f"<album><name>{value}</name></album></artist>"),
                    ("PUT", JB, XML, f'{decl}{prolog}<jukebox xmlns="{JB_NS}"><library><artist>'
                                     f"<name>{value}</name></artist></library></jukebox>"),
                    ("PATCH", JB, YP_XML,
                     f'{decl}{prolog}<yang-patch xmlns="{YP_NS}"><patch-id>p</patch-id><edit><edit-id>1</edit-id>'
                     "<operation>merge</operation><target>/library/artist=Z</target><value>"
                     f'<artist xmlns="{JB_NS}"><name>Z</name><album><name>{value}</name></album></artist>'
                     "</value></edit></yang-patch>"),
                    ("POST", "/restconf/operations/yangd-commits:rollback", XML,
                     f'{decl}{prolog}<input xmlns="{YC_NS}"><id>{value}</id></input>'),
                ]
                for method, url, ctype, body in bodies:
                    t = time.monotonic()
                    r = send(c, method, url, body, ctype)
                    assert time.monotonic() - t < 5, (name, url)
                    assert r.status_code == 400, (name, url, r.status_code, r.text)
                    assert tag(r) == "malformed-message", (name, url)
                    assert "TOP-SECRET" not in r.text and "lollol" not in r.text
            assert not listener.touched()  # nothing was fetched
            assert run.ds.head == head
            songs = c.get(LIB).text
            assert "TOP-SECRET" not in songs and "lollol" not in songs
            unchanged(run, head)
    finally:
        listener.sock.close()


def test_endless_head_is_cut_off(small: Running, caplog: pytest.LogCaptureFixture) -> None:
    """A request head that never ends is not buffered without bound: closed once over the
    head limit (URI + header limits + 4 KiB); the client's 16 MB never all get out (what
    does is socket buffers)."""
    s = _tls_socket(small)
    sent = 0
    try:
        s.sendall(b"GET /restconf HTTP/1.1\r\nHost: x\r\nX-Endless: ")
        with pytest.raises((ssl.SSLError, OSError)):
            for _ in range(256):
                s.sendall(b"a" * 65536)
                sent += 65536
        assert sent < 8 * 1024 * 1024
    finally:
        s.close()
    assert "request head over 9216 bytes" in caplog.text
    unchanged(small, small.ds.head)


def test_slow_head_times_out(tmp_path: Path, pkg: ModuleType) -> None:
    """Slowloris: a head trickling in is answered 408 and closed at the header timeout."""
    with server(tmp_path, pkg, restconf_header_timeout=1.0) as run:
        s = _tls_socket(run)
        try:
            t = time.monotonic()
            s.sendall(b"GET /restconf HTTP/1.1\r\n")
            time.sleep(0.4)
            s.sendall(b"X-Slow: 1\r\n")  # trickling, never the blank line
            s.settimeout(5)
            data = b""
            with contextlib.suppress(ssl.SSLError, ConnectionResetError):
                while chunk := s.recv(4096):
                    data += chunk
            assert data.startswith(b"HTTP/1.1 408"), data
            assert 0.7 < time.monotonic() - t < 4
        finally:
            s.close()
        idle = _tls_socket(run)  # connected, nothing sent: the same
        try:
            idle.settimeout(5)
            assert idle.recv(4096).startswith(b"HTTP/1.1 408")
        finally:
            idle.close()
        unchanged(run, run.ds.head)
