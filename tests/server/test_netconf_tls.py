"""NETCONF over TLS (RFC 7589): ncclient ``connect_tls`` against a real yangd, the RFC 7407
cert-to-name mapping (fingerprints of the client certificate and of CA certificates of its
verified chain, every map type, id order), refusals (no, untrusted or unmapped certificate,
unknown user, TLS 1.1, session limits) audited, bad framing, and ``yangd serve
--netconf-tls-listen`` as a subprocess. Certificates are made here with ``cryptography``."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import logging
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from lxml import etree
from ncclient import manager
from ncclient.transport.errors import SessionCloseError, TransportError

from server.config import ConfigError, load_config
from server.netconf.framing import Decoder, encode_chunked, encode_eom
from server.netconf.monitoring import NCM
from server.netconf.tls import (
    cert_to_name,
    fingerprint,
    format_fingerprint,
    map_name,
    parse_fingerprint,
)
from tests.server.conftest import PASSWORD, USER, Running, connect, free_port, netconf_server
from tests.server.helpers import NC

REPO = Path(__file__).resolve().parents[2]
YANGD = str(Path(sys.executable).with_name("yangd"))
IF_NS = "urn:ietf:params:xml:ns:yang:ietf-interfaces"
HELLO_11 = (f'<hello xmlns="{NC}"><capabilities><capability>urn:ietf:params:netconf:base:1.1'
            "</capability></capabilities></hello>").encode()


# ---- certificates ----------------------------------------------------------------------------

@dataclass
class Cert:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    issuer: Cert | None = None

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def fp(self) -> str:
        """SHA-256 tls-fingerprint, the form the configuration takes."""
        return format_fingerprint(fingerprint(self.der))

    def write(self, where: Path, name: str) -> tuple[Path, Path]:
        """``name.crt`` (this certificate, then the intermediates up to the root, which the
        server holds) and ``name.key``."""
        chain, c = [], self
        while c is not None and c.issuer is not None:
            chain.append(c.cert.public_bytes(serialization.Encoding.PEM))
            c = c.issuer
        if not chain:
            chain.append(self.cert.public_bytes(serialization.Encoding.PEM))
        cert_path, key_path = where / f"{name}.crt", where / f"{name}.key"
        cert_path.write_bytes(b"".join(chain))
        key_path.write_bytes(self.key.private_bytes(serialization.Encoding.PEM,
                                                    serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
        return cert_path, key_path


def issue(cn: str | list[str], issuer: Cert | None = None, ca: bool = False,
          san: list[x509.GeneralName] | None = None) -> Cert:
    key = ec.generate_private_key(ec.SECP256R1())
    cns = [cn] if isinstance(cn, str) else cn
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, c) for c in cns])
    now = dt.datetime.now(dt.UTC)
    b = (x509.CertificateBuilder().subject_name(subject)
         .issuer_name(issuer.cert.subject if issuer else subject)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - dt.timedelta(minutes=5))
         .not_valid_after(now + dt.timedelta(days=1))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        b = b.add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                          content_commitment=False, key_encipherment=False,
                                          data_encipherment=False, key_agreement=False,
                                          encipher_only=False, decipher_only=False), critical=True)
    else:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    if san:
        b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return Cert(b.sign(issuer.key if issuer else key, hashes.SHA256()), key, issuer)


def spec(id: int, cert: Cert, map_type: str, name: str | None = None) -> dict[str, Any]:
    e: dict[str, Any] = {"id": id, "fingerprint": cert.fp, "map_type": map_type}
    if name is not None:
        e["name"] = name
    return e


@dataclass
class Pki:
    root: Cert
    inter: Cert  # an intermediate CA under root: clients send it, the server holds only root
    ca_file: Path
    where: Path

    def client(self, name: str, cn: str | list[str] | None = None,
               san: list[x509.GeneralName] | None = None, under_root: bool = False) -> tuple[Cert, tuple[Path, Path]]:
        c = issue(cn or name, self.root if under_root else self.inter, san=san)
        return c, c.write(self.where, name)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    where = tmp_path_factory.mktemp("pki")
    root = issue("yangd test root CA", ca=True)
    inter = issue("yangd test issuing CA", root, ca=True)
    ca_file = where / "ca.pem"
    ca_file.write_bytes(root.cert.public_bytes(serialization.Encoding.PEM))
    return Pki(root, inter, ca_file, where)


# ---- a server and clients --------------------------------------------------------------------

@pytest.fixture(autouse=True)
def _ncclient_tls_close(monkeypatch: pytest.MonkeyPatch) -> None:
    """ncclient 0.7.1's ``TLSSession.close()`` closes the socket under its reader thread: a
    socket opened next may get the same descriptor, which the dead session's SSL object then
    reads or writes (bad record MAC on either side, about one connection in 200 here; none
    in 400 with this). Close once the reader has ended, as it does at the server's close
    after close-session. The server is untouched."""
    from ncclient.transport.tls import TLSSession

    inner = TLSSession.close

    def close(self: Any) -> None:
        self._closing.set()
        if threading.current_thread() is not self and self.is_alive():
            self.join(5)
        inner(self)

    monkeypatch.setattr(TLSSession, "close", close)


@contextmanager
def tls_server(tmp_path: Path, pki: Pki, entries: list[dict[str, Any]],
               users: dict[str, str] | None = None, **kw: Any) -> Iterator[Running]:
    with netconf_server(tmp_path, users=users, netconf_tls_listen="127.0.0.1:0",
                        netconf_tls_client_ca=pki.ca_file, netconf_tls_cert_to_name=entries,
                        **kw) as run:
        assert run.server.tls_port > 0
        yield run


def nc_tls(run: Running, cert: tuple[Path, Path], port: int | None = None) -> Any:
    return manager.connect_tls(host="127.0.0.1", port=port or run.server.tls_port,
                               certfile=str(cert[0]), keyfile=str(cert[1]),
                               ca_certs=str(run.data_dir / "restconf-cert.pem"),
                               protocol=ssl.PROTOCOL_TLS_CLIENT, timeout=10)


def client_context(run: Running, cert: tuple[Path, Path] | None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(run.data_dir / "restconf-cert.pem"))
    if cert is not None:
        ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    return ctx


def raw_tls(run: Running, cert: tuple[Path, Path] | None, ctx: ssl.SSLContext | None = None) -> ssl.SSLSocket:
    sock = socket.create_connection(("127.0.0.1", run.server.tls_port), timeout=10)
    return (ctx or client_context(run, cert)).wrap_socket(sock, server_hostname="127.0.0.1")


def read_all(s: ssl.SSLSocket) -> bytes:
    """Everything the server sends until it closes (close_notify or EOF)."""
    got = b""
    while data := s.recv(65536):
        got += data
    return got


def handshake_refused(run: Running, ctx: ssl.SSLContext) -> bool:
    """The server ends the connection in or right after the handshake, before any NETCONF
    byte. (asyncio closes the socket without flushing OpenSSL's alert, so the client sees an
    EOF where a certificate_required or protocol_version alert would be.)"""
    try:
        with raw_tls(run, None, ctx) as s:  # TLS 1.3: the client's side of the handshake succeeds
            s.sendall(encode_eom(HELLO_11))
            return read_all(s) == b""
    except (ssl.SSLError, ConnectionError):
        return True


def audit_lines(caplog: pytest.LogCaptureFixture, *words: str, timeout: float = 5) -> list[str]:
    """The audit login lines holding all ``words`` (waited for: the server audits on its loop)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [r.getMessage() for r in caplog.records
                 if r.name == "yangd.audit" and r.getMessage().startswith("audit login")]
        hits = [ln for ln in lines if all(w in ln for w in words)]
        if hits or time.monotonic() > deadline:
            return hits
        time.sleep(0.05)


