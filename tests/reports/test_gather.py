"""Gathering a day: the figures equal what the sandbox holds, for a local day, 2 calls each."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest

from bot.psa.client import RetryPolicy
from bot.reports.day import (
    LOW_ENERGY_PERCENT,
    MAINTENANCE_DAYS,
    MAINTENANCE_KM,
    SILENT_AFTER,
    FleetDay,
)
from bot.reports.gather import CALLS_PER_VEHICLE, calls_needed, day_bounds, previous_day
from bot.sandbox.psa import fleet as records
from tests.reports.conftest import PARIS, ReportWorld, WorldFactory

# A winter day: 23:30 UTC on the 18th is 00:30 on the 19th in Paris.
WINTER_NOW = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
# The day clocks go back in Paris (25 hours: 2026-10-24 22:00 UTC to 2026-10-25 23:00 UTC).
DST_NOW = dt.datetime(2026, 10, 26, 9, 0, tzinfo=dt.UTC)
ACKED_BY = "U0MANAGER"


@dataclasses.dataclass
class Expected:
    """One vehicle's day, computed from the sandbox's records alone."""

    trips: int = 0
    distance: float = 0.0
    driving: float = 0.0
    fuel_l: float = 0.0
    fuel_km: float = 0.0
    kwh: float = 0.0
    kwh_km: float = 0.0
    fuel_level: float | None = None
    battery_level: float | None = None
    silent: bool = False
    days_before_maintenance: int | None = None
    km_before_maintenance: float | None = None
    alerts: Counter[str] = dataclasses.field(default_factory=Counter)


def local_day(moment: dt.datetime, zone: ZoneInfo = PARIS) -> dt.date:
    """The wall-clock date of an instant in ``zone``."""
    return moment.astimezone(zone).date()


def expected_vehicle(
    fleet: records.Fleet, vehicle: records.VehicleRecord, day: dt.date, now: dt.datetime
) -> Expected:
    """What the report must say about one vehicle, from the sandbox's records."""
    out = Expected(
        fuel_level=vehicle.fuel_level,
        battery_level=vehicle.battery_level,
        days_before_maintenance=vehicle.days_before_maintenance,
        km_before_maintenance=vehicle.km_before_maintenance,
    )
    last = vehicle.status_at
    for trip in fleet.trips(vehicle):
        if local_day(trip.started_at) != day:
            continue
        out.trips += 1
        out.distance += trip.distance
        out.driving += trip.duration
        if trip.fuel_cl is not None:
            out.fuel_l += trip.fuel_cl / 100
            out.fuel_km += trip.distance
        if trip.electric_wh is not None:
            out.kwh += trip.electric_wh / 1000
            out.kwh_km += trip.distance
        last = max(last, trip.stopped_at)
    out.silent = now - last > SILENT_AFTER
    for alert in fleet.alerts_by_vehicle[vehicle.id]:
        if local_day(alert.started_at) == day:
            out.alerts[alert.severity] += 1
    return out


def add_trip(
    fleet: records.Fleet, vehicle: records.VehicleRecord, start: dt.datetime, km: float
) -> None:
    """Give a vehicle one more trip (a petrol or electric one, as the vehicle is)."""
    trips = fleet.trips(vehicle)
    template = trips[0]
    trip = dataclasses.replace(
        template,
        id=f"staged{len(trips):04d}",
        started_at=start,
        stopped_at=start + dt.timedelta(minutes=25),
        distance=km,
        fuel_cl=round(km * 6.5, 1) if template.fuel_cl is not None else None,
        electric_wh=round(km * 170, 1) if template.electric_wh is not None else None,
    )
    trips.append(trip)
    trips.sort(key=lambda t: t.started_at)


