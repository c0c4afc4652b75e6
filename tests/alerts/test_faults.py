"""Under API and Slack faults every alert is still delivered exactly once, and nothing stops."""

from __future__ import annotations

import httpx

from bot.config import Settings
from bot.messages.alerts import alert_ids_in
from bot.psa.client import PsaClient
from tests.conftest import FAST_RETRY

from .conftest import Pipeline


def posted_ids(pipeline: Pipeline) -> list[str]:
    return [a for m in pipeline.slack.messages() for a in alert_ids_in(m.metadata)]


def test_every_alert_once_through_api_and_slack_faults(pipeline):
    sandbox, slack = pipeline.sandbox, pipeline.slack
    # A client with short read timeouts, so the sandbox's hangs become timeouts quickly.
    settings = Settings.from_env(sandbox.env())
    pipeline.poller.api = PsaClient.from_settings(
        settings, retry=FAST_RETRY, timeout=httpx.Timeout(1.0)
    )
    sandbox.fault_seed = 11
    sandbox.error_rate, sandbox.malformed_rate, sandbox.throttle_rate = 0.12, 0.04, 0.04
    sandbox.timeout_rate, sandbox.hang_seconds = 0.02, 3.0
    slack.fault_seed = 5
    slack.rate_limit_rate, slack.error_rate, slack.drop_after_post_rate = 0.1, 0.1, 0.15
    for kind in ("500", "drop_after_post", "ratelimited"):  # each at least once, whatever the dice
        slack.fail_next("chat.postMessage", kind)

    vins = [v["vin"] for v in sandbox.vehicles()]
    expected = {a["id"] for a in sandbox.alerts() if a["active"]}
    for round_ in range(6):
        for vin in vins[round_::6]:
            expected.add(sandbox.add_alert(vin, type="FuelLevelLow", severity="Warning")["id"])
        pipeline.cycle()  # must never raise, whatever fails underneath

    # Faults off: the remaining work drains (rate-limited rows wait for their retry time).
    sandbox.error_rate = sandbox.malformed_rate = sandbox.throttle_rate = sandbox.timeout_rate = 0
    slack.rate_limit_rate = slack.error_rate = slack.drop_after_post_rate = 0
    pipeline.ledger.database.db.execute("UPDATE deliveries SET next_attempt_at = NULL")
    for _ in range(3):
        pipeline.cycle()

    ids = posted_ids(pipeline)
    assert set(ids) == expected
    assert len(ids) == len(set(ids)), "an alert was posted twice"
    assert pipeline.ledger.counts() == {"sent": len(expected)}
    assert sandbox.stats.by_status.get(500, 0) + sandbox.stats.by_status.get(502, 0) > 0
    faults = {c.fault for c in slack.calls}
    assert {"ratelimited", "500", "drop_after_post"} <= faults
    pipeline.poller.api.close()