def sessions(m: Any) -> list[dict[str, str]]:
    flt = f'<filter type="subtree"><netconf-state xmlns="{NCM}"><sessions/></netconf-state></filter>'
    root = etree.fromstring(m.get(filter=flt).xml.encode())
    return [{etree.QName(c).localname: (c.text or "") for c in s}
            for s in root.iter(f"{{{NCM}}}session")]


# ---- ncclient over TLS -----------------------------------------------------------------------

def test_ncclient_over_tls_hello_edit_commit_and_monitoring(tmp_path: Path, pki: Pki,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="yangd.audit")
    robot, robot_files = pki.client("robot", cn="robot-17")
    with tls_server(tmp_path, pki, [spec(1, robot, "specified", "ops")], users={"ops": "ops-pw"}) as run:
        with nc_tls(run, robot_files) as m, connect(run) as ssh:
            # the same capabilities as over SSH (RFC 7589 adds none)
            assert set(m.server_capabilities) == set(ssh.server_capabilities)
            assert "urn:ietf:params:netconf:base:1.1" in m.server_capabilities
            m.edit_config(target="candidate", config=f"""<config xmlns="{NC}">
              <interfaces xmlns="{IF_NS}" xmlns:ianaift="urn:ietf:params:xml:ns:yang:iana-if-type">
                <interface><name>eth7</name><type>ianaift:ethernetCsmacd</type></interface>
              </interfaces></config>""")
            m.commit()
            assert "<name>eth7</name>" in m.get_config(source="running").data_xml
            assert "<name>eth7</name>" in ssh.get_config(source="running").data_xml  # one datastore
            # a reply of many TLS records (ncclient reads 4096 bytes per readiness: tls.py _RECORD)
            for flt in (None, ("subtree", f'<netconf-state xmlns="{NCM}"/>')):
                data = m.get(filter=flt).data_xml
                assert len(data) > 4096 and "ietf-netconf-monitoring" in data
            rows = {r["session-id"]: r for r in sessions(ssh)}
            tls_row = rows[str(m.session_id)]
            assert tls_row["transport"].endswith(":netconf-tls") and tls_row["username"] == "ops"
            assert tls_row["source-host"] == "127.0.0.1"
            ssh_row = rows[str(ssh.session_id)]
            assert ssh_row["transport"].endswith(":netconf-ssh") and ssh_row["username"] == USER
        assert audit_lines(caplog, "result=ok", "user=ops", "method=certificate")
        commits = [r.getMessage() for r in caplog.records if r.getMessage().startswith("audit commit")]
        assert any("user=ops" in c and "transport=netconf" in c for c in commits), commits


