"""A poll cycle that odd data cannot stop, and that stops when asked: sandbox over mTLS, SQLite."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from bot.alerts.poller import MAX_WINDOWS, Poller, PollReport, reach_back
from bot.alerts.routing import AlertRouter
from bot.config import Settings
from bot.directory import VehicleDirectory
from bot.errors import ApiUnavailable
from bot.psa.client import PsaClient
from bot.psa.quota import QuotaBudget
from bot.sandbox.psa import PsaSandbox, SandboxCerts
from bot.store import Ledger, StoredAlert
from tests.alerts.conftest import FALLBACK, Pipeline
from tests.conftest import FAST_RETRY

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


# ------------------------------------------------------------------ polling by fleet (issue 10)


class Clock:
    """A clock tests move by hand (shared by the sandbox, the ledgers and the pollers)."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC).replace(microsecond=0)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@dataclasses.dataclass
class Twin:
    """One sandbox polled twice, into two ledgers: by fleet (``auto``) and by vehicle."""

    sandbox: PsaSandbox
    clock: Clock
    api: PsaClient
    fleet: Poller
    vehicle: Poller
    fleet_ledger: Ledger
    vehicle_ledger: Ledger

    def cycle(self) -> tuple[PollReport, PollReport]:
        """One cycle of each poller at the same moment."""
        return self.fleet.poll_once(), self.vehicle.poll_once()

    def fleet_requests(self, since: int) -> list[Any]:
        """Requests to the fleet-wide collection after the first ``since`` ones."""
        return [r for r in self.sandbox.requests[since:] if r.path.endswith(("/fleet/alerts",))
                or r.path.endswith(f"/fleets/{self.sandbox.fleet_id}/alerts")]  # fmt: skip


def ledger_view(ledger: Ledger) -> dict[str, Any]:
    """What a poll leaves in the ledger: alerts, cursors and queued deliveries."""
    db = ledger.database.db
    alerts = db.execute(
        "SELECT id, vehicle_id, vin, type, severity, active, started_at, end_at, updated_at,"
        " payload FROM alerts ORDER BY id"
    ).fetchall()
    deliveries = db.execute(
        "SELECT alert_id, channel, state FROM deliveries ORDER BY alert_id, channel"
    ).fetchall()
    return {"alerts": alerts, "cursors": ledger.cursors(), "deliveries": deliveries}


@pytest.fixture(params=["fleets", "quickguide"])
def twin(request: pytest.FixtureRequest, certs: SandboxCerts, tmp_path) -> Iterator[Twin]:
    """A 25-vehicle sandbox in one API style, a fleet poller and a vehicle poller."""
    clock = Clock()
    with PsaSandbox(certs, vehicles=25, clock=clock) as sandbox:
        env = {**sandbox.env(request.param), "FLEETBOT_DB": str(tmp_path / "unused.db")}
        api = PsaClient.from_settings(Settings.from_env(env), retry=FAST_RETRY)
        pollers, ledgers = [], []
        for mode in ("auto", "vehicle"):
            ledger = Ledger(tmp_path / f"{mode}.db", clock=clock)
            directory = VehicleDirectory(api, ledger, clock=clock)
            pollers.append(
                Poller(
                    api,
                    ledger,
                    router=lambda ledger=ledger: AlertRouter.from_ledger(ledger, FALLBACK),
                    refresh_directory=directory.refresh,
                    budget=QuotaBudget(interval=1),
                    clock=clock,
                    poll_by=mode,  # type: ignore[arg-type]
                )
            )
            ledgers.append(ledger)
        try:
            yield Twin(sandbox, clock, api, *pollers, *ledgers)
        finally:
            api.close()
            for ledger in ledgers:
                ledger.close()


