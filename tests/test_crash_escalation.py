"""Kill -9 while escalation reminders flow: afterwards each alert has reminders 1, 2 and 3 in
its thread, each exactly once (none lost, none repeated), and none in the channel itself."""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import signal
import sqlite3
import time
from collections import Counter
from pathlib import Path

import pytest

from bot.messages.alerts import alert_ids_in
from bot.messages.followups import followup_key
from bot.sandbox.psa import PsaSandbox
from bot.sandbox.slack import SlackStandIn
from bot.sandbox.slack.server import THREAD_REPLY_METHOD
from bot.store import Ledger
from tests.claims import OUTBOXES, age_claims
from tests.processes import bot_env, start_bot

CHANNEL = "C0ALERTS"
KILLS = 8
EVERY = dt.timedelta(seconds=2)


def reminders(slack: SlackStandIn) -> Counter:
    """(alert id, n) of every reminder in any thread of the channel, counted."""
    found: Counter = Counter()
    for message in slack.messages(CHANNEL):
        key = followup_key(message.metadata)
        if key is not None and key[1] == "reminder":
            assert message.is_reply and not message.broadcast
            found[(key[0], key[2])] += 1
    return found


def outboxes_settled(db: Path) -> bool:
    """Nothing waiting or in flight in the alert and follow-up outboxes."""
    busy = "SELECT count(*) FROM {} WHERE state IN ('pending', 'sending')"
    with contextlib.closing(sqlite3.connect(db, timeout=5)) as conn:
        return not any(conn.execute(busy.format(t)).fetchone()[0] for t in OUTBOXES)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_sigkill_during_escalation_loses_and_repeats_no_reminder(certs, tmp_path):
    rng = random.Random(20261208)
    db = tmp_path / "fleetbot.db"
    # The route escalates every 2 s (shorter than `/fleet subscribe` accepts, to keep it quick).
    ledger = Ledger(db)
    ledger.add_route(CHANNEL, escalate_every=EVERY, escalate_to="<@U0BOSS>")
    ledger.close()
    with (
        PsaSandbox(certs, vehicles=6, daily_limit=10_000_000) as sandbox,
        SlackStandIn(channels=(CHANNEL,)) as slack,
    ):
        slack.fault_seed = 5
        slack.drop_after_post_rate = 0.25  # some posts reach Slack but their answer is lost
        # ...and certainly the first two thread replies, however the kills fall
        slack.fail_next(THREAD_REPLY_METHOD, "drop_after_post")
        slack.fail_next(THREAD_REPLY_METHOD, "drop_after_post")
        env = bot_env(
            sandbox,
            slack,
            db,
            SLACK_SIGNING_SECRET="crash-test-secret",
            FLEETBOT_ALERT_CHANNEL=CHANNEL,
            FLEETBOT_POLL_INTERVAL="1",
            HOST="127.0.0.1",
            PORT="0",
        )
        vins = [v["vin"] for v in sandbox.vehicles()]
        with (tmp_path / "bot.log").open("w") as log_file:
            for round_ in range(KILLS):
                if round_ < 4:
                    sandbox.add_alert(rng.choice(vins), severity="Warning")
                bot = start_bot(env, log_file)
                time.sleep(rng.uniform(1.0, 4.0))
                bot.send_signal(signal.SIGKILL)
                bot.wait()

            # What the dead processes left in flight is looked up 30 s after its claim: age
            # those claims instead of waiting (the same as moving the clock on). The last bot
            # runs without lost answers, so the run does not wait on its own grace either.
            age_claims(db)
            slack.drop_after_post_rate = 0.0
            posted = {a for m in slack.messages(CHANNEL) for a in alert_ids_in(m.metadata)}
            bot = start_bot(env, log_file)
            try:
                # Done when both outboxes have settled (an alert post whose answer was lost is
                # looked up 30 s after its claim, and may then be posted, with its reminders
                # after it) and every alert in the channel has its three reminders.
                deadline = time.monotonic() + 210
                while time.monotonic() < deadline:
                    assert bot.poll() is None, "the bot stopped by itself"
                    posted = {a for m in slack.messages(CHANNEL) for a in alert_ids_in(m.metadata)}
                    want = {(a, n) for a in posted for n in (1, 2, 3)}
                    if posted and set(reminders(slack)) >= want and outboxes_settled(db):
                        break
                    time.sleep(0.5)
                time.sleep(EVERY.total_seconds() * 3)  # a 4th or a repeat would show up now
            finally:
                bot.send_signal(signal.SIGTERM)
                assert bot.wait(timeout=30) == 0

        counts = reminders(slack)
        posted = {a for m in slack.messages(CHANNEL) for a in alert_ids_in(m.metadata)}
        log = (tmp_path / "bot.log").read_text()
        assert posted, log[-3000:]
        want = {(a, n) for a in posted for n in (1, 2, 3)}
        assert set(counts) == want, f"lost or extra: {want ^ set(counts)}\n{log[-3000:]}"
        assert [k for k, n in counts.items() if n > 1] == [], "repeated"
        # No reminder reached the channel itself: Slack's history shows none.
        history = slack.messages(CHANNEL)
        assert not [m for m in history if m.is_reply and m.broadcast]
        # The lost-answer case really happened to a reply, and the thread was looked up.
        assert any(c.fault == "drop_after_post" and c.params.get("thread_ts") for c in slack.calls)
        assert any(c.method == "conversations.replies" for c in slack.calls)
        assert outboxes_settled(db)
