"""ietf-yang-library (RFC 8525) state built from the loaded schema.

Both transports serve it (NETCONF's yang-library:1.1 capability and RESTCONF's
/restconf/data/ietf-yang-library:yang-library), with the same content-id. The module set is
the schema yangd loaded: one set, one schema, used by every datastore.
"""

from __future__ import annotations

import hashlib
from typing import Any

from models.bundle import Bundle, YangModel
from models.schema import Schema

__all__ = ["content_id", "yang_library"]

DATASTORES = ("running", "candidate", "startup", "operational")


_CACHE: dict[int, YangModel] = {}


def content_id(schema: Schema) -> str:
    """Changes whenever the set of modules (or their features/deviations) changes (RFC 8525)."""
    h = hashlib.sha256(schema.source_hash.encode())
    for m in sorted(schema.modules.values(), key=lambda m: m.name):
        h.update(repr((m.name, m.revision, m.features, m.deviations, m.implemented)).encode())
    return h.hexdigest()[:16]


def yang_library(bundle: Bundle) -> YangModel:
    """The /ietf-yang-library:yang-library container (built once per loaded schema)."""
    got = _CACHE.get(id(bundle))
    if got is None:
        got = _CACHE[id(bundle)] = _build(bundle)
    return got


def _build(bundle: Bundle) -> YangModel:
    schema = bundle.schema
    modules: list[dict[str, Any]] = []
    imports: list[dict[str, Any]] = []
    for m in sorted(schema.modules.values(), key=lambda m: m.name):
        row: dict[str, Any] = {"name": m.name, "namespace": m.namespace}
        if m.revision:
            row["revision"] = m.revision
        if m.submodules:
            row["submodule"] = [{"name": n, **({"revision": r} if r else {})} for n, r in m.submodules]
        if m.implemented:
            if m.features:
                row["feature"] = list(m.features)
            if m.deviations:
                row["deviation"] = list(m.deviations)
            modules.append(row)
        else:
            row.setdefault("revision", "")
            imports.append(row)
    node = bundle.node("/ietf-yang-library:yang-library")
    doc = {
        "module-set": [{"name": "complete", "module": modules,
                        **({"import-only-module": imports} if imports else {})}],
        "schema": [{"name": "complete", "module-set": ["complete"]}],
        "datastore": [{"name": f"ietf-datastores:{d}", "schema": "complete"} for d in DATASTORES],
        "content-id": content_id(schema),
    }
    return node.cls.model_validate(doc)  # type: ignore[no-any-return]
