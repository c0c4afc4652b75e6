"""HTTP mode: one plain WSGI application served by waitress (not Bolt's development server).

Routes: ``POST /slack/events`` → the Bolt app (commands, interactivity, events; signatures
checked by Bolt with its 5-minute window), ``POST /psa/events`` → the monitor webhook callable
the composition root passes in, ``GET /healthz`` → a small JSON health report. In Socket Mode
the same server still answers ``/psa/events`` and ``/healthz`` (pass ``slack_app=None``).

Every request is bounded: a body over :data:`MAX_BODY` is refused with 413 before it is read
(declared length), or as soon as reading passes the limit (chunked); waitress itself is told
the same limit. A Slack request Bolt could not even parse (not UTF-8, ``payload=notjson``, a
timestamp that is not a number, no signature) is a 400/401, never a 500 or a traceback.
"""

from __future__ import annotations

import io
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import waitress
from slack_bolt import BoltContext, BoltRequest, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse
from slack_bolt.request.internals import build_context
from waitress.channel import HTTPChannel

from bot.slack.handling import new_ref

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

    from slack_bolt import App

__all__ = [
    "FormSafeRequest",
    "Server",
    "WebApp",
    "make_wsgi_app",
    "serve",
]

log = logging.getLogger(__name__)

PsaEvents = Callable[[bytes, Mapping[str, str]], tuple[int, dict[str, Any]]]
Health = Callable[[], dict[str, Any]]

SLACK_PATH = "/slack/events"
PSA_PATH = "/psa/events"
HEALTH_PATH = "/healthz"
MAX_BODY = 1024 * 1024  # monitor callbacks and Slack payloads are far smaller
# waitress counts chunk framing too and refuses at ``>=``: our own cap is the exact one
SERVER_BODY_LIMIT = MAX_BODY + 1
READ_CHUNK = 64 * 1024
SERVER_THREADS = 8
LOOP_TIMEOUT = 0.25  # seconds; bounds how long close() waits for the serving loop

NOT_FOUND = {"ok": False, "error": "not_found"}
NOT_ALLOWED = {"ok": False, "error": "method_not_allowed"}
TOO_LARGE = {"ok": False, "error": "payload_too_large"}
BAD_LENGTH = {"ok": False, "error": "bad_content_length"}
BAD_REQUEST = {"ok": False, "error": "bad_request"}
NOT_SIGNED = {"ok": False, "error": "invalid_signature"}
SLACK_UNREADABLE = "refused a Slack request Bolt cannot read: %s"
SLACK_UNSIGNED = "refused a Slack request without a usable signature or timestamp"
# Slack sends Unix seconds; anything else cannot pass the signature check anyway
_TIMESTAMP = re.compile(r"^\d{1,12}$")
_SIGNATURE = re.compile(r"^v0=[0-9a-f]{64}$")
INTERNAL = "internal_error"
UNHEALTHY = "health check failed"

