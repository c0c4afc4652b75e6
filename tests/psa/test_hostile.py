"""Hostile API data against the models and dates: nothing but ValueError, never a crash later."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.alerts.poller import to_stored
from bot.psa.dates import format_datetime, interval, parse_datetime, parse_duration
from bot.psa.models import (
    EARLIEST,
    LATEST,
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

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
ALERT_KEYS = (
    "id", "vin", "active", "type", "severity", "label", "createdAt", "updatedAt", "startedAt",
    "startdAt", "endAt", "startPosition", "endPosition", "tid", "_links", "vehicleId",
)  # fmt: skip
TRIP_KEYS = (
    "id", "vin", "startedAt", "stoppedAt", "duration", "distance", "startPosition",
    "stopPosition", "energyConsumptions", "kinetic", "faults", "done", "avgConsumption",
    "zeroEmissionRatio", "odometer", "startMileage",
)  # fmt: skip
STATUS_KEYS = (
    "vin", "updatedAt", "energies", "energy", "autonomy", "odometer", "ignition", "kinetic",
    "lastPosition", "maintenance", "service",
)  # fmt: skip
MAINTENANCE_KEYS = (
    "vin", "vehicleId", "_links", "createdAt", "updatedAt", "daysBeforeMaintenance",
    "daysBeforeMaintenace", "mileageBeforeMaintenance",
)  # fmt: skip


@st.composite
def api_dates(draw: st.DrawFn) -> str:
    """A date in one of the API's three formats, often at year 1 or 9999, any offset."""
    year = draw(st.sampled_from([1, 2, 999, 1969, 2024, 9998, 9999]) | st.integers(1, 9999))
    month, day = draw(st.integers(1, 12)), draw(st.integers(1, 31))
    hh, mm, ss = draw(st.integers(0, 23)), draw(st.integers(0, 59)), draw(st.integers(0, 59))
    sign, oh, om = draw(st.sampled_from("+-")), draw(st.integers(0, 23)), draw(st.integers(0, 59))
    fraction = draw(st.sampled_from(["", ".652", ".123456789"]))
    stamp = f"{year:04d}-{month:02d}-{day:02d}T{hh:02d}:{mm:02d}:{ss:02d}{fraction}"
    return draw(
        st.sampled_from(
            [
                f"{stamp}Z",
                f"{stamp}{sign}{oh:02d}:{om:02d}",  # RFC 3339
                f"{stamp}{sign}{oh:02d}{om:02d}",  # "+0000" samples
                f"{DAYS[day % 7]} {MONTHS[month - 1]} {day:02d} {hh:02d}:{mm:02d}:{ss:02d} GMT "
                f"{year:04d}",  # Java Date.toString()
                stamp,
            ]
        )
    )


LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([math.inf, -math.inf, math.nan, 1e308, -1e308, 5e-324, 0.0, -0.0])
    | st.text(max_size=30)
    | st.integers(1_000, 20_000).map(lambda n: "<!channel>&" * n)  # very long strings
    | api_dates()
)
HOSTILE = st.recursive(
    LEAVES,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(("type", "coordinates", "href", "id")), children, max_size=4
        )
    ),
    max_leaves=12,
)


