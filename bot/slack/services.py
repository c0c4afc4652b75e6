"""The work behind every slash command, button and App Home: parse → ask → render.

Listeners stay thin and call these functions after ``ack()``; tests call them directly. Each
returns Slack messages (dicts for ``respond()``) and raises :class:`~bot.errors.UserInputError`
for unusable input and :class:`~bot.errors.ApiError` when the API fails; the caller
(:mod:`bot.slack.handling`) turns those into polite replies.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

from slack_sdk.errors import SlackApiError

from bot.alerts.render import normalise_type
from bot.errors import ApiError, NoData, NotFound, UserInputError
from bot.slack import texts, views
from bot.slack.blocks import (
    ACTION_ACK,
    ACTION_DIGEST_ACK,
    acked_line,
    alert_message,
    context,
    digest_message,
    escape,
    slack_date,
)
from bot.slack.directory import VehicleDirectory, VehicleEntry
from bot.slack.parsing import (
    echo,
    parse_mute,
    parse_period,
    parse_subscribe,
    valid_label,
    words,
)
from bot.store.ledger import utcnow

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.config import Settings
    from bot.psa.client import PsaClient
    from bot.psa.models import Alert, Trip
    from bot.store import Ledger

log = logging.getLogger(__name__)

Message = dict[str, Any]
ALERT_DAYS = 7
MAX_TRIPS = 2000  # far beyond a month of driving; bounds a runaway paging
MAX_ALERTS = 500
MUTE_BUTTON_DURATION = dt.timedelta(hours=24)
ZONE_TTL = 3600.0


class MonitorService(Protocol):
    """Push monitors at the API (written by the alert pipeline); texts ready for Slack."""

    def enable(self, user: str) -> str:
        """Create (or resume) the alert monitor; say what happened."""
        ...

    def disable(self, user: str) -> str:
        """Delete (or pause) the alert monitor; say what happened."""
        ...

    def list(self) -> str:
        """The fleet's monitors in words."""
        ...


class UserZones:
    """Each person's UTC offset (from users.info), cached, so "today" means their day."""

    def __init__(self, ttl: float = ZONE_TTL) -> None:
        self.ttl = ttl
        self._cache: dict[str, tuple[float, dt.tzinfo]] = {}
        self._lock = threading.Lock()

    def zone(self, client: WebClient | None, user: str | None) -> dt.tzinfo:
        """The user's zone; UTC when Slack does not say (or cannot be asked)."""
        if client is None or not user:
            return dt.UTC
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(user)
        if cached and now - cached[0] < self.ttl:
            return cached[1]
        zone: dt.tzinfo = dt.UTC
        try:
            answer = client.users_info(user=user)
            offset = int((answer.get("user") or {}).get("tz_offset") or 0)
            if offset:
                zone = dt.timezone(dt.timedelta(seconds=offset))
        except (SlackApiError, OSError, ValueError, TypeError) as exc:
            log.info("no time zone for a user (%s); using UTC", type(exc).__name__)
        with self._lock:
            self._cache[user] = (now, zone)
        return zone


@dataclasses.dataclass
class SlackServices:
    """Everything the Slack surface needs, passed in by the composition root."""

    api: PsaClient
    ledger: Ledger
    directory: VehicleDirectory
    settings: Settings
    monitors: MonitorService | None = None
    clock: Callable[[], dt.datetime] = utcnow
    zones: UserZones = dataclasses.field(default_factory=UserZones)

    @property
    def locale(self) -> str:
        """Locale for alert texts."""
        return self.settings.psa_locale

    def is_admin(self, user: str | None) -> bool:
        """Admins are listed in FLEETBOT_ADMINS; nobody when it is empty (fail closed)."""
        return bool(user) and user in self.settings.admins


def require_admin(services: SlackServices, user: str | None, what: str) -> None:
    """Refuse politely unless ``user`` is an admin."""
    if not services.is_admin(user):
        raise UserInputError(texts.NOT_ADMIN.format(what=texts.NOT_ADMIN_WHAT[what]))