_REASONS = {
    200: "OK",
    202: "Accepted",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def _status_line(status: int) -> str:
    return f"{status} {_REASONS.get(status, 'Status')}"


def _json(
    start_response: StartResponse, status: int, data: Mapping[str, Any], **headers: str
) -> Iterable[bytes]:
    body = json.dumps(data, default=str).encode()
    start_response(
        _status_line(status),
        [
            ("Content-Type", "application/json; charset=utf-8"),
            ("Content-Length", str(len(body))),
            *headers.items(),
        ],
    )
    return [body]


class FormSafeRequest(BoltRequest):
    """A BoltRequest that reads form bodies correctly when they merely mention "payload".

    Bolt's ``parse_body`` treats any form body containing the substring ``payload`` as an
    interactivity payload, so ``/fleet payload`` (or a command typed in a channel whose name
    contains "payload") parses as ``{}`` and answers 404. This class re-reads such a body as the
    plain form it is; copies made for lazy listeners keep the class, so they agree.
    """

    def __init__(
        self,
        *,
        body: str | dict[str, Any],
        query: Any = None,
        headers: Any = None,
        context: dict[str, Any] | None = None,
        mode: str = "http",
    ) -> None:
        super().__init__(body=body, query=query, headers=headers, context=context, mode=mode)
        raw = self.raw_body
        if self.body or not raw or raw.lstrip().startswith("{") or "payload" not in raw:
            return
        form = dict(parse_qsl(raw, keep_blank_values=True))
        if "payload" not in form:
            self.body = form
            self.context = build_context(BoltContext(context or {}), form)

    def to_copyable(self) -> FormSafeRequest:
        """A copy for another thread (lazy listeners), read the same way."""
        return FormSafeRequest(
            body=self.raw_body if self.mode == "http" else self.body,
            query=self.query,
            headers=self.headers,
            context=self.context.to_copyable(),
            mode=self.mode,
        )


class SlackHandler(SlackRequestHandler):
    """Bolt's WSGI adapter, building :class:`FormSafeRequest` instead of BoltRequest."""

    def handle(
        self, environ: WSGIEnvironment, start_response: StartResponse, body: bytes
    ) -> Iterable[bytes]:
        """Answer one POST whose body the caller has read (bounded); bad requests are 4xx."""
        headers = request_headers(environ)
        signed = _TIMESTAMP.match(headers.get("x-slack-request-timestamp", "")) and (
            _SIGNATURE.match(headers.get("x-slack-signature", ""))
        )
        if not signed and b"ssl_check=1" not in body:  # Bolt lets Slack's SSL check through
            log.info(SLACK_UNSIGNED)
            return _json(start_response, 401, NOT_SIGNED)
        try:
            text = body.decode("utf-8")
            request = FormSafeRequest(
                body=text, query=environ.get("QUERY_STRING", ""), headers=headers
            )
        except (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError) as exc:
            # Bolt parses before it checks the signature: unreadable is a 400, not a crash
            log.info(SLACK_UNREADABLE, type(exc).__name__)
            return _json(start_response, 400, BAD_REQUEST)
        bolt = self.app.dispatch(request)
        response = WsgiHttpResponse(status=bolt.status, headers=bolt.headers, body=bolt.body)
        start_response(response.status, response.get_headers())
        return response.get_body()

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        """Hand one HTTP request to the Bolt app."""
        return self.app.dispatch(
            FormSafeRequest(
                body=request.get_body(),
                query=request.query_string,
                headers=request.get_headers(),
            )
        )


def request_headers(environ: WSGIEnvironment) -> dict[str, str]:
    """The request's headers, lower-case names with dashes (``x-fleetbot-token``)."""
    headers = {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = str(environ[key])
    return headers


class WebApp:
    """The WSGI application: see the module docstring."""

    def __init__(
        self,
        slack_app: App | None = None,
        *,
        psa_events: PsaEvents | None = None,
        health: Health | None = None,
    ) -> None:
        self.slack = SlackHandler(slack_app, path=SLACK_PATH) if slack_app else None
        self.psa_events = psa_events
        self.health = health

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET").upper()
        refused = _refuse_length(environ)  # every route, before anything is read
        if refused is not None:
            return _json(start_response, *refused)
        if path == SLACK_PATH and self.slack is not None:
            if method != "POST":
                return _json(start_response, 405, NOT_ALLOWED, Allow="POST")
            body = read_body(environ)
            if body is None:
                return _json(start_response, 413, TOO_LARGE)
            try:
                return self.slack.handle(environ, start_response, body)
            except Exception:  # the boundary: a bug, answered 500 with a reference
                ref = new_ref()
                log.exception("Slack request failed (ref %s)", ref)
                return _json(start_response, 500, {"ok": False, "error": INTERNAL, "ref": ref})
        if path == PSA_PATH and self.psa_events is not None:
            if method != "POST":
                return _json(start_response, 405, NOT_ALLOWED, Allow="POST")
            return self._psa(environ, start_response)
        if path == HEALTH_PATH:
            if method not in ("GET", "HEAD"):
                return _json(start_response, 405, NOT_ALLOWED, Allow="GET, HEAD")
            return self._health(start_response)
        return _json(start_response, 404, NOT_FOUND)

    def _psa(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        assert self.psa_events is not None  # checked by the caller
        body = read_body(environ)
        if body is None:
            return _json(start_response, 413, TOO_LARGE)
        try:
            status, data = self.psa_events(body, request_headers(environ))
        except Exception:  # the boundary: answer 500 so the API retries later
            ref = new_ref()
            log.exception("monitor callback failed (ref %s)", ref)
            return _json(start_response, 500, {"ok": False, "error": INTERNAL, "ref": ref})
        return _json(start_response, status, data)

    def _health(self, start_response: StartResponse) -> Iterable[bytes]:
        try:
            report = dict(self.health()) if self.health is not None else {}
        except Exception:  # a failing check is an unhealthy answer, not a crash
            ref = new_ref()
            log.exception("health check failed (ref %s)", ref)
            return _json(start_response, 503, {"ok": False, "error": UNHEALTHY, "ref": ref})
        ok = bool(report.get("ok", True))
        return _json(start_response, 200 if ok else 503, {**report, "ok": ok})


def _refuse_length(environ: WSGIEnvironment) -> tuple[int, Mapping[str, Any]] | None:
    """(status, body) when the declared Content-Length is unusable or over the limit."""
    declared = str(environ.get("CONTENT_LENGTH") or "").strip()
    if not declared:
        return None
    if not declared.isdigit():
        return 400, BAD_LENGTH
    if len(declared) > 12 or int(declared) > MAX_BODY:
        return 413, TOO_LARGE
    return None


def read_body(environ: WSGIEnvironment) -> bytes | None:
    """The request body, read at most to the limit; None when it is longer (chunked bodies).

    The body read is put back as ``wsgi.input`` so a later reader sees it whole.
    """
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    declared = str(environ.get("CONTENT_LENGTH") or "").strip()
    if declared:  # checked by _refuse_length: digits, at most MAX_BODY
        body = stream.read(int(declared)) if int(declared) else b""
    else:
        parts: list[bytes] = []
        size = 0
        while size <= MAX_BODY:
            part = stream.read(READ_CHUNK)
            if not part:
                break
            parts.append(part)
            size += len(part)
        body = b"".join(parts)
    if len(body) > MAX_BODY:
        return None
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def make_wsgi_app(
    slack_app: App | None = None,
    *,
    psa_events: PsaEvents | None = None,
    health: Health | None = None,
) -> WebApp:
    """The WSGI application for HTTP mode (``slack_app=None`` in Socket Mode)."""
    return WebApp(slack_app, psa_events=psa_events, health=health)


class Server:
    """A waitress server running in a background thread (tests, and Socket Mode's side server)."""

    def __init__(
        self, wsgi_app: Callable[..., Any], host: str, port: int, *, threads: int = SERVER_THREADS
    ) -> None:
        self._server: Any = waitress.create_server(
            wsgi_app,
            host=host,
            port=port,
            threads=threads,
            ident="fleetbot",
            asyncore_loop_timeout=LOOP_TIMEOUT,
            clear_untrusted_proxy_headers=True,
            max_request_body_size=SERVER_BODY_LIMIT,  # waitress's default is 1 GiB
        )
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fleetbot-http", daemon=True)

    @property
    def host(self) -> str:
        """The bound address."""
        return str(self._server.effective_host)

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        return int(self._server.effective_port)

    @property
    def url(self) -> str:
        """``http://host:port`` of this server."""
        host = self.host
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def start(self) -> Server:
        """Start serving in the background (once); returns self."""
        if self._thread.ident is None and not self._closing.is_set():
            self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self._server.run()
        except (OSError, ValueError):
            if not self._closing.is_set():
                raise
            # closing the sockets under a running select() ends the loop this way

    def close(self) -> None:
        """Stop accepting, close every connection and the worker threads."""
        if self._closing.is_set():
            return
        self._closing.set()
        socket_map = self._server._map  # waitress keeps its dispatchers here
        while socket_map:
            for dispatcher in list(socket_map.values()):
                # channels tidy their buffers in handle_close; the listener and trigger just close
                if isinstance(dispatcher, HTTPChannel):
                    dispatcher.handle_close()
                else:
                    dispatcher.close()
        self._server.task_dispatcher.shutdown()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve(
    wsgi_app: Callable[..., Any], host: str, port: int, *, threads: int = SERVER_THREADS
) -> Server:
    """Serve ``wsgi_app`` in a background thread; ``.url`` and ``.close()`` on the result."""
    return Server(wsgi_app, host, port, threads=threads).start()
