"""One self-contained HTML page showing the Slack stand-in's conversation as Slack would.

Channels and people by name, ``<!date^…>`` in the reader's zone, links by their label, Block Kit
sections, fields, context lines, headers, images and buttons, thread replies indented under their
message, replies only one person saw marked so. Everything is escaped; images are inlined as
``data:`` URIs and a Content-Security-Policy forbids any other load, so the file opens anywhere.

    write_page(standin, Path("conversation.html"), zone="Europe/Paris")
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import html
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from bot.sandbox.slack.markup import SAFE_LINK, MarkupReader, Token, emoji
from bot.sandbox.slack.server import BOT_NAME, SlackStandIn, ts_to_us

TITLE = "Fleetbot in Slack"
ONLY_YOU = "Only visible to {who}"
EDITED = "(edited)"
APP_BADGE = "APP"
REPLIES = "{count} replies"
ONE_REPLY = "1 reply"
DM_TITLE = "Direct messages with {who}"
NOTHING_YET = "No messages yet."
IMAGE_MISSING = "image: {alt}"
PNG_MAGIC = b"\x89PNG"

#: a fetcher turns an image URL into (bytes, MIME type), or None when it cannot
ImageFetcher = Callable[[str], tuple[bytes, str] | None]

#: coloured circles (the severity badges) drawn in CSS: they must show without an emoji font
DOTS = {
    "red_circle": "#e01e5a",
    "large_orange_circle": "#f4900c",
    "large_blue_circle": "#1d9bd1",
    "white_circle": "#ffffff",
    "large_green_circle": "#2eb67d",
    "large_yellow_circle": "#ecb22e",
}

#: Slack's styles as HTML tags
HTML_WRAP = {
    "pre": ("<pre>", "</pre>"),
    "code": ("<code>", "</code>"),
    "bold": ("<b>", "</b>"),
    "italic": ("<i>", "</i>"),
    "strike": ("<s>", "</s>"),
}

CSS = """
*{box-sizing:border-box}
body{margin:0;font:15px/1.46 -apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;
 color:#1d1c1d;background:#fff;display:flex;min-height:100vh}
nav{width:220px;background:#3f0e40;color:#cfc3cf;padding:16px 0;flex:none}
nav h1{color:#fff;font-size:18px;margin:0 16px 16px}
nav a{display:block;color:#cfc3cf;text-decoration:none;padding:4px 16px}
nav a:hover{background:#350d36}
main{flex:1;min-width:0}
section.channel{border-bottom:1px solid #ddd;padding-bottom:12px}
section.channel>h2{margin:0;padding:14px 20px;font-size:18px;border-bottom:1px solid #e8e8e8;
 background:#fff;position:sticky;top:0}
.msg{display:flex;gap:10px;padding:8px 20px}
.msg:hover{background:#f8f8f8}
.avatar{width:36px;height:36px;border-radius:6px;background:#4a9;color:#fff;font-weight:700;
 display:flex;align-items:center;justify-content:center;flex:none}
.avatar.bot{background:#1264a3}
.body{flex:1;min-width:0}
.who{font-weight:900}
.badge{font-size:10px;background:#ddd;color:#555;border-radius:2px;padding:1px 3px;margin-left:4px;
 font-weight:700}
.when,.edited{color:#616061;font-size:12px;margin-left:6px}
.ephemeral{color:#616061;font-size:12px}
.thread{margin-left:66px;border-left:3px solid #ddd}
.thread .msg{padding-left:12px}
.replies{color:#1264a3;font-size:13px;font-weight:700;margin:2px 0}
.block{margin:4px 0}
.header{font-size:18px;font-weight:900}
.fields{display:grid;grid-template-columns:1fr 1fr;gap:4px 16px;margin-top:4px}
.context{color:#616061;font-size:13px;display:flex;gap:8px;align-items:center;flex-wrap:wrap}
.context img{width:20px;height:20px}
.section{display:flex;gap:12px}
.section>.text{flex:1}
.actions{display:flex;gap:8px;flex-wrap:wrap;margin-top:6px}
.button{display:inline-block;border:1px solid #bbb;border-radius:4px;padding:3px 12px;
 font-weight:700;font-size:13px;background:#fff;color:#1d1c1d}
.button.primary{background:#007a5a;border-color:#007a5a;color:#fff}
.button.danger{background:#e01e5a;border-color:#e01e5a;color:#fff}
.select{display:inline-block;border:1px solid #bbb;border-radius:4px;padding:3px 10px;
 font-size:13px}
hr{border:0;border-top:1px solid #ddd;margin:8px 0}
figure{margin:6px 0}
figure img{max-width:min(600px,100%);border:1px solid #ddd;border-radius:6px;display:block}
figcaption{color:#616061;font-size:13px}
.missing{border:1px dashed #bbb;color:#616061;padding:8px;display:inline-block}
code{background:#f6f6f6;border:1px solid #ddd;border-radius:3px;padding:0 3px;color:#e01e5a;
 font-size:12px}
pre{background:#f6f6f6;border:1px solid #ddd;border-radius:4px;padding:8px;white-space:pre-wrap}
blockquote{border-left:4px solid #ddd;margin:4px 0;padding-left:10px}
a{color:#1264a3;text-decoration:none}
.mention{background:#e8f5fa;color:#1264a3;border-radius:3px;padding:0 2px}
.empty{color:#616061;padding:12px 20px}
.dot{display:inline-block;width:.8em;height:.8em;border-radius:50%;border:1px solid #999;
 vertical-align:-.05em}
"""


@dataclasses.dataclass(frozen=True)
class _Item:
    """One thing shown in a channel: a message, an ephemeral or a response-URL reply."""

    ts: str
    author: str  # user id
    text: str
    blocks: list[Any] | None
    thread_ts: str | None = None
    edited: bool = False
    only_for: str | None = None  # user id: an ephemeral or a response only they saw
    files: tuple[Mapping[str, Any], ...] = ()


class PageRenderer:
    """Renders a snapshot of a SlackStandIn as HTML (see the module docstring)."""

    def __init__(
        self,
        standin: SlackStandIn,
        *,
        zone: str | dt.tzinfo = "UTC",
        now: dt.datetime | None = None,
        fetch_image: ImageFetcher | None = None,
        title: str = TITLE,
    ) -> None:
        self.standin = standin
        self.reader = MarkupReader(standin, zone=zone, now=now)
        self.zone = self.reader.zone
        self.fetch_image = fetch_image
        self.title = title

    # -- the page ---------------------------------------------------------------------------

    def render(self) -> str:
        """The whole page."""
        by_channel = self._items()
        nav = "".join(
            f'<a href="#{_e(channel)}">{_e(self._channel_title(channel))}</a>'
            for channel in by_channel
        )
        sections = "".join(self._channel(channel, items) for channel, items in by_channel.items())
        if not sections:
            sections = f'<p class="empty">{_e(NOTHING_YET)}</p>'
        policy = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(self.title)}</title><style>{CSS}</style></head>"
            f"<body><nav><h1>{_e(self.title)}</h1>{nav}</nav><main>{sections}</main></body></html>\n"
        )

    def _items(self) -> dict[str, list[_Item]]:
        """Every channel's items, in time order (channels in the order they first spoke)."""
        found: dict[str, list[_Item]] = {}
        for msg in self.standin.messages():
            found.setdefault(msg.channel, []).append(
                _Item(
                    msg.ts,
                    msg.user,
                    msg.text,
                    msg.blocks,
                    msg.thread_ts if msg.thread_ts != msg.ts else None,
                    msg.edited,
                    files=tuple(getattr(msg, "files", None) or ()),
                )
            )
        for eph in list(self.standin.ephemerals):
            found.setdefault(str(eph["channel"]), []).append(
                _Item(
                    str(eph["ts"]),
                    self.standin.bot_user_id,
                    str(eph.get("text") or ""),
                    eph.get("blocks"),
                    only_for=str(eph.get("user") or "") or None,
                )
            )
        for response in list(self.standin.responses):
            shown_alone = not (
                _flag(response.get("replace_original"))
                or _flag(response.get("delete_original"))
                or response.get("response_type") == "in_channel"
            )
            if shown_alone and response.get("channel"):
                blocks = response.get("blocks")
                found.setdefault(str(response["channel"]), []).append(
                    _Item(
                        f"{float(response['time']):.6f}",
                        self.standin.bot_user_id,
                        str(response.get("text") or ""),
                        blocks if isinstance(blocks, list) else None,
                        only_for=str(response.get("user") or "") or "you",
                    )
                )
        for items in found.values():
            items.sort(key=lambda item: ts_to_us(item.ts))
        return found

    def _channel_title(self, channel: str) -> str:
        if channel.startswith("D"):
            return DM_TITLE.format(who="@" + self.standin.user_name("U" + channel[1:]))
        return "#" + self.standin.channel_name(channel)

    def _channel(self, channel: str, items: list[_Item]) -> str:
        replies: dict[str, list[_Item]] = {}
        for item in items:
            if item.thread_ts:
                replies.setdefault(item.thread_ts, []).append(item)
        parents = {item.ts for item in items if not item.thread_ts}
        out = [f'<section class="channel" id="{_e(channel)}">']
        out.append(f"<h2>{_e(self._channel_title(channel))}</h2>")
        for item in items:
            if item.thread_ts and item.thread_ts in parents:
                continue  # shown under its parent
            out.append(self._message(item))
            thread = replies.get(item.ts, [])
            if thread and not item.thread_ts:
                count = ONE_REPLY if len(thread) == 1 else REPLIES.format(count=len(thread))
                out.append(f'<div class="thread"><div class="replies">{_e(count)}</div>')
                out.extend(self._message(reply) for reply in thread)
                out.append("</div>")
        out.append("</section>")
        return "".join(out)

    def _message(self, item: _Item) -> str:
        bot = item.author == self.standin.bot_user_id
        name = BOT_NAME if bot else self.standin.user_name(item.author)
        when = dt.datetime.fromtimestamp(ts_to_us(item.ts) / 1e6, self.zone)
        head = [f'<span class="who">{_e(name)}</span>']
        if bot:
            head.append(f'<span class="badge">{APP_BADGE}</span>')
        head.append(f'<span class="when">{when:%H:%M}</span>')
        if item.edited:
            head.append(f'<span class="edited">{_e(EDITED)}</span>')
        if item.only_for:
            who = item.only_for if item.only_for == "you" else self._user(item.only_for)
            head.append(f'<div class="ephemeral">{_e(ONLY_YOU.format(who=who))}</div>')
        body = (
            self.blocks(item.blocks)
            if item.blocks
            else f'<div class="block">{self.mrkdwn(item.text)}</div>'
        )
        files = "".join(self._file(f) for f in item.files)
        initial = _e(name[:1].upper() or "?")
        return (
            f'<div class="msg{" ephemeral-msg" if item.only_for else ""}">'
            f'<div class="avatar{" bot" if bot else ""}">{initial}</div>'
            f'<div class="body"><div>{"".join(head)}</div>{body}{files}</div></div>'
        )

    # -- Block Kit --------------------------------------------------------------------------

    def blocks(self, blocks: Iterable[Any]) -> str:
        """Block Kit blocks as HTML."""
        return "".join(self._block(b) for b in blocks if isinstance(b, dict))

    def _block(self, block: Mapping[str, Any]) -> str:
        kind = block.get("type")
        if kind == "header":
            return f'<div class="block header">{self._text(block.get("text"))}</div>'
        if kind == "section":
            parts = []
            if block.get("text"):
                parts.append(f"<div>{self._text(block['text'])}</div>")
            fields = [self._text(f) for f in block.get("fields") or []]
            if fields:
                parts.append(
                    '<div class="fields">' + "".join(f"<div>{f}</div>" for f in fields) + "</div>"
                )
            accessory = block.get("accessory")
            side = self._element(accessory) if isinstance(accessory, dict) else ""
            return (
                f'<div class="block section"><div class="text">{"".join(parts)}</div>'
                f"{f'<div>{side}</div>' if side else ''}</div>"
            )
        if kind == "context":
            parts = [
                self._image(e, small=True) if e.get("type") == "image" else self._text(e)
                for e in block.get("elements") or []
                if isinstance(e, dict)
            ]
            return f'<div class="block context">{"".join(f"<span>{p}</span>" for p in parts)}</div>'
        if kind == "actions":
            elements = [e for e in block.get("elements") or [] if isinstance(e, dict)]
            return f'<div class="block actions">{"".join(self._element(e) for e in elements)}</div>'
        if kind == "divider":
            return "<hr>"
        if kind == "image":
            return f'<div class="block">{self._image(block)}</div>'
        if kind == "rich_text":
            return f'<div class="block">{self._rich(block.get("elements") or [])}</div>'
        if kind == "input":
            label = self._text(block.get("label"))
            element = block.get("element")
            control = self._element(element) if isinstance(element, dict) else ""
            return f'<div class="block"><div><b>{label}</b></div>{control}</div>'
        return ""

    def _element(self, element: Mapping[str, Any]) -> str:
        kind = str(element.get("type", ""))
        if kind == "button":
            style = element.get("style")
            css = f" {style}" if style in ("primary", "danger") else ""
            return (
                f'<span class="button{css}" role="button">{self._text(element.get("text"))}</span>'
            )
        if kind == "image":
            return self._image(element)
        if kind == "overflow":
            return '<span class="button" role="button">⋯</span>'
        label = self._text(element.get("placeholder")) or _e(kind)
        initial = element.get("initial_option")
        if isinstance(initial, dict):
            label = self._text(initial.get("text"))
        return f'<span class="select">{label} ▾</span>'

    def _text(self, obj: Any) -> str:
        """A text object (plain_text escaped, mrkdwn rendered), or a bare string."""
        if isinstance(obj, str):
            return self.mrkdwn(obj)
        if not isinstance(obj, dict):
            return ""
        text = obj.get("text")
        if isinstance(text, dict):
            return self._text(text)
        if not isinstance(text, str):
            return ""
        if obj.get("type") == "plain_text":
            return _emoji(_e(text)) if obj.get("emoji", True) else _e(text)
        return self.mrkdwn(text)

    def _image(self, obj: Mapping[str, Any], *, small: bool = False) -> str:
        alt = str(obj.get("alt_text") or "")
        ref = obj.get("slack_file")
        if isinstance(ref, dict):
            source = self._uploaded(str(ref.get("id") or ""))
        else:
            source = self._data_uri(str(obj.get("image_url") or ""))
        if source is None:
            return f'<span class="missing">{_e(IMAGE_MISSING.format(alt=alt))}</span>'
        img = f'<img src="{_e(source)}" alt="{_e(alt)}">'
        if small:
            return img
        title = self._text(obj.get("title")) if obj.get("title") else ""
        return f"<figure>{img}{f'<figcaption>{title}</figcaption>' if title else ''}</figure>"

    def _file(self, file: Mapping[str, Any]) -> str:
        """An uploaded file: images inline, anything else by its name."""
        name = str(file.get("title") or file.get("name") or "file")
        mime = str(file.get("mimetype") or "")
        content = file.get("content")
        if isinstance(content, bytes) and mime.startswith("image/"):
            source = f"data:{mime};base64,{base64.b64encode(content).decode()}"
            caption = f"<figcaption>{_e(name)}</figcaption>"
            return f'<figure><img src="{_e(source)}" alt="{_e(name)}">{caption}</figure>'
        return f'<div class="missing">{_e(name)}</div>'

    def _uploaded(self, file_id: str) -> str | None:
        """A file uploaded to the stand-in (``slack_file`` in an image block) as a data: URI."""
        found = self.standin.files.get(file_id)
        if found is None or not found.completed or found.data is None:
            return None
        if not found.data.startswith(PNG_MAGIC):  # the stand-in types uploads by their bytes
            return None
        return f"data:image/png;base64,{base64.b64encode(found.data).decode()}"

    def _data_uri(self, url: str) -> str | None:
        if url.startswith("data:image/"):
            return url
        if not url or self.fetch_image is None:
            return None
        fetched = self.fetch_image(url)
        if fetched is None:
            return None
        content, mime = fetched
        if not mime.startswith("image/"):
            return None
        return f"data:{mime};base64,{base64.b64encode(content).decode()}"

    def _rich(self, elements: Iterable[Any]) -> str:
        out: list[str] = []
        for element in elements:
            if not isinstance(element, dict):
                continue
            kind = element.get("type")
            if isinstance(element.get("elements"), list):
                inner = self._rich(element["elements"])
                if kind == "rich_text_preformatted":
                    out.append(f"<pre>{inner}</pre>")
                elif kind == "rich_text_quote":
                    out.append(f"<blockquote>{inner}</blockquote>")
                elif kind == "rich_text_list":
                    out.append(
                        "<ul>"
                        + "".join(f"<li>{self._rich([e])}</li>" for e in element["elements"])
                        + "</ul>"
                    )
                else:
                    out.append(inner)
            elif kind == "link":
                out.append(self._link(str(element.get("url", "")), element.get("text")))
            elif kind == "user":
                out.append(self._mention("@" + self.standin.user_name(str(element.get("user_id")))))
            elif kind == "channel":
                out.append(
                    self._mention("#" + self.standin.channel_name(str(element.get("channel_id"))))
                )
            elif kind == "emoji":
                out.append(_emoji(_e(f":{element.get('name', '')}:")))
            else:
                text = _e(str(element.get("text", ""))).replace("\n", "<br>")
                style = element.get("style")
                style = style if isinstance(style, dict) else {}
                if style.get("bold"):
                    text = f"<b>{text}</b>"
                if style.get("italic"):
                    text = f"<i>{text}</i>"
                if style.get("code"):
                    text = f"<code>{text}</code>"
                out.append(text)
        return "".join(out)

    # -- mrkdwn -----------------------------------------------------------------------------

    def mrkdwn(self, text: str) -> str:
        """Slack mrkdwn as HTML: tokens by name, then bold, italic, strike, code, quotes."""
        styled = self.reader.render(text, literal=_e, token=self._token, wrap=HTML_WRAP)
        return _lines(styled)

    def _token(self, token: Token) -> str:
        if token.kind == "link":
            return self._link(token.url, token.text if token.text != token.url else None)
        if token.kind == "date":
            return _e(token.text)
        return self._mention(token.text)

    def _mention(self, text: str) -> str:
        return f'<span class="mention">{_e(text)}</span>'

    def _link(self, url: str, label: Any) -> str:
        shown = _e(str(label)) if label else _e(url)
        if not SAFE_LINK.match(url):
            return shown
        return f'<a href="{_e(url)}" rel="noopener noreferrer">{shown}</a>'

    def _user(self, user_id: str) -> str:
        return self.reader.user(user_id)


def render_page(standin: SlackStandIn, **options: Any) -> str:
    """The stand-in's conversation as one HTML page (options as PageRenderer takes them)."""
    return PageRenderer(standin, **options).render()


def write_page(standin: SlackStandIn, path: Path, **options: Any) -> Path:
    """Write the page to ``path`` (UTF-8) and return the path."""
    path.write_text(render_page(standin, **options), encoding="utf-8")
    return path


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _dot(name: str) -> str:
    """A severity circle drawn in CSS (it must show without an emoji font); "" for others."""
    if name not in DOTS:
        return ""
    return f'<span class="dot" style="background:{DOTS[name]}" title=":{name}:"></span>'


def _emoji(escaped: str) -> str:
    return emoji(escaped, _dot)


def _lines(styled: str) -> str:
    """Quotes, emoji and line breaks on already-escaped, styled text."""
    out: list[str] = []
    for line in styled.split("\n"):
        if line.startswith("&gt; "):
            out.append(f"<blockquote>{line[5:]}</blockquote>")
        else:
            out.append(line + "<br>")
    return _emoji("".join(out).removesuffix("<br>"))
