"""The real client against the PSA sandbox over mutual TLS on 127.0.0.1 (both API styles)."""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import math
import socket
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from bot.config import Settings
from bot.errors import (
    ApiAuthError,
    ApiError,
    ApiResponseError,
    ApiUnavailable,
    CertificateError,
    ConfigError,
    NoData,
    NotFound,
    RateLimited,
)
from bot.psa.client import PsaClient, _retry_after, build_alert_monitor, refuses_route
from bot.psa.tls import build_ssl_context
from bot.sandbox.psa import PsaSandbox, SandboxCerts
from tests import specs
from tests.conftest import FAST_RETRY
from tests.psa.conftest import CREDENTIALS, ClientFactory, context_with, mock_http

STYLES = ("fleets", "quickguide")
SPEC_OF = {"fleets": specs.V3, "quickguide": specs.QUICKGUIDE}
TOKEN_HEADER = "X-Fleetbot-Token"


def _secrets() -> list[str]:
    basic = base64.b64encode(f"{CREDENTIALS.username}:{CREDENTIALS.password}".encode()).decode()
    return [CREDENTIALS.client_id, CREDENTIALS.password, basic, CREDENTIALS.key_password]


def _full_tour(client: PsaClient, sandbox: PsaSandbox) -> None:
    """Call every operation once and check the answers against the sandbox's own data."""
    expected = {v["id"]: v for v in sandbox.vehicles()}
    vehicles = list(client.vehicles())
    assert {v.id for v in vehicles} == set(expected)
    assert all(v.vin == expected[v.id]["vin"] for v in vehicles)
    vid = vehicles[0].id
    assert client.vehicle(vid).vin == expected[vid]["vin"]
    assert client.fleet().id in ("", sandbox.fleet_id) or client.fleet().name
    status = client.status(vid)
    assert status.vin == expected[vid]["vin"] and status.energy_level is not None
    position = client.last_position(vid)
    assert -180 <= position.lon <= 180 and -90 <= position.lat <= 90
    raised = sandbox.add_alert(vid, type="AddWasherFluid", severity="Warning")
    alerts = list(client.alerts(vid))
    assert raised["id"] in {a.id for a in alerts}
    one = client.alert(vid, raised["id"])
    assert one.id == raised["id"] and one.vehicle_id == vid
    # the 2019 spec names types differently (camelCase, other words): type_key is PascalCase
    assert one.type_key[0].isupper() and one.type_key[1:] == one.type[1:]
    if client.style == "fleets":
        assert one.type_key == "AddWasherFluid"
    everyone = list(client.fleet_alerts())
    assert {a.id for a in everyone} == {a["id"] for a in sandbox.alerts()}
    assert all(
        a.vehicle_id in expected and a.vin == expected[a.vehicle_id]["vin"] for a in everyone
    )
    upkeep = list(client.maintenances(page_size=7))
    assert {m.vehicle_id for m in upkeep} == set(expected)
    if client.style == "fleets":
        assert all(m.vin == expected[m.vehicle_id or ""]["vin"] for m in upkeep)
    assert any(m.days_before is not None and m.days_before < 0 for m in upkeep)
    assert client.maintenance(vid).vehicle_id == vid
    trips = list(client.trips(vid, datetime.now(UTC) - timedelta(days=60)))
    assert trips and all(t.distance_km is not None for t in trips)
    assert client.trip(vid, trips[0].id).id == trips[0].id
    parameter = client.build_alert_monitor("https://bot.example/psa/events", TOKEN_HEADER, "tok")
    ref = client.create_monitor(parameter)
    assert ref.id in {m.id for m in client.monitors()}
    assert client.monitor(ref.id).status == "Running"
    client.pause_monitor(ref.id)
    assert client.monitor(ref.id).status == "Paused"
    client.resume_monitor(ref.id)
    assert client.monitor(ref.id).status == "Running"
    client.delete_monitor(ref.id)
    assert ref.id not in {m.id for m in client.monitors()}


# -- every operation, both styles ----------------------------------------------------------------


