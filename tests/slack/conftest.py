"""The Slack app on real parts: API sandbox over mTLS, Slack stand-in, SQLite file, waitress.

Requests reach the bot exactly as Slack sends them (signed, form-encoded) through the driver.
The sandbox and the services share a fixed clock, so "today" and "the last 7 days" are stable.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.config import Settings
from bot.directory import VehicleDirectory
from bot.psa.client import PsaClient, RetryPolicy
from bot.sandbox.psa import PsaSandbox, SandboxCerts
from bot.sandbox.slack import SlackDriver, SlackStandIn
from bot.slack.app import build_app, close_app
from bot.slack.context import PushMonitors, SlackServices
from bot.store import Ledger
from bot.web import Server, make_wsgi_app, serve

NOW = dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.UTC)
SIGNING_SECRET = "test-signing-secret"
ADMIN = "U0MANAGER"  # the driver's default user
GUEST = "U0GUEST"
ALERTS, OPS = "C0ALERTS", "C0OPS"
FAST_RETRY = RetryPolicy(
    attempts=3, timeout=10.0, wait_initial=0.01, wait_max=0.05, wait_jitter=0.01,
    max_retry_after=0.05,
)  # fmt: skip


def fixed_clock() -> dt.datetime:
    """The tests' now."""
    return NOW


@dataclasses.dataclass
class World:
    """Everything a Slack test touches."""

    sandbox: PsaSandbox
    slack: SlackStandIn
    api: PsaClient
    ledger: Ledger
    client: WebClient
    services: SlackServices
    app: App
    server: Server
    driver: SlackDriver

    def vehicle(self, index: int = 0) -> dict[str, Any]:
        """A sandbox vehicle (v3 object with id and vin)."""
        return self.sandbox.vehicles()[index]

    def name(self, index: int = 0) -> str:
        """What the bot calls that vehicle ("Peugeot 208 (VIN)" until an admin labels it)."""
        return self.services.directory.resolve(self.vehicle(index)["vin"]).name


@pytest.fixture(scope="session")
def slack_certs(tmp_path_factory: pytest.TempPathFactory) -> SandboxCerts:
    """Sandbox certificates, made once."""
    return SandboxCerts.create(tmp_path_factory.mktemp("slack-certs"))


@contextlib.contextmanager
def make_world(
    certs: SandboxCerts, db: Path, *, monitors: PushMonitors | None = None, vehicles: int = 8
) -> Iterator[World]:
    """Start every part, yield them wired together, and stop them all."""
    with (
        PsaSandbox(certs, vehicles=vehicles, clock=fixed_clock) as sandbox,
        SlackStandIn(channels=(ALERTS, OPS)) as slack,
    ):
        settings = Settings.from_env(
            {
                **sandbox.env(),
                "SLACK_BOT_TOKEN": slack.bot_token,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": slack.api_url,
                "FLEETBOT_DB": str(db),
                "FLEETBOT_ADMINS": ADMIN,
                "FLEETBOT_ALERT_CHANNEL": ALERTS,
            }
        )
        api = PsaClient.from_settings(settings, retry=FAST_RETRY)
        ledger = Ledger(db, clock=fixed_clock)
        client = WebClient(
            token=slack.bot_token,
            base_url=slack.api_url,
            timeout=5,
            retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
        )
        directory = VehicleDirectory(api, ledger, clock=fixed_clock)
        services = SlackServices(
            api=api,
            ledger=ledger,
            directory=directory,
            settings=settings,
            monitors=monitors,
            clock=fixed_clock,
        )
        app = build_app(services, settings=settings, client=client, process_before_response=False)
        server = serve(make_wsgi_app(app), "127.0.0.1", 0)
        slack.add_user(GUEST, "guest")
        driver = SlackDriver(slack, server.url + "/slack/events", SIGNING_SECRET, channel_id=OPS)
        try:
            yield World(sandbox, slack, api, ledger, client, services, app, server, driver)
        finally:
            server.close()
            close_app(app)
            api.close()
            ledger.close()


@pytest.fixture
def world(slack_certs: SandboxCerts, tmp_path: Path) -> Iterator[World]:
    """A fresh world for one test."""
    with make_world(slack_certs, tmp_path / "fleetbot.db") as built:
        yield built


@pytest.fixture(scope="module")
def shared_world(
    slack_certs: SandboxCerts, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """One world for a whole module (property tests, which run many examples)."""
    with make_world(slack_certs, tmp_path_factory.mktemp("shared") / "fleetbot.db") as built:
        yield built


def reply(result: Any, count: int = 1) -> dict[str, Any]:
    """The last of ``count`` replies on a command's response_url."""
    assert result.status == 200, result.body
    return result.replies(count=count)[-1]


def all_text(message: dict[str, Any]) -> str:
    """The fallback text and every block's text of a message, joined."""
    parts = [str(message.get("text") or "")]
    for block in message.get("blocks") or []:
        text = block.get("text")
        if isinstance(text, dict):
            parts.append(str(text.get("text") or ""))
        for element in block.get("elements") or []:
            if isinstance(element, dict) and isinstance(element.get("text"), str | dict):
                inner = element["text"]
                parts.append(inner if isinstance(inner, str) else str(inner.get("text") or ""))
    return "\n".join(parts)
