"""The schema, as named migrations applied in order at start-up (never edit one once shipped).

:data:`STEPS` is the list, :data:`MIGRATIONS` the sqlite-utils migration set built from it
(recorded in ``_sqlite_migrations``; databases from before it keep their ``_migrations``
record, adopted by :meth:`bot.store.db.Database.migrate`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlite_utils
from sqlite_utils.migrations import Migrations

Step = tuple[str, Callable[[sqlite_utils.Database], None]]

#: the name our migrations are recorded under in ``_sqlite_migrations``
MIGRATION_SET = "fleetbot"


def _initial(db: sqlite_utils.Database) -> None:
    # The fleet directory, refreshed from the API; labels are admin aliases and outlive refreshes.
    db.execute(
        """CREATE TABLE vehicles (
            id TEXT PRIMARY KEY, vin TEXT NOT NULL UNIQUE, brand TEXT, model TEXT,
            energy TEXT, payload TEXT, refreshed_at TEXT)"""
    )
    db.execute(
        """CREATE TABLE vehicle_labels (
            vin TEXT PRIMARY KEY, label TEXT NOT NULL UNIQUE COLLATE NOCASE,
            set_by TEXT, set_at TEXT)"""
    )
    # Channel <- alerts: min severity rank, optional type and VIN lists (JSON arrays).
    db.execute(
        """CREATE TABLE routes (
            id INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL,
            min_severity INTEGER NOT NULL DEFAULT 0, types TEXT, vins TEXT,
            created_by TEXT, created_at TEXT, parked_at TEXT, parked_reason TEXT)"""
    )
    db.execute("CREATE INDEX routes_channel ON routes(channel)")
    db.execute(
        """CREATE TABLE mutes (
            vin TEXT PRIMARY KEY, until TEXT NOT NULL, muted_by TEXT, muted_at TEXT)"""
    )
    # Per-vehicle poll cursor: alerts updated before `since` have been seen.
    db.execute("CREATE TABLE cursors (vehicle_id TEXT PRIMARY KEY, since TEXT, polled_at TEXT)")
    # Every alert we have seen, as last seen: lets us notice when an alert ends.
    db.execute(
        """CREATE TABLE alerts (
            id TEXT PRIMARY KEY, vehicle_id TEXT, vin TEXT, type TEXT, severity TEXT,
            active INTEGER NOT NULL, started_at TEXT, end_at TEXT, updated_at TEXT,
            payload TEXT, source TEXT, first_seen_at TEXT)"""
    )
    db.execute("CREATE INDEX alerts_vin ON alerts(vin, active)")
    # The outbox and delivery ledger: one row per alert and channel, never two.
    db.execute(
        """CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            alert_id TEXT NOT NULL REFERENCES alerts(id), channel TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
            batch TEXT, slack_ts TEXT, digest INTEGER NOT NULL DEFAULT 0,
            update_pending INTEGER NOT NULL DEFAULT 0,
            acked_by TEXT, acked_at TEXT,
            created_at TEXT NOT NULL, sent_at TEXT, next_attempt_at TEXT,
            UNIQUE (alert_id, channel))"""
    )
    db.execute("CREATE INDEX deliveries_state ON deliveries(state, channel)")
    db.execute("CREATE INDEX deliveries_message ON deliveries(channel, slack_ts)")
    db.execute(
        """CREATE TABLE monitors (
            id TEXT PRIMARY KEY, callback TEXT, created_by TEXT, created_at TEXT)"""
    )
    # Small facts: last poll, quota seen, notices already sent (so admins are told once).
    db.execute("CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT, updated_at TEXT)")


def _claimed_at(db: sqlite_utils.Database) -> None:
    # When a row went to `sending`: reconciliation leaves fresh ones alone, since Slack may
    # still be processing a post whose answer we did not wait for.
    db.execute("ALTER TABLE deliveries ADD COLUMN claimed_at TEXT")


def _holds_and_retries(db: sqlite_utils.Database) -> None:
    # Deliveries gain two states: `held` (a mute holds the alert back until `held_by` ends) and
    # `closed` (held, but the alert ended before the mute did: recorded, never posted). SQLite
    # cannot change a CHECK constraint in place, so the table is rebuilt with its rows.
    # `strikes` counts unrecognised Slack errors (retried, then failed); `update_attempts` and
    # `next_update_at` back off an in-place edit that keeps failing; `was_held` makes the
    # message say that a mute held it.
    db.execute(
        """CREATE TABLE deliveries_v3 (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            alert_id TEXT NOT NULL REFERENCES alerts(id), channel TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('held', 'pending', 'sending', 'sent', 'failed', 'closed')),
            attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
            batch TEXT, slack_ts TEXT, digest INTEGER NOT NULL DEFAULT 0,
            update_pending INTEGER NOT NULL DEFAULT 0,
            acked_by TEXT, acked_at TEXT,
            created_at TEXT NOT NULL, sent_at TEXT, next_attempt_at TEXT, claimed_at TEXT,
            held_by INTEGER, was_held INTEGER NOT NULL DEFAULT 0,
            strikes INTEGER NOT NULL DEFAULT 0,
            update_attempts INTEGER NOT NULL DEFAULT 0, next_update_at TEXT,
            UNIQUE (alert_id, channel))"""
    )
    db.execute(
        """INSERT INTO deliveries_v3 (id, alert_id, channel, state, attempts, last_error, batch,
            slack_ts, digest, update_pending, acked_by, acked_at, created_at, sent_at,
            next_attempt_at, claimed_at)
        SELECT id, alert_id, channel, state, attempts, last_error, batch, slack_ts, digest,
            update_pending, acked_by, acked_at, created_at, sent_at, next_attempt_at, claimed_at
        FROM deliveries"""
    )
    db.execute("DROP TABLE deliveries")
    db.execute("ALTER TABLE deliveries_v3 RENAME TO deliveries")
    db.execute("CREATE INDEX deliveries_state ON deliveries(state, channel)")
    db.execute("CREATE INDEX deliveries_message ON deliveries(channel, slack_ts)")
    db.execute("CREATE INDEX alerts_vehicle ON alerts(vehicle_id, active)")
    # Several mutes per vehicle, each with optional types (JSON array) and an `all` flag.
    # A mute from before could only silence the whole vehicle: it is carried over as one, and
    # Critical alerts get through it, as the contract now says of any mute without `all`.
    db.execute(
        """CREATE TABLE mutes_v3 (
            id INTEGER PRIMARY KEY AUTOINCREMENT, vin TEXT NOT NULL, until TEXT NOT NULL,
            types TEXT, include_critical INTEGER NOT NULL DEFAULT 0,
            muted_by TEXT, muted_at TEXT)"""
    )
    db.execute(
        """INSERT INTO mutes_v3 (vin, until, muted_by, muted_at)
        SELECT vin, until, muted_by, coalesce(muted_at, until) FROM mutes"""
    )
    db.execute("DROP TABLE mutes")
    db.execute("ALTER TABLE mutes_v3 RENAME TO mutes")
    db.execute("CREATE INDEX mutes_vin ON mutes(vin, until)")


def _followups_and_escalation(db: sqlite_utils.Database) -> None:
    # A route may escalate: an unacknowledged alert it posted gets a reminder every
    # `escalate_seconds`, mentioning `escalate_to` (Slack's own mention markup, kept as given).
    db.execute("ALTER TABLE routes ADD COLUMN escalate_seconds INTEGER")
    db.execute("ALTER TABLE routes ADD COLUMN escalate_to TEXT")
    # The follow-up outbox: replies in an alert message's thread (ack, mute, unmute, ended,
    # reminder), each posted exactly once: pending → sending → sent | failed | cancelled; a row
    # left in `sending` is looked up in the thread (conversations.replies) before any re-post.
    db.execute(
        """CREATE TABLE followups (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            alert_id TEXT NOT NULL, channel TEXT NOT NULL, kind TEXT NOT NULL,
            n INTEGER NOT NULL, thread_ts TEXT NOT NULL, text TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'cancelled')),
            attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, slack_ts TEXT,
            created_at TEXT NOT NULL, claimed_at TEXT, sent_at TEXT, next_attempt_at TEXT,
            UNIQUE (alert_id, channel, kind, n))"""
    )
    db.execute("CREATE INDEX followups_state ON followups(state, channel)")


def _sites(db: sqlite_utils.Database) -> None:
    # Named places (depots, customers) that positions are told relative to. `name_key` is the
    # casefolded name: names are unique whatever their case, and looked up that way.
    db.execute(
        """CREATE TABLE sites (
            id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,
            name_key TEXT NOT NULL UNIQUE, lat REAL NOT NULL, lon REAL NOT NULL,
            radius_m INTEGER NOT NULL, created_by TEXT, created_at TEXT NOT NULL)"""
    )


def _fleet_reports(db: sqlite_utils.Database) -> None:
    # The daily report's outbox: one row per channel and local day, never two. `file_id` is the
    # chart once uploaded, so a retry after a crash posts the same file instead of uploading again.
    db.execute(
        """CREATE TABLE reports (
            channel TEXT NOT NULL, day TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
            file_id TEXT, slack_ts TEXT, requested_by TEXT, attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT, created_at TEXT NOT NULL, claimed_at TEXT, sent_at TEXT,
            PRIMARY KEY (channel, day))"""
    )
    # One daily report per channel, at a local wall-clock time (FLEETBOT_TIMEZONE).
    db.execute(
        """CREATE TABLE report_schedules (
            channel TEXT PRIMARY KEY, at TEXT NOT NULL, created_by TEXT, created_at TEXT)"""
    )


STEPS: list[Step] = [
    ("0001_initial", _initial),
    ("0002_deliveries_claimed_at", _claimed_at),
    ("0003_holds_and_retries", _holds_and_retries),
    ("0004_followups_and_escalation", _followups_and_escalation),
    ("0005_sites", _sites),
    ("0006_fleet_reports", _fleet_reports),
]


def migration_set(steps: Sequence[Step]) -> Migrations:
    """The sqlite-utils migration set applying ``steps`` in order, each under its name."""
    migrations = Migrations(MIGRATION_SET)
    for name, step in steps:
        migrations(name=name)(step)
    return migrations


MIGRATIONS = migration_set(STEPS)
