"""NACM overhead (issue #8): get-config of 10k list entries with 20 rules, NACM on vs off.

In-process, the shipped modules, a real SQLite store: running holds N ietf-interfaces
entries; a read is what NETCONF get-config does with running (``Session.get`` — where NACM
prunes — then the XML encoder, models/codec/xml_write.py). The user is in group "ops" whose
rule-list has 20 rules: 18 that cannot apply to interfaces (other modules, rpcs,
notifications, other paths) and, last:
  keyed  — a read deny of one entry by key (every entry's key is compared; one is removed)
  leaf   — and also a read deny of every entry's description (every entry is rewritten)
"off" is a recovery session (RFC 8341 §2.5: NACM skipped, as with enable-nacm false) reading
the same running version right before "on"; the figure is the best of the repeats. Each read
is timed after a commit that
  nacm  — changed the NACM config but not this user's rules (a rule comment): nothing is
          compiled again, the user's memos stay;
  rules — changed this user's rules (a rule for another module): compiled anew, every entry
          is checked again; copies of entries without the children a rule hides from every
          entry are reused when the new rules hide the same ones;
  cold  — the same, where no rule hid those children before: every such entry is copied;
  list  — changed an interface (only changed entries are pruned again);
  other — changed something elsewhere (the last pruned list is reused);
  same  — nothing (the last pruned tree is reused).
Target: < 25% slower than off. Prints a table; asserts nothing.

    .venv/bin/python bench/bench_nacm.py [--entries 10000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import gc
import itertools
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import models.generated as g  # noqa: E402
from datastore.datastores import Datastores  # noqa: E402
from datastore.session import Session  # noqa: E402
from datastore.store import Store  # noqa: E402
from models.codec.xml_write import encode_xml_bytes  # noqa: E402
from models.edit import Op, edit_from_json  # noqa: E402

IFS = "/ietf-interfaces:interfaces"


def rule(name: str, action: str, ops: str, module: str, **kw: str) -> dict[str, Any]:
    return {"name": name, "module-name": module, "access-operations": ops, "action": action, **kw}


def rules(variant: str) -> list[dict[str, Any]]:
    out = [rule(f"rpc-{i}", "deny", "exec", "ietf-system", **{"rpc-name": f"op-{i}"}) for i in range(6)]
    out += [rule(f"notif-{i}", "deny", "read", "ietf-netconf-notifications",
                 **{"notification-name": f"n-{i}"}) for i in range(4)]
    out += [rule(f"mod-{i}", "deny", "read", m) for i, m in enumerate(
        ["ietf-system", "ietf-routing", "ietf-access-control-list", "yangd-commits"])]
    out += [rule(f"path-{i}", "deny", "read update", "ietf-routing",
                 path=f"/ietf-routing:routing/control-plane-protocols/control-plane-protocol[name='p{i}']")
            for i in range(4)]
    out.append(rule("one-entry", "deny", "read", "ietf-interfaces",
                    path=f"{IFS}/interface[name='if-000042']"))
    if variant == "leaf":
        out.append(rule("descriptions", "deny", "read", "ietf-interfaces", path=f"{IFS}/interface/description"))
    else:
        out.append(rule("other-leaf", "deny", "read", "ietf-system", path="/ietf-system:system/contact"))
    assert len(out) == 20
    return out


def nacm(variant: str) -> dict[str, Any]:
    return {"enable-nacm": True,
            "groups": {"group": [{"name": "ops", "user-name": ["olga"]}]},
            "rule-list": [{"name": "ops", "group": ["ops"], "rule": rules(variant)}]}


def read(s: Session) -> int:
    return len(encode_xml_bytes(s.get("running"), wrapper="data"))


_FLIP = itertools.cycle(("read update", "read"))  # each "rules" change differs from the last

MODES = ("nacm", "rules", "cold", "list", "other", "same")


def change(mode: str, i: int, admin: Session) -> None:
    if mode == "list":  # an entry changed: the interface list is pruned again
        admin.edit("running", edit_from_json(g.B, g.B.node(IFS), {"interface": [
            {"name": "if-000007", "description": f"changed {i}"}]}))
    elif mode == "nacm":  # the NACM config changed, this user's rules did not (a comment)
        admin.edit("running", edit_from_json(g.B, g.B.node("/ietf-netconf-acm:nacm"), {"rule-list": [
            {"name": "ops", "rule": [{"name": "rpc-0", "comment": f"edit {i}"}]}]}))
    elif mode in ("rules", "cold"):  # this user's rules changed: compiled anew, memos cold
        if mode == "cold":  # … and no rule hid these children before: no entry copy to reuse
            admin.ds.nacm.blanked.clear()
        admin.edit("running", edit_from_json(g.B, g.B.node("/ietf-netconf-acm:nacm"), {"rule-list": [
            {"name": "ops", "rule": [{"name": "mod-0", "access-operations": next(_FLIP)}]}]}))
    elif mode == "other":  # running changed elsewhere: the last pruned list is reused
        admin.edit("running", edit_from_json(g.B, g.B.node("/ietf-system:system"),
                                             {"location": f"rack {i}"}))


def timed(mode: str, repeat: int, admin: Session, off: Session, on: Session) -> tuple[float, float]:
    """min of ``repeat`` reads of the same running version without and with NACM, paired."""
    t_off: list[float] = []
    t_on: list[float] = []
    for i in range(repeat):
        change(mode, i, admin)
        for s, out in ((off, t_off), (on, t_on)):
            t0 = time.perf_counter()
            read(s)
            out.append(time.perf_counter() - t0)
    return min(t_off), min(t_on)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=7)
    a = ap.parse_args()
    gc.collect()
    gc.freeze()
    work = Path(tempfile.mkdtemp(prefix="yangd-bench-nacm-"))
    ds = Datastores(g.B, Store.open(f"sqlite:///{work / 'b.db'}"))
    admin = ds.open_session("bench", "internal")
    ifaces = [{"name": f"if-{i:06d}", "type": "iana-if-type:ethernetCsmacd",
               "description": f"entry {i}", "enabled": True} for i in range(a.entries)]
    admin.edit("running", edit_from_json(g.B, g.B.node(IFS), {"interface": ifaces}))
    ds.nacm.configure(recovery_users=["root"])
    olga, root = ds.open_session("olga", "netconf"), ds.open_session("root", "netconf")
    rows = []
    for variant in ("keyed", "leaf"):
        admin.edit("running", edit_from_json(g.B, g.B.node("/ietf-netconf-acm:nacm"),
                                             nacm(variant)), Op.REPLACE)
        assert olga.access is not None and root.access is None
        read(olga)  # the per-node memos
        for mode in MODES:
            off, on = timed(mode, a.repeat, admin, root, olga)
            rows.append((variant, mode, off, on, (on / off - 1) * 100))
    ds.close()
    print(f"get-config of {a.entries} interfaces, 20 rules, best of {a.repeat}")
    print("running before the read: nacm = the NACM config changed, not this user's rules; rules = "
          "this user's rules changed; cold = the same, and no rule hid these leaves before; list = an "
          "interface changed; other = changed elsewhere; same = unchanged")
    print(f"{'rules':8} {'read':6} {'off [ms]':>9} {'on [ms]':>9} {'overhead':>9}")
    for variant, kind, off, on, pct in rows:
        print(f"{variant:8} {kind:6} {off * 1e3:9.1f} {on * 1e3:9.1f} {pct:8.1f}%")


if __name__ == "__main__":
    main()
