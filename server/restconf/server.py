"""The RESTCONF server: ``serve(config, datastores)`` starts uvicorn over TLS in the running
asyncio loop, ``Server.close()`` stops it.

The listening socket is bound here (so a busy port is an ``OSError`` for the caller, not
uvicorn's ``sys.exit``), uvicorn leaves the process's signal handlers alone (yangd's own
``serve`` command owns SIGTERM/SIGINT), and TLS 1.2 is the minimum. Handlers touching the
datastore are synchronous and run in Starlette's thread pool, like NETCONF's worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from datastore.datastores import Datastores
from server.config import Config, UserTable, parse_listen
from server.restconf.app import build_app
from server.restconf.tls import ensure_certificate, server_context

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
    cert: Path

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    async def close(self, timeout: float = 5.0) -> None:
        """Stop accepting, let requests in flight finish (up to ``timeout``), then stop."""
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
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


async def serve(config: Config, datastores: Datastores, users: UserTable | None = None,
                certfile: Path | None = None, keyfile: Path | None = None) -> Server:
    """Start RESTCONF on ``config.restconf_listen``; OSError if it cannot listen."""
    host, port = parse_listen(config.restconf_listen, 8443)
    cert_opt: Any = certfile or getattr(config, "restconf_cert", None)
    key_opt: Any = keyfile or getattr(config, "restconf_key", None)
    if cert_opt is not None and key_opt is not None:
        cert, key = Path(cert_opt), Path(key_opt)
    else:
        cert, key = ensure_certificate(config.data_dir)
    ctx = server_context(cert, key)  # fails early on a bad certificate or key
    app = build_app(datastores, config, users)
    ucfg = uvicorn.Config(app, host=host, port=port, ssl_certfile=str(cert), ssl_keyfile=str(key),
                          log_level="warning", access_log=False, lifespan="off",
                          timeout_graceful_shutdown=5, server_header=False)
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
    log.info("RESTCONF over HTTPS on %s:%d", host, int(sock.getsockname()[1]))
    return Server(config, datastores, srv, task, sock, cert)
