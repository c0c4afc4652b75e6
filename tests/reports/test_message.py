"""The report message: within every Block Kit limit for 1,000 vehicles, outside text escaped."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from typing import Any

import pytest

from bot.messages.report import EVENT_REPORT, TEXT, report_message
from bot.psa.models import Position
from bot.reports.day import FleetDay, LedgerAlert, OpenAlert, VehicleDay
from bot.sandbox.slack import blockkit
from tests.reports.conftest import WorldFactory
from tests.reports.test_gather import WINTER_NOW

DAY = dt.date(2026, 11, 19)
START = dt.datetime(2026, 11, 18, 23, 0, tzinfo=dt.UTC)
HOSTILE = "<!channel> & <https://evil.example|click> " + "x" * 300  # a label from outside
MORE = re.compile(r"…and ([\d,]+) more$")


def block_kit_problems(message: dict[str, Any]) -> list[str]:
    """Every Block Kit limit the message breaks, as Slack checks them (the stand-in's checker)."""
    problems = blockkit.problems(message["blocks"])
    if not message["blocks"]:
        problems.append("no blocks")
    if not message["text"] or blockkit.text_problem(message["text"]):
        problems.append("fallback text length")
    for block in message["blocks"]:
        if block["type"] == "image" and ("slack_file" in block) == ("image_url" in block):
            problems.append("image source")
    return problems


def mrkdwn_texts(message: dict[str, Any]) -> list[str]:
    """Every mrkdwn string of the message."""
    out: list[str] = []
    for block in message["blocks"]:
        for item in [block.get("text"), *block.get("fields", []), *block.get("elements", [])]:
            if isinstance(item, dict) and item.get("type") == "mrkdwn":
                out.append(item["text"])
    return out


def huge_fleet(vehicles: int = 1000) -> FleetDay:
    """A fleet where every list is as long as it gets, with hostile labels everywhere."""
    days = []
    open_alerts = []
    for n in range(vehicles):
        vin = f"VF3HOSTILE{n:07d}"
        days.append(
            VehicleDay(
                id=f"id{n}",
                vin=vin,
                name=f"{HOSTILE} #{n}",
                trips=60,
                distance_km=1000.0 - n / 10,
                driving_s=36_000,
                fuel_l=60.0,
                fuel_km=1000.0,
                electric_kwh=80.0,
                electric_km=500.0,
                trips_capped=True,
                status_known=True,
                fuel_level=5.0,
                battery_level=3.0,
                days_before_maintenance=-3,
                km_before_maintenance=-120.0,
                last_seen=None,
                silent=True,
                position=Position(lon=2.35 + n / 1000, lat=48.85),
                alerts_started=Counter(Critical=2, Warning=1),
                errors=["the API kept failing"] if n % 2 else [],
            )
        )
        alert = LedgerAlert(
            f"a{n}", vin, f"id{n}", f"<@U{n}>Typé&{n}", "Critical", START, Position(2.3, 48.8)
        )
        open_alerts.append(OpenAlert(alert, f"{HOSTILE} #{n}"))
    return FleetDay(
        day=DAY,
        zone="Europe/Paris",
        start=START,
        end=START + dt.timedelta(days=1),
        generated_at=WINTER_NOW,
        vehicles=days,
        alerts_by_severity=Counter(Critical=2000, Warning=1000, Odd=5),
        alerts_by_type=Counter({f"<!here>Typé{n}&": n + 1 for n in range(300)}),
        alerts_per_day=[(DAY - dt.timedelta(days=n), Counter(Critical=n)) for n in range(7)],
        open_alerts=open_alerts,
        api_calls=2000,
    )


@pytest.mark.parametrize("top", [10, 60])
def test_a_1000_vehicle_report_stays_within_block_kit_limits(top: int) -> None:
    """Every list is cut with "…and N more" (N right), every block within Slack's limits."""
    fleet = huge_fleet()
    message = report_message(fleet, image_file_id="F0CHART", top=top)

    assert block_kit_problems(message) == []
    lists = [t for t in mrkdwn_texts(message) if MORE.search(t)]
    # critical, energy, maintenance, silent, unreachable, busiest, types
    assert len(lists) == 7
    totals = [1000, 1000, 1000, 1000, 500, 1000, 300]
    for text, total in zip(lists, totals, strict=True):
        lines = text.split("\n")
        shown = len(lines) - 2  # title and "…and N more"
        assert 0 < shown <= top
        more = MORE.search(lines[-1])
        assert more is not None and int(more.group(1).replace(",", "")) == total - shown
    assert message["metadata"] == {
        "event_type": EVENT_REPORT,
        "event_payload": {"day": "2026-11-19"},
    }
    images = [b for b in message["blocks"] if b["type"] == "image"]
    assert [i["slack_file"] for i in images] == [{"id": "F0CHART"}]


def test_outside_text_can_neither_ping_nor_forge_a_link() -> None:
    """The only Slack markup in the message is our own: date tokens and map links."""
    message = report_message(huge_fleet(30))
    tokens = [t for text in mrkdwn_texts(message) for t in re.findall(r"<[^>]*>", text)]
    ours = ("<!date^", "<https://www.openstreetmap.org/?")
    assert tokens and all(t.startswith(ours) for t in tokens)
    joined = "\n".join(mrkdwn_texts(message))
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;" in joined
    assert "&lt;!here&gt;Typé" in joined and "&lt;@U" in joined
    assert "<!" not in message["text"].replace("<!date^", "")


def test_without_an_image_there_is_no_image_block_and_quiet_days_say_so() -> None:
    """No file id, no image block; a day without trips or trouble says it in words."""
    quiet = FleetDay(
        day=DAY,
        zone="UTC",
        start=START,
        end=START + dt.timedelta(days=1),
        generated_at=WINTER_NOW,
        vehicles=[VehicleDay(id="v", vin="VIN1", name="Van 1", status_known=True)],
        alerts_by_severity=Counter(),
        alerts_by_type=Counter(),
        alerts_per_day=[],
        open_alerts=[],
    )
    message = report_message(quiet)
    assert block_kit_problems(message) == []
    assert all(b["type"] != "image" for b in message["blocks"])
    texts = mrkdwn_texts(message)
    assert TEXT["all_clear"] in texts and TEXT["no_trips"] in texts


def test_a_gathered_report_names_what_needs_attention(report_world: WorldFactory) -> None:
    """From a real day: header, totals, open critical alerts and the busiest vehicle appear."""
    with report_world(WINTER_NOW) as world:
        fleet = world.gatherer.gather()
    message = report_message(fleet)
    assert block_kit_problems(message) == []
    header = message["blocks"][0]["text"]["text"]
    assert "Thursday 19 November 2026" in header
    joined = "\n".join(mrkdwn_texts(message))
    assert f"{fleet.distance_km:,.0f} km" in joined
    assert f"{fleet.trips:,} by {fleet.active_vehicles:,} of {len(fleet.vehicles):,}" in joined
    busiest = fleet.busiest()[0]
    assert f"1. *{busiest.name}*" in joined
    for alert in fleet.open_critical[:10]:
        assert f"*{alert.vehicle}*" in joined
    assert bool(fleet.open_critical) == (":rotating_light:" in joined)


def test_a_level_under_the_threshold_never_reads_as_the_threshold() -> None:
    """ "Under 20 %" lists 19.6 % as 19.6, not as a rounded 20; lower levels stay whole."""
    from bot.messages.report import level_under

    assert level_under(19.6) == "19.6"
    assert level_under(19.99) == "19.9"
    assert level_under(14.2) == "14"
    assert level_under(0.0) == "0"
