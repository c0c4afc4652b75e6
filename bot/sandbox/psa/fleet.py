"""The sandbox's seeded fleet: vehicles, status, positions, alerts, trips, and time filters.

Everything is generated from ``random.Random`` seeded per vehicle (``f"{seed}:{index}"``), so
a fleet grown with :meth:`Fleet.add_vehicles` equals one created that large, and every run with
the same seed gives the same VINs and ids. Times are relative to the clock at creation ("now"),
so tests that use a fixed clock see fixed data. Trips are generated lazily per vehicle (a fleet
of 1,000 vehicles starts instantly).

Records are kept in plain dataclasses; the two ``render_*`` families turn them into the JSON of
API v3.19.2 (``fleets`` style) or of the 2019 quick-guide spec (``quickguide`` style).
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

# A place: name, longitude, latitude, altitude (m). Coordinates are GeoJSON order [lon, lat].
PLACES: tuple[tuple[str, float, float, float], ...] = (
    ("Paris La Défense", 2.2384, 48.8919, 35.0),
    ("Lyon Part-Dieu", 4.8590, 45.7606, 170.0),
    ("Rennes", -1.6778, 48.1173, 40.0),
    ("Sochaux plant", 6.8297, 47.5117, 320.0),
    ("Poissy plant", 2.0412, 48.9284, 30.0),
    ("Marseille port", 5.3573, 43.3116, 5.0),
    ("Lille Europe", 3.0752, 50.6392, 25.0),
    ("Bordeaux Mérignac", -0.7154, 44.8283, 50.0),
    ("Mulhouse plant", 7.3590, 47.7831, 240.0),
    ("Rennes La Janais plant", -1.7196, 48.0747, 45.0),
    ("Nantes", -1.5536, 47.2184, 20.0),
    ("Toulouse Blagnac", 1.3642, 43.6291, 150.0),
    ("Strasbourg", 7.7521, 48.5734, 140.0),
    ("Vélizy-Villacoublay", 2.1889, 48.7833, 170.0),
    ("Rüsselsheim", 8.4119, 49.9924, 90.0),
    ("Turin Mirafiori", 7.6347, 45.0343, 240.0),
    ("Madrid Villaverde", -3.6949, 40.3478, 600.0),
    ("Brussels", 4.3517, 50.8503, 60.0),
)

# brand, WMI (VIN prefix), models: (label, motorization, fuel)
BRANDS: tuple[tuple[str, str, tuple[tuple[str, str, str], ...]], ...] = (
    (
        "Peugeot",
        "VF3",
        (
            ("208 1.2 PureTech 100", "Thermic", "Petrol"),
            ("e-208 GT", "Electric", ""),
            ("3008 Hybrid4 300", "Hybrid", "Petrol"),
            ("Partner 1.5 BlueHDi 130", "Thermic", "Gasoil"),
            ("e-Expert Long", "Electric", ""),
        ),
    ),
    (
        "Citroën",
        "VF7",
        (
            ("C3 PureTech 83", "Thermic", "Petrol"),
            ("ë-C4", "Electric", ""),
            ("C5 Aircross Hybrid 225", "Hybrid", "Petrol"),
            ("Berlingo BlueHDi 100", "Thermic", "Gasoil"),
        ),
    ),
    (
        "Opel",
        "W0L",
        (
            ("Corsa-e", "Electric", ""),
            ("Astra Plug-in Hybrid", "Hybrid", "Petrol"),
            ("Vivaro 2.0 Diesel", "Thermic", "Gasoil"),
        ),
    ),
    (
        "DS",
        "VR1",
        (
            ("DS 3 E-Tense", "Electric", ""),
            ("DS 7 E-Tense 4x4 300", "Hybrid", "Petrol"),
        ),
    ),
)

# v3 alert type, severity, 2019 quick-guide type (from the 2019 AlertMsgEnum), en label, fr label
ALERT_TYPES: tuple[tuple[str, str, str, str, str], ...] = (
    (
        "AddWasherFluid",
        "Information",
        "washerLevelAlarm",
        "Add washer fluid",
        "Ajouter du liquide lave-glace",
    ),
    ("OilLevelLow", "Warning", "alertOilLevel", "Oil level low", "Niveau d'huile bas"),
    (
        "CoolantLevellow",
        "Warning",
        "alertCollantLevel",
        "Coolant level low",
        "Niveau de liquide de refroidissement bas",
    ),
    (
        "EngineOilPressureFailure",
        "Critical",
        "alertOilPressure",
        "Engine oil pressure failure",
        "Défaut de pression d'huile moteur",
    ),
    (
        "EngineTemperatureFailure",
        "Critical",
        "alertCollantTemp",
        "Engine temperature too high",
        "Température moteur trop élevée",
    ),
    (
        "LeftFrontTireUnderInflated",
        "Warning",
        "frontLeftTirePressureAlarm",
        "Front left tyre under-inflated",
        "Pneu avant gauche sous-gonflé",
    ),
    (
        "RightRearTirePuncture",
        "Critical",
        "rearRightFlatTireAlarm",
        "Rear right tyre punctured",
        "Pneu arrière droit crevé",
    ),
    (
        "ReplaceBrakePads",
        "Warning",
        "padWearFault",
        "Replace brake pads",
        "Remplacer les plaquettes de frein",
    ),
    ("FuelLevelLow", "Information", "fuelLevelAlarm", "Fuel level low", "Niveau de carburant bas"),
    (
        "WaterInTheDieselFuelFilter",
        "Warning",
        "waterInGasoil",
        "Water in the diesel fuel filter",
        "Présence d'eau dans le filtre à gazole",
    ),
    (
        "HeadlightsFault",
        "Information",
        "leftHeadlightFault",
        "Headlights fault",
        "Défaut des projecteurs",
    ),
    (
        "BrakingSystemFailure",
        "Critical",
        "alertBrakeFluid",
        "Braking system failure",
        "Défaillance du système de freinage",
    ),
    ("RiskOfIce", "Information", "iceRiskAlarm", "Risk of ice", "Risque de verglas"),
    ("TrunkOrHoodOpen", "Information", "trunkOpen", "Trunk or hood open", "Coffre ou capot ouvert"),
    (
        "ParticleFilterFull",
        "Warning",
        "fapFault",
        "Particle filter full",
        "Filtre à particules plein",
    ),
    ("AbsBrakingSystemFault", "Warning", "absFault", "ABS fault", "Défaut ABS"),
    (
        "PowerSteeringFailure",
        "Critical",
        "steeringFault",
        "Power steering failure",
        "Défaillance de la direction assistée",
    ),
    (
        "ReplaceTheRemoteControlBattery",
        "Information",
        "batteryKeyAlarm",
        "Replace the remote control battery",
        "Remplacer la pile de la télécommande",
    ),
)
ELECTRIC_ALERTS: tuple[tuple[str, str, str, str, str], ...] = (
    ("ChargingFailure", "Warning", "chargingFailure", "Charging failure", "Échec de la charge"),
    (
        "ElectricTractionSystemFault",
        "Critical",
        "electricTractionSystemFault",
        "Electric traction system fault",
        "Défaut du système de traction électrique",
    ),
)
_ALERT_INFO = {row[0]: row for row in ALERT_TYPES + ELECTRIC_ALERTS}
_THERMIC_ONLY = {"FuelLevelLow", "WaterInTheDieselFuelFilter", "ParticleFilterFull", "OilLevelLow"}

_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


Window = tuple[datetime | None, datetime | None]


class IntervalError(ValueError):
    """A ``timestamps`` item is not an ISO-8601 interval the sandbox understands."""


# ----------------------------------------------------------------------------------- records


@dataclass
class Place:
    """A point on the map: GeoJSON order plus a readable name."""

    name: str
    lon: float
    lat: float
    alt: float
    heading: int = 0


@dataclass
class VehicleRecord:
    """One simulated vehicle and its latest status."""

    index: int
    id: str
    vin: str
    brand: str
    label: str
    motorization: str  # Thermic | Hybrid | Electric
    fuel: str  # Petrol | Gasoil | "" (electric)
    created_at: datetime
    updated_at: datetime
    place: Place
    status_at: datetime
    mileage: float
    fuel_level: float | None
    fuel_autonomy: int | None
    battery_level: float | None
    battery_autonomy: int | None
    plugged: bool
    moving: bool
    speed: float
    voltage: float
    trips: list[TripRecord] | None = None
    #: next maintenance (negative: overdue); the spec promises at least one of the two
    days_before_maintenance: int | None = None
    km_before_maintenance: float | None = None


@dataclass
class AlertRecord:
    """One alert of one vehicle (v3 type names; 2019 names derived when rendered)."""

    id: str
    vehicle_id: str
    vin: str
    type: str
    severity: str
    active: bool
    created_at: datetime
    updated_at: datetime
    started_at: datetime
    end_at: datetime | None
    start_place: Place
    end_place: Place | None = None


@dataclass
class TripRecord:
    """One finished trip of one vehicle."""

    id: str
    vehicle_id: str
    vin: str
    started_at: datetime
    stopped_at: datetime
    start_place: Place
    stop_place: Place
    distance: float  # km
    start_mileage: float
    fuel_cl: float | None  # fuel used, centilitres
    electric_wh: float | None  # electricity used, Wh
    start_levels: dict[str, float] = field(default_factory=dict)
    end_levels: dict[str, float] = field(default_factory=dict)
    avg_speed: float = 0.0
    max_speed: float = 0.0

    @property
    def duration(self) -> int:
        """Duration in whole seconds."""
        return int((self.stopped_at - self.started_at).total_seconds())


# ------------------------------------------------------------------------------- generation


def vin_check_digit(vin: str) -> str:
    """Compute the ISO 3779 / North-American check digit (position 9) of a 17-character VIN."""
    total = sum(_VIN_VALUES[ch] * w for ch, w in zip(vin, _VIN_WEIGHTS, strict=True))
    rest = total % 11
    return "X" if rest == 10 else str(rest)


def make_vin(rng: random.Random, wmi: str, year_code: str) -> str:
    """Build a plausible 17-character VIN with a valid check digit."""
    vds = "".join(rng.choice(_VIN_CHARS) for _ in range(5))
    plant = rng.choice("LSWYJ")
    serial = f"{rng.randrange(1_000_000):06d}"
    draft = f"{wmi}{vds}0{year_code}{plant}{serial}"
    return draft[:8] + vin_check_digit(draft) + draft[9:]


def _near(rng: random.Random, base: Place, km: float) -> Place:
    """Return a place within ``km`` of ``base``."""
    dist = rng.uniform(0.2, km)
    angle = rng.uniform(0, 2 * math.pi)
    dlat = dist * math.cos(angle) / 111.0
    dlon = dist * math.sin(angle) / (111.0 * math.cos(math.radians(base.lat)))
    return Place(
        name=base.name,
        lon=round(base.lon + dlon, 6),
        lat=round(base.lat + dlat, 6),
        alt=round(base.alt + rng.uniform(-10, 10), 1),
        heading=rng.randrange(0, 360),
    )


def _hex_id(rng: random.Random, bits: int = 128) -> str:
    """Return a lower-case hexadecimal identifier of ``bits`` random bits."""
    return f"{rng.getrandbits(bits):0{bits // 4}x}"


def km_between(a: Place, b: Place) -> float:
    """Great-circle distance in km."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat, dlon = lat2 - lat1, math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(h))


