"""The daily fleet report as a Block Kit message: totals, what needs attention, busiest vehicles.

Pure functions from a :class:`~bot.reports.day.FleetDay` to a ``chat.postMessage`` payload
(``text``, ``blocks``, ``metadata``). Every list shows its first ``top`` items, then "…and N
more", and every block stays within Slack's limits whatever the fleet's size. Text from outside
(vehicle labels, brands, models, VINs, alert types) is escaped before it enters mrkdwn.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bot.messages.alert_text import SEVERITY, alert_text
from bot.messages.markup import MAX_BLOCKS, MAX_SECTION_TEXT, cut, escape, slack_date
from bot.messages.places import where
from bot.psa.models import Position
from bot.reports.day import (
    LOW_ENERGY_PERCENT,
    MAINTENANCE_DAYS,
    MAINTENANCE_KM,
    SEVERITY_ORDER,
    FleetDay,
    VehicleDay,
)

if TYPE_CHECKING:
    from bot.places import Places

EVENT_REPORT = "fleet_report"

# Slack's limits (https://api.slack.com/reference/block-kit/blocks); the common ones in markup
MAX_HEADER = 150
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_CONTEXT_ELEMENTS = 10
MAX_ALT_TEXT = 2000
MAX_FALLBACK_TEXT = 3000  # Slack cuts at 40,000; notifications show far less

TOP = 10  # lines per list
MAX_NAME = 60  # characters of a vehicle name, before escaping

TEXT = {
    "header": ":bar_chart: Fleet report · {day}",
    "fallback": (
        "Fleet report for {day}: {distance} in {trips} trips; "
        "{critical} critical alerts open and not acknowledged"
    ),
    "distance": "*Distance*\n{value}",
    "driving": "*Driving time*\n{value}",
    "trips": "*Trips*\n{trips} by {active} of {vehicles} vehicles",
    "fuel": "*Fuel*\n{litres}{average}",
    "electricity": "*Electricity*\n{kwh}{average}",
    "alerts_started": "*Alerts started*\n{counts}",
    "alerts_open": "*Open, not acknowledged*\n{counts}",
    "no_alerts": "none",
    "context": (
        "Times in {zone} · {vehicles} vehicles · {calls} API calls · "
        "built {built} · a trip counts on the day it started"
    ),
    "not_reachable_note": (
        ":warning: {count} vehicles were not reachable: their figures are missing"
    ),
    "image_alt": (
        "Chart: distance per vehicle on {day} (top 15) and alerts started per day "
        "over the last 7 days by severity"
    ),
    "image_title": "Fleet on {day}",
    "attention": "*Needs attention*",
    "all_clear": ":white_check_mark: Nothing needs attention.",
    "critical_title": ":rotating_light: *Open critical alerts, not acknowledged* ({count})",
    "critical_line": "• *{vehicle}* · {alert} · since {since}{place}",
    "energy_title": ":fuelpump: *Fuel or battery under {percent:.0f} %* ({count})",
    "energy_line": "• *{vehicle}* · {levels}{place}",
    "energy_level": "{kind} {level} %",
    "level_fuel": "fuel",
    "level_battery": "battery",
    "maintenance_title": (":wrench: *Maintenance due within {days} days or {km} km* ({count})"),
    "maintenance_line": "• *{vehicle}* · {when}",
    "maintenance_in_days": "in {days}",
    "maintenance_overdue_days": "overdue by {days}",
    "maintenance_today": "today",
    "day": "{n} day",
    "days": "{n} days",
    "maintenance_in_km": "in {km} km",
    "maintenance_overdue_km": "overdue by {km} km",
    "silent_title": ":zzz: *No data for 24 h* ({count})",
    "silent_line": "• *{vehicle}* · last data {when}{place}",
    "silent_never": "• *{vehicle}* · no data at all",
    "unreachable_title": ":electric_plug: *Not reachable at the API* ({count})",
    "unreachable_line": "• *{vehicle}*",
    "busiest_title": ":trophy: *Busiest vehicles* ({count} drove)",
    "busiest_line": "{rank}. *{vehicle}* · {distance} · {trips} trips · {driving}{energy}",
    "no_trips": ":parking: No vehicle drove that day.",
    "types_title": "*Alerts started by type* ({count} types)",
    "type_line": "• {alert} · {count}",
    "more": "…and {count:,} more",
}


def level_under(level: float) -> str:
    """A level listed as under the threshold, never shown rounded up to it (19.6 → 19.6)."""
    whole = f"{level:.0f}"
    return whole if float(whole) < LOW_ENERGY_PERCENT else f"{math.floor(level * 10) / 10:.1f}"


def _name(vehicle: str) -> str:
    """A vehicle name, shortened, then escaped (shortening first never cuts an entity)."""
    short = vehicle if len(vehicle) <= MAX_NAME else vehicle[: MAX_NAME - 1] + "…"
    return escape(short)


def day_title(day: dt.date) -> str:
    """``Thursday 19 November 2026`` (English, whatever the machine's locale)."""
    return f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


def km(value: float) -> str:
    """``1,234 km`` (one decimal under 100 km)."""
    return f"{value:,.1f} km" if value < 100 else f"{value:,.0f} km"


def duration(seconds: float) -> str:
    """``3 h 05 min`` or ``45 min``."""
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:,} h {minutes:02d} min" if hours else f"{minutes} min"


