"""NACM reads (RFC 8341 §3.4.5): a tree without what the user may not read, cheaply.

The part of ``Access`` (datastore/_nacm_access.py) that prunes. Work follows the rules, not
the tree: a subtree no rule can deny is kept as it is (one memo lookup), a list whose keyed
rules name whole entries costs a lookup of those entries, and results are kept by identity
(the last pruned tree; per top-level list its last value and its pruned entries), so a read
after a commit that changed a few entries prunes only those.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from datastore._nacm_rules import READ, PathStep, Rule, Rules
from datastore.path import Path, Step
from models.bundle import YangModel
from models.schema import Kind, SchemaNode
from models.types import MODULE_NAMES
from models.yanglist import YangList

__all__ = ["Pruning", "chain_of"]

_BLANKED_MAX = 4  # (list, hidden children) pairs children whose entry copies are kept (Nacm.blanked)


class Pruning:
    """Read pruning over the decisions of an Access (its subclass supplies them)."""

    nacm: Any
    rules: Rules

    def _init_memos(self) -> None:
        self._pruned: tuple[Any, Any] = (None, None)  # (tree, its pruned copy): the last read
        self._work_memo: dict[int, tuple[tuple[SchemaNode, bool | None], ...]] = {}
        self._bind_memo: dict[int, tuple[Rule, ...]] = {}
        self._blank_memo: dict[int, tuple[str, ...] | None] = {}
        self._subs: dict[tuple[int, tuple[bool, ...]], Pruning] = {}
        self._lists: dict[int, tuple[Any, Any]] = {}  # list schema node → (value, pruned)
        self._entries: dict[int, dict[int, tuple[Any, Any]]] = {}  # … → {id(entry): (entry, pruned)}

    # the decisions (datastore/_nacm_access.py)
    def static(self, op: str, node: SchemaNode) -> bool | None:
        raise NotImplementedError

    def allowed(self, op: str, node: SchemaNode, path: Path) -> bool:
        raise NotImplementedError

    def clean(self, op: str, node: SchemaNode) -> bool:
        raise NotImplementedError

    def _keys_match(self, r: Rule, path: Path) -> bool:
        raise NotImplementedError

    def _derived(self, rules: Rules) -> Pruning:
        raise NotImplementedError

    def prune(self, tree: YangModel) -> YangModel:
        """``tree`` (a Root) without what the user may not read (§3.4.5: silently omitted)."""
        last_in, last_out = self._pruned
        if last_in is tree:
            return last_out  # type: ignore[no-any-return]
        root = self.nacm.bundle.schema.root
        out = tree if self.clean(READ, root) else self._prune_obj(root, tree, ())
        self._pruned = (tree, out)
        return out

    def _work(self, node: SchemaNode) -> tuple[tuple[SchemaNode, bool | None], ...]:
        """The children of ``node`` a read may have to cut: (child, its static decision)."""
        got = self._work_memo.get(id(node))
        if got is None:
            got = tuple((c, self.static(READ, c)) for c in node.data_children()
                        if not c.is_key and not (self.static(READ, c) is True and self.clean(READ, c)))
            self._work_memo[id(node)] = got
        return got

    def _prune_obj(self, node: SchemaNode, obj: YangModel, path: Path) -> YangModel:
        updates: dict[str, Any] = {}
        for c, s in self._work(node):
            v = getattr(obj, c.py_name)
            if v is None:
                continue
            new = self._prune_value(c, v, path, s)
            if new is not v:
                updates[c.py_name] = new
        return obj.replace(**updates) if updates else obj

    def _prune_value(self, c: SchemaNode, v: Any, path: Path, s: bool | None) -> Any:
        if s is False:
            return None
        if c.kind is Kind.LIST:
            if any(st.key is not None for st in path):
                return self._prune_list(c, v, path)
            # A list outside any list entry: the same (immutable) value gives the same result,
            # so reads of new running versions that did not touch it reuse the last one.
            hit = self._lists.get(id(c))
            if hit is not None and hit[0] is v:
                return hit[1]
            out = self._prune_list(c, v, path, top=True)
            self._lists[id(c)] = (v, out)
            return out
        if c.kind is Kind.LEAF_LIST:
            if s is not None:
                return v
            vals = tuple(x for x in v if self.allowed(READ, c, (*path, Step(c, (x,)))))
            return vals if len(vals) != len(v) else v
        if s is None and not self.allowed(READ, c, (*path, Step(c))):
            return None
        if c.kind is Kind.CONTAINER and not self.clean(READ, c):
            return self._prune_obj(c, v, (*path, Step(c)))
        return v

    def _prune_list(self, c: SchemaNode, v: YangList[Any], path: Path, top: bool = False) -> Any:
        binds = self._binding(c)
        named = self._named(c, binds) if binds else None
        if named is not None:  # every keyed rule here names whole entries: touch only those
            rest = self._specialize(c, (False,) * len(binds))
            if rest.static(READ, c) is True and rest.clean(READ, c):
                repl: dict[tuple[Any, ...], Any] = {}
                for key in named:
                    e = v.get(key)
                    if e is None:
                        continue
                    p = (*path, Step(c, key))
                    new = self._for_entry(c, binds, p)._prune_entry(c, e, p)
                    if new is not e:
                        repl[key] = new
                if not repl:
                    return v
                # rebuilt as a plain list: iterating a derived one (a HAMT) costs more
                left = [x for x in (repl.get(v.key_of(e), e) for e in v) if x is not None]
                return YangList(left, v.key_names) if left else None
        kept: list[Any] = []
        kept_keys: list[tuple[Any, ...]] = []
        changed = False
        # entries no rule names all share the "no keyed rule matched" rules
        common = self._specialize(c, (False,) * len(binds)) if named is not None else None
        named_set = set(named or ())
        # A top-level list keeps its pruned entries by identity: after a commit that changed
        # a few entries, the others (the same immutable objects) are not pruned again.
        prev = self._entries.get(id(c), {}) if top else {}
        memo: dict[int, tuple[Any, Any]] = {}
        # Without keyed rules here, every entry meets the same rules: when those only hide
        # some of its children whatever their values, an entry is one copy without them.
        plain = common if common is not None else None if binds else self
        blank = plain._blanks(c) if plain is not None else None
        # Such copies depend on nothing but the entry and the children cut, so they outlive
        # this Access: a NACM change that still hides the same children reuses them.
        shared_key = (id(c), blank)
        old_copies = self.nacm.blanked.get(shared_key, {}) if top and blank else {}
        copies: dict[int, tuple[Any, Any]] = {}
        for key, e in zip(v.keys(), v, strict=True):
            hit = prev.get(id(e))
            if hit is not None and hit[0] is e:
                e2 = hit[1]
            elif blank is not None and key not in named_set:
                hit = old_copies.get(id(e))
                if hit is not None and hit[0] is e:
                    e2 = hit[1]
                else:
                    e2 = _without(e, blank)
                if top:
                    copies[id(e)] = (e, e2)
            else:
                p = (*path, Step(c, key))
                if common is not None and key not in named_set:
                    sub = common
                else:
                    sub = self._for_entry(c, binds, p) if binds else self
                e2 = sub._prune_entry(c, e, p)
            if top:
                memo[id(e)] = (e, e2)
            if e2 is not e:
                changed = True
                if e2 is None:
                    continue
            kept.append(e2)
            kept_keys.append(key)
        if top:
            self._entries[id(c)] = memo
            if copies:
                kept_copies = self.nacm.blanked
                kept_copies.pop(shared_key, None)
                while len(kept_copies) >= _BLANKED_MAX:  # the oldest cut goes first
                    kept_copies.pop(next(iter(kept_copies)), None)
                kept_copies[shared_key] = copies
        if not changed:
            return v
        return v.subset(kept, kept_keys) if kept else None

    def _blanks(self, c: SchemaNode) -> tuple[str, ...] | None:
        """The children every entry of list ``c`` loses, when reading an entry is allowed
        and nothing else in it depends on data (all decided on the schema); else None."""
        k = id(c)
        if k not in self._blank_memo:
            work = self._work(c)
            got = None
            if self.static(READ, c) is True and work and all(s is False for _, s in work):
                got = tuple(x.py_name for x, _ in work)
            self._blank_memo[k] = got
        return self._blank_memo[k]

    def _prune_entry(self, c: SchemaNode, e: YangModel, p: Path) -> YangModel | None:
        s = self.static(READ, c)
        if s is False or (s is None and not self.allowed(READ, c, p)):
            return None
        return e if self.clean(READ, c) else self._prune_obj(c, e, p)

    # Keyed rules through a list (a rule path naming instances of it or of an ancestor) are
    # decided once per entry, on its keys; inside the entry they are then plain schema rules
    # (matched: keys dropped) or gone. Entries that match the same rules share one derived
    # Access and its memos, so 10k entries no rule names cost one key comparison each — or,
    # when the rules name whole entries, nothing but a lookup of the named ones.
    def _binding(self, c: SchemaNode) -> tuple[Rule, ...]:
        got = self._bind_memo.get(id(c))
        if got is None:
            chain = chain_of(c)
            n = len(chain)
            seen: dict[int, Rule] = {}
            for rules in self.rules.data.values():
                for r in rules:
                    if r.path is not None and len(r.path) >= n and id(r) not in seen \
                            and any(st.keys is not None for st in r.path[:n]) \
                            and all(st.name == x.name and st.module == x.module
                                    for st, x in zip(r.path[:n], chain, strict=False)):
                        seen[id(r)] = r
            got = tuple(seen.values())
            self._bind_memo[id(c)] = got
        return got

    def _named(self, c: SchemaNode, binds: tuple[Rule, ...]) -> list[tuple[Any, ...]] | None:
        """The keys the rules in ``binds`` name at list ``c``, when each names one entry by
        all its keys and nothing above it; None otherwise."""
        n = len(chain_of(c))
        bundle = self.nacm.bundle
        out: list[tuple[Any, ...]] = []
        for r in binds:
            assert r.path is not None
            last = r.path[n - 1].keys
            if last is None or any(st.keys is not None for st in r.path[: n - 1]):
                return None
            given = dict(last)
            if set(given) != set(c.keys):
                return None
            key = []
            for kname in c.keys:
                kn = c.child(c.module, kname)
                if kn is None:
                    return None
                t = bundle.type_of(kn)
                try:
                    key.append(t.validate(t.from_text(given[kname], MODULE_NAMES)))
                except (ValueError, KeyError):
                    break  # names no possible entry
            else:
                out.append(tuple(key))
        return out

    def _for_entry(self, c: SchemaNode, binds: tuple[Rule, ...], p: Path) -> Pruning:
        return self._specialize(c, tuple(self._keys_match(r, p) for r in binds))

    def _specialize(self, c: SchemaNode, vec: tuple[bool, ...]) -> Pruning:
        k = (id(c), vec)
        sub = self._subs.get(k)
        if sub is None:
            n = len(chain_of(c))
            fate: dict[int, Rule | None] = {}
            for r, hit in zip(self._binding(c), vec, strict=True):
                assert r.path is not None
                fate[id(r)] = replace(r, path=tuple(
                    PathStep(st.module, st.name, None) if i < n else st for i, st in enumerate(r.path))) \
                    if hit else None

            def resolve(rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
                out = (fate.get(id(r), r) for r in rules)
                return tuple(x for x in out if x is not None)

            rs = replace(self.rules, data={op: resolve(t) for op, t in self.rules.data.items()})
            sub = self._derived(rs)
            self._subs[k] = sub
        return sub


def chain_of(node: SchemaNode) -> tuple[SchemaNode, ...]:
    """The data nodes from the top-level one down to ``node`` (choice/case left out)."""
    out: list[SchemaNode] = []
    n: SchemaNode | None = node
    while n is not None and n.module:
        if n.kind not in (Kind.CHOICE, Kind.CASE):
            out.append(n)
        n = n.parent
    out.reverse()
    return tuple(out)


_new_object = object.__new__
_set = object.__setattr__


def _without(e: Any, names: tuple[str, ...]) -> Any:
    """``e`` with the children ``names`` left out (None): ``YangModel.replace`` inlined, as
    this runs once per entry of a list every entry of which loses them."""
    d = e.__dict__
    for n in names:
        if d[n] is not None:
            break
    else:
        return e
    d = d.copy()
    for n in names:
        d[n] = None
    new = _new_object(type(e))
    _set(new, "__dict__", d)
    # The fields set stay those of ``e``: a child set to None reads as absent either way,
    # and neither object ever changes the set.
    _set(new, "__pydantic_fields_set__", e.__pydantic_fields_set__)
    _set(new, "__pydantic_extra__", None)
    _set(new, "__pydantic_private__", None)
    return new

