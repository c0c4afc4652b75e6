"""bot.messages.alerts: one alert line whoever told us of the alert, and message metadata."""

from __future__ import annotations

import dataclasses
import datetime as dt

from bot.messages import texts
from bot.messages.alerts import (
    EVENT_ALERT,
    alert_ids_in,
    alert_line,
    alert_message,
    digest_message,
    stored_as_api,
)
from bot.psa.models import Alert
from bot.store import StoredAlert

NOW = dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.UTC)
RAW = {"id": "a-1", "vin": "VIN1", "type": "lowFuel", "severity": "Warning", "active": True,
       "startedAt": "2026-11-20T17:00:00Z", "label": "Fuel <low>"}  # fmt: skip


def stored() -> StoredAlert:
    """The ledger's copy of RAW."""
    return StoredAlert(id="a-1", vehicle_id="V1", vin="VIN1", type="lowFuel", severity="Warning",
                       active=True, started_at=NOW, payload=RAW)  # fmt: skip


def test_one_alert_line_for_the_api_and_the_ledger() -> None:
    """The same alert reads the same from the API model, the ledger row and its conversion."""
    from_api = Alert.from_api(RAW)
    assert alert_line(from_api, "en-GB") == ":large_orange_circle: Warning *Fuel &lt;low&gt;*"
    assert alert_line(stored(), "en-GB") == alert_line(from_api, "en-GB")
    assert alert_line(stored_as_api(stored()), "en-GB") == alert_line(from_api, "en-GB")
    named = alert_line(stored(), "fr-FR", "Van <7>")
    assert named == ":large_orange_circle: Avertissement *Fuel &lt;low&gt;* — Van &lt;7&gt;"


def test_messages_name_their_alerts_in_metadata() -> None:
    """One alert or a digest: delivery reads the ids back from the metadata."""
    single = alert_message(stored(), vehicle_name="Van 7")
    assert single["metadata"]["event_type"] == EVENT_ALERT
    assert single["blocks"][0]["text"]["text"] == alert_line(stored(), "en-GB", "Van 7")
    assert alert_ids_in(single["metadata"]) == ["a-1"]
    digest = digest_message([(stored(), None)], names={"VIN1": "Van 7"})
    assert alert_ids_in(digest["metadata"]) == ["a-1"]
    assert alert_ids_in({"event_type": "other", "event_payload": {"alert_id": "x"}}) == []


def test_a_held_alert_says_so_alone_and_in_a_digest() -> None:
    """An alert released by a mute says it was held, posted alone or inside a digest."""
    single = alert_message(stored(), vehicle_name="Van 7", held_by_mute=True)
    assert texts.ALERT_HELD in str(single["blocks"])
    other = dataclasses.replace(stored(), id="a-2")
    digest = digest_message(
        [(stored(), "U1", NOW), (other, None)], names={"VIN1": "Van 7"}, held={"a-1"}
    )
    sections = [b["text"]["text"] for b in digest["blocks"] if b["type"] == "section"]
    assert texts.ALERT_HELD in sections[0] and "U1" in sections[0]
    assert texts.ALERT_HELD not in sections[1]