def stage(world: ReportWorld, day: dt.date) -> dict[str, Any]:
    """Edge cases: trips at both local midnights, a silent vehicle, low fuel and battery."""
    start, end = day_bounds(day, PARIS)
    staged: dict[str, Any] = {}
    with world.edit() as fleet:
        first = fleet.vehicles[0]
        add_trip(fleet, first, start + dt.timedelta(minutes=30), 12.5)  # first thing that day
        add_trip(fleet, first, start - dt.timedelta(minutes=30), 40.0)  # the day before
        add_trip(fleet, first, end, 70.0)  # next local midnight: the next day
        silent = fleet.vehicles[1]
        silent.trips = []
        silent.status_at = world.now - SILENT_AFTER - dt.timedelta(hours=6)
        fuelled = next(v for v in fleet.vehicles[2:] if v.fuel_level is not None)
        fuelled.fuel_level = 12.5
        charged = next(v for v in fleet.vehicles[2:] if v.battery_level is not None)
        charged.battery_level = 15.0
        staged.update(first=first.vin, silent=silent.vin, fuel=fuelled.vin, battery=charged.vin)
    return staged


def check_vehicle(report: FleetDay, vin: str, want: Expected) -> None:
    """The report's figures for one vehicle equal the expected ones."""
    got = next(v for v in report.vehicles if v.vin == vin)
    assert got.reachable, got.errors
    assert got.trips == want.trips
    assert got.distance_km == pytest.approx(want.distance)
    assert got.driving_s == pytest.approx(want.driving)
    assert got.fuel_l == pytest.approx(want.fuel_l)
    assert got.electric_kwh == pytest.approx(want.kwh)
    assert got.fuel_per_100km == (
        pytest.approx(want.fuel_l / want.fuel_km * 100) if want.fuel_km else None
    )
    assert got.kwh_per_100km == (
        pytest.approx(want.kwh / want.kwh_km * 100) if want.kwh_km else None
    )
    assert got.fuel_level == want.fuel_level
    assert got.battery_level == want.battery_level
    assert got.silent is want.silent
    assert got.days_before_maintenance == want.days_before_maintenance
    assert got.km_before_maintenance == want.km_before_maintenance
    assert got.alerts_started == want.alerts


@pytest.mark.parametrize("now", [WINTER_NOW, DST_NOW], ids=["winter", "dst-end"])
def test_report_figures_equal_the_sandbox(report_world: WorldFactory, now: dt.datetime) -> None:
    """Each vehicle's trips, energy, status and alerts, and the fleet totals, as the sandbox has."""
    with report_world(now) as world:
        day = world.gatherer.yesterday()
        assert day == local_day(now) - dt.timedelta(days=1)
        staged = stage(world, day)
        fleet = world.fleet
        acked = next(a for a in fleet.fleet_alerts() if a.active)
        world.ledger.acknowledge(acked.id, "C0OPS", ACKED_BY)
        calls_before = world.api.calls

        report = world.gatherer.gather()

        want = {v.vin: expected_vehicle(fleet, v, day, now) for v in fleet.vehicles}
        for vin, expected in want.items():
            check_vehicle(report, vin, expected)
        # the staged edges: one trip at 00:30 local counted, the others not
        first = next(v for v in report.vehicles if v.vin == staged["first"])
        originals = [t for t in fleet.trips(fleet.by_vin[staged["first"]]) if t.id[:6] != "staged"]
        assert first.trips == 1 + sum(1 for t in originals if local_day(t.started_at) == day)
        assert {v.vin for v in report.silent} == {staged["silent"]}
        low = {v.vin for v in report.low_energy}
        assert {staged["fuel"], staged["battery"]} <= low
        assert low == {
            v.vin
            for v in fleet.vehicles
            if min(x if x is not None else 100.0 for x in (v.fuel_level, v.battery_level))
            < LOW_ENERGY_PERCENT
        }
        assert [v.vin for v in report.maintenance_due] == due_from_sandbox(fleet)
        assert report.maintenance_source == "fleet"

        # fleet totals and alerts
        assert report.day == day and report.zone == "Europe/Paris"
        assert report.trips == sum(e.trips for e in want.values())
        assert report.distance_km == pytest.approx(sum(e.distance for e in want.values()))
        assert report.fuel_l == pytest.approx(sum(e.fuel_l for e in want.values()))
        assert report.electric_kwh == pytest.approx(sum(e.kwh for e in want.values()))
        started = [a for a in fleet.fleet_alerts() if local_day(a.started_at) == day]
        assert report.alerts_by_severity == Counter(a.severity for a in started)
        assert report.alerts_by_type == Counter(a.type for a in started)
        week = [day - dt.timedelta(days=n) for n in reversed(range(7))]
        assert [d for d, _ in report.alerts_per_day] == week
        for when, counts in report.alerts_per_day:
            assert counts == Counter(
                a.severity for a in fleet.fleet_alerts() if local_day(a.started_at) == when
            )
        open_ids = {a.id for a in fleet.fleet_alerts() if a.active and a.end_at is None}
        assert {o.alert.id for o in report.open_alerts} == open_ids - {acked.id}
        assert all(o.alert.severity == "Critical" for o in report.open_critical)

        # at most two calls per vehicle, counted at the client and seen at the sandbox
        assert report.api_calls == world.api.calls - calls_before
        assert report.api_calls == calls_needed(len(fleet.vehicles))
        sent = world.sandbox.requests[-report.api_calls :]
        fleet_wide = [r for r in sent if "/vehicles/" not in r.path]
        assert [unquote(r.path).rsplit("/", 1)[1] for r in fleet_wide] == ["maintenances"]
        per_vehicle = Counter(
            unquote(r.path).split("/vehicles/")[1].split("/")[0]
            for r in sent
            if "/vehicles/" in r.path
        )
        assert set(per_vehicle) == {v.id for v in fleet.vehicles}
        assert set(per_vehicle.values()) == {CALLS_PER_VEHICLE}


