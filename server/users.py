"""yangd's logins: the ietf-system users in running (RFC 7317 §3.4), for every transport.

``/ietf-system:system/authentication/user`` in running is the one source of truth: name,
``password`` (an iana-crypt-hash) and ``authorized-key`` entries (SSH public keys). NETCONF
(password, public key) and RESTCONF (Basic, client certificates) authenticate against it, and
a user added, changed or deleted by any commit counts at once.

- A cleartext password written by a client (``$0$...``, RFC 7317 §3.4: "the server will hash
  the password") is hashed as SHA-512 crypt (``$6$``) inside the commit path of every
  transport (a datastore normalizer), so the clear value is never stored, logged or echoed.
  ``$1$``, ``$5$`` and ``$6$`` hashes verify (libpass).
- ``DATA_DIR/users.json`` (written by ``yangd users add`` / ``server.config.add_user``, no
  server needed) is an inbox: the server imports it into running with one commit at start
  and, while it runs, as soon as it appears, then keeps it as ``users.json.imported``. Going
  through the server keeps a single writer on the commit log.
- ``bootstrap_users`` from the configuration are created (hashed) when running lacks them.
- Failed logins are delayed and throttled per client address (``LoginGuard``).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import secrets
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from passlib.context import CryptContext

from datastore.path import Path as DataPath
from datastore.path import parse_path
from datastore.tree import get_at
from models.errors import YangdErrors

if TYPE_CHECKING:
    from datastore.datastores import Datastores
    from server.config import Config

__all__ = ["PASSWORD_PATH", "USERS_PATH", "LoginGuard", "User", "UserDirectory", "hash_password",
           "normalize_password", "users_for", "verify_password"]

log = logging.getLogger("yangd.users")

USERS_PATH = "/ietf-system:system/authentication/user"
PASSWORD_PATH = USERS_PATH + "/password"
# SHA-512 crypt with 100k rounds: ~60 ms here, about what a login may cost (glibc's default
# is 5000, far too few; passlib's 656000 would make every NETCONF login take half a second).
ROUNDS = 100_000
_VERIFIED_MAX = 4096  # remembered (user, password) pairs: UserDirectory.verify
_CRYPT = CryptContext(schemes=["sha512_crypt", "sha256_crypt", "md5_crypt"], default="sha512_crypt",
                      sha512_crypt__rounds=ROUNDS)


def hash_password(password: str) -> str:
    """``$6$rounds=…$salt$hash`` (SHA-512 crypt), an RFC 7317 crypt-hash."""
    return str(_CRYPT.hash(password))


def verify_password(stored: str | None, password: str) -> bool:
    """``password`` matches the ``$1$``/``$5$``/``$6$`` hash; never for an empty password."""
    if not stored or not password:
        return False
    try:
        return bool(_CRYPT.verify(password, stored))
    except (ValueError, TypeError):  # not a hash this context knows
        return False


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def normalize_password(value: Any) -> Any:
    """The ietf-system password normalizer: ``$0$clear`` → a ``$6$`` hash; others as given."""
    if isinstance(value, str) and value.startswith("$0$"):
        return hash_password(value[3:])
    return value


@dataclass(frozen=True)
class User:
    name: str
    password_hash: str | None = None
    keys: tuple[tuple[str, bytes], ...] = ()  # (algorithm, SSH wire-format public key blob)


class LoginGuard:
    """Failed logins per client address: each failure is delayed; ``limit`` failures within
    ``window`` seconds block the address for ``block`` seconds; a success forgets them."""

    def __init__(self, delay: float = 1.0, limit: int = 5, window: float = 60.0, block: float = 300.0):
        self.delay, self.limit, self.window, self.block = delay, limit, window, block
        self._fails: dict[str, deque[float]] = {}
        self._blocked: dict[str, float] = {}  # address → until (monotonic)
        self._lock = threading.Lock()

    def blocked(self, address: str) -> bool:
        with self._lock:
            until = self._blocked.get(address)
            if until is None:
                return False
            if until > time.monotonic():
                return True
            del self._blocked[address]
            return False

    def failed(self, address: str) -> bool:
        """Record a failure; True when the address is now blocked."""
        now = time.monotonic()
        with self._lock:
            fails = self._fails.setdefault(address, deque())
            fails.append(now)
            while fails and fails[0] < now - self.window:
                fails.popleft()
            if len(self._fails) > 10_000:  # bounded memory under a spray of addresses
                for a in [a for a, f in self._fails.items() if not f or f[-1] < now - self.window]:
                    del self._fails[a]
            if len(fails) >= self.limit:
                self._blocked[address] = now + self.block
                fails.clear()
                return True
            return False

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._fails.pop(address, None)


class UserDirectory:
    """The users of running (re-read when running changes), plus the users.json inbox."""

    def __init__(self, ds: Datastores, inbox: Path | None = None, guard: LoginGuard | None = None):
        self.ds = ds
        self.inbox = inbox
        self.guard = guard or LoginGuard()
        self._path: DataPath | None = None
        try:
            self._path = parse_path(ds.bundle, USERS_PATH)
        except (YangdErrors, KeyError):
            log.error("ietf-system is not loaded: nobody can log in")
        self._tree: Any = None
        self._users: dict[str, User] = {}
        self._lock = threading.RLock()  # a commit listener may look a user up during an import
        self._secret = secrets.token_bytes(32)
        self._verified: dict[bytes, str] = {}  # hmac(user, password) → the hash it matched
        self._checking: dict[bytes, threading.Lock] = {}  # pairs being checked → their lock
        self._inbox_stamp: tuple[int, int, int] | None = None  # of an inbox that failed to import

    def _fresh(self) -> dict[str, User]:
        if self.inbox is not None:
            self._poll_inbox()
        tree = self.ds.running
        if tree is not self._tree:
            users = _users_of(tree, self._path) if self._path is not None else {}
            with self._lock:
                self._tree, self._users = tree, users
        return self._users

    def get(self, name: str) -> User | None:
        return self._fresh().get(name)

    def names(self) -> list[str]:
        return sorted(self._fresh())

    def check_password(self, name: str, password: str) -> bool:
        """The full crypt check (~60 ms of CPU, on purpose: see ROUNDS)."""
        u = self.get(name)
        if u is None or not u.password_hash:  # as slow as a real check: no user enumeration
            verify_password(_dummy_hash(), password)
            return False
        return verify_password(u.password_hash, password)

    def verify(self, name: str, password: str) -> tuple[bool, bool]:
        """(the password is ``name``'s, it was checked afresh rather than remembered).

        A pair that verified lately is remembered as an HMAC under a key of this process with
        the hash it matched, so a client that logs in again and again (a script opening one
        NETCONF session per change, RESTCONF Basic on every request) costs one crypt check,
        not one per login; a changed or deleted password forgets it at once. Failures are
        never remembered. N clients arriving together with the same pair wait for the first
        check instead of each burning a crypt check of CPU.
        """
        user = self.get(name)
        if user is None or user.password_hash is None:
            return self.check_password(name, password), True
        tag = hmac.new(self._secret, f"{name}\0{password}".encode(), hashlib.sha256).digest()
        if self._known(tag, user.password_hash):
            return True, False
        with self._lock:
            slow = self._checking.setdefault(tag, threading.Lock())
        with slow:
            if self._known(tag, user.password_hash):
                return True, False
            ok = self.check_password(name, password)
            with self._lock:
                self._checking.pop(tag, None)
                if ok:
                    if len(self._verified) >= _VERIFIED_MAX:
                        self._verified.clear()
                    self._verified[tag] = user.password_hash
        return ok, True

    def _known(self, tag: bytes, password_hash: str) -> bool:
        with self._lock:
            known = self._verified.get(tag)
        return known is not None and hmac.compare_digest(known, password_hash)

    def has_key(self, name: str, algorithm: str, blob: bytes) -> bool:
        u = self.get(name)
        return u is not None and any(b == blob for _alg, b in u.keys)

    # ---- users.json inbox and bootstrap users ---------------------------------------------
    def _poll_inbox(self) -> None:
        assert self.inbox is not None
        try:
            st = self.inbox.stat()
        except OSError:
            return
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if stamp == self._inbox_stamp:
            return  # failed before; retried when the file changes
        with self._lock:
            if not self.inbox.exists():  # another thread imported it meanwhile
                return
            try:
                import_users_file(self.ds, self.inbox)
                self._inbox_stamp = None
            except Exception as e:  # keep the file and serve on; the log says why, not what
                why = (", ".join(f"{x.tag} at {x.path}" for x in e.errors) if isinstance(e, YangdErrors)
                       else str(e) if isinstance(e, (OSError, ValueError)) and not isinstance(e, YangdErrors)
                       else type(e).__name__)  # a data error's message could quote a hash
                log.error("importing %s failed: %s", self.inbox, why)
                self._inbox_stamp = stamp

    def bootstrap(self, users: dict[str, str]) -> None:
        """Create the configured users running does not have yet (one commit)."""
        missing = {n: p for n, p in users.items() if self.get(n) is None}
        if not missing:
            return
        entries = []
        for name, password in missing.items():
            if not password:
                log.error("bootstrap user %s has an empty password: not created", name)
                continue
            entries.append({"name": name, "password": hash_password(password)})
        if entries:
            _merge_users(self.ds, entries, "bootstrap users from the configuration")
            log.info("created bootstrap users: %s", ", ".join(e["name"] for e in entries))


def _users_of(tree: Any, path: DataPath) -> dict[str, User]:
    entries = get_at(tree, path)
    out: dict[str, User] = {}
    for e in entries or ():
        keys = tuple((k.algorithm or "", bytes(k.key_data or b"")) for k in (e.authorized_key or ()))
        out[e.name] = User(e.name, e.password, keys)
    return out


def _merge_users(ds: Datastores, entries: list[dict[str, Any]], comment: str) -> int | None:
    """Merge ietf-system user entries into running as one internal commit; its id, or None
    when nothing changed."""
    from datastore.datastores import CommitMeta
    from datastore.edit import apply_edit
    from models.edit import edit_from_json

    node = ds.bundle.node("/ietf-system:system")
    edits = edit_from_json(ds.bundle, node, {"authentication": {"user": entries}})
    with ds.lock:
        edits += _factory_nacm(ds, [e["name"] for e in entries])
        result = apply_edit(ds.bundle, ds.running, edits)
        if not result.changes:
            return None
        cid = ds.commit_tree(result.tree, result.changes, CommitMeta(comment=comment))
        ds.rebase_candidate()
        return cid


def _factory_nacm(ds: Datastores, admins: list[str]) -> list[Any]:
    """The factory NACM configuration (RFC 8341), written with a new install's first users:
    they form the ``admin`` group, which a permit-all rule-list lets do everything. Without
    it the YANG defaults (write deny) would leave nobody able to configure anything. Only on
    an empty datastore: a /nacm an administrator removed later is not brought back."""
    from models.edit import edit_from_json

    try:
        node = ds.bundle.node("/ietf-netconf-acm:nacm")
    except KeyError:
        return []
    if ds.nacm.factory_open or ds.head != 0 or getattr(ds.running, node.py_name, None) is not None:
        return []  # factory_open: no /nacm means no checks (not `yangd serve`)
    return edit_from_json(ds.bundle, node, {
        "groups": {"group": [{"name": "admin", "user-name": admins}]},
        "rule-list": [{"name": "admin", "group": ["admin"], "rule": [
            {"name": "permit-all", "module-name": "*", "access-operations": "*", "action": "permit",
             "comment": "factory default: the first users administer yangd"}]}]})


def import_users_file(ds: Datastores, path: Path) -> int | None:
    """Merge ``users.json`` into running (one commit), then rename it ``*.imported``.

    A password given again replaces the stored one; keys are added. A hash of yangd's old
    scrypt format has no crypt-hash form: that user is imported without it, and must be given
    a new password.
    """
    work = path.with_name(path.name + ".importing")  # also keeps a re-entrant lookup out
    path.replace(work)
    try:
        cid = _import(ds, work, path.name)
    except BaseException:
        if not path.exists():
            work.replace(path)
        raise
    work.replace(path.with_name(path.name + ".imported"))
    return cid


def _import(ds: Datastores, path: Path, name: str) -> int | None:
    import asyncssh

    from server.config import _read_users

    users = _read_users(path)
    entries: list[dict[str, Any]] = []
    for u in users.values():
        entry: dict[str, Any] = {"name": u.name}
        if u.password_hash and u.password_hash.startswith("$"):
            entry["password"] = u.password_hash
        elif u.password_hash:
            log.warning("user %s: password hash in an old format, not imported; set a new "
                        "password (yangd users add %s)", u.name, u.name)
        keys = []
        for line in u.keys:
            try:
                k = asyncssh.import_public_key(line)
            except (asyncssh.KeyImportError, ValueError):
                log.warning("user %s: unreadable SSH key skipped", u.name)
                continue
            keys.append({"name": k.get_fingerprint("sha256"), "algorithm": k.get_algorithm(),
                         "key-data": base64.b64encode(k.public_data).decode()})
        if keys:
            entry["authorized-key"] = keys
        entries.append(entry)
    cid = _merge_users(ds, entries, f"users from {name}") if entries else None
    if cid is not None:
        log.info("imported %d users from %s as commit %d", len(entries), name, cid)
    return cid


_by_ds: weakref.WeakKeyDictionary[Datastores, UserDirectory] = weakref.WeakKeyDictionary()
_by_ds_mutex = threading.Lock()


def users_for(ds: Datastores, config: Config) -> UserDirectory:
    """The user directory of one yangd, made on first use: the password normalizer
    registered, users.json imported, bootstrap users created, audit log attached."""
    from server import audit

    with _by_ds_mutex:
        d = _by_ds.get(ds)
        if d is not None:
            return d
        ds.add_normalizer(PASSWORD_PATH, normalize_password)
        guard = LoginGuard(config.login_fail_delay, config.login_fail_limit,
                           config.login_fail_window, config.login_block_time)
        d = _by_ds[ds] = UserDirectory(ds, config.users_path, guard)
        audit.attach(ds)
    d.names()  # imports users.json now
    if config.bootstrap_users:
        d.bootstrap(config.bootstrap_users)
    return d