@pytest.mark.parametrize("style", STYLES)
def test_every_operation(style: str, sandbox: PsaSandbox, make_client: ClientFactory) -> None:
    """The whole tour works in both styles, with the fleet where each style wants it."""
    client = make_client(style)
    _full_tour(client, sandbox)
    for request in sandbox.requests:
        assert [v for k, v in request.query if k == "client_id"] == [CREDENTIALS.client_id]
        if style == "quickguide":
            assert request.path.startswith("/connectedcar/v3/fleet")
            assert not request.path.startswith("/connectedcar/v3/fleets")
            assert request.headers["fleet-id"] == sandbox.fleet_id
        else:
            assert request.path.startswith(f"/connectedcar/v3/fleets/{sandbox.fleet_id}")
            assert "fleet-id" not in request.headers


@pytest.mark.parametrize("style", STYLES)
def test_requests_match_the_vendor_spec(
    style: str, sandbox: PsaSandbox, make_client: ClientFactory
) -> None:
    """Every request the client sent validates against the spec of its style."""
    if not specs.specs_available(SPEC_OF[style]):
        pytest.skip(specs.SKIP_REASON)
    client = make_client(style)
    _full_tour(client, sandbox)
    list(client.alerts(client_vid(client), since=datetime.now(UTC) - timedelta(days=3)))
    api = specs.openapi(SPEC_OF[style])
    checked = 0
    for request in sandbox.requests:
        url = request.path + (f"?{request.raw_query}" if request.raw_query else "")
        specs.validate_request(api, request.method, url, request.headers, request.body or None)
        checked += 1
    assert checked >= 15


def client_vid(client: PsaClient) -> str:
    """The id of the client's first vehicle."""
    return next(iter(client.vehicles())).id


def test_fleets_list_only_in_the_fleets_style(make_client: ClientFactory) -> None:
    """The v3 style lists fleets; the 2019 style says clearly it cannot."""
    fleets = list(make_client("fleets").fleets())
    assert [f.id for f in fleets] == ["fleet-demo-1"]
    with pytest.raises(ConfigError, match="PSA_API_STYLE"):
        make_client("quickguide").fleets()


def test_from_settings_reads_the_sandbox_env(sandbox: PsaSandbox, certs: SandboxCerts) -> None:
    """Settings from the sandbox's PSA_* variables make a working client (key in cert file too)."""
    for style in STYLES:
        env = sandbox.env(style)
        with PsaClient.from_settings(Settings.from_env(env)) as client:
            assert len(list(client.vehicles())) == 25
    combined = {**sandbox.env(), "PSA_CERT_FILE": str(certs.client_combined_file)}
    combined.pop("PSA_KEY_FILE")
    with PsaClient.from_settings(Settings.from_env(combined)) as client:
        assert client.status(client_vid(client)).vin


# -- paging --------------------------------------------------------------------------------------


@pytest.mark.parametrize("style", STYLES)
def test_paging_follows_next_links(
    style: str, sandbox: PsaSandbox, make_client: ClientFactory
) -> None:
    """25 vehicles at 7 a page take 4 requests; the token is kept, client_id re-added once."""
    sandbox.reset_stats()
    vehicles = list(make_client(style).vehicles(page_size=7))
    assert len({v.id for v in vehicles}) == 25
    pages = [r for r in sandbox.requests if r.path.endswith("/vehicles")]
    assert len(pages) == 4
    assert [bool(dict(r.query).get("pageToken")) for r in pages] == [False, True, True, True]
    assert all([v for k, v in r.query if k == "client_id"] == ["sandbox-client-id"] for r in pages)
    assert all(dict(r.query)["pageSize"] == "7" for r in pages)


def test_iteration_is_lazy(sandbox: PsaSandbox, make_client: ClientFactory) -> None:
    """Taking the first vehicle of a paged listing sends one request, not four."""
    client = make_client()
    iterator = client.vehicles(page_size=7)
    assert client.calls == 0
    next(iterator)
    assert client.calls == 1


def test_plus_signs_are_percent_encoded(sandbox: PsaSandbox, make_client: ClientFactory) -> None:
    """A ``+`` in a query value goes out as %2B, so the gateway does not read a space."""
    assert list(make_client().vehicles(vin_prefix="VF3+")) == []
    request = sandbox.requests[-1]
    assert "vinPrefix=VF3%2B" in request.raw_query
    assert ("vinPrefix", "VF3+") in request.query


