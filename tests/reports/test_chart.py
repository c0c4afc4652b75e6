"""The chart: a valid PNG of the expected size showing bars and severities, without side effects.

Structure, not a golden image: dimensions, colours that only the bars use, and a blank check.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import matplotlib
from PIL import Image

from bot.reports.chart import (
    BAR_COLOUR,
    COLOURS,
    HEIGHT,
    MAX_LABEL,
    TOP_VEHICLES,
    WIDTH,
    chart_label,
    render_chart,
)
from bot.reports.day import FleetDay
from tests.reports.conftest import WorldFactory
from tests.reports.test_gather import WINTER_NOW
from tests.reports.test_message import huge_fleet

ROOT = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def rgb(hex_colour: str) -> tuple[int, int, int]:
    """``#2a9d8f`` → (42, 157, 143)."""
    return tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the PNG header (IHDR comes first)."""
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def pixels(data: bytes) -> Counter[tuple[int, int, int]]:
    """How many pixels of each colour (the image is decoded, so it is a well-formed PNG)."""
    with Image.open(io.BytesIO(data)) as image:
        image.verify()
    with Image.open(io.BytesIO(data)) as image:
        rgb_image = image.convert("RGB")
        found = rgb_image.getcolors(maxcolors=rgb_image.width * rgb_image.height) or []
    return Counter({colour: count for count, colour in found})


def test_the_chart_of_a_real_day_is_a_png_with_bars_and_severities(
    report_world: WorldFactory,
) -> None:
    """1200 by 700, not blank; distance bars and every severity that day appear in their colour."""
    with report_world(WINTER_NOW) as world:
        fleet = world.gatherer.gather()
    data = render_chart(fleet)

    assert png_size(data) == (WIDTH, HEIGHT) == (1200, 700)
    colours = pixels(data)
    assert sum(colours.values()) == WIDTH * HEIGHT
    white = colours[(255, 255, 255)]
    assert white < 0.9 * WIDTH * HEIGHT  # not blank
    assert len(colours) > 50  # anti-aliased text, not a flat fill
    bars = min(len(fleet.busiest()), TOP_VEHICLES)
    assert bars > 0
    assert colours[rgb(BAR_COLOUR)] > 200 * bars  # each bar is at least ~200 px
    seen = Counter[str]()
    for _, counts in fleet.alerts_per_day:
        seen.update(counts)
    assert seen  # the sandbox's week has alerts
    for severity, colour in COLOURS.items():
        assert (colours[rgb(colour)] > 100) is (seen[severity] > 0), severity


def test_hostile_labels_draw_without_warnings_and_an_empty_day_still_renders() -> None:
    """Emoji, "$…$" mathtext and control characters are drawn safely (warnings are errors here)."""
    fleet = huge_fleet(40)
    for n, vehicle in enumerate(fleet.vehicles):
        vehicle.name = f"🚚 $x^{n}$ \x07 Ünïcødé 貨車 {vehicle.name}"
    assert png_size(render_chart(fleet)) == (WIDTH, HEIGHT)

    empty = FleetDay(
        day=dt.date(2026, 11, 19),
        zone="UTC",
        start=WINTER_NOW,
        end=WINTER_NOW,
        generated_at=WINTER_NOW,
        vehicles=[],
        alerts_by_severity=Counter(),
        alerts_by_type=Counter(),
        alerts_per_day=[(dt.date(2026, 11, 13 + n), Counter()) for n in range(7)],
        open_alerts=[],
    )
    data = render_chart(empty, width=800, height=400)
    assert png_size(data) == (800, 400)
    assert pixels(data)[rgb(BAR_COLOUR)] == 0


def test_drawing_changes_no_global_matplotlib_state() -> None:
    """No rcParams change after a chart is drawn (a fresh process shows pyplot stays out too)."""
    before = dict(matplotlib.rcParams)
    render_chart(huge_fleet(5))
    assert dict(matplotlib.rcParams) == before


def test_matplotlib_comes_in_with_the_first_chart_and_pyplot_never() -> None:
    """Importing the report costs no matplotlib (`fleetbot run` pays only when a chart is drawn)."""
    code = textwrap.dedent(
        """
        import sys
        import bot.reports.chart, bot.reports.gather, bot.messages.report
        print("matplotlib" in sys.modules)
        from tests.reports.test_message import huge_fleet
        bot.reports.chart.render_chart(huge_fleet(3))
        print("matplotlib" in sys.modules, "matplotlib.pyplot" in sys.modules)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert done.stdout.split("\n")[:2] == ["False", "True False"]


def test_long_vehicle_names_fit_and_keep_their_end() -> None:
    """The names get the room they take as drawn: nothing touches the image's left edge, and a
    name too long for the axis keeps its end (the VIN's serial tells vehicles apart)."""
    fleet = huge_fleet(15)
    for n, vehicle in enumerate(fleet.vehicles):
        vehicle.name = f"Peugeot e-Expert Long Traveller ({vehicle.vin[:-2]}{n:02d})"
    data = render_chart(fleet)
    with Image.open(io.BytesIO(data)) as image:
        edge = image.convert("RGB").crop((0, 0, 3, image.height))
        assert edge.getcolors() == [(3 * image.height, (255, 255, 255))]  # white: no cut text
    label = chart_label(fleet.vehicles[0].name)
    assert len(label) == MAX_LABEL and "…" in label and label.endswith("00)")
    assert chart_label("Opel (W0LWTF3X5SS907037)") == "Opel (W0LWTF3X5SS907037)"
