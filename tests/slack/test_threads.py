"""Quiet threads, escalation and the mute surface, over HTTP and the Slack stand-in.

Clicks go through the driver as Slack sends them; thread replies are read back from the
stand-in with ``conversations.replies`` (what Slack would show), never from our own ledger.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bot.alerts.followups import FollowupService
from bot.messages.alerts import (
    ACTION_ACK,
    ACTION_DIGEST_ACK_ALL,
    ACTION_MUTE,
    ACTION_UNMUTE,
    digest_message,
)
from bot.messages.followups import EVENT_FOLLOWUP, followup_message
from bot.messages.home import ACTION_HOME_ACK
from bot.posting.slack_port import SlackPort
from bot.sandbox.slack import Message
from bot.slack.actions import acknowledge
from bot.store import Ledger, StoredAlert
from tests.slack.conftest import ADMIN, ALERTS, GUEST, NOW, World, all_text, reply
from tests.slack.test_actions import click, current, post_alert, stored_alerts

BOSS = "<@U0BOSS|boss>"


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: dt.datetime = NOW) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def at(self, **delta: float) -> None:
        """Set the time to NOW plus ``delta``."""
        self.now = NOW + dt.timedelta(**delta)


def thread(world: World, message: Message) -> list[dict[str, Any]]:
    """The replies under ``message`` as Slack shows them (parent left out), with metadata."""
    answer = world.client.conversations_replies(
        channel=message.channel, ts=message.ts, include_all_metadata=True
    )
    messages = answer["messages"]
    assert messages[0]["ts"] == message.ts
    return list(messages[1:])


def history(world: World) -> list[dict[str, Any]]:
    """What the channel itself shows (replies only when broadcast, as in Slack)."""
    return list(world.client.conversations_history(channel=ALERTS)["messages"])


def kinds(replies: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """(kind, n) of each reply's follow-up metadata."""
    out = []
    for r in replies:
        assert r["metadata"]["event_type"] == EVENT_FOLLOWUP
        payload = r["metadata"]["event_payload"]
        out.append((payload["kind"], payload["n"]))
    return out


def assert_quiet(world: World, message: Message, replies: list[dict[str, Any]]) -> None:
    """Every reply is in the thread only: none broadcast, none in the channel's history."""
    assert all(r.get("subtype") != "thread_broadcast" for r in replies)
    assert all(r["thread_ts"] == message.ts for r in replies)
    shown = {m["ts"] for m in history(world)}
    assert not shown & {r["ts"] for r in replies}
    assert any(m["ts"] == message.ts and m.get("reply_count") == len(replies)
               for m in history(world))  # fmt: skip


# -- one quiet reply per event -----------------------------------------------------------------


def test_acknowledge_adds_one_quiet_reply(world: World) -> None:
    """Acknowledge edits the message and adds exactly one reply saying who and when."""
    (alert,) = stored_alerts(world, 1)
    message = post_alert(world, alert)
    world.driver.click(message, ACTION_ACK)
    world.slack.wait_for(lambda s: len(thread(world, message)) == 1)
    assert current(world, message).edited
    (answer,) = thread(world, message)
    assert f"<@{ADMIN}> acknowledged this alert at" in answer["text"]
    assert answer["metadata"]["event_payload"] == {"alert_id": alert.id, "kind": "ack", "n": 1}
    assert answer["bot_id"] == world.slack.bot_id
    assert_quiet(world, message, [answer])
    # A second acknowledgement (another copy of the button) changes nothing, adds no reply.
    again = acknowledge(world.services, world.client, click(message, GUEST, alert.id))
    assert again is not None and "Already acknowledged" in all_text(again)
    world.fleetbot.followups.run_once()  # type: ignore[union-attr]
    assert len(thread(world, message)) == 1


