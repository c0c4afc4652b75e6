"""Reading what people type: periods, durations, channels, subscribe options."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.errors import UserInputError
from bot.slack.parsing import (
    admin_action,
    channel_id,
    echo,
    parse_duration,
    parse_period,
    parse_subscribe,
)

NOW = dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.UTC)
PARIS = dt.timezone(dt.timedelta(hours=1))


def test_today_is_midnight_to_now() -> None:
    """`today` (the default) runs from local midnight to now."""
    period = parse_period(None, NOW)
    assert (period.start, period.end) == (dt.datetime(2026, 11, 20, tzinfo=dt.UTC), NOW)


def test_today_in_the_person_s_zone() -> None:
    """At 00:30 in Paris, "today" is the Paris day, not the UTC one."""
    now = dt.datetime(2026, 11, 20, 0, 30, tzinfo=PARIS)
    assert parse_period("today", now).start == dt.datetime(2026, 11, 20, tzinfo=PARIS)


def test_yesterday_7d_day_and_range() -> None:
    """The other forms, as half-open intervals."""
    yesterday = parse_period("yesterday", NOW)
    assert yesterday.end - yesterday.start == dt.timedelta(days=1)
    week = parse_period("7d", NOW)
    assert week.start == dt.datetime(2026, 11, 14, tzinfo=dt.UTC) and week.days == 7
    day = parse_period("2026-11-02", NOW)
    assert day.end == dt.datetime(2026, 11, 3, tzinfo=dt.UTC)
    span = parse_period("2026-11-01..2026-11-07", NOW)
    assert span.end == dt.datetime(2026, 11, 8, tzinfo=dt.UTC)
    ongoing = parse_period("2026-11-15..2026-11-20", NOW)
    assert ongoing.end == NOW  # never in the future


@pytest.mark.parametrize(
    "text",
    ["tomorrow", "2026-13-01", "2026-11-21", "2026-11-21..2026-11-22", "2026-11-07..2026-11-01",
     "2026-01-01..2026-03-01", "32d", "0d", "..", "2026-11-01..", "20261101"],
)  # fmt: skip
def test_bad_periods(text: str) -> None:
    """Unreadable, future, reversed or too long: a UserInputError meant for people."""
    with pytest.raises(UserInputError):
        parse_period(text, NOW)


def test_durations() -> None:
    """30m, 2h, 24h, 3d, 1w; at most 30 days."""
    assert parse_duration("30m") == dt.timedelta(minutes=30)
    assert parse_duration("2H") == dt.timedelta(hours=2)
    assert parse_duration("3d") == dt.timedelta(days=3)
    assert parse_duration("1w") == dt.timedelta(days=7)
    for bad in ("31d", "0m", "soon", "-1h", "1.5h"):
        with pytest.raises(UserInputError):
            parse_duration(bad)


def test_channels() -> None:
    """Slack's escaped mention or a bare id; anything else is not a channel."""
    assert channel_id("<#C0ALERTS|alerts>") == "C0ALERTS"
    assert channel_id("<#G0PRIVATE1>") == "G0PRIVATE1"
    assert channel_id("C0123456789") == "C0123456789"
    assert channel_id("#general") is None
    assert channel_id("<@U123>") is None


def test_subscribe_options() -> None:
    """Channel, severity, types and vehicles, in any order."""
    wanted = parse_subscribe(
        ["types=A,B,A", "severity>=critical", "<#C0X1234567|x>", "vehicles=V1"], "C0HERE"
    )
    assert wanted.channel == "C0X1234567"
    assert (wanted.min_severity, wanted.severity_name) == (2, "Critical")
    assert wanted.types == ("A", "B") and wanted.vins == ("V1",)
    assert parse_subscribe([], "C0HERE").channel == "C0HERE"
    for bad in (["types="], ["severity>=x"], ["#name"], ["foo"]):
        with pytest.raises(UserInputError):
            parse_subscribe(bad, "C0HERE")


def test_admin_actions() -> None:
    """Which /fleet texts change things (and so need an admin)."""
    assert admin_action("subscribe #x") == "subscribe"
    assert admin_action("MUTE v 1h") == "mute"
    assert admin_action("monitor enable") == "monitor"
    assert admin_action("vehicles label v x") == "label"
    assert admin_action("monitor list") is None
    assert admin_action("routes") is None
    assert admin_action("") is None


def test_echo_cannot_ping() -> None:
    """Echoed input loses Slack markup and stays short."""
    shown = echo("<!channel> " + "x" * 200)
    assert "<" not in shown and ">" not in shown and len(shown) <= 60
