"""Positions as people read them — at a site, km from one, near a town — each a map link.

Every renderer that shows a position goes through :func:`where` (a parsed position) or
:func:`where_feature` (the API's GeoJSON as stored with an alert): the words come from the
:class:`~bot.places.Places` service the composition root built, the link from OpenStreetMap,
and no coordinate pair is ever shown as text. Also the `/fleet sites` replies.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bot.messages import texts
from bot.messages.markup import Message, escape, text_reply
from bot.psa.models import Position

if TYPE_CHECKING:
    from bot.places import Place, Places
    from bot.store.routes import Site

ACTION_OPEN_MAP = "alert_open_map"  # a link button; Slack still sends its click, which we ack


def osm_url(lat: float, lon: float) -> str:
    """The OpenStreetMap page with a marker on the point."""
    return (
        f"https://www.openstreetmap.org/?mlat={lat:.5f}&mlon={lon:.5f}#map=15/{lat:.5f}/{lon:.5f}"
    )


def distance(km: float) -> str:
    """A distance as people say it: 2.4 km, 18 km, 1,240 km."""
    return f"{km:.1f} km" if km < 10 else f"{km:,.0f} km"


def place_words(place: Place) -> str:
    """What a place reads as, unescaped: "at Depot", "2.4 km from Depot", "near Rennes, FR"."""
    if place.kind == "site":
        return texts.PLACE_AT_SITE.format(site=place.name)
    if place.kind == "near_site":
        return texts.PLACE_NEAR_SITE.format(km=distance(place.km), site=place.name)
    if place.kind == "town":
        return texts.PLACE_NEAR_TOWN.format(town=place.name, country=place.country)
    if place.kind == "remote":
        return texts.PLACE_REMOTE.format(
            km=distance(place.km), town=place.name, country=place.country
        )
    return texts.PLACE_ON_MAP


def point_link(lat: float, lon: float, places: Places | None) -> str:
    """A point as a map link labelled with its place in words (escaped: site names are typed)."""
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return texts.UNKNOWN_PLACE
    words = place_words(places.find(lat, lon)) if places is not None else texts.PLACE_ON_MAP
    return f"<{osm_url(lat, lon)}|{escape(words)}>"


def where(position: Position | None, places: Places | None) -> str:
    """A parsed position as a named map link, or "position unknown"."""
    if position is None:
        return texts.UNKNOWN_PLACE
    return point_link(position.lat, position.lon, places)


def feature_point(feature: object) -> tuple[float, float] | None:
    """(lat, lon) of a GeoJSON Feature or Point as the API sent it, or None."""
    if not isinstance(feature, Mapping):
        return None
    geometry = feature.get("geometry")
    coordinates = (geometry if isinstance(geometry, Mapping) else feature).get("coordinates")
    try:
        lon, lat = float(coordinates[0]), float(coordinates[1])  # type: ignore[index]
    except (IndexError, KeyError, TypeError, ValueError, OverflowError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


def where_feature(feature: object, places: Places | None) -> str:
    """The API's GeoJSON position (as an alert's payload keeps it) as a named map link."""
    point = feature_point(feature)
    if point is None:
        return texts.UNKNOWN_PLACE
    return point_link(point[0], point[1], places)


def open_map_button(feature: object) -> dict[str, Any] | None:
    """The **Open map** link button for a GeoJSON position; None when there is no position."""
    point = feature_point(feature)
    if point is None:
        return None
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": texts.OPEN_MAP},
        "action_id": ACTION_OPEN_MAP,
        "url": osm_url(*point),
    }


# -- /fleet sites ---------------------------------------------------------------------------


def sites_message(sites: Sequence[Site]) -> Message:
    """Every site: its name, radius and where it is (a map link, never coordinates)."""
    if not sites:
        return text_reply(texts.SITES_NONE)
    lines = [texts.SITES_TITLE.format(count=len(sites))]
    for site in sites:
        lines.append(
            texts.SITES_LINE.format(
                name=escape(site.name),
                radius=f"{site.radius_m:,}",
                where=f"<{osm_url(site.lat, site.lon)}|{texts.PLACE_ON_MAP}>",
                by=texts.SITES_BY.format(user=escape(site.created_by)) if site.created_by else "",
            )
        )
    return text_reply("\n".join(lines))
