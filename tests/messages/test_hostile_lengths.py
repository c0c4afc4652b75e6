"""Any API string, of any length, still gives messages Slack accepts.

Slack refuses a whole message when one block breaks a limit (``invalid_blocks``), and an
alert whose post is refused is failed for good: so every renderer is checked against the
stand-in's copy of Slack's documented limits with hostile ids, types, labels and names.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.messages.alerts import (
    acked_edit,
    alert_detail,
    alert_message,
    alerts_message,
    digest_acked_edit,
    digest_message,
    stored_as_api,
)
from bot.messages.followups import followup_message, reminder_text
from bot.psa.models import MAX_ID_LENGTH
from bot.sandbox.slack import blockkit
from bot.store import StoredAlert

AT = dt.datetime(2026, 12, 1, 8, 30, tzinfo=dt.UTC)
# A run of one piece of text: Slack's control characters, wide characters, a mention. The test
# draws (piece, count) pairs and builds the strings itself, so a failing example prints short.
PIECES = ("x", "<", "&", "|>", "é", "😀", "\n", "<!channel>")
Run = tuple[str, int]
hostile = st.tuples(st.sampled_from(PIECES), st.integers(0, 45_000) | st.integers(0, 40))
# Ids and VINs are identifiers: the API models accept them printable and at most MAX_ID_LENGTH
# long (tests/psa/test_hostile.py); they travel in button values and block ids.
identifier = st.tuples(st.sampled_from(PIECES[:6]), st.integers(1, MAX_ID_LENGTH))


def spelled(run: Run) -> str:
    """The string a (piece, count) pair stands for."""
    piece, count = run
    return (piece * count)[:count]


def accepted(message: dict) -> None:
    """What Slack's chat.postMessage would accept: blocks within limits, text not too long."""
    assert blockkit.problems(message.get("blocks")) == []
    assert blockkit.text_problem(str(message.get("text") or "")) is None


@settings(max_examples=30, deadline=None)
@given(alert_id=identifier, vin=identifier, type_=hostile, label=hostile, name=hostile)
def test_alert_messages_stay_within_slack_limits(
    alert_id: Run, vin: Run, type_: Run, label: Run, name: Run
) -> None:
    """Alert, digest, acknowledged edits, details, lists and thread replies."""
    alert_id, vin, type_, label, name = map(spelled, (alert_id, vin, type_, label, name))
    alert = StoredAlert(
        id=alert_id, vehicle_id=None, vin=vin, type=type_, severity="Critical",
        active=True, started_at=AT, payload={"label": label},
    )  # fmt: skip
    message = alert_message(alert, vehicle_name=name)
    accepted(message)
    accepted(acked_edit(message["blocks"], "U0MANAGER", AT))
    digest = digest_message([(alert, None)] * 5, names={vin: name})
    accepted(digest)
    accepted(digest_acked_edit(digest["blocks"], alert.id, "U0MANAGER", AT))
    api_alert = stored_as_api(alert)
    accepted(alert_detail(name, api_alert, "en-GB"))
    accepted(alerts_message(name, [api_alert] * 3, 7, "en-GB"))
    text = reminder_text(name, dt.timedelta(minutes=20), 1, label)
    accepted(followup_message(alert.id, "reminder", 1, text, thread_ts="1.000001"))
