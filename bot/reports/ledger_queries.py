"""Read-only ledger queries the report needs and :class:`~bot.store.Ledger` does not offer.

Plain SQL through the ledger's own connection, rows read by column name. Times are compared as
the text :func:`bot.store.ledger.iso` writes (UTC, milliseconds), which sorts like the instants.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

from bot.psa.models import Position
from bot.reports.day import LedgerAlert
from bot.store import Ledger
from bot.store.ledger import from_iso, iso

_COLUMNS = "a.id, a.vin, a.vehicle_id, a.type, a.severity, a.started_at, a.payload"


def _alerts(ledger: Ledger, where: str, args: list[object]) -> Iterator[LedgerAlert]:
    # `where` is one of this module's fixed fragments; values travel as ? parameters
    sql = f"SELECT {_COLUMNS} FROM alerts a WHERE {where} ORDER BY a.started_at, a.id"  # noqa: S608
    for row in ledger.database.db.query(sql, args):
        yield LedgerAlert(
            id=row["id"],
            vin=row["vin"] or "",
            vehicle_id=row["vehicle_id"],
            type=row["type"] or "",
            severity=row["severity"],
            started_at=from_iso(row["started_at"]),
            position=_start_position(row["payload"]),
        )


def _start_position(payload: str | None) -> Position | None:
    """Where the alert started, from the API's JSON the ledger keeps (None when unreadable)."""
    try:
        data = json.loads(payload or "{}")
    except ValueError:
        return None
    return Position.maybe(data.get("startPosition")) if isinstance(data, dict) else None


def alerts_started(ledger: Ledger, start: dt.datetime, end: dt.datetime) -> list[LedgerAlert]:
    """Alerts whose start lies in [start, end), ended or not."""
    return list(_alerts(ledger, "a.started_at >= ? AND a.started_at < ?", [iso(start), iso(end)]))


def open_unacknowledged(ledger: Ledger) -> list[LedgerAlert]:
    """Alerts still open that nobody has acknowledged in any channel."""
    return list(
        _alerts(
            ledger,
            """a.active = 1 AND a.end_at IS NULL AND NOT EXISTS (
                SELECT 1 FROM deliveries d WHERE d.alert_id = a.id AND d.acked_by IS NOT NULL)""",
            [],
        )
    )
