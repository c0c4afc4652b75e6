"""`/alert` over HTTP, signed exactly as Slack sends it, on real parts."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.errors import UserInputError
from bot.messages.alert_text import alert_text
from bot.slack.commands.alert import alert_detail, alert_reply
from bot.store import StoredAlert
from tests.slack.conftest import NOW, OPS, World, all_text, reply

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


# -- the service, called directly (no HTTP) -------------------------------------------------


def ledger_only_alert(world: World, index: int) -> StoredAlert:
    """An open alert the ledger holds but the API no longer lists (it started long ago)."""
    alert = StoredAlert(id="ledger-only", vehicle_id=None, vin=world.vehicle(index)["vin"],
                        type="OilLevelLow", severity="Critical", active=True,
                        started_at=NOW - dt.timedelta(days=40))  # fmt: skip
    world.ledger.ingest([alert], lambda _: [OPS])
    return alert


def test_alert_reply_directly_adds_open_alerts_only_the_ledger_knows(world: World) -> None:
    """An open alert older than the API's window is listed with the API's, in the same words."""
    ledger_only_alert(world, 1)
    text = all_text(alert_reply(world.services, world.vehicle(1)["vin"]))
    assert "Active now* (1)" in text and "`ledger-only`" in text
    assert f":red_circle: Critical *{alert_text('OilLevelLow')}* · <!date^" in text


def test_alert_detail_directly_falls_back_to_the_ledger(world: World) -> None:
    """The API failing: the alert as the ledger last saw it, with who acknowledged it."""
    alert = ledger_only_alert(world, 1)
    world.ledger.acknowledge(alert.id, OPS, "U0ACKER", NOW)
    entry = world.services.directory.resolve(alert.vin)
    world.sandbox.error_rate = 1.0
    text = all_text(alert_detail(world.services, entry, alert.id, channel=OPS))
    assert f"— {world.name(1)}" in text and "`OilLevelLow`" in text
    assert "Acknowledged:* by <@U0ACKER>" in text


def test_alert_reply_directly_refuses_an_unknown_id(world: World) -> None:
    """An id neither the API nor the ledger knows is the person's mistake."""
    with pytest.raises(UserInputError, match="No alert `nope`"):
        alert_reply(world.services, f"{world.vehicle(1)['vin']} nope")
