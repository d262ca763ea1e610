"""A real yangd NETCONF server per test: temp data dir, SQLite store, an OS-chosen
port on 127.0.0.1, its asyncio loop in a background thread; and client helpers."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import models.generated as g
from datastore.datastores import Datastores
from datastore.store import Store
from server.config import Config, add_user
from server.netconf.server import Server, serve

USER, PASSWORD = "admin", "admin-pw"


def free_port() -> int:
    """A port the OS just handed out (ephemeral range, random): parallel test workers scanning
    one range in order would race for the same port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Running:
    server: Server
    ds: Datastores
    loop: asyncio.AbstractEventLoop
    port: int
    data_dir: Path

    def call(self, coro: Any, timeout: float = 10) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


@contextlib.contextmanager
def netconf_server(tmp_path: Path, users: dict[str, str] | None = None, **overrides: Any) -> Iterator[Running]:
    """A real yangd NETCONF server on a free port, with ``users`` (besides the admin) and
    Config ``overrides``; closed, with its loop and store, on exit."""
    data = tmp_path / "data"
    add_user(data, USER, PASSWORD)
    for name, password in (users or {}).items():
        add_user(data, name, password)
    ds = Datastores(g.B, Store.open(f"sqlite:///{data / 'yangd.db'}"))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        for _attempt in range(5):
            port = free_port()
            cfg = Config(data_dir=data, netconf_listen=f"127.0.0.1:{port}",
                         **{"hello_timeout": 10, "max_message_size": 1024 * 1024, **overrides})
            try:
                srv = asyncio.run_coroutine_threadsafe(serve(cfg, ds), loop).result(10)
                break
            except OSError:
                continue
        else:
            raise RuntimeError("could not start the server")
        run = Running(srv, ds, loop, port, data)
        try:
            yield run
        finally:
            run.call(srv.close())
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
        ds.close()


@pytest.fixture
def nc_server(tmp_path: Path) -> Iterator[Running]:
    with netconf_server(tmp_path) as run:
        yield run


def connect(run: Running, **kw: Any) -> Any:
    from ncclient import manager

    args: dict[str, Any] = dict(host="127.0.0.1", port=run.port, username=USER, password=PASSWORD,
                                hostkey_verify=False, look_for_keys=False, allow_agent=False,
                                timeout=10)
    args.update(kw)
    return manager.connect(**args)


@pytest.fixture
def m(nc_server: Running) -> Iterator[Any]:
    with connect(nc_server) as mgr:
        yield mgr
