"""Moving an outbox's clock on from outside: a dead process's claims, made older.

An outbox row left in ``sending`` by a killed process is looked up in Slack only once its
claim is older than the reconcile grace (30 s). Tests that kill processes age those claims in
the database instead of sleeping through the grace: the same as the clock moving on, and only
for rows no living process is working on.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from bot.posting.reconcile import RECONCILE_GRACE
from bot.store.ledger import from_iso, iso

OUTBOXES = ("deliveries", "followups", "reports")
PAST_GRACE = RECONCILE_GRACE + dt.timedelta(seconds=1)


def age_claims(db: Path, by: dt.timedelta = PAST_GRACE, tables: Iterable[str] = OUTBOXES) -> int:
    """Make every claim in ``tables`` older by ``by``; return how many rows were aged."""
    select = "SELECT rowid, claimed_at FROM {} WHERE claimed_at IS NOT NULL"
    update = "UPDATE {} SET claimed_at = ? WHERE rowid = ?"
    aged = 0
    with contextlib.closing(sqlite3.connect(db, timeout=5)) as conn, conn:
        for table in tables:
            if table not in OUTBOXES:
                raise ValueError(f"not an outbox table: {table}")
            for rowid, claimed in conn.execute(select.format(table)).fetchall():
                conn.execute(update.format(table), (iso(from_iso(claimed) - by), rowid))
                aged += 1
    return aged