def test_mute_then_unmute_each_add_one_reply(world: World) -> None:
    """Mute 24 h: the message says who and until when, with Unmute; Unmute lifts that mute,
    restores the Mute button, and each adds one reply to the thread."""
    (alert,) = stored_alerts(world, 1)
    message = post_alert(world, alert)
    world.driver.click(message, ACTION_MUTE)
    world.slack.wait_for(lambda s: len(thread(world, message)) == 1)
    muted = current(world, message)
    text = all_text({"blocks": muted.blocks})
    assert f"Muted by <@{ADMIN}> until" in text
    [mute] = world.ledger.mutes(NOW)
    unmute = [e for b in muted.blocks or [] for e in b.get("elements", [])
              if e.get("action_id") == ACTION_UNMUTE]  # fmt: skip
    assert [u["value"] for u in unmute] == [str(mute.id)]

    world.driver.click(muted, ACTION_UNMUTE, value=str(mute.id))
    world.slack.wait_for(lambda s: len(thread(world, message)) == 2)
    assert world.ledger.mutes(NOW) == []
    back = all_text({"blocks": current(world, message).blocks})
    assert "Muted by" not in back and "Mute 24 h" in back
    replies = thread(world, message)
    assert kinds(replies) == [("mute", 1), ("unmute", 1)]
    assert f"<@{ADMIN}> muted" in replies[0]["text"] and "until" in replies[0]["text"]
    assert f"<@{ADMIN}> unmuted" in replies[1]["text"]
    assert_quiet(world, message, replies)


def test_unmute_is_for_admins(world: World) -> None:
    """A non-admin's Unmute is refused, naming the admins; the mute stays."""
    (alert,) = stored_alerts(world, 1)
    message = post_alert(world, alert)
    world.driver.click(message, ACTION_MUTE)
    world.slack.wait_for(lambda s: current(world, message).edited)
    [mute] = world.ledger.mutes(NOW)
    (refused,) = world.driver.click(
        current(world, message), ACTION_UNMUTE, value=str(mute.id), user_id=GUEST
    ).replies()
    assert "only Fleetbot admins can unmute" in all_text(refused) and f"<@{ADMIN}>" in all_text(
        refused
    )
    assert world.ledger.mutes(NOW) == [mute]


def open_alerts(world: World, count: int) -> list[StoredAlert]:
    """``count`` sandbox alerts, recorded as still open in the ledger and queued for #alerts."""
    world.services.directory.refresh()
    vehicles = {v["vin"]: v["id"] for v in world.sandbox.vehicles()}
    alerts = [
        StoredAlert(
            id=raw["id"],
            vehicle_id=vehicles[raw["vin"]],
            vin=raw["vin"],
            type=raw["type"],
            severity=raw["severity"],
            active=True,
            payload=raw,
        )
        for raw in world.sandbox.alerts()[:count]
    ]
    assert len(alerts) == count
    world.ledger.ingest(alerts, lambda alert: [ALERTS])
    return alerts


def post_digest(world: World, alerts: list[StoredAlert]) -> Message:
    """Post a digest as delivery does, and record its rows as sent."""
    answer = world.client.chat_postMessage(
        channel=ALERTS, **digest_message([(a, None) for a in alerts], names={})
    )
    ids = [world.ledger.delivery(a.id, ALERTS).id for a in alerts]  # type: ignore[union-attr]
    world.ledger.mark_sent(ids, slack_ts=answer["ts"], digest=True)
    message = world.slack.message(ALERTS, answer["ts"])
    assert message is not None
    return message


def test_acknowledge_all_in_a_digest(world: World) -> None:
    """Acknowledge all acknowledges every alert of the digest, with one reply in its thread."""
    alerts = stored_alerts(world, 3)
    message = post_digest(world, alerts)
    assert ACTION_DIGEST_ACK_ALL in str(message.blocks)
    world.driver.click(message, ACTION_DIGEST_ACK_ALL)
    world.slack.wait_for(lambda s: len(thread(world, message)) == 1)
    for alert in alerts:
        row = world.ledger.delivery(alert.id, ALERTS)
        assert row is not None and row.acked_by == ADMIN
    updated = current(world, message)
    assert ACTION_DIGEST_ACK_ALL not in str(updated.blocks)  # nothing left to acknowledge
    assert all_text({"blocks": updated.blocks}).count(f"Acknowledged by <@{ADMIN}>") == 3
    (answer,) = thread(world, message)
    assert f"<@{ADMIN}> acknowledged all 3 alerts" in answer["text"]
    assert_quiet(world, message, [answer])


def test_ended_digest_says_so_in_its_title_and_thread(world: World) -> None:
    """When every alert of a digest has ended, delivery's edit titles it so; each end is one
    reply in the digest's thread."""
    alerts = open_alerts(world, 3)
    message = post_digest(world, alerts)
    ended = [
        StoredAlert(**{**a.__dict__, "active": False, "end_at": NOW, "updated_at": NOW})
        for a in alerts
    ]
    world.ledger.ingest(ended[:2], lambda alert: [ALERTS])
    world.fleetbot.delivery.run_once()
    assert "all ended" not in all_text({"blocks": current(world, message).blocks})
    world.ledger.ingest(ended[2:], lambda alert: [ALERTS])
    world.fleetbot.delivery.run_once()
    assert "3 vehicle alerts — all ended" in all_text({"blocks": current(world, message).blocks})
    world.fleetbot.followups.run_once()  # type: ignore[union-attr]
    replies = thread(world, message)
    assert kinds(replies) == [("ended", 1)] * 3
    assert sorted(r["metadata"]["event_payload"]["alert_id"] for r in replies) == sorted(
        a.id for a in alerts
    )
    assert_quiet(world, message, replies)
    world.fleetbot.delivery.run_once()
    world.fleetbot.followups.run_once()  # type: ignore[union-attr]
    assert len(thread(world, message)) == 3  # queued once, posted once


