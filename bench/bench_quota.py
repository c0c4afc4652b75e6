"""A day of polling against the daily quota (DESIGN.md section 8: ≤ 90 % of 100,000/day).

First the arithmetic: :meth:`QuotaBudget.effective_interval` for the fleet size and quota, and
the calls per day it implies. Then a check on real parts: the real Poller runs a few cycles
against a sandbox of that size and quota, the sandbox counts the calls of each cycle, and a
day at the interval the scheduler would pick (from the measured calls, as ``PollJob`` does) is
extrapolated. The hourly directory refresh is counted too: it comes out of the reserve.

    .venv/bin/python -m bench.bench_quota [--vehicles 1000] [--daily-limit 100000] [--write]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

from bench.common import Row, fmt, print_rows, section, update_results
from bot.alerts.poller import Poller
from bot.alerts.routing import AlertRouter
from bot.config import Settings
from bot.directory import VehicleDirectory
from bot.psa.client import PsaClient
from bot.psa.quota import DAY, QuotaBudget
from bot.sandbox.psa import PsaSandbox, SandboxCerts
from bot.store import Ledger
from bot.wiring import DIRECTORY_EVERY  # the scheduler lists the fleet hourly

NAME = "quota"
TITLE = "a day of polling against the daily quota"
FALLBACK = "C0ALERTS"
TARGET_SHARE = 0.90


def run(
    vehicles: int = 1000,
    daily_limit: int = 100_000,
    interval: float = 60.0,
    cycles: int = 3,
    latency: float = 0.05,
    burst_limit: int = 100,
) -> dict[str, Any]:
    """Compute the budgeted interval, then measure ``cycles`` real cycles; return the figures."""
    budget = QuotaBudget(interval=interval)
    planned = budget.effective_interval(vehicles, daily_limit)
    figures: dict[str, Any] = {
        "vehicles": vehicles,
        "daily_limit": daily_limit,
        "configured_interval": interval,
        "effective_interval": planned,
        "push_interval": budget.effective_interval(vehicles, daily_limit, push_enabled=True),
        "planned_calls_per_day": vehicles * DAY / planned,
    }
    figures["planned_share"] = figures["planned_calls_per_day"] / daily_limit

    with tempfile.TemporaryDirectory(prefix="bench-quota-") as tmp:
        work = Path(tmp)
        certs = SandboxCerts.create(work / "certs")
        with PsaSandbox(
            certs,
            vehicles=vehicles,
            latency=latency,
            burst_limit=burst_limit,
            daily_limit=daily_limit,
        ) as sandbox:
            settings = Settings.from_env({**sandbox.env(), "FLEETBOT_DB": str(work / "q.db")})
            api = PsaClient.from_settings(settings)
            ledger = Ledger(settings.db_path)
            try:
                directory = VehicleDirectory(api, ledger)
                directory.refresh()
                directory_calls = sandbox.stats.requests
                poller = Poller(
                    api,
                    ledger,
                    router=lambda: AlertRouter.from_ledger(ledger, FALLBACK),
                    refresh_directory=directory.refresh,
                    budget=budget,
                )
                per_cycle: list[int] = []
                client_counted: list[int] = []
                for _ in range(cycles):
                    before = sandbox.stats.requests
                    report = poller.poll_once()
                    per_cycle.append(sandbox.stats.requests - before)
                    client_counted.append(report.api_calls)
                quota = api.quota
            finally:
                api.close()
                ledger.close()

    calls = statistics.mean(per_cycle)
    observed_limit = quota.daily_limit or daily_limit
    # As PollJob does: the larger of calls made and vehicles polled.
    measured_interval = budget.effective_interval(max(calls, vehicles), observed_limit)
    polling_per_day = calls * DAY / measured_interval
    directory_per_day = directory_calls * DAY / DIRECTORY_EVERY
    figures.update(
        {
            "calls_per_cycle": per_cycle,
            "client_counted_calls": client_counted,
            "observed_daily_limit": quota.daily_limit,
            "quota_left": quota.daily_remaining,
            "measured_interval": measured_interval,
            "measured_calls_per_day": polling_per_day,
            "measured_share": polling_per_day / observed_limit,
            "directory_calls": directory_calls,
            "directory_calls_per_day": directory_per_day,
            "total_share": (polling_per_day + directory_per_day) / observed_limit,
        }
    )
    return figures


def rows(f: dict[str, Any]) -> list[Row]:
    """The figures against DESIGN.md section 8."""
    target = f"≤ {TARGET_SHARE:.0%}"
    return [
        Row("quota: vehicles / daily quota", f"{f['vehicles']:,} / {f['daily_limit']:,}"),
        Row(
            f"quota: effective interval (configured {f['configured_interval']:.0f} s)",
            fmt(f["effective_interval"], 0, "s"),
        ),
        Row(
            "quota: planned calls/day (share of quota)",
            f"{f['planned_calls_per_day']:,.0f} ({f['planned_share']:.1%})",
            target,
            f["planned_share"] <= TARGET_SHARE + 1e-9,
        ),
        Row(
            "quota: measured calls per cycle (sandbox)",
            ", ".join(str(c) for c in f["calls_per_cycle"]),
        ),
        Row("quota: interval from measured calls", fmt(f["measured_interval"], 0, "s")),
        Row(
            "quota: extrapolated polling calls/day (share)",
            f"{f['measured_calls_per_day']:,.0f} ({f['measured_share']:.1%})",
            target,
            f["measured_share"] <= TARGET_SHARE + 1e-9,
        ),
        Row(
            "quota: + hourly directory refresh (share)",
            f"+{f['directory_calls_per_day']:,.0f}/day ({f['total_share']:.1%} in all)",
            "≤ 100% (reserve)",
            f["total_share"] <= 1.0,
        ),
        Row("quota: interval with push on", fmt(f["push_interval"], 0, "s")),
    ]


def main(argv: list[str] | None = None) -> int:
    """Run at full size (or as told), print the figures, optionally write RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vehicles", type=int, default=1000)
    parser.add_argument("--daily-limit", type=int, default=100_000)
    parser.add_argument("--interval", type=float, default=60.0, help="FLEETBOT_POLL_INTERVAL")
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args(argv)
    figures = run(
        vehicles=args.vehicles,
        daily_limit=args.daily_limit,
        interval=args.interval,
        cycles=args.cycles,
    )
    print_rows(TITLE, rows(figures))
    if args.write:
        update_results({NAME: section(NAME, rows(figures))})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
