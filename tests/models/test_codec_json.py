"""RFC 7951 JSON codec: canonical forms, round trips and instance-path errors."""

from __future__ import annotations

import json
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest

from models.codec import InstanceError, Issue, decode_json, encode_json
from tests.models.test_codec_common import compile_models

TOP: dict[str, Any] = {
    "i8": -5, "i16": 300, "i32": 70000, "i64": "-9007199254740993", "u8": 255, "u16": 65535,
    "u32": 4294967295, "u64": "18446744073709551615", "pct": 42, "dec": "1.50", "str": "abc1",
    "flag": True, "nothing": [None], "color": "yellow", "opts": "c a", "blob": "aGVsbG8=",
    "ident": "codec-aug:green-ish",
    "target": "/codec-test:top/multi[a='x'][b='1']/codec-aug:weight",
    "u": "unbounded", "ref": "x", "tags": ["t1", "t2"],
    "multi": [{"a": "x", "b": 1, "v": "vv", "codec-aug:weight": 3}, {"a": "x", "b": 2}],
    "tcp-port": 80,
    "extra": {"foo": "1", "codec-aug:bar": {"baz": ["a", "b"]}},
    "codec-aug:note": "hi",
}


@pytest.fixture(scope="session")
def gen(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    return compile_models(tmp_path_factory.mktemp("codec"))


def doc(**top: Any) -> str:
    return json.dumps({"codec-test:top": top})


def issues(gen: ModuleType, text: str, cls: Any = None) -> list[Issue]:
    with pytest.raises(InstanceError) as ei:
        decode_json(cls or gen.Root, text)
    return ei.value.issues


def one(gen: ModuleType, text: str) -> tuple[str, str, str | None]:
    got = issues(gen, text)
    assert len(got) == 1, got
    return got[0].path, got[0].tag, got[0].app_tag


def test_python_values(gen: ModuleType) -> None:
    top = decode_json(gen.Root, doc(**TOP)).top
    assert top.i64 == -9007199254740993 and top.u64 == 2**64 - 1
    assert top.dec == Decimal("1.5")
    assert top.nothing is True
    assert top.opts == frozenset({"a", "c"})
    assert top.blob == b"hello"
    assert top.ident == "codec-aug:green-ish"
    assert top.note == "hi"
    assert [(e.a, e.b) for e in top.multi] == [("x", 1), ("x", 2)]
    assert top.multi.get(("x", 1)).weight == 3


def test_canonical_encoding(gen: ModuleType) -> None:
    out = json.loads(encode_json(decode_json(gen.Root, doc(**TOP))))["codec-test:top"]
    assert out["i64"] == "-9007199254740993" and out["u64"] == "18446744073709551615"
    assert out["u32"] == 4294967295  # 32-bit stays a number
    assert out["dec"] == "1.5"
    assert out["nothing"] == [None]
    assert out["opts"] == "a c"  # bit position order
    assert out["ident"] == "codec-aug:green-ish"
    assert out["target"] == TOP["target"]
    assert out["codec-aug:note"] == "hi"
    assert out["multi"][0]["codec-aug:weight"] == 3
    assert {**TOP, "dec": "1.5", "opts": "a c"} == out


def test_round_trip(gen: ModuleType) -> None:
    a = decode_json(gen.Root, doc(**TOP))
    text = encode_json(a, indent=2)
    b = decode_json(gen.Root, text.encode())
    assert a == b and encode_json(b, indent=2) == text


def test_unqualified_identity_is_the_leaf_module(gen: ModuleType) -> None:
    assert decode_json(gen.Root, doc(ident="blue")).top.ident == "codec-test:blue"


@pytest.mark.parametrize("top, path, tag", [
    ({"i32": "5"}, "/codec-test:top/i32", "invalid-value"),
    ({"i64": 5}, "/codec-test:top/i64", "invalid-value"),  # RFC 7951: a string
    ({"dec": 1.5}, "/codec-test:top/dec", "invalid-value"),
    ({"nothing": True}, "/codec-test:top/nothing", "invalid-value"),
    ({"u8": 300}, "/codec-test:top/u8", "invalid-value"),
    ({"pct": 101}, "/codec-test:top/pct", "invalid-value"),
    ({"str": "ABC"}, "/codec-test:top/str", "invalid-value"),
    ({"color": "red"}, "/codec-test:top/color", "invalid-value"),
    ({"ident": "codec-test:base-id"}, "/codec-test:top/ident", "invalid-value"),
    ({"u": "lots"}, "/codec-test:top/u", "invalid-value"),
    ({"bogus": 1}, "/codec-test:top/bogus", "unknown-element"),
    ({"multi": [{"a": "x", "b": 1, "v": 5}]}, "/codec-test:top/multi[a='x'][b='1']/v",
     "invalid-value"),
    ({"multi": [{"a": "x", "b": 1, "codec-aug:weight": -1}]},
     "/codec-test:top/multi[a='x'][b='1']/codec-aug:weight", "invalid-value"),
    ({"multi": [{"a": "x"}]}, "/codec-test:top/multi[a='x']/b", "missing-element"),
    ({"multi": [{"a": "it's", "b": 1, "bad": 0}]},
     "/codec-test:top/multi[a=\"it's\"][b='1']/bad", "unknown-element"),
    ({"tcp-port": 1, "udp-port": 2}, "/codec-test:top", "bad-element"),
])
def test_errors(gen: ModuleType, top: dict[str, Any], path: str, tag: str) -> None:
    assert one(gen, doc(**top))[:2] == (path, tag)


def test_duplicate_key(gen: ModuleType) -> None:
    text = doc(multi=[{"a": "x", "b": 1}, {"a": "y", "b": 1}, {"a": "x", "b": 1}])
    assert one(gen, text) == ("/codec-test:top/multi[a='x'][b='1']", "operation-failed",
                              "data-not-unique")


def test_duplicate_leaf_list_value(gen: ModuleType) -> None:
    assert one(gen, doc(tags=["a", "b", "a"])) == (
        "/codec-test:top/tags[.='a']", "operation-failed", "data-not-unique")


def test_unknown_top_level_member(gen: ModuleType) -> None:
    assert one(gen, '{"nope:thing": {}}')[:2] == ("/nope:thing", "unknown-element")


def test_all_issues_collected(gen: ModuleType) -> None:
    got = issues(gen, doc(i8=128, bogus=1, multi=[{"a": "x", "b": "1"}]))
    assert {(i.path, i.tag) for i in got} == {
        ("/codec-test:top/i8", "invalid-value"),
        ("/codec-test:top/bogus", "unknown-element"),
        ("/codec-test:top/multi[a='x'][b='1']/b", "invalid-value"),
    }
    text = str(InstanceError(got))
    assert "/codec-test:top/i8: " in text and len(text.splitlines()) == 3


def test_interface_path(gen: ModuleType) -> None:
    text = json.dumps({"ietf-interfaces:interfaces": {"interface": [
        {"name": "eth0", "type": "iana-if-type:ethernetCsmacd",
         "ietf-ip:ipv4": {"mtu": 1500, "address": [{"ip": "192.0.2.1", "prefix-length": 24}]}},
        {"name": "eth1", "type": "iana-if-type:ethernetCsmacd",
         "ietf-ip:ipv4": {"mtu": 70000}},
    ]}})
    assert one(gen, text)[:2] == (
        "/ietf-interfaces:interfaces/interface[name='eth1']/ietf-ip:ipv4/mtu", "invalid-value")


def test_malformed(gen: ModuleType) -> None:
    assert one(gen, '{"codec-test:top": {')[:2] == ("/", "malformed-message")


def test_rpc_and_notification(gen: ModuleType) -> None:
    m = gen.codec_test
    inp = decode_json(m.ResetInput, '{"delay": 5, "mode": "codec-aug:green-ish"}')
    assert (inp.delay, inp.mode) == (5, "codec-aug:green-ish")
    assert json.loads(encode_json(inp)) == {"delay": 5, "mode": "codec-aug:green-ish"}
    got = issues(gen, '{"delay": -1}', m.ResetInput)
    assert [(i.path, i.tag) for i in got] == [("/codec-test:reset/input/delay", "invalid-value")]
    al = decode_json(m.Alarm, '{"severity": 3, "what": "fan"}')
    assert encode_json(al) == '{"severity":3,"what":"fan"}'
