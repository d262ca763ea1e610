"""Run pyang over a set of YANG files and return its validated context, or pyang's errors.

Errors are pyang's own ``file:line: message`` lines (never a traceback): a module with a
syntax or semantic error is refused with exactly what pyang says about it.

pyang is imported by ``load`` only: ``CompileError`` and ``yang_files`` are wanted by
processes that never compile (a ``yangd serve`` whose modules are in the compile cache), and
pyang costs some 9 MiB of memory once imported.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class CompileError(Exception):
    """pyang refused the modules; ``messages`` are its ``file:line: error`` lines."""

    def __init__(self, messages: Sequence[str]):
        super().__init__("\n".join(messages))
        self.messages = list(messages)


@dataclass
class Frontend:
    """The modules pyang read and validated, with the context the builder needs."""

    ctx: Any
    modules: list[Any]
    warnings: list[str] = field(default_factory=list)


def yang_files(paths: Iterable[str | Path]) -> list[Path]:
    """Every .yang file named, or found (recursively) under a named directory, sorted."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(p.rglob("*.yang")))
        else:
            out.append(p)
    return out


def load(
    files: Sequence[str | Path],
    search_path: Sequence[str | Path] = (),
    features: Mapping[str, Sequence[str]] | None = None,
    deviations: Sequence[str | Path] = (),
) -> Frontend:
    """Parse and validate ``files`` (with imports looked up on ``search_path`` and beside them).

    ``features``: module → enabled features; a module not named has all its features
    enabled (pyang's rule). ``deviations`` are deviation modules applied to the set.
    """
    from pyang import context, error, repository

    dirs = [str(p) for p in search_path]
    for f in (*files, *deviations):
        d = str(Path(f).parent)
        if d not in dirs:
            dirs.append(d)
    repo = repository.FileRepository(os.pathsep.join(dirs), use_env=False, no_path_recurse=False)
    ctx = context.Context(repo)
    ctx.lax_quote_checks = True
    ctx.strict = False
    if features is not None:
        ctx.features = {m: list(fs) for m, fs in features.items()}
    for dev in deviations:
        text = Path(dev).read_text(encoding="utf-8")
        m = ctx.add_module(str(dev), text)
        if m is not None:
            ctx.deviation_modules.append(m)
    modules = []
    seen: set[str] = set()
    for f in files:
        text = Path(f).read_text(encoding="utf-8")
        m = ctx.add_module(str(f), text)
        if m is not None and m.arg not in seen:
            seen.add(m.arg)
            modules.append(m)
    ctx.validate()
    errors, warnings = [], []
    for pos, tag, args in ctx.errors:
        if error.is_error(error.err_level(tag)):
            errors.append(f"{pos}: error: {error.err_to_str(tag, args)}")
        else:
            warnings.append(f"{pos}: warning: {error.err_to_str(tag, args)}")
    if errors:
        raise CompileError(_dedupe(errors))
    for m in list(ctx.modules.values()):  # drop the nodes whose if-feature is false
        m.prune()
    mains = [m for m in modules if m.keyword == "module"]
    for m in modules:  # a submodule named directly compiles as its main module
        if m.keyword == "submodule":
            bt = m.search_one("belongs-to")
            main = ctx.get_module(bt.arg) if bt is not None else None
            if main is not None and main not in mains:
                mains.append(main)
    return Frontend(ctx, mains, _dedupe(warnings))


def _dedupe(msgs: list[str]) -> list[str]:
    return list(dict.fromkeys(msgs))
