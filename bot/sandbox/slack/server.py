"""A local imitation of the Slack Web API and of response URLs, for tests, the demo and benchmarks.

It speaks plain HTTP/1.1 on 127.0.0.1, keeps channels and messages in memory, answers with
Slack's response shapes and error strings, and can inject faults (429, 500, a dropped connection
after a stored post, a slow answer) at random or exactly once.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import datetime as dt
import hmac
import itertools
import json
import logging
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

from bot.sandbox.slack import blockkit, render

log = logging.getLogger(__name__)

BOT_NAME = "Fleetbot"
TEAM_NAME = "Sandbox"
TEAM_DOMAIN = "sandbox"
FAULT_KINDS = ("ratelimited", "500", "drop_after_post", "timeout")
TIMEOUT_FAULT_SECONDS = 15.0
RETRY_AFTER_SECONDS = 1
RESPONSE_URL_METHOD = "response_url"  # the `method` name fail_next() uses for response URLs
THREAD_REPLY_METHOD = "chat.postMessage/thread"  # fail_next(): the next thread reply only
HISTORY_DEFAULT_LIMIT = 100
HISTORY_MAX_LIMIT = 999
CURSOR_PREFIX = "next_ts:"
IDLE_CONNECTION_SECONDS = 30.0  # bounds a keep-alive connection nobody closes
MSG_NOT_STARTED = "SlackStandIn is not started: call start() or use it as a context manager"
MSG_WAIT_TIMEOUT = (
    "condition not met within {timeout} s\n--- transcript ---\n{transcript}\n"
    "--- last calls ---\n{calls}"
)


class _SlackError(Exception):
    """A Slack error string to answer with ``{"ok": false, "error": …}``."""

    def __init__(self, error: str, messages: list[str] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages or []  # Slack's response_metadata.messages (what was wrong)


@dataclass
class Message:
    """One channel message as Slack would store it (current version; earlier ones in history)."""

    channel: str
    ts: str
    text: str
    blocks: list[Any] | None
    metadata: dict[str, Any] | None
    user: str
    thread_ts: str | None = None
    edited: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False
    bot_id: str | None = None  # set on messages posted by an app (ours or another)
    app_id: str | None = None
    broadcast: bool = False  # a thread reply also shown in the channel (`reply_broadcast`)
    parent_user: str | None = None  # a reply's parent's author (`parent_user_id`)

    @property
    def is_reply(self) -> bool:
        """True for a message in a thread that is not the thread's parent."""
        return bool(self.thread_ts) and self.thread_ts != self.ts


@dataclass(frozen=True)
class Call:
    """One Web API call as the stand-in received and answered it (the token itself is not kept)."""

    method: str
    params: dict[str, Any]
    token_ok: bool
    status: int  # 0 when the connection was dropped without an answer
    error: str | None
    time: float
    fault: str | None = None


@dataclass
class _Channel:
    """A conversation the stand-in knows."""

    id: str
    name: str
    created: int
    archived: bool = False
    deleted: bool = False
    member: bool = True
    is_im: bool = False
    user: str | None = None


@dataclass(frozen=True)
class _Binding:
    """What a minted response URL belongs to: a command's channel, or a channel message."""

    channel: str | None
    message_ts: str | None
    user: str | None


@dataclass
class _Reply:
    """How the HTTP handler should answer."""

    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    delay: float = 0.0

    @classmethod
    def json(cls, status: int, data: dict[str, Any], **kw: Any) -> _Reply:
        """Build a JSON reply."""
        return cls(status, json.dumps(data).encode(), **kw)

    @classmethod
    def text(cls, status: int, text: str) -> _Reply:
        """Build a plain-text reply."""
        return cls(status, text.encode(), content_type="text/plain; charset=utf-8")


def ts_to_us(ts: str) -> int:
    """Convert a Slack ts ("1700000000.000100") to integer microseconds."""
    sec, _, frac = str(ts).strip().partition(".")
    if not sec.isdigit() or (frac and not frac.isdigit()):
        raise ValueError(ts)
    return int(sec) * 1_000_000 + int((frac + "000000")[:6])


def us_to_ts(us: int) -> str:
    """Convert integer microseconds to a Slack ts string."""
    return f"{us // 1_000_000}.{us % 1_000_000:06d}"


