"""The kernel driver: ietf-interfaces + ietf-ip on Linux links (rtnetlink via pyroute2) and
ietf-routing static routes (bulk rtnetlink, southbound/_routes_nl.py).

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

Routes (southbound/_routes.py): the driver keeps ``routes``, the routes it installed (marked
with its rtnetlink protocol number), loaded by full sync from a kernel dump and kept by
commit and revert, so a one-route change costs one request whatever the table size.
Commit order: route deletions, link steps, then route additions and replacements (a route
needs its link and the address that makes its gateway reachable); revert runs the undos in
the reverse order. Route requests go to the kernel in bulk; each one that the kernel
applied is recorded, so a commit failing halfway undoes exactly what it did.

Drift (``on_drift``, read-only): the links planned against running, and yangd's routes in the
kernel (its protocol mark) compared with ``routes``: what full sync would do, described.
"""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import Sequence
from typing import Any

from datastore.edit import Change
from models.bundle import Bundle, YangModel
from southbound._knet import KernelIO
from southbound._kplan import LinkSpec, Plan, Step, plan_all, spec_of
from southbound._kstate import interfaces_json
from southbound._routes import (
    CPP,
    RT_PROTO,
    Key,
    ROp,
    RouteSpec,
    affected,
    interfaces_of,
    plan_routes,
    wanted,
)
from southbound._routes_nl import RouteRefused, RouteSocket, to_spec
from southbound._routes_state import ribs_json
from southbound.driver import Driver, DriverTx, OwnedPath
from southbound.errors import DriverError

log = logging.getLogger("yangd.southbound.kernel")
PROTO_RA, PROTO_DHCP = 9, 16
IFACES = "/ietf-interfaces:interfaces/interface"


