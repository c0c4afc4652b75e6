"""Tests of the route table shared by both API styles."""

from __future__ import annotations

import pytest

from bot.errors import ConfigError
from bot.psa.routes import ROUTES, resolve

OPERATIONS = {
    "fleets",
    "fleet",
    "vehicles",
    "vehicle",
    "status",
    "last_position",
    "alerts",
    "alert",
    "fleet_alerts",
    "maintenances",
    "maintenance",
    "trips",
    "trip",
    "monitors",
    "monitor",
    "monitor_status",
    "create_monitor",
    "delete_monitor",
}


def test_every_operation_of_the_brief_is_routed() -> None:
    """The table covers exactly the operations the client needs."""
    assert set(ROUTES) == OPERATIONS


@pytest.mark.parametrize(
    ("name", "params", "fleets_path", "quickguide_path"),
    [
        ("vehicles", {}, "/fleets/F1/vehicles", "/fleet/vehicles"),
        ("vehicle", {"vid": "V1"}, "/fleets/F1/vehicles/V1", "/fleet/vehicles/V1"),
        ("status", {"vid": "V1"}, "/fleets/F1/vehicles/V1/status", "/fleet/vehicles/V1/status"),
        (
            "last_position",
            {"vid": "V1"},
            "/fleets/F1/vehicles/V1/lastPosition",
            "/fleet/vehicles/V1/lastPosition",
        ),
        ("alerts", {"vid": "V1"}, "/fleets/F1/vehicles/V1/alerts", "/fleet/vehicles/V1/alerts"),
        (
            "alert",
            {"vid": "V1", "aid": "A1"},
            "/fleets/F1/vehicles/V1/alerts/A1",
            "/fleet/vehicles/V1/alerts/A1",
        ),
        ("fleet_alerts", {}, "/fleets/F1/alerts", "/fleet/alerts"),
        ("maintenances", {}, "/fleets/F1/maintenances", "/fleet/maintenances"),
        (
            "maintenance",
            {"vid": "V1"},
            "/fleets/F1/vehicles/V1/maintenance",
            "/fleet/vehicles/V1/maintenance",
        ),
        ("trips", {"vid": "V1"}, "/fleets/F1/vehicles/V1/trips", "/fleet/vehicles/V1/trips"),
        (
            "trip",
            {"vid": "V1", "tid": "T1"},
            "/fleets/F1/vehicles/V1/trips/T1",
            "/fleet/vehicles/V1/trips/T1",
        ),
        ("monitors", {}, "/fleets/F1/monitors", "/fleet/monitors"),
        ("create_monitor", {}, "/fleets/F1/monitors", "/fleet/monitors"),
        ("monitor", {"mid": "M1"}, "/fleets/F1/monitors/M1", "/fleet/monitors/M1"),
        ("delete_monitor", {"mid": "M1"}, "/fleets/F1/monitors/M1", "/fleet/monitors/M1"),
        (
            "monitor_status",
            {"mid": "M1"},
            "/fleets/F1/monitors/M1/status",
            "/fleet/monitors/M1/status",
        ),
        ("fleet", {}, "/fleets/F1", "/fleet"),
    ],
)
def test_both_styles_resolve(
    name: str, params: dict[str, str], fleets_path: str, quickguide_path: str
) -> None:
    """Each operation has the v3 path with the fleet in it, and the 2019 path plus header."""
    assert resolve("fleets", name, "F1", **params) == (fleets_path, {})
    assert resolve("quickguide", name, "F1", **params) == (quickguide_path, {"fleet-id": "F1"})


def test_methods_follow_the_specs() -> None:
    """Creation is POST, deletion DELETE, the monitor status PUT, the rest GET."""
    assert ROUTES["create_monitor"].method == "POST"
    assert ROUTES["delete_monitor"].method == "DELETE"
    assert ROUTES["monitor_status"].method == "PUT"
    assert {
        r.method
        for n, r in ROUTES.items()
        if n not in ("create_monitor", "delete_monitor", "monitor_status")
    } == {"GET"}


def test_path_parameters_are_quoted() -> None:
    """An id with a slash or space cannot escape its path segment."""
    path, _ = resolve("fleets", "vehicle", "F 1", vid="a/b?c")
    assert path == "/fleets/F%201/vehicles/a%2Fb%3Fc"


def test_operation_missing_in_a_style_is_a_clear_config_error() -> None:
    """The 2019 style has no fleet list: the error names PSA_API_STYLE."""
    with pytest.raises(ConfigError) as caught:
        resolve("quickguide", "fleets", "F1")
    assert caught.value.variable == "PSA_API_STYLE"
    assert "'fleets'" in str(caught.value)


def test_fleets_list_needs_no_fleet_id() -> None:
    """Listing fleets works before a fleet id is configured."""
    assert resolve("fleets", "fleets", None) == ("/fleets", {})


def test_missing_fleet_id_names_the_variable() -> None:
    """A fleet-scoped operation without PSA_FLEET_ID fails naming it, in both styles."""
    for style in ("fleets", "quickguide"):
        with pytest.raises(ConfigError) as caught:
            resolve(style, "vehicles", None)
        assert caught.value.variable == "PSA_FLEET_ID"


def test_unknown_style_and_operation() -> None:
    """A bad style is a ConfigError; an unknown operation or missing parameter a bug."""
    with pytest.raises(ConfigError):
        resolve("v2", "vehicles", "F1")
    with pytest.raises(KeyError, match="teleport"):
        resolve("fleets", "teleport", "F1")
    with pytest.raises(TypeError, match="vid"):
        resolve("fleets", "vehicle", "F1")
    with pytest.raises(ValueError, match="empty"):
        resolve("fleets", "vehicle", "F1", vid="")
