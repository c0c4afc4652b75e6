"""Alerts and poll cursors: ingest (which queues the outbox in the same transaction) and pruning.

Ingest writes alerts and deliveries with raw SQL and named parameters: it holds the write
lock for a whole poll's alerts, and sqlite-utils' ``insert``/``update`` read the schema (and
``update`` the row) again on every call, 5 to 10 times slower here (1,000 known alerts: ~45 ms raw,
~500 ms through ``table.update``). The ``INSERT OR IGNORE`` into ``deliveries`` also needs
its row count (was a row queued?), which ``insert(ignore=True)`` does not report. Pruning's
statements are set operations over several tables. Cursors go through ``upsert_all``.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Container, Iterable, Mapping
from typing import Any

import sqlite_utils

from bot.store.models import Destination, IngestResult, Router, StoredAlert, from_iso, iso
from bot.store.rows import ALERT_COLUMNS, LedgerPart, chunks, marks, one, rows, stored_alert

#: an ended alert is remembered this much longer than any poll window could reach back
WINDOW_MARGIN = dt.timedelta(days=1)


class AlertsPart(LedgerPart):
    """The ``alerts`` and ``cursors`` tables."""

    def ingest(
        self,
        alerts: Iterable[StoredAlert],
        route: Router,
        *,
        cursors: Mapping[str, dt.datetime] | None = None,
        baseline: Container[str | None] = (),
        source: str = "poll",
    ) -> IngestResult:
        """Record alerts, queue one delivery per routed channel, move cursors: all or nothing.

        ``baseline`` names vehicles seen for the first time: their alerts that have already
        ended are recorded but not posted (on first start only what is active matters). Any
        other new alert is posted, ended or not; an alert we knew as active that has now
        ended marks its messages for an in-place update. A router's :class:`Destination`
        with ``held_by`` queues the row ``held`` by that mute instead of pending.

        Replays and out-of-order events never move an alert back: an ended alert stays ended,
        and a record whose ``updated_at`` is older than the one we hold changes nothing.
        Records the ledger already holds unchanged (see :meth:`_changed`) are left out before
        the write lock is taken: a poll returns every still-active alert each cycle.
        """
        now = iso(self.clock())
        new = ended = queued = held = stale = 0
        batch = self._changed(list(alerts))
        with self.database.transaction() as db:
            for alert in batch:
                known = one(db, "SELECT active, updated_at FROM alerts WHERE id = ?", [alert.id])
                values = _alert_values(alert)
                if known is None:
                    db.execute(_INSERT_ALERT, {**values, "source": source, "first_seen_at": now})
                    new += 1
                    if alert.ended and alert.vehicle_id in baseline:
                        continue
                    for dest in _destinations(route(alert)):
                        cur = db.execute(
                            _QUEUE_DELIVERY,
                            {
                                "alert_id": alert.id,
                                "channel": dest.channel,
                                "created_at": now,
                                "state": "pending" if dest.held_by is None else "held",
                                "held_by": dest.held_by,
                            },
                        )
                        if dest.held_by is None:
                            queued += cur.rowcount
                        else:
                            held += cur.rowcount
                    continue
                if not known["active"]:
                    continue  # ended stays ended, whatever a replay or a late event says
                held_since = from_iso(known["updated_at"])
                if (
                    not alert.ended
                    and held_since
                    and alert.updated_at
                    and alert.updated_at < held_since
                ):
                    stale += 1  # older than what we hold (out of order, or replayed)
                    continue
                if alert.ended:
                    ended += 1
                    db.execute(
                        "UPDATE deliveries SET update_pending = 1 WHERE alert_id = ?", [alert.id]
                    )
                db.execute(_UPDATE_ALERT, values)
            if cursors:
                db.table("cursors").upsert_all(
                    [
                        {"vehicle_id": vehicle_id, "since": iso(since), "polled_at": now}
                        for vehicle_id, since in cursors.items()
                    ],
                    pk="vehicle_id",
                )
        return IngestResult(new, ended, queued, held, stale)

    def _changed(self, batch: list[StoredAlert]) -> list[StoredAlert]:
        """The records of ``batch`` whose write may change something (one read per batch).

        Left out: records of a stored alert that has ended (it stays ended), and records
        of a stored open alert with the same ``updated_at`` (known), ``end_at`` and state.
        A first sighting, an end or a newer update is always kept. Read outside the
        transaction: a row only moves forward (newer update, ended, or pruned once ended), so
        what is skipped on this snapshot would still be a no-op against any later state.
        """
        if not batch:
            return batch
        stored: dict[str, sqlite3.Row] = {}
        ids = [a.id for a in batch]
        for chunk in chunks(ids):
            for row in rows(
                self.database.db,
                f"SELECT id, active, updated_at, end_at FROM alerts WHERE id IN ({marks(chunk)})",
                list(chunk),
            ):
                stored[row["id"]] = row
        return [a for a in batch if a.id not in stored or not _same(stored[a.id], a)]

    def alert(self, alert_id: str) -> StoredAlert | None:
        """One alert as last seen."""
        row = one(
            self.database.db, f"SELECT {ALERT_COLUMNS} FROM alerts a WHERE id = ?", [alert_id]
        )
        return stored_alert(row) if row else None

    def open_alerts(self, vin: str | None = None) -> list[StoredAlert]:
        """Active alerts, newest first, optionally for one vehicle."""
        sql = f"SELECT {ALERT_COLUMNS} FROM alerts a WHERE active = 1"
        args: list[Any] = []
        if vin:
            sql += " AND vin = ?"
            args.append(vin)
        return [
            stored_alert(r) for r in rows(self.database.db, sql + " ORDER BY started_at DESC", args)
        ]

    def cursors(self) -> dict[str, dt.datetime]:
        """Per-vehicle poll cursors."""
        found = rows(self.database.db, "SELECT vehicle_id, since FROM cursors")
        return {r["vehicle_id"]: dt.datetime.fromisoformat(r["since"]) for r in found if r["since"]}

    def prune(self, older_than: dt.timedelta) -> int:
        """Forget what can no longer matter, in three steps; returns delivery rows deleted.

        1. Delivery rows older than ``older_than`` whose alert has ended and whose message
           needs no more edits (an open alert keeps its rows, and every row of its digest, so
           it still gets its "ended" edit however long it lasts).
        2. Ended alerts left without rows keep their id as a tombstone (payload dropped).
        3. A tombstone goes only once no poll can return its alert again: the poller asks each
           vehicle from its cursor, reaching back to its oldest open alert, and the API may
           return any alert whose life overlaps that window (see ``poller.query_since``).
           A vehicle without a cursor is polled as new, where ended alerts are never posted.
        Expired mutes that hold nothing go too, and settled thread replies of pruned rows.
        """
        now = self.clock()
        cutoff = iso(now - older_than)
        with self.database.transaction() as db:
            # A digest is redrawn whole from its rows: they go together, or the redrawn
            # message would drop the pruned alerts (and their metadata).
            cur = db.execute(
                """DELETE FROM deliveries WHERE state IN ('sent', 'failed', 'closed')
                AND update_pending = 0 AND coalesce(sent_at, created_at) < ?
                AND alert_id IN (SELECT id FROM alerts WHERE active = 0)
                AND NOT EXISTS (SELECT 1 FROM deliveries o JOIN alerts oa ON oa.id = o.alert_id
                    WHERE deliveries.slack_ts IS NOT NULL AND o.channel = deliveries.channel
                    AND o.slack_ts = deliveries.slack_ts
                    AND (oa.active = 1 OR o.update_pending = 1))""",
                [cutoff],
            )
            # Thread replies are settled history once their message's rows are gone (pending
            # and unsure ones stay, so none is lost or posted twice).
            db.execute(
                """DELETE FROM followups WHERE state IN ('sent', 'failed', 'cancelled')
                AND NOT EXISTS (SELECT 1 FROM deliveries d
                    WHERE d.alert_id = followups.alert_id AND d.channel = followups.channel)"""
            )
            ended = "coalesce(end_at, updated_at, first_seen_at, '')"
            db.execute(
                f"""UPDATE alerts SET payload = NULL WHERE active = 0 AND payload IS NOT NULL
                AND {ended} < ? AND id NOT IN (SELECT alert_id FROM deliveries)""",
                [cutoff],
            )
            floors = _window_floors(db)
            lowest = min(floors.values(), default=None)
            gone: list[str] = []
            for row in rows(
                db,
                f"""SELECT id, vehicle_id, {ended} AS ended_at FROM alerts
                WHERE active = 0 AND {ended} < ? AND id NOT IN (SELECT alert_id FROM deliveries)""",
                [cutoff],
            ):
                floor = floors.get(row["vehicle_id"]) if row["vehicle_id"] else lowest
                if floor is None or row["ended_at"] < floor:
                    gone.append(row["id"])
            for chunk in chunks(gone):
                db.execute(f"DELETE FROM alerts WHERE id IN ({marks(chunk)})", list(chunk))
            db.execute(
                """DELETE FROM mutes WHERE until < ? AND id NOT IN
                (SELECT held_by FROM deliveries WHERE held_by IS NOT NULL)""",
                [cutoff],
            )
        return cur.rowcount


_INSERT_ALERT = """INSERT INTO alerts (id, vehicle_id, vin, type, severity, active, started_at,
    end_at, updated_at, payload, source, first_seen_at)
    VALUES (:id, :vehicle_id, :vin, :type, :severity, :active, :started_at,
    :end_at, :updated_at, :payload, :source, :first_seen_at)"""
_UPDATE_ALERT = """UPDATE alerts SET vehicle_id = :vehicle_id, vin = :vin, type = :type,
    severity = :severity, active = :active, started_at = :started_at, end_at = :end_at,
    updated_at = :updated_at, payload = :payload WHERE id = :id"""
_QUEUE_DELIVERY = """INSERT OR IGNORE INTO deliveries (alert_id, channel, created_at, state,
    held_by) VALUES (:alert_id, :channel, :created_at, :state, :held_by)"""


def _alert_values(alert: StoredAlert) -> dict[str, Any]:
    """An alert's columns as ingest writes them (all but its source and first sighting)."""
    return {
        "id": alert.id,
        "vehicle_id": alert.vehicle_id,
        "vin": alert.vin,
        "type": alert.type,
        "severity": alert.severity,
        "active": int(not alert.ended),
        "started_at": iso(alert.started_at),
        "end_at": iso(alert.end_at),
        "updated_at": iso(alert.updated_at),
        "payload": json.dumps(alert.payload, default=str),
    }


