"""Named migrations (sqlite-utils' ``Migrations``) and the upgrade from the old runner."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import sqlite_utils

from bot.store import Ledger
from bot.store.db import Database
from bot.store.migrations import MIGRATION_SET, MIGRATIONS, STEPS, Step, migration_set

T0 = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.UTC)
#: every migration's name, in order (the list grows; the first three are fixed history)
NAMES = [name for name, _ in STEPS]
assert NAMES[:3] == ["0001_initial", "0002_deliveries_claimed_at", "0003_holds_and_retries"]


def legacy_database(path: Path, steps: Sequence[Step]) -> sqlite_utils.Database:
    """A database as the hand-written runner before sqlite-utils' migrations left it."""
    db = sqlite_utils.Database(sqlite3.connect(path, isolation_level=None))
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    for name, step in steps:
        db.execute("BEGIN IMMEDIATE")
        step(db)
        db.execute("INSERT INTO _migrations (name, applied_at) VALUES (?, datetime('now'))", [name])
        db.execute("COMMIT")
    return db


def spied(steps: Sequence[Step], ran: list[str]) -> list[Step]:
    """The same steps, each noting its name in ``ran`` when it runs."""

    def spy(name: str, step: Callable[[sqlite_utils.Database], None]) -> Step:
        def run(db: sqlite_utils.Database) -> None:
            ran.append(name)
            step(db)

        return name, run

    return [spy(name, step) for name, step in steps]


def recorded(path: Path) -> list[tuple[str, str, str]]:
    """(set, name, applied_at) rows of ``_sqlite_migrations``, in the order applied."""
    db = sqlite_utils.Database(path)
    try:
        return [
            (r["migration_set"], r["name"], r["applied_at"])
            for r in db.query("SELECT * FROM _sqlite_migrations ORDER BY rowid")
        ]
    finally:
        db.close()


def schema(path: Path) -> list[tuple[str, str]]:
    """Every table and index of the file but the migration records, as SQL."""
    db = sqlite_utils.Database(path)
    try:
        return [
            (r["name"], r["sql"])
            for r in db.query(
                """SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL
                AND name NOT LIKE '%migrations%' ORDER BY name"""
            )
        ]
    finally:
        db.close()


def test_migrations_are_named_and_run_once(tmp_path):
    path = tmp_path / "x.db"
    Ledger(path).close()
    ran: list[str] = []
    again = Database(path)
    assert again.migrate(migration_set(spied(STEPS, ran))) == [] and ran == []
    again.close()
    assert [(s, n) for s, n, _ in recorded(path)] == [(MIGRATION_SET, n) for n in NAMES]
    fresh = sqlite_utils.Database(path)
    assert "_migrations" not in fresh.table_names()  # a new file has only the new record
    fresh.close()


def test_a_database_from_the_old_runner_upgrades_without_running_anything_again(tmp_path):
    path = tmp_path / "old.db"
    old = legacy_database(path, STEPS)
    old.execute(
        """INSERT INTO alerts (id, vehicle_id, vin, type, severity, active, started_at, payload)
        VALUES ('a1', 'v1', 'VIN1', 'AddWasherFluid', 'Warning', 1, ?, '{"id": "a1"}')""",
        [T0.isoformat()],
    )
    old.execute(
        """INSERT INTO deliveries (alert_id, channel, state, slack_ts, created_at)
        VALUES ('a1', 'C1', 'sent', '1.0001', ?)""",
        [T0.isoformat()],
    )
    old.execute("INSERT INTO routes (channel, min_severity) VALUES ('C1', 1)")
    old.execute("INSERT INTO state (key, value) VALUES ('last_poll', '\"then\"')")
    legacy = [(r["name"], r["applied_at"]) for r in old.query("SELECT * FROM _migrations")]
    old.close()
    before = schema(path)

    ran: list[str] = []
    database = Database(path)
    assert database.migrate(migration_set(spied(STEPS, ran))) == [] and ran == []
    database.close()
    assert recorded(path) == [(MIGRATION_SET, n, at) for n, at in legacy]
    assert schema(path) == before

    ledger = Ledger(path, clock=lambda: T0)
    sent = ledger.delivery("a1", "C1")
    assert sent is not None and (sent.state, sent.slack_ts) == ("sent", "1.0001")
    assert sent.alert.payload == {"id": "a1"}
    assert [(r.channel, r.min_severity) for r in ledger.routes()] == [("C1", 1)]
    assert ledger.get_state("last_poll") == "then"
    ledger.close()

    def next_step(db: sqlite_utils.Database) -> None:
        db.execute("ALTER TABLE routes ADD COLUMN thread_ts TEXT")

    later = Database(path)
    assert later.migrate(migration_set([*STEPS, ("0004_next", next_step)])) == ["0004_next"]
    assert "thread_ts" in later.db.table("routes").columns_dict
    later.close()
    old = sqlite_utils.Database(path)
    assert [r["name"] for r in old.query("SELECT name FROM _migrations")] == NAMES  # untouched
    old.close()


