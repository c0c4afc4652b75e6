"""Posting the report on real parts: the bot as wired, the PSA sandbox, the Slack stand-in.

Exactly once per channel and day, across an in-process crash at each step; the chart goes
through slack_sdk's external upload into the stand-in; `/fleet report` over signed HTTP.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.posting.reconcile import RECONCILE_GRACE
from bot.reports.gather import calls_needed
from bot.reports.post import (
    MAX_ATTEMPTS,
    RETRY_BACKOFF,
    RETRY_BACKOFF_MAX,
    ReportService,
)
from bot.sandbox.psa import SandboxCerts
from bot.store.reports import ReportRow
from tests.slack.conftest import ADMIN, ALERTS, GUEST, NOW, OPS, World, all_text, make_world, reply

YESTERDAY = dt.date(2026, 11, 19)


class Crash(BaseException):
    """Stands for kill -9: nothing after it runs, nothing catches it."""


@pytest.fixture
def world(certs: SandboxCerts, tmp_path: Path) -> Iterator[World]:
    """The bot, wired as in production, over the sandbox and the Slack stand-in."""
    with make_world(certs, tmp_path / "fleetbot.db") as built:
        yield built


def service(world: World) -> ReportService:
    """The bot's report service."""
    assert world.fleetbot.reports is not None
    return world.fleetbot.reports


def reports_in(world: World, channel: str) -> list[Any]:
    """Messages in ``channel`` carrying fleet_report metadata."""
    return [
        m
        for m in world.slack.messages(channel)
        if (m.metadata or {}).get("event_type") == "fleet_report"
    ]


def image_file_ids(message: Any) -> list[str]:
    """The file ids a message's image blocks name."""
    return [b["slack_file"]["id"] for b in message.blocks or [] if b.get("type") == "image"]


def later(world: World, by: dt.timedelta) -> None:
    """Move the report service's clock on (a restarted process, some time later)."""
    service(world).clock = lambda: NOW + by


def test_what_needs_attention_says_where_the_vehicles_are(world: World) -> None:
    """Open critical alerts name the town they started near; low levels where the vehicle is."""
    assert service(world).post(ALERTS).status == "posted"
    [message] = reports_in(world, ALERTS)
    text = "\n".join(str(b.get("text", {}).get("text", "")) for b in message.blocks or [])
    lines, title = [], ""
    for line in text.split("\n"):
        if line.startswith(":") and "*" in line:  # a list's title, e.g. ":fuelpump: *Fuel…"
            title = line
        elif line.startswith("• ") and ("Open critical" in title or "Fuel or battery" in title):
            lines.append(line)
    assert lines, text
    for line in lines:
        assert "openstreetmap.org" in line and ("near " in line or " from " in line), line
    assert " 1 days" not in text


def test_report_is_posted_once_with_its_chart(world: World) -> None:
    """First request posts (chart uploaded, image block, metadata); the second says where."""
    first = service(world).post(ALERTS)
    assert first.status == "posted", first.text
    assert first.day == YESTERDAY
    [message] = reports_in(world, ALERTS)
    assert message.metadata["event_payload"] == {"day": "2026-11-19"}
    [file_id] = image_file_ids(message)
    uploaded = world.slack.files[file_id]
    assert uploaded.completed and uploaded.channels == []  # shared nowhere but in the report
    assert (uploaded.data or b"").startswith(b"\x89PNG\r\n\x1a\n")
    assert first.permalink and first.permalink.endswith(message.ts.replace(".", ""))

    second = service(world).post(ALERTS)
    assert second.status == "already"
    assert second.permalink == first.permalink
    assert first.permalink in second.text
    assert len(reports_in(world, ALERTS)) == 1
    assert len(world.slack.files) == 1
    # another channel, or another day, is another report
    assert service(world).post(OPS).status == "posted"
    assert service(world).post(ALERTS, YESTERDAY - dt.timedelta(days=1)).status == "posted"
    assert len(reports_in(world, ALERTS)) == 2


