"""App Home: ``app_home_opened`` → ``views.publish`` of the fleet at a glance."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.slack import handling, services
from bot.slack.services import SlackServices

EVENT = "app_home_opened"


def register(app: App, svc: SlackServices) -> None:
    """Register the App Home listener (events are acked by Bolt before the listener runs)."""

    def publish_home(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home" or not event.get("user"):
            return  # the Messages tab needs nothing from us

        def work() -> None:
            client.views_publish(user_id=event["user"], view=services.home(svc))

        handling.run(EVENT, None, work)

    app.event(EVENT)(publish_home)
