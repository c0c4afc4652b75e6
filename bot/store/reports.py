"""The daily report's outbox (``reports``) and its schedules (``report_schedules``).

A report row is keyed by (channel, local day) and moves pending → sending → sent | failed, like
an alert's delivery. :meth:`ReportsPart.claim_report` is the one read-then-write, under
``BEGIN IMMEDIATE``, so two processes asking for the same report never both post it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3

from bot.store.models import from_iso, iso
from bot.store.rows import LedgerPart, one, rows

REPORT_COLUMNS = (
    "channel, day, state, file_id, slack_ts, requested_by, attempts, last_error, created_at, "
    "claimed_at, sent_at"
)


@dataclasses.dataclass(frozen=True)
class ReportRow:
    """One channel's report for one day; ``claimed`` is True when this call moved it to sending."""

    channel: str
    day: dt.date
    state: str
    file_id: str | None
    slack_ts: str | None
    requested_by: str | None
    attempts: int
    last_error: str | None
    created_at: dt.datetime
    claimed_at: dt.datetime | None
    sent_at: dt.datetime | None
    claimed: bool = False


@dataclasses.dataclass(frozen=True)
class ReportSchedule:
    """A daily report: channel and local time (``HH:MM``)."""

    channel: str
    at: str
    created_by: str | None


def _report(r: sqlite3.Row, *, claimed: bool = False) -> ReportRow:
    created = from_iso(r["created_at"])
    assert created is not None
    return ReportRow(
        channel=r["channel"],
        day=dt.date.fromisoformat(r["day"]),
        state=r["state"],
        file_id=r["file_id"],
        slack_ts=r["slack_ts"],
        requested_by=r["requested_by"],
        attempts=r["attempts"],
        last_error=r["last_error"],
        created_at=created,
        claimed_at=from_iso(r["claimed_at"]),
        sent_at=from_iso(r["sent_at"]),
        claimed=claimed,
    )


class ReportsPart(LedgerPart):
    """The ``reports`` and ``report_schedules`` tables."""

    def report(self, channel: str, day: dt.date) -> ReportRow | None:
        """The report row of ``channel`` for ``day``, if any."""
        found = one(
            self.database.db,
            f"SELECT {REPORT_COLUMNS} FROM reports WHERE channel = ? AND day = ?",
            [channel, day.isoformat()],
        )
        return _report(found) if found is not None else None

    def claim_report(
        self,
        channel: str,
        day: dt.date,
        *,
        by: str | None = None,
        stale_before: dt.datetime | None = None,
    ) -> ReportRow:
        """Create the row if new and move it to ``sending`` when it may be posted.

        A pending or failed row is claimed. A ``sending`` row is claimed only when
        ``stale_before`` is given and it was claimed before then (the caller has just checked
        the channel and not found it). A sent row is returned as it is.
        """
        now = iso(self.clock())
        key = [channel, day.isoformat()]
        with self.database.transaction() as db:
            db.execute(
                """INSERT OR IGNORE INTO reports (channel, day, requested_by, created_at)
                VALUES (?, ?, ?, ?)""",
                [*key, by, now],
            )
            claimable = "state IN ('pending', 'failed')"
            args: list[object] = [now, *key]
            if stale_before is not None:
                claimable = (
                    "(state IN ('pending', 'failed') OR "
                    "(state = 'sending' AND coalesce(claimed_at, '') <= ?))"
                )
                args.append(iso(stale_before))
            cursor = db.execute(
                f"""UPDATE reports SET state = 'sending', claimed_at = ?, attempts = attempts + 1
                WHERE channel = ? AND day = ? AND {claimable}""",
                args,
            )
            claimed = cursor.rowcount == 1
            found = one(
                db,
                f"SELECT {REPORT_COLUMNS} FROM reports WHERE channel = ? AND day = ?",
                key,
            )
        assert found is not None
        return _report(found, claimed=claimed)

    def defer_report(self, channel: str, day: dt.date, *, error: str, by: str | None) -> None:
        """Not posted now, for a reason that passes (the quota): pending, retried with backoff.

        The attempt counts (``claimed_at`` and ``attempts`` drive the backoff) so a report
        that keeps waiting is tried less and less often, never lost and never spammed.
        """
        now = iso(self.clock())
        with self.database.transaction() as db:
            db.execute(
                """INSERT OR IGNORE INTO reports (channel, day, requested_by, created_at)
                VALUES (?, ?, ?, ?)""",
                [channel, day.isoformat(), by, now],
            )
            db.execute(
                """UPDATE reports SET last_error = ?, claimed_at = ?, attempts = attempts + 1
                WHERE channel = ? AND day = ? AND state = 'pending'""",
                [error, now, channel, day.isoformat()],
            )

    def record_report_file(self, channel: str, day: dt.date, file_id: str) -> None:
        """The chart was uploaded: a retry posts this file rather than uploading another."""
        with self.database.transaction() as db:
            db.execute(
                "UPDATE reports SET file_id = ? WHERE channel = ? AND day = ?",
                [file_id, channel, day.isoformat()],
            )

    def mark_report_sent(self, channel: str, day: dt.date, ts: str) -> None:
        """Posted (or found posted): never again for this channel and day."""
        with self.database.transaction() as db:
            db.execute(
                """UPDATE reports SET state = 'sent', slack_ts = ?, sent_at = ?, last_error = NULL
                WHERE channel = ? AND day = ?""",
                [ts, iso(self.clock()), channel, day.isoformat()],
            )

    def release_report(self, channel: str, day: dt.date, *, error: str, failed: bool) -> None:
        """Known not posted: back to pending (try again), or failed (Slack refused it for good)."""
        with self.database.transaction() as db:
            db.execute(
                """UPDATE reports SET state = ?, last_error = ?
                WHERE channel = ? AND day = ? AND state = 'sending'""",
                ["failed" if failed else "pending", error, channel, day.isoformat()],
            )

    def unsent_reports(self, *, since: dt.date) -> list[ReportRow]:
        """Reports from ``since`` on that are not sent (pending, sending or failed)."""
        found = rows(
            self.database.db,
            f"""SELECT {REPORT_COLUMNS} FROM reports WHERE state != 'sent' AND day >= ?
            ORDER BY day, channel""",
            [since.isoformat()],
        )
        return [_report(r) for r in found]

    # -- schedules ------------------------------------------------------------------------

    def set_report_schedule(self, channel: str, at: str, *, by: str | None) -> None:
        """Post ``channel``'s report daily at ``at`` (``HH:MM``, local); replaces its schedule."""
        with self.database.transaction() as db:
            db.execute(
                """INSERT INTO report_schedules (channel, at, created_by, created_at)
                VALUES (?, ?, ?, ?)
                ON CONFLICT (channel) DO UPDATE SET at = excluded.at,
                    created_by = excluded.created_by, created_at = excluded.created_at""",
                [channel, at, by, iso(self.clock())],
            )

    def remove_report_schedule(self, channel: str) -> bool:
        """Stop ``channel``'s daily report; False when it had none."""
        with self.database.transaction() as db:
            cursor = db.execute("DELETE FROM report_schedules WHERE channel = ?", [channel])
            return cursor.rowcount == 1

    def report_schedules(self) -> list[ReportSchedule]:
        """Every daily report, by channel."""
        return [
            ReportSchedule(r["channel"], r["at"], r["created_by"])
            for r in rows(
                self.database.db,
                "SELECT channel, at, created_by FROM report_schedules ORDER BY channel",
            )
        ]
