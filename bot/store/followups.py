"""The follow-up outbox (``followups``): quiet replies in an alert message's thread.

One row per (alert, channel, kind, n): an acknowledgement, a mute, an unmute, the end, or the
n-th escalation reminder. Rows go pending → sending → sent | failed | cancelled, like posts;
a row left in ``sending`` is looked up in the thread before any re-post. The unique key makes
queueing idempotent, so a job that crashes and runs again never queues a reply twice.
Writes are raw SQL for the same reasons as the outbox's (guarded by state, ``INSERT OR IGNORE``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from bot.store.models import Delivery, from_iso, iso
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

FOLLOWUP_KINDS = ("ack", "mute", "unmute", "ended", "reminder")


@dataclasses.dataclass(frozen=True)
class Followup:
    """One reply to post (or posted) in the thread of an alert's message."""

    id: int
    alert_id: str
    channel: str
    kind: str
    n: int
    thread_ts: str
    text: str
    state: str
    attempts: int
    created_at: dt.datetime
    claimed_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class Escalation:
    """A posted, unacknowledged, open alert whose channel's route escalates."""

    alert_id: str
    vin: str
    type: str
    severity: str | None
    channel: str
    thread_ts: str
    digest: bool
    sent_at: dt.datetime
    every: dt.timedelta
    to: str
    reminders: int  # reminders queued so far
    last_reminder_at: dt.datetime | None


_COLUMNS = (
    "id, alert_id, channel, kind, n, thread_ts, text, state, attempts, created_at, claimed_at"
)


def _followup(row: Any) -> Followup:
    return Followup(
        id=row["id"],
        alert_id=row["alert_id"],
        channel=row["channel"],
        kind=row["kind"],
        n=row["n"],
        thread_ts=row["thread_ts"],
        text=row["text"],
        state=row["state"],
        attempts=row["attempts"],
        created_at=dt.datetime.fromisoformat(row["created_at"]),
        claimed_at=from_iso(row["claimed_at"]),
    )


