"""`/fleet` replies: the vehicles, a vehicle's status and position, routes, mutes, failures."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from bot.messages import texts
from bot.messages.alert_text import SEVERITIES, severity_rank
from bot.messages.alerts import alert_line
from bot.messages.followups import duration_words
from bot.messages.markup import (
    MAX_BLOCKS,
    Message,
    cut,
    ephemeral,
    escape,
    km,
    pack_sections,
    section,
    slack_date,
    text_reply,
)
from bot.messages.places import where
from bot.psa.models import Position, VehicleStatus
from bot.store import Delivery, Mute, Route

if TYPE_CHECKING:
    from bot.places import Places

MAX_VEHICLE_LINES = 80
MAX_FAILED_LINES = 30
MAX_ERROR_TEXT = 200
_ERROR_CODE = re.compile(r"[a-z][a-z_]+[a-z]")


class Listed(Protocol):
    """A vehicle of the directory, as far as the list shows it."""

    @property
    def id(self) -> str:
        """The API's vehicle id."""
        ...

    @property
    def vin(self) -> str:
        """The VIN."""
        ...

    @property
    def label(self) -> str | None:
        """The admin's label, if any."""
        ...

    @property
    def car(self) -> str:
        """Brand and model, when known."""
        ...


def vehicles_message(entries: Sequence[Listed], filter_text: str | None) -> Message:
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


def status_message(vehicle: str, status: VehicleStatus, places: Places | None = None) -> Message:
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
        lines.append(texts.STATUS_POSITION.format(where=where(status.position, places)))
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


def where_message(vehicle: str, position: Position, places: Places | None = None) -> Message:
    """The last known position, named and linked to the map."""
    text = texts.WHERE_TEXT.format(
        vehicle=escape(vehicle), when=slack_date(position.at), where=where(position, places)
    )
    return text_reply(text)


def route_text(route: Route, names: Mapping[str, str]) -> str:
    """What a route sends, in words, and whom it escalates to."""
    escalation = ""
    if route.escalate_every:
        escalation = texts.SUBSCRIBE_ESCALATE.format(
            to=route.escalate_to or "@here", every=duration_words(route.escalate_every)
        )
    return _filters_text(route, names) + escalation


def _filters_text(route: Route, names: Mapping[str, str]) -> str:
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
    return texts.SLACK_ERROR_OTHER.format(error=escape(cut(error, MAX_ERROR_TEXT)))


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
                line=alert_line(row.alert, locale, names.get(row.alert.vin, row.alert.vin)),
                channel=escape(row.channel),
                error=slack_error_words(row.last_error),
                when=slack_date(row.created_at),
            )
        )
    if total > len(rows):
        lines.append(texts.FAILED_MORE.format(count=total - len(rows)))
    lines.append(texts.FAILED_RETRY_HINT)
    return ephemeral(title, pack_sections(lines)[:MAX_BLOCKS])
