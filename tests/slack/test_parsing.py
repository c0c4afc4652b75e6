"""Reading what people type: periods, durations, channels, subscribe options."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.errors import UserInputError
from bot.messages.markup import echo
from bot.slack.commands.fleet import fleet_request
from bot.slack.parsing import (
    channel_id,
    parse_duration,
    parse_period,
    parse_subscribe,
    words,
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
    assert parse_duration("90s") == dt.timedelta(seconds=90)
    for bad in ("31d", "0m", "0s", "soon", "-1h", "-5m", "1.5h", "999999999d", "9" * 400 + "w"):
        with pytest.raises(UserInputError):
            parse_duration(bad)


def test_duration_limits_are_the_caller_s() -> None:
    """Escalation and mutes share the reader; each says its own bounds, in words."""
    assert parse_duration("20s", minimum=dt.timedelta(seconds=10)) == dt.timedelta(seconds=20)
    with pytest.raises(UserInputError, match="at most 2 hours"):
        parse_duration("3h", maximum=dt.timedelta(hours=2))
    with pytest.raises(UserInputError, match="at least 10 seconds"):
        parse_duration("5s")


@pytest.mark.parametrize(
    ("when", "zone"),
    [
        ("0001-01-01", dt.timezone(dt.timedelta(hours=14))),
        ("0001-01-01..0001-01-02", PARIS),
        ("9999-12-31", dt.timezone(dt.timedelta(hours=-12))),
        ("2026-11-01..9999-12-31", dt.UTC),
        ("1999-12-31", dt.UTC),
    ],
)
def test_extreme_dates_are_refused_not_crashed(when: str, zone: dt.tzinfo) -> None:
    """Year 1 or 9999 in any zone is a polite refusal, never an OverflowError."""
    with pytest.raises(UserInputError):
        parse_period(when, NOW.astimezone(zone))


def test_command_text_is_read_as_typed() -> None:
    """Slack's entities are decoded once; real mentions stay as Slack's markup."""
    assert words("a&amp;b &lt;x&gt; &amp;lt; <#C0X|x>") == ["a&b", "<x>", "&lt;", "<#C0X|x>"]


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


def test_fleet_texts_are_read_against_the_table() -> None:
    """Which /fleet texts change things (and so need an admin), aliases included."""

    def admin(text: str) -> bool | None:
        request = fleet_request(text)
        return request.form.admin if request else None

    assert admin("subscribe #x") and admin("MUTE v 1h") and admin("monitor enable")
    assert admin("Monitors DISABLE") and admin("vehicle label v x") and admin("retry")
    assert admin("monitor list") is False and admin("routes") is False
    assert admin("vehicles") is False and admin("mutes") is False
    assert admin("") is False  # help
    assert admin("frobnicate") is None


def test_echo_cannot_ping() -> None:
    """Echoed input loses Slack markup and stays short."""
    shown = echo("<!channel> " + "x" * 200)
    assert "<" not in shown and ">" not in shown and len(shown) <= 70
    assert echo("a\x00b\nc & <@U1>") == "a b c &amp; &lt;@U1&gt;"
