"""The report's chart: a PNG drawn on this machine, readable at Slack's preview size.

Left, the day's distance per vehicle (top 15); right, alerts started per day over the last 7
days, stacked by severity. matplotlib is imported inside :func:`render_chart` (so ``fleetbot
run`` pays for it only when a report is built), drawn through its Agg canvas directly: no
pyplot, no global backend switch, no rcParams change, safe from several threads at once.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Mapping, Sequence
from typing import Any

from bot.messages.report import day_title
from bot.reports.day import SEVERITY_ORDER, FleetDay

WIDTH, HEIGHT, DPI = 1200, 700, 100
TOP_VEHICLES = 15
MAX_LABEL = 28  # characters of a vehicle name on the axis
MAX_NAME_SHARE = 0.3  # of the width, at most, for the names left of the bars
MIN_NAME_SHARE = 0.06
TICK_SIZE = 12
NAME_PADDING = 24  # pixels between the figure's edge and the names, and the names and the axis
FONT = "DejaVu Sans"  # ships with matplotlib: the same glyphs on every machine
MISSING_GLYPH = "?"
COLOURS = {"Critical": "#d62728", "Warning": "#ff9f1c", "Information": "#2e86de"}
BAR_COLOUR = "#2a9d8f"
OTHER_COLOUR = "#9e9e9e"
#: (severity, colour) stacked bottom to top; "" is any severity we do not know
SERIES = (*((s, COLOURS[s]) for s in reversed(SEVERITY_ORDER)), ("", OTHER_COLOUR))
TEXT_COLOUR = "#222222"

TEXT = {
    "title": "Fleet report · {day} · {distance:,.0f} km in {trips:,} trips",
    "distance_title": "Distance per vehicle (top {top})",
    "distance_axis": "km",
    "distance_value": "{km:,.0f} km",
    "no_trips": "No trips that day",
    "alerts_title": "Alerts started per day, last {days} days",
    "alerts_axis": "alerts",
    "no_alerts": "No alerts in these {days} days",
    "other": "Other",
    "weekday": "{weekday}\n{day}",
}
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@functools.lru_cache(maxsize=1)
def _glyphs() -> frozenset[int]:
    """Code points the chart's font can draw (anything else would warn and draw a box)."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    path = font_manager.findfont(font_manager.FontProperties(family=FONT), fallback_to_default=True)
    return frozenset(FT2Font(path).get_charmap())


def chart_label(text: str, limit: int = MAX_LABEL) -> str:
    """Outside text made safe for a matplotlib label: short, drawable, no mathtext."""
    # cut in the middle: a name ends in what tells vehicles apart (the VIN's serial)
    head = (limit - 1) // 2
    short = text if len(text) <= limit else text[:head] + "…" + text[-(limit - 1 - head) :]
    glyphs = _glyphs()
    drawable = "".join(c if c.isprintable() and ord(c) in glyphs else MISSING_GLYPH for c in short)
    return drawable.replace("$", r"\$")  # a pair of $ would start mathtext


