"""Kill -9 at random moments while alerts flow: afterwards each alert is in Slack exactly once."""

from __future__ import annotations

import random
import signal
import time
from collections import Counter

import pytest

from bot.messages.alerts import alert_ids_in
from bot.sandbox.psa import PsaSandbox
from bot.sandbox.slack import SlackStandIn
from tests.claims import age_claims
from tests.processes import bot_env, start_bot

KILLS = 20
ALERTS_PER_ROUND = 15  # 20 rounds x 15 = 300 alerts, plus those active at first start
SEVERITIES = ("Information", "Warning", "Critical")


def posted(slack: SlackStandIn) -> Counter:
    return Counter(a for m in slack.messages() for a in alert_ids_in(m.metadata))


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_sigkill_at_random_moments_loses_and_duplicates_nothing(certs, tmp_path):
    rng = random.Random(20261127)
    with (
        PsaSandbox(certs, vehicles=25, daily_limit=10_000_000) as sandbox,
        SlackStandIn(channels=("C0ALERTS", "C0OPS")) as slack,
    ):
        # Some posts reach Slack but their answer is lost: the bot must reconcile, not re-post.
        slack.fault_seed = 3
        slack.drop_after_post_rate = 0.1
        env = bot_env(
            sandbox,
            slack,
            tmp_path / "fleetbot.db",
            SLACK_SIGNING_SECRET="crash-test-secret",
            FLEETBOT_ALERT_CHANNEL="C0ALERTS",
            FLEETBOT_POLL_INTERVAL="1",
            HOST="127.0.0.1",
            PORT="0",
        )
        expected = {a["id"] for a in sandbox.alerts() if a["active"]}
        vins = [v["vin"] for v in sandbox.vehicles()]
        with (tmp_path / "bot.log").open("w") as log_file:
            for _ in range(KILLS):
                for _ in range(ALERTS_PER_ROUND):
                    alert = sandbox.add_alert(rng.choice(vins), severity=rng.choice(SEVERITIES))
                    expected.add(alert["id"])
                bot = start_bot(env, log_file)
                time.sleep(rng.uniform(1.0, 4.0))
                bot.send_signal(signal.SIGKILL)
                bot.wait()

            slack.drop_after_post_rate = 0
            age_claims(tmp_path / "fleetbot.db")  # the dead processes' grace, passed
            bot = start_bot(env, log_file)
            try:
                deadline = time.monotonic() + 120
                while set(posted(slack)) != expected and time.monotonic() < deadline:
                    assert bot.poll() is None, "the bot stopped by itself"
                    time.sleep(0.5)
                time.sleep(3)  # a duplicate would show up in the meantime
            finally:
                bot.send_signal(signal.SIGTERM)
                assert bot.wait(timeout=30) == 0

        counts = posted(slack)
        log = (tmp_path / "bot.log").read_text()
        assert set(counts) == expected, f"lost: {len(expected - set(counts))}\n{log[-3000:]}"
        assert [a for a, n in counts.items() if n > 1] == [], "duplicated"
        assert len(expected) >= KILLS * ALERTS_PER_ROUND
        # The lost-answer case really happened.
        assert any(c.fault == "drop_after_post" for c in slack.calls)
