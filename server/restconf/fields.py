"""The ``fields`` query parameter (RFC 8040 §4.8.3): which descendants of the target a GET
returns.

Grammar (§4.8.3), read slightly more liberally than its ABNF so that ``a(b);c`` works as every
implementation accepts it::

    fields-expr = term *(";" term)
    term        = path ["(" fields-expr ")"]
    path        = api-identifier *("/" api-identifier)
    api-identifier = [module-name ":"] identifier

An identifier without a module belongs to its parent's module; below the datastore itself
(the target ``/restconf/data``) the module is required. The expression is resolved against the
schema into a ``Selection`` (child py_name → (schema node, sub-selection or None = the whole
subtree)) and applied to the typed data before encoding, so JSON and XML share it.

What is kept: the selected nodes with their subtrees, their ancestors, and the keys of every
list entry on the way (an entry without its keys is not a valid instance). Ancestors that end
up holding no selected data are left out. With ``depth`` (§4.8.2) "these nodes and all of
their ancestor nodes have a depth value of 1": depth counts from each selected node.
"""

from __future__ import annotations

import re
from typing import Any

from models.bundle import YangModel
from models.schema import Kind, SchemaNode
from models.yanglist import YangList
from server.restconf.errors import RestconfError

__all__ = ["Selection", "apply_fields", "cut_depth", "parse_fields"]

Selection = dict[str, tuple[SchemaNode, "Selection | None"]]
_TOKEN = re.compile(r"\s*([();/]|[^();/\s]+)")
_IDENT = re.compile(r"(?:([A-Za-z_][\w.-]*):)?([A-Za-z_][\w.-]*)")


def _bad(msg: str) -> RestconfError:
    return RestconfError.one("invalid-value", f"fields: {msg}", 400, type="protocol")


class _Parser:
    def __init__(self, text: str):
        self.tokens: list[str] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None:
                raise _bad(f"cannot parse {text!r}")
            self.tokens.append(m.group(1))
            pos = m.end()
        self.i = 0

    def peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise _bad("unexpected end of the expression")
        self.i += 1
        return tok

    def expr(self, node: SchemaNode, out: Selection) -> None:
        self.term(node, out)
        while self.peek() == ";":
            self.take()
            self.term(node, out)

    def term(self, node: SchemaNode, out: Selection) -> None:
        chain = [self.ident(node)]
        while self.peek() == "/":
            self.take()
            chain.append(self.ident(chain[-1]))
        sub: Selection | None = None
        if self.peek() == "(":
            self.take()
            if chain[-1].kind not in (Kind.CONTAINER, Kind.LIST):
                raise _bad(f"{chain[-1].name} has no child nodes to select")
            sub = {}
            self.expr(chain[-1], sub)
            if self.take() != ")":
                raise _bad("missing ')'")
        _merge(out, chain, sub)

    def ident(self, parent: SchemaNode) -> SchemaNode:
        tok = self.take()
        m = _IDENT.fullmatch(tok)
        if m is None:
            raise _bad(f"bad node name {tok!r}")
        module, name = m.group(1) or parent.module, m.group(2)
        if not module:
            raise _bad(f"a top-level node needs its module: module:{name}")
        if parent.kind not in (Kind.CONTAINER, Kind.LIST) and parent.parent is not None:
            raise _bad(f"{parent.name} has no child nodes")
        child = parent.data_child(module, name)
        if child is None:
            raise _bad(f"no data node {tok!r} under {parent.path() if parent.module else '/'}")
        return child


def _merge(out: Selection, chain: list[SchemaNode], sub: Selection | None) -> None:
    cur = out
    for i, n in enumerate(chain):
        last = i == len(chain) - 1
        got = cur.get(n.py_name)
        if last:
            if got is None:
                cur[n.py_name] = (n, sub)
            elif got[1] is not None:  # whole subtree wins over a partial one
                if sub is None:
                    cur[n.py_name] = (n, None)
                else:
                    for v in sub.values():
                        _merge(got[1], [v[0]], v[1])
            return
        if got is None:
            nxt: Selection = {}
            cur[n.py_name] = (n, nxt)
            cur = nxt
        elif got[1] is None:
            return  # already wholly selected
        else:
            cur = got[1]


def parse_fields(node: SchemaNode, text: str) -> Selection:
    """The selection ``text`` makes below ``node`` (the target's schema node or the root)."""
    if node.kind not in (Kind.CONTAINER, Kind.LIST) and node.parent is not None:
        raise _bad(f"{node.name} has no child nodes to select")
    p = _Parser(text)
    out: Selection = {}
    p.expr(node, out)
    if p.peek() is not None:
        raise _bad(f"unexpected {p.peek()!r}")
    return out


def apply_fields(node: SchemaNode, value: Any, sel: Selection, depth: int | None) -> Any:
    """``value`` (a model, or a YangList of ``node``) reduced to ``sel``; None if nothing is
    left. ``depth`` counts from each selected node (1: the node, without children)."""
    if isinstance(value, YangList):
        kept = [x for x in (_select(node, e, sel, depth) for e in value) if x is not None]
        return type(value)(kept, value.key_names) if kept else None
    return _select(node, value, sel, depth)


def _select(node: SchemaNode, obj: YangModel, sel: Selection, depth: int | None) -> YangModel | None:
    updates: dict[str, Any] = {}
    found = False
    for c in node.data_children():
        v = getattr(obj, c.py_name)
        if v is None:
            continue
        got = sel.get(c.py_name)
        if got is None:
            if not (c.is_key and node.kind is Kind.LIST):
                updates[c.py_name] = None
            continue
        sub = got[1]
        new = cut_depth(c, v, None if depth is None else depth - 1) if sub is None \
            else apply_fields(c, v, sub, depth)
        if new is not v:
            updates[c.py_name] = new
        found = found or new is not None
    if not found:
        return None
    return obj.model_copy(update=updates) if updates else obj


def cut_depth(node: SchemaNode, value: Any, levels: int | None) -> Any:
    """``value`` with only ``levels`` levels of descendants (None: all); list entries keep
    their keys."""
    if levels is None or node.kind not in (Kind.CONTAINER, Kind.LIST):
        return value
    if isinstance(value, YangList):
        return type(value)([_cut(node, e, levels) for e in value], value.key_names)
    return _cut(node, value, levels)


def _cut(node: SchemaNode, obj: YangModel, levels: int) -> YangModel:
    updates: dict[str, Any] = {}
    for c in node.data_children():
        v = getattr(obj, c.py_name)
        if v is None or (c.is_key and node.kind is Kind.LIST):
            continue
        new = None if levels <= 0 else cut_depth(c, v, levels - 1)
        if new is not v:
            updates[c.py_name] = new
    return obj.model_copy(update=updates) if updates else obj
