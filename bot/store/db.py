"""SQLite connections and transactions: WAL, synchronous=FULL, one connection per thread.

sqlite-utils wraps each connection. Connections are opened in autocommit mode so that our
``transaction()`` can say ``BEGIN IMMEDIATE``: a read-then-write takes the write lock first, so
two threads (or two processes) never both decide to insert the same delivery.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import sqlite_utils

from bot.errors import StoreError

BUSY_TIMEOUT_MS = 10_000

Migration = tuple[str, Callable[[sqlite_utils.Database], None]]


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

    def migrate(self, migrations: list[Migration]) -> list[str]:
        """Apply the named migrations not applied yet, each in its own transaction."""
        applied: list[str] = []
        with self.transaction() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)"
            )
        for name, migration in migrations:
            with self.transaction() as db:
                done = db.execute("SELECT 1 FROM _migrations WHERE name = ?", [name]).fetchone()
                if done:
                    continue
                migration(db)
                db.execute(
                    "INSERT INTO _migrations (name, applied_at) VALUES (?, datetime('now'))", [name]
                )
                applied.append(name)
        return applied

    def close(self) -> None:
        """Close every connection opened by any thread."""
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._local = threading.local()
