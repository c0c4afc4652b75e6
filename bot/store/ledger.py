"""The delivery ledger: what Fleetbot knows, what it must post, and what it has posted.

Every method is one transaction. Alerts and the poll cursors that found them commit together,
so a crash either keeps both or neither. Deliveries move pending → sending → sent | failed;
a row left in ``sending`` by a crash is reconciled against Slack before any re-post. A muted
alert's rows start ``held`` (tied to the mute) and become pending when the mute ends or is
lifted, or ``closed`` if the alert ended meanwhile.

Months of operation: an alert id is remembered for as long as a poll can still return it
(see :meth:`Ledger.prune`), and an ended alert never reopens (see :meth:`Ledger.ingest`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from bot.store.db import Database
from bot.store.migrations import MIGRATIONS

Clock = Callable[[], dt.datetime]

#: an ended alert is remembered this much longer than any poll window could reach back
WINDOW_MARGIN = dt.timedelta(days=1)
#: SQLite's default limit on bound parameters is 999 in old builds: chunk lists below that
_CHUNK = 500


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
    held_by_mute: bool = False  # a mute held it back; its message says so
    strikes: int = 0  # unrecognised Slack errors so far
    update_attempts: int = 0  # failed in-place edits so far


@dataclasses.dataclass(frozen=True)
class Destination:
    """Where a router sends an alert: a channel, held back by mute ``held_by`` when given."""

    channel: str
    held_by: int | None = None


@dataclasses.dataclass(frozen=True)
class Mute:
    """Hold back a vehicle's alerts (only ``types``, when given) until ``until``."""

    id: int
    vin: str
    until: dt.datetime
    types: tuple[str, ...] | None  # None: every type
    include_critical: bool  # `all` given, or the per-type Mute button
    muted_by: str | None
    muted_at: dt.datetime


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
    held: int = 0
    stale: int = 0


@dataclasses.dataclass(frozen=True)
class Release:
    """What :meth:`Ledger.release_held` did."""

    posted: int = 0
    closed: int = 0
    still_held: int = 0


