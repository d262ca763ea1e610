"""Real-world proof of the compiler: every module pyang accepts must compile, sample and round-trip.

The corpus is YANG nobody on this project wrote: every RFC module (with the IANA modules they
import), the OpenConfig models, RFC 8040's example-jukebox (all under /work/shared/corpus/yang,
beside the checkout), and what Debian's ``frr`` (/usr/share/yang) and ``libyuma-base``
(/usr/share/yuma/modules) packages ship.

For each module: pyang must accept it (``frontend.load`` does not raise CompileError) — a
rejection is fine when it is pyang's own ``file:line: message`` and the module is in
KNOWN_REJECTED. A module pyang accepts must then compile (compile_package), import, give a
sample instance (models/sample.py) that ``Root.model_validate`` accepts, and that sample must
come back equal from JSON (and XML, once models/codec exists). Modules are compiled in batches
for speed; a failing batch is re-run module by module so the failure names the module.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from models.compiler.frontend import CompileError, load
from models.compiler.package import compile_package, import_package
from models.sample import NO_IDENTITY, SampleStats, pattern_strings, sample_instance
from models.schema import Kind, SchemaNode

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "yang"
FRR = Path("/usr/share/yang")
YUMA = Path("/usr/share/yuma/modules")
BATCH = 16

# Modules pyang itself rejects (module name → a fragment of pyang's message).
KNOWN_REJECTED: dict[str, str] = {
    # a 2013 draft that augments ietf-interfaces' statistics container by a path that the
    # ietf-interfaces yuma ships (the RFC 8343 revision) no longer has under that name
    "ietf-if-ethernet-like": "is not found",
}

# Modules whose top-level data nodes get no value in the sample, with the reason.
KNOWN_EMPTY: dict[str, str] = {}

# Modules that pyang accepts but yangd cannot compile yet: module name → reason (strict xfail).
XFAIL: dict[str, str] = {}

_HEAD = re.compile(r"^\s*(module|submodule)\s+[\w.-]+", re.M)
_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)


@dataclass(frozen=True)
class Family:
    name: str
    files: tuple[Path, ...]
    search: tuple[Path, ...]


def _is_module(p: Path) -> bool:
    m = _HEAD.search(_COMMENT.sub("", p.read_text(encoding="utf-8", errors="replace")[:20000]))
    return m is not None and m.group(1) == "module"


def _dirs(root: Path) -> tuple[Path, ...]:
    return tuple(sorted({p.parent for p in root.rglob("*.yang")}))


def _roots(folder: Path) -> tuple[Path, ...]:
    out = []
    for line in (folder / "ROOTS.txt").read_text(encoding="utf-8").splitlines():
        name = line.strip()
        if not name or name.startswith("#"):
            continue
        found = sorted(folder.glob(f"{name}@*.yang")) or sorted(folder.glob(f"{name}.yang"))
        assert found, f"{name} is in ROOTS.txt but not in {folder}"
        out.append(found[-1])
    return tuple(out)


def families() -> list[Family]:
    out: list[Family] = []
    ietf = CORPUS / "ietf-rfc"
    if ietf.is_dir():
        out.append(Family("ietf-rfc", _roots(ietf), (ietf,)))
    oc = CORPUS / "openconfig"
    if oc.is_dir():
        files = tuple(p for p in sorted(oc.rglob("*.yang")) if _is_module(p))
        out.append(Family("openconfig", files, _dirs(oc)))
    jb = CORPUS / "example-jukebox"
    if jb.is_dir():
        out.append(Family("example-jukebox", _roots(jb), (jb,)))
    if FRR.is_dir():
        out.append(Family("frr", tuple(p for p in sorted(FRR.glob("*.yang")) if _is_module(p)), (FRR,)))
    if YUMA.is_dir():
        files = tuple(p for p in sorted(YUMA.rglob("*.yang")) if _is_module(p))
        out.append(Family("yuma", files, _dirs(YUMA)))
    return out


def module_name(p: Path) -> str:
    return p.name.removesuffix(".yang").partition("@")[0]


def _batches() -> list[Any]:
    """Batches of BATCH modules per family; an XFAIL module runs alone, as a strict xfail."""
    params = []
    for fam in families():
        normal = [p for p in fam.files if module_name(p) not in XFAIL]
        for i in range(0, len(normal), BATCH):
            chunk = tuple(normal[i:i + BATCH])
            names = [module_name(p) for p in chunk]
            params.append(pytest.param(fam, chunk, id=f"{fam.name}-{i // BATCH:02d}-{names[0]}..{names[-1]}"))
        for p in fam.files:
            if module_name(p) in XFAIL:
                mark = pytest.mark.xfail(strict=True, reason=XFAIL[module_name(p)])
                params.append(pytest.param(fam, (p,), id=f"{fam.name}-{module_name(p)}", marks=mark))
    return params


def _codec(name: str) -> Any:
    """models.codec.<name>, or None while the codec is not there (it is being written)."""
    if importlib.util.find_spec("models.codec") is None:
        return None
    try:
        return importlib.import_module(f"models.codec.{name}")
    except ImportError:
        return None


def _c14n(doc: bytes) -> bytes:
    out: bytes = etree.tostring(etree.fromstring(doc), method="c14n2")
    return out


def _has_leaves(node: SchemaNode) -> bool:
    return any(n.kind in (Kind.LEAF, Kind.LEAF_LIST) for n in node.walk())


@dataclass
class Outcome:
    stats: SampleStats
    tops: dict[str, bool]  # module → it has top-level data nodes with leaves


def check_modules(files: Sequence[Path], search: Sequence[Path], out_dir: Path) -> Outcome:
    """compile → import → sample → validate → JSON (and XML) round trip; raises on any failure."""
    schema = compile_package(files, out_dir, search)
    pkg = import_package(out_dir)
    stats = SampleStats()
    sample = sample_instance(pkg.B, stats=stats)
    obj = pkg.Root.model_validate(sample)
    cj = _codec("json")
    if cj is not None:
        back = cj.decode_json(pkg.Root, cj.encode_json(obj))
    else:
        back = pkg.Root.model_validate_json(obj.model_dump_json(exclude_none=True))
    assert back == obj, "JSON round trip changed the sample"
    cx = _codec("xml")
    if cx is not None:
        ref = cx.to_bytes(cx.encode_xml(obj))
        back = cx.decode_xml(pkg.Root, ref)
        assert back == obj, "XML round trip changed the sample"
        written = importlib.import_module("models.codec.xml_write").encode_xml_bytes(obj)
        assert _c14n(written) == _c14n(ref), "the string writer differs from the element encoder"
    tops: dict[str, bool] = {}
    for top in schema.root.data_children():
        tops[top.module] = tops.get(top.module, False) or _has_leaves(top)
    return Outcome(stats, tops)


def _pyang_verdicts(files: Sequence[Path], search: Sequence[Path]) -> dict[str, list[str]]:
    """Module name → pyang's error messages, for the modules pyang rejects on their own."""
    rejected: dict[str, list[str]] = {}
    for f in files:
        try:
            load([f], search)
        except CompileError as e:
            rejected[module_name(f)] = e.messages
    return rejected