def _flag(value: Any) -> bool:
    """Read a boolean Slack parameter sent as JSON or as a form string."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def _json_param(params: dict[str, Any], name: str, error: str) -> Any:
    """Return a parameter that may arrive as JSON text (form) or as a value (JSON body)."""
    value = params.get(name)
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise _SlackError(error) from None
    return value


def _blocks_param(params: dict[str, Any]) -> list[Any] | None:
    """Parse and check the ``blocks`` parameter (and the message text's length)."""
    if problem := blockkit.text_problem(str(params.get("text") or "")):
        raise _SlackError(problem)
    blocks = _json_param(params, "blocks", "invalid_blocks_format")
    if blocks is None:
        return None
    if not isinstance(blocks, list):
        raise _SlackError("invalid_blocks")
    if found := blockkit.problems(blocks):
        raise _SlackError("invalid_blocks", found)
    return blocks


def _metadata_param(params: dict[str, Any]) -> dict[str, Any] | None:
    """Parse and check the ``metadata`` parameter ({event_type, event_payload})."""
    metadata = _json_param(params, "metadata", "invalid_metadata_format")
    if metadata is None:
        return None
    if (
        not isinstance(metadata, dict)
        or not isinstance(metadata.get("event_type"), str)
        or not isinstance(metadata.get("event_payload"), dict)
    ):
        raise _SlackError("invalid_metadata_schema")
    return {"event_type": metadata["event_type"], "event_payload": metadata["event_payload"]}


UPLOAD_PATH = "/upload/v1/"


@dataclass
class UploadedFile:
    """A file uploaded through Slack's external upload; ``completed`` once it may be shown."""

    id: str
    name: str
    length: int
    alt_txt: str
    created: int
    data: bytes | None = None
    title: str = ""
    completed: bool = False
    channels: list[str] = field(default_factory=list)

    def payload(self, standin: SlackStandIn) -> dict[str, Any]:
        """The file object as files.completeUploadExternal returns it."""
        is_png = (self.data or b"").startswith(b"\x89PNG")
        return {
            "id": self.id,
            "created": self.created,
            "name": self.name,
            "title": self.title,
            "mimetype": "image/png" if is_png else "application/octet-stream",
            "filetype": "png" if is_png else "binary",
            "user": standin.bot_user_id,
            "size": len(self.data or b""),
            "url_private": f"{standin.url}/files/{self.id}/{self.name}",
            "permalink": f"https://{standin.team_domain}.slack.com/files/{standin.bot_user_id}/"
            f"{self.id}/{self.name}",
            "channels": list(self.channels),
            "alt_txt": self.alt_txt,
        }


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its stand-in and joins its handler threads on close."""

    daemon_threads = False
    block_on_close = True
    request_queue_size = 128  # benchmarks open many connections at once

    def __init__(self, address: tuple[str, int], standin: SlackStandIn) -> None:
        self.standin = standin
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that went away; log anything else."""
        log.debug("slack stand-in: connection error from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    """Routes /api/<method> and /response/<id> to the stand-in."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_CONNECTION_SECONDS
    server: _Server

    def setup(self) -> None:
        """Track the connection so stop() can unblock it."""
        super().setup()
        self.server.standin._track(self.connection, add=True)

    def finish(self) -> None:
        """Untrack the connection."""
        try:
            super().finish()
        finally:
            self.server.standin._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        """Send access logs to logging at debug level instead of stderr."""
        log.debug("slack stand-in: " + format, *args)

    def do_GET(self) -> None:
        """Handle GET (Web API methods accept both verbs)."""
        self._dispatch()

    def do_POST(self) -> None:
        """Handle POST."""
        self._dispatch()

    def _read_body(self) -> bytes:
        """Read a Content-Length or chunked request body."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        """Read the request, let the stand-in decide, write the answer (or drop the connection)."""
        body = self._read_body()
        parts = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            reply = self.server.standin._handle(parts.path, parts.query, headers, body)
        except Exception:  # a stand-in bug must show up as a 500, not a hung client
            log.exception("slack stand-in: internal error on %s", parts.path)
            reply = _Reply.json(500, {"ok": False, "error": "internal_error"})
        if reply.drop:
            self.close_connection = True
            return
        if reply.delay and self.server.standin._stopping.wait(reply.delay):
            self.close_connection = True
            return
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True


class SlackStandIn:
    """Fake Slack Web API plus response_url receiver, plain HTTP on 127.0.0.1."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-sandbox-token",  # noqa: S107 - a sandbox token, not a secret
        team_id: str = "T0SANDBOX",
        bot_user_id: str = "U0FLEETBOT",
        channels: Iterable[str] = ("C0ALERTS", "C0OPS", "C0DEPOT"),
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
        post_rate_per_channel: float | None = None,
    ) -> None:
        self.bot_token = bot_token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = "B" + bot_user_id[1:]
        self.app_id = "A" + bot_user_id[1:]
        self.team_domain = TEAM_DOMAIN
        self._host = host
        self._port = port
        self._clock = clock
        self._lock = threading.RLock()
        self._channels: dict[str, _Channel] = {}
        self._messages: dict[str, list[Message]] = {}
        self._index: dict[tuple[str, str], Message] = {}  # (channel, ts) → message
        self._replies: dict[tuple[str, str], list[Message]] = {}  # (channel, thread_ts) → replies
        self._response_urls: dict[str, _Binding] = {}
        self._entries: list[render.Entry] = []
        self._fail_next: dict[str, deque[str]] = {}
        self._buckets: dict[str, tuple[float, float]] = {}
        self._last_us = 0
        self._ids = itertools.count(1)
        self._rng = random.Random(0)
        self._fault_seed = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._conns: set[socket.socket] = set()
        self.calls: list[Call] = []
        self.responses: list[dict[str, Any]] = []
        self.ephemerals: list[dict[str, Any]] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        #: external uploads by file id: getUploadURLExternal → bytes POSTed → completeUploadExternal
        self.files: dict[str, UploadedFile] = {}
        # Fault knobs: probabilities in [0, 1], read on every call, settable at any time.
        self.rate_limit_rate = 0.0
        self.error_rate = 0.0
        self.drop_after_post_rate = 0.0
        self.post_rate_per_channel = post_rate_per_channel
        self.post_burst = 1.0  # bucket size for post_rate_per_channel
        self._token_refused: str | None = None  # revoke_token(): every call answers this
        self.add_user(bot_user_id, "fleetbot", is_bot=True)
        for channel in channels:
            self.add_channel(channel)

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> SlackStandIn:
        """Start serving in a background thread; returns self."""
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server((self._host, self._port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="slack-standin",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close every connection and join the threads."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):  # already closed by the peer
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``."""
        if self._server is None:
            raise RuntimeError(MSG_NOT_STARTED)
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        """Web API base URL for ``SLACK_API_URL`` / ``WebClient(base_url=…)``."""
        return self.url + "/api/"

    # --- world set-up ----------------------------------------------------------------------------

    def add_channel(self, channel: str, name: str | None = None) -> None:
        """Create a public channel the bot is a member of."""
        with self._lock:
            if name is None:
                name = channel[2:].lower() if channel.startswith("C0") else channel.lower()
            self._channels[channel] = _Channel(channel, name, int(self._clock()))
            self._messages.setdefault(channel, [])

    def add_user(self, user_id: str, name: str, *, is_bot: bool = False, tz: str = "UTC") -> None:
        """Register a workspace member for users.info."""
        with self._lock:
            self.users[user_id] = {
                "id": user_id,
                "team_id": self.team_id,
                "name": name,
                "real_name": name.title(),
                "deleted": False,
                "is_bot": is_bot,
                "is_admin": False,
                "tz": tz,
                "tz_offset": 0,
                "profile": {"display_name": name, "real_name": name.title()},
            }

    def archive_channel(self, channel: str) -> None:
        """Archive a channel: posts then fail with ``is_archived``."""
        with self._lock:
            self._channels[channel].archived = True

    def delete_channel(self, channel: str) -> None:
        """Delete a channel: every call then fails with ``channel_not_found``."""
        with self._lock:
            self._channels[channel].deleted = True

    def kick_bot(self, channel: str) -> None:
        """Remove the bot from a channel: posts then fail with ``not_in_channel``."""
        with self._lock:
            self._channels[channel].member = False

    def restore_channel(self, channel: str) -> None:
        """Undo archive/delete/kick."""
        with self._lock:
            ch = self._channels[channel]
            ch.archived = ch.deleted = False
            ch.member = True

    def channel_name(self, channel: str) -> str:
        """Return a channel's name (the id itself if unknown)."""
        with self._lock:
            ch = self._channels.get(channel)
            return ch.name if ch else channel

    def user_name(self, user_id: str) -> str:
        """Return a user's name (derived from the id if unknown)."""
        with self._lock:
            user = self.users.get(user_id)
            return str(user["name"]) if user else user_id.lower()

    # --- faults ----------------------------------------------------------------------------------

    @property
    def fault_seed(self) -> int:
        """Seed of the random fault generator; setting it restarts the sequence."""
        return self._fault_seed

    @fault_seed.setter
    def fault_seed(self, seed: int) -> None:
        with self._lock:
            self._fault_seed = seed
            self._rng = random.Random(seed)

    def fail_next(self, method: str, kind: str) -> None:
        """Inject exactly one fault into the next call of ``method`` (or ``"response_url"``).

        ``kind`` is one of ratelimited, 500, drop_after_post, timeout, or a Slack error string.
        ``THREAD_REPLY_METHOD`` targets the next ``chat.postMessage`` that carries a thread_ts.
        """
        with self._lock:
            self._fail_next.setdefault(method, deque()).append(kind)

    def revoke_token(self, error: str = "invalid_auth") -> None:
        """Refuse the bot token on every call, ``auth.test`` included, until restore_token()."""
        with self._lock:
            self._token_refused = error

    def restore_token(self) -> None:
        """Accept the bot token again."""
        with self._lock:
            self._token_refused = None

    def post_as_app(
        self,
        channel: str,
        text: str,
        *,
        metadata: dict[str, Any] | None = None,
        bot_id: str = "B0OTHERAPP",
        app_id: str = "A0OTHERAPP",
        user: str = "U0OTHERAPP",
    ) -> Message:
        """Store a message posted by another app (its own bot_id), e.g. with forged metadata."""
        with self._lock:
            msg = self._store(channel, text, None, metadata, None, user=user)
            msg.bot_id, msg.app_id = bot_id, app_id
            return replace(msg)

    def _pick_fault(self, method: str, params: dict[str, Any] | None = None) -> str | None:
        """Decide the fault for this call: a queued one first, else the random knobs."""
        with self._lock:
            if method == "chat.postMessage" and (params or {}).get("thread_ts"):
                replies = self._fail_next.get(THREAD_REPLY_METHOD)
                if replies:
                    return replies.popleft()
            queued = self._fail_next.get(method)
            if queued:
                return queued.popleft()
            if method == RESPONSE_URL_METHOD:
                return None
            if self.rate_limit_rate and self._rng.random() < self.rate_limit_rate:
                return "ratelimited"
            if self.error_rate and self._rng.random() < self.error_rate:
                return "500"
            if (
                method == "chat.postMessage"
                and self.drop_after_post_rate
                and self._rng.random() < self.drop_after_post_rate
            ):
                return "drop_after_post"
            return None

    def _post_allowed(self, channel: str) -> bool:
        """Token bucket per channel for post_rate_per_channel."""
        rate = self.post_rate_per_channel
        if not rate:
            return True
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(channel, (self.post_burst, now))
            tokens = min(self.post_burst, tokens + (now - last) * rate)
            if tokens < 1.0:
                self._buckets[channel] = (tokens, now)
                return False
            self._buckets[channel] = (tokens - 1.0, now)
            return True

    @property
    def ratelimited(self) -> int:
        """How many calls were answered with 429 ratelimited."""
        with self._lock:
            return sum(1 for c in self.calls if c.status == 429)

    # --- state for tests -------------------------------------------------------------------------

    def messages(self, channel: str | None = None) -> list[Message]:
        """Current channel messages (after updates, without deleted ones), oldest first."""
        with self._lock:
            chans = [channel] if channel is not None else list(self._messages)
            found = [
                replace(m, history=copy.deepcopy(m.history))
                for ch in chans
                for m in self._messages.get(ch, [])
                if not m.deleted
            ]
        return sorted(found, key=lambda m: ts_to_us(m.ts))

    def message(self, channel: str, ts: str) -> Message | None:
        """Return one current message, or None."""
        with self._lock:
            msg = self._find(channel, ts)
            return replace(msg, history=copy.deepcopy(msg.history)) if msg else None

    def responses_for(self, response_url: str) -> list[dict[str, Any]]:
        """Return the POSTs received on one response URL (full URL or id), in order."""
        rid = response_url.rstrip("/").rsplit("/", 1)[-1]
        with self._lock:
            return [r for r in self.responses if r["id"] == rid]

    def message_payload(self, msg: Message, *, include_metadata: bool = True) -> dict[str, Any]:
        """Render a message as Slack's API shows it (history item, interaction payload)."""
        data: dict[str, Any] = {
            "type": "message",
            "user": msg.user,
            "text": msg.text,
            "ts": msg.ts,
            "team": self.team_id,
        }
        if msg.bot_id:
            data["bot_id"] = msg.bot_id
            data["app_id"] = msg.app_id
        if msg.blocks is not None:
            data["blocks"] = copy.deepcopy(msg.blocks)
        if msg.thread_ts:
            data["thread_ts"] = msg.thread_ts
        if msg.is_reply:
            data["parent_user_id"] = msg.parent_user
            if msg.broadcast:
                data["subtype"] = "thread_broadcast"
        if msg.edited:
            data["edited"] = {"user": self.bot_user_id, "ts": msg.history[-1]["edited_ts"]}
        if include_metadata and msg.metadata is not None:
            data["metadata"] = copy.deepcopy(msg.metadata)
        return data

    def response_url(
        self, *, channel: str | None = None, message_ts: str | None = None, user: str | None = None
    ) -> str:
        """Mint a fresh response URL on this server, optionally bound to a channel message."""
        with self._lock:
            rid = f"R{next(self._ids):06d}"
            self._response_urls[rid] = _Binding(channel, message_ts, user)
        return f"{self.url}/response/{rid}"

    def record(self, entry: render.Entry) -> None:
        """Add a line to the transcript (the driver records commands and clicks here)."""
        with self._lock:
            self._entries.append(entry)

    def mark(self) -> int:
        """Return a position in the transcript, for transcript(since=…)."""
        with self._lock:
            return len(self._entries)

    def transcript(
        self, *, since: int = 0, zone: str | dt.tzinfo = "UTC", colour: bool = False
    ) -> str:
        """Readable conversation, one entry per post/update/ephemeral/reply/command/click.

        Channels and people by name, dates in ``zone``, ANSI styles when ``colour``.
        """
        with self._lock:
            entries = list(self._entries[since:])
        return render.transcript(entries, self, zone=zone, colour=colour)

    def wait_for(self, predicate: Callable[[SlackStandIn], bool], timeout: float = 10) -> None:
        """Poll until ``predicate(self)`` is true, else raise TimeoutError with a dump."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate(self):
                return
            if time.monotonic() >= deadline:
                with self._lock:
                    calls = "\n".join(
                        f"{c.method} status={c.status} error={c.error} fault={c.fault}"
                        for c in self.calls[-20:]
                    )
                raise TimeoutError(
                    MSG_WAIT_TIMEOUT.format(
                        timeout=timeout, transcript=self.transcript(), calls=calls
                    )
                )
            time.sleep(0.02)

    # --- HTTP entry point ------------------------------------------------------------------------

    def _handle(self, path: str, query: str, headers: dict[str, str], body: bytes) -> _Reply:
        """Answer one HTTP request."""
        if path.startswith("/api/"):
            return self._web_api(path[len("/api/") :], query, headers, body)
        if path.startswith("/response/"):
            return self._response_post(path[len("/response/") :], body)
        if path.startswith(UPLOAD_PATH):
            return self._upload_post(path[len(UPLOAD_PATH) :], body)
        return _Reply.text(404, "not found")

    def _web_api(self, method: str, query: str, headers: dict[str, str], body: bytes) -> _Reply:
        """Answer one Web API call, applying faults, auth and the method."""
        params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
        bad_body = False
        if body:
            if "json" in headers.get("content-type", ""):
                try:
                    data = json.loads(body)
                    params.update(data if isinstance(data, dict) else {})
                except ValueError:
                    bad_body = True
            else:
                params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        token = params.pop("token", None)
        auth = headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            token = auth[7:].strip()
        token_ok = token is not None and hmac.compare_digest(str(token), self.bot_token)
        fault = self._pick_fault(method, params)
        now = self._clock()

        def answer(status: int, error: str | None, data: dict[str, Any], **kw: Any) -> _Reply:
            call = Call(
                method, params, token_ok, 0 if kw.get("drop") else status, error, now, fault
            )
            with self._lock:
                self.calls.append(call)
            return _Reply.json(status, data, **kw)

        if fault == "ratelimited":
            return self._ratelimited(answer)
        if fault == "500":
            return answer(500, "internal_error", {"ok": False, "error": "internal_error"})
        custom_error = fault if fault and fault not in FAULT_KINDS else None
        if custom_error:
            return answer(200, custom_error, {"ok": False, "error": custom_error})
        if bad_body:
            error = "invalid_json"
        elif token is None:
            error = "not_authed"
        elif not token_ok:
            error = "invalid_auth"
        elif self._token_refused:
            error = self._token_refused
        elif method not in self._METHODS:
            error = "unknown_method"
        else:
            error = None
        if error:
            return answer(200, error, {"ok": False, "error": error})
        if method == "chat.postMessage" and not self._post_allowed(str(params.get("channel"))):
            return self._ratelimited(answer)
        with self._lock:
            try:
                data = self._METHODS[method](self, params)
            except _SlackError as exc:
                data = {"ok": False, "error": exc.error}
                if exc.messages:
                    data["response_metadata"] = {"messages": exc.messages}
        return answer(
            200,
            data.get("error"),
            data,
            drop=fault == "drop_after_post",
            delay=TIMEOUT_FAULT_SECONDS if fault == "timeout" else 0.0,
        )

    @staticmethod
    def _ratelimited(answer: Callable[..., _Reply]) -> _Reply:
        return answer(
            429,
            "ratelimited",
            {"ok": False, "error": "ratelimited"},
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    def _response_post(self, rid: str, body: bytes) -> _Reply:
        """Receive a POST to a response URL (ephemeral, in_channel, replace/delete original)."""
        fault = self._pick_fault(RESPONSE_URL_METHOD)
        if fault == "ratelimited":
            return _Reply.text(429, "rate_limited")
        if fault == "500":
            return _Reply.text(500, "internal_error")
        if fault and fault not in FAULT_KINDS:  # a Slack error string, e.g. expired_url
            return _Reply.text(404 if fault.endswith("_url") else 400, fault)
        with self._lock:
            binding = self._response_urls.get(rid)
        if binding is None:
            return _Reply.text(404, "no_such_url")
        try:
            payload = json.loads(body or b"{}")
            if not isinstance(payload, dict):
                raise ValueError(body)
        except ValueError:
            return _Reply.text(400, "invalid_payload")
        if blockkit.problems(payload.get("blocks")) or blockkit.text_problem(
            str(payload.get("text") or "")
        ):
            return _Reply.text(400, "invalid_blocks")
        record = dict(payload)
        record["id"] = rid
        record.setdefault("channel", binding.channel)
        record["time"] = self._clock()
        with self._lock:
            self.responses.append(record)
            self._apply_response(binding, payload)
        return _Reply(
            200,
            b"ok",
            content_type="text/html",
            drop=fault == "drop_after_post",
            delay=TIMEOUT_FAULT_SECONDS if fault == "timeout" else 0.0,
        )

    def _apply_response(self, binding: _Binding, payload: dict[str, Any]) -> None:
        """Do what Slack does with a response URL POST."""
        text = str(payload.get("text") or "")
        blocks = payload.get("blocks") if isinstance(payload.get("blocks"), list) else None
        channel = binding.channel or "?"
        msg = self._find(binding.channel, binding.message_ts) if binding.message_ts else None
        if _flag(payload.get("delete_original")) and msg is not None:
            msg.deleted = True
            self.record(render.Entry("delete", channel, BOT_NAME, note=" (deleted a message)"))
        elif _flag(payload.get("replace_original")) and msg is not None:
            metadata = (
                payload.get("metadata") if isinstance(payload.get("metadata"), dict) else None
            )
            self._update(msg, text=text, blocks=blocks, metadata=metadata or msg.metadata)
            self.record(
                render.Entry("update", channel, BOT_NAME, text, blocks, " (updated)", ts=msg.ts)
            )
        elif payload.get("response_type") == "in_channel" and binding.channel:
            self._store(binding.channel, text, blocks, None, None)
        else:
            note = f" (only visible to {f'<@{binding.user}>' if binding.user else 'you'})"
            self.record(render.Entry("response", channel, BOT_NAME, text, blocks, note))

    # --- storage helpers (callers hold the lock) -------------------------------------------------

    def _new_ts(self) -> str:
        us = max(int(self._clock() * 1_000_000), self._last_us + 1)
        self._last_us = us
        return us_to_ts(us)

    def _find(self, channel: str | None, ts: str | None) -> Message | None:
        msg = self._index.get((channel or "", ts or ""))
        return msg if msg is not None and not msg.deleted else None

    def _store(
        self,
        channel: str,
        text: str,
        blocks: list[Any] | None,
        metadata: dict[str, Any] | None,
        thread_ts: str | None,
        *,
        user: str | None = None,
        broadcast: bool = False,
    ) -> Message:
        """Store a message; by default one this app's bot posted (so it carries our bot_id)."""
        msg = Message(
            channel, self._new_ts(), text, blocks, metadata, user or self.bot_user_id, thread_ts
        )
        parent = self._find(channel, thread_ts) if thread_ts else None
        if parent is not None and parent.is_reply:
            # Slack threads are one level deep: a reply to a reply joins the parent's thread
            thread_ts = msg.thread_ts = parent.thread_ts
            parent = self._find(channel, thread_ts)
        msg.broadcast = broadcast and thread_ts is not None
        msg.parent_user = parent.user if parent is not None else None
        if msg.user == self.bot_user_id:
            msg.bot_id, msg.app_id = self.bot_id, self.app_id
        self._messages.setdefault(channel, []).append(msg)
        self._index[(channel, msg.ts)] = msg
        if thread_ts and thread_ts != msg.ts:
            self._replies.setdefault((channel, thread_ts), []).append(msg)
        note = " (also sent to the channel)" if msg.broadcast else ""
        author = BOT_NAME if msg.user == self.bot_user_id else msg.user
        self.record(
            render.Entry("post", channel, author, text, blocks, note, msg.ts, msg.thread_ts)
        )
        return msg

    def _update(
        self,
        msg: Message,
        *,
        text: str,
        blocks: list[Any] | None,
        metadata: dict[str, Any] | None,
    ) -> None:
        msg.history.append(
            {
                "text": msg.text,
                "blocks": copy.deepcopy(msg.blocks),
                "metadata": copy.deepcopy(msg.metadata),
                "edited_ts": self._new_ts(),
            }
        )
        msg.text, msg.blocks, msg.metadata, msg.edited = text, blocks, metadata, True

    def _resolve(self, channel: Any) -> _Channel:
        """Find a channel by id, #name, or user id (opens a DM); unknown → channel_not_found."""
        key = str(channel or "").strip()
        ch = self._channels.get(key)
        if ch is None and key[:1] in ("U", "W"):
            dm = "D" + key[1:]
            if dm not in self._channels:
                self._channels[dm] = _Channel(dm, dm, int(self._clock()), is_im=True, user=key)
                self._messages.setdefault(dm, [])
            ch = self._channels[dm]
        if ch is None:
            name = key.lstrip("#")
            ch = next((c for c in self._channels.values() if c.name == name), None)
        if ch is None or ch.deleted:
            raise _SlackError("channel_not_found")
        return ch

    def _readable(self, channel: Any) -> _Channel:
        ch = self._resolve(channel)
        if not ch.member:
            raise _SlackError("not_in_channel")
        return ch

    def _writable(self, channel: Any) -> _Channel:
        ch = self._readable(channel)
        if ch.archived:
            raise _SlackError("is_archived")
        return ch

    def _channel_info(self, ch: _Channel) -> dict[str, Any]:
        if ch.is_im:
            return {"id": ch.id, "is_im": True, "user": ch.user, "created": ch.created}
        return {
            "id": ch.id,
            "name": ch.name,
            "name_normalized": ch.name,
            "is_channel": True,
            "is_group": False,
            "is_im": False,
            "is_private": False,
            "is_archived": ch.archived,
            "is_general": False,
            "is_member": ch.member,
            "created": ch.created,
            "creator": self.bot_user_id,
            "context_team_id": self.team_id,
        }

    # --- Web API methods (called with the lock held) ---------------------------------------------

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{self.team_domain}.slack.com/",
            "team": TEAM_NAME,
            "user": self.user_name(self.bot_user_id),
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        ch = self._writable(params.get("channel"))
        text = str(params.get("text") or "")
        blocks = _blocks_param(params)
        self._check_files(blocks)
        if not text and not blocks and not params.get("attachments"):
            raise _SlackError("no_text")
        metadata = _metadata_param(params)
        thread_ts = str(params["thread_ts"]) if params.get("thread_ts") else None
        broadcast = _flag(params.get("reply_broadcast"))
        msg = self._store(ch.id, text, blocks, metadata, thread_ts, broadcast=broadcast)
        return {"ok": True, "channel": ch.id, "ts": msg.ts, "message": self.message_payload(msg)}

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        ch = self._writable(params.get("channel"))
        msg = self._find(ch.id, str(params.get("ts") or ""))
        if msg is None:
            raise _SlackError("message_not_found")
        if msg.user != self.bot_user_id:
            raise _SlackError("cant_update_message")
        # Slack keeps what the update leaves out; an empty blocks list removes the blocks.
        text = str(params["text"]) if "text" in params else msg.text
        blocks = _blocks_param(params) if "blocks" in params else msg.blocks
        self._check_files(blocks)
        metadata = _metadata_param(params) if "metadata" in params else msg.metadata
        if not text and not blocks:
            raise _SlackError("no_text")
        self._update(msg, text=text, blocks=blocks or None, metadata=metadata)
        self.record(render.Entry("update", ch.id, BOT_NAME, text, blocks, " (edited)", msg.ts))
        return {
            "ok": True,
            "channel": ch.id,
            "ts": msg.ts,
            "text": msg.text,
            "message": self.message_payload(msg),
        }

    def _chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        ch = self._writable(params.get("channel"))
        msg = self._find(ch.id, str(params.get("ts") or ""))
        if msg is None:
            raise _SlackError("message_not_found")
        msg.deleted = True
        self.record(render.Entry("delete", ch.id, BOT_NAME, note=" (deleted a message)"))
        return {"ok": True, "channel": ch.id, "ts": msg.ts}

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        ch = self._writable(params.get("channel"))
        user = str(params.get("user") or "")
        if not user:
            raise _SlackError("user_not_in_channel")
        text = str(params.get("text") or "")
        blocks = _blocks_param(params)
        if not text and not blocks:
            raise _SlackError("no_text")
        ts = self._new_ts()
        self.ephemerals.append(
            {"channel": ch.id, "user": user, "ts": ts, "text": text, "blocks": blocks}
        )
        note = f" (only visible to <@{user}>)"
        self.record(render.Entry("ephemeral", ch.id, BOT_NAME, text, blocks, note))
        return {"ok": True, "message_ts": ts}

    def _chat_get_permalink(self, params: dict[str, Any]) -> dict[str, Any]:
        ch = self._resolve(params.get("channel"))
        ts = str(params.get("message_ts") or "")
        if self._find(ch.id, ts) is None:
            raise _SlackError("message_not_found")
        link = f"https://{self.team_domain}.slack.com/archives/{ch.id}/p{ts.replace('.', '')}"
        return {"ok": True, "channel": ch.id, "permalink": link}

    def _thread_info(self, ch: str, msg: Message) -> dict[str, Any]:
        replies = [m for m in self._replies.get((ch, msg.ts), []) if not m.deleted]
        if not replies:
            return {}
        return {
            "thread_ts": msg.ts,
            "reply_count": len(replies),
            "reply_users": sorted({m.user for m in replies}),
            "latest_reply": replies[-1].ts,
        }

    def _conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        ch = self._readable(params.get("channel"))
        try:
            limit = int(params.get("limit") or HISTORY_DEFAULT_LIMIT)
        except (TypeError, ValueError):
            raise _SlackError("invalid_limit") from None
        limit = max(1, min(limit, HISTORY_MAX_LIMIT))
        inclusive = _flag(params.get("inclusive"))
        with_metadata = _flag(params.get("include_all_metadata"))
        try:
            oldest = ts_to_us(str(params.get("oldest") or "0"))
        except ValueError:
            raise _SlackError("invalid_ts_oldest") from None
        try:
            latest = ts_to_us(str(params["latest"])) if params.get("latest") else None
        except ValueError:
            raise _SlackError("invalid_ts_latest") from None
        upper: int | None = None
        if params.get("cursor"):
            try:
                decoded = base64.b64decode(str(params["cursor"]), validate=True).decode()
                if not decoded.startswith(CURSOR_PREFIX):
                    raise ValueError(decoded)
                upper = int(decoded[len(CURSOR_PREFIX) :])
            except ValueError:
                raise _SlackError("invalid_cursor") from None

        def wanted(m: Message) -> bool:
            us = ts_to_us(m.ts)
            if m.deleted or (m.is_reply and not m.broadcast):
                return False  # thread replies live in conversations.replies, as in Slack
            if us < oldest or (us == oldest and not inclusive):
                return False
            if latest is not None and (us > latest or (us == latest and not inclusive)):
                return False
            return upper is None or us <= upper

        found = sorted(
            (m for m in self._messages.get(ch.id, []) if wanted(m)),
            key=lambda m: ts_to_us(m.ts),
            reverse=True,
        )
        page = found[:limit]
        data: dict[str, Any] = {
            "ok": True,
            "messages": [
                {
                    **self.message_payload(m, include_metadata=with_metadata),
                    **self._thread_info(ch.id, m),
                }
                for m in page
            ],
            "has_more": len(found) > limit,
            "pin_count": 0,
            "channel_actions_ts": None,
            "channel_actions_count": 0,
        }
        if len(found) > limit:
            cursor = f"{CURSOR_PREFIX}{ts_to_us(found[limit].ts)}"
            data["response_metadata"] = {"next_cursor": base64.b64encode(cursor.encode()).decode()}
        return data

    def _conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        ch = self._readable(params.get("channel"))
        ts = str(params.get("ts") or "")
        parent = self._find(ch.id, ts)
        if parent is None:
            raise _SlackError("thread_not_found")
        with_metadata = _flag(params.get("include_all_metadata"))
        if parent.is_reply and parent.thread_ts:  # asked by a reply's ts: Slack answers its thread
            parent = self._find(ch.id, parent.thread_ts) or parent
        thread = [m for m in self._replies.get((ch.id, parent.ts), []) if not m.deleted]
        return {
            "ok": True,
            "messages": [
                {
                    **self.message_payload(parent, include_metadata=with_metadata),
                    **self._thread_info(ch.id, parent),
                },
                *(self.message_payload(m, include_metadata=with_metadata) for m in thread),
            ],
            "has_more": False,
        }

    def _conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "channel": self._channel_info(self._resolve(params.get("channel")))}

    def _conversations_join(self, params: dict[str, Any]) -> dict[str, Any]:
        ch = self._resolve(params.get("channel"))
        if ch.is_im:
            raise _SlackError("method_not_supported_for_channel_type")
        if ch.archived:
            raise _SlackError("is_archived")
        data: dict[str, Any] = {"ok": True}
        if ch.member:
            data["warning"] = "already_in_channel"
            data["response_metadata"] = {"warnings": ["already_in_channel"]}
        ch.member = True
        data["channel"] = self._channel_info(ch)
        return data

    def _conversations_list(self, params: dict[str, Any]) -> dict[str, Any]:
        exclude_archived = _flag(params.get("exclude_archived"))
        chans = [
            self._channel_info(c)
            for c in self._channels.values()
            if not c.deleted and not c.is_im and not (exclude_archived and c.archived)
        ]
        return {"ok": True, "channels": chans, "response_metadata": {"next_cursor": ""}}

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = str(params.get("user") or "")
        if user_id not in self.users:
            if user_id[:1] not in ("U", "W"):
                raise _SlackError("user_not_found")
            self.add_user(user_id, user_id.lower())
        return {"ok": True, "user": copy.deepcopy(self.users[user_id])}

    def _views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = str(params.get("user_id") or "")
        view = _json_param(params, "view", "invalid_arguments")
        if not user_id or not isinstance(view, dict):
            raise _SlackError("invalid_arguments")
        if view.get("type") != "home":
            raise _SlackError("invalid_arguments")
        if found := blockkit.problems(view.get("blocks"), surface="view"):
            raise _SlackError("invalid_blocks", found)
        self.views[user_id] = view
        blocks = view.get("blocks") if isinstance(view.get("blocks"), list) else None
        self.record(render.Entry("home", user_id, BOT_NAME, "", blocks))
        view_id = f"V{next(self._ids):08d}"
        return {
            "ok": True,
            "view": {
                **copy.deepcopy(view),
                "id": view_id,
                "team_id": self.team_id,
                "app_id": self.app_id,
                "bot_id": self.bot_id,
                "hash": f"{int(self._clock())}.{view_id}",
            },
        }

    def _check_files(self, blocks: list[Any] | None) -> None:
        """An image block names one image: a URL, or a file whose external upload completed."""
        for block in blocks or []:
            if block.get("type") != "image":
                continue
            ref = block.get("slack_file")
            if not block.get("alt_text") or (ref is None) == (block.get("image_url") is None):
                raise _SlackError("invalid_blocks")
            if ref is not None:
                found = self.files.get(str(ref.get("id") or "")) if isinstance(ref, dict) else None
                if found is None or not found.completed:
                    raise _SlackError("invalid_blocks")

    def _files_get_upload_url_external(self, params: dict[str, Any]) -> dict[str, Any]:
        filename = str(params.get("filename") or "")
        try:
            length = int(params.get("length") or 0)
        except (TypeError, ValueError):
            length = 0
        if not filename or length <= 0:
            raise _SlackError("invalid_arguments")
        file_id = f"F{next(self._ids):08d}"
        self.files[file_id] = UploadedFile(
            id=file_id,
            name=filename,
            length=length,
            alt_txt=str(params.get("alt_txt") or ""),
            created=int(self._clock()),
        )
        return {"ok": True, "upload_url": f"{self.url}{UPLOAD_PATH}{file_id}", "file_id": file_id}

    def _upload_post(self, file_id: str, body: bytes) -> _Reply:
        """The upload URL: takes the file's bytes once (Slack answers 200 ``OK - <size>``)."""
        with self._lock:
            found = self.files.get(file_id)
            if found is None or found.completed:
                return _Reply.text(404, "file not found")
            found.data = body
        return _Reply.text(200, f"OK - {len(body)}")

    def _files_complete_upload_external(self, params: dict[str, Any]) -> dict[str, Any]:
        items = _json_param(params, "files", "invalid_arguments")
        if not isinstance(items, list) or not items:
            raise _SlackError("invalid_arguments")
        channel = params.get("channel_id") or None
        ch = self._writable(channel) if channel else None
        done: list[UploadedFile] = []
        for item in items:
            found = self.files.get(str(item.get("id") or "")) if isinstance(item, dict) else None
            if found is None or found.data is None or found.completed:
                raise _SlackError("file_not_found")
            if len(found.data) != found.length:
                raise _SlackError("file_upload_size_mismatch")
            done.append(found)
        for found, item in zip(done, items, strict=True):
            found.completed = True
            found.title = str(item.get("title") or found.name)
            if ch is not None:
                found.channels.append(ch.id)
                note = f" (shared a file: {found.title})"
                self.record(render.Entry("post", ch.id, BOT_NAME, note=note))
        return {"ok": True, "files": [f.payload(self) for f in done]}

    _METHODS: ClassVar[dict[str, Callable[[SlackStandIn, dict[str, Any]], dict[str, Any]]]] = {
        "auth.test": _auth_test,
        "chat.postMessage": _chat_post_message,
        "chat.update": _chat_update,
        "chat.delete": _chat_delete,
        "chat.postEphemeral": _chat_post_ephemeral,
        "chat.getPermalink": _chat_get_permalink,
        "files.getUploadURLExternal": _files_get_upload_url_external,
        "files.completeUploadExternal": _files_complete_upload_external,
        "conversations.history": _conversations_history,
        "conversations.replies": _conversations_replies,
        "conversations.info": _conversations_info,
        "conversations.join": _conversations_join,
        "conversations.list": _conversations_list,
        "users.info": _users_info,
        "views.publish": _views_publish,
    }