class Fleet:
    """The seeded fleet data; not thread-safe on its own (the server holds a lock)."""

    def __init__(self, *, seed: int, fleet_id: str, now: datetime, vehicles: int) -> None:
        self.seed = seed
        self.fleet_id = fleet_id
        self.created_at = now - timedelta(days=400)
        self.anchor = now  # generation "now": fixed so lazily made trips stay consistent
        self.vehicles: list[VehicleRecord] = []
        self.by_id: dict[str, VehicleRecord] = {}
        self.by_vin: dict[str, VehicleRecord] = {}
        self.alerts: dict[str, AlertRecord] = {}
        self.alerts_by_vehicle: dict[str, list[AlertRecord]] = {}
        self._alert_rng = random.Random(f"{seed}:added-alerts")
        self.add_vehicles(vehicles)

    # --- vehicles

    def add_vehicles(self, n: int) -> None:
        """Append ``n`` vehicles, deterministic by seed and position in the fleet."""
        for _ in range(n):
            self._add_vehicle(len(self.vehicles))

    def _add_vehicle(self, index: int) -> None:
        rng = random.Random(f"{self.seed}:{index}")
        now = self.anchor
        brand, wmi, models = BRANDS[rng.randrange(len(BRANDS))]
        label, motorization, fuel = models[rng.randrange(len(models))]
        vin = make_vin(rng, wmi, rng.choice("MNPRS"))
        while vin in self.by_vin:  # astronomically rare; keeps VINs unique
            vin = make_vin(rng, wmi, rng.choice("MNPRS"))
        home = PLACES[index % len(PLACES)] if index < len(PLACES) else rng.choice(PLACES)
        place = _near(rng, Place(*home), 12.0)
        electric = motorization in ("Electric", "Hybrid")
        thermic = motorization in ("Thermic", "Hybrid")
        fuel_level = round(rng.uniform(8, 100), 1) if thermic else None
        battery_level = round(rng.uniform(12, 100), 1) if electric else None
        vehicle = VehicleRecord(
            index=index,
            id=_hex_id(rng, 96),
            vin=vin,
            brand=brand,
            label=label,
            motorization=motorization,
            fuel=fuel,
            created_at=self.created_at + timedelta(minutes=index),
            updated_at=now - timedelta(minutes=rng.randrange(5, 600)),
            place=place,
            status_at=now - timedelta(minutes=rng.randrange(1, 90)),
            mileage=round(rng.uniform(1_500, 160_000), 1),
            fuel_level=fuel_level,
            fuel_autonomy=(
                int(fuel_level * (9.0 if motorization == "Thermic" else 6.0))
                if fuel_level is not None
                else None
            ),
            battery_level=battery_level,
            battery_autonomy=(
                int(battery_level * (3.4 if motorization == "Electric" else 0.55))
                if battery_level is not None
                else None
            ),
            plugged=electric and rng.random() < 0.3,
            moving=False,
            speed=0.0,
            voltage=round(rng.uniform(11.9, 12.8), 1),
        )
        if rng.random() < 0.15:
            vehicle.moving = True
            vehicle.speed = round(rng.uniform(20, 110), 1)
        self._plan_maintenance(vehicle)
        self.vehicles.append(vehicle)
        self.by_id[vehicle.id] = vehicle
        self.by_vin[vehicle.vin] = vehicle
        self.alerts_by_vehicle[vehicle.id] = []
        self._seed_alerts(rng, vehicle)

    def _plan_maintenance(self, vehicle: VehicleRecord) -> None:
        """Next maintenance: mostly months away; a few due within 14 days or 1,000 km, one late.

        Its own random stream, so the rest of the fleet is the same as before it existed.
        """
        rng = random.Random(f"{self.seed}:{vehicle.index}:maintenance")
        days: int | None = rng.randrange(20, 360)
        km: float | None = round(rng.uniform(1_500, 30_000), 1)
        # the first dozen show every case; a larger fleet has about 3 % due soon
        slot = vehicle.index if vehicle.index < 12 else (4 if rng.random() < 0.03 else -1)
        if vehicle.index == 2:
            days, km = -6, -420.0  # overdue on both counts
        elif slot == 4:
            days = rng.randrange(0, 14)  # due soon by date
        elif slot == 7:
            km = round(rng.uniform(50, 990), 1)  # due soon by distance
        elif slot == 9:
            days, km = rng.randrange(0, 14), None  # some vehicles report only one of the two
        elif slot == 10:
            days = None
        vehicle.days_before_maintenance = days
        vehicle.km_before_maintenance = km

    def find_vehicle(self, key: str) -> VehicleRecord | None:
        """Find a vehicle by API id or VIN."""
        return self.by_id.get(key) or self.by_vin.get(key)

    # --- alerts

    def _alert_choices(self, vehicle: VehicleRecord) -> list[tuple[str, str, str, str, str]]:
        rows = [
            r
            for r in ALERT_TYPES
            if not (vehicle.motorization == "Electric" and r[0] in _THERMIC_ONLY)
        ]
        if vehicle.motorization != "Thermic":
            rows.extend(ELECTRIC_ALERTS)
        return rows

    def _seed_alerts(self, rng: random.Random, vehicle: VehicleRecord) -> None:
        now = self.anchor
        for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
            kind, severity, *_ = rng.choice(self._alert_choices(vehicle))
            started = now - timedelta(minutes=rng.randrange(45, 6 * 24 * 60))
            created = started + timedelta(seconds=rng.randrange(1, 90))  # reported a bit later
            active = rng.random() < 0.4
            end_at = None
            if not active:
                end_at = min(started + timedelta(minutes=rng.randrange(10, 24 * 60)), now)
            self._store_alert(
                AlertRecord(
                    id=_hex_id(rng),
                    vehicle_id=vehicle.id,
                    vin=vehicle.vin,
                    type=kind,
                    severity=severity,
                    active=active,
                    created_at=created,
                    updated_at=max(end_at, created) if end_at else created,
                    started_at=started,
                    end_at=end_at,
                    start_place=_near(rng, vehicle.place, 30.0),
                    end_place=_near(rng, vehicle.place, 30.0) if end_at else None,
                )
            )

    def _store_alert(self, alert: AlertRecord) -> None:
        self.alerts[alert.id] = alert
        self.alerts_by_vehicle[alert.vehicle_id].append(alert)

    def add_alert(
        self, vehicle: VehicleRecord, kind: str, severity: str, started_at: datetime, now: datetime
    ) -> AlertRecord:
        """Create a new active alert on ``vehicle``."""
        alert = AlertRecord(
            id=_hex_id(self._alert_rng),
            vehicle_id=vehicle.id,
            vin=vehicle.vin,
            type=kind,
            severity=severity,
            active=True,
            created_at=now,
            updated_at=now,
            started_at=started_at,
            end_at=None,
            start_place=Place(**vars(vehicle.place)),
        )
        self._store_alert(alert)
        return alert

    def end_alert(self, alert: AlertRecord, at: datetime, now: datetime) -> AlertRecord:
        """Mark ``alert`` as ended at ``at``."""
        vehicle = self.by_id[alert.vehicle_id]
        alert.active = False
        alert.end_at = at
        alert.updated_at = now
        alert.end_place = Place(**vars(vehicle.place))
        return alert

    def vehicle_alerts(self, vehicle: VehicleRecord) -> list[AlertRecord]:
        """Alerts of one vehicle, oldest start first."""
        return sorted(self.alerts_by_vehicle[vehicle.id], key=lambda a: (a.started_at, a.id))

    def fleet_alerts(self) -> list[AlertRecord]:
        """Alerts of the whole fleet, oldest start first."""
        return sorted(self.alerts.values(), key=lambda a: (a.started_at, a.id))

    # --- trips

    def trips(self, vehicle: VehicleRecord) -> list[TripRecord]:
        """A week of trips ending at the fleet's creation time, oldest first (made on demand)."""
        if vehicle.trips is None:
            vehicle.trips = self._make_trips(vehicle)
        return vehicle.trips

    def _make_trips(self, vehicle: VehicleRecord) -> list[TripRecord]:
        rng = random.Random(f"{self.seed}:{vehicle.index}:trips")
        end = self.anchor
        trips: list[TripRecord] = []
        per_day = [rng.randint(2, 6) for _ in range(7)]
        total_km = 0.0
        planned: list[tuple[datetime, float, float]] = []
        for day in range(7):
            midnight = (end - timedelta(days=6 - day)).replace(
                hour=0, minute=0, second=0, microsecond=0
            )
            starts = sorted(rng.uniform(6.5, 20.5) for _ in range(per_day[day]))
            last_end = midnight
            for hour in starts:
                distance = round(
                    rng.choice((rng.uniform(2, 15), rng.uniform(8, 45), rng.uniform(40, 180))), 1
                )
                avg_speed = round(min(110.0, 18 + distance * rng.uniform(0.3, 0.8)), 1)
                started = max(midnight + timedelta(hours=hour), last_end + timedelta(minutes=5))
                duration = distance / avg_speed * 3600
                stopped = started + timedelta(seconds=int(duration))
                if stopped > end - timedelta(minutes=3):
                    break
                last_end = stopped
                planned.append((started, distance, avg_speed))
                total_km += distance
        mileage = max(vehicle.mileage - total_km, 0.0)
        place = _near(rng, vehicle.place, 25.0)
        fuel = vehicle.fuel_level if vehicle.fuel_level is not None else 0.0
        battery = vehicle.battery_level if vehicle.battery_level is not None else 0.0
        for started, distance, avg_speed in planned:
            stopped = started + timedelta(seconds=int(distance / avg_speed * 3600))
            destination = _near(rng, place, max(distance * 0.7, 1.0))
            fuel_cl = electric_wh = None
            start_levels: dict[str, float] = {}
            end_levels: dict[str, float] = {}
            if vehicle.motorization in ("Thermic", "Hybrid"):
                per_100 = (
                    rng.uniform(450, 750)
                    if vehicle.motorization == "Thermic"
                    else rng.uniform(300, 550)
                )
                fuel_cl = round(distance * per_100 / 100, 1)
                start_levels["Fuel"] = round(fuel, 1)
                fuel = max(fuel - fuel_cl / 50.0, 5.0)  # 50 l tank: 1 % = 50 cl
                end_levels["Fuel"] = round(fuel, 1)
            if vehicle.motorization in ("Electric", "Hybrid"):
                share = 1.0 if vehicle.motorization == "Electric" else rng.uniform(0.2, 0.6)
                electric_wh = round(distance * share * rng.uniform(140, 210), 1)  # 14-21 kWh/100 km
                start_levels["Electric"] = round(battery, 1)
                battery = max(battery - electric_wh / 500.0, 5.0)  # 50 kWh pack: 1 % = 500 Wh
                end_levels["Electric"] = round(battery, 1)
            trips.append(
                TripRecord(
                    id=_hex_id(rng),
                    vehicle_id=vehicle.id,
                    vin=vehicle.vin,
                    started_at=started,
                    stopped_at=stopped,
                    start_place=place,
                    stop_place=destination,
                    distance=distance,
                    start_mileage=round(mileage, 1),
                    fuel_cl=fuel_cl,
                    electric_wh=electric_wh,
                    start_levels=start_levels,
                    end_levels=end_levels,
                    avg_speed=avg_speed,
                    max_speed=round(min(avg_speed * rng.uniform(1.4, 2.1), 170.0), 1),
                )
            )
            mileage += distance
            place = destination
            # Refuel/recharge overnight-ish so levels stay plausible.
            if fuel < 15:
                fuel = rng.uniform(85, 100)
            if battery < 20:
                battery = rng.uniform(80, 100)
        return trips