# ---- cert-to-name (RFC 7407) -------------------------------------------------------------------

def test_map_name_every_map_type_and_id_order(pki: Pki) -> None:
    leaf, _ = pki.client("mapper", cn="Carol", san=[
        x509.DNSName("Router-7.Example.NET"),
        x509.RFC822Name("FooBar@Example.COM"),
        x509.IPAddress(ipaddress.ip_address("192.0.2.1")),
        x509.IPAddress(ipaddress.ip_address("2001:db8::1"))])
    chain = [leaf.der, pki.inter.der, pki.root.der]

    def name(*entries: dict[str, Any]) -> tuple[str | None, int | None]:
        return map_name(cert_to_name(list(entries)), chain)

    assert name(spec(1, leaf, "specified", "alice")) == ("alice", 1)
    # a CA's fingerprint (intermediate or root): the name comes from the client certificate
    assert name(spec(1, pki.inter, "common-name")) == ("Carol", 1)
    assert name(spec(1, pki.root, "san-rfc822-name")) == ("FooBar@example.com", 1)
    assert name(spec(1, pki.root, "san-dns-name")) == ("router-7.example.net", 1)
    assert name(spec(1, pki.root, "san-ip-address")) == ("192.0.2.1", 1)
    assert name(spec(1, pki.root, "san-any")) == ("router-7.example.net", 1)  # the first in the certificate
    # entries are tried in id order, not list order; the first that yields a name wins
    assert name(spec(9, leaf, "specified", "late"), spec(3, pki.root, "common-name")) == ("Carol", 3)
    # a matching entry whose map type yields nothing lets the next one try
    bare, _ = pki.client("bare")
    bare_chain = [bare.der, pki.inter.der, pki.root.der]
    entries = cert_to_name([spec(1, pki.root, "san-any"), spec(2, pki.root, "common-name")])
    assert map_name(entries, bare_chain) == ("bare", 2)
    # a fingerprint of no certificate of the chain: no name
    stranger = issue("stranger CA", ca=True)
    assert name(spec(1, stranger, "common-name")) == (None, None)
    # two subject CNs are ambiguous: no name from common-name
    two, _ = pki.client("two", cn=["a", "b"])
    assert map_name(cert_to_name([spec(1, pki.root, "common-name")]), [two.der, pki.inter.der]) == (None, None)
    # IPv6: 32 lowercase hex digits; other hash algorithms (sha1, sha512) match as well
    v6, _ = pki.client("v6", san=[x509.IPAddress(ipaddress.ip_address("2001:db8::1"))])
    sha1 = format_fingerprint(fingerprint(pki.root.der, 2))
    entry = {"id": 1, "fingerprint": sha1.upper(), "map_type": "ietf-x509-cert-to-name:san-ip-address"}
    assert map_name(cert_to_name([entry]), [v6.der, pki.inter.der, pki.root.der]) == (
        "20010db8000000000000000000000001", 1)
    sha512 = {"id": 1, "fingerprint": format_fingerprint(fingerprint(v6.der, 6)),
              "map_type": "specified", "name": "v6"}
    assert map_name(cert_to_name([sha512]), [v6.der]) == ("v6", 1)


