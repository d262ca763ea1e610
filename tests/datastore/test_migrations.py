"""Alembic migrations of the commit log: an old (0001) database upgrades on Store.open, the
migrated schema equals the ORM mapping, downgrade works, a newer database is refused. A new
database is created from the mapping and stamped at head, and a database at head opens, both
without importing Alembic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from datastore.db import ALEMBIC_DIR, HEAD_REVISION, VERSION_TABLE, Base, make_engine, migrate
from datastore.store import CommitRecord, Store, StoreError

REPO = Path(__file__).resolve().parents[2]


def revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        return ctx.get_current_revision()


def tables(engine: Engine) -> set[str]:
    from sqlalchemy import inspect

    return set(inspect(engine).get_table_names())


def test_old_database_upgrades_on_open(db_url: str, backend: str) -> None:
    migrate(db_url, "0001")
    engine = make_engine(db_url)
    try:
        assert revision(engine) == "0001"
        assert "yangd_meta" not in tables(engine)
        ts = "2024-01-01 12:00:00" + ("+00" if backend == "postgresql" else "")
        with engine.begin() as conn:  # the rows an old yangd wrote, in plain SQL
            for i in (1, 2, 3):
                conn.execute(
                    text(
                        'INSERT INTO yangd_commit (id, time, "user", transport, comment, '
                        "changes, confirmed) VALUES (:id, :ts, 'old', 'cli', :c, :ch, :ok)"
                    ),
                    {"id": i, "ts": ts, "c": f"old {i}", "ch": json.dumps({f"k{i}": i}),
                     "ok": i != 3},
                )  # fmt: skip
            conn.execute(
                text("INSERT INTO yangd_snapshot (commit_id, tree, created) VALUES (2, :t, :ts)"),
                {"t": json.dumps({"k1": 1, "k2": 2}), "ts": ts},
            )
            conn.execute(
                text(
                    "INSERT INTO yangd_datastore (name, tree, updated) VALUES ('startup', '{}', :ts)"
                ),
                {"ts": ts},
            )
            conn.execute(
                text(
                    "INSERT INTO yangd_confirm (id, commit_id, rollback_to, deadline) "
                    "VALUES (1, 3, 2, :ts)"
                ),
                {"ts": ts},
            )

        with Store.open(db_url) as store:
            assert revision(engine) == "0004"  # head: 0004 added the cluster tables
            assert store.head() == 3
            head, tree, changes = store.load_running()
            assert (head, tree, [i for i, _ in changes]) == (3, '{"k1": 1, "k2": 2}', [3])
            old = store.commit(1)
            assert old is not None
            assert (old.user, old.label, old.comment, old.confirmed) == ("old", None, "old 1", True)
            assert old.time == datetime(2024, 1, 1, 12, tzinfo=UTC)
            assert [c.confirmed for c in store.commits()] == [False, True, True]
            assert store.get_datastore("startup") == "{}"
            pending = store.get_confirm()
            assert pending is not None and (pending.commit_id, pending.rollback_to) == (3, 2)
            assert pending.deadline == datetime(2024, 1, 1, 12, tzinfo=UTC)
            # the features 0002 brought
            store.append_commit(
                CommitRecord(4, datetime.now(UTC), "new", "netconf", None, "v4", '{"k4": 4}')
            )
            assert store.by_label("v4") == 4
            store.set_meta("schema-hash", "h")
            assert store.get_meta("schema-hash") == "h"
    finally:
        engine.dispose()


def test_head_revision_is_the_scripts_head() -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    assert ScriptDirectory.from_config(cfg).get_heads() == [HEAD_REVISION]


@pytest.mark.parametrize("how", ["migrated", "created"])
def test_schema_matches_the_orm(db_url: str, how: str) -> None:
    """Both ways to a database at head give the mapping's schema: Alembic's upgrade from
    empty, and Store.open's creation of a new database from the mapping."""
    if how == "migrated":
        migrate(db_url)
    Store.open(db_url).close()
    engine = make_engine(db_url)
    try:
        assert revision(engine) == HEAD_REVISION
        with engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn, opts={"version_table": VERSION_TABLE, "compare_type": True}
            )
            assert compare_metadata(ctx, Base.metadata) == []
    finally:
        engine.dispose()


def test_created_database_upgrades_from_its_stamp(db_url: str) -> None:
    """A database Store.open created is an ordinary Alembic database at head: downgrading
    and upgrading it with the scripts works."""
    Store.open(db_url).close()
    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    cfg.attributes["url"] = db_url
    command.downgrade(cfg, "0001")
    command.upgrade(cfg, "head")
    engine = make_engine(db_url)
    try:
        assert revision(engine) == HEAD_REVISION
    finally:
        engine.dispose()


def test_new_and_current_databases_open_without_alembic(db_url: str) -> None:
    """Alembic (with Mako and Pygments) stays out of a yangd whose database needs no upgrade."""
    code = (
        "import sys\n"
        "from datastore.store import Store\n"
        "for _ in range(2):\n"
        "    Store.open(sys.argv[1]).close()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako')))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, db_url], cwd=REPO, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_downgrade_and_upgrade_again(db_url: str) -> None:
    with Store.open(db_url) as store:
        store.append_commit(CommitRecord(1, datetime.now(UTC), "u", "cli", None, "l", "{}"))
        store.write_snapshot(1, "{}")
    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    cfg.attributes["url"] = db_url
    command.downgrade(cfg, "0001")
    engine = make_engine(db_url)
    try:
        assert revision(engine) == "0001"
        assert "yangd_meta" not in tables(engine)
        with Store.open(db_url) as store:
            got = store.commit(1)
            assert got is not None and got.label is None  # the label column went and came back
            assert store.snapshot_at_or_before(1) == (1, "{}")  # not cascaded by the copy
    finally:
        engine.dispose()


def test_database_newer_than_yangd_is_refused(db_url: str) -> None:
    Store.open(db_url).close()
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999_future'"))
    finally:
        engine.dispose()
    with pytest.raises(StoreError, match="9999_future"):
        Store.open(db_url)


def test_alembic_command_line(tmp_path: Path) -> None:
    """`alembic upgrade head` by hand, with the repository's alembic.ini and -x url=."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {k: v for k, v in os.environ.items() if k != "YANGD_DB_URL"}
    for args in (["-x", f"url={url}", "upgrade", "0001"], ["current"]):
        cmd = [sys.executable, "-m", "alembic", "-c", str(REPO / "alembic.ini"), *args]
        if args == ["current"]:
            env["YANGD_DB_URL"] = url
        proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=60)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    assert "0001" in proc.stdout
    with Store.open(url) as store:
        store.set_meta("k", "v")
