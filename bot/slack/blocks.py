"""Block Kit builders: pure functions from data to Slack message dicts (no I/O).

Alert messages carry message metadata ``fleet_alert`` (one alert) or ``fleet_alert_digest``
(several), which delivery uses to reconcile after a crash and to count deliveries. Times use
Slack's ``<!date^…>`` so each reader sees their own local time.

Text that did not come from our own templates (API labels, types, severities, places, vehicle
names, what people typed) enters mrkdwn only through :func:`escape`, so it can never ping
``<!channel>`` or forge a link; our templates keep their markup.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from bot.alerts.render import alert_text, severity_badge
from bot.store import StoredAlert

ACTION_ACK = "alert_ack"
ACTION_DETAILS = "alert_details"
ACTION_TRIPS_TODAY = "alert_trips_today"
ACTION_MUTE = "alert_mute"
ACTION_DIGEST_ACK = "digest_ack"

EVENT_ALERT = "fleet_alert"
EVENT_DIGEST = "fleet_alert_digest"

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
DIGEST_SIZE = 20  # alerts per digest message: 20 sections + header/context/actions < 50 blocks

TEXT = {
    "acknowledge": "Acknowledge",
    "details": "Details",
    "trips_today": "Trips today",
    "mute": "Mute 24 h",
    "acked": ":white_check_mark: Acknowledged by <@{user}> at {when}",
    "acked_no_time": ":white_check_mark: Acknowledged by <@{user}>",
    "ended": ":checkered_flag: Ended {when}",
    "started": "Started {when}",
    "digest_title": "{count} new vehicle alerts",
    "digest_more": "Acknowledge each alert here; `/alert &lt;vehicle&gt;` shows the details.",
    "unknown_place": "position unknown",
    "held": ":mute: Held back by a mute until now",
    "unknown_time": "unknown time",
}

Message = dict[str, Any]

# Slack's own rule: these three are control characters in message text.
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def escape(text: object) -> str:
    """Text from outside, made inert for mrkdwn (``&``, ``<``, ``>`` as Slack's entities)."""
    if text is None:
        return ""
    return str(text).translate(_ESCAPES)


def alert_words(type_: str, locale: str, label: str | None = None) -> str:
    """The alert in words, escaped (the API's label or an unknown type may carry markup)."""
    return escape(alert_text(type_, locale, label=label))


def badge(severity: str | None, locale: str) -> str:
    """The severity badge, escaped (an unknown severity is shown as the API sent it)."""
    return escape(severity_badge(severity, locale))


def slack_date(moment: dt.datetime | None, style: str = "{date_short_pretty} {time}") -> str:
    """A Slack date token that shows in each reader's time zone, with a UTC fallback."""
    if moment is None:
        return TEXT["unknown_time"]
    try:
        utc = moment.astimezone(dt.UTC)
        stamp = int(moment.timestamp())
    except (OverflowError, ValueError, OSError):  # e.g. year 1 in a positive offset
        return TEXT["unknown_time"]
    # isoformat pads years below 1000; strftime's %Y does not on every platform
    return f"<!date^{stamp}^{style}|{utc.date().isoformat()} {utc:%H:%M} UTC>"


def map_link(lon: float, lat: float, label: str | None = None) -> str:
    """An OpenStreetMap link in mrkdwn."""
    url = f"https://www.openstreetmap.org/?mlat={lat:.5f}&mlon={lon:.5f}#map=15/{lat:.5f}/{lon:.5f}"
    return f"<{url}|{escape(label) if label else f'{lat:.4f}, {lon:.4f}'}>"


def position_text(feature: Mapping[str, Any] | None) -> str:
    """Place of a GeoJSON Feature (coordinates are [lon, lat, alt]) as a map link."""
    try:
        coordinates = (feature or {})["geometry"]["coordinates"]
        lon, lat = float(coordinates[0]), float(coordinates[1])
    except (KeyError, IndexError, TypeError, ValueError, OverflowError):
        return TEXT["unknown_place"]
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return TEXT["unknown_place"]
    place = (feature or {}).get("properties", {}) or {}
    label = place.get("place") or place.get("name") if isinstance(place, Mapping) else None
    return map_link(lon, lat, str(label) if label else None)


def truncate(text: str, limit: int = MAX_SECTION_TEXT) -> str:
    """Cut text to Block Kit's limit, saying so."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def section(text: str) -> dict[str, Any]:
    """A mrkdwn section block within limits."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text)}}


def context(text: str) -> dict[str, Any]:
    """A context block (small grey text)."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text)}]}


def button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    """A button element."""
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }
    if style:
        element["style"] = style
    return element


def alert_line(alert: StoredAlert, vehicle_name: str, locale: str) -> str:
    """One alert in words: severity, what, which vehicle."""
    label = alert.payload.get("label") if isinstance(alert.payload, Mapping) else None
    words = alert_words(alert.type, locale, label=label if isinstance(label, str) else None)
    return f"{badge(alert.severity, locale)} *{words}* — {escape(vehicle_name)}"


def alert_status_lines(
    alert: StoredAlert, acked_by: str | None, acked_at: dt.datetime | None
) -> list[str]:
    """When it started, where, whether it ended and who acknowledged it."""
    lines = [
        f"{TEXT['started'].format(when=slack_date(alert.started_at))} · "
        f"{position_text(alert.payload.get('startPosition'))}"
    ]
    if alert.ended:
        lines.append(TEXT["ended"].format(when=slack_date(alert.end_at or alert.updated_at)))
    if acked_by:
        lines.append(acked_line(acked_by, acked_at))
    return lines


def acked_line(user: str, at: dt.datetime | None) -> str:
    """Who acknowledged and when (a row acknowledged before times were kept has none)."""
    if at is None:
        return TEXT["acked_no_time"].format(user=escape(user))
    return TEXT["acked"].format(user=escape(user), when=slack_date(at))


def notification_text(headline: str, vehicle_name: str, vin: str) -> str:
    """The push-notification fallback: the headline, naming the VIN once."""
    if not vin or vin in vehicle_name:
        return headline
    return f"{headline} ({escape(vin)})"


def alert_message(
    alert: StoredAlert,
    *,
    vehicle_name: str,
    locale: str = "en-GB",
    acked_by: str | None = None,
    acked_at: dt.datetime | None = None,
    held_by_mute: bool = False,
) -> Message:
    """The channel message for one alert, with its buttons and ``fleet_alert`` metadata."""
    headline = alert_line(alert, vehicle_name, locale)
    status = alert_status_lines(alert, acked_by, acked_at)
    if held_by_mute:
        status.append(TEXT["held"])
    buttons = [button(TEXT["details"], ACTION_DETAILS, alert.id)]
    if not acked_by:
        buttons.insert(0, button(TEXT["acknowledge"], ACTION_ACK, alert.id, "primary"))
    buttons += [
        button(TEXT["trips_today"], ACTION_TRIPS_TODAY, alert.vin),
        button(TEXT["mute"], ACTION_MUTE, alert.vin),
    ]
    return {
        "text": notification_text(headline, vehicle_name, alert.vin),
        "blocks": [
            section(headline),
            context("\n".join(status)),
            {"type": "actions", "block_id": f"alert:{alert.id}", "elements": buttons},
        ],
        "metadata": {
            "event_type": EVENT_ALERT,
            "event_payload": {"alert_id": alert.id, "vin": alert.vin},
        },
    }


DigestItem = tuple[StoredAlert, str | None] | tuple[StoredAlert, str | None, dt.datetime | None]


def digest_message(
    items: Sequence[DigestItem],
    *,
    names: Mapping[str, str],
    locale: str = "en-GB",
    held: Collection[str] = (),
) -> Message:
    """One message for a burst of alerts in one channel (``fleet_alert_digest`` metadata).

    ``items`` are (alert, acknowledged_by, acknowledged_at) triples — the time may be left out;
    each alert has its own Acknowledge button (or who acknowledged it and when), so the digest
    stays individually actionable.
    """
    if len(items) > DIGEST_SIZE:
        raise ValueError(f"a digest holds at most {DIGEST_SIZE} alerts, not {len(items)}")
    title = TEXT["digest_title"].format(count=len(items))
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title}},
    ]
    for alert, acked_by, *when in items:
        acked_at = when[0] if when else None
        line = alert_line(alert, names.get(alert.vin, alert.vin), locale)
        status = alert_status_lines(alert, acked_by, None)
        if alert.id in held:
            status.append(TEXT["held"])
        status = alert_status_lines(alert, acked_by, acked_at)
        block = section(f"{line}\n{' · '.join(status)}")
        if acked_by is None:
            block["accessory"] = button(TEXT["acknowledge"], ACTION_DIGEST_ACK, alert.id)
        blocks.append(block)
    blocks.append(context(TEXT["digest_more"]))
    return {
        "text": title,
        "blocks": blocks,
        "metadata": {
            "event_type": EVENT_DIGEST,
            "event_payload": {"alert_ids": [item[0].id for item in items]},
        },
    }


def alert_ids_in(metadata: Mapping[str, Any] | None) -> list[str]:
    """The alert ids a message's metadata names (one alert or a digest); [] otherwise."""
    if not metadata:
        return []
    payload = metadata.get("event_payload") or {}
    if metadata.get("event_type") == EVENT_ALERT and payload.get("alert_id"):
        return [str(payload["alert_id"])]
    if metadata.get("event_type") == EVENT_DIGEST:
        return [str(a) for a in payload.get("alert_ids") or []]
    return []
