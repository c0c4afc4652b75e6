"""Block Kit for command replies and App Home: pure functions from data to messages (no I/O).

Every builder keeps within Block Kit limits: at most 50 blocks per message, 100 per view, and
3000 characters per section text. Long answers become several messages (a response_url takes
at most five) or end with "… and N more".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bot.alerts.render import SEVERITIES, severity_rank
from bot.psa.models import Alert, Position, Trip, VehicleStatus
from bot.slack import texts
from bot.slack.blocks import (
    MAX_BLOCKS,
    MAX_SECTION_TEXT,
    alert_words,
    badge,
    context,
    escape,
    map_link,
    section,
    slack_date,
)
from bot.slack.directory import VehicleEntry
from bot.slack.parsing import Period
from bot.store import Delivery, Mute, Route, StoredAlert

Message = dict[str, Any]

MAX_RESPONSES = 5  # Slack accepts at most five replies on one response_url
MAX_VIEW_BLOCKS = 100
MAX_ALERT_LINES = 40
MAX_VEHICLE_LINES = 80
MAX_HOME_VEHICLES = 25
MAX_FAILED_LINES = 30
MAX_ERROR_TEXT = 200
_ERROR_CODE = re.compile(r"[a-z][a-z_]+[a-z]")
_TRIP_BLOCKS_PER_MESSAGE = MAX_BLOCKS - 2  # room for the "part n of m" and "… more" contexts


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


# -- small formatters -----------------------------------------------------------------------


def place(position: Position | None) -> str:
    """A position as a map link, or "position unknown"."""
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


def day_token(day: dt.date, start: dt.datetime) -> str:
    """A Slack date token for a day (each reader sees their own calendar)."""
    return f"<!date^{int(start.timestamp())}^{{date_long_pretty}}|{day.isoformat()}>"


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


def _trip_energy(trip: Trip) -> str:
    totals = EnergyTotals()
    totals.add(trip)
    text = totals.text()
    if not text and trip.avg_consumption:
        averages = [
            f"{a.value:g} ({escape(a.type)})" for a in trip.avg_consumption if a.value is not None
        ]
        text = f" · avg {', '.join(averages)}" if averages else ""
    return text


# -- /trips ---------------------------------------------------------------------------------


def trip_line(trip: Trip, tz: dt.tzinfo) -> str:
    """One trip: start → end time, distance, duration, energy, then start → end place."""
    line = texts.TRIPS_LINE.format(
        start=slack_date(trip.started_at, "{time}"),
        end=slack_date(trip.stopped_at, "{time}"),
        distance=km(trip.distance_km),
        duration=duration(trip.duration_s),
        energy=_trip_energy(trip),
        from_place=place(trip.start_position),
        to_place=place(trip.stop_position),
    )
    if trip.faults or trip.done is False:
        line += texts.TRIPS_INCOMPLETE
    return line


def _totals(trips: Sequence[Trip]) -> tuple[str, str, str]:
    energy = EnergyTotals()
    for trip in trips:
        energy.add(trip)
    distance = sum(t.distance_km or 0.0 for t in trips)
    seconds = sum(t.duration_s or 0.0 for t in trips)
    return km(distance), duration(seconds), energy.text()


def trips_messages(
    vehicle: str, trips: Sequence[Trip], period: Period, tz: dt.tzinfo
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
        items.extend((section(trip_line(trip, tz)), 1) for trip in day_trips)

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


# -- /alert ---------------------------------------------------------------------------------


def _words(alert: Alert, locale: str) -> str:
    return alert_words(alert.type_key, locale, label=alert.label)


def alert_line(alert: Alert, locale: str) -> str:
    """One alert in words, when and where."""
    where = place(alert.start_position)
    shown = badge(alert.severity, locale)
    if alert.ended:
        return texts.ALERT_LINE_ENDED.format(
            badge=shown,
            words=_words(alert, locale),
            when=slack_date(alert.started_at),
            end=slack_date(alert.end_at or alert.updated_at),
            where=where,
            id=escape(alert.id),
        )
    return texts.ALERT_LINE.format(
        badge=shown,
        words=_words(alert, locale),
        when=slack_date(alert.started_at),
        where=where,
        id=escape(alert.id),
    )


def alerts_message(vehicle: str, alerts: Sequence[Alert], days: int, locale: str) -> Message:
    """Active alerts first (most severe, then newest), then the recent ended ones."""
    vehicle = escape(vehicle)
    if not alerts:
        return text_reply(texts.ALERTS_NONE.format(vehicle=vehicle, days=days))

    def newest_first(alert: Alert) -> float:
        moment = alert.started_at or alert.updated_at
        return -moment.timestamp() if moment else 0.0

    active = sorted(
        (a for a in alerts if not a.ended),
        key=lambda a: (-severity_rank(a.severity), newest_first(a)),
    )
    ended = sorted((a for a in alerts if a.ended), key=newest_first)
    lines = [
        texts.ALERTS_TITLE.format(vehicle=vehicle),
        texts.ALERTS_ACTIVE.format(count=len(active)),
    ]
    budget = MAX_ALERT_LINES
    lines += [alert_line(a, locale) for a in active[:budget]] or [texts.ALERTS_NONE_ACTIVE]
    budget -= min(len(active), budget)
    if ended:
        lines.append(texts.ALERTS_RECENT.format(days=days, count=len(ended)))
        lines += [alert_line(a, locale) for a in ended[:budget]]
    hidden = len(active) + len(ended) - MAX_ALERT_LINES
    blocks = pack_sections(lines)
    if hidden > 0:
        blocks.append(context(texts.ALERTS_MORE.format(count=hidden)))
    return ephemeral(texts.ALERTS_TITLE.format(vehicle=vehicle), blocks[:MAX_BLOCKS])


def alert_detail(
    vehicle: str,
    alert: Alert,
    locale: str,
    *,
    acked_by: str | None = None,
    acked_at: dt.datetime | None = None,
) -> Message:
    """Everything we know about one alert."""
    title = texts.ALERT_DETAIL_TITLE.format(
        badge=badge(alert.severity, locale), words=_words(alert, locale), vehicle=escape(vehicle)
    )
    ended = ""
    if alert.ended:
        ended = texts.ALERT_DETAIL_ENDED.format(
            when=slack_date(alert.end_at or alert.updated_at), where=place(alert.end_position)
        )
    fields = texts.ALERT_DETAIL_FIELDS.format(
        id=escape(alert.id),
        type=escape(alert.type) or texts.UNKNOWN,
        state=texts.ALERT_STATE_ENDED if alert.ended else texts.ALERT_STATE_ACTIVE,
        started=slack_date(alert.started_at),
        ended=ended,
        where=place(alert.start_position),
    )
    if acked_by:
        fields += texts.ALERT_ACKED.format(user=escape(acked_by), when=slack_date(acked_at))
    return ephemeral(title, [section(title), section(fields)])


def stored_as_api(stored: StoredAlert) -> Alert:
    """Read a ledger alert as an API alert (the ledger keeps the API's JSON as payload)."""
    try:
        alert = Alert.from_api(dict(stored.payload), vehicle_id=stored.vehicle_id)
    except ValueError:
        alert = Alert(id=stored.id)
    return dataclasses.replace(
        alert,
        id=stored.id,
        vin=stored.vin or alert.vin,
        type=alert.type or stored.type,
        severity=alert.severity or stored.severity,
        active=stored.active,
        started_at=alert.started_at or stored.started_at,
        end_at=alert.end_at or stored.end_at,
        updated_at=alert.updated_at or stored.updated_at,
    )


# -- /fleet ---------------------------------------------------------------------------------


def vehicles_message(entries: Sequence[VehicleEntry], filter_text: str | None) -> Message:
    """The fleet directory, optionally filtered (``filter_text`` comes escaped, from echo)."""
    if not entries:
        return text_reply(texts.VEHICLES_NONE.format(filter=filter_text or ""))
    title = texts.VEHICLES_TITLE.format(
        count=len(entries),
        filtered=texts.VEHICLES_FILTERED.format(filter=filter_text) if filter_text else "",
    )
    lines = [title]
    for entry in entries[:MAX_VEHICLE_LINES]:
        lines.append(
            texts.VEHICLE_LINE.format(
                name=f"*{escape(entry.label)}* — " if entry.label else "",
                vin=escape(entry.vin),
                id=escape(entry.id),
                car=f" · {escape(entry.car)}" if entry.car else "",
            )
        )
    if len(entries) > MAX_VEHICLE_LINES:
        lines.append(texts.VEHICLES_MORE.format(count=len(entries) - MAX_VEHICLE_LINES))
    return ephemeral(title, pack_sections(lines)[:MAX_BLOCKS])


def _percent(value: float | None) -> str:
    return f"{value:.0f} %" if value is not None else texts.UNKNOWN


def status_message(vehicle: str, status: VehicleStatus) -> Message:
    """Energy level and autonomy, odometer, ignition, position and maintenance."""
    vehicle = escape(vehicle)
    updated = texts.STATUS_UPDATED.format(when=slack_date(status.updated_at))
    title = texts.STATUS_TITLE.format(vehicle=vehicle, updated=updated if status.updated_at else "")
    lines: list[str] = []
    for energy in status.energies:
        lines.append(
            texts.STATUS_ENERGY.format(
                kind=texts.ENERGY_NAMES.get(
                    energy.type or "", escape(energy.type or texts.UNKNOWN)
                ),
                level=_percent(energy.level),
                autonomy=texts.STATUS_AUTONOMY.format(km=km(energy.autonomy_km))
                if energy.autonomy_km is not None
                else "",
                charging=texts.STATUS_CHARGING.format(status=escape(energy.charging_status))
                if energy.charging_status
                else "",
            )
        )
    if not status.energies and (status.energy_level is not None or status.autonomy_km is not None):
        lines.append(
            texts.STATUS_ENERGY.format(
                kind=texts.UNKNOWN.capitalize(),
                level=_percent(status.energy_level),
                autonomy=texts.STATUS_AUTONOMY.format(km=km(status.autonomy_km))
                if status.autonomy_km is not None
                else "",
                charging="",
            )
        )
    if status.odometer_km is not None:
        lines.append(texts.STATUS_ODOMETER.format(km=km(status.odometer_km)))
    if status.ignition:
        lines.append(texts.STATUS_IGNITION.format(state=escape(status.ignition)))
    if status.moving is not None:
        lines.append(texts.STATUS_MOVING.format(moving=texts.YES if status.moving else texts.NO))
    if status.position is not None:
        lines.append(texts.STATUS_POSITION.format(where=place(status.position)))
    due = []
    if status.days_before_maintenance is not None:
        due.append(texts.STATUS_MAINTENANCE_DAYS.format(days=status.days_before_maintenance))
    if status.km_before_maintenance is not None:
        due.append(texts.STATUS_MAINTENANCE_KM.format(km=km(status.km_before_maintenance)))
    if due:
        lines.append(texts.STATUS_MAINTENANCE.format(due=" or ".join(due)))
    if not lines:
        return text_reply(texts.STATUS_NOTHING.format(vehicle=vehicle))
    return ephemeral(title, [section(title), *pack_sections(lines)])


def where_message(vehicle: str, position: Position) -> Message:
    """The last known position with a map link."""
    text = texts.WHERE_TEXT.format(
        vehicle=escape(vehicle), when=slack_date(position.at), where=place(position)
    )
    return text_reply(text)


def route_text(route: Route, names: Mapping[str, str]) -> str:
    """What a route sends, in words."""
    if route.min_severity == 0 and not route.types and not route.vins:
        return texts.SUBSCRIBE_ALL
    severity = ""
    if route.min_severity > 0:
        name = next((s for s in SEVERITIES if severity_rank(s) == route.min_severity), "?")
        severity = texts.SUBSCRIBE_SEVERITY.format(severity=name)
    types = (
        texts.SUBSCRIBE_TYPES.format(types=", ".join(escape(t) for t in route.types))
        if route.types
        else ""
    )
    vins = (
        texts.SUBSCRIBE_VINS.format(vins=", ".join(escape(names.get(v, v)) for v in route.vins))
        if route.vins
        else ""
    )
    return texts.SUBSCRIBE_FILTERED.format(severity=severity, types=types, vins=vins)


def route_lines(routes: Sequence[Route], names: Mapping[str, str]) -> list[str]:
    """One line per route, parked ones with their reason."""
    lines = []
    for route in routes:
        line = texts.ROUTE_LINE.format(
            channel=escape(route.channel),
            what=route_text(route, names),
            by=texts.ROUTE_BY.format(user=escape(route.created_by)) if route.created_by else "",
        )
        if route.parked:
            line += texts.ROUTE_PARKED.format(reason=escape(route.parked_reason))
        lines.append(line)
    return lines


def routes_message(
    routes: Sequence[Route],
    mutes: Sequence[Mute],
    names: Mapping[str, str],
    default_channel: str | None,
) -> Message:
    """Every route (parked ones with why), the default channel and the mutes in force."""
    lines = [texts.ROUTES_TITLE]
    lines += route_lines(routes, names) or [texts.ROUTES_NONE]
    if default_channel:
        lines.append(texts.ROUTES_DEFAULT.format(channel=escape(default_channel)))
    if mutes:
        lines.append(texts.MUTES_TITLE)
        lines += mute_lines(mutes, names)
    return ephemeral(texts.ROUTES_TITLE, pack_sections(lines)[:MAX_BLOCKS])


def mute_scope(types: Sequence[str] | None, include_critical: bool) -> tuple[str, str]:
    """What a mute holds, in words: (the types, what happens to Critical alerts)."""
    what = (
        texts.MUTE_TYPES.format(types=", ".join(escape(t) for t in types))
        if types
        else texts.MUTE_EVERY_TYPE
    )
    critical = texts.MUTE_CRITICAL_HELD if include_critical else texts.MUTE_CRITICAL_POSTED
    return what, critical


def mute_lines(mutes: Sequence[Mute], names: Mapping[str, str]) -> list[str]:
    """One line per mute in force: vehicle, what it holds, until when, who set it."""
    lines = []
    for mute in sorted(mutes, key=lambda m: (names.get(m.vin, m.vin), m.until)):
        what, critical = mute_scope(mute.types, mute.include_critical)
        lines.append(
            texts.MUTES_LINE.format(
                vehicle=escape(names.get(mute.vin, mute.vin)),
                what=what + critical,
                until=slack_date(mute.until),
                by=texts.MUTES_BY.format(user=escape(mute.muted_by)) if mute.muted_by else "",
            )
        )
    return lines


def mutes_message(mutes: Sequence[Mute], names: Mapping[str, str]) -> Message:
    """The mutes in force."""
    if not mutes:
        return text_reply(texts.MUTES_NONE)
    return ephemeral(
        texts.MUTES_TITLE, pack_sections([texts.MUTES_TITLE, *mute_lines(mutes, names)])
    )


def slack_error_words(error: str | None) -> str:
    """Why Slack refused a message, in words (the raw error, escaped, when we do not know it)."""
    if not error:
        return texts.SLACK_ERROR_UNKNOWN
    for code in _ERROR_CODE.findall(error):
        if code in texts.SLACK_ERRORS:
            return texts.SLACK_ERRORS[code]
    return texts.SLACK_ERROR_OTHER.format(error=escape(_cut(error, MAX_ERROR_TEXT)))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def failed_message(
    rows: Sequence[Delivery], total: int, names: Mapping[str, str], locale: str
) -> Message:
    """Alerts Slack refused for good: vehicle, alert, channel, why and when, newest first."""
    if not rows:
        return text_reply(texts.FAILED_NONE)
    title = texts.FAILED_TITLE.format(count=total)
    lines = [title]
    for row in rows:
        lines.append(
            texts.FAILED_LINE.format(
                badge=badge(row.alert.severity, locale),
                words=alert_words(row.alert.type, locale, label=_label_of(row.alert)),
                vehicle=escape(names.get(row.alert.vin, row.alert.vin)),
                channel=escape(row.channel),
                error=slack_error_words(row.last_error),
                when=slack_date(row.created_at),
            )
        )
    if total > len(rows):
        lines.append(texts.FAILED_MORE.format(count=total - len(rows)))
    lines.append(texts.FAILED_RETRY_HINT)
    return ephemeral(title, pack_sections(lines)[:MAX_BLOCKS])


def _label_of(alert: StoredAlert) -> str | None:
    label = alert.payload.get("label") if isinstance(alert.payload, Mapping) else None
    return label if isinstance(label, str) else None


# -- App Home -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class HomeFacts:
    """Everything the App Home shows, gathered by the service."""

    open_alerts: Sequence[StoredAlert]
    names: Mapping[str, str]
    routes: Sequence[Route]
    last_poll: Mapping[str, Any] | None
    next_poll: dt.datetime | None
    quota: Mapping[str, Any] | None
    backlog: Mapping[str, int]
    locale: str = "en-GB"


def when_of(value: object) -> dt.datetime | None:
    """Read a stored timestamp (ISO text or datetime) as an aware datetime."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and value:
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return None


def home_view(facts: HomeFacts) -> dict[str, Any]:
    """The App Home tab: open alerts per vehicle, severities, routes, polling and quota."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": texts.HOME_TITLE}},
    ]
    by_vin: dict[str, list[StoredAlert]] = defaultdict(list)
    for alert in facts.open_alerts:
        by_vin[alert.vin].append(alert)
    lines = [texts.HOME_OPEN_TITLE.format(count=len(by_vin))]
    if not by_vin:
        lines.append(texts.HOME_OPEN_NONE)
    ranked = sorted(
        by_vin.items(), key=lambda kv: (-max(severity_rank(a.severity) for a in kv[1]), kv[0])
    )
    for vin, alerts in ranked[:MAX_HOME_VEHICLES]:
        badges = ", ".join(
            f"{badge(a.severity, facts.locale)} {alert_words(a.type, facts.locale)}"
            for a in alerts[:5]
        )
        lines.append(
            texts.HOME_OPEN_LINE.format(
                vehicle=escape(facts.names.get(vin, vin)), count=len(alerts), badges=badges
            )
        )
    if len(ranked) > MAX_HOME_VEHICLES:
        lines.append(texts.HOME_OPEN_MORE.format(count=len(ranked) - MAX_HOME_VEHICLES))
    blocks += pack_sections(lines)

    severities = Counter(a.severity or "" for a in facts.open_alerts)
    if severities:
        counts = " · ".join(
            f"{badge(s or None, facts.locale)} {n}"
            for s, n in sorted(severities.items(), key=lambda kv: -severity_rank(kv[0]))
        )
        blocks.append(section(texts.HOME_SEVERITY.format(counts=counts)))

    blocks.append({"type": "divider"})
    route_block = [texts.HOME_ROUTES_TITLE]
    route_block += route_lines(facts.routes, facts.names) or [texts.ROUTES_NONE]
    blocks += pack_sections(route_block)
    parked = [r.channel for r in facts.routes if r.parked]
    if parked:
        blocks.append(
            section(texts.HOME_PARKED.format(channels=", ".join(f"<#{escape(c)}>" for c in parked)))
        )

    blocks.append({"type": "divider"})
    status = pipeline_lines(facts)
    blocks += pack_sections(status)
    blocks.append(context(texts.HOME_FOOTER))
    if len(blocks) > MAX_VIEW_BLOCKS:
        blocks = [*blocks[: MAX_VIEW_BLOCKS - 1], blocks[-1]]
    return {"type": "home", "blocks": blocks}


