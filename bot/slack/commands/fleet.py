"""`/fleet <subcommand>`: the fleet, its vehicles, push monitors and failed deliveries.

Every subcommand, alias and admin form is one row of :data:`FLEET_TABLE`. Admin-only forms are
refused in the command's middleware, as the ack itself, before any work; the rest is acked at
once and answered on the response_url. Routes and mutes live in
:mod:`bot.slack.commands.fleet_routing`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from slack_bolt import App, BoltResponse, Respond

from bot.errors import NoData, UserInputError
from bot.messages import texts
from bot.messages.fleet import (
    MAX_FAILED_LINES,
    failed_message,
    status_message,
    vehicles_message,
    where_message,
)
from bot.messages.home import pipeline_lines
from bot.messages.markup import Message, echo, ephemeral, error_reply, escape, text_reply
from bot.slack import handling
from bot.slack.access import Gate, refusal, require_admin
from bot.slack.commands import fleet_routing, sites
from bot.slack.context import SlackServices
from bot.slack.home import home_facts
from bot.slack.parsing import channel_id, no_arguments, one_vehicle, valid_label, words

log = logging.getLogger(__name__)

COMMAND = "/fleet"

Handler = Callable[[SlackServices, list[str], str, str], Message]


@dataclasses.dataclass(frozen=True)
class Form:
    """One way to run a subcommand: the handler, and whether only admins may run it."""

    handler: Handler
    admin: bool = False
    what: str | None = None  # how a refusal names it: a key of texts.NOT_ADMIN_WHAT


@dataclasses.dataclass(frozen=True)
class Subcommand:
    """A `/fleet` subcommand: its names and, per next word, who may run it and how."""

    name: str
    default: Form  # the subcommand alone, or followed by a word that is not in ``forms``
    aliases: tuple[str, ...] = ()
    forms: Mapping[str, Form] = dataclasses.field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        """The name and every alias."""
        return (self.name, *self.aliases)

    @property
    def usage(self) -> str:
        """How to use it."""
        return texts.FLEET_SUBCOMMAND_USAGE.get(self.name, texts.FLEET_USAGE)


@dataclasses.dataclass(frozen=True)
class FleetRequest:
    """A `/fleet` text read against the table: which subcommand, which form, the words left."""

    subcommand: Subcommand
    form: Form
    rest: list[str]


def fleet_request(text: str | None) -> FleetRequest | None:
    """Look a `/fleet` text up in FLEET_TABLE (the gate and the dispatcher both ask this)."""
    args = words(text)
    if not args:
        return FleetRequest(FLEET_NAMES["help"], FLEET_NAMES["help"].default, [])
    subcommand = FLEET_NAMES.get(args[0].lower())
    if subcommand is None:
        return None
    if len(args) > 1 and args[1].lower() in subcommand.forms:
        return FleetRequest(subcommand, subcommand.forms[args[1].lower()], args[2:])
    return FleetRequest(subcommand, subcommand.default, args[1:])


def fleet_reply(services: SlackServices, text: str, *, user: str, channel: str) -> Message:
    """`/fleet <subcommand>`; an unknown subcommand gets the usage."""
    request = fleet_request(text)
    if request is None:
        name = words(text)[0].lower()
        return error_reply(texts.UNKNOWN_SUBCOMMAND.format(name=echo(name)), texts.FLEET_USAGE)
    if request.form.admin:  # the gate refused already; this holds if a listener skips it
        require_admin(services, user, request.form.what or request.subcommand.name)
    return request.form.handler(services, request.rest, user, channel)


def fleet_usage(text: str) -> str:
    """The usage of the subcommand ``text`` names (the full help if none)."""
    request = fleet_request(text)
    return request.subcommand.usage if request else texts.FLEET_USAGE


# -- the subcommands (routes and mutes: fleet_routing) ---------------------------------------


def help_(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    """`/fleet help`: every subcommand."""
    return text_reply(texts.FLEET_USAGE)


def vehicles(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    """`/fleet vehicles [filter]`: the fleet directory, filtered on VIN, id, label, car, energy."""
    wanted = " ".join(rest).casefold()
    entries = services.directory.entries()
    if wanted:
        entries = [
            e
            for e in entries
            if any(wanted in (v or "").casefold() for v in (e.vin, e.id, e.label, e.car, e.energy))
        ]
    return vehicles_message(entries, echo(" ".join(rest)) if rest else None)


def label(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    """`/fleet vehicles label <vin> <label>`: give a vehicle a name people use."""
    if len(rest) != 2:
        raise UserInputError(texts.FLEET_SUBCOMMAND_USAGE["vehicles"])
    entry = services.directory.resolve(rest[0])
    name = rest[1]
    if not valid_label(name):
        raise UserInputError(texts.LABEL_BAD)
    for other in services.directory.entries():
        if other.vin != entry.vin and name.casefold() in (
            other.vin.casefold(),
            other.id.casefold(),
        ):
            raise UserInputError(texts.LABEL_TAKEN.format(label=escape(name)))
    services.ledger.set_label(entry.vin, name, by=user)
    return text_reply(texts.LABEL_SET.format(vin=escape(entry.vin), label=escape(name)))


def status(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    """`/fleet status [vehicle]`: a vehicle's status, or how the alert pipeline is doing."""
    if not rest:
        facts = home_facts(services)
        lines = pipeline_lines(facts)
        parked = [
            f"<#{escape(r.channel)}> ({escape(r.parked_reason)})" for r in facts.routes if r.parked
        ]
        if parked:
            lines.append(texts.HOME_PARKED.format(channels=", ".join(parked)))
        return ephemeral("\n".join(lines))
    entry = services.directory.resolve(one_vehicle(rest))
    try:
        found = services.api.status(entry.id)
    except NoData:
        return text_reply(texts.STATUS_NOTHING.format(vehicle=escape(entry.name)))
    return status_message(entry.name, found, services.places)


