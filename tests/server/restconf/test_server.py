"""The service around the routers: TLS (generated certificate kept, TLS 1.2+), no stack
traces, clean start and stop."""

from __future__ import annotations

import ssl
import stat
from pathlib import Path

import httpx
import pytest

from server.restconf import tls
from server.restconf.routers import data
from tests.server.restconf.conftest import Running
from tests.server.restconf.helpers import errors


def test_certificate_generated_once(tmp_path: Path) -> None:
    cert, key = tls.ensure_certificate(tmp_path)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    first = cert.read_bytes()
    assert tls.ensure_certificate(tmp_path) == (cert, key) and cert.read_bytes() == first
    ctx = tls.server_context(cert, key)
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_verified_tls_1_2_plus(rc_server: Running) -> None:
    with rc_server.client() as c:  # verifies the generated certificate for 127.0.0.1
        r = c.get("/restconf")
        assert r.status_code == 200
    ctx = ssl.create_default_context(cafile=str(rc_server.server.cert))
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises(httpx.ConnectError), httpx.Client(verify=ctx) as old:
        old.get(f"{rc_server.url}/restconf")


def test_internal_error_has_no_trace(c: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_a: object, **_k: object) -> bytes:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(data, "read", boom)
    r = c.get("/restconf/data")
    assert r.status_code == 500
    (e,) = errors(r)
    assert e["error-tag"] == "operation-failed" and "secret" not in r.text


def test_session_closed_after_each_request(c: httpx.Client, rc_server: Running) -> None:
    for _ in range(3):
        c.get("/restconf/data/ietf-yang-library:yang-library")
    assert rc_server.ds.sessions == {}
