"""`fleetbot check` and the settings behind it: every problem at once, one line each."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from bot.config import ConfigProblems, Settings, problems_of
from bot.errors import ConfigError
from bot.sandbox.psa import PsaSandbox, SandboxCerts
from bot.sandbox.slack import SlackStandIn
from tests.processes import clean_environ


def test_every_bad_setting_is_collected():
    env = {"PSA_API_STYLE": "soap", "PORT": "http", "FLEETBOT_LOG_FORMAT": "xml"}
    with pytest.raises(ConfigProblems) as caught:
        Settings.from_env(env)
    named = [problem.variable for problem in problems_of(caught.value)]
    assert named == ["PSA_API_STYLE", "FLEETBOT_LOG_FORMAT", "PORT"]
    assert str(caught.value).count(";") == 2 and isinstance(caught.value, ConfigError)


def test_one_bad_setting_keeps_the_single_message_shape():
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"FLEETBOT_LOG_FORMAT": "xml"})
    assert type(caught.value) is ConfigError
    assert str(caught.value) == "FLEETBOT_LOG_FORMAT: must be 'text' or 'json', not 'xml'"
    assert problems_of(caught.value) == (caught.value,)


def test_collect_keeps_defaults_for_bad_values_and_require_names_every_missing_one():
    settings, problems = Settings.collect({"FLEETBOT_POLL_INTERVAL": "0", "PSA_USERNAME": "u"})
    assert settings.poll_interval == 60.0 and [p.variable for p in problems] == [
        "FLEETBOT_POLL_INTERVAL"
    ]
    with pytest.raises(ConfigProblems) as caught:
        settings.require("PSA_CLIENT_ID", "PSA_USERNAME", "PSA_PASSWORD")
    assert [p.variable for p in caught.value.problems] == ["PSA_CLIENT_ID", "PSA_PASSWORD"]


def test_log_format_is_a_setting():
    assert Settings.from_env({}).log_format is None  # chosen by the terminal
    assert Settings.from_env({"FLEETBOT_LOG_FORMAT": "JSON"}).log_format == "json"


# -- the command --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    certs = SandboxCerts.create(tmp_path_factory.mktemp("check-certs"))
    with PsaSandbox(certs, vehicles=2) as sandbox, SlackStandIn() as slack:
        yield sandbox, slack


def check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "--env-file", os.devnull, "check"],
        env={**clean_environ(), **env},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def full_env(sandbox, slack) -> dict[str, str]:
    return {**sandbox.env(), "SLACK_BOT_TOKEN": slack.bot_token, "SLACK_API_URL": slack.api_url}


def test_three_missing_settings_are_three_fail_lines_and_nothing_else(services):
    sandbox, slack = services
    env = full_env(sandbox, slack)
    for name in ("PSA_CLIENT_ID", "PSA_PASSWORD", "SLACK_BOT_TOKEN"):
        del env[name]
    done = check(env)
    assert done.returncode != 0
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines == [
        "FAIL  settings: PSA_CLIENT_ID: is required but not set",
        "FAIL  settings: PSA_PASSWORD: is required but not set",
        "FAIL  settings: SLACK_BOT_TOKEN: is required but not set",
    ]


def test_an_unreachable_slack_is_one_line_without_library_noise(services):
    sandbox, slack = services
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        done = check({**full_env(sandbox, slack), "SLACK_API_URL": f"http://127.0.0.1:{port}/api/"})
    assert done.returncode != 0 and done.stderr == ""
    failures = [line for line in done.stdout.splitlines() if not line.startswith("ok")]
    assert len(failures) == 1 and failures[0].startswith("FAIL  Slack: "), done.stdout


def test_a_bad_value_is_listed_and_the_rest_is_still_checked(services):
    sandbox, slack = services
    done = check({**full_env(sandbox, slack), "FLEETBOT_POLL_INTERVAL": "often"})
    assert done.returncode != 0 and done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0] == "FAIL  settings: FLEETBOT_POLL_INTERVAL: must be a number, not 'often'"
    assert all(line.startswith("ok") for line in lines[1:]) and len(lines) == 4, done.stdout


def test_the_sandbox_certificate_expires_in_a_year_like_a_real_one(services):
    sandbox, slack = services
    done = check(full_env(sandbox, slack))
    assert done.returncode == 0, done.stdout
    [line] = [line for line in done.stdout.splitlines() if "certificate" in line]
    days = int(line.split("expires in ")[1].split()[0])
    assert 360 <= days <= 366, line
