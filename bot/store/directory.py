"""The fleet directory (``vehicles``, refreshed from the API) and admin labels."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from bot.store.models import iso
from bot.store.rows import LedgerPart, rows


class DirectoryPart(LedgerPart):
    """The ``vehicles`` and ``vehicle_labels`` tables."""

    def replace_vehicles(self, vehicles: Iterable[Mapping[str, Any]]) -> int:
        """Refresh the fleet directory (rows with id, vin, brand, model, energy, payload)."""
        now = iso(self.clock())
        records = [
            {
                "id": v["id"],
                "vin": v["vin"],
                "brand": v.get("brand"),
                "model": v.get("model"),
                "energy": v.get("energy"),
                "payload": json.dumps(v.get("payload") or {}, default=str),
                "refreshed_at": now,
            }
            for v in vehicles
        ]
        with self.database.transaction() as db:
            table = db.table("vehicles")
            table.delete_where()
            table.insert_all(records)
        return len(records)

    def vehicles(self) -> list[dict[str, Any]]:
        """The fleet directory with admin labels."""
        found = rows(
            self.database.db,
            """SELECT v.id, v.vin, v.brand, v.model, v.energy, l.label, v.refreshed_at
            FROM vehicles v LEFT JOIN vehicle_labels l ON l.vin = v.vin ORDER BY v.vin""",
        )
        return [dict(r) for r in found]

    def set_label(self, vin: str, label: str, by: str | None = None) -> None:
        """Give a vehicle a name people use (unique, case-insensitive)."""
        with self.database.transaction() as db:
            table = db.table("vehicle_labels")
            # The label column is NOCASE: this also frees the name from another vehicle.
            table.delete_where("vin = ? OR label = ?", [vin, label])
            table.insert({"vin": vin, "label": label, "set_by": by, "set_at": iso(self.clock())})
