"""server/config.py: listen addresses, TOML config, the user table; key auth and host key."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncssh
import pytest

from models.errors import YangdError
from server.config import (
    ConfigError,
    UserTable,
    add_user,
    load_config,
    parse_listen,
    verify_password,
)
from tests.server.conftest import Running


def test_parse_listen() -> None:
    assert parse_listen("127.0.0.1:830", 8830) == ("127.0.0.1", 830)
    assert parse_listen("[::1]:830", 8830) == ("::1", 830)
    assert parse_listen("::1", 8830) == ("::1", 8830)
    assert parse_listen(":9000", 8830) == ("127.0.0.1", 9000)
    with pytest.raises(ConfigError):
        parse_listen("host:http", 1)


def test_load_config(tmp_path: Path) -> None:
    f = tmp_path / "y.toml"
    f.write_text('[yangd]\ndata_dir = "/srv/y"\nnetconf_listen = "0.0.0.0:830"\n')
    cfg = load_config(f, netconf_listen=None, max_sessions=3)
    assert cfg.data_dir == Path("/srv/y") and cfg.netconf_address == ("0.0.0.0", 830)
    assert cfg.max_sessions == 3 and cfg.db_url == "sqlite:////srv/y/yangd.db"
    assert cfg.host_key_path == Path("/srv/y/ssh_host_ed25519_key")
    f.write_text("bogus = 1\n")
    with pytest.raises(ConfigError):
        load_config(f)


def test_users(tmp_path: Path) -> None:
    add_user(tmp_path, "alice", "s3cret")
    doc = json.loads((tmp_path / "users.json").read_text())
    stored = doc["users"]["alice"]["password"]
    assert stored.startswith("$6$") and "s3cret" not in stored  # an RFC 7317 crypt-hash
    assert verify_password(stored, "s3cret") and not verify_password(stored, "nope")
    assert (tmp_path / "users.json").stat().st_mode & 0o777 == 0o600
    table = UserTable(tmp_path / "users.json")
    assert table.check_password("alice", "s3cret") and not table.check_password("bob", "x")
    key = tmp_path / "id.pub"
    key.write_text(asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode())
    add_user(tmp_path, "alice", ssh_key_path=key)  # keeps the password
    u = table.get("alice")
    assert u is not None and len(u.keys) == 1 and table.check_password("alice", "s3cret")
    with pytest.raises(ConfigError):
        add_user(tmp_path, "bad name", "x")
    with pytest.raises(ConfigError):
        add_user(tmp_path, "carol")


def test_public_key_auth_and_host_key_kept(nc_server: Running, tmp_path: Path) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    pub = tmp_path / "k.pub"
    pub.write_bytes(key.export_public_key())
    add_user(nc_server.data_dir, "bob", ssh_key_path=pub)  # the running server sees it at once
    host_key = (nc_server.data_dir / "ssh_host_ed25519_key").read_bytes()

    async def go() -> str:
        async with asyncssh.connect("127.0.0.1", nc_server.port, username="bob", client_keys=[key],
                                    known_hosts=None) as conn:
            return conn.get_server_host_key().export_public_key().decode()
    server_pub = asyncio.run(go())
    assert server_pub.split()[1] == asyncssh.import_private_key(host_key).export_public_key().decode().split()[1]

    async def wrong() -> None:
        await asyncssh.connect("127.0.0.1", nc_server.port, username="bob",
                               client_keys=[asyncssh.generate_private_key("ssh-ed25519")],
                               known_hosts=None)
    with pytest.raises(asyncssh.PermissionDenied):
        asyncio.run(wrong())


def test_error_rendering_prefixes_and_info() -> None:
    import models.generated as g
    from server.netconf.errors import NC, YANG_NS, rpc_error

    e = rpc_error(g.B.schema, YangdError(
        "operation-failed", "unique violated",
        "/ietf-interfaces:interfaces/interface[name='e0']/ietf-ip:ipv4/address[ip='10.0.0.1']",
        "data-not-unique", info={"non-unique": ["/ietf-interfaces:interfaces/interface[name='e0']/description"],
                                 "session_id": 3}))
    path = e.find(f"{{{NC}}}error-path")
    assert path.text == "/if:interfaces/if:interface[if:name='e0']/ip:ipv4/ip:address[ip:ip='10.0.0.1']"
    assert path.nsmap["if"] == "urn:ietf:params:xml:ns:yang:ietf-interfaces"
    assert path.nsmap["ip"] == "urn:ietf:params:xml:ns:yang:ietf-ip"
    assert e.findtext(f"{{{NC}}}error-app-tag") == "data-not-unique"
    assert e.find(f"{{{NC}}}error-message").get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    info = e.find(f"{{{NC}}}error-info")
    assert info.find(f"{{{YANG_NS}}}non-unique").text == "/if:interfaces/if:interface[if:name='e0']/if:description"
    assert info.findtext(f"{{{NC}}}session-id") == "3"
