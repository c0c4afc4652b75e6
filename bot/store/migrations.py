"""The schema, as named migrations applied in order at start-up (never edit one once shipped)."""

from __future__ import annotations

import sqlite_utils

from bot.store.db import Migration


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


MIGRATIONS: list[Migration] = [
    ("0001_initial", _initial),
    ("0002_deliveries_claimed_at", _claimed_at),
]
