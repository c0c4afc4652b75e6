"""Tests of the PSA API sandbox, driven with plain ``http.client`` over real mutual TLS."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from openapi_core.validation.request.exceptions import SecurityValidationError
from openapi_core.validation.response.exceptions import InvalidData

from bot.sandbox.psa import PsaSandbox, SandboxCerts, SandboxCredentials
from bot.sandbox.psa import fleet as data
from tests import specs

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CREDS = SandboxCredentials()
BASIC = "Basic " + base64.b64encode(f"{CREDS.username}:{CREDS.password}".encode()).decode()
TOKEN = "s3cret"


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture
def sandbox(certs: SandboxCerts) -> Iterator[PsaSandbox]:
    """A running sandbox with 25 vehicles and a fixed clock."""
    with PsaSandbox(certs, clock=lambda: NOW) as running:
        running.webhook_backoff = (0.01, 0.02, 0.05)
        yield running


def tls_context(
    certs: SandboxCerts,
    cert: Path | None = None,
    key: Path | None = None,
    password: str | None = None,
    ca: Path | None = None,
) -> ssl.SSLContext:
    """A client TLS context trusting ``ca`` (default: the sandbox CA) with an optional cert."""
    context = ssl.create_default_context(cafile=str(ca or certs.ca_file))
    if cert is not None:
        context.load_cert_chain(cert, key, password=password)
    return context


class Api:
    """A tiny keep-alive HTTPS client for the sandbox (not the real client: on purpose)."""

    def __init__(self, sandbox: PsaSandbox, context: ssl.SSLContext, timeout: float = 10.0):
        self.sandbox = sandbox
        self.conn = http.client.HTTPSConnection(
            "127.0.0.1", sandbox.port, context=context, timeout=timeout
        )

    def close(self) -> None:
        self.conn.close()

    def call(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]] | str | None = None,
        *,
        headers: dict[str, str] | None = None,
        body: Any = None,
        client_id: str | None = CREDS.client_id,
        auth: str | None = BASIC,
    ) -> tuple[int, dict[str, str], bytes, str]:
        """Send one request; return (status, headers, body, url)."""
        raw = query if isinstance(query, str) else urlencode(query or [])
        if client_id is not None:
            raw = (raw + "&" if raw else "") + urlencode([("client_id", client_id)])
        url = "/connectedcar/v3" + path + (f"?{raw}" if raw else "")
        sent = dict(headers or {})
        if auth is not None:
            sent["Authorization"] = auth
        payload = None
        if body is not None:
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        self.conn.request(method, url, body=payload, headers=sent)
        response = self.conn.getresponse()
        data_ = response.read()
        return response.status, dict(response.getheaders()), data_, url

    def get(self, path: str, query: Any = None, **kw: Any) -> tuple[int, dict]:
        """GET and decode JSON."""
        status, _, body, _ = self.call("GET", path, query, **kw)
        return status, json.loads(body) if body else {}

    def follow(self, href: str, **kw: Any) -> tuple[int, dict]:
        """GET an absolute ``_links`` href (client_id re-added)."""
        parts = urlsplit(href)
        assert parts.path.startswith("/connectedcar/v3")
        return self.get(parts.path[len("/connectedcar/v3") :], parts.query, **kw)


@pytest.fixture
def api(sandbox: PsaSandbox, certs: SandboxCerts) -> Iterator[Api]:
    """A client with the good certificate."""
    context = tls_context(certs, certs.client_cert_file, certs.client_key_file, certs.key_password)
    client = Api(sandbox, context)
    yield client
    client.close()


def fleet_path(sandbox: PsaSandbox, rest: str = "") -> str:
    return f"/fleets/{sandbox.fleet_id}{rest}"


def first_vehicle_with(sandbox: PsaSandbox, *, alerts: bool) -> dict:
    """A vehicle that has (or has no) alerts."""
    for vehicle in sandbox.vehicles():
        if bool(sandbox.alerts(vehicle["vin"])) == alerts:
            return vehicle
    raise AssertionError("fleet has no such vehicle")


class Receiver:
    """A local plain-HTTP webhook receiver recording every POST."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.statuses: list[int] = []  # answers to give, in order; then 200
        self.event = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append(
                    (self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                receiver.event.set()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/psa/events"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A running webhook receiver."""
    running = Receiver()
    yield running
    running.close()


def monitor_body(target: str, token: str = TOKEN) -> dict:
    """A v3.19.2 MonitorParameter watching vehicle alerts."""
    return {
        "label": "fleetbot-alerts",
        "subscribeParam": {
            "callback": {
                "webhook": {
                    "target": target,
                    "name": "fleetbot",
                    "attributes": [
                        {"type": "Header", "key": "X-Fleetbot-Token", "value": token},
                        {"type": "Header", "key": "Vehicle", "value": "$vin"},
                        {"type": "Body", "key": "origin", "value": "sandbox"},
                    ],
                }
            },
            "retryPolicy": {"policy": "Bounded", "retryNumber": 5, "retryDelay": 1},
        },
        "triggerParam": {
            "triggers": [{"name": "alerts", "data": {"data": "vehicle.alert", "op": "onChange"}}],
            "boolExp": "alerts",
        },
        "extendedEventParam": ["vehicle.alerts", "vehicle.position"],
    }


# ---------------------------------------------------------------------------------- mTLS


def test_good_certificate_basic_and_client_id_get_200(api: Api, sandbox: PsaSandbox) -> None:
    status, body = api.get(fleet_path(sandbox, "/vehicles"))
    assert status == 200
    assert body["total"] == 25
    assert sandbox.stats.connections == 1


@pytest.mark.parametrize("which", ["none", "other_ca", "expired"])
def test_bad_client_certificates_are_refused(
    sandbox: PsaSandbox, certs: SandboxCerts, which: str, capfd: pytest.CaptureFixture[str]
) -> None:
    cert_key = {
        "none": (None, None, None),
        "other_ca": (certs.other_client_cert_file, certs.other_client_key_file, None),
        "expired": (
            certs.expired_client_cert_file,
            certs.expired_client_key_file,
            certs.key_password,
        ),
    }[which]
    client = Api(sandbox, tls_context(certs, *cert_key))
    try:
        with pytest.raises(OSError):  # ssl.SSLError or a reset, depending on TLS version
            client.call("GET", fleet_path(sandbox, "/vehicles"))
    finally:
        client.close()
    sandbox.stop()  # joins the connection threads, so their output is flushed
    assert sandbox.stats.connections == 0
    assert sandbox.stats.requests == 0
    assert "Traceback" not in capfd.readouterr().err


def test_client_trusting_another_ca_rejects_the_server(
    sandbox: PsaSandbox, certs: SandboxCerts
) -> None:
    context = tls_context(
        certs, certs.client_cert_file, certs.client_key_file, certs.key_password,
        ca=certs.untrusted_ca_file,
    )  # fmt: skip
    client = Api(sandbox, context)
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            client.call("GET", fleet_path(sandbox, "/vehicles"))
    finally:
        client.close()


def test_certificates_are_reused_or_regenerated(tmp_path: Path) -> None:
    first = SandboxCerts.create(tmp_path)
    original = first.client_cert_file.read_bytes()
    again = SandboxCerts.create(tmp_path)
    assert again.client_cert_file.read_bytes() == original
    other = SandboxCerts.create(tmp_path, key_password="another-password")
    assert other.client_cert_file.read_bytes() != original
    key = serialization.load_pem_private_key(
        other.client_key_file.read_bytes(), password=b"another-password"
    )
    assert key is not None
    with pytest.raises((TypeError, ValueError)):  # encrypted: no password, no key
        serialization.load_pem_private_key(other.client_key_file.read_bytes(), password=None)
    combined = other.client_combined_file.read_text()
    assert "BEGIN CERTIFICATE" in combined and "BEGIN ENCRYPTED PRIVATE KEY" in combined


def test_combined_pem_works_as_cert_file(sandbox: PsaSandbox, certs: SandboxCerts) -> None:
    context = tls_context(certs, certs.client_combined_file, None, certs.key_password)
    client = Api(sandbox, context)
    try:
        status, _, _, _ = client.call("GET", fleet_path(sandbox))
    finally:
        client.close()
    assert status == 200


# ---------------------------------------------------------------------------------- auth


@pytest.mark.parametrize(
    ("client_id", "auth", "message"),
    [
        (CREDS.client_id, None, "security checks"),
        (
            CREDS.client_id,
            "Basic " + base64.b64encode(b"sandbox-partner:nope").decode(),
            "security",
        ),
        (None, BASIC, "Client id"),
        ("someone-else", BASIC, "Client id"),
    ],
)
def test_missing_or_wrong_credentials_get_gateway_401(
    api: Api, sandbox: PsaSandbox, client_id: str | None, auth: str | None, message: str
) -> None:
    status, headers, body, _ = api.call(
        "GET", fleet_path(sandbox, "/vehicles"), client_id=client_id, auth=auth
    )
    assert status == 401
    decoded = json.loads(body)
    assert decoded["httpCode"] == "401" and decoded["httpMessage"] == "Unauthorized"
    assert message in decoded["moreInformation"]
    assert CREDS.password not in body.decode() and CREDS.client_id not in body.decode()
    assert headers["X-RateLimit-Limit-1"] == str(sandbox.daily_limit)


# -------------------------------------------------------------------------- HAL and paging


def test_paging_follows_next_links_over_every_vehicle_once(api: Api, sandbox: PsaSandbox) -> None:
    status, page = api.get(fleet_path(sandbox, "/vehicles"), [("pageSize", "5")])
    seen: list[str] = []
    pages = 0
    while True:
        assert status == 200
        pages += 1
        assert page["currentPage"] == pages and page["totalPage"] == 5 and page["total"] == 25
        assert "client_id" not in json.dumps(page["_links"])
        seen.extend(v["id"] for v in page["_embedded"]["vehicles"])
        if "next" not in page["_links"]:
            break
        status, page = api.follow(page["_links"]["next"]["href"])
    assert pages == 5
    assert sorted(seen) == sorted(v["id"] for v in sandbox.vehicles())
    assert len(set(seen)) == 25
    assert "prev" in page["_links"] and page["_links"]["last"] == page["_links"]["self"]


def test_index_range_and_vin_prefix_select(api: Api, sandbox: PsaSandbox) -> None:
    status, page = api.get(fleet_path(sandbox, "/vehicles"), [("indexRange", "5-9")])
    assert status == 200 and page["total"] == 5
    assert [v["id"] for v in page["_embedded"]["vehicles"]] == [
        v["id"] for v in sandbox.vehicles()[5:10]
    ]
    prefix = sandbox.vehicles()[0]["vin"][:3]
    status, page = api.get(fleet_path(sandbox, "/vehicles"), [("vinPrefix", prefix)])
    assert status == 200
    assert all(v["vin"].startswith(prefix) for v in page["_embedded"]["vehicles"])
    assert page["total"] == sum(v["vin"].startswith(prefix) for v in sandbox.vehicles())


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ([("pageSize", "0")], 40001),
        ([("pageSize", "61")], 40001),
        ([("pageSize", "ten")], 40001),
        ([("indexRange", "-5")], 40002),
        ([("indexRange", "a-b")], 40002),
        ([("pageToken", "not-a-token")], 40003),
    ],
)
def test_invalid_paging_parameters_get_400_xerror(
    api: Api, sandbox: PsaSandbox, query: list[tuple[str, str]], code: int
) -> None:
    status, body = api.get(fleet_path(sandbox, "/vehicles"), query)
    assert status == 400
    assert body["code"] == code
    assert set(body) == {"code", "uuid", "message", "timestamp"}


