"""`/fleet` over HTTP: help, vehicles, status, where, monitors, and who may do what."""

from __future__ import annotations

import dataclasses

import pytest

from bot.errors import UserInputError
from bot.messages import texts
from bot.slack.commands.fleet import fleet_reply, fleet_usage
from tests.slack.conftest import GUEST, OPS, World, all_text, make_world, reply


@pytest.mark.parametrize("text", ["", "help", "HELP"])
def test_fleet_help(world: World, text: str) -> None:
    """Help lists every subcommand."""
    message = all_text(reply(world.driver.command("/fleet", text)))
    for name in ("vehicles", "status", "where", "subscribe", "unsubscribe", "routes", "mute"):
        assert f"`{name}" in message


def test_fleet_unknown_subcommand_gets_help(world: World) -> None:
    """An unknown subcommand says so and shows the help."""
    message = all_text(reply(world.driver.command("/fleet", "launch rockets")))
    assert "I do not know `/fleet launch`" in message
    assert "Usage:* `/fleet &lt;subcommand&gt;`" in message


def test_fleet_vehicles_and_filter(world: World) -> None:
    """The fleet list, and a filter that narrows it."""
    vehicles = world.sandbox.vehicles()
    listing = all_text(reply(world.driver.command("/fleet", "vehicles")))
    assert f"Fleet vehicles* ({len(vehicles)})" in listing
    assert all(v["vin"] in listing for v in vehicles)
    vin = vehicles[3]["vin"]
    filtered = all_text(reply(world.driver.command("/fleet", f"vehicles {vin[-6:].lower()}")))
    assert vin in filtered and "(1 matching" in filtered
    nothing = all_text(reply(world.driver.command("/fleet", "vehicles zzzz")))
    assert "No vehicle matches" in nothing


def test_fleet_status(world: World) -> None:
    """Energy level and autonomy, odometer, ignition and position."""
    vin = world.vehicle()["vin"]
    text = all_text(reply(world.driver.command("/fleet", f"status {vin}")))
    assert f"Status of {world.name()}" in text
    assert "%" in text and "autonomy" in text
    assert "Odometer:" in text and "Ignition:" in text and "openstreetmap.org" in text


def test_fleet_status_without_a_vehicle_shows_the_pipeline(world: World) -> None:
    """Last poll, quota and backlog: what an operator checks first."""
    world.services.ledger.set_state(
        "last_poll", {"at": "2026-11-27T08:00:00+00:00", "vehicles": 25}
    )
    world.services.ledger.set_state("quota", {"daily_limit": 100_000, "daily_remaining": 99_000})
    text = all_text(reply(world.driver.command("/fleet", "status")))
    assert "25 vehicles" in text and "99,000 of 100000" in text


def test_fleet_status_says_how_the_fleet_is_polled_and_why_it_fell_back(world: World) -> None:
    """A gateway refusing the fleet-wide collection shows in words, with the next probe."""
    world.fleetbot.poller.poll_once()
    text = all_text(reply(world.driver.command("/fleet", "status")))
    assert "the fleet-wide alert collection" in text
    world.sandbox.refuse_fleet_alerts(405)
    try:
        world.fleetbot.poller.poll_once()
    finally:
        world.sandbox.refuse_fleet_alerts(None)
    text = all_text(reply(world.driver.command("/fleet", "status")))
    assert "vehicle by vehicle since <!date^" in text
    assert "refuses the fleet-wide alert collection" in text and "asked again <!date^" in text


def test_fleet_where(world: World) -> None:
    """Last position with a map link and a Slack date."""
    vin = world.vehicle()["vin"]
    text = all_text(reply(world.driver.command("/fleet", f"where {vin}")))
    assert f"*{world.name()}* was last seen <!date^" in text
    assert "openstreetmap.org" in text


