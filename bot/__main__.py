"""The composition root: settings → clients → store → services → Slack app → scheduler.

Only this module (and ``cli``, which calls it) builds clients; everything else receives them.
``python -m bot`` is the same as the ``fleetbot`` command.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.alerts.delivery import DeliveryService
from bot.alerts.poller import Poller, QuotaBudget
from bot.alerts.routing import AlertRouter
from bot.alerts.slack_port import SlackPort
from bot.alerts.webhook import MonitorService, WebhookReceiver
from bot.config import Settings
from bot.psa.client import PsaClient, quiet_http_logs
from bot.psa.tls import certificate_expiry
from bot.scheduler import CertificateJob, PollJob, SchedulerLock, build_scheduler
from bot.slack.app import build_app, close_app
from bot.slack.directory import VehicleDirectory
from bot.slack.services import SlackServices
from bot.store import Ledger
from bot.store.ledger import utcnow

log = logging.getLogger("bot")

DELIVER_EVERY = 2.0  # seconds; webhook callbacks also wake the delivery job at once
DIRECTORY_EVERY = 3600.0
CERT_CHECK_EVERY = 6 * 3600.0
PRUNE_EVERY = 24 * 3600.0
SLACK_TIMEOUT = 10


def slack_web_client(settings: Settings) -> WebClient:
    """The one Slack WebClient: retries 429s, never blind-retries a dropped connection."""
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=SLACK_TIMEOUT,
        # Explicit list: the default adds ConnectionErrorRetryHandler, which could post twice.
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
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
    app: App
    scheduler: Any = None
    lock: SchedulerLock | None = None

    def scheduled_jobs(self) -> dict[str, tuple[Callable[[], Any], float]]:
        """Job id → (plain callable, seconds between runs)."""
        return {
            "poll": (self.poll_job, min(self.settings.poll_interval, 60.0)),
            "deliver": (self.delivery.run_once, DELIVER_EVERY),
            "refresh-directory": (self.directory.refresh, DIRECTORY_EVERY),
            "check-certificate": (self.certificate_job(), CERT_CHECK_EVERY),
            "prune": (self.prune, PRUNE_EVERY),
        }

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

    def start_scheduler(self) -> bool:
        """Schedule, unless another process already does for this database."""
        self.lock = SchedulerLock(self.settings.db_path)
        if not self.lock.acquire():
            log.warning(
                "another fleetbot schedules for %s: this one serves Slack only",
                self.settings.db_path,
            )
            self.lock = None
            return False
        self.scheduler = build_scheduler(self.scheduled_jobs())
        self.scheduler.start()
        return True

    def wake_delivery(self) -> None:
        """Run delivery now (a pushed alert should not wait for the next tick)."""
        if self.scheduler is not None:
            self.scheduler.modify_job("deliver", next_run_time=dt.datetime.now(dt.UTC))

    def health(self) -> dict[str, Any]:
        """What /healthz reports: liveness plus the facts an operator looks at first."""
        return {
            "ok": True,
            "scheduler": self.scheduler is not None,
            "last_poll": (self.ledger.get_state("last_poll") or {}).get("at"),
            "deliveries": self.ledger.counts(),
        }

    def close(self) -> None:
        """Stop the scheduler, release the lock, close clients and the database."""
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)
            self.scheduler = None
        if self.lock is not None:
            self.lock.release()
        close_app(self.app)
        self.api.close()
        self.ledger.close()


def build_fleetbot(settings: Settings, *, clock: Callable[[], dt.datetime] = utcnow) -> Fleetbot:
    """Wire every part from settings (raises ConfigError / CertificateError on bad ones)."""
    quiet_http_logs()
    api = PsaClient.from_settings(settings)
    ledger = Ledger(settings.db_path, clock=clock)
    slack_client = slack_web_client(settings)
    directory = VehicleDirectory(api, ledger, clock=clock)

    def router() -> AlertRouter:
        return AlertRouter.from_ledger(ledger, settings.alert_channel)

    delivery = DeliveryService(
        ledger,
        SlackPort(slack_client),
        vehicle_names=directory.names,
        fallback_channel=settings.alert_channel,
        admins=settings.admins,
        locale=settings.psa_locale,
        clock=clock,
    )
    budget = QuotaBudget(interval=settings.poll_interval, reserve=settings.quota_reserve)
    poller = Poller(
        api, ledger, router=router, refresh_directory=directory.refresh, budget=budget, clock=clock
    )
    monitors = MonitorService(
        api, ledger, public_url=settings.public_url, token=settings.webhook_token
    )
    poll_job = PollJob(
        poller, delivery, ledger, budget, push_enabled=lambda: monitors.push_enabled, clock=clock
    )
    webhook = WebhookReceiver(ledger, token=settings.webhook_token, router=router)
    services = SlackServices(
        api=api,
        ledger=ledger,
        directory=directory,
        monitors=monitors,
        settings=settings,
        clock=clock,
    )
    app = build_app(services, settings=settings, client=slack_client, process_before_response=False)
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
        app=app,
    )
    webhook.on_stored = fleetbot.wake_delivery
    return fleetbot


if __name__ == "__main__":
    from bot.cli import main

    raise SystemExit(main())