def test_alerts_since_uses_an_open_interval(
    sandbox: PsaSandbox, make_client: ClientFactory
) -> None:
    """``since`` becomes ``timestamps=T/``; a new alert is in it, one ended long ago is not."""
    client = make_client()
    vid = client_vid(client)
    before = datetime.now(UTC) - timedelta(seconds=5)
    raised = sandbox.add_alert(vid, type="LowFuelLevel", severity="Critical")
    found = list(client.alerts(vid, since=before))
    assert raised["id"] in {a.id for a in found}
    sent = [v for k, v in sandbox.requests[-1].query if k == "timestamps"]
    assert len(sent) == 1 and sent[0].endswith("/") and sent[0].startswith(before.strftime("%Y"))


def test_repeated_page_token_stops_with_an_error() -> None:
    """A next link that comes back to a page already seen is an error, not an endless loop."""
    sent: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url)
        page = {
            "_links": {"self": {"href": "x"}, "next": {"href": "/connectedcar/v3/fleets/F/"
                                                              "vehicles?pageToken=AAA"}},
            "_embedded": {"vehicles": [{"id": f"v{len(sent)}"}]},
        }  # fmt: skip
        return httpx.Response(200, json=page)

    with mock_http(handler) as http:
        client = PsaClient(http=http, client_id="cid", fleet_id="F", retry=FAST_RETRY)
        seen = []
        with pytest.raises(ApiResponseError, match="same next-page link"):
            seen.extend(v.id for v in client.vehicles())
    assert seen == ["v1", "v2"]
    assert len(sent) == 2
    assert sent[1].params["pageToken"] == "AAA" and sent[1].params["client_id"] == "cid"


def test_next_link_to_another_host_is_not_followed() -> None:
    """Our credentials never follow a next link to a foreign server."""
    sent: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url)
        page = {
            "_links": {"next": {"href": "https://evil.example/steal?pageToken=1"}},
            "_embedded": {"vehicles": [{"id": "v1"}]},
        }
        return httpx.Response(200, json=page)

    with mock_http(handler) as http:
        client = PsaClient(http=http, client_id="cid", fleet_id="F", retry=FAST_RETRY)
        with pytest.raises(ApiResponseError, match="another server"):
            list(client.vehicles())
    assert [u.host for u in sent] == ["api.example"]


# -- API errors ----------------------------------------------------------------------------------


def test_unknown_vehicle_is_no_data_with_the_api_reference(make_client: ClientFactory) -> None:
    """404 with xError 40410 is NoData carrying code and uuid; collections just come back empty."""
    client = make_client()
    with pytest.raises(NoData) as caught:
        client.status("no-such-vehicle")
    assert (caught.value.status, caught.value.code) == (404, 40410)
    assert caught.value.uuid and caught.value.uuid in str(caught.value)
    assert "no vehicle" in str(caught.value) and "during status" in str(caught.value)
    assert list(client.alerts("no-such-vehicle")) == []


def test_empty_window_is_an_empty_collection(make_client: ClientFactory) -> None:
    """404 40400 (no data in range) on a collection yields nothing."""
    client = make_client()
    future = datetime.now(UTC) + timedelta(days=365)
    assert list(client.trips(client_vid(client), future, future + timedelta(days=1))) == []


def test_other_404_is_not_found(make_client: ClientFactory) -> None:
    """An unknown alert (40420) or monitor (40440) is NotFound, not NoData."""
    client = make_client()
    with pytest.raises(NotFound) as caught:
        client.alert(client_vid(client), "no-such-alert")
    assert caught.value.code == 40420
    with pytest.raises(NotFound):
        client.delete_monitor("no-such-monitor")


def test_wrong_password_is_an_auth_error(make_client: ClientFactory, sandbox: PsaSandbox) -> None:
    """A 401 gateway body becomes ApiAuthError naming the settings to check; no retry."""
    client = make_client(password="wrong-password")
    with pytest.raises(ApiAuthError) as caught:
        client.fleet()
    assert caught.value.status == 401
    assert "PSA_PASSWORD" in str(caught.value) and "security checks" in str(caught.value)
    assert client.calls == 1


