"""`/trips <vehicle> [when]`: the trips of a vehicle over a day or a range, in the asker's zone.

The command is acked at once; the API is asked in the lazy work, which replies on the
response_url.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from slack_bolt import App, Respond
from slack_sdk import WebClient

from bot.directory import VehicleEntry
from bot.errors import NoData, UserInputError
from bot.messages import texts
from bot.messages.markup import Message, echo
from bot.messages.trips import trips_messages
from bot.psa.models import Trip
from bot.slack import handling
from bot.slack.context import SlackServices
from bot.slack.parsing import parse_period, words

COMMAND = "/trips"
MAX_TRIPS = 2000  # far beyond a month of driving; bounds a runaway paging


def fetch_trips(
    services: SlackServices, entry: VehicleEntry, start: dt.datetime, end: dt.datetime
) -> list[Trip]:
    """The vehicle's trips overlapping [start, end) at the API; none when it has no data."""
    try:
        return list(itertools.islice(services.api.trips(entry.id, start, end), MAX_TRIPS))
    except NoData:
        return []


def trips_reply(services: SlackServices, text: str, *, tz: dt.tzinfo = dt.UTC) -> list[Message]:
    """`/trips <vehicle> [when]`: the trips of a vehicle over a day or a range."""
    args = words(text)
    if not args:
        raise UserInputError(texts.NEED_VEHICLE)
    when = _when_argument(args[1:])
    period = parse_period(when, services.clock().astimezone(tz))
    entry = services.directory.resolve(args[0])
    trips = fetch_trips(services, entry, period.start, period.end)
    # the API matches trips overlapping the interval; show those that started in it
    trips = [t for t in trips if t.started_at is None or period.start <= t.started_at < period.end]
    return trips_messages(entry.name, trips, period, tz, services.places)


def _when_argument(rest: list[str]) -> str | None:
    if not rest:
        return None
    joined = "".join(rest)
    if len(rest) > 1 and ".." not in joined:
        raise UserInputError(texts.TOO_MANY_ARGUMENTS.format(extra=echo(" ".join(rest[1:]))))
    return joined


def register(app: App, services: SlackServices) -> None:
    """Register `/trips`."""

    def trips_work(body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        zone = services.zones.zone(client, body.get("user_id"))
        handling.run(
            COMMAND,
            respond,
            lambda: trips_reply(services, body.get("text") or "", tz=zone),
            usage=texts.TRIPS_USAGE,
        )

    app.command(COMMAND)(ack=handling.ack_at_once, lazy=[trips_work])
