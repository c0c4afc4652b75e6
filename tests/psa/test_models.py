"""Tests of the API models and date handling, on v3.19.2 and 2019 shaped samples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.psa.dates import format_datetime, interval, parse_datetime, parse_duration
from bot.psa.models import (
    Alert,
    Fleet,
    Maintenance,
    Monitor,
    MonitorRef,
    Page,
    Position,
    Trip,
    UnreadableRecord,
    Vehicle,
    VehicleStatus,
)

FEATURE = {
    "type": "Feature",
    "geometry": {"type": "Point", "coordinates": [2.2945, 48.8584, 35.0]},
    "properties": {"createdAt": "2024-05-01T10:00:00Z", "heading": 90},
}


# -- dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01T12:00:00+02:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01T10:00:00.250Z", datetime(2024, 5, 1, 10, 0, 0, 250000, tzinfo=UTC)),
        ("2017-08-10T13:46:39.652+0000", datetime(2017, 8, 10, 13, 46, 39, 652000, tzinfo=UTC)),
        ("2017-08-10T15:46:39+0200", datetime(2017, 8, 10, 13, 46, 39, tzinfo=UTC)),
        ("Mon Jun 03 08:35:36 GMT 2019", datetime(2019, 6, 3, 8, 35, 36, tzinfo=UTC)),
        ("2024-05-01T10:00:00.123456789Z", datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)),
        ("2024-05-01T10:00:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),
    ],
)
def test_parse_datetime_accepts_the_three_formats(text: str, expected: datetime) -> None:
    """RFC 3339, ``+0000`` offsets and Java dates all become aware UTC datetimes."""
    parsed = parse_datetime(text)
    assert parsed == expected
    assert parsed is not None and parsed.utcoffset() == timedelta(0)


def test_parse_datetime_absent_and_unreadable() -> None:
    """None and "" mean no date; garbage is a ValueError naming the text."""
    assert parse_datetime(None) is None
    assert parse_datetime("") is None
    with pytest.raises(ValueError, match="yesterday-ish"):
        parse_datetime("yesterday-ish")


@given(st.datetimes(timezones=st.just(UTC), min_value=datetime(1970, 1, 2)))
def test_format_then_parse_round_trips_to_the_millisecond(value: datetime) -> None:
    """What we send in ``timestamps`` reads back as the same instant (ms precision)."""
    back = parse_datetime(format_datetime(value))
    assert back == value.replace(microsecond=value.microsecond // 1000 * 1000)


def test_interval_shapes() -> None:
    """Closed, open-ended and start-less intervals, in UTC with Z."""
    start = datetime(2024, 5, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    end = datetime(2024, 5, 2, tzinfo=UTC)
    assert interval(start, end) == "2024-05-01T10:00:00Z/2024-05-02T00:00:00Z"
    assert interval(start) == "2024-05-01T10:00:00Z/"
    assert interval(None, end) == "/2024-05-02T00:00:00Z"
    with pytest.raises(ValueError):
        interval()
    with pytest.raises(ValueError):
        interval(end, start)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(125, 125.0), (12.5, 12.5), ("3600", 3600.0), ("PT14H30M", 52200.0), ("P1DT1S", 86401.0)],
)
def test_parse_duration(value: object, seconds: float) -> None:
    """Durations come as numbers (v3), numeric strings or ISO-8601 strings (2019)."""
    assert parse_duration(value) == seconds


def test_parse_duration_absent_and_bad() -> None:
    """None/"" are absent; "P" alone or text is an error."""
    assert parse_duration(None) is None
    assert parse_duration("") is None
    for bad in ("P", "soon"):
        with pytest.raises(ValueError):
            parse_duration(bad)


# -- positions and fleets ------------------------------------------------------------------------


def test_position_from_geojson_feature() -> None:
    """Coordinates are [lon, lat, alt] (the map link, lat first, is tested in tests/messages)."""
    position = Position.from_api(FEATURE)
    assert (position.lon, position.lat, position.alt) == (2.2945, 48.8584, 35.0)
    assert position.at == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert position.heading == 90


def test_position_without_coordinates() -> None:
    """A position with no coordinates is a ValueError, or None through ``maybe``."""
    with pytest.raises(ValueError):
        Position.from_api({"type": "Feature", "geometry": {"type": "Point"}})
    assert Position.maybe(None) is None
    assert Position.maybe({"geometry": {"coordinates": [1]}}) is None
    assert Position.maybe({"geometry": {"coordinates": [1, 2]}}) == Position(lon=1.0, lat=2.0)


def test_fleet_both_shapes() -> None:
    """v3 fleets have id/name; 2019 fleets a businessName and only a self link."""
    assert Fleet.from_api({"id": "F1", "name": "Vans", "_links": {}}) == Fleet("F1", "Vans")
    old = Fleet.from_api(
        {"businessName": "ACME", "_links": {"self": {"href": "https://x/v2/fleets/F9"}}}
    )
    assert (old.id, old.name) == ("F9", "ACME")


# -- vehicles and status -------------------------------------------------------------------------


def test_vehicle_v3_with_branding_extension() -> None:
    """A v3 vehicle takes brand and label from the branding extension."""
    vehicle = Vehicle.from_api(
        {
            "id": "V1",
            "vin": "VF3ABCDE0FG123456",
            "motorization": "Electric",
            "_embedded": {"extension": {"branding": {"brand": "Peugeot", "label": "e-208"}}},
            "createdAt": "2024-01-01T00:00:00Z",
            "future": {"field": True},
        }
    )
    assert (vehicle.id, vehicle.vin, vehicle.brand, vehicle.label) == (
        "V1",
        "VF3ABCDE0FG123456",
        "Peugeot",
        "e-208",
    )
    assert vehicle.motorization == "Electric"
    assert vehicle.created_at == datetime(2024, 1, 1, tzinfo=UTC)
    assert vehicle.raw["future"] == {"field": True}


def test_vehicle_2019_and_minimal() -> None:
    """A 2019 vehicle has a label and engines; a bare VIN still makes a usable vehicle."""
    old = Vehicle.from_api(
        {
            "id": "7",
            "vin": "X",
            "label": "Van 7",
            "engine": [{"class": "Thermic", "energy": "Gasoil"}],
        }
    )
    assert (old.label, old.motorization, old.energies) == ("Van 7", "Thermic", ("Gasoil",))
    bare = Vehicle.from_api({"vin": "VIN1"})
    assert (bare.id, bare.vin, bare.label) == ("VIN1", "VIN1", None)


def test_status_v3() -> None:
    """Energy level, autonomy, mileage, ignition, motion and position from a v3 Status."""
    status = VehicleStatus.from_api(
        {
            "vin": "X",
            "createdAt": "2024-05-01T09:00:00Z",
            "updatedAt": "2024-05-01T10:00:00Z",
            "energies": [
                {
                    "type": "Electric",
                    "level": 81.5,
                    "autonomy": 240,
                    "extension": {
                        "electric": {"charging": {"plugged": True, "status": "InProgress"}}
                    },
                }
            ],
            "odometer": {"mileage": 12345.6, "createdAt": "2024-05-01T10:00:00Z"},
            "ignition": {"type": "Stop"},
            "kinetic": {"moving": False, "speed": 0},
            "lastPosition": FEATURE,
        }
    )
    assert status.energy_level == 81.5
    assert status.autonomy_km == 240
    assert status.odometer_km == 12345.6
    assert status.ignition == "Stop"
    assert status.moving is False and status.speed_kmh == 0
    assert status.position is not None and status.position.lat == 48.8584
    assert status.updated_at == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert status.energies[0].charging_status == "InProgress" and status.energies[0].plugged


def test_status_2019_and_empty() -> None:
    """The 2019 status has a numeric odometer, top-level autonomy and ``energy``; {} works."""
    old = VehicleStatus.from_api(
        {"odometer": 1000, "autonomy": 50, "energy": [{"type": "Fuel", "level": 20}]}
    )
    assert (old.odometer_km, old.autonomy_km, old.energy_level) == (1000.0, 50.0, 20.0)
    empty = VehicleStatus.from_api({})
    assert (empty.energy_level, empty.position, empty.energies) == (None, None, ())


# -- alerts --------------------------------------------------------------------------------------


def test_alert_v3() -> None:
    """Every v3.19.2 alert field lands in its attribute; the vehicle id comes from the link."""
    alert = Alert.from_api(
        {
            "id": "A1",
            "vin": "X",
            "active": True,
            "type": "AddWasherFluid",
            "severity": "Warning",
            "createdAt": "2024-05-01T10:00:00Z",
            "updatedAt": "2024-05-01T10:05:00Z",
            "startedAt": "2024-05-01T09:59:00Z",
            "startPosition": FEATURE,
            "_links": {"self": {"href": "https://h/v3/fleets/F/vehicles/V7/alerts/A1"}},
        }
    )
    assert (alert.id, alert.vehicle_id, alert.type, alert.type_key) == (
        "A1",
        "V7",
        "AddWasherFluid",
        "AddWasherFluid",
    )
    assert alert.severity == "Warning" and alert.active is True and not alert.ended
    assert alert.started_at == datetime(2024, 5, 1, 9, 59, tzinfo=UTC)
    assert alert.start_position is not None and alert.end_position is None
    assert alert.label is None


def test_alert_2019_typos_and_camel_case() -> None:
    """2019 alerts: camelCase type, ``startdAt`` and ``endPosition:`` keys, a label."""
    alert = Alert.from_api(
        {
            "id": "A2",
            "type": "addWasherFluid",
            "label": "Ajouter du lave-glace",
            "active": False,
            "startdAt": "Mon Jun 03 08:35:36 GMT 2019",
            "endAt": "2019-06-03T09:00:00.000+0000",
            "endPosition:": FEATURE,
            "tid": "T5",
        },
        vehicle_id="V2",
    )
    assert alert.type_key == "AddWasherFluid" and alert.type == "addWasherFluid"
    assert alert.label == "Ajouter du lave-glace"
    assert alert.started_at == datetime(2019, 6, 3, 8, 35, 36, tzinfo=UTC)
    assert alert.ended and alert.end_position is not None
    assert (alert.vehicle_id, alert.trip_id) == ("V2", "T5")


def test_alert_tolerates_garbage_fields() -> None:
    """Wrongly typed or unreadable values become None instead of failing the whole alert."""
    alert = Alert.from_api(
        {"id": 5, "active": "maybe", "startedAt": "not a date", "startPosition": "here"}
    )
    assert (alert.id, alert.active, alert.started_at, alert.start_position) == (
        "5",
        None,
        None,
        None,
    )
    with pytest.raises(ValueError):
        Alert.from_api(["not", "an", "object"])


# -- trips ---------------------------------------------------------------------------------------


def test_trip_v3() -> None:
    """A v3.19.2 trip: integer duration, kinetic speeds, energy consumptions with units, faults."""
    trip = Trip.from_api(
        {
            "id": "T1",
            "vin": "X",
            "startedAt": "2024-05-01T08:00:00Z",
            "stoppedAt": "2024-05-01T08:30:00Z",
            "duration": 1800,
            "distance": 21.4,
            "startPosition": FEATURE,
            "stopPosition": FEATURE,
            "energyConsumptions": [
                {"type": "Fuel", "consumption": 150, "avgConsumption": 700},
                {"type": "Electric", "subType": "ElectricEnergy", "consumption": 900},
            ],
            "kinetic": {"avgSpeed": 42.8, "maxSpeed": 90},
            "faults": [{"fault": "DataLacking", "cause": "Connection"}],
            "done": True,
        }
    )
    assert (trip.duration_s, trip.distance_km, trip.avg_speed, trip.max_speed) == (
        1800.0,
        21.4,
        42.8,
        90.0,
    )
    fuel, electric = trip.energy_consumptions
    assert (fuel.type, fuel.value, fuel.unit, fuel.average, fuel.average_unit) == (
        "Fuel",
        150.0,
        "cL",
        700.0,
        "cL/100km",
    )
    assert (electric.unit, electric.sub_type, electric.average) == ("Wh", "ElectricEnergy", None)
    assert trip.faults[0].fault == "DataLacking" and trip.faults[0].cause == "Connection"
    assert trip.done is True and trip.start_position is not None


def test_trip_2019() -> None:
    """A 2019 trip: duration as a string, avgConsumption, zero-emission ratio, odometer."""
    trip = Trip.from_api(
        {
            "id": "T2",
            "duration": "PT1H",
            "avgConsumption": [{"type": "Fuel", "value": 5.4}],
            "zeroEmissionRatio": 0.3,
            "odometer": 42000,
        }
    )
    assert trip.duration_s == 3600.0
    assert trip.avg_consumption[0].type == "Fuel" and trip.avg_consumption[0].value == 5.4
    assert (trip.zero_emission_ratio, trip.odometer) == (0.3, 42000.0)


def test_trip_duration_falls_back_to_the_dates() -> None:
    """An unreadable or missing duration is computed from start and stop when both exist."""
    trip = Trip.from_api(
        {
            "id": "T3",
            "duration": "about an hour",
            "startedAt": "2024-05-01T08:00:00Z",
            "stoppedAt": "2024-05-01T08:10:00Z",
        }
    )
    assert trip.duration_s == 600.0
    assert Trip.from_api({"id": "T4"}).duration_s is None


# -- monitors and pages --------------------------------------------------------------------------


def test_monitor_both_shapes() -> None:
    """v3 monitors carry monitorId and a MonitorParameter label; 2019 ones an id."""
    new = Monitor.from_api(
        {"monitorId": "M1", "status": "Running", "monitor": {"label": "alerts"}, "_links": {}}
    )
    assert (new.id, new.name, new.status) == ("M1", "alerts", "Running")
    old = Monitor.from_api({"id": "M2", "status": "Paused"})
    assert (old.id, old.name, old.status) == ("M2", None, "Paused")
    ref = MonitorRef.from_api({"monitorId": "M3", "status": "Running"})
    assert (ref.id, ref.status) == ("M3", "Running")


def test_page_meta_and_case_insensitive_embedded_key() -> None:
    """Paging facts are read, and ``Collisions`` (capital C) is found under "collisions"."""
    page = Page.from_api(
        {
            "total": 3,
            "totalPage": 2,
            "currentPage": 1,
            "_links": {"self": {"href": "a"}, "next": {"href": "/x?pageToken=2"}},
            "_embedded": {"Collisions": [{"id": "c1"}, {"id": "c2"}, "junk"]},
        },
        "collisions",
    )
    assert (page.total, page.total_pages, page.current_page) == (3, 2, 1)
    assert page.next_href == "/x?pageToken=2"
    # every item is kept: the one that is not an object fails its own from_api, alone
    assert page.items == ({"id": "c1"}, {"id": "c2"}, "junk")
    empty = Page.from_api({"_links": {}}, "alerts")
    assert (empty.items, empty.next_href) == ((), None)


@pytest.mark.parametrize(
    "envelope",
    [
        {"_embedded": "junk"},
        {"_embedded": {"alerts": {"id": "A1"}}},
        {"_embedded": {"Alerts": 5}},
        ["not", "an", "envelope"],
    ],
)
def test_page_with_an_unreadable_envelope_is_an_error(envelope: object) -> None:
    """An envelope we cannot read is an error, never "no alerts" (a cursor would move past them)."""
    with pytest.raises(ValueError):
        Page.from_api(envelope, "alerts")


def test_maintenance_both_shapes_and_without_a_vehicle() -> None:
    """v3 names its VIN; the 2019 spec spells ``daysBeforeMaintenace``; no vehicle is unreadable."""
    v3 = Maintenance.from_api(
        {
            "_links": {"self": {"href": "/fleets/f/vehicles/v1/maintenance"}},
            "createdAt": "2026-11-20T08:00:00Z",
            "vin": "VF3ABCDE0FG123456",
            "daysBeforeMaintenance": -3,
            "mileageBeforeMaintenance": 812.5,
        }
    )
    assert (v3.vin, v3.vehicle_id, v3.days_before, v3.km_before) == (
        "VF3ABCDE0FG123456", "v1", -3, 812.5,
    )  # fmt: skip
    old = Maintenance.from_api(
        {
            "_links": {"vehicle": {"href": "https://x/fleet/vehicles/v2"}},
            "daysBeforeMaintenace": 9,
            "mileageBeforeMaintenance": "NaN",
        }
    )
    assert (old.vin, old.vehicle_id, old.days_before, old.km_before) == (None, "v2", 9, None)
    with pytest.raises(UnreadableRecord):
        Maintenance.from_api({"daysBeforeMaintenance": 1})
