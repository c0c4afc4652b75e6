"""Monitors we created at the API, and small JSON facts (``state``).

``first_time`` stays raw SQL: its answer is whether ``INSERT OR IGNORE`` wrote a row, which
``insert(ignore=True)`` does not report.
"""

from __future__ import annotations

import json
from typing import Any

from bot.store.models import iso
from bot.store.rows import LedgerPart, one, rows


class MonitorsPart(LedgerPart):
    """The ``monitors`` and ``state`` tables."""

    def add_monitor(self, monitor_id: str, callback: str, by: str | None) -> None:
        """Remember a monitor we created at the API."""
        with self.database.transaction() as db:
            db.table("monitors").insert(
                {
                    "id": monitor_id,
                    "callback": callback,
                    "created_by": by,
                    "created_at": iso(self.clock()),
                },
                replace=True,
            )

    def remove_monitor(self, monitor_id: str) -> None:
        """Forget a monitor deleted at the API."""
        with self.database.transaction() as db:
            db.table("monitors").delete_where("id = ?", [monitor_id])

    def monitors(self) -> list[dict[str, Any]]:
        """Monitors we created."""
        found = rows(
            self.database.db,
            "SELECT id, callback, created_by, created_at FROM monitors ORDER BY created_at",
        )
        return [dict(r) for r in found]

    def get_state(self, key: str, default: Any = None) -> Any:
        """A small JSON fact (last poll time, quota seen, …)."""
        row = one(self.database.db, "SELECT value FROM state WHERE key = ?", [key])
        return json.loads(row["value"]) if row else default

    def set_state(self, key: str, value: Any) -> None:
        """Store a small JSON fact."""
        with self.database.transaction() as db:
            db.table("state").upsert(
                {
                    "key": key,
                    "value": json.dumps(value, default=str),
                    "updated_at": iso(self.clock()),
                },
                pk="key",
            )

    def first_time(self, key: str) -> bool:
        """True exactly once per key, ever (e.g. "tell admins channel X is parked")."""
        with self.database.transaction() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO state (key, value, updated_at) VALUES (?, 'true', ?)",
                [f"once:{key}", iso(self.clock())],
            )
            return cur.rowcount > 0
