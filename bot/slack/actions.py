"""Buttons on alert messages: Acknowledge, Details, Trips today, Mute 24 h / Unmute, and a
digest's Acknowledge and Acknowledge all.

Each click is acked at once; the work runs lazily. Acknowledging, muting and unmuting edit the
clicked message in place with ``chat.update`` (which keeps its metadata) and queue one quiet
reply in its thread through the follow-up outbox (who, what, when); other answers are ephemeral.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from slack_bolt import App, Respond
from slack_sdk import WebClient

from bot.alerts.delivery import delivery_message
from bot.directory import VehicleEntry
from bot.errors import ApiError, UserInputError
from bot.messages import texts
from bot.messages.alerts import (
    ACTION_ACK,
    ACTION_DETAILS,
    ACTION_DIGEST_ACK,
    ACTION_DIGEST_ACK_ALL,
    ACTION_MUTE,
    ACTION_TRIPS_TODAY,
    ACTION_UNMUTE,
    acked_edit,
    alert_line,
    alert_message,
    alert_words,
    digest_acked_edit,
    label_of,
)
from bot.messages.followups import ack_all_text, ack_text, mute_text, muted_kind, unmute_text
from bot.messages.markup import Message, echo, escape, slack_date, text_reply
from bot.messages.places import ACTION_OPEN_MAP
from bot.messages.trips import trips_messages
from bot.slack import handling
from bot.slack.access import action_admin_gate, require_admin
from bot.slack.commands.alert import alert_detail
from bot.slack.commands.trips import fetch_trips
from bot.slack.context import Click, SlackServices
from bot.slack.parsing import parse_period
from bot.store import Delivery

log = logging.getLogger(__name__)

MUTE_BUTTON_DURATION = dt.timedelta(hours=24)


def acknowledge(services: SlackServices, client: WebClient, click: Click) -> Message | None:
    """The Acknowledge button: update the message in place, or say who already did."""
    alert_id = click.value
    first, by, at = services.ledger.acknowledge(
        alert_id, click.channel, click.user, services.clock()
    )
    if not first:
        return text_reply(texts.ALREADY_ACKED.format(user=escape(by), when=slack_date(at)))
    if at is not None:
        queue_reply(services, click, alert_id, "ack", ack_text(click.user, at))
    row = services.ledger.delivery(alert_id, click.channel)
    stored = services.ledger.alert(alert_id)
    if row is not None and row.alert.vin and row.slack_ts == click.ts:
        message = redrawn(services, [row])
    elif stored is not None and stored.vin:
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
    send_replies(services)
    return None


def acknowledge_from_home(
    services: SlackServices, client: WebClient, user: str, channel: str, alert_id: str
) -> bool:
    """The App Home's Acknowledge: as on the alert's own message (edit, one thread reply)."""
    row = services.ledger.delivery(alert_id, channel)
    if row is None or not row.slack_ts:
        return False
    first, _by, at = services.ledger.acknowledge(alert_id, channel, user, services.clock())
    if not first or at is None:
        return False
    where = Click(user=user, channel=channel, ts=row.slack_ts, value=alert_id, blocks=[])
    rows = services.ledger.deliveries_for_message(channel, row.slack_ts)
    what = texts.FOLLOWUP_THIS_ALERT
    if row.digest:
        names = services.directory.names()
        what = alert_line(row.alert, services.locale, names.get(row.alert.vin, row.alert.vin))
        message = redrawn(services, rows)
    else:
        message = redrawn(services, rows)
    queue_reply(services, where, alert_id, "ack", ack_text(user, at, what))
    client.chat_update(channel=channel, ts=row.slack_ts, **message)
    send_replies(services)
    return True


def redrawn(services: SlackServices, rows: list[Delivery]) -> Message:
    """A posted message as the ledger knows it now, drawn as delivery first drew it."""
    return delivery_message(
        rows,
        names=services.directory.names(),
        locale=services.locale,
        mutes=services.ledger.mutes(services.clock()),
        places=services.places,
        digest=rows[0].digest,
    )


def queue_reply(services: SlackServices, click: Click, alert_id: str, kind: str, text: str) -> None:
    """Queue one quiet reply in the clicked message's thread (the outbox posts it once)."""
    services.ledger.queue_followup(alert_id, click.channel, kind, text, thread_ts=click.ts)


def send_replies(services: SlackServices) -> None:
    """Post what the clicks queued now rather than at the next job run (a failure waits)."""
    if services.send_followups is None:
        return
    try:
        services.send_followups()
    except Exception:  # the job posts it later; the click itself has done its work
        log.exception("posting thread replies failed; the follow-up job will retry")


def digest_acknowledge(services: SlackServices, client: WebClient, click: Click) -> Message | None:
    """An Acknowledge button inside a digest: re-render the digest with that alert acknowledged."""
    alert_id = click.value
    first, by, at = services.ledger.acknowledge(
        alert_id, click.channel, click.user, services.clock()
    )
    if not first:
        return text_reply(texts.ALREADY_ACKED.format(user=escape(by), when=slack_date(at)))
    deliveries = services.ledger.deliveries_for_message(click.channel, click.ts)
    names = services.directory.names()
    if deliveries:
        acked = next((d for d in deliveries if d.alert.id == alert_id), None)
        if acked is not None and at is not None:
            what = alert_line(acked.alert, services.locale, names.get(acked.alert.vin))
            queue_reply(services, click, alert_id, "ack", ack_text(click.user, at, what))
        message = redrawn(services, deliveries)
    else:
        message = digest_acked_edit(click.blocks, alert_id, click.user, at)
    client.chat_update(channel=click.channel, ts=click.ts, **message)
    send_replies(services)
    return None


