"""Entity tags and timestamps (RFC 8040 §3.4.1, §3.5.1, §3.5.2) and conditional requests
(RFC 7232): ETag / Last-Modified on replies, If-Match, If-None-Match, If-Modified-Since and
If-Unmodified-Since on every method (412 operation-failed, or 304 for a GET/HEAD).

How the entity tags are chosen, and why they change exactly when the content does:

- **running as a whole** (``/restconf/data`` and ``/restconf/ds/ietf-datastores:running``):
  ``r<head>.<commit time in µs>``. Running changes only by a commit, every commit gets a new
  id, and (id, time) stays unique even if a data directory is recreated; it survives restarts
  and is the same on every yangd sharing one PostgreSQL store. Only configuration changes make
  commits, as §3.4.1.2 asks. Last-Modified: the head commit's time. A commit listener records
  (tree, head) under the commit lock, so a reader gets a consistent pair without taking it;
  the commit's time is read from the store once per head.
- **a data resource, and candidate/startup as a whole**: a digest (BLAKE2b) of the resource's
  configuration content (its canonical RFC 7951 serialisation). Equal content gives the same
  tag; any change of the resource or of a configuration node inside it gives another one —
  also when the change came over NETCONF. Trees are immutable and copy-on-write, so a subtree
  object never changes: its digest is memoised by object identity (the memo holds the object,
  so an id cannot be reused while memoised) and a resource untouched by a commit is not
  re-serialised. Last-Modified: that of its datastore (§3.5.1: "if not maintained, the
  datastore's timestamp MUST be used"); for candidate/startup, when yangd first saw that tree.
- **state** (a config-false resource, ``content=nonconfig``, the operational datastore): a
  digest of the reply body itself, no Last-Modified; state tags say nothing about
  configuration, and §3.4.1.2 keeps configuration tags free of state changes.

Each representation has its own tag (§3.4.1.2): configuration tags end in ``-j`` (JSON) or
``-x`` (XML). A conditional *edit* compares the version only, so a tag obtained from a JSON
GET protects an XML PUT as well. Dates are HTTP dates (whole seconds, RFC 7232 §2.2): the
entity tag is the exact validator, the date the coarse one.
"""

from __future__ import annotations

import hashlib
import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from datastore.datastores import CommitEvent, Datastores
from models.bundle import YangModel
from models.yanglist import YangList
from server.restconf.errors import RestconfError
from server.restconf.media import Media

__all__ = ["Validators", "Versions", "body_tag", "check_preconditions", "headers_of"]

_MEMO_SIZE = 512
_TAG = re.compile(r'\s*(W/)?"([^"]*)"\s*(?:,|$)')


@dataclass(frozen=True)
class Validators:
    """What a reply or a precondition is checked against; ``tag`` None: nothing exists."""

    tag: str | None = None  # the opaque version, without representation suffix
    rep: str = ""  # representation suffix: -j, -x, or "" for body tags
    modified: datetime | None = None

    @property
    def etag(self) -> str | None:
        return None if self.tag is None else f'"{self.tag}{self.rep}"'


def rep_of(media: Media) -> str:
    return "-j" if media is Media.JSON else "-x"


def body_tag(body: bytes) -> str:
    return "b" + hashlib.blake2b(body, digest_size=12).hexdigest()


def _digest_value(value: Any) -> str:
    h = hashlib.blake2b(digest_size=12)
    if isinstance(value, YangModel):
        h.update(value.model_dump_json(exclude_none=True).encode())
    elif isinstance(value, YangList):
        for e in value:
            h.update(e.model_dump_json(exclude_none=True).encode())
            h.update(b"\0")
    else:
        h.update(repr((type(value).__name__, value)).encode())
    return h.hexdigest()


@dataclass(frozen=True)
class _Head:
    tree: YangModel
    head: int
    when: datetime | None = None  # the head commit's time, read from the store when first needed


