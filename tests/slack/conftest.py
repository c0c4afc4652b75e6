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

from bot.psa.client import PsaClient
from bot.sandbox.psa import PsaSandbox, SandboxCerts
from bot.sandbox.slack import SlackDriver, SlackStandIn
from bot.slack.context import PushMonitors, SlackServices
from bot.store import Ledger
from bot.web import Server, make_wsgi_app, serve
from bot.wiring import Fleetbot, build_fleetbot
from tests.conftest import FAST_RETRY, bot_settings

NOW = dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.UTC)
SIGNING_SECRET = "test-signing-secret"
ADMIN = "U0MANAGER"  # the driver's default user
GUEST = "U0GUEST"
ALERTS, OPS = "C0ALERTS", "C0OPS"


def fixed_clock() -> dt.datetime:
    """The tests' now."""
    return NOW


@dataclasses.dataclass
class World:
    """Everything a Slack test touches: the bot as the composition root builds it, served."""

    sandbox: PsaSandbox
    slack: SlackStandIn
    fleetbot: Fleetbot
    server: Server
    driver: SlackDriver

    @property
    def api(self) -> PsaClient:
        """The bot's API client."""
        return self.fleetbot.api

    @property
    def ledger(self) -> Ledger:
        """The bot's ledger."""
        return self.fleetbot.ledger

    @property
    def client(self) -> WebClient:
        """The bot's Slack WebClient."""
        return self.fleetbot.slack_client

    @property
    def services(self) -> SlackServices:
        """What the bot's Slack surfaces call."""
        return self.fleetbot.services

    @property
    def app(self) -> App:
        """The bot's Bolt app."""
        return self.fleetbot.app

    def vehicle(self, index: int = 0) -> dict[str, Any]:
        """A sandbox vehicle (v3 object with id and vin)."""
        return self.sandbox.vehicles()[index]

    def name(self, index: int = 0) -> str:
        """What the bot calls that vehicle ("Peugeot 208 (VIN)" until an admin labels it)."""
        return self.services.directory.resolve(self.vehicle(index)["vin"]).name


@pytest.fixture(scope="session")
def slack_certs(certs: SandboxCerts) -> SandboxCerts:
    """The session's certificates, under the name this folder's tests ask for."""
    return certs


@contextlib.contextmanager
def make_world(
    certs: SandboxCerts, db: Path, *, monitors: PushMonitors | None = None, vehicles: int = 8
) -> Iterator[World]:
    """Start every part, yield them wired together, and stop them all."""
    with (
        PsaSandbox(certs, vehicles=vehicles, clock=fixed_clock) as sandbox,
        SlackStandIn(channels=(ALERTS, OPS)) as slack,
    ):
        settings = bot_settings(
            sandbox,
            slack,
            db,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            FLEETBOT_ADMINS=ADMIN,
            FLEETBOT_ALERT_CHANNEL=ALERTS,
        )
        fleetbot = build_fleetbot(settings, clock=fixed_clock, api_retry=FAST_RETRY)
        if monitors is not None:  # a stand-in for the API's monitors (e.g. one that fails)
            fleetbot.services.monitors = monitors
        server = serve(make_wsgi_app(fleetbot.app), "127.0.0.1", 0)
        slack.add_user(GUEST, "guest")
        driver = SlackDriver(slack, server.url + "/slack/events", SIGNING_SECRET, channel_id=OPS)
        try:
            yield World(sandbox, slack, fleetbot, server, driver)
        finally:
            server.close()
            fleetbot.close()


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
