"""Follow-ups and escalation: quiet thread replies under alert messages, each posted once.

One run: (1) queue the escalation reminders now due — an alert posted through a route with
``escalate=`` and still unacknowledged gets reminder n at ``sent + n * every`` (and never
sooner than ``every`` after the previous one), at most :data:`MAX_REMINDERS`; (2) reconcile
replies a crash or a lost answer left in ``sending`` against the thread
(``conversations.replies``, our own ``bot_id`` only) — found means sent, absent means post
again; (3) claim pending replies and post them in their thread, never broadcast. A reminder
whose alert was acknowledged or ended meanwhile is cancelled, not posted.

Queueing is idempotent (the outbox is unique on alert, channel, kind and n), so a crash
between any two steps neither loses nor repeats a reply.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping

from bot.errors import (
    ChannelUnavailable,
    MessageUnpostable,
    OutcomeUnknown,
    SlackError,
    SlackRateLimited,
    SlackTokenRefused,
)
from bot.messages import texts
from bot.messages.alerts import alert_line
from bot.messages.followups import (
    MAX_REMINDERS,
    followup_key,
    followup_message,
    reminder_text,
)
from bot.posting.reconcile import RECONCILE_GRACE  # one grace for posts, replies, reports
from bot.posting.slack_port import SlackPort
from bot.store import Ledger, StoredAlert
from bot.store.followups import Escalation, Followup
from bot.store.ledger import utcnow

log = logging.getLogger(__name__)

#: an unrecognised error is retried with backoff this many times, then the reply is failed
MAX_ATTEMPTS = 5
RETRY_BACKOFF = dt.timedelta(seconds=30)


@dataclasses.dataclass
class FollowupReport:
    """What one run did."""

    queued_reminders: int = 0
    posted: int = 0
    reconciled: int = 0
    reposted_after_check: int = 0
    cancelled: int = 0
    failed: int = 0
    deferred: int = 0


class FollowupService:
    """Queues escalation reminders and posts thread replies (see the module docstring)."""

    def __init__(
        self,
        ledger: Ledger,
        slack: SlackPort,
        *,
        vehicle_names: Callable[[], Mapping[str, str]] = dict,
        locale: str = "en-GB",
        reconcile_grace: dt.timedelta = RECONCILE_GRACE,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.ledger = ledger
        self.slack = slack
        self.vehicle_names = vehicle_names
        self.locale = locale
        self.reconcile_grace = reconcile_grace
        self.clock = clock
        self._lock = threading.Lock()
        self._refused: str | None = None  # Slack's last token refusal, logged once

    def run_once(self) -> FollowupReport:
        """Queue due reminders, reconcile unsure replies, post what is pending."""
        report = FollowupReport()
        with self._lock:
            self.queue_reminders(report)
            try:
                self._reconcile(report)
                self._post_pending(report)
            except SlackTokenRefused as exc:
                if self._refused != exc.error:  # said once per refusal, not every 2 s
                    log.warning("thread replies wait: Slack refuses the token (%s)", exc.error)
                self._refused = exc.error
            else:
                self._refused = None
        return report

    # -- (1) escalation ----------------------------------------------------------------------

    def queue_reminders(self, report: FollowupReport | None = None) -> int:
        """Queue every reminder now due; returns how many."""
        now = self.clock()
        queued = 0
        names: Mapping[str, str] | None = None
        for waiting in self.ledger.escalations():
            n = waiting.reminders + 1
            if n > MAX_REMINDERS or now < due_at(waiting, n):
                continue
            if names is None:
                names = self.vehicle_names()
            text = reminder_text(
                waiting.to, now - waiting.sent_at, n, self._subject(waiting, names)
            )
            if self.ledger.queue_followup(
                waiting.alert_id,
                waiting.channel,
                "reminder",
                text,
                thread_ts=waiting.thread_ts,
                n=n,
            ):
                queued += 1
        if report is not None:
            report.queued_reminders += queued
        if queued:
            log.info("escalation: %d reminders queued", queued)
        return queued

    def _subject(self, waiting: Escalation, names: Mapping[str, str]) -> str:
        if not waiting.digest:
            return texts.FOLLOWUP_THIS_ALERT
        alert = StoredAlert(
            id=waiting.alert_id,
            vehicle_id=None,
            vin=waiting.vin,
            type=waiting.type,
            severity=waiting.severity,
            active=True,
        )
        return alert_line(alert, self.locale, names.get(waiting.vin, waiting.vin))

    # -- (2) reconciliation ------------------------------------------------------------------

    def _reconcile(self, report: FollowupReport) -> None:
        threads: dict[tuple[str, str], list[Followup]] = defaultdict(list)
        for row in self.ledger.stuck_followups(claimed_before=self.clock() - self.reconcile_grace):
            threads[(row.channel, row.thread_ts)].append(row)
        if not threads:
            return
        own = self.slack.own_bot_id()
        for (channel, thread_ts), rows in threads.items():
            try:
                found = {
                    key: str(message.get("ts"))
                    for message in self.slack.replies(channel, thread_ts)
                    if not own or message.get("bot_id") == own  # another app's, whatever it says
                    for key in [followup_key(message.get("metadata"))]
                    if key is not None
                }
            except ChannelUnavailable as exc:
                report.failed += self.ledger.mark_followup(
                    [r.id for r in rows], "failed", error=exc.error or str(exc)
                )
                continue
            except SlackTokenRefused:
                raise
            except SlackError as exc:
                if exc.error == "thread_not_found":  # the alert's message is gone
                    report.failed += self.ledger.mark_followup(
                        [r.id for r in rows], "failed", error="thread_not_found"
                    )
                else:
                    log.warning("cannot look in a thread of %s yet: %s", channel, exc)
                continue
            for row in rows:
                ts = found.get((row.alert_id, row.kind, row.n))
                if ts is not None:
                    report.reconciled += self.ledger.mark_followup([row.id], "sent", slack_ts=ts)
                else:
                    report.reposted_after_check += self.ledger.mark_followup(
                        [row.id], "pending", error="not in the thread after a lost answer"
                    )

    # -- (3) posting -------------------------------------------------------------------------

    def _post_pending(self, report: FollowupReport) -> None:
        claimed = self.ledger.claim_followups()
        for index, row in enumerate(claimed):
            if row.kind == "reminder" and not self.ledger.still_waiting(row.alert_id, row.channel):
                report.cancelled += self.ledger.mark_followup(
                    [row.id], "cancelled", error="acknowledged or ended first"
                )
                continue
            message = followup_message(
                row.alert_id, row.kind, row.n, row.text, thread_ts=row.thread_ts
            )
            try:
                ts = self.slack.post(row.channel, message)
            except SlackTokenRefused:
                self.ledger.mark_followup(
                    [r.id for r in claimed[index:]], "pending", error="token refused"
                )
                raise
            except SlackRateLimited as exc:
                retry_at = self.clock() + dt.timedelta(seconds=exc.retry_after)
                self.ledger.mark_followup(
                    [r.id for r in claimed[index:]], "pending", error="rate", retry_at=retry_at
                )
                report.deferred += len(claimed) - index
                return
            except OutcomeUnknown as exc:
                log.warning("%s", exc)  # stays `sending`: looked up in the thread next time
                continue
            except (ChannelUnavailable, MessageUnpostable) as exc:
                report.failed += self.ledger.mark_followup(
                    [row.id], "failed", error=exc.error or str(exc)
                )
                continue
            except SlackError as exc:
                if row.attempts >= MAX_ATTEMPTS:
                    report.failed += self.ledger.mark_followup(
                        [row.id], "failed", error=exc.error or str(exc)
                    )
                else:
                    retry_at = self.clock() + RETRY_BACKOFF * 2 ** (row.attempts - 1)
                    self.ledger.mark_followup(
                        [row.id], "pending", error=str(exc), retry_at=retry_at
                    )
                    report.deferred += 1
                continue
            report.posted += self.ledger.mark_followup([row.id], "sent", slack_ts=ts)


def due_at(waiting: Escalation, n: int) -> dt.datetime:
    """When reminder ``n`` is due: n * every after the post, and every after the previous one."""
    due = waiting.sent_at + waiting.every * n
    if waiting.last_reminder_at is not None:
        due = max(due, waiting.last_reminder_at + waiting.every)
    return due