def test_unknown_vehicle_is_no_data_and_failures_leave_the_rest(
    report_world: WorldFactory,
) -> None:
    """A 40410 vehicle has no data (not a failure); a vehicle whose calls fail is not reachable."""
    with report_world(WINTER_NOW, vehicles=20, retry=RetryPolicy(attempts=1)) as world:
        day = world.gatherer.yesterday()
        ghost = {"id": "0" * 24, "vin": "VF3GHOST000000000", "brand": "Peugeot", "model": None}
        alone = world.gatherer.gather(vehicles=[ghost])
        gone = alone.vehicles[0]
        assert (gone.reachable, gone.trips, gone.status_known, gone.silent) == (
            True, 0, False, True,
        )  # fmt: skip
        assert alone.api_calls == calls_needed(1)

        world.sandbox.fault_seed = 11
        world.sandbox.error_rate = 0.3  # 500/502/503, and no retry: those vehicles fail
        world.sandbox.status_maintenance = True  # the same figures if the list call fails too
        report = world.gatherer.gather()
        world.sandbox.error_rate = 0.0

        fleet = world.fleet
        unreachable = {v.vin for v in report.not_reachable}
        assert 0 < len(unreachable) < len(fleet.vehicles)
        for vehicle in fleet.vehicles:
            if vehicle.vin in unreachable:
                got = next(v for v in report.vehicles if v.vin == vehicle.vin)
                assert got.errors and all("server error" in e for e in got.errors)
            else:
                want = expected_vehicle(fleet, vehicle, day, WINTER_NOW)
                check_vehicle(report, vehicle.vin, want)
        assert report.api_calls == calls_needed(len(fleet.vehicles))


def test_a_day_with_more_trips_than_a_page_costs_no_third_call(
    report_world: WorldFactory,
) -> None:
    """A vehicle with 70 trips that day: one page read (60), flagged as capped, two calls."""
    with report_world(WINTER_NOW, vehicles=3) as world:
        day = world.gatherer.yesterday()
        start, _ = day_bounds(day, PARIS)
        with world.edit() as fleet:
            busy = fleet.vehicles[0]
            for n in range(70):
                add_trip(fleet, busy, start + dt.timedelta(minutes=5 + 10 * n), 1.0)
        report = world.gatherer.gather()
        got = next(v for v in report.vehicles if v.vin == busy.vin)
        assert got.trips_capped and got.trips == 60
        assert report.api_calls == calls_needed(3)


