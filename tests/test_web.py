"""The WSGI app and its waitress server: /healthz, /psa/events dispatch, 404s, clean close."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

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
    return response.status, json.loads(data) if data else {}


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
    status, _ = request(server, "POST", "/psa/events", b"x" * (MAX_BODY + 1))
    assert status == 413
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
