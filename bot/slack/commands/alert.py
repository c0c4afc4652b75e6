"""`/alert <vehicle> [alert-id]`: ack at once, then fetch and reply on the response_url."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.slack import handling, services, texts
from bot.slack.services import SlackServices

COMMAND = "/alert"


def ack_command(ack: Ack) -> None:
    """Acknowledge within Slack's 3 s: no I/O here."""
    ack()


def register(app: App, svc: SlackServices) -> None:
    """Register `/alert`."""

    def alert_work(body: dict[str, Any], respond: Respond) -> None:
        handling.run(
            COMMAND,
            respond,
            lambda: services.alert_reply(
                svc, body.get("text") or "", channel=body.get("channel_id")
            ),
            usage=texts.ALERT_USAGE,
        )

    app.command(COMMAND)(ack=ack_command, lazy=[alert_work])
