"""The service around RESTCONF (issue item 1): client-certificate authentication (a CA made
here with ``cryptography``, a certificate's CN mapped to a yangd user, Basic still working
without a certificate, foreign certificates refused), and plain HTTP: allowed on loopback
only when enabled, refused with a clear configuration error anywhere else."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from datastore.datastores import Datastores
from datastore.store import Store
from server.config import Config, ConfigError, add_user, load_config
from server.restconf import Server, serve
from tests.server.restconf.conftest import PASSWORD, USER
from tests.server.restconf.helpers import JB, errors, jukebox


@contextmanager
def running(tmp_path: Path, pkg: ModuleType, **cfg: Any) -> Iterator[tuple[Server, Datastores]]:
    data = tmp_path / "data"
    add_user(data, USER, PASSWORD)
    ds = Datastores(pkg.B, Store.open(f"sqlite:///{data / 'yangd.db'}"))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        config = Config(data_dir=data, **{"restconf_listen": "127.0.0.1:0", **cfg})
        srv = asyncio.run_coroutine_threadsafe(serve(config, ds), loop).result(20)
        try:
            yield srv, ds
        finally:
            asyncio.run_coroutine_threadsafe(srv.close(), loop).result(20)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
        ds.close()


# ---- a CA and client certificates --------------------------------------------------------------

def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(cn: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return cert, key


def client_cert(ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey], cn: str,
                where: Path) -> tuple[Path, Path]:
    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    cert_path, key_path = where / f"{cn}.crt", where / f"{cn}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def client(srv: Server, cert: tuple[Path, Path] | None = None, **kw: Any) -> httpx.Client:
    assert srv.cert is not None
    ctx = ssl.create_default_context(cafile=str(srv.cert))
    if cert is not None:
        ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    return httpx.Client(base_url=f"https://127.0.0.1:{srv.port}", verify=ctx, timeout=10, **kw)


# ---- client certificates ---------------------------------------------------------------------

def test_client_certificate_auth(tmp_path: Path, pkg: ModuleType) -> None:
    ca = make_ca("yangd test CA")
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca[0].public_bytes(serialization.Encoding.PEM))
    admin_cert = client_cert(ca, USER, tmp_path)  # CN = the user
    mapped_cert = client_cert(ca, "robot-17", tmp_path)  # CN mapped in the configuration
    stranger = client_cert(ca, "nobody", tmp_path)  # CN naming no user
    (tmp_path / "foreign").mkdir()
    foreign = client_cert(make_ca("another CA"), USER, tmp_path / "foreign")
    with running(tmp_path, pkg, restconf_client_ca=ca_file,
                 restconf_cert_users={"robot-17": "ops"}) as (srv, ds):
        add_user(tmp_path / "data", "ops", "ops-pw")
        with client(srv, admin_cert) as c:  # no Basic credentials at all
            assert c.get("/restconf/data/ietf-yang-library:yang-library").status_code == 200
            jukebox(c)
        assert ds.commits(1)[0].user == USER
        with client(srv, mapped_cert) as c:
            r = c.patch(JB, json={"example-jukebox:jukebox": {"player": {"gap": "0.2"}}},
                        headers={"Content-Type": "application/yang-data+json"})
            assert r.status_code == 204, r.text
        assert ds.commits(1)[0].user == "ops"
        with client(srv, stranger) as c:
            r = c.get("/restconf/data")
            assert r.status_code == 401 and errors(r)[0]["error-tag"] == "access-denied"
            assert c.get("/restconf/data", auth=(USER, PASSWORD)).status_code == 200
        with client(srv) as c:  # no certificate: Basic as before
            assert c.get("/restconf/data").status_code == 401
            assert c.get("/restconf/data", auth=(USER, PASSWORD)).status_code == 200
            assert c.get("/restconf/data", auth=(USER, "wrong")).status_code == 401
        with pytest.raises(httpx.HTTPError), client(srv, foreign) as c:
            c.get("/restconf/data")  # the CA did not sign it: no TLS session


def test_without_client_ca_certificates_are_not_users(tmp_path: Path, pkg: ModuleType) -> None:
    ca = make_ca("unconfigured CA")
    cert = client_cert(ca, USER, tmp_path)
    with running(tmp_path, pkg) as (srv, _ds), client(srv, cert) as c:
        assert c.get("/restconf/data").status_code == 401  # not asked for, not used


def test_bad_client_ca_is_a_config_error(tmp_path: Path, pkg: ModuleType) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate\n")
    with pytest.raises(ConfigError, match="RESTCONF TLS"), running(tmp_path, pkg,
                                                                    restconf_client_ca=bad):
        pass


# ---- plain HTTP ------------------------------------------------------------------------------

def test_plain_http_on_loopback(tmp_path: Path, pkg: ModuleType) -> None:
    with running(tmp_path, pkg, restconf_plain_http=True) as (srv, _ds):
        assert srv.cert is None
        with httpx.Client(base_url=f"http://127.0.0.1:{srv.port}", auth=(USER, PASSWORD),
                          timeout=10) as c:
            assert c.get("/restconf").status_code == 200
            doc = c.get("/restconf/data/ietf-restconf-monitoring:restconf-state/streams").json()
            (stream,) = doc["ietf-restconf-monitoring:streams"]["stream"]
            assert stream["access"][0]["location"].startswith(f"http://127.0.0.1:{srv.port}/")
        with pytest.raises(httpx.HTTPError), httpx.Client(verify=False, timeout=5) as tls:
            tls.get(f"https://127.0.0.1:{srv.port}/restconf")  # no TLS on that port


@pytest.mark.parametrize("listen", ["0.0.0.0:0", "192.0.2.1:8443", "[::]:8443", "example.com"])
def test_plain_http_refused_off_loopback(tmp_path: Path, pkg: ModuleType, listen: str) -> None:
    with pytest.raises(ConfigError, match="only allowed on a loopback address"), \
            running(tmp_path, pkg, restconf_plain_http=True, restconf_listen=listen):
        pass
    toml = tmp_path / "yangd.toml"
    toml.write_text(f'restconf_plain_http = true\nrestconf_listen = "{listen}"\n')
    with pytest.raises(ConfigError, match="only allowed on a loopback address"):
        load_config(toml)


def test_plain_http_config_on_loopback(tmp_path: Path) -> None:
    toml = tmp_path / "yangd.toml"
    toml.write_text('restconf_plain_http = true\nrestconf_listen = "[::1]:8080"\n'
                    f'restconf_client_ca = "{tmp_path}/ca.pem"\n'
                    '[restconf_cert_users]\n"robot-1" = "ops"\n')
    cfg = load_config(toml)
    assert cfg.restconf_scheme == "http" and cfg.restconf_cert_users == {"robot-1": "ops"}
    assert cfg.restconf_client_ca == tmp_path / "ca.pem"
    assert load_config().restconf_scheme == "https"
