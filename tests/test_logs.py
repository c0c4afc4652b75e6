"""Logs: JSON lines for machines, the per-alert fields on delivery lines, never a secret."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from typing import cast

import pytest
from slack_sdk import WebClient

from bot import logs
from bot.config import Settings
from bot.logs import REDACTED, alert_extra, configure_logging
from bot.sandbox.psa import PsaSandbox, SandboxCerts
from bot.sandbox.psa.certs import SandboxCredentials
from bot.sandbox.slack import SlackStandIn
from bot.slack.app import build_app, close_app
from bot.slack.context import SlackServices
from tests.processes import bot_env

SECRETS = (
    SandboxCredentials.password,
    SandboxCredentials.client_id,
    SandboxCredentials.key_password,
    "xoxb-sandbox-token",
)


@pytest.fixture
def restore_logging():
    """Put the test process's logging back as it was after configure_logging changed it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in logs.LIBRARY_LEVELS}
    hooks = sys.excepthook, threading.excepthook
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)
    sys.excepthook, threading.excepthook = hooks
    logging.captureWarnings(False)


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_json_lines_carry_the_alert_fields(restore_logging):
    out = io.StringIO()
    configure_logging("json", stream=out)
    logging.getLogger("bot.alerts.delivery").info(
        "posted (message %s)", "1.2", extra=alert_extra("A1", "VIN123", "C0OPS")
    )
    logging.getLogger("waitress").info("Serving on http://127.0.0.1:1")
    first, second = json_lines(out.getvalue())
    assert first["event"] == "posted (message 1.2)" and first["level"] == "INFO"
    assert (first["alert_id"], first["vin"], first["channel"]) == ("A1", "VIN123", "C0OPS")
    assert first["logger"] == "bot.alerts.delivery" and first["time"].endswith("+00:00")
    assert second["logger"] == "waitress" and "alert_id" not in second


def test_text_lines_end_with_the_alert_fields(restore_logging):
    out = io.StringIO()
    configure_logging("text", stream=out)
    logging.getLogger("bot").warning("gave up", extra=alert_extra("A1", "VIN123", "C0OPS"))
    assert (
        out.getvalue()
        .rstrip()
        .endswith("WARNING bot: gave up [alert_id=A1 vin=VIN123 channel=C0OPS]")
    )


def test_the_format_follows_the_terminal(restore_logging):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal, pipe = Terminal(), io.StringIO()
    configure_logging(None, stream=terminal)
    logging.getLogger("bot").info("hello")
    configure_logging(None, stream=pipe)
    logging.getLogger("bot").info("hello")
    assert not terminal.getvalue().startswith("{")
    assert json_lines(pipe.getvalue())[0]["event"] == "hello"


def test_no_secret_reaches_a_line_from_any_logger(restore_logging):
    settings = Settings.from_env(
        {
            "PSA_PASSWORD": "pa55-w0rd!",
            "PSA_CLIENT_ID": "cid-0123456789",
            "FLEETBOT_WEBHOOK_TOKEN": "hook-s3cret",
            "FLEETBOT_LOG_FORMAT": "json",
        }
    )
    out = io.StringIO()
    configure_logging(settings, stream=out)
    logging.getLogger("slack_sdk").warning("headers: Authorization: Bearer xoxb-1-2-abc")
    logging.getLogger("httpx").warning("GET https://api/v3/x?client_id=other-id&limit=1")
    logging.getLogger("bot").info("login %s with %s", "partner", "pa55-w0rd!")
    logging.getLogger("bot").info(
        "Authorization: Basic cGFydG5lcjpwYTU1", extra={"note": "xapp-1-X"}
    )
    try:
        raise ValueError("webhook token hook-s3cret refused for cid-0123456789")
    except ValueError:
        logging.getLogger("apscheduler").exception("job failed")
    text = out.getvalue()
    for secret in ("xoxb-1-2-abc", "other-id", "pa55-w0rd!", "cGFydG5lcjpwYTU1", "xapp-1-X"):
        assert secret not in text
    assert "hook-s3cret" not in text and "cid-0123456789" not in text
    lines = json_lines(text)
    assert len(lines) == 5 and all(REDACTED in line["event"] for line in lines[:4])
    assert REDACTED in lines[4]["exception"] and lines[4]["logger"] == "apscheduler"


def test_check_is_quiet_and_libraries_keep_sensible_levels(restore_logging):
    out = io.StringIO()
    configure_logging("json", stream=out, quiet=True)
    logging.getLogger("slack_sdk.web.base_client").error("Failed to send a request")
    assert out.getvalue() == ""
    configure_logging("json", stream=out)
    logging.getLogger("httpx").info("HTTP Request: GET https://x?client_id=1")
    logging.getLogger("apscheduler.scheduler").info('Running job "poll"')
    assert out.getvalue() == ""


