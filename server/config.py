"""yangd's server configuration, and its user table until ietf-system users exist.

``Config`` is what ``yangd serve`` runs with: defaults, then a TOML file (``--config``), then
command-line options. Everything yangd keeps lives under ``data_dir``: the SSH host key
(generated on first start and kept), the SQLite database (unless ``database_url`` says
otherwise) and ``users.json``.

``users.json`` maps user names to an scrypt password hash and/or OpenSSH public keys.
``add_user`` writes it (``yangd users add``, no running server needed); the server re-reads
it when the file changes, so a user added while yangd runs can log in at once. The security
issue replaces this with ietf-system users and NACM.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = [
    "Config",
    "ConfigError",
    "User",
    "UserTable",
    "add_user",
    "hash_password",
    "load_config",
    "parse_listen",
    "verify_password",
]

USERS_FILE = "users.json"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


class ConfigError(ValueError):
    """A configuration value or file yangd cannot use."""


def parse_listen(text: str, default_port: int) -> tuple[str, int]:
    """``ADDR:PORT``, ``[v6addr]:PORT``, ``ADDR`` or ``:PORT`` to (address, port)."""
    t = text.strip()
    if t.startswith("["):
        addr, _, rest = t[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif t.count(":") == 1:
        addr, _, port_text = t.partition(":")
    else:
        addr, port_text = t, ""
    try:
        port = int(port_text) if port_text else default_port
    except ValueError:
        raise ConfigError(f"bad port in {text!r}") from None
    if not 0 <= port <= 65535:
        raise ConfigError(f"port out of range in {text!r}")
    return addr or "127.0.0.1", port


@dataclass
class Config:
    data_dir: Path = field(default_factory=lambda: Path.home() / ".local" / "share" / "yangd")
    netconf_listen: str = "127.0.0.1:8830"
    restconf_listen: str = "127.0.0.1:8443"
    database_url: str | None = None  # default: SQLite in data_dir
    host_key: Path | None = None  # default: data_dir/ssh_host_ed25519_key
    modules: list[Path] = field(default_factory=list)
    max_message_size: int = 64 * 1024 * 1024
    max_sessions: int = 256
    hello_timeout: float = 60.0  # seconds a client has to send its hello
    # Users created at start if users.json does not name them yet: name → password.
    bootstrap_users: dict[str, str] = field(default_factory=dict)
    restconf_cert: Path | None = None  # default: generated self-signed, kept in data_dir
    restconf_key: Path | None = None
    # Southbound drivers, ``[drivers.NAME]`` tables in file order (the commit order): e.g.
    # ``[drivers.kernel]`` with ``namespace = "yangd"``, ``timeout = 10``. None configured: yangd
    # touches no backend. Keys per kind: southbound/manager.py drivers_from_config.
    drivers: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def netconf_address(self) -> tuple[str, int]:
        return parse_listen(self.netconf_listen, 8830)

    @property
    def restconf_address(self) -> tuple[str, int]:
        return parse_listen(self.restconf_listen, 8443)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'yangd.db'}"

    @property
    def host_key_path(self) -> Path:
        return self.host_key or self.data_dir / "ssh_host_ed25519_key"

    @property
    def users_path(self) -> Path:
        return self.data_dir / USERS_FILE


def load_config(path: Path | None = None, **overrides: Any) -> Config:
    """Defaults, then the TOML file's keys (top level or under ``[yangd]``), then overrides
    (None values are ignored, so CLI options that were not given keep the file's value)."""
    values: dict[str, Any] = {}
    if path is not None:
        try:
            doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise ConfigError(f"cannot read {path}: {e}") from None
        values.update(doc.get("yangd", doc))
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(Config)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown configuration keys: {', '.join(unknown)}")
    for key in ("data_dir", "host_key", "restconf_cert", "restconf_key"):
        if values.get(key) is not None:
            values[key] = Path(values[key]).expanduser()
    if "modules" in values:
        values["modules"] = [Path(m).expanduser() for m in values["modules"]]
    drivers = values.get("drivers", {})
    if not isinstance(drivers, dict) or not all(isinstance(v, dict) for v in drivers.values()):
        raise ConfigError("drivers: expected one table per driver, e.g. [drivers.kernel]")
    cfg = Config(**values)
    cfg.netconf_address  # noqa: B018 - validates the listen addresses early
    cfg.restconf_address  # noqa: B018
    return cfg


# ---- users -------------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    b64 = base64.b64encode
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(stored: str, password: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        want = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r),
                             p=int(p), dklen=len(want))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


@dataclass(frozen=True)
class User:
    name: str
    password_hash: str | None = None
    keys: tuple[str, ...] = ()  # OpenSSH public key lines


def _read_users(path: Path) -> dict[str, User]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise ConfigError(f"cannot read {path}: {e}") from None
    out: dict[str, User] = {}
    for name, u in (doc.get("users") or {}).items():
        out[name] = User(name, u.get("password"), tuple(u.get("keys") or ()))
    return out


def _write_users(path: Path, users: dict[str, User]) -> None:
    doc = {"users": {u.name: {k: v for k, v in (("password", u.password_hash),
                                                 ("keys", list(u.keys))) if v}
                     for u in users.values()}}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _valid_name(name: str) -> bool:
    return bool(name) and len(name) <= 64 and all(c.isalnum() or c in "._-@" for c in name)


def add_user(data_dir: Path, name: str, password: str | None = None,
             ssh_key_path: Path | None = None) -> User:
    """Create or update a login in ``data_dir/users.json`` (password and/or an SSH key file).

    An existing user keeps what is not given again; a key file adds its keys to the user's.
    """
    if not _valid_name(name):
        raise ConfigError(f"bad user name {name!r}")
    if password is None and ssh_key_path is None:
        raise ConfigError("give a password or an SSH public key")
    path = Path(data_dir) / USERS_FILE
    users = _read_users(path)
    old = users.get(name, User(name))
    keys = list(old.keys)
    if ssh_key_path is not None:
        try:
            text = Path(ssh_key_path).read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"cannot read {ssh_key_path}: {e}") from None
        new_keys = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
        if not new_keys:
            raise ConfigError(f"no public key in {ssh_key_path}")
        keys += [k for k in new_keys if k not in keys]
    user = User(name, hash_password(password) if password is not None else old.password_hash,
                tuple(keys))
    users[name] = user
    _write_users(path, users)
    return user


class UserTable:
    """The users of ``users.json``, re-read when the file changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._users: dict[str, User] = {}

    def _fresh(self) -> dict[str, User]:
        try:
            st = self.path.stat()
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp != self._stamp:
            self._users = _read_users(self.path) if stamp is not None else {}
            self._stamp = stamp
        return self._users

    def get(self, name: str) -> User | None:
        return self._fresh().get(name)

    def names(self) -> list[str]:
        return sorted(self._fresh())

    def check_password(self, name: str, password: str) -> bool:
        u = self.get(name)
        return u is not None and u.password_hash is not None and verify_password(u.password_hash, password)