def where(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    """`/fleet where <vehicle>`: the last known position with a map link."""
    entry = services.directory.resolve(one_vehicle(rest))
    try:
        position = services.api.last_position(entry.id)
    except NoData:
        return text_reply(texts.WHERE_NONE.format(vehicle=escape(entry.name)))
    return where_message(entry.name, position, services.places)


def monitor_list(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    """`/fleet monitor [list]`: the push monitors at the API."""
    if rest:
        raise UserInputError(texts.FLEET_SUBCOMMAND_USAGE["monitor"])
    if services.monitors is None:
        return text_reply(texts.MONITOR_NOT_CONFIGURED)
    return text_reply(services.monitors.list())


def monitor_enable(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    """`/fleet monitor enable`: turn push on."""
    no_arguments(rest)
    if services.monitors is None:
        return text_reply(texts.MONITOR_NOT_CONFIGURED)
    return text_reply(services.monitors.enable(user))


def monitor_disable(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    """`/fleet monitor disable`: turn push off."""
    no_arguments(rest)
    if services.monitors is None:
        return text_reply(texts.MONITOR_NOT_CONFIGURED)
    return text_reply(services.monitors.disable(user))


def failed(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    """`/fleet failed`: alerts Slack refused for good, and why."""
    no_arguments(rest)
    rows = services.ledger.failed(limit=MAX_FAILED_LINES)
    total = services.ledger.counts().get("failed", len(rows))
    return failed_message(rows, total, services.directory.names(), services.locale)


def retry(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    """`/fleet retry`: queue every failed delivery again."""
    no_arguments(rest)
    count = services.ledger.retry_failed()
    if not count:
        return text_reply(texts.RETRY_NONE)
    log.info("%d failed deliveries queued again by %s", count, user)
    return text_reply(texts.RETRIED.format(count=count))


def _report_channel(rest: list[str], channel: str) -> str:
    """The `[#channel]` of a `/fleet report` form: the one named, else where it was typed."""
    if len(rest) > 1:
        raise UserInputError(texts.FLEET_SUBCOMMAND_USAGE["report"])
    if not rest:
        return channel
    found = channel_id(rest[0])
    if found is None:
        raise UserInputError(texts.BAD_CHANNEL.format(text=echo(rest[0])))
    return found


def report_usage(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    """`/fleet report` alone (or with a word it does not know): how to use it."""
    raise UserInputError(texts.FLEET_SUBCOMMAND_USAGE["report"])


def report_daily(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    """`/fleet report daily <HH:MM> [#channel]`: post the report every day at that time."""
    if not rest:
        raise UserInputError(texts.FLEET_SUBCOMMAND_USAGE["report"])
    target = _report_channel(rest[1:], channel)
    if services.reports is None:
        return text_reply(texts.REPORTS_NOT_CONFIGURED)
    try:
        return text_reply(services.reports.daily(target, rest[0], user))
    except ValueError as exc:
        raise UserInputError(str(exc)) from None


def report_off(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    """`/fleet report off [#channel]`: no more daily report there."""
    target = _report_channel(rest, channel)
    if services.reports is None:
        return text_reply(texts.REPORTS_NOT_CONFIGURED)
    return text_reply(services.reports.off(target, user))


def report_now(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    """`/fleet report now [#channel]`: yesterday's report, now (once; again says where it is)."""
    target = _report_channel(rest, channel)
    if services.reports is None:
        return text_reply(texts.REPORTS_NOT_CONFIGURED)
    return text_reply(services.reports.now(target, user))


def _admin(handler: Handler, what: str) -> Form:
    return Form(handler, admin=True, what=what)


#: Every `/fleet` subcommand, its aliases and who may run each form of it. The admin gate
#: (:func:`fleet_admin_gate`) and :func:`fleet_reply` both read it through :func:`fleet_request`,
#: so a name or alias cannot reach a handler without the same check.
FLEET_TABLE: tuple[Subcommand, ...] = (
    Subcommand("help", Form(help_), aliases=("?", "-h", "--help")),
    Subcommand(
        "vehicles",
        Form(vehicles),
        aliases=("vehicle",),
        forms={"label": _admin(label, "label")},
    ),
    Subcommand("status", Form(status)),
    Subcommand("where", Form(where)),
    Subcommand("routes", Form(fleet_routing.routes)),
    Subcommand("subscribe", _admin(fleet_routing.subscribe, "subscribe")),
    Subcommand("unsubscribe", _admin(fleet_routing.unsubscribe, "unsubscribe")),
    Subcommand("mute", _admin(fleet_routing.mute, "mute")),
    Subcommand("unmute", _admin(fleet_routing.unmute, "unmute")),
    Subcommand("mutes", Form(fleet_routing.mutes)),
    Subcommand(
        "monitor",
        Form(monitor_list),
        aliases=("monitors",),
        forms={
            "list": Form(monitor_list),
            "enable": _admin(monitor_enable, "monitor"),
            "disable": _admin(monitor_disable, "monitor"),
        },
    ),
    Subcommand(
        "site",
        Form(sites.site_usage),
        forms={"add": _admin(sites.site_add, "site"), "remove": _admin(sites.site_remove, "site")},
    ),
    Subcommand("sites", Form(sites.sites)),
    Subcommand("failed", _admin(failed, "failed")),
    Subcommand("retry", _admin(retry, "retry")),
    Subcommand(
        "report",
        Form(report_usage),  # the usage, for anyone
        aliases=("reports",),
        forms={
            "daily": _admin(report_daily, "report"),
            "off": _admin(report_off, "report"),
            "now": _admin(report_now, "report"),
        },
    ),
)

FLEET_NAMES: Mapping[str, Subcommand] = MappingProxyType(
    {name: sub for sub in FLEET_TABLE for name in sub.names}
)


def fleet_admin_gate(services: SlackServices) -> Gate:
    """Middleware for `/fleet`: a non-admin asking for an admin subcommand gets the refusal as
    the ack itself (no I/O, no lazy work started)."""

    def fleet_admin_gate(
        body: dict[str, Any], next: Callable[[], None]
    ) -> BoltResponse | None:  # `next`: Bolt injects by this name
        request = fleet_request(body.get("text"))
        user = body.get("user_id")
        if request is not None and request.form.admin and not services.is_admin(user):
            what = request.form.what or request.subcommand.name
            log.info("refused /fleet %s to a non-admin", request.subcommand.name)
            return BoltResponse(
                status=200,
                body=json.dumps(refusal(what, services.settings.admins)),
                headers={"content-type": "application/json;charset=utf-8"},
            )
        next()
        return None

    return fleet_admin_gate


def register(app: App, services: SlackServices) -> None:
    """Register `/fleet`, with the admin gate in front of it."""

    def fleet_work(body: dict[str, Any], respond: Respond) -> None:
        text = body.get("text") or ""
        handling.run(
            COMMAND,
            respond,
            lambda: fleet_reply(
                services,
                text,
                user=str(body.get("user_id") or ""),
                channel=str(body.get("channel_id") or ""),
            ),
            usage=lambda: fleet_usage(text),
        )

    app.command(COMMAND, middleware=[fleet_admin_gate(services)])(
        ack=handling.ack_at_once, lazy=[fleet_work]
    )
