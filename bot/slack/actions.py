"""Buttons on alert messages: Acknowledge, Details, Trips today, Mute 24 h, digest Acknowledge.

Each click is acked at once; the work runs lazily. Acknowledging edits the clicked message in
place with ``chat.update`` (which keeps its metadata); every other answer is ephemeral.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.slack import handling, services
from bot.slack.access import action_admin_gate
from bot.slack.blocks import (
    ACTION_ACK,
    ACTION_DETAILS,
    ACTION_DIGEST_ACK,
    ACTION_MUTE,
    ACTION_TRIPS_TODAY,
)
from bot.slack.services import Click, SlackServices


def ack_action(ack: Ack) -> None:
    """Acknowledge the click within Slack's 3 s: no I/O here."""
    ack()


def _ephemeral(result: handling.Result) -> handling.Result:
    """Button answers go to the clicker only and never replace the clicked message."""
    if result is None:
        return None
    items = result if isinstance(result, list) else [result]
    return [{**m, "response_type": "ephemeral", "replace_original": False} for m in items]


def register(app: App, svc: SlackServices) -> None:
    """Register the alert buttons."""

    def ack_work(body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        click = Click.from_body(body)
        handling.run(
            ACTION_ACK, respond, lambda: _ephemeral(services.acknowledge(svc, client, click))
        )

    def digest_ack_work(body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        click = Click.from_body(body)
        handling.run(
            ACTION_DIGEST_ACK,
            respond,
            lambda: _ephemeral(services.digest_acknowledge(svc, client, click)),
        )

    def details_work(body: dict[str, Any], respond: Respond) -> None:
        click = Click.from_body(body)
        handling.run(ACTION_DETAILS, respond, lambda: _ephemeral(services.details(svc, click)))

    def trips_today_work(body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        click = Click.from_body(body)
        zone = svc.zones.zone(client, click.user)
        handling.run(
            ACTION_TRIPS_TODAY,
            respond,
            lambda: _ephemeral(services.trips_today(svc, click.value, tz=zone)),
        )

    def mute_work(body: dict[str, Any], respond: Respond) -> None:
        click = Click.from_body(body)
        handling.run(ACTION_MUTE, respond, lambda: _ephemeral(services.mute_for_a_day(svc, click)))

    app.action(ACTION_ACK)(ack=ack_action, lazy=[ack_work])
    app.action(ACTION_DIGEST_ACK)(ack=ack_action, lazy=[digest_ack_work])
    app.action(ACTION_DETAILS)(ack=ack_action, lazy=[details_work])
    app.action(ACTION_TRIPS_TODAY)(ack=ack_action, lazy=[trips_today_work])
    app.action(ACTION_MUTE, middleware=[action_admin_gate(svc, "mute_button")])(
        ack=ack_action, lazy=[mute_work]
    )
