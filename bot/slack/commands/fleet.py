"""`/fleet <subcommand>`: admin-only subcommands are refused in middleware, before any work."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.slack import handling, services
from bot.slack.access import fleet_admin_gate
from bot.slack.services import SlackServices

COMMAND = "/fleet"


def ack_command(ack: Ack) -> None:
    """Acknowledge within Slack's 3 s: no I/O here."""
    ack()


def register(app: App, svc: SlackServices) -> None:
    """Register `/fleet`."""

    def fleet_work(body: dict[str, Any], respond: Respond) -> None:
        text = body.get("text") or ""
        handling.run(
            COMMAND,
            respond,
            lambda: services.fleet_reply(
                svc,
                text,
                user=str(body.get("user_id") or ""),
                channel=str(body.get("channel_id") or ""),
            ),
            usage=lambda: services.fleet_usage(text),
        )

    app.command(COMMAND, middleware=[fleet_admin_gate(svc)])(ack=ack_command, lazy=[fleet_work])
