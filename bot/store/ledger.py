"""The delivery ledger: what Fleetbot knows, what it must post, and what it has posted.

Every method is one transaction. Alerts and the poll cursors that found them commit together,
so a crash either keeps both or neither. Deliveries move pending → sending → sent | failed;
a row left in ``sending`` by a crash is reconciled against Slack before any re-post. A muted
alert's rows start ``held`` (tied to the mute) and become pending when the mute ends or is
lifted, or ``closed`` if the alert ended meanwhile.

Months of operation: an alert id is remembered for as long as a poll can still return it
(see :meth:`Ledger.prune`), and an ended alert never reopens (see :meth:`Ledger.ingest`).

:class:`Ledger` is one facade over a part per table, each a mixin in its own module:
:mod:`~bot.store.alerts` (alerts, cursors, pruning), :mod:`~bot.store.outbox` (deliveries),
:mod:`~bot.store.routes` (routes, mutes), :mod:`~bot.store.directory` (vehicles, labels) and
:mod:`~bot.store.monitors` (monitors, state), :mod:`~bot.store.reports` (daily reports).
Mixins rather than composition: the public
methods keep their one definition, signature and docstring (no forwarding layer to keep in
step), and the parts hold no state, only this facade's ``database`` and ``clock``.

Rows are read by column name (``sqlite3.Row``, decoded in :mod:`~bot.store.rows`, which
says why not ``db.query()`` dicts). Writes use sqlite-utils (``insert``, ``upsert``,
``table.update``, ``delete_where``) except where each part's docstring says why raw SQL
stays: ``BEGIN IMMEDIATE`` itself (:mod:`~bot.store.db`), ingest's per-alert writes under
the write lock, guarded many-row state changes and the round-robin claim, and statements
whose row count is the answer.
"""

from __future__ import annotations

from pathlib import Path

from bot.store.alerts import WINDOW_MARGIN, AlertsPart
from bot.store.db import Database
from bot.store.directory import DirectoryPart
from bot.store.followups import Escalation, Followup, FollowupsPart
from bot.store.migrations import MIGRATIONS
from bot.store.models import (
    Clock,
    Delivery,
    Destination,
    IngestResult,
    Mute,
    Release,
    Route,
    Router,
    StoredAlert,
    from_iso,
    iso,
    utcnow,
)
from bot.store.monitors import MonitorsPart
from bot.store.outbox import OutboxPart
from bot.store.reports import ReportRow, ReportSchedule, ReportsPart
from bot.store.routes import RoutesPart

__all__ = [
    "WINDOW_MARGIN",
    "Clock",
    "Delivery",
    "Destination",
    "Escalation",
    "Followup",
    "IngestResult",
    "Ledger",
    "Mute",
    "Release",
    "ReportRow",
    "ReportSchedule",
    "Route",
    "Router",
    "StoredAlert",
    "from_iso",
    "iso",
    "utcnow",
]


class Ledger(
    AlertsPart, OutboxPart, RoutesPart, DirectoryPart, MonitorsPart, FollowupsPart, ReportsPart
):
    """Fleetbot's SQLite ledger (see the module docstring)."""

    def __init__(self, path: Path | str, *, clock: Clock = utcnow) -> None:
        self.database = Database(path)
        self.clock = clock
        self.database.migrate(MIGRATIONS)

    @property
    def path(self) -> Path:
        """The SQLite file."""
        return self.database.path

    def close(self) -> None:
        """Close all connections."""
        self.database.close()
