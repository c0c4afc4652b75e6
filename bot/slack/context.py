"""What every Slack surface is handed: the services, the push monitors, time zones, a click.

The composition root builds one :class:`SlackServices`; each surface's ``register(app,
services)`` closes over it, and tests call the surfaces' functions with it directly.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from slack_sdk.errors import SlackApiError

from bot.store.ledger import utcnow

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.config import Settings
    from bot.directory import VehicleDirectory
    from bot.places import Places
    from bot.psa.client import PsaClient
    from bot.store import Ledger

log = logging.getLogger(__name__)

ZONE_TTL = 3600.0


class PushMonitors(Protocol):
    """Push monitors at the API (:class:`bot.alerts.webhook.MonitorService`); texts for Slack."""

    def enable(self, user: str) -> str:
        """Create (or resume) the alert monitor; say what happened."""
        ...

    def disable(self, user: str) -> str:
        """Delete (or pause) the alert monitor; say what happened."""
        ...

    def list(self) -> str:
        """The fleet's monitors in words."""
        ...


class FleetReports(Protocol):
    """The daily fleet report (:class:`bot.reports.schedule.ReportDesk`); texts for Slack."""

    def now(self, channel: str, user: str) -> str:
        """Post yesterday's report in ``channel`` (once); say where it is."""
        ...

    def daily(self, channel: str, at: str, user: str) -> str:
        """Schedule ``channel``'s daily report at ``at`` (HH:MM); ValueError on a bad time."""
        ...

    def off(self, channel: str, user: str) -> str:
        """Stop ``channel``'s daily report."""
        ...


class UserZones:
    """Each person's UTC offset (from users.info), cached, so "today" means their day."""

    def __init__(self, ttl: float = ZONE_TTL) -> None:
        self.ttl = ttl
        self._cache: dict[str, tuple[float, dt.tzinfo]] = {}
        self._lock = threading.Lock()

    def zone(self, client: WebClient | None, user: str | None) -> dt.tzinfo:
        """The user's zone; UTC when Slack does not say (or cannot be asked)."""
        if client is None or not user:
            return dt.UTC
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(user)
        if cached and now - cached[0] < self.ttl:
            return cached[1]
        zone: dt.tzinfo = dt.UTC
        try:
            answer = client.users_info(user=user)
            offset = int((answer.get("user") or {}).get("tz_offset") or 0)
            if offset:
                zone = dt.timezone(dt.timedelta(seconds=offset))
        except (SlackApiError, OSError, ValueError, TypeError) as exc:
            log.info("no time zone for a user (%s); using UTC", type(exc).__name__)
        with self._lock:
            self._cache[user] = (now, zone)
        return zone


@dataclasses.dataclass
class SlackServices:
    """Everything the Slack surfaces need, passed in by the composition root."""

    api: PsaClient
    ledger: Ledger
    directory: VehicleDirectory
    settings: Settings
    monitors: PushMonitors | None = None
    reports: FleetReports | None = None
    clock: Callable[[], dt.datetime] = utcnow
    zones: UserZones = dataclasses.field(default_factory=UserZones)
    #: posts the follow-up outbox now (thread replies a click queued); None: the job does it
    send_followups: Callable[[], object] | None = None
    places: Places | None = None  # names positions; None: a plain "on the map" link

    @property
    def locale(self) -> str:
        """Locale for alert texts."""
        return self.settings.psa_locale

    def is_admin(self, user: str | None) -> bool:
        """Admins are listed in FLEETBOT_ADMINS; nobody when it is empty (fail closed)."""
        return bool(user) and user in self.settings.admins


@dataclasses.dataclass(frozen=True)
class Click:
    """What a button click carries."""

    user: str
    channel: str
    ts: str
    value: str
    blocks: list[dict[str, Any]]

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Click:
        """Read a block_actions payload."""
        container = body.get("container") or {}
        message = body.get("message") or {}
        action = (body.get("actions") or [{}])[0]
        return cls(
            user=str((body.get("user") or {}).get("id") or ""),
            channel=str(container.get("channel_id") or (body.get("channel") or {}).get("id") or ""),
            ts=str(container.get("message_ts") or message.get("ts") or ""),
            value=str(action.get("value") or ""),
            blocks=list(message.get("blocks") or []),
        )
