"""The daily fleet report for 1,000 vehicles: time, API calls and memory (DESIGN.md sections 5, 8).

The sandbox runs in a subprocess (50 ms latency, 100/s burst limit). The fleet directory is
listed and one poll cycle fills the ledger's alerts first (not measured); then the real
:class:`~bot.reports.gather.DayGatherer` builds yesterday's report (10 workers, one pooled
client), the Block Kit message is made and the chart drawn (matplotlib imported then, as in
``fleetbot run``), then the chart is uploaded (``files_upload_v2``) and the report posted to
the local Slack stand-in through the bot's own SlackPort (the time to post). Memory is the
peak resident size above the level before the report, sampled every 10 ms, so it includes
matplotlib's first import.

    .venv/bin/python -m bench.bench_report [--vehicles 1000] [--latency 0.05] [--write]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import Row, SandboxProcess, fmt, print_rows, section, statuses, update_results
from bot.alerts.poller import Poller
from bot.alerts.routing import AlertRouter
from bot.config import Settings
from bot.directory import VehicleDirectory
from bot.messages.report import MAX_BLOCKS, report_message
from bot.posting.slack_port import SlackPort
from bot.psa.client import PsaClient
from bot.psa.quota import QuotaBudget
from bot.reports.chart import render_chart
from bot.reports.gather import CALLS_PER_VEHICLE, DayGatherer, calls_needed
from bot.sandbox.slack import SlackStandIn
from bot.store import Ledger
from bot.wiring import slack_web_client

NAME = "report"
TITLE = "daily fleet report: gather (2 calls per vehicle), message and chart"
FALLBACK = "C0ALERTS"
ZONE = "Europe/Paris"
TARGET_RATIO = 1.15
DAILY_LIMIT = 10_000_000  # quota is not this bench's subject


def rss_mb() -> float:
    """This process's resident set size in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class PeakRss:
    """Samples the resident size in a thread; ``peak`` is the highest seen."""

    def __init__(self, every: float = 0.01) -> None:
        self.every = every
        self.peak = rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, rss_mb())

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


def run(
    vehicles: int = 1000, latency: float = 0.05, burst_limit: int = 100, workers: int = 10
) -> dict[str, Any]:
    """Build one report against a sandbox of ``vehicles``; return its figures."""
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        work = Path(tmp)
        with SandboxProcess(
            work / "certs",
            vehicles=vehicles,
            latency=latency,
            burst_limit=burst_limit,
            daily_limit=DAILY_LIMIT,
        ) as sandbox:
            settings = Settings.from_env({**sandbox.env, "FLEETBOT_DB": str(work / "r.db")})
            api = PsaClient.from_settings(settings)
            ledger = Ledger(settings.db_path)
            try:
                directory = VehicleDirectory(api, ledger)
                listed = directory.refresh()
                Poller(
                    api,
                    ledger,
                    router=lambda: AlertRouter.from_ledger(ledger, FALLBACK),
                    budget=QuotaBudget(interval=1.0),
                    workers=workers,
                ).poll_once()
                gatherer = DayGatherer(api, ledger, zone=ZONE, workers=workers)
                sandbox.reset()
                before = rss_mb()
                with PeakRss() as memory:
                    started = time.perf_counter()
                    fleet = gatherer.gather()
                    gathered = time.perf_counter()
                    message = report_message(fleet, image_file_id="F0BENCH")
                    worded = time.perf_counter()
                    png = render_chart(fleet)
                    drawn = time.perf_counter()
                stats = sandbox.stats()
                with SlackStandIn(channels=(FALLBACK,)) as slack:
                    port = SlackPort(
                        slack_web_client(
                            Settings(slack_bot_token=slack.bot_token, slack_api_url=slack.api_url)
                        )
                    )
                    posting = time.perf_counter()
                    file_id = port.upload(png, filename="report.png", title="r", alt_text="r")
                    uploaded = time.perf_counter()
                    port.post(FALLBACK, report_message(fleet, image_file_id=file_id))
                    posted = time.perf_counter()
            finally:
                api.close()
                ledger.close()
    by_status = statuses(stats["by_status"])
    bound = calls_needed(listed) / burst_limit
    return {
        "vehicles": listed,
        "latency": latency,
        "burst_limit": burst_limit,
        "gather_seconds": gathered - started,
        "message_ms": 1000 * (worded - gathered),
        "chart_seconds": drawn - worded,
        "upload_ms": 1000 * (uploaded - posting),
        "post_ms": 1000 * (posted - uploaded),
        "total_seconds": drawn - started + posted - posting,
        "burst_bound_seconds": bound,
        "ratio_to_bound": (gathered - started) / bound if bound else 0.0,
        "api_calls": fleet.api_calls,
        "sandbox_requests": int(stats["requests"]),
        "calls_per_vehicle": fleet.api_calls / listed if listed else 0.0,
        "calls_budget": calls_needed(listed),
        "maintenance_source": fleet.maintenance_source,
        "throttled_429": by_status.get(429, 0),
        "not_reachable": len(fleet.not_reachable),
        "trips": fleet.trips,
        "blocks": len(message["blocks"]),
        "png_bytes": len(png),
        "rss_before_mb": before,
        "rss_peak_delta_mb": memory.peak - before,
    }


def rows(f: dict[str, Any]) -> list[Row]:
    """Verdict rows for the figures of :func:`run`."""
    n = f["vehicles"]
    return [
        Row(
            f"report: gather {n} vehicles",
            f"{fmt(f['gather_seconds'])} s",
            f"≤ {fmt(TARGET_RATIO * f['burst_bound_seconds'], 1)} s",
            f["ratio_to_bound"] <= TARGET_RATIO,
        ),
        Row(
            "report: API calls (per vehicle)",
            f"{f['api_calls']:,} ({fmt(f['calls_per_vehicle'])})",
            f"≤ {f['calls_budget']:,} ({CALLS_PER_VEHICLE} each + maintenance pages)",
            f["api_calls"] <= f["calls_budget"],
        ),
        Row("report: 429 answers", str(f["throttled_429"]), "0", f["throttled_429"] == 0),
        Row("report: not reachable", str(f["not_reachable"]), "0", f["not_reachable"] == 0),
        Row(
            "report: message",
            f"{fmt(f['message_ms'], 1)} ms, {f['blocks']} blocks",
            f"≤ {MAX_BLOCKS} blocks",
            f["blocks"] <= MAX_BLOCKS,
        ),
        Row("report: chart (first, with import)", f"{fmt(f['chart_seconds'])} s"),
        Row(
            "report: upload chart + post (local Slack)",
            f"{fmt(f['upload_ms'], 1)} ms + {fmt(f['post_ms'], 1)} ms",
        ),
        Row("report: peak RSS above the bot's", f"{fmt(f['rss_peak_delta_mb'], 1)} MB"),
        Row("report: trips that day", f"{f['trips']:,}"),
    ]


def main(argv: list[str] | None = None) -> int:
    """Run at full size, print the figures; ``--write`` updates bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vehicles", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--workers", type=int, default=10)
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args(argv)
    figures = run(vehicles=args.vehicles, latency=args.latency, workers=args.workers)
    result = rows(figures)
    print_rows(TITLE, result)
    if args.write:
        update_results({NAME: section(NAME, result)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
