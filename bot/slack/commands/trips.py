"""`/trips <vehicle> [when]`: ack at once, then fetch and reply on the response_url."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.slack import handling, services, texts
from bot.slack.services import SlackServices

COMMAND = "/trips"


def ack_command(ack: Ack) -> None:
    """Acknowledge within Slack's 3 s: no I/O here."""
    ack()


def register(app: App, svc: SlackServices) -> None:
    """Register `/trips`."""

    def trips_work(body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        zone = svc.zones.zone(client, body.get("user_id"))
        handling.run(
            COMMAND,
            respond,
            lambda: services.trips_reply(svc, body.get("text") or "", tz=zone),
            usage=texts.TRIPS_USAGE,
        )

    app.command(COMMAND)(ack=ack_command, lazy=[trips_work])
