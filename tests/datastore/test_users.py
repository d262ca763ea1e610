"""The normalizer hook (datastore/normalize.py) with the ietf-system password normalizer
(server/users.py) on a real SQLite store: a ``$0$`` cleartext is hashed on every write path
(edit of candidate and running, copy-config, a whole-tree commit) before validation, so it
reaches neither a tree nor the commit log; crypt hashes verify; the users.json inbox and the
login guard."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import asyncssh
import pytest
from passlib.hash import md5_crypt, sha256_crypt, sha512_crypt

import models.generated as g
from datastore.datastores import CommitMeta, Datastores
from datastore.store import Store
from models.edit import Op, edit_from_json
from server.config import add_user
from server.users import (
    PASSWORD_PATH,
    LoginGuard,
    UserDirectory,
    hash_password,
    import_users_file,
    normalize_password,
    verify_password,
)

CLEAR = "Clear-Text-pw-77"
SYSTEM = "/ietf-system:system"


@pytest.fixture
def ds(tmp_path: Path) -> Iterator[Datastores]:
    d = Datastores(g.B, Store.open(f"sqlite:///{tmp_path / 'y.db'}"))
    assert d.add_normalizer(PASSWORD_PATH, normalize_password)
    try:
        yield d
    finally:
        d.close()


def users(*entries: dict[str, object]) -> list:  # type: ignore[type-arg]
    return edit_from_json(g.B, g.B.node(SYSTEM), {"authentication": {"user": list(entries)}})


def password(ds: Datastores, name: str, source: str = "running") -> str:
    s = ds.open_session("t", "internal")
    try:
        v = s.get_path(f"{SYSTEM}/authentication/user[name='{name}']/password", source)
    finally:
        s.close()
    assert isinstance(v, str)
    return v


def log_text(ds: Datastores) -> str:
    return " ".join(str(ds.store.commit(c.id)) for c in ds.commits())


def test_candidate_edit_and_commit_hash_cleartext(ds: Datastores) -> None:
    s = ds.open_session("admin", "netconf")
    s.edit("candidate", users({"name": "alice", "password": f"$0${CLEAR}"}))
    cand = password(ds, "alice", "candidate")
    assert cand.startswith("$6$rounds=") and verify_password(cand, CLEAR)
    assert all(CLEAR not in repr(c.new) for c in ds.candidate.changes)
    s.commit()
    assert password(ds, "alice") == cand
    assert CLEAR not in log_text(ds) and "alice" in log_text(ds)


def test_running_edit_merge_into_existing_user(ds: Datastores) -> None:
    s = ds.open_session("admin", "netconf")
    s.edit("running", users({"name": "bob", "password": "$0$first-pw"}))
    first = password(ds, "bob")
    s.edit("running", users({"name": "bob", "password": f"$0${CLEAR}"}), Op.MERGE)  # leaf modify
    second = password(ds, "bob")
    assert first != second and verify_password(second, CLEAR) and not verify_password(second, "first-pw")
    assert CLEAR not in log_text(ds) and "first-pw" not in log_text(ds)


def test_hashes_are_stored_verbatim(ds: Datastores) -> None:
    h = sha256_crypt.hash("pw-5")
    s = ds.open_session("admin", "netconf")
    s.edit("running", users({"name": "carol", "password": h}))
    assert password(ds, "carol") == h


def test_copy_config_and_whole_tree_commit(ds: Datastores) -> None:
    root = ds.root_cls.model_validate({"ietf-system:system": {"authentication": {"user": [
        {"name": "dave", "password": f"$0${CLEAR}"}]}}})
    s = ds.open_session("admin", "netconf")
    s.copy_config(root, "candidate")
    assert verify_password(password(ds, "dave", "candidate"), CLEAR)
    s.copy_config(root, "startup")
    assert verify_password(password(ds, "dave", "startup"), CLEAR)
    s.discard_changes()
    with ds.lock:  # the pipeline itself, as a restore or an internal caller uses it
        ds.commit_tree(root, None, CommitMeta())
    assert verify_password(password(ds, "dave"), CLEAR)
    assert CLEAR not in log_text(ds)


def test_normalizer_registration(ds: Datastores) -> None:
    assert not ds.add_normalizer("/no-such-module:x/y", normalize_password)
    with pytest.raises(ValueError):
        ds.add_normalizer("/ietf-system:system/authentication", normalize_password)


def test_crypt_hashes_verify() -> None:
    for h in (md5_crypt.hash("pw"), sha256_crypt.hash("pw"), sha512_crypt.hash("pw"), hash_password("pw")):
        assert verify_password(h, "pw") and not verify_password(h, "pW")
    assert not verify_password("scrypt$1$2$3$abc$def", "pw")
    assert not verify_password(None, "pw") and not verify_password(hash_password(""), "")
    assert normalize_password("$6$x$y") == "$6$x$y"


def test_users_json_inbox_imported_once(ds: Datastores, tmp_path: Path) -> None:
    data = tmp_path / "data"
    key = tmp_path / "k.pub"
    k = asyncssh.generate_private_key("ssh-ed25519")
    key.write_bytes(k.export_public_key())
    add_user(data, "erin", "erin-pw", key)
    directory = UserDirectory(ds, data / "users.json")
    assert directory.check_password("erin", "erin-pw")  # the lookup imported the inbox
    assert directory.has_key("erin", "ssh-ed25519", k.public_data)
    assert not (data / "users.json").exists() and (data / "users.json.imported").exists()
    head = ds.head
    assert directory.names() == ["erin"] and ds.head == head  # imported once
    # deleted through the datastore: gone at once, not brought back by the imported file
    s = ds.open_session("admin", "netconf")
    s.edit("running", edit_from_json(g.B, g.B.node(SYSTEM), {}, Op.REMOVE))
    assert directory.get("erin") is None


def test_verified_passwords_remembered_until_the_hash_changes(ds: Datastores) -> None:
    s = ds.open_session("admin", "netconf")
    s.edit("running", users({"name": "vic", "password": "$0$first-pw"}))
    directory = UserDirectory(ds)
    assert directory.verify("vic", "first-pw") == (True, True)  # checked afresh
    t0 = time.perf_counter()
    assert directory.verify("vic", "first-pw") == (True, False)  # remembered
    assert time.perf_counter() - t0 < 0.01  # no crypt check (one takes ~60 ms)
    assert directory.verify("vic", "wrong") == (False, True)
    assert directory.verify("vic", "wrong") == (False, True)  # failures never remembered
    assert directory.verify("nobody", "first-pw") == (False, True)
    # a new password: the old one is refused at once, the new one checked afresh
    s.edit("running", users({"name": "vic", "password": "$0$second-pw"}))
    assert directory.verify("vic", "first-pw") == (False, True)
    assert directory.verify("vic", "second-pw") == (True, True)
    s.edit("running", edit_from_json(g.B, g.B.node(SYSTEM), {}, Op.REMOVE))
    assert directory.verify("vic", "second-pw") == (False, True)


def test_legacy_scrypt_hash_not_imported(ds: Datastores, tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_text('{"users": {"old": {"password": "scrypt$16384$8$1$c2FsdA==$ZGlnZXN0"}}}')
    import_users_file(ds, path)
    s = ds.open_session("t", "internal")
    assert s.get_path(f"{SYSTEM}/authentication/user[name='old']/name") == "old"
    assert s.get_path(f"{SYSTEM}/authentication/user[name='old']/password") is None


def test_login_guard() -> None:
    guard = LoginGuard(delay=0, limit=3, window=60, block=0.3)
    assert not guard.failed("a") and not guard.failed("a")
    guard.succeeded("a")  # a success forgets earlier failures
    assert not guard.failed("a") and not guard.failed("a") and guard.failed("a")
    assert guard.blocked("a") and not guard.blocked("b")
    time.sleep(0.35)
    assert not guard.blocked("a")