class KernelDriver(Driver):
    name = "kernel"
    kind = "kernel"
    owns: tuple[OwnedPath, ...] = (IFACES, f"{CPP}/static-routes")

    def __init__(self, bundle: Bundle, namespace: str = "yangd", *, create: bool = True,
                 allow_host: bool = False, timeout: float | None = None, name: str | None = None,
                 route_protocol: int = RT_PROTO, static_routes: bool = True):
        if not namespace and not allow_host:
            raise ValueError("the kernel driver acts in the host namespace only with allow_host")
        if not 5 <= route_protocol <= 255 or route_protocol in (PROTO_RA, PROTO_DHCP):
            raise ValueError(f"route_protocol {route_protocol}: use a number of your own, not "
                             "one the kernel or a daemon uses (0-4, 9, 16)")
        # static_routes=False: another driver (frr) owns them; yangd's marked routes go away
        self.static_routes = static_routes
        self.owns = (IFACES, f"{CPP}/static-routes") if static_routes else (IFACES,)
        super().__init__(bundle, name=name, timeout=timeout)
        self.namespace = namespace
        self.create = create
        self.kinds: frozenset[str] = frozenset()
        self._io: KernelIO | None = None
        self._first_seen: dict[int, str] = {}
        self.rt_proto = route_protocol
        self.routes: dict[Key, RouteSpec] = {}  # what yangd installed, by (family, prefix)
        self._rs: RouteSocket | None = None

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
            self._rs = RouteSocket()  # created in the worker thread: in the namespace
            log.info("kernel driver in namespace %r; link kinds %s", self.namespace,
                     sorted(self.kinds))

    @property
    def rs(self) -> RouteSocket:
        if self._rs is None:
            raise DriverError(f"not connected to network namespace {self.namespace}")
        return self._rs

    def on_close(self) -> None:
        if self._rs is not None:
            self._rs.close()
            self._rs = None
        if self._io is not None:
            self._io.close()
            self._io = None

    # ---- phases -------------------------------------------------------------------------------
    def _names(self, d: DriverTx, changes: Sequence[Change]) -> set[str]:
        names: set[str] = set()
        for c in changes:
            if len(c.path) >= 2 and c.path[1].key is not None:
                names.add(str(c.path[1].key[0]))
            else:  # the whole interfaces container
                names |= set(_interfaces(d.source)) | set(_interfaces(d.target))
        return names

    def _wanted(self, tree: YangModel, names: set[str] | None) -> dict[str, LinkSpec | None]:
        ifs = _interfaces(tree)
        pick = set(ifs) if names is None else names
        return {n: spec_of(ifs[n], self.kinds) if n in ifs else None for n in pick}

    def _split(self, d: DriverTx) -> tuple[list[Change], list[Change]]:
        ifc = [c for c in d.changes if c.path and c.path[0].node.name == "interfaces"]
        return ifc, [c for c in d.changes if c.path and c.path[0].node.name == "routing"]

    def _want_routes(self, d: DriverTx, changes: Sequence[Change]) -> dict[Key, RouteSpec | None]:
        """The routes the changes want (computed once: validate, then prepare reuses it)."""
        want: dict[Key, RouteSpec | None] | None = d.scratch.get("rwant")
        if want is None:
            want = wanted(d.target, affected(changes, d.source, d.target)) if changes else {}
            d.scratch["rwant"] = want
        return want

    def on_validate(self, d: DriverTx) -> None:
        ifc, rtc = self._split(d)
        if ifc:
            self._wanted(d.target, self._names(d, ifc))
        self._want_routes(d, rtc)

    def on_prepare(self, d: DriverTx) -> None:
        ifc, rtc = self._split(d)
        plan = Plan()
        if ifc:
            plan = plan_all(self._wanted(d.target, self._names(d, ifc)), self.io.links(),
                            self.namespace)
        dels, sets = plan_routes(self._want_routes(d, rtc), self.routes)
        needed = interfaces_of(sets)
        if needed:
            have = {n for _, n in socket.if_nameindex()}
            have |= {s.op.ifname for s in plan.steps if s.op.verb == "link-add"}
            for op in sets:
                for h in op.spec.hops:
                    if h.ifname and h.ifname not in have:
                        raise DriverError(f"interface {h.ifname} of route {op.spec.dst} does not "
                                          f"exist in network namespace {self.namespace}",
                                          f"{op.path}/next-hop", "no-such-interface")
        d.scratch.update(plan=plan, rdels=dels, rsets=sets, applied=[])

    def on_commit(self, d: DriverTx) -> None:
        plan: Plan = d.scratch["plan"]
        applied: list[Step | list[ROp]] = d.scratch["applied"]
        self._apply_routes(d.scratch["rdels"], applied)
        for step in plan.steps:
            self.io.apply(step.op)
            applied.append(step)
        self._apply_routes(d.scratch["rsets"], applied)

    def _apply_routes(self, ops: list[ROp], applied: list[Step | list[ROp]]) -> None:
        if not ops:
            return
        done: list[ROp] = []
        applied.append(done)
        failed = self._send(ops, done)
        if failed:
            more = f" (and {len(failed) - 1} more refused)" if len(failed) > 1 else ""
            e = failed[0]
            raise DriverError(e.message + more, e.path, e.app_tag)

    def _send(self, ops: Sequence[ROp], done: list[ROp] | None = None) -> list[DriverError]:
        """Send ``ops``; keep ``routes`` as the kernel now has them; the refusals."""
        failed: list[DriverError] = []
        for op, res in zip(ops, self.rs.apply(ops, self.rt_proto, _index), strict=True):
            gone = isinstance(res, RouteRefused) and op.verb == "del" and res.code == errno.ESRCH
            if res is None or gone:
                if op.verb == "del":
                    self.routes.pop(op.spec.key, None)
                else:
                    self.routes[op.spec.key] = op.spec
                if res is None and done is not None:
                    done.append(op)
            else:
                failed.append(res)
        return failed

    def on_revert(self, d: DriverTx) -> None:
        applied: list[Step | list[ROp]] = d.scratch.get("applied", [])
        failed: list[DriverError] = []
        while applied:
            item = applied[-1]
            if isinstance(item, Step):
                for op in item.undo:
                    self.io.apply(op)
            else:
                failed += self._send([op.undo for op in reversed(item) if op.undo is not None])
            applied.pop()
        if failed:
            raise DriverError("revert incomplete: " + "; ".join(e.message for e in failed))

    def on_abort(self, d: DriverTx) -> None:
        for k in ("plan", "rdels", "rsets", "applied", "rwant"):
            d.scratch.pop(k, None)

    # ---- full sync and state ---------------------------------------------------------------------
    def on_full_sync(self, running: YangModel) -> int:
        """Converge every link and yangd's routes to running: links running lacks are deleted
        or released, routes running lacks are deleted (only routes with yangd's mark)."""
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
        rops = self._route_sync_ops(running)
        failed += [e.message for e in self._send(rops)]
        if plan.steps or rops:
            log.info("kernel full sync: %d link and %d route operations, %d failed",
                     len(plan.steps), len(rops), len(failed))
        if failed:
            raise DriverError("full sync incomplete: " + "; ".join(failed[:10])
                              + (f" (and {len(failed) - 10} more)" if len(failed) > 10 else ""))
        return len(plan.steps) + len(rops)

    def _kernel_routes(self) -> dict[Key, RouteSpec]:
        names = _names_by_index()
        return {s.key: s for fam in (4, 6) for r in self.rs.dump(fam, self.rt_proto)
                for s in (to_spec(r, names.get),)}

    def _route_sync_ops(self, running: YangModel) -> list[ROp]:
        """Reload ``routes`` from the kernel; the operations taking them to running."""
        self.routes = self._kernel_routes()
        want = wanted(running, None) if self.static_routes else {}
        for k in self.routes:
            want.setdefault(k, None)
        dels, sets = plan_routes(want, self.routes)
        return dels + sets

    def drift(self, running: YangModel, timeout: float | None = None) -> list[str]:
        return super().drift(running, timeout) or []  # the kernel driver can always tell

    def on_drift(self, running: YangModel) -> list[str]:
        """What full sync would change now (empty: the kernel matches running).

        Links are planned against running (few). Routes are compared with ``routes``, what
        yangd installed, which equals running's routes while the driver is in sync: no 10k
        RouteSpecs are rebuilt from running for each check (that cost 3/4 of it)."""
        want = self._wanted(running, None)
        have = self.io.links()
        for n in have:
            want.setdefault(n, None)
        out = [" ".join([s.op.verb, s.op.ifname, *(f"{k}={v}" for k, v in s.op.args)])
               for s in plan_all(want, have, self.namespace).steps]
        mine: dict[Key, RouteSpec | None]
        if self.needs_sync:  # ``routes`` may be off: the slow, exact way
            mine = dict(wanted(running, None)) if self.static_routes else {}
        else:
            mine = dict(self.routes)
        kernel = self._kernel_routes()
        for k in kernel:
            mine.setdefault(k, None)
        dels, sets = plan_routes(mine, kernel)
        return out + [f"route {op.verb} {op.spec.describe()}" for op in dels + sets]

    def read_state(self) -> YangModel | None:
        data = interfaces_json(self.io.dump_links(), self.io.dump_addrs(), self._first_seen)
        names = _names_by_index()
        ribs = ribs_json([r for fam in (4, 6) for r in self.rs.dump(fam)], names.get)
        if ribs:
            data["ietf-routing:routing"] = ribs
        cls = self.bundle.root_cls
        return cls.model_validate(data) if cls is not None else None


def _index(name: str) -> int:
    try:
        return socket.if_nametoindex(name)
    except OSError:
        raise DriverError(f"interface {name} does not exist") from None


def _names_by_index() -> dict[int, str]:
    return dict(socket.if_nameindex())


def _interfaces(tree: YangModel | None) -> dict[str, Any]:
    ifs = getattr(tree, "interfaces", None) if tree is not None else None
    lst = getattr(ifs, "interface", None) if ifs is not None else None
    return {i.name: i for i in lst} if lst is not None else {}
