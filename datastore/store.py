"""Persistence of the transactional datastore: commit log, snapshots, startup, pending confirm.

``Store`` is the only persistence API the datastore uses. It deals in opaque JSON text for
trees and change sets (the caller encodes and decodes them) and hides SQLAlchemy completely:
every database error leaves as ``StoreError``.

Design, and why:

- **Change sets per commit plus occasional snapshots**, not the whole tree per commit: a
  commit costs the size of what changed. Running is rebuilt as the newest snapshot at or
  below head plus the change sets after it (``load_running``); the caller decides when to
  snapshot (``append_commit(..., snapshot=...)`` or ``write_snapshot``), e.g. every N commits.
  Commit 0 is the implicit empty tree, so no snapshot is needed to replay from the start.
- **The commit row is the serialisation point.** Commit ids are assigned by the writer (head
  + 1) and are the primary key: if another writer (another Store, another yangd instance on
  the same PostgreSQL) already took that id, ``append_commit`` raises ``StaleCommitError``
  and the caller must reload and retry or fail the commit. ``serialised()`` is the cluster's
  way (datastore/cluster.py): on PostgreSQL a commit transaction that holds an advisory
  lock from before the commit reads the head until its row is written, so the commits of
  all instances form one sequence and none is ever stale.
- **Durability.** Every write is one transaction. On SQLite the journal is WAL with
  ``synchronous=FULL``: when a write call has returned, the commit is fsynced (it survives
  kill -9 and power loss). PostgreSQL is durable on COMMIT with its default settings.
- **Schema by Alembic.** Opening a store upgrades the database to the newest revision in
  alembic/versions, so a yangd upgrade carries its old history along (a new database is
  created from the mapping, see datastore/db.py ``ensure_schema``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from datastore.db import (
    WRITE_OPTION,
    CommitInfo,
    CommitRecord,
    CommitRow,
    ConfirmRow,
    DatastoreRow,
    MetaRow,
    PendingConfirm,
    SchemaError,
    SnapshotRow,
    changes_between,
    commit_by_label,
    ensure_schema,
    head_id,
    make_engine,
    migrate,
    snapshot_at_or_before,
    sqlite_path,
    utcnow,
)
from datastore.memory import release_memory

if TYPE_CHECKING:
    from datastore._cluster_store import CommitWriter

DEFAULT_URL = "sqlite:////var/lib/yangd/yangd.db"
#: Default number of commits ``prune`` keeps (the configurable history length).
DEFAULT_HISTORY = 100

T = TypeVar("T")

__all__ = [
    "DEFAULT_HISTORY",
    "DEFAULT_URL",
    "CommitInfo",
    "CommitRecord",
    "LabelExistsError",
    "PendingConfirm",
    "StaleCommitError",
    "Store",
    "StoreError",
    "migrate",
]


#: A commit or snapshot whose JSON is at least this long returns freed memory to the OS.
LARGE_WRITE = 256 * 1024


class StoreError(Exception):
    """Any failure of the persistence layer (database unreachable, bad URL, constraint...)."""


class StaleCommitError(StoreError):
    """The commit id is no longer head + 1: another writer committed first. Reload, retry."""


class LabelExistsError(StoreError):
    """A commit label must be unique among the kept commits."""


class Store:
    """The commit log and persisted datastores on SQLite (default) or PostgreSQL.

    Thread-safe: every call uses its own session and transaction from the engine's pool.
    """

    def __init__(self, url: str = DEFAULT_URL) -> None:
        self.url = url
        with _translate(f"cannot open the database {_safe(url)}"):
            path = sqlite_path(url)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            ensure_schema(url)
            self._engine = make_engine(url)
        self._read = sessionmaker(
            self._engine.execution_options(
                **({"isolation_level": "REPEATABLE READ"} if path is None else {})
            ),
            expire_on_commit=False,
        )
        self._write = sessionmaker(
            self._engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False
        )
        self._scope: str | None = None
        self.closed = False

    @classmethod
    def open(cls, url: str = DEFAULT_URL) -> Store:
        """Open (creating and upgrading as needed) the store at ``url``."""
        return cls(url)

    def close(self) -> None:
        self.closed = True  # background users (datastore/cluster.py) stop using it
        self._engine.dispose()

    @property
    def is_postgresql(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    @property
    def scope(self) -> str:
        """What names this yangd database among others on one server: PostgreSQL database
        and schema (tests put many in one database), or the SQLite file."""
        if self._scope is None:
            if self.is_postgresql:
                row = self._run(self._read, "reading the schema", lambda s: s.execute(
                    select(func.current_database(), func.current_schema())).one())
                self._scope = f"{row[0]}.{row[1]}"
            else:
                self._scope = str(sqlite_path(self.url))
        return self._scope

    def serialised(self, origin: str = "") -> CommitWriter:
        """The commit transaction in the cluster-wide commit order (see CommitWriter);
        ``origin``: the instance, named in the change notification."""
        from datastore._cluster_store import Channel, CommitWriter, advisory_key, channel_name

        if not self.is_postgresql:
            return CommitWriter(self, None, None)
        return CommitWriter(self, Channel(channel_name(self.scope), origin),
                            advisory_key(self.scope, "commit"))

    def records_between(self, a: int, b: int) -> list[CommitRecord]:
        """Commits a+1 .. b with their change sets, ascending."""
        from datastore._cluster_store import records_between

        return self._run(self._read, "reading commits", lambda s: records_between(s, a, b))

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- running: commits and snapshots ---------------------------------------------------

    def head(self) -> int:
        """The newest commit id, 0 when there is none."""
        return self._run(self._read, "reading the head", head_id)

    def load_running(self) -> tuple[int, str | None, list[tuple[int, str]]]:
        """(head, newest snapshot tree at or below head or None for the empty tree, change
        sets after that snapshot up to head ascending): the caller replays them in order."""

        def work(s: Session) -> tuple[int, str | None, list[tuple[int, str]]]:
            head = head_id(s)
            snap = snapshot_at_or_before(s, head)
            base, tree = snap if snap is not None else (0, None)
            return head, tree, changes_between(s, base, head)

        return self._run(self._read, "loading running", work)

    def append_commit(self, rec: CommitRecord, snapshot: str | None = None) -> None:
        """Insert commit ``rec`` (its id must be head + 1) and optionally the snapshot of
        running after it, in one transaction. Raises StaleCommitError when another writer got
        there first, LabelExistsError when the label is taken."""

        def work(s: Session) -> None:
            head = head_id(s)
            if rec.id != head + 1:
                raise StaleCommitError(f"commit {rec.id} is stale: the head is now {head}")
            if rec.label is not None and commit_by_label(s, rec.label) is not None:
                raise LabelExistsError(f"label {rec.label!r} is already used")
            s.add(
                CommitRow(
                    id=rec.id,
                    time=rec.time,
                    user=rec.user,
                    transport=rec.transport,
                    comment=rec.comment,
                    label=rec.label,
                    changes=rec.changes,
                    confirmed=rec.confirmed,
                )
            )
            if snapshot is not None:
                s.flush()  # the commit row first: the snapshot's foreign key needs it
                s.add(SnapshotRow(commit_id=rec.id, tree=snapshot, created=utcnow()))

        try:
            self._run(self._write, f"appending commit {rec.id}", work, raw_integrity=True)
            if len(rec.changes) >= LARGE_WRITE or len(snapshot or "") >= LARGE_WRITE:
                release_memory()
        except IntegrityError as exc:
            # Lost a race between our head check and the insert (PostgreSQL: the other
            # transaction committed while ours waited on the primary key / unique index).
            if self.commit(rec.id) is not None:
                raise StaleCommitError(f"commit {rec.id} was written by another writer") from exc
            if rec.label is not None and self.by_label(rec.label) is not None:
                raise LabelExistsError(f"label {rec.label!r} is already used") from exc
            raise StoreError(f"appending commit {rec.id}: {_reason(exc)}") from exc

    def write_snapshot(self, commit_id: int, tree_json: str) -> None:
        """Store (or replace) the tree of running after commit ``commit_id``."""

        def work(s: Session) -> None:
            s.merge(SnapshotRow(commit_id=commit_id, tree=tree_json, created=utcnow()))

        self._run(self._write, f"writing the snapshot of commit {commit_id}", work)
        if len(tree_json) >= LARGE_WRITE:
            release_memory()

    def snapshot_at_or_before(self, commit_id: int) -> tuple[int, str] | None:
        """The newest snapshot (commit id, tree) at or below ``commit_id``."""
        return self._run(
            self._read, "reading a snapshot", lambda s: snapshot_at_or_before(s, commit_id)
        )

    def changes_between(self, a: int, b: int) -> list[tuple[int, str]]:
        """Change sets of commits a+1 .. b, ascending."""
        return self._run(self._read, "reading change sets", lambda s: changes_between(s, a, b))

    def commits(self, limit: int | None = None, newest_first: bool = True) -> list[CommitInfo]:
        """Commit metadata (without the change sets) for history listings."""
        order = CommitRow.id.desc() if newest_first else CommitRow.id.asc()
        stmt = (
            select(
                CommitRow.id,
                CommitRow.time,
                CommitRow.user,
                CommitRow.transport,
                CommitRow.comment,
                CommitRow.label,
                CommitRow.confirmed,
                func.length(CommitRow.changes),
            )
            .order_by(order)
            .limit(limit)
        )

        def work(s: Session) -> list[CommitInfo]:
            return [CommitInfo(*row) for row in s.execute(stmt)]

        return self._run(self._read, "listing commits", work)

    def commit(self, commit_id: int) -> CommitRecord | None:
        def work(s: Session) -> CommitRecord | None:
            row = s.get(CommitRow, commit_id)
            if row is None:
                return None
            return CommitRecord(
                row.id, row.time, row.user, row.transport, row.comment, row.label,
                row.changes, row.confirmed,
            )  # fmt: skip

        return self._run(self._read, f"reading commit {commit_id}", work)

    def by_label(self, label: str) -> int | None:
        return self._run(self._read, "looking up a label", lambda s: commit_by_label(s, label))

    def mark_confirmed(self, commit_id: int) -> None:
        """The pending confirmed commit ``commit_id`` was confirmed."""

        def work(s: Session) -> None:
            stmt = update(CommitRow).where(CommitRow.id == commit_id).values(confirmed=True)
            if s.execute(stmt).rowcount == 0:  # type: ignore[attr-defined]
                raise StoreError(f"no commit {commit_id}")

        self._run(self._write, f"confirming commit {commit_id}", work)

    def prune(self, keep: int = DEFAULT_HISTORY) -> int:
        """Drop old history, keeping every commit from the newest ``keep`` reconstructable.

        Let K be the oldest commit to keep: the newest ``keep`` commits, and the pending
        confirmed commit's rollback target too. K is rebuilt from the newest snapshot S at or
        below K plus the change sets S+1 .. K, so commits and snapshots older than S go and
        S and everything after it stay (more than ``keep`` commits remain when S < K; with
        no snapshot at or below K nothing is pruned). The caller therefore writes a snapshot
        every N commits to bound the history to about ``keep + N``. Returns the number of
        commits deleted.
        """
        if keep < 1:
            raise ValueError(f"prune must keep at least one commit, not {keep}")

        def work(s: Session) -> int:
            oldest = head_id(s) - keep + 1
            pending = s.get(ConfirmRow, 1)
            if pending is not None and 0 < pending.rollback_to < oldest:
                oldest = pending.rollback_to
            snap = snapshot_at_or_before(s, oldest) if oldest > 1 else None
            if snap is None:
                return 0
            base = snap[0]
            s.execute(delete(SnapshotRow).where(SnapshotRow.commit_id < base))
            result = s.execute(delete(CommitRow).where(CommitRow.id < base))
            return int(result.rowcount)  # type: ignore[attr-defined]

        return self._run(self._write, "pruning the commit history", work)

    # -- other persisted datastores (startup) ---------------------------------------------

    def get_datastore(self, name: str) -> str | None:
        def work(s: Session) -> str | None:
            row = s.get(DatastoreRow, name)
            return None if row is None else row.tree

        return self._run(self._read, f"reading datastore {name}", work)

    def set_datastore(self, name: str, tree_json: str) -> None:
        def work(s: Session) -> None:
            s.merge(DatastoreRow(name=name, tree=tree_json, updated=utcnow()))

        self._run(self._write, f"writing datastore {name}", work)

    def delete_datastore(self, name: str) -> None:
        def work(s: Session) -> None:
            s.execute(delete(DatastoreRow).where(DatastoreRow.name == name))

        self._run(self._write, f"deleting datastore {name}", work)

    # -- the pending confirmed commit -----------------------------------------------------

    def set_confirm(self, pending: PendingConfirm) -> None:
        """Persist (replacing any) the pending confirmed commit."""
        row = ConfirmRow(
            id=1,
            commit_id=pending.commit_id,
            rollback_to=pending.rollback_to,
            deadline=pending.deadline,
            persist_id=pending.persist_id,
            session_id=pending.session_id,
            armed_by_instance=pending.instance,
        )
        self._run(self._write, "persisting the confirmed commit", lambda s: s.merge(row))

    def get_confirm(self) -> PendingConfirm | None:
        def work(s: Session) -> PendingConfirm | None:
            row = s.get(ConfirmRow, 1)
            if row is None:
                return None
            return PendingConfirm(
                row.commit_id, row.rollback_to, row.deadline, row.persist_id,
                row.session_id, row.armed_by_instance,
            )  # fmt: skip

        return self._run(self._read, "reading the confirmed commit", work)

    def clear_confirm(self) -> None:
        def work(s: Session) -> None:
            s.execute(delete(ConfirmRow))

        self._run(self._write, "clearing the confirmed commit", work)

    # -- meta -------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        def work(s: Session) -> str | None:
            row = s.get(MetaRow, key)
            return None if row is None else row.value

        return self._run(self._read, f"reading meta {key}", work)

    def set_meta(self, key: str, value: str) -> None:
        self._run(
            self._write, f"writing meta {key}", lambda s: s.merge(MetaRow(key=key, value=value))
        )

    # -- plumbing ---------------------------------------------------------------------------

    def run(self, what: str, work: Callable[[Session], T], *, write: bool = False) -> T:
        """``work`` in one transaction, for datastore modules with tables of their own
        (datastore/events.py); errors leave as StoreError, as from every method here."""
        return self._run(self._write if write else self._read, what, work)

    def _translating(self, what: str) -> contextlib.AbstractContextManager[None]:
        """Errors inside leave as StoreError (for datastore modules running their own
        transactions, like datastore/_cluster_store.py)."""
        return _translate(what)

    def _run(
        self,
        factory: sessionmaker[Session],
        what: str,
        work: Callable[[Session], T],
        *,
        raw_integrity: bool = False,
    ) -> T:
        """Run ``work`` in one transaction (committed on success), translating errors."""
        with _translate(what, raw_integrity=raw_integrity), factory.begin() as session:
            return work(session)


@contextmanager
def _translate(what: str, *, raw_integrity: bool = False) -> Iterator[None]:
    try:
        yield
    except StoreError:
        raise
    except IntegrityError as exc:
        if raw_integrity:
            raise
        raise StoreError(f"{what}: {_reason(exc)}") from exc
    except SQLAlchemyError as exc:  # including a naive datetime refused by UTCDateTime
        raise StoreError(f"{what}: {_reason(exc)}") from exc
    except SchemaError as exc:  # Alembic: e.g. the database is newer than this yangd
        raise StoreError(f"{what}: database schema: {exc}") from exc
    except (OSError, ValueError) as exc:  # e.g. the SQLite directory cannot be created
        raise StoreError(f"{what}: {exc}") from exc


def _reason(exc: SQLAlchemyError) -> str:
    """The driver's message without SQLAlchemy's SQL echo and background link."""
    orig: Any = getattr(exc, "orig", None)
    text = str(orig) if orig is not None else str(exc)
    return " ".join(text.split("\n[SQL")[0].split())


def _safe(url: str) -> str:
    """The URL without its password, for error messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except SQLAlchemyError:
        return repr(url)
