"""Poll → ledger → Slack over real sockets: every alert once, in the channel its route names."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from bot.alerts.poller import query_since
from bot.config import Settings
from bot.directory import VehicleDirectory
from bot.messages.alerts import alert_ids_in
from bot.psa.client import PsaClient
from tests.conftest import FAST_RETRY

from .conftest import FALLBACK, OPS, Pipeline


def posted(pipeline: Pipeline, channel: str | None = None) -> Counter:
    return Counter(
        alert_id
        for message in pipeline.slack.messages(channel)
        for alert_id in alert_ids_in(message.metadata)
    )


def test_first_start_posts_each_active_alert_once_in_its_channel(pipeline):
    active = [a for a in pipeline.sandbox.alerts() if a["active"]]
    assert active, "the seeded fleet has active alerts"
    pipeline.cycle()
    pipeline.cycle()
    critical = {a["id"] for a in active if a["severity"] == "Critical"}
    others = {a["id"] for a in active} - critical
    assert posted(pipeline, OPS) == Counter(dict.fromkeys(critical, 1))
    assert posted(pipeline, FALLBACK) == Counter(dict.fromkeys(others, 1))
    ended = {a["id"] for a in pipeline.sandbox.alerts() if not a["active"]}
    assert not ended & set(posted(pipeline))


def test_new_alerts_are_posted_within_one_cycle(pipeline):
    pipeline.cycle()
    vins = [v["vin"] for v in pipeline.sandbox.vehicles()[:3]]
    new = [pipeline.sandbox.add_alert(vin, type="OilLevelLow", severity="Warning") for vin in vins]
    pipeline.cycle()
    counts = posted(pipeline, FALLBACK)
    assert [counts[a["id"]] for a in new] == [1, 1, 1]


def test_an_alert_that_starts_and_ends_between_polls_is_still_posted(pipeline):
    pipeline.cycle()
    vin = pipeline.sandbox.vehicles()[0]["vin"]
    brief = pipeline.sandbox.add_alert(vin, type="RiskOfIce", severity="Information")
    pipeline.sandbox.end_alert(brief["id"])
    pipeline.cycle()
    assert posted(pipeline)[brief["id"]] == 1


def test_an_ended_alert_updates_its_message(pipeline):
    pipeline.cycle()
    vin = pipeline.sandbox.vehicles()[4]["vin"]
    alert = pipeline.sandbox.add_alert(vin, type="EngineFault", severity="Critical")
    pipeline.cycle()
    pipeline.sandbox.end_alert(alert["id"])
    pipeline.cycle()
    [message] = [m for m in pipeline.slack.messages(OPS) if alert["id"] in alert_ids_in(m.metadata)]
    assert message.edited and "Ended" in str(message.blocks)
    assert posted(pipeline)[alert["id"]] == 1


def test_a_mute_holds_alerts_and_posts_them_when_lifted(pipeline):
    pipeline.cycle()
    vin = pipeline.sandbox.vehicles()[2]["vin"]
    pipeline.ledger.mute(vin, dt.datetime.now(dt.UTC) + dt.timedelta(hours=24), by="U0ADMIN")
    brake = pipeline.sandbox.add_alert(vin, type="BrakeFailure", severity="Critical")
    washer = pipeline.sandbox.add_alert(vin, type="AddWasherFluid", severity="Warning")
    brief = pipeline.sandbox.add_alert(vin, type="RiskOfIce", severity="Information")
    pipeline.cycle()
    # Critical goes through a mute without `all`; the others are held, not dropped.
    assert posted(pipeline)[brake["id"]] == 1
    assert posted(pipeline)[washer["id"]] == posted(pipeline)[brief["id"]] == 0
    assert pipeline.ledger.counts()["held"] == 2
    pipeline.sandbox.end_alert(brief["id"])
    pipeline.cycle()
    assert pipeline.ledger.unmute(vin) == 1
    report = pipeline.delivery.run_once()
    assert (report.released, report.closed_held) == (1, 1)
    counts = posted(pipeline)
    assert counts[washer["id"]] == 1 and counts[brief["id"]] == 0 and counts[brake["id"]] == 1
    [message] = [m for m in pipeline.slack.messages() if washer["id"] in alert_ids_in(m.metadata)]
    assert "Held back by a mute" in str(message.blocks)
    assert pipeline.ledger.delivery(brief["id"], FALLBACK).state == "closed"


def test_a_mute_with_all_holds_critical_too_until_it_ends(pipeline):
    pipeline.cycle()
    vin = pipeline.sandbox.vehicles()[3]["vin"]
    ends = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
    pipeline.ledger.mute(vin, ends, include_critical=True)
    brake = pipeline.sandbox.add_alert(vin, type="BrakeFailure", severity="Critical")
    pipeline.cycle()
    assert posted(pipeline)[brake["id"]] == 0
    pipeline.slack.wait_for(lambda _s: dt.datetime.now(dt.UTC) > ends, timeout=5)
    pipeline.delivery.run_once()
    assert posted(pipeline, OPS)[brake["id"]] == 1


def test_cursors_move_and_quota_is_read(pipeline):
    pipeline.cycle()
    assert len(pipeline.ledger.cursors()) == 25
    assert pipeline.api.quota.daily_limit == 100_000
    last = pipeline.ledger.get_state("last_poll")
    assert last["vehicles"] == 25 and last["api_calls"] >= 25


@pytest.mark.slow
def test_a_thousand_vehicle_cycle_never_crosses_the_burst_limit(pipeline):
    pipeline.sandbox.add_vehicles(975)
    pipeline.poller.refresh_directory()
    pipeline.sandbox.reset_stats()
    report = pipeline.poller.poll_once()
    stats = pipeline.sandbox.stats
    assert report.vehicles == 1_000 and report.errors == 0
    assert stats.by_status.get(429, 0) == 0 and stats.throttled_over_burst == 0
    assert stats.peak_per_second <= 100
    assert len(pipeline.ledger.cursors()) == 1_000


def test_the_quick_guide_api_style_feeds_the_same_pipeline(pipeline):
    settings = Settings.from_env(pipeline.sandbox.env("quickguide"))
    with PsaClient.from_settings(settings, retry=FAST_RETRY) as api:
        pipeline.poller.api = api
        pipeline.poller.refresh_directory = VehicleDirectory(api, pipeline.ledger).refresh
        pipeline.cycle()
        pipeline.cycle()
    active = {a["id"] for a in pipeline.sandbox.alerts() if a["active"]}
    # 2019 alerts carry no severity, so every one takes the fallback route, once.
    assert posted(pipeline, FALLBACK) == Counter(dict.fromkeys(active, 1))
    texts = " ".join(str(m.blocks) for m in pipeline.slack.messages(FALLBACK))
    assert "Unknown severity" not in texts


def test_the_query_reaches_back_to_the_oldest_open_alert():
    cursor = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
    overlap = dt.timedelta(minutes=10)
    opened = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
    assert query_since(None, opened, overlap) is None  # first poll: everything
    assert query_since(cursor, None, overlap) == cursor - overlap
    # Whatever `timestamps` matches (start or whole life), the open alert's end is seen.
    assert query_since(cursor, opened, overlap) == opened
