"""The composition root: settings → clients → store → services → Slack app → scheduler.

Only this module (and ``cli``, which calls it) builds clients; everything else receives them.
Production, tests, benchmarks and the demo all build the bot through :func:`build_fleetbot`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.alerts.delivery import (
    PAUSED_STATE,
    PROBE_EVERY,
    DeliveryService,
)
from bot.alerts.followups import FollowupService
from bot.alerts.poller import Poller
from bot.alerts.routing import AlertRouter
from bot.alerts.webhook import MonitorService, WebhookReceiver
from bot.config import Settings
from bot.directory import VehicleDirectory
from bot.gazetteer import Gazetteer
from bot.places import Places
from bot.posting.reconcile import RECONCILE_GRACE
from bot.posting.slack_port import SlackPort
from bot.psa.client import PsaClient, RetryPolicy
from bot.psa.quota import QuotaBudget
from bot.psa.tls import certificate_expiry
from bot.reports.gather import DayGatherer
from bot.reports.post import ReportService
from bot.reports.schedule import ReportDesk, ReportSchedules
from bot.scheduler import LAST_GOOD_POLL, CertificateJob, PollJob, ScheduleKeeper, SchedulerLock
from bot.slack.app import build_app, close_app
from bot.slack.context import SlackServices
from bot.store import Ledger
from bot.store.ledger import from_iso, iso, utcnow

log = logging.getLogger("bot")

DELIVER_EVERY = 2.0  # seconds; webhook callbacks also wake the delivery job at once
DIRECTORY_EVERY = 3600.0
CERT_CHECK_EVERY = 6 * 3600.0
PRUNE_EVERY = 24 * 3600.0
REPORT_SCHEDULES_EVERY = 60.0  # a schedule changed through a standby reaches the scheduler
REPORT_RETRY_EVERY = 60.0  # unsent reports are retried on their own backoff (reports/post.py)
SLACK_TIMEOUT = 10
PER_CHANNEL_INTERVAL = 1.0  # seconds between posts to one channel (Slack allows about 1/s)
SLACK_RATE_LIMIT_RETRIES = 2  # a 429 is waited out and retried this many times by the client
STALE_POLLS = 3  # /healthz fails when the last good poll is older than this many intervals
STARTUP_GRACE = 300.0  # seconds after start before a missing poll counts (a big fleet's first)

# /healthz reasons (code → sentence).
POLL_STALE = "no good poll since {since} (limit {limit:.0f} s: {polls} polls of {interval:.0f} s)"
NO_POLL_YET = "no good poll in the {limit:.0f} s since start"
DELIVERY_PAUSED = "delivery is paused: {reason}"
NO_SCHEDULER = "no process holds the scheduler lock for {db}"
SLACK_DISCONNECTED = "the Socket Mode connection to Slack is down"
STOPPING = "shutting down"


def slack_web_client(
    settings: Settings, *, rate_limit_retries: int = SLACK_RATE_LIMIT_RETRIES
) -> WebClient:
    """The one Slack WebClient: retries 429s, never blind-retries a dropped connection."""
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=SLACK_TIMEOUT,
        # Explicit list: the default adds ConnectionErrorRetryHandler, which could post twice.
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=rate_limit_retries)],
    )


@dataclasses.dataclass
class Fleetbot:
    """Every long-lived part of a running bot, wired together."""

    settings: Settings
    api: PsaClient
    ledger: Ledger
    slack_client: WebClient
    directory: VehicleDirectory
    delivery: DeliveryService
    poller: Poller
    poll_job: PollJob
    webhook: WebhookReceiver
    monitors: MonitorService
    services: SlackServices
    app: App
    reports: ReportService | None = None
    report_schedules: ReportSchedules | None = None
    clock: Callable[[], dt.datetime] = utcnow
    stop: threading.Event = dataclasses.field(default_factory=threading.Event)
    slack_connected: Callable[[], bool] | None = None  # Socket Mode only; None in HTTP mode
    keeper: ScheduleKeeper | None = None
    followups: FollowupService | None = None
    started_at: dt.datetime = dataclasses.field(default_factory=utcnow)

    def scheduled_jobs(self) -> dict[str, tuple[Callable[[], Any], float]]:
        """Job id → (plain callable, seconds between runs)."""
        return {
            "poll": (self.poll_job, min(self.settings.poll_interval, 60.0)),
            "deliver": (lambda: self.delivery.run_once(stop=self.stop), DELIVER_EVERY),
            "refresh-directory": (self.directory.refresh, DIRECTORY_EVERY),
            "check-certificate": (self.certificate_job(), CERT_CHECK_EVERY),
            "prune": (self.prune, PRUNE_EVERY),
            # thread replies and escalation reminders, from the ledger's follow-up outbox
            **({"followups": (self.followups.run_once, DELIVER_EVERY)} if self.followups else {}),
            "report-schedules": (self.sync_report_schedules, REPORT_SCHEDULES_EVERY),
            "report-retry": (self.retry_reports, REPORT_RETRY_EVERY),
        }

    def sync_report_schedules(self) -> int:
        """Make this scheduler's daily report jobs match the ledger (0 when not scheduling)."""
        schedules, keeper = self.report_schedules, self.keeper
        if schedules is None or keeper is None or keeper.scheduler is None:
            return 0
        if schedules.scheduler is not keeper.scheduler:
            schedules.attach(keeper.scheduler)  # first run, or taken over from another process
        return schedules.sync()

    def run_report(self, channel: str) -> None:
        """The scheduled daily report of ``channel`` (yesterday's, once)."""
        if self.reports is None or self.stop.is_set():
            return
        outcome = self.reports.post(channel)
        log.info("scheduled fleet report for %s: %s", channel, outcome.text)

    def retry_reports(self) -> int:
        """Post again the recent reports a failure left unsent; returns how many were tried."""
        if self.reports is None or self.stop.is_set():
            return 0
        return len(self.reports.retry_unsent())

    def prune(self) -> int:
        """Forget delivered rows older than the retention (FLEETBOT_RETENTION_DAYS)."""
        return self.ledger.prune(dt.timedelta(days=self.settings.retention_days))

    def certificate_job(self) -> CertificateJob:
        """Warn before the client certificate expires."""
        cert = self.settings.psa_cert_file
        assert cert is not None  # required to build the API client

        def notify(text: str) -> None:
            for target in [self.settings.alert_channel] if self.settings.alert_channel else []:
                self.delivery.slack.post_text(target, text)
            log.warning("%s", text)

        return CertificateJob(lambda: certificate_expiry(cert), self.ledger, notify)

    def start_scheduler(self, *, retry: float | None = None) -> bool:
        """Schedule now (True), or stand by and take over once the holder is gone (False)."""
        if self.keeper is None:
            self.keeper = ScheduleKeeper(
                SchedulerLock(self.settings.db_path), self.scheduled_jobs, stop=self.stop
            )
        if retry is not None:
            self.keeper.retry = retry
        started = self.keeper.start()
        if started:
            self.sync_report_schedules()
        return started

    @property
    def scheduling(self) -> bool:
        """True while this process runs the scheduler."""
        return self.keeper is not None and self.keeper.scheduling

    def wake_delivery(self) -> None:
        """Run delivery now (a pushed alert should not wait for the next tick)."""
        if self.keeper is not None:
            self.keeper.wake("deliver")

    def health(self) -> dict[str, Any]:
        """What /healthz reports: ``ok`` plus, when not ok, each reason by code."""
        reasons = {
            code: text
            for code, text in (
                ("stopping", STOPPING if self.stop.is_set() else None),
                ("slack_disconnected", self._slack_down()),
                ("no_scheduler", self._no_scheduler()),
                ("poll_stale", self._poll_stale()),
                ("delivery_paused", self._delivery_paused()),
            )
            if text
        }
        return {
            "ok": not reasons,
            **({"reasons": reasons} if reasons else {}),
            "role": "scheduler" if self.scheduling else "standby",
            "last_poll": (self.ledger.get_state("last_poll") or {}).get("at"),
            "last_good_poll": self.ledger.get_state(LAST_GOOD_POLL),
            "deliveries": self.ledger.counts(),
        }

    def _slack_down(self) -> str | None:
        connected = self.slack_connected
        return SLACK_DISCONNECTED if connected is not None and not connected() else None

    def _no_scheduler(self) -> str | None:
        if self.scheduling or SchedulerLock(self.settings.db_path).holder_present():
            return None
        return NO_SCHEDULER.format(db=self.settings.db_path)

    def _poll_stale(self) -> str | None:
        # Read from the database: a standby judges the holder's polls the same way.
        interval = float(
            (self.ledger.get_state("quota") or {}).get("interval") or self.settings.poll_interval
        )
        limit = STALE_POLLS * interval
        now, last = self.clock(), from_iso(self.ledger.get_state(LAST_GOOD_POLL))
        if last is not None and (now - last).total_seconds() <= limit:
            return None
        # Nothing polled since start yet: the first cycle of a big fleet takes a while.
        grace = max(limit, STARTUP_GRACE)
        if (last is None or last < self.started_at) and (
            now - self.started_at
        ).total_seconds() <= grace:
            return None
        if last is None:
            return NO_POLL_YET.format(limit=grace)
        return POLL_STALE.format(since=iso(last), limit=limit, polls=STALE_POLLS, interval=interval)

    def _delivery_paused(self) -> str | None:
        reason = self.delivery.paused_reason
        if reason is None and not self.scheduling:  # the holder delivers: read what it recorded
            reason = self.ledger.get_state(PAUSED_STATE)
        return DELIVERY_PAUSED.format(reason=reason) if reason else None

    def shutdown(self, timeout: float) -> bool:
        """Stop the jobs within ``timeout``; True when none is left running (see close)."""
        self.stop.set()
        return self.keeper.close(timeout) if self.keeper is not None else True

    def close(self, timeout: float = 30.0) -> None:
        """Stop the scheduler, release the lock, close clients and the database."""
        if not self.shutdown(timeout):
            log.warning("a scheduled job did not stop within %.0f s", timeout)
        close_app(self.app)
        self.api.close()
        self.ledger.close()


