"""App Home (app_home_opened → views.publish) and retried event deliveries."""

from __future__ import annotations

from bot.messages import texts
from bot.slack.home import home, home_facts
from bot.store import StoredAlert
from tests.slack.conftest import ADMIN, ALERTS, World, all_text


def publishes(world: World) -> int:
    """How many views.publish calls the stand-in received."""
    return sum(1 for call in world.slack.calls if call.method == "views.publish")


def test_home_shows_the_fleet_at_a_glance(world: World) -> None:
    """Open alerts per vehicle, severities, routes (parked too), last poll and quota."""
    raw = next(a for a in world.sandbox.alerts() if a["active"])
    world.ledger.ingest(
        [
            StoredAlert(
                id=raw["id"],
                vehicle_id=None,
                vin=raw["vin"],
                type=raw["type"],
                severity=raw["severity"],
                active=True,
                payload=raw,
            )
        ],
        lambda alert: [ALERTS],
    )
    world.ledger.add_route(ALERTS, min_severity=1, created_by=ADMIN)
    world.ledger.add_route("C0GONE")
    world.ledger.park_route("C0GONE", "channel_not_found")
    world.ledger.set_state(
        "last_poll", {"at": "2026-11-20T17:59:00+00:00", "vehicles": 8, "new_alerts": 1,
                      "api_calls": 9}
    )  # fmt: skip
    world.ledger.set_state("next_poll", "2026-11-20T18:01:00+00:00")
    world.ledger.set_state("quota", {"daily_limit": 100000, "daily_remaining": 99000})

    result = world.driver.event({"type": "app_home_opened", "user": ADMIN, "tab": "home"})
    assert result.status == 200
    world.slack.wait_for(lambda s: ADMIN in s.views)
    view = world.slack.views[ADMIN]
    assert view["type"] == "home"
    assert len(view["blocks"]) <= 100
    text = all_text({"blocks": view["blocks"]})
    assert "Vehicles with open alerts* (1)" in text
    assert raw["vin"] in text
    assert "Open alerts by severity" in text
    assert f"<#{ALERTS}>" in text and "severity Warning or more" in text
    assert "parked: channel_not_found" in text
    assert "Last poll:* <!date^" in text and "9 API calls" in text
    assert "99,000 of 100000" in text
    assert "1 pending" in text


def test_home_on_an_empty_ledger(world: World) -> None:
    """Nothing yet: still a useful view, no error."""
    world.driver.event({"type": "app_home_opened", "user": ADMIN, "tab": "home"})
    world.slack.wait_for(lambda s: ADMIN in s.views)
    text = all_text({"blocks": world.slack.views[ADMIN]["blocks"]})
    assert "No open alerts" in text and "Last poll:* not yet" in text


def test_messages_tab_publishes_nothing(world: World) -> None:
    """Opening the Messages tab needs no home view."""
    home = world.driver.event({"type": "app_home_opened", "user": ADMIN, "tab": "home"})
    assert home.status == 200
    world.slack.wait_for(lambda s: publishes(world) == 1)
    messages = world.driver.event({"type": "app_home_opened", "user": "U0OTHER", "tab": "messages"})
    assert messages.status == 200
    # an event after it proves the listener pool has run the "messages" one
    world.driver.event({"type": "app_home_opened", "user": "U0THIRD", "tab": "home"})
    world.slack.wait_for(lambda s: "U0THIRD" in s.views)
    assert "U0OTHER" not in world.slack.views


def test_retried_event_is_acknowledged_but_not_acted_on_twice(world: World) -> None:
    """Slack's retry (X-Slack-Retry-Num) gets a 200 and no second views.publish."""
    event = {"type": "app_home_opened", "user": ADMIN, "tab": "home"}
    assert world.driver.event(event).status == 200
    world.slack.wait_for(lambda s: publishes(world) == 1)
    retried = world.driver.event(event, retry_num=1)
    assert retried.status == 200
    world.driver.event({"type": "app_home_opened", "user": "U0LATER", "tab": "home"})
    world.slack.wait_for(lambda s: "U0LATER" in s.views)
    assert publishes(world) == 2  # the first delivery and the later event, not the retry


def test_home_directly(world: World) -> None:
    """The App Home service is a plain function: the view, with open alerts by vehicle."""
    vin = world.vehicle()["vin"]
    alert = StoredAlert(
        id="h-1", vehicle_id=None, vin=vin, type="LowFuel", severity="Warning", active=True
    )
    world.ledger.ingest([alert], lambda _: [ALERTS])
    world.services.directory.refresh()
    view = home(world.services)
    assert view["type"] == "home"
    text = all_text({"blocks": view["blocks"]})
    assert texts.HOME_OPEN_TITLE.format(count=1) in text and world.name() in text
    assert home_facts(world.services).open_alerts[0].id == "h-1"