def test_crash_between_upload_and_post_neither_loses_nor_doubles(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed after the upload: the retry finds nothing, posts once, with the same file."""
    slack = service(world).slack
    real_post = slack.post

    def crash(*args: Any, **kwargs: Any) -> str:
        raise Crash

    monkeypatch.setattr(slack, "post", crash)
    with pytest.raises(Crash):
        service(world).post(ALERTS)
    row = world.ledger.report(ALERTS, YESTERDAY)
    assert row is not None and row.state == "sending" and row.file_id
    assert reports_in(world, ALERTS) == []

    monkeypatch.setattr(slack, "post", real_post)
    # within the grace the row may still be on its way: nothing is posted
    assert service(world).post(ALERTS).status == "in_progress"
    later(world, RECONCILE_GRACE + dt.timedelta(seconds=1))
    retried = service(world).post(ALERTS)
    assert retried.status == "posted"
    assert not retried.uploaded  # the recorded chart, not a second upload
    [message] = reports_in(world, ALERTS)
    assert image_file_ids(message) == [row.file_id]
    assert len(world.slack.files) == 1
    assert service(world).post(ALERTS).status == "already"


def test_crash_after_post_before_record_is_found_not_reposted(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed after Slack stored the post: the retry finds it by metadata and posts nothing."""
    ledger = world.ledger
    real_mark = ledger.mark_report_sent

    def crash(*args: Any, **kwargs: Any) -> None:
        raise Crash

    monkeypatch.setattr(ledger, "mark_report_sent", crash)
    with pytest.raises(Crash):
        service(world).post(ALERTS)
    assert len(reports_in(world, ALERTS)) == 1
    monkeypatch.setattr(ledger, "mark_report_sent", real_mark)

    later(world, RECONCILE_GRACE + dt.timedelta(seconds=1))
    again = service(world).post(ALERTS)
    assert again.status == "already", again.text
    [message] = reports_in(world, ALERTS)
    row = ledger.report(ALERTS, YESTERDAY)
    assert isinstance(row, ReportRow) and row.state == "sent" and row.slack_ts == message.ts


def test_another_apps_report_is_not_taken_for_ours(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reconciliation counts only this app's messages (bot_id), whatever their metadata."""
    slack = service(world).slack
    real_post = slack.post
    monkeypatch.setattr(slack, "post", lambda *a, **k: (_ for _ in ()).throw(Crash()))
    with pytest.raises(Crash):
        service(world).post(ALERTS)
    world.slack.post_as_app(
        ALERTS,
        "someone else's report",
        metadata={"event_type": "fleet_report", "event_payload": {"day": "2026-11-19"}},
    )
    monkeypatch.setattr(slack, "post", real_post)
    later(world, RECONCILE_GRACE + dt.timedelta(seconds=1))
    assert service(world).post(ALERTS).status == "posted"
    ours = [m for m in reports_in(world, ALERTS) if m.bot_id == world.slack.bot_id]
    assert len(ours) == 1


def test_report_skips_when_the_quota_reserve_is_too_low(world: World) -> None:
    """Too little reserve left: nothing posted, a sentence that says why, kept pending; once the
    window frees calls the retry job posts it, once."""
    world.sandbox.daily_limit = 100  # 8 vehicles need 16 calls; half the 10 % reserve is 5
    world.fleetbot.directory.refresh()  # the client reads the quota from the answer's headers
    outcome = service(world).post(ALERTS)
    assert outcome.status == "skipped"
    assert "quota reserve" in outcome.text and "FLEETBOT_QUOTA_RESERVE" in outcome.text
    assert reports_in(world, ALERTS) == []
    assert row_of(world).state == "pending" and row_of(world).attempts == 1
    assert retry_at(world, RETRY_BACKOFF - dt.timedelta(seconds=1)) == 0  # not every minute

    world.sandbox.daily_limit = 1_000_000  # the 24-hour window moved on
    world.fleetbot.directory.refresh()
    assert retry_at(world, RETRY_BACKOFF) == 1
    assert row_of(world).state == "sent"
    assert retry_at(world, RETRY_BACKOFF * 4) == 0
    assert len(reports_in(world, ALERTS)) == 1


def test_report_spends_from_the_reserve_and_the_budget_knows(world: World) -> None:
    """What a report cost is recorded against the reserve, and a later one sees less left."""
    world.ledger.set_state("quota", {"daily_limit": 100_000, "daily_remaining": 90_000})
    outcome = service(world).post(ALERTS)
    assert outcome.status == "posted"
    spent = world.ledger.get_state("report_reserve_spent")
    assert [calls for _, calls in spent] == [outcome.api_calls]
    # two per vehicle, the maintenance page(s), and the directory listing if it was empty
    assert 0 < outcome.api_calls <= calls_needed(len(world.ledger.vehicles())) + 1


def test_fleet_report_now_over_http_and_twice(world: World) -> None:
    """`/fleet report now`: posted where typed; again: where the first one is."""
    first = all_text(reply(world.driver.command("/fleet", "report now", channel_id=OPS)))
    assert "Posted the fleet report for 2026-11-19" in first
    second = all_text(reply(world.driver.command("/fleet", "report now", channel_id=OPS)))
    assert "already in" in second and "slack.com/archives/C0OPS/p" in second
    assert len(reports_in(world, OPS)) == 1


def test_fleet_report_daily_and_off(world: World) -> None:
    """`daily HH:MM [#channel]` stores a schedule; `off` removes it; bad times are refused."""
    text = all_text(reply(world.driver.command("/fleet", f"report daily 7:05 <#{ALERTS}|alerts>")))
    assert "07:05" in text and "UTC" in text
    assert [(s.channel, s.at, s.created_by) for s in world.ledger.report_schedules()] == [
        (ALERTS, "07:05", ADMIN)
    ]
    bad = all_text(reply(world.driver.command("/fleet", "report daily 25:00")))
    assert "HH:MM" in bad
    off = all_text(reply(world.driver.command("/fleet", f"report off <#{ALERTS}|alerts>")))
    assert "No more daily fleet report" in off
    assert world.ledger.report_schedules() == []


@pytest.mark.parametrize("text", ["report now", "report daily 07:00", "report off"])
def test_fleet_report_refused_to_non_admins(world: World, text: str) -> None:
    """A non-admin gets the refusal as the ack; nothing is posted or scheduled."""
    result = world.driver.command("/fleet", text, user_id=GUEST)
    assert result.json is not None
    assert "only Fleetbot admins can post or schedule the fleet report" in result.json["text"]
    assert reports_in(world, OPS) == [] and world.ledger.report_schedules() == []


def test_schedules_are_rebuilt_from_the_ledger(world: World) -> None:
    """The running scheduler gets one cron job per schedule, moved and removed with it."""
    world.ledger.set_report_schedule(ALERTS, "07:30", by=ADMIN)
    assert world.fleetbot.start_scheduler()
    schedules = world.fleetbot.report_schedules
    assert schedules is not None
    first = schedules.next_run(ALERTS)
    assert first is not None and (first.hour, first.minute) == (7, 30)
    world.ledger.set_report_schedule(ALERTS, "08:15", by=ADMIN)
    world.ledger.set_report_schedule(OPS, "06:00", by=ADMIN)
    assert world.fleetbot.sync_report_schedules() == 2
    moved = schedules.next_run(ALERTS)
    assert moved is not None and (moved.hour, moved.minute) == (8, 15)
    world.ledger.remove_report_schedule(ALERTS)
    assert world.fleetbot.sync_report_schedules() == 1
    assert schedules.next_run(ALERTS) is None


# -- retries of unsent reports (the report-retry job) --------------------------------------------


def retry_at(world: World, by: dt.timedelta) -> int:
    """Run the bot's report-retry job with the report service's clock at NOW + ``by``."""
    later(world, by)
    job, every = world.fleetbot.scheduled_jobs()["report-retry"]
    assert every <= 60
    return int(job())


def row_of(world: World) -> ReportRow:
    """Yesterday's report row of ALERTS."""
    row = world.ledger.report(ALERTS, YESTERDAY)
    assert row is not None
    return row


def test_slack_500_on_the_post_is_retried_once_it_is_checked(world: World) -> None:
    """A 500 leaves the outcome unknown: the retry waits the grace, finds nothing, posts once."""
    world.slack.fail_next("chat.postMessage", "500")
    assert service(world).post(ALERTS).status == "unsure"
    assert row_of(world).state == "sending" and reports_in(world, ALERTS) == []
    assert retry_at(world, dt.timedelta(seconds=5)) == 0  # within the grace: not yet
    assert retry_at(world, RECONCILE_GRACE + dt.timedelta(minutes=1)) == 1
    assert row_of(world).state == "sent"
    [message] = reports_in(world, ALERTS)
    assert row_of(world).slack_ts == message.ts and len(world.slack.files) == 1
    assert retry_at(world, dt.timedelta(hours=2)) == 0  # sent: never again
    assert len(reports_in(world, ALERTS)) == 1


def test_answer_lost_after_the_post_is_found_not_reposted(world: World) -> None:
    """Slack stored it but the answer was dropped: the retry reconciles by metadata."""
    world.slack.fail_next("chat.postMessage", "drop_after_post")
    assert service(world).post(ALERTS).status == "unsure"
    assert len(reports_in(world, ALERTS)) == 1
    assert retry_at(world, RECONCILE_GRACE + dt.timedelta(minutes=1)) == 1
    assert row_of(world).state == "sent"
    assert len(reports_in(world, ALERTS)) == 1


def test_refused_for_now_backs_off_then_lands(world: World) -> None:
    """Rate-limited: pending, not retried before its backoff, then posted exactly once."""
    world.slack.fail_next("chat.postMessage", "ratelimited")
    world.slack.fail_next("chat.postMessage", "ratelimited")
    world.slack.fail_next("chat.postMessage", "ratelimited")
    first = service(world).post(ALERTS)
    assert first.status == "failed" and row_of(world).state == "pending", first.text
    assert retry_at(world, RETRY_BACKOFF - dt.timedelta(seconds=1)) == 0
    tries = row_of(world).attempts
    clock = dt.timedelta(0)
    while row_of(world).state != "sent":
        assert tries < MAX_ATTEMPTS
        clock += RETRY_BACKOFF * 2**tries
        retry_at(world, clock)
        tries += 1
    assert row_of(world).attempts >= 2
    assert len(reports_in(world, ALERTS)) == 1
    assert not admin_notices(world)


def admin_notices(world: World) -> list[str]:
    """Texts of the "gave up" notices sent to the admin."""
    return [m.text for m in world.slack.messages() if "gave up posting the fleet" in m.text]


def test_permanent_error_gives_up_at_once_and_tells_admins_once(world: World) -> None:
    """`is_archived` will not pass: failed, admins told, never retried."""
    world.slack.fail_next("chat.postMessage", "is_archived")
    assert service(world).post(ALERTS).status == "failed"
    assert row_of(world).state == "failed"
    [notice] = admin_notices(world)
    assert ALERTS in notice and "2026-11-19" in notice and "is_archived" in notice
    assert retry_at(world, dt.timedelta(hours=3)) == 0
    assert len(admin_notices(world)) == 1 and reports_in(world, ALERTS) == []


def test_a_report_failing_every_time_is_given_up_after_max_attempts(world: World) -> None:
    """An error not known to be permanent, every try: MAX_ATTEMPTS, then failed, admins told."""
    for _ in range(MAX_ATTEMPTS):  # the notice to the admin, after them, goes through
        world.slack.fail_next("chat.postMessage", "ekm_access_denied")
    service(world).post(ALERTS)
    clock = dt.timedelta(0)
    for _ in range(MAX_ATTEMPTS + 3):
        clock += RETRY_BACKOFF_MAX
        retry_at(world, clock)
    row = row_of(world)
    assert row.state == "failed" and row.attempts == MAX_ATTEMPTS
    assert len(admin_notices(world)) == 1
    assert reports_in(world, ALERTS) == []
