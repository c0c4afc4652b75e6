"""Typed, read-only views of the API's HAL+JSON resources (v3.19.2 and 2019 shapes).

Every ``from_api`` tolerates unknown, missing and unreadable fields: what the API leaves out or
writes in a way we cannot use (a wrong type, ``NaN``/``Infinity``, a year-1 Java null date) is
``None`` (or an empty tuple), and the untouched JSON object stays available as ``raw``. A record
as a whole is unreadable only when it is not a JSON object or, for records we store, has no
usable id: then ``from_api`` raises :class:`UnreadableRecord` (a ValueError) and the caller
skips that one record. Nothing here raises anything but ValueError.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Self, TypeVar

from bot.psa.dates import parse_datetime, parse_duration

Json = Mapping[str, Any]
T = TypeVar("T")

NO_COORDINATES = "position without coordinates on Earth"
NOT_AN_OBJECT = "expected a JSON object, got {kind}"
NO_ID = "{kind} without a usable id"
NOT_A_LIST = "_embedded.{key} is not a list but {kind}"
BAD_EMBEDDED = "_embedded is not an object but {kind}"
UNSTORABLE = "a record we cannot store as JSON ({why})"
#: a record's id is a key in our ledger and in Slack button values: longer is not an id
MAX_ID_LENGTH = 200
#: dates outside this range are placeholders (Java's year-1 null date, "9999-12-31"), not events
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)

#: units of ``EnergyConsumption`` per the 3.19.2 spec (``Consumption`` / ``avgConsumption``)
CONSUMPTION_UNITS = {"Fuel": "cL", "Electric": "Wh"}
AVERAGE_UNITS = {"Fuel": "cL/100km", "Electric": "Wh/100km"}


class UnreadableRecord(ValueError):
    """One record from the API cannot be used at all; skip it, keep the rest."""


def _obj(value: object) -> Json:
    return value if isinstance(value, Mapping) else {}


def _require_obj(value: object) -> Json:
    if not isinstance(value, Mapping):
        raise ValueError(NOT_AN_OBJECT.format(kind=type(value).__name__))
    return value


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: object) -> str | None:
    if value is None or isinstance(value, Mapping | list):
        return None
    text = str(value)
    return text or None


def _float(value: object) -> float | None:
    if value is None or isinstance(value, bool | Mapping | list):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]  # anything float() reads is welcome
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None  # NaN/Infinity are no measurement


def _int(value: object) -> int | None:
    number = _float(value)
    return int(number) if number is not None else None


def _bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _date(value: object) -> datetime | None:
    try:
        parsed = parse_datetime(_str(value))
    except ValueError:
        return None  # an unreadable date is a missing date; raw keeps the text
    if parsed is None or not EARLIEST <= parsed < LATEST:
        return None  # a placeholder, and arithmetic on it would overflow downstream
    return parsed


def _id(value: str | None, kind: str) -> str:
    """A record's id, or UnreadableRecord when there is none we could key on."""
    if not value or len(value) > MAX_ID_LENGTH or not value.isprintable():
        raise UnreadableRecord(NO_ID.format(kind=kind))
    return value


def _vin(value: object) -> str | None:
    """A VIN as an identifier (it ends up in button values): unusable ones read as missing."""
    text = _str(value)
    if text is None or len(text) > MAX_ID_LENGTH or not text.isprintable():
        return None
    return text


def finite_json(value: object) -> Any:
    """``value`` as strict JSON data: NaN and ±Infinity become null (SQLite's JSON rejects them).

    UnreadableRecord when it cannot be written as JSON at all (nested too deep, a cycle).
    """
    try:
        text = json.dumps(value, default=str)
        return json.loads(text, parse_constant=lambda _constant: None)
    except (ValueError, TypeError, RecursionError) as exc:
        raise UnreadableRecord(UNSTORABLE.format(why=type(exc).__name__)) from None


def _first(data: Json, *keys: str) -> Any:
    for key in keys:
        if data.get(key) is not None:
            return data[key]
    return None


def _link(data: Json, name: str) -> str | None:
    return _str(_obj(_obj(data.get("_links")).get(name)).get("href"))


def _last_segment_after(href: str | None, marker: str) -> str | None:
    if not href:
        return None
    parts = href.split("?", 1)[0].rstrip("/").split("/")
    for i, part in enumerate(parts[:-1]):
        if part == marker:
            return parts[i + 1] or None
    return None


