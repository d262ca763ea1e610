"""The runtime schema tree: what a compiled set of YANG modules says about its data.

pyang's statement tree is rich but stringly typed and full of attributes added at run time;
every yangd layer instead reads this small, immutable-after-load tree. The compiler
(models/compiler) builds it from pyang, writes it as JSON beside the generated pydantic
classes, and the classes carry a reference to their node (``__yang__``). The datastore reads
keys, defaults, must/when, leafrefs, min/max-elements and unique from here.

Names are module-qualified the RFC 7951 way: a node is identified by (module, name), and a
schema path is ``/module:name/child/other-module:aug`` with the module written only where it
changes, exactly like a JSON member name.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any

# Nodes yangd treats as nacm:default-deny-all though their module does not say so (RFC 7317
# predates marking its password leaf): readable and writable only through an explicit NACM
# rule, and never echoed in an error message.
DENY_ALL_PATHS = frozenset({"/ietf-system:system/authentication/user/password"})


class Kind(StrEnum):
    CONTAINER = "container"
    LIST = "list"
    LEAF = "leaf"
    LEAF_LIST = "leaf-list"
    CHOICE = "choice"
    CASE = "case"
    ANYDATA = "anydata"
    ANYXML = "anyxml"
    RPC = "rpc"
    ACTION = "action"
    INPUT = "input"
    OUTPUT = "output"
    NOTIFICATION = "notification"


# Kinds whose instances appear as nodes in a data tree (choice and case never do).
DATA_KINDS = frozenset(
    {Kind.CONTAINER, Kind.LIST, Kind.LEAF, Kind.LEAF_LIST, Kind.ANYDATA, Kind.ANYXML}
)
TERMINAL_KINDS = frozenset({Kind.LEAF, Kind.LEAF_LIST, Kind.ANYDATA, Kind.ANYXML})


@dataclass(frozen=True)
class XPathExpr:
    """A must/when/leafref expression, kept with the prefix context it was written in.

    ``prefixes`` maps every prefix visible where the statement was written to its module;
    ``module`` is the module unprefixed names belong to (RFC 7950 §6.4.1).
    ``context`` is "self" for a when on the node itself, "parent" for a when inherited from
    an augment or uses, or written on a choice or case (RFC 7950 §7.21.5: its context node is
    the augment target / the uses' parent / the closest ancestor data node, i.e. the parent
    instance of this node).
    """

    xpath: str
    module: str
    prefixes: Mapping[str, str]
    context: str = "self"
    error_message: str | None = None
    error_app_tag: str | None = None

    @cached_property
    def ast(self) -> Any:
        """The parsed expression with every name test resolved to its module (cached)."""
        from models.xpath import parse, resolve_prefixes

        return resolve_prefixes(parse(self.xpath), self.prefixes, self.module)

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"x": self.xpath, "m": self.module, "p": dict(self.prefixes)}
        if self.context != "self":
            d["c"] = self.context
        if self.error_message is not None:
            d["em"] = self.error_message
        if self.error_app_tag is not None:
            d["et"] = self.error_app_tag
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> XPathExpr:
        return cls(d["x"], d["m"], d["p"], d.get("c", "self"), d.get("em"), d.get("et"))


@dataclass(eq=False)
class SchemaNode:
    """One schema node. Mutable only while the compiler or loader builds the tree."""

    kind: Kind
    name: str
    module: str
    config: bool = True
    parent: SchemaNode | None = field(default=None, repr=False)
    children: list[SchemaNode] = field(default_factory=list, repr=False)
    # container
    presence: bool = False
    # list / leaf-list
    keys: tuple[str, ...] = ()
    ordered_by_user: bool = False
    min_elements: int = 0
    max_elements: int | None = None
    unique: tuple[tuple[str, ...], ...] = ()
    # leaf / leaf-list / choice
    mandatory: bool = False
    type: dict[str, Any] | None = None
    default: tuple[str, ...] | None = None  # lexical default(s); for a choice: the case name
    default_prefixes: Mapping[str, str] | None = None  # prefix context of an identityref default
    units: str | None = None
    # constraints
    must: tuple[XPathExpr, ...] = ()
    when: tuple[XPathExpr, ...] = ()
    if_features: tuple[str, ...] = ()
    status: str = "current"
    description: str | None = None
    # RFC 8341 §3.1.3 nacm:default-deny-write / default-deny-all on this node: "write" | "all"
    nacm_default_deny: str | None = None
    # filled by the emitter / loader: the python attribute name and the generated class
    py_name: str = ""
    cls: Any = field(default=None, repr=False)

    # ---- navigation -------------------------------------------------------------------
    def __post_init__(self) -> None:
        self._index: dict[tuple[str, str], SchemaNode] | None = None
        self._data_index: dict[tuple[str, str], SchemaNode] | None = None

    @property
    def qname(self) -> tuple[str, str]:
        return (self.module, self.name)

    @property
    def is_key(self) -> bool:
        p = self.parent
        return (
            self.kind is Kind.LEAF and p is not None and p.kind is Kind.LIST and self.name in p.keys
            and p.module == self.module
        )

    def child(self, module: str, name: str) -> SchemaNode | None:
        """A direct schema child (choices and cases included)."""
        if self._index is None:
            self._index = {c.qname: c for c in self.children}
        return self._index.get((module, name))

    def data_children(self) -> Iterator[SchemaNode]:
        """Children as they appear in instance data: choice/case levels are transparent."""
        for c in self.children:
            if c.kind in (Kind.CHOICE, Kind.CASE):
                yield from c.data_children()
            elif c.kind in DATA_KINDS:
                yield c

    def operations(self) -> Iterator[SchemaNode]:
        """Actions and notifications defined on this data node (RFC 7950 §7.15, §7.16)."""
        for c in self.children:
            if c.kind in (Kind.CHOICE, Kind.CASE):
                yield from c.operations()
            elif c.kind in (Kind.ACTION, Kind.NOTIFICATION):
                yield c

    def data_child(self, module: str, name: str) -> SchemaNode | None:
        if self._data_index is None:
            self._data_index = {c.qname: c for c in self.data_children()}
        return self._data_index.get((module, name))

    def default_deny(self) -> str | None:
        """The nacm:default-deny-* in force here (RFC 8341 §3.1.3): "all" or "write", this
        node's own or an ancestor's (a protected container protects what it holds)."""
        res: str | None = None
        n: SchemaNode | None = self
        while n is not None:
            if n.nacm_default_deny == "all":
                return "all"
            if n.nacm_default_deny == "write":
                res = "write"
            n = n.parent
        if self.kind in (Kind.LEAF, Kind.LEAF_LIST) and self.path() in DENY_ALL_PATHS:
            return "all"
        return res

    def data_parent(self) -> SchemaNode | None:
        """The nearest ancestor that is a data node (or rpc/action/notification/input/output)."""
        p = self.parent
        while p is not None and p.kind in (Kind.CHOICE, Kind.CASE):
            p = p.parent
        return p

    def json_name(self) -> str:
        """The RFC 7951 member name: qualified when the module differs from the parent's."""
        p = self.data_parent()
        if p is None or p.module != self.module or not p.module:
            return f"{self.module}:{self.name}"
        return self.name

    def path(self) -> str:
        """Schema path in RFC 7951 style, e.g. /ietf-interfaces:interfaces/interface."""
        parts: list[str] = []
        node: SchemaNode | None = self
        while node is not None:
            if node.kind not in (Kind.CHOICE, Kind.CASE) and node.module:
                parts.append(node.json_name())
            node = node.parent
        return "/" + "/".join(reversed(parts))

    def case_of(self) -> tuple[SchemaNode, SchemaNode] | None:
        """(choice, case) this node is directly inside, or None."""
        p = self.parent
        if p is not None and p.kind is Kind.CASE and p.parent is not None:
            return (p.parent, p)
        return None

    def walk(self) -> Iterator[SchemaNode]:
        yield self
        for c in self.children:
            yield from c.walk()

    # ---- serialisation ----------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"k": self.kind.value, "n": self.name, "m": self.module}
        if not self.config:
            d["cfg"] = False
        if self.presence:
            d["presence"] = True
        if self.keys:
            d["keys"] = list(self.keys)
        if self.ordered_by_user:
            d["user"] = True
        if self.min_elements:
            d["min"] = self.min_elements
        if self.max_elements is not None:
            d["max"] = self.max_elements
        if self.unique:
            d["unique"] = [list(u) for u in self.unique]
        if self.mandatory:
            d["mandatory"] = True
        if self.type is not None:
            d["type"] = self.type
        if self.default is not None:
            d["default"] = list(self.default)
        if self.default_prefixes:
            d["dp"] = dict(self.default_prefixes)
        if self.units is not None:
            d["units"] = self.units
        if self.must:
            d["must"] = [m.to_json() for m in self.must]
        if self.when:
            d["when"] = [w.to_json() for w in self.when]
        if self.if_features:
            d["if"] = list(self.if_features)
        if self.status != "current":
            d["status"] = self.status
        if self.description:
            d["desc"] = self.description
        if self.nacm_default_deny:
            d["nacm"] = self.nacm_default_deny
        if self.py_name:
            d["py"] = self.py_name
        if self.children:
            d["children"] = [c.to_json() for c in self.children]
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any], parent: SchemaNode | None = None) -> SchemaNode:
        node = cls(
            kind=Kind(d["k"]),
            name=d["n"],
            module=d["m"],
            config=d.get("cfg", True),
            parent=parent,
            presence=d.get("presence", False),
            keys=tuple(d.get("keys", ())),
            ordered_by_user=d.get("user", False),
            min_elements=d.get("min", 0),
            max_elements=d.get("max"),
            unique=tuple(tuple(u) for u in d.get("unique", ())),
            mandatory=d.get("mandatory", False),
            type=d.get("type"),
            default=tuple(d["default"]) if "default" in d else None,
            default_prefixes=d.get("dp"),
            units=d.get("units"),
            must=tuple(XPathExpr.from_json(m) for m in d.get("must", ())),
            when=tuple(XPathExpr.from_json(w) for w in d.get("when", ())),
            if_features=tuple(d.get("if", ())),
            status=d.get("status", "current"),
            description=d.get("desc"),
            nacm_default_deny=d.get("nacm"),
            py_name=d.get("py", ""),
        )
        node.children = [cls.from_json(c, node) for c in d.get("children", ())]
        return node


