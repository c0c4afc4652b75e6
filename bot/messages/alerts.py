"""Alerts as people read them: the channel message, the digest, their metadata and buttons.

Alert messages carry message metadata ``fleet_alert`` (one alert) or ``fleet_alert_digest``
(several), which delivery uses to reconcile after a crash and to count deliveries. The same
:func:`alert_line` starts every line about an alert, whether the API or the ledger told us of
it: the channel message, the digest, `/alert`'s list and detail, and `/fleet failed`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bot.messages import texts
from bot.messages.alert_text import alert_text, severity_badge, severity_rank
from bot.messages.markup import (
    MAX_BLOCKS,
    Message,
    button,
    context,
    ephemeral,
    escape,
    pack_sections,
    section,
    slack_date,
    text_reply,
    truncate,
)
from bot.messages.places import open_map_button, where, where_feature
from bot.psa.models import Alert
from bot.store import Mute, StoredAlert

if TYPE_CHECKING:
    from bot.places import Places

ACTION_ACK = "alert_ack"
ACTION_DETAILS = "alert_details"
ACTION_TRIPS_TODAY = "alert_trips_today"
ACTION_MUTE = "alert_mute"
ACTION_DIGEST_ACK = "digest_ack"
ACTION_DIGEST_ACK_ALL = "digest_ack_all"
ACTION_UNMUTE = "alert_unmute"

EVENT_ALERT = "fleet_alert"
EVENT_DIGEST = "fleet_alert_digest"

DIGEST_SIZE = 20  # alerts per digest message: 20 sections + header/context/actions < 50 blocks
MAX_ALERT_LINES = 40


def alert_words(type_: str, locale: str, label: str | None = None) -> str:
    """The alert in words, escaped (the API's label or an unknown type may carry markup)."""
    return escape(alert_text(type_, locale, label=label))


def badge(severity: str | None, locale: str) -> str:
    """The severity badge, escaped (an unknown severity is shown as the API sent it)."""
    return escape(severity_badge(severity, locale))


def label_of(alert: StoredAlert) -> str | None:
    """The API's own words for a stored alert, when its payload has them."""
    label = alert.payload.get("label") if isinstance(alert.payload, Mapping) else None
    return label if isinstance(label, str) else None


def alert_line(alert: Alert | StoredAlert, locale: str, vehicle: str | None = None) -> str:
    """One alert in words: severity badge, what happened, and the vehicle when it is named."""
    if isinstance(alert, Alert):
        words = alert_words(alert.type_key, locale, label=alert.label)
    else:
        words = alert_words(alert.type, locale, label=label_of(alert))
    line = texts.ALERT_WORDS.format(badge=badge(alert.severity, locale), words=words)
    if vehicle is None:
        return line
    return texts.ALERT_OF_VEHICLE.format(line=line, vehicle=escape(vehicle))


def muted_line(mute: Mute) -> str:
    """Who muted the alert and until when."""
    if mute.muted_by:
        return texts.ALERT_MUTED_BY.format(user=escape(mute.muted_by), until=slack_date(mute.until))
    return texts.ALERT_MUTED.format(until=slack_date(mute.until))


# -- channel messages -----------------------------------------------------------------------


def alert_status_lines(
    alert: StoredAlert,
    acked_by: str | None,
    acked_at: dt.datetime | None,
    places: Places | None = None,
) -> list[str]:
    """When it started, where, whether it ended and who acknowledged it."""
    lines = [
        f"{texts.ALERT_STARTED.format(when=slack_date(alert.started_at))} · "
        f"{where_feature(alert.payload.get('startPosition'), places)}"
    ]
    if alert.ended:
        lines.append(texts.ALERT_ENDED.format(when=slack_date(alert.end_at or alert.updated_at)))
    if acked_by:
        lines.append(acked_line(acked_by, acked_at))
    return lines


def acked_line(user: str, at: dt.datetime | None) -> str:
    """Who acknowledged and when (a row acknowledged before times were kept has none)."""
    if at is None:
        return texts.ALERT_ACKED_BY_NO_TIME.format(user=escape(user))
    return texts.ALERT_ACKED_BY.format(user=escape(user), when=slack_date(at))


def notification_text(headline: str, vehicle_name: str, vin: str) -> str:
    """The push-notification fallback: the headline, naming the VIN once."""
    if not vin or vin in vehicle_name:
        return truncate(headline)
    return truncate(f"{headline} ({escape(vin)})")


def alert_message(
    alert: StoredAlert,
    *,
    vehicle_name: str,
    locale: str = "en-GB",
    acked_by: str | None = None,
    acked_at: dt.datetime | None = None,
    held_by_mute: bool = False,
    muted: Mute | None = None,
    places: Places | None = None,
) -> Message:
    """The channel message for one alert, with its buttons and ``fleet_alert`` metadata.

    ``muted`` (a mute in force holding this kind of alert) is shown with who and until when,
    and its Unmute button takes the Mute button's place.
    """
    headline = alert_line(alert, locale, vehicle_name)
    status = alert_status_lines(alert, acked_by, acked_at, places)
    if held_by_mute:
        status.append(texts.ALERT_HELD)
    if muted is not None:
        status.append(muted_line(muted))
    buttons = [button(texts.ALERT_DETAILS, ACTION_DETAILS, alert.id)]
    if not acked_by:
        buttons.insert(0, button(texts.ALERT_ACKNOWLEDGE, ACTION_ACK, alert.id, "primary"))
    buttons.append(button(texts.ALERT_TRIPS_TODAY, ACTION_TRIPS_TODAY, alert.vin))
    if muted is None:
        buttons.append(button(texts.ALERT_MUTE, ACTION_MUTE, alert.vin))
    else:
        buttons.append(button(texts.ALERT_UNMUTE, ACTION_UNMUTE, str(muted.id)))
    open_map = open_map_button(alert.payload.get("startPosition"))
    if open_map is not None:
        buttons.append(open_map)
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
    places: Places | None = None,
) -> Message:
    """One message for a burst of alerts in one channel (``fleet_alert_digest`` metadata).

    ``items`` are (alert, acknowledged_by, acknowledged_at) triples — the time may be left out;
    each alert has its own Acknowledge button (or who acknowledged it and when), so the digest
    stays individually actionable.
    """
    if len(items) > DIGEST_SIZE:
        raise ValueError(f"a digest holds at most {DIGEST_SIZE} alerts, not {len(items)}")
    every_ended = bool(items) and all(item[0].ended for item in items)
    title = (texts.DIGEST_TITLE_ENDED if every_ended else texts.DIGEST_TITLE).format(
        count=len(items)
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title}},
    ]
    for alert, acked_by, *when in items:
        acked_at = when[0] if when else None
        line = alert_line(alert, locale, names.get(alert.vin, alert.vin))
        status = alert_status_lines(alert, acked_by, acked_at, places)
        if alert.id in held:
            status.append(texts.ALERT_HELD)
        block = section(f"{line}\n{' · '.join(status)}")
        if acked_by is None:
            block["accessory"] = button(texts.ALERT_ACKNOWLEDGE, ACTION_DIGEST_ACK, alert.id)
        blocks.append(block)
    if any(item[1] is None for item in items):
        blocks.append(
            {
                "type": "actions",
                "block_id": "digest_ack_all",
                "elements": [button(texts.DIGEST_ACK_ALL, ACTION_DIGEST_ACK_ALL, "all", "primary")],
            }
        )
    blocks.append(context(texts.DIGEST_MORE))
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


