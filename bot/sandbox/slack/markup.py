"""Reading Slack's mrkdwn the way Slack's client shows it, for the transcript and the HTML page.

One reader finds the ``<…>`` tokens (people, channels, dates, links, ``<!here>``), resolves them
with the stand-in's names and the reader's time zone, and applies bold, italic, strike and code
around them; each renderer only says how a piece looks (plain, ANSI or HTML)::

    reader = MarkupReader(standin, zone="Europe/Paris")
    reader.render(text, literal=str, token=lambda t: t.text, wrap=PLAIN_WRAP)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Protocol
from zoneinfo import ZoneInfo

#: the emoji codes Fleetbot's messages use (others are shown as their code, like Slack's fallback)
EMOJI = {
    "warning": "⚠️",
    "x": "❌",
    "white_check_mark": "✅",
    "heavy_check_mark": "✔️",
    "mute": "🔇",
    "loud_sound": "🔊",
    "double_vertical_bar": "⏸️",
    "satellite_antenna": "📡",
    "repeat": "🔁",
    "checkered_flag": "🏁",
    "rotating_light": "🚨",
    "bell": "🔔",
    "car": "🚗",
    "truck": "🚚",
    "round_pushpin": "📍",
    "bar_chart": "📊",
    "chart_with_upwards_trend": "📈",
    "information_source": "\u2139\ufe0f",
    "hourglass": "⌛",
    "wrench": "🔧",
    "fuelpump": "⛽",
    "battery": "🔋",
    "trophy": "🏆",
    "red_circle": "🔴",
    "large_orange_circle": "🟠",
    "large_blue_circle": "🔵",
    "white_circle": "⚪",
    "large_green_circle": "🟢",
    "large_yellow_circle": "🟡",
}

#: one style's opening and closing text, by style name (bold, italic, strike, code, pre)
Wrap = Mapping[str, tuple[str, str]]
#: plain text: Slack's markers dropped, code kept between backticks so it stands out
PLAIN_WRAP: Wrap = {
    "pre": ("", ""),
    "code": ("`", "`"),
    "bold": ("", ""),
    "italic": ("", ""),
    "strike": ("", ""),
}

TOKEN = re.compile(r"<([^<>]*)>")
EMOJI_CODE = re.compile(r":([a-z0-9_+-]+):")
SAFE_LINK = re.compile(r"^(https?://|mailto:)", re.IGNORECASE)
_DATE_PART = re.compile(r"\{([a-z_]+)\}")
#: a channel id standing alone in text (Slack ids: upper-case letters and digits)
_BARE_CHANNEL = re.compile(r"(?<![\w#<@/|])#?\b([CG][A-Z0-9]{3,})\b")

#: style name → pattern over text whose tokens were replaced by placeholders
STYLES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("pre", re.compile(r"```(.+?)```", re.DOTALL)),
    ("code", re.compile(r"`([^`\n]+)`")),
    ("bold", re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])")),
    ("italic", re.compile(r"(?<![\w_])_(?!\s)([^_\n]+?)(?<!\s)_(?![\w_])")),
    ("strike", re.compile(r"(?<![\w~])~(?!\s)([^~\n]+?)(?<!\s)~(?![\w~])")),
)


class Names(Protocol):
    """Who and where ids name (the stand-in answers these)."""

    def user_name(self, user_id: str) -> str: ...

    def channel_name(self, channel: str) -> str: ...


@dataclasses.dataclass(frozen=True)
class Token:
    """One ``<…>`` token as a reader sees it: ``kind`` is user, channel, date, special or link."""

    kind: str
    text: str  # what is shown: "@manager", "#ops", "Today 05:44", a link's label
    url: str = ""  # links only


def unescape(text: str) -> str:
    """Slack sends &, < and > escaped in message text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def emoji(text: str, show: Callable[[str], str] | None = None) -> str:
    """``:name:`` codes as emoji (``show(name)`` first, when given and not empty)."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        return (show(name) if show else "") or EMOJI.get(name, match.group(0))

    return EMOJI_CODE.sub(one, text)


def ordinal(n: int) -> str:
    """English ordinal suffix: 1st, 2nd, 3rd, 4th, 11th …"""
    if 10 <= n % 100 <= 20:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def _wrapper(opening: str, closing: str) -> Callable[[re.Match[str]], str]:
    """A substitution putting a style's inner text between ``opening`` and ``closing``."""
    return lambda match: f"{opening}{match.group(1)}{closing}"