def litres(value: float) -> str:
    """``12.3 L``."""
    return f"{value:,.1f} L"


def kwh(value: float) -> str:
    """``12.3 kWh``."""
    return f"{value:,.1f} kWh"


def _severity_counts(counts: Mapping[str, int]) -> str:
    parts = [
        f"{SEVERITY[s].emoji} {counts[s]:,} {SEVERITY[s].en}"
        for s in SEVERITY_ORDER
        if counts.get(s)
    ]
    other = sum(n for s, n in counts.items() if s not in SEVERITY_ORDER)
    if other:
        parts.append(f"{other:,} other")
    return " · ".join(parts) or TEXT["no_alerts"]


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut(text, MAX_SECTION_TEXT)}}


def _context(*texts: str) -> dict[str, Any]:
    return {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": cut(t, MAX_SECTION_TEXT)}
            for t in texts[:MAX_CONTEXT_ELEMENTS]
        ],
    }


def list_section(title: str, lines: Iterable[str], total: int, top: int = TOP) -> dict[str, Any]:
    """A titled list: at most ``top`` lines that fit in one section, then "…and N more"."""
    body = [title]
    shown = 0
    tail = len(TEXT["more"].format(count=total)) + 1  # the longest "…and N more" line
    for line in lines:
        if shown >= top:
            break
        if sum(len(x) + 1 for x in body) + len(line) + tail > MAX_SECTION_TEXT:
            break
        body.append(line)
        shown += 1
    if total > shown:
        body.append(TEXT["more"].format(count=total - shown))
    return _section("\n".join(body))


def _totals(fleet: FleetDay) -> dict[str, Any]:
    fields = [
        TEXT["distance"].format(value=km(fleet.distance_km)),
        TEXT["driving"].format(value=duration(fleet.driving_s)),
        TEXT["trips"].format(
            trips=f"{fleet.trips:,}",
            active=f"{fleet.active_vehicles:,}",
            vehicles=f"{len(fleet.vehicles):,}",
        ),
    ]
    if fleet.fuel_l:
        per100 = fleet.fuel_per_100km
        average = f" · {per100:.1f} L/100 km" if per100 is not None else ""
        fields.append(TEXT["fuel"].format(litres=litres(fleet.fuel_l), average=average))
    if fleet.electric_kwh:
        per100 = fleet.kwh_per_100km
        average = f" · {per100:.1f} kWh/100 km" if per100 is not None else ""
        fields.append(TEXT["electricity"].format(kwh=kwh(fleet.electric_kwh), average=average))
    fields.append(TEXT["alerts_started"].format(counts=_severity_counts(fleet.alerts_by_severity)))
    fields.append(TEXT["alerts_open"].format(counts=_severity_counts(fleet.open_by_severity)))
    return {
        "type": "section",
        "fields": [{"type": "mrkdwn", "text": cut(f, MAX_FIELD_TEXT)} for f in fields[:MAX_FIELDS]],
    }