def pascal_case(value: str) -> str:
    """``addWasherFluid`` (2019 spec) → ``AddWasherFluid`` (v3 spec); others unchanged."""
    return value[:1].upper() + value[1:]


@dataclasses.dataclass(frozen=True)
class Position:
    """A GeoJSON point: longitude, latitude, optional altitude and when it was recorded."""

    lon: float
    lat: float
    alt: float | None = None
    at: datetime | None = None
    heading: int | None = None
    raw: Json = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: object) -> Self:
        """Read a GeoJSON Feature (or bare Point); ValueError if it has no coordinates."""
        obj = _require_obj(data)
        geometry = _obj(obj.get("geometry")) or obj
        coordinates = _list(geometry.get("coordinates"))
        lon = _float(coordinates[0]) if len(coordinates) > 0 else None
        lat = _float(coordinates[1]) if len(coordinates) > 1 else None
        if lon is None or lat is None or not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError(NO_COORDINATES)
        props = _obj(obj.get("properties"))
        return cls(
            lon=lon,
            lat=lat,
            alt=_float(coordinates[2]) if len(coordinates) > 2 else None,
            at=_date(_first(props, "createdAt", "updatedAt") or obj.get("createdAt")),
            heading=_int(props.get("heading")),
            raw=obj,
        )

    @classmethod
    def maybe(cls, data: object) -> Self | None:
        """Like :meth:`from_api`, but None when ``data`` is absent or has no coordinates."""
        try:
            return cls.from_api(data)
        except ValueError:
            return None


@dataclasses.dataclass(frozen=True)
class Fleet:
    """A fleet the partner account can see."""

    id: str
    name: str | None = None
    raw: Json = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: object) -> Self:
        """Read a v3 ``Fleet`` or a 2019 fleet (``businessName``)."""
        obj = _require_obj(data)
        return cls(
            id=_str(obj.get("id")) or _last_segment_after(_link(obj, "self"), "fleets") or "",
            name=_str(_first(obj, "name", "businessName", "label")),
            raw=obj,
        )


@dataclasses.dataclass(frozen=True)
class Vehicle:
    """A vehicle of the fleet; ``id`` is the API's vehicle id used in every path."""

    id: str
    vin: str | None = None
    label: str | None = None
    brand: str | None = None
    model: str | None = None
    motorization: str | None = None
    energies: tuple[str, ...] = ()
    created_at: datetime | None = None
    updated_at: datetime | None = None
    raw: Json = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: object) -> Self:
        """Read a v3 ``Vehicle``/``VehicleItem`` or a 2019 vehicle (``label``, ``engine[]``)."""
        obj = _require_obj(data)
        extension = _obj(_obj(obj.get("_embedded")).get("extension"))
        branding = _obj(extension.get("branding"))
        engines = [_obj(e) for e in _list(obj.get("engine"))]
        energies = tuple(
            e for e in (_str(_first(x, "energy", "class")) for x in engines) if e is not None
        )
        vin = _vin(obj.get("vin"))
        return cls(
            id=_id(
                _str(obj.get("id")) or _last_segment_after(_link(obj, "self"), "vehicles") or vin,
                "vehicle",
            ),
            vin=vin,
            label=_str(_first(obj, "label", "name")) or _str(branding.get("label")),
            brand=_str(obj.get("brand")) or _str(branding.get("brand")),
            model=_str(obj.get("model")),
            motorization=_str(obj.get("motorization"))
            or (_str(engines[0].get("class")) if engines else None),
            energies=energies,
            created_at=_date(obj.get("createdAt")),
            updated_at=_date(obj.get("updatedAt")),
            raw=obj,
        )


@dataclasses.dataclass(frozen=True)
class EnergyLevel:
    """One energy of a vehicle status: fuel or electric level (%) and autonomy (km)."""

    type: str | None
    sub_type: str | None = None
    level: float | None = None
    autonomy_km: float | None = None
    charging_status: str | None = None
    plugged: bool | None = None

    @classmethod
    def from_api(cls, data: object) -> Self:
        """Read a v3 ``Energy`` or a 2019 energy item."""
        obj = _obj(data)
        charging = _obj(obj.get("charging")) or _obj(
            _obj(_obj(obj.get("extension")).get("electric")).get("charging")
        )
        return cls(
            type=_str(obj.get("type")),
            sub_type=_str(obj.get("subType")),
            level=_float(obj.get("level")),
            autonomy_km=_float(obj.get("autonomy")),
            charging_status=_str(charging.get("status")),
            plugged=_bool(charging.get("plugged")),
        )


