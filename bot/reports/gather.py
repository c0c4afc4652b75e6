"""The daily fleet report's figures: one local day, per vehicle and for the whole fleet.

A trip belongs to the day it started, in the report's IANA zone. Per vehicle the report spends
at most two API calls, the day's trips (one page) and the status, fetched concurrently through
the one shared client as the poller does; alerts come from the ledger, never from the API.
Maintenance comes from one fleet-wide paged call (``/maintenances``, 60 vehicles a page); where
the gateway refuses it (the poller's rule, :func:`~bot.psa.client.refuses_route`) or leaves a
vehicle out, the status's ``maintenance`` block is read instead.
"No data" is an empty answer; any other API error marks that vehicle not reachable and the
report goes on without it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.directory import display_name
from bot.errors import ApiError, CertificateError, NoData
from bot.psa.client import refuses_route
from bot.psa.models import Maintenance, Trip, VehicleStatus
from bot.reports.day import (
    CHART_DAYS,
    SILENT_AFTER,
    FleetDay,
    LedgerAlert,
    OpenAlert,
    VehicleDay,
)
from bot.reports.ledger_queries import alerts_started, open_unacknowledged
from bot.store import Ledger
from bot.store.ledger import utcnow

log = logging.getLogger(__name__)

CALLS_PER_VEHICLE = 2  # the day's trips (one page) + the status
MAINTENANCE_PAGE = 60  # vehicles per page of the fleet's maintenances (the API's largest page)
#: trips read per vehicle: one page, so a busy vehicle never costs a third call
MAX_TRIPS = 60
WORKERS = 10

# Units the API uses for a trip's consumption (spec 3.19.2: cL of fuel, Wh of electricity).
_TO_LITRES = {"cl": 0.01, "l": 1.0, "ml": 0.001, "dl": 0.1}
_TO_KWH = {"wh": 0.001, "kwh": 1.0, "mwh": 1000.0}


MAINTENANCE_REFUSED = (
    "report: the API refuses the fleet-wide maintenance list (HTTP %s: %s); "
    "reading maintenance from each vehicle's status instead"
)
MAINTENANCE_FAILED = "report: the fleet-wide maintenance list was not read (%s); using statuses"


def maintenance_pages(vehicles: int) -> int:
    """Pages of the fleet-wide maintenance list for a fleet this size (at least one call)."""
    return max(1, math.ceil(vehicles / MAINTENANCE_PAGE))


def calls_needed(vehicles: int) -> int:
    """The most API calls a report on ``vehicles`` vehicles spends (the budget asks this)."""
    return CALLS_PER_VEHICLE * vehicles + maintenance_pages(vehicles)


class ReportSource(Protocol):
    """What the report needs from the API client (``PsaClient`` has it)."""

    @property
    def calls(self) -> int: ...

    def trips(
        self, vid: str, start: dt.datetime | None = None, end: dt.datetime | None = None
    ) -> Iterable[Trip]: ...

    def status(self, vid: str) -> VehicleStatus: ...

    def maintenances(
        self, page_size: int = ..., *, more_pages: Callable[[int], bool] | None = None
    ) -> Iterable[Maintenance]: ...


def previous_day(zone: ZoneInfo, now: dt.datetime) -> dt.date:
    """Yesterday as seen on a wall clock in ``zone`` at ``now``."""
    return now.astimezone(zone).date() - dt.timedelta(days=1)


def day_bounds(day: dt.date, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """[local midnight, next local midnight) of ``day`` in ``zone``, as UTC (23 to 25 h long)."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def trip_energy(trip: Trip) -> tuple[float | None, float | None]:
    """Fuel (L) and electricity (kWh) a trip used; None for an energy it does not report."""
    fuel = electric = None
    for used in trip.energy_consumptions:
        if used.value is None:
            continue
        kind = (used.type or "").lower()
        unit = (used.unit or "").lower()
        if kind == "fuel":
            fuel = (fuel or 0.0) + used.value * _TO_LITRES.get(unit, _TO_LITRES["cl"])
        elif kind == "electric":
            electric = (electric or 0.0) + used.value * _TO_KWH.get(unit, _TO_KWH["wh"])
    if not trip.energy_consumptions and trip.distance_km:
        # 2019 trips give only averages per 100 km (L and kWh, as their samples show)
        for average in trip.avg_consumption:
            if average.value is None:
                continue
            amount = average.value * trip.distance_km / 100
            kind = (average.type or "").lower()
            if kind == "fuel":
                fuel = (fuel or 0.0) + amount
            elif kind == "electric":
                electric = (electric or 0.0) + amount
    return fuel, electric


