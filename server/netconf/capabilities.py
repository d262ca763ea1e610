"""The capabilities yangd advertises in its hello: only what is implemented.

Protocol capabilities come from the operations that are registered (each operation class
declares the capability it needs, ops/base.py), module capabilities from the loaded schema:
RFC 7950 §5.6.4 ``namespace?module=...`` for YANG 1.0 modules, while YANG 1.1 modules are
announced only through the YANG library capability (RFC 8525 §5) with its content-id.
"""

from __future__ import annotations

from collections.abc import Iterable

from models.library import content_id
from models.schema import Schema

__all__ = [
    "BASE_1_0",
    "BASE_1_1",
    "CANDIDATE",
    "CONFIRMED_COMMIT",
    "INTERLEAVE",
    "NOTIFICATION",
    "ROLLBACK_ON_ERROR",
    "STARTUP",
    "VALIDATE",
    "WITH_DEFAULTS",
    "WRITABLE_RUNNING",
    "XPATH",
    "module_capabilities",
    "server_capabilities",
]

BASE_1_0 = "urn:ietf:params:netconf:base:1.0"
BASE_1_1 = "urn:ietf:params:netconf:base:1.1"
CANDIDATE = "urn:ietf:params:netconf:capability:candidate:1.0"
CONFIRMED_COMMIT = "urn:ietf:params:netconf:capability:confirmed-commit:1.1"
ROLLBACK_ON_ERROR = "urn:ietf:params:netconf:capability:rollback-on-error:1.0"
VALIDATE = "urn:ietf:params:netconf:capability:validate:1.1"
STARTUP = "urn:ietf:params:netconf:capability:startup:1.0"
WRITABLE_RUNNING = "urn:ietf:params:netconf:capability:writable-running:1.0"
XPATH = "urn:ietf:params:netconf:capability:xpath:1.0"
WITH_DEFAULTS = "urn:ietf:params:netconf:capability:with-defaults:1.0"
NOTIFICATION = "urn:ietf:params:netconf:capability:notification:1.0"
INTERLEAVE = "urn:ietf:params:netconf:capability:interleave:1.0"
YANG_LIBRARY = "urn:ietf:params:netconf:capability:yang-library:1.1"
WD_MODES = ("explicit", "report-all", "trim", "report-all-tagged")  # first: the basic mode


def module_capabilities(schema: Schema) -> list[str]:
    """RFC 7950 §5.6.4 capabilities for the implemented YANG 1.0 modules."""
    out: list[str] = []
    for m in sorted(schema.modules.values(), key=lambda m: m.name):
        if not m.implemented or m.yang_version != "1":
            continue
        uri = f"{m.namespace}?module={m.name}"
        if m.revision:
            uri += f"&revision={m.revision}"
        if m.features:
            uri += "&features=" + ",".join(m.features)
        if m.deviations:
            uri += "&deviations=" + ",".join(m.deviations)
        out.append(uri)
    return out


def server_capabilities(schema: Schema, protocol: Iterable[str]) -> list[str]:
    """The hello's capability list: base, the operations' capabilities, library, modules."""
    caps = [BASE_1_0, BASE_1_1]
    for c in protocol:
        if c == WITH_DEFAULTS:
            c = f"{c}?basic-mode={WD_MODES[0]}&also-supported={','.join(WD_MODES[1:])}"
        if c not in caps:
            caps.append(c)
    lib = schema.modules.get("ietf-yang-library")
    if lib is not None:
        caps.append(f"{YANG_LIBRARY}?revision={lib.revision}&content-id={content_id(schema)}")
    return caps + module_capabilities(schema)