# -- escalation --------------------------------------------------------------------------------


def test_subscribe_with_escalation_is_stored_and_shown(world: World) -> None:
    """`escalate=… to=…` is kept on the route as given and shown by `/fleet routes`."""
    text = all_text(reply(world.driver.command("/fleet", f"subscribe escalate=15m to={BOSS}")))
    assert "escalated to" in text and "every 15 minutes" in text
    [route] = [r for r in world.ledger.routes() if r.escalate_every]
    assert route.escalate_every == dt.timedelta(minutes=15) and route.escalate_to == BOSS
    routes = all_text(reply(world.driver.command("/fleet", "routes")))
    assert BOSS in routes and "every 15 minutes" in routes
    group = "<!subteam^S0FLEET|fleet-team>"
    reply(world.driver.command("/fleet", f"subscribe escalate=1h to={group}"))
    assert [r.escalate_to for r in world.ledger.routes() if r.escalate_every] == [group]


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ("escalate=15m to=@bob", "takes a person or a user group"),
        ("escalate=15m to=<!channel>", "takes a person or a user group"),
        ("escalate=15m to=<#C0OPS|ops>", "takes a person or a user group"),
        (f"to={BOSS}", "add `escalate="),
        ("escalate=soon", "soon"),
    ],
)
def test_subscribe_refuses_a_bad_escalation(world: World, options: str, says: str) -> None:
    """Only a user or user-group mention is accepted, and `to=` needs `escalate=`."""
    text = all_text(reply(world.driver.command("/fleet", f"subscribe {options}")))
    assert says in text
    assert not [r for r in world.ledger.routes() if r.escalate_every]


def escalating(world: World, clock: FakeClock, to: str | None = None) -> tuple[Message, Any]:
    """An alert posted at NOW through a route escalating every 15 min, and a follow-up service
    on the same database whose clock the test moves."""
    world.ledger.add_route(ALERTS, escalate_every=dt.timedelta(minutes=15), escalate_to=to)
    (alert,) = stored_alerts(world, 1)
    message = post_alert(world, alert)
    ledger = Ledger(world.ledger.path, clock=clock)
    service = FollowupService(
        ledger, SlackPort(world.client), clock=clock, reconcile_grace=dt.timedelta(0)
    )
    return message, service


def test_reminders_come_every_duration_at_most_three(world: World) -> None:
    """Reminders at +15, +30 and +45 min mentioning the target, then never again."""
    clock = FakeClock()
    message, service = escalating(world, clock, to=BOSS)
    posted_at: dict[int, float] = {}
    for minute in range(0, 121):
        clock.at(minutes=minute)
        service.run_once()
        for n in range(len(posted_at) + 1, len(thread(world, message)) + 1):
            posted_at[n] = minute
    assert posted_at == {1: 15, 2: 30, 3: 45}
    replies = thread(world, message)
    assert kinds(replies) == [("reminder", 1), ("reminder", 2), ("reminder", 3)]
    assert all(r["text"].startswith(BOSS) for r in replies)
    assert "reminder 3 of 3" in replies[2]["text"]
    assert_quiet(world, message, replies)


def test_reminders_default_to_here_and_stop_on_acknowledge(world: World) -> None:
    """One reminder (`<!here>`), then an acknowledgement over HTTP: no more reminders."""
    clock = FakeClock()
    message, service = escalating(world, clock)
    clock.at(minutes=15)
    service.run_once()
    (reminder,) = thread(world, message)
    assert reminder["text"].startswith("<!here>")
    world.driver.click(message, ACTION_ACK)
    world.slack.wait_for(lambda s: len(thread(world, message)) == 2)
    for minute in (30, 45, 60, 90):
        clock.at(minutes=minute)
        service.run_once()
    assert kinds(thread(world, message)) == [("reminder", 1), ("ack", 1)]