@dataclasses.dataclass(frozen=True)
class VehicleStatus:
    """The last known state of a vehicle (v3 ``Status``, 2019 status)."""

    vin: str | None = None
    updated_at: datetime | None = None
    energies: tuple[EnergyLevel, ...] = ()
    energy_level: float | None = None
    autonomy_km: float | None = None
    odometer_km: float | None = None
    ignition: str | None = None
    moving: bool | None = None
    speed_kmh: float | None = None
    position: Position | None = None
    days_before_maintenance: int | None = None
    km_before_maintenance: float | None = None
    raw: Json = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: object) -> Self:
        """Read a status; the first energy with a level gives ``energy_level``/``autonomy_km``."""
        obj = _require_obj(data)
        energies = tuple(EnergyLevel.from_api(e) for e in _list(_first(obj, "energies", "energy")))
        main = next((e for e in energies if e.level is not None), energies[0] if energies else None)
        odometer = obj.get("odometer")
        kinetic = _obj(obj.get("kinetic"))
        maintenance = _obj(_first(obj, "maintenance", "service"))
        return cls(
            vin=_vin(obj.get("vin")),
            updated_at=_date(_first(obj, "updatedAt", "createdAt")),
            energies=energies,
            energy_level=main.level if main else None,
            autonomy_km=_float(obj.get("autonomy"))
            if obj.get("autonomy") is not None
            else (main.autonomy_km if main else None),
            odometer_km=_float(_obj(odometer).get("mileage"))
            if isinstance(odometer, Mapping)
            else _float(odometer),
            ignition=_str(_obj(obj.get("ignition")).get("type")),
            moving=_bool(kinetic.get("moving")),
            speed_kmh=_float(kinetic.get("speed")),
            position=Position.maybe(obj.get("lastPosition")),
            days_before_maintenance=_int(maintenance.get("daysBeforeMaintenance")),
            km_before_maintenance=_float(maintenance.get("mileageBeforeMaintenance")),
            raw=obj,
        )


@dataclasses.dataclass(frozen=True)
class Maintenance:
    """When a vehicle's next maintenance is due (v3 ``Maintenance``, 2019 ``Maintenance``).

    Negative values mean overdue (spec 3.19.2); the spec promises at least one of the two.
    """

    vin: str | None = None
    vehicle_id: str | None = None
    days_before: int | None = None
    km_before: float | None = None
    updated_at: datetime | None = None
    raw: Json = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: object, *, vehicle_id: str | None = None) -> Self:
        """Read one record (the 2019 spec spells ``daysBeforeMaintenace``); needs a vehicle."""
        obj = _require_obj(data)
        vin = _str(obj.get("vin"))
        vid = vehicle_id or _last_segment_after(
            _link(obj, "vehicle") or _link(obj, "self"), "vehicles"
        )
        if not vin and not vid:
            raise UnreadableRecord(NO_ID.format(kind="maintenance"))
        return cls(
            vin=vin,
            vehicle_id=vid,
            days_before=_int(_first(obj, "daysBeforeMaintenance", "daysBeforeMaintenace")),
            km_before=_float(obj.get("mileageBeforeMaintenance")),
            updated_at=_date(_first(obj, "updatedAt", "createdAt")),
            raw=obj,
        )


