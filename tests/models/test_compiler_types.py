"""YANG built-in and derived types (RFC 7950 §9) through the compiler and generated models.

Each type is checked on values it must accept and values it must refuse, in Python mode
(``model_validate``) and in strict RFC 7951 JSON (``model_validate_json``).
"""

from __future__ import annotations

import json
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest
from pydantic import ValidationError

TT = """
module tt {
  yang-version 1.1;
  namespace "urn:yangd:test:tt";
  prefix tt;

  identity a;
  identity b;
  identity ab { base a; base b; }
  identity only-a { base a; }
  identity ab-child { base ab; }

  typedef percent {
    type int32 { range "0..100"; }
    default 20;
    units "percent";
  }
  typedef narrow-percent {
    type percent { range "10..50"; }
  }
  typedef low-percent {
    type percent { range "min..30"; }
  }
  typedef lower {
    type string { pattern "[a-z]+"; }
  }
  typedef lower-a {
    type lower { pattern "a.*"; length "1..4"; }
  }

  container c {
    leaf int8 { type int8; }
    leaf int16 { type int16; }
    leaf int32 { type int32; }
    leaf int64 { type int64; }
    leaf uint8 { type uint8; }
    leaf uint16 { type uint16; }
    leaf uint32 { type uint32; }
    leaf uint64 { type uint64; }
    leaf ranged { type int32 { range "1..10 | 20 | 30..max"; } }
    leaf dec2 { type decimal64 { fraction-digits 2; range "-10.5..10.5"; } }
    leaf dec18 { type decimal64 { fraction-digits 18; } }
    leaf dec1 { type decimal64 { fraction-digits 1; range "1 .. 2 | 5.5"; } }
    leaf str {
      type string { length "2..3 | 5"; pattern "[a-z]*"; pattern "[^x]*"; }
    }
    leaf letters { type string { pattern '\\p{L}+'; } }
    leaf not-x { type string { pattern "x.*" { modifier invert-match; } } }
    leaf digits {
      type string {
        pattern "[0-9]+" {
          error-message "digits only, please";
          error-app-tag "not-digits";
        }
      }
    }
    leaf short {
      type string { length "1..3" { error-message "too long"; error-app-tag "len-tag"; } }
    }
    leaf small {
      type int8 { range "1..5" { error-message "one to five"; error-app-tag "rng-tag"; } }
    }
    leaf colour {
      type enumeration {
        enum zero { value 0; }
        enum ten { value 10; }
        enum eleven;
        enum minus { value -3; }
      }
    }
    leaf flags {
      type bits {
        bit first { position 0; }
        bit fifth { position 5; }
        bit sixth;
      }
    }
    leaf blob { type binary { length "1..4"; } }
    leaf flag { type boolean; }
    leaf marker { type empty; }
    leaf u-int8-str { type union { type int8; type string; } }
    leaf u-int64-str { type union { type int64; type string; } }
    leaf u-enum-bool {
      type union { type enumeration { enum auto; } type boolean; type uint16; }
    }
    leaf ref { type leafref { path "../int8"; } }
    leaf ref-loose { type leafref { path "../str"; require-instance false; } }
    leaf ref-list { type leafref { path "/tt:items/tt:item/tt:id"; } }
    leaf idr { type identityref { base a; base b; } }
    leaf idr-a { type identityref { base a; } }
    leaf iid { type instance-identifier; }
    leaf iid-loose { type instance-identifier { require-instance false; } }
    leaf pct { type percent; }
    leaf pct-mand { type percent; mandatory true; }
    leaf pct-own { type percent; default 7; units "%"; }
    leaf narrow { type narrow-percent; }
    leaf low { type low-percent; }
    leaf lowa { type lower-a; }
    leaf lowa-short { type lower-a { length "2..3"; } }
  }
  container items {
    list item { key id; leaf id { type uint16 { range "1..100"; } } }
  }
}
"""

# A second module extends the identity hierarchy: derived-from chains across modules.
TT2 = """
module tt2 {
  yang-version 1.1;
  namespace "urn:yangd:test:tt2";
  prefix t2;
  import tt { prefix t; }
  identity c2 { base t:ab-child; }
  identity only-b2 { base t:b; }
}
"""


@pytest.fixture(scope="module")
def pkg(compile_yang: Any) -> ModuleType:
    return compile_yang([TT, TT2])


def py(pkg: ModuleType, **leaves: Any) -> Any:
    """Validate ``{"tt:c": leaves}`` in Python mode; returns the container."""
    return pkg.Root.model_validate({"tt:c": leaves}).c