def _maintenance_when(vehicle: VehicleDay) -> str:
    parts = []
    days, left_km = vehicle.days_before_maintenance, vehicle.km_before_maintenance
    if days is not None:
        count = TEXT["day" if abs(days) == 1 else "days"].format(n=abs(days))
        parts.append(
            TEXT["maintenance_overdue_days"].format(days=count)
            if days < 0
            else TEXT["maintenance_today"]
            if days == 0
            else TEXT["maintenance_in_days"].format(days=count)
        )
    if left_km is not None:
        parts.append(
            TEXT["maintenance_overdue_km"].format(km=f"{-left_km:,.0f}")
            if left_km < 0
            else TEXT["maintenance_in_km"].format(km=f"{left_km:,.0f}")
        )
    return " · ".join(parts)


def _energy_of(vehicle: VehicleDay) -> str:
    parts = []
    if vehicle.fuel_l:
        per100 = vehicle.fuel_per_100km
        parts.append(litres(vehicle.fuel_l) + (f" ({per100:.1f} L/100 km)" if per100 else ""))
    if vehicle.electric_kwh:
        per100 = vehicle.kwh_per_100km
        parts.append(kwh(vehicle.electric_kwh) + (f" ({per100:.1f} kWh/100 km)" if per100 else ""))
    return "".join(" · " + p for p in parts)


def _at(position: Position | None, places: Places | None) -> str:
    """`` · near Lyon, FR`` (a named map link), or nothing when the position is unknown."""
    return f" · {where(position, places)}" if position is not None else ""


def _attention(
    fleet: FleetDay, top: int, locale: str, places: Places | None
) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    critical = fleet.open_critical
    if critical:
        lines = (
            TEXT["critical_line"].format(
                vehicle=_name(a.vehicle),
                alert=escape(alert_text(a.alert.type, locale)),
                since=slack_date(a.alert.started_at),
                place=_at(a.alert.position, places),
            )
            for a in critical
        )
        title = TEXT["critical_title"].format(count=f"{len(critical):,}")
        blocks.append(list_section(title, lines, len(critical), top))
    low = fleet.low_energy
    if low:
        lines = (
            TEXT["energy_line"].format(
                vehicle=_name(v.name),
                levels=", ".join(
                    TEXT["energy_level"].format(
                        kind=TEXT["level_" + kind], level=level_under(level)
                    )
                    for kind, level in v.low_energy
                ),
                place=_at(v.position, places),
            )
            for v in low
        )
        title = TEXT["energy_title"].format(percent=LOW_ENERGY_PERCENT, count=f"{len(low):,}")
        blocks.append(list_section(title, lines, len(low), top))
    due = fleet.maintenance_due
    if due:
        lines = (
            TEXT["maintenance_line"].format(vehicle=_name(v.name), when=_maintenance_when(v))
            for v in due
        )
        title = TEXT["maintenance_title"].format(
            days=MAINTENANCE_DAYS, km=f"{MAINTENANCE_KM:,.0f}", count=f"{len(due):,}"
        )
        blocks.append(list_section(title, lines, len(due), top))
    silent = fleet.silent
    if silent:
        lines = (
            TEXT["silent_line"].format(
                vehicle=_name(v.name), when=slack_date(v.last_seen), place=_at(v.position, places)
            )
            if v.last_seen
            else TEXT["silent_never"].format(vehicle=_name(v.name))
            for v in silent
        )
        title = TEXT["silent_title"].format(count=f"{len(silent):,}")
        blocks.append(list_section(title, lines, len(silent), top))
    unreachable = fleet.not_reachable
    if unreachable:
        lines = (TEXT["unreachable_line"].format(vehicle=_name(v.name)) for v in unreachable)
        title = TEXT["unreachable_title"].format(count=f"{len(unreachable):,}")
        blocks.append(list_section(title, lines, len(unreachable), top))
    if not blocks:
        return [_section(TEXT["all_clear"])]
    return [_section(TEXT["attention"]), *blocks]


