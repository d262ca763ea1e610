"""One error model end to end: RFC 6241 Appendix A ``rpc-error`` fields.

Raised by the codecs, the edit engine, validation and commit; rendered unchanged as a NETCONF
``rpc-error`` or a RESTCONF ``errors`` body (RFC 8040 §7) by the server layer. ``path`` is an
instance path in RFC 7951 form (module names as prefixes); the server rewrites it with XML
prefixes for NETCONF.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from models.schema import SchemaNode


def protected_message(node: SchemaNode, msg: str) -> str:
    """``msg`` about a value of ``node``, unless the node is nacm:default-deny-all (e.g. a
    password, RFC 8341 §3.1.3): then a message that does not repeat the value."""
    if node.default_deny() == "all":
        return f"invalid value for {node.name} (not shown: the node is protected)"
    return msg


@dataclass(frozen=True)
class YangdError:
    tag: str  # RFC 6241 Appendix A error-tag, e.g. "data-exists"
    message: str
    path: str | None = None
    app_tag: str | None = None  # RFC 7950 §15, e.g. "must-violation", or a module's error-app-tag
    type: str = "application"  # transport | rpc | protocol | application
    info: Mapping[str, Any] = field(default_factory=dict)
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        app = f" ({self.app_tag})" if self.app_tag else ""
        return f"{where}{self.tag}{app}: {self.message}"


class YangdErrors(Exception):
    """One or more YangdError; a failed operation raises this and changes nothing."""

    def __init__(self, errors: Iterable[YangdError]):
        self.errors: list[YangdError] = list(errors)
        super().__init__("\n".join(map(str, self.errors)))

    @classmethod
    def one(cls, tag: str, message: str, path: str | None = None, app_tag: str | None = None,
            type: str = "application", **info: Any) -> YangdErrors:
        return cls([YangdError(tag, message, path, app_tag, type, info)])
