"""bot.messages.followups and the mute/digest surface of bot.messages.alerts, as pure functions."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from bot.alerts.routing import covering_mute
from bot.messages.alerts import (
    ACTION_DIGEST_ACK_ALL,
    ACTION_MUTE,
    ACTION_UNMUTE,
    alert_message,
    digest_message,
)
from bot.messages.followups import (
    EVENT_FOLLOWUP,
    about,
    duration_words,
    followup_key,
    followup_message,
    muted_kind,
    reminder_text,
)
from bot.store import Mute, StoredAlert

NOW = dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.UTC)


def alert(id_: str = "a-1", type_: str = "lowFuel", severity: str = "Warning") -> StoredAlert:
    """An open alert of VIN1."""
    return StoredAlert(id=id_, vehicle_id="V1", vin="VIN1", type=type_, severity=severity,
                       active=True, started_at=NOW)  # fmt: skip


def mute(types: tuple[str, ...] | None, *, critical: bool = False, vin: str = "VIN1") -> Mute:
    """A mute in force until tomorrow."""
    return Mute(7, vin, NOW + dt.timedelta(days=1), types, critical, "U0BOSS", NOW)


def test_a_followup_is_a_quiet_reply_with_metadata() -> None:
    """Thread reply arguments: thread_ts, never reply_broadcast, and readable metadata."""
    message = followup_message("a-1", "reminder", 2, "hi", thread_ts="1.5")
    assert message["thread_ts"] == "1.5" and "reply_broadcast" not in message
    assert message["metadata"] == {
        "event_type": EVENT_FOLLOWUP,
        "event_payload": {"alert_id": "a-1", "kind": "reminder", "n": 2},
    }
    assert followup_key(message["metadata"]) == ("a-1", "reminder", 2)
    assert followup_key({"event_type": "fleet_alert", "event_payload": {"alert_id": "a"}}) is None
    assert followup_key({"event_type": EVENT_FOLLOWUP, "event_payload": {"n": "x"}}) is None


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (20, "20 seconds"),
        (60, "1 minute"),
        (900, "15 minutes"),
        (7200, "2 hours"),
        (86400, "1 day"),
        (90, "90 seconds"),
    ],
)
def test_duration_words(seconds: int, words: str) -> None:
    """Durations read as people say them."""
    assert duration_words(dt.timedelta(seconds=seconds)) == words


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (45, "45 seconds"),
        (904, "15 minutes"),
        (5400, "90 minutes"),
        (9000, "2 hours"),
        (200000, "2 days"),
    ],
)
def test_about_rounds_down(seconds: int, words: str) -> None:
    """An elapsed time reads as a person would say it, never more than it was."""
    assert about(dt.timedelta(seconds=seconds)) == words


def test_reminder_mentions_the_target_as_given() -> None:
    """The mention leads, kept exactly as Slack escaped it; the count says how many are left."""
    text = reminder_text("<!subteam^S0FLEET|fleet>", dt.timedelta(minutes=30), 2, "this alert")
    assert text.startswith("<!subteam^S0FLEET|fleet> ")
    assert "This alert is still not acknowledged, 30 minutes after" in text
    assert "reminder 2 of 3" in text


def test_muted_kind_escapes_the_vehicle() -> None:
    """A vehicle name from outside cannot ping or forge a link."""
    assert "&lt;!channel&gt;" in muted_kind("*Low fuel*", "<!channel>")


def test_the_mute_shown_is_the_one_routing_applies() -> None:
    """One rule (routing's) for holding and showing: vehicle, type, Critical only when included."""
    assert covering_mute(alert(), [mute(("lowFuel",))]) is not None
    assert covering_mute(alert(), [mute(None)]) is not None
    assert covering_mute(alert(), [mute(("other",))]) is None
    assert covering_mute(alert(), [mute(None, vin="VIN2")]) is None
    assert covering_mute(alert(severity="Critical"), [mute(None)]) is None
    assert (
        covering_mute(alert(severity="Critical"), [mute(("lowFuel",), critical=True)]) is not None
    )


def test_a_muted_message_says_who_and_offers_unmute() -> None:
    """Muted: who and until when, and Unmute (carrying the mute's id) instead of Mute 24 h."""
    plain = alert_message(alert(), vehicle_name="Van")
    assert ACTION_MUTE in str(plain["blocks"]) and ACTION_UNMUTE not in str(plain["blocks"])
    muted = alert_message(alert(), vehicle_name="Van", muted=mute(("lowFuel",)))
    blocks = str(muted["blocks"])
    assert "Muted by <@U0BOSS> until" in blocks
    assert ACTION_MUTE + "'" not in blocks and ACTION_UNMUTE in blocks and "'value': '7'" in blocks


def test_digest_title_and_acknowledge_all() -> None:
    """Acknowledge all while any alert waits; the title says so once every alert has ended."""
    items = [(alert("a"), None), (alert("b"), "U1")]
    open_digest = digest_message(items, names={})
    assert ACTION_DIGEST_ACK_ALL in str(open_digest["blocks"])
    assert open_digest["text"] == "2 new vehicle alerts"
    over = [(dataclasses.replace(a, active=False, end_at=NOW), by) for a, by in items]
    ended = digest_message(over, names={})
    assert ended["text"] == "2 vehicle alerts — all ended"
    assert ended["blocks"][0]["text"]["text"] == "2 vehicle alerts — all ended"
    half = digest_message([over[0], items[1]], names={})
    assert half["text"] == "2 new vehicle alerts"
    acked = digest_message([(alert("a"), "U1"), (alert("b"), "U2")], names={})
    assert ACTION_DIGEST_ACK_ALL not in str(acked["blocks"])