def test_wrong_client_id_is_an_auth_error(make_client: ClientFactory) -> None:
    """The gateway's "Client id not registered" is shown, the client_id itself never."""
    client = make_client(client_id="not-our-app")
    with pytest.raises(ApiAuthError, match="Client id not registered") as caught:
        list(client.vehicles())
    assert "not-our-app" not in str(caught.value)


def test_throttling_is_retried_then_rate_limited(
    sandbox: PsaSandbox, make_client: ClientFactory
) -> None:
    """429 is retried after Retry-After, then RateLimited carrying the wait."""
    sandbox.throttle_rate = 1.0
    client = make_client(retry=dataclasses.replace(FAST_RETRY, attempts=3, max_retry_after=1.0))
    with pytest.raises(RateLimited) as caught:
        client.fleet()
    assert caught.value.retry_after == 1.0 and caught.value.status == 429
    assert client.calls == 3 and sandbox.stats.by_status[429] == 3


def test_spent_daily_quota_is_not_waited_for(certs: SandboxCerts, client_context) -> None:
    """A Retry-After far beyond the policy (daily quota) raises RateLimited at once."""
    with PsaSandbox(certs, vehicles=2, daily_limit=2) as sandbox:
        env = sandbox.env()
        with PsaClient(
            sandbox.base_url,
            client_id=env["PSA_CLIENT_ID"],
            username=env["PSA_USERNAME"],
            password=env["PSA_PASSWORD"],
            ssl_context=client_context,
            fleet_id=sandbox.fleet_id,
            retry=FAST_RETRY,
        ) as client:
            client.fleet()
            client.fleet()
            with pytest.raises(RateLimited) as caught:
                client.fleet()
            assert caught.value.retry_after is not None and caught.value.retry_after > 3600
            assert client.calls == 3
            assert client.quota.daily_limit == 2 and client.quota.daily_remaining == 0


@pytest.mark.parametrize("knob", ["error_rate", "malformed_rate"])
def test_server_errors_and_bad_bodies_are_retried(
    knob: str, sandbox: PsaSandbox, make_client: ClientFactory
) -> None:
    """With half the answers broken, GETs still succeed; the sandbox saw the failures."""
    setattr(sandbox, knob, 0.5)
    sandbox.fault_seed = 3
    client = make_client(retry=dataclasses.replace(FAST_RETRY, attempts=8))
    vehicles = list(client.vehicles(page_size=5))
    statuses = [client.status(v.id) for v in vehicles[:10]]
    assert len(vehicles) == 25 and all(s.vin for s in statuses)
    assert client.calls > 15  # 15 successful requests plus the retried failures
    if knob == "error_rate":
        assert sum(n for status, n in sandbox.stats.by_status.items() if status >= 500) > 0


def test_failures_outliving_retries(sandbox: PsaSandbox, make_client: ClientFactory) -> None:
    """Always 5xx: GET gives ApiUnavailable after the policy's attempts; POST is sent once."""
    sandbox.error_rate = 1.0
    client = make_client()
    with pytest.raises(ApiUnavailable):
        client.fleet()
    assert client.calls == FAST_RETRY.attempts
    with pytest.raises(ApiUnavailable):
        client.create_monitor(build_alert_monitor("https://bot.example/e", TOKEN_HEADER, "t"))
    assert client.calls == FAST_RETRY.attempts + 1


def test_malformed_body_on_post_is_not_retried(
    sandbox: PsaSandbox, make_client: ClientFactory
) -> None:
    """A POST whose answer is unreadable is reported, not sent again (it may have worked)."""
    sandbox.malformed_rate = 1.0
    client = make_client()
    with pytest.raises(ApiResponseError, match="not JSON"):
        client.create_monitor(build_alert_monitor("https://bot.example/e", TOKEN_HEADER, "t"))
    assert client.calls == 1 and len(sandbox.monitors) == 1