class Versions:
    """The versions of the datastores' trees this RESTCONF server has handed out."""

    def __init__(self, ds: Datastores):
        self.ds = ds
        self.started = datetime.now(UTC)
        self._lock = threading.Lock()
        self._running: _Head | None = None
        self._memo: OrderedDict[int, tuple[Any, str]] = OrderedDict()
        self._seen: OrderedDict[int, tuple[Any, datetime]] = OrderedDict()
        me = weakref.WeakMethod(self._committed)
        ds.add_listener(lambda event: _call(me, event))

    def _committed(self, event: CommitEvent) -> None:
        # Called inside the commit, under the datastore lock, after running moved: a consistent
        # (tree, head) pair without readers having to take that lock.
        self._running = _Head(self.ds.running, event.id)

    def running(self) -> tuple[YangModel, Validators]:
        """Running and its validators, consistent with each other."""
        cur = self._running
        if cur is None or cur.tree is not self.ds.running:
            with self.ds.lock:  # head and running move together only under the commit lock
                cur = _Head(self.ds.running, self.ds.head)
            self._running = cur
        if cur.when is None:
            cur = _Head(cur.tree, cur.head, self._commit_time(cur.head))
            if self._running is not None and self._running.tree is cur.tree:
                self._running = cur
        assert cur.when is not None
        return cur.tree, Validators(f"r{cur.head}.{int(cur.when.timestamp() * 1e6):x}", "", cur.when)

    def current(self) -> bool:
        """Whether ``running()`` answers from memory now: no lock to wait for, no store read."""
        cur = self._running
        return cur is not None and cur.tree is self.ds.running and cur.when is not None

    def _commit_time(self, head: int) -> datetime:
        if head == 0:
            return self.started
        infos = self.ds.store.commits(1)
        if infos and infos[0].id > head:  # newer commits are already stored: look further back
            infos = self.ds.store.commits(infos[0].id - head + 1)
        when = next((i.time for i in infos if i.id == head), None) or datetime.now(UTC)
        return when if when.tzinfo is not None else when.replace(tzinfo=UTC)

    def digest(self, value: Any) -> str:
        """The content digest of a (sub)tree value, memoised by identity."""
        if not isinstance(value, (YangModel, YangList)):
            return _digest_value(value)
        with self._lock:
            got = self._memo.get(id(value))
            if got is not None and got[0] is value:
                self._memo.move_to_end(id(value))
                return got[1]
        d = _digest_value(value)
        with self._lock:
            self._memo[id(value)] = (value, d)
            while len(self._memo) > _MEMO_SIZE:
                self._memo.popitem(last=False)
        return d

    def first_seen(self, tree: YangModel) -> datetime:
        """When this tree object was first seen (the modification time of candidate/startup)."""
        with self._lock:
            got = self._seen.get(id(tree))
            if got is not None and got[0] is tree:
                return got[1]
            now = datetime.now(UTC)
            self._seen[id(tree)] = (tree, now)
            while len(self._seen) > 16:
                self._seen.popitem(last=False)
            return now


def _call(method: Any, event: CommitEvent) -> None:
    fn: Callable[[CommitEvent], None] | None = method()
    if fn is not None:
        fn(event)


def headers_of(v: Validators) -> dict[str, str]:
    out: dict[str, str] = {}
    if v.etag is not None:
        out["ETag"] = v.etag
    if v.modified is not None:
        out["Last-Modified"] = format_datetime(v.modified.astimezone(UTC), usegmt=True)
    return out


def _tags(header: str) -> list[tuple[bool, str]] | None:
    """(weak, opaque) pairs of an entity-tag list; None for ``*``; [] if malformed."""
    if header.strip() == "*":
        return None
    out: list[tuple[bool, str]] = []
    pos = 0
    header = header.strip()
    while pos < len(header):
        m = _TAG.match(header, pos)
        if m is None:
            return []
        out.append((m.group(1) is not None, m.group(2)))
        pos = m.end()
    return out


def _date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        d = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None  # RFC 7232 §3.3, §3.4: an invalid date is ignored
    return d if d.tzinfo is not None else d.replace(tzinfo=UTC)


def _matches(header: str, v: Validators, strong: bool, edit: bool) -> bool:
    tags = _tags(header)
    if tags is None:
        return v.tag is not None
    if v.tag is None:
        return False
    current = {f"{v.tag}{v.rep}"}
    if edit:  # any representation's tag names this version (see the module docstring)
        current |= {v.tag, f"{v.tag}-j", f"{v.tag}-x"}
    return any(t in current and not (strong and weak) for weak, t in tags)


def _failed(what: str) -> RestconfError:
    return RestconfError.one("operation-failed", f"precondition failed: {what}", 412, type="protocol")


def check_preconditions(headers: Mapping[str, str], method: str, v: Validators) -> bool:
    """RFC 7232 §6 order. True: answer 304 Not Modified; raises 412 when a condition fails."""
    read = method in ("GET", "HEAD")
    edit = not read
    modified = v.modified.replace(microsecond=0) if v.modified is not None else None
    if_match = headers.get("if-match")
    if if_match is not None:
        if not _matches(if_match, v, True, edit):
            raise _failed("If-Match does not match the current entity tag")
    else:
        since = _date(headers.get("if-unmodified-since"))
        if since is not None and modified is not None and modified > since:
            raise _failed("the resource was modified after If-Unmodified-Since")
    if_none = headers.get("if-none-match")
    if if_none is not None:
        if _matches(if_none, v, False, edit):
            if read:
                return True
            raise _failed("If-None-Match matches the current entity tag")
    elif read:
        since = _date(headers.get("if-modified-since"))
        if since is not None and modified is not None and modified <= since:
            return True
    return False
