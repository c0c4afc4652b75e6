"""`/alert` over HTTP, signed exactly as Slack sends it, on real parts."""

from __future__ import annotations

import pytest

from tests.slack.conftest import World, all_text, reply

ALERT_USAGE = "Usage:* `/alert"


def test_alert_lists_active_first_then_recent(world: World) -> None:
    """Active alerts come before ended ones, each in words with its id."""
    vehicle = world.vehicle(5)
    alerts = world.sandbox.alerts(vehicle["vin"])
    text = all_text(reply(world.driver.command("/alert", vehicle["vin"])))
    assert "Active now* (1)" in text
    assert text.index("Active now") < text.index("Ended in the last 7 days")
    for alert in alerts:
        assert alert["id"] in text


def test_alert_detail_by_id(world: World) -> None:
    """With an id: that alert, its type, state and where it started."""
    vehicle = world.vehicle(5)
    alert = world.sandbox.alerts(vehicle["vin"])[0]
    text = all_text(reply(world.driver.command("/alert", f"{vehicle['vin']} {alert['id']}")))
    assert f"`{alert['id']}`" in text
    assert f"`{alert['type']}`" in text
    assert "openstreetmap.org" in text


def test_alert_none_is_no_data_not_failure(world: World) -> None:
    """A vehicle without alerts: a plain "No alerts … in the last 7 days"."""
    vin = world.vehicle(1)["vin"]
    text = all_text(reply(world.driver.command("/alert", vin)))
    assert f"No alerts for *{world.name(1)}* in the last 7 days" in text


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "Which vehicle?"),
        ("XYZ", "No such vehicle"),
        ("{vin} not-an-alert-id", "No alert `not-an-alert-id`"),
        ("{vin} a b", "did not understand"),
    ],
)
def test_alert_bad_input_gets_problem_and_usage(world: World, text: str, problem: str) -> None:
    """Each bad input: the problem, then the usage."""
    message = reply(world.driver.command("/alert", text.format(vin=world.vehicle()["vin"])))
    assert message["response_type"] == "ephemeral"
    assert problem in all_text(message)
    assert ALERT_USAGE in all_text(message)
