"""Plain-text rendering of the stand-in's conversation log, as a person would read it in Slack.

Channels and people by name, ``<!date^…>`` in the reader's zone, links by their label, emoji as
emoji, Slack's ``*bold*`` markers dropped (or shown in bold with ``colour``), buttons as
``[Acknowledge]``, thread replies indented under their message. The markup itself is read by
:mod:`bot.sandbox.slack.markup`, which the HTML page shares.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from bot.sandbox.slack.markup import PLAIN_WRAP, MarkupReader, Names, Token, emoji

DIVIDER = "-" * 24
HOME_PREFIX = "App Home of {user}"
THREAD_OF = "↳ thread of: {parent}"
REPLY_MARK = "↳ "
PARENT_CUT = 70  # characters of the parent's first line shown above a reply

#: ANSI styles (Select Graphic Rendition), each with the code that ends only itself
ANSI_WRAP = {
    "pre": ("\x1b[36m", "\x1b[39m"),
    "code": ("\x1b[36m", "\x1b[39m"),
    "bold": ("\x1b[1m", "\x1b[22m"),
    "italic": ("\x1b[3m", "\x1b[23m"),
    "strike": ("\x1b[9m", "\x1b[29m"),
}
ANSI = {
    "where": ("\x1b[1;35m", "\x1b[0m"),
    "who": ("\x1b[1m", "\x1b[22m"),
    "note": ("\x1b[2m", "\x1b[22m"),
    "mention": ("\x1b[34m", "\x1b[39m"),
    "button": ("\x1b[1;32m", "\x1b[22;39m"),
    "thread": ("\x1b[2m", "\x1b[22m"),
}


@dataclass(frozen=True)
class Entry:
    """One line-worthy thing that happened in the stand-in (a post, an update, a click …).

    ``note`` may hold mrkdwn (``<@U1>``); ``ts`` and ``thread_ts`` place replies in threads.
    """

    kind: str  # post | update | delete | ephemeral | response | command | click | event | home
    channel: str
    who: str
    text: str = ""
    blocks: list[Any] | None = None
    note: str = ""
    ts: str | None = None
    thread_ts: str | None = None

    @property
    def is_reply(self) -> bool:
        """True for a message in a thread that is not the thread's parent."""
        return bool(self.thread_ts) and self.thread_ts != self.ts


class Workspace(Names, Protocol):
    """Names, plus the messages a reply's parent is looked up in."""

    def message(self, channel: str, ts: str) -> Any: ...


class _Ids:
    """Names when nobody knows any: ids shown as they are."""

    def user_name(self, user_id: str) -> str:
        return user_id

    def channel_name(self, channel: str) -> str:
        return channel

    def message(self, channel: str, ts: str) -> Any:
        return None