def _same(row: sqlite3.Row, alert: StoredAlert) -> bool:
    """Whether writing ``alert`` over the stored ``row`` is a no-op (see ``_changed``)."""
    if not row["active"]:
        return True  # ended stays ended
    return (
        not alert.ended
        and alert.updated_at is not None
        and row["updated_at"] == iso(alert.updated_at)
        and row["end_at"] == iso(alert.end_at)
    )


def _destinations(routed: Iterable[str | Destination]) -> list[Destination]:
    """A router's answer as destinations, one per channel (the first one wins)."""
    seen: dict[str, Destination] = {}
    for item in routed:
        dest = item if isinstance(item, Destination) else Destination(item)
        seen.setdefault(dest.channel, dest)
    return list(seen.values())


def _window_floors(db: sqlite_utils.Database) -> dict[str, str]:
    """Vehicle id → the earliest moment a poll of it may still ask about (ISO, with margin)."""
    oldest_open = {
        r["vehicle_id"]: r["started"]
        for r in rows(
            db,
            """SELECT vehicle_id, min(started_at) AS started FROM alerts
            WHERE active = 1 AND vehicle_id IS NOT NULL AND started_at IS NOT NULL
            GROUP BY vehicle_id""",
        )
    }
    floors: dict[str, str] = {}
    for r in rows(db, "SELECT vehicle_id, since FROM cursors"):
        reach = min(filter(None, (r["since"], oldest_open.get(r["vehicle_id"]))), default=None)
        if reach:
            floors[r["vehicle_id"]] = iso(dt.datetime.fromisoformat(reach) - WINDOW_MARGIN) or ""
    return floors
