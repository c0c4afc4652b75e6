"""What every test shares: one set of sandbox certificates, one fast retry policy, bot settings.

The bot itself is built by ``bot.wiring.build_fleetbot``, as production builds it; tests change
only its keyword knobs (clock, retry policy, pace…), never the wiring.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.psa.client import RetryPolicy, quiet_http_logs
from bot.sandbox.psa import PsaSandbox, SandboxCerts
from bot.sandbox.slack import SlackStandIn

#: The API retry policy of every test: production's shape, millisecond waits.
FAST_RETRY = RetryPolicy(
    attempts=6, timeout=30.0, wait_initial=0.01, wait_max=0.05, wait_jitter=0.01,
    max_retry_after=0.05,
)  # fmt: skip


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> SandboxCerts:
    """The session's sandbox certificates (CAs, server and client certificates), made once."""
    return SandboxCerts.create(tmp_path_factory.mktemp("certs"))


def bot_settings(sandbox: PsaSandbox, slack: SlackStandIn, db: Path, **env: str) -> Settings:
    """Settings pointing the bot at this sandbox, this Slack stand-in and this database file."""
    return Settings.from_env(
        {
            **sandbox.env(),
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_API_URL": slack.api_url,
            "FLEETBOT_DB": str(db),
            **env,
        }
    )


@pytest.fixture
def cli_logging() -> Iterator[None]:
    """The loggers quieted as the CLI's logging set-up quiets them; restored afterwards."""
    names = ("httpx", "httpcore")
    levels = {name: logging.getLogger(name).level for name in names}
    quiet_http_logs()
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