def test_cert_to_name_configuration_errors(tmp_path: Path, pki: Pki) -> None:
    good = pki.root.fp
    assert parse_fingerprint(good)[0] == 4 and len(parse_fingerprint(good)) == 33
    cases: list[tuple[Any, str]] = [
        ({"id": 1, "fingerprint": "04:ab", "map_type": "common-name"}, "a sha256 fingerprint has 32 octets"),
        ({"id": 1, "fingerprint": "00:" + good[3:], "map_type": "common-name"}, "is no hash algorithm"),
        ({"id": 1, "fingerprint": "04-" + good[3:], "map_type": "common-name"}, "not a tls-fingerprint"),
        ({"id": 1, "fingerprint": good, "map_type": "uid"}, "map_type: one of specified"),
        ({"id": 1, "fingerprint": good, "map_type": "specified"}, "name: map_type specified needs"),
        ({"id": 1, "fingerprint": good, "map_type": "common-name", "name": "x"}, "only with map_type specified"),
        ({"id": "one", "fingerprint": good, "map_type": "common-name"}, "id: expected an integer"),
        ({"id": 1, "fingerprint": good, "map_type": "common-name", "colour": 1}, "unknown keys colour"),
    ]
    for entry, message in cases:
        with pytest.raises(ConfigError, match=message):
            cert_to_name([entry])
    twice = {"id": 1, "fingerprint": good, "map_type": "common-name"}
    with pytest.raises(ConfigError, match="id 1 is used twice"):
        cert_to_name([twice, twice])
    # load_config: TLS on needs a client CA and at least one entry; the list is a list of tables
    with pytest.raises(ConfigError, match="netconf_tls_client_ca: required with netconf_tls_listen"):
        load_config(None, netconf_tls_listen="127.0.0.1:6513", netconf_tls_cert_to_name=[twice])
    with pytest.raises(ConfigError, match="netconf_tls_cert_to_name: no entry"):
        load_config(None, netconf_tls_listen=":6513", netconf_tls_client_ca=str(pki.ca_file))
    with pytest.raises(ConfigError, match="netconf_tls_cert_to_name: expected a list of tables"):
        load_config(None, netconf_tls_cert_to_name=["x"])
    with pytest.raises(ConfigError, match="netconf_tls_client_ca: no such file"):
        load_config(None, netconf_tls_client_ca="/nonexistent/ca.pem")
    with pytest.raises(ConfigError, match="netconf_tls_listen: port out of range"):
        load_config(None, netconf_tls_listen="127.0.0.1:70000")
    cfg = load_config(None, netconf_tls_listen="127.0.0.1", netconf_tls_client_ca=str(pki.ca_file),
                      netconf_tls_cert_to_name=[twice])
    assert cfg.netconf_tls_address == ("127.0.0.1", 6513) and load_config(None).netconf_tls_address is None


