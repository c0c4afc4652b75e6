"""`fleetbot report` as cron runs it: real processes, a kill -9 in the middle, never twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.sandbox.psa import PsaSandbox, SandboxCerts
from bot.sandbox.slack import SlackStandIn
from tests.claims import age_claims
from tests.processes import bot_env

CHANNEL = "C0ALERTS"


def env_for(sandbox: PsaSandbox, slack: SlackStandIn, tmp_path: Path) -> dict[str, str]:
    """A clean environment pointing at the sandbox, the stand-in and a fresh database."""
    return bot_env(sandbox, slack, tmp_path / "fleetbot.db", FLEETBOT_TIMEZONE="Europe/Paris")


def command(tmp_path: Path, *args: str) -> list[str]:
    """`python -m bot report …` with no .env file."""
    env_file = str(tmp_path / "none.env")
    return [sys.executable, "-m", "bot", "--env-file", env_file, "report", *args]


def reports(slack: SlackStandIn) -> list[str]:
    """Days of the fleet reports in the channel, one entry per message."""
    return [
        m.metadata["event_payload"]["day"]
        for m in slack.messages(CHANNEL)
        if (m.metadata or {}).get("event_type") == "fleet_report"
    ]


def test_second_run_posts_nothing_and_says_where(certs: SandboxCerts, tmp_path: Path) -> None:
    """Run twice for the same channel and day: one message; the second prints its link, exit 0."""
    with PsaSandbox(certs, vehicles=4) as sandbox, SlackStandIn() as slack:
        env = env_for(sandbox, slack, tmp_path)
        args = command(tmp_path, "--channel", CHANNEL, "--day", "2026-11-19")
        first = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
        assert first.returncode == 0, first.stderr
        assert "Posted the fleet report for 2026-11-19" in first.stdout
        second = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 0, second.stderr
        assert "already in" in second.stdout and "/archives/C0ALERTS/p" in second.stdout
        assert reports(slack) == ["2026-11-19"]
        bad = subprocess.run(
            [*args[:-1], "19/11/2026"], env=env, capture_output=True, text=True, timeout=60
        )
        assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize("method", ["files.completeUploadExternal", "chat.postMessage"])
def test_kill_9_mid_report_neither_loses_nor_doubles(
    certs: SandboxCerts, tmp_path: Path, method: str
) -> None:
    """kill -9 while Slack holds the answer to the upload or to the post: posted exactly once."""
    with PsaSandbox(certs, vehicles=4) as sandbox, SlackStandIn() as slack:
        env = env_for(sandbox, slack, tmp_path)
        args = command(tmp_path, "--channel", CHANNEL, "--day", "2026-11-19")
        slack.fail_next(method, "timeout")  # Slack acts, then holds its answer for 15 s
        victim = subprocess.Popen(
            args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            slack.wait_for(lambda s: any(c.method == method for c in s.calls), timeout=60)
        finally:
            os.kill(victim.pid, signal.SIGKILL)
            victim.communicate(timeout=30)
        assert victim.returncode == -signal.SIGKILL

        # too soon: the post may still be on its way, so nothing is posted and it says so
        soon = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
        assert soon.returncode == 0 and "right now" in soon.stdout, soon.stdout + soon.stderr

        # the grace passes: moving the dead process's claim back is moving the clock on
        assert age_claims(tmp_path / "fleetbot.db") == 1
        after = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
        assert after.returncode == 0, after.stderr
        assert reports(slack) == ["2026-11-19"]
        expected = "Posted" if method == "files.completeUploadExternal" else "already in"
        assert expected in after.stdout
        [message] = [m for m in slack.messages(CHANNEL) if m.metadata]
        [image] = [b for b in message.blocks or [] if b["type"] == "image"]
        assert slack.files[image["slack_file"]["id"]].completed