class MarkupReader:
    """Resolves Slack markup with a workspace's names, dates in one reader's zone."""

    def __init__(
        self, names: Names, *, zone: str | dt.tzinfo = "UTC", now: dt.datetime | None = None
    ) -> None:
        self.names = names
        self.zone = ZoneInfo(zone) if isinstance(zone, str) else zone
        self.now = (now or dt.datetime.now(dt.UTC)).astimezone(self.zone)

    def token(self, inner: str) -> Token:
        """The token between ``<`` and ``>``, as shown."""
        target, _, label = inner.partition("|")
        label = unescape(label)
        if target.startswith("@"):
            return Token("user", "@" + (label or self.names.user_name(target[1:])))
        if target.startswith("#"):
            return Token("channel", "#" + (label or self.names.channel_name(target[1:])))
        if target.startswith("!date^"):
            return Token("date", self.date(target, label))
        if target.startswith("!subteam^"):
            return Token("special", label or "@team")
        if target.startswith("!"):
            return Token("special", "@" + target[1:].split("^")[0])
        url = unescape(target)
        return Token("link", label or url, url)

    def channel(self, channel: str) -> str:
        """``#name`` of a channel id."""
        return "#" + self.names.channel_name(channel)

    def user(self, user_id: str) -> str:
        """``@name`` of a user id."""
        return "@" + self.names.user_name(user_id)

    def bare_channels(self, text: str) -> str:
        """Channel ids the workspace knows, written bare in text, as ``#name``."""

        def one(match: re.Match[str]) -> str:
            name = self.names.channel_name(match.group(1))
            return match.group(0) if name == match.group(1) else "#" + name

        return _BARE_CHANNEL.sub(one, text)

    def render(
        self,
        text: str,
        *,
        literal: Callable[[str], str],
        token: Callable[[Token], str],
        wrap: Wrap,
    ) -> str:
        """mrkdwn rendered: ``literal`` for plain text, ``token`` for tokens, ``wrap`` for styles.

        Tokens become placeholders while styles apply, so a label's ``*`` stays a ``*``.
        """
        pieces: list[str] = []
        shown: dict[str, str] = {}
        at = 0
        for match in TOKEN.finditer(text):
            pieces.append(literal(self.bare_channels(unescape(text[at : match.start()]))))
            placeholder = f"\0{len(shown)}\0"
            shown[placeholder] = token(self.token(match.group(1)))
            pieces.append(placeholder)
            at = match.end()
        pieces.append(literal(self.bare_channels(unescape(text[at:]))))
        styled = "".join(pieces)
        for name, pattern in STYLES:
            styled = pattern.sub(_wrapper(*wrap[name]), styled)
        for placeholder, rendered in shown.items():
            styled = styled.replace(placeholder, rendered)
        return styled

    def date(self, target: str, fallback: str) -> str:
        """``!date^<unix>^<format>[^<link>]`` in the reader's zone (the fallback if unreadable)."""
        parts = target.split("^")
        try:
            moment = dt.datetime.fromtimestamp(int(parts[1]), self.zone)
            template = parts[2]
        except (IndexError, ValueError, OverflowError, OSError):
            return fallback
        return _DATE_PART.sub(lambda m: self._date_part(m.group(1), moment, m.group(0)), template)

    def _date_part(self, name: str, moment: dt.datetime, raw: str) -> str:
        day = moment.date()
        ago = (self.now.date() - day).days
        relative = {0: "Today", 1: "Yesterday", -1: "Tomorrow"}.get(ago)
        nth = f"{day.day}{ordinal(day.day)}"
        parts = {
            "date_num": day.isoformat(),
            "date": f"{moment:%B} {nth}, {day.year}",
            "date_short": f"{moment:%b} {day.day}, {day.year}",
            "date_long": f"{moment:%A, %B} {nth}, {day.year}",
            "time": f"{moment:%H:%M}",
            "time_secs": f"{moment:%H:%M:%S}",
        }
        for base in ("date", "date_short", "date_long"):
            parts[f"{base}_pretty"] = relative or parts[base]
        return parts.get(name, raw)
