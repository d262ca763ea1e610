"""NACM, the Network Configuration Access Control Model (RFC 8341), for every transport.

``Nacm`` (one per Datastores, ``ds.nacm``) answers, for a session, the §3.4 questions: may this
user read / create / update / delete this data node, exec this operation, receive this
notification. ``Session`` calls it on every read (denied subtrees are pruned silently,
§3.4.5), every change set an edit, commit or copy produces (the first denied node is an
access-denied error and nothing changes) and ``Datastores.invoke``; the NETCONF dispatcher
asks it for protocol operations and the notification paths for each event.

Who is checked:
- a *recovery session* (§2.5: a user named in ``recovery_users``, e.g. root) and internal
  sessions (transport "internal": yangd itself) bypass NACM;
- without /ietf-netconf-acm:nacm in running: ``yangd serve`` (``factory_open`` False) applies
  the YANG defaults, RFC 8341 §3.5 as written: enabled, read permit, write deny, exec
  permit; it writes a factory /nacm with its first commit (an ``admin`` group of the first
  users and a permit-all rule-list, server/users.py), so a new install is administrable and
  a deleted /nacm locks writes, never opens them. An embedded ``Datastores`` (the library,
  most tests) keeps ``factory_open`` True: no /nacm, nothing checked.

The configuration is compiled once per running version of /nacm and group set (cache keyed
on the /nacm subtree object, which copy-on-write keeps identical until it is edited), into
per-operation rule tuples plus per-schema-node memos, so the common case — no rule can apply
inside a subtree — costs one dict lookup per subtree, not per node. The parts: the
configuration compiled (_nacm_rules.py), the decisions (_nacm_access.py), read pruning
(_nacm_prune.py); this module holds the per-Datastores state and the counters.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from datastore._nacm_access import ALWAYS_PERMITTED, Access
from datastore._nacm_rules import CREATE, DELETE, EXEC, READ, UPDATE, compile_rules, groups_of
from models.bundle import Bundle, YangModel
from models.schema import SchemaNode

__all__ = ["ALWAYS_PERMITTED", "CREATE", "DELETE", "EXEC", "READ", "UPDATE", "Access", "Nacm"]

_NACM_PATH = "/ietf-netconf-acm:nacm"
_LAST_MAX = 256  # group sets whose Access outlives a NACM change (Nacm._last)
log = logging.getLogger("yangd.nacm")


class Nacm:
    """The access controller of one Datastores: configuration from running, counters."""

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        self.recovery_users: frozenset[str] = frozenset()
        self.file_groups: dict[str, frozenset[str]] = {}  # user → groups (the config file's)
        self.denied_operations = 0
        self.denied_data_writes = 0
        self.denied_notifications = 0
        self._lock = threading.Lock()
        self._cache: dict[tuple[int, str], Access | None] = {}
        self._cache_of: Any = None  # the /nacm subtree the cache was built from
        self._last: dict[str, Access] = {}  # group set → its Access under the latest /nacm
        self._deny: dict[int, str | None] = {}  # schema node id → default-deny in force
        # Read pruning's copies of top-level list entries without the children a rule hides
        # from every entry, per (list node id, children cut): {id(entry): (entry, copy)};
        # they hold for any rules that cut the same children (datastore/_nacm_prune.py).
        self.blanked: dict[tuple[int, tuple[str, ...] | None], dict[int, tuple[Any, Any]]] = {}
        self._attached = False
        # No /nacm in running: True, nothing is checked (an embedded datastore, the test
        # suite); False, the YANG defaults hold (RFC 8341 §3.5: enabled, write-default deny).
        # `yangd serve` sets False and writes a factory /nacm with its first users.
        self.factory_open = True
        self._defaults: Any = None  # an empty /nacm: every leaf at its YANG default
        # called on each refused write, operation or notification (not on pruned reads):
        # (user, transport, session id, operation, path)
        self.listeners: list[Callable[[str, str, int | None, str, str | None], None]] = []
        try:
            self._node: SchemaNode | None = bundle.node(_NACM_PATH)
        except KeyError:  # ietf-netconf-acm not loaded: nothing to enforce
            self._node = None

    def configure(self, groups: Mapping[str, Sequence[str]] | None = None,
                  recovery_users: Iterable[str] = (), factory_open: bool | None = None) -> None:
        """Groups from the server's config file (group → users; used as external groups,
        §3.4.4 step 4), the recovery users (§2.5), and what an absent /nacm means."""
        if factory_open is not None:
            self.factory_open = factory_open
        by_user: dict[str, set[str]] = {}
        for g, users in (groups or {}).items():
            for u in users:
                by_user.setdefault(u, set()).add(g)
        with self._lock:
            self.file_groups = {u: frozenset(gs) for u, gs in by_user.items()}
            self.recovery_users = frozenset(recovery_users)
            self._cache, self._last = {}, {}

    def config_of(self, running: YangModel) -> Any:
        """running's /nacm container (a generated class of the bundle), or None."""
        return getattr(running, self._node.py_name, None) if self._node is not None else None

    def access(self, running: YangModel, user: str, transport: str) -> Access | None:
        """What ``user`` is subject to now; None: nothing is checked (NACM off, factory state,
        recovery or internal session)."""
        if transport == "internal" or user in self.recovery_users:
            return None
        nacm = self.config_of(running)
        if nacm is None:
            if self.factory_open or self._node is None:
                return None
            if self._defaults is None:
                self._defaults = self._node.cls()
            nacm = self._defaults
        if nacm.enable_nacm is False:
            return None
        with self._lock:
            if self._cache_of is not nacm:
                self._cache, self._cache_of = {}, nacm
            key = (id(nacm), user)
            if key in self._cache:
                return self._cache[key]
            groups = groups_of(nacm, user, self.file_groups.get(user, frozenset()))
            gkey = (id(nacm), "\0" + ",".join(sorted(groups)))
            acc = self._cache.get(gkey)
            if acc is None:
                rules = compile_rules(self.bundle, nacm, groups)
                # A NACM change that leaves these groups' rules as they were (another group's
                # rules, a comment, a counter setting) keeps their Access and all it learnt.
                prev = self._last.get(gkey[1])
                acc = prev if prev is not None and prev.rules == rules else Access(self, rules)
                self._cache[gkey] = acc
                if len(self._last) >= _LAST_MAX:
                    self._last.clear()
                self._last[gkey[1]] = acc
            self._cache[key] = acc
            return acc

    def default_deny(self, node: SchemaNode) -> str | None:
        """The nacm:default-deny-* in force at ``node``: its own or an ancestor's (a sensitive
        container protects what it holds)."""
        k = id(node)
        if k not in self._deny:
            self._deny[k] = node.default_deny()
        return self._deny[k]

    def attach(self, ds: Any) -> None:
        """Serve the counters in ``ds``'s operational view from the first checked session on
        (RFC 8341 §3.2: config false leaves of /nacm)."""
        if not self._attached and self._node is not None:
            with self._lock:
                if self._attached:
                    return
                self._attached = True
            ds.add_state_provider(_Counters(self))

    def count(self, what: str) -> None:
        with self._lock:
            setattr(self, what, getattr(self, what) + 1)

    def refused(self, counter: str, user: str, transport: str, session: int | None, operation: str,
                path: str | None) -> None:
        """Count a denial and tell the listeners (e.g. the audit log): ``operation`` is create,
        update, delete, exec or a notification's name; ``path`` what was refused."""
        self.count(counter)
        for fn in list(self.listeners):
            try:
                fn(user, transport, session, operation, path)
            except Exception:  # an observer must never turn a denial into another error
                log.exception("NACM denial listener failed")

    def state(self) -> YangModel | None:
        """The /nacm counters (config false) as a Root tree, for the operational view."""
        if self._node is None:
            return None
        cls = self._node.cls
        st = cls.model_validate({"denied-operations": self.denied_operations,
                                 "denied-data-writes": self.denied_data_writes,
                                 "denied-notifications": self.denied_notifications})
        root = self.bundle.root_cls
        assert root is not None
        out: YangModel = root.model_validate({}).model_copy(update={self._node.py_name: st})
        return out


class _Counters:
    """The counters as a state provider (datastore/operational.py)."""

    name = "nacm"
    origin = "ietf-origin:system"

    def __init__(self, nacm: Nacm) -> None:
        self.nacm = nacm

    def state(self) -> YangModel | None:
        return self.nacm.state()
