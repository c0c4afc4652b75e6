"""Positions in words: sites, nearby sites, towns from the real gazetteer, the open sea.

The gazetteer is the shipped GeoNames data (loaded once for the module); the sites come from a
real ledger file. The last tests scan every renderer's output for a bare coordinate pair.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.gazetteer import Gazetteer, distance_km
from bot.messages import alerts, fleet, places, trips
from bot.messages.home import HomeFacts, home_view
from bot.places import SITE_NEAR_KM, Places
from bot.psa.models import Alert, EnergyConsumption, Position, Trip, VehicleStatus
from bot.store import Ledger, StoredAlert

NOW = dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.UTC)
DEPOT = (48.8566, 2.3522)  # Paris, Hôtel de Ville
BARE_PAIR = re.compile(r"\d+\.\d+, ?-?\d+\.\d+")
LINK = re.compile(r"<(https?://[^|>]*)(\|[^>]*)?>")


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    """The real towns, loaded once."""
    return Gazetteer().load()


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    """A ledger file with one site, the depot, 300 m around."""
    store = Ledger(tmp_path / "fleetbot.db", clock=lambda: NOW)
    store.add_site("Depot Nord", *DEPOT, 300, by="U0MANAGER")
    yield store
    store.close()


@pytest.fixture
def namer(ledger: Ledger, gazetteer: Gazetteer) -> Places:
    """The places service as wiring builds it."""
    return Places(ledger.sites, gazetteer)


def label(link: str) -> str:
    """The words of a ``<url|words>`` link."""
    match = LINK.fullmatch(link)
    assert match is not None and match[2], link
    assert match[1].startswith("https://www.openstreetmap.org/?mlat=")
    return match[2][1:]


def test_a_site_hit_reads_at_the_site(namer: Places) -> None:
    """Within the radius: "at <site>", linked to the map at the point itself."""
    link = places.where(Position(lat=48.8570, lon=2.3525), namer)
    assert label(link) == "at Depot Nord"
    assert "mlat=48.85700&mlon=2.35250" in link


def test_a_nearby_site_reads_km_from_it(namer: Places) -> None:
    """Outside the radius but within 20 km: the distance from the site."""
    point = (48.90, 2.40)  # a few km north-east
    words = label(places.where(Position(lat=point[0], lon=point[1]), namer))
    km = distance_km(*point, *DEPOT)
    assert 1 < km < SITE_NEAR_KM
    assert words == f"{km:.1f} km from Depot Nord"


def test_far_from_sites_a_town_from_the_gazetteer(namer: Places) -> None:
    """Beyond 20 km of any site: the nearest town of the gazetteer, with its country code."""
    assert label(places.where(Position(lat=48.1173, lon=-1.6778), namer)) == "near Rennes, FR"
    assert label(places.where(Position(lat=52.5200, lon=13.4050), namer)) == "near Berlin, DE"
    # across the antimeridian and far south
    fiji = label(places.where(Position(lat=-18.14, lon=178.44), namer))
    assert fiji.endswith(", FJ") and fiji.startswith("near ")


def test_the_open_sea_reads_as_a_distance_from_the_nearest_town(namer: Places) -> None:
    """No town within 50 km: "<d> km from <town>, <cc>" (the documented choice)."""
    off_brest = label(places.where(Position(lat=48.0, lon=-6.5), namer))
    assert re.fullmatch(r"\d+ km from [^,]+, (FR|GB)", off_brest), off_brest
    mid_atlantic = places.where_feature(
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-40.0, 35.0]}}, namer
    )
    distance = int(label(mid_atlantic).split(" km", 1)[0].replace(",", ""))
    assert distance > 1000


def test_the_gazetteer_agrees_with_a_full_scan(gazetteer: Gazetteer) -> None:
    """The grid search finds the same town as looking at every town (a spread of points)."""
    points = [(lat, lon) for lat in range(-60, 75, 12) for lon in range(-180, 180, 31)]
    for lat, lon in points:
        found = gazetteer.nearest(lat + 0.3, lon + 0.7)
        scanned = gazetteer._nearest_in(range(len(gazetteer)), lat + 0.3, lon + 0.7)
        assert found is not None and scanned is not None
        if scanned[0] > 7:  # closer, a bigger town within 7 km may win (next test)
            assert found.km == pytest.approx(scanned[0]), (lat, lon)
        else:
            assert found.km <= 7, (lat, lon)


def test_a_city_is_named_rather_than_its_district(gazetteer: Gazetteer) -> None:
    """A point in a city's district reads as the city; a small town on its own keeps its name."""
    berlin = gazetteer.nearest(52.5200, 13.4050)
    assert berlin is not None and (berlin.name, berlin.country) == ("Berlin", "DE")
    own = Gazetteer([("Big", "FR", 48.0, 2.0, 500_000), ("Small", "FR", 48.2, 2.0, 20_000)])
    small = own.nearest(48.19, 2.0)
    assert small is not None and small.name == "Small"
    big = own.nearest(48.03, 2.0)
    assert big is not None and big.name == "Big"