def records(keys: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with any subset of ``keys``, each holding a hostile value."""
    return st.fixed_dictionaries({}, optional={key: HOSTILE for key in keys})


def _check_values(model: object) -> None:
    """Every date of a read model is aware and plausible, every float finite."""
    for name, value in vars(model).items():
        if isinstance(value, datetime):
            assert value.tzinfo is not None and EARLIEST <= value < LATEST, name
        if isinstance(value, float):
            assert math.isfinite(value), name
        if isinstance(value, Position):
            assert -180 <= value.lon <= 180 and -90 <= value.lat <= 90
            _check_values(value)
        if isinstance(value, tuple):
            for item in value:
                if dataclass_like(item):
                    _check_values(item)


def dataclass_like(value: object) -> bool:
    """True for our model objects."""
    return hasattr(value, "__dataclass_fields__")


HOSTILE_SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@HOSTILE_SETTINGS
@given(records(ALERT_KEYS) | HOSTILE)
def test_alert_reads_or_refuses_and_stores_as_strict_json(data: object) -> None:
    """An alert is read with plausible values, or refused with a ValueError; never anything else.

    A read alert becomes a ledger row whose payload is strict JSON (no NaN/Infinity).
    """
    try:
        alert = Alert.from_api(data, vehicle_id="V1")
    except ValueError:
        return
    assert alert.id and len(alert.id) <= 200
    _check_values(alert)
    stored = to_stored(alert, vin="VIN", vehicle_id="V1")
    json.dumps(stored.payload, allow_nan=False)
    if stored.started_at is not None:  # the poller reaches back from it: must not overflow
        assert stored.started_at - timedelta(days=3650) < stored.started_at


@HOSTILE_SETTINGS
@given(
    st.sampled_from(
        [Trip, VehicleStatus, Vehicle, Fleet, Monitor, MonitorRef, Position, Maintenance]
    ),
    records(TRIP_KEYS + STATUS_KEYS + MAINTENANCE_KEYS) | HOSTILE,
)
def test_every_model_reads_or_refuses_with_value_error(model: Any, data: object) -> None:
    """Trips, statuses, vehicles, fleets, monitors, positions, maintenances: ValueError or
    plausible values."""
    try:
        read = model.from_api(data)
    except ValueError:
        return
    _check_values(read)


@HOSTILE_SETTINGS
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "total": HOSTILE,
            "totalPage": HOSTILE,
            "currentPage": HOSTILE,
            "_links": HOSTILE,
            "_embedded": HOSTILE | st.fixed_dictionaries({"alerts": HOSTILE}),
        },
    )
    | HOSTILE
)
def test_page_envelope_reads_or_refuses_with_value_error(data: object) -> None:
    """A HAL envelope is read (numbers finite or None) or refused with a ValueError."""
    try:
        page = Page.from_api(data, "alerts")
    except ValueError:
        return
    for number in (page.total, page.total_pages, page.current_page):
        assert number is None or isinstance(number, int)


@given(api_dates())
def test_api_dates_parse_or_raise_value_error(text: str) -> None:
    """Every format at year 1 and 9999 in any offset: an aware UTC date, or ValueError."""
    try:
        parsed = parse_datetime(text)
    except ValueError as exc:
        assert "unreadable date" in str(exc)
        return
    assert parsed is not None and parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text",
    ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0001-01-01T00:30:00.000+0100"],
)
def test_dates_past_the_calendar_edge_are_value_errors(text: str) -> None:
    """A Java null date in a positive offset used to be an OverflowError that aborted cycles."""
    with pytest.raises(ValueError, match="unreadable date"):
        parse_datetime(text)


@pytest.mark.parametrize(
    "text", ["0001-01-01T00:00:00Z", "Mon Jan 01 00:00:00 GMT 0001", "9999-12-31T23:59:59Z"]
)
def test_placeholder_dates_are_missing_dates_and_the_alert_is_kept(text: str) -> None:
    """A placeholder date (year 1, 9999) is no date: the alert itself is still read."""
    alert = Alert.from_api({"id": "A1", "startedAt": text, "endAt": text, "createdAt": text})
    assert (alert.id, alert.started_at, alert.end_at, alert.created_at) == ("A1", None, None, None)
    assert not alert.ended


@pytest.mark.parametrize(
    "record",
    [
        {"type": "AddWasherFluid"},
        {"id": ""},
        {"id": None},
        {"id": {"nested": 1}},
        {"id": "x" * 201},
        {"id": "a\nb"},
        "junk",
        [1, 2],
    ],
)
def test_records_without_a_usable_id_are_unreadable(record: object) -> None:
    """No id, an empty, huge or multi-line one, or not an object: UnreadableRecord (ValueError)."""
    with pytest.raises(ValueError):
        Alert.from_api(record)
    if isinstance(record, dict):
        with pytest.raises(UnreadableRecord):
            Alert.from_api(record)


@pytest.mark.parametrize("vin", ["V" * 201, "VF3\nXYZ", "", {"nested": 1}])
def test_unusable_vins_read_as_missing(vin: object) -> None:
    """A VIN travels in button values: a huge or multi-line one reads as no VIN, not a crash."""
    assert Alert.from_api({"id": "a1", "vin": vin}).vin is None
    assert Vehicle.from_api({"id": "v1", "vin": vin}).vin is None
    assert Alert.from_api({"id": "a1", "vin": "V" * 200}).vin == "V" * 200


def test_non_finite_numbers_are_missing_numbers() -> None:
    """``Infinity``/``NaN`` from the API (Python's json reads them) are None, not a crash."""
    page = Page.from_api(
        json.loads('{"total": Infinity, "totalPage": NaN, "currentPage": 1e999}'), "alerts"
    )
    assert (page.total, page.total_pages, page.current_page) == (None, None, None)
    trip = Trip.from_api(
        json.loads(
            '{"id": "T", "distance": Infinity, "duration": NaN, "kinetic": {"avgSpeed": -Infinity}}'
        )
    )
    assert (trip.distance_km, trip.duration_s, trip.avg_speed) == (None, None, None)
    position = Position.maybe({"coordinates": [1e308, 48.0]})
    assert position is None


@pytest.mark.parametrize("value", ["Infinity", "NaN", math.inf, math.nan, -5, "-1"])
def test_durations_must_be_finite_seconds(value: object) -> None:
    """A duration that is not a finite, non-negative number of seconds is a ValueError."""
    with pytest.raises(ValueError, match="unreadable duration"):
        parse_duration(value)


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(5, 3, 1, 12, tzinfo=UTC), "0005-03-01T12:00:00Z"),
        (datetime(999, 12, 31, 23, 59, 59, 250_000, tzinfo=UTC), "0999-12-31T23:59:59.250Z"),
        (datetime(2024, 5, 1, 12, tzinfo=timezone(timedelta(hours=2))), "2024-05-01T10:00:00Z"),
        (datetime(2024, 5, 1, 10, 0, 0, 999), "2024-05-01T10:00:00Z"),
    ],
)
def test_timestamps_always_have_four_year_digits(moment: datetime, text: str) -> None:
    """Years below 1000 are zero-padded in ``timestamps`` (``strftime('%Y')`` did not)."""
    assert format_datetime(moment) == text
    assert interval(moment) == f"{text}/"
    assert parse_datetime(text) == moment.astimezone(UTC).replace(
        microsecond=moment.microsecond // 1000 * 1000
    )


@given(st.datetimes(timezones=st.just(UTC)))
def test_any_instant_round_trips_through_timestamps(value: datetime) -> None:
    """Years 1 to 9999 format as RFC 3339 and read back as the same millisecond."""
    assert parse_datetime(format_datetime(value)) == value.replace(
        microsecond=value.microsecond // 1000 * 1000
    )
