"""SQLite connections and transactions: WAL, synchronous=FULL, one connection per thread.

sqlite-utils wraps each connection. Connections are opened in autocommit mode so that our
``transaction()`` can say ``BEGIN IMMEDIATE``: a read-then-write takes the write lock first, so
two threads (or two processes) never both decide to insert the same delivery. sqlite-utils'
own writes (``insert``, ``update``, ``db.atomic()``) nest inside it as savepoints.

Migrations are sqlite-utils' named :class:`~sqlite_utils.migrations.Migrations`, applied
inside one ``BEGIN IMMEDIATE`` (see :meth:`Database.migrate`).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils
from sqlite_utils.migrations import Migrations

from bot.errors import StoreError

BUSY_TIMEOUT_MS = 10_000

#: where the hand-written runner before sqlite-utils' migrations recorded applied names
LEGACY_MIGRATIONS_TABLE = "_migrations"


class Database:
    """A SQLite file shared by threads, each with its own connection."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    @property
    def db(self) -> sqlite_utils.Database:
        """This thread's sqlite-utils database, opened on first use."""
        db = getattr(self._local, "db", None)
        if db is None:
            try:
                # check_same_thread=False only so close() can close every thread's connection.
                conn = sqlite3.connect(
                    self.path,
                    isolation_level=None,
                    timeout=BUSY_TIMEOUT_MS / 1000,
                    check_same_thread=False,
                )
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = FULL")
                conn.execute("PRAGMA foreign_keys = ON")
            except sqlite3.Error as exc:
                raise StoreError(f"cannot open the database {self.path}: {exc}") from exc
            db = sqlite_utils.Database(conn)
            self._local.db = db
            with self._lock:
                self._all.append(conn)
        return db

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; rolls back on any exception."""
        db = self.db
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot lock the database {self.path}: {exc}") from exc
        try:
            yield db
        except BaseException:
            db.conn.rollback()
            raise
        try:
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            db.conn.rollback()
            raise StoreError(f"cannot commit to the database {self.path}: {exc}") from exc

    def migrate(self, migrations: Migrations) -> list[str]:
        """Apply the named migrations not applied yet; returns their names.

        Everything happens in one ``BEGIN IMMEDIATE``: sqlite-utils' ``apply`` would start a
        plain ``BEGIN`` per migration after reading what is pending outside any lock, so two
        processes starting together could both run one. Under our write lock the second
        waits, then finds nothing pending; each migration still runs in its own savepoint
        (``db.atomic()`` nests), and a failing one rolls the whole start-up back.
        """
        with self.transaction() as db:
            migrations.ensure_migrations_table(db)
            _adopt_legacy_record(db, migrations)
            before = [m.name for m in migrations.pending(db)]
            migrations.apply(db)
            still = {m.name for m in migrations.pending(db)}
        return [name for name in before if name not in still]

    def close(self) -> None:
        """Close every connection opened by any thread."""
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._local = threading.local()


def _adopt_legacy_record(db: sqlite_utils.Database, migrations: Migrations) -> None:
    """Record as applied what the old runner's ``_migrations`` table says was applied.

    The old table is left in place, untouched: an older build reopening this file still
    finds its record and re-runs nothing.
    """
    if not db.table(LEGACY_MIGRATIONS_TABLE).exists():
        return
    done = {m.name for m in migrations.applied(db)}
    adopted = [
        {"migration_set": migrations.name, "name": row["name"], "applied_at": row["applied_at"]}
        for row in db.query(
            f"SELECT name, applied_at FROM {LEGACY_MIGRATIONS_TABLE} ORDER BY rowid"
        )
        if row["name"] not in done
    ]
    db.table(migrations.migrations_table).insert_all(adopted)