def test_cert_to_name_over_tls(tmp_path: Path, pki: Pki, caplog: pytest.LogCaptureFixture) -> None:
    """Live: a CA fingerprint with common-name and san-rfc822-name, a client fingerprint
    first in id order; no match, or a name that is no user: closed before any message."""
    caplog.set_level(logging.INFO, logger="yangd.audit")
    _, carol_files = pki.client("carol")  # CN carol, via the intermediate
    _, mail_files = pki.client("mail", cn="not-a-user",
                                  san=[x509.RFC822Name("ops@Example.COM")])
    root_only, root_only_files = pki.client("dave", under_root=True)  # no intermediate in its chain
    special, special_files = pki.client("special", cn="carol")
    _, ghost_files = pki.client("ghost")  # CN of no user
    entries = [
        spec(30, pki.inter, "common-name"),
        spec(20, pki.inter, "san-rfc822-name"),  # before 30: mail maps by its SAN, not its CN
        spec(10, special, "specified", USER),  # before both: this certificate is the admin
    ]
    users = {"carol": "pw", "ops@example.com": "pw"}
    with tls_server(tmp_path, pki, entries, users=users) as run, connect(run) as ssh:
        for files, user in ((carol_files, "carol"), (mail_files, "ops@example.com"),
                            (special_files, USER)):
            with nc_tls(run, files) as m:
                row = next(r for r in sessions(ssh) if r["session-id"] == str(m.session_id))
                assert row["username"] == user and row["transport"].endswith(":netconf-tls")
        # dave's chain does not hold the intermediate: no entry matches it
        with raw_tls(run, root_only_files) as s:
            assert read_all(s) == b""  # closed (close_notify), no hello: RFC 7589 §7
        hits = audit_lines(caplog, "result=failed", "method=certificate", root_only.fp)
        assert hits and "no cert-to-name entry maps certificate" in hits[0]
        # ghost maps (common-name) to a name that is no yangd user
        with raw_tls(run, ghost_files) as s:
            assert read_all(s) == b""
        hits = audit_lines(caplog, "result=failed", "user=ghost", "no yangd user")
        assert hits, [r.getMessage() for r in caplog.records]
        with pytest.raises(SessionCloseError):  # ncclient: closed before the server's hello
            nc_tls(run, ghost_files)
        # the server goes on serving
        with nc_tls(run, carol_files) as m:
            assert m.get_config(source="running").ok


