"""RFC 7951 JSON: decode to a generated class with instance-path errors, and encode.

The generated classes' core schemas already implement RFC 7951 exactly on their JSON side
(models/types.py), so decoding is pydantic's ``model_validate_json`` and encoding
``model_dump_json``; this module adds the error mapping and the document-level conventions.
"""

from __future__ import annotations

import json as _json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from models.codec._util import no_gc
from models.codec.errors import InstanceError, Issue, from_validation_error
from models.schema import SchemaNode

M = TypeVar("M", bound=BaseModel)


def node_of(cls: type[BaseModel]) -> SchemaNode:
    node: SchemaNode | None = getattr(cls, "__yang__", None)
    if node is None:
        raise TypeError(f"{cls.__name__} is not a generated YANG class")
    return node


def decode_json(cls: type[M], text: str | bytes) -> M:
    """Parse and validate an RFC 7951 document (for ``Root``: all top-level members)."""
    node = node_of(cls)
    raw = text.encode() if isinstance(text, str) else text
    if b"null" in raw:  # rare: only empty's [null] is legal, so look closer
        _refuse_nulls(raw, node)
    try:
        with no_gc():
            # by_name=False: member names are exactly RFC 7951's, never Python field names
            return cls.model_validate_json(raw, by_alias=True, by_name=False)
    except ValidationError as err:
        if any(e["type"] == "json_invalid" for e in err.errors()):
            raise InstanceError([Issue("/", _json_message(err), "malformed-message")]) from None
        try:
            data: Any = _json.loads(text)
        except ValueError:
            data = None
        raise from_validation_error(err, node, data) from None


def _refuse_nulls(raw: bytes, node: SchemaNode) -> None:
    """RFC 7951 has no null value except the [null] of an empty leaf (§6.9)."""
    try:
        data: Any = _json.loads(raw)
    except ValueError:
        return  # malformed: pydantic reports it with its position

    def walk(v: Any, path: str) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                if x is None:
                    raise InstanceError([Issue(f"{path}/{k}", "null is not a value in RFC 7951",
                                               "invalid-value")])
                walk(x, f"{path}/{k}")
        elif isinstance(v, list) and v != [None]:
            for x in v:
                if x is None:
                    raise InstanceError([Issue(path, "null is not a value in RFC 7951", "invalid-value")])
                walk(x, path)

    walk(data, "")


def _json_message(err: ValidationError) -> str:
    e = next(e for e in err.errors() if e["type"] == "json_invalid")
    return f"malformed JSON: {e['msg']}"


def encode_json(obj: BaseModel, indent: int | None = None) -> str:
    """The RFC 7951 encoding of ``obj`` (unset nodes omitted)."""
    return obj.model_dump_json(exclude_none=True, by_alias=True, indent=indent)
