"""Delivery: from the outbox to Slack, exactly once, at about one post per second per channel.

One run: (1) reconcile rows a crash or an unknown outcome left in ``sending`` against the
channel history (by message metadata) — found means sent, absent means safe to post again;
(2) claim pending rows and post them, a burst per channel becoming digests; (3) edit the
messages of alerts that have ended since they were posted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence

from bot.alerts.slack_port import SlackPort
from bot.errors import ChannelUnavailable, OutcomeUnknown, SlackError, SlackRateLimited
from bot.slack.blocks import DIGEST_SIZE, alert_ids_in, alert_message, digest_message
from bot.store import Delivery, Ledger
from bot.store.ledger import utcnow

log = logging.getLogger(__name__)

#: more than this many alerts waiting for one channel are posted as digests
DIGEST_THRESHOLD = 3
#: reconciliation looks this far before the oldest unsure row (clock skew, slow posts)
RECONCILE_MARGIN = dt.timedelta(minutes=10)
#: an unsure row is looked up only once this old: Slack may still be storing a slow post
RECONCILE_GRACE = dt.timedelta(seconds=30)

PARKED_NOTICE = (
    ":warning: I can no longer post in <#{channel}> ({error}). Its route is parked"
    "{fallback}. Invite me back and run `/fleet subscribe` there to resume."
)


@dataclasses.dataclass
class DeliveryReport:
    """What one run did."""

    posted_messages: int = 0
    delivered_alerts: int = 0
    reconciled: int = 0
    reposted_after_check: int = 0
    updated: int = 0
    rate_limited: int = 0
    unknown_outcomes: int = 0
    failed: int = 0
    parked_channels: list[str] = dataclasses.field(default_factory=list)


class DeliveryService:
    """Moves outbox rows to Slack (see the module docstring)."""

    def __init__(
        self,
        ledger: Ledger,
        slack: SlackPort,
        *,
        vehicle_names: Callable[[], Mapping[str, str]],
        fallback_channel: str | None = None,
        admins: Iterable[str] = (),
        locale: str = "en-GB",
        per_channel_interval: float = 1.0,
        reconcile_grace: dt.timedelta = RECONCILE_GRACE,
        clock: Callable[[], dt.datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.ledger = ledger
        self.slack = slack
        self.vehicle_names = vehicle_names
        self.fallback_channel = fallback_channel
        self.admins = tuple(admins)
        self.locale = locale
        self.per_channel_interval = per_channel_interval
        self.reconcile_grace = reconcile_grace
        self.clock = clock
        self.monotonic = monotonic
        self.sleep = sleep
        self._last_post: dict[str, float] = {}
        self._lock = threading.Lock()  # one run at a time (scheduler job vs webhook kick)
        self.paused_reason: str | None = None  # set while Slack refuses the token

    def run_once(self, *, stop: threading.Event | None = None) -> DeliveryReport:
        """Reconcile, post what is due, update ended alerts."""
        report = DeliveryReport()
        with self._lock:
            names = dict(self.vehicle_names())
            self._reconcile(report)
            while not (stop and stop.is_set()):
                claimed = self.ledger.claim()
                if not claimed:
                    break
                self._post_claimed(claimed, names, report, stop)
            self._update_ended(names, report)
        if report.reconciled or report.reposted_after_check:
            log.info(
                "reconciled after lost answers or a crash: %d found in Slack, %d to post again",
                report.reconciled,
                report.reposted_after_check,
            )
        return report

    # -- (1) reconciliation ----------------------------------------------------------------

    def _reconcile(self, report: DeliveryReport) -> None:
        by_channel: dict[str, list[Delivery]] = defaultdict(list)
        for row in self.ledger.stuck_sending(claimed_before=self.clock() - self.reconcile_grace):
            by_channel[row.channel].append(row)
        for channel, rows in by_channel.items():
            oldest = min(r.created_at for r in rows) - RECONCILE_MARGIN
            try:
                found = self._posted_alert_ids(channel, oldest)
            except ChannelUnavailable as exc:
                self._channel_unavailable(channel, rows, exc, report)
                continue
            except SlackError as exc:
                log.warning("cannot reconcile %d alerts in %s yet: %s", len(rows), channel, exc)
                continue
            for row in rows:
                if row.alert.id in found:
                    ts, digest = found[row.alert.id]
                    self.ledger.mark_sent([row.id], slack_ts=ts, digest=digest)
                    report.reconciled += 1
                else:
                    self.ledger.mark_pending(
                        [row.id], error="not in the channel after a lost answer"
                    )
                    report.reposted_after_check += 1

    def _posted_alert_ids(self, channel: str, oldest: dt.datetime) -> dict[str, tuple[str, bool]]:
        found: dict[str, tuple[str, bool]] = {}
        for message in self.slack.history(channel, oldest=oldest.timestamp()):
            for alert_id in alert_ids_in(message.get("metadata")):
                found.setdefault(alert_id, (str(message["ts"]), _is_digest(message)))
        return found

    # -- (2) posting -------------------------------------------------------------------------

    def _post_claimed(
        self,
        claimed: Sequence[Delivery],
        names: Mapping[str, str],
        report: DeliveryReport,
        stop: threading.Event | None,
    ) -> None:
        queues: dict[str, deque[list[Delivery]]] = {}
        by_channel: dict[str, list[Delivery]] = defaultdict(list)
        for row in claimed:
            by_channel[row.channel].append(row)
        for channel, rows in by_channel.items():
            if len(rows) > DIGEST_THRESHOLD:
                chunks = [rows[i : i + DIGEST_SIZE] for i in range(0, len(rows), DIGEST_SIZE)]
            else:
                chunks = [[row] for row in rows]
            queues[channel] = deque(chunks)

        # Round-robin over channels, each paced to one post per interval.
        while queues:
            if stop and stop.is_set():
                for rest in queues.values():
                    self.ledger.mark_pending(
                        [r.id for chunk in rest for r in chunk], error="stopped"
                    )
                return
            channel = min(queues, key=lambda c: self._last_post.get(c, 0.0))
            wait = self._last_post.get(channel, 0.0) + self.per_channel_interval - self.monotonic()
            if wait > 0:
                self.sleep(wait)
            chunk = queues[channel].popleft()
            try:
                carry_on, retry_at = self._post_chunk(channel, chunk, names, report)
            except ChannelUnavailable as exc:
                unposted = [r for c in queues.pop(channel) for r in c]
                self._channel_unavailable(channel, [*chunk, *unposted], exc, report)
                continue
            self._last_post[channel] = self.monotonic()
            if not carry_on:
                deferred = [r.id for c in queues.pop(channel) for r in c]
                # Known unsent: back to pending (after the rate limit, if that was the cause).
                self.ledger.mark_pending(deferred, error="deferred", retry_at=retry_at)
            elif not queues[channel]:
                del queues[channel]

    def _post_chunk(
        self,
        channel: str,
        chunk: list[Delivery],
        names: Mapping[str, str],
        report: DeliveryReport,
    ) -> tuple[bool, dt.datetime | None]:
        """Post one message; return (keep posting to this channel, retry-after time).

        ChannelUnavailable propagates: the caller reroutes the channel's whole queue.
        """
        ids = [row.id for row in chunk]
        message = self._render(chunk, names, digest=len(chunk) > 1)
        try:
            ts = self.slack.post(channel, message)
        except SlackRateLimited as exc:
            report.rate_limited += 1
            retry_at = self.clock() + dt.timedelta(seconds=exc.retry_after)
            self.ledger.mark_pending(ids, error="Slack rate limit", retry_at=retry_at)
            return False, retry_at
        except ChannelUnavailable:
            raise
        except OutcomeUnknown as exc:
            # Leave the rows in `sending`: the next run looks for them in the channel first.
            report.unknown_outcomes += 1
            log.warning("%s", exc)
            return False, None
        except SlackError as exc:
            report.failed += len(ids)
            self.ledger.mark_failed(ids, error=str(exc))
            log.error("giving up on %d alerts for %s: %s", len(ids), channel, exc)
            return True, None
        # An alert that ended before its post is shown ended already: no edit needed.
        self.ledger.mark_sent(ids, slack_ts=ts, digest=len(chunk) > 1)
        self.ledger.mark_updated([row.id for row in chunk if row.alert.ended])
        report.posted_messages += 1
        report.delivered_alerts += len(chunk)
        return True, None

    def _channel_unavailable(
        self,
        channel: str,
        rows: Sequence[Delivery],
        exc: SlackError,
        report: DeliveryReport,
    ) -> None:
        error = exc.error or "unavailable"
        ids = [r.id for r in rows]
        newly_parked = self.ledger.park_route(channel, error)
        report.parked_channels.append(channel)
        fallback = self.fallback_channel if self.fallback_channel != channel else None
        if fallback:
            self.ledger.reroute(ids, fallback, error=f"{channel}: {error}")
        else:
            self.ledger.mark_failed(ids, error=f"{channel}: {error}")
            report.failed += len(ids)
        if newly_parked or self.ledger.first_time(f"parked:{channel}:{error}"):
            self._tell_admins(channel, error, fallback)

    def _tell_admins(self, channel: str, error: str, fallback: str | None) -> None:
        text = PARKED_NOTICE.format(
            channel=channel,
            error=error,
            fallback=f" and its alerts go to <#{fallback}>" if fallback else "",
        )
        targets = [fallback] if fallback else list(self.admins)
        for target in targets:
            try:
                self.slack.post_text(target, text)
            except SlackError as exc:
                log.error("could not tell admins (%s) that %s is parked: %s", target, channel, exc)
        log.error("channel %s is parked: %s", channel, error)

    def _render(
        self, rows: Sequence[Delivery], names: Mapping[str, str], *, digest: bool
    ) -> dict[str, object]:
        """The message for one alert, or the digest of several."""
        if digest:
            items = [(row.alert, row.acked_by) for row in rows]
            return digest_message(items, names=names, locale=self.locale)
        row = rows[0]
        return alert_message(
            row.alert,
            vehicle_name=names.get(row.alert.vin, row.alert.vin),
            locale=self.locale,
            acked_by=row.acked_by,
            acked_at=row.acked_at,
        )

    # -- (3) updates -------------------------------------------------------------------------

    def _update_ended(self, names: Mapping[str, str], report: DeliveryReport) -> None:
        messages: dict[tuple[str, str], list[Delivery]] = defaultdict(list)
        for row in self.ledger.updates_due():
            messages[(row.channel, row.slack_ts or "")].append(row)
        for (channel, ts), rows in messages.items():
            if rows[0].digest:  # a digest is redrawn whole, from every alert it carries
                rows = self.ledger.deliveries_for_message(channel, ts)
            message = self._render(rows, names, digest=rows[0].digest)
            try:
                self.slack.update(channel, ts, message)
            except SlackRateLimited:
                report.rate_limited += 1
                return
            except ChannelUnavailable:
                self.ledger.mark_updated([r.id for r in rows])  # nothing left to edit
                continue
            except SlackError as exc:
                log.warning("could not mark alerts ended in %s: %s", channel, exc)
                continue
            self.ledger.mark_updated([r.id for r in rows])
            report.updated += 1


def _is_digest(message: Mapping[str, object]) -> bool:
    metadata = message.get("metadata")
    return isinstance(metadata, Mapping) and metadata.get("event_type") == "fleet_alert_digest"
