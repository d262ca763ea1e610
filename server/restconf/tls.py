"""TLS for RESTCONF (RFC 8040 §2.1: HTTPS only): the operator's certificate, or a
self-signed one generated on first start and kept in the data directory.

The generated key is ECDSA P-256 (file mode 0600); the certificate names localhost,
127.0.0.1 and ::1 plus the host name, and is valid for ten years. ``server_context``
requires TLS 1.2 or later, with ECDHE and AES-GCM or ChaCha20-Poly1305 only; given a CA file it asks clients for a certificate (optional: a
client without one may still use Basic auth, RFC 8040 §2.5) and ``peer_common_name`` reads
the subject CN of a certificate that CA verified.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["CERT_FILE", "KEY_FILE", "ensure_certificate", "peer_common_name", "server_context"]

CERT_FILE = "restconf-cert.pem"
KEY_FILE = "restconf-key.pem"
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"


def ensure_certificate(data_dir: Path) -> tuple[Path, Path]:
    """``(cert, key)`` in ``data_dir``, generating a self-signed pair if either is missing."""
    cert_path, key_path = data_dir / CERT_FILE, data_dir / KEY_FILE
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    data_dir.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    host = socket.gethostname() or "localhost"
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "yangd self-signed")])
    alt: list[x509.GeneralName] = [x509.DNSName("localhost"),
                                   x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                   x509.IPAddress(ipaddress.ip_address("::1"))]
    if host != "localhost":
        alt.append(x509.DNSName(host))
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    _write(key_path, key_pem, 0o600)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert_path, key_path


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def server_context(cert: Path, key: Path, client_ca: Path | None = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    # TLS 1.2: forward secrecy and AEAD only (RFC 7525 §4.2, Mozilla "intermediate"); TLS
    # 1.3's own suites are all AEAD and stay OpenSSL's defaults
    ctx.set_ciphers(TLS12_CIPHERS)
    ctx.options |= (ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION | ssl.OP_CIPHER_SERVER_PREFERENCE
                    | ssl.OP_SINGLE_ECDH_USE)
    ctx.load_cert_chain(str(cert), str(key))
    if client_ca is not None:
        ctx.load_verify_locations(cafile=str(client_ca))
        # CERT_OPTIONAL: a certificate that is sent must verify (else the handshake fails),
        # but none need be sent
        ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


def peer_common_name(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> str | None:
    """The subject CN of the client's verified certificate, None without one."""
    if ssl_object is None:
        return None
    cert = ssl_object.getpeercert()  # {} or None when no certificate was sent
    if not cert:
        return None
    for rdn in cert.get("subject", ()):
        for attr in rdn:
            if attr[0] == "commonName" and isinstance(attr[1], str) and attr[1]:
                return attr[1]
    return None
