"""RFC 7950 XML codec: round trips through JSON, lexical forms, errors, hostile input."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest
from lxml import etree

from models.codec import InstanceError, Issue, decode_json, decode_xml, encode_json, encode_xml
from models.codec.xml import to_bytes
from tests.models.test_codec_common import compile_models

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
CT = "urn:yangd:test:codec"
CA = "urn:yangd:test:codec-aug"
IF = "urn:ietf:params:xml:ns:yang:ietf-interfaces"
IP = "urn:ietf:params:xml:ns:yang:ietf-ip"
IANA = "urn:ietf:params:xml:ns:yang:iana-if-type"

# in the encoder's canonical form (schema order, keys first, its prefixes)
FULL = f"""<data xmlns="{NC}">
<interfaces xmlns="{IF}">
  <interface>
    <name>eth0</name>
    <description>uplink</description>
    <type xmlns:ianaift="{IANA}">ianaift:ethernetCsmacd</type>
    <enabled>true</enabled>
    <ipv4 xmlns="{IP}">
      <mtu>1500</mtu>
      <address><ip>192.0.2.1</ip><prefix-length>24</prefix-length></address>
    </ipv4>
  </interface>
</interfaces>
<top xmlns="{CT}">
  <i8>-5</i8><i16>300</i16><i32>70000</i32><i64>-9007199254740993</i64>
  <u8>255</u8><u16>65535</u16><u32>4294967295</u32><u64>18446744073709551615</u64>
  <pct>42</pct><dec>1.5</dec><str>abc1</str><flag>true</flag><nothing/>
  <color>yellow</color><opts>a c</opts><blob>aGVsbG8=</blob>
  <ident xmlns:ca="{CA}">ca:green-ish</ident>
  <target xmlns:ct="{CT}" xmlns:ca="{CA}">/ct:top/ct:multi[ct:a='x'][ct:b='1']/ca:weight</target>
  <u>unbounded</u><ref>x</ref><tags>t1</tags><tags>t2</tags>
  <multi><a>x</a><b>1</b><v>vv</v><weight xmlns="{CA}">3</weight></multi>
  <multi><a>x</a><b>2</b></multi>
  <tcp-port>80</tcp-port>
  <extra><foo>1</foo><bar xmlns="{CA}"><baz>a</baz><baz>b</baz></bar></extra>
  <note xmlns="{CA}">hi</note>
