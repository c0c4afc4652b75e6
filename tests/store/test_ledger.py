"""The SQLite ledger: schema, ingest, the outbox state machine, routes, mutes and labels."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
import threading

import pytest

from bot.store import Destination, Ledger, Mute, StoredAlert

T0 = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.UTC)


def alert(
    alert_id: str, *, vin: str = "VF3AAAAAAAA000001", active: bool = True, **kw
) -> StoredAlert:
    return StoredAlert(
        id=alert_id,
        vehicle_id=kw.pop("vehicle_id", "v1"),
        vin=vin,
        type=kw.pop("type", "AddWasherFluid"),
        severity=kw.pop("severity", "Warning"),
        active=active,
        started_at=T0,
        end_at=kw.pop("end_at", None if active else T0 + dt.timedelta(hours=1)),
        payload={"id": alert_id},
    )


def to(*channels: str):
    return lambda _alert: list(channels)


@pytest.fixture
def ledger(tmp_path):
    ledger = Ledger(tmp_path / "fleetbot.db", clock=lambda: T0)
    yield ledger
    ledger.close()


def test_connection_is_wal_and_synchronous_full(ledger):
    db = ledger.database.db
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_ingest_queues_one_delivery_per_alert_and_channel(ledger):
    first = ledger.ingest([alert("a1"), alert("a2")], to("C1", "C2", "C1"))
    again = ledger.ingest([alert("a1"), alert("a2")], to("C1", "C2"))
    assert (first.new_alerts, first.deliveries) == (2, 4)
    assert (again.new_alerts, again.deliveries) == (0, 0)
    assert ledger.counts() == {"pending": 4}


def test_ingest_moves_cursors_in_the_same_transaction(ledger):
    ledger.ingest([alert("a1")], to("C1"), cursors={"v1": T0})
    assert ledger.cursors() == {"v1": T0}


def test_a_failing_router_rolls_back_alerts_and_cursors(ledger):
    def broken(_alert):
        raise RuntimeError("router bug")

    with pytest.raises(RuntimeError):
        ledger.ingest([alert("a1")], broken, cursors={"v1": T0})
    assert ledger.cursors() == {}
    assert ledger.alert("a1") is None


def test_baseline_skips_alerts_already_ended_but_later_ones_are_posted(ledger):
    ledger.ingest([alert("old", active=False), alert("open")], to("C1"), baseline={"v1"})
    ledger.ingest([alert("brief", active=False)], to("C1"))
    posted = {d.alert.id for d in ledger.claim()}
    assert posted == {"open", "brief"}


def test_an_alert_that_ends_marks_its_message_for_update(ledger):
    ledger.ingest([alert("a1")], to("C1"))
    [row] = ledger.claim()
    ledger.mark_sent([row.id], slack_ts="1.0001")
    result = ledger.ingest([alert("a1", active=False)], to("C1"))
    [due] = ledger.updates_due()
    assert result.ended_alerts == 1
    assert due.alert.ended and due.slack_ts == "1.0001"
    ledger.mark_updated([due.id])
    assert ledger.updates_due() == []
    # The same end seen again changes nothing.
    assert ledger.ingest([alert("a1", active=False)], to("C1")).ended_alerts == 0


def test_claim_moves_rows_to_sending_once(ledger):
    ledger.ingest([alert("a1"), alert("a2")], to("C1"))
    claimed = ledger.claim()
    assert [d.state for d in claimed] == ["sending", "sending"]
    assert ledger.claim() == []
    assert {d.id for d in ledger.stuck_sending()} == {d.id for d in claimed}
    assert ledger.stuck_sending(claimed_before=T0 - dt.timedelta(seconds=1)) == []
    assert len(ledger.stuck_sending(claimed_before=T0)) == 2


def test_pending_with_retry_time_waits(ledger):
    ledger.ingest([alert("a1")], to("C1"))
    [row] = ledger.claim()
    ledger.mark_pending([row.id], error="ratelimited", retry_at=T0 + dt.timedelta(seconds=30))
    assert ledger.claim(now=T0) == []
    [again] = ledger.claim(now=T0 + dt.timedelta(seconds=31))
    assert again.attempts == 2 and again.last_error == "ratelimited"


def test_reroute_moves_to_fallback_unless_already_there(ledger):
    ledger.ingest([alert("a1"), alert("a2")], to("C1"))
    ledger.ingest([alert("a3")], to("C1", "CFALL"))
    rows = [d for d in ledger.claim() if d.channel == "C1"]
    ledger.reroute([d.id for d in rows], "CFALL", error="channel_not_found")
    by_state = {(d.alert.id, d.channel): d.state for d in ledger._deliveries("1=1", [])}
    assert by_state[("a1", "CFALL")] == "pending"
    assert by_state[("a3", "C1")] == "failed"


def test_acknowledge_twice_reports_the_first(ledger):
    ledger.ingest([alert("a1")], to("C1"))
    assert ledger.acknowledge("a1", "C1", "U1")[0] is True
    again = ledger.acknowledge("a1", "C1", "U2")
    assert again == (False, "U1", T0)


def test_acknowledging_an_unknown_alert_sticks_without_opening_it(ledger):
    assert ledger.acknowledge("never-seen", "C1", "U1")[0] is True
    assert ledger.acknowledge("never-seen", "C1", "U2")[0] is False
    assert ledger.open_alerts() == []


def test_deliveries_for_a_digest_message(ledger):
    ledger.ingest([alert("a1"), alert("a2")], to("C1"))
    rows = ledger.claim()
    ledger.mark_sent([d.id for d in rows], slack_ts="9.0001", digest=True)
    found = ledger.deliveries_for_message("C1", "9.0001")
    assert {d.alert.id for d in found} == {"a1", "a2"} and all(d.digest for d in found)


def test_prune_forgets_old_delivered_rows_of_ended_alerts_only(tmp_path):
    now = [T0]
    ledger = Ledger(tmp_path / "p.db", clock=lambda: now[0])
    ledger.ingest([alert("a1", active=False), alert("a2"), alert("a3")], to("C1"))
    first, second, _third = ledger.claim()
    ledger.mark_sent([first.id], slack_ts="1.1")
    ledger.mark_sent([second.id], slack_ts="1.2")
    now[0] = T0 + dt.timedelta(days=40)
    # a2 is still open after 40 days: its row stays, so its "ended" edit can still happen.
    assert ledger.prune(dt.timedelta(days=30)) == 1
    assert ledger.counts() == {"sending": 1, "sent": 1}
    ledger.close()


def test_prune_keeps_a_digest_whole_while_one_of_its_alerts_is_open(tmp_path):
    now = [T0]
    ledger = Ledger(tmp_path / "p.db", clock=lambda: now[0])
    ledger.ingest([alert("a1", active=False), alert("a2")], to("C1"))
    ledger.mark_sent([d.id for d in ledger.claim()], slack_ts="9.1", digest=True)
    now[0] = T0 + dt.timedelta(days=40)
    assert ledger.prune(dt.timedelta(days=30)) == 0  # a2's end will redraw the whole digest
    ledger.ingest([alert("a2", active=False)], to("C1"))
    assert {d.alert.id for d in ledger.deliveries_for_message("C1", "9.1")} == {"a1", "a2"}
    ledger.mark_updated([d.id for d in ledger.updates_due()])
    now[0] = T0 + dt.timedelta(days=80)
    assert ledger.prune(dt.timedelta(days=30)) == 2
    ledger.close()


def test_routes_replace_park_and_remove(ledger):
    ledger.add_route("C1", min_severity=1, types=["AddWasherFluid"], created_by="U1")
    ledger.add_route("C1", min_severity=2)
    ledger.add_route("C2", vins=["VF3AAAAAAAA000001"])
    assert [(r.channel, r.min_severity) for r in ledger.routes()] == [("C1", 2), ("C2", 0)]
    assert ledger.park_route("C2", "channel_not_found") is True
    assert ledger.park_route("C2", "channel_not_found") is False
    assert [r.parked for r in ledger.routes()] == [False, True]
    assert ledger.remove_routes("C1") == 1


def test_mutes_expire(ledger):
    ledger.mute("VIN1", T0 + dt.timedelta(hours=24), by="U1")
    assert [m.vin for m in ledger.mutes()] == ["VIN1"]
    assert ledger.mutes(now=T0 + dt.timedelta(hours=25)) == []
    assert ledger.unmute("VIN1") == 1
    assert ledger.unmute("VIN1") == 0


def test_labels_outlive_directory_refresh(ledger):
    ledger.replace_vehicles([{"id": "v1", "vin": "VIN1", "brand": "Peugeot"}])
    ledger.set_label("VIN1", "Van 7")
    ledger.replace_vehicles([{"id": "v1", "vin": "VIN1", "brand": "Peugeot"}])
    assert ledger.vehicles()[0]["label"] == "Van 7"


def test_first_time_is_true_once(ledger):
    assert ledger.first_time("parked:C1") is True
    assert ledger.first_time("parked:C1") is False


def test_concurrent_ingest_of_the_same_alerts_queues_each_once(ledger):
    alerts = [alert(f"a{i}") for i in range(50)]
    errors: list[BaseException] = []

    def work():
        try:
            ledger.ingest(alerts, to("C1"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert ledger.counts() == {"pending": 50}


def test_the_unique_constraint_backs_the_ledger(ledger):
    ledger.ingest([alert("a1")], to("C1"))
    with pytest.raises(sqlite3.IntegrityError):
        ledger.database.db.execute(
            "INSERT INTO deliveries (alert_id, channel, created_at) VALUES ('a1', 'C1', 'x')"
        )


def test_claim_takes_channels_round_robin(ledger):
    ledger.ingest([alert(f"busy{i}") for i in range(10)], to("C1"))
    ledger.ingest([alert("quiet")], to("C2"))
    claimed = ledger.claim(limit=4)
    assert [d.channel for d in claimed].count("C2") == 1


def test_a_replayed_or_late_event_never_reopens_an_alert(ledger):
    fresh = dataclasses.replace(alert("a1"), updated_at=T0 + dt.timedelta(minutes=5))
    ledger.ingest([fresh], to("C1"))
    older = dataclasses.replace(
        alert("a1", severity="Critical"), updated_at=T0 + dt.timedelta(minutes=1)
    )
    assert ledger.ingest([older], to("C1")).stale == 1
    assert ledger.alert("a1").severity == "Warning"  # the older record changed nothing
    ended = dataclasses.replace(alert("a1", active=False), updated_at=T0 + dt.timedelta(hours=1))
    assert ledger.ingest([ended], to("C1")).ended_alerts == 1
    # The original "started" event, replayed (push retries) or late: the alert stays ended.
    replay = ledger.ingest([fresh], to("C1"))
    assert (replay.new_alerts, replay.deliveries) == (0, 0)
    assert ledger.alert("a1").ended and ledger.open_alerts() == []


def test_mutes_hold_with_types_and_all(ledger):
    until = T0 + dt.timedelta(hours=2)
    whole = ledger.mute("VIN1", until, by="U1")
    typed = ledger.mute(
        "VIN1", T0 + dt.timedelta(hours=1), types=["BrakeFailure"], include_critical=True
    )
    assert ledger.mutes() == [typed, whole]  # by VIN, then end
    assert whole == Mute(whole.id, "VIN1", until, None, False, "U1", T0)
    assert typed.types == ("BrakeFailure",) and typed.include_critical


def test_held_rows_are_released_closed_or_held_again(ledger):
    mute = ledger.mute("VIN1", T0 + dt.timedelta(hours=1))
    held = Destination("C1", mute.id)
    ledger.ingest([alert("a1", vin="VIN1"), alert("a2", vin="VIN1")], lambda _a: [held])
    assert ledger.counts() == {"held": 2} and ledger.claim() == []
    assert ledger.held_due(T0) == []
    ledger.ingest([alert("a2", vin="VIN1", active=False)], to("C1"))
    due = ledger.held_due(T0 + dt.timedelta(hours=2))
    assert {d.alert.id for d in due} == {"a1", "a2"}
    done = ledger.release_held(post=[due[0].id], close=[due[1].id])
    assert (done.posted, done.closed) == (1, 1)
    [row] = ledger.claim()
    assert row.alert.id == "a1" and row.held_by_mute
    assert ledger.delivery("a2", "C1").state == "closed"
