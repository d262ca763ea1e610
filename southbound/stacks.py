"""The stacks driver: yangd-stacks protocol stacks realized by the Linux kernel of each namespace.

A linux-kernel stack is the TCP/IP stack of the network namespace it serves. The driver owns
``/yangd-stacks:stacks`` and writes, per namespace, the net.ipv4.tcp_* sysctls of the
namespace's base stack, and per selection rule the main-table routes carrying the selected
stack's per-route parameters (congctl, features ecn), marked with their own rtnetlink protocol
(``route_protocol``, default 201) so they can be found and removed. What maps to what, and
what is refused whatever the kernel, is described in _stacks_plan.py; kernel access in
_stacks_io.py.

Phases: validate checks the config on its own. Prepare reads every namespace the transaction
touches and refuses what that kernel refuses, before anything is applied: a namespace that
does not exist, a sysctl it does not have, a congestion control the kernel neither has nor can
load (tcp_available_congestion_control, modules.dep), a namespace default outside
tcp_allowed_congestion_control (only the host namespace may default to a restricted one), no
route to a rule's prefix. It computes each step with the value it replaces. Commit applies the
steps, reading each sysctl back (a value the kernel did not keep is a failure); revert
applies the recorded old values in reverse. Full sync converges every namespace running
serves, and those the driver served before, to running: sysctls running does not set go
back to their kernel default (what a new namespace gets, learned at start), routes with the
driver's mark that running does not want are deleted, and copied forwarding is refreshed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from models.bundle import Bundle, YangModel
from southbound._stacks_io import (
    StacksIO,
    fresh_defaults,
    is_host,
    loadable,
    ns_ino,
    read_sysctl,
    write_sysctl,
)
from southbound._stacks_plan import (
    ROOT,
    SYSCTLS,
    Config,
    ROp,
    check,
    check_ecn,
    diff_routes,
    plan_routes,
    read_config,
    rule_path,
    stack_path,
    want_sysctls,
)
from southbound.driver import Driver, DriverTx
from southbound.errors import DriverError

log = logging.getLogger("yangd.southbound.stacks")
RT_PROTO = 201  # the kernel driver marks its routes 200


@dataclass(frozen=True)
class Step:
    """One kernel change in one namespace, with what undoes it."""

    ns: str
    key: str = ""  # a sysctl under net.ipv4, or "" for a route operation
    value: str = ""
    old: str = ""
    route: ROp | None = None
    path: str | None = None

    def describe(self) -> str:
        if self.route is not None:
            return f"{self.ns}: route {self.route.verb} {self.route.route.describe()}"
        return f"{self.ns}: net.ipv4.{self.key} {self.old} -> {self.value}"


class StacksDriver(Driver):
    name = "stacks"
    kind = "stacks"
    owns = (ROOT,)

    def __init__(self, bundle: Bundle, *, timeout: float | None = None, name: str | None = None,
                 route_protocol: int = RT_PROTO):
        if not 5 <= route_protocol <= 255 or route_protocol in (9, 16):
            raise ValueError(f"route_protocol {route_protocol}: use a number of your own, not "
                             "one the kernel or a daemon uses (0-4, 9, 16)")
        super().__init__(bundle, name=name, timeout=timeout)
        self.rt_proto = route_protocol
        self.defaults: dict[str, str] = {}  # sysctl → its value in a new namespace
        self.cfg = Config()  # as the kernel has it now (for read_state)
        self.known: set[str] = set()  # namespaces served since start
        self._io: StacksIO | None = None

    @property
    def io(self) -> StacksIO:
        if self._io is None:  # start failed (e.g. no CAP_SYS_ADMIN for the probe): retry
            self.on_start()
        assert self._io is not None
        return self._io

    def on_start(self) -> None:
        if self._io is None:
            self.defaults = fresh_defaults(SYSCTLS.values())
            self._io = StacksIO()
            log.info("stacks driver: kernel defaults %s", self.defaults)

    def on_close(self) -> None:
        if self._io is not None:
            self._io.close()
            self._io = None

    # ---- planning -----------------------------------------------------------------------------
    def _check_cc(self, ns: str, alg: str, path: str, default: bool) -> None:
        available = (read_sysctl("tcp_available_congestion_control") or "").split()
        if alg not in available and not loadable(alg):
            raise DriverError(f"congestion control {alg} is not available in the kernel "
                              f"(net.ipv4.tcp_available_congestion_control: {' '.join(available)}"
                              f"; no module tcp_{alg})", path, "unsupported-congestion-control")
        if default and not is_host(ns):
            allowed = (read_sysctl("tcp_allowed_congestion_control") or "").split()
            if alg not in allowed:
                raise DriverError(f"network namespace {ns} may not default to congestion control "
                                  f"{alg}: only the host namespace may default to one outside "
                                  f"net.ipv4.tcp_allowed_congestion_control ({' '.join(allowed)})",
                                  path, "congestion-control-not-allowed")

    def _plan_ns(self, cfg: Config, ns: str) -> list[Step]:
        """The steps taking namespace ``ns`` to ``cfg`` (checked against its kernel)."""
        serving = cfg.serving(ns)
        if not serving and ns_ino(ns) is None:
            return []  # a namespace no longer served and gone: nothing to restore
        ns_path = stack_path(serving[0].name, "namespace") if serving else None
        with self.io.inside(ns, ns_path):
            have = {k: read_sysctl(k) for k in SYSCTLS.values()}
            want = want_sysctls(cfg, ns, self.defaults)
            steps: list[Step] = []
            for key, (value, leaf) in want.items():
                old = have.get(key)
                if old is None:
                    if leaf is not None:
                        raise DriverError(f"sysctl net.ipv4.{key} does not exist in network "
                                          f"namespace {ns}", leaf, "no-such-sysctl")
                    continue
                if old != value:
                    steps.append(Step(ns, key, value, old, path=leaf or ns_path))
            base = cfg.base(ns)
            if base is not None and base.cc is not None:
                self._check_cc(ns, base.cc, stack_path(base.name, "tcp/congestion-control"), True)
            ecn = want.get("tcp_ecn")
            check_ecn(cfg, ns, ecn[0] if ecn else have.get("tcp_ecn"))
            rules = cfg.rules_of(ns)
            for _r, st in rules:
                if st.cc is not None:
                    self._check_cc(ns, st.cc, stack_path(st.name, "tcp/congestion-control"), False)
            main = self.io.main_routes(ns)
            ours = {r.key: r for r in main if r.proto == self.rt_proto}
            rwant, shadowed = plan_routes(rules, [r for r in main if r.proto != self.rt_proto],
                                          self.rt_proto, ns)
        for name in shadowed:
            log.info("stacks: selection rule %s lies within an earlier rule's prefix in network "
                     "namespace %s: it never matches", name, ns)
        for op in diff_routes(rwant, ours):
            rule = op.route.rule
            steps.append(Step(ns, route=op, path=rule_path(rule) if rule else ns_path))
        return steps

    # ---- applying -----------------------------------------------------------------------------
    def _apply(self, step: Step, undo: bool = False) -> None:
        with self.io.inside(step.ns):
            if step.route is not None:
                op = step.route.undo if undo else step.route
                if op is not None:
                    self.io.apply(step.ns, op, step.path)
                return
            value = step.old if undo else step.value
            write_sysctl(step.key, value, step.path)
            got = read_sysctl(step.key)
            if got != value:
                raise DriverError(f"sysctl net.ipv4.{step.key}={value}: network namespace "
                                  f"{step.ns} kept {got}", step.path)

    # ---- phases -------------------------------------------------------------------------------
    def on_validate(self, d: DriverTx) -> None:
        cfg = read_config(d.target)
        check(cfg)
        d.scratch["cfg"] = cfg

    def on_prepare(self, d: DriverTx) -> None:
        cfg: Config = d.scratch.get("cfg") or read_config(d.target)
        old = read_config(d.source)
        steps: list[Step] = []
        for ns in sorted(cfg.namespaces() | old.namespaces()):
            steps += self._plan_ns(cfg, ns)
        d.scratch.update(cfg=cfg, old=old, steps=steps, applied=[])

    def on_commit(self, d: DriverTx) -> None:
        applied: list[Step] = d.scratch["applied"]
        for step in d.scratch["steps"]:
            self._apply(step)
            applied.append(step)
        self.cfg = d.scratch["cfg"]
        self.known |= self.cfg.namespaces()

    def on_revert(self, d: DriverTx) -> None:
        applied: list[Step] = d.scratch.get("applied", [])
        failed: list[str] = []
        while applied:
            step = applied.pop()
            try:
                self._apply(step, undo=True)
            except DriverError as e:
                failed.append(e.message)
        if "old" in d.scratch:
            self.cfg = d.scratch["old"]
        if failed:
            raise DriverError("revert incomplete: " + "; ".join(failed))

    def on_abort(self, d: DriverTx) -> None:
        for k in ("steps", "applied"):
            d.scratch.pop(k, None)

    # ---- full sync, drift, state ------------------------------------------------------------------
    def _sync_plan(self, running: YangModel) -> tuple[Config, list[Step], list[str]]:
        cfg = read_config(running)
        check(cfg)
        steps: list[Step] = []
        failed: list[str] = []
        for ns in sorted(cfg.namespaces() | self.known):
            try:
                steps += self._plan_ns(cfg, ns)
            except DriverError as e:  # one namespace must not keep the others from converging
                failed.append(e.message)
        return cfg, steps, failed

    def on_full_sync(self, running: YangModel) -> int:
        cfg, steps, failed = self._sync_plan(running)
        for step in steps:
            try:
                self._apply(step)
            except DriverError as e:
                failed.append(e.message)
        self.cfg = cfg
        self.known = cfg.namespaces()
        if steps:
            log.info("stacks full sync: %d operations, %d failed", len(steps), len(failed))
        if failed:
            raise DriverError("full sync incomplete: " + "; ".join(failed[:10]))
        return len(steps)

    def on_drift(self, running: YangModel) -> list[str]:
        _cfg, steps, failed = self._sync_plan(running)
        return [s.describe() for s in steps] + [f"cannot check: {m}" for m in failed]

    def read_state(self) -> YangModel | None:
        stacks = []
        for s in self.cfg.stacks.values():
            if ns_ino(s.namespace) is None:
                continue
            with self.io.inside(s.namespace):
                values = {k: read_sysctl(k) for k in SYSCTLS.values()}
                avail = (read_sysctl("tcp_available_congestion_control") or "").split()
                allowed = (read_sysctl("tcp_allowed_congestion_control") or "").split()
            stacks.append({"name": s.name, "state": {
                "available-congestion-control": avail, "allowed-congestion-control": allowed,
                "sysctl": [{"name": f"net.ipv4.{k}", "value": v} for k, v in values.items()
                           if v is not None]}})
        cls = self.bundle.root_cls
        if not stacks or cls is None:
            return None
        return cls.model_validate({"yangd-stacks:stacks": {"stack": stacks}})