@dataclass(frozen=True)
class ModuleInfo:
    """What the server advertises about a module (yang-library, capabilities, get-schema)."""

    name: str
    revision: str | None
    namespace: str
    prefix: str
    features: tuple[str, ...] = ()  # enabled features
    deviations: tuple[str, ...] = ()  # modules that deviate this one
    submodules: tuple[tuple[str, str | None], ...] = ()
    implemented: bool = True  # False: import-only
    source: str | None = None  # file the module was read from (relative to a search dir)
    yang_version: str = "1"  # "1" or "1.1": decides how NETCONF announces it (RFC 7950 §5.6.4)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "revision": self.revision, "namespace": self.namespace,
            "prefix": self.prefix, "features": list(self.features),
            "deviations": list(self.deviations),
            "submodules": [list(s) for s in self.submodules],
            "implemented": self.implemented, "source": self.source,
            "yang_version": self.yang_version,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ModuleInfo:
        return cls(
            d["name"], d["revision"], d["namespace"], d["prefix"], tuple(d["features"]),
            tuple(d["deviations"]), tuple((s[0], s[1]) for s in d["submodules"]),
            d["implemented"], d.get("source"), d.get("yang_version", "1"),
        )


@dataclass(frozen=True)
class Identity:
    module: str
    name: str
    bases: tuple[str, ...]  # qualified "module:name"

    @property
    def qname(self) -> str:
        return f"{self.module}:{self.name}"