class DayGatherer:
    """Builds :class:`FleetDay` for a day (see the module docstring)."""

    def __init__(
        self,
        api: ReportSource,
        ledger: Ledger,
        *,
        zone: ZoneInfo | str = "UTC",
        refresh_directory: Callable[[], object] | None = None,
        workers: int = WORKERS,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.api = api
        self.ledger = ledger
        self.zone = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
        self.refresh_directory = refresh_directory
        self.workers = workers
        self.clock = clock

    def yesterday(self) -> dt.date:
        """The day a morning report is about."""
        return previous_day(self.zone, self.clock())

    def gather(
        self, day: dt.date | None = None, *, vehicles: Sequence[Mapping[str, Any]] | None = None
    ) -> FleetDay:
        """The figures of ``day`` (default yesterday) for ``vehicles`` (default the directory).

        Raises CertificateError (nothing can be fetched), never a single vehicle's ApiError.
        """
        day = day or self.yesterday()
        started = time.perf_counter()
        calls_before = self.api.calls
        now = self.clock()
        start, end = day_bounds(day, self.zone)
        rows = list(vehicles) if vehicles is not None else self._directory()

        with ThreadPoolExecutor(self.workers, thread_name_prefix="report") as pool:
            upkeep = pool.submit(self._maintenances, len(rows))
            days = list(pool.map(lambda row: self._vehicle(row, start, end, now), rows))
            listed = upkeep.result()

        by_vin = {v.vin: v for v in days}
        by_id = {v.id: v for v in days}
        for record in listed or ():
            found = by_vin.get(record.vin or "") or by_id.get(record.vehicle_id or "")
            if found is not None:  # the list wins over a status block; absent: the status's
                found.days_before_maintenance = record.days_before
                found.km_before_maintenance = record.km_before

        def owner(alert: LedgerAlert) -> VehicleDay | None:
            return by_vin.get(alert.vin) or by_id.get(alert.vehicle_id or "")

        chart_start, _ = day_bounds(day - dt.timedelta(days=CHART_DAYS - 1), self.zone)
        per_day: dict[dt.date, Counter[str]] = {
            day - dt.timedelta(days=n): Counter() for n in reversed(range(CHART_DAYS))
        }
        by_severity: Counter[str] = Counter()
        by_type: Counter[str] = Counter()
        for alert in alerts_started(self.ledger, chart_start, end):
            assert alert.started_at is not None  # the query matched on it
            local = alert.started_at.astimezone(self.zone).date()
            severity = alert.severity or ""
            if local in per_day:
                per_day[local][severity] += 1
            if start <= alert.started_at < end:
                by_severity[severity] += 1
                by_type[alert.type] += 1
                found = owner(alert)
                if found is not None:
                    found.alerts_started[severity] += 1

        open_alerts: list[OpenAlert] = []
        for alert in open_unacknowledged(self.ledger):
            found = owner(alert)
            if found is not None:
                found.open_alerts.append(alert)
            open_alerts.append(OpenAlert(alert, found.name if found else alert.vin))

        return FleetDay(
            day=day,
            zone=str(self.zone.key),
            start=start,
            end=end,
            generated_at=now,
            vehicles=days,
            alerts_by_severity=by_severity,
            alerts_by_type=by_type,
            alerts_per_day=list(per_day.items()),
            open_alerts=open_alerts,
            maintenance_source="status" if listed is None else "fleet",
            api_calls=self.api.calls - calls_before,
            seconds=time.perf_counter() - started,
        )

    def _maintenances(self, vehicles: int) -> list[Maintenance] | None:
        """The fleet-wide maintenance list (paged, capped at this fleet's pages); None if unread."""
        cap = maintenance_pages(vehicles)
        try:
            return list(
                self.api.maintenances(MAINTENANCE_PAGE, more_pages=lambda pages: pages < cap)
            )
        except CertificateError:
            raise
        except ApiError as exc:
            if refuses_route(exc):
                log.info(MAINTENANCE_REFUSED, exc.status, exc.message)
            else:
                log.warning(MAINTENANCE_FAILED, exc)
            return None

    def _directory(self) -> list[dict[str, Any]]:
        rows = self.ledger.vehicles()
        if not rows and self.refresh_directory is not None:
            self.refresh_directory()
            rows = self.ledger.vehicles()
        return rows

    def _vehicle(
        self, row: Mapping[str, Any], start: dt.datetime, end: dt.datetime, now: dt.datetime
    ) -> VehicleDay:
        vin = str(row.get("vin") or row["id"])
        result = VehicleDay(
            id=str(row["id"]),
            vin=vin,
            name=display_name(vin, row.get("label"), row.get("brand"), row.get("model")),
        )
        trips: list[Trip] = []
        try:
            # islice: never ask for a second page (the call budget is two per vehicle)
            trips = list(itertools.islice(self.api.trips(result.id, start, end), MAX_TRIPS))
        except NoData:
            pass
        except CertificateError:
            raise
        except ApiError as exc:
            log.warning("report: trips of %s not read: %s", vin, exc)
            result.errors.append(str(exc))
        result.trips_capped = len(trips) >= MAX_TRIPS
        for trip in trips:
            # the API matches the interval inclusively: the next day's midnight is not ours
            if trip.started_at is None or not start <= trip.started_at < end:
                continue
            distance = trip.distance_km or 0.0
            result.trips += 1
            result.distance_km += distance
            result.driving_s += trip.duration_s or 0.0
            fuel, electric = trip_energy(trip)
            if fuel is not None:
                result.fuel_l += fuel
                result.fuel_km += distance
            if electric is not None:
                result.electric_kwh += electric
                result.electric_km += distance
            seen = trip.stopped_at or trip.started_at
            result.last_seen = max(result.last_seen or seen, seen)

        try:
            status: VehicleStatus | None = self.api.status(result.id)
        except NoData:
            status = None
        except CertificateError:
            raise
        except ApiError as exc:
            log.warning("report: status of %s not read: %s", vin, exc)
            result.errors.append(str(exc))
            return result  # silence is unknown without the status
        if status is not None:
            result.status_known = True
            for energy in status.energies:
                kind = (energy.type or "").lower()
                if kind == "fuel" and result.fuel_level is None:
                    result.fuel_level = energy.level
                elif kind == "electric" and result.battery_level is None:
                    result.battery_level = energy.level
            result.days_before_maintenance = status.days_before_maintenance
            result.position = status.position
            result.km_before_maintenance = status.km_before_maintenance
            if status.updated_at is not None:
                result.last_seen = max(result.last_seen or status.updated_at, status.updated_at)
        result.silent = result.last_seen is None or now - result.last_seen > SILENT_AFTER
        return result
