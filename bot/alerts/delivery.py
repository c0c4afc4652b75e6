"""Delivery: from the outbox to Slack, exactly once, at about one post per second per channel.

One run: (0) release what mutes held, now that they have ended or were lifted; (1) reconcile
rows a crash or an unknown outcome left in ``sending`` against the channel history (by message
metadata, from this app only) — found means sent, absent means safe to post again; (2) claim
pending rows and post them, a burst per channel becoming digests; (3) edit the messages of
alerts that have ended since they were posted.

When Slack refuses the token, delivery pauses: rows stay pending, ``paused_reason`` says why,
and each later run probes with ``auth.test`` (at most every ``probe_every`` seconds) until the
token works again. Only an error proving a message can never be posted fails a row; admins
hear of failures once per burst.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from bot.alerts.routing import covering_mute
from bot.errors import (
    ChannelUnavailable,
    MessageGone,
    MessageUnpostable,
    OutcomeUnknown,
    SlackError,
    SlackRateLimited,
    SlackTokenRefused,
)
from bot.logs import alert_extra
from bot.messages import texts
from bot.messages.alerts import (
    DIGEST_SIZE,
    alert_ids_in,
    alert_line,
    alert_message,
    digest_message,
)
from bot.messages.followups import ended_text
from bot.messages.markup import Message
from bot.posting.reconcile import RECONCILE_GRACE, RECONCILE_MARGIN
from bot.posting.slack_port import SlackPort
from bot.store import Delivery, Ledger, Mute
from bot.store.ledger import from_iso, iso, utcnow

if TYPE_CHECKING:
    from bot.places import Places

log = logging.getLogger(__name__)

#: more than this many alerts waiting for one channel are posted as digests
DIGEST_THRESHOLD = 3

#: while paused, probe the token with auth.test at most this often (seconds)
PROBE_EVERY = 30.0
#: an unrecognised Slack error may be new and passing, or may mean "never": retry it with
#: backoff this many times in all, then fail the row and tell admins (never silent, never forever)
MAX_STRIKES = 5
STRIKE_BACKOFF = dt.timedelta(seconds=30)
#: a failing in-place edit backs off up to this, and is given up after MAX_UPDATE_ATTEMPTS so
#: one broken message neither blocks later edits nor keeps its rows from being pruned
UPDATE_BACKOFF_MAX = dt.timedelta(hours=1)
MAX_UPDATE_ATTEMPTS = 30
#: failures closer together than this are one burst: admins are told once per burst
FAILURE_BURST_GAP = dt.timedelta(hours=1)
FAILURE_STATE_KEY = "delivery_failures"

PAUSED_LOG = (
    "Slack refuses the bot token (%s): delivery is paused, every alert stays queued; "
    "it resumes by itself once the token works (checked every %.0f s)"
)
RESUMED_LOG = "Slack accepts the bot token again (was: %s): delivery resumes"
FAILED_NOTICE = (
    ":x: Slack refused {count} for good: {reasons}. `/fleet failed` lists them and "
    "`/fleet retry` queues them again. I will say nothing more about failures until "
    "an hour has passed without one."
)
ERROR_WORDS = {
    "msg_too_long": "the message was too long for Slack",
    "msg_blocks_too_long": "the message was too long for Slack",
    "no_text": "the message was empty",
    "invalid_blocks": "Slack rejected the message layout",
    "invalid_blocks_format": "Slack rejected the message layout",
    "too_many_attachments": "the message had too many attachments",
    "invalid_attachments": "Slack rejected the message attachments",
    "invalid_metadata_format": "Slack rejected the message metadata",
    "invalid_metadata_schema": "Slack rejected the message metadata",
    "metadata_too_large": "the message metadata was too large",
}
ERROR_WORDS_OTHER = "Slack kept answering “{error}”"

#: ledger state key: why delivery is paused, for processes that do not deliver (standbys)
PAUSED_STATE = "delivery_paused"

PARKED_NOTICE = (
    ":warning: I can no longer post in <#{channel}> ({error}). Its route is parked"
    "{fallback}. Invite me back and run `/fleet subscribe` there to resume."
)


def delivery_message(
    rows: Sequence[Delivery],
    *,
    names: Mapping[str, str],
    locale: str,
    mutes: Sequence[Mute],
    places: Places | None,
    digest: bool,
) -> Message:
    """The message for ledger rows as they stand now: one alert, or the digest of several.

    The one renderer for first posts, "ended" edits and every button's redraw, so a redraw
    can never lose what the first post said (places, held, who muted it).
    """
    if digest:
        items = [(row.alert, row.acked_by, row.acked_at) for row in rows]
        held = {row.alert.id for row in rows if row.held_by_mute}
        return digest_message(items, names=names, locale=locale, held=held, places=places)
    row = rows[0]
    return alert_message(
        row.alert,
        vehicle_name=names.get(row.alert.vin, row.alert.vin),
        locale=locale,
        acked_by=row.acked_by,
        acked_at=row.acked_at,
        held_by_mute=row.held_by_mute,
        # who muted this kind of alert and until when, with Unmute (kept on the ended edit)
        muted=covering_mute(row.alert, mutes),
        places=places,
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
    retried_unknown_errors: int = 0
    updates_given_up: int = 0
    updates_deferred: int = 0
    released: int = 0
    closed_held: int = 0
    paused: str | None = None
    parked_channels: list[str] = dataclasses.field(default_factory=list)
    failures: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (channel, error)


class _Paused(Exception):
    """Slack refuses the token: stop this run (rows are back to pending)."""


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
        probe_every: float = PROBE_EVERY,
        places: Places | None = None,
    ) -> None:
        self.ledger = ledger
        self.slack = slack
        self.vehicle_names = vehicle_names
        self.fallback_channel = fallback_channel
        self.admins = tuple(admins)
        self.locale = locale
        self.places = places  # names the positions in messages
        self.per_channel_interval = per_channel_interval
        self.reconcile_grace = reconcile_grace
        self.clock = clock
        self.monotonic = monotonic
        self.sleep = sleep
        self._last_post: dict[str, float] = {}
        self._lock = threading.Lock()  # one run at a time (scheduler job vs webhook kick)
        self.paused_reason: str | None = None  # set while Slack refuses the token
        self.probe_every = probe_every
        self._last_probe = 0.0  # monotonic time of the last refusal or probe
        self._logged_pause: str | None = None  # said once per pause, not once per run
        self._said_working = False

    def run_once(self, *, stop: threading.Event | None = None) -> DeliveryReport:
        """Release ended mutes, reconcile, post what is due, update ended alerts."""
        report = DeliveryReport()
        with self._lock:
            self._release_held(report)
            if self.paused_reason is None or self._probe():
                names = dict(self.vehicle_names())
                stopping = stop.is_set if stop else lambda: False
                try:
                    if not stopping():  # shutting down: no Slack calls a restart redoes anyway
                        self._reconcile(report)
                    while not stopping():
                        claimed = self.ledger.claim()
                        if not claimed:
                            break
                        self._post_claimed(claimed, names, report, stop)
                    if not stopping():
                        self._update_ended(names, report)
                except _Paused:
                    pass
            report.paused = self.paused_reason
            self._tell_failures(report)
        if report.reconciled or report.reposted_after_check:
            log.info(
                "reconciled after lost answers or a crash: %d found in Slack, %d to post again",
                report.reconciled,
                report.reposted_after_check,
            )
        return report

    # -- pause on a refused token ------------------------------------------------------------

    def _pause(self, exc: SlackTokenRefused) -> _Paused:
        """Enter (or stay in) the paused state; the caller raises what this returns."""
        reason = exc.error or "token refused"
        self.paused_reason = reason
        self._last_probe = self.monotonic()
        if self._logged_pause != reason:
            self._logged_pause = reason
            log.error(PAUSED_LOG, reason, self.probe_every)
            self.ledger.set_state(PAUSED_STATE, reason)  # a standby's /healthz reads it
        return _Paused(reason)

    def _probe(self) -> bool:
        """While paused: True once ``auth.test`` works again (asked at most every probe_every)."""
        if self.monotonic() - self._last_probe < self.probe_every:
            return False
        self._last_probe = self.monotonic()
        try:
            self.slack.auth_test()
        except SlackTokenRefused as exc:
            self.paused_reason = exc.error or self.paused_reason
            return False
        except SlackError as exc:
            log.warning("cannot tell whether Slack accepts the token yet: %s", exc)
            return False
        log.warning(RESUMED_LOG, self.paused_reason)
        self.paused_reason = None
        self.ledger.set_state(PAUSED_STATE, None)
        return True

    def _working(self) -> None:
        """A call went through: a later refusal is news again and is logged."""
        if self._logged_pause is not None or not self._said_working:
            # First success of this process (a previous holder may have left a pause behind).
            self.ledger.set_state(PAUSED_STATE, None)
            self._said_working = True
        self._logged_pause = None

    # -- (0) mutes ending -------------------------------------------------------------------

    def _release_held(self, report: DeliveryReport) -> None:
        """Rows held by a mute that has ended or was lifted: post, close, or hold on."""
        due = self.ledger.held_due(self.clock())
        if not due:
            return
        mutes = self.ledger.mutes(self.clock())
        post: list[int] = []
        close: list[int] = []
        hold: dict[int, int] = {}
        for row in due:
            still = covering_mute(row.alert, mutes)
            if row.alert.ended:
                close.append(row.id)
            elif still is not None:
                hold[row.id] = still.id  # another mute of the vehicle still covers it
            else:
                post.append(row.id)
        done = self.ledger.release_held(post=post, close=close, hold=hold)
        report.released += done.posted
        report.closed_held += done.closed
        if done.posted or done.closed:
            log.info(
                "mutes ended or lifted: %d held alerts queued to post, "
                "%d ended while held and closed without a post",
                done.posted,
                done.closed,
            )

    # -- (1) reconciliation ----------------------------------------------------------------

    def _reconcile(self, report: DeliveryReport) -> None:
        by_channel: dict[str, list[Delivery]] = defaultdict(list)
        for row in self.ledger.stuck_sending(claimed_before=self.clock() - self.reconcile_grace):
            by_channel[row.channel].append(row)
        for channel, rows in by_channel.items():
            oldest = min(r.created_at for r in rows) - RECONCILE_MARGIN
            try:
                found = self._posted_alert_ids(channel, oldest)
            except SlackTokenRefused as exc:
                raise self._pause(exc) from exc
            except ChannelUnavailable as exc:
                self._channel_unavailable(channel, rows, exc, report)
                continue
            except SlackError as exc:
                for row in rows:
                    log.warning("cannot reconcile yet: %s", exc, extra=_extra(row))
                continue
            for row in rows:
                if row.alert.id in found:
                    ts, digest = found[row.alert.id]
                    self.ledger.mark_sent([row.id], slack_ts=ts, digest=digest)
                    log.info("found posted after a lost answer (message %s)", ts, extra=_extra(row))
                    report.reconciled += 1
                else:
                    log.info(
                        "not in the channel after a lost answer: posting again", extra=_extra(row)
                    )
                    self.ledger.mark_pending(
                        [row.id], error="not in the channel after a lost answer"
                    )
                    report.reposted_after_check += 1

    def _posted_alert_ids(self, channel: str, oldest: dt.datetime) -> dict[str, tuple[str, bool]]:
        found: dict[str, tuple[str, bool]] = {}
        own = self.slack.own_bot_id()
        for message in self.slack.history(channel, oldest=oldest.timestamp()):
            if own and message.get("bot_id") != own:
                continue  # another app's message, whatever metadata it carries
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
            except SlackTokenRefused as exc:
                waiting = [r.id for q in queues.values() for rows in q for r in rows]
                self.ledger.mark_pending(
                    [*(r.id for r in chunk), *waiting], error=f"paused: {exc.error}"
                )
                raise self._pause(exc) from exc
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

        ChannelUnavailable and SlackTokenRefused propagate: the caller handles the whole queue.
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
        except (ChannelUnavailable, SlackTokenRefused):
            raise
        except OutcomeUnknown as exc:
            # Leave the rows in `sending`: the next run looks for them in the channel first.
            report.unknown_outcomes += 1
            for row in chunk:
                log.warning("%s", exc, extra=_extra(row))
            return False, None
        except MessageUnpostable as exc:
            if len(chunk) > 1:  # the digest may be what Slack refused: try each alert alone
                return self._post_alone(channel, chunk, names, report)
            self._fail(channel, chunk, exc, report)
            return True, None
        except SlackError as exc:
            strikes = max(row.strikes for row in chunk) + 1
            if strikes >= MAX_STRIKES:
                self._fail(channel, chunk, exc, report)
                return True, None
            report.retried_unknown_errors += len(ids)
            retry_at = self.clock() + STRIKE_BACKOFF * 2 ** (strikes - 1)
            self.ledger.mark_pending(ids, error=str(exc), retry_at=retry_at, strike=True)
            for row in chunk:
                log.warning(
                    "%s; trying again (%d of %d)", exc, strikes, MAX_STRIKES, extra=_extra(row)
                )
            return True, None
        self._working()
        # An alert that ended before its post is shown ended already: no edit needed.
        self.ledger.mark_sent(ids, slack_ts=ts, digest=len(chunk) > 1)
        self.ledger.mark_updated([row.id for row in chunk if row.alert.ended])
        report.posted_messages += 1
        report.delivered_alerts += len(chunk)
        for row in chunk:
            log.info(
                "posted (message %s%s)",
                ts,
                ", a digest" if len(chunk) > 1 else "",
                extra=_extra(row),
            )
        return True, None

    def _post_alone(
        self,
        channel: str,
        chunk: list[Delivery],
        names: Mapping[str, str],
        report: DeliveryReport,
    ) -> tuple[bool, dt.datetime | None]:
        """Post each alert of a refused digest on its own (paced like any post)."""
        for n, row in enumerate(chunk):
            if n:
                self.sleep(self.per_channel_interval)
            carry_on, retry_at = self._post_chunk(channel, [row], names, report)
            if not carry_on:
                rest = [r.id for r in chunk[n + 1 :]]
                self.ledger.mark_pending(rest, error="deferred", retry_at=retry_at)
                return False, retry_at
        return True, None

    def _fail(
        self, channel: str, rows: Sequence[Delivery], exc: SlackError, report: DeliveryReport
    ) -> None:
        """These rows can never be posted: failed for good, admins told (once per burst)."""
        ids = [row.id for row in rows]
        report.failed += len(ids)
        report.failures += [(channel, exc.error or "unknown")] * len(ids)
        self.ledger.mark_failed(ids, error=exc.error or str(exc))
        for row in rows:
            log.error("giving up, Slack will never take it: %s", exc, extra=_extra(row))

    def _tell_failures(self, report: DeliveryReport) -> None:
        """Tell admins of failed rows once per burst (failures less than an hour apart)."""
        if not report.failures:
            return
        now = self.clock()
        last = from_iso(self.ledger.get_state(FAILURE_STATE_KEY, {}).get("last_at"))
        self.ledger.set_state(FAILURE_STATE_KEY, {"last_at": iso(now)})
        if last is not None and now - last < FAILURE_BURST_GAP:
            return  # same burst: admins already know
        errors = sorted({error for _channel, error in report.failures})
        reasons = "; ".join(
            ERROR_WORDS.get(error, ERROR_WORDS_OTHER.format(error=error)) for error in errors
        )
        count = len(report.failures)
        text = FAILED_NOTICE.format(
            count=f"{count} alert message" + ("s" if count != 1 else ""), reasons=reasons
        )
        targets = list(self.admins) or ([self.fallback_channel] if self.fallback_channel else [])
        for target in targets:
            try:
                self.slack.post_text(target, text)
            except SlackError as exc:
                log.error(
                    "could not tell %s about failed deliveries: %s",
                    target,
                    exc,
                    extra={"channel": target},
                )
        log.error("%d alert messages failed for good: %s", count, ", ".join(errors))

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
                log.error(
                    "could not tell admins (%s) that %s is parked: %s",
                    target,
                    channel,
                    exc,
                    extra={"channel": target},
                )
        log.error("channel %s is parked: %s", channel, error, extra={"channel": channel})

    def _render(
        self, rows: Sequence[Delivery], names: Mapping[str, str], *, digest: bool
    ) -> Message:
        """The message for one alert, or the digest of several."""
        mutes = self.ledger.mutes(self.clock())
        return delivery_message(
            rows, names=names, locale=self.locale, mutes=mutes, places=self.places, digest=digest
        )

    # -- (3) updates -------------------------------------------------------------------------

    def _update_ended(self, names: Mapping[str, str], report: DeliveryReport) -> None:
        messages: dict[tuple[str, str], list[Delivery]] = defaultdict(list)
        for row in self.ledger.updates_due(now=self.clock()):
            messages[(row.channel, row.slack_ts or "")].append(row)
        for (channel, ts), rows in messages.items():
            self._queue_ended_replies(rows, names)
            if rows[0].digest:  # a digest is redrawn whole, from every alert it carries
                rows = self.ledger.deliveries_for_message(channel, ts)
            message = self._render(rows, names, digest=rows[0].digest)
            ids = [r.id for r in rows]
            try:
                self.slack.update(channel, ts, message)
            except SlackRateLimited:
                report.rate_limited += 1
                return
            except SlackTokenRefused as exc:
                raise self._pause(exc) from exc
            except ChannelUnavailable:
                self.ledger.mark_updated(ids)  # nothing left to edit
                continue
            except MessageGone as exc:
                self._give_up_update(channel, ts, rows, exc, report)
                continue
            except SlackError as exc:
                attempts = max(r.update_attempts for r in rows) + 1
                if attempts >= MAX_UPDATE_ATTEMPTS:
                    self._give_up_update(channel, ts, rows, exc, report)
                    continue
                wait = min(UPDATE_BACKOFF_MAX, STRIKE_BACKOFF * 2 ** (attempts - 1))
                self.ledger.defer_update(ids, error=str(exc), retry_at=self.clock() + wait)
                report.updates_deferred += 1
                for row in rows:
                    log.warning(
                        "could not mark ended (attempt %d): %s", attempts, exc, extra=_extra(row)
                    )
                continue
            self._working()
            self.ledger.mark_updated(ids)
            report.updated += 1
            for row in rows:
                log.info("marked ended (message %s)", ts, extra=_extra(row))

    def _queue_ended_replies(self, rows: Sequence[Delivery], names: Mapping[str, str]) -> None:
        """One quiet "ended" reply per alert in its message's thread (idempotent: queued once)."""
        for row in rows:
            if not row.alert.ended or not row.slack_ts:
                continue
            subject = texts.FOLLOWUP_THIS_ALERT
            if row.digest:
                vehicle = names.get(row.alert.vin, row.alert.vin)
                subject = alert_line(row.alert, self.locale, vehicle)
            text = ended_text(row.alert.end_at or row.alert.updated_at, subject)
            self.ledger.queue_followup(
                row.alert.id, row.channel, "ended", text, thread_ts=row.slack_ts, n=1
            )

    def _give_up_update(
        self,
        channel: str,
        ts: str,
        rows: Sequence[Delivery],
        exc: SlackError,
        report: DeliveryReport,
    ) -> None:
        """Stop trying to edit a message: it is gone, or it kept failing."""
        self.ledger.give_up_update([r.id for r in rows], error=exc.error or str(exc))
        report.updates_given_up += 1
        for row in rows:
            log.warning("gave up marking it ended (message %s): %s", ts, exc, extra=_extra(row))


def _extra(row: Delivery) -> dict[str, object]:
    """The log fields of one alert's delivery (see bot.logs)."""
    return alert_extra(row.alert.id, row.alert.vin, row.channel)


def _is_digest(message: Mapping[str, object]) -> bool:
    metadata = message.get("metadata")
    return isinstance(metadata, Mapping) and metadata.get("event_type") == "fleet_alert_digest"
