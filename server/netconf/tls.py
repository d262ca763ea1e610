"""NETCONF over TLS (RFC 7589) with mutual X.509 authentication, beside NETCONF over SSH.

Off unless ``netconf_tls_listen`` is set (port 6513 by default, RFC 7589 §8). The server's
certificate is ``netconf_tls_cert``/``netconf_tls_key``, else RESTCONF's (the configured or
the generated self-signed one, server/restconf/tls.py, whose context settings apply: TLS 1.2
or later, ECDHE with AEAD only). A client must present a certificate that
``netconf_tls_client_ca`` verifies (RFC 7589 §5), else the handshake fails.

The NETCONF user name is derived from the client's certificate with the RFC 7407 cert-to-name
list (RFC 7589 §7, ``netconf_tls_cert_to_name``): entries are tried in ``id`` order; one
whose fingerprint is that of the client certificate or of a CA certificate of its verified
chain matches, and its map type derives the name from the *client* certificate; an entry
whose map type yields nothing (say, no such subjectAltName) lets the next one try. No name →
the connection is closed before any NETCONF message (§7); a name that is no yangd user
(server/users.py) is refused the same way. Both, and every failed handshake, are audited
(``login`` result failed, method certificate), naming the client certificate's SHA-256
fingerprint in the form the configuration takes. Both also count as failed logins of the
client's address (server/users.py ``LoginGuard``, shared with SSH): too many, and the address
is closed before the handshake for a while.

Once a user is known, the connection is one ``NetconfSession``, as an SSH ``netconf``
channel is: the same capabilities, the same framing (RFC 7589 §3 → RFC 6242 §4), the same
session limits (refused with a close instead of SSH's channel-open failure). Monitoring
reports the session with the ``netconf-tls`` transport identity (RFC 6022).
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from server import audit
from server.config import Config, ConfigError
from server.netconf.server import session_limit
from server.netconf.session import NetconfSession
from server.restconf.tls import ensure_certificate, server_context
from server.users import UserDirectory, users_for

if TYPE_CHECKING:
    from server.netconf.server import Server

__all__ = ["DEFAULT_PORT", "MAP_TYPES", "CertToName", "TlsListener", "cert_to_name",
           "fingerprint", "map_name", "parse_fingerprint", "start_tls", "tls_context",
           "verified_chain"]

log = logging.getLogger("yangd.netconf.tls")

DEFAULT_PORT = 6513  # RFC 7589 §8
# The TLS HashAlgorithm registry (RFC 5246 §7.4.1.4.1), the first octet of a tls-fingerprint
# (RFC 7407 §4); 0 (none) and 7 (intrinsic) name no hash a fingerprint could use.
HASHES = {1: "md5", 2: "sha1", 3: "sha224", 4: "sha256", 5: "sha384", 6: "sha512"}
MAP_TYPES = ("specified", "san-rfc822-name", "san-dns-name", "san-ip-address", "san-any",
             "common-name")
_HANDSHAKE_TIMEOUT = 60.0  # seconds; hello_timeout when set (0 there means no hello limit)
# Plaintext per TLS record we send. ncclient's TLS transport (0.7.1) reads 4096 bytes each
# time its socket is readable and never asks OpenSSL for what it has decrypted already: the
# rest of a larger record would wait for bytes that never come (the reply hangs). A record
# of at most 4096 bytes is read whole; the cost is ~0.5% more bytes on the wire.
_RECORD = 4096


# ---- the cert-to-name list (RFC 7407 §4) ------------------------------------------------------

@dataclass(frozen=True)
class CertToName:
    id: int
    fingerprint: bytes  # the hash algorithm octet, then the digest
    map_type: str  # one of MAP_TYPES
    name: str | None = None  # map type "specified" only


def parse_fingerprint(text: str) -> bytes:
    """A tls-fingerprint ``HH:HH:...`` (RFC 7407 §4): the first octet a TLS HashAlgorithm
    (1 md5 .. 6 sha512), then that hash's digest; ValueError otherwise."""
    parts = text.strip().split(":")
    try:
        if not all(len(p) == 2 for p in parts):
            raise ValueError
        raw = bytes(int(p, 16) for p in parts)
    except ValueError:
        raise ValueError(f"{text!r} is not a tls-fingerprint (hex octets separated by ':', "
                         "e.g. 04:1a:2b:...)") from None
    algorithm = HASHES.get(raw[0])
    if algorithm is None:
        raise ValueError(f"{text!r}: first octet {raw[0]} is no hash algorithm (1 md5, 2 sha1, "
                         "3 sha224, 4 sha256, 5 sha384, 6 sha512)")
    size = hashlib.new(algorithm).digest_size
    if len(raw) - 1 != size:
        raise ValueError(f"{text!r}: a {algorithm} fingerprint has {size} octets after the "
                         f"first, not {len(raw) - 1}")
    return raw


