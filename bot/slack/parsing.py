"""Reading what people type after a slash command: periods, durations, channels, options.

Every parser raises :class:`~bot.errors.UserInputError` with a sentence meant for the person;
the caller appends the command's usage.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from bot.errors import UserInputError
from bot.messages import texts
from bot.messages.alert_text import parse_severity, severity_rank
from bot.messages.markup import echo
from bot.messages.trips import Period, day_words, range_words

MAX_RANGE_DAYS = 31
MAX_MUTE = dt.timedelta(days=30)
MIN_MUTE = dt.timedelta(seconds=10)
#: no connected vehicle reported anything before this day; earlier dates are typos or probes
EARLIEST_DAY = dt.date(2000, 1, 1)

# ASCII only: \d would also match other scripts' digits, which the date parser refuses anyway
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
_LAST_DAYS = re.compile(r"^(\d{1,3})d$", re.ASCII)
_DURATION = re.compile(
    r"^(\d+)\s*(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|weeks?)$", re.ASCII
)
_MAX_DURATION_DIGITS = 9  # more digits is never a sensible duration; keeps the arithmetic small
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Slack escapes channel mentions as <#C123ABC|name> (or <#C123ABC> without a name).
_CHANNEL_MENTION = re.compile(r"^<#([CG][A-Z0-9]{2,})(?:\|[^>]*)?>$")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{8,}$")
_LABEL = re.compile(r"^[^\s<>&*`]{1,40}$")
# Slack sends these three as entities in command text; everything else arrives as typed.
_SLACK_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))


@dataclasses.dataclass(frozen=True)
class Subscription:
    """What `/fleet subscribe` asked for."""

    channel: str
    min_severity: int = 0
    severity_name: str | None = None
    types: tuple[str, ...] | None = None
    vins: tuple[str, ...] | None = None
    escalate: dt.timedelta | None = None
    escalate_to: str | None = None


#: `to=` takes only Slack's own markup for a user or a user group, kept exactly as given
_MENTION = re.compile(r"^<(?:@[UW][A-Z0-9]+|!subteam\^S[A-Z0-9]+)(?:\|[^<>&]*)?>$")


def parse_mention(token: str) -> str:
    """A `to=` value: a user `<@U…>` or user group `<!subteam^S…>` mention, as Slack sent it."""
    if not _MENTION.match(token):
        raise UserInputError(texts.BAD_MENTION.format(text=echo(token)))
    return token


def unescape_command(text: str | None) -> str:
    """Command text as the person typed it: Slack's ``&lt;``, ``&gt;``, ``&amp;`` decoded."""
    decoded = text or ""
    if "&" in decoded:
        for entity, char in _SLACK_ENTITIES:
            decoded = decoded.replace(entity, char)
    return decoded


def words(text: str | None) -> list[str]:
    """Split command text on whitespace (Slack sends non-breaking spaces sometimes)."""
    return unescape_command(text).replace("\u00a0", " ").split()


def no_arguments(rest: list[str]) -> None:
    """Refuse words after a command that takes none."""
    if rest:
        raise UserInputError(texts.TOO_MANY_ARGUMENTS.format(extra=echo(" ".join(rest))))


def one_vehicle(rest: list[str]) -> str:
    """The one word naming a vehicle; refuse none or more."""
    if not rest:
        raise UserInputError(texts.NEED_VEHICLE)
    if len(rest) > 1:
        raise UserInputError(texts.TOO_MANY_ARGUMENTS.format(extra=echo(" ".join(rest[1:]))))
    return rest[0]


def _midnight(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=tz)


def _day(text: str) -> dt.date:
    if not _DAY.match(text):
        raise UserInputError(texts.BAD_WHEN.format(when=echo(text)))
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise UserInputError(texts.BAD_WHEN.format(when=echo(text))) from None
    if day < EARLIEST_DAY:
        # year 1 in a positive offset overflows on the way to UTC; nothing was recorded then
        raise UserInputError(texts.TOO_EARLY.format(day=day, earliest=EARLIEST_DAY))
    return day


def parse_period(when: str | None, now: dt.datetime) -> Period:
    """Read `today`, `yesterday`, `7d`, `2026-11-20` or `A..B` in the zone of ``now``."""
    tz = now.tzinfo or dt.UTC
    today = now.astimezone(tz).date()
    text = (when or "today").strip().lower()
    if text in ("today", "aujourd'hui", "now"):
        return Period(_midnight(today, tz), now, texts.PERIOD_TODAY)
    if text in ("yesterday", "hier"):
        day = today - dt.timedelta(days=1)
        return Period(_midnight(day, tz), _midnight(today, tz), texts.PERIOD_YESTERDAY)
    last = _LAST_DAYS.match(text)
    if last:
        days = int(last.group(1))
        if days < 1:
            raise UserInputError(texts.BAD_WHEN.format(when=echo(when or "")))
        if days > MAX_RANGE_DAYS:
            raise UserInputError(texts.RANGE_TOO_LONG.format(days=days, limit=MAX_RANGE_DAYS))
        start = _midnight(today - dt.timedelta(days=days - 1), tz)
        return Period(start, now, texts.PERIOD_LAST_DAYS.format(days=days))
    if ".." in text:
        first, _, last_text = text.partition("..")
        start_day, end_day = _day(first.strip()), _day(last_text.strip())
        if end_day < start_day:
            raise UserInputError(texts.REVERSED_RANGE.format(start=start_day, end=end_day))
        if start_day > today:
            raise UserInputError(texts.FUTURE_DATE.format(day=start_day))
        days = (end_day - start_day).days + 1
        if days > MAX_RANGE_DAYS:
            raise UserInputError(texts.RANGE_TOO_LONG.format(days=days, limit=MAX_RANGE_DAYS))
        end = min(_midnight(end_day + dt.timedelta(days=1), tz), now)
        label = texts.PERIOD_RANGE.format(range=range_words(start_day, end_day, today))
        return Period(_midnight(start_day, tz), end, label)
    day = _day(text)
    if day > today:
        raise UserInputError(texts.FUTURE_DATE.format(day=day))
    end = min(_midnight(day + dt.timedelta(days=1), tz), now)
    return Period(_midnight(day, tz), end, texts.PERIOD_DAY.format(day=day_words(day, today)))