def test_the_fleet_path_ingests_what_the_vehicle_path_would(twin: Twin) -> None:
    """Same alerts, cursors and deliveries after a first start and two cycles of changes."""
    first = twin.cycle()
    assert [r.path for r in first] == ["fleet", "vehicle"]
    assert ledger_view(twin.fleet_ledger) == ledger_view(twin.vehicle_ledger)
    assert first[0].api_calls < first[1].api_calls  # whole history in a few pages, not 25 calls
    fleet = twin.sandbox.vehicles()
    open_ids = [a["id"] for a in twin.sandbox.alerts() if a["active"]]
    twin.clock.advance(minutes=2)
    for vehicle in fleet[:3]:
        twin.sandbox.add_alert(vehicle["id"], severity="Critical")
    twin.sandbox.end_alert(open_ids[0])  # an alert open since before the first cycle ends
    start = len(twin.sandbox.requests)
    second = twin.cycle()
    assert len(twin.fleet_requests(start)) == 1 and second[0].api_calls == 1
    assert second[1].api_calls == 25
    assert second[0].new_alerts == second[1].new_alerts == 3
    assert second[0].ended_alerts == second[1].ended_alerts == 1
    twin.clock.advance(minutes=30)  # past the overlap: only the open alerts reach back
    twin.sandbox.add_alert(fleet[5]["id"])
    third = twin.cycle()
    assert third[0].new_alerts == third[1].new_alerts == 1
    assert ledger_view(twin.fleet_ledger) == ledger_view(twin.vehicle_ledger)
    assert twin.fleet_ledger.get_state("poll_path")["path"] == "fleet"


@pytest.mark.parametrize("match_start", [False, True])
def test_open_alerts_are_reached_back_for_only_when_the_answer_misses_them(
    twin: Twin, match_start: bool
) -> None:
    """Either reading of ``timestamps``: old open alerts' ends are seen, as per vehicle."""
    twin.sandbox.alerts_match_start = match_start
    for n, vehicle in enumerate(twin.sandbox.vehicles()[:15]):
        twin.sandbox.add_alert(vehicle["id"], started_at=twin.clock() - dt.timedelta(hours=5 * n))
    twin.cycle()
    twin.clock.advance(hours=2)
    old = min(twin.fleet_ledger.open_alerts(), key=lambda a: a.started_at or twin.clock())
    twin.sandbox.end_alert(old.id)
    start = len(twin.sandbox.requests)
    report, reference = twin.cycle()
    asked = twin.fleet_requests(start)
    windows = [[v for k, v in r.query if k == "timestamps"] for r in asked]
    assert all(1 <= len(w) <= MAX_WINDOWS for w in windows)
    if match_start:  # the first answer misses the open alerts older than its window
        assert len(asked) > 1 and len(windows[0]) == 1
    else:
        assert len(asked) == 1  # every open alert was in the first answer
    assert report.ended_alerts == reference.ended_alerts == 1
    stored = twin.fleet_ledger.alert(old.id)
    assert stored is not None and not stored.active
    assert ledger_view(twin.fleet_ledger) == ledger_view(twin.vehicle_ledger)