def test_read_timeout_is_retried_then_unavailable(
    sandbox: PsaSandbox, make_client: ClientFactory
) -> None:
    """A hanging API times out on every attempt and ends as ApiUnavailable ("timed out")."""
    sandbox.timeout_rate = 1.0
    sandbox.hang_seconds = 2.0
    client = make_client(
        timeout=httpx.Timeout(connect=2.0, read=0.2, write=2.0, pool=2.0),
        retry=dataclasses.replace(FAST_RETRY, attempts=2),
    )
    with pytest.raises(ApiUnavailable, match="timed out"):
        client.fleet()
    assert client.calls == 2


def test_unreachable_host_is_retried_for_any_method(client_context) -> None:
    """Connection refused: nothing was sent, so even a POST is tried again, then ApiUnavailable."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with PsaClient(
        f"https://127.0.0.1:{port}/connectedcar/v3",
        client_id="cid",
        username="u",
        password="p",
        ssl_context=client_context,
        fleet_id="F",
        retry=FAST_RETRY,
    ) as client:
        with pytest.raises(ApiUnavailable, match=r"cannot reach the API at 127\.0\.0\.1"):
            client.create_monitor({"label": "x"})
        assert client.calls == FAST_RETRY.attempts


# -- certificates --------------------------------------------------------------------------------


def _client_on(sandbox: PsaSandbox, context, **kwargs) -> PsaClient:
    return PsaClient(
        sandbox.base_url,
        client_id=CREDENTIALS.client_id,
        username=CREDENTIALS.username,
        password=CREDENTIALS.password,
        ssl_context=context,
        fleet_id=sandbox.fleet_id,
        retry=FAST_RETRY,
        **kwargs,
    )


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("no client certificate", "asked for our client certificate and got none"),
        ("certificate from another CA", "did not accept our client certificate"),
        ("expired certificate", "has expired"),
        ("server not trusted", "not trusted by PSA_CA_FILE (untrusted.pem)"),
    ],
)
def test_certificate_failures_are_reported_not_retried(
    case: str, expected: str, sandbox: PsaSandbox, certs: SandboxCerts
) -> None:
    """Each mTLS failure is a CertificateError saying what to fix, after a single attempt."""
    password = certs.key_password
    contexts = {
        "no client certificate": lambda: context_with(None, None, certs.ca_file),
        "certificate from another CA": lambda: build_ssl_context(
            certs.other_client_cert_file, certs.other_client_key_file, password, certs.ca_file
        ),
        "expired certificate": lambda: build_ssl_context(
            certs.expired_client_cert_file, certs.expired_client_key_file, password, certs.ca_file
        ),
        "server not trusted": lambda: build_ssl_context(
            certs.client_cert_file, certs.client_key_file, password, certs.untrusted_ca_file
        ),
    }
    with _client_on(sandbox, contexts[case](), ca_file_label="untrusted.pem") as client:
        for call in (client.fleet, lambda: client.create_monitor({"label": "x"})):
            with pytest.raises(CertificateError) as caught:
                call()
            assert expected in str(caught.value)
        assert client.calls == 2  # one GET, one POST: neither retried
    assert sandbox.stats.by_status.total() == 0  # no request got through


def test_wrong_key_password_from_settings(sandbox: PsaSandbox) -> None:
    """from_settings with a wrong PSA_KEY_PASSWORD fails before any request, naming it."""
    env = {**sandbox.env(), "PSA_KEY_PASSWORD": "not-the-password"}
    with pytest.raises(CertificateError, match="PSA_KEY_PASSWORD is wrong or missing"):
        PsaClient.from_settings(Settings.from_env(env))
    assert sandbox.stats.requests == 0


# -- limiter, quota, threads ---------------------------------------------------------------------


def test_limiter_keeps_eight_threads_under_the_burst_limit(
    certs: SandboxCerts, client_context
) -> None:
    """100 requests from 8 threads against a 20/s burst limit: no 429 at all."""
    sandbox = PsaSandbox(certs, vehicles=8, burst_limit=20)
    with sandbox, _client_on(sandbox.start(), client_context) as client:
        ids = [v["id"] for v in sandbox.vehicles()]
        errors: list[BaseException] = []

        def work(worker: int) -> None:
            try:
                for i in range(worker, 100, 8):
                    client.status(ids[i % len(ids)])
            except BaseException as exc:  # reported by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert client.calls == 100
        assert sandbox.stats.by_status[429] == 0
        assert sandbox.stats.throttled_over_burst == 0
        assert sandbox.stats.peak_per_second <= 20
        assert client.limiter.limit == 19  # adapted to X-RateLimit-Limit-2 with a 5 % margin
        quota = client.quota
        assert (quota.burst_limit, quota.daily_limit) == (20, 100_000)
        assert quota.daily_remaining is not None and quota.daily_remaining <= 100_000 - 100


# -- secrets -------------------------------------------------------------------------------------


@pytest.mark.usefixtures("cli_logging")
def test_secrets_never_in_errors_or_logs(
    sandbox: PsaSandbox, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """At DEBUG, across successes and failures, no log line or message shows a secret."""
    caplog.set_level(logging.DEBUG)
    messages: list[str] = []
    client = make_client()
    list(client.vehicles(page_size=10))
    for bad in (make_client(password="wrong-pass-xyz"), make_client(client_id="cid-xyz")):
        with pytest.raises(ApiAuthError) as caught:
            bad.fleet()
        messages.append(str(caught.value))
    sandbox.error_rate = 1.0
    with pytest.raises(ApiUnavailable) as unavailable:
        client.fleet()
    messages.append(str(unavailable.value))
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("bot.sandbox")]
    assert any("GET" in line for line in ours)  # our own debug lines are there, redacted
    text = "\n".join(ours + messages)
    for secret in [*_secrets(), "wrong-pass-xyz", "cid-xyz"]:
        assert secret not in text
    assert "client_id" not in text


def test_a_client_leaves_global_logging_alone(make_client: ClientFactory) -> None:
    """Building a client changes no logger's level (the CLI's logging set-up does that once)."""
    loggers = [logging.getLogger(name) for name in ("httpx", "httpcore")]
    before = [logger.level for logger in loggers]
    try:
        for logger in loggers:
            logger.setLevel(logging.NOTSET)  # as in any program that never quieted them
        make_client()
        assert [logger.level for logger in loggers] == [logging.NOTSET] * 2
    finally:
        for logger, level in zip(loggers, before, strict=True):
            logger.setLevel(level)


def test_monitor_parameter_shapes() -> None:
    """The alert monitor follows each spec: v3 triggers + boolExp, 2019 dataTriggers."""
    v3 = build_alert_monitor("https://bot.example/psa/events", TOKEN_HEADER, "s3cret")
    assert v3["triggerParam"]["triggers"] == [
        {"name": "alerts", "data": {"data": "vehicle.alert", "op": "onChange"}}
    ]
    assert v3["triggerParam"]["boolExp"] == "alerts"
    assert v3["extendedEventParam"] == ["vehicle.alerts", "vehicle.position"]
    webhook = v3["subscribeParam"]["callback"]["webhook"]
    assert webhook["target"] == "https://bot.example/psa/events"
    assert webhook["attributes"] == [{"type": "Header", "key": TOKEN_HEADER, "value": "s3cret"}]
    old = build_alert_monitor("https://b/e", TOKEN_HEADER, "s", style="quickguide")
    assert old["triggerParam"]["dataTriggers"] == [{"data": "vehicle.alert", "op": "onChange"}]
    assert old["subscribeParam"]["callback"]["target"] == "https://b/e"
    json.dumps(v3)  # plain JSON, ready to POST


def test_retry_after_header_forms() -> None:
    """Retry-After is read as seconds or as an HTTP date; junk is ignored."""
    assert _retry_after("3") == 3.0
    assert _retry_after("-5") == 0.0
    assert _retry_after(None) is None and _retry_after("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    waited = _retry_after(later)
    assert waited is not None and 100 < waited <= 120


def test_error_bodies_of_every_shape() -> None:
    """v3 xError, 2019 xError (``debug``) and gateway bodies give code, reference and text."""
    with (
        httpx.Client(base_url="https://x/v3") as http,
        PsaClient(http=http, client_id="cid-123") as client,
    ):
        v3 = httpx.Response(404, json={"code": 40410, "uuid": "u-1", "message": "no vehicle"})
        old = httpx.Response(404, json={"code": "40400", "debug": "CMP_1", "message": "No data"})
        gateway = httpx.Response(
            401,
            json={"httpCode": "401", "httpMessage": "Unauthorized", "moreInformation": "cid-123?"},
        )
        assert client._error_body(v3) == (40410, "u-1", "no vehicle")
        assert client._error_body(old) == (40400, "CMP_1", "No data")
        assert client._error_body(gateway) == (None, None, "Unauthorized - ***?")
        assert client._error_body(httpx.Response(502, text="<html>")) == (None, None, None)


# -- hostile data --------------------------------------------------------------------------------

WEBHOOK_TOKEN = "hook-token-5ecret"


def test_webhook_token_echoed_by_the_api_is_scrubbed(make_client: ClientFactory) -> None:
    """An API error echoing our monitor's header value never carries the webhook token."""
    client = make_client()
    parameter = client.build_alert_monitor("https://bot.example/psa/events", "Bad Header", "t0k-9")
    with pytest.raises(ApiResponseError) as caught:
        client.create_monitor(parameter)
    assert "'Bad Header'" in str(caught.value)  # the API did echo the attribute...
    assert "t0k-9" not in str(caught.value) and "***" in str(caught.value)  # ...not its value
    # a token the client only knows from settings is scrubbed too, whoever built the body
    configured = make_client(webhook_token=WEBHOOK_TOKEN)
    body = build_alert_monitor("https://bot.example/psa/events", "Bad Header", WEBHOOK_TOKEN)
    with pytest.raises(ApiResponseError) as again:
        configured.create_monitor(body)
    assert WEBHOOK_TOKEN not in str(again.value) and "***" in str(again.value)


