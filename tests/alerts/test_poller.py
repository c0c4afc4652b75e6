"""A poll cycle that odd data cannot stop, and that stops when asked: sandbox over mTLS, SQLite."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from bot.alerts.poller import Poller, QuotaBudget
from bot.alerts.routing import AlertRouter
from bot.store import StoredAlert
from tests.alerts.conftest import FALLBACK, Pipeline

HOSTILE_RECORDS: list[object] = [
    # a Java null date in a positive offset and an Infinity: an OverflowError before
    {"id": "ODD-1", "type": "AddWasherFluid", "startedAt": "0001-01-01T00:00:00+01:00",
     "endAt": "9999-12-31T23:59:59-01:00", "total": math.inf, "severity": math.nan},
    {"type": "AddWasherFluid", "vin": "VF3-NO-ID"},  # no id: unreadable
    {"id": "x" * 5_000},  # no usable id
    "junk",  # not an object
    {"id": "ODD-2", "active": "maybe", "startPosition": {"coordinates": [math.inf, 1e308]}},
]  # fmt: skip
UNREADABLE = 3  # of the records above


def baseline(pipeline: Pipeline) -> dict[str, Any]:
    """First cycle (everything), then the cursors it left."""
    pipeline.poller.poll_once()
    return pipeline.ledger.cursors()


def vehicles(pipeline: Pipeline) -> list[dict[str, Any]]:
    """The sandbox's vehicles, in fleet order."""
    return pipeline.sandbox.vehicles()


def test_one_vehicles_hostile_alerts_never_stop_the_cycle(pipeline: Pipeline) -> None:
    """Every other vehicle is ingested and moves its cursor; the odd records are skipped."""
    before = baseline(pipeline)
    fleet = vehicles(pipeline)
    odd, other = fleet[0], fleet[1]
    for record in HOSTILE_RECORDS:
        pipeline.sandbox.inject_alert(odd["id"], record)
    fresh = [pipeline.sandbox.add_alert(v["id"], severity="Critical")["id"] for v in (odd, other)]
    report = pipeline.poller.poll_once()
    assert report.errors == 0 and report.unreadable == UNREADABLE
    assert "3 unreadable records skipped" in report.summary()
    after = pipeline.ledger.cursors()
    assert all(after[vid] > before[vid] for vid in before)  # every cursor moved
    for alert_id in [*fresh, "ODD-1", "ODD-2"]:
        assert pipeline.ledger.alert(alert_id) is not None
    odd_one = pipeline.ledger.alert("ODD-1")
    assert odd_one is not None and odd_one.started_at is None and odd_one.active
    pipeline.delivery.run_once()  # and the odd-but-readable alerts reach Slack like others
    assert pipeline.slack.messages(FALLBACK)


def test_an_unreadable_page_is_that_vehicles_error_only(pipeline: Pipeline) -> None:
    """A HAL envelope we cannot read: that vehicle keeps its cursor, the others move on."""
    before = baseline(pipeline)
    broken = vehicles(pipeline)[2]["id"]
    pipeline.sandbox.set_alert_page(broken, b'{"total": Infinity, "_embedded": {"alerts": 7}}')
    report = pipeline.poller.poll_once()
    assert report.errors == 1
    after = pipeline.ledger.cursors()
    assert after[broken] == before[broken]
    assert all(after[vid] > before[vid] for vid in before if vid != broken)


def test_a_runaway_paging_is_capped_and_said(pipeline: Pipeline) -> None:
    """An API that always has a next page gets ``max_pages`` requests; its cursor stays."""
    before = baseline(pipeline)
    runaway = vehicles(pipeline)[3]
    pipeline.sandbox.set_endless_alerts(runaway["id"])
    pipeline.poller.max_pages = 4
    pipeline.sandbox.reset_stats()
    start = len(pipeline.sandbox.requests)
    report = pipeline.poller.poll_once()
    asked = [r for r in pipeline.sandbox.requests[start:] if f"/{runaway['id']}/alerts" in r.path]
    assert len(asked) == 4
    assert report.cut_short is not None and "page cap of 4" in report.cut_short
    assert runaway["vin"] in report.cut_short and report.incomplete == 1
    after = pipeline.ledger.cursors()
    assert after[runaway["id"]] == before[runaway["id"]]
    assert sum(after[v] > before[v] for v in before) == len(before) - 1
    assert pipeline.ledger.get_state("last_poll")["cut_short"] == report.cut_short


