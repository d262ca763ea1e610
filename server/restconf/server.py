"""The RESTCONF server: ``serve(config, datastores)`` starts uvicorn over TLS in the running
asyncio loop, ``Server.close()`` stops it (event streams first: they never end by themselves).

Plain HTTP only when ``restconf_plain_http`` is set and the listen address is loopback
(config.py refuses anything else). With ``restconf_client_ca``, clients may present a
certificate that CA signed: uvicorn's HTTP/1.1 protocol is subclassed to read the verified
peer certificate once per connection and run its requests as the mapped user (auth.py).

The listening socket is bound here (so a busy port is an ``OSError`` for the caller, not
uvicorn's ``sys.exit``), uvicorn leaves the process's signal handlers alone (yangd's own
``serve`` command owns SIGTERM/SIGINT), and TLS 1.2 is the minimum. Handlers touching the
datastore are synchronous and run in Starlette's thread pool, like NETCONF's worker threads
(a GET of one small resource excepted: routers/data.py answers it on the loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from datastore.datastores import Datastores
from server.config import Config, ConfigError, parse_listen
from server.restconf.app import build_app
from server.restconf.auth import CERT_USER
from server.restconf.limits import RequestLimits, head_limit, http_protocol
from server.restconf.tls import ensure_certificate, peer_common_name, server_context
from server.users import UserDirectory

__all__ = ["Server", "serve"]

log = logging.getLogger("yangd.restconf")


class _Uvicorn(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the embedding process handles signals


@dataclass(eq=False)
class Server:
    config: Config
    datastores: Datastores
    uvicorn: _Uvicorn
    task: asyncio.Task[None]
    sock: socket.socket
    cert: Path | None  # None: plain HTTP
    app: Any = None

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    async def close(self, timeout: float = 5.0) -> None:
        """Stop accepting, let requests in flight finish (up to ``timeout``), then stop."""
        feed = getattr(getattr(self.app, "state", None), "event_feed", None)
        if feed is not None:
            feed.close()
        self.uvicorn.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self.task), timeout)
        except TimeoutError:
            self.uvicorn.force_exit = True
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self.task, 2)
        except BaseException:  # a failed server task is already over
            log.exception("RESTCONF server ended with an error")
        finally:
            self.sock.close()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on such sockets' connections,
    # and without it a response written as headers + body waits ~40 ms on delayed ACKs
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


async def serve(config: Config, datastores: Datastores, users: UserDirectory | None = None,
                certfile: Path | None = None, keyfile: Path | None = None) -> Server:
    """Start RESTCONF on ``config.restconf_listen``; OSError if it cannot listen,
    ConfigError for a configuration it refuses (plain HTTP off loopback)."""
    host, port = parse_listen(config.restconf_listen, 8443)
    scheme = config.restconf_scheme
    cert: Path | None = None
    ctx: ssl.SSLContext | None = None
    if scheme == "https":
        cert_opt: Any = certfile or config.restconf_cert
        key_opt: Any = keyfile or config.restconf_key
        if cert_opt is not None and key_opt is not None:
            cert, key = Path(cert_opt), Path(key_opt)
        else:
            cert, key = ensure_certificate(config.data_dir)
        try:  # fails early on a bad certificate, key or CA file
            ctx = server_context(cert, key, config.restconf_client_ca)
        except (OSError, ssl.SSLError) as e:
            raise ConfigError(f"RESTCONF TLS: {e}") from None
    app = build_app(datastores, config, users)
    # httptools (llhttp: ~0.1 ms less CPU per request than h11) bounded in head size and
    # time, or h11 (limits.py)
    http: Any = http_protocol(config)
    if ctx is not None and config.restconf_client_ca is not None:
        http = _certificate_protocol(dict(config.restconf_cert_users))
    # limits (config.py): connections beyond limit_concurrency get uvicorn's 503; a request
    # head beyond head_limit (a little above our URI + header limits, which limits.py
    # answers 414/431 with an errors body) gets the HTTP protocol's 400
    ucfg = uvicorn.Config(RequestLimits(app, config), host=host, port=port, http=http,
                          log_level="warning", access_log=False, lifespan="off",
                          timeout_graceful_shutdown=5, server_header=False,
                          # no proxy in front: X-Forwarded-For from a local client must not
                          # choose the address failed logins are counted by (auth.py)
                          proxy_headers=False,
                          # + 1: uvicorn counts the connection asking among those it allows
                          limit_concurrency=config.restconf_max_connections + 1,
                          timeout_keep_alive=int(max(1, config.restconf_keepalive_timeout)),
                          h11_max_incomplete_event_size=head_limit(config))
    ucfg.load()
    ucfg.ssl = ctx
    sock = _bind(host, port)
    srv = _Uvicorn(ucfg)
    task = asyncio.create_task(srv.serve(sockets=[sock]), name="restconf")
    while not srv.started and not task.done():
        await asyncio.sleep(0.01)
    if task.done():
        sock.close()
        exc = task.exception()
        raise OSError(f"RESTCONF server did not start: {exc!r}")
    log.info("RESTCONF over %s on %s:%d", scheme.upper(), host, int(sock.getsockname()[1]))
    return Server(config, datastores, srv, task, sock, cert, app)


def _certificate_protocol(cert_users: dict[str, str]) -> type[H11Protocol]:
    """uvicorn's HTTP/1.1 protocol that, on a connection whose client sent a certificate
    the CA verified, runs every request as the user the certificate maps to (auth.CERT_USER):
    ``cert_users[CN]``, or the CN itself."""

    class CertificateH11(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            cn = peer_common_name(transport.get_extra_info("ssl_object"))
            if cn is not None:
                self.app = _as_user(self.app, cert_users.get(cn, cn))

    return CertificateH11


def _as_user(app: ASGIApp, user: str) -> ASGIApp:
    async def run(scope: Scope, receive: Receive, send: Send) -> None:
        token = CERT_USER.set(user)  # each request is a task of its own: no other sees it
        try:
            await app(scope, receive, send)
        finally:
            CERT_USER.reset(token)

    return run