def js(pkg: ModuleType, **leaves: Any) -> Any:
    """Validate ``{"tt:c": leaves}`` as RFC 7951 JSON text; returns the container."""
    return pkg.Root.model_validate_json(json.dumps({"tt:c": leaves})).c


def dump(pkg: ModuleType, c: Any) -> dict[str, Any]:
    """The RFC 7951 JSON of a container (absent leaves left out)."""
    root = pkg.Root.model_validate({"tt:c": c})
    return json.loads(root.model_dump_json(exclude_none=True))["tt:c"]


def leaf(name: str) -> str:
    return name.replace("-", "_")


def rejected(fn: Any, pkg: ModuleType, **leaves: Any) -> ValidationError:
    with pytest.raises(ValidationError) as ei:
        fn(pkg, **leaves)
    return ei.value


# ---- integers ------------------------------------------------------------------------------

INTS = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint8": (0, 2**8 - 1),
    "uint16": (0, 2**16 - 1),
    "uint32": (0, 2**32 - 1),
    "uint64": (0, 2**64 - 1),
}


def _json_int(t: str, v: int) -> Any:
    return str(v) if t in ("int64", "uint64") else v  # RFC 7951 §6.1


@pytest.mark.parametrize("t", sorted(INTS))
def test_integer_bounds_json(pkg: ModuleType, t: str) -> None:
    lo, hi = INTS[t]
    assert getattr(js(pkg, **{t: _json_int(t, lo)}), t) == lo
    assert getattr(js(pkg, **{t: _json_int(t, hi)}), t) == hi
    rejected(js, pkg, **{t: _json_int(t, lo - 1)})
    rejected(js, pkg, **{t: _json_int(t, hi + 1)})


@pytest.mark.parametrize("t", sorted(INTS))
def test_integer_bounds_python(pkg: ModuleType, t: str) -> None:
    lo, hi = INTS[t]
    assert getattr(py(pkg, **{t: lo}), t) == lo
    assert getattr(py(pkg, **{t: hi}), t) == hi
    rejected(py, pkg, **{t: lo - 1})
    rejected(py, pkg, **{t: hi + 1})
    rejected(py, pkg, **{t: str(lo)})  # typed values: no str → int coercion
    rejected(py, pkg, **{t: 1.5})


def test_int64_json_is_a_string_int32_a_number(pkg: ModuleType) -> None:
    assert js(pkg, int64="-5").int64 == -5
    assert js(pkg, uint64="18446744073709551615").uint64 == 2**64 - 1
    rejected(js, pkg, int64=5)  # a JSON number is not an int64 encoding
    rejected(js, pkg, uint64=5)
    rejected(js, pkg, int64="5.0")
    rejected(js, pkg, int64="five")
    assert js(pkg, int32=5).int32 == 5
    rejected(js, pkg, int32="5")  # and a string is not an int32 encoding
    rejected(js, pkg, int32=5.5)
    rejected(js, pkg, int32=True)


def test_int64_json_round_trip(pkg: ModuleType) -> None:
    c = py(pkg, int64=-(2**63), uint64=2**64 - 1, int32=7)
    out = dump(pkg, c)
    assert out == {"int64": str(-(2**63)), "uint64": str(2**64 - 1), "int32": 7}


def test_range_with_several_parts(pkg: ModuleType) -> None:
    for ok in (1, 5, 10, 20, 30, 2**31 - 1):
        assert py(pkg, ranged=ok).ranged == ok
        assert js(pkg, ranged=ok).ranged == ok
    for bad in (0, 11, 19, 21, 29, -1, 2**31):
        rejected(py, pkg, ranged=bad)
        rejected(js, pkg, ranged=bad)
    assert pkg.B.node("/tt:c/ranged").type["range"] == [[1, 10], [20, 20], [30, 2**31 - 1]]


# ---- decimal64 -------------------------------------------------------------------------------


def test_decimal64_fraction_digits_and_range(pkg: ModuleType) -> None:
    assert js(pkg, dec2="1.23").dec2 == Decimal("1.23")
    assert js(pkg, dec2="-10.5").dec2 == Decimal("-10.5")
    assert js(pkg, dec2="10.50").dec2 == Decimal("10.5")
    assert js(pkg, dec2="3").dec2 == Decimal(3)
    assert py(pkg, dec2=Decimal("1.230")).dec2 == Decimal("1.23")  # trailing zero: fine
    rejected(js, pkg, dec2="1.234")  # too many fraction digits
    rejected(py, pkg, dec2=Decimal("1.234"))
    rejected(js, pkg, dec2="10.51")  # out of range
    rejected(js, pkg, dec2="-10.51")
    rejected(js, pkg, dec2="11")
    rejected(js, pkg, dec2=1.5)  # RFC 7951 §6.1: decimal64 is a JSON string
    rejected(js, pkg, dec2="1.5e0")
    rejected(js, pkg, dec2="NaN")
    rejected(js, pkg, dec2="")
    rejected(py, pkg, dec2=Decimal("Infinity"))