def acked_blocks(
    blocks: list[dict[str, Any]], user: str, at: dt.datetime | None
) -> list[dict[str, Any]]:
    """A clicked alert message the ledger does not know, edited: no Acknowledge, who did it."""
    kept = []
    for block in blocks:
        if block.get("type") == "actions":
            block = {
                **block,
                "elements": [
                    e for e in block.get("elements", []) if e.get("action_id") != ACTION_ACK
                ],
            }
            if not block["elements"]:
                continue
        kept.append(block)
    kept.append(context(acked_line(user, at)))
    return kept


def digest_acked_blocks(
    blocks: list[dict[str, Any]], alert_id: str, user: str, at: dt.datetime | None
) -> list[dict[str, Any]]:
    """A clicked digest the ledger does not know, edited: that alert's button becomes who acked."""
    out = []
    for block in blocks:
        accessory = block.get("accessory") or {}
        if accessory.get("action_id") == ACTION_DIGEST_ACK and accessory.get("value") == alert_id:
            block = {k: v for k, v in block.items() if k != "accessory"}
            text = dict(block.get("text") or {})
            text["text"] = truncate((text.get("text") or "") + "\n" + acked_line(user, at))
            block["text"] = text
        out.append(block)
    return out


def acked_edit(blocks: list[dict[str, Any]], user: str, at: dt.datetime | None) -> Message:
    """The ``chat.update`` for an alert message the ledger does not know."""
    return {"text": texts.ACKED_EPHEMERAL, "blocks": acked_blocks(blocks, user, at)}


