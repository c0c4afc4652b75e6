"""The WSGI app and its waitress server: /healthz, /psa/events dispatch, 404s, clean close."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import socket
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt import App
from slack_sdk import WebClient

from bot.sandbox.slack import SlackStandIn
from bot.web import MAX_BODY, Server, make_wsgi_app, serve


class Recorder:
    """A monitor-callback stand-in that records what it got (a real callable, not a mock)."""

    def __init__(self) -> None:
        self.calls: list[tuple[bytes, dict[str, str]]] = []

    def __call__(self, body: bytes, headers: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        self.calls.append((body, dict(headers)))
        if headers.get("x-fleetbot-token") != "s3cret":
            return 401, {"ok": False, "error": "bad token"}
        return 202, {"ok": True, "stored": 1}


def health() -> dict[str, Any]:
    """A fixed health report."""
    return {"ok": True, "db": "fleetbot.db", "last_poll": None}


def request(
    server: Server, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    """One HTTP request over a real socket; the JSON answer."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    is_json = (response.getheader("Content-Type") or "").startswith("application/json")
    return response.status, json.loads(data) if data and is_json else {}


@pytest.fixture
def recorder() -> Recorder:
    """The /psa/events callable."""
    return Recorder()


@pytest.fixture
def server(recorder: Recorder) -> Iterator[Server]:
    """The web app without Slack (as in Socket Mode), served on 127.0.0.1:0."""
    with serve(make_wsgi_app(None, psa_events=recorder, health=health), "127.0.0.1", 0) as running:
        yield running


def test_healthz(server: Server) -> None:
    """GET /healthz: 200 and the health report."""
    status, data = request(server, "GET", "/healthz")
    assert status == 200
    assert data == {"ok": True, "db": "fleetbot.db", "last_poll": None}


def test_psa_events_dispatch(server: Server, recorder: Recorder) -> None:
    """POST /psa/events hands the raw body and lower-cased headers to the callable."""
    body = json.dumps({"monitorId": "m1", "events": []}).encode()
    status, data = request(
        server, "POST", "/psa/events", body,
        {"Content-Type": "application/json", "X-Fleetbot-Token": "s3cret"},
    )  # fmt: skip
    assert (status, data) == (202, {"ok": True, "stored": 1})
    ((got_body, got_headers),) = recorder.calls
    assert got_body == body
    assert got_headers["x-fleetbot-token"] == "s3cret"
    assert got_headers["content-type"] == "application/json"
    refused, _ = request(server, "POST", "/psa/events", body)
    assert refused == 401


def test_psa_events_too_large_is_refused_unread(server: Server, recorder: Recorder) -> None:
    """A body over the limit: 413 without calling the handler."""
    try:
        status, _ = request(server, "POST", "/psa/events", b"x" * (MAX_BODY + 1))
        assert status == 413
    except (BrokenPipeError, ConnectionResetError):
        pass  # answered 413 and closed while we were still sending: refused all the same
    assert recorder.calls == []


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 404),
        ("GET", "/nope", 404),
        ("POST", "/slack/events", 404),  # no Slack app in this server
        ("GET", "/psa/events", 405),
        ("POST", "/healthz", 405),
    ],
)
def test_other_routes(server: Server, method: str, path: str, status: int) -> None:
    """Anything else is 404 (or 405 for a known path)."""
    assert request(server, method, path)[0] == status


def test_without_psa_handler_psa_events_is_404() -> None:
    """Push not configured: /psa/events does not exist."""
    with serve(make_wsgi_app(None, health=health), "127.0.0.1", 0) as running:
        assert request(running, "POST", "/psa/events", b"{}")[0] == 404


def failing_health() -> dict[str, Any]:
    """A health check that itself fails."""
    raise RuntimeError("database is locked")


