"""RESTCONF with-defaults=report-all and defaults under a when (RFC 8040 §4.8.9, RFC 7950
§7.6.1): a default whose when is false is not in use, so it is neither reported nor served
as a resource, including when the when reads data above the requested resource."""

from __future__ import annotations

from types import ModuleType

import httpx
import pytest

from tests.server.restconf.conftest import JSON, REPO

MODULE = """
module dwr {
  yang-version 1.1;
  namespace "urn:dwr";
  prefix dwr;
  container top {
    leaf mode { type string; }
    leaf own { when "../mode = 'on'"; type uint8; default 1; }
    container box {
      leaf always { type uint8; default 7; }
      leaf gated { when "../../mode = 'on'"; type uint8; default 10; }
    }
  }
}
"""


@pytest.fixture(scope="module")
def pkg(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The shipped modules and dwr (overrides conftest's: its rc_server and c serve this)."""
    from models.compiler.package import compile_package, features_file, import_package

    yang = REPO / "yang"
    src = tmp_path_factory.mktemp("dwr-src")
    (src / "dwr.yang").write_text(MODULE)
    out = tmp_path_factory.mktemp("dwr-pkg")
    compile_package([*sorted(yang.rglob("*.yang")), src / "dwr.yang"], out,
                    [yang / "ietf", yang / "iana", yang / "yangd"], features_file(yang / "features.toml"))
    return import_package(out, f"_rc_test_dwr_{abs(hash(str(out)))}")


def get(c: httpx.Client, path: str) -> httpx.Response:
    return c.get(f"/restconf/data/{path}?with-defaults=report-all", headers={"Accept": JSON})


def set_mode(c: httpx.Client, mode: str) -> None:
    r = c.put("/restconf/data/dwr:top/mode", json={"dwr:mode": mode}, headers={"Content-Type": JSON})
    assert r.status_code in (201, 204), r.text


def test_report_all_follows_whens_on_defaults(c: httpx.Client) -> None:
    set_mode(c, "off")
    top = get(c, "dwr:top").json()["dwr:top"]
    assert top == {"mode": "off", "box": {"always": 7}}
    # the leaf resource: a default not in use does not exist (404), and is served once in use
    assert get(c, "dwr:top/own").status_code == 404
    # the box sub-resource: gated's when reads mode, above the resource
    r = get(c, "dwr:top/box")
    assert r.status_code == 200, (r.status_code, r.text)
    assert r.json()["dwr:box"] == {"always": 7}, r.text
    assert get(c, "dwr:top/box/gated").status_code == 404
    set_mode(c, "on")
    top = get(c, "dwr:top").json()["dwr:top"]
    assert top == {"mode": "on", "own": 1, "box": {"always": 7, "gated": 10}}
    assert get(c, "dwr:top/own").json() == {"dwr:own": 1}
    assert get(c, "dwr:top/box").json()["dwr:box"] == {"always": 7, "gated": 10}
    assert get(c, "dwr:top/box/gated").json() == {"dwr:gated": 10}
    # without report-all: only what is there
    r = c.get("/restconf/data/dwr:top", headers={"Accept": JSON})
    assert r.json()["dwr:top"] == {"mode": "on"}
