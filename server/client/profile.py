"""Where the client commands connect, and as whom: a ``Profile``.

Each value comes from the first place that has it:

1. a command-line option (``--host``, ``--port``, ``--user``, ``--password``, ``--key``);
2. the environment: ``YANGD_HOST``, ``YANGD_PORT``, ``YANGD_USER``, ``YANGD_PASSWORD``,
   ``YANGD_KEY``;
3. the profile file (``--profile-file``, ``YANGD_PROFILE_FILE``, default
   ``~/.config/yangd/profile.toml``), table ``[NAME]`` for ``--profile NAME`` /
   ``YANGD_PROFILE`` (default ``default``)::

       [default]
       host = "127.0.0.1"
       port = 8830
       user = "admin"
       key = "~/.ssh/id_ed25519"        # or password = "..." (keep the file mode 0600)
       host_key_check = "auto"          # yes | no | auto (auto: check unless loopback)

4. defaults: 127.0.0.1:8830, the login name, no password (SSH agent and keys are tried).

Host keys are checked against ``~/.ssh/known_hosts`` (``ssh-keyscan -p PORT HOST``) except,
with ``auto``, on loopback addresses, where yangd generated its own key on first start.
"""

from __future__ import annotations

import getpass
import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_FILE", "Profile", "ProfileError", "resolve"]

DEFAULT_FILE = Path("~/.config/yangd/profile.toml")
_KEYS: dict[str, Any] = {"host": str, "port": int, "user": str, "password": str, "key": str,
         "host_key_check": str, "timeout": (int, float)}


class ProfileError(ValueError):
    """A profile file or value the client cannot use."""


@dataclass(frozen=True)
class Profile:
    host: str = "127.0.0.1"
    port: int = 8830
    user: str = ""
    password: str | None = None
    key: Path | None = None
    host_key_check: str = "auto"
    timeout: float = 60.0
    name: str = "default"

    @property
    def verify_host_key(self) -> bool:
        if self.host_key_check != "auto":
            return self.host_key_check == "yes"
        try:
            return not ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return self.host != "localhost"

    @property
    def target(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"


def _read_file(path: Path, name: str, explicit: bool) -> dict[str, Any]:
    try:
        doc = tomllib.loads(path.expanduser().read_text(encoding="utf-8"))
    except FileNotFoundError:
        if explicit:
            raise ProfileError(f"no profile file {path}") from None
        return {}
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ProfileError(f"cannot read {path}: {e}") from None
    table = doc.get(name)
    if table is None:
        if explicit or name != "default":
            raise ProfileError(f"{path}: no profile [{name}] (have: {', '.join(sorted(doc)) or 'none'})")
        return {}
    if not isinstance(table, dict):
        raise ProfileError(f"{path}: [{name}] must be a table")
    for k, v in table.items():
        want = _KEYS.get(k)
        if want is None:
            raise ProfileError(f"{path}: [{name}] unknown key {k!r} (known: {', '.join(sorted(_KEYS))})")
        if not isinstance(v, want) or isinstance(v, bool):
            raise ProfileError(f"{path}: [{name}] {k} has the wrong type")
    return dict(table)


def resolve(options: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Profile:
    """The profile for these command-line ``options`` (None: not given) and environment."""
    env = os.environ if env is None else env
    name = str(options.get("profile") or env.get("YANGD_PROFILE") or "default")
    file_opt = options.get("profile_file") or env.get("YANGD_PROFILE_FILE")
    values = _read_file(Path(file_opt) if file_opt else DEFAULT_FILE, name,
                        bool(file_opt) or bool(options.get("profile")))
    for key in ("host", "port", "user", "password", "key"):
        text = env.get(f"YANGD_{key.upper()}")
        if text:
            values[key] = text
    values.update({k: v for k, v in options.items() if k in _KEYS and v is not None})
    try:
        port = int(values.get("port", 8830))
    except ValueError:
        raise ProfileError(f"bad port {values.get('port')!r}") from None
    check = values.get("host_key_check", "auto")
    if check not in ("yes", "no", "auto"):
        raise ProfileError(f"host_key_check must be yes, no or auto, not {check!r}")
    keyfile = values.get("key")
    return Profile(host=values.get("host", "127.0.0.1"), port=port,
                   user=values.get("user") or getpass.getuser(), password=values.get("password"),
                   key=Path(keyfile).expanduser() if keyfile else None, host_key_check=check,
                   timeout=float(values.get("timeout", 60.0)), name=name)