</top>
</data>"""


@pytest.fixture(scope="session")
def gen(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    return compile_models(tmp_path_factory.mktemp("codec"))


def c14n(x: Any) -> str:
    raw = x if isinstance(x, str | bytes) else to_bytes(x)
    text = raw.decode() if isinstance(raw, bytes) else raw
    out: str = etree.canonicalize(text, strip_text=True)
    return out


def top(body: str) -> str:
    return f'<data xmlns="{NC}"><top xmlns="{CT}">{body}</top></data>'


def issues(gen: ModuleType, text: str | bytes, cls: Any = None) -> list[Issue]:
    with pytest.raises(InstanceError) as ei:
        decode_xml(cls or gen.Root, text)
    return ei.value.issues


def one(gen: ModuleType, text: str | bytes) -> tuple[str, str, str | None]:
    got = issues(gen, text)
    assert len(got) == 1, got
    return got[0].path, got[0].tag, got[0].app_tag


def test_round_trip_through_json(gen: ModuleType) -> None:
    a = decode_xml(gen.Root, FULL)
    b = decode_json(gen.Root, encode_json(a))
    assert a == b
    out = encode_xml(b)
    assert c14n(out) == c14n(FULL)
    assert decode_xml(gen.Root, to_bytes(out, pretty=True)) == a


def test_rfc7951_forms_from_xml(gen: ModuleType) -> None:
    text = top(f"""<i64>9007199254740993</i64><dec> 1.50 </dec><nothing/>
        <ident xmlns:x="{CA}">x:green-ish</ident>
        <target xmlns:p="{CT}" xmlns:q="{CA}">/p:top/p:multi[p:a='x'][p:b='1']/q:weight</target>""")
    obj = decode_xml(gen.Root, text)
    assert obj.top.dec == Decimal("1.50")
    out = json.loads(encode_json(obj))["codec-test:top"]
    assert out["i64"] == "9007199254740993"
    assert out["dec"] == "1.5"
    assert out["nothing"] == [None]
    assert out["ident"] == "codec-aug:green-ish"
    # RFC 7951 §6.11: qualified on the first node and where the module changes only
    assert out["target"] == "/codec-test:top/multi[a='x'][b='1']/codec-aug:weight"
    xml = to_bytes(encode_xml(obj)).decode()
    assert "<dec>1.5</dec>" in xml and "<nothing/>" in xml
    assert f'<ident xmlns:ca="{CA}">ca:green-ish</ident>' in xml
    assert "/ct:top/ct:multi[ct:a='x'][ct:b='1']/ca:weight</target>" in xml


def test_default_namespace_identity_and_element_input(gen: ModuleType) -> None:
    elem = etree.fromstring(top("<ident>blue</ident>"))
    assert decode_xml(gen.Root, elem).top.ident == "codec-test:blue"


def test_prefix_clash_is_renumbered(gen: ModuleType) -> None:
    from models.codec.xml_encode import _Prefixes

    rec = _Prefixes(gen.B)
    assert rec.prefix_of_module("codec-test") == "ct"
    assert rec.prefix_of_module("codec-test") == "ct"
    rec.declared["ca"] = "urn:other"
    assert rec.prefix_of_module("codec-aug") == "ca2"


def test_schema_order_keys_first(gen: ModuleType) -> None:
    text = top(f'<multi><weight xmlns="{CA}">1</weight><v>z</v><b>7</b><a>k</a></multi><u8>1</u8>')
    out = encode_xml(decode_xml(gen.Root, text))
    entry = out[0].find(f"{{{CT}}}multi")
    assert [etree.QName(e).localname for e in entry] == ["a", "b", "v", "weight"]
    assert [etree.QName(e).localname for e in out[0]] == ["u8", "multi"]


@pytest.mark.parametrize("body, path, tag", [
    ("<i32>abc</i32>", "/codec-test:top/i32", "invalid-value"),
    ("<i8>1.0</i8>", "/codec-test:top/i8", "invalid-value"),
    ("<u8>300</u8>", "/codec-test:top/u8", "invalid-value"),
    ("<pct>101</pct>", "/codec-test:top/pct", "invalid-value"),
    ("<dec>1.234</dec>", "/codec-test:top/dec", "invalid-value"),
    ("<flag>yes</flag>", "/codec-test:top/flag", "invalid-value"),
    ("<nothing>x</nothing>", "/codec-test:top/nothing", "invalid-value"),
    ("<opts>a z</opts>", "/codec-test:top/opts", "invalid-value"),
    ("<blob>!!</blob>", "/codec-test:top/blob", "invalid-value"),
    ("<ident>nope:blue</ident>", "/codec-test:top/ident", "invalid-value"),
    ("<ident>base-id</ident>", "/codec-test:top/ident", "invalid-value"),
    ("<u>lots</u>", "/codec-test:top/u", "invalid-value"),
    ("<bogus/>", "/codec-test:top/bogus", "unknown-element"),
    ('<note xmlns="urn:nowhere"/>', "/codec-test:top/note", "unknown-namespace"),
    (f'<i8 xmlns="{CA}">1</i8>', "/codec-test:top/codec-aug:i8", "unknown-element"),
    ("<u8>1</u8><u8>2</u8>", "/codec-test:top/u8", "bad-element"),
    ("<multi><a>x</a><b>one</b></multi>", "/codec-test:top/multi[a='x']/b", "invalid-value"),
    ("<multi><a>x</a><b>1</b><zz/></multi>", "/codec-test:top/multi[a='x'][b='1']/zz",
     "unknown-element"),
    (f'<multi><a>x</a><b>1</b><weight xmlns="{CA}">300</weight></multi>',
     "/codec-test:top/multi[a='x'][b='1']/codec-aug:weight", "invalid-value"),
    ("<multi><a>x</a></multi>", "/codec-test:top/multi[a='x']/b", "missing-element"),
    ("<tcp-port>1</tcp-port><udp-port>2</udp-port>", "/codec-test:top", "bad-element"),
])
def test_errors(gen: ModuleType, body: str, path: str, tag: str) -> None:
    assert one(gen, top(body))[:2] == (path, tag)


def test_duplicate_key(gen: ModuleType) -> None:
    body = "<multi><a>x</a><b>1</b></multi><multi><a>x</a><b>01</b></multi>"
    assert one(gen, top(body)) == ("/codec-test:top/multi[a='x'][b='1']", "operation-failed",
                                   "data-not-unique")


def test_duplicate_leaf_list_value(gen: ModuleType) -> None:
    assert one(gen, top("<tags>a</tags><tags>a</tags>")) == (
        "/codec-test:top/tags[.='a']", "operation-failed", "data-not-unique")


def test_unknown_top_level(gen: ModuleType) -> None:
    assert one(gen, f'<data><top xmlns="{CA}"/></data>')[:2] == ("/codec-aug:top", "unknown-element")


def test_all_issues_collected(gen: ModuleType) -> None:
    body = "<i8>x</i8><bogus/><u8>999</u8><multi><a>q</a><b>1</b><v>1</v><v>2</v></multi>"
    got = {(i.path, i.tag) for i in issues(gen, top(body))}
    assert got == {
        ("/codec-test:top/i8", "invalid-value"),
        ("/codec-test:top/bogus", "unknown-element"),
        ("/codec-test:top/u8", "invalid-value"),
        ("/codec-test:top/multi[a='q'][b='1']/v", "bad-element"),
    }


def test_interface_error_path(gen: ModuleType) -> None:
    text = FULL.replace("<mtu>1500</mtu>", "<mtu>15</mtu>")  # ietf-ip: mtu 68..max
    assert one(gen, text)[:2] == (
        "/ietf-interfaces:interfaces/interface[name='eth0']/ietf-ip:ipv4/mtu", "invalid-value")
    text = FULL.replace("ianaift:ethernetCsmacd", "ianaift:nonsense")
    assert one(gen, text)[:2] == (
        "/ietf-interfaces:interfaces/interface[name='eth0']/type", "invalid-value")


def test_rpc_input_output_notification(gen: ModuleType) -> None:
    m = gen.codec_test
    inp = decode_xml(m.ResetInput, f'<reset xmlns="{CT}"><delay>5</delay><mode>red</mode></reset>')
    assert (inp.delay, inp.mode) == (5, "codec-test:red")
    assert c14n(encode_xml(inp)) == c14n(
        f'<reset xmlns="{CT}"><delay>5</delay><mode xmlns:ct="{CT}">ct:red</mode></reset>')
    out = decode_xml(m.ResetOutput, f'<rpc-reply xmlns="{NC}"><done xmlns="{CT}">true</done></rpc-reply>')
    assert out.done is True
    assert c14n(encode_xml(out)) == c14n(f'<output xmlns="{CT}"><done>true</done></output>')
    got = issues(gen, f'<reset xmlns="{CT}"><delay>-1</delay></reset>', m.ResetInput)
    assert [(i.path, i.tag) for i in got] == [("/codec-test:reset/input/delay", "invalid-value")]
    al = decode_xml(m.Alarm, f'<alarm xmlns="{CT}"><severity>2</severity></alarm>')
    assert decode_xml(m.Alarm, encode_xml(al)) == al
    multi = decode_xml(m.Multi, f'<multi xmlns="{CT}"><a>k</a><b>3</b></multi>')
    assert (multi.a, multi.b) == ("k", 3)
    with pytest.raises(InstanceError):
        decode_xml(m.Multi, f'<other xmlns="{CT}"><a>k</a><b>3</b></other>')


def test_wrapper_options(gen: ModuleType) -> None:
    obj = decode_xml(gen.Root, top("<u8>1</u8>"))
    assert etree.QName(encode_xml(obj, wrapper=None)).localname == "top"
    cfg = encode_xml(obj, wrapper="config")
    assert cfg.tag == f"{{{NC}}}config"
    with pytest.raises(ValueError):
        encode_xml(decode_xml(gen.Root, FULL), wrapper=None)


@pytest.mark.parametrize("text", [
    b"<data",
    b"<data></dat>",
    b"",
])
def test_malformed(gen: ModuleType, text: bytes) -> None:
    assert one(gen, text)[:2] == ("/", "malformed-message")


XXE = f"""<?xml version="1.0"?>
<!DOCTYPE data [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<data xmlns="{NC}"><top xmlns="{CT}"><str>&xxe;</str></top></data>"""

LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE data [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
""" + "".join(
    f' <!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">\n' for i in range(9)
) + f"""]>
<data xmlns="{NC}"><top xmlns="{CT}"><str>&j;</str></top></data>"""


@pytest.mark.parametrize("text", [
    XXE,
    LAUGHS,
    f'<!DOCTYPE data SYSTEM "http://example.com/x.dtd"><data xmlns="{NC}"/>',
    f'<!DOCTYPE data><data xmlns="{NC}"/>',
])
def test_doctype_refused(gen: ModuleType, text: str) -> None:
    t0 = time.monotonic()
    got = issues(gen, text.encode())
    assert time.monotonic() - t0 < 2
    assert [(i.path, i.tag) for i in got] == [("/", "malformed-message")]
    assert "passwd" not in str(got) and "aaaa" not in str(got)


def test_doctype_refused_on_parsed_element(gen: ModuleType) -> None:
    parser = etree.XMLParser(resolve_entities=False)
    elem = etree.fromstring(XXE.encode(), parser)
    assert [i.tag for i in issues(gen, elem)] == ["malformed-message"]


def test_str_input_with_declaration(gen: ModuleType) -> None:
    text = '<?xml version="1.0" encoding="UTF-8"?>' + top("<str>abc</str>")
    assert decode_xml(gen.Root, text).top.str_ == "abc"


def test_string_writer_matches_element_encoder(gen: ModuleType) -> None:
    from models.codec import encode_xml_bytes

    obj = decode_xml(gen.Root, FULL)
    assert c14n(encode_xml_bytes(obj)) == c14n(FULL)
    # anydata content (``extra``) keeps its xmlns: it is serialised on its own
    assert encode_xml_bytes(obj) == to_bytes(encode_xml(obj)).replace(b"<extra>", f'<extra xmlns="{CT}">'.encode())
    entry = next(iter(obj.top.multi))
    assert encode_xml_bytes(entry) == to_bytes(encode_xml(entry))


def _described(gen: ModuleType, text: str) -> Any:
    return gen.Root.model_validate({"ietf-interfaces:interfaces": {"interface": [
        {"name": "eth0", "type": "iana-if-type:ethernetCsmacd", "description": text}]}})


@pytest.mark.parametrize("text", ['a&b<c>d"e', "line\r\nnext\ttab", "é ☃ 𝄞"])
def test_string_writer_escapes_like_lxml(gen: ModuleType, text: str) -> None:
    from models.codec import encode_xml_bytes

    obj = _described(gen, text)
    written = encode_xml_bytes(obj)
    assert written == to_bytes(encode_xml(obj))
    assert next(iter(decode_xml(gen.Root, written).interfaces.interface)).description == text


@pytest.mark.parametrize("text", ["nul\x00", "bell\x07", "noncharacter\ufffe", "surrogate\ud800"])
def test_string_writer_refuses_what_xml_cannot_carry(gen: ModuleType, text: str) -> None:
    from models.codec import encode_xml_bytes

    obj = _described(gen, text)
    with pytest.raises(ValueError):
        encode_xml(obj)
    with pytest.raises(ValueError):
        encode_xml_bytes(obj)