def _busiest(fleet: FleetDay, top: int) -> dict[str, Any]:
    busiest = fleet.busiest()
    if not busiest:
        return _section(TEXT["no_trips"])
    lines = (
        TEXT["busiest_line"].format(
            rank=rank,
            vehicle=_name(v.name),
            distance=km(v.distance_km),
            trips=f"{v.trips}+" if v.trips_capped else v.trips,
            driving=duration(v.driving_s),
            energy=_energy_of(v),
        )
        for rank, v in enumerate(busiest, 1)
    )
    title = TEXT["busiest_title"].format(count=f"{len(busiest):,}")
    return list_section(title, lines, len(busiest), top)


def _types(fleet: FleetDay, top: int, locale: str) -> dict[str, Any] | None:
    if not fleet.alerts_by_type:
        return None
    ranked: Sequence[tuple[str, int]] = sorted(
        fleet.alerts_by_type.items(), key=lambda kv: (-kv[1], kv[0])
    )
    lines = (
        TEXT["type_line"].format(alert=escape(alert_text(kind, locale)), count=f"{n:,}")
        for kind, n in ranked
    )
    title = TEXT["types_title"].format(count=f"{len(ranked):,}")
    return list_section(title, lines, len(ranked), top)


def report_message(
    fleet: FleetDay,
    *,
    image_file_id: str | None = None,
    top: int = TOP,
    locale: str = "en-GB",
    places: Places | None = None,
) -> dict[str, Any]:
    """``text``, ``blocks`` and ``metadata`` of the report; ``image_file_id`` adds the chart.

    ``image_file_id`` is the id of a file already uploaded to Slack (``files.completeUpload
    External``); the image block names it with ``slack_file``.
    """
    day = day_title(fleet.day)
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": cut(TEXT["header"].format(day=day), MAX_HEADER),
                "emoji": True,
            },
        },
        _totals(fleet),
    ]
    notes = [
        TEXT["context"].format(
            zone=escape(fleet.zone),
            vehicles=f"{len(fleet.vehicles):,}",
            calls=f"{fleet.api_calls:,}",
            built=slack_date(fleet.generated_at),
        )
    ]
    if fleet.not_reachable:
        notes.append(TEXT["not_reachable_note"].format(count=f"{len(fleet.not_reachable):,}"))
    blocks.append(_context(*notes))
    if image_file_id:
        blocks.append(
            {
                "type": "image",
                "slack_file": {"id": image_file_id},
                "alt_text": cut(TEXT["image_alt"].format(day=day), MAX_ALT_TEXT),
                "title": {"type": "plain_text", "text": TEXT["image_title"].format(day=day)},
            }
        )
    blocks.append({"type": "divider"})
    blocks.extend(_attention(fleet, top, locale, places))
    blocks.append({"type": "divider"})
    blocks.append(_busiest(fleet, top))
    types = _types(fleet, top, locale)
    if types is not None:
        blocks.append(types)
    text = TEXT["fallback"].format(
        day=fleet.day.isoformat(),
        distance=km(fleet.distance_km),
        trips=f"{fleet.trips:,}",
        critical=f"{len(fleet.open_critical):,}",
    )
    return {
        "text": cut(text, MAX_FALLBACK_TEXT),
        "blocks": blocks[:MAX_BLOCKS],
        "metadata": {"event_type": EVENT_REPORT, "event_payload": {"day": fleet.day.isoformat()}},
    }
