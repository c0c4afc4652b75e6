"""The delivery ledger: what Fleetbot knows, what it must post, and what it has posted.

Every method is one transaction. Alerts and the poll cursors that found them commit together,
so a crash either keeps both or neither. Deliveries move pending → sending → sent | failed;
a row left in ``sending`` by a crash is reconciled against Slack before any re-post.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from bot.store.db import Database
from bot.store.migrations import MIGRATIONS

Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    """Now, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


def iso(moment: dt.datetime | None) -> str | None:
    """A UTC ISO-8601 string for the database (sortable as text)."""
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds")


def from_iso(text: str | None) -> dt.datetime | None:
    """Parse what :func:`iso` wrote."""
    return dt.datetime.fromisoformat(text) if text else None


@dataclasses.dataclass(frozen=True)
class StoredAlert:
    """An alert as the ledger keeps it (independent of the API client's models)."""

    id: str
    vehicle_id: str | None
    vin: str
    type: str
    severity: str | None
    active: bool
    started_at: dt.datetime | None = None
    end_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    payload: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def ended(self) -> bool:
        """True once the API says the alert is over."""
        return not self.active or self.end_at is not None


@dataclasses.dataclass(frozen=True)
class Delivery:
    """One alert to post (or posted) in one channel."""

    id: int
    alert: StoredAlert
    channel: str
    state: str
    attempts: int
    slack_ts: str | None
    digest: bool
    update_pending: bool
    acked_by: str | None
    acked_at: dt.datetime | None
    batch: str | None
    last_error: str | None
    created_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class Route:
    """Alerts matching these filters go to ``channel``."""

    id: int
    channel: str
    min_severity: int
    types: tuple[str, ...] | None
    vins: tuple[str, ...] | None
    created_by: str | None
    parked_reason: str | None = None

    @property
    def parked(self) -> bool:
        """A parked route gets nothing until an admin re-subscribes the channel."""
        return self.parked_reason is not None


@dataclasses.dataclass(frozen=True)
class IngestResult:
    """What one call to :meth:`Ledger.ingest` changed."""

    new_alerts: int = 0
    ended_alerts: int = 0
    deliveries: int = 0


Router = Callable[[StoredAlert], Sequence[str]]


