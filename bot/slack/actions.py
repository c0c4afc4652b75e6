"""Buttons on alert messages: Acknowledge, Details, Trips today, Mute 24 h, digest Acknowledge.

Each click is acked at once; the work runs lazily. Acknowledging edits the clicked message in
place with ``chat.update`` (which keeps its metadata); every other answer is ephemeral.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from slack_bolt import App, Respond
from slack_sdk import WebClient

from bot.directory import VehicleEntry
from bot.errors import ApiError, UserInputError
from bot.messages import texts
from bot.messages.alerts import (
    ACTION_ACK,
    ACTION_DETAILS,
    ACTION_DIGEST_ACK,
    ACTION_MUTE,
    ACTION_TRIPS_TODAY,
    acked_edit,
    alert_message,
    digest_acked_edit,
    digest_message,
)
from bot.messages.markup import Message, echo, escape, slack_date, text_reply
from bot.messages.places import ACTION_OPEN_MAP
from bot.messages.trips import trips_messages
from bot.slack import handling
from bot.slack.access import action_admin_gate, require_admin
from bot.slack.commands.alert import alert_detail
from bot.slack.commands.trips import fetch_trips
from bot.slack.context import Click, SlackServices
from bot.slack.parsing import parse_period

MUTE_BUTTON_DURATION = dt.timedelta(hours=24)


def acknowledge(services: SlackServices, client: WebClient, click: Click) -> Message | None:
    """The Acknowledge button: update the message in place, or say who already did."""
    alert_id = click.value
    first, by, at = services.ledger.acknowledge(
        alert_id, click.channel, click.user, services.clock()
    )
    if not first:
        return text_reply(texts.ALREADY_ACKED.format(user=escape(by), when=slack_date(at)))
    stored = services.ledger.alert(alert_id)
    if stored is not None and stored.vin:
        message = alert_message(
            stored,
            vehicle_name=services.directory.name_of(stored.vin),
            locale=services.locale,
            acked_by=click.user,
            acked_at=at,
            places=services.places,
        )
    else:
        # an alert the ledger never saw (pruned, or posted by another install): edit what we have
        message = acked_edit(click.blocks, click.user, at)
    client.chat_update(channel=click.channel, ts=click.ts, **message)
    return None


def digest_acknowledge(services: SlackServices, client: WebClient, click: Click) -> Message | None:
    """An Acknowledge button inside a digest: re-render the digest with that alert acknowledged."""
    alert_id = click.value
    first, by, at = services.ledger.acknowledge(
        alert_id, click.channel, click.user, services.clock()
    )
    if not first:
        return text_reply(texts.ALREADY_ACKED.format(user=escape(by), when=slack_date(at)))
    deliveries = services.ledger.deliveries_for_message(click.channel, click.ts)
    if deliveries:
        items = [(d.alert, d.acked_by, d.acked_at) for d in deliveries]
        message = digest_message(
            items,
            names=services.directory.names(),
            locale=services.locale,
            places=services.places,
        )
    else:
        message = digest_acked_edit(click.blocks, alert_id, click.user, at)
    client.chat_update(channel=click.channel, ts=click.ts, **message)
    return None


def details(services: SlackServices, click: Click) -> Message:
    """The Details button: the alert in full (fresh from the API when possible)."""
    stored = services.ledger.alert(click.value)
    if stored is None or not stored.vin:
        raise UserInputError(texts.ALERT_GONE.format(id=echo(click.value)))
    try:
        entry = services.directory.resolve(stored.vin)
    except (UserInputError, ApiError):
        entry = VehicleEntry(id=stored.vehicle_id or stored.vin, vin=stored.vin)
    return alert_detail(services, entry, stored.id, channel=click.channel)


def trips_today(services: SlackServices, vin: str, *, tz: dt.tzinfo = dt.UTC) -> list[Message]:
    """The Trips today button: today's trips of the alert's vehicle."""
    period = parse_period(None, services.clock().astimezone(tz))
    entry = services.directory.resolve(vin)
    trips = fetch_trips(services, entry, period.start, period.end)
    trips = [t for t in trips if t.started_at is None or t.started_at >= period.start]
    return trips_messages(entry.name, trips, period, tz, services.places)


def mute_for_a_day(services: SlackServices, click: Click) -> Message:
    """The Mute 24 h button (admins only): that alert's type on that vehicle, for a day."""
    require_admin(services, click.user, "mute_button")
    until = services.clock() + MUTE_BUTTON_DURATION
    # That alert's type on that vehicle, whatever its severity (DESIGN §5).
    rows = services.ledger.deliveries_for_message(click.channel, click.ts)
    types = sorted({d.alert.type for d in rows if d.alert.vin == click.value} - {""})
    services.ledger.mute(
        click.value, until, by=click.user, types=types or None, include_critical=bool(types)
    )
    name = services.directory.name_of(click.value)
    return text_reply(texts.MUTED_BUTTON.format(vehicle=escape(name), until=slack_date(until)))


def _ephemeral(result: handling.Result) -> handling.Result:
    """Button answers go to the clicker only and never replace the clicked message."""
    if result is None:
        return None
    items = result if isinstance(result, list) else [result]
    return [{**m, "response_type": "ephemeral", "replace_original": False} for m in items]


def register(app: App, services: SlackServices) -> None:
    """Register the alert buttons."""

    def ack_work(body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        click = Click.from_body(body)
        handling.run(ACTION_ACK, respond, lambda: _ephemeral(acknowledge(services, client, click)))

    def digest_ack_work(body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        click = Click.from_body(body)
        handling.run(
            ACTION_DIGEST_ACK,
            respond,
            lambda: _ephemeral(digest_acknowledge(services, client, click)),
        )

    def details_work(body: dict[str, Any], respond: Respond) -> None:
        click = Click.from_body(body)
        handling.run(ACTION_DETAILS, respond, lambda: _ephemeral(details(services, click)))

    def trips_today_work(body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        click = Click.from_body(body)
        zone = services.zones.zone(client, click.user)
        handling.run(
            ACTION_TRIPS_TODAY,
            respond,
            lambda: _ephemeral(trips_today(services, click.value, tz=zone)),
        )

    def mute_work(body: dict[str, Any], respond: Respond) -> None:
        click = Click.from_body(body)
        handling.run(ACTION_MUTE, respond, lambda: _ephemeral(mute_for_a_day(services, click)))

    ack = handling.ack_at_once
    app.action(ACTION_ACK)(ack=ack, lazy=[ack_work])
    app.action(ACTION_DIGEST_ACK)(ack=ack, lazy=[digest_ack_work])
    app.action(ACTION_DETAILS)(ack=ack, lazy=[details_work])
    app.action(ACTION_TRIPS_TODAY)(ack=ack, lazy=[trips_today_work])
    app.action(ACTION_MUTE, middleware=[action_admin_gate(services, "mute_button")])(
        ack=ack, lazy=[mute_work]
    )
    # Open map is a link button: Slack opens the URL and still sends the click, which only
    # needs an ack (unanswered, Slack shows the person a warning).
    app.action(ACTION_OPEN_MAP)(ack)
