"""Settings: defaults, parsing, and one clear error naming the variable."""

from __future__ import annotations

import pytest

from bot.config import RUN_REQUIRED, Settings
from bot.errors import ConfigError


def test_defaults_follow_the_design():
    settings = Settings.from_env({})
    assert settings.psa_api_url == "https://api-cert.groupe-psa.com/connectedcar/v3"
    assert settings.psa_api_style == "fleets"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert (settings.poll_interval, settings.port, settings.host) == (60.0, 3000, "0.0.0.0")  # noqa: S104
    assert settings.admins == frozenset() and settings.webhook_token is None
    assert settings.poll_by == "auto"


def test_values_are_parsed():
    settings = Settings.from_env(
        {
            "PSA_API_STYLE": "quickguide",
            "FLEETBOT_ADMINS": "U1, U2,,",
            "FLEETBOT_POLL_INTERVAL": "30",
            "SLACK_API_URL": "http://127.0.0.1:9/api",
            "FLEETBOT_WEBHOOK_TOKEN": "t",
            "FLEETBOT_RETENTION_DAYS": "7",
            "FLEETBOT_POLL_BY": "Vehicle",
        }
    )
    assert settings.poll_by == "vehicle"
    assert settings.psa_api_style == "quickguide"
    assert settings.admins == {"U1", "U2"}
    assert settings.poll_interval == 30 and settings.retention_days == 7
    assert settings.slack_api_url.endswith("/api/") and settings.webhook_token == "t"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"PSA_API_STYLE": "soap"}, "PSA_API_STYLE"),
        ({"FLEETBOT_POLL_INTERVAL": "often"}, "FLEETBOT_POLL_INTERVAL"),
        ({"FLEETBOT_POLL_INTERVAL": "0"}, "FLEETBOT_POLL_INTERVAL"),
        ({"PORT": "99999"}, "PORT"),
        ({"FLEETBOT_POLL_BY": "trip"}, "FLEETBOT_POLL_BY"),
        ({"PSA_API_URL": "ftp://x"}, "PSA_API_URL"),
        ({"PSA_KEY_PASSWORD_FILE": "/nonexistent/pw"}, "PSA_KEY_PASSWORD_FILE"),
    ],
)
def test_bad_values_name_the_variable(env, variable):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    assert caught.value.variable == variable and str(caught.value).startswith(variable)


def test_required_settings_are_checked_one_by_one(tmp_path):
    with pytest.raises(ConfigError, match="PSA_CLIENT_ID: is required"):
        Settings.from_env({}).require(*RUN_REQUIRED)
    env = {
        "PSA_CLIENT_ID": "c",
        "PSA_USERNAME": "u",
        "PSA_PASSWORD": "p",
        "PSA_CERT_FILE": str(tmp_path / "missing.pem"),
        "PSA_FLEET_ID": "f",
        "SLACK_BOT_TOKEN": "xoxb-1",
    }
    with pytest.raises(ConfigError, match="PSA_CERT_FILE: no such file"):
        Settings.from_env(env).require(*RUN_REQUIRED)


def test_secrets_stay_out_of_repr():
    settings = Settings.from_env(
        {"PSA_PASSWORD": "hunter2", "PSA_CLIENT_ID": "cid-123", "SLACK_BOT_TOKEN": "xoxb-s3cret"}
    )
    shown = repr(settings)
    assert "hunter2" not in shown and "cid-123" not in shown and "xoxb-s3cret" not in shown


def test_key_password_file_is_read(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    assert Settings.from_env({"PSA_KEY_PASSWORD_FILE": str(secret)}).psa_key_password == "s3cret"


def test_timezone_is_an_iana_zone():
    """FLEETBOT_TIMEZONE defaults to UTC, reads an IANA name, and refuses anything else."""
    assert Settings.from_env({}).zone.key == "UTC"
    assert Settings.from_env({"FLEETBOT_TIMEZONE": "Europe/Paris"}).zone.key == "Europe/Paris"
    for bad in ("Mars/Olympus", "+02:00", "../etc/passwd"):
        try:
            Settings.from_env({"FLEETBOT_TIMEZONE": bad})
        except ConfigError as exc:
            assert "FLEETBOT_TIMEZONE" in str(exc)
        else:
            raise AssertionError(bad)
