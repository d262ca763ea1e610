"""The nftables driver: ietf-access-control-list (RFC 8519) as one nftables table.

It owns /ietf-access-control-list:acls and acts inside one network namespace (by default
``yangd``, created if missing; the host's only with ``allow_host``). All of the ACL
configuration becomes ``table inet yangd`` (southbound/_acl_render.py), and every change
replaces that table whole in one ``nft -f`` transaction: the kernel swaps old for new
atomically, and other tables in the namespace are never touched.

Phases: validate renders the target configuration (anything nftables cannot express is
refused there, naming the node; only the ACEs a change touched are rendered again, as trees
are copy on write); prepare has the kernel check the ruleset (``nft -c``: a refusal is a
prepare failure with nft's message and, mapped from the line nft names, the error-path of
the ACE or attachment point); commit loads it; revert loads the ruleset that was there
before (or removes the table if there was none). A refused load leaves the old table in
place, so a failed commit is already undone. Full sync loads the rendering of running and
counts the structural differences it repaired; drift compares the table's structure with
running. read_state reports each ACE's counters (southbound/_acl_state.py).
"""

from __future__ import annotations

import logging
import time

from models.bundle import Bundle, YangModel
from southbound._acl_nft import Nft, NftError
from southbound._acl_render import ACLS, RuleCache, Ruleset, no_gc, render
from southbound._acl_state import Listing, acls_state, drift, parse_table
from southbound.driver import Driver, DriverTx
from southbound.errors import DriverError

log = logging.getLogger("yangd.southbound.nftables")
LISTING_TTL = 0.5  # seconds a listing of the table is reused


class NftablesDriver(Driver):
    name = "nftables"
    kind = "nftables"
    owns = (ACLS,)

    def __init__(self, bundle: Bundle, namespace: str = "yangd", *, create: bool = True,
                 allow_host: bool = False, timeout: float | None = None, name: str | None = None):
        if not namespace and not allow_host:
            raise ValueError("the nftables driver acts in the host namespace only with allow_host")
        super().__init__(bundle, name=name, timeout=timeout)
        self.namespace = namespace
        self.create = create
        self._nft: Nft | None = None
        self.loaded: Ruleset | None = None  # what the table holds (None: unknown until a sync)
        self._listing: tuple[float, Listing | None] | None = None
        self._cache: RuleCache = {}  # the last render's ACE rules, reused by the next

    @property
    def nft(self) -> Nft:
        if self._nft is None:
            raise DriverError(f"not connected to network namespace {self.namespace}")
        return self._nft

    def on_start(self) -> None:
        if self._nft is None:
            self._nft = Nft(self.namespace, create=self.create, timeout=self.timeout)

    # ---- phases -------------------------------------------------------------------------------
    def on_validate(self, d: DriverTx) -> None:
        rs = render(d.target, self._cache)
        self._cache = rs.cache
        d.scratch["ruleset"] = rs

    def on_prepare(self, d: DriverTx) -> None:
        rs: Ruleset = d.scratch["ruleset"]
        try:
            self.nft.check(rs.text)
        except NftError as e:
            raise self._located(e, rs) from None

    def on_commit(self, d: DriverTx) -> None:
        rs: Ruleset = d.scratch["ruleset"]
        d.scratch["before"] = self.loaded
        try:
            self._load(rs.text)
        except NftError as e:
            raise self._located(e, rs) from None
        d.scratch["loaded"] = True
        self.loaded = rs

    def on_revert(self, d: DriverTx) -> None:
        if not d.scratch.pop("loaded", False):
            return  # nft refused the load: the old table never left
        before: Ruleset | None = d.scratch["before"]
        self._load(before.text if before is not None else render(d.source).text)
        self.loaded = before

    def on_abort(self, d: DriverTx) -> None:
        for k in ("ruleset", "before", "loaded"):
            d.scratch.pop(k, None)

    def on_full_sync(self, running: YangModel) -> int:
        """Reload the table from running; the structural differences it repaired."""
        rs = render(running, self._cache)
        self._cache = rs.cache
        diffs = drift(rs, self._table(fresh=True))
        self.loaded = None
        try:
            self._load(rs.text)
        except NftError as e:
            raise self._located(e, rs) from None
        self.loaded = rs
        log.info("nftables full sync: %d rules in table inet yangd (namespace %r), %d differences",
                 rs.rules, self.namespace, len(diffs))
        return len(diffs)

    def on_drift(self, running: YangModel) -> list[str]:
        return drift(render(running, self._cache), self._table(fresh=True))

    def _load(self, text: str) -> None:
        self._listing = None
        self.nft.load(text)

    def _table(self, fresh: bool = False) -> Listing | None:
        """The table's listing, parsed. Drift checks and full syncs list afresh; read_state
        reuses one made within LISTING_TTL (listing 10k ACEs costs 0.1-0.3 s)."""
        now = time.monotonic()
        if fresh or self._listing is None or now - self._listing[0] > LISTING_TTL:
            text = self.nft.table()
            self._listing = (now, parse_table(text) if text is not None else None)
        return self._listing[1]

    def _located(self, e: NftError, rs: Ruleset) -> DriverError:
        path = rs.lines.get(e.line) if e.line is not None else None
        return DriverError(f"nft: {e.message}", path or ACLS)

    # ---- state --------------------------------------------------------------------------------
    def read_state(self) -> YangModel | None:
        rs = self.loaded
        if rs is None or not rs.attachments:
            return None
        listing = self._table()
        if listing is None:
            log.warning("nftables: table inet yangd is gone from namespace %r", self.namespace)
            return None
        cls = self.bundle.root_cls
        with no_gc():  # 10k ACEs: two list entries each (aggregate and per attachment)
            data = acls_state(rs, listing)
            return cls.model_validate(data) if cls is not None and data else None
