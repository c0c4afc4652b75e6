"""Posting the daily fleet report: once per channel and day, across crashes and retries.

The ``reports`` table is the report's outbox (pending → sending → sent | failed). One post:
claim the row; gather the day (at most two API calls per vehicle, taken from the quota
reserve); render the chart and upload it unshared (``files_upload_v2`` without a channel),
recording its file id; post the message, whose image block names the file and whose metadata
says ``fleet_report`` and the day; mark the row sent.

After a crash or an answer Slack never gave, the row stays ``sending``. Once it is older than
the grace, the channel's history is searched for our own (``bot_id``) message carrying that
metadata: found means sent, absent means post again, with the recorded file when there is
one. A crash between upload and recording the file id leaves an upload shared nowhere, which
nobody sees: a second upload is harmless, so it is not worth a second outbox state.

:meth:`ReportService.retry_unsent` (a periodic job) takes every recent row that is not sent
through the same path again, each after a backoff that doubles with its attempts: a ``sending``
row is reconciled by metadata first, a ``pending`` one (Slack said no for now) is posted again.
An error that will never pass, or MAX_ATTEMPTS spent, fails the row and tells the admins once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from bot.errors import (
    CertificateError,
    ChannelUnavailable,
    MessageUnpostable,
    OutcomeUnknown,
    SlackError,
    SlackRateLimited,
    SlackTokenRefused,
)
from bot.messages.report import EVENT_REPORT, day_title, report_message
from bot.messages.report import TEXT as MESSAGE_TEXT
from bot.posting.reconcile import RECONCILE_GRACE, RECONCILE_MARGIN
from bot.posting.slack_port import SlackPort
from bot.psa.client import Quota
from bot.psa.quota import QuotaBudget
from bot.reports.chart import render_chart
from bot.reports.day import FleetDay
from bot.reports.gather import DayGatherer, calls_needed
from bot.store import Ledger
from bot.store.ledger import from_iso, iso, utcnow
from bot.store.reports import ReportRow

if TYPE_CHECKING:
    from bot.places import Places

log = logging.getLogger(__name__)

#: reports may take at most this share of the quota reserve over 24 h (people keep the rest)
RESERVE_SHARE = 0.5
RESERVE_STATE = "report_reserve_spent"  # ledger state: [[iso time, calls], …] over 24 h
QUOTA_STATE = "quota"  # what the poll job last recorded (a `fleetbot report` process starts blind)
DAY = dt.timedelta(days=1)
CHART_NAME = "fleet-report-{day}.png"
#: unsent reports of the last this many days (yesterday's and the day before) are retried
RETRY_DAYS = 2
RETRY_BACKOFF = dt.timedelta(minutes=1)  # after the first attempt; doubles with each one
RETRY_BACKOFF_MAX = dt.timedelta(hours=1)
#: attempts in all (first one included) before a report that keeps failing is given up
MAX_ATTEMPTS = 8

TEXT = {
    "posted": "Posted the fleet report for {day} in <#{channel}>: {link}",
    "already": "The fleet report for {day} is already in <#{channel}>: {link}",
    "in_progress": (
        "The fleet report for {day} is being posted in <#{channel}> right now; "
        "ask again in a minute for its link."
    ),
    "unsure": (
        "Slack did not confirm the fleet report for {day} in <#{channel}>; I will check the "
        "channel before posting it again (run the same request in a minute)."
    ),
    "skipped_quota": (
        "Not posting the fleet report for {day}: it needs about {needed:,} API calls and the "
        "quota reserve has {left:,} left for reports today (FLEETBOT_QUOTA_RESERVE). "
        "It stays queued and is posted by itself once the 24-hour window has moved on."
    ),
    "rate_limited": "Slack is rate-limiting me; the fleet report for {day} was not posted yet.",
    "token": "Slack refuses my token ({error}); the fleet report for {day} was not posted.",
    "channel": "I cannot post in <#{channel}> ({error}): invite me there first.",
    "refused": "Slack refused the fleet report for {day} ({error}).",
    "certificate": "The Connected Car API certificate is not usable: {error}",
    "failed": "The fleet report for {day} could not be posted: {error}",
    "no_link": "(message {ts})",
    "chart_title": "Fleet report · {day}",
    "gave_up": (
        ":x: I gave up posting the fleet report for {day} in <#{channel}> after {attempts} "
        "attempts: {error}. Fix the cause, then run `fleetbot report --channel {channel} "
        "--day {day}` on the server to post it (or `/fleet report now` there, if it was "
        "yesterday's)."
    ),
}


@dataclasses.dataclass
class ReportOutcome:
    """What one request for a report did; ``text`` says it to a person."""

    status: str  # posted | already | in_progress | unsure | skipped | failed
    channel: str
    day: dt.date
    text: str
    ts: str | None = None
    permalink: str | None = None
    api_calls: int = 0
    uploaded: bool = False

    @property
    def ok(self) -> bool:
        """True when the report is (now, or already) in the channel, or will be checked for."""
        return self.status in ("posted", "already", "in_progress", "unsure")


class ReportService:
    """Posts a channel's report for a day exactly once (see the module docstring)."""

    def __init__(
        self,
        gatherer: DayGatherer,
        ledger: Ledger,
        slack: SlackPort,
        *,
        budget: QuotaBudget,
        quota: Callable[[], Quota],
        locale: str = "en-GB",
        render: Callable[[FleetDay], bytes] = render_chart,
        reconcile_grace: dt.timedelta = RECONCILE_GRACE,
        admins: Iterable[str] = (),
        fallback_channel: str | None = None,
        places: Places | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.gatherer = gatherer
        self.ledger = ledger
        self.slack = slack
        self.budget = budget
        self.quota = quota
        self.locale = locale
        self.render = render
        self.reconcile_grace = reconcile_grace
        self.admins = tuple(admins)
        self.fallback_channel = fallback_channel
        self.places = places  # names the positions in the message
        self.clock = clock

    def post(
        self, channel: str, day: dt.date | None = None, *, by: str | None = None
    ) -> ReportOutcome:
        """Post ``channel``'s report for ``day`` (default: yesterday in FLEETBOT_TIMEZONE)."""
        day = day or self.gatherer.yesterday()
        words = {"day": day.isoformat(), "channel": channel}
        row = self.ledger.report(channel, day)
        if row is not None and row.state == "sent":
            return self._already(row)
        if row is not None and row.state == "sending":
            settled = self._settle(row)
            if settled is not None:
                return settled
        needed, left = self._quota_check()
        if left is not None and needed > left:
            text = TEXT["skipped_quota"].format(needed=needed, left=max(0, int(left)), **words)
            log.warning("%s", text)
            # kept pending: the retry job posts it once the sliding window frees the calls
            self.ledger.defer_report(channel, day, error=text, by=by)
            return ReportOutcome("skipped", channel, day, text)
        stale = self.clock() - self.reconcile_grace
        row = self.ledger.claim_report(channel, day, by=by, stale_before=stale)
        if not row.claimed:
            if row.state == "sent":
                return self._already(row)
            return ReportOutcome("in_progress", channel, day, TEXT["in_progress"].format(**words))
        return self._post_claimed(row)

    # -- retries --------------------------------------------------------------------------------

    def retry_unsent(self) -> list[ReportOutcome]:
        """Post again each recent unsent report whose backoff is over (see the module docstring)."""
        since = self.gatherer.yesterday() - dt.timedelta(days=RETRY_DAYS - 1)
        outcomes = []
        for row in self.ledger.unsent_reports(since=since):
            if row.state == "failed" or not self._retry_due(row):
                continue
            outcome = self.post(row.channel, row.day, by=row.requested_by)
            log.info("retried the %s fleet report for %s: %s", row.day, row.channel, outcome.text)
            outcomes.append(outcome)
        return outcomes

    def _retry_due(self, row: ReportRow) -> bool:
        """True once the last attempt is older than its backoff (and the grace, if sending)."""
        if row.claimed_at is None:
            return True
        wait = min(RETRY_BACKOFF * (1 << max(0, row.attempts - 1)), RETRY_BACKOFF_MAX)
        if row.state == "sending":
            wait = max(wait, self.reconcile_grace)
        return self.clock() - row.claimed_at >= wait

    def _release(self, row: ReportRow, error: str, *, for_good: bool = False) -> None:
        """Known not posted: pending again, or failed (for good or out of attempts), admins told."""
        failed = for_good or row.attempts >= MAX_ATTEMPTS
        self.ledger.release_report(row.channel, row.day, error=error, failed=failed)
        if failed:
            self._tell_admins(row, error)

    def _tell_admins(self, row: ReportRow, error: str) -> None:
        text = TEXT["gave_up"].format(
            day=row.day.isoformat(), channel=row.channel, attempts=row.attempts, error=error
        )
        log.error("%s", text)
        targets = list(self.admins) or ([self.fallback_channel] if self.fallback_channel else [])
        for target in targets:
            try:
                self.slack.post_text(target, text)
            except SlackError as exc:
                log.error("could not tell %s that a fleet report failed: %s", target, exc)

    # -- a row found in `sending` --------------------------------------------------------------

    def _settle(self, row: ReportRow) -> ReportOutcome | None:
        """A row in ``sending``: still fresh, found in the channel, or (None) to post again."""
        words = {"day": row.day.isoformat(), "channel": row.channel}
        if row.claimed_at is not None and row.claimed_at > self.clock() - self.reconcile_grace:
            return ReportOutcome(
                "in_progress", row.channel, row.day, TEXT["in_progress"].format(**words)
            )
        try:
            ts = self._find_posted(row)
        except SlackError as exc:
            log.warning("cannot look for the %s report in %s yet: %s", row.day, row.channel, exc)
            return ReportOutcome("unsure", row.channel, row.day, TEXT["unsure"].format(**words))
        if ts is None:
            log.info(
                "the %s report is not in %s after a lost answer: posting it", row.day, row.channel
            )
            return None
        self.ledger.mark_report_sent(row.channel, row.day, ts)
        log.info("the %s report was already in %s (found by its metadata)", row.day, row.channel)
        found = self.ledger.report(row.channel, row.day)
        assert found is not None
        return self._already(found)

    def _find_posted(self, row: ReportRow) -> str | None:
        """The ts of our own message carrying this report's metadata, or None."""
        own = self.slack.own_bot_id()
        oldest = (row.created_at - RECONCILE_MARGIN).timestamp()
        for message in self.slack.history(row.channel, oldest=oldest):
            if own and message.get("bot_id") != own:
                continue
            if report_day(message.get("metadata")) == row.day.isoformat():
                return str(message["ts"])
        return None

    def _already(self, row: ReportRow) -> ReportOutcome:
        link = self._link(row.channel, row.slack_ts)
        text = TEXT["already"].format(day=row.day.isoformat(), channel=row.channel, link=link)
        return ReportOutcome("already", row.channel, row.day, text, ts=row.slack_ts, permalink=link)

    def _link(self, channel: str, ts: str | None) -> str:
        if ts is None:
            return TEXT["no_link"].format(ts="?")
        try:
            return self.slack.permalink(channel, ts)
        except SlackError as exc:
            log.info("no permalink for %s in %s: %s", ts, channel, exc)
            return TEXT["no_link"].format(ts=ts)

    # -- quota ----------------------------------------------------------------------------------

    def _spent(self) -> list[tuple[dt.datetime, int]]:
        """What reports took from the reserve in the last 24 h."""
        since = self.clock() - DAY
        spent = []
        for at, calls in self.ledger.get_state(RESERVE_STATE) or []:
            moment = from_iso(at)
            if moment is not None and moment > since:
                spent.append((moment, int(calls)))
        return spent

    def _daily_limit(self) -> tuple[int | None, int | None]:
        quota = self.quota()
        if quota.daily_limit:
            return quota.daily_limit, quota.daily_remaining
        recorded = self.ledger.get_state(QUOTA_STATE) or {}
        return recorded.get("daily_limit"), recorded.get("daily_remaining")

    def _quota_check(self) -> tuple[int, float | None]:
        """(calls the report needs, calls reports may still take; None when unknown)."""
        needed = calls_needed(len(self.ledger.vehicles()))
        limit, remaining = self._daily_limit()
        left = self.budget.reserve_left(limit, sum(c for _, c in self._spent()))
        if left is None:
            return needed, None
        # reports take at most RESERVE_SHARE of the reserve; what they took already counts
        share = (limit or 0) * self.budget.reserve * RESERVE_SHARE
        left = min(left, share - sum(c for _, c in self._spent()))
        if remaining is not None:
            left = min(left, remaining)
        return needed, left

    def _spend(self, calls: int) -> None:
        """Tell the budget what this report took from the reserve."""
        spent = [(iso(at), c) for at, c in self._spent()]
        spent.append((iso(self.clock()), calls))
        self.ledger.set_state(RESERVE_STATE, spent)

    # -- posting --------------------------------------------------------------------------------

    def _post_claimed(self, row: ReportRow) -> ReportOutcome:
        channel, day = row.channel, row.day
        words = {"day": day.isoformat(), "channel": channel}
        try:
            fleet = self.gatherer.gather(day)
        except CertificateError as exc:
            self._release(row, str(exc))
            return ReportOutcome("failed", channel, day, TEXT["certificate"].format(error=exc))
        except Exception as exc:
            self._release(row, str(exc))
            raise
        self._spend(fleet.api_calls)
        outcome = ReportOutcome("posted", channel, day, "", api_calls=fleet.api_calls)
        file_id = row.file_id
        try:
            if file_id is None:
                file_id = self._upload(fleet)
                if file_id is not None:
                    self.ledger.record_report_file(channel, day, file_id)
                    outcome.uploaded = True
            ts = self._post_message(channel, fleet, file_id)
        except OutcomeUnknown as exc:
            log.warning("%s", exc)  # the row stays `sending`: the next request looks first
            outcome.status, outcome.text = "unsure", TEXT["unsure"].format(**words)
            return outcome
        except SlackError as exc:
            return self._refused(row, exc, outcome)
        self.ledger.mark_report_sent(channel, day, ts)
        link = self._link(channel, ts)
        outcome.ts, outcome.permalink = ts, link
        outcome.text = TEXT["posted"].format(link=link, **words)
        log.info(
            "posted the %s fleet report in %s (%d API calls, %.1f s to gather)",
            day,
            channel,
            fleet.api_calls,
            fleet.seconds,
        )
        return outcome

    def _upload(self, fleet: FleetDay) -> str | None:
        """Render and upload the chart, shared nowhere; None (report without it) on failure."""
        day = fleet.day.isoformat()
        try:
            png = self.render(fleet)
            return self.slack.upload(
                png,
                filename=CHART_NAME.format(day=day),
                title=TEXT["chart_title"].format(day=day_title(fleet.day)),
                alt_text=MESSAGE_TEXT["image_alt"].format(day=day_title(fleet.day)),
            )
        except (SlackTokenRefused, ChannelUnavailable):
            raise
        except SlackError as exc:
            log.warning(
                "the %s chart was not uploaded (%s): posting the report without it", day, exc
            )
            return None

    def _post_message(self, channel: str, fleet: FleetDay, file_id: str | None) -> str:
        """Post the report; if Slack refuses the image block, post it without and say why."""
        message = report_message(
            fleet, image_file_id=file_id, locale=self.locale, places=self.places
        )
        try:
            return self.slack.post(channel, message)
        except MessageUnpostable as exc:
            if file_id is None or exc.error != "invalid_blocks":
                raise
            log.warning("Slack refused the chart's image block in %s: posting without it", channel)
        message = report_message(fleet, locale=self.locale, places=self.places)
        return self.slack.post(channel, message)

    def _refused(self, row: ReportRow, exc: SlackError, outcome: ReportOutcome) -> ReportOutcome:
        """Known not posted: pending again (may work later) or failed (never will)."""
        words = {"day": row.day.isoformat(), "channel": row.channel, "error": exc.error or str(exc)}
        for_good = isinstance(exc, (MessageUnpostable, ChannelUnavailable))
        self._release(row, words["error"], for_good=for_good)
        key = (
            "rate_limited"
            if isinstance(exc, SlackRateLimited)
            else "token"
            if isinstance(exc, SlackTokenRefused)
            else "channel"
            if isinstance(exc, ChannelUnavailable)
            else "refused"
            if isinstance(exc, MessageUnpostable)
            else "failed"
        )
        log.error("the %s fleet report for %s was not posted: %s", row.day, row.channel, exc)
        outcome.status, outcome.text = "failed", TEXT[key].format(**words)
        return outcome


def report_day(metadata: Any) -> str | None:
    """The day a message's ``fleet_report`` metadata names, else None."""
    if not isinstance(metadata, Mapping) or metadata.get("event_type") != EVENT_REPORT:
        return None
    payload = metadata.get("event_payload")
    day = payload.get("day") if isinstance(payload, Mapping) else None
    return str(day) if day else None