def test_page_token_bound_to_its_query(api: Api, sandbox: PsaSandbox) -> None:
    _, page = api.get(fleet_path(sandbox, "/vehicles"), [("pageSize", "5")])
    token = dict(
        pair.split("=", 1) for pair in urlsplit(page["_links"]["next"]["href"]).query.split("&")
    )["pageToken"]
    status, body = api.get(
        fleet_path(sandbox, "/vehicles"), [("pageSize", "7"), ("pageToken", token)]
    )
    assert status == 400 and body["code"] == 40003


# ------------------------------------------------------------------------------ resources


def test_vehicle_status_position_alerts_trips(api: Api, sandbox: PsaSandbox) -> None:
    vehicle = first_vehicle_with(sandbox, alerts=True)
    base = fleet_path(sandbox, f"/vehicles/{vehicle['id']}")
    status, body = api.get(base)
    assert status == 200 and body["vin"] == vehicle["vin"] and body["id"] != body["vin"]
    status, body = api.get(base + "/status")
    assert status == 200 and body["vin"] == vehicle["vin"]
    assert body["odometer"]["mileage"] > 0 and body["energies"]
    status, headers, raw, _ = api.call("GET", base + "/lastPosition")
    position = json.loads(raw)
    assert status == 200 and headers["Content-Type"] == "application/vnd.geo+json"
    lon, lat, _alt = position["geometry"]["coordinates"]
    assert -10 < lon < 15 and 35 < lat < 55  # somewhere in western Europe
    status, body = api.get(base + "/alerts")
    assert status == 200
    alerts = body["_embedded"]["alerts"]
    assert {a["id"] for a in alerts} == {a["id"] for a in sandbox.alerts(vehicle["vin"])}
    assert all("label" not in a and a["type"][0].isupper() for a in alerts)
    status, one = api.get(base + f"/alerts/{alerts[0]['id']}")
    assert status == 200 and one["id"] == alerts[0]["id"]
    status, body = api.get(base + "/trips")
    trips = body["_embedded"]["trips"]
    assert status == 200 and body["total"] >= 14  # a week at 2-6 trips a day
    assert all(isinstance(t["duration"], int) and t["distance"] > 0 for t in trips)
    assert all(t["kinetic"]["maxSpeed"] >= t["kinetic"]["avgSpeed"] for t in trips)
    assert max(t["stoppedAt"] for t in trips) <= data.rfc3339(NOW)
    status, one = api.get(base + f"/trips/{trips[0]['id']}")
    assert status == 200 and one["id"] == trips[0]["id"]


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/vehicles/does-not-exist", 404, 40410),
        ("/vehicles/does-not-exist/alerts", 404, 40410),
        ("/vehicles/{vid}/alerts/nope", 404, 40420),
        ("/vehicles/{vid}/trips/nope", 404, 40430),
        ("/monitors/nope", 404, 40440),
    ],
)
def test_not_found_codes(api: Api, sandbox: PsaSandbox, path: str, status: int, code: int) -> None:
    vid = sandbox.vehicles()[0]["id"]
    got, body = api.get(fleet_path(sandbox, path.format(vid=vid)))
    assert (got, body["code"]) == (status, code)


