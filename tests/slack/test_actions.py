"""Buttons on alert messages, clicked through the driver exactly as Slack posts block_actions."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.errors import UserInputError
from bot.messages.alerts import (
    ACTION_ACK,
    ACTION_DETAILS,
    ACTION_DIGEST_ACK,
    ACTION_MUTE,
    ACTION_TRIPS_TODAY,
    alert_message,
    digest_message,
)
from bot.sandbox.slack import Message
from bot.slack.actions import acknowledge, details, mute_for_a_day, trips_today
from bot.slack.context import Click
from bot.store import StoredAlert
from tests.slack.conftest import ADMIN, ALERTS, GUEST, NOW, World, all_text


def stored_alerts(world: World, count: int) -> list[StoredAlert]:
    """Alerts from the sandbox, recorded in the ledger and queued for #alerts."""
    world.services.directory.refresh()
    alerts = []
    for raw in world.sandbox.alerts()[:count]:
        vehicle = next(v for v in world.sandbox.vehicles() if v["vin"] == raw["vin"])
        alerts.append(
            StoredAlert(
                id=raw["id"],
                vehicle_id=vehicle["id"],
                vin=raw["vin"],
                type=raw["type"],
                severity=raw["severity"],
                active=raw["active"],
                payload=raw,
            )
        )
    world.ledger.ingest(alerts, lambda alert: [ALERTS])
    return alerts


def post_alert(world: World, alert: StoredAlert) -> Message:
    """Post an alert message as delivery does, and record it as sent."""
    body = alert_message(
        alert,
        vehicle_name=world.services.directory.name_of(alert.vin),
        places=world.services.places,
    )
    answer = world.client.chat_postMessage(channel=ALERTS, **body)
    delivery = world.ledger.delivery(alert.id, ALERTS)
    assert delivery is not None
    world.ledger.mark_sent([delivery.id], slack_ts=answer["ts"])
    message = world.slack.message(ALERTS, answer["ts"])
    assert message is not None
    return message


def current(world: World, message: Message) -> Message:
    """The message as Slack has it now."""
    found = world.slack.message(message.channel, message.ts)
    assert found is not None
    return found


def test_acknowledge_updates_in_place(world: World) -> None:
    """A click edits the message in place: who and when, the Acknowledge button gone."""
    alert = stored_alerts(world, 1)[0]
    message = post_alert(world, alert)

    result = world.driver.click(message, ACTION_ACK)
    assert result.status == 200
    world.slack.wait_for(lambda s: current(world, message).edited)
    updated = current(world, message)
    assert f"Acknowledged by <@{ADMIN}>" in all_text({"blocks": updated.blocks})
    assert updated.metadata == message.metadata  # chat.update kept the metadata
    assert ACTION_ACK not in str(updated.blocks)
    assert ACTION_DETAILS in str(updated.blocks)
    assert (updated.blocks or [])[0] == (message.blocks or [])[0]  # same headline and name
    delivery = world.ledger.delivery(alert.id, ALERTS)
    assert delivery is not None and delivery.acked_by == ADMIN
    assert world.slack.responses_for(result.response_url or "") == []  # no extra reply


def test_second_acknowledge_says_who_already_did(world: World) -> None:
    """A second Acknowledge (another copy of the alert) is answered ephemerally, unchanged."""
    alert = stored_alerts(world, 1)[0]
    message = post_alert(world, alert)
    copy = world.client.chat_postMessage(
        channel=ALERTS, **alert_message(alert, vehicle_name=alert.vin)
    )
    world.driver.click(message, ACTION_ACK)
    world.slack.wait_for(lambda s: current(world, message).edited)

    copied = world.slack.message(ALERTS, copy["ts"])
    assert copied is not None
    (answer,) = world.driver.click(copied, ACTION_ACK, user_id=GUEST).replies()
    assert answer["response_type"] == "ephemeral"
    assert f"Already acknowledged by <@{ADMIN}>" in all_text(answer)
    assert not answer.get("replace_original")
    assert not current(world, copied).edited
    delivery = world.ledger.delivery(alert.id, ALERTS)
    assert delivery is not None and delivery.acked_by == ADMIN


def test_only_the_clicked_message_changes(world: World) -> None:
    """Two alert messages: acknowledging one leaves the other untouched."""
    first_alert, second_alert = stored_alerts(world, 2)
    clicked = post_alert(world, first_alert)
    other = post_alert(world, second_alert)
    world.driver.click(clicked, ACTION_ACK)
    world.slack.wait_for(lambda s: current(world, clicked).edited)
    untouched = current(world, other)
    assert not untouched.edited
    assert untouched.blocks == other.blocks


def test_digest_acknowledge_rerenders_the_digest(world: World) -> None:
    """In a digest, acknowledging one alert removes its button only."""
    alerts = stored_alerts(world, 3)
    body = digest_message([(a, None) for a in alerts], names={})
    answer = world.client.chat_postMessage(channel=ALERTS, **body)
    ids = [world.ledger.delivery(a.id, ALERTS).id for a in alerts]  # type: ignore[union-attr]
    world.ledger.mark_sent(ids, slack_ts=answer["ts"], digest=True)
    message = world.slack.message(ALERTS, answer["ts"])
    assert message is not None

    world.driver.click(message, ACTION_DIGEST_ACK)  # the first alert's button
    world.slack.wait_for(lambda s: current(world, message).edited)
    updated = current(world, message)
    buttons = [
        b["accessory"]["value"]
        for b in updated.blocks or []
        if b.get("accessory", {}).get("action_id") == ACTION_DIGEST_ACK
    ]
    assert buttons == [alerts[1].id, alerts[2].id]
    assert f"Acknowledged by <@{ADMIN}>" in all_text({"blocks": updated.blocks})
    assert updated.metadata == message.metadata


