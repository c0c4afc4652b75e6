"""Quota-optimal polling (issue 10, DESIGN.md section 8): the fleet path beside the per-vehicle one.

One run, side by side, against the sandbox in a subprocess (50 ms latency, 100/s burst limit,
100,000/day quota):

- calls per cycle and per day for 1,000 vehicles, polling by fleet and by vehicle (the real
  :class:`~bot.alerts.poller.Poller` on each path, each into its own ledger);
- the per-vehicle cycle with its directory refresh, as a ratio to its bound
  max(requests / burst, requests * latency / workers);
- client CPU per request on the per-vehicle path, as a ratio to a bare ``httpx.Client``
  keep-alive GET measured in the same run;
- alert latency (start in the API → message in Slack) p50/p99 over a simulated hour of random
  alerts, from the measured cycle times and the quota-planned intervals (a model: the API's own
  push delay is unknown and taken as 1 s);
- 10,000 vehicles: directory refresh, first-start and steady fleet cycles, peak RSS.

    .venv/bin/python -m bench.bench_fleet [--vehicles 1000] [--leasing 10000] [--write]
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.bench_poll import _cpu_floor
from bench.common import Row, SandboxProcess, fmt, print_rows, section, update_results
from bot.alerts.poller import Poller, PollReport
from bot.alerts.routing import AlertRouter
from bot.config import Settings
from bot.directory import VehicleDirectory
from bot.psa.client import PsaClient
from bot.psa.quota import DAY, QuotaBudget
from bot.store import Ledger

NAME = "fleet"
TITLE = "quota-optimal polling: fleet collection vs per vehicle vs push"
FALLBACK = "C0ALERTS"
DAILY_LIMIT = 100_000
INTERVAL = 60.0
TARGET_LATENCY_P99 = 90.0
TARGET_QUOTA_SHARE = 0.05
TARGET_RATIO = 1.15
TARGET_CPU_RATIO = 1.25
TARGET_RSS_MB = 250.0
TARGET_LEASING_CYCLE = 10.0
SLACK_POST = 0.2  # seconds from a queued delivery to the message (bench_delivery: first post)
PUSH_DELAY = 1.0  # the API's own delay before it calls the webhook: not published, assumed


def _cycle(sandbox: SandboxProcess, poller: Poller, before: Any = None) -> dict[str, Any]:
    """One timed poll cycle (``before`` runs inside the timing, e.g. a directory refresh)."""
    sandbox.reset()
    cpu, started = time.process_time(), time.perf_counter()
    if before is not None:
        before()
    report: PollReport = poller.poll_once()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    requests = int(sandbox.stats()["requests"])
    return {
        "seconds": seconds,
        "requests": requests,
        "cpu": cpu,
        "report": report,
    }


def _pollers(settings: Settings, work: Path) -> tuple[PsaClient, dict[str, Any]]:
    api = PsaClient.from_settings(settings)
    made: dict[str, Any] = {}
    for mode in ("auto", "vehicle"):
        ledger = Ledger(work / f"{mode}.db")
        directory = VehicleDirectory(api, ledger)
        poller = Poller(
            api,
            ledger,
            router=lambda ledger=ledger: AlertRouter.from_ledger(ledger, FALLBACK),
            refresh_directory=directory.refresh,
            budget=QuotaBudget(interval=INTERVAL),
            poll_by=mode,  # type: ignore[arg-type]
        )
        made[mode] = (poller, directory, ledger)
    return api, made


def compare(
    vehicles: int = 1000, latency: float = 0.05, burst: int = 100, floor_requests: int = 200
) -> dict[str, Any]:
    """Both paths over one sandbox: calls, cycle times, the bound ratio and the CPU ratio."""
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        work = Path(tmp)
        with SandboxProcess(
            work / "certs",
            vehicles=vehicles,
            latency=latency,
            burst_limit=burst,
            daily_limit=DAILY_LIMIT,
        ) as sandbox:
            # the CPU floor reads vehicle ids from FLEETBOT_DB: the per-vehicle ledger
            settings = Settings.from_env({**sandbox.env, "FLEETBOT_DB": str(work / "vehicle.db")})
            api, made = _pollers(settings, work)
            try:
                fleet, fleet_dir, _ = made["auto"]
                vehicle, _, _ = made["vehicle"]
                # per vehicle: first start on an empty ledger, so the poller refreshes the
                # directory itself (polling each vehicle as its page arrives), inside the timing
                v_first = _cycle(sandbox, vehicle)
                v_steady = _cycle(sandbox, vehicle)
                fleet_dir.refresh()
                f_first = _cycle(sandbox, fleet)
                f_steady = [_cycle(sandbox, fleet) for _ in range(3)]
                floor = _cpu_floor(sandbox, settings, floor_requests)
            finally:
                api.close()
                for _, _, ledger in made.values():
                    ledger.close()
    workers = 10
    bound = max(
        v_first["requests"] / burst, v_first["requests"] * latency / workers
    )  # directory pages included
    budget = QuotaBudget(interval=INTERVAL)
    f_cost = max(c["report"].cycle_cost() for c in f_steady)
    v_cost = v_steady["report"].cycle_cost()
    f_interval = budget.effective_interval(f_cost, DAILY_LIMIT)
    v_interval = budget.effective_interval(v_cost, DAILY_LIMIT)
    return {
        "vehicles": vehicles,
        "latency": latency,
        "fleet_first": (f_first["requests"], f_first["seconds"]),
        "fleet_calls": f_cost,
        "fleet_seconds": max(c["seconds"] for c in f_steady),
        "fleet_interval": f_interval,
        "fleet_per_day": f_cost * DAY / f_interval,
        "vehicle_calls": v_cost,
        "vehicle_seconds": v_steady["seconds"],
        "vehicle_interval": v_interval,
        "vehicle_per_day": v_cost * DAY / v_interval,
        "vehicle_first_requests": v_first["requests"],
        "vehicle_first_seconds": v_first["seconds"],
        "vehicle_bound": bound,
        "vehicle_ratio": v_first["seconds"] / bound,
        "cpu_ms": 1000 * v_steady["cpu"] / max(v_steady["requests"], 1),
        "floor_ms": floor["floor_httpx_cpu_ms"],
    }


def latencies(figures: dict[str, Any], alerts: int = 2_000, seed: int = 10) -> dict[str, Any]:
    """p50/p99 seconds from an alert's start to its Slack message over a simulated hour."""
    rng = random.Random(seed)
    n = figures["vehicles"]
    out: dict[str, Any] = {}
    starts = [(rng.uniform(0, 3600), rng.randrange(n)) for _ in range(alerts)]
    for path in ("fleet", "vehicle"):
        interval, cycle = figures[f"{path}_interval"], figures[f"{path}_seconds"]
        phase = rng.uniform(0, interval)  # where the hour falls in the polling rhythm
        waits = []
        for at, index in starts:
            # the vehicle's request goes out at its place in the cycle; ingest at cycle end
            offset = 0.0 if path == "fleet" else cycle * index / n
            k = max(0.0, -(-(at - phase - offset) // interval))
            waits.append(phase + k * interval + cycle - at + SLACK_POST)
        out[path] = _p(waits)
    out["push"] = _p([PUSH_DELAY + SLACK_POST + rng.uniform(0, 0.05) for _ in starts])
    return out


def _p(values: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(values, n=100)
    return cuts[49], cuts[98]


def leasing(vehicles: int = 10_000, latency: float = 0.05, burst: int = 100) -> dict[str, Any]:
    """A leasing fleet on the fleet path: directory, first start, steady cycles, peak RSS."""
    with tempfile.TemporaryDirectory(prefix="bench-leasing-") as tmp:
        work = Path(tmp)
        with SandboxProcess(
            work / "certs",
            vehicles=vehicles,
            latency=latency,
            burst_limit=burst,
            daily_limit=10_000_000,
        ) as sandbox:
            settings = Settings.from_env({**sandbox.env, "FLEETBOT_DB": str(work / "l.db")})
            api = PsaClient.from_settings(settings)
            ledger = Ledger(settings.db_path)
            try:
                directory = VehicleDirectory(api, ledger)
                poller = Poller(
                    api,
                    ledger,
                    router=lambda: AlertRouter.from_ledger(ledger, FALLBACK),
                    refresh_directory=directory.refresh,
                    budget=QuotaBudget(interval=INTERVAL),
                    poll_by="auto",
                )
                sandbox.reset()
                started = time.perf_counter()
                directory.refresh()
                refresh = (time.perf_counter() - started, int(sandbox.stats()["requests"]))
                first = _cycle(sandbox, poller)
                steady = [_cycle(sandbox, poller) for _ in range(2)]
            finally:
                api.close()
                ledger.close()
    worst = max(steady, key=lambda c: c["seconds"])
    return {
        "leasing_vehicles": vehicles,
        "leasing_refresh": refresh,
        "leasing_first": (first["requests"], first["seconds"]),
        "leasing_steady": (worst["requests"], worst["seconds"]),
        "leasing_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run(vehicles: int = 1000, leasing_vehicles: int = 10_000) -> dict[str, Any]:
    """Every figure of issue 10's "Done means", in one run."""
    figures = compare(vehicles)
    figures["latency_p"] = latencies(figures)
    if leasing_vehicles:
        figures.update(leasing(leasing_vehicles))
    return figures


def rows(f: dict[str, Any]) -> list[Row]:
    """The figures against DESIGN.md section 8 and issue 10."""
    n = f["vehicles"]
    share = f["fleet_per_day"] / DAILY_LIMIT
    lat = f["latency_p"]
    out = [
        Row(
            f"fleet: calls per cycle, {n:,} vehicles (fleet / vehicle)",
            f"{f['fleet_calls']} / {f['vehicle_calls']}",
        ),
        Row(
            "fleet: first start, fleet path (requests, seconds)",
            f"{f['fleet_first'][0]}, {fmt(f['fleet_first'][1], 1, 's')}",
        ),
        Row(
            "fleet: interval planned (fleet / vehicle)",
            f"{f['fleet_interval']:.0f} s / {f['vehicle_interval']:.0f} s",
            f"{INTERVAL:.0f} s on the fleet path",
            f["fleet_interval"] <= INTERVAL,
        ),
        Row(
            "fleet: calls per day (fleet / vehicle)",
            f"{f['fleet_per_day']:,.0f} / {f['vehicle_per_day']:,.0f}",
        ),
        Row(
            "fleet: fleet path's share of the quota",
            f"{100 * share:.1f} %",
            f"≤ {100 * TARGET_QUOTA_SHARE:.0f} %",
            share <= TARGET_QUOTA_SHARE,
        ),
    ]
    for path in ("fleet", "vehicle", "push"):
        p50, p99 = lat[path]
        out.append(
            Row(
                f"fleet: alert latency p50 / p99, {path} ({'model' if path == 'push' else 'sim'})",
                f"{p50:.0f} s / {p99:.0f} s",
                f"p99 ≤ {TARGET_LATENCY_P99:.0f} s" if path == "fleet" else "—",
                p99 <= TARGET_LATENCY_P99 if path == "fleet" else None,
            )
        )
    out += [
        Row(
            "fleet: per-vehicle cycle + directory (requests, seconds)",
            f"{f['vehicle_first_requests']}, {fmt(f['vehicle_first_seconds'], 2, 's')}",
        ),
        Row(
            "fleet: per-vehicle cycle + directory, ratio to bound",
            fmt(f["vehicle_ratio"], 3, "x"),
            f"≤ {TARGET_RATIO}x",
            f["vehicle_ratio"] <= TARGET_RATIO,
        ),
        Row(
            "fleet: CPU per request / bare httpx GET",
            f"{f['cpu_ms']:.2f} / {f['floor_ms']:.2f} ms = {f['cpu_ms'] / f['floor_ms']:.2f}x",
            f"≤ {TARGET_CPU_RATIO}x",
            f["cpu_ms"] / f["floor_ms"] <= TARGET_CPU_RATIO,
        ),
    ]
    if "leasing_vehicles" in f:
        refresh_s, refresh_calls = f["leasing_refresh"]
        first_calls, first_s = f["leasing_first"]
        calls, seconds = f["leasing_steady"]
        out += [
            Row(
                f"leasing {f['leasing_vehicles']:,}: directory refresh",
                f"{refresh_calls} pages, {fmt(refresh_s, 1, 's')}",
            ),
            Row(
                "leasing: first start, fleet path",
                f"{first_calls} pages, {fmt(first_s, 1, 's')}",
            ),
            Row(
                "leasing: fleet-path cycle",
                f"{calls} pages, {fmt(seconds, 2, 's')}",
                f"< {TARGET_LEASING_CYCLE:.0f} s",
                seconds < TARGET_LEASING_CYCLE,
            ),
            Row(
                "leasing: peak RSS of the polling process",
                fmt(f["leasing_rss_mb"], 1, "MB"),
                f"< {TARGET_RSS_MB:.0f} MB",
                f["leasing_rss_mb"] < TARGET_RSS_MB,
            ),
        ]
    return out


def main(argv: list[str] | None = None) -> int:
    """Run at full size (or as told), print the figures, optionally write RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vehicles", type=int, default=1000)
    parser.add_argument("--leasing", type=int, default=10_000, help="0 skips the leasing fleet")
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args(argv)
    figures = run(args.vehicles, args.leasing)
    print_rows(TITLE, rows(figures))
    if args.write:
        update_results({NAME: section(NAME, rows(figures))})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
