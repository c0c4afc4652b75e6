"""Delivery against the Slack stand-in: exactly once, digests, 429s, lost answers, parked routes."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from bot.messages.alerts import alert_ids_in
from bot.sandbox.psa import PsaSandbox
from bot.sandbox.slack import SlackStandIn
from bot.store import StoredAlert
from bot.wiring import build_fleetbot
from tests.conftest import bot_settings

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


@pytest.fixture(scope="module")
def sandbox(certs):
    """The API the bot is wired to (delivery itself never calls it)."""
    with PsaSandbox(certs, vehicles=1) as sandbox:
        yield sandbox


@pytest.fixture
def now():
    """The test's clock, shared by the ledger and delivery; tests move it forward."""
    return [T0]


@pytest.fixture
def fleetbot(sandbox, standin, tmp_path, now):
    """The bot as production wires it, on the test's clock; 429s reach delivery unretried."""
    settings = bot_settings(
        sandbox,
        standin,
        tmp_path / "fleetbot.db",
        FLEETBOT_ALERT_CHANNEL="C0FALLBACK",
        FLEETBOT_ADMINS="U0ADMIN",
    )
    slept: list[float] = []
    bot = build_fleetbot(
        settings,
        clock=lambda: now[0],
        slack_rate_limit_retries=0,
        sleep=slept.append,  # pacing is checked from the waits asked for, not the clock
    )
    bot.delivery.slept = slept  # type: ignore[attr-defined]
    bot.delivery.now = now  # type: ignore[attr-defined]
    yield bot
    bot.close()


@pytest.fixture
def ledger(fleetbot):
    fleetbot.ledger.replace_vehicles([{"id": "v1", "vin": "VF3TESTVIN0000001", "brand": "Peugeot"}])
    return fleetbot.ledger


@pytest.fixture
def delivery(fleetbot, ledger):
    return fleetbot.delivery


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


# -- what each Slack refusal proves --------------------------------------------------------


def test_a_revoked_token_pauses_then_resumes_losing_and_doubling_nothing(
    standin, ledger, delivery, caplog
):
    ledger.ingest([alert(1), alert(2)], to("C0ALERTS"))
    standin.revoke_token("token_revoked")
    first = delivery.run_once()
    assert first.paused == delivery.paused_reason == "token_revoked"
    assert first.failed == 0 and ledger.counts() == {"pending": 2}
    ledger.ingest([alert(3)], to("C0ALERTS"))
    assert delivery.run_once().delivered_alerts == 0  # probes wait: no call at all
    pauses = [r for r in caplog.records if "refuses the bot token" in r.getMessage()]
    assert len(pauses) == 1 and "xoxb" not in caplog.text
    delivery.probe_every = 0.0
    assert delivery.run_once().paused == "token_revoked"  # the probe is refused too
    assert [c.method for c in standin.calls[-1:]] == ["auth.test"]
    standin.restore_token()
    resumed = delivery.run_once()
    assert resumed.paused is None and delivery.paused_reason is None
    assert posted_alert_ids(standin) == Counter({"alert-1": 1, "alert-2": 1, "alert-3": 1})
    assert ledger.counts() == {"sent": 3}


def test_a_token_refused_mid_run_puts_claimed_rows_back(standin, ledger, delivery):
    ledger.ingest([alert(1), alert(2)], to("C0ALERTS", "C0OPS"))
    standin.fail_next("chat.postMessage", "invalid_auth")
    report = delivery.run_once()
    assert report.paused == "invalid_auth" and report.failed == 0
    assert ledger.counts() == {"pending": 4}
    delivery.probe_every = 0.0
    delivery.run_once()
    assert ledger.counts() == {"sent": 4}
    assert sum(posted_alert_ids(standin).values()) == 4


@pytest.mark.parametrize("error", ["internal_error", "fatal_error", "service_unavailable"])
def test_slack_failing_on_its_side_is_reconciled_not_failed(standin, ledger, delivery, error):
    ledger.ingest([alert(1)], to("C0ALERTS"))
    standin.fail_next("chat.postMessage", error)
    first = delivery.run_once()
    assert first.unknown_outcomes == 1 and first.failed == 0
    assert ledger.counts() == {"sending": 1}
    delivery.now[0] = T0 + dt.timedelta(seconds=31)
    delivery.run_once()
    delivery.run_once()
    assert posted_alert_ids(standin) == Counter({"alert-1": 1})
    assert ledger.counts() == {"sent": 1}


def test_an_unpostable_message_fails_and_admins_hear_once_per_burst(standin, ledger, delivery):
    ledger.ingest([alert(1)], to("C0ALERTS"))
    standin.fail_next("chat.postMessage", "msg_too_long")
    first = delivery.run_once()
    assert first.failed == 1 and ledger.counts() == {"failed": 1}
    [notice] = standin.messages("D0ADMIN")
    assert "too long" in notice.text and "/fleet retry" in notice.text
    # Ten minutes later, another: the same burst, no second notice.
    delivery.now[0] = T0 + dt.timedelta(minutes=10)
    ledger.ingest([alert(2)], to("C0ALERTS"))
    standin.fail_next("chat.postMessage", "invalid_blocks")
    assert delivery.run_once().failed == 1
    assert len(standin.messages("D0ADMIN")) == 1
    # Two quiet hours later a new failure is a new burst.
    delivery.now[0] = T0 + dt.timedelta(hours=2, minutes=10)
    ledger.ingest([alert(3)], to("C0ALERTS"))
    standin.fail_next("chat.postMessage", "too_many_attachments")
    delivery.run_once()
    assert len(standin.messages("D0ADMIN")) == 2


