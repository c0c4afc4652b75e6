"""Block Kit limits on every message Fleetbot builds, including a vehicle with 200 trips."""

from __future__ import annotations

import datetime as dt
import json

from bot.directory import VehicleEntry
from bot.messages.alerts import alert_detail, alerts_message
from bot.messages.fleet import routes_message, status_message, vehicles_message
from bot.messages.home import HomeFacts, home_view
from bot.messages.markup import (
    MAX_BLOCKS,
    MAX_RESPONSES,
    MAX_SECTION_TEXT,
    MAX_VIEW_BLOCKS,
    duration,
    error_reply,
    km,
    place,
)
from bot.messages.trips import Period, trips_messages
from bot.psa.models import Alert, EnergyConsumption, Position, Trip, VehicleStatus
from bot.sandbox.slack import blockkit
from bot.store import Route, StoredAlert

START = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
PERIOD = Period(START, START + dt.timedelta(days=20), "from 2026-11-01 to 2026-11-20")
LONG = "x" * 5000


def check_limits(message: dict, max_blocks: int = MAX_BLOCKS) -> None:
    """Slack would accept it: Block Kit limits (the stand-in's checker), fallback text ≤ 3000."""
    blocks = message["blocks"]
    assert 0 < len(blocks) <= max_blocks
    surface = "view" if max_blocks == MAX_VIEW_BLOCKS else "message"
    assert blockkit.problems(blocks, surface=surface) == []
    assert len(message.get("text", "")) <= MAX_SECTION_TEXT
    json.dumps(message)


def synthetic_trips(count: int) -> list[Trip]:
    """``count`` trips spread over 20 days, with places and energy."""
    trips = []
    for i in range(count):
        started = START + dt.timedelta(hours=2.4 * i)
        trips.append(
            Trip(
                id=f"t{i}",
                started_at=started,
                stopped_at=started + dt.timedelta(minutes=35),
                duration_s=35 * 60,
                distance_km=12.5 + i % 7,
                start_position=Position(lon=2.35, lat=48.85),
                stop_position=Position(lon=2.29, lat=48.86),
                energy_consumptions=(
                    EnergyConsumption(type="Fuel", value=120.0, unit="cL"),
                    EnergyConsumption(type="Electric", value=900.0, unit="Wh"),
                ),
            )
        )
    return trips


def test_200_trips_stay_within_block_kit_limits() -> None:
    """200 trips: at most five messages, each within limits; what is cut is counted."""
    messages = trips_messages("Van-7", synthetic_trips(200), PERIOD, dt.UTC)
    assert 1 < len(messages) <= MAX_RESPONSES
    for message in messages:
        check_limits(message)
        assert message["response_type"] == "ephemeral"
    text = "\n".join(b["text"]["text"] for m in messages for b in m["blocks"] if "text" in b)
    shown = text.count("openstreetmap.org") // 2
    more = [
        e["text"] for m in messages for b in m["blocks"] if b["type"] == "context"
        for e in b["elements"] if "more trips" in e["text"]
    ]  # fmt: skip
    hidden = int(more[0].split()[2]) if more else 0
    assert shown + hidden == 200
    assert "200 trips" in messages[0]["text"]
    assert "L fuel" in text and "kWh" in text


def test_few_trips_one_message_with_day_totals() -> None:
    """A handful of trips over two days: one message, a total line per day."""
    messages = trips_messages("Van-7", synthetic_trips(12), PERIOD, dt.UTC)
    assert len(messages) == 1
    check_limits(messages[0])
    days = [b for b in messages[0]["blocks"] if "date_long_pretty" in b["text"]["text"]]
    assert len(days) == 2


def test_huge_texts_are_truncated() -> None:
    """API strings of any length never break the 3000-character limit."""
    alert = Alert(id="a" * 40, type=LONG, severity="Critical", active=True, label=LONG)
    check_limits(alerts_message("V", [alert] * 60, 7, "en-GB"))
    check_limits(alert_detail("V", alert, "fr-FR"))
    status = VehicleStatus(ignition=LONG, odometer_km=1e9, position=Position(1.0, 2.0))
    check_limits(status_message("V", status))
    entries = [
        VehicleEntry(id=f"id{i}", vin=f"VIN{i:014d}", label=None, brand=LONG) for i in range(500)
    ]
    check_limits(vehicles_message(entries, None))
    routes = [Route(i, f"C{i:08d}", 1, (LONG,), ("VIN",), "U1", LONG) for i in range(100)]
    check_limits(routes_message(routes, {}, {}, "C0ALERTS"))
    check_limits(error_reply(LONG, LONG))


def test_home_view_stays_within_100_blocks() -> None:
    """A busy fleet: the home view keeps under the 100-block limit for views."""
    alerts = [
        StoredAlert(id=f"a{i}", vehicle_id=None, vin=f"VIN{i % 300}", type="LowFuel",
                    severity=("Information", "Warning", "Critical")[i % 3], active=True)
        for i in range(1000)
    ]  # fmt: skip
    routes = [
        Route(i, f"C{i:08d}", 0, None, None, None, "gone" if i % 2 else None) for i in range(300)
    ]
    facts = HomeFacts(
        open_alerts=alerts, names={}, routes=routes, last_poll=None, next_poll=None,
        quota=None, backlog={"sent": 5},
    )  # fmt: skip
    view = home_view(facts)
    check_limits(view, max_blocks=MAX_VIEW_BLOCKS)
    assert view["type"] == "home"


def test_formatters() -> None:
    """Durations, distances and energy as people read them."""
    assert duration(45) == "45 s"
    assert duration(25 * 60) == "25 min"
    assert duration(3900) == "1 h 05 min"
    assert km(12.345) == "12.3 km"
    assert km(None) == "? km"
    assert place(None) == "unknown"
