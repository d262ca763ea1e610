"""HTTP Basic authentication (RFC 7617) against yangd's users (server/config.py UserTable).

Password hashes are scrypt, deliberately slow (~50 ms); a successful check is remembered
for the pair (user, password) — keyed by an HMAC under a per-process secret, never the
password itself — for as long as the user's stored hash is unchanged, so a client sending
Basic credentials on every request is not slowed down, and a changed or removed user is
refused at once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading

from server.config import UserTable
from server.restconf.errors import RestconfError

__all__ = ["REALM", "Authenticator"]

REALM = "yangd"
_CACHE_MAX = 4096


def _unauthorized(message: str) -> RestconfError:
    return RestconfError.one("access-denied", message, 401,
                             headers={"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'})


class Authenticator:
    def __init__(self, users: UserTable):
        self.users = users
        self._secret = secrets.token_bytes(32)
        self._ok: dict[bytes, str] = {}  # hmac(user, password) → the stored hash it matched
        self._lock = threading.Lock()

    def user_of(self, authorization: str | None) -> str:
        """The user an Authorization header authenticates; RestconfError 401 otherwise."""
        if not authorization:
            raise _unauthorized("authentication required")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "basic" or not token.strip():
            raise _unauthorized("use HTTP Basic authentication")
        try:
            text = base64.b64decode(token.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise _unauthorized("malformed Basic credentials") from None
        name, sep, password = text.partition(":")
        if not sep or not name:
            raise _unauthorized("malformed Basic credentials")
        if not self.check(name, password):
            raise _unauthorized("bad user name or password")
        return name

    def check(self, name: str, password: str) -> bool:
        user = self.users.get(name)
        if user is None or user.password_hash is None:
            return False
        tag = hmac.new(self._secret, f"{name}\0{password}".encode(), hashlib.sha256).digest()
        with self._lock:
            known = self._ok.get(tag)
        if known is not None and hmac.compare_digest(known, user.password_hash):
            return True
        if not self.users.check_password(name, password):
            return False
        with self._lock:
            if len(self._ok) >= _CACHE_MAX:
                self._ok.clear()
            self._ok[tag] = user.password_hash
        return True
