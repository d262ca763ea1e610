"""The persist-id of a confirmed commit this user made from the command line.

Each client command is its own NETCONF session, and a confirmed commit is rolled back when
the session that made it ends (RFC 6241 §8.4.1) — at once, for a command that exits. So
``yangd commit --confirmed`` makes a *persistent* confirmed commit (``<persist>``,
:confirmed-commit:1.1) with a fresh random persist-id, and keeps the id here (mode 0600,
one file per server) for the ``commit``/``confirm``/``cancel`` that follows, from any
terminal of the same user. The id is a capability: whoever has it may confirm or cancel.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from server.client.profile import Profile

__all__ = ["forget", "new_id", "recall", "remember"]


def _state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "yangd"


def _file(p: Profile) -> Path:
    host = "".join(c if c.isalnum() or c in ".-" else "_" for c in p.host)
    return _state_dir() / f"confirm-{host}-{p.port}.json"


def new_id() -> str:
    return secrets.token_urlsafe(18)


def remember(p: Profile, persist_id: str, deadline: str) -> None:
    path = _file(p)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"persist-id": persist_id, "deadline": deadline}, f)


def recall(p: Profile) -> dict[str, Any] | None:
    try:
        doc = json.loads(_file(p).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and isinstance(doc.get("persist-id"), str) else None


def forget(p: Profile) -> None:
    try:
        _file(p).unlink()
    except FileNotFoundError:
        pass
