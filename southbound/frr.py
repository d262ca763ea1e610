"""The FRR driver: ietf-routing static routes (staticd) and BGP (yangd-bgp.yang, bgpd).

FRR runs in the driver's network namespace with a state directory of its own (vty sockets,
pid files, logs): started by yangd (``start``) or by the operator (southbound/_frr_daemons.py
shows how). yangd talks to each daemon over its vty socket (southbound/_frr_vty.py), never
through configuration files, and keeps ``conf``: the statements it knows FRR has
(southbound/_frr_conf.py), loaded by full sync from the daemons' running-config and kept by
commit and revert. So a commit costs what it changes: the statements of the routes it
touches (found as the kernel driver finds them, southbound/_routes.py) and of the BGP
instance, compared with ``conf``.

Phases: validate renders what the changes want (refusing what FRR cannot express); prepare
computes the commands and has FRR's own parser check them (``vtysh -C``: a line FRR refuses is
a prepare failure with FRR's message and the error-path of the YANG node it came from; a
static-route line is checked once per shape, ``_frr_conf.shape``: FRR's verdict on one route
holds for every route written the same way, so a change of routes already seen costs no vtysh
process, and a commit of 10,000 routes checks a handful of lines);
commit sends them to staticd and bgpd, recording each one the daemon accepted, so a daemon
refusing halfway (a check only the daemon makes, e.g. a neighbor at a local address) leaves
``conf`` exact and revert sends precisely what restores the previous statements. staticd's
commands are bracketed by XFRR_start/end_configuration: it commits them as one transaction.

Ownership: the static-routes of ietf-routing belong to this driver when ``static_routes`` is
true (the kernel driver must then be configured without them: manager.py refuses two owners),
BGP always. FRR restarted behind yangd's back is noticed when a daemon's vty connection is
found closed (at the next transaction or state read) and the daemons are then re-synced to
the running config they last had.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from models.bundle import Bundle, YangModel
from southbound import _frr_daemons
from southbound._frr_conf import (
    BGPD,
    STATICD,
    FrrConf,
    Op,
    SKey,
    Stmt,
    mask,
    parse,
    plan,
    script,
    shape,
)
from southbound._frr_render import BGP, bgp_instances, bgp_stmts, route_stmts
from southbound._frr_state import neighbors_json, ribs_json
from southbound._frr_vty import CMD_SUCCESS, FrrGone, Vty
from southbound._routes import CPP, Key, affected, wanted
from southbound.driver import Driver, DriverTx
from southbound.errors import DriverError

log = logging.getLogger("yangd.southbound.frr")
STATIC_ROUTES = f"{CPP}/static-routes"
BGP_NODE = f"{CPP}/{BGP}"
_LINE = re.compile(r"line (\d+): (.*)")
SHAPES = 4096  # static-route shapes FRR's parser accepted, kept (a few per interface in use)


class FrrDriver(Driver):
    name = "frr"
    kind = "frr"
    timeout = 60.0  # 10k static routes take staticd several seconds

    def __init__(self, bundle: Bundle, namespace: str = "yangd", *, state_dir: str | None = None,
                 start: bool = False, static_routes: bool = True, timeout: float | None = None,
                 name: str | None = None):
        self.owns = (STATIC_ROUTES, BGP_NODE) if static_routes else (BGP_NODE,)
        super().__init__(bundle, name=name, timeout=timeout)
        self.namespace = namespace
        self.state_dir = Path(state_dir or f"/run/yangd/frr/{namespace or 'host'}")
        self.start_daemons = start
        self.statics = static_routes
        self.vty = {d: Vty(self.state_dir, d, self.timeout) for d in ("zebra", STATICD, BGPD)}
        self._used: set[str] = set()  # daemons connected once: a closed connection = restart
        self.conf = FrrConf()
        self.synced: YangModel | None = None  # the running tree FRR was last converged to
        self.restarts = 0  # restarts noticed
        self._lost = False  # a daemon came back since the last sync: its config is gone
        self._tmp: Path | None = None
        self._parsed: set[str] = set()  # shapes of static-route lines vtysh -C accepted
        self.checks = 0  # vtysh -C runs

    # ---- lifecycle ----------------------------------------------------------------------------
    def on_start(self) -> None:
        if self.start_daemons:
            _frr_daemons.start(self.namespace, self.state_dir)
        self._tmp = Path(tempfile.mkdtemp(prefix="yangd-frr-"))
        (self._tmp / "vtysh.conf").touch()  # vtysh -C reads it: not the host's /etc/frr one

    def on_close(self) -> None:
        for v in self.vty.values():
            v.close()
        if self.start_daemons:
            _frr_daemons.stop(self.state_dir)
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def _daemon(self, name: str) -> Vty:
        v = self.vty[name]
        if not v.connected:
            v.connect()
            self._used.add(name)
        return v

    def _restarted(self) -> bool:
        """Reconnect to daemons whose connection the daemon closed; True while a daemon that
        came back has not been re-synced."""
        for name in sorted(self._used):
            v = self.vty[name]
            if v.connected and v.alive():
                continue
            v.connect()  # FrrGone (DriverError) if the daemon is not back
            self.restarts += 1
            self._lost = True
            log.warning("FRR %s in namespace %r was restarted: re-syncing", name, self.namespace)
        return self._lost

    # ---- phases -------------------------------------------------------------------------------
    def _static_keys(self, d: DriverTx) -> set[Key] | None:
        rc = [c for c in d.changes if not any(s.node.name == "bgp" for s in c.path)]
        return affected(rc, d.source, d.target) if rc else set()

    def on_validate(self, d: DriverTx) -> None:
        new: dict[SKey, Stmt] = {}
        keys: set[Key] | None = set()
        if self.statics:
            keys = self._static_keys(d)
            if keys is None or keys:
                for spec in wanted(d.target, keys).values():
                    if spec is not None:
                        new.update((s.key, s) for s in route_stmts(spec))
        bgp = None
        if any(len(c.path) <= 3 or any(s.node.name == "bgp" for s in c.path) for c in d.changes):
            bgp = {s.key: s for s in bgp_stmts(d.target)}
        d.scratch.update(keys=keys, new_static=new, new_bgp=bgp)

    def _old(self, d: DriverTx) -> tuple[dict[SKey, Stmt], dict[SKey, Stmt] | None]:
        """What ``conf`` has for the statements the transaction renders."""
        keys: set[Key] | None = d.scratch["keys"]
        old_static = self.conf.of_daemon(STATICD) if keys is None else self.conf.routes(keys)
        return old_static, None if d.scratch["new_bgp"] is None else self.conf.of_daemon(BGPD)

    def on_prepare(self, d: DriverTx) -> None:
        if "keys" not in d.scratch:
            self.on_validate(d)
        if self._restarted():
            self._sync(d.source)
        old_static, old_bgp = self._old(d)
        ops = plan(old_static, d.scratch["new_static"])
        if old_bgp is not None:
            ops += plan(old_bgp, d.scratch["new_bgp"])
        self._check(ops)
        d.scratch.update(ops=ops, old_static=old_static, old_bgp=old_bgp)

    def on_commit(self, d: DriverTx) -> None:
        self._apply(d.scratch["ops"])
        self.synced = d.target

    def on_revert(self, d: DriverTx) -> None:
        if "old_static" not in d.scratch:
            return
        old_static: dict[SKey, Stmt] = d.scratch["old_static"]
        keys: set[Key] | None = d.scratch["keys"]
        cur_static = self.conf.of_daemon(STATICD) if keys is None else self.conf.routes(keys)
        ops = plan(cur_static, old_static)
        if d.scratch["old_bgp"] is not None:
            ops += plan(self.conf.of_daemon(BGPD), d.scratch["old_bgp"])
        self._apply(ops)
        self.synced = d.source

    def on_abort(self, d: DriverTx) -> None:
        for k in ("ops", "new_static", "new_bgp"):
            d.scratch.pop(k, None)

    # ---- full sync ----------------------------------------------------------------------------
    def on_full_sync(self, running: YangModel) -> int:
        if self.start_daemons:
            _frr_daemons.start(self.namespace, self.state_dir)
        self._restarted()
        return self._sync(running)

    def on_drift(self, running: YangModel) -> list[str]:
        """The commands full sync would send now (empty: FRR matches running)."""
        self._restarted()
        want = self._want(running)
        have = self._have(want)
        return [f"{op.stmt.daemon}: {mask(op.command)}" for op in plan(have.stmts, want)]

    def _want(self, running: YangModel) -> dict[SKey, Stmt]:
        want: dict[SKey, Stmt] = {}
        if self.statics:
            for spec in wanted(running, None).values():
                if spec is not None:
                    want.update((s.key, s) for s in route_stmts(spec))
        want.update((s.key, s) for s in bgp_stmts(running))
        return want

    def _sync(self, running: YangModel) -> int:
        """Read what staticd and bgpd have; converge it to ``running``; commands sent."""
        want = self._want(running)
        self.conf = self._have(want)
        ops = plan(self.conf.stmts, want)
        if ops:
            log.info("FRR full sync: %d commands", len(ops))
            self._apply(ops)
        self.synced = running
        self._lost = False
        return len(ops)

    def _have(self, want: Mapping[SKey, Stmt]) -> FrrConf:
        """What staticd and bgpd run (the statements yangd manages); a daemon that is not
        running is an error only when ``want`` has statements for it."""
        have: list[Stmt] = []
        for daemon, statics in ((STATICD, True), (BGPD, False)):
            if daemon == STATICD and not self.statics:
                continue
            try:
                text = self._daemon(daemon).show("show running-config")
            except FrrGone:
                if any(s.daemon == daemon for s in want.values()):
                    raise
                continue  # not running and not needed
            have += parse(text, statics)
        return FrrConf(have)

    # ---- talking to FRR -----------------------------------------------------------------------
    def _check(self, ops: Sequence[Op]) -> None:
        """FRR's parser on the commands (``vtysh -C``); DriverError naming the first refused.
        staticd's lines (top level, no context) are checked once per shape: only the first
        line of a shape not accepted before goes to vtysh."""
        if not ops or self._tmp is None:
            return
        todo: list[Op] = []
        fresh: set[str] = set()
        for o in ops:
            if o.stmt.daemon == STATICD:
                k = shape(o.command)
                if k in self._parsed or k in fresh:
                    continue
                fresh.add(k)
            todo.append(o)
        if not todo:
            return
        lines: list[tuple[str, Op | None]] = []
        for daemon in (STATICD, BGPD):
            mine = [o for o in todo if o.stmt.daemon == daemon]
            lines += [(ln.text, None if ln.op is None else mine[ln.op]) for ln in script(mine)]
        f = self._tmp / "check.conf"
        f.write_text("".join(text + "\n" for text, _ in lines))
        try:
            p = subprocess.run(["vtysh", "--config_dir", str(self._tmp), "-C", "-f", str(f)],
                               capture_output=True, text=True, timeout=self.timeout)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise DriverError(f"vtysh -C failed: {e}") from None
        self.checks += 1
        if p.returncode == 0:
            if len(self._parsed) + len(fresh) > SHAPES:
                self._parsed.clear()
            self._parsed |= fresh
            return
        for m in _LINE.finditer(p.stdout + p.stderr):
            n = int(m.group(1)) - 1
            if 0 <= n < len(lines):
                text, op = lines[n]
                raise DriverError(f"FRR refuses '{mask(text)}': {mask(m.group(2))}",
                                  op.stmt.path if op is not None else None, "frr-refused")
        raise DriverError(f"FRR refuses the change: {mask((p.stdout + p.stderr).strip())}")

    def _apply(self, ops: Sequence[Op]) -> None:
        """Send ``ops`` (staticd first, then bgpd); ``conf`` follows what each daemon accepted.
        DriverError for the first command a daemon refused."""
        errors: list[DriverError] = []
        for daemon in (STATICD, BGPD):
            mine = [o for o in ops if o.stmt.daemon == daemon]
            if mine:
                errors += self._send(daemon, mine)
        if errors:
            more = f" (and {len(errors) - 1} more refused)" if len(errors) > 1 else ""
            e = errors[0]
            raise DriverError(e.message + more, e.path, e.app_tag)

    def _send(self, daemon: str, ops: Sequence[Op]) -> list[DriverError]:
        lines = script(ops)
        batch = daemon == STATICD  # northbound daemon: one transaction at the end
        head = ["configure terminal"] + (["XFRR_start_configuration"] if batch else [])
        tail = (["XFRR_end_configuration"] if batch else []) + ["end"]
        v = self._daemon(daemon)
        try:
            res = v.run(head + [ln.text for ln in lines] + tail)
        except DriverError:
            v.close()  # unknown state of the session: the next use reconnects and re-syncs
            raise
        body = res[len(head):len(head) + len(lines)]
        if batch and res[-2][0] != CMD_SUCCESS:
            return [DriverError(f"FRR {daemon} refused the change: {mask(res[-2][1].strip())}",
                                ops[0].stmt.path, "frr-refused")]
        errors: list[DriverError] = []
        failed_ctx = False
        for ln, (code, out) in zip(lines, body, strict=True):
            if ln.op is None:  # entering a context that fails fails what is inside it
                failed_ctx = code != CMD_SUCCESS and not ln.text.startswith("exit")
                if failed_ctx:
                    errors.append(DriverError(f"FRR {daemon} refused '{mask(ln.text)}': "
                                              f"{mask(out.strip())}", None, "frr-refused"))
                continue
            op = ops[ln.op]
            if code == CMD_SUCCESS and not failed_ctx:
                self.conf.apply(op)
            elif not failed_ctx:
                errors.append(DriverError(f"FRR {daemon} refused '{mask(ln.text)}': "
                                          f"{mask(out.strip())}", op.stmt.path, "frr-refused"))
        return errors

    # ---- state ----------------------------------------------------------------------------------
    def read_state(self) -> YangModel | None:
        if self._restarted() and self.synced is not None:
            self._sync(self.synced)
        zebra = self._daemon("zebra")
        data: dict[str, Any] = {}
        routing: dict[str, Any] = ribs_json({4: zebra.json("show ip route json"),
                                             6: zebra.json("show ipv6 route json")})
        insts = bgp_instances(self.synced)
        if insts:
            try:
                nbs = neighbors_json(self._daemon(BGPD).json("show bgp neighbors json"))
            except FrrGone:
                nbs = []
            if nbs:
                routing["control-plane-protocols"] = {"control-plane-protocol": [
                    {"type": BGP, "name": insts[0].name, BGP: {"neighbors": {"neighbor": nbs}}}]}
        if routing:
            data["ietf-routing:routing"] = routing
        cls = self.bundle.root_cls
        return cls.model_validate(data) if cls is not None and data else None
