"""Ingest leaves out records the ledger already holds unchanged, and never anything else."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from bot.store import Ledger, StoredAlert

T0 = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(minutes=5)


def alert(alert_id: str, *, updated: dt.datetime = T0, **kw) -> StoredAlert:
    active = kw.pop("active", True)
    return StoredAlert(
        id=alert_id,
        vehicle_id="v1",
        vin="VF3AAAAAAAA000001",
        type="AddWasherFluid",
        severity=kw.pop("severity", "Warning"),
        active=active,
        started_at=T0,
        end_at=None if active else T1,
        updated_at=updated,
        payload={"id": alert_id},
    )


def to(*channels: str):
    return lambda _alert: list(channels)


@pytest.fixture
def ledger(tmp_path):
    ledger = Ledger(tmp_path / "fleetbot.db", clock=lambda: T0)
    yield ledger
    ledger.close()


@pytest.fixture
def writes(ledger):
    """Statements that wrote to ``alerts``, as SQLite ran them."""
    seen: list[str] = []

    def trace(sql: str) -> None:
        if sql.lstrip().upper().startswith(("INSERT INTO ALERTS", "UPDATE ALERTS")):
            seen.append(sql)

    ledger.database.db.conn.set_trace_callback(trace)
    yield seen
    ledger.database.db.conn.set_trace_callback(None)


def test_an_unchanged_open_alert_is_not_written_again_but_cursors_move(ledger, writes):
    ledger.ingest([alert("a1"), alert("a2")], to("C1"), cursors={"v1": T0})
    writes.clear()
    # Same updatedAt, state and end: a different severity proves the record was left out.
    again = ledger.ingest(
        [alert("a1", severity="Critical"), alert("a2")], to("C1"), cursors={"v1": T1}
    )
    assert writes == []
    assert (again.new_alerts, again.ended_alerts, again.deliveries, again.stale) == (0, 0, 0, 0)
    assert ledger.alert("a1").severity == "Warning"
    assert ledger.cursors() == {"v1": T1}


def test_an_ended_alert_is_not_written_again(ledger, writes):
    ledger.ingest([alert("a1", active=False)], to("C1"))
    writes.clear()
    assert ledger.ingest([alert("a1", active=False, updated=T1)], to("C1")).ended_alerts == 0
    assert writes == []


def test_an_end_with_the_same_updated_at_is_still_recorded(ledger):
    ledger.ingest([alert("a1")], to("C1"))
    ended = ledger.ingest([alert("a1", active=False)], to("C1"))
    assert ended.ended_alerts == 1
    assert ledger.alert("a1").ended


def test_a_newer_update_is_written(ledger):
    ledger.ingest([alert("a1")], to("C1"))
    ledger.ingest([alert("a1", updated=T1, severity="Critical")], to("C1"))
    assert ledger.alert("a1").severity == "Critical"


def test_an_open_alert_without_updated_at_is_always_written(ledger, writes):
    ledger.ingest([dataclasses.replace(alert("a1"), updated_at=None)], to("C1"))
    writes.clear()
    ledger.ingest(
        [dataclasses.replace(alert("a1", severity="Critical"), updated_at=None)], to("C1")
    )
    assert len(writes) == 1
    assert ledger.alert("a1").severity == "Critical"


def test_a_first_sighting_among_unchanged_alerts_is_posted(ledger):
    ledger.ingest([alert("a1")], to("C1"))
    result = ledger.ingest([alert("a1"), alert("a2")], to("C1"))
    assert (result.new_alerts, result.deliveries) == (1, 1)


def test_an_end_after_an_unchanged_copy_in_the_same_batch_is_recorded(ledger):
    ledger.ingest([alert("a1")], to("C1"))
    result = ledger.ingest([alert("a1"), alert("a1", active=False)], to("C1"))
    assert result.ended_alerts == 1
    assert ledger.alert("a1").ended


def test_a_crash_between_cycles_loses_nothing(tmp_path):
    path = tmp_path / "fleetbot.db"
    first = Ledger(path, clock=lambda: T0)
    first.ingest([alert("a1")], to("C1"), cursors={"v1": T0})

    def crash(_alert: StoredAlert) -> list[str]:
        raise RuntimeError("router failed mid-cycle")

    with pytest.raises(RuntimeError):
        first.ingest([alert("a1"), alert("a2")], crash, cursors={"v1": T1})
    first.close()  # the process dies; the next one reads the file afresh
    second = Ledger(path, clock=lambda: T1)
    try:
        result = second.ingest(
            [alert("a1", active=False), alert("a2")], to("C1"), cursors={"v1": T1}
        )
        assert (result.new_alerts, result.ended_alerts, result.deliveries) == (1, 1, 1)
        assert second.cursors() == {"v1": T1}
    finally:
        second.close()
