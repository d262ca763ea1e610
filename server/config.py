"""yangd's server configuration, and the users.json inbox of new logins.

``Config`` is what ``yangd serve`` runs with: defaults, then a TOML file (``--config``), then
command-line options. Everything yangd keeps lives under ``data_dir``: the SSH host key
(generated on first start and kept), the SQLite database (unless ``database_url`` says
otherwise) and ``users.json``.

``users.json`` maps user names to a crypt password hash (``$6$``) and/or OpenSSH public
keys. ``add_user`` writes it (``yangd users add``, no running server needed); it is an inbox:
the server merges it into the ietf-system users in running (server/users.py), at start or at
once while it runs, and keeps it as ``users.json.imported``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import os
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
    # Hostile-input limits (docs: server/yangd.example.toml). A NETCONF message or RESTCONF
    # body over max_message_size is too-big (RESTCONF 413); so is a document nested deeper
    # than max_nesting_depth (XML elements; JSON objects and arrays) or holding more than
    # max_elements (XML elements; JSON values).
    max_message_size: int = 64 * 1024 * 1024
    max_nesting_depth: int = 64
    max_elements: int = 1_000_000
    max_sessions: int = 256  # NETCONF sessions at once (more: SSH channel refused)
    max_sessions_per_user: int = 32
    hello_timeout: float = 60.0  # seconds a client has to send its hello
    idle_timeout: float = 3600.0  # NETCONF: no rpc for this long closes a session (0: never)
    restconf_max_connections: int = 1000  # more at once: 503 (uvicorn limit_concurrency)
    restconf_keepalive_timeout: float = 5.0  # an idle HTTP/1.1 connection is closed after it
    restconf_max_uri_length: int = 8192  # longer request target: 414
    restconf_max_header_size: int = 16384  # all request headers together; more: 431
    restconf_header_timeout: float = 10.0  # a request head not complete by then: 408, closed
    # Users created at start if running (ietf-system) does not name them yet: name → password.
    bootstrap_users: dict[str, str] = field(default_factory=dict)
    # Failed logins (both transports, server/users.py): each answered after login_fail_delay
    # seconds; login_fail_limit failures from one address within login_fail_window seconds
    # block that address for login_block_time seconds.
    login_fail_delay: float = 1.0
    login_fail_limit: int = 5
    login_fail_window: float = 60.0
    login_block_time: float = 300.0
    restconf_cert: Path | None = None  # default: generated self-signed, kept in data_dir
    restconf_key: Path | None = None
    # Plain HTTP instead of HTTPS (RFC 8040 §2 wants TLS): refused unless restconf_listen is a
    # loopback address, e.g. behind a local reverse proxy that terminates TLS.
    restconf_plain_http: bool = False
    # CA file: clients may then authenticate with a certificate it signed; the subject CN, or
    # restconf_cert_users[CN] when listed there, is the yangd user. Basic auth still works.
    restconf_client_ca: Path | None = None
    restconf_cert_users: dict[str, str] = field(default_factory=dict)
    # NETCONF over TLS (RFC 7589, server/netconf/tls.py): off while netconf_tls_listen is
    # empty (default port 6513). The certificate defaults to RESTCONF's; clients must present
    # one netconf_tls_client_ca verifies (required), and the cert-to-name list (RFC 7407:
    # tables of id, fingerprint, map_type, name) derives their yangd user from it.
    netconf_tls_listen: str = ""
    netconf_tls_cert: Path | None = None
    netconf_tls_key: Path | None = None
    netconf_tls_client_ca: Path | None = None
    netconf_tls_cert_to_name: list[dict[str, Any]] = field(default_factory=list)
    # Southbound drivers, ``[drivers.NAME]`` tables in file order (the commit order): e.g.
    # ``[drivers.kernel]`` with ``namespace = "yangd"``, ``timeout = 10``. None configured: yangd
    # touches no backend. Keys per kind: southbound/manager.py drivers_from_config.
    drivers: dict[str, dict[str, Any]] = field(default_factory=dict)
    log_level: str = "info"  # debug | info | warning | error | critical
    log_json: bool = False  # one JSON object per log line (server/logs.py)
    # GET /metrics on the RESTCONF listener asks for Basic auth (any yangd user) unless false,
    # e.g. for a Prometheus on the same host; /health never does.
    metrics_auth: bool = True
    # NACM (RFC 8341), a ``[nacm]`` table: ``groups = {admin = ["alice"]}`` (group → users, added
    # to the groups running's /nacm gives them, as external groups, §3.4.4 step 4) and
    # ``recovery_users = ["root"]`` (§2.5: their sessions skip NACM; default none).
    nacm: dict[str, Any] = field(default_factory=dict)

    @property
    def netconf_address(self) -> tuple[str, int]:
        return parse_listen(self.netconf_listen, 8830)

    @property
    def netconf_tls_address(self) -> tuple[str, int] | None:
        """Where NETCONF over TLS listens, None when it is off."""
        return parse_listen(self.netconf_tls_listen, 6513) if self.netconf_tls_listen.strip() else None

    @property
    def restconf_address(self) -> tuple[str, int]:
        return parse_listen(self.restconf_listen, 8443)

    @property
    def restconf_scheme(self) -> str:
        """``https``, or ``http`` when plain HTTP is enabled for a loopback address."""
        if not self.restconf_plain_http:
            return "https"
        host = self.restconf_address[0]
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ConfigError(f"restconf_plain_http is only allowed on a loopback address, not "
                              f"on {self.restconf_listen!r}: use HTTPS there")
        return "http"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'yangd.db'}"

    @property
    def host_key_path(self) -> Path:
        return self.host_key or self.data_dir / "ssh_host_ed25519_key"

    @property
    def users_path(self) -> Path:
        return self.data_dir / USERS_FILE

    @property
    def nacm_groups(self) -> dict[str, list[str]]:
        return {str(g): [str(u) for u in users] for g, users in (self.nacm.get("groups") or {}).items()}

    @property
    def nacm_recovery_users(self) -> list[str]:
        return [str(u) for u in self.nacm.get("recovery_users") or ()]


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
    _check_types(values)
    _check_limits(values)
    for key in ("data_dir", "host_key", "restconf_cert", "restconf_key", "restconf_client_ca",
                "netconf_tls_cert", "netconf_tls_key", "netconf_tls_client_ca"):
        if values.get(key) is not None:
            values[key] = Path(values[key]).expanduser()
    if "modules" in values:
        values["modules"] = [Path(m).expanduser() for m in values["modules"]]
    drivers = values.get("drivers", {})
    if not isinstance(drivers, dict) or not all(isinstance(v, dict) for v in drivers.values()):
        raise ConfigError("drivers: expected one table per driver, e.g. [drivers.kernel]")
    _check_nacm(values.get("nacm", {}))
    cfg = Config(**values)
    for key in ("netconf_listen", "restconf_listen", "netconf_tls_listen"):  # validate the listen addresses early
        try:
            if key != "netconf_tls_listen" or cfg.netconf_tls_listen.strip():
                parse_listen(getattr(cfg, key), 0)
        except ConfigError as e:
            raise ConfigError(f"{key}: {e}") from None
    cfg.restconf_scheme  # noqa: B018 - plain HTTP only on loopback
    _check_netconf_tls(cfg)
    return cfg


def _check_netconf_tls(cfg: Config) -> None:
    """The netconf_tls_* keys: what start would refuse, said before it (config check)."""
    if (cfg.netconf_tls_cert is None) != (cfg.netconf_tls_key is None):
        raise ConfigError("netconf_tls_cert and netconf_tls_key: give both or neither")
    for key in ("netconf_tls_cert", "netconf_tls_key", "netconf_tls_client_ca"):
        path = getattr(cfg, key)
        if path is not None and not path.is_file():
            raise ConfigError(f"{key}: no such file: {path}")
    listen = bool(cfg.netconf_tls_listen.strip())
    if listen and cfg.netconf_tls_client_ca is None:
        raise ConfigError("netconf_tls_client_ca: required with netconf_tls_listen (RFC 7589 §5: "
                          "clients authenticate with a certificate this CA verifies)")
    if cfg.netconf_tls_cert_to_name or listen:
        from server.netconf.tls import cert_to_name

        if not cert_to_name(cfg.netconf_tls_cert_to_name):
            raise ConfigError("netconf_tls_cert_to_name: no entry, so no client certificate could "
                              "name a user (RFC 7589 §7)")


def _check_nacm(t: dict[str, Any]) -> None:
    bad = sorted(set(t) - {"groups", "recovery_users"})
    if bad:
        raise ConfigError(f"nacm: unknown keys {', '.join(bad)} (groups, recovery_users)")
    groups = t.get("groups", {})
    if not isinstance(groups, dict) or not all(
            isinstance(v, list) and all(isinstance(u, str) for u in v) for v in groups.values()):
        raise ConfigError('nacm.groups: expected a table of user lists, e.g. {admin = ["alice"]}')
    rec = t.get("recovery_users", [])
    if not isinstance(rec, list) or not all(isinstance(u, str) for u in rec):
        raise ConfigError('nacm.recovery_users: expected a list of user names, e.g. ["root"]')


# limits that must be positive (0 would refuse everything); the timeouts may be 0 (off)
_POSITIVE = ("max_message_size", "max_nesting_depth", "max_elements", "max_sessions",
             "max_sessions_per_user", "restconf_max_connections", "restconf_max_uri_length",
             "restconf_max_header_size")
_NON_NEGATIVE = ("hello_timeout", "idle_timeout", "restconf_keepalive_timeout", "restconf_header_timeout")


def _check_limits(values: dict[str, Any]) -> None:
    for key in _POSITIVE:
        if key in values and values[key] <= 0:
            raise ConfigError(f"{key}: must be at least 1, not {values[key]!r}")
    for key in _NON_NEGATIVE:
        if key in values and values[key] < 0:
            raise ConfigError(f"{key}: must not be negative, not {values[key]!r}")


def _list_of(hint: Any) -> str:
    import typing

    item = typing.get_args(hint)[0]
    return "a list of tables" if typing.get_origin(item) is dict else "a list of paths"


_NAMES: dict[Any, str] = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


def _check_types(values: dict[str, Any]) -> None:
    """Each value has its field's type (paths as strings); ConfigError names the key."""
    import types
    import typing

    hints = typing.get_type_hints(Config)
    for key, value in values.items():
        hint = hints[key]
        allowed = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        ok = False
        for t in allowed:
            base = typing.get_origin(t) or t
            if t is type(None):
                ok = ok or value is None
            elif base is Path:
                ok = ok or isinstance(value, str | Path)
            elif base is float:
                ok = ok or (isinstance(value, int | float) and not isinstance(value, bool))
            elif base is int:
                ok = ok or (isinstance(value, int) and not isinstance(value, bool))
            elif base is list:
                item: Any = (typing.get_args(t) or (str,))[0]
                kinds = dict if typing.get_origin(item) is dict else str | Path
                ok = ok or (isinstance(value, list) and all(isinstance(v, kinds) for v in value))
            elif base is dict:
                ok = ok or isinstance(value, dict)
            else:
                ok = ok or isinstance(value, base)
        if not ok:
            want = " or ".join("a path" if t is Path else _list_of(t) if typing.get_origin(t) is list
                               else "a table" if typing.get_origin(t) is dict else
                               "nothing" if t is type(None) else _NAMES.get(t, str(t))
                               for t in allowed)
            raise ConfigError(f"{key}: expected {want}, not {value!r}")
    if "log_level" in values and str(values["log_level"]).lower() not in (
            "debug", "info", "warning", "error", "critical"):
        raise ConfigError(f"log_level: one of debug, info, warning, error, critical, "
                          f"not {values['log_level']!r}")


# ---- users -------------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    """An RFC 7317 crypt-hash (``$6$``, server/users.py)."""
    from server.users import hash_password as crypt_hash

    return crypt_hash(password)


def verify_password(stored: str, password: str) -> bool:
    """A crypt hash (``$1$``/``$5$``/``$6$``), or the scrypt hash of an older users.json."""
    if stored.startswith("$"):
        from server.users import verify_password as crypt_verify

        return crypt_verify(stored, password)
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
