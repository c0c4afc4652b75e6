"""Smoke test of the report benchmark at a tiny size (figures, not timings, are checked)."""

from __future__ import annotations

import pytest

from bench import bench_report


@pytest.mark.timeout(120)
def test_report_bench_runs_small() -> None:
    """20 vehicles: two calls each and one maintenance page, seen at the sandbox, no 429."""
    figures = bench_report.run(vehicles=20, latency=0.01)
    assert figures["vehicles"] == 20
    assert figures["api_calls"] == figures["sandbox_requests"] == 41 == figures["calls_budget"]
    assert figures["maintenance_source"] == "fleet"
    assert figures["throttled_429"] == 0 and figures["not_reachable"] == 0
    assert figures["trips"] > 0 and figures["png_bytes"] > 10_000
    assert figures["rss_peak_delta_mb"] >= 0
    assert figures["upload_ms"] > 0 and figures["post_ms"] > 0
    assert {r.verdict for r in bench_report.rows(figures)} <= {"pass", "MISS", "info"}
