"""Compile YANG files into a generated package on disk, and import such a package.

``compile_package`` is what ``yangd compile`` and the start-up compile of user modules run;
``import_package`` loads a generated package from any directory (the shipped one lives in
models/generated/, start-up compiles in a cache directory keyed by the sources' hash).

``cached_compile`` compiles in a child process (``python -m models.compiler.package``): pyang,
the builder and the emitter, and the garbage of a compile of every shipped module, stay out
of the long-lived daemon, which imports only the generated package (about 12 MiB less).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from models.compiler.frontend import CompileError, yang_files

if TYPE_CHECKING:
    from models.compiler.frontend import Frontend
    from models.schema import Schema

_REPO = Path(__file__).resolve().parents[2]


def hash_sources(texts: Iterable[tuple[str, bytes]], options: str = "") -> str:
    """Stable hash of module sources (+ compile options), for the start-up compile cache."""
    h = hashlib.sha256(options.encode())
    for name, data in sorted(texts):
        h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


def schema_of(
    paths: Sequence[str | Path],
    search_path: Sequence[str | Path] = (),
    features: Mapping[str, Sequence[str]] | None = None,
    deviations: Sequence[str | Path] = (),
) -> tuple[Schema, Frontend]:
    from models.compiler.build import build_schema
    from models.compiler.frontend import load

    files = yang_files(paths)
    fe = load(files, search_path, features, deviations)
    texts = [(str(p.name), p.read_bytes()) for p in (*files, *map(Path, deviations))]
    opts = repr(sorted((k, sorted(v)) for k, v in (features or {}).items()))
    return build_schema(fe.ctx, fe.modules, hash_sources(texts, opts)), fe


def write_package(schema: Schema, out_dir: str | Path) -> list[str]:
    """Write the generated sources and schema.json into ``out_dir`` (replacing its .py files)."""
    from models.compiler.emit import emit_package

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.py"):
        old.unlink()
    files = emit_package(schema)  # assigns py names: must run before schema.json is written
    for name, src in files.items():
        (out / name).write_text(src, encoding="utf-8")
    schema.dump(out / "schema.json")
    return sorted([*files, "schema.json"])


def compile_package(
    paths: Sequence[str | Path],
    out_dir: str | Path,
    search_path: Sequence[str | Path] = (),
    features: Mapping[str, Sequence[str]] | None = None,
    deviations: Sequence[str | Path] = (),
) -> Schema:
    schema, _fe = schema_of(paths, search_path, features, deviations)
    write_package(schema, out_dir)
    return schema


def features_file(path: str | Path) -> dict[str, list[str]]:
    """The ``[features]`` table of a features.toml (module → enabled features)."""
    import tomllib

    with open(path, "rb") as f:
        table = tomllib.load(f).get("features", {})
    return {str(m): [str(x) for x in fs] for m, fs in table.items()}


def import_package(pkg_dir: str | Path, name: str | None = None) -> ModuleType:
    """Import a generated package from a directory under a unique module name."""
    d = Path(pkg_dir).resolve()
    name = name or f"_yangd_gen_{abs(hash(str(d)))}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, d / "__init__.py", submodule_search_locations=[str(d)])
    if spec is None or spec.loader is None:
        raise ImportError(f"no generated package in {d}")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        del sys.modules[name]
        raise
    return mod


def cached_compile(
    paths: Sequence[str | Path], cache_dir: str | Path, search_path: Sequence[str | Path] = (),
    features: Mapping[str, Sequence[str]] | None = None,
) -> ModuleType:
    """Compile user modules at start-up, reusing a previous compile of the same sources."""
    files = yang_files(paths)
    opts = repr(sorted((k, sorted(v)) for k, v in (features or {}).items()))
    key = hash_sources([(p.name, p.read_bytes()) for p in files], opts)[:16]
    target = Path(cache_dir) / key
    if not (target / "__init__.py").exists():
        tmp = Path(cache_dir) / f".{key}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        _compile_in_child(files, tmp, search_path, features)
        tmp.rename(target)
    return import_package(target, f"_yangd_user_{key}")


def _compile_in_child(files: Sequence[Path], out: Path, search_path: Sequence[str | Path],
                      features: Mapping[str, Sequence[str]] | None) -> None:
    """``compile_package`` in a child Python; its CompileError is raised here, as it was."""
    job = {"paths": [str(f) for f in files], "out": str(out),
           "search": [str(p) for p in search_path],
           "features": None if features is None else {k: list(v) for k, v in features.items()}}
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_REPO), env.get("PYTHONPATH")) if p)
    proc = subprocess.run([sys.executable, "-m", "models.compiler.package"], input=json.dumps(job),
                          capture_output=True, text=True, env=env, check=False)
    if proc.returncode == 0:
        return
    try:
        messages = [str(m) for m in json.loads(proc.stdout)["errors"]]
    except (ValueError, KeyError, TypeError):
        messages = [f"the YANG compiler failed (exit status {proc.returncode}): "
                    + (proc.stderr.strip().splitlines() or ["no output"])[-1]]
    raise CompileError(messages)


def _child() -> int:
    """The child side of ``_compile_in_child``: a JSON job on stdin; CompileError messages as
    JSON on stdout with exit status 2."""
    job = json.load(sys.stdin)
    try:
        compile_package(job["paths"], job["out"], job["search"], job["features"])
    except CompileError as e:
        json.dump({"errors": e.messages}, sys.stdout)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(_child())
