"""The alert pipeline on real parts: API sandbox over mTLS, Slack stand-in, SQLite file."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.alerts.delivery import DeliveryService
from bot.alerts.poller import Poller
from bot.psa.client import PsaClient
from bot.sandbox.psa import PsaSandbox, SandboxCerts
from bot.sandbox.slack import SlackStandIn
from bot.store import Ledger
from bot.wiring import Fleetbot, build_fleetbot
from tests.conftest import FAST_RETRY, bot_settings

FALLBACK, OPS = "C0ALERTS", "C0OPS"


@dataclasses.dataclass
class Pipeline:
    """Everything between the API and Slack, as the composition root builds it."""

    sandbox: PsaSandbox
    slack: SlackStandIn
    fleetbot: Fleetbot

    @property
    def api(self) -> PsaClient:
        """The bot's API client."""
        return self.fleetbot.api

    @property
    def ledger(self) -> Ledger:
        """The bot's ledger."""
        return self.fleetbot.ledger

    @property
    def poller(self) -> Poller:
        """The bot's poller."""
        return self.fleetbot.poller

    @property
    def delivery(self) -> DeliveryService:
        """The bot's delivery service."""
        return self.fleetbot.delivery

    def cycle(self) -> None:
        """One poll and one delivery run."""
        self.poller.poll_once()
        self.delivery.run_once()


@pytest.fixture
def pipeline(certs: SandboxCerts, tmp_path: Path) -> Iterator[Pipeline]:
    """A fresh 25-vehicle sandbox, Slack stand-in and ledger; critical alerts routed to #ops."""
    with (
        PsaSandbox(certs, vehicles=25) as sandbox,
        SlackStandIn(channels=(FALLBACK, OPS)) as slack,
    ):
        settings = bot_settings(
            sandbox,
            slack,
            tmp_path / "f.db",
            FLEETBOT_ALERT_CHANNEL=FALLBACK,
            FLEETBOT_POLL_INTERVAL="1",
            # Per-vehicle here: these tests use per-vehicle knobs (injected records, paging,
            # stops); test_poller.py checks the fleet path ingests exactly the same.
            FLEETBOT_POLL_BY="vehicle",
        )
        fleetbot = build_fleetbot(
            settings,
            api_retry=FAST_RETRY,
            slack_rate_limit_retries=0,  # a 429 reaches delivery, which must handle it
            per_channel_interval=0.0,
            reconcile_grace=dt.timedelta(0),  # unsure rows are looked up on the next run
        )
        fleetbot.ledger.add_route(OPS, min_severity=2)
        try:
            yield Pipeline(sandbox, slack, fleetbot)
        finally:
            fleetbot.close()
