"""The fleet directory (``vehicles``, refreshed from the API) and admin labels."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from bot.store.models import iso
from bot.store.rows import LedgerPart, rows

#: the directory as it streams in, before it replaces ``vehicles`` (per connection)
_STAGED = "temp.vehicles_listing"
_STAGED_COLUMNS = "id, vin, brand, model, energy, payload"
_BATCH = 500


def _batches(items: Iterable[Mapping[str, Any]]) -> Iterator[list[Mapping[str, Any]]]:
    """``items`` in lists of at most ``_BATCH``, as they come."""
    batch: list[Mapping[str, Any]] = []
    for item in items:
        batch.append(item)
        if len(batch) >= _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


class DirectoryPart(LedgerPart):
    """The ``vehicles`` and ``vehicle_labels`` tables."""

    def replace_vehicles(self, vehicles: Iterable[Mapping[str, Any]]) -> int:
        """Refresh the fleet directory (rows with id, vin, brand, model, energy, payload).

        ``vehicles`` may be a slow stream (the API's pages): it is staged, a batch at a time,
        in a TEMP table of this thread's connection, which takes no lock on the ledger; the
        write lock is held only for the final swap. Nothing changes if the stream fails.
        """
        db = self.database.db
        db.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_STAGED} ({_STAGED_COLUMNS})")
        db.execute(f"DELETE FROM {_STAGED}")
        count = 0
        try:
            for batch in _batches(vehicles):
                db.conn.executemany(
                    f"INSERT INTO {_STAGED} ({_STAGED_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (
                            v["id"],
                            v["vin"],
                            v.get("brand"),
                            v.get("model"),
                            v.get("energy"),
                            json.dumps(v.get("payload") or {}, default=str),
                        )
                        for v in batch
                    ],
                )
                count += len(batch)
            with self.database.transaction() as tx:
                tx.execute("DELETE FROM vehicles")
                tx.execute(
                    f"""INSERT INTO vehicles ({_STAGED_COLUMNS}, refreshed_at)
                    SELECT {_STAGED_COLUMNS}, ? FROM {_STAGED} ORDER BY rowid""",
                    [iso(self.clock())],
                )
        finally:
            db.execute(f"DELETE FROM {_STAGED}")
        return count

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
