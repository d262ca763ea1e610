"""HTTP Basic authentication (RFC 7617) against yangd's users: the ietf-system users in
running (server/users.py ``UserDirectory``).

Password hashes are SHA-512 crypt, deliberately slow (~60 ms); a successful check is remembered
for the pair (user, password) — keyed by an HMAC under a per-process secret, never the
password itself — for as long as the user's stored hash is unchanged, so a client sending
Basic credentials on every request is not slowed down, and a changed or removed user is
refused at once.

Client certificates (RFC 8040 §2.5): the connection layer (server.py) maps a verified
certificate to a user name and sets ``CERT_USER`` for every request of that connection. That
user, when it exists in the user table, is the request's user; Basic credentials are then
not needed (and not looked at). Without a certificate, or one naming no known user, Basic
authentication decides as before.

Failed logins (bad credentials, unknown user, malformed Basic) are counted per client address
by the directory's ``LoginGuard``, shared with NETCONF: an address with too many is refused
without any check for a while. The caller awaits ``after_failure`` before answering, so a
failure costs the client the configured delay without holding a thread. Logins (a password
checked afresh, a certificate user first seen) and failures are audited (server/audit.py).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import threading
import time
from contextvars import ContextVar

from server import audit
from server.restconf.errors import RestconfError
from server.users import UserDirectory

__all__ = ["CERT_USER", "REALM", "Authenticator"]

REALM = "yangd"
_CACHE_MAX = 4096

#: The user the client certificate of the current request's connection maps to.
CERT_USER: ContextVar[str | None] = ContextVar("restconf_cert_user", default=None)


_CERT_LOG_EVERY = 300.0  # seconds: a certificate user's requests are audited as one login


def _unauthorized(message: str, failed: bool = False) -> RestconfError:
    e = RestconfError.one("access-denied", message, 401,
                          headers={"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'})
    e.login_failed = failed  # type: ignore[attr-defined]
    return e


class Authenticator:
    def __init__(self, users: UserDirectory):
        self.users = users
        self._cert_seen: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def user_of(self, authorization: str | None, address: str = "") -> str:
        """The user a client certificate or an Authorization header authenticates;
        RestconfError 401 otherwise. ``address``: the client's IP (failures are counted by it)."""
        by_cert = CERT_USER.get()
        if by_cert is not None and self.users.get(by_cert) is not None:
            self._cert_login(by_cert, address)
            return by_cert
        if not authorization:
            raise _unauthorized("authentication required")
        guard = self.users.guard
        if guard.blocked(address):
            audit.login("", "restconf", address, "refused", reason="too many failed logins")
            raise _unauthorized("too many failed logins from this address: try again later")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "basic" or not token.strip():
            raise _unauthorized("use HTTP Basic authentication")
        try:
            text = base64.b64decode(token.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            text = ""
        name, sep, password = text.partition(":")
        if not sep or not name:
            self._failed("", address, "malformed Basic credentials")
            raise _unauthorized("malformed Basic credentials", True)
        if not self.check(name, password, address):
            self._failed(name, address, None)
            raise _unauthorized("bad user name or password", True)
        guard.succeeded(address)
        return name

    def _failed(self, name: str, address: str, reason: str | None) -> None:
        blocked = self.users.guard.failed(address)
        audit.login(name, "restconf", address, "failed", "basic",
                    reason or ("now blocked" if blocked else None))

    def _cert_login(self, user: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            last = self._cert_seen.get((user, address))
            if last is not None and now - last < _CERT_LOG_EVERY:
                return
            if len(self._cert_seen) >= _CACHE_MAX:
                self._cert_seen.clear()
            self._cert_seen[(user, address)] = now
        audit.login(user, "restconf", address, "ok", "certificate")

    async def after_failure(self, exc: BaseException) -> None:
        """Await the failed-login delay when ``exc`` is a failed login (not a missing one)."""
        if getattr(exc, "login_failed", False):
            await asyncio.sleep(self.users.guard.delay)

    def check(self, name: str, password: str, address: str = "") -> bool:
        ok, fresh = self.users.verify(name, password)
        if ok and fresh:  # a password checked afresh: a login
            audit.login(name, "restconf", address, "ok", "basic")
        return ok
