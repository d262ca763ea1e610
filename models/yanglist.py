"""YangList: the immutable, persistent container of a YANG list's entries.

A list is a map from key tuple to entry that also keeps an order (insertion order for
``ordered-by system``, the user's order for ``ordered-by user``). It is built on a HAMT
(``immutables.Map``) so that replacing, adding or removing one entry of a 100k-entry list
costs O(log n) and shares everything else with the previous version: the datastore's
copy-on-write edits depend on this (a one-leaf commit must cost the same at any list size).

Order is a second map key → sequence number; iteration sorts by it once and caches the
result on the (immutable) instance. Replacing an existing entry keeps its sequence number,
so the cached order carries over to the new version.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from operator import attrgetter
from typing import Any, Generic, TypeVar

import immutables

E = TypeVar("E")
Key = tuple[Any, ...]


def _key_getter(keys: tuple[str, ...]) -> Any:
    return attrgetter(*keys) if keys else None


class DuplicateKeyError(ValueError):
    def __init__(self, key: Key):
        super().__init__(f"duplicate list entry with key {key!r}")
        self.key = key


class YangList(Generic[E]):
    """Keyed, ordered, immutable collection of list entries (``keys`` are attribute names).

    A list fresh from validation keeps its entries as a tuple (``_items``) and builds its
    HAMTs only when first looked up or updated: decoding a document makes hundreds of
    thousands of tiny lists that are never edited, and a tuple plus a duplicate-key check
    is all they need.
    """

    __slots__ = ("_em", "_getter", "_items", "_keys", "_next", "_order", "_sm")

    def __init__(self, entries: Iterable[E] = (), keys: tuple[str, ...] = ()):
        self._keys = keys
        self._getter = _key_getter(keys)
        items = tuple(entries)
        ks = [self._key_of(e) for e in items]
        if len(set(ks)) != len(ks):
            seen: set[Key] = set()
            for k in ks:
                if k in seen:
                    raise DuplicateKeyError(k)
                seen.add(k)
        self._items: tuple[E, ...] | None = items
        self._order: tuple[Key, ...] | None = tuple(ks)
        self._next = len(items)
        self._em: immutables.Map[Key, E] | None = None
        self._sm: immutables.Map[Key, int] | None = None

    def _maps(self) -> tuple[immutables.Map[Key, E], immutables.Map[Key, int]]:
        if self._em is None or self._sm is None:
            assert self._items is not None and self._order is not None
            self._em = immutables.Map(zip(self._order, self._items, strict=True))
            self._sm = immutables.Map(zip(self._order, range(len(self._order)), strict=True))
        return self._em, self._sm

    @property
    def _entries(self) -> immutables.Map[Key, E]:
        return self._maps()[0]

    @property
    def _seq(self) -> immutables.Map[Key, int]:
        return self._maps()[1]

    # ---- reading ----------------------------------------------------------------------
    def _key_of(self, e: E) -> Key:
        g = self._getter
        if g is None:  # keyless (config false) lists: identity is position
            return (id(e),)
        k = g(e)
        return k if len(self._keys) > 1 else (k,)

    def key_of(self, e: E) -> Key:
        return self._key_of(e)

    @property
    def key_names(self) -> tuple[str, ...]:
        return self._keys

    def keys(self) -> tuple[Key, ...]:
        if self._order is None:
            seq = self._seq
            self._order = tuple(sorted(seq, key=seq.__getitem__))
        return self._order

    def __iter__(self) -> Iterator[E]:
        if self._items is not None:
            return iter(self._items)
        entries = self._entries
        return (entries[k] for k in self.keys())

    def __len__(self) -> int:
        return len(self._items) if self._items is not None else len(self._entries)

    def __contains__(self, key: object) -> bool:
        return self._norm(key) in self._entries

    def get(self, key: Any, default: Any = None) -> E | None:
        return self._entries.get(self._norm(key), default)

    def __getitem__(self, key: Any) -> E:
        if not self._keys and isinstance(key, int):  # keyless lists are addressed by position
            return tuple(self)[key]
        return self._entries[self._norm(key)]

    def _norm(self, key: Any) -> Key:
        return key if isinstance(key, tuple) else (key,)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, YangList):
            return NotImplemented
        if self is other:
            return True
        if len(self) != len(other) or bool(self._keys) != bool(other._keys):
            return False
        return all(a == b for a, b in zip(self, other, strict=True))

    def __hash__(self) -> int:
        return hash(self.keys()) if self._keys else len(self)

    def __repr__(self) -> str:
        return f"YangList({list(self)!r})"

    # ---- persistent updates -------------------------------------------------------------
    def _derive(self, entries: immutables.Map[Key, E], seq: immutables.Map[Key, int],
                nxt: int, order: tuple[Key, ...] | None) -> YangList[E]:
        new: YangList[E] = YangList.__new__(YangList)
        new._keys, new._getter, new._em, new._sm = self._keys, self._getter, entries, seq
        new._next, new._order, new._items = nxt, order, None
        return new

    def set(self, entry: E) -> YangList[E]:
        """A new list with ``entry`` replacing the one with its key, or appended at the end."""
        k = self._key_of(entry)
        if k in self._entries:
            return self._derive(self._entries.set(k, entry), self._seq, self._next, self._order)
        order = (*self._order, k) if self._order is not None and len(self._order) < 64 else None
        return self._derive(self._entries.set(k, entry), self._seq.set(k, self._next), self._next + 1, order)

    def remove(self, key: Any) -> YangList[E]:
        k = self._norm(key)
        return self._derive(self._entries.delete(k), self._seq.delete(k), self._next, None)

    def insert(self, entry: E, where: str = "last", anchor: Any = None) -> YangList[E]:
        """ordered-by user placement (RFC 7950 §7.8.6): first, last, before or after ``anchor``.

        An entry that already exists is moved. Renumbers the sequence (O(n)); user-ordered
        lists are small in practice.
        """
        k = self._key_of(entry)
        order = [x for x in self.keys() if x != k]
        if where == "first":
            pos = 0
        elif where == "last":
            pos = len(order)
        else:
            a = self._norm(anchor)
            if a not in order:
                raise KeyError(a)
            pos = order.index(a) + (1 if where == "after" else 0)
        order.insert(pos, k)
        seq: immutables.Map[Key, int] = immutables.Map({x: i for i, x in enumerate(order)})
        return self._derive(self._entries.set(k, entry), seq, len(order), tuple(order))

    def subset(self, entries: Iterable[E], keys: Iterable[Key]) -> YangList[E]:
        """A list of ``entries`` with their ``keys``: entries of this list, or replacements
        with the same keys, in this list's order (the caller guarantees it), so no key is
        computed or checked again."""
        if not self._keys:  # keyless: an entry's identity is its key
            return YangList(entries)
        new: YangList[E] = YangList.__new__(YangList)
        new._keys, new._getter, new._em, new._sm = self._keys, self._getter, None, None
        new._items = tuple(entries)
        new._order = tuple(keys)
        new._next = len(new._items)
        return new

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        raise TypeError("YangList fields are built by models.bundle (they need the list's keys)")


class YangListBuilder(Generic[E]):
    """A transient, mutable view of a YangList for applying many entry edits at once.

    Edits to one list within one request go through a builder (HAMT mutation: no per-entry
    path copying), and ``finish`` yields the new immutable YangList. The source list is
    untouched, so an edit that fails later still leaves the old version intact.
    """

    def __init__(self, base: YangList[E]):
        self._base = base
        self._keys = base._keys
        em, sm = base._maps()
        self._em = em.mutate()
        self._sm = sm.mutate()
        self._next = base._next
        self._order = base._order
        self._changed = False

    def get(self, key: Key) -> E | None:
        return self._em.get(key)

    def __contains__(self, key: Key) -> bool:
        return key in self._em

    def __len__(self) -> int:
        return len(self._em)

    def key_of(self, e: E) -> Key:
        return self._base._key_of(e)

    def set(self, entry: E) -> None:
        k = self._base._key_of(entry)
        self._changed = True
        if k not in self._em:
            self._sm[k] = self._next
            self._next += 1
            self._order = None
        self._em[k] = entry

    def remove(self, key: Key) -> None:
        del self._em[key]
        del self._sm[key]
        self._order = None
        self._changed = True

    def finish(self) -> YangList[E] | None:
        """The new list (None when empty); the builder must not be used afterwards."""
        if not self._changed:
            return self._base if len(self._base) else None
        if not len(self._em):
            return None
        return self._base._derive(self._em.finish(), self._sm.finish(), self._next, self._order)

    def snapshot(self) -> YangList[E]:
        """An immutable copy of the current state (the builder stays usable)."""
        lst = self.finish() or YangList((), self._keys)
        self.__init__(lst)  # type: ignore[misc]
        return lst
