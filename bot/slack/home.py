"""App Home: ``app_home_opened`` → ``views.publish`` of the fleet at a glance."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.alerts.poller import POLL_PATH
from bot.messages.home import HomeFacts, home_view, when_of
from bot.slack import handling
from bot.slack.context import SlackServices

EVENT = "app_home_opened"


def home_facts(services: SlackServices) -> HomeFacts:
    """What the App Home (and `/fleet status` without a vehicle) shows, from the ledger."""
    ledger = services.ledger
    return HomeFacts(
        open_alerts=ledger.open_alerts(),
        names=services.directory.names(),
        routes=ledger.routes(),
        last_poll=ledger.get_state("last_poll"),
        next_poll=when_of(ledger.get_state("next_poll")),
        quota=ledger.get_state("quota"),
        backlog=ledger.counts(),
        locale=services.locale,
        poll_path=ledger.get_state(POLL_PATH),
    )


def home(services: SlackServices) -> dict[str, Any]:
    """The App Home view: the fleet at a glance."""
    return home_view(home_facts(services))


def register(app: App, services: SlackServices) -> None:
    """Register the App Home listener (events are acked by Bolt before the listener runs)."""

    def publish_home(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home" or not event.get("user"):
            return  # the Messages tab needs nothing from us

        def work() -> None:
            client.views_publish(user_id=event["user"], view=home(services))

        handling.run(EVENT, None, work)

    app.event(EVENT)(publish_home)