def test_no_data_is_404_40400_and_unknown_paths_get_gateway_404(
    api: Api, sandbox: PsaSandbox
) -> None:
    quiet = first_vehicle_with(sandbox, alerts=False)
    status, body = api.get(fleet_path(sandbox, f"/vehicles/{quiet['id']}/alerts"))
    assert (status, body["code"]) == (404, 40400)
    status, body = api.get("/fleets/other-fleet/vehicles")
    assert (status, body["code"]) == (404, 40450)
    status, body = api.get("/no/such/thing")
    assert status == 404 and body["httpCode"] == "404"


# ----------------------------------------------------------------------------- timestamps


def test_trip_timestamps_filter_by_start(api: Api, sandbox: PsaSandbox) -> None:
    vehicle = sandbox.vehicles()[0]
    all_trips = sandbox.trips(vehicle["vin"])
    day = NOW - timedelta(days=2)
    lo = day.replace(hour=0, minute=0, second=0, microsecond=0)
    hi = lo + timedelta(days=1)
    expected = [
        t["id"] for t in all_trips if data.rfc3339(lo) <= t["startedAt"] <= data.rfc3339(hi)
    ]
    path = fleet_path(sandbox, f"/vehicles/{vehicle['id']}/trips")
    for interval in (
        f"{lo.isoformat()}/{hi.isoformat()}",
        f"{lo.isoformat()}/P1D",
        f"{(lo + timedelta(hours=1)).astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S')}+01:00/PT24H",
    ):
        status, body = api.get(path, [("timestamps", interval)])
        got = [t["id"] for t in body["_embedded"]["trips"]] if status == 200 else []
        assert got == expected, interval
    # two intervals: union
    earlier = lo - timedelta(days=1)
    status, body = api.get(
        path,
        [("timestamps", f"{earlier.isoformat()}/P1D"), ("timestamps", f"{lo.isoformat()}/P1D")],
    )
    union = [t for t in all_trips if data.rfc3339(earlier) <= t["startedAt"] <= data.rfc3339(hi)]
    assert status == 200 and body["total"] == len(union)


def test_alert_timestamps_match_on_overlap(api: Api, sandbox: PsaSandbox) -> None:
    vehicle = first_vehicle_with(sandbox, alerts=False)
    old = sandbox.add_alert(vehicle["vin"], started_at=NOW - timedelta(days=3))
    ended = sandbox.add_alert(vehicle["vin"], started_at=NOW - timedelta(days=3))
    sandbox.end_alert(ended["id"], at=NOW - timedelta(days=2))
    path = fleet_path(sandbox, f"/vehicles/{vehicle['id']}/alerts")
    since = (NOW - timedelta(hours=1)).isoformat()
    status, body = api.get(path, [("timestamps", f"{since}/")])
    assert status == 200
    assert [a["id"] for a in body["_embedded"]["alerts"]] == [old["id"]]  # still active
    status, body = api.get(path, [("timestamps", f"/{(NOW - timedelta(days=4)).isoformat()}")])
    assert (status, body["code"]) == (404, 40400)


