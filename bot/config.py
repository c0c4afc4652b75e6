"""Settings, read once from the environment (and a ``.env`` file) at start-up.

Every variable is listed in DESIGN.md section 3. Every missing or invalid value is collected
and raised together as one :class:`~bot.errors.ConfigError` naming the variable (or, for several,
a :class:`ConfigProblems` holding one per variable), so an operator fixes them all in one go.
Secrets are kept in fields marked ``repr=False`` so a logged ``Settings`` never shows them.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import ConfigError

DEFAULT_API_URL = "https://api-cert.groupe-psa.com/connectedcar/v3"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"

ApiStyle = Literal["fleets", "quickguide"]
PollBy = Literal["auto", "fleet", "vehicle"]
POLL_BY: tuple[PollBy, ...] = ("auto", "fleet", "vehicle")
LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")


class ConfigProblems(ConfigError):
    """Several settings are wrong at once; ``problems`` holds one ConfigError per variable."""

    def __init__(self, problems: Sequence[ConfigError]) -> None:
        self.problems = tuple(problems)
        super().__init__(self.problems[0].variable, self.problems[0].problem)

    def __str__(self) -> str:
        return "; ".join(str(problem) for problem in self.problems)


def problems_of(exc: ConfigError) -> tuple[ConfigError, ...]:
    """Every problem a ConfigError stands for (itself, unless it holds several)."""
    return exc.problems if isinstance(exc, ConfigProblems) else (exc,)


def raise_all(problems: Sequence[ConfigError]) -> None:
    """Raise the one problem as is, several as one ConfigProblems; nothing when there are none."""
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise ConfigProblems(problems)


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything Fleetbot is configured with; see DESIGN.md section 3."""

    psa_api_url: str = DEFAULT_API_URL
    psa_api_style: ApiStyle = "fleets"
    psa_fleet_id: str | None = None
    psa_client_id: str | None = dataclasses.field(default=None, repr=False)
    psa_username: str | None = None
    psa_password: str | None = dataclasses.field(default=None, repr=False)
    psa_cert_file: Path | None = None
    psa_key_file: Path | None = None
    psa_key_password: str | None = dataclasses.field(default=None, repr=False)
    psa_ca_file: Path | None = None
    psa_locale: str = "en-GB"
    slack_bot_token: str | None = dataclasses.field(default=None, repr=False)
    slack_signing_secret: str | None = dataclasses.field(default=None, repr=False)
    slack_app_token: str | None = dataclasses.field(default=None, repr=False)
    slack_api_url: str = DEFAULT_SLACK_API_URL
    db_path: Path = Path("fleetbot.db")
    alert_channel: str | None = None
    poll_interval: float = 60.0
    quota_reserve: float = 0.10  # share of the daily API quota polling leaves for people
    #: fleet-wide alert collection when served (auto), forced (fleet), or one call per vehicle
    poll_by: PollBy = "auto"
    retention_days: float = 30.0  # delivered ledger rows older than this are pruned daily
    admins: frozenset[str] = frozenset()
    #: IANA zone of report schedules and of the report's "yesterday" (validated on reading)
    timezone: str = "UTC"
    public_url: str | None = None
    webhook_token: str | None = dataclasses.field(default=None, repr=False)
    port: int = 3000
    host: str = "0.0.0.0"  # noqa: S104 - HTTP mode must be reachable by Slack
    log_format: LogFormat | None = None  # None: text on a terminal, else json

    #: fields that hold secrets: the log redaction hides their values wherever they appear
    SECRET_FIELDS = (
        "psa_client_id",
        "psa_password",
        "psa_key_password",
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        "webhook_token",
    )

    def secrets(self) -> tuple[str, ...]:
        """The configured secret values (for log redaction)."""
        values = (getattr(self, name) for name in self.SECRET_FIELDS)
        return tuple(value for value in values if value)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read settings from ``environ`` (default ``os.environ``); raise ConfigError if bad."""
        settings, problems = cls.collect(environ)
        raise_all(problems)
        return settings

    @classmethod
    def collect(
        cls, environ: Mapping[str, str] | None = None
    ) -> tuple[Settings, list[ConfigError]]:
        """Read settings, keeping the default for each bad value; return them and every problem."""
        env = os.environ if environ is None else environ
        problems: list[ConfigError] = []

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        style = get("PSA_API_STYLE") or "fleets"
        if style not in ("fleets", "quickguide"):
            problems.append(
                ConfigError("PSA_API_STYLE", f"must be 'fleets' or 'quickguide', not {style!r}")
            )
            style = "fleets"

        poll_by = (get("FLEETBOT_POLL_BY") or "auto").lower()
        if poll_by not in POLL_BY:
            problems.append(
                ConfigError(
                    "FLEETBOT_POLL_BY", f"must be 'auto', 'fleet' or 'vehicle', not {poll_by!r}"
                )
            )
            poll_by = "auto"

        api_url = get("PSA_API_URL") or DEFAULT_API_URL
        if not api_url.startswith(("https://", "http://")):
            problems.append(ConfigError("PSA_API_URL", "must be an https:// URL"))
            api_url = DEFAULT_API_URL

        log_format = (get("FLEETBOT_LOG_FORMAT") or "").lower() or None
        if log_format is not None and log_format not in LOG_FORMATS:
            problems.append(
                ConfigError("FLEETBOT_LOG_FORMAT", f"must be 'text' or 'json', not {log_format!r}")
            )
            log_format = None

        key_password = env.get("PSA_KEY_PASSWORD") or None
        password_file = get("PSA_KEY_PASSWORD_FILE")
        if key_password is None and password_file:
            try:
                key_password = Path(password_file).read_text().rstrip("\r\n")
            except OSError as exc:
                problems.append(
                    ConfigError(
                        "PSA_KEY_PASSWORD_FILE", f"cannot read {password_file}: {exc.strerror}"
                    )
                )

        slack_url = get("SLACK_API_URL") or DEFAULT_SLACK_API_URL
        if not slack_url.endswith("/"):
            slack_url += "/"

        timezone = get("FLEETBOT_TIMEZONE") or "UTC"
        try:
            _zone("FLEETBOT_TIMEZONE", timezone)
        except ConfigError as exc:
            problems.append(exc)
            timezone = "UTC"

        number = functools.partial(_number, get=get, problems=problems)
        settings = cls(
            psa_api_url=api_url.rstrip("/"),
            psa_api_style=style,  # type: ignore[arg-type]  # checked above
            psa_fleet_id=get("PSA_FLEET_ID"),
            psa_client_id=get("PSA_CLIENT_ID"),
            psa_username=get("PSA_USERNAME"),
            psa_password=env.get("PSA_PASSWORD") or None,
            psa_cert_file=_path(get("PSA_CERT_FILE")),
            psa_key_file=_path(get("PSA_KEY_FILE")),
            psa_key_password=key_password,
            psa_ca_file=_path(get("PSA_CA_FILE")),
            psa_locale=get("PSA_LOCALE") or "en-GB",
            slack_bot_token=get("SLACK_BOT_TOKEN"),
            slack_signing_secret=get("SLACK_SIGNING_SECRET"),
            slack_app_token=get("SLACK_APP_TOKEN"),
            slack_api_url=slack_url,
            db_path=Path(get("FLEETBOT_DB") or "fleetbot.db"),
            alert_channel=get("FLEETBOT_ALERT_CHANNEL"),
            poll_interval=number("FLEETBOT_POLL_INTERVAL", default=60.0, minimum=1.0),
            quota_reserve=number("FLEETBOT_QUOTA_RESERVE", default=0.10, minimum=0.0, maximum=0.9),
            poll_by=poll_by,  # type: ignore[arg-type]  # checked above
            retention_days=number("FLEETBOT_RETENTION_DAYS", default=30.0, minimum=1.0),
            admins=frozenset(
                u.strip() for u in (get("FLEETBOT_ADMINS") or "").split(",") if u.strip()
            ),
            timezone=timezone,
            public_url=(get("FLEETBOT_PUBLIC_URL") or "").rstrip("/") or None,
            webhook_token=get("FLEETBOT_WEBHOOK_TOKEN"),
            port=int(number("PORT", default=3000, minimum=0, maximum=65535, integer=True)),
            host=get("HOST") or "0.0.0.0",  # noqa: S104
            log_format=log_format,
        )
        return settings, problems

    @property
    def zone(self) -> ZoneInfo:
        """FLEETBOT_TIMEZONE as a zone."""
        return _zone("FLEETBOT_TIMEZONE", self.timezone)

    def require(self, *names: str) -> None:
        """Raise ConfigError naming every one of ``names`` (env variable names) that is unset."""
        raise_all(self.missing(*names))

    def missing(self, *names: str) -> list[ConfigError]:
        """One ConfigError per unset variable of ``names``, and per named file that is absent."""
        problems = [
            ConfigError(name, "is required but not set")
            for name in names
            if getattr(self, _FIELD_OF.get(name, name.lower())) in (None, "")
        ]
        if "PSA_CERT_FILE" in names:
            for var, path in (
                ("PSA_CERT_FILE", self.psa_cert_file),
                ("PSA_KEY_FILE", self.psa_key_file),
                ("PSA_CA_FILE", self.psa_ca_file),
            ):
                if path is not None and not path.is_file():
                    problems.append(ConfigError(var, f"no such file: {path}"))
        return problems


#: settings whose env name is not simply the upper-cased field name
_FIELD_OF = {
    "FLEETBOT_DB": "db_path",
    "FLEETBOT_ALERT_CHANNEL": "alert_channel",
    "FLEETBOT_PUBLIC_URL": "public_url",
    "FLEETBOT_WEBHOOK_TOKEN": "webhook_token",
}

API_REQUIRED = ("PSA_CLIENT_ID", "PSA_USERNAME", "PSA_PASSWORD", "PSA_CERT_FILE")
RUN_REQUIRED = (*API_REQUIRED, "PSA_FLEET_ID", "SLACK_BOT_TOKEN")


def _zone(name: str, value: str) -> ZoneInfo:
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            name, f"must be an IANA time zone such as Europe/Paris, not {value!r}"
        ) from None


def _path(value: str | None) -> Path | None:
    return Path(value).expanduser() if value else None


def _number(
    name: str,
    *,
    get: Callable[[str], str | None],
    problems: list[ConfigError],
    default: float,
    minimum: float | None = None,
    maximum: float | None = None,
    integer: bool = False,
) -> float:
    """The number in ``name``; on a bad value, record the problem and return the default."""
    raw = get(name)
    if raw is None:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        problems.append(ConfigError(name, f"must be a number, not {raw!r}"))
        return default
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        problems.append(ConfigError(name, f"must be between {minimum} and {maximum}, not {raw!r}"))
        return default
    return value