class Ledger:
    """Fleetbot's SQLite ledger (see the module docstring)."""

    def __init__(self, path: Path | str, *, clock: Clock = utcnow) -> None:
        self.database = Database(path)
        self.clock = clock
        self.database.migrate(MIGRATIONS)

    @property
    def path(self) -> Path:
        """The SQLite file."""
        return self.database.path

    def close(self) -> None:
        """Close all connections."""
        self.database.close()

    # -- alerts and the outbox ----------------------------------------------------------

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
        ended marks its messages for an in-place update.
        """
        now = iso(self.clock())
        new = ended = queued = 0
        with self.database.transaction() as db:
            for alert in alerts:
                row = db.execute(
                    "SELECT active, end_at FROM alerts WHERE id = ?", [alert.id]
                ).fetchone()
                values = [
                    alert.vehicle_id,
                    alert.vin,
                    alert.type,
                    alert.severity,
                    int(not alert.ended),
                    iso(alert.started_at),
                    iso(alert.end_at),
                    iso(alert.updated_at),
                    json.dumps(alert.payload, default=str),
                ]
                if row is None:
                    db.execute(
                        """INSERT INTO alerts (vehicle_id, vin, type, severity, active, started_at,
                        end_at, updated_at, payload, id, source, first_seen_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                        [*values, alert.id, source, now],
                    )
                    new += 1
                    if alert.ended and alert.vehicle_id in baseline:
                        continue
                    for channel in dict.fromkeys(route(alert)):
                        cur = db.execute(
                            """INSERT OR IGNORE INTO deliveries (alert_id, channel, created_at)
                            VALUES (?, ?, ?)""",
                            [alert.id, channel, now],
                        )
                        queued += cur.rowcount
                    continue
                was_active = bool(row[0])
                if was_active and alert.ended:
                    ended += 1
                    db.execute(
                        "UPDATE deliveries SET update_pending = 1 WHERE alert_id = ?", [alert.id]
                    )
                if was_active or alert.ended is False:
                    db.execute(
                        """UPDATE alerts SET vehicle_id = ?, vin = ?, type = ?, severity = ?,
                        active = ?, started_at = ?, end_at = ?, updated_at = ?, payload = ?
                        WHERE id = ?""",
                        [*values, alert.id],
                    )
            for vehicle_id, since in (cursors or {}).items():
                db.execute(
                    """INSERT INTO cursors (vehicle_id, since, polled_at) VALUES (?, ?, ?)
                    ON CONFLICT(vehicle_id) DO UPDATE SET since = excluded.since,
                    polled_at = excluded.polled_at""",
                    [vehicle_id, iso(since), now],
                )
        return IngestResult(new, ended, queued)

    def alert(self, alert_id: str) -> StoredAlert | None:
        """One alert as last seen."""
        row = self.database.db.execute(
            f"SELECT {_ALERT_COLUMNS} FROM alerts a WHERE id = ?", [alert_id]
        ).fetchone()
        return _alert(row) if row else None

    def open_alerts(self, vin: str | None = None) -> list[StoredAlert]:
        """Active alerts, newest first, optionally for one vehicle."""
        sql = f"SELECT {_ALERT_COLUMNS} FROM alerts a WHERE active = 1"
        args: list[Any] = []
        if vin:
            sql += " AND vin = ?"
            args.append(vin)
        rows = self.database.db.execute(sql + " ORDER BY started_at DESC", args).fetchall()
        return [_alert(r) for r in rows]

    def cursors(self) -> dict[str, dt.datetime]:
        """Per-vehicle poll cursors."""
        rows = self.database.db.execute("SELECT vehicle_id, since FROM cursors").fetchall()
        return {r[0]: from_iso(r[1]) for r in rows if r[1]}  # type: ignore[misc]

    def claim(self, *, limit: int = 500, now: dt.datetime | None = None) -> list[Delivery]:
        """Move due pending rows to ``sending`` under one batch id and return them.

        Rows are taken round-robin across channels (the first of each channel, then the
        second, …) so one busy channel cannot fill the batch and make the others wait.
        Returns them ordered by channel then creation, for grouping per channel.
        """
        batch = uuid.uuid4().hex
        moment = iso(now or self.clock())
        with self.database.transaction() as db:
            ids = [
                r[0]
                for r in db.execute(
                    """SELECT id FROM (
                        SELECT id, channel,
                            row_number() OVER (PARTITION BY channel ORDER BY id) AS turn
                        FROM deliveries WHERE state = 'pending'
                        AND (next_attempt_at IS NULL OR next_attempt_at <= ?))
                    ORDER BY turn, channel LIMIT ?""",
                    [moment, limit],
                )
            ]
            if not ids:
                return []
            marks = ",".join("?" * len(ids))
            db.execute(
                f"""UPDATE deliveries SET state = 'sending', batch = ?, claimed_at = ?,
                attempts = attempts + 1 WHERE id IN ({marks})""",
                [batch, moment, *ids],
            )
        return self._deliveries("d.batch = ?", [batch])

    def stuck_sending(self, *, claimed_before: dt.datetime | None = None) -> list[Delivery]:
        """Rows left in ``sending`` (by a crash or an unknown outcome): reconcile before posting.

        ``claimed_before`` leaves out rows claimed since (their post may still be in flight).
        """
        if claimed_before is None:
            return self._deliveries("d.state = 'sending'", [])
        return self._deliveries(
            "d.state = 'sending' AND coalesce(d.claimed_at, '') <= ?", [iso(claimed_before)]
        )

    def updates_due(self, *, limit: int = 200) -> list[Delivery]:
        """Sent messages whose alert has ended since: edit them in place."""
        return self._deliveries(
            "d.state = 'sent' AND d.update_pending = 1 AND d.slack_ts IS NOT NULL", [], limit=limit
        )

    def mark_sent(self, ids: Sequence[int], *, slack_ts: str, digest: bool = False) -> None:
        """The message is in Slack (seen in the answer, or found by reconciliation)."""
        self._update_many(
            ids,
            "state = 'sent', slack_ts = ?, digest = ?, sent_at = ?, last_error = NULL",
            [slack_ts, int(digest), iso(self.clock())],
        )

    def mark_pending(
        self, ids: Sequence[int], *, error: str, retry_at: dt.datetime | None = None
    ) -> None:
        """Not posted (known for sure): try again, not before ``retry_at``."""
        self._update_many(
            ids, "state = 'pending', last_error = ?, next_attempt_at = ?", [error, iso(retry_at)]
        )

    def mark_failed(self, ids: Sequence[int], *, error: str) -> None:
        """Gave up on these rows; ``last_error`` says why (shown to admins)."""
        self._update_many(ids, "state = 'failed', last_error = ?", [error])

    def reroute(self, ids: Sequence[int], channel: str, *, error: str) -> None:
        """Send these rows to another channel instead (their own channel is unusable).

        A row whose alert is already queued for ``channel`` is marked failed instead.
        """
        with self.database.transaction() as db:
            for delivery_id in ids:
                row = db.execute(
                    "SELECT alert_id FROM deliveries WHERE id = ?", [delivery_id]
                ).fetchone()
                taken = db.execute(
                    "SELECT 1 FROM deliveries WHERE alert_id = ? AND channel = ?", [row[0], channel]
                ).fetchone()
                if taken:
                    db.execute(
                        "UPDATE deliveries SET state = 'failed', last_error = ? WHERE id = ?",
                        [f"{error}; already queued for {channel}", delivery_id],
                    )
                else:
                    db.execute(
                        """UPDATE deliveries SET channel = ?, state = 'pending', last_error = ?,
                        next_attempt_at = NULL WHERE id = ?""",
                        [channel, error, delivery_id],
                    )

    def mark_updated(self, ids: Sequence[int]) -> None:
        """The in-place update after an alert ended went through."""
        self._update_many(ids, "update_pending = 0", [])

    def acknowledge(
        self, alert_id: str, channel: str, user: str, at: dt.datetime | None = None
    ) -> tuple[bool, str | None, dt.datetime | None]:
        """Record who acknowledged; returns (newly acknowledged, by whom, when)."""
        moment = at or self.clock()
        with self.database.transaction() as db:
            row = db.execute(
                "SELECT acked_by, acked_at FROM deliveries WHERE alert_id = ? AND channel = ?",
                [alert_id, channel],
            ).fetchone()
            if row is None:
                # An alert we never recorded (pruned, or posted by another install): keep a
                # closed placeholder so the acknowledgement sticks without showing as open.
                db.execute(
                    """INSERT OR IGNORE INTO alerts (id, vin, active, updated_at)
                    VALUES (?, '', 0, ?)""",
                    [alert_id, iso(moment)],
                )
                db.execute(
                    """INSERT INTO deliveries (alert_id, channel, state, acked_by, acked_at,
                    created_at) VALUES (?, ?, 'sent', ?, ?, ?)""",
                    [alert_id, channel, user, iso(moment), iso(moment)],
                )
                return True, user, moment
            if row[0]:
                return False, row[0], from_iso(row[1])
            db.execute(
                """UPDATE deliveries SET acked_by = ?, acked_at = ?
                WHERE alert_id = ? AND channel = ?""",
                [user, iso(moment), alert_id, channel],
            )
        return True, user, moment

    def deliveries_for_message(self, channel: str, slack_ts: str) -> list[Delivery]:
        """The alerts one Slack message carries (one, or several for a digest)."""
        return self._deliveries("d.channel = ? AND d.slack_ts = ?", [channel, slack_ts])

    def delivery(self, alert_id: str, channel: str) -> Delivery | None:
        """The ledger row for one alert in one channel."""
        rows = self._deliveries("d.alert_id = ? AND d.channel = ?", [alert_id, channel])
        return rows[0] if rows else None

    def counts(self) -> dict[str, int]:
        """Deliveries by state (for status displays and `fleetbot poll`)."""
        rows = self.database.db.execute("SELECT state, count(*) FROM deliveries GROUP BY state")
        return {state: n for state, n in rows}

    def prune(self, older_than: dt.timedelta) -> int:
        """Forget delivered or failed rows (and ended alerts) older than ``older_than``."""
        cutoff = iso(self.clock() - older_than)
        with self.database.transaction() as db:
            cur = db.execute(
                """DELETE FROM deliveries WHERE state IN ('sent', 'failed')
                AND update_pending = 0 AND coalesce(sent_at, created_at) < ?""",
                [cutoff],
            )
            db.execute(
                """DELETE FROM alerts WHERE active = 0 AND coalesce(end_at, updated_at) < ?
                AND id NOT IN (SELECT alert_id FROM deliveries)""",
                [cutoff],
            )
        return cur.rowcount

    def failed(self, limit: int = 50) -> list[Delivery]:
        """Deliveries Slack refused for good, newest first (for `/fleet failed`)."""
        ids = [
            r[0]
            for r in self.database.db.execute(
                """SELECT id FROM deliveries WHERE state = 'failed'
                ORDER BY coalesce(claimed_at, created_at) DESC, id DESC LIMIT ?""",
                [limit],
            )
        ]
        if not ids:
            return []
        found = {d.id: d for d in self._deliveries(f"d.id IN ({','.join('?' * len(ids))})", ids)}
        return [found[i] for i in ids if i in found]

    def retry_failed(self) -> int:
        """Queue every failed delivery again (attempts reset, last error kept); how many."""
        with self.database.transaction() as db:
            return db.execute(
                """UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = NULL
                WHERE state = 'failed'"""
            ).rowcount

    # -- routes, mutes, vehicles ---------------------------------------------------------

    def add_route(
        self,
        channel: str,
        *,
        min_severity: int = 0,
        types: Sequence[str] | None = None,
        vins: Sequence[str] | None = None,
        created_by: str | None = None,
    ) -> Route:
        """Subscribe a channel; a channel has one route, so this replaces its previous one."""
        with self.database.transaction() as db:
            db.execute("DELETE FROM routes WHERE channel = ?", [channel])
            cur = db.execute(
                """INSERT INTO routes (channel, min_severity, types, vins, created_by, created_at)
                VALUES (?, ?, ?, ?, ?, ?)""",
                [
                    channel,
                    min_severity,
                    json.dumps(list(types)) if types else None,
                    json.dumps(list(vins)) if vins else None,
                    created_by,
                    iso(self.clock()),
                ],
            )
            route_id = cur.lastrowid
        return Route(
            int(route_id or 0),
            channel,
            min_severity,
            tuple(types) if types else None,
            tuple(vins) if vins else None,
            created_by,
        )

    def remove_routes(self, channel: str) -> int:
        """Unsubscribe a channel; returns how many routes went."""
        with self.database.transaction() as db:
            return db.execute("DELETE FROM routes WHERE channel = ?", [channel]).rowcount

    def routes(self) -> list[Route]:
        """All routes, parked ones included."""
        rows = self.database.db.execute(
            """SELECT id, channel, min_severity, types, vins, created_by, parked_reason
            FROM routes ORDER BY channel, id"""
        ).fetchall()
        return [
            Route(
                r[0],
                r[1],
                r[2],
                tuple(json.loads(r[3])) if r[3] else None,
                tuple(json.loads(r[4])) if r[4] else None,
                r[5],
                r[6],
            )
            for r in rows
        ]

    def park_route(self, channel: str, reason: str) -> bool:
        """Stop routing to a channel Slack refuses; True if a route was parked just now."""
        with self.database.transaction() as db:
            cur = db.execute(
                """UPDATE routes SET parked_at = ?, parked_reason = ?
                WHERE channel = ? AND parked_reason IS NULL""",
                [iso(self.clock()), reason, channel],
            )
            return cur.rowcount > 0

    def mute(self, vin: str, until: dt.datetime, by: str | None = None) -> None:
        """No alerts for this vehicle until ``until``."""
        with self.database.transaction() as db:
            db.execute(
                """INSERT INTO mutes (vin, until, muted_by, muted_at) VALUES (?, ?, ?, ?)
                ON CONFLICT(vin) DO UPDATE SET until = excluded.until,
                muted_by = excluded.muted_by, muted_at = excluded.muted_at""",
                [vin, iso(until), by, iso(self.clock())],
            )

    def unmute(self, vin: str) -> bool:
        """Lift a mute; True if there was one."""
        with self.database.transaction() as db:
            return db.execute("DELETE FROM mutes WHERE vin = ?", [vin]).rowcount > 0

    def mutes(self, now: dt.datetime | None = None) -> dict[str, dt.datetime]:
        """Mutes still in force: VIN → until."""
        rows = self.database.db.execute(
            "SELECT vin, until FROM mutes WHERE until > ?", [iso(now or self.clock())]
        )
        return {vin: from_iso(until) for vin, until in rows}  # type: ignore[misc]

    def replace_vehicles(self, vehicles: Iterable[Mapping[str, Any]]) -> int:
        """Refresh the fleet directory (rows with id, vin, brand, model, energy, payload)."""
        now = iso(self.clock())
        rows = [
            {
                "id": v["id"],
                "vin": v["vin"],
                "brand": v.get("brand"),
                "model": v.get("model"),
                "energy": v.get("energy"),
                "payload": json.dumps(v.get("payload") or {}, default=str),
                "refreshed_at": now,
            }
            for v in vehicles
        ]
        with self.database.transaction() as db:
            db.execute("DELETE FROM vehicles")
            if rows:
                db.table("vehicles").insert_all(rows)
        return len(rows)

    def vehicles(self) -> list[dict[str, Any]]:
        """The fleet directory with admin labels."""
        rows = self.database.db.execute(
            """SELECT v.id, v.vin, v.brand, v.model, v.energy, l.label, v.refreshed_at
            FROM vehicles v LEFT JOIN vehicle_labels l ON l.vin = v.vin ORDER BY v.vin"""
        ).fetchall()
        keys = ("id", "vin", "brand", "model", "energy", "label", "refreshed_at")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def set_label(self, vin: str, label: str, by: str | None = None) -> None:
        """Give a vehicle a name people use (unique, case-insensitive)."""
        with self.database.transaction() as db:
            db.execute("DELETE FROM vehicle_labels WHERE vin = ? OR label = ?", [vin, label])
            db.execute(
                "INSERT INTO vehicle_labels (vin, label, set_by, set_at) VALUES (?, ?, ?, ?)",
                [vin, label, by, iso(self.clock())],
            )

    # -- monitors and small state --------------------------------------------------------

    def add_monitor(self, monitor_id: str, callback: str, by: str | None) -> None:
        """Remember a monitor we created at the API."""
        with self.database.transaction() as db:
            db.execute(
                """INSERT OR REPLACE INTO monitors (id, callback, created_by, created_at)
                VALUES (?, ?, ?, ?)""",
                [monitor_id, callback, by, iso(self.clock())],
            )

    def remove_monitor(self, monitor_id: str) -> None:
        """Forget a monitor deleted at the API."""
        with self.database.transaction() as db:
            db.execute("DELETE FROM monitors WHERE id = ?", [monitor_id])

    def monitors(self) -> list[dict[str, Any]]:
        """Monitors we created."""
        rows = self.database.db.execute(
            "SELECT id, callback, created_by, created_at FROM monitors ORDER BY created_at"
        )
        return [
            dict(zip(("id", "callback", "created_by", "created_at"), r, strict=True)) for r in rows
        ]

    def get_state(self, key: str, default: Any = None) -> Any:
        """A small JSON fact (last poll time, quota seen, …)."""
        row = self.database.db.execute("SELECT value FROM state WHERE key = ?", [key]).fetchone()
        return json.loads(row[0]) if row else default

    def set_state(self, key: str, value: Any) -> None:
        """Store a small JSON fact."""
        with self.database.transaction() as db:
            db.execute(
                """INSERT INTO state (key, value, updated_at) VALUES (?, ?, ?)
                ON CONFLICT(key) DO UPDATE SET value = excluded.value,
                updated_at = excluded.updated_at""",
                [key, json.dumps(value, default=str), iso(self.clock())],
            )

    def first_time(self, key: str) -> bool:
        """True exactly once per key, ever (e.g. "tell admins channel X is parked")."""
        with self.database.transaction() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO state (key, value, updated_at) VALUES (?, 'true', ?)",
                [f"once:{key}", iso(self.clock())],
            )
            return cur.rowcount > 0

    # -- helpers -------------------------------------------------------------------------

    def _update_many(self, ids: Sequence[int], assignments: str, args: list[Any]) -> None:
        if not ids:
            return
        marks = ",".join("?" * len(ids))
        with self.database.transaction() as db:
            db.execute(
                f"UPDATE deliveries SET {assignments} WHERE id IN ({marks})",
                [*args, *ids],
            )

    def _deliveries(self, where: str, args: list[Any], *, limit: int = 10_000) -> list[Delivery]:
        rows = self.database.db.execute(
            f"""SELECT d.id, d.channel, d.state, d.attempts, d.slack_ts, d.digest,
            d.update_pending, d.acked_by, d.acked_at, d.batch, d.last_error, d.created_at,
            {_ALERT_COLUMNS}
            FROM deliveries d JOIN alerts a ON a.id = d.alert_id
            WHERE {where} ORDER BY d.channel, d.id LIMIT ?""",
            [*args, limit],
        ).fetchall()
        return [
            Delivery(
                id=r[0],
                channel=r[1],
                state=r[2],
                attempts=r[3],
                slack_ts=r[4],
                digest=bool(r[5]),
                update_pending=bool(r[6]),
                acked_by=r[7],
                acked_at=from_iso(r[8]),
                batch=r[9],
                last_error=r[10],
                created_at=dt.datetime.fromisoformat(r[11]),
                alert=_alert(r[12:]),
            )
            for r in rows
        ]


_ALERT_COLUMNS = (
    "a.id, a.vehicle_id, a.vin, a.type, a.severity, a.active, a.started_at, a.end_at, "
    "a.updated_at, a.payload"
)


def _alert(row: Sequence[Any]) -> StoredAlert:
    return StoredAlert(
        id=row[0],
        vehicle_id=row[1],
        vin=row[2],
        type=row[3] or "",
        severity=row[4],
        active=bool(row[5]),
        started_at=from_iso(row[6]),
        end_at=from_iso(row[7]),
        updated_at=from_iso(row[8]),
        payload=json.loads(row[9]) if row[9] else {},
    )
