"""Module-level YANG: features, deviations, refused modules, the pyang plugin, error paths."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pydantic import ValidationError

from models.compiler.frontend import CompileError
from models.compiler.package import import_package

REPO = Path(__file__).resolve().parents[2]

FT = """
module ft {
  yang-version 1.1;
  namespace "urn:yangd:test:ft";
  prefix ft;
  feature fast;
  feature slow;
  container c {
    leaf always { type string; }
    leaf f { if-feature fast; type string; }
    leaf s { if-feature slow; type string; }
    leaf fs { if-feature "fast and slow"; type string; }
    leaf fos { if-feature "fast or not slow"; type string; }
    container fc { if-feature fast; leaf x { type string; } }
    list fl { if-feature ft:slow; key k; leaf k { type string; } }
    leaf mode { type enumeration { enum plain; enum quick { if-feature fast; } } }
    leaf opts { type bits { bit plain; bit quick { if-feature fast; } } }
  }
}
"""


@pytest.fixture(scope="module")
def ft_fast(compile_yang: Any) -> ModuleType:
    return compile_yang([FT], features={"ft": ["fast"]})


@pytest.fixture(scope="module")
def ft_none(compile_yang: Any) -> ModuleType:
    return compile_yang([FT], features={"ft": []})


@pytest.fixture(scope="module")
def ft_all(compile_yang: Any) -> ModuleType:
    return compile_yang([FT])


def _c(pkg: ModuleType, **members: Any) -> Any:
    return pkg.Root.model_validate_json(json.dumps({"ft:c": members})).c


def _unknown(pkg: ModuleType, **members: Any) -> None:
    with pytest.raises(ValidationError) as ei:
        _c(pkg, **members)
    assert {e["type"] for e in ei.value.errors()} == {"extra_forbidden"}


def _names(pkg: ModuleType) -> set[str]:
    return {n.name for n in pkg.B.node("/ft:c").data_children()}


# ---- features --------------------------------------------------------------------------------


def test_feature_enabled_subset(ft_fast: ModuleType) -> None:
    assert _names(ft_fast) == {"always", "f", "fos", "fc", "mode", "opts"}
    assert _c(ft_fast, f="1", fos="2", fc={"x": "3"}).fc.x == "3"
    _unknown(ft_fast, s="1")
    _unknown(ft_fast, fs="1")
    _unknown(ft_fast, fl=[{"k": "a"}])
    assert ft_fast.B.schema.modules["ft"].features == ("fast",)
    assert ft_fast.B.node("/ft:c/f").if_features == ("fast",)


def test_no_feature_enabled(ft_none: ModuleType) -> None:
    assert _names(ft_none) == {"always", "fos", "mode", "opts"}  # "not slow" holds
    assert _c(ft_none, always="a", fos="b").fos == "b"
    _unknown(ft_none, f="1")
    _unknown(ft_none, fc={})
    assert ft_none.B.schema.modules["ft"].features == ()


def test_enum_and_bit_if_feature(ft_fast: ModuleType, ft_none: ModuleType) -> None:
    assert _c(ft_fast, mode="quick", opts="plain quick").mode == "quick"
    assert _c(ft_none, mode="plain", opts="plain").opts == frozenset({"plain"})
    with pytest.raises(ValidationError):
        _c(ft_none, mode="quick")
    with pytest.raises(ValidationError):
        _c(ft_none, opts="quick")


def test_all_features_by_default(ft_all: ModuleType) -> None:
    assert _names(ft_all) == {"always", "f", "s", "fs", "fos", "fc", "fl", "mode", "opts"}
    assert _c(ft_all, s="1", fs="2", fl=[{"k": "a"}]).fs == "2"
    assert ft_all.B.schema.modules["ft"].features == ("fast", "slow")


# ---- deviations ------------------------------------------------------------------------------

DVB = """
module dvb {
  yang-version 1.1;
  namespace "urn:yangd:test:dvb";
  prefix b;
  container c {
    leaf gone { type string; }
    leaf d { type uint8; default 5; }
    leaf t { type string; }
    leaf m { type string; }
    leaf u { type string; units "s"; }
    leaf dd { type uint8; default 3; }
    leaf-list ll { type string; max-elements 10; }
    list l { key k; leaf k { type string; } leaf v { type string; } }
  }
  container also-gone { leaf x { type string; } }
}
"""

DV = """
module dv {
  yang-version 1.1;
  namespace "urn:yangd:test:dv";
  prefix dv;
  import dvb { prefix b; }
  deviation /b:c/b:gone { deviate not-supported; }
  deviation /b:also-gone { deviate not-supported; }
  deviation /b:c/b:d { deviate replace { default 300; type uint16; } }
  deviation /b:c/b:t { deviate replace { type int8; } }
  deviation /b:c/b:m { deviate add { mandatory true; must "string-length(.) > 1"; } }
  deviation /b:c/b:u { deviate delete { units "s"; } deviate add { default "x"; } }
  deviation /b:c/b:dd { deviate delete { default 3; } }
  deviation /b:c/b:ll { deviate replace { max-elements 3; } deviate add { min-elements 1; } }
  deviation /b:c/b:l { deviate add { unique "v"; } }
}
"""


@pytest.fixture(scope="module")
def dv(compile_yang: Any) -> ModuleType:
    return compile_yang([DVB], deviations=[DV])


def test_deviation_not_supported(dv: ModuleType) -> None:
    assert {n.name for n in dv.B.node("/dvb:c").data_children()} == {"d", "t", "m", "u", "dd", "ll", "l"}
    with pytest.raises(ValidationError):
        dv.Root.model_validate_json('{"dvb:c": {"gone": "x"}}')
    with pytest.raises(ValidationError):
        dv.Root.model_validate_json('{"dvb:also-gone": {}}')
    assert dv.Root.model_validate_json('{"dvb:c": {"t": 1}}').c.t == 1


def test_deviation_replace_type_and_default(dv: ModuleType) -> None:
    d = dv.B.node("/dvb:c/d")
    assert d.type == {"b": "uint16"} and d.default == ("300",)
    assert dv.Root.model_validate_json('{"dvb:c": {"d": 300}}').c.d == 300
    assert dv.B.node("/dvb:c/t").type == {"b": "int8"}
    with pytest.raises(ValidationError):
        dv.Root.model_validate_json('{"dvb:c": {"t": "text"}}')
    with pytest.raises(ValidationError):
        dv.Root.model_validate_json('{"dvb:c": {"t": 128}}')


def test_deviation_add_and_delete(dv: ModuleType) -> None:
    m = dv.B.node("/dvb:c/m")
    assert m.mandatory is True
    assert [x.xpath for x in m.must] == ["string-length(.) > 1"]
    u = dv.B.node("/dvb:c/u")
    assert u.units is None and u.default == ("x",)
    assert dv.B.node("/dvb:c/dd").default is None
    ll = dv.B.node("/dvb:c/ll")
    assert (ll.min_elements, ll.max_elements) == (1, 3)
    assert dv.B.node("/dvb:c/l").unique == (("v",),)


def test_deviation_recorded_in_module_info(dv: ModuleType) -> None:
    assert dv.B.schema.modules["dvb"].deviations == ("dv",)
    assert dv.B.schema.modules["dvb"].implemented is True


# ---- refused modules ----------------------------------------------------------------------------


def _refused(compile_yang: Any, texts: Any) -> list[str]:
    with pytest.raises(CompileError) as ei:
        compile_yang(texts)
    msgs = ei.value.messages
    assert msgs and all("Traceback" not in m for m in msgs)
    assert str(ei.value) == "\n".join(msgs)
    return msgs


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_syntax_error(compile_yang: Any) -> None:
    text = 'module bad1 {\n  namespace "urn:bad1";\n  prefix b;\n  leaf x { type string }\n}\n'
    msgs = _refused(compile_yang, {"bad1.yang": text})
    assert any("bad1.yang:4" in m for m in msgs), msgs


def test_unknown_type(compile_yang: Any) -> None:
    text = ('module bad2 {\n  yang-version 1.1;\n  namespace "urn:bad2";\n  prefix b;\n'
            '  container c {\n    leaf x { type no-such-type; }\n  }\n}\n')
    msgs = _refused(compile_yang, {"bad2.yang": text})
    line = _line_of(text, "no-such-type")
    assert any(f"bad2.yang:{line}" in m and "no-such-type" in m for m in msgs), msgs


def test_bad_import(compile_yang: Any) -> None:
    text = ('module bad3 {\n  yang-version 1.1;\n  namespace "urn:bad3";\n  prefix b;\n'
            '  import no-such-module { prefix n; }\n  leaf x { type string; }\n}\n')
    msgs = _refused(compile_yang, {"bad3.yang": text})
    assert any("bad3.yang:5" in m and "no-such-module" in m for m in msgs), msgs


def test_bad_reference(compile_yang: Any) -> None:
    text = ('module bad4 {\n  yang-version 1.1;\n  namespace "urn:bad4";\n  prefix b;\n'
            '  leaf x { type leafref { path "../nothere"; } }\n'
            '  augment "/b:missing" { leaf y { type string; } }\n}\n')
    msgs = _refused(compile_yang, {"bad4.yang": text})
    assert any("bad4.yang:5" in m for m in msgs), msgs
    assert any("bad4.yang:6" in m for m in msgs), msgs


# ---- the pyang plugin --------------------------------------------------------------------------


def test_pyang_plugin_writes_a_package(tmp_path: Path) -> None:
    pyang = Path(sys.executable).with_name("pyang")
    assert pyang.exists(), "pyang (a dependency) is not installed"
    src = tmp_path / "plug.yang"
    src.write_text(
        'module plug {\n  yang-version 1.1;\n  namespace "urn:yangd:test:plug";\n  prefix p;\n'
        '  container c { leaf n { type uint8 { range "1..5"; } } }\n}\n', encoding="utf-8")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    res = subprocess.run(
        [str(pyang), "-f", "pydantic", "--pydantic-dir", str(out), str(src)],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert res.returncode == 0, res.stderr
    assert (out / "__init__.py").exists() and (out / "schema.json").exists()
    assert (out / "plug.py").exists()
    pkg = import_package(out)
    assert pkg.Root.model_validate_json('{"plug:c": {"n": 5}}').c.n == 5
    with pytest.raises(ValidationError):
        pkg.Root.model_validate_json('{"plug:c": {"n": 6}}')


def test_pyang_plugin_needs_an_output_dir(tmp_path: Path) -> None:
    pyang = Path(sys.executable).with_name("pyang")
    assert pyang.exists(), "pyang (a dependency) is not installed"
    src = tmp_path / "plug2.yang"
    src.write_text('module plug2 { namespace "urn:p2"; prefix p; leaf x { type string; } }\n',
                   encoding="utf-8")
    res = subprocess.run(
        [str(pyang), "-f", "pydantic", str(src)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert res.returncode != 0
    assert "--pydantic-dir" in res.stderr
    assert "Traceback" not in res.stderr


# ---- instance error paths ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ietf(compile_yang: Any) -> ModuleType:
    names = ["ietf/ietf-interfaces@2018-02-20.yang", "ietf/ietf-ip@2018-02-22.yang",
             "iana/iana-if-type@2026-03-17.yang"]
    return compile_yang({Path(n).name: (REPO / "yang" / n).read_text(encoding="utf-8")
                         for n in names})


IF_DOC = {"ietf-interfaces:interfaces": {"interface": [
    {"name": "eth0", "type": "iana-if-type:ethernetCsmacd",
     "ietf-ip:ipv4": {"mtu": 1500, "address": [{"ip": "192.0.2.1", "prefix-length": 24}]}},
    {"name": "eth1", "type": "iana-if-type:ethernetCsmacd",
     "ietf-ip:ipv4": {"mtu": 20, "address": [{"ip": "192.0.2.2", "prefix-length": 99}]}},
]}}


def test_error_loc_names_the_member(ietf: ModuleType) -> None:
    ietf.Root.model_validate_json(json.dumps(IF_DOC).replace('"mtu": 20', '"mtu": 1400')
                                  .replace('"prefix-length": 99', '"prefix-length": 9'))
    with pytest.raises(ValidationError) as ei:
        ietf.Root.model_validate_json(json.dumps(IF_DOC))
    locs = {e["loc"] for e in ei.value.errors()}
    assert ("ietf-interfaces:interfaces", "interface", 1, "ietf-ip:ipv4", "mtu") in locs
    assert ("ietf-interfaces:interfaces", "interface", 1, "ietf-ip:ipv4", "address", 0,
            "prefix-length") in locs


def test_error_instance_paths(ietf: ModuleType) -> None:
    errors = pytest.importorskip("models.codec.errors")
    doc = json.loads(json.dumps(IF_DOC))
    doc["ietf-interfaces:interfaces"]["interface"][0]["type"] = "iana-if-type:nope"
    with pytest.raises(ValidationError) as ei:
        ietf.Root.model_validate_json(json.dumps(doc))
    err = errors.from_validation_error(ei.value, ietf.B.schema.root, doc)
    paths = {i.path: i for i in err.issues}
    base = "/ietf-interfaces:interfaces/interface"
    assert set(paths) == {
        f"{base}[name='eth0']/type",
        f"{base}[name='eth1']/ietf-ip:ipv4/mtu",
        f"{base}[name='eth1']/ietf-ip:ipv4/address[ip='192.0.2.2']/prefix-length",
    }
    assert all(i.tag == "invalid-value" for i in err.issues)


def test_cached_compile_runs_pyang_in_a_child(tmp_path: Path) -> None:
    """The start-up compile of extra modules happens in a child process: the caller gets the
    package, or pyang's file:line errors as CompileError, and never imports pyang itself."""
    (tmp_path / "ok.yang").write_text('module ok {\n  yang-version 1.1;\n  namespace "urn:ok";\n'
                                      '  prefix ok;\n  container c { leaf n { type uint8; } }\n}\n')
    (tmp_path / "bad.yang").write_text('module bad {\n  yang-version 1.1;\n  namespace "urn:bad";\n'
                                       '  prefix b;\n  leaf x { type no-such-type; }\n}\n')
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from models.compiler.frontend import CompileError\n"
        "from models.compiler.package import cached_compile\n"
        "d = Path(sys.argv[1])\n"
        "pkg = cached_compile([d / 'ok.yang'], d / 'cache')\n"
        "n = pkg.Root.model_validate({'ok:c': {'n': 3}}).c.n\n"
        "try:\n"
        "    cached_compile([d / 'bad.yang'], d / 'cache')\n"
        "    errors = []\n"
        "except CompileError as e:\n"
        "    errors = e.messages\n"
        "print(json.dumps([n, errors, 'pyang' in sys.modules]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    n, errors, pyang_loaded = json.loads(proc.stdout)
    assert n == 3
    assert any(f"{tmp_path / 'bad.yang'}:5" in m and "no-such-type" in m for m in errors), errors
    assert pyang_loaded is False
