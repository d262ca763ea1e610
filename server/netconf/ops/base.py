"""What every NETCONF operation shares: the context it runs in and the parameter helpers.

An operation is a class with the element it answers to (``NAME`` in ``NS``), the capability
it provides (``CAPABILITY``; advertised in the hello only when the operation is registered),
and ``run(ctx, elem)`` which returns the children of ``<rpc-reply>`` (an empty list → ``<ok/>``;
elements, or bytes already serialised, which are spliced in as they are) or raises YangdErrors. ``run`` is synchronous: the session runs it in a worker thread, so a
slow commit (database fsync, southbound drivers) never stalls other sessions.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from models.bundle import Bundle, YangModel
from models.codec.errors import InstanceError
from models.errors import YangdError, YangdErrors
from server.netconf.errors import NC, NetconfError

if TYPE_CHECKING:
    from datastore.session import Session

__all__ = [
    "NC",
    "Context",
    "Operation",
    "SessionControl",
    "child",
    "datastore_of",
    "instance_errors",
    "text_of",
]

DATASTORES = ("running", "candidate", "startup")


class SessionControl(Protocol):
    """What operations may ask of the NETCONF layer (implemented by the session/server)."""

    def request_close(self) -> None:
        """Close this session once the reply is sent (close-session)."""

    def kill(self, session_id: int) -> None:
        """End another session (kill-session); raises YangdErrors if there is none."""


@dataclass
class Context:
    session: Session  # the datastore session
    bundle: Bundle
    control: SessionControl
    session_id: int

    @property
    def schema_root(self) -> Any:
        return self.bundle.schema.root


class Operation(ABC):
    NAME: ClassVar[str]
    NS: ClassVar[str] = NC
    CAPABILITY: ClassVar[str | None] = None  # the capability this operation provides
    DEPENDS: ClassVar[tuple[str, ...]] = ()  # capabilities the server must also have

    @abstractmethod
    def run(self, ctx: Context, elem: Any) -> list[Any]:
        """The reply's content (empty: ``<ok/>``); raises YangdErrors/NetconfError to refuse."""


def child(elem: Any, name: str, ns: str = NC, required: bool = False) -> Any:
    """The one child ``{ns}name`` of ``elem`` (None if absent); duplicates are bad-element."""
    found = elem.findall(f"{{{ns}}}{name}")
    if ns == NC:  # some clients (ncclient's <filter>) leave NETCONF parameters unqualified
        found += elem.findall(name)
    if len(found) > 1:
        raise NetconfError("bad-element", f"<{name}> given more than once", bad_element=name)
    if not found:
        if required:
            raise NetconfError("missing-element", f"<{name}> is required", bad_element=name)
        return None
    return found[0]


def text_of(elem: Any, name: str, ns: str = NC) -> str | None:
    c = child(elem, name, ns)
    return None if c is None else (c.text or "").strip()


def check_children(elem: Any, allowed: Sequence[tuple[str, str]]) -> None:
    """Refuse parameters the operation does not know (unknown-element / unknown-namespace)."""
    ok = {f"{{{ns}}}{n}" for ns, n in allowed}
    for c in elem:
        if not isinstance(c.tag, str) or c.tag in ok or f"{{{NC}}}{c.tag}" in ok:
            continue
        ns, _, local = c.tag[1:].partition("}") if c.tag.startswith("{") else ("", "", c.tag)
        if ns in (NC, *{a for a, _ in allowed}):
            raise NetconfError("unknown-element", f"unexpected parameter <{local}>", bad_element=local)
        raise NetconfError("unknown-namespace", f"unexpected namespace {ns!r}", bad_element=local,
                           bad_namespace=ns)


def datastore_of(elem: Any, name: str, allowed: Sequence[str] = DATASTORES,
                 inline: bool = False) -> str | Any:
    """The datastore named in ``<source>``/``<target>``, or the inline ``<config>`` element."""
    holder = child(elem, name, required=True)
    kids = [c for c in holder if isinstance(c.tag, str)]
    if len(kids) != 1:
        raise NetconfError("missing-element" if not kids else "bad-element",
                           f"<{name}> must name exactly one datastore", bad_element=name)
    k = kids[0]
    ns, _, local = k.tag[1:].partition("}") if k.tag.startswith("{") else ("", "", k.tag)
    if ns == NMDA_NS and local == "datastore":  # RFC 8526 §3.2: an NMDA datastore identity
        local = _nmda_datastore(k, name)
    elif ns != NC:
        raise NetconfError("unknown-namespace", f"unexpected namespace {ns!r} in <{name}>",
                           bad_element=local, bad_namespace=ns)
    if local == "config" and inline:
        return k
    if local == "url":
        raise NetconfError("operation-not-supported", ":url is not supported", bad_element="url")
    if local not in allowed:
        raise NetconfError("invalid-value", f"<{local}> cannot be the {name} here", bad_element=local)
    return local


NMDA_NS = "urn:ietf:params:xml:ns:yang:ietf-netconf-nmda"
DS_NS = "urn:ietf:params:xml:ns:yang:ietf-datastores"


def _nmda_datastore(elem: Any, name: str) -> str:
    """The datastore an ``<nmda:datastore>ds:running</nmda:datastore>`` names (its identity)."""
    text = (elem.text or "").strip()
    prefix, _, ident = text.rpartition(":")
    if elem.nsmap.get(prefix or None) != DS_NS:
        raise NetconfError("invalid-value", f"{text!r} is not an ietf-datastores identity",
                           bad_element="datastore")
    return ident


def instance_errors(e: InstanceError) -> YangdErrors:
    return YangdErrors(YangdError(i.tag, i.message, i.path, i.app_tag) for i in e.issues)


def decode_config(ctx: Context, config_elem: Any) -> YangModel:
    """An inline ``<config>`` as a whole datastore tree."""
    from models.codec.xml import decode_xml

    cls = ctx.bundle.root_cls
    assert cls is not None
    try:
        return decode_xml(cls, config_elem)
    except InstanceError as e:
        raise instance_errors(e) from None