def digest_acked_edit(
    blocks: list[dict[str, Any]], alert_id: str, user: str, at: dt.datetime | None
) -> Message:
    """The ``chat.update`` for a digest the ledger does not know."""
    return {
        "text": texts.ACKED_EPHEMERAL,
        "blocks": digest_acked_blocks(blocks, alert_id, user, at),
    }


# -- /alert ---------------------------------------------------------------------------------


def stored_as_api(stored: StoredAlert) -> Alert:
    """Read a ledger alert as an API alert (the ledger keeps the API's JSON as payload).

    `/alert` lists the API's answer together with open alerts only the ledger still knows, and
    falls back to the ledger when the API fails; reading the payload with the API's own parser
    gives both the same positions and dates.
    """
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


def alert_list_line(alert: Alert, locale: str, places: Places | None = None) -> str:
    """One alert of a vehicle's list: in words, when and where, and its id."""
    line = alert_line(alert, locale)
    place = where(alert.start_position, places)
    if alert.ended:
        return texts.ALERT_LINE_ENDED.format(
            line=line,
            when=slack_date(alert.started_at),
            end=slack_date(alert.end_at or alert.updated_at),
            where=place,
            id=escape(alert.id),
        )
    return texts.ALERT_LINE.format(
        line=line, when=slack_date(alert.started_at), where=place, id=escape(alert.id)
    )


def alerts_message(
    vehicle: str,
    alerts: Sequence[Alert],
    days: int,
    locale: str,
    places: Places | None = None,
) -> Message:
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
    lines += [alert_list_line(a, locale, places) for a in active[:budget]] or [
        texts.ALERTS_NONE_ACTIVE
    ]
    budget -= min(len(active), budget)
    if ended:
        lines.append(texts.ALERTS_RECENT.format(days=days, count=len(ended)))
        lines += [alert_list_line(a, locale, places) for a in ended[:budget]]
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
    places: Places | None = None,
) -> Message:
    """Everything we know about one alert."""
    title = alert_line(alert, locale, vehicle)
    ended = ""
    if alert.ended:
        ended = texts.ALERT_DETAIL_ENDED.format(
            when=slack_date(alert.end_at or alert.updated_at),
            where=where(alert.end_position, places),
        )
    fields = texts.ALERT_DETAIL_FIELDS.format(
        id=escape(alert.id),
        type=escape(alert.type) or texts.UNKNOWN,
        state=texts.ALERT_STATE_ENDED if alert.ended else texts.ALERT_STATE_ACTIVE,
        started=slack_date(alert.started_at),
        ended=ended,
        where=where(alert.start_position, places),
    )
    if acked_by:
        fields += texts.ALERT_ACKED.format(user=escape(acked_by), when=slack_date(acked_at))
    return ephemeral(title, [section(title), section(fields)])
