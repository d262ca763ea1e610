"""Instance paths: a tuple of steps from the root, each a schema node plus a list key.

The datastore addresses nodes by ``Path`` (typed, cheap to build and compare); strings in
RFC 7951 instance-identifier form are only made for errors, change records and the wire.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from models.bundle import Bundle
from models.errors import YangdErrors
from models.schema import Kind, SchemaNode
from models.types import MODULE_NAMES
from models.xpath.names import format_literal
from models.xpath.paths import parse_instance_identifier


@dataclass(frozen=True, slots=True)
class Step:
    node: SchemaNode
    key: tuple[Any, ...] | None = None  # list entry: key values; leaf-list entry: (value,)

    def __repr__(self) -> str:
        return f"Step({self.node.name}{'' if self.key is None else list(self.key)})"


Path = tuple[Step, ...]


def format_path(bundle: Bundle, path: Path) -> str:
    """``/ietf-interfaces:interfaces/interface[name='eth0']/ietf-ip:ipv4`` (RFC 7951 form)."""
    out: list[str] = []
    prev_module = ""
    for step in path:
        n = step.node
        out.append("/" + (n.name if n.module == prev_module else f"{n.module}:{n.name}"))
        prev_module = n.module
        if step.key is not None:
            if n.kind is Kind.LIST:
                for kname, v in zip(n.keys, step.key, strict=False):
                    knode = n.child(n.module, kname)
                    assert knode is not None
                    out.append(f"[{kname}={format_literal(_text(bundle, knode, v))}]")
            else:
                out.append(f"[.={format_literal(_text(bundle, n, step.key[0]))}]")
    return "".join(out) or "/"


def _text(bundle: Bundle, node: SchemaNode, v: Any) -> str:
    return bundle.type_of(node).to_text(v, MODULE_NAMES)


def parse_path(bundle: Bundle, text: str) -> Path:
    """An RFC 7951 instance-identifier (module names as prefixes) to a Path."""
    try:
        steps = parse_instance_identifier(text)
    except ValueError as e:
        raise YangdErrors.one("invalid-value", f"bad instance path {text!r}: {e}") from None
    node = bundle.schema.root
    module = ""
    out: list[Step] = []
    for st in steps:
        module = st.prefix or module
        child = node.data_child(module, st.name)
        if child is None:
            raise YangdErrors.one("unknown-element", f"no node {st.name!r} at {text!r}", text)
        key: tuple[Any, ...] | None = None
        if st.predicates:
            if isinstance(st.predicates, int):
                raise YangdErrors.one("invalid-value", "positional predicates are not supported", text)
            values = {p.name: p.value for p in st.predicates}
            t = bundle.type_of
            if child.kind is Kind.LIST:
                kn = [child.child(child.module, k) for k in child.keys]
                if set(values) != set(child.keys) or any(k is None for k in kn):
                    raise YangdErrors.one("missing-element", f"{child.name} needs keys {child.keys}", text)
                key = tuple(t(k).validate(t(k).from_text(values[k.name], MODULE_NAMES)) for k in kn if k)
            elif child.kind is Kind.LEAF_LIST and "." in values:
                key = (t(child).validate(t(child).from_text(values["."], MODULE_NAMES)),)
        out.append(Step(child, key))
        node = child
    return tuple(out)
