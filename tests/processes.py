"""Fleetbot as a real process in tests: a clean environment pointing at the local parts.

The tests that run ``python -m bot …`` (kill -9, standby, logs, check, cron reports) share
this, so none inherits a developer's real PSA_/SLACK_/FLEETBOT_ settings by accident.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import IO

from bot.sandbox.psa import PsaSandbox
from bot.sandbox.slack import SlackStandIn

OURS = ("PSA_", "SLACK_", "FLEETBOT_")


def clean_environ() -> dict[str, str]:
    """This process's environment without any API, Slack or Fleetbot setting."""
    return {k: v for k, v in os.environ.items() if not k.startswith(OURS)}


def bot_env(sandbox: PsaSandbox, slack: SlackStandIn, db: Path, **extra: str) -> dict[str, str]:
    """A clean environment for a bot on the API sandbox, the Slack stand-in and ``db``."""
    return {
        **clean_environ(),
        **sandbox.env(),
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_API_URL": slack.api_url,
        "FLEETBOT_DB": str(db),
        **extra,
    }


def start_bot(env: dict[str, str], log: IO[str]) -> subprocess.Popen[bytes]:
    """``fleetbot run`` in the background, its output (both streams) into ``log``."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