@dataclass(eq=False)
class Schema:
    """A compiled set of modules: one root whose children are every module's top-level nodes.

    The root is a pseudo-container (module ""), so data_child/json_name work uniformly:
    top-level nodes always get module-qualified JSON names.
    """

    root: SchemaNode
    modules: dict[str, ModuleInfo]
    identities: dict[str, Identity]
    rpcs: list[SchemaNode] = field(default_factory=list)
    notifications: list[SchemaNode] = field(default_factory=list)
    source_hash: str = ""

    def __post_init__(self) -> None:
        self._derived: dict[str, frozenset[str]] = {}
        self.namespaces = {m.namespace: m.name for m in self.modules.values()}
        for n in (*self.rpcs, *self.notifications):
            n.parent = None

    def derived_from(self, base: str) -> frozenset[str]:
        """All identities strictly derived from ``base`` (transitively), qualified names."""
        got = self._derived.get(base)
        if got is None:
            children: dict[str, list[str]] = {}
            for ident in self.identities.values():
                for b in ident.bases:
                    children.setdefault(b, []).append(ident.qname)
            out: set[str] = set()
            todo = list(children.get(base, ()))
            while todo:
                i = todo.pop()
                if i not in out:
                    out.add(i)
                    todo.extend(children.get(i, ()))
            got = frozenset(out)
            self._derived[base] = got
        return got

    def find(self, path: str) -> SchemaNode:
        """The data node at an RFC 7951-style schema path, e.g. /ietf-interfaces:interfaces/interface."""
        node = self.root
        module = ""
        for step in path.strip("/").split("/"):
            mod, _, name = step.rpartition(":")
            module = mod or module
            nxt = node.data_child(module, name) or node.child(module, name)
            if nxt is None:
                nxt = next((o for o in node.operations() if o.qname == (module, name)), None)
            if nxt is None:
                for top in (*self.rpcs, *self.notifications) if node is self.root else ():
                    if top.qname == (module, name):
                        nxt = top
            if nxt is None:
                raise KeyError(f"no schema node {step!r} under {node.path() if node.parent else '/'}")
            node = nxt
        return node

    def to_json(self) -> dict[str, Any]:
        return {
            "source_hash": self.source_hash,
            "modules": [m.to_json() for m in self.modules.values()],
            "identities": [[i.module, i.name, list(i.bases)] for i in self.identities.values()],
            "root": self.root.to_json(),
            "rpcs": [r.to_json() for r in self.rpcs],
            "notifications": [n.to_json() for n in self.notifications],
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Schema:
        modules = {m["name"]: ModuleInfo.from_json(m) for m in d["modules"]}
        idents = {f"{m}:{n}": Identity(m, n, tuple(b)) for m, n, b in d["identities"]}
        return cls(
            root=SchemaNode.from_json(d["root"]),
            modules=modules,
            identities=idents,
            rpcs=[SchemaNode.from_json(r) for r in d["rpcs"]],
            notifications=[SchemaNode.from_json(n) for n in d["notifications"]],
            source_hash=d.get("source_hash", ""),
        )

    @classmethod
    def load(cls, path: str | Path) -> Schema:
        with open(path, encoding="utf-8") as f:
            return cls.from_json(json.load(f))

    def dump(self, path: str | Path) -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_json(), f, separators=(",", ":"), sort_keys=False)
            f.write("\n")