@pytest.mark.parametrize("status", [404, 405, 410, 501])
def test_a_refusal_falls_back_once_and_is_probed_daily(
    twin: Twin, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    """Refused: per-vehicle at once, one warning in words, state recorded, asked again a day on."""
    twin.sandbox.refuse_fleet_alerts(status)
    with caplog.at_level(logging.INFO, logger="bot.alerts.poller"):
        report, _ = twin.cycle()
        assert report.path == "vehicle" and report.errors == 0
        assert ledger_view(twin.fleet_ledger) == ledger_view(twin.vehicle_ledger)
        state = twin.fleet_ledger.get_state("poll_path")
        assert state["fallback"] is True and state["path"] == "vehicle"
        assert f"HTTP {status}" in state["reason"]
        warned = [r for r in caplog.records if "refuses the fleet-wide" in r.getMessage()]
        assert len(warned) == 1 and "vehicle by vehicle" in warned[0].getMessage()
        for hours in (1, 22):  # no probe before a day has passed
            twin.clock.advance(hours=hours)
            start = len(twin.sandbox.requests)
            assert twin.fleet.poll_once().path == "vehicle"
            assert twin.fleet_requests(start) == []
        twin.clock.advance(hours=1, minutes=1)
        start = len(twin.sandbox.requests)
        assert twin.fleet.poll_once().path == "vehicle"  # probed, still refused
        assert len(twin.fleet_requests(start)) == 1
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert [r for r in warnings if "refuses the fleet-wide" in r.getMessage()] == warned
        twin.sandbox.refuse_fleet_alerts(None)
        twin.clock.advance(days=1, minutes=1)
        assert twin.fleet.poll_once().path == "fleet"
    assert twin.fleet_ledger.get_state("poll_path")["fallback"] is False
    assert any("serves the fleet-wide" in r.getMessage() for r in caplog.records)


def test_a_fallback_survives_a_restart_until_its_probe(twin: Twin) -> None:
    """A new process reads the fallback from the ledger instead of asking at once."""
    twin.sandbox.refuse_fleet_alerts(405)
    twin.fleet.poll_once()
    again = Poller(
        twin.api, twin.fleet_ledger, router=twin.fleet.router, clock=twin.clock, poll_by="auto"
    )
    assert again.path_state() == twin.fleet.path_state()
    start = len(twin.sandbox.requests)
    again.poll_once()
    assert twin.fleet_requests(start) == []


def test_no_data_from_the_collection_is_not_a_refusal(twin: Twin) -> None:
    """Nothing in the window (404 40400): the fleet path stays, cursors move."""
    twin.fleet.poll_once()
    for alert in twin.sandbox.alerts():
        if alert["active"]:
            twin.sandbox.end_alert(alert["id"])
    twin.clock.advance(minutes=1)
    twin.fleet.poll_once()  # sees the ends
    twin.clock.advance(hours=1)
    twin.fleet.poll_once()  # the ends are still inside the overlap
    twin.clock.advance(hours=1)
    before = twin.fleet_ledger.cursors()
    start = len(twin.sandbox.requests)
    twin.sandbox.reset_stats()
    report = twin.fleet.poll_once()
    assert report.path == "fleet" and report.errors == 0 and report.api_calls == 1
    assert len(twin.fleet_requests(start)) == 1
    assert dict(twin.sandbox.stats.by_status) == {404: 1}  # the collection said "no data"
    assert twin.fleet_ledger.get_state("poll_path")["fallback"] is False
    after = twin.fleet_ledger.cursors()
    assert all(after[v] > before[v] for v in before)


def test_forced_fleet_never_falls_back(twin: Twin) -> None:
    """FLEETBOT_POLL_BY=fleet: a refusal is every vehicle's error and cursors stay."""
    twin.fleet.poll_once()
    before = twin.fleet_ledger.cursors()
    twin.fleet.poll_by = "fleet"
    twin.sandbox.refuse_fleet_alerts(404)
    twin.clock.advance(minutes=1)
    report = twin.fleet.poll_once()
    assert report.path == "fleet" and report.errors == 25
    assert twin.fleet_ledger.cursors() == before


def test_an_unknown_vehicle_refreshes_the_directory_and_is_polled(twin: Twin) -> None:
    """An alert of a vehicle new to the fleet: directory refreshed, that vehicle polled as new."""
    twin.fleet.poll_once()
    twin.sandbox.add_vehicles(1)
    newcomer = twin.sandbox.vehicles()[-1]
    twin.clock.advance(minutes=1)
    fresh = twin.sandbox.add_alert(newcomer["id"], severity="Critical")
    report = twin.fleet.poll_once()
    assert report.vehicles == 26 and report.errors == 0
    assert newcomer["id"] in twin.fleet_ledger.cursors()
    stored = twin.fleet_ledger.alert(fresh["id"])
    assert stored is not None and stored.vehicle_id == newcomer["id"]
    assert any(d[0] == fresh["id"] for d in ledger_view(twin.fleet_ledger)["deliveries"])


def test_the_budget_plans_from_pages_not_vehicles(twin: Twin) -> None:
    """A fleet cycle's cost is its pages: 1,000 vehicles at 60 s fit a 100,000/day quota."""
    twin.fleet.poll_once()
    twin.clock.advance(minutes=1)
    report = twin.fleet.poll_once()
    assert report.cycle_cost() == report.api_calls == 1
    budget = QuotaBudget(interval=60)
    assert budget.effective_interval(report.cycle_cost(), 100_000) == 60
    by_vehicle = twin.vehicle.poll_once()
    assert by_vehicle.cycle_cost() == 25


def test_reach_back_puts_ten_short_windows_in_a_request() -> None:
    """One window per distinct start, a second either side, at most ``limit`` per request."""
    base = dt.datetime(2026, 1, 10, tzinfo=dt.UTC)
    starts = [base - dt.timedelta(hours=h) for h in range(23)] + [base]
    queries = reach_back(starts, limit=10)
    assert [len(q) for q in queries] == [10, 10, 3]
    flat = [w for q in queries for w in q]
    assert flat == sorted(flat)
    for at in starts:
        assert any(lo < at < hi for lo, hi in flat if hi is not None)
    assert reach_back([]) == []


def test_reach_back_never_brings_back_other_vehicles_pruned_alerts(twin: Twin) -> None:
    """A window around one vehicle's old open alert returns others' alerts alive then: not new."""
    now = twin.clock()
    fleet = twin.sandbox.vehicles()
    gone, other = fleet[0]["id"], fleet[1]["id"]
    twin.sandbox.add_alert(gone, started_at=now - dt.timedelta(days=20))
    old = twin.sandbox.add_alert(other, started_at=now - dt.timedelta(days=20, hours=1))
    twin.sandbox.end_alert(old["id"], at=now - dt.timedelta(days=19))
    twin.fleet.poll_once()
    assert twin.fleet_ledger.alert(old["id"]) is not None
    twin.sandbox.remove_vehicle(gone)  # its open alert leaves the answer: reached back for
    with twin.fleet_ledger.database.transaction() as db:  # as retention pruning would
        db.execute("DELETE FROM alerts WHERE id = ?", [old["id"]])
    twin.clock.advance(minutes=1)
    start = len(twin.sandbox.requests)
    report = twin.fleet.poll_once()
    assert len(twin.fleet_requests(start)) == 2  # since/, then the reach-back
    assert report.new_alerts == 0 and twin.fleet_ledger.alert(old["id"]) is None


@pytest.fixture
def first_start(certs: SandboxCerts, tmp_path) -> Iterator[tuple[PsaSandbox, PsaClient, Ledger]]:
    """A 150-vehicle sandbox (3 directory pages) with a small latency, and an empty ledger."""
    with PsaSandbox(certs, vehicles=150, latency=0.01) as sandbox:
        env = {**sandbox.env(), "FLEETBOT_DB": str(tmp_path / "unused.db")}
        api = PsaClient.from_settings(Settings.from_env(env), retry=FAST_RETRY)
        ledger = Ledger(tmp_path / "first.db")
        try:
            yield sandbox, api, ledger
        finally:
            api.close()
            ledger.close()


def per_vehicle(api: PsaClient, ledger: Ledger, refresh: Any) -> Poller:
    return Poller(
        api,
        ledger,
        router=lambda: AlertRouter.from_ledger(ledger, FALLBACK),
        refresh_directory=refresh,
        budget=QuotaBudget(interval=1),
        poll_by="vehicle",
    )


def test_a_first_start_polls_vehicles_while_the_directory_is_listed(
    first_start: tuple[PsaSandbox, PsaClient, Ledger],
) -> None:
    """Alert calls start before the listing's last page; the outcome is a full first cycle."""
    sandbox, api, ledger = first_start
    report = per_vehicle(api, ledger, VehicleDirectory(api, ledger).refresh).poll_once()
    paths = [r.path for r in sandbox.requests]
    listing = [i for i, p in enumerate(paths) if p.endswith("/vehicles")]
    first_alerts = next(i for i, p in enumerate(paths) if p.endswith("/alerts"))
    assert len(listing) == 3 and first_alerts < listing[-1]
    assert report.vehicles == 150 and report.errors == 0 and report.incomplete == 0
    assert report.api_calls == len(paths) == 153 and report.planned_calls == 150
    assert len(ledger.vehicles()) == 150 and len(ledger.cursors()) == 150
    stored = {a.id for a in ledger.open_alerts()}
    assert stored == {a["id"] for a in sandbox.alerts() if a["active"]}


def test_a_directory_listing_that_fails_midway_changes_nothing(
    first_start: tuple[PsaSandbox, PsaClient, Ledger],
) -> None:
    """No directory, alert or cursor is written, and no alert call starts after the failure."""
    sandbox, api, ledger = first_start
    directory = VehicleDirectory(api, ledger)

    def failing(each: Callable[[Any], object] | None = None) -> int:
        listed = 0

        def counted(vehicle: Any) -> None:
            nonlocal listed
            listed += 1
            if listed > 70:  # on the second page
                raise ApiUnavailable("the listing broke off")
            assert each is not None
            each(vehicle)

        return directory.refresh(each=counted)

    with pytest.raises(ApiUnavailable):
        per_vehicle(api, ledger, failing).poll_once()
    alert_calls = [r for r in sandbox.requests if r.path.endswith("/alerts")]
    assert len(alert_calls) <= 70
    assert ledger.vehicles() == [] and ledger.cursors() == {} and ledger.open_alerts() == []
