"""Push source: the API's monitors POST ``MonitorEvents`` to ``/psa/events``.

The API signs nothing, so the monitor is created with our shared secret as a header
attribute and every callback must carry it (compared in constant time). We answer 2xx only
once the alerts are committed to the ledger: the API retries anything else for days, and
the ledger's unique keys make those redeliveries harmless.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from bot.errors import ApiError, FleetbotError
from bot.psa.models import Alert
from bot.slack.blocks import escape
from bot.store import Ledger, StoredAlert
from bot.store.ledger import Router

from .poller import to_stored

log = logging.getLogger(__name__)

TOKEN_HEADER = "X-Fleetbot-Token"  # noqa: S105 - a header name, not a secret

TEXT = {
    "push_off": (
        "Push is not configured: set FLEETBOT_PUBLIC_URL and FLEETBOT_WEBHOOK_TOKEN, "
        "then run `/fleet monitor enable`."
    ),
    "enabled": (
        ":satellite_antenna: Push is on: monitor `{id}` sends new alerts to {url}. "
        "Polling now runs only as a safety net."
    ),
    "already": "Push is already on (monitor `{id}`).",
    "disabled": "Push is off: deleted monitor(s) {ids}. Polling takes over at its normal pace.",
    "none": "No monitors: push is off. `/fleet monitor enable` turns it on.",
    "list_item": "• `{id}` → {callback} (created by <@{by}> {at})",
    "api_failed": "The API refused the monitor change: {error}",
}

Response = tuple[int, dict[str, Any]]


class WebhookReceiver:
    """Turns a monitor callback into ledger rows (see the module docstring)."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        token: str | None,
        router: Callable[[], Router],
        on_stored: Callable[[], None] = lambda: None,
    ) -> None:
        self.ledger = ledger
        self.token = token
        self.router = router
        self.on_stored = on_stored  # wakes delivery so pushed alerts don't wait for a poll

    def __call__(self, body: bytes, headers: Mapping[str, str]) -> Response:
        """Handle one POST; returns (HTTP status, JSON body)."""
        if not self.token:
            return 404, {"ok": False, "error": "push is not enabled"}
        given = _header(headers, TOKEN_HEADER) or ""
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            log.warning("refused a monitor callback without the right %s header", TOKEN_HEADER)
            return 401, {"ok": False, "error": "unauthorized"}
        try:
            document = json.loads(body)
            alerts = list(alerts_in(document, self._vehicle_ids()))
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            log.warning("unreadable monitor callback: %r", exc)
            return 400, {"ok": False, "error": "not a MonitorEvents document"}
        try:
            result = self.ledger.ingest(alerts, self.router(), source="push")
        except FleetbotError as exc:
            log.error("could not store a monitor callback (the API will redeliver): %s", exc)
            return 503, {"ok": False, "error": "try again"}
        if result.deliveries or result.ended_alerts:
            self.on_stored()
        return 200, {"ok": True, "alerts": len(alerts), "new": result.new_alerts}

    def _vehicle_ids(self) -> dict[str, str]:
        return {v["vin"]: v["id"] for v in self.ledger.vehicles()}


def alerts_in(document: Mapping[str, Any], vehicle_ids: Mapping[str, str]) -> Iterator[StoredAlert]:
    """Alerts a ``MonitorEvents`` document carries: in ``values`` (the change) first.

    The ``vehicle.alerts`` extension lists the alerts active at the event; those are taken
    too (they are harmless duplicates when already known, and catch anything missed).
    """
    events = document["events"]
    if not isinstance(events, list):
        raise TypeError("events is not a list")
    seen: set[str] = set()
    for event in events:
        vin = event.get("vin")
        for raw in _alert_objects(event):
            alert = Alert.from_api(raw)
            if not alert.id or alert.id in seen:
                continue
            seen.add(alert.id)
            yield to_stored(alert, vin=vin, vehicle_id=vehicle_ids.get(alert.vin or vin or ""))


def _alert_objects(event: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for value in event.get("values") or []:
        inner = value.get("value") or {}
        if value.get("data") == "vehicle.alert" or inner.get("type") == "obj.alert":
            yield from (inner.get("body") or {}).get("objectValues") or []
    for extension in event.get("extensions") or []:
        if extension.get("type") == "vehicle.alerts":
            yield from (extension.get("body") or {}).get("alerts") or []


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


class MonitorService:
    """`/fleet monitor enable|disable|list`: our push subscription at the API."""

    def __init__(
        self, api: Any, ledger: Ledger, *, public_url: str | None, token: str | None
    ) -> None:
        self.api = api
        self.ledger = ledger
        self.public_url = public_url
        self.token = token

    @property
    def callback_url(self) -> str | None:
        """Where the API should POST events."""
        return f"{self.public_url}/psa/events" if self.public_url else None

    @property
    def push_enabled(self) -> bool:
        """True when we have a monitor at the API."""
        return bool(self.ledger.monitors())

    def enable(self, user: str) -> str:
        """Create the vehicle.alert monitor unless one exists."""
        if not (self.callback_url and self.token):
            return TEXT["push_off"]
        existing = self.ledger.monitors()
        if existing:
            return TEXT["already"].format(id=escape(existing[0]["id"]))
        parameter = self.api.build_alert_monitor(self.callback_url, TOKEN_HEADER, self.token)
        try:
            ref = self.api.create_monitor(parameter)
        except ApiError as exc:
            return TEXT["api_failed"].format(error=escape(str(exc)))
        self.ledger.add_monitor(ref.id, self.callback_url, user)
        return TEXT["enabled"].format(id=escape(ref.id), url=self.callback_url)

    def disable(self, user: str) -> str:
        """Delete our monitors at the API (already gone there counts as deleted)."""
        monitors = self.ledger.monitors()
        if not monitors:
            return TEXT["none"]
        for monitor in monitors:
            try:
                self.api.delete_monitor(monitor["id"])
            except ApiError as exc:
                if getattr(exc, "status", None) != 404:
                    return TEXT["api_failed"].format(error=escape(str(exc)))
            self.ledger.remove_monitor(monitor["id"])
        log.info("push disabled by %s", user)
        return TEXT["disabled"].format(ids=", ".join(f"`{escape(m['id'])}`" for m in monitors))

    def list(self) -> str:
        """Our monitors, one line each."""
        monitors = self.ledger.monitors()
        if not monitors:
            return TEXT["none"]
        return "\n".join(
            TEXT["list_item"].format(
                id=escape(m["id"]), callback=m["callback"], by=m["created_by"], at=m["created_at"]
            )
            for m in monitors
        )