def pipeline_lines(facts: HomeFacts) -> list[str]:
    """Last and next poll, quota left and the delivery backlog (App Home, `/fleet status`)."""
    status: list[str] = []
    poll = facts.last_poll or {}
    if poll.get("at"):
        status.append(
            texts.HOME_POLL.format(
                when=slack_date(when_of(poll.get("at"))),
                vehicles=escape(poll.get("vehicles", "?")),
                new_alerts=escape(poll.get("new_alerts", "?")),
                calls=escape(poll.get("api_calls", "?")),
            )
        )
    else:
        status.append(texts.HOME_POLL_NEVER)
    if facts.next_poll is not None:
        status.append(texts.HOME_NEXT_POLL.format(when=slack_date(facts.next_poll)))
    quota = facts.quota or {}
    if quota.get("daily_remaining") is not None:
        status.append(
            texts.HOME_QUOTA.format(
                remaining=f"{quota['daily_remaining']:,}"
                if isinstance(quota["daily_remaining"], int)
                else escape(quota["daily_remaining"]),
                limit=escape(quota.get("daily_limit") or "?"),
            )
        )
    else:
        status.append(texts.HOME_QUOTA_UNKNOWN)
    if facts.backlog:
        status.append(
            texts.HOME_BACKLOG.format(
                counts=", ".join(f"{n} {state}" for state, n in sorted(facts.backlog.items()))
            )
        )
    else:
        status.append(texts.HOME_BACKLOG_NONE)
    return status