def test_details_is_ephemeral_with_the_alert(world: World) -> None:
    """Details: the alert in full, only for the clicker; the message is unchanged."""
    alert = stored_alerts(world, 1)[0]
    message = post_alert(world, alert)
    (answer,) = world.driver.click(message, ACTION_DETAILS).replies()
    assert answer["response_type"] == "ephemeral"
    assert not answer.get("replace_original")
    assert f"`{alert.id}`" in all_text(answer)
    assert not current(world, message).edited


def test_trips_today_is_ephemeral(world: World) -> None:
    """Trips today: that vehicle's trips of the day, ephemeral."""
    alert = stored_alerts(world, 1)[0]
    message = post_alert(world, alert)
    answers = world.driver.click(message, ACTION_TRIPS_TODAY).replies()
    text = all_text(answers[0])
    assert answers[0]["response_type"] == "ephemeral"
    assert alert.vin in text and "today" in text


def test_mute_button_is_for_admins(world: World) -> None:
    """A non-admin is refused, naming the admins as mentions, and nothing is muted; an admin
    mutes that alert's type on the vehicle for 24 h and the message says who and until when."""
    alert = stored_alerts(world, 1)[0]
    message = post_alert(world, alert)

    (refused,) = world.driver.click(message, ACTION_MUTE, user_id=GUEST).replies()
    assert "only Fleetbot admins can mute vehicles" in all_text(refused)
    assert f"<@{ADMIN}>" in all_text(refused)  # who to ask, as a mention people can click
    assert "FLEETBOT_ADMINS" not in all_text(refused)
    assert refused["response_type"] == "ephemeral" and not refused.get("replace_original")
    assert world.ledger.mutes(NOW) == []
    assert not current(world, message).edited

    world.driver.click(message, ACTION_MUTE)
    world.slack.wait_for(lambda s: current(world, message).edited)
    [mute] = world.ledger.mutes(NOW)
    assert mute.types == (alert.type,) and mute.include_critical  # that type, any severity
    until = mute.until
    assert (until - NOW).total_seconds() == 24 * 3600
    shown = all_text({"blocks": current(world, message).blocks})
    assert f"Muted by <@{ADMIN}> until" in shown and "Unmute" in shown
    assert "Mute 24 h" not in shown


def place_words(message: Message) -> str:
    """The "Started … · near Town" context line of an alert message."""
    line = str((message.blocks or [])[1]["elements"][0]["text"])
    return line.split("\n")[0]


@pytest.mark.parametrize("action", [ACTION_ACK, ACTION_MUTE])
def test_a_redraw_keeps_what_the_first_post_said(world: World, action: str) -> None:
    """Acknowledge and Mute redraw the message as delivery drew it: the town stays named."""
    alert = stored_alerts(world, 1)[0]
    message = post_alert(world, alert)
    before = place_words(message)
    assert "near " in before or " from " in before or "at " in before

    world.driver.click(message, action)
    world.slack.wait_for(lambda s: current(world, message).edited)
    assert place_words(current(world, message)) == before


# -- the services, called directly (no HTTP) ------------------------------------------------


def click(message: Message, user: str, value: str) -> Click:
    """What a click on ``message`` would carry."""
    return Click(user=user, channel=message.channel, ts=message.ts, value=value,
                 blocks=list(message.blocks or []))  # fmt: skip


def test_acknowledge_directly_edits_once_then_says_who(world: World) -> None:
    """The first acknowledge edits the message in place; the second says who did it first."""
    (alert,) = stored_alerts(world, 1)
    message = post_alert(world, alert)
    assert acknowledge(world.services, world.client, click(message, ADMIN, alert.id)) is None
    assert f"Acknowledged by <@{ADMIN}>" in all_text({"blocks": current(world, message).blocks})
    again = acknowledge(world.services, world.client, click(message, GUEST, alert.id))
    assert again is not None and f"Already acknowledged by <@{ADMIN}>" in all_text(again)


def test_details_and_mute_directly_refuse_politely(world: World) -> None:
    """An alert the ledger forgot, and a non-admin muting: the person's problem, said plainly."""
    (alert,) = stored_alerts(world, 1)
    message = post_alert(world, alert)
    with pytest.raises(UserInputError, match="no longer know alert `gone`"):
        details(world.services, click(message, GUEST, "gone"))
    with pytest.raises(UserInputError, match="only Fleetbot admins can mute"):
        mute_for_a_day(world.services, world.client, click(message, GUEST, alert.vin))
    assert world.ledger.mutes() == []
    assert mute_for_a_day(world.services, world.client, click(message, ADMIN, alert.vin)) is None
    assert "Muted by" in all_text({"blocks": current(world, message).blocks})
    [mute] = world.ledger.mutes(NOW)
    assert mute.until == NOW + dt.timedelta(hours=24) and mute.types == (alert.type,)


def test_trips_today_directly(world: World) -> None:
    """The Trips today button's service: today's trips of the vehicle, by VIN."""
    vin = world.vehicle()["vin"]
    text = "\n".join(all_text(m) for m in trips_today(world.services, vin))
    assert "today" in text and world.name() in text