def test_raw_plus_in_timestamps_is_a_400(api: Api, sandbox: PsaSandbox) -> None:
    path = fleet_path(sandbox, f"/vehicles/{sandbox.vehicles()[0]['id']}/trips")
    status, body = api.get(path, "timestamps=2026-11-18T00:00:00+01:00/")
    assert (status, body["code"]) == (400, 40004)
    status, body = api.get(path, "timestamps=" + quote("2026-11-18T00:00:00+01:00/", safe=""))
    assert status == 200 and body["total"] > 0


@pytest.mark.parametrize(
    ("text", "windows"),
    [
        ("2026-11-01T00:00:00Z/2026-11-02T00:00:00Z", [(0, 24)]),
        ("2026-11-01T00:00:00Z/P1DT2H", [(0, 26)]),
        ("2026-11-01T00:00:00+0000/PT30M", [(0, 0.5)]),
        ("P1D/2026-11-02T00:00:00Z", [(0, 24)]),
        ("R3/2026-11-01T00:00:00Z/P1D/PT2H", [(0, 2), (24, 26), (48, 50)]),
        ("R2/2026-11-01T00:00:00Z/P1W", [(0, 24), (168, 192)]),
    ],
)
def test_parse_interval_forms(text: str, windows: list[tuple[float, float]]) -> None:
    origin = datetime(2026, 11, 1, tzinfo=UTC)
    got = data.parse_interval(text, NOW)
    assert [
        ((a - origin).total_seconds() / 3600, (b - origin).total_seconds() / 3600)
        for a, b in got
        if a and b
    ] == windows


def test_parse_interval_open_ends_and_errors() -> None:
    assert data.parse_interval("2026-11-01T00:00:00Z/", NOW) == [
        (datetime(2026, 11, 1, tzinfo=UTC), None)
    ]
    assert data.parse_interval("/2026-11-01T00:00:00Z", NOW) == [
        (None, datetime(2026, 11, 1, tzinfo=UTC))
    ]
    for bad in ("", "/", "yesterday/", "2026-11-02T00:00:00Z/2026-11-01T00:00:00Z", "R/x/P1D"):
        with pytest.raises(data.IntervalError):
            data.parse_interval(bad, NOW)


# ---------------------------------------------------------------------------- rate limits


def test_burst_limit_answers_429_with_retry_after(api: Api, sandbox: PsaSandbox) -> None:
    sandbox.burst_limit = 3
    statuses = []
    for _ in range(20):  # far more than 3 in any second on any machine
        status, headers, body, _ = api.call("GET", fleet_path(sandbox))
        statuses.append(status)
        assert headers["X-RateLimit-Limit-2"] == "3"
        if status == 429:
            assert headers["Retry-After"] == "1"
            assert json.loads(body)["httpCode"] == "429"
    assert statuses.count(429) > 0 and statuses.count(200) >= 3
    assert sandbox.stats.throttled_over_burst == statuses.count(429)
    assert sandbox.stats.peak_per_second >= 4


def test_daily_quota_runs_out(api: Api, sandbox: PsaSandbox) -> None:
    sandbox.daily_limit = 3
    remaining = []
    for _ in range(3):
        status, headers, _, _ = api.call("GET", fleet_path(sandbox))
        assert status == 200
        remaining.append(int(headers["X-RateLimit-Remaining-1"]))
    assert remaining == [2, 1, 0]
    status, headers, _, _ = api.call("GET", fleet_path(sandbox))
    assert status == 429 and int(headers["Retry-After"]) > 1
    assert sandbox.stats.throttled_over_burst == 0


# ------------------------------------------------------------------------------- faults


def test_throttle_knob(api: Api, sandbox: PsaSandbox) -> None:
    sandbox.throttle_rate = 1.0
    for _ in range(3):
        status, headers, _, _ = api.call("GET", fleet_path(sandbox))
        assert status == 429 and headers["Retry-After"] == "1"
    assert sandbox.stats.throttled_over_burst == 0


def test_error_knob_gives_gateway_or_xerror_5xx(api: Api, sandbox: PsaSandbox) -> None:
    sandbox.error_rate = 1.0
    for _ in range(12):
        status, _, body, _ = api.call("GET", fleet_path(sandbox))
        decoded = json.loads(body)
        assert status in (500, 502, 503)
        assert "httpCode" in decoded or decoded["code"] == 50000


def test_malformed_knob_gives_unreadable_200(api: Api, sandbox: PsaSandbox) -> None:
    sandbox.malformed_rate = 1.0
    status, _, body, _ = api.call("GET", fleet_path(sandbox, "/vehicles"))
    assert status == 200
    with pytest.raises(ValueError):
        json.loads(body)


def test_timeout_knob_hangs_then_answers(sandbox: PsaSandbox, certs: SandboxCerts) -> None:
    sandbox.timeout_rate = 1.0
    sandbox.hang_seconds = 30.0
    context = tls_context(certs, certs.client_cert_file, certs.client_key_file, certs.key_password)
    impatient = Api(sandbox, context, timeout=0.2)
    try:
        with pytest.raises(TimeoutError):
            impatient.call("GET", fleet_path(sandbox))
    finally:
        impatient.close()
    sandbox.hang_seconds = 0.05
    patient = Api(sandbox, context)
    try:
        status, _, _, _ = patient.call("GET", fleet_path(sandbox))
    finally:
        patient.close()
    assert status == 200


def test_fault_draws_are_seeded_and_mixed(api: Api, sandbox: PsaSandbox) -> None:
    def run() -> list[int]:
        sandbox.fault_seed = 11
        return [api.call("GET", fleet_path(sandbox))[0] for _ in range(30)]

    sandbox.error_rate = 0.5
    first = run()
    assert first == run()
    assert 200 in first and any(s >= 500 for s in first)


# ----------------------------------------------------------------------- monitors/webhook


