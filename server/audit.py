"""The audit log: one structured line per security-relevant event (logger ``yangd.audit``).

Each line is ``audit EVENT key=value ...`` (values quoted as JSON strings when they hold
spaces, quotes, ``=`` or control characters, so a user name cannot forge a line), and the
same fields go to the record's ``extra`` so ``log_json = true`` writes them as JSON members.
Events: ``login`` (result ok|failed|refused), ``logout``, ``lock``/``unlock``, ``commit``
(with the change summary), ``rollback`` and ``denied`` (NACM). Never a password or hash:
callers pass names, addresses and paths only, and a commit is summarised by operation counts
and paths, never values.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import weakref
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datastore.datastores import CommitEvent, Datastores

__all__ = ["attach", "denied", "event", "lock", "login", "logout", "rollback"]

log = logging.getLogger("yangd.audit")

TOP_PATHS = 5  # paths named in a commit line; the rest are counted
_SAFE = re.compile(r"[\w.:/@\[\]'*,+-]*")
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def _text(v: Any) -> str:
    s = str(v)
    return s if s and _SAFE.fullmatch(s) else json.dumps(s, ensure_ascii=False)


def event(name: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log one audit line: ``audit NAME k=v ...`` (None values left out)."""
    fields = {k: v for k, v in fields.items() if v is not None}
    line = " ".join(f"{k}={_text(v)}" for k, v in fields.items())
    extra = {("audit_" + k if k in _RESERVED else k): v for k, v in fields.items()}
    extra["audit"] = name
    log.log(level, "audit %s %s", name, line, extra=extra)


def login(user: str, transport: str, address: str, result: str, method: str | None = None,
          reason: str | None = None, session: int | None = None) -> None:
    """``result``: ok, failed (bad credentials or unknown user) or refused (throttled)."""
    event("login", logging.INFO if result == "ok" else logging.WARNING, result=result, user=user,
          transport=transport, address=address, method=method, reason=reason, session=session)


def logout(user: str, transport: str, session: int, address: str | None = None,
           reason: str | None = None) -> None:
    event("logout", user=user, transport=transport, session=session, address=address, reason=reason)


def lock(operation: str, user: str, transport: str, session: int, datastore: str, ok: bool) -> None:
    """``operation``: lock or unlock."""
    event(operation, logging.INFO if ok else logging.WARNING, result="ok" if ok else "failed",
          user=user, transport=transport, session=session, datastore=datastore)


def rollback(user: str, transport: str, session: int | None, to: int | str | None, commit: int | None,
             ok: bool) -> None:
    event("rollback", logging.INFO if ok else logging.WARNING, result="ok" if ok else "failed",
          user=user, transport=transport, session=session, to=to, commit=commit)


def denied(user: str, transport: str, session: int | None, operation: str,
           path: str | None = None, reason: str | None = None) -> None:
    """An access denial (NACM, RFC 8341): ``operation`` is read, create, update, delete or
    exec (or a protocol operation's name); ``path`` the data node or rpc it was refused on."""
    event("denied", logging.WARNING, user=user, transport=transport, session=session,
          operation=operation, path=path, reason=reason)


def _on_commit(ds_ref: weakref.ref[Datastores], e: CommitEvent) -> None:
    ds = ds_ref()
    if ds is None:
        return
    from datastore.path import format_path

    counts = Counter(c.op for c in e.changes)
    paths = [format_path(ds.bundle, c.path) for c in e.changes[:TOP_PATHS]]
    more = len(e.changes) - len(paths)
    kind = "rollback" if (e.comment or "").startswith("rollback to commit") else "commit"
    event("commit", id=e.id, user=e.user, transport=e.transport, session=e.session_id, kind=kind,
          confirmed=str(e.confirmed).lower(), create=counts["create"], modify=counts["modify"],
          delete=counts["delete"], paths=",".join(paths) + (f",+{more}" if more > 0 else ""),
          label=e.label)


_attached: weakref.WeakSet[Datastores] = weakref.WeakSet()
_attached_mutex = threading.Lock()


def attach(ds: Datastores) -> None:
    """Audit every commit of ``ds`` and its yangd-commits rollback operation (once per ds)."""
    with _attached_mutex:
        if ds in _attached:
            return
        _attached.add(ds)
    ref = weakref.ref(ds)
    ds.add_listener(lambda e: _on_commit(ref, e))
    ds.nacm.listeners.append(denied)  # RFC 8341 denials, both transports
    _wrap_rollback(ds)


def _wrap_rollback(ds: Datastores) -> None:
    from datastore.history import MODULE

    path = f"/{MODULE}:rollback"
    inner = ds.rpcs.get(path)
    if inner is None:
        return

    def audited(session: Any, inp: Any) -> Any:
        to = getattr(inp, "id", None)
        to = to if to is not None else getattr(inp, "label", None)
        try:
            out = inner(session, inp)
        except Exception:
            rollback(session.user, session.transport, session.id, to, None, False)
            raise
        rollback(session.user, session.transport, session.id, to, session.ds.head, True)
        return out

    ds.rpcs[path] = audited