def test_reminders_stop_when_the_alert_ends(world: World) -> None:
    """An alert that ends gets its "ended" reply and no further reminder."""
    clock = FakeClock()
    message, service = escalating(world, clock)
    clock.at(minutes=15)
    service.run_once()
    [row] = [d for d in world.ledger.deliveries_for_message(ALERTS, message.ts)]
    over = StoredAlert(**{**row.alert.__dict__, "active": False, "end_at": NOW, "updated_at": NOW})
    world.ledger.ingest([over], lambda alert: [ALERTS])
    world.fleetbot.delivery.run_once()
    for minute in (30, 45, 60):
        clock.at(minutes=minute)
        service.run_once()
    assert kinds(thread(world, message)) == [("reminder", 1), ("ended", 1)]


def test_a_reminder_queued_before_an_acknowledgement_is_cancelled(world: World) -> None:
    """Acknowledged between queueing and posting: the reminder is cancelled, not posted."""
    clock = FakeClock()
    message, service = escalating(world, clock)
    clock.at(minutes=15)
    assert service.queue_reminders() == 1
    world.ledger.acknowledge(world.ledger.deliveries_for_message(ALERTS, message.ts)[0].alert.id,
                             ALERTS, ADMIN, NOW)  # fmt: skip
    report = service.run_once()
    assert report.cancelled == 1 and thread(world, message) == []


# -- a crash neither loses nor repeats a reminder -------------------------------------------


def test_crash_between_claim_and_post_loses_nothing(world: World) -> None:
    """Claimed, then the process died before posting: the next run looks in the thread, finds
    nothing, and posts the reminder once."""
    clock = FakeClock()
    message, service = escalating(world, clock)
    clock.at(minutes=15)
    service.queue_reminders()
    claimed = service.ledger.claim_followups()  # ... and the process dies here
    assert [f.kind for f in claimed] == ["reminder"]
    clock.at(minutes=16)
    report = service.run_once()
    assert report.reposted_after_check == 1 and report.posted == 1
    assert kinds(thread(world, message)) == [("reminder", 1)]


def test_crash_between_post_and_record_repeats_nothing(world: World) -> None:
    """Posted, then the process died before recording it: the next run finds it in the thread
    (by our bot_id and metadata) and does not post it again."""
    clock = FakeClock()
    message, service = escalating(world, clock)
    clock.at(minutes=15)
    service.queue_reminders()
    (row,) = service.ledger.claim_followups()
    SlackPort(world.client).post(  # the post went out; the process died before marking it
        ALERTS, followup_message(row.alert_id, row.kind, row.n, row.text, thread_ts=row.thread_ts)
    )
    clock.at(minutes=16)
    report = service.run_once()
    assert report.reconciled == 1 and report.posted == 0
    for minute in (17, 20, 25):
        clock.at(minutes=minute)
        service.run_once()
    assert kinds(thread(world, message)) == [("reminder", 1)]
    clock.at(minutes=31)
    service.run_once()
    assert kinds(thread(world, message)) == [("reminder", 1), ("reminder", 2)]


def test_lost_answer_is_reconciled_not_reposted(world: World) -> None:
    """Slack stored the reply but the answer was lost: found in the thread, posted once."""
    clock = FakeClock()
    message, service = escalating(world, clock)
    clock.at(minutes=15)
    world.slack.fail_next("chat.postMessage", "drop_after_post")
    first = service.run_once()
    assert first.posted == 0
    clock.at(minutes=16)
    second = service.run_once()
    assert second.reconciled == 1
    assert kinds(thread(world, message)) == [("reminder", 1)]


def test_another_apps_forged_reply_does_not_count(world: World) -> None:
    """Reconciliation counts only our own bot's replies: a forged one is not ours."""
    clock = FakeClock()
    message, service = escalating(world, clock)
    clock.at(minutes=15)
    service.queue_reminders()
    (row,) = service.ledger.claim_followups()
    forged = followup_message(row.alert_id, row.kind, row.n, "forged", thread_ts=message.ts)
    other = world.slack.post_as_app(ALERTS, "forged", metadata=forged["metadata"])
    assert other.bot_id != world.slack.bot_id
    clock.at(minutes=16)
    report = service.run_once()
    assert report.reposted_after_check == 1 and report.posted == 1


# -- App Home ------------------------------------------------------------------------------