def test_monitor_push_delivers_monitor_events(
    api: Api, sandbox: PsaSandbox, receiver: Receiver
) -> None:
    status, _, raw, _ = api.call(
        "POST", fleet_path(sandbox, "/monitors"), body=monitor_body(receiver.url)
    )
    assert status == 202
    monitor_id = json.loads(raw)["monitorId"]
    assert sandbox.monitors[0]["monitorId"] == monitor_id
    vehicle = sandbox.vehicles()[3]
    alert = sandbox.add_alert(vehicle["vin"], type="OilLevelLow", severity="Critical")
    assert sandbox.wait_for_webhooks()
    path, got_headers, body = receiver.received[-1]
    assert path == "/psa/events"
    assert got_headers["x-fleetbot-token"] == TOKEN
    assert got_headers["x-vehicle"] == vehicle["vin"]
    events = json.loads(body)
    assert events["monitorId"] == monitor_id
    assert events["attributes"] == [{"key": "origin", "value": "sandbox"}]
    event = events["events"][0]
    assert event["vin"] == vehicle["vin"] and event["fleetId"] == sandbox.fleet_id
    sent = event["values"][0]["value"]["body"]["objectValues"][0]
    assert sent["id"] == alert["id"] and sent["active"] is True and sent["severity"] == "Critical"
    kinds = {e["type"]: e["body"] for e in event["extensions"]}
    assert alert["id"] in [a["id"] for a in kinds["vehicle.alerts"]["alerts"]]
    assert kinds["vehicle.position"]["position"]["type"] == "Feature"

    sandbox.end_alert(alert["id"])
    assert sandbox.wait_for_webhooks()
    ended = json.loads(receiver.received[-1][2])["events"][0]["values"][0]["value"]["body"]
    assert ended["objectValues"][0]["active"] is False and "endAt" in ended["objectValues"][0]

    count = len(receiver.received)
    sandbox.redeliver_last_event()
    assert sandbox.wait_for_webhooks()
    assert len(receiver.received) == count + 1
    assert receiver.received[-1][2] == receiver.received[-2][2]
    assert sandbox.webhook_deliveries[-1] == (receiver.url, 200)
    if specs.specs_available(specs.WEBHOOK_V3):
        validate_monitor_events(json.loads(receiver.received[-1][2]))


def validate_monitor_events(payload: dict) -> None:
    """Check a MonitorEvents body against the webhook template's schema."""
    from openapi_schema_validator import OAS30Validator

    spec = specs.load_spec(specs.WEBHOOK_V3)
    schema = {**spec["components"]["schemas"]["MonitorEvents"], "components": spec["components"]}
    errors = list(OAS30Validator(schema).iter_errors(payload))
    assert not errors, errors[0].message


def test_failed_webhook_is_retried(api: Api, sandbox: PsaSandbox, receiver: Receiver) -> None:
    api.call("POST", fleet_path(sandbox, "/monitors"), body=monitor_body(receiver.url))
    receiver.statuses = [500, 503]
    sandbox.add_alert(sandbox.vehicles()[0]["vin"])
    assert sandbox.wait_for_webhooks()
    assert [status for _, status in sandbox.webhook_deliveries] == [500, 503, 200]
    assert len({body for _, _, body in receiver.received}) == 1  # same event each time


def test_unreachable_webhook_gives_up_after_backoff(api: Api, sandbox: PsaSandbox) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/gone"
    api.call("POST", fleet_path(sandbox, "/monitors"), body=monitor_body(dead))
    sandbox.add_alert(sandbox.vehicles()[0]["vin"])
    assert sandbox.wait_for_webhooks()
    attempts = sandbox.webhook_deliveries
    assert len(attempts) == len(sandbox.webhook_backoff) + 1
    assert all(url == dead and isinstance(outcome, str) for url, outcome in attempts)


def test_paused_or_deleted_monitor_sends_nothing(
    api: Api, sandbox: PsaSandbox, receiver: Receiver
) -> None:
    _, _, raw, _ = api.call(
        "POST", fleet_path(sandbox, "/monitors"), body=monitor_body(receiver.url)
    )
    monitor_id = json.loads(raw)["monitorId"]
    status, _, raw, _ = api.call(
        "PUT", fleet_path(sandbox, f"/monitors/{monitor_id}/status"), body={"status": "Paused"}
    )
    assert status == 202 and json.loads(raw)["status"] == "Paused"
    sandbox.add_alert(sandbox.vehicles()[0]["vin"])
    assert sandbox.wait_for_webhooks() and receiver.received == []
    status, _, _, _ = api.call("DELETE", fleet_path(sandbox, f"/monitors/{monitor_id}"))
    assert status == 204 and sandbox.monitors == []


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.pop("label"),
        lambda b: b["triggerParam"].pop("boolExp"),
        lambda b: b["triggerParam"]["triggers"][0].update(name="bad name!"),
        lambda b: b["subscribeParam"]["callback"]["webhook"].update(target="ftp://x"),
        lambda b: b["triggerParam"]["triggers"][0]["data"].update(op="sometimes"),
    ],
)
def test_invalid_monitor_parameter_is_400(api: Api, sandbox: PsaSandbox, mutate: Any) -> None:
    body = monitor_body("http://127.0.0.1:9/")
    mutate(body)
    status, _, raw, _ = api.call("POST", fleet_path(sandbox, "/monitors"), body=body)
    assert status == 400 and json.loads(raw)["code"] == 40005
    assert sandbox.monitors == []


# ---------------------------------------------------------------------------- quick guide


def test_quickguide_style_with_fleet_id_header(api: Api, sandbox: PsaSandbox) -> None:
    header = {"fleet-id": sandbox.fleet_id}
    vehicle = first_vehicle_with(sandbox, alerts=True)
    status, body = api.get("/fleet/vehicles", [("pageSize", "10")], headers=header)
    assert status == 200 and body["total"] == 25
    assert body["_links"]["next"]["href"].split("?")[0].endswith("/connectedcar/v3/fleet/vehicles")
    status, body = api.get(
        f"/fleet/vehicles/{vehicle['id']}/alerts", [("locale", "fr-FR")], headers=header
    )
    alert = body["_embedded"]["alerts"][0]
    assert status == 200 and alert["type"][0].islower() and "label" in alert
    assert "severity" not in alert
    status, body = api.get(f"/fleet/vehicles/{vehicle['id']}/trips", headers=header)
    trip = body["_embedded"]["trips"][0]
    assert trip["duration"].startswith("PT") and "avgConsumption" in trip and "odometer" in trip
    assert trip["createdAt"].endswith("+0000")
    status, body = api.get("/fleet/vehicles")
    assert (status, body["code"]) == (400, 40007)
    status, body = api.get("/fleet/vehicles", headers={"fleet-id": "someone-else"})
    assert (status, body["code"]) == (404, 40450)


