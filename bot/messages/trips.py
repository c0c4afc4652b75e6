"""`/trips` replies: a vehicle's trips over a period, grouped by day, with totals."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.messages import texts
from bot.messages.markup import (
    MAX_BLOCKS,
    MAX_RESPONSES,
    Message,
    context,
    day_token,
    duration,
    ephemeral,
    escape,
    km,
    section,
    slack_date,
    text_reply,
)
from bot.messages.places import where
from bot.psa.models import Trip

if TYPE_CHECKING:
    from bot.places import Places

_TRIP_BLOCKS_PER_MESSAGE = MAX_BLOCKS - 2  # room for the "part n of m" and "… more" contexts


@dataclasses.dataclass(frozen=True)
class Period:
    """A half-open time range [start, end) and how to say it."""

    start: dt.datetime
    end: dt.datetime
    label: str

    @property
    def days(self) -> int:
        """Calendar days covered (rounded up)."""
        return max(1, -(-int((self.end - self.start).total_seconds()) // 86400))


@dataclasses.dataclass
class EnergyTotals:
    """Energy used, by kind: litres of fuel, kWh of electricity, other units as given."""

    amounts: dict[str, float] = dataclasses.field(default_factory=dict)

    def add(self, trip: Trip) -> None:
        """Add a trip's consumptions."""
        for used in trip.energy_consumptions:
            if used.value is None:
                continue
            unit = (used.unit or "").strip()
            if not math.isfinite(used.value):
                continue  # an odd record must not turn the totals into nan or inf
            if unit == "cL":
                self.amounts["L fuel"] = self.amounts.get("L fuel", 0.0) + used.value / 100
            elif unit == "Wh":
                self.amounts["kWh"] = self.amounts.get("kWh", 0.0) + used.value / 1000
            else:
                key = unit or (used.type or "")
                self.amounts[key] = self.amounts.get(key, 0.0) + used.value

    def text(self) -> str:
        """``" · 1.2 L fuel · 3.4 kWh"`` (empty when nothing was reported)."""
        return "".join(
            f" · {value:,.1f} {escape(unit)}".rstrip() for unit, value in self.amounts.items()
        )

    def per_100_km(self, distance_km: float | None) -> str:
        """``" · 6.1 L/100 km · 1.2 kWh/100 km"`` (empty without a distance or litres/kWh)."""
        if not distance_km or not math.isfinite(distance_km) or distance_km <= 0:
            return ""
        parts = [
            texts.TRIPS_PER_100_KM.format(value=value * 100 / distance_km, unit=_PER_100[unit])
            for unit, value in self.amounts.items()
            if unit in _PER_100
        ]
        return "".join(f" · {part}" for part in parts)


_PER_100 = {"L fuel": "L", "kWh": "kWh"}


def speeds(trip: Trip) -> str:
    """``" · avg 42 km/h, max 110 km/h"`` (what the API reported of the two)."""
    parts = []
    if trip.avg_speed is not None and math.isfinite(trip.avg_speed):
        parts.append(texts.TRIPS_AVG_SPEED.format(speed=trip.avg_speed))
    if trip.max_speed is not None and math.isfinite(trip.max_speed):
        parts.append(texts.TRIPS_MAX_SPEED.format(speed=trip.max_speed))
    return f" · {', '.join(parts)}" if parts else ""


def _trip_energy(trip: Trip) -> str:
    totals = EnergyTotals()
    totals.add(trip)
    text = totals.text() + totals.per_100_km(trip.distance_km)
    if not text and trip.avg_consumption:
        averages = [
            f"{a.value:g} ({escape(a.type)})" for a in trip.avg_consumption if a.value is not None
        ]
        text = f" · avg {', '.join(averages)}" if averages else ""
    return text


def trip_line(trip: Trip, tz: dt.tzinfo, places: Places | None = None) -> str:
    """One trip: times, distance, duration, speeds, energy, then start → end place."""
    line = texts.TRIPS_LINE.format(
        start=slack_date(trip.started_at, "{time}"),
        end=slack_date(trip.stopped_at, "{time}"),
        distance=km(trip.distance_km),
        duration=duration(trip.duration_s),
        speeds=speeds(trip),
        energy=_trip_energy(trip),
        from_place=where(trip.start_position, places),
        to_place=where(trip.stop_position, places),
    )
    if trip.faults or trip.done is False:
        line += texts.TRIPS_INCOMPLETE
    return line