def parse_duration(
    text: str, *, minimum: dt.timedelta = MIN_MUTE, maximum: dt.timedelta = MAX_MUTE
) -> dt.timedelta:
    """Read `20s`, `30m`, `2h`, `24h`, `3d`, `1w` (within ``minimum`` and ``maximum``)."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise UserInputError(texts.BAD_DURATION.format(text=echo(text)))
    digits, unit = match.group(1).lstrip("0") or "0", match.group(2)[0]
    # compare whole seconds as integers first: a huge amount must not reach timedelta
    seconds = int(digits) * _UNIT_SECONDS[unit] if len(digits) <= _MAX_DURATION_DIGITS else None
    if seconds is None or seconds > maximum.total_seconds():
        raise UserInputError(texts.DURATION_TOO_LONG.format(limit=_say(maximum)))
    if seconds < minimum.total_seconds():
        raise UserInputError(texts.DURATION_TOO_SHORT.format(limit=_say(minimum)))
    return dt.timedelta(seconds=seconds)


def _say(duration: dt.timedelta) -> str:
    """A limit in words: `30 days`, `1 minute`."""
    seconds = int(duration.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}" + ("s" if count != 1 else "")
    return f"{seconds} seconds"


def channel_id(token: str) -> str | None:
    """The channel id of a `<#C…|name>` mention or a bare id; None if it is neither."""
    mention = _CHANNEL_MENTION.match(token)
    if mention:
        return mention.group(1)
    return token if _CHANNEL_ID.match(token) else None


def looks_like_channel(token: str) -> bool:
    """True for anything a person meant as a channel (`#name`, `<#…>`)."""
    return token.startswith(("#", "<#"))


def _list_option(name: str, value: str) -> tuple[str, ...]:
    items = tuple(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))
    if not items:
        raise UserInputError(texts.EMPTY_LIST_OPTION.format(name=name))
    return items


def parse_subscribe(args: list[str], current_channel: str) -> Subscription:
    """Read `[#channel] [severity>=…] [types=A,B] [vehicles=V1,V2] [escalate=15m [to=<@U…>]]`
    (vehicles not resolved)."""
    channel = current_channel
    severity: str | None = None
    types: tuple[str, ...] | None = None
    vins: tuple[str, ...] | None = None
    escalate: dt.timedelta | None = None
    escalate_to: str | None = None
    for token in args:
        lower = token.lower()
        if looks_like_channel(token) or _CHANNEL_ID.match(token):
            found = channel_id(token)
            if found is None:
                raise UserInputError(texts.BAD_CHANNEL.format(text=echo(token)))
            channel = found
        elif lower.startswith(("severity>=", "severity=", "sev>=", "min=")):
            value = token.split("=", 1)[1]
            severity = parse_severity(value)
            if severity is None:
                raise UserInputError(texts.BAD_SEVERITY.format(text=echo(value)))
        elif lower.startswith(("types=", "type=")):
            types = _list_option("types", token.split("=", 1)[1])
        elif lower.startswith(("vehicles=", "vehicle=", "vins=", "vin=")):
            vins = _list_option("vehicles", token.split("=", 1)[1])
        elif lower.startswith("escalate="):
            escalate = parse_duration(token.split("=", 1)[1])
        elif lower.startswith("to="):
            escalate_to = parse_mention(token.split("=", 1)[1])
        else:
            raise UserInputError(texts.BAD_OPTION.format(text=echo(token)))
    if escalate_to is not None and escalate is None:
        raise UserInputError(texts.TO_WITHOUT_ESCALATE)
    return Subscription(
        channel=channel,
        min_severity=severity_rank(severity) if severity else 0,
        severity_name=severity,
        types=types,
        vins=vins,
        escalate=escalate,
        escalate_to=escalate_to,
    )


@dataclasses.dataclass(frozen=True)
class MuteRequest:
    """What `/fleet mute` asked for (the vehicle not yet resolved)."""

    vehicle: str
    duration: dt.timedelta
    types: tuple[str, ...] | None = None
    include_critical: bool = False


def parse_mute(args: list[str]) -> MuteRequest:
    """Read `<vehicle> <duration> [types=A,B] [all]` (options in any order after the duration)."""
    if len(args) < 2:
        raise UserInputError(texts.FLEET_SUBCOMMAND_USAGE["mute"])
    types: tuple[str, ...] | None = None
    include_critical = False
    for token in args[2:]:
        lower = token.lower()
        if lower.startswith(("types=", "type=")):
            types = _list_option("types", token.split("=", 1)[1])
        elif lower == "all":
            include_critical = True
        else:
            raise UserInputError(texts.BAD_OPTION.format(text=echo(token)))
    return MuteRequest(args[0], parse_duration(args[1]), types, include_critical)


def valid_label(label: str) -> bool:
    """A label is one short word people can type."""
    return bool(_LABEL.match(label))