def fingerprint(der: bytes, algorithm: int = 4) -> bytes:
    """The tls-fingerprint of a DER certificate with the given hash (default SHA-256)."""
    return bytes([algorithm]) + hashlib.new(HASHES[algorithm], der).digest()


def format_fingerprint(fp: bytes) -> str:
    return ":".join(f"{b:02x}" for b in fp)


def cert_to_name(entries: Sequence[Any]) -> list[CertToName]:
    """The configuration's ``netconf_tls_cert_to_name`` tables, checked, in id order;
    ConfigError naming the entry and key."""
    out: dict[int, CertToName] = {}
    for i, e in enumerate(entries):
        where = f"netconf_tls_cert_to_name[{i}]"
        if not isinstance(e, dict):
            raise ConfigError(f"{where}: expected a table with id, fingerprint, map_type (and name)")
        unknown = sorted(set(e) - {"id", "fingerprint", "map_type", "name"})
        if unknown:
            raise ConfigError(f"{where}: unknown keys {', '.join(unknown)} (id, fingerprint, map_type, name)")
        ident = e.get("id")
        if isinstance(ident, bool) or not isinstance(ident, int) or not 0 <= ident <= 0xFFFFFFFF:
            raise ConfigError(f"{where}: id: expected an integer 0..4294967295 (entries are tried "
                              f"in id order), not {ident!r}")
        if ident in out:
            raise ConfigError(f"{where}: id {ident} is used twice")
        fp = e.get("fingerprint")
        if not isinstance(fp, str):
            raise ConfigError(f"{where}: fingerprint: expected a string like \"04:1a:2b:...\", not {fp!r}")
        try:
            raw = parse_fingerprint(fp)
        except ValueError as err:
            raise ConfigError(f"{where}: fingerprint: {err}") from None
        map_type = e.get("map_type")
        if isinstance(map_type, str):  # the YANG identity's qualified forms too
            map_type = map_type.rpartition(":")[2]
        if map_type not in MAP_TYPES:
            raise ConfigError(f"{where}: map_type: one of {', '.join(MAP_TYPES)}, not {e.get('map_type')!r}")
        name = e.get("name")
        if map_type == "specified":  # RFC 7407: name is mandatory exactly for specified
            if not isinstance(name, str) or not name:
                raise ConfigError(f"{where}: name: map_type specified needs the user name")
        elif name is not None:
            raise ConfigError(f"{where}: name: only with map_type specified (map_type {map_type} "
                              "takes the name from the certificate)")
        out[ident] = CertToName(ident, raw, map_type, name)
    return [out[k] for k in sorted(out)]


def map_name(entries: Sequence[CertToName], chain: Sequence[bytes]) -> tuple[str | None, int | None]:
    """``(name, entry id)`` for a verified chain (DER, the client certificate first), or
    ``(None, None)`` when no entry both matches and yields a name (RFC 7407 §4)."""
    if not chain:
        return None, None
    digests: dict[int, set[bytes]] = {}
    leaf: x509.Certificate | None = None
    for entry in entries:
        algorithm = entry.fingerprint[0]
        known = digests.get(algorithm)
        if known is None:
            known = digests[algorithm] = {fingerprint(der, algorithm) for der in chain}
        if entry.fingerprint not in known:
            continue
        if entry.map_type == "specified":
            return entry.name, entry.id
        if leaf is None:
            leaf = x509.load_der_x509_certificate(chain[0])
        name = _name_from(leaf, entry.map_type)
        if name:
            return name, entry.id
    return None, None


