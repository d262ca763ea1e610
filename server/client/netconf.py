"""One NETCONF session to a running yangd (ncclient over SSH), with the operations the
client commands use, each returning plain data or raising ``ClientError``.

Every ``rpc-error`` becomes a ``ClientError`` carrying the RFC 6241 fields (tag, path,
message, app-tag), so the commands print one line per error and scripts get them as JSON.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from server.client.profile import Profile

__all__ = ["DS", "NC", "NCM", "NMDA", "SB", "YC", "Client", "ClientError", "RpcErrorInfo"]

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
NCM = "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"
NMDA = "urn:ietf:params:xml:ns:yang:ietf-netconf-nmda"
DS = "urn:ietf:params:xml:ns:yang:ietf-datastores"
YC = "urn:yangd:params:xml:ns:yang:yangd-commits"
SB = "urn:yangd:params:xml:ns:yang:yangd-southbound"


@dataclass(frozen=True)
class RpcErrorInfo:
    tag: str
    message: str
    path: str | None = None
    app_tag: str | None = None

    def line(self) -> str:
        where = f" at {self.path}" if self.path else ""
        return f"{self.tag}{where}: {self.message}"


@dataclass
class ClientError(Exception):
    message: str
    errors: list[RpcErrorInfo] = field(default_factory=list)
    code: int = 1  # exit status: 1 refused by the server, 3 cannot connect, 2 bad input

    def __str__(self) -> str:
        return self.message


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _text(elem: Any, path: str) -> str | None:
    found = elem.find(path)
    return None if found is None or found.text is None else str(found.text).strip()


class Client:
    """``with Client(profile) as c: c.get("running")``: one session for one command."""

    def __init__(self, profile: Profile):
        self.profile = profile
        self.m: Any = None

    # ---- connection ----------------------------------------------------------------------
    def __enter__(self) -> Client:
        from ncclient import manager
        from ncclient.transport.errors import AuthenticationError, SSHError

        p = self.profile
        try:
            self.m = manager.connect(
                host=p.host, port=p.port, username=p.user, password=p.password,
                key_filename=str(p.key) if p.key else None, hostkey_verify=p.verify_host_key,
                look_for_keys=p.key is None and p.password is None,
                allow_agent=p.password is None, timeout=p.timeout)
        except AuthenticationError as e:
            raise ClientError(f"{p.target}: authentication failed ({e})", code=3) from None
        except SSHError as e:
            hint = ""
            if "known_hosts" in str(e) or "Unknown host key" in str(e):
                hint = f" (add it: ssh-keyscan -p {p.port} {p.host} >> ~/.ssh/known_hosts)"
            raise ClientError(f"cannot connect to {p.target}: {e}{hint}", code=3) from None
        except OSError as e:
            raise ClientError(f"cannot connect to {p.host}:{p.port}: {e}", code=3) from None
        self.m.timeout = p.timeout
        return self

    def __exit__(self, *exc: object) -> None:
        if self.m is not None:
            try:
                self.m.close_session()
            except Exception:  # the server may already have closed it (kill-session)
                pass
            self.m = None

    @property
    def session_id(self) -> int:
        return int(self.m.session_id)

    def rpc(self, elem: Any) -> Any:
        """Send one operation element; the parsed ``<rpc-reply>`` element."""
        from ncclient.operations.errors import TimeoutExpiredError
        from ncclient.operations.rpc import RPCError
        from ncclient.transport.errors import TransportError

        try:
            reply = self.m.dispatch(_hoist_prefixes(elem))
        except RPCError as e:
            errs = getattr(e, "errors", None) or [e]
            infos = [RpcErrorInfo(str(x.tag), str(x.message or "").strip() or str(x.tag),
                                  _error_path(x), x.app_tag) for x in errs]
            raise ClientError("; ".join(i.line() for i in infos), infos) from None
        except TimeoutExpiredError:
            raise ClientError(f"no reply within {self.profile.timeout:g} s", code=3) from None
        except TransportError as e:
            raise ClientError(f"connection lost: {e}", code=3) from None
        return etree.fromstring(reply.xml.encode())

    # ---- reading ---------------------------------------------------------------------------
    def get(self, datastore: str, xpath: str | None = None,
            nsmap: dict[str, str] | None = None) -> Any:
        """The ``<data>`` element of a datastore: get-config for running, candidate and
        startup; get-data (RFC 8526) of ietf-datastores:operational otherwise."""
        if datastore == "operational":
            op = etree.Element(_q(NMDA, "get-data"), nsmap={None: NMDA, "ds": DS})
            etree.SubElement(op, _q(NMDA, "datastore")).text = "ds:operational"
            if xpath:
                f = etree.SubElement(op, _q(NMDA, "xpath-filter"), nsmap=nsmap or {})
                f.text = xpath
            reply = self.rpc(op)
            data = reply.find(_q(NMDA, "data"))
        else:
            op = etree.Element(_q(NC, "get-config"), nsmap={None: NC})
            etree.SubElement(etree.SubElement(op, _q(NC, "source")), _q(NC, datastore))
            if xpath:
                f = etree.SubElement(op, _q(NC, "filter"), nsmap=nsmap or {})
                f.set("type", "xpath")
                f.set("select", xpath)
            reply = self.rpc(op)
            data = reply.find(_q(NC, "data"))
        return data if data is not None else etree.Element(_q(NC, "data"))

    def get_state(self, xpath: str, nsmap: dict[str, str]) -> Any:
        """``<get>`` (running plus yangd's own state: commits, monitoring) through an XPath."""
        op = etree.Element(_q(NC, "get"), nsmap={None: NC})
        f = etree.SubElement(op, _q(NC, "filter"), nsmap=nsmap)
        f.set("type", "xpath")
        f.set("select", xpath)
        data = self.rpc(op).find(_q(NC, "data"))
        return data if data is not None else etree.Element(_q(NC, "data"))

    def commits(self) -> tuple[int, list[dict[str, Any]]]:
        data = self.get_state("/yc:commits", {"yc": YC})
        head = int(_text(data, f"{_q(YC, 'commits')}/{_q(YC, 'head')}") or 0)
        rows = []
        for c in data.iterfind(f"{_q(YC, 'commits')}/{_q(YC, 'commit')}"):
            row: dict[str, Any] = {"id": int(_text(c, _q(YC, "id")) or 0)}
            for name in ("time", "user", "transport", "comment", "label"):
                row[name] = _text(c, _q(YC, name))
            row["confirmed"] = _text(c, _q(YC, "confirmed")) != "false"
            row["size"] = int(_text(c, _q(YC, "size")) or 0)
            rows.append(row)
        return head, rows

    def sessions(self) -> list[dict[str, Any]]:
        data = self.get_state("/ncm:netconf-state/ncm:sessions", {"ncm": NCM})
        rows = []
        for s in data.iterfind(f"{_q(NCM, 'netconf-state')}/{_q(NCM, 'sessions')}/{_q(NCM, 'session')}"):
            transport = _text(s, _q(NCM, "transport")) or ""
            rows.append({
                "session-id": int(_text(s, _q(NCM, "session-id")) or 0),
                "username": _text(s, _q(NCM, "username")),
                "transport": transport.rpartition(":")[2],
                "source-host": _text(s, _q(NCM, "source-host")),
                "login-time": _text(s, _q(NCM, "login-time")),
                "in-rpcs": int(_text(s, _q(NCM, "in-rpcs")) or 0),
                "out-rpc-errors": int(_text(s, _q(NCM, "out-rpc-errors")) or 0),
            })
        return rows

    def locks(self) -> dict[str, int]:
        """Datastore name → the session holding its global lock (RFC 6022 /datastores)."""
        data = self.get_state("/ncm:netconf-state/ncm:datastores", {"ncm": NCM})
        out = {}
        for d in data.iterfind(f".//{_q(NCM, 'datastore')}"):
            sid = _text(d, f"{_q(NCM, 'locks')}/{_q(NCM, 'global-lock')}/{_q(NCM, 'locked-by-session')}")
            name = _text(d, _q(NCM, "name"))
            if sid is not None and name is not None:
                out[name] = int(sid)
        return out

    def drivers(self) -> list[dict[str, Any]]:
        """The southbound drivers (yangd-southbound, operational datastore)."""
        data = self.get("operational", "/sb:drivers", {"sb": SB})
        rows = []
        for d in data.iterfind(f"{_q(SB, 'drivers')}/{_q(SB, 'driver')}"):
            rows.append({
                "name": _text(d, _q(SB, "name")), "kind": _text(d, _q(SB, "kind")),
                "status": _text(d, _q(SB, "status")), "last-sync": _text(d, _q(SB, "last-sync")),
                "last-error": _text(d, f"{_q(SB, 'last-error')}/{_q(SB, 'message')}"),
                "in-drift": _text(d, f"{_q(SB, 'drift')}/{_q(SB, 'in-drift')}") == "true",
            })
        return rows

    def resync(self, driver: str | None = None) -> list[dict[str, Any]]:
        """yangd-southbound:resync: full sync of one driver (or all) to running."""
        op = etree.Element(_q(SB, "resync"), nsmap={None: SB})
        if driver is not None:
            etree.SubElement(op, _q(SB, "driver")).text = driver
        reply = self.rpc(op)
        return [{"name": _text(d, _q(SB, "name")),
                 "repaired": int(r) if (r := _text(d, _q(SB, "repaired"))) is not None else None}
                for d in reply.iterfind(_q(SB, "driver"))]

    def compare(self, a: str, b: str) -> list[dict[str, Any]]:
        """yangd-commits:compare: the changes turning ``a`` into ``b`` (ids or datastores);
        each ``{operation, path, value}`` with ``value`` the XML element of the new node."""
        op = etree.Element(_q(YC, "compare"), nsmap={None: YC})
        etree.SubElement(op, _q(YC, "from")).text = a
        etree.SubElement(op, _q(YC, "to")).text = b
        reply = self.rpc(op)
        out = []
        for c in reply.iterfind(_q(YC, "change")):
            value = c.find(_q(YC, "value"))
            out.append({"operation": _text(c, _q(YC, "operation")), "path": _text(c, _q(YC, "path")),
                        "value": value[0] if value is not None and len(value) else None})
        return out

    # ---- writing ---------------------------------------------------------------------------
    def edit(self, config: Any, mode: str = "merge", target: str = "candidate") -> None:
        """``config``: a ``<config>`` element. ``mode``: merge (edit-config), replace (each
        top-level node of ``config`` replaces its counterpart: ``nc:operation="replace"`` on
        it, RFC 6241 §7.2) or override (copy-config: ``config`` becomes the whole target)."""
        config = _hoist_prefixes(config)  # before it moves under the operation element
        if mode == "replace":
            for top in children(config):
                if top.get(_q(NC, "operation")) is None:
                    top.set(_q(NC, "operation"), "replace")
            mode = "merge"
        if mode == "override":
            op = etree.Element(_q(NC, "copy-config"), nsmap={None: NC})
            etree.SubElement(etree.SubElement(op, _q(NC, "target")), _q(NC, target))
            etree.SubElement(op, _q(NC, "source")).append(config)
        else:
            op = etree.Element(_q(NC, "edit-config"), nsmap={None: NC})
            etree.SubElement(etree.SubElement(op, _q(NC, "target")), _q(NC, target))
            etree.SubElement(op, _q(NC, "default-operation")).text = mode
            op.append(config)
        self.rpc(op)

    def discard(self) -> None:
        self.rpc(etree.Element(_q(NC, "discard-changes"), nsmap={None: NC}))

    def commit(self, *, confirm_timeout: int | None = None, persist: str | None = None,
               persist_id: str | None = None, comment: str | None = None,
               label: str | None = None) -> None:
        op = etree.Element(_q(NC, "commit"), nsmap={None: NC, "yc": YC})
        if confirm_timeout is not None:
            etree.SubElement(op, _q(NC, "confirmed"))
            etree.SubElement(op, _q(NC, "confirm-timeout")).text = str(confirm_timeout)
            if persist is not None:
                etree.SubElement(op, _q(NC, "persist")).text = persist
        if persist_id is not None:
            etree.SubElement(op, _q(NC, "persist-id")).text = persist_id
        if comment is not None:
            etree.SubElement(op, _q(YC, "comment")).text = comment
        if label is not None:
            etree.SubElement(op, _q(YC, "label")).text = label
        self.rpc(op)

    def cancel_commit(self, persist_id: str | None) -> None:
        op = etree.Element(_q(NC, "cancel-commit"), nsmap={None: NC})
        if persist_id is not None:
            etree.SubElement(op, _q(NC, "persist-id")).text = persist_id
        self.rpc(op)

    def rollback(self, target: str, comment: str | None = None) -> int:
        op = etree.Element(_q(YC, "rollback"), nsmap={None: YC})
        etree.SubElement(op, _q(YC, "id" if target.isdigit() else "label")).text = target
        if comment is not None:
            etree.SubElement(op, _q(YC, "comment")).text = comment
        return int(_text(self.rpc(op), _q(YC, "id")) or 0)

    def validate(self, source: str = "candidate") -> None:
        op = etree.Element(_q(NC, "validate"), nsmap={None: NC})
        etree.SubElement(etree.SubElement(op, _q(NC, "source")), _q(NC, source))
        self.rpc(op)

    def lock(self, target: str) -> None:
        op = etree.Element(_q(NC, "lock"), nsmap={None: NC})
        etree.SubElement(etree.SubElement(op, _q(NC, "target")), _q(NC, target))
        self.rpc(op)

    def unlock(self, target: str) -> None:
        op = etree.Element(_q(NC, "unlock"), nsmap={None: NC})
        etree.SubElement(etree.SubElement(op, _q(NC, "target")), _q(NC, target))
        self.rpc(op)

    def kill_session(self, session_id: int) -> None:
        op = etree.Element(_q(NC, "kill-session"), nsmap={None: NC})
        etree.SubElement(op, _q(NC, "session-id")).text = str(session_id)
        self.rpc(op)

    def alive(self) -> bool:
        return bool(self.m is not None and self.m.connected)


def _hoist_prefixes(elem: Any) -> Any:
    """``elem`` with every prefix declared in its subtree also declared on itself.

    lxml drops a namespace declaration it deems redundant when an element moves into
    another document (as ncclient wraps the operation in ``<rpc>``); identityref and
    instance-identifier *values* (RFC 7950 §9.10.3) use prefixes lxml cannot see, so a
    declaration on the root, which moves with it, keeps them resolvable.
    """
    found: dict[str, str] = {}
    for e in elem.iter():
        if isinstance(e.tag, str):
            for prefix, uri in e.nsmap.items():
                if prefix is not None:
                    found.setdefault(prefix, uri)
    missing = {p: u for p, u in found.items() if p not in elem.nsmap}
    if not missing:
        return elem
    root = etree.Element(elem.tag, attrib=dict(elem.attrib), nsmap={**missing, **elem.nsmap})
    root.text = elem.text
    for c in list(elem):
        root.append(c)
    return root


_STEP = re.compile(r"([/\[])([A-Za-z_][\w.-]*):(?=[A-Za-z_])")


def _error_path(err: Any) -> str | None:
    """An rpc-error's error-path in RFC 7951 form (module names, each named once where it
    changes, as yangd's own messages write paths), from its XML prefixes (RFC 6241 §4.3)."""
    text = (err.path or "").strip()
    raw = getattr(err, "_raw", None)
    elem = raw.find(_q(NC, "error-path")) if raw is not None else None
    if not text or elem is None:
        return text or None
    import models.generated as g

    namespaces = g.B.schema.namespaces
    nsmap = elem.nsmap or {}
    current = ""

    def step(m: re.Match[str]) -> str:
        nonlocal current
        module = namespaces.get(nsmap.get(m.group(2), ""), m.group(2))
        if m.group(1) == "[":
            return "[" if module == current else f"[{module}:"
        same = module == current
        current = module
        return "/" if same else f"/{module}:"

    return _STEP.sub(step, text)


def children(elem: Any) -> Iterator[Any]:
    """Element children (no comments or processing instructions)."""
    return (c for c in elem if isinstance(c.tag, str))