@dataclasses.dataclass(frozen=True)
class Alert:
    """A vehicle alert; ``type_key`` is the PascalCase type whatever the spec version."""

    id: str
    vin: str | None = None
    vehicle_id: str | None = None
    type: str = ""
    severity: str | None = None
    active: bool | None = None
    label: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    started_at: datetime | None = None
    end_at: datetime | None = None
    start_position: Position | None = None
    end_position: Position | None = None
    trip_id: str | None = None
    raw: Json = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @property
    def type_key(self) -> str:
        """The alert type in v3 PascalCase (``addWasherFluid`` → ``AddWasherFluid``)."""
        return pascal_case(self.type)

    @property
    def ended(self) -> bool:
        """True once the API says the alert is over (``active: false`` or an ``endAt``)."""
        return self.active is False or self.end_at is not None

    @classmethod
    def from_api(cls, data: object, *, vehicle_id: str | None = None) -> Self:
        """Read a v3 or 2019 alert (the 2019 spec spells ``startdAt`` and ``endPosition:``)."""
        obj = _require_obj(data)
        return cls(
            id=_id(
                _str(obj.get("id")) or _last_segment_after(_link(obj, "self"), "alerts"), "alert"
            ),
            vin=_vin(obj.get("vin")),
            vehicle_id=vehicle_id
            or _str(obj.get("vehicleId"))
            or _last_segment_after(_link(obj, "vehicle") or _link(obj, "self"), "vehicles"),
            type=_str(obj.get("type")) or "",
            severity=_str(obj.get("severity")),
            active=_bool(obj.get("active")),
            label=_str(obj.get("label")),
            created_at=_date(obj.get("createdAt")),
            updated_at=_date(obj.get("updatedAt")),
            started_at=_date(_first(obj, "startedAt", "startdAt", "startAt")),
            end_at=_date(_first(obj, "endAt", "endedAt")),
            start_position=Position.maybe(obj.get("startPosition")),
            end_position=Position.maybe(_first(obj, "endPosition", "endPosition:")),
            trip_id=_str(obj.get("tid")) or _last_segment_after(_link(obj, "trip"), "trips"),
            raw=obj,
        )


@dataclasses.dataclass(frozen=True)
class EnergyConsumption:
    """Energy used on a trip: ``value`` in ``unit`` (cL of fuel, Wh of electricity)."""

    type: str | None
    value: float | None
    unit: str | None = None
    sub_type: str | None = None
    average: float | None = None
    average_unit: str | None = None

    @classmethod
    def from_api(cls, data: object) -> Self:
        """Read a v3 ``EnergyConsumption``."""
        obj = _obj(data)
        kind = _str(obj.get("type"))
        value = _float(_first(obj, "consumption", "value"))
        average = _float(obj.get("avgConsumption"))
        return cls(
            type=kind,
            value=value,
            unit=_str(obj.get("unit")) or (CONSUMPTION_UNITS.get(kind or "") if value else None),
            sub_type=_str(obj.get("subType")),
            average=average,
            average_unit=AVERAGE_UNITS.get(kind or "") if average is not None else None,
        )


@dataclasses.dataclass(frozen=True)
class AverageConsumption:
    """A 2019 trip's average consumption for one energy type (unit not given by the spec)."""

    type: str | None
    value: float | None

    @classmethod
    def from_api(cls, data: object) -> Self:
        """Read one ``avgConsumption`` item of a 2019 trip."""
        obj = _obj(data)
        return cls(type=_str(obj.get("type")), value=_float(obj.get("value")))


@dataclasses.dataclass(frozen=True)
class TripFault:
    """Why a trip is incomplete (``fault``) and its ``cause``."""

    fault: str | None
    cause: str | None = None


