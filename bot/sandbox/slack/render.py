"""Plain-text rendering of the stand-in's conversation log, as a person would read it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

DIVIDER = "-" * 24
HOME_PREFIX = "App Home of {user}"
CHANNEL_PREFIX = "#{channel}"


@dataclass(frozen=True)
class Entry:
    """One line-worthy thing that happened in the stand-in (a post, an update, a click …)."""

    kind: str  # post | update | delete | ephemeral | response | command | click | event | home
    channel: str
    who: str
    text: str = ""
    blocks: list[Any] | None = None
    note: str = ""


def _text_of(obj: Any) -> str:
    """Return the text of a Block Kit text object (or a bare string)."""
    if isinstance(obj, str):
        return obj
    if isinstance(obj, dict):
        text = obj.get("text")
        if isinstance(text, str):
            return text
        if isinstance(text, dict):
            return _text_of(text)
    return ""


def _element_label(element: Any) -> str:
    """Render an interactive element (button, select, …) as a bracketed label."""
    if not isinstance(element, dict):
        return ""
    kind = element.get("type", "")
    if kind == "button":
        return f"[{_text_of(element.get('text'))}]"
    if kind == "overflow":
        return "[…]"
    label = _text_of(element.get("placeholder")) or kind
    return f"[{label} ▾]" if "select" in kind else f"[{label}]"


def _rich_text(elements: Iterable[Any]) -> str:
    """Flatten rich_text elements into a string."""
    out: list[str] = []
    for element in elements:
        if not isinstance(element, dict):
            continue
        if isinstance(element.get("elements"), list):
            out.append(_rich_text(element["elements"]))
        elif element.get("type") == "link":
            out.append(element.get("text") or element.get("url", ""))
        elif element.get("type") in ("user", "channel"):
            out.append(f"<{element.get('user_id') or element.get('channel_id')}>")
        else:
            out.append(str(element.get("text", "")))
    return "".join(out)


def block_lines(blocks: Iterable[Any]) -> list[str]:
    """Render Block Kit blocks as plain-text lines (text, fields, context, button labels)."""
    lines: list[str] = []
    for block in blocks:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "header":
            lines.append(_text_of(block.get("text")).upper())
        elif kind == "section":
            if block.get("text"):
                lines.extend(_text_of(block["text"]).splitlines())
            for field in block.get("fields") or []:
                lines.extend(_text_of(field).splitlines())
            accessory = block.get("accessory")
            if isinstance(accessory, dict) and accessory.get("type") != "image":
                lines.append(_element_label(accessory))
        elif kind == "context":
            parts = [
                _text_of(e) if e.get("type") != "image" else ""
                for e in block.get("elements") or []
                if isinstance(e, dict)
            ]
            lines.append("  ".join(p for p in parts if p))
        elif kind == "actions":
            lines.append(" ".join(_element_label(e) for e in block.get("elements") or []))
        elif kind == "divider":
            lines.append(DIVIDER)
        elif kind == "image":
            lines.append(f"[image: {block.get('alt_text', '')}]")
        elif kind == "rich_text":
            lines.extend(_rich_text(block.get("elements") or []).splitlines())
        elif kind == "input":
            lines.append(f"{_text_of(block.get('label'))}: {_element_label(block.get('element'))}")
    return [line for line in lines if line.strip()]


#: Slack mrkdwn tokens as Slack's client shows them: dates by their fallback, links by label.
_TOKEN = re.compile(r"<(!date\^[^|>]*\|([^>]*)|([^|>]+)\|([^>]*)|([@#!][^|>]+))>")


def readable(text: str) -> str:
    """``<!date^…|fallback>`` → fallback, ``<url|label>`` → label, ``<@U1>`` → @U1."""

    def show(match: re.Match[str]) -> str:
        date_fallback, target, label, bare = match.group(2, 3, 4, 5)
        if date_fallback is not None:
            return date_fallback
        if label is not None:
            return f"{target[0]}{label}" if target[0] in "#@" else label
        return bare.replace("!", "@", 1) if bare.startswith("!") else bare

    return _TOKEN.sub(show, text)


def message_lines(text: str, blocks: list[Any] | None) -> list[str]:
    """Return the lines a person sees: the blocks if any, else the text."""
    lines = block_lines(blocks) if blocks else []
    shown = lines or (text.splitlines() if text else [])
    return [part for line in shown for part in readable(line).split("\n")]


def format_entry(entry: Entry) -> str:
    """Render one log entry as one or more aligned lines."""
    where = (
        HOME_PREFIX.format(user=entry.channel)
        if entry.kind == "home"
        else CHANNEL_PREFIX.format(channel=entry.channel)
    )
    prefix = f"{where}  {entry.who}{entry.note}: "
    body = message_lines(entry.text, entry.blocks) or [""]
    pad = " " * len(prefix)
    return "\n".join([prefix + body[0], *(pad + line for line in body[1:])]).rstrip()


def transcript(entries: Iterable[Entry]) -> str:
    """Render log entries as a readable conversation."""
    return "\n".join(format_entry(e) for e in entries)