def _only_missing_identities(stats: SampleStats, module: str) -> bool:
    """Every leaf left out under ``module``'s top-level nodes is an identityref whose base no
    module of the compiled set derives an identity from (a property of the set, not the sampler)."""
    mine = [(r, p) for r, p in stats.skips if p.startswith(f"/{module}:")]
    leaves = [r for r, _p in mine if r.startswith(("no value", NO_IDENTITY))]
    return bool(leaves) and all(r.startswith(NO_IDENTITY) for r in leaves)


_PYANG_MSG = re.compile(r"^\S.*:\d+: ")
# Families pyang refuses as one set (each module alone compiles): the message part expected.
REFUSED_TOGETHER = {"yuma": "is not found"}


@pytest.mark.parametrize("family", [pytest.param(f, id=f.name) for f in families()])
def test_corpus_family_together(family: Family, tmp_path: Path) -> None:
    """A whole family compiled as one set (cross-module augments, deviations and name clashes).

    First in the file: these are the longest, so xdist starts them first.
    """
    try:
        load(family.files, family.search)
    except CompileError as e:  # e.g. two modules with one namespace: pyang's word, not ours
        assert family.name in REFUSED_TOGETHER, e.messages
        assert all(_PYANG_MSG.match(m) for m in e.messages), e.messages
        assert any(REFUSED_TOGETHER[family.name] in m for m in e.messages), e.messages
        return
    assert family.name not in REFUSED_TOGETHER, "pyang now accepts this set: update REFUSED_TOGETHER"
    outcome = check_modules(family.files, family.search, tmp_path / "all")
    assert sum(outcome.stats.values.values()) > 0


