"""The kernel driver: ietf-interfaces + ietf-ip on Linux links, through rtnetlink (pyroute2).

It acts inside one network namespace: by default one of its own named ``yangd`` (created if
missing); the host's namespace only when the operator asks for it (``namespace=""`` and
``allow_host=True``). All kernel access happens in the driver's worker thread, which alone
enters the namespace (southbound/_knet.py).

Phases: validate maps each changed interface to a LinkSpec (unsupported types are refused
there, naming the type); prepare reads the kernel and computes the steps, each with its
undo taken from what the kernel had (nothing is applied; an adopted link that is missing or
an MTU out of the link's range is refused here); commit applies the steps in order; revert
applies the recorded undos in reverse. Cost follows the change: only the interfaces named by
the changes are read and planned. What yangd maps to what is described in _kplan.py.
"""

from __future__ import annotations

import logging
from typing import Any

from models.bundle import Bundle, YangModel
from southbound._knet import KernelIO
from southbound._kplan import LinkSpec, Plan, Step, plan_all, spec_of
from southbound._kstate import interfaces_json
from southbound.driver import Driver, DriverTx, Phase
from southbound.errors import DriverError

log = logging.getLogger("yangd.southbound.kernel")
IFACES = "/ietf-interfaces:interfaces/interface"


class KernelDriver(Driver):
    name = "kernel"
    owns = (IFACES,)

    def __init__(self, bundle: Bundle, namespace: str = "yangd", *, create: bool = True,
                 allow_host: bool = False, timeout: float | None = None, name: str | None = None):
        if not namespace and not allow_host:
            raise ValueError("the kernel driver acts in the host namespace only with allow_host")
        super().__init__(bundle, name=name, timeout=timeout)
        self.namespace = namespace
        self.create = create
        self.kinds: frozenset[str] = frozenset()
        self._io: KernelIO | None = None
        self._first_seen: dict[int, str] = {}

    @property
    def io(self) -> KernelIO:
        if self._io is None:
            raise DriverError(f"not connected to network namespace {self.namespace}")
        return self._io

    # ---- lifecycle ----------------------------------------------------------------------------
    def on_start(self) -> None:
        if self._io is None:
            self._io = KernelIO(self.namespace, self.create)
            self.kinds = self._io.probe_kinds()
            log.info("kernel driver in namespace %r; link kinds %s", self.namespace,
                     sorted(self.kinds))

    def on_close(self) -> None:
        if self._io is not None:
            self._io.close()
            self._io = None

    # ---- phases -------------------------------------------------------------------------------
    def _names(self, d: DriverTx) -> set[str]:
        names: set[str] = set()
        for c in d.changes:
            if len(c.path) >= 2 and c.path[1].key is not None:
                names.add(str(c.path[1].key[0]))
            else:  # the whole interfaces container
                names |= set(_interfaces(d.source)) | set(_interfaces(d.target))
        return names

    def _wanted(self, tree: YangModel, names: set[str] | None) -> dict[str, LinkSpec | None]:
        ifs = _interfaces(tree)
        pick = set(ifs) if names is None else names
        return {n: spec_of(ifs[n], self.kinds) if n in ifs else None for n in pick}

    def on_validate(self, d: DriverTx) -> None:
        self._wanted(d.target, self._names(d))

    def on_prepare(self, d: DriverTx) -> None:
        want = self._wanted(d.target, self._names(d))
        d.scratch["plan"] = plan_all(want, self.io.links(), self.namespace)
        d.scratch["applied"] = []

    def on_commit(self, d: DriverTx) -> None:
        plan: Plan = d.scratch["plan"]
        applied: list[Step] = d.scratch["applied"]
        for step in plan.steps:
            self.io.apply(step.op)
            applied.append(step)

    def on_revert(self, d: DriverTx) -> None:
        applied: list[Step] = d.scratch.get("applied", [])
        while applied:
            for op in applied[-1].undo:
                self.io.apply(op)
            applied.pop()

    def on_abort(self, d: DriverTx) -> None:
        d.scratch.pop("plan", None)
        d.scratch.pop("applied", None)

    # ---- full sync and state ---------------------------------------------------------------------
    def on_full_sync(self, running: YangModel) -> None:
        """Converge every link to running: what running lacks is deleted or released."""
        want = self._wanted(running, None)
        have = self.io.links()
        for n in have:
            want.setdefault(n, None)
        plan = plan_all(want, have, self.namespace)
        failed: list[str] = []
        for step in plan.steps:  # best effort: one refused operation must not stop the rest
            try:
                self.io.apply(step.op)
            except DriverError as e:
                failed.append(e.message)
        if plan.steps:
            log.info("kernel full sync: %d operations, %d failed", len(plan.steps), len(failed))
        if failed:
            raise DriverError("full sync incomplete: " + "; ".join(failed))

    def drift(self, running: YangModel) -> list[str]:
        """What full sync would change now (empty: the kernel matches running)."""
        def compute() -> list[str]:
            want = self._wanted(running, None)
            have = self.io.links()
            for n in have:
                want.setdefault(n, None)
            return [f"{s.op.verb} {s.op.ifname} {dict(s.op.args)}"
                    for s in plan_all(want, have, self.namespace).steps]
        return self._run(Phase.STATE, compute)

    def read_state(self) -> YangModel | None:
        data = interfaces_json(self.io.dump_links(), self.io.dump_addrs(), self._first_seen)
        cls = self.bundle.root_cls
        return cls.model_validate(data) if cls is not None else None


def _interfaces(tree: YangModel | None) -> dict[str, Any]:
    ifs = getattr(tree, "interfaces", None) if tree is not None else None
    lst = getattr(ifs, "interface", None) if ifs is not None else None
    return {i.name: i for i in lst} if lst is not None else {}
