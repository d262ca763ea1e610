"""A value refused for a nacm:default-deny-all node (RFC 8341 §3.1.3; the ietf-system password,
which yangd treats so) is never repeated in the error message, on any decode path."""

from __future__ import annotations

import json

import pytest
from lxml import etree

from models.codec import InstanceError, decode_json, decode_xml, edit_from_xml
from models.edit import edit_from_json
from models.errors import YangdErrors
from models.generated import B, Root

SECRET = "not-a-crypt-hash-s3cret"
SYS = "urn:ietf:params:xml:ns:yang:ietf-system"
USER = {"name": "alice", "password": SECRET}


def messages(fn: object) -> list[str]:
    with pytest.raises((InstanceError, YangdErrors)) as ei:
        fn()  # type: ignore[operator]
    e = ei.value
    if isinstance(e, InstanceError):
        return [i.message for i in e.issues]
    assert isinstance(e, YangdErrors)
    return [x.message for x in e.errors]


def xml(wrapper: str) -> str:
    return (f"<{wrapper}><system xmlns='{SYS}'><authentication><user><name>alice</name>"
            f"<password>{SECRET}</password></user></authentication></system></{wrapper}>")


@pytest.mark.parametrize("path", ["decode_json", "decode_xml", "edit_from_json", "edit_from_xml"])
def test_refused_password_is_not_echoed(path: str) -> None:
    doc = {"ietf-system:system": {"authentication": {"user": [USER]}}}
    fn = {
        "decode_json": lambda: decode_json(Root, json.dumps(doc)),
        "decode_xml": lambda: decode_xml(Root, xml("data")),
        "edit_from_json": lambda: edit_from_json(B, B.node("/ietf-system:system"), doc["ietf-system:system"]),
        "edit_from_xml": lambda: edit_from_xml(B, etree.fromstring(xml("config"))),
    }[path]
    got = messages(fn)
    assert got and all(SECRET not in m for m in got), got
    assert any("password" in m and "not shown" in m for m in got), got


def test_other_values_are_still_named() -> None:
    doc = {"ietf-system:system": {"hostname": "bad host name!"}}
    got = messages(lambda: decode_json(Root, json.dumps(doc)))
    assert any("bad host name!" in m for m in got), got
