"""`/fleet site add|remove` and `/fleet sites`: named places that positions are told by."""

from __future__ import annotations

import logging
import math
import re

from bot.errors import UserInputError
from bot.messages import texts
from bot.messages.markup import Message, echo, escape, text_reply
from bot.messages.places import sites_message
from bot.slack.context import SlackServices
from bot.slack.parsing import no_arguments

log = logging.getLogger(__name__)

DEFAULT_RADIUS_M = 300
MIN_RADIUS_M = 10
MAX_RADIUS_M = 50_000
MAX_NAME = 60

_NUMBER = r"[-+]?\d{1,3}(?:\.\d+)?"
_POSITION = re.compile(rf"^({_NUMBER}),\s*({_NUMBER})$")
_RADIUS = re.compile(r"^(\d+(?:\.\d+)?)\s*(m|km)$", re.IGNORECASE)
_USAGE = texts.FLEET_SUBCOMMAND_USAGE["site"]


def parse_site(rest: list[str]) -> tuple[str, float, float, int]:
    """``<name…> <lat>,<lon> [<radius>m]`` → (name, lat, lon, radius in metres)."""
    words = list(rest)
    radius = DEFAULT_RADIUS_M
    if words and _RADIUS.match(words[-1]):
        radius = _radius(words.pop())
    # The position is one word ("48.85,2.35") or two ("48.85," "2.35") when typed with a space.
    position = None
    for size in (1, 2):
        if len(words) >= size:
            candidate = "".join(words[-size:])
            if _POSITION.match(candidate):
                position = candidate
                del words[-size:]
                break
    if position is None:
        shown = words[-1] if words else ""
        if not words:
            raise UserInputError(f"{texts.SITE_NEED_NAME}\n{_USAGE}")
        raise UserInputError(f"{texts.SITE_BAD_POSITION.format(text=echo(shown))}\n{_USAGE}")
    match = _POSITION.match(position)
    assert match is not None
    lat, lon = float(match[1]), float(match[2])
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise UserInputError(f"{texts.SITE_BAD_POSITION.format(text=echo(position))}\n{_USAGE}")
    return _name(words), lat, lon, radius


def _radius(text: str) -> int:
    match = _RADIUS.match(text)
    assert match is not None
    metres = float(match[1]) * (1000 if match[2].lower() == "km" else 1)
    if not MIN_RADIUS_M <= metres <= MAX_RADIUS_M:
        raise UserInputError(f"{texts.SITE_BAD_RADIUS.format(text=echo(text))}\n{_USAGE}")
    return round(metres)


def _name(words: list[str]) -> str:
    name = " ".join(words).strip()
    if not name:
        raise UserInputError(f"{texts.SITE_NEED_NAME}\n{_USAGE}")
    if len(name) > MAX_NAME:
        raise UserInputError(texts.SITE_NAME_TOO_LONG.format(limit=MAX_NAME))
    return name


def _forget(services: SlackServices) -> None:
    if services.places is not None:  # positions read the new sites at once
        services.places.forget_sites()


def site_usage(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    """`/fleet site` without add or remove: how to use it."""
    raise UserInputError(_USAGE)


def site_add(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    """`/fleet site add <name> <lat>,<lon> [<radius>m]` (admins)."""
    name, lat, lon, radius = parse_site(rest)
    site = services.ledger.add_site(name, lat, lon, radius, by=user or None)
    if site is None:
        raise UserInputError(texts.SITE_EXISTS.format(name=escape(name)))
    _forget(services)
    log.info("site %d added by %s", site.id, user)
    return text_reply(texts.SITE_ADDED.format(name=escape(name), radius=f"{radius:,}"))


def site_remove(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    """`/fleet site remove <name>` (admins)."""
    name = " ".join(rest).strip()
    if not name:
        raise UserInputError(f"{texts.SITE_NEED_NAME}\n{_USAGE}")
    site = services.ledger.remove_site(name)
    if site is None:
        raise UserInputError(texts.SITE_UNKNOWN.format(name=echo(name)))
    _forget(services)
    log.info("site %d removed by %s", site.id, user)
    return text_reply(texts.SITE_REMOVED.format(name=escape(site.name)))


def sites(services: SlackServices, rest: list[str], user: str, channel: str) -> Message:
    """`/fleet sites`: every site (anyone)."""
    no_arguments(rest)
    return sites_message(services.ledger.sites())