def test_the_nearest_containing_site_wins(ledger: Ledger, gazetteer: Gazetteer) -> None:
    """Inside two sites' radii: the closer one names the point; case-insensitive names."""
    ledger.add_site("Paris area", 48.86, 2.35, 20_000)
    assert ledger.add_site("DEPOT NORD", 1.0, 1.0, 300) is None  # unique in any case
    namer = Places(ledger.sites, gazetteer)
    assert places.place_words(namer.find(48.8566, 2.3522)) == "at Depot Nord"
    assert places.place_words(namer.find(48.80, 2.30)) == "at Paris area"
    assert ledger.remove_site("depot nord") is not None
    assert [s.name for s in ledger.sites()] == ["Paris area"]


def test_sites_are_read_again_after_a_change_or_the_ttl(ledger: Ledger) -> None:
    """The service caches the sites; forget_sites (after add/remove) and the TTL refresh them."""
    reads: list[int] = []
    clock = [0.0]

    def sites() -> list[Any]:
        reads.append(1)
        return ledger.sites()

    namer = Places(
        sites, Gazetteer([("Paris", "FR", *DEPOT, 2_000_000)]), ttl=30, monotonic=lambda: clock[0]
    )
    namer.find(*DEPOT)
    namer.find(*DEPOT)
    assert len(reads) == 1
    namer.forget_sites()
    namer.find(*DEPOT)
    clock[0] = 31.0
    namer.find(*DEPOT)
    assert len(reads) == 3


def test_a_site_name_is_inert_mrkdwn(ledger: Ledger, gazetteer: Gazetteer) -> None:
    """A site called ``<!channel>`` cannot ping anyone, in a position or in the list."""
    ledger.add_site("<!channel> & co", 45.0, 5.0, 500)
    namer = Places(ledger.sites, gazetteer)
    link = places.where(Position(lat=45.0, lon=5.0), namer)
    assert label(link) == "at &lt;!channel&gt; &amp; co"
    listed = str(places.sites_message(ledger.sites()))
    assert "<!channel>" not in listed and "&lt;!channel&gt;" in listed


def test_without_the_service_a_position_is_still_a_link_in_words() -> None:
    """Renderers called without places say "on the map", never the numbers."""
    link = places.where(Position(lat=48.1, lon=-1.6), None)
    assert label(link) == "on the map"
    assert places.where(None, None) == "position unknown"
    assert places.where_feature({"geometry": {"coordinates": ["x"]}}, None) == "position unknown"


def test_open_map_button_links_to_the_point() -> None:
    """The Open map button is a link button (url) on the alert's start position."""
    button = places.open_map_button({"geometry": {"coordinates": [2.35, 48.85, 30]}})
    assert button is not None and button["text"]["text"] == "Open map"
    assert button["url"].startswith("https://www.openstreetmap.org/?mlat=48.85000&mlon=2.35000")
    assert places.open_map_button(None) is None


# -- /trips: speeds, per 100 km, ranges in words ------------------------------------------


def test_trip_line_shows_speeds_and_consumption_per_100_km(namer: Places) -> None:
    """Average and maximum speed, litres per 100 km; both ends named."""
    trip = Trip(
        id="t1",
        started_at=NOW,
        stopped_at=NOW + dt.timedelta(minutes=30),
        duration_s=1800,
        distance_km=40.0,
        start_position=Position(lat=48.8567, lon=2.3523),
        stop_position=Position(lat=48.1173, lon=-1.6778),
        energy_consumptions=(EnergyConsumption(type="Fuel", value=250.0, unit="cL"),),
        avg_speed=48.4,
        max_speed=111.0,
    )
    line = trips.trip_line(trip, dt.UTC, namer)
    assert "avg 48 km/h, max 111 km/h" in line
    assert "2.5 L fuel · 6.2 L/100 km" in line
    assert "|at Depot Nord> → <" in line and "|near Rennes, FR>" in line


