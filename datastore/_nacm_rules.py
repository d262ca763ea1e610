"""NACM configuration (RFC 8341 §3.2, /ietf-netconf-acm:nacm) compiled for one set of groups.

``compile_rules`` turns the running tree's /nacm container into ``Rules``: the defaults, the
user's rules in order (rule-lists in configuration order, rules in list order, only the
rule-lists naming one of the user's groups — §3.4.4 steps 4-7), split by what they can match
(protocol operations, notifications, data nodes) and by access operation, so a check only
looks at rules that can apply. Rule paths are parsed once into steps with their module
resolved (module names or the modules' own prefixes are accepted as prefixes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from models.bundle import Bundle
from models.xpath.paths import parse_instance_identifier

__all__ = ["ALL_OPS", "CREATE", "DELETE", "EXEC", "READ", "UPDATE", "PathStep", "Rule", "Rules",
           "compile_rules", "groups_of"]

READ, CREATE, UPDATE, DELETE, EXEC = "read", "create", "update", "delete", "exec"
ALL_OPS = frozenset({READ, CREATE, UPDATE, DELETE, EXEC})


@dataclass(frozen=True, slots=True)
class PathStep:
    module: str
    name: str
    keys: tuple[tuple[str, str], ...] | None  # (key name, value text); None: any instance


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    module: str | None  # None: "*"
    kind: str  # any | rpc | notification | data (RFC 8341 rule-type choice; any: none given)
    target: str | None  # rpc-name / notification-name; None: "*"
    path: tuple[PathStep, ...] | None  # data-node path; () is "/", every node
    ops: frozenset[str]
    permit: bool

    @property
    def keyed(self) -> bool:
        """Whether matching needs instance keys (some step names particular instances)."""
        return self.path is not None and any(s.keys is not None for s in self.path)


@dataclass
class Rules:
    """What one user (by their groups) is subject to under one NACM configuration."""

    enabled: bool = True
    read_default: bool = True
    write_default: bool = False
    exec_default: bool = True
    external_groups: bool = True
    data: dict[str, tuple[Rule, ...]] = field(default_factory=dict)  # op → data-capable rules
    rpc: tuple[Rule, ...] = ()  # exec rules that can match a protocol operation
    notification: tuple[Rule, ...] = ()  # read rules that can match a notification


def groups_of(nacm: Any, user: str, external: frozenset[str]) -> frozenset[str]:
    """§3.4.4 step 4: the configured groups listing ``user``, plus the transport's (external)
    groups when enable-external-groups is true."""
    out: set[str] = set()
    if nacm is None:
        return frozenset(external)
    groups = nacm.groups.group if nacm.groups is not None else None
    for g in groups or ():
        if user in (g.user_name or ()):
            out.add(g.name)
    if nacm.enable_external_groups is not False:
        out |= external
    return frozenset(out)


def compile_rules(bundle: Bundle, nacm: Any, groups: frozenset[str]) -> Rules:
    if nacm is None:
        return Rules()
    r = Rules(
        enabled=nacm.enable_nacm is not False,
        read_default=(nacm.read_default or "permit") == "permit",
        write_default=(nacm.write_default or "deny") == "permit",
        exec_default=(nacm.exec_default or "permit") == "permit",
        external_groups=nacm.enable_external_groups is not False,
    )
    rules: list[Rule] = []
    if groups:  # §3.4.4 step 5: no groups, no rules — only the defaults apply
        for rl in nacm.rule_list or ():
            named = set(rl.group or ())
            if "*" not in named and not named & groups:
                continue
            rules.extend(_rule(bundle, x) for x in rl.rule or ())
    r.data = {op: tuple(x for x in rules if x.kind in ("any", "data") and op in x.ops) for op in ALL_OPS}
    r.rpc = tuple(x for x in rules if x.kind in ("any", "rpc") and EXEC in x.ops)
    r.notification = tuple(x for x in rules if x.kind in ("any", "notification") and READ in x.ops)
    return r


def _rule(bundle: Bundle, x: Any) -> Rule:
    ops_v = x.access_operations
    if ops_v is None:  # the YANG default is "*"
        ops: frozenset[str] = ALL_OPS
    elif isinstance(ops_v, str):
        ops = ALL_OPS if ops_v.strip() == "*" else frozenset(ops_v.split()) & ALL_OPS
    else:
        ops = frozenset(ops_v) & ALL_OPS
    module = None if x.module_name in (None, "*") else x.module_name
    kind, target, path = "any", None, None
    if x.rpc_name is not None:
        kind, target = "rpc", None if x.rpc_name == "*" else x.rpc_name
    elif x.notification_name is not None:
        kind, target = "notification", None if x.notification_name == "*" else x.notification_name
    elif x.path is not None:
        kind, path = "data", parse_rule_path(bundle, x.path)
    return Rule(x.name, module, kind, target, path, ops, x.action == "permit")


def parse_rule_path(bundle: Bundle, text: str) -> tuple[PathStep, ...]:
    """A rule's node-instance-identifier (RFC 8341 §3.2.6: key predicates may be left out to
    mean every instance). Prefixes are module names (RFC 7951) or module prefixes (XML)."""
    text = text.strip()
    if text in ("", "/"):
        return ()
    prefixes = {m.prefix: m.name for m in bundle.schema.modules.values()}
    try:
        steps = parse_instance_identifier(text)
    except ValueError:
        # An unparsable path can match nothing; a never-matching step keeps the rule inert.
        return (PathStep("", "\0", None),)
    out: list[PathStep] = []
    module = ""
    for st in steps:
        if st.prefix:
            module = st.prefix if st.prefix in bundle.schema.modules else prefixes.get(st.prefix, st.prefix)
        keys: tuple[tuple[str, str], ...] | None = None
        if st.predicates and not isinstance(st.predicates, int):
            keys = tuple((p.name.rpartition(":")[2], str(p.value)) for p in st.predicates)
        out.append(PathStep(module, st.name, keys))
    return tuple(out)