def test_decimal64_multi_part_range(pkg: ModuleType) -> None:
    for ok in ("1", "1.5", "2", "5.5"):
        assert js(pkg, dec1=ok).dec1 == Decimal(ok)
    for bad in ("0.9", "2.1", "5.4", "5.6"):
        rejected(js, pkg, dec1=bad)


def test_decimal64_18_digits_limits(pkg: ModuleType) -> None:
    assert js(pkg, dec18="9.223372036854775807").dec18 == Decimal("9.223372036854775807")
    assert js(pkg, dec18="-9.223372036854775808").dec18 == Decimal("-9.223372036854775808")
    rejected(js, pkg, dec18="9.223372036854775808")
    rejected(js, pkg, dec18="-9.223372036854775809")
    rejected(js, pkg, dec18="0.0000000000000000001")


def test_decimal64_canonical_form(pkg: ModuleType) -> None:
    out = dump(pkg, {"dec2": Decimal("1.50"), "dec18": Decimal("-0"), "dec1": Decimal("2")})
    assert out == {"dec2": "1.5", "dec18": "0.0", "dec1": "2.0"}
    t = pkg.B.type_of(pkg.B.node("/tt:c/dec2"))
    assert t.canonical(Decimal("010.10")) == "10.1"
    assert t.canonical(Decimal("-0.05")) == "-0.05"


# ---- strings -------------------------------------------------------------------------------


def test_string_length_parts_and_all_patterns(pkg: ModuleType) -> None:
    for ok in ("ab", "abc", "abcde"):
        assert js(pkg, str=ok).str_ == ok
    for bad in ("a", "", "abcd", "abcdef"):
        rejected(js, pkg, str=bad)
    rejected(py, pkg, str="aB")  # fails the first pattern
    rejected(py, pkg, str="abx")  # fails the second pattern
    rejected(js, pkg, str=12)
    assert [p[0] for p in pkg.B.node("/tt:c/str").type["pattern"]] == ["[a-z]*", "[^x]*"]


def test_unicode_category_pattern(pkg: ModuleType) -> None:
    assert py(pkg, letters="é").letters == "é"
    assert js(pkg, letters="Straße").letters == "Straße"
    rejected(py, pkg, letters="1")
    rejected(py, pkg, letters="a1")
    rejected(py, pkg, letters="")


def test_invert_match_pattern(pkg: ModuleType) -> None:
    assert py(pkg, not_x="ax").not_x == "ax"
    assert py(pkg, not_x="").not_x == ""
    rejected(py, pkg, not_x="x")
    rejected(py, pkg, not_x="xyz")


def test_pattern_error_message_and_app_tag(pkg: ModuleType) -> None:
    assert py(pkg, digits="123").digits == "123"
    err = rejected(py, pkg, digits="12a")
    (e,) = err.errors()
    assert e["msg"] == "digits only, please"
    assert e["ctx"] == {"app_tag": "not-digits"}
    assert "digits only, please" in str(err)
    (e,) = rejected(js, pkg, digits="x").errors()
    assert e["msg"] == "digits only, please"


def test_length_and_range_error_message(pkg: ModuleType) -> None:
    (e,) = rejected(py, pkg, short="abcd").errors()
    assert (e["msg"], e["ctx"]) == ("too long", {"app_tag": "len-tag"})
    (e,) = rejected(py, pkg, small=6).errors()
    assert (e["msg"], e["ctx"]) == ("one to five", {"app_tag": "rng-tag"})
    assert py(pkg, small=5).small == 5


# ---- enumeration, bits, binary, boolean, empty -----------------------------------------------


def test_enumeration_with_explicit_values(pkg: ModuleType) -> None:
    assert js(pkg, colour="ten").colour == "ten"
    assert py(pkg, colour="minus").colour == "minus"
    rejected(js, pkg, colour="eleventy")
    rejected(js, pkg, colour=10)  # the value is not the JSON encoding
    rejected(py, pkg, colour="Ten")
    t = pkg.B.type_of(pkg.B.node("/tt:c/colour"))
    assert [t.value_of(n) for n in ("zero", "ten", "eleven", "minus")] == [0, 10, 11, -3]