def build_fleetbot(
    settings: Settings,
    *,
    clock: Callable[[], dt.datetime] = utcnow,
    api_retry: RetryPolicy | None = None,
    slack_rate_limit_retries: int = SLACK_RATE_LIMIT_RETRIES,
    reconcile_grace: dt.timedelta = RECONCILE_GRACE,
    per_channel_interval: float = PER_CHANNEL_INTERVAL,
    probe_every: float = PROBE_EVERY,
    sleep: Callable[[float], None] = time.sleep,
    process_before_response: bool = False,
    gazetteer: Gazetteer | None = None,
) -> Fleetbot:
    """Wire every part from settings (raises ConfigError / CertificateError on bad ones).

    The keyword arguments default to production's values; tests and benchmarks change them:
    ``clock`` (every part's now), ``api_retry`` (the API client's RetryPolicy; None is its
    default), ``slack_rate_limit_retries`` (429s the WebClient retries itself),
    ``reconcile_grace`` (how old an unsure post is before it is looked up),
    ``per_channel_interval`` (seconds between posts to one channel), ``probe_every`` (seconds
    between token probes while paused), ``sleep`` (how delivery waits for its pace) and
    ``process_before_response`` (run Bolt's ack functions inline) and ``gazetteer`` (the
    towns positions are named after; one is loaded on first use when none is given).
    """
    api = PsaClient.from_settings(settings, retry=api_retry)
    ledger = Ledger(settings.db_path, clock=clock)
    slack_client = slack_web_client(settings, rate_limit_retries=slack_rate_limit_retries)
    directory = VehicleDirectory(api, ledger, clock=clock)
    # Loaded on the first position named (~0.25 s, ~15 MB; bench/bench_places.py)
    places = Places(ledger.sites, gazetteer or Gazetteer())

    def router() -> AlertRouter:
        return AlertRouter.from_ledger(ledger, settings.alert_channel)

    delivery = DeliveryService(
        ledger,
        SlackPort(slack_client),
        vehicle_names=directory.names,
        fallback_channel=settings.alert_channel,
        admins=settings.admins,
        locale=settings.psa_locale,
        per_channel_interval=per_channel_interval,
        reconcile_grace=reconcile_grace,
        clock=clock,
        sleep=sleep,
        probe_every=probe_every,
        places=places,
    )
    budget = QuotaBudget(interval=settings.poll_interval, reserve=settings.quota_reserve)
    poller = Poller(
        api,
        ledger,
        router=router,
        refresh_directory=directory.refresh,
        budget=budget,
        poll_by=settings.poll_by,
        clock=clock,
    )
    monitors = MonitorService(
        api, ledger, public_url=settings.public_url, token=settings.webhook_token
    )
    stop = threading.Event()
    poll_job = PollJob(
        poller,
        delivery,
        ledger,
        budget,
        push_enabled=lambda: monitors.push_enabled,
        clock=clock,
        stop=stop,
    )
    webhook = WebhookReceiver(ledger, token=settings.webhook_token, router=router)
    followups = FollowupService(
        ledger,
        delivery.slack,
        vehicle_names=directory.names,
        locale=settings.psa_locale,
        reconcile_grace=reconcile_grace,
        clock=clock,
    )
    reports = ReportService(
        DayGatherer(
            api, ledger, zone=settings.zone, refresh_directory=directory.refresh, clock=clock
        ),
        ledger,
        delivery.slack,
        budget=budget,
        quota=lambda: api.quota,
        locale=settings.psa_locale,
        admins=settings.admins,
        fallback_channel=settings.alert_channel,
        places=places,
        clock=clock,
    )
    holder: list[Fleetbot] = []  # the report jobs call back into the bot built below
    report_schedules = ReportSchedules(
        ledger, lambda channel: holder[0].run_report(channel), settings.zone
    )
    services = SlackServices(
        api=api,
        ledger=ledger,
        directory=directory,
        monitors=monitors,
        reports=ReportDesk(
            lambda channel, user: reports.post(channel, by=user).text, ledger, report_schedules
        ),
        settings=settings,
        clock=clock,
        send_followups=followups.run_once,
        places=places,
    )
    app = build_app(
        services,
        settings=settings,
        client=slack_client,
        process_before_response=process_before_response,
    )
    fleetbot = Fleetbot(
        settings=settings,
        api=api,
        ledger=ledger,
        slack_client=slack_client,
        directory=directory,
        delivery=delivery,
        poller=poller,
        poll_job=poll_job,
        webhook=webhook,
        monitors=monitors,
        services=services,
        app=app,
        reports=reports,
        report_schedules=report_schedules,
        clock=clock,
        stop=stop,
        followups=followups,
        started_at=clock(),
    )
    holder.append(fleetbot)
    webhook.on_stored = fleetbot.wake_delivery
    return fleetbot
