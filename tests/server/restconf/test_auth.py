"""RESTCONF authentication against the ietf-system users in running, over real HTTPS: Basic
with a wrong password or an unknown user (401, delayed, audited), throttling per address, a
``$0$`` cleartext password written over RESTCONF stored hashed and then usable, a user
deleted from running refused at once, and no password or hash in any server log line."""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import models.generated as g
from datastore.datastores import Datastores
from datastore.store import Store
from server.config import Config, add_user
from server.restconf import Server, serve

USER, PASSWORD = "admin", "admin-pw"
DELAY = 0.3
USERS = "/restconf/data/ietf-system:system/authentication"
JSON = "application/yang-data+json"


class Rc:
    def __init__(self, server: Server, ds: Datastores, data: Path):
        self.server, self.ds, self.data = server, ds, data

    def client(self, user: str = USER, password: str = PASSWORD) -> httpx.Client:
        return httpx.Client(base_url=f"https://127.0.0.1:{self.server.port}",
                            verify=ssl.create_default_context(cafile=str(self.server.cert)),
                            auth=(user, password), timeout=10)

    def status(self, user: str, password: str) -> int:
        with self.client(user, password) as c:
            return c.get("/restconf/data/ietf-system:system").status_code


@pytest.fixture
def rc(tmp_path: Path) -> Iterator[Rc]:
    data = tmp_path / "data"
    add_user(data, USER, PASSWORD)
    ds = Datastores(g.B, Store.open(f"sqlite:///{data / 'yangd.db'}"))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    cfg = Config(data_dir=data, restconf_listen="127.0.0.1:0", login_fail_delay=DELAY,
                 login_fail_limit=3, login_block_time=1.5)
    srv = asyncio.run_coroutine_threadsafe(serve(cfg, ds), loop).result(20)
    try:
        yield Rc(srv, ds, data)
    finally:
        asyncio.run_coroutine_threadsafe(srv.close(), loop).result(20)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
        ds.close()


def audit(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "yangd.audit"]


def server_log(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(logging.Formatter().format(r) for r in caplog.records
                     if not r.name.startswith(("httpx", "httpcore")))


def stored(rc: Rc, name: str) -> Any:
    return rc.ds.open_session("t", "internal").get_path(
        f"/ietf-system:system/authentication/user[name='{name}']/password")


def test_wrong_password_and_unknown_user(rc: Rc, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    assert rc.status(USER, PASSWORD) == 200
    for user, pw in ((USER, "wrong-pw"), ("nobody", PASSWORD)):
        t = time.monotonic()
        with rc.client(user, pw) as c:
            r = c.get("/restconf/data/ietf-system:system")
        assert r.status_code == 401 and "Basic" in r.headers["www-authenticate"]
        assert r.json()["ietf-restconf:errors"]["error"][0]["error-tag"] == "access-denied"
        assert time.monotonic() - t >= DELAY
    lines = audit(caplog)
    assert any(ln.startswith("audit login result=ok user=admin transport=restconf") for ln in lines)
    assert any("result=failed user=admin transport=restconf address=127.0.0.1" in ln for ln in lines)
    assert any("result=failed user=nobody" in ln for ln in lines)
    assert "wrong-pw" not in server_log(caplog)
    # no credentials at all is not a failed login: no delay, no audit line
    n = len(audit(caplog))
    t = time.monotonic()
    assert httpx.get(f"https://127.0.0.1:{rc.server.port}/restconf/data", verify=False).status_code == 401
    assert time.monotonic() - t < DELAY and len(audit(caplog)) == n


def test_throttling_per_address(rc: Rc, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    assert [rc.status(USER, "nope") for _ in range(3)] == [401] * 3
    t = time.monotonic()
    assert rc.status(USER, PASSWORD) == 401  # blocked: not even the right password
    assert time.monotonic() - t < DELAY + 0.25  # refused without a check, without the delay
    assert audit(caplog)[-1].startswith("audit login result=refused")
    time.sleep(1.6)
    assert rc.status(USER, PASSWORD) == 200


def test_cleartext_password_over_restconf(rc: Rc, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    clear = "Gina-pw-42"
    with rc.client() as c:
        r = c.post(USERS, json={"ietf-system:user": [{"name": "gina", "password": f"$0${clear}"}]},
                   headers={"Content-Type": JSON})
        assert r.status_code == 201, r.text
        got = c.get(f"{USERS}/user=gina", headers={"Accept": JSON})
        assert clear not in got.text and "$6$" in got.text
        # PUT replacing the password: hashed too
        r = c.put(f"{USERS}/user=gina/password", json={"ietf-system:password": "$0$Gina-pw-43"},
                  headers={"Content-Type": JSON})
        assert r.status_code == 204, r.text
    hashed = stored(rc, "gina")
    assert hashed.startswith("$6$")
    assert rc.status("gina", clear) == 401
    assert rc.status("gina", "Gina-pw-43") == 200
    with rc.client() as c:  # deleted from running: refused at once
        assert c.delete(f"{USERS}/user=gina").status_code == 204
    assert rc.status("gina", "Gina-pw-43") == 401
    text = server_log(caplog)
    for secret in (clear, "Gina-pw-43", hashed, PASSWORD):
        assert secret not in text
    commits = [ln for ln in audit(caplog) if ln.startswith("audit commit ")]
    assert any("user=admin transport=restconf" in ln and "create=1" in ln for ln in commits)
    assert any("delete=1" in ln and "user[name='gina']" in ln for ln in commits)