def test_from_settings_knows_the_webhook_token(sandbox: PsaSandbox, certs: SandboxCerts) -> None:
    """FLEETBOT_WEBHOOK_TOKEN is one of the secrets the client scrubs."""
    settings = Settings.from_env({**sandbox.env(), "FLEETBOT_WEBHOOK_TOKEN": WEBHOOK_TOKEN})
    with PsaClient.from_settings(settings, retry=FAST_RETRY) as client:
        assert client._scrub(f"echo {WEBHOOK_TOKEN}!") == "echo ***!"


def test_unreadable_records_are_skipped_and_logged(
    sandbox: PsaSandbox, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """An alert without an id, or not an object, is skipped and logged with its vehicle."""
    client = make_client()
    vid = client_vid(client)
    real = {a["id"] for a in sandbox.alerts(vid)}
    sandbox.inject_alert(vid, {"type": "AddWasherFluid", "vin": "VINBAD", "total": math.inf})
    sandbox.inject_alert(vid, "junk")
    sandbox.inject_alert(vid, {"id": "ODD", "startedAt": "0001-01-01T00:00:00+01:00"})
    with caplog.at_level(logging.WARNING, logger="bot.psa.client"):
        got = {a.id for a in client.alerts(vid)}
    assert got == real | {"ODD"}
    assert client.skipped == 2
    lines = [r.getMessage() for r in caplog.records if "skipped an unreadable" in r.getMessage()]
    assert len(lines) == 2 and all(vid in line for line in lines)
    assert "VINBAD" in lines[0] and "without a usable id" in lines[0]


@pytest.mark.parametrize(
    "body",
    [
        b'{"total": 3, "_embedded": {"alerts": {"id": "A"}}}',
        b'{"_embedded": "junk"}',
        b'["not", "a", "page"]',
        b"[" * 100_000 + b"]" * 100_000,
    ],
)
def test_unreadable_envelope_is_an_api_error(
    sandbox: PsaSandbox, make_client: ClientFactory, body: bytes
) -> None:
    """A page we cannot read is ApiResponseError (never "no alerts", never a crash)."""
    client = make_client(retry=dataclasses.replace(FAST_RETRY, attempts=1))
    vid = client_vid(client)
    sandbox.set_alert_page(vid, body)
    with pytest.raises(ApiResponseError):
        list(client.alerts(vid))


def test_more_pages_stops_paging(sandbox: PsaSandbox, make_client: ClientFactory) -> None:
    """``more_pages`` is asked before each further page; False ends the iteration quietly."""
    client = make_client()
    vid = client_vid(client)
    sandbox.set_endless_alerts(vid)
    asked: list[int] = []
    list(client.alerts(vid, more_pages=lambda n: asked.append(n) is None and n < 4))
    assert asked == [1, 2, 3, 4]
    assert len([r for r in sandbox.requests if r.path.endswith("/alerts")]) == 4


@pytest.mark.parametrize("href", ["/x?\udcff", "http://[::1/x"])
def test_broken_next_link_is_an_api_error(href: str) -> None:
    """A next link httpx cannot even parse is ApiResponseError, not an httpx exception."""

    def handler(request: httpx.Request) -> httpx.Response:
        page = {"_links": {"next": {"href": href}}, "_embedded": {"vehicles": [{"id": "v1"}]}}
        return httpx.Response(200, content=json.dumps(page).encode())  # \udcff stays escaped

    with mock_http(handler) as http:
        client = PsaClient(http=http, client_id="cid", fleet_id="F", retry=FAST_RETRY)
        with pytest.raises(ApiResponseError):
            list(client.vehicles())


@pytest.mark.parametrize("style", STYLES)
def test_fleet_alerts_send_each_window_as_a_timestamps_value(
    style: str, sandbox: PsaSandbox, make_client: ClientFactory
) -> None:
    """Windows become repeated ``timestamps`` keys; the answer is their union."""
    client = make_client(style)
    now = datetime.now(UTC)
    early = sandbox.add_alert(sandbox.vehicles()[0]["id"], started_at=now - timedelta(days=40))
    late = sandbox.add_alert(sandbox.vehicles()[1]["id"], started_at=now - timedelta(minutes=1))
    windows = [
        (now - timedelta(days=40, seconds=1), now - timedelta(days=39, hours=23)),
        (now - timedelta(minutes=2), None),
    ]
    got = {a.id for a in client.fleet_alerts(windows, page_size=5)}
    assert {early["id"], late["id"]} <= got
    sent = [r for r in sandbox.requests if r.path.endswith("/alerts")]
    assert [k for k, _ in sent[0].query].count("timestamps") == 2


@pytest.mark.parametrize("status", [404, 405, 410, 501])
def test_a_refused_fleet_collection_raises_a_refusal_at_once(
    status: int, sandbox: PsaSandbox, make_client: ClientFactory
) -> None:
    """The gateway's refusal is raised unretried and recognised; "no data" stays empty."""
    client = make_client()
    sandbox.refuse_fleet_alerts(status)
    with pytest.raises(ApiError) as caught:
        list(client.fleet_alerts())
    assert caught.value.status == status and refuses_route(caught.value)
    assert client.calls == 1  # 501 "not implemented" is not retried like other 5xx
    sandbox.refuse_fleet_alerts(None)
    future = datetime.now(UTC) + timedelta(days=400)
    assert (
        list(client.fleet_alerts([(future - timedelta(days=800), future - timedelta(days=799))]))
        == []
    )


def test_only_gateway_refusals_count_as_refusals() -> None:
    """A 404 with an xError code (no data, unknown fleet) or a 5xx is not a refusal."""
    assert refuses_route(NotFound("x", status=404))
    assert not refuses_route(NoData("x", status=404, code=40400))
    assert not refuses_route(NotFound("x", status=404, code=40450))
    assert not refuses_route(ApiUnavailable("x", status=503))
    assert refuses_route(ApiUnavailable("x", status=501))


def test_the_client_keeps_no_cookies(sandbox: PsaSandbox, make_client: ClientFactory) -> None:
    client = make_client()
    jar = client._http.cookies
    answer = httpx.Response(
        200,
        headers={"Set-Cookie": "affinity=node-7; Path=/"},
        request=httpx.Request("GET", sandbox.base_url + "/fleets"),
    )
    jar.extract_cookies(answer)
    assert len(jar) == 0
    assert list(client.vehicles())  # and requests still go out (every one with credentials)
