"""Shared set-up for the codec tests: one compiled package of test modules per session."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from models.compiler.package import compile_package, import_package

ROOT = Path(__file__).resolve().parents[2]

CODEC_TEST = """
module codec-test {
  yang-version 1.1;
  namespace "urn:yangd:test:codec";
  prefix ct;

  identity base-id;
  identity blue { base base-id; }
  identity red { base base-id; }

  typedef percent { type uint8 { range "0..100"; } }

  container top {
    leaf i8 { type int8; }
    leaf i16 { type int16; }
    leaf i32 { type int32; }
    leaf i64 { type int64; }
    leaf u8 { type uint8; }
    leaf u16 { type uint16; }
    leaf u32 { type uint32; }
    leaf u64 { type uint64; }
    leaf pct { type percent; }
    leaf dec { type decimal64 { fraction-digits 2; } }
    leaf str { type string { pattern '[a-z]+[0-9]*'; } }
    leaf flag { type boolean; }
    leaf nothing { type empty; }
    leaf color { type enumeration { enum green; enum yellow; } }
    leaf opts { type bits { bit a { position 0; } bit b { position 1; } bit c { position 5; } } }
    leaf blob { type binary; }
    leaf ident { type identityref { base base-id; } }
    leaf target { type instance-identifier; }
    leaf u { type union { type int32; type enumeration { enum unbounded; } } }
    leaf ref { type leafref { path "../multi/a"; } }
    leaf-list tags { type string; }
    list multi {
      key "a b";
      leaf a { type string; }
      leaf b { type uint16; }
      leaf v { type string; }
    }
    choice transport {
      case tcp { leaf tcp-port { type uint16; } }
      case udp { leaf udp-port { type uint16; } }
    }
    anydata extra;
  }

  rpc reset {
    input {
      leaf delay { type uint32; }
      leaf mode { type identityref { base base-id; } }
    }
    output { leaf done { type boolean; } }
  }

  notification alarm {
    leaf severity { type uint8; }
    leaf what { type string; }
  }
}
"""

CODEC_AUG = """
module codec-aug {
  yang-version 1.1;
  namespace "urn:yangd:test:codec-aug";
  prefix ca;
  import codec-test { prefix ct; }

  identity green-ish { base ct:base-id; }

  augment "/ct:top" {
    leaf note { type string; }
  }
  augment "/ct:top/ct:multi" {
    leaf weight { type uint8; }
  }
}
"""

_CACHE: dict[str, ModuleType] = {}


def compile_models(tmp: Path) -> ModuleType:
    """codec-test + codec-aug + ietf-interfaces/ietf-ip/iana-if-type, compiled and imported."""
    key = str(tmp)
    if key not in _CACHE:
        src = tmp / "src"
        src.mkdir(parents=True, exist_ok=True)
        (src / "codec-test.yang").write_text(CODEC_TEST)
        (src / "codec-aug.yang").write_text(CODEC_AUG)
        paths = [
            ROOT / "yang/ietf/ietf-interfaces@2018-02-20.yang",
            ROOT / "yang/ietf/ietf-ip@2018-02-22.yang",
            ROOT / "yang/iana/iana-if-type@2026-03-17.yang",
            src / "codec-test.yang", src / "codec-aug.yang",
        ]
        compile_package(paths, tmp / "gen", [ROOT / "yang/ietf", ROOT / "yang/iana", src])
        _CACHE[key] = import_package(tmp / "gen")
    return _CACHE[key]
