"""What a day of the fleet looks like to the report: plain data, no API client, no ledger.

:mod:`bot.reports.gather` fills it; :mod:`bot.messages.report` and :mod:`bot.reports.chart`
draw it. Kept apart so that what people read depends on data, not on the client that fetched it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter

from bot.psa.models import Position

LOW_ENERGY_PERCENT = 20.0
MAINTENANCE_DAYS = 14
MAINTENANCE_KM = 1_000.0
SILENT_AFTER = dt.timedelta(hours=24)
CHART_DAYS = 7
SEVERITY_ORDER = ("Critical", "Warning", "Information")


@dataclasses.dataclass(frozen=True)
class LedgerAlert:
    """An alert as the report sees it: who, what, how serious, since when."""

    id: str
    vin: str
    vehicle_id: str | None
    type: str
    severity: str | None
    started_at: dt.datetime | None
    position: Position | None = None  # where it started, as the API said


@dataclasses.dataclass(frozen=True)
class OpenAlert:
    """An alert still open and not acknowledged, with the name of its vehicle."""

    alert: LedgerAlert
    vehicle: str


@dataclasses.dataclass
class VehicleDay:
    """One vehicle's day: trips, energy, status, alerts; ``errors`` says what could not be read."""

    id: str
    vin: str
    name: str
    trips: int = 0
    distance_km: float = 0.0
    driving_s: float = 0.0
    fuel_l: float = 0.0
    fuel_km: float = 0.0  # distance of the trips that reported fuel
    electric_kwh: float = 0.0
    electric_km: float = 0.0
    trips_capped: bool = False  # MAX_TRIPS read: there may be more
    status_known: bool = False
    fuel_level: float | None = None
    battery_level: float | None = None
    days_before_maintenance: int | None = None
    km_before_maintenance: float | None = None
    last_seen: dt.datetime | None = None
    position: Position | None = None  # the last one its status gave
    silent: bool = False
    alerts_started: Counter[str] = dataclasses.field(default_factory=Counter)
    open_alerts: list[LedgerAlert] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)

    @property
    def reachable(self) -> bool:
        """False when one of its API calls failed (its figures may be missing)."""
        return not self.errors

    @property
    def fuel_per_100km(self) -> float | None:
        """Litres per 100 km over the trips that used fuel."""
        return self.fuel_l / self.fuel_km * 100 if self.fuel_km else None

    @property
    def kwh_per_100km(self) -> float | None:
        """kWh per 100 km over the trips that used electricity."""
        return self.electric_kwh / self.electric_km * 100 if self.electric_km else None

    @property
    def low_energy(self) -> list[tuple[str, float]]:
        """("fuel" | "battery", level %) for every level under LOW_ENERGY_PERCENT."""
        levels = (("fuel", self.fuel_level), ("battery", self.battery_level))
        return [(k, v) for k, v in levels if v is not None and v < LOW_ENERGY_PERCENT]

    @property
    def maintenance_due(self) -> bool:
        """Maintenance within MAINTENANCE_DAYS or MAINTENANCE_KM (or overdue)."""
        days, km = self.days_before_maintenance, self.km_before_maintenance
        return (days is not None and days <= MAINTENANCE_DAYS) or (
            km is not None and km <= MAINTENANCE_KM
        )


@dataclasses.dataclass
class FleetDay:
    """The whole report's figures; ``api_calls`` is what building it cost in API requests."""

    day: dt.date
    zone: str
    start: dt.datetime
    end: dt.datetime
    generated_at: dt.datetime
    vehicles: list[VehicleDay]
    alerts_by_severity: Counter[str]
    alerts_by_type: Counter[str]
    #: (local day, alerts started by severity), the CHART_DAYS days ending with ``day``
    alerts_per_day: list[tuple[dt.date, Counter[str]]]
    open_alerts: list[OpenAlert]
    #: where maintenance came from: "fleet" (the fleet-wide list) or "status" (its fallback)
    maintenance_source: str = "fleet"
    api_calls: int = 0
    seconds: float = 0.0

    @property
    def trips(self) -> int:
        """Trips started that day, fleet-wide."""
        return sum(v.trips for v in self.vehicles)

    @property
    def distance_km(self) -> float:
        """Distance driven, fleet-wide."""
        return sum(v.distance_km for v in self.vehicles)

    @property
    def driving_s(self) -> float:
        """Driving time in seconds, fleet-wide."""
        return sum(v.driving_s for v in self.vehicles)

    @property
    def fuel_l(self) -> float:
        """Fuel used (L), fleet-wide."""
        return sum(v.fuel_l for v in self.vehicles)

    @property
    def electric_kwh(self) -> float:
        """Electricity used (kWh), fleet-wide."""
        return sum(v.electric_kwh for v in self.vehicles)

    @property
    def fuel_per_100km(self) -> float | None:
        """Fleet litres per 100 km over the trips that used fuel."""
        km = sum(v.fuel_km for v in self.vehicles)
        return self.fuel_l / km * 100 if km else None

    @property
    def kwh_per_100km(self) -> float | None:
        """Fleet kWh per 100 km over the trips that used electricity."""
        km = sum(v.electric_km for v in self.vehicles)
        return self.electric_kwh / km * 100 if km else None

    @property
    def active_vehicles(self) -> int:
        """Vehicles that drove that day."""
        return sum(1 for v in self.vehicles if v.trips)

    @property
    def open_critical(self) -> list[OpenAlert]:
        """Open, unacknowledged Critical alerts, oldest first."""
        return [a for a in self.open_alerts if a.alert.severity == "Critical"]

    @property
    def open_by_severity(self) -> Counter[str]:
        """Open, unacknowledged alerts by severity."""
        return Counter(a.alert.severity or "" for a in self.open_alerts)

    @property
    def low_energy(self) -> list[VehicleDay]:
        """Vehicles under LOW_ENERGY_PERCENT of fuel or battery, lowest first."""
        found = [v for v in self.vehicles if v.low_energy]
        return sorted(found, key=lambda v: (min(level for _, level in v.low_energy), v.name))

    @property
    def maintenance_due(self) -> list[VehicleDay]:
        """Vehicles whose maintenance is due soon or overdue, soonest first."""
        found = [v for v in self.vehicles if v.maintenance_due]
        big = float("inf")
        return sorted(
            found,
            key=lambda v: (
                v.days_before_maintenance if v.days_before_maintenance is not None else big,
                v.km_before_maintenance if v.km_before_maintenance is not None else big,
                v.name,
            ),
        )

    @property
    def silent(self) -> list[VehicleDay]:
        """Vehicles with no data for SILENT_AFTER, longest silent first."""
        found = [v for v in self.vehicles if v.silent]
        oldest = dt.datetime.min.replace(tzinfo=dt.UTC)
        return sorted(found, key=lambda v: (v.last_seen or oldest, v.name))

    @property
    def not_reachable(self) -> list[VehicleDay]:
        """Vehicles whose API calls failed."""
        return [v for v in self.vehicles if not v.reachable]

    def busiest(self) -> list[VehicleDay]:
        """Vehicles that drove, longest distance first."""
        return sorted(
            (v for v in self.vehicles if v.trips), key=lambda v: (-v.distance_km, -v.trips, v.name)
        )
