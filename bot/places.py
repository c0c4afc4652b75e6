"""Where a point is, as people name it: at a site, some km from one, or near a town.

Built once by the composition root (:mod:`bot.wiring`) from the ledger's sites and the offline
:class:`~bot.gazetteer.Gazetteer`, and handed to whatever renders a position. The words
themselves are :mod:`bot.messages.places`'; this module only decides which place to name.

Decision (DESIGN §5 is silent): a point with no town of 15,000 people within
:data:`REMOTE_KM` is "remote" and is told as its distance from the nearest town ("120 km from
Brest, FR") rather than "at sea": without a coastline the gazetteer cannot tell the sea from a
desert, and the distance is true of both.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Literal

from bot.gazetteer import Gazetteer, distance_km
from bot.store.routes import Site

SITE_NEAR_KM = 20.0  # "<d> km from <site>" within this
REMOTE_KM = 50.0  # no town within this: "<d> km from <town>" rather than "near <town>"
SITES_TTL = 30.0  # seconds a read of the sites is reused (another process may add one)

Kind = Literal["site", "near_site", "town", "remote", "unknown"]


@dataclasses.dataclass(frozen=True)
class Place:
    """Which place names a point, how far the point is from it, and the point itself."""

    kind: Kind
    lat: float
    lon: float
    name: str = ""
    country: str = ""
    km: float = 0.0


class Places:
    """Names points after the ledger's sites, else the gazetteer's towns."""

    def __init__(
        self,
        sites: Callable[[], Sequence[Site]],
        gazetteer: Gazetteer,
        *,
        ttl: float = SITES_TTL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read_sites = sites
        self.gazetteer = gazetteer
        self.ttl = ttl
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._sites: tuple[Site, ...] = ()
        self._read_at: float | None = None

    def forget_sites(self) -> None:
        """Read the sites again on the next lookup (one was just added or removed)."""
        with self._lock:
            self._read_at = None

    def sites(self) -> tuple[Site, ...]:
        """The sites, read from the ledger at most once per ``ttl``."""
        now = self.monotonic()
        with self._lock:
            if self._read_at is not None and now - self._read_at < self.ttl:
                return self._sites
        found = tuple(self._read_sites())
        with self._lock:
            self._sites, self._read_at = found, now
        return found

    def find(self, lat: float, lon: float) -> Place:
        """The place that names this point best."""
        if not (math.isfinite(lat) and math.isfinite(lon)):
            return Place("unknown", lat, lon)
        inside: tuple[float, Site] | None = None  # the nearest site whose radius holds it
        closest: tuple[float, Site] | None = None
        for site in self.sites():
            d = distance_km(lat, lon, site.lat, site.lon)
            if d * 1000 <= site.radius_m and (inside is None or d < inside[0]):
                inside = (d, site)
            if closest is None or d < closest[0]:
                closest = (d, site)
        if inside is not None:
            return Place("site", lat, lon, inside[1].name, km=inside[0])
        if closest is not None and closest[0] <= SITE_NEAR_KM:
            return Place("near_site", lat, lon, closest[1].name, km=closest[0])
        town = self.gazetteer.nearest(lat, lon)
        if town is None:
            return Place("unknown", lat, lon)
        kind: Kind = "town" if town.km <= REMOTE_KM else "remote"
        return Place(kind, lat, lon, town.name, town.country, town.km)