def test_old_single_mutes_are_carried_over_as_whole_vehicle_mutes(tmp_path):
    path = tmp_path / "old.db"
    old = legacy_database(path, STEPS[:2])
    old.execute(
        "INSERT INTO mutes (vin, until, muted_by, muted_at) VALUES (?, ?, ?, ?)",
        ["VIN1", (T0 + dt.timedelta(days=1)).isoformat(), "U1", T0.isoformat()],
    )
    old.close()
    database = Database(path)
    assert database.migrate(MIGRATIONS) == NAMES[2:]
    database.close()
    ledger = Ledger(path, clock=lambda: T0)
    [mute] = ledger.mutes()
    assert (mute.vin, mute.types, mute.include_critical, mute.muted_by) == (
        "VIN1",
        None,
        False,
        "U1",
    )
    ledger.close()


def test_a_failing_migration_changes_nothing_and_stays_pending(tmp_path):
    path = tmp_path / "x.db"
    Ledger(path).close()

    def broken(db: sqlite_utils.Database) -> None:
        db.execute("CREATE TABLE places (id TEXT PRIMARY KEY)")
        raise RuntimeError("migration bug")

    database = Database(path)
    with pytest.raises(RuntimeError, match="migration bug"):
        database.migrate(migration_set([*STEPS, ("0004_places", broken)]))
    assert not database.db.table("places").exists()
    assert [n for _, n, _ in recorded(path)] == NAMES

    def fixed(db: sqlite_utils.Database) -> None:
        db.execute("CREATE TABLE places (id TEXT PRIMARY KEY)")

    assert database.migrate(migration_set([*STEPS, ("0004_places", fixed)])) == ["0004_places"]
    database.close()


def test_processes_starting_together_apply_each_migration_once(tmp_path):
    path = tmp_path / "x.db"
    ran: list[str] = []
    results: list[list[str]] = []
    errors: list[BaseException] = []
    gate = threading.Barrier(4)

    def start() -> None:
        database = Database(path)  # one file, separate connections: like separate processes
        try:
            gate.wait()
            results.append(database.migrate(migration_set(spied(STEPS, ran))))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            database.close()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert ran == NAMES
    assert sorted(results) == [[], [], [], NAMES]


def test_routes_gain_escalation_and_the_followup_outbox_is_unique(tmp_path: Path) -> None:
    """0004: a route from before keeps its filters and does not escalate; a follow-up is
    queued once per (alert, channel, kind, n)."""
    path = tmp_path / "old.db"
    old = legacy_database(path, STEPS[:3])
    old.execute("INSERT INTO routes (channel, min_severity) VALUES ('C1', 2)")
    old.close()
    ledger = Ledger(path, clock=lambda: T0)
    [route] = ledger.routes()
    assert route.min_severity == 2 and route.escalate_every is None and route.escalate_to is None
    first = ledger.queue_followup("A1", "C1", "reminder", "hi", thread_ts="1.0", n=1)
    assert first is not None and first.n == 1
    assert ledger.queue_followup("A1", "C1", "reminder", "again", thread_ts="1.0", n=1) is None
    assert [f.text for f in ledger.followups("A1")] == ["hi"]
    ledger.close()