class FollowupsPart(LedgerPart):
    """The ``followups`` table."""

    def queue_followup(
        self,
        alert_id: str,
        channel: str,
        kind: str,
        text: str,
        *,
        thread_ts: str,
        n: int | None = None,
    ) -> Followup | None:
        """Queue one thread reply; ``n`` None means the next of its kind. None if already queued."""
        if kind not in FOLLOWUP_KINDS:
            raise ValueError(f"unknown follow-up kind {kind!r}")
        with self.database.transaction() as db:
            if n is None:
                last = one(
                    db,
                    """SELECT max(n) AS n FROM followups
                    WHERE alert_id = ? AND channel = ? AND kind = ?""",
                    [alert_id, channel, kind],
                )
                n = int(last["n"] or 0) + 1 if last else 1
            cur = db.execute(
                """INSERT OR IGNORE INTO followups
                (alert_id, channel, kind, n, thread_ts, text, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)""",
                [alert_id, channel, kind, n, thread_ts, text, iso(self.clock())],
            )
            if not cur.rowcount:
                return None
        return self._followups("id = ?", [cur.lastrowid])[0]

    def claim_followups(self, *, limit: int = 200) -> list[Followup]:
        """Move due pending replies to ``sending`` (oldest first) and return them."""
        moment = iso(self.clock())
        with self.database.transaction() as db:
            ids = [
                r["id"]
                for r in rows(
                    db,
                    """SELECT id FROM followups WHERE state = 'pending'
                    AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id LIMIT ?""",
                    [moment, limit],
                )
            ]
            if not ids:
                return []
            db.execute(
                f"""UPDATE followups SET state = 'sending', claimed_at = ?,
                attempts = attempts + 1 WHERE id IN ({marks(ids)})""",
                [moment, *ids],
            )
        return self._followups(f"id IN ({marks(ids)})", ids)

    def stuck_followups(self, *, claimed_before: dt.datetime) -> list[Followup]:
        """Replies left in ``sending`` (crash or unknown outcome): look in the thread first."""
        return self._followups(
            "state = 'sending' AND coalesce(claimed_at, '') <= ?", [iso(claimed_before)]
        )

    def followups(self, alert_id: str | None = None) -> list[Followup]:
        """Every follow-up (of one alert), oldest first."""
        if alert_id is None:
            return self._followups("1 = 1", [])
        return self._followups("alert_id = ?", [alert_id])

    def mark_followup(
        self,
        ids: Sequence[int],
        state: str,
        *,
        slack_ts: str | None = None,
        error: str | None = None,
        retry_at: dt.datetime | None = None,
    ) -> int:
        """Move ``sending`` rows to ``state`` (sent, pending, failed, cancelled); how many moved."""
        moved = 0
        with self.database.transaction() as db:
            for chunk in chunks(ids):
                moved += db.execute(
                    f"""UPDATE followups SET state = ?, slack_ts = coalesce(?, slack_ts),
                    last_error = ?, next_attempt_at = ?,
                    sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END
                    WHERE state = 'sending' AND id IN ({marks(chunk)})""",
                    [state, slack_ts, error, iso(retry_at), state, iso(self.clock()), *chunk],
                ).rowcount
        return moved

    def escalations(self) -> list[Escalation]:
        """Posted, open, unacknowledged alerts whose channel's route escalates, with progress."""
        found = rows(
            self.database.db,
            """SELECT d.alert_id, a.vin, a.type, a.severity, d.channel, d.slack_ts, d.digest,
                d.sent_at, r.escalate_seconds, r.escalate_to,
                (SELECT count(*) FROM followups f WHERE f.alert_id = d.alert_id
                    AND f.channel = d.channel AND f.kind = 'reminder') AS reminders,
                (SELECT max(f.created_at) FROM followups f WHERE f.alert_id = d.alert_id
                    AND f.channel = d.channel AND f.kind = 'reminder') AS last_reminder_at
            FROM deliveries d
            JOIN alerts a ON a.id = d.alert_id
            JOIN routes r ON r.channel = d.channel AND r.parked_reason IS NULL
            WHERE d.state = 'sent' AND d.acked_by IS NULL AND d.slack_ts IS NOT NULL
                AND d.sent_at IS NOT NULL AND a.active = 1 AND a.end_at IS NULL
                AND r.escalate_seconds > 0
            ORDER BY d.sent_at, d.id""",
        )
        return [
            Escalation(
                alert_id=r["alert_id"],
                vin=r["vin"] or "",
                type=r["type"] or "",
                severity=r["severity"],
                channel=r["channel"],
                thread_ts=r["slack_ts"],
                digest=bool(r["digest"]),
                sent_at=dt.datetime.fromisoformat(r["sent_at"]),
                every=dt.timedelta(seconds=r["escalate_seconds"]),
                to=r["escalate_to"] or "<!here>",
                reminders=r["reminders"],
                last_reminder_at=from_iso(r["last_reminder_at"]),
            )
            for r in found
        ]

    def still_waiting(self, alert_id: str, channel: str) -> bool:
        """True while the alert is open and its message in ``channel`` unacknowledged."""
        row = one(
            self.database.db,
            """SELECT 1 FROM deliveries d JOIN alerts a ON a.id = d.alert_id
            WHERE d.alert_id = ? AND d.channel = ? AND d.acked_by IS NULL
            AND a.active = 1 AND a.end_at IS NULL""",
            [alert_id, channel],
        )
        return row is not None

    def waiting_for_ack(self, *, limit: int = 200) -> list[Delivery]:
        """Posted alerts still open and unacknowledged, oldest post first (the App Home list)."""
        found = rows(
            self.database.db,
            f"""SELECT {DELIVERY_COLUMNS}, {ALERT_COLUMNS}
            FROM deliveries d JOIN alerts a ON a.id = d.alert_id
            WHERE d.state = 'sent' AND d.acked_by IS NULL AND d.slack_ts IS NOT NULL
            AND a.active = 1 AND a.end_at IS NULL
            ORDER BY coalesce(d.sent_at, d.created_at), d.id LIMIT ?""",
            [limit],
        )
        return [delivery(r) for r in found]

    def _followups(self, where: str, args: list[Any]) -> list[Followup]:
        found = rows(
            self.database.db,
            f"SELECT {_COLUMNS} FROM followups WHERE {where} ORDER BY id",
            args,
        )
        return [_followup(r) for r in found]
