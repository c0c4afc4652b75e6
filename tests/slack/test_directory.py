"""bot.directory: vehicle resolution on the sandbox's API, with the ledger as cache."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.directory import VehicleDirectory, display_name
from bot.errors import ApiError, UserInputError
from tests.slack.conftest import NOW, World


def listings(world: World) -> int:
    """How many fleet listings the sandbox answered."""
    return sum(1 for r in world.sandbox.requests if r.path.endswith("/vehicles"))


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now


def test_resolves_vin_id_and_label_in_any_case(world: World) -> None:
    """VIN, API id and admin label, case-insensitive."""
    directory = world.services.directory
    vehicle = world.vehicle(3)
    assert directory.resolve(vehicle["vin"].lower()).id == vehicle["id"]
    assert directory.resolve(vehicle["id"].upper()).vin == vehicle["vin"]
    world.ledger.set_label(vehicle["vin"], "Depot-Van")
    entry = directory.resolve("depot-VAN")
    assert (entry.vin, entry.name) == (vehicle["vin"], "Depot-Van")
    assert directory.name_of(vehicle["vin"]) == "Depot-Van"


def test_unknown_vehicle_says_so_with_close_matches(world: World) -> None:
    """Unknown → UserInputError naming it, suggesting close VINs or labels."""
    world.ledger.set_label(world.vehicle(0)["vin"], "Ambulance")
    world.services.directory.refresh()
    with pytest.raises(UserInputError, match="Did you mean `Ambulance`"):
        world.services.directory.resolve("ambulanse")
    with pytest.raises(UserInputError, match=r"No such vehicle “qqq”\.$"):
        world.services.directory.resolve("qqq")


def test_directory_is_cached_for_its_ttl(world: World) -> None:
    """Within the TTL the fleet is listed once; after it, once more."""
    clock = Clock()
    directory = VehicleDirectory(world.api, world.ledger, ttl=300, clock=clock)
    before = listings(world)
    for _ in range(5):
        directory.resolve(world.vehicle()["vin"])
    assert listings(world) == before + 1
    clock.now += dt.timedelta(seconds=301)
    directory.resolve(world.vehicle()["vin"])
    assert listings(world) == before + 2


def test_stale_directory_beats_none_when_the_api_fails(world: World) -> None:
    """The API down: a stale directory still answers; an empty one raises the API error."""
    clock = Clock()
    directory = VehicleDirectory(world.api, world.ledger, ttl=300, clock=clock)
    directory.refresh()
    clock.now += dt.timedelta(hours=2)
    world.sandbox.error_rate = 1.0
    assert directory.resolve(world.vehicle()["vin"]).vin == world.vehicle()["vin"]
    world.ledger.replace_vehicles([])
    with pytest.raises(ApiError):
        directory.resolve("anything")


def test_a_new_vehicle_is_found_after_a_refresh_on_miss(world: World) -> None:
    """A miss on an old listing refreshes once: a vehicle added since is found."""
    clock = Clock()
    directory = VehicleDirectory(world.api, world.ledger, ttl=300, clock=clock)
    directory.refresh()
    world.sandbox.add_vehicles(1)
    newcomer = world.sandbox.vehicles()[-1]
    clock.now += dt.timedelta(seconds=120)
    assert directory.resolve(newcomer["vin"]).id == newcomer["id"]


def test_display_name() -> None:
    """Label first; else brand and model with the VIN; else the VIN."""
    assert display_name("VIN1", "Van-7", "Peugeot", "208") == "Van-7"
    assert display_name("VIN1", None, "Peugeot", "208") == "Peugeot 208 (VIN1)"
    assert display_name("VIN1", None, "Opel", None) == "Opel (VIN1)"
    assert display_name("VIN1") == "VIN1"