def digest_acknowledge_all(
    services: SlackServices, client: WebClient, click: Click
) -> Message | None:
    """A digest's Acknowledge all: every alert not yet acknowledged, one reply in the thread."""
    deliveries = services.ledger.deliveries_for_message(click.channel, click.ts)
    now = services.clock()
    newly = [
        d.alert.id
        for d in deliveries
        if d.acked_by is None
        and services.ledger.acknowledge(d.alert.id, click.channel, click.user, now)[0]
    ]
    if not newly:
        return text_reply(texts.ACKED_ALL_NONE)
    # One event, one reply: keyed on the first alert it acknowledged (the rest share it).
    queue_reply(services, click, newly[0], "ack", ack_all_text(click.user, now, len(newly)))
    deliveries = services.ledger.deliveries_for_message(click.channel, click.ts)
    message = redrawn(services, deliveries)
    client.chat_update(channel=click.channel, ts=click.ts, **message)
    send_replies(services)
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


def mute_for_a_day(services: SlackServices, client: WebClient, click: Click) -> Message | None:
    """The Mute 24 h button (admins only): that alert's type on that vehicle, for a day.

    The message then says who muted it and until when, with an Unmute button, and its thread
    says the same.
    """
    require_admin(services, click.user, "mute_button")
    now = services.clock()
    until = now + MUTE_BUTTON_DURATION
    # That alert's type on that vehicle, whatever its severity (DESIGN §5).
    rows = services.ledger.deliveries_for_message(click.channel, click.ts)
    types = sorted({d.alert.type for d in rows if d.alert.vin == click.value} - {""})
    services.ledger.mute(
        click.value, until, by=click.user, types=types or None, include_critical=bool(types)
    )
    name = services.directory.name_of(click.value)
    if len(rows) != 1 or rows[0].alert.vin != click.value:
        # a message the ledger does not know: no redraw, say it to the clicker
        return text_reply(texts.MUTED_BUTTON.format(vehicle=escape(name), until=slack_date(until)))
    row = rows[0]
    what = muted_kind(alert_words(row.alert.type, services.locale, label_of(row.alert)), name)
    queue_reply(services, click, row.alert.id, "mute", mute_text(click.user, now, until, what))
    client.chat_update(channel=click.channel, ts=click.ts, **redrawn(services, [row]))
    send_replies(services)
    return None


def unmute_button(services: SlackServices, client: WebClient, click: Click) -> Message | None:
    """The Unmute button (admins only): lift that mute; what it held is posted next run."""
    require_admin(services, click.user, "unmute_button")
    try:
        lifted = services.ledger.lift_mute(int(click.value))
    except ValueError:
        lifted = None
    rows = services.ledger.deliveries_for_message(click.channel, click.ts)
    row = rows[0] if len(rows) == 1 else None
    if row is not None:
        client.chat_update(channel=click.channel, ts=click.ts, **redrawn(services, [row]))
    if lifted is None:
        return text_reply(texts.UNMUTE_GONE)
    if row is not None:
        name = services.directory.name_of(row.alert.vin)
        what = muted_kind(alert_words(row.alert.type, services.locale, label_of(row.alert)), name)
        text = unmute_text(click.user, services.clock(), what)
        queue_reply(services, click, row.alert.id, "unmute", text)
        send_replies(services)
    return None


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

    def mute_work(body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        click = Click.from_body(body)
        handling.run(
            ACTION_MUTE, respond, lambda: _ephemeral(mute_for_a_day(services, client, click))
        )

    def unmute_work(body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        click = Click.from_body(body)
        handling.run(
            ACTION_UNMUTE, respond, lambda: _ephemeral(unmute_button(services, client, click))
        )

    def digest_ack_all_work(body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        click = Click.from_body(body)
        handling.run(
            ACTION_DIGEST_ACK_ALL,
            respond,
            lambda: _ephemeral(digest_acknowledge_all(services, client, click)),
        )

    ack = handling.ack_at_once
    app.action(ACTION_ACK)(ack=ack, lazy=[ack_work])
    app.action(ACTION_DIGEST_ACK)(ack=ack, lazy=[digest_ack_work])
    app.action(ACTION_DETAILS)(ack=ack, lazy=[details_work])
    app.action(ACTION_TRIPS_TODAY)(ack=ack, lazy=[trips_today_work])
    app.action(ACTION_DIGEST_ACK_ALL)(ack=ack, lazy=[digest_ack_all_work])
    app.action(ACTION_MUTE, middleware=[action_admin_gate(services, "mute_button")])(
        ack=ack, lazy=[mute_work]
    )
    app.action(ACTION_UNMUTE, middleware=[action_admin_gate(services, "unmute_button")])(
        ack=ack, lazy=[unmute_work]
    )
    # Open map is a link button: Slack opens the URL and still sends the click, which only
    # needs an ack (unanswered, Slack shows the person a warning).
    app.action(ACTION_OPEN_MAP)(ack)