def test_failed_certificate_logins_throttle_the_address(tmp_path: Path, pki: Pki,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    """Certificates that name no user and refused handshakes count as failed logins of the
    client's address, as wrong SSH passwords do: after login_fail_limit of them even a good
    certificate is refused from there for a while; a good login forgets earlier failures."""
    caplog.set_level(logging.INFO, logger="yangd.audit")
    _, carol_files = pki.client("carol")
    _, ghost_files = pki.client("ghost")
    with tls_server(tmp_path, pki, [spec(1, pki.inter, "common-name")], users={"carol": "pw"},
                    login_fail_limit=3, login_block_time=300) as run:
        for _ in range(2):
            with raw_tls(run, ghost_files) as s:
                assert read_all(s) == b""
        with nc_tls(run, carol_files) as m:  # a success: the two failures are forgotten
            assert m.get_config(source="running").ok
        for _ in range(2):
            with raw_tls(run, ghost_files) as s:
                assert read_all(s) == b""
        assert handshake_refused(run, client_context(run, None))  # the third failure
        assert audit_lines(caplog, "result=failed", "now blocked")
        with pytest.raises(TransportError):  # carol too, from this address: closed at once
            nc_tls(run, carol_files)
        assert audit_lines(caplog, "result=refused", "too many failed logins")


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
def test_handshake_refusals(tmp_path: Path, pki: Pki, caplog: pytest.LogCaptureFixture) -> None:
    """No certificate, one of another CA, TLS 1.1: the handshake fails (audited); a TLS 1.2
    client with a good certificate works."""
    caplog.set_level(logging.INFO, logger="yangd.audit")
    _, carol_files = pki.client("carol")
    (pki.where / "other").mkdir(exist_ok=True)
    other_ca = issue("another CA", ca=True)
    _, foreign_files = Pki(other_ca, other_ca, pki.ca_file, pki.where / "other").client(
        "carol", under_root=True)
    with tls_server(tmp_path, pki, [spec(1, pki.root, "common-name")], users={"carol": "pw"}) as run:
        for files, why in ((None, "PEER_DID_NOT_RETURN_A_CERTIFICATE"),
                           (foreign_files, "unable to get local issuer certificate")):
            assert handshake_refused(run, client_context(run, files)), why
            assert audit_lines(caplog, "result=failed", "method=certificate", why), why
        # TLS 1.1 (offered with every cipher OpenSSL has, so only the server can refuse it)
        old = client_context(run, carol_files)
        old.set_ciphers("DEFAULT:@SECLEVEL=0")
        old.minimum_version = old.maximum_version = ssl.TLSVersion.TLSv1_1
        assert handshake_refused(run, old)
        assert audit_lines(caplog, "result=failed", "UNSUPPORTED_PROTOCOL")
        # TLS 1.2 with a good certificate: the server's hello
        v12 = client_context(run, carol_files)
        v12.maximum_version = ssl.TLSVersion.TLSv1_2
        with raw_tls(run, carol_files, v12) as s:
            assert s.version() == "TLSv1.2"
            dec = Decoder()
            while (msg := dec.next_message()) is None:
                dec.feed(s.recv(65536))
            assert b"<session-id>" in msg and b"urn:ietf:params:netconf:base:1.1" in msg


def test_bad_framing_closes_the_session_cleanly(tmp_path: Path, pki: Pki) -> None:
    _, carol_files = pki.client("carol")
    with tls_server(tmp_path, pki, [spec(1, pki.root, "common-name")], users={"carol": "pw"}) as run:
        with raw_tls(run, carol_files) as s:
            dec = Decoder()

            def recv() -> bytes | None:
                while (msg := dec.next_message()) is None:
                    data = s.recv(65536)
                    if not data:
                        return None
                    dec.feed(data)
                return msg

            hello = recv()
            assert hello is not None and b"<session-id>" in hello
            s.sendall(encode_eom(HELLO_11))
            dec.use_chunked()
            s.sendall(encode_chunked(f'<rpc message-id="1" xmlns="{NC}"><get-config><source><running/>'
                                     "</source></get-config></rpc>".encode()))
            reply = recv()
            assert reply is not None and b"<data" in reply  # framed as over SSH (RFC 6242 §4.2)
            s.sendall(b"\n#zz\n<rpc/>")  # not a chunk header
            error = recv()
            assert error is not None and b"malformed-message" in error and b"Traceback" not in error
            assert recv() is None  # then closed
        # closed cleanly, no session left behind; the server keeps serving
        deadline = time.monotonic() + 5
        while run.server.sessions and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not run.server.sessions
        with nc_tls(run, carol_files) as m:
            assert m.get_config(source="running").ok
        # garbage before the hello, and a client going away mid-handshake
        with raw_tls(run, carol_files) as s:
            s.sendall(b"\x00\xffnot xml]]>]]>")
            assert b"<session-id>" in read_all(s)
        with socket.create_connection(("127.0.0.1", run.server.tls_port), timeout=5) as plain:
            plain.sendall(b"\x16\x03\x01\x00\x05hello")  # a torn ClientHello
        with nc_tls(run, carol_files) as m:
            assert m.get_config(source="running").ok


def test_session_limit_per_user(tmp_path: Path, pki: Pki, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="yangd.audit")
    _, carol_files = pki.client("carol")
    with tls_server(tmp_path, pki, [spec(1, pki.root, "common-name")], users={"carol": "pw"},
                    max_sessions_per_user=1) as run:
        with nc_tls(run, carol_files) as m:
            with raw_tls(run, carol_files) as s:
                assert read_all(s) == b""
            assert audit_lines(caplog, "result=refused", "user=carol", "resource-denied")
            assert m.get_config(source="running").ok
        deadline = time.monotonic() + 5
        while run.server.sessions and time.monotonic() < deadline:
            time.sleep(0.05)
        with nc_tls(run, carol_files) as m:  # the first has ended: room again
            assert m.get_config(source="running").ok


def test_hello_and_rpc_in_the_handshakes_last_flight(tmp_path: Path, pki: Pki) -> None:
    """TLS 1.3: the client's Finished, its hello and an rpc in one TCP send. The server has
    them before it knows the user; none is lost, and nothing is answered before its hello."""
    _, carol_files = pki.client("carol")
    with tls_server(tmp_path, pki, [spec(1, pki.root, "common-name")], users={"carol": "pw"}) as run:
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = client_context(run, carol_files).wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
        with socket.create_connection(("127.0.0.1", run.server.tls_port), timeout=10) as sock:
            while True:
                try:
                    obj.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    sock.sendall(outgoing.read())
                    incoming.write(sock.recv(65536))
            assert obj.version() == "TLSv1.3"
            rpc = f'<rpc message-id="7" xmlns="{NC}"><get-config><source><running/></source></get-config></rpc>'
            obj.write(encode_eom(HELLO_11) + encode_chunked(rpc.encode()))
            sock.sendall(outgoing.read())  # Certificate, CertificateVerify, Finished, then the data
            dec, got = Decoder(), list[bytes]()
            while len(got) < 2:
                while (msg := dec.next_message()) is not None:
                    got.append(msg)
                    dec.use_chunked()  # after the server's hello
                if len(got) < 2:
                    data = sock.recv(65536)
                    assert data, "closed"
                    incoming.write(data)
                    try:
                        while chunk := obj.read(65536):
                            dec.feed(chunk)
                    except ssl.SSLWantReadError:
                        pass
        assert b"<session-id>" in got[0]
        assert b'message-id="7"' in got[1] and b"<data" in got[1]


def test_client_that_does_not_read_is_held_back(tmp_path: Path, pki: Pki) -> None:
    """Hundreds of rpcs sent without reading a reply: the TLS transport's pause_writing holds
    the session back and reading pauses (memory bounded); nothing is lost once read."""
    _, carol_files = pki.client("carol")
    n = 600
    with tls_server(tmp_path, pki, [spec(1, pki.root, "common-name")], users={"carol": "pw"}) as run:

        async def main() -> None:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", run.server.tls_port, ssl=client_context(run, carol_files),
                server_hostname="127.0.0.1")
            dec = Decoder()

            async def recv() -> bytes:
                while (msg := dec.next_message()) is None:
                    data = await asyncio.wait_for(reader.read(65536), 20)
                    assert data, "closed"
                    dec.feed(data)
                return msg

            await recv()  # the server's hello
            writer.write(encode_eom(HELLO_11))
            dec.use_chunked()
            writer.write(encode_chunked(f'<rpc message-id="x" xmlns="{NC}"><get/></rpc>'.encode()))
            size = len(await recv())
            assert n * size > 8 * 1024 * 1024  # far more than the socket and TLS buffers
            writer.write(b"".join(encode_chunked(f'<rpc message-id="{i}" xmlns="{NC}"><get/></rpc>'.encode())
                                  for i in range(n)))  # not drained: the client's buffer keeps it
            await asyncio.sleep(1.5)
            (session,) = run.server.sessions.values()
            assert session.queue.qsize() <= 8  # reading paused
            tls = session.transport.tls  # type: ignore[attr-defined]
            assert tls.get_write_buffer_size() < 2 * 1024 * 1024  # writing held back
            got = [etree.fromstring(await recv()).get("message-id") for _ in range(n)]
            assert got == [str(i) for i in range(n)]
            writer.close()

        asyncio.run(main())


