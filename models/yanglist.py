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
from typing import Any, Generic, TypeVar

import immutables

E = TypeVar("E")
Key = tuple[Any, ...]


class DuplicateKeyError(ValueError):
    def __init__(self, key: Key):
        super().__init__(f"duplicate list entry with key {key!r}")
        self.key = key


class YangList(Generic[E]):
    """Keyed, ordered, immutable collection of list entries (``keys`` are attribute names)."""

    __slots__ = ("_entries", "_keys", "_next", "_order", "_seq")

    def __init__(self, entries: Iterable[E] = (), keys: tuple[str, ...] = ()):
        self._keys = keys
        emap: immutables.Map[Key, E]
        em: immutables.MapMutation[Key, E]
        sm: immutables.MapMutation[Key, int]
        with immutables.Map[Key, E]().mutate() as em, immutables.Map[Key, int]().mutate() as sm:
            n = 0
            order: list[Key] = []
            for e in entries:
                k = self._key_of(e)
                if k in em:
                    raise DuplicateKeyError(k)
                em[k] = e
                sm[k] = n
                order.append(k)
                n += 1
            emap = em.finish()
            smap = sm.finish()
        self._entries = emap
        self._seq: immutables.Map[Key, int] = smap
        self._next = n
        self._order: tuple[Key, ...] | None = tuple(order)

    # ---- reading ----------------------------------------------------------------------
    def _key_of(self, e: E) -> Key:
        if not self._keys:  # keyless (config false) lists: identity is position
            return (id(e),)
        return tuple(getattr(e, k) for k in self._keys)

    def key_of(self, e: E) -> Key:
        return self._key_of(e)

    @property
    def key_names(self) -> tuple[str, ...]:
        return self._keys

    def keys(self) -> tuple[Key, ...]:
        if self._order is None:
            self._order = tuple(sorted(self._seq, key=self._seq.__getitem__))
        return self._order

    def __iter__(self) -> Iterator[E]:
        entries = self._entries
        for k in self.keys():
            yield entries[k]

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return self._norm(key) in self._entries

    def get(self, key: Any, default: Any = None) -> E | None:
        return self._entries.get(self._norm(key), default)

    def __getitem__(self, key: Any) -> E:
        return self._entries[self._norm(key)]

    def _norm(self, key: Any) -> Key:
        return key if isinstance(key, tuple) else (key,)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, YangList):
            return NotImplemented
        if not self._keys:  # keyless: the key is identity, compare entries in order
            return not other._keys and list(self) == list(other)
        return self.keys() == other.keys() and all(
            self._entries[k] == other._entries[k] for k in self.keys())

    def __hash__(self) -> int:
        return hash(self.keys()) if self._keys else len(self)

    def __repr__(self) -> str:
        return f"YangList({list(self)!r})"

    # ---- persistent updates -------------------------------------------------------------
    def _derive(self, entries: immutables.Map[Key, E], seq: immutables.Map[Key, int],
                nxt: int, order: tuple[Key, ...] | None) -> YangList[E]:
        new: YangList[E] = YangList.__new__(YangList)
        new._keys, new._entries, new._seq, new._next, new._order = self._keys, entries, seq, nxt, order
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
        self._em = base._entries.mutate()
        self._sm = base._seq.mutate()
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