def _name_from(cert: x509.Certificate, map_type: str) -> str | None:
    """The name a map type derives from the client certificate (RFC 7407 identities)."""
    if map_type == "common-name":
        # the subject's CN as UTF-8; two CNs would make the name ambiguous: none then
        cns = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        return cns[0] if len(cns) == 1 and isinstance(cns[0], str) else None
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return None
    except ValueError:  # a malformed extension: nothing to go on
        return None
    for gn in ext.value:  # the first of the wanted kind, in the certificate's order
        if isinstance(gn, x509.RFC822Name) and map_type in ("san-rfc822-name", "san-any"):
            # the local part as it is, the host part in lowercase
            local, at, host = gn.value.rpartition("@")
            return f"{local}@{host.lower()}" if at else gn.value.lower()
        if isinstance(gn, x509.DNSName) and map_type in ("san-dns-name", "san-any"):
            return gn.value.lower()
        if isinstance(gn, x509.IPAddress) and map_type in ("san-ip-address", "san-any"):
            ip = gn.value
            if isinstance(ip, ipaddress.IPv4Address):
                return str(ip)  # dotted quad
            if isinstance(ip, ipaddress.IPv6Address):
                return ip.packed.hex()  # 32 lowercase hex digits, no colons
    return None


def verified_chain(ssl_object: Any) -> list[bytes]:
    """The client's verified chain as DER, the client certificate first, its trust anchor
    last. Python 3.13 has ``SSLObject.get_verified_chain()``; 3.10 to 3.12 have it on the
    private ``_sslobj`` (an ``_ssl.Certificate`` list). Without either: the client
    certificate only (CA fingerprints then match nothing)."""
    if ssl_object is None:
        return []
    inner = getattr(ssl_object, "_sslobj", None)
    getter = getattr(inner, "get_verified_chain", None) or getattr(ssl_object, "get_verified_chain", None)
    if getter is not None:
        import _ssl

        certs = getter() or []
        return [c if isinstance(c, bytes) else c.public_bytes(_ssl.ENCODING_DER) for c in certs]
    leaf = ssl_object.getpeercert(binary_form=True)
    return [leaf] if leaf else []


# ---- the listener ------------------------------------------------------------------------------

def tls_context(config: Config) -> ssl.SSLContext:
    """The server context: the RESTCONF settings (server/restconf/tls.py), a client
    certificate required; ConfigError for a missing CA or an unusable file."""
    if config.netconf_tls_client_ca is None:
        raise ConfigError("netconf_tls_client_ca: required with netconf_tls_listen (RFC 7589 §5: "
                          "clients authenticate with a certificate this CA verifies)")
    cert: Path | None = config.netconf_tls_cert
    key: Path | None = config.netconf_tls_key
    if cert is None or key is None:
        cert, key = config.restconf_cert, config.restconf_key
    if cert is None or key is None:
        cert, key = ensure_certificate(config.data_dir)
    try:
        ctx = server_context(cert, key, config.netconf_tls_client_ca)
    except (OSError, ssl.SSLError) as e:
        raise ConfigError(f"NETCONF over TLS: {e}") from None
    ctx.verify_mode = ssl.CERT_REQUIRED  # mutual authentication, RFC 7589 §5
    return ctx


