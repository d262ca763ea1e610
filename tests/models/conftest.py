"""Shared fixtures for the models tests: compile inline YANG modules into an imported package."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType

import pytest

from models.compiler.package import compile_package, import_package

REPO = Path(__file__).resolve().parents[2]
YANG_SEARCH = [REPO / "yang" / "ietf", REPO / "yang" / "iana"]

_NAME_RE = re.compile(r"^\s*(?:module|submodule)\s+([A-Za-z_][\w.-]*)", re.M)

CompileYang = Callable[..., ModuleType]


def _files(texts: Sequence[str] | Mapping[str, str]) -> dict[str, str]:
    """File name → text: named by the caller, or after the (sub)module each text defines."""
    if isinstance(texts, Mapping):
        return dict(texts)
    out = {}
    for text in texts:
        m = _NAME_RE.search(text)
        assert m is not None, f"no module statement in {text[:60]!r}"
        out[f"{m.group(1)}.yang"] = text
    return out


@pytest.fixture(scope="session")
def compile_yang(tmp_path_factory: pytest.TempPathFactory) -> CompileYang:
    """Factory: ``compile_yang(texts, features=..., deviations=..., extra=...)`` → package.

    ``texts`` (a list of module texts, or a mapping file name → text) are written into a
    fresh directory and compiled together with compile_package (search path: that directory,
    then the repository's yang/ietf and yang/iana); the generated package is imported and
    returned (``pkg.Root``, ``pkg.B``). ``deviations`` are module texts written beside them
    and passed as deviation modules; ``extra`` are texts written there (importable, e.g.
    submodules or imported modules) but not named to the compiler. A CompileError from pyang
    propagates.
    """

    def build(
        texts: Sequence[str] | Mapping[str, str],
        *,
        features: Mapping[str, Sequence[str]] | None = None,
        deviations: Sequence[str] | Mapping[str, str] = (),
        extra: Sequence[str] | Mapping[str, str] = (),
    ) -> ModuleType:
        d = tmp_path_factory.mktemp("yang")
        src = d / "src"
        src.mkdir()
        main = _files(texts)
        devs = _files(deviations)
        for name, text in {**_files(extra), **main, **devs}.items():
            (src / name).write_text(text, encoding="utf-8")
        compile_package(
            [src / n for n in main],
            d / "pkg",
            [src, *YANG_SEARCH],
            features=features,
            deviations=[src / n for n in devs],
        )
        return import_package(d / "pkg")

    return build
