"""A real yangd RESTCONF server per test: HTTPS (generated certificate) on a free port of
127.0.0.1, its asyncio loop in a background thread, a SQLite store in a temp data dir, the
shipped modules plus RFC 8040's example-jukebox; and an httpx client with Basic auth."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from datastore.datastores import Datastores
from datastore.store import Store
from server.config import Config, add_user
from server.restconf import Server, serve

REPO = Path(__file__).resolve().parents[3]
JUKEBOX = REPO.parent / "shared" / "corpus" / "yang" / "example-jukebox" / "example-jukebox@2016-08-15.yang"
USER, PASSWORD = "admin", "admin-pw"
JSON = "application/yang-data+json"
XML = "application/yang-data+xml"


@pytest.fixture(scope="session")
def pkg(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The shipped modules + example-jukebox, compiled once per test session."""
    from models.compiler.package import compile_package, features_file, import_package

    yang = REPO / "yang"
    out = tmp_path_factory.mktemp("jukebox-pkg")
    files = [*sorted(yang.rglob("*.yang")), JUKEBOX]
    compile_package(files, out, [yang / "ietf", yang / "iana", yang / "yangd"],
                    features_file(yang / "features.toml"))
    return import_package(out, f"_rc_test_jukebox_{abs(hash(str(out)))}")


@dataclass
class Running:
    server: Server
    ds: Datastores
    loop: asyncio.AbstractEventLoop
    data_dir: Path

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server.port}"

    def client(self, **kw: Any) -> httpx.Client:
        args: dict[str, Any] = dict(base_url=self.url,
                                    verify=ssl.create_default_context(cafile=str(self.server.cert)),
                                    auth=(USER, PASSWORD), timeout=10)
        args.update(kw)
        return httpx.Client(**args)


@pytest.fixture
def rc_server(tmp_path: Path, pkg: ModuleType) -> Iterator[Running]:
    data = tmp_path / "data"
    add_user(data, USER, PASSWORD)
    ds = Datastores(pkg.B, Store.open(f"sqlite:///{data / 'yangd.db'}"))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    cfg = Config(data_dir=data, restconf_listen="127.0.0.1:0", max_message_size=256 * 1024)
    srv = asyncio.run_coroutine_threadsafe(serve(cfg, ds), loop).result(20)
    run = Running(srv, ds, loop, data)
    try:
        yield run
    finally:
        asyncio.run_coroutine_threadsafe(srv.close(), loop).result(20)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
        ds.close()


@pytest.fixture
def c(rc_server: Running) -> Iterator[httpx.Client]:
    with rc_server.client() as client:
        yield client