@pytest.mark.parametrize(
    ("day", "hours"),
    [(dt.date(2026, 10, 25), 25), (dt.date(2026, 3, 29), 23), (dt.date(2026, 11, 19), 24)],
)
def test_a_local_day_is_midnight_to_midnight_in_its_zone(day: dt.date, hours: int) -> None:
    """Day bounds follow the zone's clock changes; "yesterday" is the zone's yesterday."""
    start, end = day_bounds(day, PARIS)
    assert (end - start) == dt.timedelta(hours=hours)
    assert start.astimezone(PARIS).time() == dt.time(0) == end.astimezone(PARIS).time()
    late = dt.datetime(2026, 11, 19, 23, 30, tzinfo=dt.UTC)  # already the 20th in Paris
    assert previous_day(PARIS, late) == dt.date(2026, 11, 19)
    assert previous_day(ZoneInfo("UTC"), late) == dt.date(2026, 11, 18)


def due_from_sandbox(fleet: records.Fleet) -> list[str]:
    """VINs whose maintenance is due within 14 days or 1,000 km (or late), soonest first."""
    far = float("inf")
    due = [
        v
        for v in fleet.vehicles
        if (v.days_before_maintenance is not None and v.days_before_maintenance <= 14)
        or (v.km_before_maintenance is not None and v.km_before_maintenance <= 1_000)
    ]
    due.sort(
        key=lambda v: (
            far if v.days_before_maintenance is None else v.days_before_maintenance,
            far if v.km_before_maintenance is None else v.km_before_maintenance,
            v.label,
        )
    )
    return [v.vin for v in due]


def test_sandbox_maintenance_has_every_case(report_world: WorldFactory) -> None:
    """A few vehicles due by date or by distance, one overdue on both, most far off."""
    assert (MAINTENANCE_DAYS, MAINTENANCE_KM) == (14, 1_000)  # what due_from_sandbox assumes
    with report_world(WINTER_NOW) as world:
        vehicles = world.fleet.vehicles
        due = due_from_sandbox(world.fleet)
        late = [
            v
            for v in vehicles
            if (v.days_before_maintenance or 0) < 0 and (v.km_before_maintenance or 0) < 0
        ]
        assert len(late) == 1 and late[0].vin == due[0]
        assert 3 <= len(due) <= len(vehicles) // 2
        assert any(v.days_before_maintenance is None for v in vehicles)
        assert any(v.km_before_maintenance is None for v in vehicles)


@pytest.mark.parametrize("refusal", [404, 405, 501])
def test_maintenance_falls_back_on_the_status_when_the_list_is_refused(
    report_world: WorldFactory, refusal: int
) -> None:
    """Refused as the poller's rule says: each status's block, still two calls per vehicle."""
    with report_world(WINTER_NOW) as world:
        world.sandbox.refuse_maintenances(refusal)
        world.sandbox.status_maintenance = True
        report = world.gatherer.gather()
        assert report.maintenance_source == "status"
        assert [v.vin for v in report.maintenance_due] == due_from_sandbox(world.fleet)
        assert not report.not_reachable
        assert report.api_calls == calls_needed(len(world.fleet.vehicles))

        world.sandbox.status_maintenance = False  # as the spec: no block, nothing known
        bare = world.gatherer.gather()
        assert bare.maintenance_due == []
        assert all(v.days_before_maintenance is None for v in bare.vehicles)


def test_maintenance_list_wins_over_a_status_block(report_world: WorldFactory) -> None:
    """With both, the fleet-wide list counts; a vehicle it leaves out keeps its status's."""
    with report_world(WINTER_NOW) as world:
        world.sandbox.status_maintenance = True
        with world.edit() as fleet:
            late = fleet.vehicles[2]
        report = world.gatherer.gather()
        assert report.maintenance_source == "fleet"
        got = next(v for v in report.vehicles if v.vin == late.vin)
        assert (got.days_before_maintenance, got.km_before_maintenance) == (
            late.days_before_maintenance,
            late.km_before_maintenance,
        )
