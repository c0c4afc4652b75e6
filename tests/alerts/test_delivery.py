"""Delivery against the Slack stand-in: exactly once, digests, 429s, lost answers, parked routes."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.alerts.delivery import DeliveryService
from bot.alerts.slack_port import SlackPort
from bot.sandbox.slack import SlackStandIn
from bot.slack.blocks import alert_ids_in
from bot.slack.directory import VehicleDirectory
from bot.store import Ledger, StoredAlert

T0 = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.UTC)


def alert(n: int, *, active: bool = True) -> StoredAlert:
    return StoredAlert(
        id=f"alert-{n}",
        vehicle_id="v1",
        vin="VF3TESTVIN0000001",
        type="AddWasherFluid",
        severity="Warning",
        active=active,
        started_at=T0,
        end_at=None if active else T0 + dt.timedelta(hours=1),
        payload={"startPosition": {"geometry": {"coordinates": [2.2363, 48.8924, 40]}}},
    )


def to(*channels):
    return lambda _alert: list(channels)


@pytest.fixture
def standin():
    with SlackStandIn(channels=("C0ALERTS", "C0OPS", "C0FALLBACK")) as standin:
        yield standin


@pytest.fixture
def now():
    """The test's clock, shared by the ledger and delivery; tests move it forward."""
    return [T0]


@pytest.fixture
def ledger(tmp_path, now):
    ledger = Ledger(tmp_path / "fleetbot.db", clock=lambda: now[0])
    ledger.replace_vehicles([{"id": "v1", "vin": "VF3TESTVIN0000001", "brand": "Peugeot"}])
    yield ledger
    ledger.close()


@pytest.fixture
def delivery(standin, ledger, now):
    client = WebClient(
        token=standin.bot_token,
        base_url=standin.api_url,
        timeout=5,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=0)],
    )
    slept: list[float] = []
    service = DeliveryService(
        ledger,
        SlackPort(client),
        vehicle_names=VehicleDirectory(None, ledger).names,
        fallback_channel="C0FALLBACK",
        admins=["U0ADMIN"],
        per_channel_interval=1.0,
        sleep=slept.append,  # pacing is checked from the waits asked for, not the clock
        clock=lambda: now[0],
    )
    service.slept = slept  # type: ignore[attr-defined]
    service.now = now  # type: ignore[attr-defined]
    return service


def posted_alert_ids(standin, channel=None) -> Counter:
    return Counter(a for m in standin.messages(channel) for a in alert_ids_in(m.metadata))


def test_each_alert_is_posted_once_with_metadata(standin, ledger, delivery):
    ledger.ingest([alert(1), alert(2)], to("C0ALERTS", "C0OPS"))
    report = delivery.run_once()
    again = delivery.run_once()
    assert report.delivered_alerts == 4 and again.delivered_alerts == 0
    for channel in ("C0ALERTS", "C0OPS"):
        assert posted_alert_ids(standin, channel) == Counter({"alert-1": 1, "alert-2": 1})
    [message, *_] = standin.messages("C0ALERTS")
    assert message.metadata["event_type"] == "fleet_alert"
    assert "Add" in message.text and "Peugeot" in message.text
    assert ledger.counts() == {"sent": 4}


def test_a_burst_becomes_digests(standin, ledger, delivery):
    ledger.ingest([alert(n) for n in range(45)], to("C0ALERTS"))
    report = delivery.run_once()
    messages = standin.messages("C0ALERTS")
    assert report.posted_messages == len(messages) == 3  # 20 + 20 + 5
    assert all(m.metadata["event_type"] == "fleet_alert_digest" for m in messages)
    assert all(len(m.blocks) <= 50 for m in messages)
    assert posted_alert_ids(standin) == Counter({f"alert-{n}": 1 for n in range(45)})


def test_posts_are_paced_per_channel(ledger, delivery):
    ledger.ingest([alert(n) for n in range(3)], to("C0ALERTS"))
    delivery.run_once()
    # Three posts to one channel: the 2nd and 3rd each waited for most of a second.
    assert len(delivery.slept) == 2 and all(0.5 < s <= 1.0 for s in delivery.slept)


def test_rate_limited_rows_wait_and_are_posted_later(standin, ledger, delivery):
    ledger.ingest([alert(1)], to("C0ALERTS"))
    standin.fail_next("chat.postMessage", "ratelimited")
    first = delivery.run_once()
    assert first.rate_limited == 1 and ledger.counts() == {"pending": 1}
    ledger.database.db.execute("UPDATE deliveries SET next_attempt_at = NULL")
    delivery.run_once()
    assert posted_alert_ids(standin) == Counter({"alert-1": 1})


def test_a_post_whose_answer_was_lost_is_reconciled_not_reposted(standin, ledger, delivery):
    ledger.ingest([alert(1)], to("C0ALERTS"))
    standin.fail_next("chat.postMessage", "drop_after_post")
    first = delivery.run_once()
    assert first.unknown_outcomes == 1 and ledger.counts() == {"sending": 1}
    # Slack may still be storing it: the row is left alone for the grace period.
    assert delivery.run_once().reconciled == 0 and ledger.counts() == {"sending": 1}
    delivery.now[0] = T0 + dt.timedelta(seconds=31)
    second = delivery.run_once()
    assert second.reconciled == 1 and ledger.counts() == {"sent": 1}
    assert posted_alert_ids(standin) == Counter({"alert-1": 1})
    ts = ledger.delivery("alert-1", "C0ALERTS").slack_ts
    assert ts == standin.messages("C0ALERTS")[0].ts


def test_a_5xx_that_stored_nothing_is_checked_then_posted(standin, ledger, delivery):
    ledger.ingest([alert(1)], to("C0ALERTS"))
    standin.fail_next("chat.postMessage", "500")
    delivery.run_once()
    delivery.now[0] = T0 + dt.timedelta(seconds=31)
    second = delivery.run_once()
    assert second.reposted_after_check == 1
    delivery.run_once()
    assert posted_alert_ids(standin) == Counter({"alert-1": 1})


def test_a_lost_channel_parks_its_route_and_falls_back(standin, ledger, delivery):
    ledger.add_route("C0ALERTS")
    ledger.ingest([alert(1), alert(2)], to("C0ALERTS"))
    standin.archive_channel("C0ALERTS")
    report = delivery.run_once()
    delivery.run_once()
    assert report.parked_channels == ["C0ALERTS"]
    assert [r.parked_reason for r in ledger.routes()] == ["is_archived"]
    assert posted_alert_ids(standin, "C0FALLBACK") == Counter({"alert-1": 1, "alert-2": 1})
    notices = [m for m in standin.messages("C0FALLBACK") if "parked" in m.text]
    assert len(notices) == 1


def test_an_ended_alert_updates_its_message_in_place(standin, ledger, delivery):
    ledger.ingest([alert(1)], to("C0ALERTS"))
    delivery.run_once()
    ledger.ingest([alert(1, active=False)], to("C0ALERTS"))
    report = delivery.run_once()
    [message] = standin.messages("C0ALERTS")
    assert report.updated == 1 and message.edited
    assert "Ended" in str(message.blocks)
    assert delivery.run_once().updated == 0
