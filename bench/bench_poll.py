"""Poll-cycle speed and client CPU (DESIGN.md section 8), against the quick guide's way.

The sandbox runs in a subprocess (50 ms latency, 100/s burst limit), so this process's CPU
time is the client's: the real :class:`~bot.alerts.poller.Poller` (10 workers) over the one
pooled ``PsaClient``, ledger writes included. Then the quick guide's way: the same alert GETs
one after the other, each on a NEW TLS connection (``http.client.HTTPSConnection`` with the
same SSL context), on the quick-guide paths (``/fleet/vehicles/{id}/alerts`` + ``fleet-id``).
In between, a CPU floor: bare keep-alive GETs with ``httpx`` and with ``http.client``, no
Fleetbot code, to show which share of the client's CPU per request is the HTTP stack's.

    .venv/bin/python -m bench.bench_poll [--vehicles 1000] [--latency 0.05] [--write]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import ssl
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from bench.common import Row, SandboxProcess, fmt, print_rows, section, statuses, update_results
from bot.alerts.poller import Poller
from bot.alerts.routing import AlertRouter
from bot.config import Settings
from bot.directory import VehicleDirectory
from bot.psa.client import PsaClient
from bot.psa.quota import QuotaBudget
from bot.psa.tls import build_ssl_context
from bot.store import Ledger

NAME = "poll"
TITLE = "poll cycle over the fleet (real Poller, pooled client) vs a new TLS connection each"
FALLBACK = "C0ALERTS"
TARGET_RATIO = 1.15
TARGET_SPEEDUP = 5.0
TARGET_CPU_MS = 2.0
# Quota is another bench's subject: here it must never be what slows a cycle down.
DAILY_LIMIT = 10_000_000


def run(
    vehicles: int = 1000,
    latency: float = 0.05,
    burst_limit: int = 100,
    workers: int = 10,
    cycles: int = 2,
    naive: bool = True,
    breakdown: int = 100,
) -> dict[str, Any]:
    """Measure ``cycles`` poll cycles, the CPU floor, then the quick guide's way; return figures.

    ``breakdown`` is how many sequential keep-alive GETs measure the CPU floor of bare httpx
    and of ``http.client`` (0 skips it).
    """
    with tempfile.TemporaryDirectory(prefix="bench-poll-") as tmp:
        work = Path(tmp)
        with SandboxProcess(
            work / "certs",
            vehicles=vehicles,
            latency=latency,
            burst_limit=burst_limit,
            daily_limit=DAILY_LIMIT,
        ) as sandbox:
            settings = Settings.from_env({**sandbox.env, "FLEETBOT_DB": str(work / "poll.db")})
            figures: dict[str, Any] = {
                "vehicles": vehicles,
                "latency": latency,
                "burst_limit": burst_limit,
            }
            figures.update(_pooled(sandbox, settings, burst_limit, workers, cycles))
            if breakdown:
                figures.update(_cpu_floor(sandbox, settings, breakdown))
            if naive:
                figures.update(_quick_guide_way(sandbox, settings))
                figures["speedup"] = figures["naive_seconds"] / figures["seconds"]
    return figures


def _pooled(
    sandbox: SandboxProcess, settings: Settings, burst_limit: int, workers: int, cycles: int
) -> dict[str, Any]:
    api = PsaClient.from_settings(settings)
    ledger = Ledger(settings.db_path)
    try:
        directory = VehicleDirectory(api, ledger)
        listed = directory.refresh()  # outside the timed cycles, as the scheduler does hourly
        poller = Poller(
            api,
            ledger,
            router=lambda: AlertRouter.from_ledger(ledger, FALLBACK),
            refresh_directory=directory.refresh,
            budget=QuotaBudget(interval=1.0),
            workers=workers,
        )
        per_cycle = []
        for _ in range(cycles):
            sandbox.reset()
            cpu = time.process_time()
            started = time.perf_counter()
            report = poller.poll_once()
            seconds = time.perf_counter() - started
            cpu = time.process_time() - cpu
            stats = sandbox.stats()
            requests = int(stats["requests"])
            per_cycle.append(
                {
                    "seconds": seconds,
                    "requests": requests,
                    "cpu_seconds": cpu,
                    "by_status": statuses(stats["by_status"]),
                    "peak_per_second": int(stats["peak_per_second"]),
                    "connections": int(stats["connections"]),
                    "new_alerts": report.new_alerts,
                    "errors": report.errors,
                }
            )
    finally:
        api.close()
        ledger.close()
    # Judged on the slowest cycle (the first also opens the connections).
    worst = max(per_cycle, key=lambda c: c["seconds"] / max(c["requests"], 1))
    requests = worst["requests"]
    bound = requests / burst_limit
    total_requests = sum(c["requests"] for c in per_cycle)
    return {
        "listed_vehicles": listed,
        "cycles": per_cycle,
        "seconds": worst["seconds"],
        "requests": requests,
        "requests_per_second": requests / worst["seconds"],
        "burst_bound_seconds": bound,
        "ratio_to_bound": worst["seconds"] / bound if bound else 0.0,
        "throttled_429": sum(c["by_status"].get(429, 0) for c in per_cycle),
        "peak_per_second": max(c["peak_per_second"] for c in per_cycle),
        "tls_connections": sum(c["connections"] for c in per_cycle),
        "poll_errors": sum(c["errors"] for c in per_cycle),
        "cpu_ms_per_request": 1000 * sum(c["cpu_seconds"] for c in per_cycle) / total_requests,
    }


def _raw_request(settings: Settings) -> tuple[str, str, dict[str, str], str]:
    """Host, base path, headers and query of a hand-made alerts GET (no Fleetbot code)."""
    url = urlsplit(settings.psa_api_url)
    assert url.hostname is not None
    basic = base64.b64encode(f"{settings.psa_username}:{settings.psa_password}".encode()).decode()
    headers = {
        "Authorization": f"Basic {basic}",
        "Accept": "application/hal+json",
        "fleet-id": settings.psa_fleet_id or "",
    }
    query = urlencode({"client_id": settings.psa_client_id, "pageSize": 60})
    return url.hostname, url.path, headers, query


def _context(settings: Settings) -> ssl.SSLContext:
    assert settings.psa_cert_file is not None
    return build_ssl_context(
        settings.psa_cert_file,
        settings.psa_key_file,
        settings.psa_key_password,
        settings.psa_ca_file,
    )


def _vehicle_ids(settings: Settings) -> list[str]:
    ledger = Ledger(settings.db_path)
    try:
        return [v["id"] for v in ledger.vehicles()]
    finally:
        ledger.close()


def _cpu_floor(sandbox: SandboxProcess, settings: Settings, count: int) -> dict[str, Any]:
    """CPU per request of bare keep-alive GETs (httpx, then http.client): what no client beats."""
    host, base, headers, query = _raw_request(settings)
    port = urlsplit(settings.psa_api_url).port
    context = _context(settings)
    ids = _vehicle_ids(settings)
    paths = [
        f"{base}/fleets/{settings.psa_fleet_id}/vehicles/{ids[i % len(ids)]}/alerts?{query}"
        for i in range(count + 1)
    ]
    sandbox.reset()
    with httpx.Client(verify=context, headers=headers, timeout=30) as client:
        client.get(f"https://{host}:{port}{paths[0]}")  # connect outside the measurement
        cpu = time.process_time()
        for path in paths[1:]:
            client.get(f"https://{host}:{port}{path}")
        httpx_ms = 1000 * (time.process_time() - cpu) / count
    conn = http.client.HTTPSConnection(host, port, context=context, timeout=30)
    try:
        conn.request("GET", paths[0], headers=headers)
        conn.getresponse().read()
        cpu = time.process_time()
        for path in paths[1:]:
            conn.request("GET", path, headers=headers)
            conn.getresponse().read()
        stdlib_ms = 1000 * (time.process_time() - cpu) / count
    finally:
        conn.close()
    throttled = statuses(sandbox.stats()["by_status"]).get(429, 0)
    return {
        "floor_requests": count,
        "floor_httpx_cpu_ms": httpx_ms,
        "floor_http_client_cpu_ms": stdlib_ms,
        "floor_429": throttled,
    }


def _quick_guide_way(sandbox: SandboxProcess, settings: Settings) -> dict[str, Any]:
    """Sequential GETs, each on a brand-new TLS connection (same SSL context, no pooling)."""
    host, base, headers, query = _raw_request(settings)
    port = urlsplit(settings.psa_api_url).port
    context = _context(settings)
    vehicle_ids = _vehicle_ids(settings)
    sandbox.reset()
    cpu = time.process_time()
    started = time.perf_counter()
    for vid in vehicle_ids:
        conn = http.client.HTTPSConnection(host, port, context=context, timeout=30)
        try:
            conn.request("GET", f"{base}/fleet/vehicles/{vid}/alerts?{query}", headers=headers)
            conn.getresponse().read()
        finally:
            conn.close()
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    stats = sandbox.stats()
    requests = int(stats["requests"])
    return {
        "naive_seconds": seconds,
        "naive_requests": requests,
        "naive_by_status": statuses(stats["by_status"]),
        "naive_tls_connections": int(stats["connections"]),
        "naive_cpu_ms_per_request": 1000 * cpu / max(requests, 1),
    }


def rows(f: dict[str, Any]) -> list[Row]:
    """The figures against DESIGN.md section 8."""
    out = [
        Row("poll: vehicles / API requests per cycle", f"{f['vehicles']} / {f['requests']}"),
        Row(
            f"poll: cycle time (slowest of {len(f['cycles'])})",
            fmt(f["seconds"], 2, "s"),
            f"≤ {fmt(TARGET_RATIO * f['burst_bound_seconds'], 2, 's')}",
            f["ratio_to_bound"] <= TARGET_RATIO,
        ),
        Row(
            "poll: ratio to burst bound",
            fmt(f["ratio_to_bound"], 3, "x"),
            f"≤ {TARGET_RATIO}x",
            f["ratio_to_bound"] <= TARGET_RATIO,
        ),
        Row("poll: requests/s", fmt(f["requests_per_second"], 1)),
        Row("poll: 429 answers", str(f["throttled_429"]), "0", f["throttled_429"] == 0),
        Row(
            "poll: sandbox peak requests in 1 s",
            str(f["peak_per_second"]),
            f"≤ {f['burst_limit']}",
            f["peak_per_second"] <= f["burst_limit"],
        ),
        Row("poll: TLS connections opened", str(f["tls_connections"])),
        Row(
            "poll: client CPU per API request",
            fmt(f["cpu_ms_per_request"], 2, "ms"),
            f"≤ {TARGET_CPU_MS} ms",
            f["cpu_ms_per_request"] <= TARGET_CPU_MS,
        ),
    ]
    if "floor_httpx_cpu_ms" in f:
        out += [
            Row(
                "CPU floor: bare httpx.Client keep-alive GET", fmt(f["floor_httpx_cpu_ms"], 2, "ms")
            ),
            Row(
                "CPU floor: http.client keep-alive GET", fmt(f["floor_http_client_cpu_ms"], 2, "ms")
            ),
        ]
    if "naive_seconds" in f:
        out += [
            Row("quick guide way: seconds", fmt(f["naive_seconds"], 1, "s")),
            Row("quick guide way: TLS connections", str(f["naive_tls_connections"])),
            Row("quick guide way: CPU per request", fmt(f["naive_cpu_ms_per_request"], 2, "ms")),
            Row(
                "poll: speed-up over the quick guide way",
                fmt(f["speedup"], 1, "x"),
                f"≥ {TARGET_SPEEDUP}x",
                f["speedup"] >= TARGET_SPEEDUP,
            ),
        ]
    return out


def main(argv: list[str] | None = None) -> int:
    """Run at full size (or as told), print the figures, optionally write RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vehicles", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--workers", type=int, default=10)
    parser.add_argument("--cycles", type=int, default=2)
    parser.add_argument("--no-naive", action="store_true", help="skip the quick guide's way")
    parser.add_argument("--breakdown", type=int, default=100, help="GETs for the CPU floor")
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args(argv)
    figures = run(
        vehicles=args.vehicles,
        latency=args.latency,
        workers=args.workers,
        cycles=args.cycles,
        naive=not args.no_naive,
        breakdown=args.breakdown,
    )
    for i, cycle in enumerate(figures["cycles"], 1):
        print(
            f"cycle {i}: {cycle['seconds']:.2f}s, {cycle['requests']} requests, "
            f"{cycle['connections']} new TLS connections, statuses {cycle['by_status']}"
        )
    print_rows(TITLE, rows(figures))
    if args.write:
        update_results({NAME: section(NAME, rows(figures))})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