# ---- yangd serve and yangd config check ------------------------------------------------------

def yangd(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([YANGD, *args], capture_output=True, text=True, input=stdin, cwd=REPO,
                          timeout=120)


def test_yangd_serve_netconf_tls_listen(tmp_path: Path, pki: Pki) -> None:
    _, carol_files = pki.client("carol")
    data = tmp_path / "data"
    r = yangd("users", "add", "carol", "--password-stdin", "--data-dir", str(data), stdin="pw\n")
    assert r.returncode == 0, r.stderr
    cfg = tmp_path / "yangd.toml"
    cfg.write_text(f'data_dir = "{data}"\nnetconf_tls_client_ca = "{pki.ca_file}"\n'
                   f'netconf_tls_cert_to_name = [{{ id = 1, fingerprint = "{pki.root.fp}", '
                   'map_type = "common-name" }]\n')
    # config check: valid as is; TLS without a client CA is refused
    r = yangd("config", "check", str(cfg))
    assert r.returncode == 0 and "netconf_tls_listen = off" in r.stdout, r.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text('netconf_tls_listen = "127.0.0.1:6513"\n')
    r = yangd("config", "check", str(bad))
    assert r.returncode == 2 and "netconf_tls_client_ca: required with netconf_tls_listen" in r.stderr
    assert "Traceback" not in r.stderr
    port, rport, tport = free_port(), free_port(), free_port()
    # serve refuses --netconf-tls-listen without the CA (exit 2, before listening)
    r = yangd("serve", "--data-dir", str(data), "--netconf-listen", f"127.0.0.1:{port}",
              "--restconf-listen", f"127.0.0.1:{rport}", "--netconf-tls-listen", f"127.0.0.1:{tport}")
    assert r.returncode == 2 and "netconf_tls_client_ca" in r.stderr, r.stderr
    proc = subprocess.Popen([YANGD, "serve", "--config", str(cfg), "--netconf-listen", f"127.0.0.1:{port}",
                             "--restconf-listen", f"127.0.0.1:{rport}",
                             "--netconf-tls-listen", f"127.0.0.1:{tport}"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                m = manager.connect_tls(host="127.0.0.1", port=tport, certfile=str(carol_files[0]),
                                        keyfile=str(carol_files[1]), ca_certs=str(data / "restconf-cert.pem"),
                                        protocol=ssl.PROTOCOL_TLS_CLIENT, timeout=10)
                break
            except Exception:
                assert proc.poll() is None and time.monotonic() < deadline, "yangd serve did not start"
                time.sleep(0.3)
        with m:
            assert ":candidate" in " ".join(m.server_capabilities)
            m.edit_config(target="candidate", config=f"""<config xmlns="{NC}">
              <interfaces xmlns="{IF_NS}" xmlns:ianaift="urn:ietf:params:xml:ns:yang:iana-if-type">
                <interface><name>eth0</name><type>ianaift:ethernetCsmacd</type></interface>
              </interfaces></config>""")
            m.commit()  # carol is one of the first users: the factory /nacm makes her admin
            assert "<name>eth0</name>" in m.get_config(source="running").data_xml
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, out
        assert f"NETCONF over TLS listening on 127.0.0.1:{tport}" in out and "Traceback" not in out
        assert "audit login result=ok user=carol transport=netconf" in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)


def test_ssh_unchanged_beside_tls(tmp_path: Path, pki: Pki) -> None:
    """Password logins over SSH go on as before while TLS listens."""
    with tls_server(tmp_path, pki, [spec(1, pki.root, "common-name")]) as run:
        with connect(run, password=PASSWORD) as m:
            row = next(r for r in sessions(m) if r["session-id"] == str(m.session_id))
            assert row["transport"].endswith(":netconf-ssh")
