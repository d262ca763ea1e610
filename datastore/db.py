"""ORM mapping and engine set-up of the commit log (SQLAlchemy 2.0 typed declarative).

Also here: the record dataclasses Store exchanges (re-exported by datastore.store),
``ensure_schema`` / ``migrate`` (Alembic upgrade) and the few queries several Store methods share. Only
datastore/store.py, the Alembic environment and tests import this module: the rest of yangd
talks to ``Store``. Trees and change sets are opaque JSON text here; the caller encodes them.

Tables (all prefixed ``yangd_`` so yangd can share a PostgreSQL database with others):

- ``yangd_commit``: one row per commit. ``id`` is assigned by the writer (previous head + 1)
  and is the primary key, so two writers racing for the same id cannot both succeed: the
  commit row is the serialisation point for several yangd instances on one database.
- ``yangd_snapshot``: the whole running tree after some commits (not every commit: running is
  rebuilt as newest snapshot + replay of later change sets).
- ``yangd_datastore``: whole persisted datastores other than running (``startup``).
- ``yangd_confirm``: at most one row (id = 1): the pending confirmed commit, so a restarted
  yangd still rolls back on time.
- ``yangd_meta``: key/value strings (e.g. the schema hash the data was written with).
- ``yangd_event``: the event log, one row per notification (RFC 5277 replay; datastore/events.py).
- ``yangd_instance``: the yangd instances serving this database, with a heartbeat
  (datastore/cluster.py); a row whose heartbeat is older than the lease is a dead instance.
- ``yangd_lock``: the cluster-wide datastore locks (RFC 6241 §7.5), one row per locked
  datastore, held by (instance, session) until ``expires`` (a lease the holder renews).

The schema itself is owned by the Alembic revisions in alembic/versions; this mapping must
match their result (tests/datastore/test_migrations.py compares the two). Because it does, a
new database is created from the mapping and stamped at ``HEAD_REVISION`` without Alembic,
and a database already at head is left alone: Alembic (with Mako and Pygments, some 12 MiB
of a long-lived daemon's memory) is imported only when an existing database must be upgraded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    create_engine,
    event,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import ConnectionPoolEntry, NullPool

#: Deterministic constraint names: Alembic batch mode (SQLite) and autogenerate need them.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: The Alembic scripts (alembic/ at the repository root, beside this package).
ALEMBIC_DIR = Path(__file__).resolve().parents[1] / "alembic"

#: Name of Alembic's version table (prefixed like ours, for a shared PostgreSQL database).
VERSION_TABLE = "yangd_alembic_version"

#: The newest revision in alembic/versions (a test checks it is the scripts' head): the
#: revision a database created from the mapping is stamped with.
HEAD_REVISION = "0004"

#: The advisory lock key serialising yangd schema changes on PostgreSQL (alembic/env.py
#: takes the same one): several instances starting at once create or migrate one at a time.
PG_MIGRATION_LOCK = 0x79616E6764  # "yangd"

#: Execution option: on SQLite, open the transaction with BEGIN IMMEDIATE (take the write
#: lock up front) so a read-then-write transaction never fails halfway with SQLITE_BUSY.
WRITE_OPTION = "yangd_write"

SQLITE_BUSY_TIMEOUT_MS = 10_000


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so the value is stored as
    naive UTC and UTC is attached again on load. Naive datetimes are refused on the way in:
    guessing their zone is how logs end up an hour off.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: yangd stores aware UTC timestamps")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Records exchanged with Store's callers (datastore.store re-exports them).


@dataclass(frozen=True, slots=True)
class CommitRecord:
    """One commit as stored. ``changes`` is the JSON change set; ``time`` is aware UTC;
    ``confirmed`` is False while the commit is a pending confirmed commit."""

    id: int
    time: datetime
    user: str
    transport: str  # netconf, restconf, cli, internal
    comment: str | None
    label: str | None
    changes: str
    confirmed: bool = True


@dataclass(frozen=True, slots=True)
class CommitInfo:
    """A commit's metadata for history listings; ``size`` is the change set's length."""

    id: int
    time: datetime
    user: str
    transport: str
    comment: str | None
    label: str | None
    confirmed: bool
    size: int


@dataclass(frozen=True, slots=True)
class PendingConfirm:
    """The pending confirmed commit: restore ``rollback_to`` at ``deadline`` unless
    confirmed. ``instance`` names the yangd instance that armed it."""

    commit_id: int
    rollback_to: int
    deadline: datetime
    persist_id: str | None = None
    session_id: int | None = None
    instance: str | None = None


def utcnow() -> datetime:
    return datetime.now(UTC)


# Reusable column templates.
IntPK = Annotated[int, mapped_column(Integer, primary_key=True, autoincrement=False)]
Name = Annotated[str, mapped_column(String(64))]
JsonText = Annotated[str, mapped_column(Text)]
Stamp = Annotated[datetime, mapped_column(UTCDateTime(), default=utcnow)]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), str: String(255)}


class CommitRow(Base):
    __tablename__ = "yangd_commit"

    id: Mapped[IntPK]
    time: Mapped[Stamp]
    user: Mapped[Name]
    transport: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    label: Mapped[str | None] = mapped_column(String(255), index=True, unique=True)
    changes: Mapped[JsonText]
    # False while this commit is a pending confirmed commit (RFC 6241 §8.4).
    confirmed: Mapped[bool] = mapped_column(Boolean, default=True)


class SnapshotRow(Base):
    """Running after commit ``commit_id``.

    Deleting a commit deletes its snapshot (ON DELETE CASCADE); pruning never deletes the
    commit a needed snapshot belongs to (see Store.prune), so the cascade never loses one.
    """

    __tablename__ = "yangd_snapshot"

    commit_id: Mapped[int] = mapped_column(
        ForeignKey("yangd_commit.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    tree: Mapped[JsonText]
    created: Mapped[Stamp]


class DatastoreRow(Base):
    __tablename__ = "yangd_datastore"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    tree: Mapped[JsonText]
    updated: Mapped[Stamp]


class ConfirmRow(Base):
    """The pending confirmed commit: one row at most, enforced by id = 1."""

    __tablename__ = "yangd_confirm"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[IntPK]
    commit_id: Mapped[int]
    rollback_to: Mapped[int]
    deadline: Mapped[datetime]
    persist_id: Mapped[str | None]
    session_id: Mapped[int | None]
    armed_by_instance: Mapped[str | None] = mapped_column(String(255))


class MetaRow(Base):
    __tablename__ = "yangd_meta"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class EventRow(Base):
    """One notification of the event log: its stream, eventTime and XML content."""

    __tablename__ = "yangd_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    time: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    stream: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)


class InstanceRow(Base):
    """One yangd instance on this database (datastore/cluster.py keeps it alive)."""

    __tablename__ = "yangd_instance"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int]
    started: Mapped[datetime]
    heartbeat: Mapped[datetime]
    netconf: Mapped[str | None] = mapped_column(String(255))
    restconf: Mapped[str | None] = mapped_column(String(255))
    leader_of: Mapped[str | None] = mapped_column(Text)  # driver names, space separated
    sessions: Mapped[int] = mapped_column(Integer, default=0)


class LockRow(Base):
    """A datastore lock held by a session of an instance until ``expires`` (a lease)."""

    __tablename__ = "yangd_lock"

    target: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[int]
    instance_id: Mapped[str] = mapped_column(String(64))
    since: Mapped[datetime]
    expires: Mapped[datetime]


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (None for other backends); in-memory is refused
    because a commit log that vanishes with the process defeats its purpose."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite":
        return None
    db = u.database or ""
    if db in ("", ":memory:") or u.query.get("mode") == "memory":
        raise ValueError(f"in-memory SQLite ({url!r}) cannot persist the commit log")
    return Path(db)


def make_engine(url: str, *, migrating: bool = False) -> Engine:
    """Create the engine for ``url`` with yangd's connection settings.

    SQLite (every connection): WAL journal (readers never block the writer),
    ``synchronous=FULL`` (a returned COMMIT has been fsynced, so it survives a crash or
    power loss, not only kill -9), ``foreign_keys=ON`` and a busy timeout. sqlite3's own
    implicit BEGIN handling is switched off and SQLAlchemy emits BEGIN itself (BEGIN
    IMMEDIATE for writes), the documented recipe for correct transactions with pysqlite.

    ``migrating``: for Alembic. Foreign keys stay OFF there because SQLite batch migrations
    copy and DROP tables, and a DROP with foreign keys ON would cascade-delete snapshots.
    A NullPool keeps no connection around after the migration.
    """
    is_sqlite = make_url(url).get_backend_name() == "sqlite"
    kwargs: dict[str, Any] = {}
    if migrating:
        kwargs["poolclass"] = NullPool
    if is_sqlite:
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if is_sqlite:
        _sqlite_events(engine, foreign_keys=not migrating, immediate_all=migrating)
    return engine


def _sqlite_events(engine: Engine, *, foreign_keys: bool, immediate_all: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see make_engine)
        cur = dbapi_conn.cursor()
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = immediate_all or conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class SchemaError(Exception):
    """Alembic refused the database (e.g. it is newer than this yangd)."""


# Alembic's own version table, as its stamp creates it (alembic.runtime.migration).
_VERSIONS = Table(
    VERSION_TABLE, MetaData(), Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name=f"{VERSION_TABLE}_pkc"),
)  # fmt: skip


def ensure_schema(url: str) -> None:
    """Bring the database at ``url`` to ``HEAD_REVISION``.

    At head already: nothing to do. A new database (no yangd table at all): the mapping's
    tables are created and stamped at head, in one transaction. Anything else (older, newer,
    or unrecognised): Alembic's upgrade, which migrates or refuses. The check and the
    creation hold the database's write lock (SQLite BEGIN IMMEDIATE, PostgreSQL the advisory
    lock alembic/env.py takes), so instances starting together create the schema once.
    """
    engine = make_engine(url, migrating=True)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_MIGRATION_LOCK})
            names = set(inspect(conn).get_table_names())
            if VERSION_TABLE in names:
                rev = conn.scalar(select(_VERSIONS.c.version_num))
                if rev == HEAD_REVISION:
                    return
            elif not names & set(Base.metadata.tables):
                Base.metadata.create_all(conn)
                _VERSIONS.create(conn)
                conn.execute(insert(_VERSIONS).values(version_num=HEAD_REVISION))
                return
    finally:
        engine.dispose()
    try:
        migrate(url)
    except Exception as exc:
        from alembic.util import CommandError  # loaded by migrate

        if isinstance(exc, CommandError):
            raise SchemaError(str(exc)) from exc
        raise


def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the database at ``url`` to ``revision`` with the repository's Alembic scripts
    (alembic/env.py reads the URL from the config attributes)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    cfg.attributes["url"] = url
    command.upgrade(cfg, revision)


# Queries shared by several Store methods (each runs inside the caller's transaction).


def head_id(s: Session) -> int:
    """The newest commit id, 0 when there is none."""
    return int(s.scalar(select(func.coalesce(func.max(CommitRow.id), 0))) or 0)


def snapshot_at_or_before(s: Session, commit_id: int) -> tuple[int, str] | None:
    stmt = (
        select(SnapshotRow.commit_id, SnapshotRow.tree)
        .where(SnapshotRow.commit_id <= commit_id)
        .order_by(SnapshotRow.commit_id.desc())
        .limit(1)
    )
    row = s.execute(stmt).first()
    return None if row is None else (row[0], row[1])


def changes_between(s: Session, a: int, b: int) -> list[tuple[int, str]]:
    """Change sets of commits a+1 .. b, ascending."""
    stmt = (
        select(CommitRow.id, CommitRow.changes)
        .where(CommitRow.id > a, CommitRow.id <= b)
        .order_by(CommitRow.id)
    )
    return [(i, c) for i, c in s.execute(stmt)]


def commit_by_label(s: Session, label: str) -> int | None:
    return s.scalar(select(CommitRow.id).where(CommitRow.label == label))
