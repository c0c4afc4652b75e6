"""The alert pipeline on real parts: API sandbox over mTLS, Slack stand-in, SQLite file."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.alerts.delivery import DeliveryService
from bot.alerts.poller import Poller, QuotaBudget
from bot.alerts.routing import AlertRouter
from bot.alerts.slack_port import SlackPort
from bot.config import Settings
from bot.directory import VehicleDirectory
from bot.psa.client import PsaClient, RetryPolicy
from bot.sandbox.psa import PsaSandbox, SandboxCerts
from bot.sandbox.slack import SlackStandIn
from bot.store import Ledger

FALLBACK, OPS = "C0ALERTS", "C0OPS"
FAST_RETRY = RetryPolicy(
    attempts=6, timeout=30.0, wait_initial=0.01, wait_max=0.05, wait_jitter=0.01,
    max_retry_after=0.05,
)  # fmt: skip


@pytest.fixture(scope="session")
def pipeline_certs(tmp_path_factory: pytest.TempPathFactory) -> SandboxCerts:
    """Sandbox certificates, made once."""
    return SandboxCerts.create(tmp_path_factory.mktemp("pipeline-certs"))


@dataclasses.dataclass
class Pipeline:
    """Everything between the API and Slack, built the way the composition root builds it."""

    sandbox: PsaSandbox
    slack: SlackStandIn
    api: PsaClient
    ledger: Ledger
    poller: Poller
    delivery: DeliveryService

    def cycle(self) -> None:
        """One poll and one delivery run."""
        self.poller.poll_once()
        self.delivery.run_once()


@pytest.fixture
def pipeline(pipeline_certs: SandboxCerts, tmp_path) -> Iterator[Pipeline]:
    """A fresh 25-vehicle sandbox, Slack stand-in and ledger; critical alerts routed to #ops."""
    with (
        PsaSandbox(pipeline_certs, vehicles=25) as sandbox,
        SlackStandIn(channels=(FALLBACK, OPS)) as slack,
    ):
        settings = Settings.from_env({**sandbox.env(), "FLEETBOT_DB": str(tmp_path / "f.db")})
        api = PsaClient.from_settings(settings, retry=FAST_RETRY)
        ledger = Ledger(settings.db_path)
        client = WebClient(
            token=slack.bot_token,
            base_url=slack.api_url,
            timeout=5,
            retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=0)],
        )
        directory = VehicleDirectory(api, ledger)
        poller = Poller(
            api,
            ledger,
            router=lambda: AlertRouter.from_ledger(ledger, FALLBACK),
            refresh_directory=directory.refresh,
            budget=QuotaBudget(interval=1),
        )
        delivery = DeliveryService(
            ledger,
            SlackPort(client),
            vehicle_names=directory.names,
            fallback_channel=FALLBACK,
            per_channel_interval=0.0,
            reconcile_grace=dt.timedelta(0),  # unsure rows are looked up on the next run
        )
        ledger.add_route(OPS, min_severity=2)
        try:
            yield Pipeline(sandbox, slack, api, ledger, poller, delivery)
        finally:
            api.close()
            ledger.close()
