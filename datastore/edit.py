"""The edit engine: NETCONF edit-config semantics (RFC 6241 §7.2) on immutable trees.

``apply_edit`` walks an edit tree (models/edit.py) against a data tree and returns a new
tree plus the change list; the input tree is never touched, so any error simply discards the
work (stop-on-error and rollback-on-error are therefore the same: nothing changes). With
continue-on-error the failing edit nodes are skipped and reported, the rest applies.

Rules implemented, with where they come from:
- operations merge/replace/create/delete/remove, inherited by descendants (RFC 6241 §7.2);
- default-operation none: nodes without an operation only locate; a missing list entry or
  presence container on the way is data-missing (RFC 6241 §7.2, "none");
- create on an existing node → data-exists; delete on a missing one → data-missing;
- list keys identify entries and cannot be changed or deleted (RFC 7950 §7.8.2);
- creating a node in one case of a choice removes the other cases' nodes (RFC 7950 §7.9.6);
- ordered-by user insert first/last/before/after with key/value anchors
  (RFC 7950 §7.8.6, §7.7.9); an unknown anchor is bad-attribute / missing-instance.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from datastore.path import Path, Step, format_path
from datastore.tree import empty, is_empty
from models.bundle import Bundle, YangModel
from models.edit import EditNode, Op
from models.errors import YangdError, YangdErrors
from models.schema import Kind, SchemaNode
from models.yanglist import YangList, YangListBuilder


@dataclass(frozen=True, slots=True)
class Change:
    """One change: ``op`` is create, modify or delete; old/new are the subtree values."""

    op: str
    path: Path
    old: Any
    new: Any


@dataclass
class EditResult:
    tree: YangModel
    changes: list[Change]
    errors: list[YangdError] = field(default_factory=list)  # continue-on-error only


@dataclass
class _Ctx:
    bundle: Bundle
    continue_on_error: bool
    changes: list[Change] = field(default_factory=list)
    errors: list[YangdError] = field(default_factory=list)
    mute: int = 0  # >0 while building new subtrees: one change is recorded for the subtree

    def record(self, op: str, path: Path, old: Any, new: Any) -> None:
        if not self.mute:
            self.changes.append(Change(op, path, old, new))

    def fail(self, tag: str, msg: str, path: Path, app_tag: str | None = None, **info: Any) -> YangdErrors:
        return YangdErrors.one(tag, msg, format_path(self.bundle, path), app_tag, **info)


def apply_edit(
    bundle: Bundle,
    tree: YangModel,
    edits: Sequence[EditNode],
    default_operation: Op = Op.MERGE,
    error_option: str = "stop-on-error",
) -> EditResult:
    """Apply top-level ``edits`` to ``tree``; raises YangdErrors unless continue-on-error."""
    ctx = _Ctx(bundle, continue_on_error=error_option == "continue-on-error")
    new = _children(ctx, bundle.schema.root, tree, edits, default_operation, ())
    assert new is not None
    return EditResult(new, ctx.changes, ctx.errors)


def _children(ctx: _Ctx, parent: SchemaNode, obj: YangModel | None, edits: Iterable[EditNode],
              inherited: Op, path: Path, key: tuple[Any, ...] | None = None) -> YangModel | None:
    """Apply edits to the children of ``obj`` (an instance of parent.cls, or None)."""
    updates: dict[str, Any] = {}
    builders: dict[str, YangListBuilder[Any]] = {}
    for e in edits:
        name = e.node.py_name
        if e.node.kind is Kind.LIST and name not in builders:
            cur_list = updates[name] if name in updates else (getattr(obj, name) if obj is not None else None)
            builders[name] = YangListBuilder(cur_list if cur_list is not None else _new_list(e.node))
        if name in builders:
            cur: Any = builders[name]
        else:
            cur = updates[name] if name in updates else (getattr(obj, name) if obj is not None else None)
        op = e.op or inherited
        if key is not None and e.node.is_key:
            _check_key(ctx, e, op, path)
            continue
        mark = len(ctx.changes)
        try:
            new = _node(ctx, e, cur, op, path)
        except YangdErrors as err:
            if not ctx.continue_on_error:
                raise
            del ctx.changes[mark:]  # the failed part of the edit is skipped as a whole
            ctx.errors.extend(err.errors)
            continue
        updates[name] = new
        if cur is None and new is not None and e.node.parent is not None and e.node.parent.kind is Kind.CASE:
            _clear_other_cases(ctx, e.node, obj, updates, path)
    for name, b in builders.items():
        updates[name] = b.finish()
    if not updates:
        return empty(parent, key) if obj is None and key is not None else obj
    if obj is None:
        values = {k: v for k, v in updates.items() if v is not None}
        if not values and key is None:
            return None
        base = empty(parent, key)
        return base.model_copy(update=values) if values else base
    new_obj = obj.model_copy(update=updates)
    if parent.kind is Kind.CONTAINER and not parent.presence and parent.module and is_empty(new_obj):
        return None
    return new_obj


def _check_key(ctx: _Ctx, e: EditNode, op: Op, path: Path) -> None:
    if op in (Op.DELETE, Op.REMOVE, Op.REPLACE, Op.CREATE) and e.op is not None:
        raise ctx.fail("operation-not-supported", f"key leaf {e.node.name} cannot be {op.value}d",
                       (*path, Step(e.node)))


def _node(ctx: _Ctx, e: EditNode, cur: Any, op: Op, path: Path) -> Any:
    kind = e.node.kind
    if not e.node.config:  # state data is never part of a configuration datastore
        raise ctx.fail("invalid-value", f"{e.node.name} is state data (config false), not configuration",
                       (*path, Step(e.node, e.key if kind is Kind.LIST else None)))
    if kind is Kind.LIST:
        return _list_entry(ctx, e, cur, op, path)
    if kind is Kind.LEAF_LIST:
        return _leaf_list_entry(ctx, e, cur, op, path)
    p = (*path, Step(e.node))
    if kind is Kind.CONTAINER:
        return _container(ctx, e, cur, op, p)
    return _leaf(ctx, e, cur, op, p)


def _leaf(ctx: _Ctx, e: EditNode, cur: Any, op: Op, p: Path) -> Any:
    if op is Op.NONE:
        return cur
    if op is Op.CREATE and cur is not None:
        raise ctx.fail("data-exists", f"{e.node.name} already exists", p)
    if op in (Op.MERGE, Op.REPLACE, Op.CREATE):
        if cur != e.value or cur is None:
            ctx.record("create" if cur is None else "modify", p, cur, e.value)
        return e.value
    if cur is None:
        if op is Op.DELETE:
            raise ctx.fail("data-missing", f"{e.node.name} does not exist", p)
        return None
    ctx.record("delete", p, cur, None)
    return None


def _container(ctx: _Ctx, e: EditNode, cur: YangModel | None, op: Op, p: Path) -> YangModel | None:
    node = e.node
    if op in (Op.DELETE, Op.REMOVE):
        _delete(ctx, node, cur, op, p)
        return None
    if op is Op.CREATE and cur is not None:
        raise ctx.fail("data-exists", f"{node.name} already exists", p)
    if op is Op.NONE:
        if cur is None and node.presence:
            raise ctx.fail("data-missing", f"{node.name} does not exist", p)
        return _children(ctx, node, cur, e.kids(), Op.NONE, p)
    if cur is None or op in (Op.CREATE, Op.REPLACE):
        new = _content(ctx, e, p) if e.content is not None else _build(ctx, node, e.children, op, p)
        if new is None and node.presence:
            new = empty(node)
        if new is not None or cur is not None:
            ctx.record("create" if cur is None else "modify", p, cur, new)
        return new
    return _children(ctx, node, cur, e.kids(), Op.MERGE, p)


def _content(ctx: _Ctx, e: EditNode, p: Path) -> Any:
    """A validated subtree used whole; it must hold configuration only (like every edit)."""
    bad = _state_path(e.node, e.content)
    if bad is not None:
        steps, name = bad
        raise ctx.fail("invalid-value", f"{name} is state data (config false), not configuration",
                       (*p, *steps))
    return e.content


_HAS_STATE: dict[int, tuple[SchemaNode, tuple[SchemaNode, ...]]] = {}


def _state_kids(node: SchemaNode) -> tuple[SchemaNode, ...]:
    """The data children of ``node`` that are config false or hold such a node (cached per
    node, holding it so its id cannot be reused): a replace of 10,000 list entries looks only
    at these."""
    got = _HAS_STATE.get(id(node))
    if got is None or got[0] is not node:
        kids = tuple(c for c in node.data_children() if any(not n.config for n in c.walk()))
        got = _HAS_STATE[id(node)] = (node, kids)
    return got[1]


def _state_path(node: SchemaNode, obj: Any) -> tuple[tuple[Step, ...], str] | None:
    """The first config-false node set inside ``obj`` (an instance of node.cls), or None."""
    if obj is None:
        return None
    for c in _state_kids(node):
        v = getattr(obj, c.py_name)
        if v is None:
            continue
        if not c.config:
            return (Step(c),), c.name
        if c.kind is Kind.CONTAINER:
            inner = _state_path(c, v)
            if inner is not None:
                return (Step(c), *inner[0]), inner[1]
        elif c.kind is Kind.LIST:
            for entry in v:
                inner = _state_path(c, entry)
                if inner is not None:
                    return (Step(c, v.key_of(entry)), *inner[0]), inner[1]
    return None


def _delete(ctx: _Ctx, node: SchemaNode, cur: Any, op: Op, p: Path) -> None:
    if cur is None:
        if op is Op.DELETE:
            raise ctx.fail("data-missing", f"{node.name} does not exist", p)
        return
    ctx.record("delete", p, cur, None)


def _build(ctx: _Ctx, node: SchemaNode, children: Sequence[EditNode], op: Op, p: Path,
           key: tuple[Any, ...] | None = None) -> YangModel | None:
    """A new subtree from edit content only (create/replace, or merge of something new)."""
    inner = Op.MERGE if op is Op.REPLACE else op
    ctx.mute += 1
    try:
        return _children(ctx, node, None, children, inner, p, key)
    finally:
        ctx.mute -= 1


def _new_list(node: SchemaNode) -> YangList[Any]:
    keys = tuple(k.py_name for k in (node.child(node.module, n) for n in node.keys) if k)
    return YangList((), keys)


def _list_entry(ctx: _Ctx, e: EditNode, yl: YangListBuilder[Any], op: Op, path: Path) -> Any:
    node = e.node
    assert e.key is not None
    p = (*path, Step(node, e.key))
    existing = yl.get(e.key)
    if op in (Op.DELETE, Op.REMOVE):
        if existing is None:
            if op is Op.DELETE:
                raise ctx.fail("data-missing", f"{node.name} entry does not exist", p)
            return yl
        ctx.record("delete", p, existing, None)
        yl.remove(e.key)
        return yl
    if op is Op.CREATE and existing is not None:
        raise ctx.fail("data-exists", f"{node.name} entry already exists", p)
    if op is Op.NONE:
        if existing is None:
            raise ctx.fail("data-missing", f"{node.name} entry does not exist", p)
        entry = _children(ctx, node, existing, e.kids(), Op.NONE, p, e.key)
    elif existing is None or op in (Op.CREATE, Op.REPLACE):
        entry = _content(ctx, e, p) if e.content is not None else _build(ctx, node, e.children, op, p, e.key)
        ctx.record("create" if existing is None else "modify", p, existing, entry)
    else:
        entry = _children(ctx, node, existing, e.kids(), Op.MERGE, p, e.key)
    if e.insert is not None and not node.ordered_by_user:
        raise ctx.fail("bad-attribute", "insert is only allowed in an ordered-by user list", p,
                       bad_attribute="insert")
    if e.insert is None:  # a new entry goes last (RFC 7950 §7.8.6), where set puts it
        yl.set(entry)
        return yl
    return _placed(ctx, yl, entry, e, p)


def _placed(ctx: _Ctx, yl: YangListBuilder[Any], entry: Any, e: EditNode, p: Path) -> YangListBuilder[Any]:
    where = e.insert or "last"
    if where in ("before", "after") and (e.anchor is None or e.anchor not in yl or e.anchor == e.key):
        raise ctx.fail("bad-attribute", f"insert {where}: no entry {e.anchor!r} to anchor on", p,
                       "missing-instance", bad_attribute="key")
    before = yl.snapshot()
    after = before.insert(entry, where, e.anchor)
    # Replaying the entry's own change keeps an existing entry in place and appends a new one;
    # only an order that differs from that is recorded (as list-level state).
    natural = before.keys() if e.key in before else (*before.keys(), after.key_of(entry))
    if after.keys() != natural:
        ctx.record("modify", (*p[:-1], Step(e.node)), before, after)  # order is list-level state
    yl.__init__(after)  # type: ignore[misc]
    return yl


def _leaf_list_entry(ctx: _Ctx, e: EditNode, cur: tuple[Any, ...] | None, op: Op, path: Path) -> Any:
    node = e.node
    values = cur or ()
    v = e.value
    p = (*path, Step(node, (v,)))
    present = v in values
    if op is Op.NONE:
        return cur
    if op in (Op.DELETE, Op.REMOVE):
        if not present:
            if op is Op.DELETE:
                raise ctx.fail("data-missing", f"{node.name} value does not exist", p)
            return cur
        ctx.record("delete", p, v, None)
        return tuple(x for x in values if x != v) or None
    if op is Op.CREATE and present:
        raise ctx.fail("data-exists", f"{node.name} value already exists", p)
    if e.insert is not None and not node.ordered_by_user:
        raise ctx.fail("bad-attribute", "insert is only allowed in an ordered-by user leaf-list", p,
                       bad_attribute="insert")
    if e.insert is None and (present or not node.ordered_by_user):
        if not present:
            ctx.record("create", p, None, v)
            return (*values, v)
        return cur
    where = e.insert or "last"
    rest = [x for x in values if x != v]
    if where == "first":
        pos = 0
    elif where == "last":
        pos = len(rest)
    else:
        anchor = e.anchor[0] if e.anchor else None
        if anchor not in rest:
            raise ctx.fail("bad-attribute", f"insert {where}: no value {anchor!r} to anchor on", p,
                           "missing-instance", bad_attribute="value")
        pos = rest.index(anchor) + (where == "after")
    rest.insert(pos, v)
    new = tuple(rest)
    if new != values:
        ctx.record("modify", (*path, Step(node)), cur, new)
    return new


def _clear_other_cases(ctx: _Ctx, node: SchemaNode, obj: YangModel | None, updates: dict[str, Any],
                       path: Path) -> None:
    """RFC 7950 §7.9.6: the other cases of every choice above ``node`` lose their nodes."""
    for other in _other_case_nodes(node):
        f = other.py_name
        cur = updates[f] if f in updates else (getattr(obj, f) if obj is not None else None)
        if cur is not None:
            ctx.record("delete", (*path, Step(other)), cur, None)
            updates[f] = None


_OTHER_CASES: dict[int, tuple[SchemaNode, ...]] = {}


def _other_case_nodes(node: SchemaNode) -> tuple[SchemaNode, ...]:
    got = _OTHER_CASES.get(id(node))
    if got is None:
        out: list[SchemaNode] = []
        n: SchemaNode | None = node
        while n is not None and n.parent is not None and n.parent.kind is Kind.CASE:
            case = n.parent
            choice = case.parent
            assert choice is not None
            for c in choice.children:
                if c is not case:
                    out.extend(c.data_children() if c.kind is Kind.CASE else [c])
            n = choice if choice.parent is not None and choice.parent.kind is Kind.CASE else None
        got = _OTHER_CASES[id(node)] = tuple(out)
    return got
