"""The mrkdwn boundary and Block Kit basics: escaping, dates, places, sections and limits.

Text that did not come from our own templates (API labels, types, severities, places, vehicle
names, what people typed) enters mrkdwn only through :func:`escape` (or :func:`echo` for what
a person typed), so it can never ping ``<!channel>`` or forge a link; our templates keep their
markup. Times use Slack's ``<!date^…>`` so each reader sees their own local time.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from bot.messages import texts
from bot.psa.models import Position

Message = dict[str, Any]

MAX_BLOCKS = 50  # per message
MAX_VIEW_BLOCKS = 100  # per App Home view
MAX_SECTION_TEXT = 3000
MAX_RESPONSES = 5  # Slack accepts at most five replies on one response_url

# Slack's own rule: these three are control characters in message text.
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def escape(text: object) -> str:
    """Text from outside, made inert for mrkdwn (``&``, ``<``, ``>`` as Slack's entities)."""
    if text is None:
        return ""
    return str(text).translate(_ESCAPES)


def echo(text: str, limit: int = 60) -> str:
    """Quote what a person typed: one short line, escaped so it can never ping or link."""
    cleaned = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in text
    ).replace("`", "'")
    short = cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"
    return escape(short)  # after cutting, so no entity is cut in half


def cut(text: str, limit: int) -> str:
    """Cut text to ``limit`` characters, saying so with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def truncate(text: str, limit: int = MAX_SECTION_TEXT) -> str:
    """Cut text to Block Kit's section limit, saying so."""
    return cut(text, limit)


def slack_date(moment: dt.datetime | None, style: str = "{date_short_pretty} {time}") -> str:
    """A Slack date token that shows in each reader's time zone, with a UTC fallback."""
    if moment is None:
        return texts.UNKNOWN_TIME
    try:
        utc = moment.astimezone(dt.UTC)
        stamp = int(moment.timestamp())
    except (OverflowError, ValueError, OSError):  # e.g. year 1 in a positive offset
        return texts.UNKNOWN_TIME
    # isoformat pads years below 1000; strftime's %Y does not on every platform
    return f"<!date^{stamp}^{style}|{utc.date().isoformat()} {utc:%H:%M} UTC>"


def day_token(day: dt.date, start: dt.datetime) -> str:
    """A Slack date token for a day (each reader sees their own calendar)."""
    return f"<!date^{int(start.timestamp())}^{{date_long_pretty}}|{day.isoformat()}>"


def map_link(lon: float, lat: float, label: str | None = None) -> str:
    """An OpenStreetMap link in mrkdwn (positions are named by :mod:`bot.messages.places`)."""
    url = f"https://www.openstreetmap.org/?mlat={lat:.5f}&mlon={lon:.5f}#map=15/{lat:.5f}/{lon:.5f}"
    return f"<{url}|{escape(label) if label else texts.PLACE_ON_MAP}>"  # never bare coordinates


def position_text(feature: Mapping[str, Any] | None) -> str:
    """Place of a GeoJSON Feature as the API sent it (coordinates [lon, lat, alt]) as a map link."""
    try:
        coordinates = (feature or {})["geometry"]["coordinates"]
        lon, lat = float(coordinates[0]), float(coordinates[1])
    except (KeyError, IndexError, TypeError, ValueError, OverflowError):
        return texts.UNKNOWN_PLACE
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return texts.UNKNOWN_PLACE
    place = (feature or {}).get("properties", {}) or {}
    label = place.get("place") or place.get("name") if isinstance(place, Mapping) else None
    return map_link(lon, lat, str(label) if label else None)


def place(position: Position | None) -> str:
    """A parsed position as a map link, or "unknown"."""
    if position is None:
        return texts.UNKNOWN
    return map_link(position.lon, position.lat)


def km(value: float | None) -> str:
    """A distance in km."""
    if value is None or not math.isfinite(value):
        return "? km"
    return f"{value:,.1f} km" if value < 10_000 else f"{value:,.0f} km"


def duration(seconds: float | None) -> str:
    """A duration as people say it: 45 s, 25 min, 1 h 05 min."""
    if seconds is None or not math.isfinite(seconds):
        return "? min"
    total = round(seconds)
    if total < 60:
        return f"{total} s"
    hours, minutes = divmod(total // 60, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


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


def pack_sections(lines: Iterable[str], limit: int = MAX_SECTION_TEXT) -> list[dict[str, Any]]:
    """Lines joined into as few sections as the 3000-character limit allows."""
    blocks: list[dict[str, Any]] = []
    current: list[str] = []
    size = 0
    for line in lines:
        line = line if len(line) <= limit else line[: limit - 1] + "…"
        if current and size + len(line) + 1 > limit:
            blocks.append(section("\n".join(current)))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        blocks.append(section("\n".join(current)))
    return blocks


def ephemeral(text: str, blocks: list[dict[str, Any]] | None = None) -> Message:
    """A reply only the asker sees; ``text`` is also the notification fallback."""
    message: Message = {"response_type": "ephemeral", "text": text[:MAX_SECTION_TEXT]}
    if blocks is not None:
        message["blocks"] = blocks
    return message


def text_reply(text: str) -> Message:
    """An ephemeral reply of one section (long text is packed into several sections)."""
    return ephemeral(text, pack_sections(text.split("\n")))


def error_reply(problem: str, usage: str | None = None) -> Message:
    """What went wrong, then how to use the command."""
    text = f":warning: {problem}" + (f"\n{usage}" if usage else "")
    return text_reply(text)