@dataclasses.dataclass(frozen=True)
class Trip:
    """A trip: when, where, how far, how long and what it consumed."""

    id: str
    vin: str | None = None
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    duration_s: float | None = None
    distance_km: float | None = None
    start_position: Position | None = None
    stop_position: Position | None = None
    energy_consumptions: tuple[EnergyConsumption, ...] = ()
    avg_speed: float | None = None
    max_speed: float | None = None
    faults: tuple[TripFault, ...] = ()
    done: bool | None = None
    start_mileage: float | None = None
    avg_consumption: tuple[AverageConsumption, ...] = ()
    zero_emission_ratio: float | None = None
    odometer: float | None = None
    raw: Json = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: object) -> Self:
        """Read a v3 trip or a 2019 trip (duration as a string, ``avgConsumption[]``)."""
        obj = _require_obj(data)
        started = _date(obj.get("startedAt"))
        stopped = _date(obj.get("stoppedAt"))
        try:
            duration = parse_duration(obj.get("duration"))
        except ValueError:
            duration = None
        if duration is None and started and stopped:
            duration = (stopped - started).total_seconds()
        kinetic = _obj(obj.get("kinetic"))
        faults = tuple(
            TripFault(fault=_str(_obj(f).get("fault")), cause=_str(_obj(f).get("cause")))
            for f in _list(obj.get("faults"))
        )
        return cls(
            id=_str(obj.get("id")) or _last_segment_after(_link(obj, "self"), "trips") or "",
            vin=_vin(obj.get("vin")),
            started_at=started,
            stopped_at=stopped,
            duration_s=duration,
            distance_km=_float(obj.get("distance")),
            start_position=Position.maybe(obj.get("startPosition")),
            stop_position=Position.maybe(obj.get("stopPosition")),
            energy_consumptions=tuple(
                EnergyConsumption.from_api(e) for e in _list(obj.get("energyConsumptions"))
            ),
            avg_speed=_float(_first(kinetic, "avgSpeed"))
            if kinetic
            else _float(obj.get("avgSpeed")),
            max_speed=_float(_first(kinetic, "maxSpeed"))
            if kinetic
            else _float(obj.get("maxSpeed")),
            faults=faults,
            done=_bool(obj.get("done")),
            start_mileage=_float(obj.get("startMileage")),
            avg_consumption=tuple(
                AverageConsumption.from_api(a) for a in _list(obj.get("avgConsumption"))
            ),
            zero_emission_ratio=_float(obj.get("zeroEmissionRatio")),
            odometer=_float(obj.get("odometer")),
            raw=obj,
        )


@dataclasses.dataclass(frozen=True)
class Monitor:
    """A push monitor of the fleet: id, name (its ``label``) and status (Running/Paused/…)."""

    id: str
    name: str | None = None
    status: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    raw: Json = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: object) -> Self:
        """Read a v3 ``Monitor`` (``monitorId``, ``monitor.label``) or a 2019 one (``id``)."""
        obj = _require_obj(data)
        parameter = _obj(obj.get("monitor"))
        return cls(
            id=_str(_first(obj, "monitorId", "id"))
            or _last_segment_after(_link(obj, "self"), "monitors")
            or "",
            name=_str(_first(parameter, "label", "name") or _first(obj, "label", "name")),
            status=_str(obj.get("status")),
            created_at=_date(obj.get("createdAt")),
            updated_at=_date(obj.get("updatedAt")),
            raw=obj,
        )


@dataclasses.dataclass(frozen=True)
class MonitorRef:
    """The API's answer to a monitor creation or status change."""

    id: str
    status: str | None = None
    raw: Json = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: object) -> Self:
        """Read a ``MonitorRef`` (``monitorId``, ``status``)."""
        obj = _require_obj(data)
        return cls(
            id=_str(_first(obj, "monitorId", "id"))
            or _last_segment_after(_link(obj, "monitor"), "monitors")
            or "",
            status=_str(obj.get("status")),
            raw=obj,
        )


@dataclasses.dataclass(frozen=True)
class Page:
    """Paging facts of one HAL collection page, with its raw embedded items."""

    items: tuple[Any, ...]
    total: int | None = None
    total_pages: int | None = None
    current_page: int | None = None
    next_href: str | None = None

    @classmethod
    def from_api(cls, data: object, key: str) -> Self:
        """Read a collection page; ``_embedded.<key>`` is matched case-insensitively."""
        obj = _require_obj(data)
        embedded = obj.get("_embedded")
        if embedded is None:
            embedded = {}
        elif not isinstance(embedded, Mapping):
            raise ValueError(BAD_EMBEDDED.format(kind=type(embedded).__name__))
        found: object = embedded.get(key)
        if found is None:
            found = next((v for k, v in embedded.items() if str(k).lower() == key.lower()), None)
        if found is not None and not isinstance(found, list):
            # reading it as "no items" would move a poll cursor past alerts we never saw
            raise ValueError(NOT_A_LIST.format(key=key, kind=type(found).__name__))
        return cls(
            # every item is kept: one that is not an object fails its own from_api, alone
            items=tuple(found or ()),
            total=_int(obj.get("total")),
            total_pages=_int(obj.get("totalPage")),
            current_page=_int(obj.get("currentPage")),
            next_href=_link(obj, "next"),
        )

    def parse(self, factory: Callable[[Any], T]) -> list[T]:
        """The items, each read with ``factory``."""
        return [factory(i) for i in self.items]
