"""`/fleet subscribe|unsubscribe|routes|mute|unmute|mutes` over HTTP, on real parts."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.errors import UserInputError
from bot.slack.commands import fleet_routing
from tests.slack.conftest import ADMIN, ALERTS, GUEST, NOW, OPS, World, all_text, reply


def test_subscribe_routes_unsubscribe(world: World) -> None:
    """An admin subscribes a channel with filters; routes shows it; unsubscribe removes it."""
    vehicle = world.vehicle(4)
    text = (
        f"subscribe <#{ALERTS}|alerts> severity>=warn types=AddWasherFluid,lowFuel "
        f"vehicles={vehicle['id']}"
    )
    answer = all_text(reply(world.driver.command("/fleet", text)))
    assert f"<#{ALERTS}> now gets alerts of severity Warning or more" in answer
    assert "/invite" in answer  # another channel than the one typed in
    (route,) = world.ledger.routes()
    assert (route.channel, route.min_severity, route.created_by) == (ALERTS, 1, ADMIN)
    assert route.types == ("AddWasherFluid", "LowFuel")
    assert route.vins == (vehicle["vin"],)

    here = all_text(reply(world.driver.command("/fleet", "subscribe")))
    assert f"<#{OPS}> now gets all vehicle alerts" in here
    listing = all_text(reply(world.driver.command("/fleet", "routes")))
    assert f"<#{ALERTS}>" in listing and f"<#{OPS}>" in listing

    gone = all_text(reply(world.driver.command("/fleet", f"unsubscribe <#{ALERTS}>")))
    assert "no longer gets alerts" in gone
    assert [r.channel for r in world.ledger.routes()] == [OPS]
    again = all_text(reply(world.driver.command("/fleet", f"unsubscribe <#{ALERTS}>")))
    assert "was not subscribed" in again


def test_routes_show_parked_with_reason(world: World) -> None:
    """A parked route is listed with why, so an admin can fix it."""
    world.ledger.add_route(ALERTS)
    world.ledger.park_route(ALERTS, "channel_not_found")
    text = all_text(reply(world.driver.command("/fleet", "routes")))
    assert "parked: channel_not_found" in text


def test_mute_and_unmute(world: World) -> None:
    """An admin mutes a vehicle for a while and lifts it."""
    vin = world.vehicle()["vin"]
    muted = all_text(reply(world.driver.command("/fleet", f"mute {vin} 2h")))
    assert "every alert held back until <!date^" in muted
    assert "Critical still posted" in muted
    [mute] = world.ledger.mutes()
    assert (mute.vin, mute.types, mute.include_critical, mute.muted_by) == (vin, None, False, ADMIN)
    unmuted = all_text(reply(world.driver.command("/fleet", f"unmute {vin}")))
    assert "no longer muted" in unmuted
    assert world.ledger.mutes() == []


def test_mute_by_type_with_all_and_the_list(world: World) -> None:
    """`types=` and `all` reach the ledger as given; `/fleet mutes` shows who, what and until."""
    vin = world.vehicle()["vin"]
    muted = all_text(
        reply(world.driver.command("/fleet", f"mute {vin} 1d types=addWasherFluid,TyreFlat all"))
    )
    assert "AddWasherFluid, TyreFlat held back until" in muted
    assert "Critical included" in muted
    [mute] = world.ledger.mutes()
    assert mute.types == ("AddWasherFluid", "TyreFlat") and mute.include_critical
    listing = all_text(reply(world.driver.command("/fleet", "mutes", user_id=GUEST)))
    assert "AddWasherFluid, TyreFlat, Critical included until <!date^" in listing
    assert f"muted by <@{ADMIN}>" in listing


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("mute {vin} 2h types=", "types"),
        ("mute {vin} 2h everything", "everything"),
        ("mute {vin} 0s", "at least"),
    ],
)
def test_mute_bad_options_say_what_is_wrong(world: World, text: str, problem: str) -> None:
    """A bad mute option is named back with the usage, and nothing is muted."""
    answer = all_text(
        reply(world.driver.command("/fleet", text.format(vin=world.vehicle()["vin"])))
    )
    assert problem in answer
    assert world.ledger.mutes() == []


# -- the handlers, called directly (no HTTP) ------------------------------------------------


def test_subscribe_and_unsubscribe_directly(world: World) -> None:
    """The handlers of the table are plain functions over the services."""
    answer = all_text(fleet_routing.subscribe(world.services, ["severity>=crit"], ADMIN, OPS))
    assert f"<#{OPS}> now gets alerts of severity Critical or more" in answer
    (route,) = world.ledger.routes()
    assert (route.channel, route.min_severity) == (OPS, 2)
    assert "no longer gets" in all_text(fleet_routing.unsubscribe(world.services, [], ADMIN, OPS))
    assert world.ledger.routes() == []


def test_mute_unmute_and_mutes_directly(world: World) -> None:
    """Mute for 2 h from the services' clock; the list shows it; unmute lifts it."""
    vin = world.vehicle()["vin"]
    fleet_routing.mute(world.services, [vin, "2h"], ADMIN, OPS)
    [mute] = world.ledger.mutes(NOW)
    assert mute.until == NOW + dt.timedelta(hours=2)
    listing = all_text(fleet_routing.mutes(world.services, [], GUEST, OPS))
    assert f"muted by <@{ADMIN}>" in listing
    with pytest.raises(UserInputError, match="did not understand"):
        fleet_routing.mutes(world.services, ["extra"], GUEST, OPS)
    assert "no longer muted" in all_text(fleet_routing.unmute(world.services, [vin], ADMIN, OPS))
    assert world.ledger.mutes(NOW) == []
