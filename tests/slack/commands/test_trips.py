"""`/trips` over HTTP, signed exactly as Slack sends it, on real parts."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.errors import UserInputError
from bot.messages import texts
from bot.sandbox.slack import blockkit
from bot.slack.commands.trips import trips_reply
from bot.slack.parsing import MAX_RANGE_DAYS
from tests.slack.conftest import World, all_text, reply

TRIPS_USAGE = "Usage:* `/trips"


def assert_within_limits(message: dict) -> None:
    """Block Kit limits as Slack checks them (the stand-in's checker)."""
    assert blockkit.problems(message.get("blocks")) == []


def test_trips_last_7_days(world: World) -> None:
    """Trips grouped by day with totals, times as Slack dates and places as map links."""
    vin = world.vehicle()["vin"]
    messages = world.driver.command("/trips", f"{vin} 7d").replies()
    text = "\n".join(all_text(m) for m in messages)
    assert f"Trips of {world.name()}" in text
    assert "<!date^" in text
    assert "openstreetmap.org" in text
    assert " km" in text
    assert " L fuel" in text or " kWh" in text
    for message in messages:
        assert_within_limits(message)


def test_trips_by_id_and_label_case_insensitive(world: World) -> None:
    """A vehicle is found by API id, and by a label an admin gave it, in any case."""
    vehicle = world.vehicle(2)
    by_id = reply(world.driver.command("/trips", f"{vehicle['id'].upper()} yesterday"))
    assert vehicle["vin"] in all_text(by_id)
    labelled = reply(world.driver.command("/fleet", f"vehicles label {vehicle['vin']} Van-7"))
    assert "Van-7" in all_text(labelled)
    by_label = reply(world.driver.command("/trips", "van-7 2026-11-18"))
    assert "Van-7" in all_text(by_label)


def test_trips_range_and_day(world: World) -> None:
    """A range of days and a single day both answer with the period in words."""
    vin = world.vehicle()["vin"]
    ranged = all_text(reply(world.driver.command("/trips", f"{vin} 2026-11-15..2026-11-17")))
    assert "over 15\u201317 Nov" in ranged
    spaced = all_text(reply(world.driver.command("/trips", f"{vin} 2026-11-15 .. 2026-11-17")))
    assert "over 15\u201317 Nov" in spaced
    day = all_text(reply(world.driver.command("/trips", f"{vin} 2026-11-01")))
    assert "No trips" in day and "on 1 Nov" in day


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "Which vehicle?"),
        ("NOPE-NOT-A-CAR", "No such vehicle"),
        ("{vin} tomorrow", "cannot read"),
        ("{vin} 2026-11-21", "in the future"),
        ("{vin} 2026-02-30", "cannot read"),
        ("{vin} 2026-11-07..2026-11-01", "ends before it starts"),
        ("{vin} 2026-09-01..2026-11-01", f"at most {MAX_RANGE_DAYS} days"),
        ("{vin} 99d", f"at most {MAX_RANGE_DAYS} days"),
        ("{vin} today please", "did not understand"),
    ],
)
def test_trips_bad_input_gets_problem_and_usage(world: World, text: str, problem: str) -> None:
    """Each bad input: an ephemeral reply naming the problem, then the usage."""
    message = reply(world.driver.command("/trips", text.format(vin=world.vehicle()["vin"])))
    assert message["response_type"] == "ephemeral"
    assert problem in all_text(message)
    assert TRIPS_USAGE in all_text(message)


def test_unknown_vehicle_suggests_close_matches(world: World) -> None:
    """A VIN with one typo gets "Did you mean" with the real VIN."""
    vin = world.vehicle()["vin"]
    typo = vin[:-1] + ("0" if vin[-1] != "0" else "1")
    text = all_text(reply(world.driver.command("/trips", typo)))
    assert "No such vehicle" in text
    assert f"Did you mean `{vin}`" in text


# -- the service, called directly (no HTTP) -------------------------------------------------


def test_trips_reply_directly(world: World) -> None:
    """trips_reply is a plain function: the same messages, within limits, in the given zone."""
    vin = world.vehicle()["vin"]
    messages = trips_reply(world.services, f"{vin} 7d")
    assert f"Trips of {world.name()}" in "\n".join(all_text(m) for m in messages)
    assert all(m["response_type"] == "ephemeral" for m in messages)
    for message in messages:
        assert_within_limits(message)
    paris = dt.timezone(dt.timedelta(hours=1))
    (day,) = trips_reply(world.services, f"{vin} 2026-11-01", tz=paris)
    assert "on 1 Nov" in all_text(day)


@pytest.mark.parametrize(
    ("text", "problem"),
    [("", texts.NEED_VEHICLE), ("{vin} today please", "did not understand")],
)
def test_trips_reply_directly_refuses_bad_input(world: World, text: str, problem: str) -> None:
    """Bad input is a UserInputError (the listener adds the usage), not a reply."""
    with pytest.raises(UserInputError, match=problem.split("?")[0]):
        trips_reply(world.services, text.format(vin=world.vehicle()["vin"]))
