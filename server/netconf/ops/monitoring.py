"""``get`` with the server's state, and ``get-schema`` (RFC 6022 §3.1).

``get`` answers with running, the state the southbound drivers report (merged as for the
operational datastore, defaults not filled), and every config-false tree the server provides:
yangd-commits, ietf-yang-library and ietf-netconf-monitoring's ``/netconf-state``
(server/netconf/monitoring.py); ``state_tree`` is that merge, shared with ``get-data`` on
the operational datastore.

``get-schema`` returns the text of the file a module or submodule was compiled from
(``ModuleInfo.source``, searched in yang/ and beside the ``--module`` files). Format ``yang``
only: ``yin`` is answered with invalid-value, as is an unknown identifier or version; an
identifier loaded in several revisions with no version asked for is operation-failed with
app-tag data-not-unique.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from lxml import etree

from datastore.history import commits_state
from datastore.operational import with_state
from models.bundle import YangModel
from models.errors import YangdError, YangdErrors
from models.library import yang_library
from server.netconf.errors import NetconfError
from server.netconf.monitoring import NCM, module_files, netconf_state, schema_rows
from server.netconf.ops.base import Context, Operation, check_children, child, text_of
from server.netconf.ops.retrieve import _PARAMS, _reply
from server.netconf.ops.retrieve import Get as _BaseGet

if TYPE_CHECKING:
    from server.netconf.server import Server

__all__ = ["Get", "GetSchema", "server_of", "state_tree"]


def server_of(ctx: Context) -> Server | None:
    """The NETCONF server the operation runs in (None when run without one)."""
    return cast("Server | None", getattr(ctx.control, "server", None))


def state_tree(ctx: Context, tree: YangModel) -> YangModel:
    """``tree`` with the server-provided state merged in (replacing any such subtree), less
    what NACM does not let the session read."""
    b = ctx.bundle
    update: dict[str, Any] = {
        b.node("/yangd-commits:commits").py_name: commits_state(ctx.session.ds),
        b.node("/ietf-yang-library:yang-library").py_name: yang_library(b),
    }
    server = server_of(ctx)
    if server is not None:
        update[b.node("/ietf-netconf-monitoring:netconf-state").py_name] = netconf_state(server)
    out = tree.model_copy(update=update)
    acc = ctx.session.access  # NACM (RFC 8341 §3.4.5): state is pruned like config
    return out if acc is None else acc.prune(out)


class Get(_BaseGet):
    """get (RFC 6241 §7.7): running plus the server's state, filters and with-defaults."""

    def run(self, ctx: Context, elem: Any) -> list[Any]:
        check_children(elem, _PARAMS)
        ds = ctx.session.ds
        tree = ctx.session.get("running")
        if ds.state_providers:  # what the backends report (interfaces, RIBs, drivers)
            tree = with_state(ds.bundle, tree, list(ds.state_providers))
        return _reply(ctx, state_tree(ctx, tree), elem, False)


def _format(elem: Any) -> str:
    c = child(elem, "format", NCM)
    if c is None:
        return "yang"
    text = (c.text or "").strip()
    prefix, _, local = text.rpartition(":")
    ns = c.nsmap.get(prefix or None)
    if prefix and ns not in (NCM, None):  # undeclared: lxml-built requests may lose xmlns:ncm
        raise NetconfError("invalid-value", f"unknown schema format {text!r}", "application",
                           bad_element="format")
    if local != "yang":
        raise NetconfError("invalid-value", f"schema format {text!r} is not supported (only yang)",
                           "application", bad_element="format")
    return local


class GetSchema(Operation):
    NAME = "get-schema"
    NS = NCM

    def run(self, ctx: Context, elem: Any) -> list[Any]:
        check_children(elem, [(NCM, "identifier"), (NCM, "version"), (NCM, "format")])
        ident = text_of(elem, "identifier", NCM)
        if ident is None:
            raise NetconfError("missing-element", "<identifier> is required", "protocol",
                               bad_element="identifier")
        version = text_of(elem, "version", NCM)
        _format(elem)
        rows = [r for r in schema_rows(ctx.bundle) if r[0] == ident]
        if version is not None:
            rows = [r for r in rows if r[1] == version]
        if not rows:
            what = f"{ident}@{version}" if version else ident
            raise NetconfError("invalid-value", f"no schema {what!r}", "application",
                               bad_element="identifier")
        if len(rows) > 1:
            raise YangdErrors([YangdError(
                "operation-failed", f"{ident!r} is loaded in several versions; give <version>",
                None, "data-not-unique", "application")])
        name, rev, _ns = rows[0]
        text = _schema_text(ctx, name, rev)
        data = etree.Element(f"{{{NCM}}}data", nsmap={None: NCM})
        data.text = text
        return [data]


def _schema_text(ctx: Context, name: str, revision: str) -> str:
    server = server_of(ctx)
    files = module_files(server.config.modules if server is not None else ())
    source = next((m.source for m in ctx.bundle.schema.modules.values()
                   if m.name == name and (m.revision or "") == revision), None)
    candidates = [c for c in (source, f"{name}@{revision}.yang" if revision else None,
                              f"{name}.yang") if c]
    for c in candidates:
        path = files.get(c)
        if path is not None:
            try:
                return path.read_text(encoding="utf-8")
            except OSError:
                break
    raise NetconfError("operation-failed", f"the source of {name!r} is not available", "application",
                       bad_element="identifier")