def test_quickguide_alert_labels_follow_locale() -> None:
    assert data.alert_label("AddWasherFluid", "fr-FR") == "Ajouter du liquide lave-glace"
    assert data.alert_label("AddWasherFluid", "en-GB") == "Add washer fluid"
    assert data.quickguide_type("AddWasherFluid") == "washerLevelAlarm"
    assert data.quickguide_type("SomethingNew") == "somethingNew"


# --------------------------------------------------------------------- data and bookkeeping


def test_fleet_is_deterministic_and_grows_deterministically(certs: SandboxCerts) -> None:
    big = PsaSandbox(certs, vehicles=30, clock=lambda: NOW)
    grown = PsaSandbox(certs, vehicles=25, clock=lambda: NOW)
    grown.add_vehicles(5)
    assert [v["vin"] for v in grown.vehicles()] == [v["vin"] for v in big.vehicles()]
    other_seed = PsaSandbox(certs, vehicles=30, seed=8, clock=lambda: NOW)
    assert [v["vin"] for v in other_seed.vehicles()] != [v["vin"] for v in big.vehicles()]
    vehicles = big.vehicles()
    assert len({v["id"] for v in vehicles}) == 30
    assert {v["brand"] for v in vehicles} >= {"Peugeot", "Citroën", "Opel"}
    assert {v["motorization"] for v in vehicles} == {"Thermic", "Hybrid", "Electric"}
    for v in vehicles:
        assert len(v["vin"]) == 17 and v["vin"][:3] in ("VF3", "VF7", "W0L", "VR1")
        assert data.vin_check_digit(v["vin"]) == v["vin"][8]
    alerts = big.alerts()
    assert {a["severity"] for a in alerts} == {"Information", "Warning", "Critical"}
    assert {a["active"] for a in alerts} == {True, False}


def test_thousand_vehicles_page_through(api: Api, sandbox: PsaSandbox) -> None:
    sandbox.add_vehicles(975)
    status, page = api.get(fleet_path(sandbox, "/vehicles"))
    count = len(page["_embedded"]["vehicles"])
    pages = 1
    while "next" in page["_links"]:
        status, page = api.follow(page["_links"]["next"]["href"])
        assert status == 200
        count += len(page["_embedded"]["vehicles"])
        pages += 1
    assert (count, pages, page["total"]) == (1000, 17, 1000)
    last = sandbox.vehicles()[-1]
    status, body = api.get(fleet_path(sandbox, f"/vehicles/{last['id']}/status"))
    assert status == 200 and body["vin"] == last["vin"]


def test_requests_are_recorded_and_stats_counted(api: Api, sandbox: PsaSandbox) -> None:
    api.call("GET", fleet_path(sandbox, "/vehicles"), [("pageSize", "2")])
    api.call("GET", fleet_path(sandbox, "/vehicles"), [("pageSize", "3")])
    api.call("POST", fleet_path(sandbox, "/monitors"), body={"nope": 1})
    recorded = sandbox.requests
    assert [r.method for r in recorded] == ["GET", "GET", "POST"]
    assert ("pageSize", "2") in recorded[0].query and ("client_id", CREDS.client_id) in recorded[
        0
    ].query
    assert recorded[0].headers["authorization"] == BASIC
    assert recorded[2].body == b'{"nope": 1}'
    stats = sandbox.stats
    assert stats.requests == 3 and stats.connections == 1  # keep-alive: one TLS connection
    assert stats.by_status == {200: 2, 400: 1}
    assert stats.requests_by_path["/connectedcar/v3" + fleet_path(sandbox, "/vehicles")] == 2
    sandbox.reset_stats()
    assert sandbox.stats.requests == 0


def test_restart_serves_again_on_the_same_port(
    sandbox: PsaSandbox, certs: SandboxCerts, receiver: Receiver
) -> None:
    port = sandbox.port
    sandbox.stop()
    sandbox.start()
    assert sandbox.port == port
    context = tls_context(certs, certs.client_cert_file, certs.client_key_file, certs.key_password)
    client = Api(sandbox, context)
    try:
        status, _, _, _ = client.call(
            "POST", fleet_path(sandbox, "/monitors"), body=monitor_body(receiver.url)
        )
    finally:
        client.close()
    assert status == 202
    sandbox.add_alert(sandbox.vehicles()[0]["vin"])
    assert sandbox.wait_for_webhooks() and len(receiver.received) == 1


def test_env_points_at_the_sandbox(sandbox: PsaSandbox, certs: SandboxCerts) -> None:
    env = sandbox.env("quickguide")
    assert (
        env["PSA_API_URL"]
        == sandbox.base_url
        == f"https://127.0.0.1:{sandbox.port}/connectedcar/v3"
    )
    assert env["PSA_API_STYLE"] == "quickguide" and env["PSA_FLEET_ID"] == sandbox.fleet_id
    assert Path(env["PSA_CERT_FILE"]).is_file() and Path(env["PSA_CA_FILE"]) == certs.ca_file
    assert env["PSA_KEY_PASSWORD"] == certs.key_password
    with pytest.raises(ValueError):
        sandbox.env("rest")


# ---------------------------------------------------------------------- spec validation


@pytest.fixture(scope="module")
def v3_spec() -> Any:
    if not specs.specs_available(specs.V3):
        pytest.skip(specs.SKIP_REASON)
    return specs.openapi(specs.V3)


@pytest.fixture(scope="module")
def quickguide_spec() -> Any:
    if not specs.specs_available(specs.QUICKGUIDE):
        pytest.skip(specs.SKIP_REASON)
    return specs.openapi(specs.QUICKGUIDE)