Router = Callable[[StoredAlert], Sequence["str | Destination"]]


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
        ended marks its messages for an in-place update. A router's :class:`Destination`
        with ``held_by`` queues the row ``held`` by that mute instead of pending.

        Replays and out-of-order events never move an alert back: an ended alert stays ended,
        and a record whose ``updated_at`` is older than the one we hold changes nothing.
        """
        now = iso(self.clock())
        new = ended = queued = held = stale = 0
        with self.database.transaction() as db:
            for alert in alerts:
                row = db.execute(
                    "SELECT active, updated_at FROM alerts WHERE id = ?", [alert.id]
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
                    for dest in _destinations(route(alert)):
                        cur = db.execute(
                            """INSERT OR IGNORE INTO deliveries (alert_id, channel, created_at,
                            state, held_by) VALUES (?, ?, ?, ?, ?)""",
                            [
                                alert.id,
                                dest.channel,
                                now,
                                "pending" if dest.held_by is None else "held",
                                dest.held_by,
                            ],
                        )
                        if dest.held_by is None:
                            queued += cur.rowcount
                        else:
                            held += cur.rowcount
                    continue
                if not row[0]:
                    continue  # ended stays ended, whatever a replay or a late event says
                known = from_iso(row[1])
                if not alert.ended and known and alert.updated_at and alert.updated_at < known:
                    stale += 1  # older than what we hold (out of order, or replayed)
                    continue
                if alert.ended:
                    ended += 1
                    db.execute(
                        "UPDATE deliveries SET update_pending = 1 WHERE alert_id = ?", [alert.id]
                    )
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
        return IngestResult(new, ended, queued, held, stale)

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

    def updates_due(self, *, limit: int = 200, now: dt.datetime | None = None) -> list[Delivery]:
        """Sent messages whose alert has ended since, and whose last failed edit has waited."""
        return self._deliveries(
            """d.state = 'sent' AND d.update_pending = 1 AND d.slack_ts IS NOT NULL
            AND (d.next_update_at IS NULL OR d.next_update_at <= ?)""",
            [iso(now or self.clock())],
            limit=limit,
        )

    def mark_sent(self, ids: Sequence[int], *, slack_ts: str, digest: bool = False) -> None:
        """The message is in Slack (seen in the answer, or found by reconciliation)."""
        self._update_many(
            ids,
            "state = 'sent', slack_ts = ?, digest = ?, sent_at = ?, last_error = NULL",
            [slack_ts, int(digest), iso(self.clock())],
        )

    def mark_pending(
        self,
        ids: Sequence[int],
        *,
        error: str,
        retry_at: dt.datetime | None = None,
        strike: bool = False,
    ) -> None:
        """Not posted (known for sure): try again, not before ``retry_at``.

        ``strike`` counts an unrecognised Slack error against the row (delivery caps them).
        Only rows still ``sending`` move: one already marked sent is never queued again.
        """
        self._update_many(
            ids,
            "state = 'pending', last_error = ?, next_attempt_at = ?, strikes = strikes + ?",
            [error, iso(retry_at), int(strike)],
            only_sending=True,
        )

    def mark_failed(self, ids: Sequence[int], *, error: str) -> None:
        """Gave up on these rows (only those still ``sending``); ``last_error`` says why."""
        self._update_many(ids, "state = 'failed', last_error = ?", [error], only_sending=True)

    def reroute(self, ids: Sequence[int], channel: str, *, error: str) -> None:
        """Send these rows to another channel instead (their own channel is unusable).

        A row whose alert is already queued for ``channel`` is marked failed instead.
        """
        with self.database.transaction() as db:
            for delivery_id in ids:
                row = db.execute(
                    "SELECT alert_id FROM deliveries WHERE id = ? AND state = 'sending'",
                    [delivery_id],
                ).fetchone()
                if row is None:
                    continue  # posted meanwhile (a digest tried alert by alert): leave it
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
        self._update_many(ids, "update_pending = 0, update_attempts = 0, next_update_at = NULL", [])

    def defer_update(self, ids: Sequence[int], *, error: str, retry_at: dt.datetime) -> None:
        """An in-place edit failed for now: try again, not before ``retry_at``."""
        self._update_many(
            ids,
            "update_attempts = update_attempts + 1, next_update_at = ?, last_error = ?",
            [iso(retry_at), error],
        )

    def give_up_update(self, ids: Sequence[int], *, error: str) -> None:
        """An in-place edit can never work (the message is gone): stop trying."""
        self._update_many(ids, "update_pending = 0, next_update_at = NULL, last_error = ?", [error])

    def held_due(self, now: dt.datetime | None = None) -> list[Delivery]:
        """Held rows whose mute has ended or was lifted: post, close or hold them again."""
        return self._deliveries(
            """d.state = 'held' AND (d.held_by IS NULL
            OR d.held_by NOT IN (SELECT id FROM mutes WHERE until > ?))""",
            [iso(now or self.clock())],
        )

    def release_held(
        self,
        *,
        post: Sequence[int] = (),
        close: Sequence[int] = (),
        hold: Mapping[int, int] | None = None,
    ) -> Release:
        """Held rows become pending (``post``), ``closed`` unposted, or held by another mute."""
        released = closed = rehold = 0
        with self.database.transaction() as db:
            for chunk in _chunks(post):
                marks = ",".join("?" * len(chunk))
                released += db.execute(
                    f"""UPDATE deliveries SET state = 'pending', held_by = NULL, was_held = 1,
                    next_attempt_at = NULL WHERE state = 'held' AND id IN ({marks})""",
                    list(chunk),
                ).rowcount
            for chunk in _chunks(close):
                marks = ",".join("?" * len(chunk))
                closed += db.execute(
                    f"""UPDATE deliveries SET state = 'closed', held_by = NULL, was_held = 1,
                    update_pending = 0, last_error = 'ended while held by a mute'
                    WHERE state = 'held' AND id IN ({marks})""",
                    list(chunk),
                ).rowcount
            for delivery_id, mute_id in (hold or {}).items():
                rehold += db.execute(
                    "UPDATE deliveries SET held_by = ? WHERE state = 'held' AND id = ?",
                    [mute_id, delivery_id],
                ).rowcount
        return Release(released, closed, rehold)

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
        """Forget what can no longer matter, in three steps; returns delivery rows deleted.

        1. Delivery rows older than ``older_than`` whose alert has ended and whose message
           needs no more edits (an open alert keeps its rows, and every row of its digest, so
           it still gets its "ended" edit however long it lasts).
        2. Ended alerts left without rows keep their id as a tombstone (payload dropped).
        3. A tombstone goes only once no poll can return its alert again: the poller asks each
           vehicle from its cursor, reaching back to its oldest open alert, and the API may
           return any alert whose life overlaps that window (see ``poller.query_since``).
           A vehicle without a cursor is polled as new, where ended alerts are never posted.
        Expired mutes that hold nothing go too.
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
            ended = "coalesce(end_at, updated_at, first_seen_at, '')"
            db.execute(
                f"""UPDATE alerts SET payload = NULL WHERE active = 0 AND payload IS NOT NULL
                AND {ended} < ? AND id NOT IN (SELECT alert_id FROM deliveries)""",
                [cutoff],
            )
            floors = _window_floors(db)
            lowest = min(floors.values(), default=None)
            gone: list[str] = []
            for alert_id, vehicle_id, end in db.execute(
                f"""SELECT id, vehicle_id, {ended} FROM alerts WHERE active = 0 AND {ended} < ?
                AND id NOT IN (SELECT alert_id FROM deliveries)""",
                [cutoff],
            ):
                floor = floors.get(vehicle_id) if vehicle_id else lowest
                if floor is None or end < floor:
                    gone.append(alert_id)
            for chunk in _chunks(gone):
                db.execute(
                    f"DELETE FROM alerts WHERE id IN ({','.join('?' * len(chunk))})", list(chunk)
                )
            db.execute(
                """DELETE FROM mutes WHERE until < ? AND id NOT IN
                (SELECT held_by FROM deliveries WHERE held_by IS NOT NULL)""",
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
                """UPDATE deliveries SET state = 'pending', attempts = 0, strikes = 0,
                next_attempt_at = NULL WHERE state = 'failed'"""
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

    def mute(
        self,
        vin: str,
        until: dt.datetime,
        *,
        by: str | None = None,
        types: Sequence[str] | None = None,
        include_critical: bool = False,
    ) -> Mute:
        """Hold back this vehicle's alerts (only ``types``, if given) until ``until``.

        Critical alerts still go through unless ``include_critical``. A vehicle may have
        several mutes; each holds what it covers.
        """
        moment = self.clock()
        kept = tuple(types) if types else None
        with self.database.transaction() as db:
            cur = db.execute(
                """INSERT INTO mutes (vin, until, types, include_critical, muted_by, muted_at)
                VALUES (?, ?, ?, ?, ?, ?)""",
                [
                    vin,
                    iso(until),
                    json.dumps(list(kept)) if kept else None,
                    int(include_critical),
                    by,
                    iso(moment),
                ],
            )
        return Mute(int(cur.lastrowid or 0), vin, until, kept, include_critical, by, moment)

    def unmute(self, vin: str) -> int:
        """Lift every mute of the vehicle (what they held is posted next run); returns how many."""
        with self.database.transaction() as db:
            return db.execute(
                "DELETE FROM mutes WHERE vin = ? AND until > ?", [vin, iso(self.clock())]
            ).rowcount

    def mutes(self, now: dt.datetime | None = None) -> list[Mute]:
        """Mutes in force, by VIN then end."""
        rows = self.database.db.execute(
            """SELECT id, vin, until, types, include_critical, muted_by, muted_at FROM mutes
            WHERE until > ? ORDER BY vin, until, id""",
            [iso(now or self.clock())],
        )
        return [
            Mute(
                id=r[0],
                vin=r[1],
                until=dt.datetime.fromisoformat(r[2]),
                types=tuple(json.loads(r[3])) if r[3] else None,
                include_critical=bool(r[4]),
                muted_by=r[5],
                muted_at=dt.datetime.fromisoformat(r[6]),
            )
            for r in rows
        ]

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

    def _update_many(
        self, ids: Sequence[int], assignments: str, args: list[Any], *, only_sending: bool = False
    ) -> None:
        if not ids:
            return
        guard = " AND state = 'sending'" if only_sending else ""
        with self.database.transaction() as db:
            for chunk in _chunks(ids):
                marks = ",".join("?" * len(chunk))
                db.execute(
                    f"UPDATE deliveries SET {assignments} WHERE id IN ({marks}){guard}",
                    [*args, *chunk],
                )

    def _deliveries(self, where: str, args: list[Any], *, limit: int = 10_000) -> list[Delivery]:
        rows = self.database.db.execute(
            f"""SELECT d.id, d.channel, d.state, d.attempts, d.slack_ts, d.digest,
            d.update_pending, d.acked_by, d.acked_at, d.batch, d.last_error, d.created_at,
            d.was_held, d.strikes, d.update_attempts, {_ALERT_COLUMNS}
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
                held_by_mute=bool(r[12]),
                strikes=r[13],
                update_attempts=r[14],
                alert=_alert(r[15:]),
            )
            for r in rows
        ]


_ALERT_COLUMNS = (
    "a.id, a.vehicle_id, a.vin, a.type, a.severity, a.active, a.started_at, a.end_at, "
    "a.updated_at, a.payload"
)


def _destinations(routed: Iterable[str | Destination]) -> list[Destination]:
    """A router's answer as destinations, one per channel (the first one wins)."""
    seen: dict[str, Destination] = {}
    for item in routed:
        dest = item if isinstance(item, Destination) else Destination(item)
        seen.setdefault(dest.channel, dest)
    return list(seen.values())


def _window_floors(db: Any) -> dict[str, str]:
    """Vehicle id → the earliest moment a poll of it may still ask about (ISO, with margin)."""
    oldest_open = {
        vehicle_id: started
        for vehicle_id, started in db.execute(
            """SELECT vehicle_id, min(started_at) FROM alerts
            WHERE active = 1 AND vehicle_id IS NOT NULL AND started_at IS NOT NULL
            GROUP BY vehicle_id"""
        )
    }
    floors: dict[str, str] = {}
    for vehicle_id, since in db.execute("SELECT vehicle_id, since FROM cursors"):
        reach = min(filter(None, (since, oldest_open.get(vehicle_id))), default=None)
        if reach:
            floors[vehicle_id] = iso(dt.datetime.fromisoformat(reach) - WINDOW_MARGIN) or ""
    return floors


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


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