def test_home_lists_what_waits_oldest_first_and_acknowledges(world: World) -> None:
    """App Home: the open, unacknowledged alerts (oldest post first, each with Acknowledge)
    above the operator's figures; acknowledging there edits the message and adds its reply."""
    newer_alert, older_alert = open_alerts(world, 2)
    newer = post_alert(world, newer_alert)
    older = post_alert(world, older_alert)
    earlier = Ledger(world.ledger.path, clock=lambda: NOW - dt.timedelta(hours=1))
    earlier.mark_sent([world.ledger.delivery(older_alert.id, ALERTS).id],  # type: ignore[union-attr]
                      slack_ts=older.ts)  # fmt: skip
    earlier.close()

    world.driver.event({"type": "app_home_opened", "user": ADMIN, "tab": "home"})
    world.slack.wait_for(lambda s: ADMIN in s.views)
    blocks = world.slack.views[ADMIN]["blocks"]
    text = all_text({"blocks": blocks})
    assert "Waiting for acknowledgement* (2, oldest first)" in text
    assert text.index("Waiting for acknowledgement") < text.index("Vehicles with open alerts")
    values = [b["accessory"]["value"] for b in blocks if "accessory" in b]
    assert values == [f"{ALERTS}|{older_alert.id}", f"{ALERTS}|{newer_alert.id}"]

    before = sum(1 for c in world.slack.calls if c.method == "views.publish")
    world.driver.click_home(ACTION_HOME_ACK)  # the first: the older alert
    world.slack.wait_for(lambda s: len(thread(world, older)) == 1)
    world.slack.wait_for(lambda s: sum(1 for c in s.calls if c.method == "views.publish") > before)
    row = world.ledger.delivery(older_alert.id, ALERTS)
    assert row is not None and row.acked_by == ADMIN
    assert f"Acknowledged by <@{ADMIN}>" in all_text({"blocks": current(world, older).blocks})
    assert kinds(thread(world, older)) == [("ack", 1)] and thread(world, newer) == []
    text = all_text({"blocks": world.slack.views[ADMIN]["blocks"]})
    assert "Waiting for acknowledgement* (1, oldest first)" in text


# -- the mute button holds that type only, Unmute posts what it held -----------------------


def test_mute_button_holds_that_type_only_and_unmute_posts_it(world: World) -> None:
    """After Mute 24 h, a new alert of that type on that vehicle is held while another type is
    posted; Unmute lifts it and the held alert is posted, saying a mute held it."""
    (alert,) = open_alerts(world, 1)
    message = post_alert(world, alert)
    world.driver.click(message, ACTION_MUTE)
    world.slack.wait_for(lambda s: current(world, message).edited)
    [mute] = world.ledger.mutes(NOW)

    same = StoredAlert(**{**alert.__dict__, "id": "same-type", "severity": "Critical"})
    other = StoredAlert(**{**alert.__dict__, "id": "other-type", "type": "LowFuel"})
    world.ledger.ingest([same, other], world.fleetbot.poller.router())
    world.fleetbot.delivery.run_once()
    posted = {m.metadata["event_payload"].get("alert_id") for m in world.slack.messages(ALERTS)
              if m.metadata}  # fmt: skip
    assert "other-type" in posted and "same-type" not in posted

    world.driver.click(current(world, message), ACTION_UNMUTE, value=str(mute.id))
    world.slack.wait_for(lambda s: world.ledger.mutes(NOW) == [])
    world.fleetbot.delivery.run_once()
    [held] = [
        m
        for m in world.slack.messages(ALERTS)
        if m.metadata and m.metadata["event_payload"].get("alert_id") == "same-type"
    ]
    assert "Held back by a mute" in all_text({"blocks": held.blocks})


def test_followups_job_is_in_the_composition_roots_table(world: World) -> None:
    """The scheduler runs the follow-up outbox (replies and reminders) beside delivery."""
    job, every = world.fleetbot.scheduled_jobs()["followups"]
    assert every <= 5
    assert job() is not None  # a plain callable: one run of the service


def test_replies_wait_while_slack_refuses_the_token(world: World) -> None:
    """A refused token leaves the reply queued (no error, no loss); it is posted once it works."""
    (alert,) = open_alerts(world, 1)
    message = post_alert(world, alert)
    world.slack.revoke_token()
    world.ledger.queue_followup(alert.id, ALERTS, "ack", "later", thread_ts=message.ts)
    service = world.fleetbot.followups
    assert service is not None
    report = service.run_once()
    assert report.posted == 0
    assert [f.state for f in world.ledger.followups(alert.id)] == ["pending"]
    world.slack.restore_token()
    assert service.run_once().posted == 1
    assert [r["text"] for r in thread(world, message)] == ["later"]