def test_bits_with_positions(pkg: ModuleType) -> None:
    assert js(pkg, flags="fifth first").flags == frozenset({"first", "fifth"})
    assert js(pkg, flags="").flags == frozenset()
    assert py(pkg, flags={"sixth"}).flags == frozenset({"sixth"})
    rejected(js, pkg, flags="first first")
    rejected(js, pkg, flags="seventh")
    rejected(js, pkg, flags=["first"])  # RFC 7951 §6.5: a space-separated string
    rejected(py, pkg, flags="first")
    assert dict(pkg.B.node("/tt:c/flags").type["bits"]) == {"first": 0, "fifth": 5, "sixth": 6}
    assert dump(pkg, {"flags": frozenset({"sixth", "first", "fifth"})}) == {"flags": "first fifth sixth"}


def test_binary_with_length(pkg: ModuleType) -> None:
    assert js(pkg, blob="AQID").blob == b"\x01\x02\x03"
    assert js(pkg, blob="AQIDBA==").blob == b"\x01\x02\x03\x04"
    assert py(pkg, blob=b"x").blob == b"x"
    rejected(js, pkg, blob="")  # 0 bytes: below length 1
    rejected(js, pkg, blob="AQIDBAU=")  # 5 bytes
    rejected(js, pkg, blob="not base64!")
    rejected(py, pkg, blob="AQID")  # Python side takes bytes
    assert dump(pkg, {"blob": b"\x01\x02\x03"}) == {"blob": "AQID"}


def test_boolean(pkg: ModuleType) -> None:
    assert js(pkg, flag=True).flag is True
    assert js(pkg, flag=False).flag is False
    rejected(js, pkg, flag="true")
    rejected(js, pkg, flag=1)
    rejected(py, pkg, flag=1)
    rejected(py, pkg, flag="false")


def test_empty(pkg: ModuleType) -> None:
    assert js(pkg, marker=[None]).marker is True
    assert py(pkg, marker=True).marker is True
    rejected(js, pkg, marker=True)
    rejected(js, pkg, marker=[])
    rejected(js, pkg, marker="")
    rejected(js, pkg, marker=[None, None])
    rejected(py, pkg, marker=False)
    assert dump(pkg, {"marker": True}) == {"marker": [None]}


# ---- union -----------------------------------------------------------------------------------


def test_union_picks_the_member_by_json_encoding(pkg: ModuleType) -> None:
    v = js(pkg, u_int8_str=5).u_int8_str
    assert v == 5 and type(v) is int
    v = js(pkg, u_int8_str="5").u_int8_str
    assert v == "5" and type(v) is str
    rejected(js, pkg, u_int8_str=300)  # a number, but not an int8, and not a string
    rejected(js, pkg, u_int8_str=True)
    assert py(pkg, u_int8_str=-128).u_int8_str == -128
    assert py(pkg, u_int8_str="300").u_int8_str == "300"
    rejected(py, pkg, u_int8_str=300)


def test_union_with_int64_member(pkg: ModuleType) -> None:
    v = js(pkg, u_int64_str="5").u_int64_str
    assert v == 5 and type(v) is int  # first member whose JSON encoding fits
    assert js(pkg, u_int64_str="five").u_int64_str == "five"
    rejected(js, pkg, u_int64_str=5)
    assert dump(pkg, {"u-int64-str": 5}) == {"u-int64-str": "5"}
    assert dump(pkg, {"u-int64-str": "x"}) == {"u-int64-str": "x"}


def test_union_enum_boolean_number(pkg: ModuleType) -> None:
    assert js(pkg, u_enum_bool="auto").u_enum_bool == "auto"
    assert js(pkg, u_enum_bool=True).u_enum_bool is True
    assert js(pkg, u_enum_bool=7).u_enum_bool == 7
    rejected(js, pkg, u_enum_bool="manual")
    rejected(js, pkg, u_enum_bool="true")
    rejected(js, pkg, u_enum_bool=70000)


# ---- leafref, identityref, instance-identifier -----------------------------------------------


def test_leafref_takes_the_target_type(pkg: ModuleType) -> None:
    assert js(pkg, ref=-128).ref == -128
    rejected(js, pkg, ref=128)
    rejected(js, pkg, ref="1")
    assert py(pkg, ref_list=100).ref_list == 100
    rejected(py, pkg, ref_list=101)  # the target's own range
    d = pkg.B.node("/tt:c/ref").type
    assert d["b"] == "leafref" and d["path"] == "../int8" and d["ri"] is True
    assert d["target"]["b"] == "int8" and d["tp"] == "/tt:c/int8"
    d = pkg.B.node("/tt:c/ref-list").type
    assert d["tp"] == "/tt:items/item/id" and d["pm"]["tt"] == "tt"
    assert d["target"]["range"] == [[1, 100]]


