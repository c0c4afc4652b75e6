"""Months, not minutes: pruning every day never makes an alert come back or lose its end.

Real parts on a fake clock: the API sandbox (whose alert query returns every alert whose life
overlaps the asked window), the poller, delivery, the Slack stand-in and a SQLite file.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from bot.messages.alerts import alert_ids_in
from bot.sandbox.psa import PsaSandbox
from bot.sandbox.slack import SlackStandIn
from bot.wiring import build_fleetbot
from tests.conftest import FAST_RETRY, bot_settings

from .conftest import FALLBACK

T0 = dt.datetime(2026, 1, 5, 6, 0, tzinfo=dt.UTC)
STEP = dt.timedelta(hours=12)
DAYS = 100
RETENTION = dt.timedelta(days=30)


@pytest.mark.slow
def test_daily_pruning_over_months_reposts_nothing_and_loses_no_end(certs, tmp_path):
    now = [T0]
    with (
        PsaSandbox(certs, vehicles=3, clock=lambda: now[0]) as sandbox,
        SlackStandIn(channels=(FALLBACK,), clock=lambda: now[0].timestamp()) as slack,
    ):
        for seeded in sandbox.alerts():  # start from a quiet fleet: only our alerts matter
            if seeded["active"]:
                sandbox.end_alert(seeded["id"], at=T0 - dt.timedelta(days=1))
        settings = bot_settings(sandbox, slack, tmp_path / "f.db", FLEETBOT_ALERT_CHANNEL=FALLBACK)
        fleetbot = build_fleetbot(
            settings,
            clock=lambda: now[0],
            api_retry=FAST_RETRY,
            slack_rate_limit_retries=0,
            per_channel_interval=0.0,
        )
        ledger, poller, delivery = fleetbot.ledger, fleetbot.poller, fleetbot.delivery
        long_vin, short_vin, window_vin = (v["vin"] for v in sandbox.vehicles())
        try:
            poller.poll_once()
            # Day 0: a 40-day alert (open past the retention) on one vehicle; on another a
            # 70-day alert keeps the poll window reaching back over its brief day-1 alert.
            forty = sandbox.add_alert(long_vin, type="EngineFault", severity="Warning")
            seventy = sandbox.add_alert(window_vin, type="OilLevelLow", severity="Warning")
            brief = sandbox.add_alert(window_vin, type="RiskOfIce", severity="Information")
            raised = [forty, seventy, brief]
            ends = {forty["id"]: 40, seventy["id"]: 70, brief["id"]: 1}
            sizes = []
            for step in range(DAYS * 2):
                now[0] = T0 + STEP * (step + 1)
                day = step // 2
                if step % 2 == 0 and day % 3 == 1:  # short alerts, ending the next day
                    new = sandbox.add_alert(short_vin, type="AddWasherFluid", severity="Warning")
                    raised.append(new)
                    ends[new["id"]] = day + 1
                for alert_id, end_day in list(ends.items()):
                    if day >= end_day:
                        sandbox.end_alert(alert_id)
                        del ends[alert_id]
                poller.poll_once()
                delivery.run_once()
                if step % 2 == 1:
                    ledger.prune(RETENTION)
                    [[size]] = ledger.database.db.execute("SELECT count(*) FROM alerts")
                    sizes.append(size)
        finally:
            fleetbot.api.close()

        posts = Counter(a for m in slack.messages(FALLBACK) for a in alert_ids_in(m.metadata))
        assert posts == Counter({a["id"]: 1 for a in raised}), "an alert was posted twice or lost"
        by_alert = {a: m for m in slack.messages(FALLBACK) for a in alert_ids_in(m.metadata)}
        for alert in (forty, seventy):  # open longer than the retention, still edited at the end
            assert by_alert[alert["id"]].edited and "Ended" in str(by_alert[alert["id"]].blocks)
        assert all(m.edited for m in by_alert.values()), "an ended alert kept its open message"
        # The ledger stays small: alerts nobody can ask about again are forgotten.
        assert max(sizes[-30:]) < len(raised) / 2, sizes
        assert ledger.alert(brief["id"]) is None  # gone once the 70-day alert ended
        fleetbot.close()