def test_a_refused_digest_is_tried_alert_by_alert(standin, ledger, delivery):
    ledger.ingest([alert(n) for n in range(5)], to("C0ALERTS"))
    standin.fail_next("chat.postMessage", "msg_too_long")
    report = delivery.run_once()
    assert report.failed == 0 and report.delivered_alerts == 5
    assert posted_alert_ids(standin) == Counter({f"alert-{n}": 1 for n in range(5)})


def test_an_unrecognised_error_is_retried_with_backoff_then_failed(standin, ledger, delivery):
    ledger.ingest([alert(1)], to("C0ALERTS"))
    waits = []
    for strike in range(1, 6):
        standin.fail_next("chat.postMessage", "some_new_error")
        report = delivery.run_once()
        row = ledger.delivery("alert-1", "C0ALERTS")
        if strike < 5:
            assert report.retried_unknown_errors == 1 and row.state == "pending"
            assert delivery.run_once().delivered_alerts == 0  # waits for its retry time
            [[retry_at]] = ledger.database.db.execute("SELECT next_attempt_at FROM deliveries")
            waits.append(dt.datetime.fromisoformat(retry_at) - delivery.now[0])
            delivery.now[0] = dt.datetime.fromisoformat(retry_at)
        else:
            assert report.failed == 1 and row.state == "failed"
    assert waits == sorted(waits) and waits[0] < waits[-1]
    assert "some_new_error" in standin.messages("D0ADMIN")[0].text
    assert posted_alert_ids(standin) == Counter()


def test_an_edit_whose_message_is_gone_is_given_up_and_later_edits_go_through(
    standin, ledger, delivery
):
    ledger.ingest([alert(1), alert(2)], to("C0ALERTS"))
    delivery.run_once()
    ledger.ingest([alert(1, active=False), alert(2, active=False)], to("C0ALERTS"))
    standin.fail_next("chat.update", "message_not_found")
    report = delivery.run_once()
    assert report.updates_given_up == 1 and report.updated == 1
    assert ledger.updates_due() == [] and delivery.run_once().updated == 0
    second = ledger.delivery("alert-2", "C0ALERTS")
    assert "Ended" in str(standin.message("C0ALERTS", second.slack_ts).blocks)


def test_a_failing_edit_backs_off_and_does_not_block_others(standin, ledger, delivery):
    ledger.ingest([alert(1)], to("C0ALERTS"))
    delivery.run_once()
    ledger.ingest([alert(1, active=False)], to("C0ALERTS"))
    standin.fail_next("chat.update", "500")
    first = delivery.run_once()
    assert first.updates_deferred == 1 and ledger.updates_due() == []
    delivery.now[0] = T0 + dt.timedelta(minutes=2)
    assert delivery.run_once().updated == 1
    assert standin.messages("C0ALERTS")[0].edited


def test_forged_metadata_from_another_app_is_not_taken_for_our_post(standin, ledger, delivery):
    ledger.ingest([alert(1)], to("C0ALERTS"))
    standin.fail_next("chat.postMessage", "500")  # stores nothing; the row is left unsure
    delivery.run_once()
    forged = {"event_type": "fleet_alert", "event_payload": {"alert_id": "alert-1", "vin": "x"}}
    standin.post_as_app("C0ALERTS", "not ours", metadata=forged)
    delivery.now[0] = T0 + dt.timedelta(seconds=31)
    report = delivery.run_once()
    assert report.reconciled == 0 and report.reposted_after_check == 1
    delivery.run_once()
    ours = [m for m in standin.messages("C0ALERTS") if m.bot_id == standin.bot_id]
    assert [alert_ids_in(m.metadata) for m in ours] == [["alert-1"]]


def test_a_token_refused_halfway_through_a_split_digest_doubles_nothing(standin, ledger, delivery):
    ledger.ingest([alert(n) for n in range(5)], to("C0ALERTS"))
    standin.fail_next("chat.postMessage", "msg_too_long")  # the digest: tried alert by alert
    real_post = delivery.slack.post
    posts = []

    def post_then_revoke(channel, message):
        posts.append(channel)
        if len(posts) == 3:  # the digest, one alert alone, then the token is revoked
            standin.revoke_token("token_revoked")
        return real_post(channel, message)

    delivery.slack.post = post_then_revoke
    report = delivery.run_once()
    assert report.paused == "token_revoked" and report.delivered_alerts == 1
    assert ledger.counts() == {"sent": 1, "pending": 4}
    standin.restore_token()
    delivery.probe_every = 0.0
    delivery.run_once()
    assert posted_alert_ids(standin) == Counter({f"alert-{n}": 1 for n in range(5)})
