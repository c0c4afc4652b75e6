"""Rows read by column name, and what every part of the ledger shares.

Reads return :class:`sqlite3.Row` (indexed by name) rather than ``db.query()`` dicts: the
outbox reads thousands of rows per claim inside its write lock, and ``db.query()`` wraps
each read in a savepoint and builds a dict per row (claiming 3,000 rows: ~190 ms with dicts,
~140 ms with ``sqlite3.Row``, ~115 ms with tuples on this machine).

Each ``*_COLUMNS`` list and the decoder beside it name the same columns, so adding a column
means adding one name to a tuple and one keyword to a decoder: nothing is counted.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import sqlite_utils

from bot.store.db import Database
from bot.store.models import Clock, Delivery, Mute, Route, StoredAlert, from_iso

T = TypeVar("T")

#: SQLite's default limit on bound parameters is 999 in old builds: chunk lists below that
CHUNK = 500

#: alert columns, read from ``alerts a`` as ``alert_<name>`` so they can sit beside a delivery's
ALERT_FIELDS = (
    "id",
    "vehicle_id",
    "vin",
    "type",
    "severity",
    "active",
    "started_at",
    "end_at",
    "updated_at",
    "payload",
)
ALERT_COLUMNS = ", ".join(f"a.{name} AS alert_{name}" for name in ALERT_FIELDS)

#: delivery columns, read from ``deliveries d`` (``alert_id`` comes from the alert's columns)
DELIVERY_FIELDS = (
    "id",
    "channel",
    "state",
    "attempts",
    "slack_ts",
    "digest",
    "update_pending",
    "acked_by",
    "acked_at",
    "batch",
    "last_error",
    "created_at",
    "was_held",
    "strikes",
    "update_attempts",
)
DELIVERY_COLUMNS = ", ".join(f"d.{name}" for name in DELIVERY_FIELDS)

ROUTE_COLUMNS = (
    "id, channel, min_severity, types, vins, created_by, parked_reason, "
    "escalate_seconds, escalate_to"
)
MUTE_COLUMNS = "id, vin, until, types, include_critical, muted_by, muted_at"


class LedgerPart:
    """One table's share of :class:`~bot.store.ledger.Ledger`: it holds no state of its own."""

    database: Database
    clock: Clock


def rows(db: sqlite_utils.Database, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
    """Every row of a query, each readable by column name."""
    cursor = db.conn.cursor()
    cursor.row_factory = sqlite3.Row
    return cursor.execute(sql, args).fetchall()


def one(db: sqlite_utils.Database, sql: str, args: Sequence[Any] = ()) -> sqlite3.Row | None:
    """The first row of a query by column name, or None."""
    found = rows(db, sql, args)
    return found[0] if found else None


def chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    """``items`` in slices small enough to bind as SQL parameters."""
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def marks(items: Sequence[Any]) -> str:
    """One ``?`` per item, for ``IN (…)``."""
    return ",".join("?" * len(items))


def json_list(values: Sequence[str] | None) -> str | None:
    """A filter list as stored (a JSON array), None for "any"."""
    return json.dumps(list(values)) if values else None


def json_tuple(text: str | None) -> tuple[str, ...] | None:
    """What :func:`json_list` stored, back as a tuple."""
    return tuple(json.loads(text)) if text else None


def stored_alert(row: sqlite3.Row) -> StoredAlert:
    """An alert from a row selected with :data:`ALERT_COLUMNS`."""
    return StoredAlert(
        id=row["alert_id"],
        vehicle_id=row["alert_vehicle_id"],
        vin=row["alert_vin"],
        type=row["alert_type"] or "",
        severity=row["alert_severity"],
        active=bool(row["alert_active"]),
        started_at=from_iso(row["alert_started_at"]),
        end_at=from_iso(row["alert_end_at"]),
        updated_at=from_iso(row["alert_updated_at"]),
        payload=json.loads(row["alert_payload"]) if row["alert_payload"] else {},
    )


def delivery(row: sqlite3.Row) -> Delivery:
    """A delivery from a row selected with :data:`DELIVERY_COLUMNS` and :data:`ALERT_COLUMNS`."""
    return Delivery(
        id=row["id"],
        channel=row["channel"],
        state=row["state"],
        attempts=row["attempts"],
        slack_ts=row["slack_ts"],
        digest=bool(row["digest"]),
        update_pending=bool(row["update_pending"]),
        acked_by=row["acked_by"],
        acked_at=from_iso(row["acked_at"]),
        batch=row["batch"],
        last_error=row["last_error"],
        created_at=dt.datetime.fromisoformat(row["created_at"]),
        held_by_mute=bool(row["was_held"]),
        strikes=row["strikes"],
        update_attempts=row["update_attempts"],
        alert=stored_alert(row),
    )


def route(row: sqlite3.Row) -> Route:
    """A route from a row selected with :data:`ROUTE_COLUMNS`."""
    return Route(
        id=row["id"],
        channel=row["channel"],
        min_severity=row["min_severity"],
        types=json_tuple(row["types"]),
        vins=json_tuple(row["vins"]),
        created_by=row["created_by"],
        parked_reason=row["parked_reason"],
        escalate_every=(
            dt.timedelta(seconds=row["escalate_seconds"]) if row["escalate_seconds"] else None
        ),
        escalate_to=row["escalate_to"],
    )


def mute(row: sqlite3.Row) -> Mute:
    """A mute from a row selected with :data:`MUTE_COLUMNS`."""
    return Mute(
        id=row["id"],
        vin=row["vin"],
        until=dt.datetime.fromisoformat(row["until"]),
        types=json_tuple(row["types"]),
        include_critical=bool(row["include_critical"]),
        muted_by=row["muted_by"],
        muted_at=dt.datetime.fromisoformat(row["muted_at"]),
    )
