"""Two `fleetbot run` on one database, kill -9 and SIGTERM: real processes, sandbox and stand-in."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from bot.messages.alerts import alert_ids_in
from bot.sandbox.psa import PsaSandbox, SandboxCerts
from bot.sandbox.slack import SlackStandIn
from tests.processes import bot_env

TAKEOVER_SECONDS = 30  # DESIGN §6: a standby takes over within 30 s of the holder dying
SIGTERM_SECONDS = 10  # DESIGN §6: SIGTERM stops the bot within 10 s
RECONCILED_SECONDS = 90  # a post whose answer was lost is looked up after a 30 s grace


@pytest.fixture
def world(
    certs: SandboxCerts, tmp_path: Path
) -> Iterator[tuple[PsaSandbox, SlackStandIn, dict[str, str]]]:
    with PsaSandbox(certs, vehicles=5) as sandbox, SlackStandIn() as slack:
        env = bot_env(
            sandbox,
            slack,
            tmp_path / "fleetbot.db",
            SLACK_SIGNING_SECRET="standby-test-secret",
            FLEETBOT_ALERT_CHANNEL="C0ALERTS",
            FLEETBOT_POLL_INTERVAL="1",
            HOST="127.0.0.1",
        )
        yield sandbox, slack, env


class Bot:
    """One `fleetbot run` process on its own port."""

    def __init__(self, env: dict[str, str], log: IO[str]) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "--env-file", os.devnull, "run"],
            env={**env, "PORT": str(self.port)},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def health(self) -> tuple[int, dict[str, Any]] | None:
        url = f"http://127.0.0.1:{self.port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, json.loads(exc.read())
        except OSError:
            return None

    def healthy_as(self) -> str | None:
        """The role /healthz reports when it answers 200, else None."""
        answer = self.health()
        return answer[1].get("role") if answer is not None and answer[0] == 200 else None

    def wait_healthy(self, role: str, timeout: float) -> None:
        until(lambda: self.healthy_as() == role, timeout)

    def terminate(self) -> tuple[int, float]:
        """SIGTERM; the exit code and how long it took."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=SIGTERM_SECONDS + 20)
        return code, time.monotonic() - started

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def until(predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def posted(slack: SlackStandIn) -> Counter[str]:
    return Counter(a for m in slack.messages() for a in alert_ids_in(m.metadata))


def all_posted(slack: SlackStandIn, expected: set[str]) -> Callable[[], bool]:
    return lambda: expected <= set(posted(slack))


def tail(path: Path) -> str:
    return path.read_text()[-3000:]


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_standby_takes_over_within_30_s_of_a_kill_9_and_nothing_is_posted_twice(world, tmp_path):
    sandbox, slack, env = world
    vins = [v["vin"] for v in sandbox.vehicles()]
    expected = {a["id"] for a in sandbox.alerts() if a["active"]}
    log_path = tmp_path / "bots.log"
    with log_path.open("w") as log:
        first = Bot(env, log)
        second: Bot | None = None
        try:
            first.wait_healthy("scheduler", timeout=30)
            until(all_posted(slack, expected), timeout=30)
            second = Bot(env, log)
            second.wait_healthy("standby", timeout=30)

            # While both run, only the holder delivers: each alert once.
            for vin in vins:
                expected.add(sandbox.add_alert(vin, severity="Warning")["id"])
            until(all_posted(slack, expected), timeout=30)
            assert second.healthy_as() == "standby"

            # kill -9 the holder while it has fresh work, then keep alerts coming.
            for vin in vins[:3]:
                expected.add(sandbox.add_alert(vin, severity="Critical")["id"])
            time.sleep(1.2)
            first.process.send_signal(signal.SIGKILL)
            first.process.wait()
            killed = time.monotonic()
            after_kill = {sandbox.add_alert(vin, severity="Warning")["id"] for vin in vins}
            expected |= after_kill

            until(all_posted(slack, after_kill), timeout=TAKEOVER_SECONDS)
            assert time.monotonic() - killed < TAKEOVER_SECONDS
            assert second.healthy_as() == "scheduler"
            until(all_posted(slack, expected), timeout=RECONCILED_SECONDS)
            time.sleep(3)  # a duplicate would show up in the meantime

            code, seconds = second.terminate()
            assert code == 0 and seconds < SIGTERM_SECONDS, tail(log_path)
        finally:
            first.kill()
            if second is not None:
                second.kill()
    counts = posted(slack)
    assert set(counts) == expected, tail(log_path)
    assert [a for a, n in counts.items() if n > 1] == [], "duplicated"
    log_text = log_path.read_text()
    assert "standing by" in log_text and "this one schedules now" in log_text
    assert "Traceback" not in log_text


SLOW_API_SECONDS = 12.0  # longer than the whole SIGTERM budget: waiting for it would overrun


def a_poll_is_waiting_on_the_slow_api(sandbox: PsaSandbox, slack: SlackStandIn) -> None:
    sandbox.latency = SLOW_API_SECONDS
    before = sandbox.requests[-1:]
    until(lambda: sandbox.requests[-1:] != before, timeout=10)


def a_post_is_hanging(sandbox: PsaSandbox, slack: SlackStandIn) -> None:
    # Slack stores the post but answers after the client gave up: its outcome is unknown.
    slack.fail_next("chat.postMessage", "timeout")
    mark = len(slack.calls)
    until(lambda: any(c.fault == "timeout" for c in slack.calls[mark:]), timeout=30)
    sandbox.latency = 4.0  # and the API is slow too


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize("in_flight", [a_poll_is_waiting_on_the_slow_api, a_post_is_hanging])
def test_sigterm_with_work_in_flight_exits_in_10_s_and_loses_nothing(world, tmp_path, in_flight):
    sandbox, slack, env = world
    vins = [v["vin"] for v in sandbox.vehicles()]
    expected = {a["id"] for a in sandbox.alerts() if a["active"]}
    log_path = tmp_path / "bot.log"
    with log_path.open("w") as log:
        bot = Bot(env, log)
        try:
            bot.wait_healthy("scheduler", timeout=30)
            until(all_posted(slack, expected), timeout=30)
            for vin in vins:
                expected.add(sandbox.add_alert(vin, severity="Warning")["id"])
            in_flight(sandbox, slack)
            code, seconds = bot.terminate()
            assert code == 0, tail(log_path)
            assert seconds < SIGTERM_SECONDS, f"took {seconds:.1f} s\n{tail(log_path)}"
        finally:
            bot.kill()
        sandbox.latency = 0.0

        # After a restart every alert is in Slack exactly once (a hanging post reconciled).
        restarted = Bot(env, log)
        try:
            until(all_posted(slack, expected), timeout=RECONCILED_SECONDS)
            time.sleep(3)  # a duplicate would show up in the meantime
            code, seconds = restarted.terminate()
            assert code == 0 and seconds < SIGTERM_SECONDS, tail(log_path)
        finally:
            restarted.kill()
    counts = posted(slack)
    assert set(counts) == expected, tail(log_path)
    assert [a for a, n in counts.items() if n > 1] == [], "duplicated"
    assert "Traceback" not in log_path.read_text()