@pytest.mark.parametrize(
    ("start", "end", "words"),
    [
        (dt.date(2026, 11, 1), dt.date(2026, 11, 7), "1\u20137 Nov"),
        (dt.date(2026, 10, 28), dt.date(2026, 11, 3), "28 Oct \u2013 3 Nov"),
        (dt.date(2025, 12, 28), dt.date(2026, 1, 3), "28 Dec 2025 \u2013 3 Jan 2026"),
        (dt.date(2025, 3, 1), dt.date(2025, 3, 4), "1\u20134 Mar 2025"),
        (dt.date(2026, 11, 5), dt.date(2026, 11, 5), "5 Nov"),
    ],
)
def test_ranges_read_as_words(start: dt.date, end: dt.date, words: str) -> None:
    """Range labels are words, with the year only when it is not this one."""
    assert trips.range_words(start, end, dt.date(2026, 11, 20)) == words


# -- no bare coordinates anywhere ----------------------------------------------------------


def strings(value: object) -> Iterator[tuple[str, str]]:
    """Every (key, string) in a message, recursively."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if isinstance(inner, str):
                yield key, inner
            else:
                yield from strings(inner)
    elif isinstance(value, list | tuple):
        for inner in value:
            yield from strings(inner)


def bare_pairs(message: object) -> list[str]:
    """Coordinate pairs shown as text: outside link targets and button URLs."""
    found = []
    for key, text in strings(message):
        if key == "url":
            continue
        found += BARE_PAIR.findall(LINK.sub(lambda m: m[2] or "", text))
    return found


def every_renderer(namer: Places | None) -> Iterator[object]:
    """A message from every renderer that can show a position."""
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [-1.6778, 48.1173, 50]},
        "properties": {"createdAt": "2026-11-20T10:00:00Z"},
    }
    raw = {
        "id": "a1",
        "vin": "VF3ABCDEFGH123456",
        "type": "OilLevelLow",
        "severity": "Warning",
        "active": False,
        "startedAt": "2026-11-20T10:00:00Z",
        "endAt": "2026-11-20T11:00:00Z",
        "startPosition": feature,
        "endPosition": feature,
    }
    stored = StoredAlert(
        id="a1",
        vehicle_id="v1",
        vin=raw["vin"],
        type="OilLevelLow",
        severity="Warning",
        active=True,
        started_at=NOW,
        payload=raw,
    )
    api_alert = Alert.from_api(raw)
    position = Position.from_api(feature)
    yield alerts.alert_message(stored, vehicle_name="Van 1", places=namer)
    yield alerts.digest_message([(stored, None), (stored, "U1", NOW)], names={}, places=namer)
    yield alerts.alerts_message("Van 1", [api_alert], 7, "en-GB", namer)
    yield alerts.alert_detail("Van 1", api_alert, "en-GB", places=namer)
    yield fleet.where_message("Van 1", position, namer)
    yield fleet.status_message("Van 1", VehicleStatus(position=position), namer)
    trip = Trip(id="t", started_at=NOW, start_position=position, stop_position=position)
    period = trips.Period(NOW - dt.timedelta(days=1), NOW, "today")
    yield trips.trips_messages("Van 1", [trip], period, dt.UTC, namer)
    if namer is not None:
        yield places.sites_message(namer.sites())
    yield home_view(HomeFacts([stored], {}, [], None, None, None, {}))


@pytest.mark.parametrize("with_places", [True, False])
def test_no_renderer_shows_a_bare_coordinate_pair(namer: Places, with_places: bool) -> None:
    """Every renderer that shows a position: words and links only, with or without places."""
    rendered = list(every_renderer(namer if with_places else None))
    for message in rendered:
        assert bare_pairs(message) == [], message
    # the scan itself sees a pair when one is there, so it cannot pass by accident
    assert bare_pairs({"text": "at 48.1173, -1.6778"}) == ["48.1173, -1.6778"]
    assert bare_pairs({"text": "<https://x/?q=48.1,2.3|48.1, 2.3>"}) == ["48.1, 2.3"]
    assert any("Rennes" in str(m) for m in rendered) is with_places
