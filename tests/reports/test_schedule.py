"""Report schedules fire at the local wall-clock time, across daylight-saving changes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from bot.reports.schedule import JOB_PREFIX, ReportSchedules, parse_hh_mm, report_trigger
from bot.store import Ledger

PARIS = ZoneInfo("Europe/Paris")
UTC = dt.UTC


def fires(at: str, zone: ZoneInfo, now: dt.datetime, count: int) -> list[dt.datetime]:
    """The next ``count`` fire times from ``now`` (a fake clock drives the trigger)."""
    time = parse_hh_mm(at)
    assert time is not None
    trigger = report_trigger(time, zone)
    found: list[dt.datetime] = []
    previous = None
    for _ in range(count):
        moment = trigger.get_next_fire_time(previous, now)
        assert moment is not None
        found.append(moment.astimezone(UTC))
        previous, now = moment, moment + dt.timedelta(seconds=1)
    return found


def test_fires_at_local_time_across_the_autumn_change() -> None:
    """07:30 in Paris is 05:30 UTC in summer time and 06:30 UTC from 25 October 2026 on."""
    got = fires("07:30", PARIS, dt.datetime(2026, 10, 23, 12, 0, tzinfo=UTC), 3)
    assert got == [
        dt.datetime(2026, 10, 24, 5, 30, tzinfo=UTC),
        dt.datetime(2026, 10, 25, 6, 30, tzinfo=UTC),
        dt.datetime(2026, 10, 26, 6, 30, tzinfo=UTC),
    ]


def test_fires_at_local_time_across_the_spring_change() -> None:
    """07:30 in Paris is 06:30 UTC in winter time and 05:30 UTC from 28 March 2027 on."""
    got = fires("07:30", PARIS, dt.datetime(2027, 3, 26, 12, 0, tzinfo=UTC), 3)
    assert got == [
        dt.datetime(2027, 3, 27, 6, 30, tzinfo=UTC),
        dt.datetime(2027, 3, 28, 5, 30, tzinfo=UTC),
        dt.datetime(2027, 3, 29, 5, 30, tzinfo=UTC),
    ]


def test_jobs_installed_use_the_zone(tmp_path: Path) -> None:
    """The scheduler's job carries the zone's cron trigger, and follows ledger changes."""
    ledger = Ledger(tmp_path / "s.db")
    ran: list[str] = []
    schedules = ReportSchedules(ledger, ran.append, PARIS)
    scheduler = BackgroundScheduler(timezone=UTC)
    try:
        ledger.set_report_schedule("C1", "07:30", by="U1")
        schedules.attach(scheduler)
        job = scheduler.get_job(JOB_PREFIX + "C1")
        assert job is not None and job.args == ("C1",)
        now = dt.datetime(2026, 10, 24, 12, 0, tzinfo=UTC)
        nxt = job.trigger.get_next_fire_time(None, now)
        assert nxt.astimezone(UTC) == dt.datetime(2026, 10, 25, 6, 30, tzinfo=UTC)
        ledger.remove_report_schedule("C1")
        assert schedules.sync() == 0
        assert scheduler.get_job(JOB_PREFIX + "C1") is None
    finally:
        ledger.close()


@pytest.mark.parametrize(
    ("text", "ok"),
    [("7:05", True), ("23:59", True), ("24:00", False), ("07:60", False), ("0730", False),
     ("", False)],
)  # fmt: skip
def test_parse_hh_mm(text: str, ok: bool) -> None:
    """Only a 24-hour HH:MM is a time of day."""
    assert (parse_hh_mm(text) is not None) is ok