@pytest.mark.parametrize(
    ("text", "problem", "usage"),
    [
        ("status a b", "", "/fleet status [vehicle]"),
        ("where nowhere", "No such vehicle", "/fleet where &lt;vehicle&gt;"),
        ("mute {vin}", "", "/fleet mute &lt;vehicle&gt; &lt;duration&gt;"),
        ("mute {vin} forever", "cannot read “forever” as a duration", "/fleet mute"),
        ("mute {vin} 31d", "at most 30 days", "/fleet mute"),
        ("subscribe severity>=loud", "Unknown severity", "/fleet subscribe"),
        ("subscribe #general", "not a channel I can use", "/fleet subscribe"),
        ("subscribe colour=red", "did not understand", "/fleet subscribe"),
        ("subscribe vehicles=NOPE", "No such vehicle", "/fleet subscribe"),
        ("monitor reboot", "", "/fleet monitor list|enable|disable"),
        ("vehicles label {vin}", "", "/fleet vehicles label &lt;vin&gt; &lt;label&gt;"),
        ("vehicles label {vin} <!here>", "A label is", "/fleet vehicles"),
    ],
)
def test_fleet_bad_input(world: World, text: str, problem: str, usage: str) -> None:
    """Each bad input: an ephemeral reply with the problem and that subcommand's usage."""
    message = reply(world.driver.command("/fleet", text.format(vin=world.vehicle()["vin"])))
    assert message["response_type"] == "ephemeral"
    assert problem in all_text(message)
    assert usage in all_text(message)


def test_monitor_without_push_configured(world: World) -> None:
    """No MonitorService: monitor subcommands say push is not configured."""
    text = all_text(reply(world.driver.command("/fleet", "monitor enable")))
    assert "Push is not configured" in text


@pytest.mark.parametrize(
    "text",
    ["subscribe", "unsubscribe", "mute {vin} 1h", "unmute {vin}", "monitor enable",
     "monitor disable", "vehicles label {vin} van"],
)  # fmt: skip
def test_admin_subcommands_refused_for_others(world: World, text: str) -> None:
    """A non-admin gets a polite refusal as the ack itself, and nothing changes."""
    vin = world.vehicle()["vin"]
    result = world.driver.command("/fleet", text.format(vin=vin), user_id=GUEST)
    assert result.status == 200
    assert result.json is not None
    assert result.json["response_type"] == "ephemeral"
    assert "only Fleetbot admins can" in result.json["text"]
    assert world.ledger.routes() == []
    assert world.ledger.mutes() == []
    assert all(v["label"] is None for v in world.ledger.vehicles())


def test_read_only_subcommands_open_to_everyone(world: World) -> None:
    """Listing routes and monitors needs no admin."""
    routes = reply(world.driver.command("/fleet", "routes", user_id=GUEST))
    assert "Alert routes" in all_text(routes)


def test_empty_admin_list_means_nobody(slack_certs, tmp_path) -> None:
    """FLEETBOT_ADMINS unset: even the would-be admin is refused (fail closed)."""
    with make_world(slack_certs, tmp_path / "f.db") as built:
        built.services.settings = dataclasses.replace(built.services.settings, admins=frozenset())
        result = built.driver.command("/fleet", "subscribe")
        assert result.json is not None and "only Fleetbot admins" in result.json["text"]
        assert built.ledger.routes() == []


# -- the service, called directly (no HTTP) -------------------------------------------------


def test_fleet_reply_directly(world: World) -> None:
    """fleet_reply dispatches through the one table; a filter narrows the vehicles."""
    vin = world.vehicle(3)["vin"]
    listing = all_text(fleet_reply(world.services, f"vehicles {vin}", user=GUEST, channel=OPS))
    assert vin in listing and "(1 matching" in listing
    where = all_text(fleet_reply(world.services, f"where {vin}", user=GUEST, channel=OPS))
    assert "was last seen <!date^" in where


def test_fleet_reply_directly_refuses_admin_forms_without_the_gate(world: World) -> None:
    """Called without the middleware, an admin form still refuses a non-admin; nothing changes."""
    with pytest.raises(UserInputError, match="only Fleetbot admins can subscribe"):
        fleet_reply(world.services, "subscribe", user=GUEST, channel=OPS)
    assert world.ledger.routes() == []


def test_fleet_usage_names_the_subcommand() -> None:
    """The usage appended to an error is that subcommand's, else the full help."""
    assert fleet_usage("MUTE x") == texts.FLEET_SUBCOMMAND_USAGE["mute"]
    assert fleet_usage("launch rockets") == texts.FLEET_USAGE
