"""The push receiver against hostile MonitorEvents: 400 for a bad envelope, else store the good."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.alerts.webhook import TOKEN_HEADER, WebhookReceiver
from bot.store import Ledger, StoredAlert
from tests.psa.test_hostile import ALERT_KEYS, HOSTILE, records

TOKEN = "push-s3cret"
HEADERS = {TOKEN_HEADER: TOKEN}
CHANNEL = "C0ALERTS"


def route(alert: StoredAlert) -> list[str]:
    """Every alert to one channel."""
    return [CHANNEL]


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    """One SQLite ledger for the module (hypothesis runs many examples)."""
    opened = Ledger(tmp_path_factory.mktemp("hostile") / "fleetbot.db")
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def receiver(ledger: Ledger) -> WebhookReceiver:
    """The real receiver on the real ledger."""
    return WebhookReceiver(ledger, token=TOKEN, router=lambda: route)


def good_alert() -> st.SearchStrategy[dict[str, Any]]:
    """A well-formed v3 alert with a fresh id."""
    return st.builds(
        lambda u, active: {
            "id": f"good-{u}",
            "vin": "VF3GOOD0000000001",
            "type": "AddWasherFluid",
            "severity": "Warning",
            "active": active,
            "startedAt": "2026-11-20T10:00:00.000+0100",
        },
        st.uuids(),
        st.booleans(),
    )


def event(alerts: list[object], extension: list[object]) -> dict[str, Any]:
    """One MonitorEvents event carrying ``alerts`` as the change and ``extension`` as active."""
    return {
        "fleetId": "F",
        "vin": "VF3GOOD0000000001",
        "eventDate": "2026-11-20T10:00:00Z",
        "values": [
            {
                "data": "vehicle.alert",
                "value": {"type": "obj.alert", "body": {"objectValues": alerts}},
            }
        ],
        "extensions": [{"type": "vehicle.alerts", "body": {"alerts": extension}}],
    }


HOSTILE_ALERT = records(ALERT_KEYS) | HOSTILE
# an event that is not even an object makes the envelope malformed (400): objects only here
HOSTILE_EVENT = st.fixed_dictionaries(
    {}, optional={"vin": HOSTILE, "values": HOSTILE, "extensions": HOSTILE}
)
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))


@SETTINGS
@given(
    good=st.lists(good_alert(), min_size=1, max_size=3),
    bad=st.lists(HOSTILE_ALERT, max_size=4),
    bad_events=st.lists(HOSTILE_EVENT, max_size=2),
    order=st.randoms(use_true_random=False),
)
def test_good_envelope_with_hostile_records_stores_the_good_ones(
    receiver: WebhookReceiver,
    ledger: Ledger,
    good: list[dict[str, Any]],
    bad: list[object],
    bad_events: list[object],
    order: Any,
) -> None:
    """Hostile alerts and events beside good ones: 200, and every good alert is stored."""
    mixed: list[object] = [*good, *bad]
    order.shuffle(mixed)
    events: list[object] = [event(mixed, bad[:2]), *bad_events]
    order.shuffle(events)
    body = json.dumps({"monitorId": "M1", "events": events}, allow_nan=True).encode()
    status, answer = receiver(body, HEADERS)
    assert status == 200, answer
    for alert in good:
        assert ledger.alert(alert["id"]) is not None
        stored = ledger.alert(alert["id"])
        assert stored is not None and stored.vin == "VF3GOOD0000000001"


@SETTINGS
@given(document=HOSTILE | st.fixed_dictionaries({"events": HOSTILE}))
def test_any_json_document_is_answered_never_raised(
    receiver: WebhookReceiver, document: object
) -> None:
    """Whatever JSON arrives, the answer is 200 (an envelope) or 400 (not one); nothing raises."""
    body = json.dumps(document, allow_nan=True).encode()
    status, answer = receiver(body, HEADERS)
    events = document.get("events") if isinstance(document, dict) else None
    is_envelope = isinstance(events, list) and all(isinstance(e, dict) for e in events)
    assert status == (200 if is_envelope else 400), answer


@SETTINGS
@given(body=st.binary(max_size=200))
def test_any_bytes_are_answered_never_raised(receiver: WebhookReceiver, body: bytes) -> None:
    """Invalid UTF-8, truncated JSON, anything: a 400 (or 200 for a real envelope)."""
    status, _ = receiver(body, HEADERS)
    assert status in (200, 400)


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 200_000 + b"]" * 200_000,  # nested past the parser's depth: RecursionError before
        b'{"events": {"not": "a list"}}',
        b'{"events": [1]}',
        b'{"events": [1, 2]}' + b"\xff",
        b"\xff\xfe{}",
        b'{"events": ' + b"9" * 5_000 + b"}",  # past Python's int digit limit
    ],
)
def test_malformed_envelopes_are_400(receiver: WebhookReceiver, body: bytes) -> None:
    """A body that is not a MonitorEvents document is a 400: redelivering it cannot help."""
    assert receiver(body, HEADERS)[0] == 400


def test_the_year_one_date_and_infinity_are_stored_not_retried(
    receiver: WebhookReceiver, ledger: Ledger
) -> None:
    """The push path's OverflowError (a 500 the API retried for 3 days) is a 200 now."""
    odd = {
        "id": f"odd-{uuid.uuid4()}",
        "type": "AddWasherFluid",
        "startedAt": "0001-01-01T00:00:00+01:00",
        "severity": "Critical",
        "odometer": math.inf,
    }
    body = json.dumps({"events": [event([odd, {"type": "NoId"}], [])]}, allow_nan=True).encode()
    status, answer = receiver(body, HEADERS)
    assert (status, answer["skipped"], answer["new"]) == (200, 1, 1)
    stored = ledger.alert(odd["id"])
    assert stored is not None and stored.started_at is None
    json.dumps(stored.payload, allow_nan=False)  # strict JSON in the ledger


def test_one_alert_that_breaks_storing_is_skipped_alone(tmp_path: Path) -> None:
    """Should storing the batch fail on one alert's data, the others are stored one by one."""
    isolated = Ledger(tmp_path / "f.db")

    def fussy(alert: StoredAlert) -> list[str]:
        if alert.type == "Explosive":
            raise OverflowError("a value the router cannot handle")
        return [CHANNEL]

    try:
        fussy_receiver = WebhookReceiver(isolated, token=TOKEN, router=lambda: fussy)
        alerts = [{"id": "A1", "type": "AddWasherFluid"}, {"id": "A2", "type": "Explosive"}]
        body = json.dumps({"events": [event(alerts, [])]}).encode()
        status, answer = fussy_receiver(body, HEADERS)
        assert (status, answer["new"], answer["skipped"]) == (200, 1, 1)
        assert isolated.alert("A1") is not None and isolated.alert("A2") is None
    finally:
        isolated.close()