def test_library_lines_louder_than_their_news_are_relevelled(restore_logging):
    out = io.StringIO()
    configure_logging("json", stream=out)
    scheduler, executor = (
        logging.getLogger("apscheduler.scheduler"),
        logging.getLogger("apscheduler.executors.default"),
    )
    skipped = 'Execution of job "%s" skipped: maximum number of running instances reached (%d)'
    scheduler.warning(skipped, "poll", 1)
    logging.getLogger("slack_sdk.web.base_client").error(
        "Failed to send a request to Slack API server: <urlopen error timed out>"
    )
    executor.warning('Run time of job "%s" was missed by %s', "poll", "0:01:10")
    scheduler.warning("Scheduler has been shut down")  # not one of them: kept as it is
    lines = json_lines(out.getvalue())
    assert [(line["level"], line["event"][:12]) for line in lines] == [
        ("INFO", "Run time of "),
        ("WARNING", "Scheduler ha"),
    ]
    out.truncate(0), out.seek(0)
    configure_logging("json", stream=out, verbose=True)  # --verbose shows them at DEBUG
    scheduler.warning(skipped, "deliver", 1)
    [line] = json_lines(out.getvalue())
    assert line["level"] == "DEBUG" and "deliver" in line["event"]


def test_the_bolt_app_reads_nothing_from_the_environment(monkeypatch, caplog):
    env = {
        "SLACK_BOT_TOKEN": "xoxb-from-the-environment",
        "SLACK_CLIENT_ID": "1.2",
        "SLACK_CLIENT_SECRET": "oauth-secret",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    client = WebClient(token="xoxb-given")
    with caplog.at_level(logging.INFO, logger="slack_bolt"):
        app = build_app(cast(SlackServices, object()), settings=Settings(), client=client)
    try:
        assert [r.getMessage() for r in caplog.records if r.name.startswith("slack_bolt")] == []
        assert app.client is client and app.oauth_flow is None  # no OAuth flow from the env
        assert {name: os.environ.get(name) for name in env} == env  # put back as it was
    finally:
        close_app(app)


# -- real processes -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    certs = SandboxCerts.create(tmp_path_factory.mktemp("log-certs"))
    with PsaSandbox(certs, vehicles=5) as sandbox, SlackStandIn() as slack:
        yield sandbox, slack


def fleetbot_env(sandbox, slack, tmp_path, **extra: str) -> dict[str, str]:
    return bot_env(
        sandbox, slack, tmp_path / "fleetbot.db", FLEETBOT_ALERT_CHANNEL="C0ALERTS", **extra
    )


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "bot", "--env-file", os.devnull, *args]


def assert_only_json(stderr: str) -> list[dict]:
    lines = stderr.splitlines()
    assert lines, "no log lines at all"
    for line in lines:
        assert line.startswith("{"), f"not a JSON line: {line!r}"
    return json_lines(stderr)


def poll(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(*args, "poll"),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_poll_without_a_terminal_logs_json_with_the_alert_fields(services, tmp_path):
    sandbox, slack = services
    env = fleetbot_env(sandbox, slack, tmp_path)
    sandbox.add_alert(sandbox.vehicles()[0]["vin"])  # an active alert: posted at first sight
    done = poll(env, "--verbose")  # verbose: slack_sdk dumps its requests, token and all
    assert done.returncode == 0, done.stderr
    lines = assert_only_json(done.stderr)
    posted = [line for line in lines if line["event"].startswith("posted")]
    assert posted, done.stderr
    for line in posted:
        assert line["alert_id"] and line["vin"] and line["channel"] == "C0ALERTS"
    assert any(line["logger"].startswith("slack_sdk") for line in lines)  # was at DEBUG
    for secret in SECRETS:
        assert secret not in done.stdout + done.stderr


def test_run_without_a_terminal_prints_only_json_lines(services, tmp_path):
    sandbox, slack = services
    env = fleetbot_env(
        sandbox,
        slack,
        tmp_path,
        SLACK_SIGNING_SECRET="log-test-signing",
        HOST="127.0.0.1",
        PORT="0",
    )
    before = len(slack.messages("C0ALERTS"))
    sandbox.add_alert(sandbox.vehicles()[1]["vin"])  # an active alert: posted at first sight
    process = subprocess.Popen(
        command("run"),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        slack.wait_for(lambda s: len(s.messages("C0ALERTS")) > before, timeout=30)
        time.sleep(0.5)  # let the delivery lines follow the post
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert stdout == ""
    lines = assert_only_json(stderr)
    # a clean start, poll, post and stop: nothing an operator would need to look at
    assert [line for line in lines if line["level"] not in ("INFO", "DEBUG")] == []
    assert any(line["event"].startswith("fleetbot running") for line in lines)
    assert any(line["event"].startswith("polled 5 vehicles") for line in lines)
    assert lines[-1]["event"] == "stopped"
    assert any("alert_id" in line and line["channel"] == "C0ALERTS" for line in lines)
    assert "log-test-signing" not in stderr
    for secret in SECRETS:
        assert secret not in stderr
