"""App Home: ``app_home_opened`` → ``views.publish`` of the fleet at a glance."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.alerts.poller import POLL_PATH
from bot.messages.home import (
    ACTION_HOME_ACK,
    HomeFacts,
    home_view,
    read_home_ack_value,
    when_of,
)
from bot.slack import handling
from bot.slack.actions import acknowledge_from_home
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
        waiting=ledger.waiting_for_ack(),
    )


def home(services: SlackServices) -> dict[str, Any]:
    """The App Home view: the fleet at a glance."""
    return home_view(home_facts(services))


def register(app: App, services: SlackServices) -> None:
    """Register the App Home listener (events are acked by Bolt before the listener runs) and
    its Acknowledge buttons."""

    def home_ack_work(body: dict[str, Any], client: WebClient) -> None:
        user = str((body.get("user") or {}).get("id") or "")
        value = str(((body.get("actions") or [{}])[0]).get("value") or "")

        def work() -> None:
            target = read_home_ack_value(value)
            if target is not None and user:
                acknowledge_from_home(services, client, user, *target)
            client.views_publish(user_id=user, view=home(services))  # fresh list either way

        handling.run(ACTION_HOME_ACK, None, work)

    app.action(ACTION_HOME_ACK)(ack=handling.ack_at_once, lazy=[home_ack_work])

    def publish_home(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home" or not event.get("user"):
            return  # the Messages tab needs nothing from us

        def work() -> None:
            client.views_publish(user_id=event["user"], view=home(services))

        handling.run(EVENT, None, work)

    app.event(EVENT)(publish_home)
