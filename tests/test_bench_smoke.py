"""Smoke test of the benchmarks: each runs at a tiny size and returns sane figures.

These are not performance checks (no timing assertions): they keep bench/ from rotting as the
code it measures changes.
"""

from __future__ import annotations

import pytest

from bench import bench_delivery, bench_fleet, bench_memory, bench_poll, bench_quota
from bench.common import Row, section, update_results


@pytest.mark.timeout(60)
def test_poll_bench_runs_small() -> None:
    """A 20-vehicle poll bench: one request per vehicle per cycle, no 429, a pooled client."""
    figures = bench_poll.run(vehicles=20, latency=0.02, cycles=2, breakdown=5)
    assert [c["requests"] for c in figures["cycles"]] == [20, 20]
    assert figures["throttled_429"] == 0
    assert figures["poll_errors"] == 0
    # the pool opens its connections once: the second cycle reuses them all
    assert figures["cycles"][1]["connections"] == 0
    assert 1 <= figures["tls_connections"] <= 10
    assert figures["naive_requests"] == 20
    assert figures["naive_tls_connections"] == 20  # a new connection per request
    assert figures["cpu_ms_per_request"] > 0 and figures["floor_httpx_cpu_ms"] > 0
    assert figures["speedup"] > 0
    assert {r.verdict for r in bench_poll.rows(figures)} <= {"pass", "MISS", "info"}


@pytest.mark.timeout(90)
def test_fleet_bench_runs_small() -> None:
    """70 vehicles: the fleet path takes a page or two, the per-vehicle first start 70 + 2."""
    figures = bench_fleet.compare(vehicles=70, latency=0.0, floor_requests=5)
    assert figures["vehicle_first_requests"] == 72  # the directory's 2 pages included
    assert figures["vehicle_calls"] == 70
    assert 1 <= figures["fleet_calls"] < 70
    assert figures["cpu_ms"] > 0 and figures["floor_ms"] > 0
    figures["latency_p"] = bench_fleet.latencies(figures, alerts=100)
    figures.update(bench_fleet.leasing(vehicles=120, latency=0.0))
    assert figures["leasing_refresh"][1] == 2 and figures["leasing_steady"][0] >= 1
    assert {r.verdict for r in bench_fleet.rows(figures)} <= {"pass", "MISS", "info"}


@pytest.mark.timeout(60)
def test_quota_bench_runs_small() -> None:
    """20 vehicles fit the quota at the configured interval; the sandbox counts 20 per cycle."""
    figures = bench_quota.run(vehicles=20, cycles=2, latency=0.0)
    assert figures["effective_interval"] == 60.0
    assert figures["calls_per_cycle"] == [20, 20]
    assert figures["client_counted_calls"] == [20, 20]
    assert figures["observed_daily_limit"] == 100_000
    assert figures["measured_share"] == pytest.approx(20 * 1440 / 100_000)
    assert figures["directory_calls"] >= 1


@pytest.mark.timeout(60)
def test_delivery_bench_runs_small() -> None:
    """30 alerts for 3 channels: all delivered once, as digests, none lost or duplicated."""
    figures = bench_delivery.run(alerts=30, channels=3, vehicles=6)
    assert figures["queued"] == 30
    assert figures["lost"] == 0 and figures["duplicated"] == 0 and figures["unexpected"] == 0
    assert figures["messages"] >= 3
    assert figures["outbox"] == {"sent": 30}
    assert set(figures["per_channel"]) == {"C0BENCH0", "C0BENCH1", "C0BENCH2"}


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_memory_bench_runs_small() -> None:
    """`fleetbot run` starts against the stand-ins, is sampled, and stops cleanly on SIGTERM."""
    figures = bench_memory.run(vehicles=20, seconds=3.0, every=1.0, poll_interval=1.0)
    assert len(figures["samples"]) >= 2
    assert 10 < figures["start_mb"] <= figures["peak_mb"]
    assert figures["exit_code"] == 0
    assert figures["api_requests"] > 0


def test_results_sections_are_replaced_and_kept(tmp_path) -> None:
    """Writing one bench's section replaces it and keeps the other benches' rows."""
    path = tmp_path / "RESULTS.md"
    update_results({"poll": section("poll", [Row("poll: a", "1", "≤ 2", True)])}, path)
    update_results({"quota": section("quota", [Row("quota: b", "3", "≤ 2", False)])}, path)
    update_results({"poll": section("poll", [Row("poll: c", "4")])}, path)
    text = path.read_text()
    assert "poll: a" not in text
    assert "| poll: c | 4 | — | info |" in text
    assert "| quota: b | 3 | ≤ 2 | MISS |" in text
    assert text.index("poll: c") < text.index("quota: b")
