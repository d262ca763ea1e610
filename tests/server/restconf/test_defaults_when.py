"""RESTCONF with-defaults=report-all and defaults under a when (RFC 8040 §4.8.9, RFC 7950
§7.6.1): a default whose when is false is not in use, so it is neither reported nor served
as a resource, including when the when reads data above the requested resource."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from datastore.datastores import Datastores
from datastore.store import Store
from server.config import Config, add_user
from server.restconf.server import serve
from tests.server.restconf.conftest import JSON, REPO, Running

MODULE = """
module dwr {
  yang-version 1.1;
  namespace "urn:dwr";
  prefix dwr;
  container top {
    leaf mode { type string; }
    leaf own { when "../mode = 'on'"; type uint8; default 1; }
    container box {
      leaf always { type uint8; default 7; }
      leaf gated { when "../../mode = 'on'"; type uint8; default 10; }
    }
  }
}
"""


@pytest.fixture(scope="module")
def dwr_pkg(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    from models.compiler.package import compile_package, features_file, import_package

    yang = REPO / "yang"
    src = tmp_path_factory.mktemp("dwr-src")
    (src / "dwr.yang").write_text(MODULE)
    out = tmp_path_factory.mktemp("dwr-pkg")
    compile_package([*sorted(yang.rglob("*.yang")), src / "dwr.yang"], out,
                    [yang / "ietf", yang / "iana", yang / "yangd"], features_file(yang / "features.toml"))
    return import_package(out, f"_rc_test_dwr_{abs(hash(str(out)))}")


@pytest.fixture
def client(tmp_path: Path, dwr_pkg: ModuleType) -> Iterator[httpx.Client]:
    data = tmp_path / "data"
    add_user(data, "admin", "admin-pw")
    ds = Datastores(dwr_pkg.B, Store.open(f"sqlite:///{data / 'yangd.db'}"))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    cfg = Config(data_dir=data, restconf_listen="127.0.0.1:0")
    srv = asyncio.run_coroutine_threadsafe(serve(cfg, ds), loop).result(20)
    try:
        with Running(srv, ds, loop, data).client() as c:
            yield c
    finally:
        asyncio.run_coroutine_threadsafe(srv.close(), loop).result(20)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
        ds.close()


def get(c: httpx.Client, path: str) -> httpx.Response:
    return c.get(f"/restconf/data/{path}?with-defaults=report-all", headers={"Accept": JSON})


def set_mode(c: httpx.Client, mode: str) -> None:
    r = c.put("/restconf/data/dwr:top/mode", json={"dwr:mode": mode}, headers={"Content-Type": JSON})
    assert r.status_code in (201, 204), r.text


def test_report_all_follows_whens_on_defaults(client: httpx.Client) -> None:
    set_mode(client, "off")
    top = get(client, "dwr:top").json()["dwr:top"]
    assert top == {"mode": "off", "box": {"always": 7}}
    # the leaf resource: a default not in use does not exist (404), and is served once in use
    assert get(client, "dwr:top/own").status_code == 404
    # the box sub-resource: gated's when reads mode, above the resource
    r = get(client, "dwr:top/box")
    assert r.status_code == 200, (r.status_code, r.text)
    assert r.json()["dwr:box"] == {"always": 7}, r.text
    assert get(client, "dwr:top/box/gated").status_code == 404
    set_mode(client, "on")
    top = get(client, "dwr:top").json()["dwr:top"]
    assert top == {"mode": "on", "own": 1, "box": {"always": 7, "gated": 10}}
    assert get(client, "dwr:top/own").json() == {"dwr:own": 1}
    assert get(client, "dwr:top/box").json()["dwr:box"] == {"always": 7, "gated": 10}
    assert get(client, "dwr:top/box/gated").json() == {"dwr:gated": 10}
    # without report-all: only what is there
    r = client.get("/restconf/data/dwr:top", headers={"Accept": JSON})
    assert r.json()["dwr:top"] == {"mode": "on"}