def test_leafref_require_instance_false(pkg: ModuleType) -> None:
    d = pkg.B.node("/tt:c/ref-loose").type
    assert d["ri"] is False
    assert py(pkg, ref_loose="abc").ref_loose == "abc"
    rejected(py, pkg, ref_loose="abx")  # still the target's type


def test_identityref_multiple_bases(pkg: ModuleType) -> None:
    assert js(pkg, idr="tt:ab").idr == "tt:ab"
    assert js(pkg, idr="ab").idr == "tt:ab"  # same module as the leaf: unqualified allowed
    assert js(pkg, idr="tt:ab-child").idr == "tt:ab-child"
    rejected(js, pkg, idr="tt:only-a")  # derived from a, not from b
    rejected(js, pkg, idr="tt:a")  # a base is not derived from itself
    rejected(js, pkg, idr="tt:nosuch")
    rejected(js, pkg, idr="nosuch:ab")
    rejected(py, pkg, idr="ab")  # Python values are always qualified
    assert sorted(pkg.B.node("/tt:c/idr").type["bases"]) == ["tt:a", "tt:b"]


def test_identityref_derived_across_modules(pkg: ModuleType) -> None:
    assert js(pkg, idr="tt2:c2").idr == "tt2:c2"  # c2 → tt:ab-child → tt:ab → a, b
    assert js(pkg, idr_a="tt2:c2").idr_a == "tt2:c2"
    rejected(js, pkg, idr="tt2:only-b2")
    rejected(js, pkg, idr_a="tt2:only-b2")
    rejected(js, pkg, idr="c2")  # unqualified means the leaf's module: tt:c2 does not exist
    assert pkg.B.schema.derived_from("tt:a") >= {"tt:ab", "tt:only-a", "tt:ab-child", "tt2:c2"}
    assert pkg.B.schema.identities["tt2:c2"].bases == ("tt:ab-child",)


def test_instance_identifier(pkg: ModuleType) -> None:
    assert js(pkg, iid="/tt:c/int8").iid == "/tt:c/int8"
    p = "/tt:items/item[id='3']/id"
    assert js(pkg, iid=p).iid == p
    rejected(js, pkg, iid="tt:c")
    rejected(js, pkg, iid=5)
    assert pkg.B.node("/tt:c/iid").type["ri"] is True
    assert pkg.B.node("/tt:c/iid-loose").type["ri"] is False


# ---- typedef chains ----------------------------------------------------------------------------


def test_typedef_default_and_units_inherited(pkg: ModuleType) -> None:
    n = pkg.B.node("/tt:c/pct")
    assert n.default == ("20",) and n.units == "percent"
    assert n.type["td"] == "tt:percent" and n.type["range"] == [[0, 100]]
    own = pkg.B.node("/tt:c/pct-own")
    assert own.default == ("7",) and own.units == "%"
    assert pkg.B.node("/tt:c/pct-mand").default is None  # mandatory: no typedef default
    assert pkg.B.node("/tt:c/narrow").default == ("20",)  # through two typedefs


def test_typedef_range_narrowed_at_each_level(pkg: ModuleType) -> None:
    assert py(pkg, pct=0).pct == 0
    rejected(py, pkg, pct=101)
    assert py(pkg, narrow=10).narrow == 10
    assert py(pkg, narrow=50).narrow == 50
    rejected(py, pkg, narrow=9)
    rejected(py, pkg, narrow=51)
    assert py(pkg, low=0).low == 0  # "min" is the base typedef's effective min
    assert py(pkg, low=30).low == 30
    rejected(py, pkg, low=31)
    rejected(py, pkg, low=-1)


def test_typedef_patterns_accumulate(pkg: ModuleType) -> None:
    assert py(pkg, lowa="abc").lowa == "abc"
    rejected(py, pkg, lowa="bcd")  # the derived pattern
    rejected(py, pkg, lowa="aB")  # the base pattern
    rejected(py, pkg, lowa="abcde")  # the derived length
    assert [p[0] for p in pkg.B.node("/tt:c/lowa").type["pattern"]] == ["[a-z]+", "a.*"]
    assert py(pkg, lowa_short="ab").lowa_short == "ab"
    rejected(py, pkg, lowa_short="a")
    rejected(py, pkg, lowa_short="abcd")
    rejected(py, pkg, lowa_short="bb")