@pytest.mark.parametrize(("family", "files"), _batches())
def test_corpus_compiles(family: Family, files: tuple[Path, ...], tmp_path: Path,
                         record_property: Callable[[str, object], None]) -> None:
    outcomes: dict[str, Outcome] = {}
    rejected: dict[str, list[str]] = {}
    batch_error = None
    try:  # pyang accepting the whole batch means it accepts each module of it
        whole = check_modules(files, family.search, tmp_path / "batch")
        outcomes = {module_name(f): whole for f in files}
    except CompileError:  # some module is refused, or the modules conflict: one by one
        rejected = _pyang_verdicts(files, family.search)
    except Exception as e:  # find which module breaks: one by one
        batch_error = "".join(traceback.format_exception(e)[-6:])
    failures: dict[str, str] = {}
    if not outcomes:
        for f in files:
            if module_name(f) in rejected:
                continue
            try:
                outcomes[module_name(f)] = check_modules([f], family.search, tmp_path / module_name(f))
            except CompileError as e:  # only pyang raises it
                rejected[module_name(f)] = e.messages
            except Exception as e:  # every failure is reported with its module
                failures[module_name(f)] = "".join(traceback.format_exception(e)[-6:])
    for name, msgs in rejected.items():
        assert msgs and all(_PYANG_MSG.match(m) for m in msgs), f"{name}: not pyang's messages: {msgs}"
        assert name in KNOWN_REJECTED, f"pyang rejects {name}: {msgs[:3]}"
        assert any(KNOWN_REJECTED[name] in m for m in msgs), f"{name}: {msgs[:3]}"
    assert not failures, "\n".join(f"== {n}\n{msg}" for n, msg in failures.items())
    assert batch_error is None, f"each module passes alone, the batch fails:\n{batch_error}"
    for o in {id(o): o for o in outcomes.values()}.values():
        record_property("sample_values", sum(o.stats.values.values()))
        record_property("sample_skips", dict(o.stats.skipped))
    empty = sorted(
        n for n, o in outcomes.items()
        if o.tops.get(n) and o.stats.by_top[n] == 0 and n not in KNOWN_EMPTY
        and not _only_missing_identities(o.stats, n)
    )
    assert not empty, "no sample value under the top-level nodes of " + ", ".join(
        f"{n} (skipped: {dict(outcomes[n].stats.skipped)} {outcomes[n].stats.skipped_paths[:5]})" for n in empty)


@pytest.mark.parametrize(("patterns", "length"), [
    (["([0-9a-fA-F]{2}(:[0-9a-fA-F]{2})*)?"], [[29, 29]]),  # yang:hex-string, 10 octets
    (["[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}"], None),  # yang:mac-address
    (["\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[\\+\\-]\\d{2}:\\d{2})"], None),
    (["[a-z]+[0-9]*", "[^x]*"], [[5, 8]]),
    (["(([a-zA-Z0-9_]([a-zA-Z0-9\\-_]){0,61})?[a-zA-Z0-9]\\.)*([a-zA-Z0-9_]([a-zA-Z0-9\\-_]){0,61})?[a-zA-Z0-9]\\.?|\\."], [[1, 253]]),
])
def test_sample_strings_satisfy_patterns(patterns: list[str], length: list[list[int]] | None) -> None:
    """The sampler finds strings for common restricted string types (length + patterns)."""
    from models.sample import round_trips
    from models.schema import Schema
    from models.types import make_type

    d: dict[str, Any] = {"b": "string", "pattern": [[p, False, None, None] for p in patterns]}
    if length:
        d["length"] = length
    yt = make_type(d, Schema(SchemaNode(Kind.CONTAINER, "", ""), {}, {}), "m")
    found = [v for v in pattern_strings(patterns) if round_trips(yt, v)]
    assert found, f"no string for {patterns} {length}"