# -------------------------------------------------------------------------- time intervals

_DURATION = re.compile(
    r"^P(?:(?P<y>\d+(?:\.\d+)?)Y)?(?:(?P<mo>\d+(?:\.\d+)?)M)?(?:(?P<w>\d+(?:\.\d+)?)W)?"
    r"(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<mi>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
MAX_REPETITIONS = 10_000


def parse_duration(text: str) -> timedelta:
    """Parse an ISO-8601 duration (years = 365 days, months = 30 days)."""
    match = _DURATION.match(text.strip().upper())
    if not match or text.strip().upper() in ("P", "PT"):
        raise IntervalError(f"not an ISO-8601 duration: {text!r}")
    g = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    days = g["y"] * 365 + g["mo"] * 30 + g["w"] * 7 + g["d"]
    return timedelta(days=days, hours=g["h"], minutes=g["mi"], seconds=g["s"])


def parse_instant(text: str) -> datetime:
    """Parse an RFC 3339 timestamp (also ``+0000`` offsets); a naive value is taken as UTC."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise IntervalError(f"not an RFC 3339 timestamp: {text!r}") from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def parse_interval(text: str, now: datetime) -> list[Window]:
    """Parse one ``timestamps`` item into [start, end) windows (None = unbounded).

    Accepts ``T1/T2``, ``T/``, ``/T``, ``T/D``, ``D/T`` and the repeating ``Rn/T/D[/d]`` or
    ``R/T/D[/d]`` (a window of length ``d``, default 24 h, every ``D`` from ``T``; unbounded
    repetitions stop at ``now``).
    """
    parts = text.split("/")
    if parts[0].upper().startswith("R"):
        return _parse_repeating(parts, now)
    if len(parts) != 2:
        raise IntervalError(f"not an interval: {text!r}")
    left, right = parts[0].strip(), parts[1].strip()
    if not left and not right:
        raise IntervalError(f"empty interval: {text!r}")
    start = end = None
    if left.upper().startswith("P"):
        end = parse_instant(right) if right else now
        start = end - parse_duration(left)
    else:
        start = parse_instant(left) if left else None
        if right.upper().startswith("P"):
            if start is None:
                raise IntervalError(f"a duration needs a start: {text!r}")
            end = start + parse_duration(right)
        elif right:
            end = parse_instant(right)
    if start is not None and end is not None and end < start:
        raise IntervalError(f"interval ends before it starts: {text!r}")
    return [(start, end)]


def _parse_repeating(parts: list[str], now: datetime) -> list[Window]:
    if len(parts) not in (3, 4):
        raise IntervalError(f"not a repeating interval: {'/'.join(parts)!r}")
    count_text = parts[0][1:]
    if count_text and not count_text.isdigit():
        raise IntervalError(f"bad repetition count: {parts[0]!r}")
    start = parse_instant(parts[1])
    period = parse_duration(parts[2])
    window = parse_duration(parts[3]) if len(parts) == 4 else timedelta(hours=24)
    if period <= timedelta(0):
        raise IntervalError("repeating interval needs a positive period")
    count = int(count_text) if count_text else MAX_REPETITIONS
    windows: list[Window] = []
    for k in range(min(count, MAX_REPETITIONS)):
        lo = start + k * period
        if not count_text and lo > now:
            break
        windows.append((lo, lo + window))
    return windows


def parse_timestamps(items: Iterable[str], now: datetime) -> list[Window]:
    """Parse every ``timestamps`` query value into windows."""
    windows: list[Window] = []
    for item in items:
        windows.extend(parse_interval(item, now))
    return windows


def overlaps(windows: list[Window], lo: datetime, hi: datetime | None) -> bool:
    """Tell whether the span [lo, hi] (hi None = still going) meets any window."""
    for start, end in windows:
        if end is not None and lo > end:
            continue
        if start is not None and hi is not None and hi < start:
            continue
        return True
    return False


def within(windows: list[Window], at: datetime) -> bool:
    """Tell whether the instant ``at`` falls in any window."""
    return overlaps(windows, at, at)


# ------------------------------------------------------------------------------- rendering

Links = Callable[[str], dict[str, str]]


def rfc3339(value: datetime) -> str:
    """Format as RFC 3339 UTC with milliseconds and ``Z``."""
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


def java_offset(value: datetime) -> str:
    """Format like the 2019 samples: ``2017-08-10T13:46:39.652+0000``."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def iso_duration(seconds: int) -> str:
    """Format seconds as an ISO-8601 duration (``PT1H2M3S``)."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return text + (f"{secs}S" if secs or text == "PT" else "")


def position_v3(place: Place, at: datetime) -> dict[str, Any]:
    """A v3.19.2 ``Position`` (GeoJSON Feature)."""
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [place.lon, place.lat, place.alt]},
        "properties": {
            "createdAt": rfc3339(at),
            "heading": place.heading,
            "type": "Acquire",
            "signalQuality": 4,
            "fixStatus": "3D",
        },
    }


def position_2019(place: Place, at: datetime) -> dict[str, Any]:
    """A 2019 ``Position`` (GeoJSON Feature, 2019 enum spellings)."""
    return {
        "type": "Feature",
        "createdAt": java_offset(at),
        "geometry": {"type": "Point", "coordinates": [place.lon, place.lat, place.alt]},
        "properties": {
            "createdAt": java_offset(at),
            "updatedAt": java_offset(at),
            "heading": float(place.heading),
            "type": "Aquire",
            "signalQuality": 4,
        },
    }


def vehicle_v3(v: VehicleRecord, link: Links, *, branding: str | None = None) -> dict[str, Any]:
    """A v3.19.2 ``Vehicle``/``VehicleItem``; ``branding`` "single" or "full" adds the extension."""
    base = f"/fleets/{{fid}}/vehicles/{v.id}"
    body: dict[str, Any] = {
        "_links": {
            "self": link(base),
            "fleet": link("/fleets/{fid}"),
            "status": link(base + "/status"),
            "lastPosition": link(base + "/lastPosition"),
            "alerts": link(base + "/alerts"),
            "trips": link(base + "/trips"),
        },
        "id": v.id,
        "vin": v.vin,
        "motorization": v.motorization,
        "brand": v.brand,
        "createdAt": rfc3339(v.created_at),
        "updatedAt": rfc3339(v.updated_at),
    }
    if branding == "single":
        body["_embedded"] = {"extension": {"branding": {"brand": v.brand}}}
    elif branding == "full":
        body["_embedded"] = {"extension": {"branding": {"brand": v.brand, "label": v.label}}}
    return body


def vehicle_2019(v: VehicleRecord, link: Links) -> dict[str, Any]:
    """A 2019 ``Vehicle``."""
    base = f"/fleet/vehicles/{v.id}"
    engines = []
    if v.motorization in ("Thermic", "Hybrid"):
        engines.append({"class": "Thermic", "energy": v.fuel})
    if v.motorization in ("Electric", "Hybrid"):
        engines.append({"class": "Electric"})
    return {
        "_links": {
            "self": link(base),
            "fleet": link("/fleet"),
            "status": link(base + "/status"),
            "lastPosition": link(base + "/lastPosition"),
            "alerts": link(base + "/alerts"),
            "trips": link(base + "/trips"),
        },
        "id": v.id,
        "vin": v.vin,
        "brand": v.brand,
        "label": v.label,
        "engine": engines,
        "createdAt": java_offset(v.created_at),
        "updatedAt": java_offset(v.updated_at),
    }


def status_v3(v: VehicleRecord, link: Links) -> dict[str, Any]:
    """A v3.19.2 ``Status``."""
    at = rfc3339(v.status_at)
    base = f"/fleets/{{fid}}/vehicles/{v.id}"
    energies: list[dict[str, Any]] = []
    if v.fuel_level is not None:
        energies.append(
            {
                "createdAt": at,
                "type": "Fuel",
                "subType": "FossilEnergy",
                "level": v.fuel_level,
                "autonomy": v.fuel_autonomy,
            }
        )
    if v.battery_level is not None:
        energies.append(
            {
                "createdAt": at,
                "type": "Electric",
                "subType": "ElectricEnergy",
                "level": v.battery_level,
                "autonomy": v.battery_autonomy,
                "extension": {
                    "electric": {
                        "charging": {
                            "plugged": v.plugged,
                            "status": "InProgress" if v.plugged else "Disconnected",
                            "chargingMode": "Slow" if v.plugged else "No",
                            "chargingRate": 12 if v.plugged else 0,
                            "remainingTime": "PT2H10M" if v.plugged else "PT0S",
                        }
                    }
                },
            }
        )
    return {
        "_links": {
            "self": link(base + "/status"),
            "vehicle": link(base),
            "fleet": link("/fleets/{fid}"),
        },
        "createdAt": at,
        "updatedAt": at,
        "vin": v.vin,
        "ignition": {"createdAt": at, "type": "Start" if v.moving else "Stop"},
        "lastPosition": position_v3(v.place, v.status_at),
        "energies": energies,
        "odometer": {"createdAt": at, "mileage": v.mileage},
        "kinetic": {"createdAt": at, "moving": v.moving, "speed": v.speed},
        "privacy": {"createdAt": at, "state": "None"},
        "battery": {"createdAt": at, "voltage": v.voltage},
    }


def maintenance_v3(v: VehicleRecord, link: Links) -> dict[str, Any]:
    """A v3.19.2 ``Maintenance`` (also an item of ``MaintenanceList``)."""
    at = rfc3339(v.status_at)
    base = f"/fleets/{{fid}}/vehicles/{v.id}"
    out: dict[str, Any] = {
        "_links": {
            "self": link(base + "/maintenance"),
            "vehicle": link(base),
            "alerts": link(base + "/alerts"),
        },
        "createdAt": at,
        "updatedAt": at,
        "vin": v.vin,
    }
    if v.days_before_maintenance is not None:
        out["daysBeforeMaintenance"] = v.days_before_maintenance
    if v.km_before_maintenance is not None:
        out["mileageBeforeMaintenance"] = v.km_before_maintenance
    return out


def maintenance_2019(v: VehicleRecord, link: Links) -> dict[str, Any]:
    """A 2019 ``Maintenance``: no VIN, whole km, and the spec's own ``daysBeforeMaintenace``."""
    base = f"/fleet/vehicles/{v.id}"
    out: dict[str, Any] = {
        "_links": {"self": link(base + "/maintenance"), "vehicle": link(base)},
        "createdAt": java_offset(v.status_at),
        "updatedAt": java_offset(v.status_at),
    }
    if v.days_before_maintenance is not None:
        out["daysBeforeMaintenace"] = v.days_before_maintenance
    if v.km_before_maintenance is not None:
        out["mileageBeforeMaintenance"] = round(v.km_before_maintenance)
    return out


def maintenance_block(v: VehicleRecord) -> dict[str, Any]:
    """A ``MaintenanceBase`` object, as some gateways add it to a status (not in either spec)."""
    block: dict[str, Any] = {"createdAt": rfc3339(v.status_at), "vin": v.vin}
    if v.days_before_maintenance is not None:
        block["daysBeforeMaintenance"] = v.days_before_maintenance
    if v.km_before_maintenance is not None:
        block["mileageBeforeMaintenance"] = v.km_before_maintenance
    return block


def status_2019(v: VehicleRecord, link: Links) -> dict[str, Any]:
    """A 2019 ``Status``."""
    at = java_offset(v.status_at)
    base = f"/fleet/vehicles/{v.id}"
    energy: list[dict[str, Any]] = []
    if v.fuel_level is not None:
        energy.append(
            {"updatedAt": at, "type": "Fuel", "level": v.fuel_level, "autonomy": v.fuel_autonomy}
        )
    if v.battery_level is not None:
        energy.append(
            {
                "updatedAt": at,
                "type": "Electric",
                "level": v.battery_level,
                "autonomy": v.battery_autonomy,
                "charging": {
                    "plugged": v.plugged,
                    "status": "InProgress" if v.plugged else "Disconnected",
                    "chargingMode": "Slow" if v.plugged else "No",
                    "chargingRate": 12 if v.plugged else 0,
                },
            }
        )
    autonomy = sum(x for x in (v.fuel_autonomy, v.battery_autonomy) if x is not None)
    return {
        "_links": {"self": link(base + "/status"), "vehicle": link(base), "fleet": link("/fleet")},
        "createdAt": at,
        "vin": v.vin,
        "odometer": v.mileage,
        "autonomy": autonomy,
        "kinetic": {"createdAt": at, "moving": v.moving, "speed": v.speed},
        "ignition": {"createdAt": at, "type": "Start" if v.moving else "Stop"},
        "lastPosition": position_2019(v.place, v.status_at),
        "energy": energy,
        "privacy": {"createdAt": at, "state": "None"},
        "battery": {"createdAt": at, "voltage": v.voltage},
    }


def alert_v3(a: AlertRecord, link: Links, *, links: bool = True) -> dict[str, Any]:
    """A v3.19.2 ``Alert`` (no ``label``: it was removed after 3.0.7)."""
    body: dict[str, Any] = {}
    if links:
        base = f"/fleets/{{fid}}/vehicles/{a.vehicle_id}"
        body["_links"] = {"self": link(f"{base}/alerts/{a.id}"), "vehicle": link(base)}
    body.update(
        {
            "id": a.id,
            "vin": a.vin,
            "active": a.active,
            "type": a.type,
            "severity": a.severity,
            "createdAt": rfc3339(a.created_at),
            "updatedAt": rfc3339(a.updated_at),
            "startedAt": rfc3339(a.started_at),
            "startPosition": position_v3(a.start_place, a.started_at),
        }
    )
    if a.end_at is not None:
        body["endAt"] = rfc3339(a.end_at)
    if a.end_place is not None and a.end_at is not None:
        body["endPosition"] = position_v3(a.end_place, a.end_at)
    return body


def quickguide_type(kind: str) -> str:
    """The 2019 name of a v3 alert type (its 2019 enum value, else lower camelCase)."""
    info = _ALERT_INFO.get(kind)
    return info[2] if info else kind[:1].lower() + kind[1:]


def alert_label(kind: str, locale: str | None) -> str:
    """The human label the 2019 API sent, in English or French."""
    info = _ALERT_INFO.get(kind)
    if info is None:
        return re.sub(r"(?<!^)(?=[A-Z])", " ", kind).capitalize()
    return info[4] if (locale or "").lower().startswith("fr") else info[3]


def alert_2019(a: AlertRecord, link: Links, locale: str | None) -> dict[str, Any]:
    """A 2019 ``Alert`` (camelCase type, ``label``, no severity)."""
    base = f"/fleet/vehicles/{a.vehicle_id}"
    body = {
        "_links": {"self": link(f"{base}/alerts/{a.id}"), "vehicle": link(base)},
        "id": a.id,
        "vin": a.vin,
        "active": a.active,
        "type": quickguide_type(a.type),
        "label": alert_label(a.type, locale),
        "createdAt": java_offset(a.created_at),
        "updatedAt": java_offset(a.updated_at),
        "startedAt": rfc3339(a.started_at),
        "startPosition": position_2019(a.start_place, a.started_at),
    }
    if a.end_at is not None:
        body["endAt"] = rfc3339(a.end_at)
    if a.end_place is not None and a.end_at is not None:
        body["endPosition"] = position_2019(a.end_place, a.end_at)
    return body


def _energy_list(levels: dict[str, float]) -> list[dict[str, Any]]:
    """LiteEnergy items for a trip's start or end levels."""
    sub = {"Fuel": "FossilEnergy", "Electric": "ElectricEnergy"}
    return [{"type": k, "subType": sub[k], "level": v} for k, v in levels.items()]


def trip_v3(t: TripRecord, link: Links) -> dict[str, Any]:
    """A v3.19.2 ``Trip``."""
    base = f"/fleets/{{fid}}/vehicles/{t.vehicle_id}"
    consumptions: list[dict[str, Any]] = []
    if t.fuel_cl is not None:
        consumptions.append(
            {
                "type": "Fuel",
                "subType": "FossilEnergy",
                "consumption": t.fuel_cl,
                "avgConsumption": round(t.fuel_cl / t.distance * 100, 1) if t.distance else 0.0,
            }
        )
    if t.electric_wh is not None:
        consumptions.append(
            {
                "type": "Electric",
                "subType": "ElectricEnergy",
                "consumption": t.electric_wh,
                "avgConsumption": round(t.electric_wh / t.distance * 100, 1) if t.distance else 0.0,
            }
        )
    return {
        "_links": {"self": link(f"{base}/trips/{t.id}"), "vehicle": link(base)},
        "id": t.id,
        "vin": t.vin,
        "createdAt": rfc3339(t.stopped_at + timedelta(seconds=40)),
        "updatedAt": rfc3339(t.stopped_at + timedelta(seconds=40)),
        "startedAt": rfc3339(t.started_at),
        "stoppedAt": rfc3339(t.stopped_at),
        "startPosition": position_v3(t.start_place, t.started_at),
        "stopPosition": position_v3(t.stop_place, t.stopped_at),
        "duration": t.duration,
        "distance": t.distance,
        "startMileage": t.start_mileage,
        "startEnergies": _energy_list(t.start_levels),
        "endEnergies": _energy_list(t.end_levels),
        "energyConsumptions": consumptions,
        "kinetic": {"avgSpeed": t.avg_speed, "maxSpeed": t.max_speed},
        "done": True,
        "faults": [],
    }


def trip_2019(t: TripRecord, link: Links) -> dict[str, Any]:
    """A 2019 ``Trip`` (duration as ISO string, avgConsumption in l or kWh per 100 km)."""
    base = f"/fleet/vehicles/{t.vehicle_id}"
    avg: list[dict[str, Any]] = []
    if t.fuel_cl is not None and t.distance:
        avg.append({"type": "Fuel", "value": round(t.fuel_cl / 100 / t.distance * 100, 2)})
    if t.electric_wh is not None and t.distance:
        avg.append({"type": "Electric", "value": round(t.electric_wh / 1000 / t.distance * 100, 2)})
    if t.fuel_cl is None:
        zero = 100.0
    elif t.electric_wh is None:
        zero = 0.0
    else:
        zero = round(min(t.electric_wh / 160.0 / t.distance * 100, 100.0), 1) if t.distance else 0.0
    return {
        "_links": {"self": link(f"{base}/trips/{t.id}"), "vehicle": link(base)},
        "id": t.id,
        "vin": t.vin,
        "startedAt": rfc3339(t.started_at),
        "stoppedAt": rfc3339(t.stopped_at),
        "duration": iso_duration(t.duration),
        "distance": t.distance,
        "zeroEmissionRatio": zero,
        "odometer": round(t.start_mileage + t.distance, 1),
        "avgConsumption": avg,
        "createdAt": java_offset(t.stopped_at + timedelta(seconds=40)),
        "updatedAt": java_offset(t.stopped_at + timedelta(seconds=40)),
        "startPosition": position_2019(t.start_place, t.started_at),
        "stopPosition": position_2019(t.stop_place, t.stopped_at),
    }


def fleet_v3(fleet: Fleet, link: Links, now: datetime) -> dict[str, Any]:
    """A v3.19.2 ``Fleet``."""
    return {
        "_links": {
            "self": link("/fleets/{fid}"),
            "vehicles": link("/fleets/{fid}/vehicles"),
            "alerts": link("/fleets/{fid}/alerts"),
            "monitors": link("/fleets/{fid}/monitors"),
        },
        "id": fleet.fleet_id,
        "name": "Sandbox fleet",
        "description": f"{len(fleet.vehicles)} simulated vehicles",
        "createdAt": rfc3339(fleet.created_at),
        "updatedAt": rfc3339(now),
    }


def fleet_2019(fleet: Fleet, link: Links, now: datetime) -> dict[str, Any]:
    """A 2019 ``Fleet``."""
    return {
        "_links": {"self": link("/fleet"), "Vehicles": link("/fleet/vehicles")},
        "email": "fleet-manager@sandbox.invalid",
        "businessName": "Sandbox fleet",
        "description": f"{len(fleet.vehicles)} simulated vehicles",
        "createdAt": java_offset(fleet.created_at),
        "updatedAt": java_offset(now),
    }