def exploding_events(body: bytes, headers: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
    """A callback handler with a bug."""
    raise RuntimeError("bug")


def test_failures_become_5xx_with_a_reference() -> None:
    """A failing health check is 503; a failing callback is 500 (the API will retry)."""
    app = make_wsgi_app(None, psa_events=exploding_events, health=failing_health)
    with serve(app, "127.0.0.1", 0) as running:
        status, data = request(running, "GET", "/healthz")
        assert status == 503 and data["ok"] is False and data["ref"]
        status, data = request(running, "POST", "/psa/events", b"{}")
        assert status == 500 and data["error"] == "internal_error" and data["ref"]


def test_unhealthy_report_is_503() -> None:
    """A report saying ok=false answers 503, so a load balancer notices."""
    with serve(make_wsgi_app(None, health=lambda: {"ok": False}), "127.0.0.1", 0) as running:
        assert request(running, "GET", "/healthz") == (503, {"ok": False})


def test_close_with_an_open_keep_alive_connection() -> None:
    """close() ends the server even with an idle client connection still open."""
    running = serve(make_wsgi_app(None, health=health), "127.0.0.1", 0)
    conn = http.client.HTTPConnection(running.host, running.port, timeout=5)
    conn.request("GET", "/healthz")
    assert conn.getresponse().read()
    running.close()
    conn.close()
    with pytest.raises(OSError):
        request(running, "GET", "/healthz")


# -- bounded and malformed requests --------------------------------------------------------------

SIGNING_SECRET = "web-test-signing-secret"
CHUNKED = {"Transfer-Encoding": "chunked", "X-Fleetbot-Token": "s3cret"}


def bolt_app(slack: SlackStandIn) -> App:
    """A small real Bolt app with one slash command, talking to the Slack stand-in."""
    client = WebClient(token=slack.bot_token, base_url=slack.api_url, timeout=5)
    app = App(client=client, signing_secret=SIGNING_SECRET)

    @app.command("/ping")
    def ping(ack: Any) -> None:
        ack("pong")

    return app


@pytest.fixture
def slack_server(recorder: Recorder) -> Iterator[Server]:
    """The web app with a Bolt app, /psa/events and /healthz."""
    with SlackStandIn(channels=("C1",)) as slack:
        app = make_wsgi_app(bolt_app(slack), psa_events=recorder, health=health)
        with serve(app, "127.0.0.1", 0) as running:
            yield running


def signed(body: bytes, timestamp: str | None = None) -> dict[str, str]:
    """Slack's signature headers for ``body`` (any bytes, valid UTF-8 or not)."""
    stamp = timestamp or str(int(time.time()))
    base = b"v0:" + stamp.encode() + b":" + body
    digest = hmac.new(SIGNING_SECRET.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def test_a_signed_command_still_works(slack_server: Server) -> None:
    """The bounded path hands Bolt the whole body: a real command is answered."""
    body = urlencode({"command": "/ping", "text": "", "user_id": "U1", "team_id": "T1",
                      "channel_id": "C1", "response_url": "http://127.0.0.1:9/x",
                      "trigger_id": "1.2"}).encode()  # fmt: skip
    conn = http.client.HTTPConnection(slack_server.host, slack_server.port, timeout=5)
    conn.request("POST", "/slack/events", body=body, headers=signed(body))
    response = conn.getresponse()
    assert (response.status, response.read()) == (200, b"pong")
    conn.close()


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"payload=notjson", "signed", 400),
        (b"payload=%5B1%5D", "signed", 400),  # payload=[1]: JSON, but not an object
        (b"{not json", "signed", 400),
        (b"command=/ping&text=\xff\xfe", "signed", 400),  # invalid UTF-8
        (b"payload=notjson", "bad-timestamp", 401),
        (b"command=/ping", "no-signature", 401),
        (b"command=/ping", "forged", 401),
        (b"payload=notjson", "none", 401),
    ],
)
def test_requests_that_break_bolt_are_4xx_without_a_traceback(
    slack_server: Server,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
    headers: str,
    status: int,
) -> None:
    """payload=notjson, a non-numeric timestamp, invalid UTF-8, no signature: 400/401, no 500."""
    sent = {
        "signed": signed(body),
        "bad-timestamp": {**signed(body), "X-Slack-Request-Timestamp": "soon"},
        "no-signature": {k: v for k, v in signed(body).items() if k != "X-Slack-Signature"},
        "forged": {**signed(body), "X-Slack-Signature": "v0=" + "0" * 64},
        "none": {},
    }[headers]
    with caplog.at_level(logging.DEBUG):
        got, _ = request(slack_server, "POST", "/slack/events", body, sent)
    assert got == status
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/slack/events"), ("POST", "/psa/events"), ("GET", "/healthz"), ("POST", "/nope")],
)
def test_declared_oversize_bodies_are_413_before_they_are_sent(
    slack_server: Server, recorder: Recorder, method: str, path: str
) -> None:
    """Every route: a Content-Length over 1 MiB is refused with 413 while the body is unsent."""
    with socket.create_connection((slack_server.host, slack_server.port), timeout=5) as sock:
        head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {MAX_BODY + 1}\r\n\r\n"
        sock.sendall(head.encode())
        answer = sock.recv(4096)  # no body sent: an answer now means it was never waited for
    assert answer.startswith(b"HTTP/1.1 413")
    assert recorder.calls == []


def test_a_body_of_exactly_the_limit_is_read(server: Server, recorder: Recorder) -> None:
    """1 MiB itself is allowed (the limit is on what is over it)."""
    status, _ = request(
        server, "POST", "/psa/events", b"x" * MAX_BODY, {"X-Fleetbot-Token": "s3cret"}
    )
    assert status == 202 and len(recorder.calls[0][0]) == MAX_BODY


@pytest.mark.parametrize("path", ["/psa/events", "/slack/events"])
def test_chunked_bodies_are_capped_while_read(
    slack_server: Server, recorder: Recorder, path: str
) -> None:
    """A chunked body (no Content-Length) over the limit is a 413 too, whichever part sees it."""
    conn = http.client.HTTPConnection(slack_server.host, slack_server.port, timeout=10)
    chunks = (b"y" * 65536 for _ in range(MAX_BODY // 65536 + 2))
    try:
        conn.request("POST", path, body=chunks, encode_chunked=True, headers=CHUNKED)
        response = conn.getresponse()
        assert response.status == 413
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server may close the connection on us mid-body: refused all the same
    finally:
        conn.close()
    assert recorder.calls == []


def test_chunked_bodies_within_the_limit_are_read(slack_server: Server, recorder: Recorder) -> None:
    """A small chunked callback reaches the handler whole."""
    conn = http.client.HTTPConnection(slack_server.host, slack_server.port, timeout=5)
    parts = iter([b'{"events":', b" []}"])
    conn.request("POST", "/psa/events", body=parts, encode_chunked=True, headers=CHUNKED)
    assert conn.getresponse().status == 202
    conn.close()
    assert recorder.calls[0][0] == b'{"events": []}'


@pytest.mark.parametrize("length", ["abc", "-5", "1e3"])
def test_unreadable_content_length_is_400(server: Server, length: str) -> None:
    """A Content-Length that is not a count is refused before anything is read."""
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(
            f"POST /psa/events HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n".encode()
        )
        assert sock.recv(4096).split(b"\r\n", 1)[0] in (b"HTTP/1.1 400 Bad Request",)


def test_waitress_is_told_the_limit() -> None:
    """Waitress's own body limit is ours (its default is 1 GiB)."""
    running = serve(make_wsgi_app(None, health=health), "127.0.0.1", 0)
    try:
        assert running._server.adj.max_request_body_size <= 2 * MAX_BODY
    finally:
        running.close()
