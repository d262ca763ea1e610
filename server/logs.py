"""yangd's log output: plain lines for people, or one JSON object per line for collectors.

``log_json = true`` in the configuration writes each record as a JSON object (journald,
Loki, Elasticsearch take it as is): ``time`` (RFC 3339, UTC), ``level``, ``logger``,
``message``, ``exception`` when there is one, plus any ``extra={...}`` fields a caller gave.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

__all__ = ["LEVELS", "JsonFormatter", "setup_logging"]

LEVELS = ("debug", "info", "warning", "error", "critical")
PLAIN = "%(asctime)s %(name)s %(levelname)s %(message)s"
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for k, v in vars(record).items():
            if k not in _STANDARD and not k.startswith("_"):
                doc[k] = v if isinstance(v, str | int | float | bool | None) else str(v)
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)


def setup_logging(level: str = "info", as_json: bool = False) -> None:
    """Configure the root logger once, for ``yangd serve`` (stderr: journald collects it)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if as_json else logging.Formatter(PLAIN))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(level.upper())