class StopAfter:
    """The real client, with a stop event set once ``n`` vehicles' fetches have started."""

    def __init__(self, api: Any, n: int, stop: threading.Event) -> None:
        self.api, self.n, self.stop = api, n, stop
        self.started: list[str] = []

    def alerts(self, vehicle_id: str, since: Any = None, **kwargs: Any) -> Iterable[Any]:
        """Count the fetch, maybe set the stop, then fetch for real."""
        self.started.append(vehicle_id)
        if len(self.started) == self.n:
            self.stop.set()
        return self.api.alerts(vehicle_id, since=since, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.api, name)


def test_a_stopped_cycle_ingests_what_it_fetched_and_keeps_other_cursors(
    pipeline: Pipeline,
) -> None:
    """After ``stop`` no new request starts; fetched vehicles move, the rest keep cursors."""
    before = baseline(pipeline)
    stop = threading.Event()
    source = StopAfter(pipeline.api, 5, stop)
    pipeline.poller.api = source
    pipeline.poller.workers = 1
    report = pipeline.poller.poll_once(stop=stop)
    assert len(source.started) == 5
    after = pipeline.ledger.cursors()
    moved = {vid for vid in before if after[vid] > before[vid]}
    assert moved == set(source.started)
    assert report.incomplete == 20 and report.errors == 0
    assert report.cut_short == "stopped by shutdown: 20 of 25 vehicles not fully polled" + (
        " (their cursors kept)"
    )


def test_a_stop_set_before_the_cycle_sends_no_alert_request(pipeline: Pipeline) -> None:
    """A cycle started after shutdown began asks the API nothing."""
    before = baseline(pipeline)
    stop = threading.Event()
    stop.set()
    calls = pipeline.api.calls
    report = pipeline.poller.poll_once(stop=stop)
    assert pipeline.api.calls == calls
    assert pipeline.ledger.cursors() == before and report.incomplete == 25


def test_the_cycle_deadline_stops_starting_requests(pipeline: Pipeline) -> None:
    """A slow API: after the deadline no vehicle is started; the cycle ends near it."""
    before = baseline(pipeline)
    pipeline.sandbox.latency = 0.1
    pipeline.poller.workers = 1
    pipeline.poller.deadline = 0.5
    began = time.monotonic()
    report = pipeline.poller.poll_once()
    elapsed = time.monotonic() - began
    assert report.cut_short is not None and report.cut_short.startswith("deadline of 0s reached")
    assert 0 < report.incomplete < 25
    assert elapsed < 0.5 + 2.0  # at most the requests in flight at the deadline
    after = pipeline.ledger.cursors()
    assert sum(after[v] == before[v] for v in before) == report.incomplete


def test_default_deadline_is_three_intervals_or_five_minutes(pipeline: Pipeline) -> None:
    """Without a knob the deadline is the larger of 3 intervals and 300 s."""
    assert pipeline.poller.deadline == 300.0  # interval 1 s
    slow = Poller(
        pipeline.api, pipeline.ledger, router=lambda: lambda a: [], budget=QuotaBudget(600)
    )
    assert slow.deadline == 1800.0


def test_storing_is_isolated_per_vehicle_when_the_batch_fails(pipeline: Pipeline) -> None:
    """Something in one vehicle's alerts that breaks storing holds back only that vehicle."""
    before = baseline(pipeline)
    fleet = vehicles(pipeline)
    bad, good = fleet[4]["id"], fleet[5]["id"]
    routes = AlertRouter.from_ledger(pipeline.ledger, FALLBACK)

    def fussy_router() -> Callable[[StoredAlert], list[str]]:
        def route(alert: StoredAlert) -> list[str]:
            if alert.vehicle_id == bad:
                raise ArithmeticError("a value the router cannot handle")
            return list(routes(alert))

        return route

    pipeline.poller.router = fussy_router
    lost = pipeline.sandbox.add_alert(bad, severity="Critical")["id"]
    kept = pipeline.sandbox.add_alert(good, severity="Critical")["id"]
    report = pipeline.poller.poll_once()
    assert report.errors == 1
    assert pipeline.ledger.alert(kept) is not None and pipeline.ledger.alert(lost) is None
    after = pipeline.ledger.cursors()
    assert after[bad] == before[bad] and after[good] > before[good]


@pytest.mark.parametrize("knob", ["deadline", "max_pages"])
def test_knobs_are_constructor_arguments(pipeline: Pipeline, knob: str) -> None:
    """Both limits can be set where the poller is built."""
    poller = Poller(pipeline.api, pipeline.ledger, router=lambda: lambda a: [], **{knob: 7})
    assert getattr(poller, knob) == 7
