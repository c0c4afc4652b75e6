"""`fleetbot check`, `poll` and `sandbox` as an operator runs them: real processes, real sockets."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from bot.config import RUN_REQUIRED
from bot.sandbox.psa import PsaSandbox
from bot.sandbox.slack import SlackStandIn
from bot.scheduler import SchedulerLock
from tests.processes import clean_environ


@pytest.fixture(scope="module")
def services(certs):
    with PsaSandbox(certs, vehicles=5) as sandbox, SlackStandIn() as slack:
        yield certs, sandbox, slack


def fleetbot(args: list[str], env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", "--env-file", str(tmp_path / "none.env"), *args],
        env={**clean_environ(), **env},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def base_env(sandbox, slack, tmp_path) -> dict[str, str]:
    return {
        **sandbox.env(),
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_API_URL": slack.api_url,
        "FLEETBOT_DB": str(tmp_path / "fleetbot.db"),
        "FLEETBOT_ALERT_CHANNEL": "C0ALERTS",
    }


def test_check_passes_against_the_sandbox(services, tmp_path):
    _certs, sandbox, slack = services
    done = fleetbot(["check"], base_env(sandbox, slack, tmp_path), tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert all(line.startswith("ok") for line in lines), done.stdout
    assert any("expires in" in line for line in lines)
    assert any(line.startswith("ok    Slack: signed in") for line in lines)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"PSA_KEY_PASSWORD": "not-the-password"}, "PSA_KEY_PASSWORD"),
        ({"PSA_CA_FILE": "untrusted"}, "not trusted"),
        ({"PSA_PASSWORD": "wrong"}, "401"),
        ({"SLACK_BOT_TOKEN": "xoxb-wrong"}, "invalid_auth"),
        ({"PSA_CLIENT_ID": ""}, "PSA_CLIENT_ID: is required"),
    ],
)
def test_check_fails_with_one_clear_line(services, tmp_path, override, expected):
    certs, sandbox, slack = services
    if override.get("PSA_CA_FILE") == "untrusted":
        override = {"PSA_CA_FILE": str(certs.untrusted_ca_file)}
    done = fleetbot(["check"], {**base_env(sandbox, slack, tmp_path), **override}, tmp_path)
    assert done.returncode != 0
    failures = [line for line in done.stdout.splitlines() if line.startswith("FAIL")]
    assert len(failures) == 1 and expected in failures[0], done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    assert "sandbox-password" not in done.stdout + done.stderr  # the secret never shows


def test_poll_prints_a_one_line_summary(services, tmp_path):
    _certs, sandbox, slack = services
    env = base_env(sandbox, slack, tmp_path)
    done = fleetbot(["poll"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    [summary] = done.stdout.strip().splitlines()
    assert summary.startswith("polled 5 vehicles") and "API calls" in summary
    assert "quota left" in summary and "posted" in summary


def test_poll_refuses_while_a_running_bot_holds_the_database(services, tmp_path):
    _certs, sandbox, slack = services
    env = base_env(sandbox, slack, tmp_path)
    lock = SchedulerLock(tmp_path / "fleetbot.db")
    assert lock.acquire()
    try:
        done = fleetbot(["poll"], env, tmp_path)
    finally:
        lock.release()
    assert done.returncode == 1 and "already polls and delivers" in done.stderr


def test_run_without_required_settings_names_each_variable_in_text(tmp_path):
    done = fleetbot(["run"], {"FLEETBOT_LOG_FORMAT": "text"}, tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()  # one line per missing setting, every one named
    assert all(line.startswith("fleetbot: configuration error: ") for line in lines), lines
    assert lines[0].startswith("fleetbot: configuration error: PSA_CLIENT_ID: is required")
    assert lines[-1].startswith("fleetbot: configuration error: SLACK_BOT_TOKEN: is required")


def test_run_without_required_settings_writes_json_lines_off_a_terminal(tmp_path):
    done = fleetbot(["run"], {}, tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    lines = [json.loads(line) for line in done.stderr.splitlines()]  # nothing but JSON
    assert [line["variable"] for line in lines] == list(RUN_REQUIRED)
    assert all(line["level"] == "ERROR" for line in lines)
    assert lines[0]["event"] == "configuration error: PSA_CLIENT_ID: is required but not set"


def test_run_on_a_taken_port_says_so_and_leaves_the_lock_free(services, tmp_path):
    _certs, sandbox, slack = services
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = {
            **base_env(sandbox, slack, tmp_path),
            "SLACK_SIGNING_SECRET": "cli-test-secret",
            "HOST": "127.0.0.1",
            "PORT": str(taken.getsockname()[1]),
        }
        done = fleetbot(["run"], env, tmp_path)
    assert done.returncode == 2, done.stderr
    last = json.loads(done.stderr.strip().splitlines()[-1])
    assert last["event"].startswith("configuration error: PORT: cannot listen on 127.0.0.1:")
    assert last["variable"] == "PORT" and "Traceback" not in done.stderr
    lock = SchedulerLock(tmp_path / "fleetbot.db")
    assert lock.acquire()  # the scheduler it started first did not outlive the failure
    lock.release()
