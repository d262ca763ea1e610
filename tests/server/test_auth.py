"""NETCONF authentication against the ietf-system users in running (server/users.py) and the
audit log (server/audit.py), over real SSH: wrong password, unknown user, wrong key, the
failed-login delay and per-address throttling, a ``$0$`` cleartext password written by a
client stored hashed (candidate, running, commit log) and then usable, and no password or
hash in any log line."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncssh
import pytest
from lxml import etree
from ncclient.transport.errors import AuthenticationError

import models.generated as g
from datastore.datastores import Datastores
from datastore.store import Store
from server.config import Config, add_user
from server.netconf.server import serve
from tests.server.conftest import PASSWORD, USER, Running, connect, free_port

SYS = "urn:ietf:params:xml:ns:yang:ietf-system"
NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
DELAY = 0.3


@contextmanager
def server(tmp_path: Path, **cfg: Any) -> Iterator[Running]:
    """yangd NETCONF with small login-throttling figures (configurable for exactly this)."""
    data = tmp_path / "data"
    add_user(data, USER, PASSWORD)
    ds = Datastores(g.B, Store.open(f"sqlite:///{data / 'yangd.db'}"))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    config = Config(data_dir=data, netconf_listen=f"127.0.0.1:{free_port()}", hello_timeout=10,
                    **{"login_fail_delay": DELAY, "login_fail_limit": 3, "login_block_time": 1.5, **cfg})
    srv = asyncio.run_coroutine_threadsafe(serve(config, ds), loop).result(10)
    run = Running(srv, ds, loop, srv.port, data)
    try:
        yield run
    finally:
        run.call(srv.close())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
        ds.close()


@pytest.fixture
def nc(tmp_path: Path) -> Iterator[Running]:
    with server(tmp_path) as run:
        yield run


def audit_lines(caplog: pytest.LogCaptureFixture, event: str) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "yangd.audit" and r.getMessage().startswith(f"audit {event} ")]


def user_xml(name: str, password: str | None = None, key: asyncssh.SSHKey | None = None) -> str:
    pw = f"<password>{password}</password>" if password is not None else ""
    k = ""
    if key is not None:
        import base64

        k = (f"<authorized-key><name>k1</name><algorithm>{key.get_algorithm()}</algorithm>"
             f"<key-data>{base64.b64encode(key.public_data).decode()}</key-data></authorized-key>")
    return (f'<config xmlns="{NC}"><system xmlns="{SYS}"><authentication><user><name>{name}</name>'
            f"{pw}{k}</user></authentication></system></config>")


def stored_password(run: Running, name: str) -> str:
    value = run.ds.open_session("t", "internal").get_path(
        f"/ietf-system:system/authentication/user[name='{name}']/password")
    assert isinstance(value, str)
    return value


def test_users_json_migrated_into_running(nc: Running) -> None:
    assert stored_password(nc, USER).startswith("$6$")
    assert not (nc.data_dir / "users.json").exists()
    assert (nc.data_dir / "users.json.imported").exists()
    assert nc.ds.commits()[-1].transport == "internal"


def test_wrong_password_and_unknown_user_refused_delayed_and_audited(
        nc: Running, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    for user, pw in ((USER, "wrong-pw"), ("nobody", PASSWORD)):
        t = time.monotonic()
        with pytest.raises(AuthenticationError):
            connect(nc, username=user, password=pw)
        assert time.monotonic() - t >= DELAY
    failed = audit_lines(caplog, "login")
    assert any("result=failed user=admin transport=netconf" in ln and "method=password" in ln
               for ln in failed)
    assert any("result=failed user=nobody" in ln for ln in failed)
    assert all("address=127.0.0.1:" in ln for ln in failed)
    assert "wrong-pw" not in caplog.text and PASSWORD not in caplog.text


def test_wrong_key_refused_right_key_accepted(nc: Running) -> None:
    key, other = asyncssh.generate_private_key("ssh-ed25519"), asyncssh.generate_private_key("ssh-ed25519")
    with connect(nc) as m:
        m.edit_config(target="running", config=user_xml("robot", key=key))

    async def login(k: asyncssh.SSHKey) -> None:
        async with asyncssh.connect("127.0.0.1", nc.port, username="robot", client_keys=[k],
                                    known_hosts=None, password=None):
            pass
    asyncio.run(login(key))
    with pytest.raises(asyncssh.PermissionDenied):
        asyncio.run(login(other))


def test_throttling_blocks_the_address_then_lets_it_in_again(
        nc: Running, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    for _ in range(3):  # login_fail_limit
        with pytest.raises(AuthenticationError):
            connect(nc, password="nope")
    with pytest.raises(AuthenticationError):  # the right password, but blocked
        connect(nc)
    assert audit_lines(caplog, "login")[-1].startswith("audit login result=refused")
    time.sleep(1.6)  # login_block_time
    with connect(nc) as m:
        assert m.session_id
    # a success resets: two more failures do not block
    for _ in range(2):
        with pytest.raises(AuthenticationError):
            connect(nc, password="nope")
    with connect(nc) as m:
        assert m.session_id


def test_cleartext_password_hashed_on_every_path_and_usable(
        nc: Running, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    clear = "Carol-s3cret-pw"
    with connect(nc) as m:
        m.lock("candidate")
        m.edit_config(target="candidate", config=user_xml("carol", f"$0${clear}"))
        cand = m.get_config(source="candidate").xml
        assert clear not in cand and "$0$" not in cand  # hashed already in the candidate
        m.commit()
        m.unlock("candidate")
        running = m.get_config(source="running").xml
        sid = m.session_id
    stored = stored_password(nc, "carol")
    assert stored.startswith("$6$rounds=") and clear not in stored
    assert stored in running  # an admin may read the hash; never the clear text
    db = sqlite3.connect(nc.data_dir / "yangd.db")
    try:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        rows = " ".join(str(r) for t in tables for r in db.execute(f"SELECT * FROM {t}"))
    finally:
        db.close()
    assert clear not in rows and "carol" in rows  # the commit and event logs hold the hash only
    with connect(nc, username="carol", password=clear) as m:
        assert m.session_id
    with pytest.raises(AuthenticationError):
        connect(nc, username="carol", password="$0$" + clear)  # the stored form is no password
    # writable-running and copy-config paths hash too
    with connect(nc) as m:
        m.edit_config(target="running", config=user_xml("dave", "$0$dave-pw-1"))
        inline = user_xml("erin", "$0$erin-pw-1").replace(f'<config xmlns="{NC}">', "<config>")
        m.dispatch(etree.fromstring(f'<copy-config xmlns="{NC}"><target><candidate/></target>'
                                    f"<source>{inline}</source></copy-config>"))
        assert "erin-pw-1" not in m.get_config(source="candidate").xml
        m.discard_changes()
    assert stored_password(nc, "dave").startswith("$6$")
    with connect(nc, username="dave", password="dave-pw-1"):
        pass
    # nothing secret in any server log line (ncclient, the client, logs what it sends):
    # clear texts, and hashes, never appear
    text = "\n".join(logging.Formatter().format(r) for r in caplog.records
                     if not r.name.startswith(("ncclient", "paramiko")))
    for secret in (clear, "dave-pw-1", "erin-pw-1", PASSWORD, stored, stored_password(nc, "dave")):
        assert secret not in text
    audit = "\n".join(r.getMessage() for r in caplog.records if r.name == "yangd.audit")
    assert f"audit lock result=ok user=admin transport=netconf session={sid} datastore=candidate" in audit
    assert f"audit unlock result=ok user=admin transport=netconf session={sid}" in audit
    commit = next(ln for ln in audit_lines(caplog, "commit") if f"session={sid}" in ln)
    assert "user=admin transport=netconf" in commit and "create=1" in commit
    assert "user[name='carol']" in commit
    assert f"audit logout user=admin transport=netconf session={sid}" in audit
    assert any("result=ok user=carol" in ln for ln in audit_lines(caplog, "login"))


def test_user_deleted_from_running_cannot_log_in(nc: Running) -> None:
    with connect(nc) as m:
        m.edit_config(target="running", config=user_xml("frank", "$0$frank-pw"))
    with connect(nc, username="frank", password="frank-pw"):
        pass
    with connect(nc) as m:
        cfg = user_xml("frank").replace("<user>", f'<user xmlns:nc="{NC}" nc:operation="delete">')
        m.edit_config(target="running", config=cfg)
    with pytest.raises(AuthenticationError):
        connect(nc, username="frank", password="frank-pw")


def test_bootstrap_user_created_hashed(tmp_path: Path) -> None:
    with server(tmp_path, bootstrap_users={"boot": "boot-pw"}) as run:
        assert stored_password(run, "boot").startswith("$6$")
        with connect(run, username="boot", password="boot-pw"):
            pass


def test_lock_failure_audited(nc: Running, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    with connect(nc) as a, connect(nc) as b:
        a.lock("running")
        with pytest.raises(Exception):  # noqa: B017 - ncclient's RPCError
            b.lock("running")
    lines = audit_lines(caplog, "lock")
    assert any("result=ok" in ln and f"session={a.session_id}" in ln for ln in lines)
    assert any("result=failed" in ln and f"session={b.session_id}" in ln for ln in lines)


def test_audit_values_cannot_forge_lines() -> None:
    from server.audit import _text

    assert _text("admin") == "admin"
    assert _text("evil\naudit login result=ok") == '"evil\\naudit login result=ok"'