# -- /trips ---------------------------------------------------------------------------------


def _fetch_trips(
    services: SlackServices, entry: VehicleEntry, start: dt.datetime, end: dt.datetime
) -> list[Trip]:
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
    trips = _fetch_trips(services, entry, period.start, period.end)
    # the API matches trips overlapping the interval; show those that started in it
    trips = [t for t in trips if t.started_at is None or period.start <= t.started_at < period.end]
    return views.trips_messages(entry.name, trips, period, tz)


def _when_argument(rest: list[str]) -> str | None:
    if not rest:
        return None
    joined = "".join(rest)
    if len(rest) > 1 and ".." not in joined:
        raise UserInputError(texts.TOO_MANY_ARGUMENTS.format(extra=echo(" ".join(rest[1:]))))
    return joined


def trips_today(services: SlackServices, vin: str, *, tz: dt.tzinfo = dt.UTC) -> list[Message]:
    """The Trips today button: today's trips of the alert's vehicle."""
    period = parse_period(None, services.clock().astimezone(tz))
    entry = services.directory.resolve(vin)
    trips = _fetch_trips(services, entry, period.start, period.end)
    trips = [t for t in trips if t.started_at is None or t.started_at >= period.start]
    return views.trips_messages(entry.name, trips, period, tz)


# -- /alert ---------------------------------------------------------------------------------


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
            found.append(views.stored_as_api(stored))
    return views.alerts_message(entry.name, found, ALERT_DAYS, services.locale)


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
        alert = views.stored_as_api(stored)
    if alert is None:
        stored = services.ledger.alert(alert_id)
        if stored is None or stored.vin != entry.vin:
            raise UserInputError(
                texts.ALERT_NOT_FOUND.format(id=echo(alert_id), vehicle=escape(entry.name))
            )
        alert = views.stored_as_api(stored)
    delivery = services.ledger.delivery(alert.id, channel) if channel else None
    return views.alert_detail(
        entry.name,
        alert,
        services.locale,
        acked_by=delivery.acked_by if delivery else None,
        acked_at=delivery.acked_at if delivery else None,
    )


# -- /fleet ---------------------------------------------------------------------------------

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
        return views.error_reply(
            texts.UNKNOWN_SUBCOMMAND.format(name=echo(name)), texts.FLEET_USAGE
        )
    if request.form.admin:  # the gate refused already; this holds if a listener skips it
        require_admin(services, user, request.form.what or request.subcommand.name)
    return request.form.handler(services, request.rest, user, channel)


def fleet_usage(text: str) -> str:
    """The usage of the subcommand ``text`` names (the full help if none)."""
    request = fleet_request(text)
    return request.subcommand.usage if request else texts.FLEET_USAGE


