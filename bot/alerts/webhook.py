"""Push source: the API's monitors POST ``MonitorEvents`` to ``/psa/events``.

The API signs nothing, so the monitor is created with our shared secret as a header
attribute and every callback must carry it (compared in constant time). We answer 2xx only
once the alerts are committed to the ledger: the API retries anything else for days, and
the ledger's unique keys make those redeliveries harmless.

Odd input never turns into a retry storm: a body that is not a ``MonitorEvents`` envelope is a
400 (redelivering it cannot help), and inside a good envelope an event or alert that cannot be
read is skipped and logged with its VIN while the rest is stored and acknowledged.
"""

from __future__ import annotations

import hmac
import json
import logging
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from bot.errors import ApiError, FleetbotError
from bot.messages.markup import escape
from bot.psa.models import Alert
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

NOT_AN_ENVELOPE = "not a MonitorEvents document"
UNREADABLE_BODY = "unreadable monitor callback (%s); answered 400"
SKIPPED_EVENT = "skipped an unreadable monitor event (VIN %s): %s"
SKIPPED_ALERT = "skipped an unreadable pushed alert (VIN %s): %s"
ISOLATING = "storing a monitor callback failed (%s); storing alert by alert"
NOT_STORED = "a pushed alert of VIN %s not stored (%s); the rest is"
VIN_LIMIT = 40  # characters of a VIN quoted in a log line


class Skipped:
    """Counts (and logs) what a callback carried that could not be read."""

    def __init__(self) -> None:
        self.count = 0

    def note(self, template: str, vin: object, why: object) -> None:
        """Count one skipped item and log it with its VIN and the reason."""
        self.count += 1
        log.warning(template, _vin_text(vin), why)


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
        skipped = Skipped()
        try:
            document = json.loads(body)
            events = envelope_events(document)
        except (ValueError, TypeError, RecursionError) as exc:  # invalid UTF-8 is a ValueError
            log.warning(UNREADABLE_BODY, type(exc).__name__)
            return 400, {"ok": False, "error": NOT_AN_ENVELOPE}
        alerts = list(alerts_in(events, self._vehicle_ids(), skipped))
        try:
            new, touched = self._store(alerts, skipped)
        except (FleetbotError, sqlite3.OperationalError) as exc:
            log.error("could not store a monitor callback (the API will redeliver): %s", exc)
            return 503, {"ok": False, "error": "try again"}
        if touched:
            self.on_stored()
        return 200, {"ok": True, "alerts": len(alerts), "new": new, "skipped": skipped.count}

    def _store(self, alerts: list[StoredAlert], skipped: Skipped) -> tuple[int, bool]:
        """Store the alerts in one transaction, or one by one if something in them fails it."""
        router = self.router()
        try:
            result = self.ledger.ingest(alerts, router, source="push")
            return result.new_alerts, bool(result.deliveries or result.ended_alerts)
        except (FleetbotError, sqlite3.OperationalError):
            raise  # the database itself: 503, the API redelivers
        except Exception as exc:
            log.warning(ISOLATING, type(exc).__name__)
        new, touched = 0, False
        for alert in alerts:
            try:
                result = self.ledger.ingest([alert], router, source="push")
            except (FleetbotError, sqlite3.OperationalError):
                raise
            except Exception as exc:
                skipped.note(NOT_STORED, alert.vin, type(exc).__name__)
                continue
            new += result.new_alerts
            touched = touched or bool(result.deliveries or result.ended_alerts)
        return new, touched

    def _vehicle_ids(self) -> dict[str, str]:
        return {v["vin"]: v["id"] for v in self.ledger.vehicles()}


def envelope_events(document: object) -> list[Any]:
    """The ``events`` list of a ``MonitorEvents`` document; ValueError if it is not one."""
    if not isinstance(document, Mapping):
        raise ValueError("the document is not a JSON object")
    events = document.get("events")
    if not isinstance(events, list):
        raise ValueError("events is not a list")
    if not all(isinstance(event, Mapping) for event in events):
        raise ValueError("an event is not a JSON object")  # the envelope's shape, not a record
    return events


def alerts_in(
    events: list[Any], vehicle_ids: Mapping[str, str], skipped: Skipped | None = None
) -> Iterator[StoredAlert]:
    """Alerts the events of a ``MonitorEvents`` document carry: in ``values`` (the change) first.

    The ``vehicle.alerts`` extension lists the alerts active at the event; those are taken
    too (they are harmless duplicates when already known, and catch anything missed). An
    event or alert that cannot be read is skipped (counted in ``skipped``, logged).
    """
    skipped = skipped or Skipped()
    seen: set[str] = set()
    for event in events:
        vin = event.get("vin") if isinstance(event, Mapping) else None
        try:
            raws = list(_alert_objects(event))
        except (ValueError, TypeError, AttributeError) as exc:
            skipped.note(SKIPPED_EVENT, vin, exc)
            continue
        for raw in raws:
            try:
                alert = Alert.from_api(raw)
                vin_text = vin if isinstance(vin, str) else None
                stored = to_stored(
                    alert,
                    vin=vin_text,
                    vehicle_id=vehicle_ids.get(alert.vin or vin_text or ""),
                )
            except ValueError as exc:
                skipped.note(
                    SKIPPED_ALERT,
                    (raw.get("vin") if isinstance(raw, Mapping) else None) or vin,
                    exc,
                )
                continue
            if stored.id in seen:
                continue
            seen.add(stored.id)
            yield stored


def _alert_objects(event: object) -> Iterator[object]:
    """The raw alert objects of one event; ValueError/TypeError when its shape is wrong."""
    if not isinstance(event, Mapping):
        raise TypeError(f"an event is {type(event).__name__}, not an object")
    for value in _items(event.get("values")):
        inner = _mapping(value.get("value"))
        if value.get("data") == "vehicle.alert" or inner.get("type") == "obj.alert":
            yield from _items(_mapping(inner.get("body")).get("objectValues"), objects=False)
    for extension in _items(event.get("extensions")):
        if extension.get("type") == "vehicle.alerts":
            yield from _items(_mapping(extension.get("body")).get("alerts"), objects=False)


def _mapping(value: object) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return value


def _items(value: object, *, objects: bool = True) -> list[Any]:
    """A list (None is empty); with ``objects``, every item must be an object too."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    if objects and not all(isinstance(item, Mapping) for item in value):
        raise TypeError("expected a list of objects")
    return value


def _vin_text(vin: object) -> str:
    return str(vin)[:VIN_LIMIT] if isinstance(vin, str | int) and vin != "" else "unknown"


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
