"""The outbox (``deliveries``): claim, mark, reroute, hold and release, acknowledge.

The state machine's writes stay raw SQL: each is one statement over many ids guarded by the
state it expects (``… WHERE state = 'sending'``), with arithmetic (``attempts + 1``) and a row
count that callers rely on, none of which ``table.update`` (one row by key) can express. The
claim picks rows round-robin across channels with a window function, also raw.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from bot.store.models import Delivery, Release, from_iso, iso
from bot.store.rows import (
    ALERT_COLUMNS,
    DELIVERY_COLUMNS,
    LedgerPart,
    chunks,
    delivery,
    marks,
    one,
    rows,
)


class OutboxPart(LedgerPart):
    """The ``deliveries`` table: one row per alert and channel, pending → sending → sent."""

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
                r["id"]
                for r in rows(
                    db,
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
            db.execute(
                f"""UPDATE deliveries SET state = 'sending', batch = ?, claimed_at = ?,
                attempts = attempts + 1 WHERE id IN ({marks(ids)})""",
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
            table = db.table("deliveries")
            for delivery_id in ids:
                row = one(
                    db,
                    "SELECT alert_id FROM deliveries WHERE id = ? AND state = 'sending'",
                    [delivery_id],
                )
                if row is None:
                    continue  # posted meanwhile (a digest tried alert by alert): leave it
                taken = one(
                    db,
                    "SELECT id FROM deliveries WHERE alert_id = ? AND channel = ?",
                    [row["alert_id"], channel],
                )
                if taken:
                    table.update(
                        delivery_id,
                        {"state": "failed", "last_error": f"{error}; already queued for {channel}"},
                    )
                else:
                    table.update(
                        delivery_id,
                        {
                            "channel": channel,
                            "state": "pending",
                            "last_error": error,
                            "next_attempt_at": None,
                        },
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
            for chunk in chunks(post):
                released += db.execute(
                    f"""UPDATE deliveries SET state = 'pending', held_by = NULL, was_held = 1,
                    next_attempt_at = NULL WHERE state = 'held' AND id IN ({marks(chunk)})""",
                    list(chunk),
                ).rowcount
            for chunk in chunks(close):
                closed += db.execute(
                    f"""UPDATE deliveries SET state = 'closed', held_by = NULL, was_held = 1,
                    update_pending = 0, last_error = 'ended while held by a mute'
                    WHERE state = 'held' AND id IN ({marks(chunk)})""",
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
            row = one(
                db,
                "SELECT id, acked_by, acked_at FROM deliveries WHERE alert_id = ? AND channel = ?",
                [alert_id, channel],
            )
            if row is None:
                # An alert we never recorded (pruned, or posted by another install): keep a
                # closed placeholder so the acknowledgement sticks without showing as open.
                db.table("alerts").insert(
                    {"id": alert_id, "vin": "", "active": 0, "updated_at": iso(moment)},
                    ignore=True,
                )
                db.table("deliveries").insert(
                    {
                        "alert_id": alert_id,
                        "channel": channel,
                        "state": "sent",
                        "acked_by": user,
                        "acked_at": iso(moment),
                        "created_at": iso(moment),
                    }
                )
                return True, user, moment
            if row["acked_by"]:
                return False, row["acked_by"], from_iso(row["acked_at"])
            db.table("deliveries").update(row["id"], {"acked_by": user, "acked_at": iso(moment)})
        return True, user, moment

    def deliveries_for_message(self, channel: str, slack_ts: str) -> list[Delivery]:
        """The alerts one Slack message carries (one, or several for a digest)."""
        return self._deliveries("d.channel = ? AND d.slack_ts = ?", [channel, slack_ts])

    def delivery(self, alert_id: str, channel: str) -> Delivery | None:
        """The ledger row for one alert in one channel."""
        found = self._deliveries("d.alert_id = ? AND d.channel = ?", [alert_id, channel])
        return found[0] if found else None

    def counts(self) -> dict[str, int]:
        """Deliveries by state (for status displays and `fleetbot poll`)."""
        found = rows(self.database.db, "SELECT state, count(*) AS n FROM deliveries GROUP BY state")
        return {r["state"]: r["n"] for r in found}

    def failed(self, limit: int = 50) -> list[Delivery]:
        """Deliveries Slack refused for good, newest first (for `/fleet failed`)."""
        ids = [
            r["id"]
            for r in rows(
                self.database.db,
                """SELECT id FROM deliveries WHERE state = 'failed'
                ORDER BY coalesce(claimed_at, created_at) DESC, id DESC LIMIT ?""",
                [limit],
            )
        ]
        if not ids:
            return []
        found = {d.id: d for d in self._deliveries(f"d.id IN ({marks(ids)})", ids)}
        return [found[i] for i in ids if i in found]

    def retry_failed(self) -> int:
        """Queue every failed delivery again (attempts reset, last error kept); how many."""
        with self.database.transaction() as db:
            return db.execute(
                """UPDATE deliveries SET state = 'pending', attempts = 0, strikes = 0,
                next_attempt_at = NULL WHERE state = 'failed'"""
            ).rowcount

    def _update_many(
        self, ids: Sequence[int], assignments: str, args: list[Any], *, only_sending: bool = False
    ) -> None:
        """One guarded ``UPDATE`` of ``deliveries`` over many ids, in one transaction."""
        if not ids:
            return
        guard = " AND state = 'sending'" if only_sending else ""
        with self.database.transaction() as db:
            for chunk in chunks(ids):
                db.execute(
                    f"UPDATE deliveries SET {assignments} WHERE id IN ({marks(chunk)}){guard}",
                    [*args, *chunk],
                )

    def _deliveries(self, where: str, args: list[Any], *, limit: int = 10_000) -> list[Delivery]:
        """Deliveries with their alerts, by channel then id."""
        found = rows(
            self.database.db,
            f"""SELECT {DELIVERY_COLUMNS}, {ALERT_COLUMNS}
            FROM deliveries d JOIN alerts a ON a.id = d.alert_id
            WHERE {where} ORDER BY d.channel, d.id LIMIT ?""",
            [*args, limit],
        )
        return [delivery(r) for r in found]