def test_v3_responses_match_the_spec(api: Api, sandbox: PsaSandbox, v3_spec: Any) -> None:
    vehicle = first_vehicle_with(sandbox, alerts=True)
    quiet = first_vehicle_with(sandbox, alerts=False)
    base = fleet_path(sandbox, f"/vehicles/{vehicle['id']}")
    alert_id = sandbox.alerts(vehicle["vin"])[0]["id"]
    trip_id = sandbox.trips(vehicle["vin"])[0]["id"]
    calls: list[tuple[str, str, Any, Any]] = [
        ("GET", "/fleets", None, None),
        ("GET", fleet_path(sandbox), None, None),
        ("GET", fleet_path(sandbox, "/vehicles"), [("pageSize", "5")], None),
        ("GET", fleet_path(sandbox, "/vehicles"), [("extension", "branding")], None),
        ("GET", base, None, None),
        ("GET", base + "/status", None, None),
        ("GET", base + "/lastPosition", None, None),
        ("GET", base + "/alerts", [("timestamps", "2026-11-01T00:00:00Z/")], None),
        ("GET", base + f"/alerts/{alert_id}", None, None),
        ("GET", base + "/trips", [("pageSize", "3")], None),
        ("GET", base + f"/trips/{trip_id}", None, None),
        ("GET", fleet_path(sandbox, "/alerts"), None, None),
        ("GET", fleet_path(sandbox, "/alerts"), [("pageSize", "2"), ("indexRange", "1-")], None),
        ("GET", fleet_path(sandbox, "/maintenances"), [("pageSize", "7")], None),
        ("GET", base + "/maintenance", None, None),
        (
            "GET",
            fleet_path(sandbox, "/alerts"),
            [
                ("timestamps", "2026-11-01T00:00:00Z/2026-11-02T00:00:00Z"),
                ("timestamps", "2026-11-19T00:00:00Z/"),
            ],
            None,
        ),
        ("GET", fleet_path(sandbox, f"/vehicles/{quiet['id']}/alerts"), None, None),  # 404
        ("GET", fleet_path(sandbox, "/vehicles/nope"), None, None),  # 404 xError
        ("GET", fleet_path(sandbox, "/vehicles"), [("pageSize", "99")], None),  # 400 xError
        ("POST", fleet_path(sandbox, "/monitors"), None, monitor_body("https://example.invalid/")),
        ("GET", fleet_path(sandbox, "/monitors"), None, None),
    ]
    statuses = []
    for method, path, query, body in calls:
        status, headers, raw, url = api.call(method, path, query, body=body)
        statuses.append(status)
        specs.validate_response(v3_spec, method, url, status, headers, raw)
        if status != 400:  # the 400 case sends an out-of-range pageSize on purpose
            sent = sandbox.requests[-1]
            specs.validate_request(v3_spec, method, url, sent.headers, sent.body or None)
    monitor_id = sandbox.monitors[0]["monitorId"]
    for method, path, body in (
        ("GET", fleet_path(sandbox, f"/monitors/{monitor_id}"), None),
        ("PUT", fleet_path(sandbox, f"/monitors/{monitor_id}/status"), {"status": "Paused"}),
        ("PUT", fleet_path(sandbox, f"/monitors/{monitor_id}"), monitor_body("https://x.invalid/")),
        ("DELETE", fleet_path(sandbox, f"/monitors/{monitor_id}"), None),
    ):
        status, headers, raw, url = api.call(method, path, body=body)
        statuses.append(status)
        specs.validate_response(v3_spec, method, url, status, headers, raw)
    assert statuses.count(200) >= 12 and {202, 204, 400, 404} <= set(statuses)


def test_the_validator_does_reject_a_wrong_body(
    api: Api, sandbox: PsaSandbox, v3_spec: Any
) -> None:
    vehicle = first_vehicle_with(sandbox, alerts=True)
    status, headers, raw, url = api.call(
        "GET", fleet_path(sandbox, f"/vehicles/{vehicle['id']}/alerts")
    )
    broken = json.loads(raw)
    broken["_embedded"]["alerts"][0]["severity"] = "Apocalyptic"
    with pytest.raises(InvalidData):
        specs.validate_response(v3_spec, "GET", url, status, headers, json.dumps(broken).encode())
    with pytest.raises(SecurityValidationError):  # no client_id, no Basic
        specs.validate_request(v3_spec, "GET", url.split("?")[0], {}, None)


def test_quickguide_responses_match_the_2019_spec(
    api: Api, sandbox: PsaSandbox, quickguide_spec: Any
) -> None:
    header = {"fleet-id": sandbox.fleet_id}
    vehicle = first_vehicle_with(sandbox, alerts=True)
    vid = vehicle["id"]
    alert_id = sandbox.alerts(vehicle["vin"])[0]["id"]
    trip_id = sandbox.trips(vehicle["vin"])[0]["id"]
    calls: list[tuple[str, str, Any, Any]] = [
        ("GET", "/fleet", None, None),
        ("GET", "/fleet/vehicles", [("pageSize", "4")], None),
        ("GET", f"/fleet/vehicles/{vid}", None, None),
        ("GET", f"/fleet/vehicles/{vid}/status", None, None),
        ("GET", f"/fleet/vehicles/{vid}/lastPosition", None, None),
        ("GET", f"/fleet/vehicles/{vid}/alerts", [("locale", "fr-FR")], None),
        ("GET", f"/fleet/vehicles/{vid}/alerts/{alert_id}", None, None),
        ("GET", f"/fleet/vehicles/{vid}/trips", [("pageSize", "2")], None),
        ("GET", f"/fleet/vehicles/{vid}/trips/{trip_id}", None, None),
        ("GET", "/fleet/maintenances", [("pageSize", "5")], None),
        ("GET", f"/fleet/vehicles/{vid}/maintenance", None, None),
        (
            "GET",
            "/fleet/alerts",
            [("pageSize", "3"), ("timestamps", "2026-11-01T00:00:00Z/")],
            None,
        ),
        ("GET", "/fleet/vehicles/nope", None, None),
        (
            "POST",
            "/fleet/monitors",
            None,
            {
                "subscribeParam": {"callback": {"target": "https://x.invalid/", "name": "fb"}},
                "triggerParam": {"dataTriggers": [{"data": "vehicle.alert", "op": "onChange"}]},
            },
        ),
        ("GET", "/fleet/monitors", None, None),
    ]
    for method, path, query, body in calls:
        status, headers, raw, url = api.call(method, path, query, headers=header, body=body)
        specs.validate_response(quickguide_spec, method, url, status, headers, raw)
        sent = sandbox.requests[-1]
        specs.validate_request(quickguide_spec, method, url, sent.headers, sent.body or None)
    monitor_id = sandbox.monitors[0]["monitorId"]
    for method, path, body in (
        ("GET", f"/fleet/monitors/{monitor_id}", None),
        ("PUT", f"/fleet/monitors/{monitor_id}/status", "Paused"),
        ("DELETE", f"/fleet/monitors/{monitor_id}", None),
    ):
        status, headers, raw, url = api.call(method, path, headers=header, body=body)
        assert status == 200
        specs.validate_response(quickguide_spec, method, url, status, headers, raw)


