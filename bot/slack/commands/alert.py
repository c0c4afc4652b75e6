"""`/alert <vehicle> [alert-id]`: a vehicle's active then recent alerts, or one in detail.

The command is acked at once; the API is asked in the lazy work, which replies on the
response_url. The Details button shows an alert through :func:`alert_detail` too.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from slack_bolt import App, Respond

from bot.directory import VehicleEntry
from bot.errors import ApiError, NoData, NotFound, UserInputError
from bot.messages import alerts, texts
from bot.messages.markup import Message, echo, escape
from bot.psa.models import Alert
from bot.slack import handling
from bot.slack.context import SlackServices
from bot.slack.parsing import words

COMMAND = "/alert"
ALERT_DAYS = 7
MAX_ALERTS = 500


def alert_reply(services: SlackServices, text: str, *, channel: str | None = None) -> Message:
    """`/alert <vehicle> [alert-id]`: active then recent alerts, or one alert in detail."""
    args = words(text)
    if not args:
        raise UserInputError(texts.NEED_VEHICLE)
    if len(args) > 2:
        raise UserInputError(texts.TOO_MANY_ARGUMENTS.format(extra=echo(" ".join(args[2:]))))
    entry = services.directory.resolve(args[0])
    if len(args) == 2:
        return alert_detail(services, entry, args[1], channel=channel)
    since = services.clock() - dt.timedelta(days=ALERT_DAYS)
    try:
        found = list(itertools.islice(services.api.alerts(entry.id, since=since), MAX_ALERTS))
    except NoData:
        found = []
    known = {a.id for a in found}
    # alerts we know are open may have started before the window the API was asked about
    for stored in services.ledger.open_alerts(entry.vin):
        if stored.id not in known:
            found.append(alerts.stored_as_api(stored))
    return alerts.alerts_message(entry.name, found, ALERT_DAYS, services.locale, services.places)


def alert_detail(
    services: SlackServices, entry: VehicleEntry, alert_id: str, *, channel: str | None = None
) -> Message:
    """One alert in detail, fresh from the API, else as the ledger last saw it."""
    alert: Alert | None = None
    try:
        alert = services.api.alert(entry.id, alert_id)
    except (NoData, NotFound):
        alert = None
    except ApiError:
        stored = services.ledger.alert(alert_id)
        if stored is None:
            raise
        alert = alerts.stored_as_api(stored)
    if alert is None:
        stored = services.ledger.alert(alert_id)
        if stored is None or stored.vin != entry.vin:
            raise UserInputError(
                texts.ALERT_NOT_FOUND.format(id=echo(alert_id), vehicle=escape(entry.name))
            )
        alert = alerts.stored_as_api(stored)
    delivery = services.ledger.delivery(alert.id, channel) if channel else None
    return alerts.alert_detail(
        entry.name,
        alert,
        services.locale,
        acked_by=delivery.acked_by if delivery else None,
        acked_at=delivery.acked_at if delivery else None,
        places=services.places,
    )


def register(app: App, services: SlackServices) -> None:
    """Register `/alert`."""

    def alert_work(body: dict[str, Any], respond: Respond) -> None:
        handling.run(
            COMMAND,
            respond,
            lambda: alert_reply(services, body.get("text") or "", channel=body.get("channel_id")),
            usage=texts.ALERT_USAGE,
        )

    app.command(COMMAND)(ack=handling.ack_at_once, lazy=[alert_work])
