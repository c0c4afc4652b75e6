"""`/fleet subscribe|unsubscribe|routes` and `/fleet mute|unmute|mutes`: where alerts go, and
which are held back.

Handlers of :data:`bot.slack.commands.fleet.FLEET_TABLE`, which says who may run them.
"""

from __future__ import annotations

from bot.errors import UserInputError
from bot.messages import texts
from bot.messages.alert_text import normalise_type
from bot.messages.fleet import mute_scope, mutes_message, route_text, routes_message
from bot.messages.markup import Message, echo, escape, slack_date, text_reply
from bot.slack.context import SlackServices
from bot.slack.parsing import no_arguments, one_vehicle, parse_mute, parse_subscribe


def subscribe(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    """`/fleet subscribe [#channel] [filters]`: send alerts to a channel (un-park it as it was)."""
    wanted = parse_subscribe(rest, channel)
    filtered = wanted.severity_name is not None or wanted.types or wanted.vins or wanted.escalate
    parked = next(
        (r for r in services.ledger.routes() if r.channel == wanted.channel and r.parked), None
    )
    if parked is not None and not filtered:
        # un-park as it was: re-subscribing after re-inviting Fleetbot must not drop filters
        route = services.ledger.add_route(
            parked.channel,
            min_severity=parked.min_severity,
            types=parked.types,
            vins=parked.vins,
            created_by=user,
            escalate_every=parked.escalate_every,
            escalate_to=parked.escalate_to,
        )
        what = route_text(route, services.directory.names())
        return text_reply(texts.RESUBSCRIBED.format(channel=route.channel, what=what))
    vins = None
    if wanted.vins:
        vins = tuple(dict.fromkeys(services.directory.resolve(v).vin for v in wanted.vins))
    types = tuple(dict.fromkeys(normalise_type(t) for t in wanted.types)) if wanted.types else None
    route = services.ledger.add_route(
        wanted.channel,
        min_severity=wanted.min_severity,
        types=types,
        vins=vins,
        created_by=user,
        escalate_every=wanted.escalate,
        escalate_to=wanted.escalate_to,
    )
    what = route_text(route, services.directory.names())
    reply = texts.SUBSCRIBED.format(channel=route.channel, what=what)
    if route.channel != channel:
        reply += texts.SUBSCRIBE_INVITE
    return text_reply(reply)


def unsubscribe(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    """`/fleet unsubscribe [#channel]`: stop sending alerts to a channel."""
    if len(rest) > 1:
        raise UserInputError(texts.TOO_MANY_ARGUMENTS.format(extra=echo(" ".join(rest[1:]))))
    target = parse_subscribe(rest, channel).channel if rest else channel
    if services.ledger.remove_routes(target):
        return text_reply(texts.UNSUBSCRIBED.format(channel=target))
    return text_reply(texts.NOT_SUBSCRIBED.format(channel=target))


def routes(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    """`/fleet routes`: every route, the default channel and the mutes in force."""
    return routes_message(
        services.ledger.routes(),
        services.ledger.mutes(services.clock()),
        services.directory.names(),
        services.settings.alert_channel,
    )


def mute(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    """`/fleet mute <vehicle> <duration> [types=…] [all]`: hold a vehicle's alerts back."""
    request = parse_mute(rest)
    entry = services.directory.resolve(request.vehicle)
    until = services.clock() + request.duration
    types = tuple(normalise_type(t) for t in request.types) if request.types else None
    services.ledger.mute(
        entry.vin, until, by=user, types=types, include_critical=request.include_critical
    )
    what, critical = mute_scope(types, request.include_critical)
    return text_reply(
        texts.MUTED.format(
            vehicle=escape(entry.name), what=what, until=slack_date(until), critical=critical
        )
    )


def unmute(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    """`/fleet unmute <vehicle>`: lift a vehicle's mutes (what they held is posted)."""
    entry = services.directory.resolve(one_vehicle(rest))
    if services.ledger.unmute(entry.vin):
        return text_reply(texts.UNMUTED.format(vehicle=escape(entry.name)))
    return text_reply(texts.NOT_MUTED.format(vehicle=escape(entry.name)))


def mutes(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    """`/fleet mutes`: the mutes in force."""
    no_arguments(rest)
    return mutes_message(services.ledger.mutes(services.clock()), services.directory.names())
