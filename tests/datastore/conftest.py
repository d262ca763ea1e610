"""Fixtures of the persistence tests: a database URL per test, on SQLite and PostgreSQL.

PostgreSQL is the real server at 127.0.0.1:5432 (./run starts it). Each test session
(each xdist worker) creates its own database ``yangd_test_<random>`` and drops it at the end;
each test gets a fresh schema in it (selected through ``search_path``). An unreachable
server makes the PostgreSQL tests fail, never skip.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import psycopg
import pytest

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh database for this session; yields its name."""
    name = f"yangd_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_url(database: str, schema: str) -> str:
    return (
        f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}?options=-csearch_path%3D{schema}"
    )


def new_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty database on ``backend``."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / f'yangd-{uuid.uuid4().hex[:8]}.db'}"
    database: str = request.getfixturevalue("pg_database")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(
        f"postgresql://postgres@127.0.0.1:5432/{database}", autocommit=True
    ) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return pg_url(database, schema)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database (no tables yet) on the parametrized backend."""
    return new_url(backend, request, tmp_path)


# ---- fixtures of the session/commit/history tests (helpers_b.py) -----------------------------


@pytest.fixture
def dst_ds(tmp_path: Path) -> Iterator[object]:
    """Datastores of the ``dst`` test module on a fresh SQLite file; closed afterwards."""
    from tests.datastore.helpers_b import open_ds

    ds = open_ds(f"sqlite:///{tmp_path / 'dst.db'}")
    try:
        yield ds
    finally:
        ds.close()


# ---- edit engine / validation test modules (tests/datastore/test_edit.py, test_validate.py) ----
# The YANG modules live in tests/datastore/yang/; ``dstest_package(*names)`` compiles the named
# modules (file stems) together once per test session and returns the imported package.

DSTEST_YANG = Path(__file__).resolve().parent / "yang"
DSTEST_SEARCH = [DSTEST_YANG, Path(__file__).resolve().parents[2] / "yang" / "ietf",
                 Path(__file__).resolve().parents[2] / "yang" / "iana"]


@pytest.fixture(scope="session")
def dstest_package(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., ModuleType]:
    from models.compiler.package import compile_package, import_package

    built: dict[tuple[str, ...], ModuleType] = {}

    def build(*names: str) -> ModuleType:
        if names not in built:
            out = tmp_path_factory.mktemp("dstest-pkg")
            compile_package([DSTEST_YANG / f"{n}.yang" for n in names], out / "pkg", DSTEST_SEARCH)
            built[names] = import_package(out / "pkg")
        return built[names]

    return build
