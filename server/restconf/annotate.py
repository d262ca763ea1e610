"""Metadata on a GET reply: with-defaults tags and NMDA origins, in JSON and XML.

- ``with-defaults=report-all-tagged`` (RFC 8040 §4.8.9, RFC 6243 §6): every leaf whose value
  is its schema default is tagged — in XML with the ``wd:default="true"`` attribute
  (``urn:ietf:params:xml:ns:netconf:default:1.0``), in JSON with the RFC 7952 annotation
  ``"@leaf": {"ietf-netconf-with-defaults:default": true}``.
- ``with-origin`` on ``/restconf/ds/ietf-datastores:operational`` (RFC 8527 §3.2.2): the
  ``ietf-origin:origin`` annotation (JSON ``"@"`` member of a container or list entry,
  ``"@leaf"`` beside a leaf; XML ``or:origin`` attribute) on the top-level configuration nodes
  and wherever a configuration node's origin differs from its parent's (RFC 8342 §7.4, origin
  is inherited). Origins come from datastore/operational.py.
- ``with-defaults=explicit`` on operational: the nodes whose origin is ``ietf-origin:default``
  (the defaults in use, which operational otherwise reports) are left out.

The walk runs over the encoded document (the typed tree cannot carry metadata) beside the
schema, and builds instance paths only when origins are asked for. The value test is the one
NETCONF's with-defaults uses: the typed value equals ``models.defaults.default_of``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lxml import etree

from datastore.operational import DEFAULT
from datastore.path import Path, Step, format_path
from models.bundle import Bundle
from models.codec.xml import _ElemNs
from models.defaults import default_of
from models.schema import Kind, SchemaNode

__all__ = ["ORIGIN_NS", "WD_ATTR_NS", "Annotator", "with_namespaces"]

WD_ATTR_NS = "urn:ietf:params:xml:ns:netconf:default:1.0"
ORIGIN_NS = "urn:ietf:params:xml:ns:yang:ietf-origin"
WD_JSON = "ietf-netconf-with-defaults:default"
ORIGIN_JSON = "ietf-origin:origin"


@dataclass
class Annotator:
    bundle: Bundle
    tag_defaults: bool = False
    origins: dict[str, str] | None = None  # operational: instance path → origin where it changes
    with_origin: bool = False
    drop_defaults: bool = False  # explicit on operational: leave out origin-default nodes

    @property
    def active(self) -> bool:
        return self.tag_defaults or (self.origins is not None and (self.with_origin or self.drop_defaults))

    def _origin(self, path: Path | None, inherited: str | None) -> str | None:
        if self.origins is None or path is None:
            return inherited
        return self.origins.get(format_path(self.bundle, path), inherited)

    def origin_at(self, path: Path) -> str | None:
        """The (inherited) origin of the node at ``path``."""
        if self.origins is None:
            return None
        origin = self.origins.get("/")
        for i in range(1, len(path) + 1):
            origin = self.origins.get(format_path(self.bundle, path[:i]), origin)
        return origin

    def _is_default(self, sn: SchemaNode, typed: Any) -> bool:
        return sn.kind is Kind.LEAF and sn.default is not None and typed == default_of(self.bundle, sn)

    # ---- JSON ---------------------------------------------------------------------------------
    def json(self, obj: dict[str, Any], node: SchemaNode, path: Path) -> None:
        """Annotate ``obj``, whose members are children of ``node`` at ``path``, in place."""
        top = self.origin_at(path) if self.origins is not None else None
        self._json(obj, node, path, node.module, top, None)

    def _json(self, obj: dict[str, Any], node: SchemaNode, path: Path | None, module: str,
              inherited: str | None, shown: str | None) -> None:
        for member in [m for m in obj if not m.startswith("@")]:
            mod, _, name = member.rpartition(":")
            sn = node.data_child(mod or module, name) if (mod or module) else None
            if sn is None or (sn.is_key and node.kind is Kind.LIST):
                continue
            value = obj[member]
            if sn.kind is Kind.LIST and isinstance(value, list):
                kept = []
                for entry in value:
                    if not isinstance(entry, dict):
                        continue
                    p = self._entry_path(path, sn, entry)
                    origin = self._origin(p, inherited)
                    if self.drop_defaults and origin == DEFAULT:
                        continue
                    self._meta_json(entry, "@", sn, origin, shown, False)
                    self._json(entry, sn, p, sn.module, origin, origin if sn.config else shown)
                    kept.append(entry)
                obj[member] = kept
                continue
            p = None if path is None else (*path, Step(sn))
            origin = self._origin(p, inherited)
            if self.drop_defaults and origin == DEFAULT:
                del obj[member]
                continue
            if sn.kind is Kind.CONTAINER and isinstance(value, dict):
                self._meta_json(value, "@", sn, origin, shown, False)
                self._json(value, sn, p, sn.module, origin, origin if sn.config else shown)
            elif sn.kind in (Kind.LEAF, Kind.LEAF_LIST):
                tagged = False
                if self.tag_defaults and sn.kind is Kind.LEAF:
                    try:
                        tagged = self._is_default(sn, self.bundle.type_of(sn).from_json(value))
                    except ValueError:
                        tagged = False
                meta = self._meta(sn, origin, shown, tagged)
                if meta:
                    obj["@" + member] = [meta] * len(value) if isinstance(value, list) else meta

    def _meta(self, sn: SchemaNode, origin: str | None, shown: str | None, tagged: bool) -> dict[str, Any]:
        meta: dict[str, Any] = {}
        if self.with_origin and sn.config and origin is not None and origin != shown:
            meta[ORIGIN_JSON] = origin
        if tagged:
            meta[WD_JSON] = True
        return meta

    def _meta_json(self, target: dict[str, Any], key: str, sn: SchemaNode, origin: str | None,
                   shown: str | None, tagged: bool) -> None:
        meta = self._meta(sn, origin, shown, tagged)
        if meta:
            target[key] = meta

    def _entry_path(self, path: Path | None, sn: SchemaNode, entry: dict[str, Any]) -> Path | None:
        if path is None or self.origins is None:
            return None
        key = []
        for k in sn.keys:
            kn = sn.child(sn.module, k)
            if kn is None or k not in entry:
                return None
            try:
                key.append(self.bundle.type_of(kn).from_json(entry[k]))
            except ValueError:
                return None
        return (*path, Step(sn, tuple(key)))

    # ---- XML ----------------------------------------------------------------------------------
    def xml(self, elems: list[Any], node: SchemaNode, path: Path, parent: Any | None) -> None:
        """Annotate ``elems`` (children of ``node`` at ``path``; removable from ``parent``)."""
        top = self.origin_at(path) if self.origins is not None else None
        self._xml(elems, node, path, top, None, parent)

    def _xml(self, elems: list[Any], node: SchemaNode, path: Path | None, inherited: str | None,
             shown: str | None, parent: Any | None) -> None:
        namespaces = self.bundle.schema.namespaces
        for c in elems:
            if not isinstance(c.tag, str) or not c.tag.startswith("{"):
                continue
            ns, _, local = c.tag[1:].partition("}")
            module = namespaces.get(ns)
            sn = node.data_child(module, local) if module else None
            if sn is None or (sn.is_key and node.kind is Kind.LIST):
                continue
            p: Path | None = None
            if path is not None:
                p = self._xml_entry_path(path, sn, c) if sn.kind is Kind.LIST else (*path, Step(sn))
            origin = self._origin(p, inherited)
            if self.drop_defaults and origin == DEFAULT and parent is not None:
                parent.remove(c)
                continue
            tagged = False
            if self.tag_defaults and sn.kind is Kind.LEAF and sn.default is not None:
                t = self.bundle.type_of(sn)
                try:
                    tagged = self._is_default(sn, t.validate(t.from_text(c.text or "", _ElemNs(c, namespaces))))
                except ValueError:
                    tagged = False
            meta = self._meta(sn, origin, shown, tagged)
            if ORIGIN_JSON in meta:
                c.set(f"{{{ORIGIN_NS}}}origin", self._xml_identity(c, meta[ORIGIN_JSON]))
            if WD_JSON in meta:
                c.set(f"{{{WD_ATTR_NS}}}default", "true")
            if sn.kind in (Kind.CONTAINER, Kind.LIST):
                self._xml(list(c), sn, p, origin, origin if sn.config else shown, c)

    def _xml_identity(self, elem: Any, ident: str) -> str:
        mod, _, name = ident.partition(":")
        info = self.bundle.schema.modules.get(mod)
        ns = info.namespace if info is not None else ORIGIN_NS
        prefix = next((k for k, v in elem.nsmap.items() if v == ns and k), mod)
        return f"{prefix}:{name}"

    def _xml_entry_path(self, path: Path, sn: SchemaNode, elem: Any) -> Path | None:
        if self.origins is None:
            return None
        ns = self.bundle.schema.modules[sn.module].namespace
        key = []
        for k in sn.keys:
            kn = sn.child(sn.module, k)
            ke = elem.find(f"{{{ns}}}{k}")
            if kn is None or ke is None:
                return None
            t = self.bundle.type_of(kn)
            try:
                key.append(t.validate(t.from_text(ke.text or "", _ElemNs(ke, self.bundle.schema.namespaces))))
            except ValueError:
                return None
        return (*path, Step(sn, tuple(key)))

    def xml_namespaces(self) -> dict[str, str]:
        """The prefixes the XML annotations use (declared on the document element)."""
        out: dict[str, str] = {}
        if self.tag_defaults:
            out["wd"] = WD_ATTR_NS
        if self.with_origin and self.origins is not None:
            out["or"] = ORIGIN_NS
            for o in set(self.origins.values()):
                mod = o.partition(":")[0]
                info = self.bundle.schema.modules.get(mod)
                if info is not None and info.namespace != ORIGIN_NS:
                    out.setdefault(info.prefix, info.namespace)
        return out


def with_namespaces(elem: Any, extra: dict[str, str]) -> Any:
    """``elem`` re-created with ``extra`` prefixes declared on it (children moved over)."""
    missing = {k: v for k, v in extra.items() if k not in elem.nsmap}
    if not missing:
        return elem
    nsmap: dict[str | None, str] = dict(elem.nsmap)
    nsmap.update(missing.items())
    new = etree.Element(elem.tag, attrib=dict(elem.attrib), nsmap=nsmap)
    new.text = elem.text
    for c in list(elem):
        new.append(c)
    return new
