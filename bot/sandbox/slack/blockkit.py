"""Slack's documented Block Kit limits, checked the way Slack checks them.

Slack refuses a message whose blocks break a limit (``invalid_blocks``): a renderer that lets
a long API string through would make that alert's post fail for good in production while
every test passed. The stand-in applies these checks to every post, edit, ephemeral, response
URL and App Home view, and tests of pure renderers call :func:`problems` directly.

Figures from https://api.slack.com/reference/block-kit/blocks and .../block-elements.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_MESSAGE_TEXT = 40_000  # chat.postMessage truncates beyond; longer is msg_too_long
MAX_SECTION_TEXT = 3_000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2_000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2_000
MAX_ID = 255  # action_id, block_id
MAX_URL = 3_000
MAX_ALT_TEXT = 2_000

_MESSAGE, _VIEW = "message", "view"
#: the layout blocks Slack knows; any other type is refused
KNOWN_BLOCKS = frozenset(
    {"actions", "context", "divider", "file", "header", "image", "input", "rich_text", "section",
     "video"}
)  # fmt: skip


def problems(blocks: Iterable[Any] | None, *, surface: str = _MESSAGE) -> list[str]:
    """Every limit ``blocks`` breaks, in words (empty when Slack would accept them)."""
    found: list[str] = []
    items = list(blocks or [])
    most = MAX_VIEW_BLOCKS if surface == _VIEW else MAX_MESSAGE_BLOCKS
    if len(items) > most:
        found.append(f"{len(items)} blocks, more than {most}")
    for index, block in enumerate(items):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            found.append(f"block {index} is not a block")
            continue
        found.extend(f"block {index} ({block['type']}): {p}" for p in _block(block))
    return found


def text_problem(text: str) -> str | None:
    """The message-text limit (Slack's ``msg_too_long``)."""
    return "msg_too_long" if len(text) > MAX_MESSAGE_TEXT else None


def _block(block: dict[str, Any]) -> Iterator[str]:
    kind = block["type"]
    if kind not in KNOWN_BLOCKS:
        yield f"unknown block type {kind!r}"
    yield from _longer("block_id", block.get("block_id"), MAX_ID)
    if kind == "section":
        if block.get("text") is None and not block.get("fields"):
            yield "a section needs text or fields"
        yield from _text("text", block.get("text"), MAX_SECTION_TEXT)
        fields = block.get("fields") or []
        if len(fields) > MAX_FIELDS:
            yield f"{len(fields)} fields, more than {MAX_FIELDS}"
        for field in fields:
            yield from _text("field", field, MAX_FIELD_TEXT)
        if isinstance(block.get("accessory"), dict):
            yield from _element(block["accessory"])
    elif kind == "header":
        yield from _text("header", block.get("text"), MAX_HEADER_TEXT, required=True)
    elif kind == "context":
        elements = block.get("elements") or []
        if not elements or len(elements) > MAX_CONTEXT_ELEMENTS:
            yield f"{len(elements)} context elements (1 to {MAX_CONTEXT_ELEMENTS})"
        for element in elements:
            if isinstance(element, dict) and element.get("type") == "image":
                yield from _image(element)
            else:
                yield from _text("context", element, MAX_SECTION_TEXT)
    elif kind == "actions":
        elements = block.get("elements") or []
        if not elements or len(elements) > MAX_ACTIONS_ELEMENTS:
            yield f"{len(elements)} actions (1 to {MAX_ACTIONS_ELEMENTS})"
        for element in elements:
            yield from _element(element)
    elif kind == "image":
        yield from _image(block)


def _element(element: Any) -> Iterator[str]:
    if not isinstance(element, dict):
        yield "an element is not an object"
        return
    yield from _longer("action_id", element.get("action_id"), MAX_ID)
    if element.get("type") == "button":
        yield from _text("button", element.get("text"), MAX_BUTTON_TEXT, required=True)
        yield from _longer("button value", element.get("value"), MAX_BUTTON_VALUE)
        yield from _longer("button url", element.get("url"), MAX_URL)
    elif element.get("type") == "image":
        yield from _image(element)


def _image(image: dict[str, Any]) -> Iterator[str]:
    yield from _longer("alt_text", image.get("alt_text"), MAX_ALT_TEXT)
    yield from _longer("image_url", image.get("image_url"), MAX_URL)
    yield from _text("image title", image.get("title"), MAX_ALT_TEXT)


def _text(what: str, obj: Any, most: int, *, required: bool = False) -> Iterator[str]:
    if obj is None:
        if required:
            yield f"{what} text missing"
        return
    text = obj.get("text") if isinstance(obj, dict) else None
    if not isinstance(text, str) or (required and not text):
        yield f"{what} text missing"
        return
    yield from _longer(f"{what} text", text, most)


def _longer(what: str, value: Any, most: int) -> Iterator[str]:
    if isinstance(value, str) and len(value) > most:
        yield f"{what} has {len(value)} characters, more than {most}"
