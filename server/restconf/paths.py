"""RESTCONF resource paths (RFC 8040 §3.5.3) to datastore paths, and back.

``/restconf/data/example-jukebox:jukebox/library/artist=Foo%20Fighters/album=Wasting%20Light``
names each data node by its identifier, module-qualified on the first node and wherever the
module changes; a list entry is ``list=key1,key2`` (every key, in key order, each value
percent-encoded, so a comma inside a value is ``%2C``) and a leaf-list entry ``leaf-list=value``.

The raw (still percent-encoded) path is parsed segment by segment against the schema, turned
into an RFC 7951 instance-identifier and handed to datastore/path.parse_path, which types the
key values. Anything else — empty segments, ``.``/``..``, bad percent-encoding, unknown
modules or nodes, the wrong number of keys — is 400 with an errors body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote_to_bytes

from datastore.path import Path, parse_path
from models.bundle import Bundle
from models.errors import YangdErrors
from models.schema import Kind, SchemaNode
from models.types import MODULE_NAMES
from server.restconf.errors import RestconfError

__all__ = ["Resource", "format_resource", "parse_resource"]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class Resource:
    """A data resource: its datastore path (empty: the datastore itself)."""

    path: Path
    whole_list: bool = False  # the last step is a list or leaf-list named without keys

    @property
    def node(self) -> SchemaNode | None:
        return self.path[-1].node if self.path else None


def _bad(msg: str, tag: str = "invalid-value", path: str | None = None) -> RestconfError:
    return RestconfError.one(tag, msg, 400, path, type="protocol")


def decode(text: str) -> str:
    """Strict percent-decoding to UTF-8 text (RFC 3986 §2.1)."""
    if _BAD_PERCENT.search(text):
        raise _bad(f"bad percent-encoding in {text!r}")
    try:
        return unquote_to_bytes(text).decode("utf-8")
    except UnicodeDecodeError:
        raise _bad(f"percent-encoded bytes in {text!r} are not UTF-8") from None


def _literal(value: str) -> str:
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    raise _bad("a key value holding both quote characters is not supported yet")


def parse_resource(bundle: Bundle, raw: str, allow_whole_list: bool = False) -> Resource:
    """The resource for ``raw``, the percent-encoded path after ``/restconf/data``."""
    if raw in ("", "/"):
        return Resource(())
    if not raw.startswith("/"):
        raise _bad(f"bad resource path {raw!r}")
    node = bundle.schema.root
    module = ""
    parts: list[str] = []
    segments = raw[1:].split("/")
    whole = False
    for i, seg in enumerate(segments):
        name_part, eq, keys_part = seg.partition("=")
        ident = decode(name_part)
        mod, colon, name = ident.rpartition(":")
        if not _IDENT.fullmatch(name) or (colon and not _IDENT.fullmatch(mod)):
            raise _bad(f"bad path segment {decode(seg)!r}")
        if mod:
            if mod not in bundle.schema.modules:
                raise _bad(f"unknown module {mod!r}", "unknown-element")
            module = mod
        elif not module:
            raise _bad(f"the first node {name!r} must be module-qualified (module:{name})")
        child = node.data_child(module, name)
        if child is None:
            raise _bad(f"no data node {ident!r} under {node.path() if node.module else '/'}",
                       "unknown-element")
        step = f"/{child.module}:{name}" if child.module != node.module else f"/{name}"
        last = i == len(segments) - 1
        if child.kind is Kind.LIST and child.keys:
            if eq:
                values = [decode(v) for v in keys_part.split(",")]
                if len(values) != len(child.keys):
                    raise _bad(f"{name} needs {len(child.keys)} key value(s) "
                               f"({', '.join(child.keys)}), not {len(values)}")
                step += "".join(f"[{k}={_literal(v)}]" for k, v in zip(child.keys, values, strict=True))
            elif last and allow_whole_list:
                whole = True
            else:
                raise _bad(f"list {name} needs its key value(s): {name}=...")
        elif child.kind is Kind.LEAF_LIST:
            if eq:
                step += f"[.={_literal(decode(keys_part))}]"
            elif last and allow_whole_list:
                whole = True
            else:
                raise _bad(f"leaf-list {name} needs a value: {name}=...")
        elif child.kind is Kind.LIST:  # a keyless (state) list: only as a whole
            if eq or not (last and allow_whole_list):
                raise _bad(f"entries of keyless list {name} cannot be addressed")
            whole = True
        elif eq:
            raise _bad(f"{name} is not a list or leaf-list: it takes no '=' value")
        parts.append(step)
        node = child
    try:
        return Resource(parse_path(bundle, "".join(parts)), whole)
    except YangdErrors as e:
        raise RestconfError(e.errors, 400) from None


def format_resource(bundle: Bundle, path: Path) -> str:
    """The RESTCONF URI path (after /restconf/data) of a datastore path."""
    out: list[str] = []
    prev = ""
    for st in path:
        n = st.node
        seg = n.name if n.module == prev else f"{n.module}:{n.name}"
        prev = n.module
        if st.key is not None:
            if n.kind is Kind.LIST:
                texts = []
                for kname, v in zip(n.keys, st.key, strict=True):
                    kn = n.child(n.module, kname)
                    assert kn is not None
                    texts.append(bundle.type_of(kn).to_text(v, MODULE_NAMES))
            else:
                texts = [bundle.type_of(n).to_text(st.key[0], MODULE_NAMES)]
            seg += "=" + ",".join(quote(t, safe="-._~:") for t in texts)
        out.append(seg)
    return "/" + "/".join(out)