def render_chart(fleet: FleetDay, *, width: int = WIDTH, height: int = HEIGHT) -> bytes:
    """The chart of ``fleet`` as PNG bytes, ``width`` by ``height`` pixels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, facecolor="white")
    canvas = FigureCanvasAgg(figure)
    busiest = fleet.busiest()[:TOP_VEHICLES]
    names = [chart_label(v.name) for v in busiest]
    # room for the longest name as drawn (a fixed margin cut long names off)
    widest = _text_width(figure, canvas, names)
    left, right = figure.subplots(
        1,
        2,
        gridspec_kw={
            "width_ratios": (1.3, 1.0),
            "left": min(MAX_NAME_SHARE, max(MIN_NAME_SHARE, (widest + NAME_PADDING) / width)),
            "right": 0.98,
            "top": 0.86,
            "bottom": 0.11,
            "wspace": 0.22,
        },
    )
    figure.suptitle(
        chart_label(
            TEXT["title"].format(
                day=day_title(fleet.day), distance=fleet.distance_km, trips=fleet.trips
            ),
            limit=120,
        ),
        fontsize=17,
        fontweight="bold",
        color=TEXT_COLOUR,
        fontfamily=FONT,
    )
    for axes in (left, right):
        axes.tick_params(labelsize=TICK_SIZE, labelfontfamily=FONT, colors=TEXT_COLOUR)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)

    # -- distance per vehicle
    left.set_title(
        TEXT["distance_title"].format(top=TOP_VEHICLES),
        fontsize=14,
        loc="left",
        fontfamily=FONT,
        color=TEXT_COLOUR,
    )
    if busiest:
        distances = [v.distance_km for v in busiest]
        positions = list(range(len(busiest)))
        left.barh(positions, distances, color=BAR_COLOUR, height=0.7)
        left.set_yticks(positions, labels=names)
        left.set_ylim(TOP_VEHICLES - 0.5, -0.5)  # busiest on top; same bar height for any count
        peak = max(distances) or 1.0
        left.set_xlim(0, peak * 1.22)
        for y, value in zip(positions, distances, strict=True):
            left.text(
                value + peak * 0.01,
                y,
                TEXT["distance_value"].format(km=value),
                va="center",
                fontsize=11,
                fontfamily=FONT,
                color=TEXT_COLOUR,
            )
        left.set_xlabel(TEXT["distance_axis"], fontsize=12, fontfamily=FONT)
    else:
        _empty(left, TEXT["no_trips"])

    # -- alerts per day by severity
    days = [d for d, _ in fleet.alerts_per_day]
    right.set_title(
        TEXT["alerts_title"].format(days=len(days)),
        fontsize=14,
        loc="left",
        fontfamily=FONT,
        color=TEXT_COLOUR,
    )
    x = list(range(len(days)))
    bottoms = [0] * len(days)
    for severity, colour in SERIES:
        heights = [_count(counts, severity) for _, counts in fleet.alerts_per_day]
        if not any(heights):
            continue
        label = severity or TEXT["other"]
        right.bar(x, heights, bottom=bottoms, color=colour, width=0.65, label=label)
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    right.set_xticks(
        x, labels=[TEXT["weekday"].format(weekday=_WEEKDAYS[d.weekday()], day=d.day) for d in days]
    )
    right.yaxis.set_major_locator(MaxNLocator(integer=True))
    right.set_ylabel(TEXT["alerts_axis"], fontsize=12, fontfamily=FONT)
    if any(bottoms):
        right.set_ylim(0, max(bottoms) * 1.3)  # headroom for the one-row legend
        handles, labels = right.get_legend_handles_labels()
        right.legend(
            handles[::-1],  # most serious first, as stacked from the top
            labels[::-1],
            loc="upper center",
            ncols=len(labels),
            frameon=False,
            prop={"family": FONT, "size": 11},
            handlelength=1.0,
            columnspacing=1.0,
        )
    else:
        _empty(right, TEXT["no_alerts"].format(days=len(days)))

    buffer = io.BytesIO()
    canvas.print_png(buffer)
    return buffer.getvalue()


def _text_width(figure: Any, canvas: Any, texts: Sequence[str]) -> float:
    """Pixels the widest of ``texts`` takes as a tick label (0 for none)."""
    renderer = canvas.get_renderer()
    widest = 0.0
    for text in texts:
        probe = figure.text(0, 0, text, fontsize=TICK_SIZE, fontfamily=FONT)
        widest = max(widest, probe.get_window_extent(renderer).width)
        probe.remove()
    return widest


def _count(counts: Mapping[str, int], severity: str) -> int:
    """Alerts of one severity; "" counts those of any severity we do not know."""
    if severity:
        return counts.get(severity, 0)
    return sum(n for s, n in counts.items() if s not in SEVERITY_ORDER)


def _empty(axes: object, text: str) -> None:
    """A panel with nothing to plot says so in its middle."""
    from matplotlib.axes import Axes

    assert isinstance(axes, Axes)
    axes.text(
        0.5,
        0.5,
        text,
        ha="center",
        va="center",
        fontsize=15,
        color=OTHER_COLOUR,
        fontfamily=FONT,
        transform=axes.transAxes,
    )
    axes.set_xticks([])
    axes.set_yticks([])