class TlsListener:
    """The NETCONF/TLS listening socket and the handshakes under way."""

    def __init__(self, server: Server, ctx: ssl.SSLContext, users: UserDirectory) -> None:
        self.server = server
        self.ctx = ctx
        self.users = users
        self.entries = cert_to_name(server.config.netconf_tls_cert_to_name)
        self.sock: asyncio.Server | None = None
        self.pending: set[asyncio.Task[None]] = set()
        hello = server.config.hello_timeout
        self.handshake_timeout = hello if hello > 0 else _HANDSHAKE_TIMEOUT

    @property
    def port(self) -> int:
        if self.sock is None or not self.sock.sockets:
            return 0
        return int(self.sock.sockets[0].getsockname()[1])

    def accepted(self) -> asyncio.Protocol:
        return _Accepted(self)

    async def handshake(self, tcp: asyncio.Transport) -> None:
        """TLS on an accepted TCP connection, then the user, then the session. The handshake
        is ours (``start_tls``, not ``create_server(ssl=...)``) so a refused one is audited."""
        peer = _peer(tcp.get_extra_info("peername"))
        guard = self.users.guard
        address = _address(tcp.get_extra_info("peername"))
        if guard.blocked(address):  # as for SSH logins: too many failures from there lately
            audit.login("", "netconf", peer, "refused", "certificate", "too many failed logins")
            tcp.close()
            return
        conn = _Connection(self.server)
        loop = asyncio.get_running_loop()
        try:
            tls = await loop.start_tls(tcp, conn, self.ctx, server_side=True,
                                       ssl_handshake_timeout=self.handshake_timeout)
        except ssl.SSLError as e:  # no, an untrusted or a bad certificate; an old TLS version
            why = getattr(e, "verify_message", None) or e.reason or str(e)
            blocked = guard.failed(address)
            audit.login("", "netconf", peer, "failed", "certificate", f"TLS handshake: {why}"
                        + ("; now blocked" if blocked else ""))
            return
        except (OSError, EOFError) as e:  # gone or silent before the handshake ended
            log.debug("TLS handshake with %s ended: %s", peer, e)
            tcp.close()
            return
        if tls is None:  # start_tls' type allows it; a server side handshake gives a transport
            tcp.close()
            return
        try:
            outcome = await conn.identify(tls, peer, self)
            if outcome == "ok":
                guard.succeeded(address)
            elif outcome == "failed":  # no name, or no such user: a failed login
                guard.failed(address)
        except asyncio.CancelledError:  # the server is closing
            tls.close()
            raise

    async def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            await self.sock.wait_closed()
            self.sock = None
        for t in list(self.pending):
            t.cancel()
        if self.pending:
            await asyncio.wait(list(self.pending), timeout=5)


class _Accepted(asyncio.Protocol):
    """A TCP connection before TLS: nothing is read until the handshake takes it over."""

    def __init__(self, listener: TlsListener) -> None:
        self.listener = listener

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        # else the ClientHello could reach this protocol before start_tls takes the transport
        transport.pause_reading()
        task = asyncio.get_running_loop().create_task(self.listener.handshake(transport))
        self.listener.pending.add(task)
        task.add_done_callback(self.listener.pending.discard)