class Transcript:
    """Renders entries for one reader: their zone, colour or not."""

    def __init__(
        self,
        names: Workspace | None = None,
        *,
        zone: str | dt.tzinfo = "UTC",
        colour: bool = False,
        now: dt.datetime | None = None,
    ) -> None:
        self.names: Workspace = names if names is not None else _Ids()
        self.reader = MarkupReader(self.names, zone=zone, now=now)
        self.colour = colour

    def paint(self, style: str, text: str) -> str:
        """``text`` in one of :data:`ANSI`'s styles when colour is on."""
        if not self.colour or not text:
            return text
        start, end = ANSI[style]
        return f"{start}{text}{end}"

    def mrkdwn(self, text: str) -> str:
        """One mrkdwn text as a reader sees it."""
        shown = self.reader.render(
            text,
            literal=str,
            token=self._token,
            wrap=ANSI_WRAP if self.colour else PLAIN_WRAP,
        )
        return emoji(shown)

    def _token(self, token: Token) -> str:
        if token.kind in ("user", "channel", "special"):
            return self.paint("mention", token.text)
        return token.text

    def who(self, who: str) -> str:
        """An author: a known user id by name, else as recorded."""
        name = self.names.user_name(who)
        return who if name == who.lower() else name

    # -- blocks -----------------------------------------------------------------------------

    def text_of(self, obj: Any) -> str:
        """A Block Kit text object (plain_text as is, mrkdwn rendered) or a bare string."""
        if isinstance(obj, str):
            return self.mrkdwn(obj)
        if not isinstance(obj, dict):
            return ""
        text = obj.get("text")
        if isinstance(text, dict):
            return self.text_of(text)
        if not isinstance(text, str):
            return ""
        return emoji(text) if obj.get("type") == "plain_text" else self.mrkdwn(text)

    def element_label(self, element: Any) -> str:
        """An interactive element (button, select, …) as a bracketed label."""
        if not isinstance(element, dict):
            return ""
        kind = element.get("type", "")
        if kind == "button":
            label = f"[{self.text_of(element.get('text'))}]"
        elif kind == "overflow":
            label = "[…]"
        else:
            text = self.text_of(element.get("placeholder")) or kind
            label = f"[{text} ▾]" if "select" in kind else f"[{text}]"
        return self.paint("button", label)

    def rich_text(self, elements: Iterable[Any]) -> str:
        """rich_text elements flattened into a string."""
        out: list[str] = []
        for element in elements:
            if not isinstance(element, dict):
                continue
            kind = element.get("type")
            if isinstance(element.get("elements"), list):
                out.append(self.rich_text(element["elements"]))
            elif kind == "link":
                out.append(str(element.get("text") or element.get("url", "")))
            elif kind == "user":
                out.append(self.paint("mention", self.reader.user(str(element.get("user_id")))))
            elif kind == "channel":
                channel = str(element.get("channel_id"))
                out.append(self.paint("mention", self.reader.channel(channel)))
            elif kind == "emoji":
                out.append(emoji(f":{element.get('name', '')}:"))
            else:
                out.append(str(element.get("text", "")))
        return "".join(out)

    def block_lines(self, blocks: Iterable[Any]) -> list[str]:
        """Block Kit blocks as lines (text, fields, context, button labels)."""
        lines: list[str] = []
        for block in blocks:
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "header":
                lines.append(self.paint("who", self.text_of(block.get("text")).upper()))
            elif kind == "section":
                if block.get("text"):
                    lines.extend(self.text_of(block["text"]).splitlines())
                for field in block.get("fields") or []:
                    lines.extend(self.text_of(field).splitlines())
                accessory = block.get("accessory")
                if isinstance(accessory, dict) and accessory.get("type") != "image":
                    lines.append(self.element_label(accessory))
            elif kind == "context":
                parts = [
                    self.text_of(e) if e.get("type") != "image" else ""
                    for e in block.get("elements") or []
                    if isinstance(e, dict)
                ]
                lines.append("  ".join(p for p in parts if p))
            elif kind == "actions":
                lines.append(" ".join(self.element_label(e) for e in block.get("elements") or []))
            elif kind == "divider":
                lines.append(DIVIDER)
            elif kind == "image":
                title = self.text_of(block.get("title")) or str(block.get("alt_text", ""))
                lines.append(f"[image: {title}]")
            elif kind == "rich_text":
                lines.extend(self.rich_text(block.get("elements") or []).splitlines())
            elif kind == "input":
                label = self.text_of(block.get("label"))
                lines.append(f"{label}: {self.element_label(block.get('element'))}")
        return [line for line in lines if line.strip()]

    def message_lines(self, text: str, blocks: list[Any] | None) -> list[str]:
        """The lines a person sees: the blocks if any, else the text."""
        lines = self.block_lines(blocks) if blocks else []
        shown = lines or ([self.mrkdwn(text)] if text else [])
        return [part for line in shown for part in line.splitlines()]

    # -- entries ----------------------------------------------------------------------------

    def where(self, entry: Entry) -> str:
        """``#channel`` (or the App Home) an entry happened in."""
        if entry.kind == "home":
            return HOME_PREFIX.format(user=self.reader.user(entry.channel))
        if entry.channel.startswith("#"):
            return entry.channel
        return self.reader.channel(entry.channel)

    def entry(self, entry: Entry, indent: int = 0) -> str:
        """One entry as one or more aligned lines (``indent`` spaces before a thread reply)."""
        who, note = self.who(entry.who), self.mrkdwn(entry.note) if entry.note else ""
        if indent:
            lead = " " * indent + self.paint("thread", REPLY_MARK)
            width = indent + len(REPLY_MARK)
        else:
            where = self.where(entry)
            lead = self.paint("where", where) + "  "
            width = len(where) + 2
        head = f"{lead}{self.paint('who', who)}{self.paint('note', note)}: "
        pad = " " * (width + len(_visible(who + note)) + 2)
        body = self.message_lines(entry.text, entry.blocks) or [""]
        return "\n".join([head + body[0], *(pad + line for line in body[1:])]).rstrip()

    def render(self, entries: Iterable[Entry]) -> str:
        """Entries as a readable conversation, thread replies under their message."""
        out: list[str] = []
        last_parent: tuple[str, str] | None = None  # the message replies would sit under
        for entry in entries:
            if entry.is_reply and entry.thread_ts is not None:
                indent = len(self.where(entry)) + 2
                if last_parent != (entry.channel, entry.thread_ts):
                    out.append(self._thread_head(entry))
                    last_parent = (entry.channel, entry.thread_ts)
                out.append(self.entry(entry, indent))
                continue
            if entry.ts is not None and entry.kind in ("post", "update", "click"):
                last_parent = (entry.channel, entry.ts)
            elif entry.kind not in ("ephemeral", "response"):
                last_parent = None
            out.append(self.entry(entry))
        return "\n".join(out)

    def _thread_head(self, entry: Entry) -> str:
        """The line naming a reply's thread when its message is not right above."""
        parent = self.names.message(entry.channel, entry.thread_ts or "")
        lines = self.message_lines(parent.text, parent.blocks) if parent is not None else []
        first = _visible(lines[0]) if lines else "…"
        if len(first) > PARENT_CUT:
            first = first[: PARENT_CUT - 1] + "…"
        where = self.paint("where", self.where(entry))
        return f"{where}  {self.paint('thread', THREAD_OF.format(parent=first))}"


def _visible(text: str) -> str:
    """Text without ANSI escape sequences."""
    out: list[str] = []
    skipping = False
    for char in text:
        if char == "\x1b":
            skipping = True
        elif skipping:
            skipping = not char.isalpha()
        else:
            out.append(char)
    return "".join(out)


def block_lines(blocks: Iterable[Any]) -> list[str]:
    """Block Kit blocks as plain-text lines (text, fields, context, button labels)."""
    return Transcript().block_lines(blocks)


def transcript(
    entries: Iterable[Entry],
    names: Workspace | None = None,
    *,
    zone: str | dt.tzinfo = "UTC",
    colour: bool = False,
) -> str:
    """Render log entries as a readable conversation (names and zone of the reader)."""
    return Transcript(names, zone=zone, colour=colour).render(entries)