def _help(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    return views.text_reply(texts.FLEET_USAGE)


def _no_arguments(rest: list[str]) -> None:
    if rest:
        raise UserInputError(texts.TOO_MANY_ARGUMENTS.format(extra=echo(" ".join(rest))))


def _one_vehicle(services: SlackServices, rest: list[str]) -> VehicleEntry:
    if not rest:
        raise UserInputError(texts.NEED_VEHICLE)
    if len(rest) > 1:
        raise UserInputError(texts.TOO_MANY_ARGUMENTS.format(extra=echo(" ".join(rest[1:]))))
    return services.directory.resolve(rest[0])


def _vehicles(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    wanted = " ".join(rest).casefold()
    entries = services.directory.entries()
    if wanted:
        entries = [
            e
            for e in entries
            if any(wanted in (v or "").casefold() for v in (e.vin, e.id, e.label, e.car, e.energy))
        ]
    return views.vehicles_message(entries, echo(" ".join(rest)) if rest else None)


def _label(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    if len(rest) != 2:
        raise UserInputError(texts.FLEET_SUBCOMMAND_USAGE["vehicles"])
    entry = services.directory.resolve(rest[0])
    label = rest[1]
    if not valid_label(label):
        raise UserInputError(texts.LABEL_BAD)
    for other in services.directory.entries():
        if other.vin != entry.vin and label.casefold() in (
            other.vin.casefold(),
            other.id.casefold(),
        ):
            raise UserInputError(texts.LABEL_TAKEN.format(label=escape(label)))
    services.ledger.set_label(entry.vin, label, by=user)
    return views.text_reply(texts.LABEL_SET.format(vin=escape(entry.vin), label=escape(label)))


def _status(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    if not rest:  # no vehicle: how the alert pipeline is doing
        facts = _home_facts(services)
        lines = views.pipeline_lines(facts)
        parked = [
            f"<#{escape(r.channel)}> ({escape(r.parked_reason)})" for r in facts.routes if r.parked
        ]
        if parked:
            lines.append(texts.HOME_PARKED.format(channels=", ".join(parked)))
        return views.ephemeral("\n".join(lines))
    entry = _one_vehicle(services, rest)
    try:
        status = services.api.status(entry.id)
    except NoData:
        return views.text_reply(texts.STATUS_NOTHING.format(vehicle=escape(entry.name)))
    return views.status_message(entry.name, status)


def _where(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    entry = _one_vehicle(services, rest)
    try:
        position = services.api.last_position(entry.id)
    except NoData:
        return views.text_reply(texts.WHERE_NONE.format(vehicle=escape(entry.name)))
    return views.where_message(entry.name, position)


def _subscribe(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    wanted = parse_subscribe(rest, channel)
    filtered = wanted.severity_name is not None or wanted.types or wanted.vins
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
        )
        what = views.route_text(route, services.directory.names())
        return views.text_reply(texts.RESUBSCRIBED.format(channel=route.channel, what=what))
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
    )
    what = views.route_text(route, services.directory.names())
    reply = texts.SUBSCRIBED.format(channel=route.channel, what=what)
    if route.channel != channel:
        reply += texts.SUBSCRIBE_INVITE
    return views.text_reply(reply)


def _unsubscribe(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    if len(rest) > 1:
        raise UserInputError(texts.TOO_MANY_ARGUMENTS.format(extra=echo(" ".join(rest[1:]))))
    target = parse_subscribe(rest, channel).channel if rest else channel
    if services.ledger.remove_routes(target):
        return views.text_reply(texts.UNSUBSCRIBED.format(channel=target))
    return views.text_reply(texts.NOT_SUBSCRIBED.format(channel=target))


def _routes(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    return views.routes_message(
        services.ledger.routes(),
        services.ledger.mutes(services.clock()),
        services.directory.names(),
        services.settings.alert_channel,
    )


def _mute(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    request = parse_mute(rest)
    entry = services.directory.resolve(request.vehicle)
    until = services.clock() + request.duration
    types = tuple(normalise_type(t) for t in request.types) if request.types else None
    services.ledger.mute(
        entry.vin, until, by=user, types=types, include_critical=request.include_critical
    )
    what, critical = views.mute_scope(types, request.include_critical)
    return views.text_reply(
        texts.MUTED.format(
            vehicle=escape(entry.name), what=what, until=slack_date(until), critical=critical
        )
    )


def _unmute(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    entry = _one_vehicle(services, rest)
    if services.ledger.unmute(entry.vin):
        return views.text_reply(texts.UNMUTED.format(vehicle=escape(entry.name)))
    return views.text_reply(texts.NOT_MUTED.format(vehicle=escape(entry.name)))


def _mutes(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    _no_arguments(rest)
    return views.mutes_message(services.ledger.mutes(services.clock()), services.directory.names())


def _monitor_list(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    if rest:
        raise UserInputError(texts.FLEET_SUBCOMMAND_USAGE["monitor"])
    if services.monitors is None:
        return views.text_reply(texts.MONITOR_NOT_CONFIGURED)
    return views.text_reply(services.monitors.list())


def _monitor_enable(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    _no_arguments(rest)
    if services.monitors is None:
        return views.text_reply(texts.MONITOR_NOT_CONFIGURED)
    return views.text_reply(services.monitors.enable(user))


def _monitor_disable(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    _no_arguments(rest)
    if services.monitors is None:
        return views.text_reply(texts.MONITOR_NOT_CONFIGURED)
    return views.text_reply(services.monitors.disable(user))


def _failed(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    _no_arguments(rest)
    rows = services.ledger.failed(limit=views.MAX_FAILED_LINES)
    total = services.ledger.counts().get("failed", len(rows))
    return views.failed_message(rows, total, services.directory.names(), services.locale)


def _retry(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    _no_arguments(rest)
    count = services.ledger.retry_failed()
    if not count:
        return views.text_reply(texts.RETRY_NONE)
    log.info("%d failed deliveries queued again by %s", count, user)
    return views.text_reply(texts.RETRIED.format(count=count))


def _admin(handler: Handler, what: str) -> Form:
    return Form(handler, admin=True, what=what)


#: Every `/fleet` subcommand, its aliases and who may run each form of it. The admin gate
#: (:mod:`bot.slack.access`) and :func:`fleet_reply` both read it through :func:`fleet_request`,
#: so a name or alias cannot reach a handler without the same check.
FLEET_TABLE: tuple[Subcommand, ...] = (
    Subcommand("help", Form(_help), aliases=("?", "-h", "--help")),
    Subcommand(
        "vehicles",
        Form(_vehicles),
        aliases=("vehicle",),
        forms={"label": _admin(_label, "label")},
    ),
    Subcommand("status", Form(_status)),
    Subcommand("where", Form(_where)),
    Subcommand("routes", Form(_routes)),
    Subcommand("subscribe", _admin(_subscribe, "subscribe")),
    Subcommand("unsubscribe", _admin(_unsubscribe, "unsubscribe")),
    Subcommand("mute", _admin(_mute, "mute")),
    Subcommand("unmute", _admin(_unmute, "unmute")),
    Subcommand("mutes", Form(_mutes)),
    Subcommand(
        "monitor",
        Form(_monitor_list),
        aliases=("monitors",),
        forms={
            "list": Form(_monitor_list),
            "enable": _admin(_monitor_enable, "monitor"),
            "disable": _admin(_monitor_disable, "monitor"),
        },
    ),
    Subcommand("failed", _admin(_failed, "failed")),
    Subcommand("retry", _admin(_retry, "retry")),
)

FLEET_NAMES: Mapping[str, Subcommand] = MappingProxyType(
    {name: sub for sub in FLEET_TABLE for name in sub.names}
)


# -- buttons --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Click:
    """What a button click carries."""

    user: str
    channel: str
    ts: str
    value: str
    blocks: list[dict[str, Any]]

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Click:
        """Read a block_actions payload."""
        container = body.get("container") or {}
        message = body.get("message") or {}
        action = (body.get("actions") or [{}])[0]
        return cls(
            user=str((body.get("user") or {}).get("id") or ""),
            channel=str(container.get("channel_id") or (body.get("channel") or {}).get("id") or ""),
            ts=str(container.get("message_ts") or message.get("ts") or ""),
            value=str(action.get("value") or ""),
            blocks=list(message.get("blocks") or []),
        )


def acknowledge(services: SlackServices, client: WebClient, click: Click) -> Message | None:
    """The Acknowledge button: update the message in place, or say who already did."""
    alert_id = click.value
    first, by, at = services.ledger.acknowledge(
        alert_id, click.channel, click.user, services.clock()
    )
    if not first:
        return views.text_reply(texts.ALREADY_ACKED.format(user=escape(by), when=slack_date(at)))
    stored = services.ledger.alert(alert_id)
    if stored is not None and stored.vin:
        message = alert_message(
            stored,
            vehicle_name=services.directory.name_of(stored.vin),
            locale=services.locale,
            acked_by=click.user,
            acked_at=at,
        )
    else:
        # an alert the ledger never saw (pruned, or posted by another install): edit what we have
        message = {
            "text": texts.ACKED_EPHEMERAL,
            "blocks": _acked_blocks(click.blocks, click.user, at),
        }
    client.chat_update(channel=click.channel, ts=click.ts, **message)
    return None


def _acked_blocks(
    blocks: list[dict[str, Any]], user: str, at: dt.datetime | None
) -> list[dict[str, Any]]:
    kept = []
    for block in blocks:
        if block.get("type") == "actions":
            block = {
                **block,
                "elements": [
                    e for e in block.get("elements", []) if e.get("action_id") != ACTION_ACK
                ],
            }
            if not block["elements"]:
                continue
        kept.append(block)
    kept.append(context(acked_line(user, at)))
    return kept


def digest_acknowledge(services: SlackServices, client: WebClient, click: Click) -> Message | None:
    """An Acknowledge button inside a digest: re-render the digest with that alert acknowledged."""
    alert_id = click.value
    first, by, at = services.ledger.acknowledge(
        alert_id, click.channel, click.user, services.clock()
    )
    if not first:
        return views.text_reply(texts.ALREADY_ACKED.format(user=escape(by), when=slack_date(at)))
    deliveries = services.ledger.deliveries_for_message(click.channel, click.ts)
    if deliveries:
        items = [(d.alert, d.acked_by, d.acked_at) for d in deliveries]
        message = digest_message(items, names=services.directory.names(), locale=services.locale)
    else:
        message = {
            "text": texts.ACKED_EPHEMERAL,
            "blocks": _digest_acked_blocks(click.blocks, alert_id, click.user, at),
        }
    client.chat_update(channel=click.channel, ts=click.ts, **message)
    return None


def _digest_acked_blocks(
    blocks: list[dict[str, Any]], alert_id: str, user: str, at: dt.datetime | None
) -> list[dict[str, Any]]:
    out = []
    for block in blocks:
        accessory = block.get("accessory") or {}
        if accessory.get("action_id") == ACTION_DIGEST_ACK and accessory.get("value") == alert_id:
            block = {k: v for k, v in block.items() if k != "accessory"}
            text = dict(block.get("text") or {})
            text["text"] = (text.get("text") or "") + "\n" + acked_line(user, at)
            block["text"] = text
        out.append(block)
    return out


def details(services: SlackServices, click: Click) -> Message:
    """The Details button: the alert in full (fresh from the API when possible)."""
    stored = services.ledger.alert(click.value)
    if stored is None or not stored.vin:
        raise UserInputError(texts.ALERT_GONE.format(id=echo(click.value)))
    try:
        entry = services.directory.resolve(stored.vin)
    except (UserInputError, ApiError):
        entry = VehicleEntry(id=stored.vehicle_id or stored.vin, vin=stored.vin)
    return alert_detail(services, entry, stored.id, channel=click.channel)


def mute_for_a_day(services: SlackServices, click: Click) -> Message:
    """The Mute 24 h button (admins only): no alerts for this vehicle for a day."""
    require_admin(services, click.user, "mute_button")
    until = services.clock() + MUTE_BUTTON_DURATION
    # That alert's type on that vehicle, whatever its severity (DESIGN §5).
    rows = services.ledger.deliveries_for_message(click.channel, click.ts)
    types = sorted({d.alert.type for d in rows if d.alert.vin == click.value} - {""})
    services.ledger.mute(
        click.value, until, by=click.user, types=types or None, include_critical=bool(types)
    )
    name = services.directory.name_of(click.value)
    return views.text_reply(
        texts.MUTED_BUTTON.format(vehicle=escape(name), until=slack_date(until))
    )


# -- App Home -------------------------------------------------------------------------------


def home(services: SlackServices) -> dict[str, Any]:
    """The App Home view: the fleet at a glance."""
    return views.home_view(_home_facts(services))


def _home_facts(services: SlackServices) -> views.HomeFacts:
    ledger = services.ledger
    return views.HomeFacts(
        open_alerts=ledger.open_alerts(),
        names=services.directory.names(),
        routes=ledger.routes(),
        last_poll=ledger.get_state("last_poll"),
        next_poll=views.when_of(ledger.get_state("next_poll")),
        quota=ledger.get_state("quota"),
        backlog=ledger.counts(),
        locale=services.locale,
    )