class _Connection(asyncio.Protocol):
    """One TLS connection: the Transport of one NETCONF session."""

    monitoring_transport = "netconf-tls"  # RFC 6022 transport identity (monitoring.py)

    def __init__(self, server: Server) -> None:
        self.server = server
        self.tls: asyncio.Transport | None = None
        self.nc: NetconfSession | None = None
        # bytes decrypted with the end of the handshake, before the session exists: the
        # client's hello may come in the same flight as its Finished (TLS 1.3)
        self.early: list[bytes] = []
        self.lost = False
        self.writable = asyncio.Event()  # clear while the client does not read (flow control)
        self.writable.set()

    async def identify(self, tls: asyncio.Transport, peer: str, listener: TlsListener) -> str:
        """The user the certificate maps to (RFC 7589 §7), then the session; else closed.
        "ok", "failed" (a certificate that names no user: a failed login) or "refused"."""
        self.tls = tls
        tls.pause_reading()  # until the session exists: no unbounded ``early``
        chain = verified_chain(tls.get_extra_info("ssl_object"))
        client_fp = format_fingerprint(fingerprint(chain[0])) if chain else "?"
        try:
            name, entry = map_name(listener.entries, chain)
        except ValueError as e:  # OpenSSL verified it, but cryptography cannot read it
            self._refuse("", peer, f"certificate {client_fp} not readable: {e}")
            return "failed"
        if name is None:
            self._refuse("", peer, f"no cert-to-name entry maps certificate {client_fp}")
            return "failed"
        # in a thread: the lookup may import users.json, which commits
        known = await asyncio.to_thread(listener.users.get, name)
        if known is None:
            self._refuse(name, peer, f"certificate {client_fp} maps to {name!r} (cert-to-name "
                                     f"entry {entry}), no yangd user")
            return "failed"
        if self.lost:
            return "refused"
        why = session_limit(self.server, name)
        if why is not None:
            log.warning("session refused for %s: %s", name, why)
            audit.login(name, "netconf", peer, "refused", "certificate", why)
            tls.close()
            return "refused"
        audit.login(name, "netconf", peer, "ok", "certificate")
        log.info("TLS client %s: user %s (cert-to-name entry %s)", peer, name, entry)
        self.nc = NetconfSession(self.server, self, name, peer)
        self.nc.start()
        tls.resume_reading()  # takes effect on the next loop turn: the session may pause again
        early, self.early = self.early, []
        for data in early:
            self.nc.data_received(data)
        return "ok"

    def _refuse(self, name: str, peer: str, why: str) -> None:
        audit.login(name, "netconf", peer, "failed", "certificate", why)
        self.lost = True
        self.early.clear()
        if self.tls is not None:
            self.tls.close()  # RFC 7589 §7: close, no NETCONF message

    # asyncio.Protocol
    def data_received(self, data: bytes) -> None:
        if self.nc is not None:
            self.nc.data_received(data)
        elif not self.lost:
            self.early.append(data)

    def eof_received(self) -> bool:
        self._gone()
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.writable.set()  # nothing to wait for any more
        self._gone()

    def _gone(self) -> None:
        self.lost = True
        self.early.clear()
        if self.nc is not None:
            self.nc.connection_lost()

    # the TLS transport's send buffer is over (under) its high-water mark
    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    # Transport (session.py)
    async def drain(self) -> None:
        """Until the client has read enough of what was written (session.py waits on it
        before each operation, so a client that never reads cannot grow our buffers)."""
        await self.writable.wait()

    def pause_reading(self) -> None:
        if self.tls is not None and not self.tls.is_closing():
            self.tls.pause_reading()

    def resume_reading(self) -> None:
        if self.tls is not None and not self.tls.is_closing():
            self.tls.resume_reading()

    def write(self, data: bytes) -> None:
        if self.tls is None or self.tls.is_closing():
            return
        if len(data) <= _RECORD:
            self.tls.write(data)
            return
        # one TLS record per piece (the SSL transport writes each with its own SSL_write)
        view = memoryview(data)
        self.tls.writelines([view[i:i + _RECORD] for i in range(0, len(data), _RECORD)])

    def close(self) -> None:
        self.writable.set()  # a session waiting to write ends now
        if self.tls is not None:
            self.tls.close()  # after what is buffered, with a close_notify


def _address(peername: Any) -> str:
    """The client's IP: what failed logins are counted by (server/users.py LoginGuard)."""
    return str(peername[0]) if peername else ""


def _peer(peername: Any) -> str:
    return f"{peername[0]}:{peername[1]}" if peername else ""


async def start_tls(server: Server, host: str, port: int) -> TlsListener:
    """Listen for NETCONF over TLS; ConfigError for an unusable configuration, OSError if
    the address cannot be bound."""
    ctx = tls_context(server.config)
    users = await asyncio.to_thread(users_for, server.datastores, server.config)
    listener = TlsListener(server, ctx, users)
    if not listener.entries:
        raise ConfigError("netconf_tls_cert_to_name: no entry, so no client certificate could "
                          "name a user (RFC 7589 §7)")
    loop = asyncio.get_running_loop()
    listener.sock = await loop.create_server(listener.accepted, host, port)
    return listener