def _totals(trips: Sequence[Trip]) -> tuple[str, str, str]:
    energy = EnergyTotals()
    for trip in trips:
        energy.add(trip)
    distance = sum(t.distance_km or 0.0 for t in trips if t.distance_km is not None)
    seconds = sum(t.duration_s or 0.0 for t in trips)
    # per 100 km over the trips that reported both a distance and what they used
    measured = EnergyTotals()
    measured_km = 0.0
    for trip in trips:
        if trip.distance_km and math.isfinite(trip.distance_km) and trip.energy_consumptions:
            measured.add(trip)
            measured_km += trip.distance_km
    return km(distance), duration(seconds), energy.text() + measured.per_100_km(measured_km)


def trips_messages(
    vehicle: str,
    trips: Sequence[Trip],
    period: Period,
    tz: dt.tzinfo,
    places: Places | None = None,
) -> list[Message]:
    """The trips of a period grouped by day with totals, as one to five ephemeral messages."""
    vehicle = escape(vehicle)
    if not trips:
        return [text_reply(texts.TRIPS_NONE.format(vehicle=vehicle, period=period.label))]
    ordered = sorted(trips, key=lambda t: t.started_at or period.start)
    distance, time_spent, energy = _totals(ordered)
    title = texts.TRIPS_TITLE.format(
        vehicle=vehicle,
        period=period.label,
        count=len(ordered),
        distance=distance,
        duration=time_spent,
        energy=energy,
    )
    by_day: dict[dt.date, list[Trip]] = defaultdict(list)
    for trip in ordered:
        moment = trip.started_at or period.start
        by_day[moment.astimezone(tz).date()].append(trip)

    # (block, trips it shows) in reading order; day headers show no trip
    items: list[tuple[dict[str, Any], int]] = [(section(title), 0)]
    for day, day_trips in by_day.items():
        if len(by_day) > 1:
            d_distance, d_time, d_energy = _totals(day_trips)
            start = dt.datetime.combine(day, dt.time(), tzinfo=tz)
            header = texts.TRIPS_DAY.format(
                day=day_token(day, start),
                count=len(day_trips),
                distance=d_distance,
                duration=d_time,
                energy=d_energy,
            )
            items.append((section(header), 0))
        items.extend((section(trip_line(trip, tz, places)), 1) for trip in day_trips)

    pages: list[list[dict[str, Any]]] = []
    shown = 0
    while items and len(pages) < MAX_RESPONSES:
        chunk, items = items[:_TRIP_BLOCKS_PER_MESSAGE], items[_TRIP_BLOCKS_PER_MESSAGE:]
        pages.append([block for block, _ in chunk])
        shown += sum(n for _, n in chunk)
    hidden = len(ordered) - shown
    messages = []
    for number, blocks in enumerate(pages, 1):
        if len(pages) > 1:
            blocks.append(
                context(texts.TRIPS_PAGE.format(vehicle=vehicle, page=number, pages=len(pages)))
            )
        messages.append(ephemeral(title if number == 1 else f"{title} ({number})", blocks))
    if hidden > 0:
        messages[-1]["blocks"].append(context(texts.TRIPS_MORE.format(count=hidden)))
    return messages


# -- period labels in words ------------------------------------------------------------------


def day_words(day: dt.date, today: dt.date) -> str:
    """ "20 Nov" (this year) or "20 Nov 2025"."""
    text = f"{day.day} {texts.MONTHS[day.month - 1]}"
    return text if day.year == today.year else f"{text} {day.year}"


def range_words(start: dt.date, end: dt.date, today: dt.date) -> str:
    """A range of days in words, with years only when not this one (see the tests)."""
    if start == end:
        return day_words(start, today)
    year = "" if start.year == end.year == today.year else f" {end.year}"
    last = f"{end.day} {texts.MONTHS[end.month - 1]}{year}"
    if start.year != end.year:
        first = f"{start.day} {texts.MONTHS[start.month - 1]} {start.year}"
    elif start.month == end.month:
        return texts.DAY_RANGE_ONE_MONTH.format(start=start.day, end=last)
    else:
        first = f"{start.day} {texts.MONTHS[start.month - 1]}"
    return texts.DAY_RANGE.format(start=first, end=last)
