"""/healthz over HTTP: 200 only while Slack is served and the pipeline is alive, else 503 + why."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.sandbox.psa import PsaSandbox, SandboxCerts
from bot.sandbox.slack import SlackStandIn
from bot.web import Server, make_wsgi_app, serve
from bot.wiring import STARTUP_GRACE, Fleetbot, build_fleetbot

T0 = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.UTC)
INTERVAL = 60  # FLEETBOT_POLL_INTERVAL: 5 vehicles keep it, so the stale limit is 180 s


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture(scope="module")
def services(certs: SandboxCerts) -> Iterator[tuple[PsaSandbox, SlackStandIn]]:
    with PsaSandbox(certs, vehicles=5) as sandbox, SlackStandIn() as slack:
        yield sandbox, slack


@pytest.fixture
def bot(services, tmp_path) -> Iterator[tuple[Fleetbot, Server, Clock]]:
    sandbox, slack = services
    env = {
        **sandbox.env(),
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": "health-test-secret",
        "SLACK_API_URL": slack.api_url,
        "FLEETBOT_DB": str(tmp_path / "fleetbot.db"),
        "FLEETBOT_ALERT_CHANNEL": "C0ALERTS",
        "FLEETBOT_POLL_INTERVAL": str(INTERVAL),
    }
    clock = Clock()
    fleetbot = build_fleetbot(Settings.from_env(env), clock=clock)
    app = make_wsgi_app(fleetbot.app, psa_events=fleetbot.webhook, health=fleetbot.health)
    with serve(app, "127.0.0.1", 0) as server:
        try:
            yield fleetbot, server, clock
        finally:
            fleetbot.close()


def healthz(server: Server) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(server.url + "/healthz", timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


def hold_lock(db: Path) -> subprocess.Popen[str]:
    """Another process holding the scheduler lock, as a running bot would."""
    holder = subprocess.Popen(
        [sys.executable, "-c", f"from bot.scheduler import SchedulerLock\n"
         f"import time\nlock = SchedulerLock({str(db)!r})\nassert lock.acquire()\n"
         f"print('held', flush=True)\ntime.sleep(120)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def kill(process: subprocess.Popen[str]) -> None:
    process.kill()
    process.wait()
    if process.stdout is not None:
        process.stdout.close()


def test_scheduling_and_fresh_is_200(bot):
    fleetbot, server, _clock = bot
    assert fleetbot.start_scheduler()
    status, report = healthz(server)
    assert (status, report["ok"], report["role"]) == (200, True, "scheduler")
    assert "reasons" not in report


def test_no_process_holding_the_scheduler_is_503(bot):
    _fleetbot, server, _clock = bot
    status, report = healthz(server)  # built, never started, nobody else schedules
    assert status == 503 and report["ok"] is False
    assert list(report["reasons"]) == ["no_scheduler"]
    assert "scheduler lock" in report["reasons"]["no_scheduler"]


def test_a_standby_is_healthy_only_while_another_process_holds_the_lock(bot):
    fleetbot, server, _clock = bot
    holder = hold_lock(fleetbot.settings.db_path)
    try:
        assert fleetbot.start_scheduler(retry=0.2) is False
        status, report = healthz(server)
        assert (status, report["role"]) == (200, "standby")
        holder.send_signal(9)
        holder.wait()
        # The standby takes over within its retry period and is healthy again as the scheduler.
        deadline = time.monotonic() + 10
        while not fleetbot.scheduling and time.monotonic() < deadline:
            time.sleep(0.05)
        assert fleetbot.scheduling
        status, report = healthz(server)
        assert (status, report["role"]) == (200, "scheduler")
    finally:
        kill(holder)


def test_a_standby_whose_holder_died_reports_no_scheduler(bot):
    fleetbot, server, _clock = bot
    holder = hold_lock(fleetbot.settings.db_path)
    try:
        assert fleetbot.start_scheduler(retry=3600) is False  # it will not retry in this test
        assert healthz(server)[0] == 200
        kill(holder)
        status, report = healthz(server)
        assert status == 503 and list(report["reasons"]) == ["no_scheduler"]
    finally:
        kill(holder)


def test_a_stale_poll_is_503_after_three_intervals_with_a_grace_at_start(bot, services):
    fleetbot, server, clock = bot
    sandbox, _slack = services
    holder = hold_lock(fleetbot.settings.db_path)  # polls are run by hand below
    try:
        clock.advance(STARTUP_GRACE - 1)  # no poll yet, but still inside the start grace
        assert healthz(server)[0] == 200
        clock.advance(2)
        status, report = healthz(server)
        assert status == 503 and list(report["reasons"]) == ["poll_stale"]
        assert "since start" in report["reasons"]["poll_stale"]

        assert fleetbot.poll_job() is not None  # a real poll against the sandbox
        assert healthz(server)[0] == 200
        clock.advance(3 * INTERVAL - 1)
        assert healthz(server)[0] == 200
        clock.advance(2)
        status, report = healthz(server)
        assert status == 503 and list(report["reasons"]) == ["poll_stale"]
        assert "180 s" in report["reasons"]["poll_stale"]

        # A poll in which no vehicle answers is not a good one: still 503.
        sandbox.error_rate = 1.0
        fleetbot.poll_job.next_due = None
        fleetbot.api.retry = dataclasses.replace(fleetbot.api.retry, attempts=1)
        try:
            report_of_bad_poll = fleetbot.poll_job()
        finally:
            sandbox.error_rate = 0.0
        assert report_of_bad_poll is not None and report_of_bad_poll.errors == 5
        assert healthz(server)[0] == 503
        fleetbot.poll_job.next_due = None
        assert fleetbot.poll_job() is not None
        assert healthz(server)[0] == 200
    finally:
        kill(holder)


def test_paused_delivery_is_503_with_the_reason(bot, services):
    fleetbot, server, _clock = bot
    sandbox, slack = services
    assert fleetbot.start_scheduler()
    fleetbot.poller.poll_once()  # the baseline (the scheduler's own jobs may run beside us)
    sandbox.add_alert(sandbox.vehicles()[1]["vin"], type="AddWasherFluid")
    slack.revoke_token("token_revoked")
    try:
        fleetbot.poller.poll_once()
        fleetbot.delivery.run_once()  # the post is refused: delivery pauses
        status, report = healthz(server)
        assert status == 503 and list(report["reasons"]) == ["delivery_paused"]
        assert "token_revoked" in report["reasons"]["delivery_paused"]
    finally:
        slack.restore_token()
    fleetbot.delivery.probe_every = 0.0
    fleetbot.delivery.run_once()
    assert healthz(server)[0] == 200


def test_a_lost_socket_mode_connection_is_503(bot):
    fleetbot, server, _clock = bot
    assert fleetbot.start_scheduler()
    connected = [True]
    fleetbot.slack_connected = lambda: connected[0]  # no local Socket Mode server exists
    assert healthz(server)[0] == 200
    connected[0] = False
    status, report = healthz(server)
    assert status == 503 and list(report["reasons"]) == ["slack_disconnected"]


def test_every_failing_reason_is_reported_at_once(bot):
    fleetbot, server, clock = bot
    fleetbot.delivery.paused_reason = "Slack refuses the token (invalid_auth)"
    clock.advance(STARTUP_GRACE + 1)
    fleetbot.stop.set()
    status, report = healthz(server)
    assert status == 503
    assert set(report["reasons"]) == {"stopping", "no_scheduler", "poll_stale", "delivery_paused"}


def test_a_standby_reports_the_holders_paused_delivery(bot, services):
    """The pause lives in the ledger too, so a standby's /healthz tells the truth about it."""
    fleetbot, server, _clock = bot
    sandbox, slack = services
    holder = hold_lock(fleetbot.settings.db_path)  # we are the standby; jobs run by hand
    try:
        assert fleetbot.start_scheduler(retry=3600) is False
        fleetbot.poll_job()  # first start: the baseline
        sandbox.add_alert(sandbox.vehicles()[0]["vin"], type="AddWasherFluid")
        slack.revoke_token("token_revoked")
        fleetbot.poll_job.next_due = None
        fleetbot.poll_job()  # the new alert is queued; delivery meets the refused token, pauses
        assert fleetbot.ledger.counts().get("pending") == 1
        fleetbot.delivery.paused_reason = None  # what the holder knows; this process forgets it
        status, report = healthz(server)
        assert (status, report["role"]) == (503, "standby")
        assert "token_revoked" in report["reasons"]["delivery_paused"]
        slack.restore_token()
        fleetbot.delivery.probe_every = 0.0
        fleetbot.delivery.run_once()
        assert healthz(server)[0] == 200
        assert "pending" not in fleetbot.ledger.counts()
    finally:
        slack.restore_token()
        kill(holder)
