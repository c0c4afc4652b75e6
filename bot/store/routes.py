"""Routes (channel ← alerts), mutes and sites (named places positions are told by).

``park_route`` and ``unmute`` stay raw SQL: each is a guarded statement whose row count is
the answer (was a route parked just now, how many mutes were lifted).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from collections.abc import Sequence

from bot.store.models import Mute, Route, iso
from bot.store.rows import (
    MUTE_COLUMNS,
    ROUTE_COLUMNS,
    LedgerPart,
    json_list,
    mute,
    route,
    rows,
)

SITE_COLUMNS = "id, name, lat, lon, radius_m, created_by"


@dataclasses.dataclass(frozen=True)
class Site:
    """A named place: positions within ``radius_m`` of it are "at" it."""

    id: int
    name: str
    lat: float
    lon: float
    radius_m: int
    created_by: str | None = None


def site_key(name: str) -> str:
    """How a site name is compared: case and surrounding space do not count."""
    return " ".join(name.split()).casefold()


class RoutesPart(LedgerPart):
    """The ``routes``, ``mutes`` and ``sites`` tables."""

    def add_route(
        self,
        channel: str,
        *,
        min_severity: int = 0,
        types: Sequence[str] | None = None,
        vins: Sequence[str] | None = None,
        created_by: str | None = None,
        escalate_every: dt.timedelta | None = None,
        escalate_to: str | None = None,
    ) -> Route:
        """Subscribe a channel; a channel has one route, so this replaces its previous one.

        ``escalate_every`` reminds, mentioning ``escalate_to``, while an alert stays unacknowledged.
        """
        seconds = int(escalate_every.total_seconds()) if escalate_every else None
        with self.database.transaction() as db:
            table = db.table("routes")
            table.delete_where("channel = ?", [channel])
            table.insert(
                {
                    "channel": channel,
                    "min_severity": min_severity,
                    "types": json_list(types),
                    "vins": json_list(vins),
                    "created_by": created_by,
                    "created_at": iso(self.clock()),
                    "escalate_seconds": seconds,
                    "escalate_to": escalate_to if seconds else None,
                }
            )
        return Route(
            int(table.last_pk or 0),
            channel,
            min_severity,
            tuple(types) if types else None,
            tuple(vins) if vins else None,
            created_by,
            escalate_every=escalate_every if seconds else None,
            escalate_to=escalate_to if seconds else None,
        )

    def remove_routes(self, channel: str) -> int:
        """Unsubscribe a channel; returns how many routes went."""
        with self.database.transaction() as db:
            return db.execute("DELETE FROM routes WHERE channel = ?", [channel]).rowcount

    def routes(self) -> list[Route]:
        """All routes, parked ones included."""
        found = rows(self.database.db, f"SELECT {ROUTE_COLUMNS} FROM routes ORDER BY channel, id")
        return [route(r) for r in found]

    def park_route(self, channel: str, reason: str) -> bool:
        """Stop routing to a channel Slack refuses; True if a route was parked just now."""
        with self.database.transaction() as db:
            cur = db.execute(
                """UPDATE routes SET parked_at = ?, parked_reason = ?
                WHERE channel = ? AND parked_reason IS NULL""",
                [iso(self.clock()), reason, channel],
            )
            return cur.rowcount > 0

    def mute(
        self,
        vin: str,
        until: dt.datetime,
        *,
        by: str | None = None,
        types: Sequence[str] | None = None,
        include_critical: bool = False,
    ) -> Mute:
        """Hold back this vehicle's alerts (only ``types``, if given) until ``until``.

        Critical alerts still go through unless ``include_critical``. A vehicle may have
        several mutes; each holds what it covers.
        """
        moment = self.clock()
        kept = tuple(types) if types else None
        with self.database.transaction() as db:
            table = db.table("mutes").insert(
                {
                    "vin": vin,
                    "until": iso(until),
                    "types": json_list(kept),
                    "include_critical": int(include_critical),
                    "muted_by": by,
                    "muted_at": iso(moment),
                }
            )
        return Mute(int(table.last_pk or 0), vin, until, kept, include_critical, by, moment)

    def unmute(self, vin: str) -> int:
        """Lift every mute of the vehicle (what they held is posted next run); returns how many."""
        with self.database.transaction() as db:
            return db.execute(
                "DELETE FROM mutes WHERE vin = ? AND until > ?", [vin, iso(self.clock())]
            ).rowcount

    def lift_mute(self, mute_id: int) -> Mute | None:
        """Lift one mute still in force (the Unmute button); the mute it was, or None."""
        with self.database.transaction() as db:
            found = rows(
                db,
                f"SELECT {MUTE_COLUMNS} FROM mutes WHERE id = ? AND until > ?",
                [mute_id, iso(self.clock())],
            )
            if not found:
                return None
            db.execute("DELETE FROM mutes WHERE id = ?", [mute_id])
        return mute(found[0])

    def mutes(self, now: dt.datetime | None = None) -> list[Mute]:
        """Mutes in force, by VIN then end."""
        found = rows(
            self.database.db,
            f"SELECT {MUTE_COLUMNS} FROM mutes WHERE until > ? ORDER BY vin, until, id",
            [iso(now or self.clock())],
        )
        return [mute(r) for r in found]

    def add_site(
        self, name: str, lat: float, lon: float, radius_m: int, *, by: str | None = None
    ) -> Site | None:
        """Name a place; None when a site of that name (in any case) exists already."""
        try:
            with self.database.transaction() as db:
                table = db.table("sites").insert(
                    {
                        "name": name,
                        "name_key": site_key(name),
                        "lat": lat,
                        "lon": lon,
                        "radius_m": radius_m,
                        "created_by": by,
                        "created_at": iso(self.clock()),
                    }
                )
        except sqlite3.IntegrityError:
            return None
        return Site(int(table.last_pk or 0), name, lat, lon, radius_m, by)

    def remove_site(self, name: str) -> Site | None:
        """Forget a site by name (any case); the site removed, or None if there was none."""
        with self.database.transaction() as db:
            found = rows(
                db, f"SELECT {SITE_COLUMNS} FROM sites WHERE name_key = ?", [site_key(name)]
            )
            if not found:
                return None
            db.execute("DELETE FROM sites WHERE id = ?", [found[0]["id"]])
        return _site(found[0])

    def sites(self) -> list[Site]:
        """Every site, by name."""
        found = rows(self.database.db, f"SELECT {SITE_COLUMNS} FROM sites ORDER BY name_key")
        return [_site(r) for r in found]


def _site(row: sqlite3.Row) -> Site:
    return Site(
        id=row["id"],
        name=row["name"],
        lat=row["lat"],
        lon=row["lon"],
        radius_m=row["radius_m"],
        created_by=row["created_by"],
    )