def test_spec_loader_repairs_known_defects(v3_spec: Any) -> None:
    spec = specs.load_spec(specs.V3)
    pattern = spec["components"]["schemas"]["MonitorTrigger"]["properties"]["name"]["pattern"]
    assert pattern == "[a-zA-Z]+[._]?[0-9]*"
    assert "on" in spec["components"]["schemas"]["RemoteLights"]["required"]
    content = spec["paths"]["/fleets/{fid}/vehicles"]["get"]["responses"]["200"]["content"]
    assert list(content) == ["application/hal+json"]
    assert specs.spec_url(v3_spec, "https://127.0.0.1:1/connectedcar/v3/fleets?a=1") == (
        "https://api-cert.groupe-psa.com/connectedcar/v3/fleets?a=1"
    )


# ------------------------------------------------------------------ the fleet-wide alerts


def test_fleet_alerts_page_through_every_vehicle(api: Api, sandbox: PsaSandbox) -> None:
    """The fleet collection pages oldest first over every vehicle's alerts, filtered like theirs."""
    status, body = api.get(fleet_path(sandbox, "/alerts"), [("pageSize", "7")])
    seen = body["_embedded"]["alerts"]
    while "next" in body["_links"]:
        status, body = api.follow(body["_links"]["next"]["href"])
        assert status == 200
        seen += body["_embedded"]["alerts"]
    assert [a["id"] for a in seen] == [a["id"] for a in sandbox.alerts()]
    assert len({a["vin"] for a in seen}) > 1
    assert all(a["_links"]["vehicle"]["href"].split("/")[-1] for a in seen)
    window = [("timestamps", "2026-11-20T00:00:00Z/")]
    status, body = api.get(fleet_path(sandbox, "/alerts"), window)
    expected = {
        a["id"] for a in sandbox.alerts() if a["active"] or a["endAt"] >= "2026-11-20T00:00:00Z"
    }
    assert status == 200 and {a["id"] for a in body["_embedded"]["alerts"]} == expected


@pytest.mark.parametrize("style", ["fleets", "quickguide"])
@pytest.mark.parametrize(
    ("refusal", "message"),
    [
        (404, "No resources match requested URI"),
        (405, "not allowed"),
        (410, "no longer available"),
        (501, "not implemented"),
    ],
)
def test_the_gateway_can_refuse_the_fleet_alerts(
    api: Api, sandbox: PsaSandbox, style: str, refusal: int, message: str
) -> None:
    """Each refusal is a gateway body without xError code; other operations are unaffected."""
    sandbox.refuse_fleet_alerts(refusal)
    path, header = (
        (fleet_path(sandbox, "/alerts"), None)
        if style == "fleets"
        else ("/fleet/alerts", {"fleet-id": sandbox.fleet_id})
    )
    status, body = api.get(path, headers=header)
    assert status == refusal and "code" not in body
    assert body["httpCode"] == str(refusal) and message in body["moreInformation"]
    vehicle = first_vehicle_with(sandbox, alerts=True)
    assert api.get(fleet_path(sandbox, f"/vehicles/{vehicle['id']}/alerts"))[0] == 200
    sandbox.refuse_fleet_alerts(None)
    assert api.get(path, headers=header)[0] == 200
    with pytest.raises(ValueError, match="refusal status"):
        sandbox.refuse_fleet_alerts(500)


# ------------------------------------------------------------------ maintenance


def test_maintenances_page_through_the_fleet_and_can_be_refused(
    api: Api, sandbox: PsaSandbox
) -> None:
    """Every present vehicle once, with its record's values; a refusal is the gateway's."""
    expected = {m["vin"]: m for m in sandbox.maintenances()}
    seen: dict[str, Any] = {}
    path: str | None = fleet_path(sandbox, "/maintenances")
    query: Any = [("pageSize", "4")]
    while path:
        status, _headers, raw, _url = api.call("GET", path, query)
        assert status == 200
        body = json.loads(raw)
        for item in body["_embedded"]["maintenances"]:
            seen[item["vin"]] = item
        following = urlsplit(body["_links"].get("next", {}).get("href", ""))
        path = following.path.removeprefix("/connectedcar/v3") or None
        query = following.query
    assert seen == expected
    assert any(m.get("daysBeforeMaintenance", 0) < 0 for m in seen.values())
    sandbox.refuse_maintenances(501)
    status, _headers, raw, _url = api.call("GET", fleet_path(sandbox, "/maintenances"))
    assert status == 501 and "code" not in json.loads(raw)
    vehicle = sandbox.vehicles()[0]
    status, _headers, raw, _url = api.call(
        "GET", fleet_path(sandbox, f"/vehicles/{vehicle['id']}/maintenance")
    )
    assert status == 200 and json.loads(raw)["vin"] == vehicle["vin"]
