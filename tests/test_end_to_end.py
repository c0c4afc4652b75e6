"""The whole bot as `fleetbot demo` wires it: push delivery, the webhook's guard, redeliveries."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

import pytest

from bot.demo import ALERTS, OPS, demo_world
from bot.messages.alerts import alert_ids_in

T = TypeVar("T")


@pytest.fixture
def world(tmp_path):
    with demo_world(tmp_path) as parts:
        yield parts


def posted(slack) -> Counter:
    return Counter(a for m in slack.messages() for a in alert_ids_in(m.metadata))


def wait_for_value(read: Callable[[], T | None], timeout: float = 20) -> T:
    """What ``read`` returns once it is not None (raises TimeoutError after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while (value := read()) is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"still None after {timeout} s")
        time.sleep(0.02)
    return value


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code


def test_a_pushed_alert_is_posted_without_waiting_for_a_poll(world):
    sandbox, slack, fleetbot, driver = world
    fleetbot.poll_job.budget = fleetbot.poll_job.budget.__class__(interval=3600)
    result = driver.command("/fleet", "monitor enable")
    assert "Push is on" in result.replies()[0]["text"]
    fleetbot.start_scheduler()  # first poll runs now; the next one is an hour away
    slack.wait_for(lambda s: len(s.messages()) > 0, timeout=20)
    first_cycle = wait_for_value(lambda: fleetbot.poll_job.next_due)
    vin = sandbox.vehicles()[3]["vin"]
    alert = sandbox.add_alert(vin, type="OilLevelLow", severity="Warning")
    slack.wait_for(lambda s: alert["id"] in posted(s), timeout=15)
    assert fleetbot.poll_job.next_due == first_cycle  # no second poll happened
    assert posted(slack)[alert["id"]] == 1
    assert any(alert["id"] in alert_ids_in(m.metadata) for m in slack.messages(ALERTS))

    # The API redelivers the same MonitorEvents (e.g. it missed our 200): still one post.
    sandbox.redeliver_last_event()
    assert sandbox.wait_for_webhooks(timeout=10)
    fleetbot.delivery.run_once()
    assert posted(slack)[alert["id"]] == 1


def test_a_callback_without_the_token_is_refused_and_stores_nothing(world):
    sandbox, slack, fleetbot, _driver = world
    url = fleetbot.settings.public_url + "/psa/events"
    vin = sandbox.vehicles()[0]["vin"]
    event = {
        "monitorId": "m1",
        "events": [
            {
                "fleetId": sandbox.fleet_id,
                "vin": vin,
                "eventDate": "2026-11-27T10:00:00Z",
                "values": [
                    {
                        "data": "vehicle.alert",
                        "value": {
                            "type": "obj.alert",
                            "body": {
                                "objectValues": [
                                    {"id": "forged-1", "vin": vin, "type": "EngineFault",
                                     "severity": "Critical", "active": True}
                                ]
                            },
                        },
                    }
                ],
            }
        ],
    }  # fmt: skip
    body = json.dumps(event).encode()
    json_type = {"Content-Type": "application/json"}
    assert post(url, body, json_type) == 401
    assert post(url, body, {**json_type, "X-Fleetbot-Token": "wrong"}) == 401
    assert fleetbot.ledger.alert("forged-1") is None
    token = fleetbot.settings.webhook_token
    for garbage in (b"{not json", b"{}", b'{"events": [1]}', b"[]"):
        assert post(url, garbage, {**json_type, "X-Fleetbot-Token": token}) == 400
    assert post(url, body, {**json_type, "X-Fleetbot-Token": token}) == 200
    assert post(url, body, {**json_type, "X-Fleetbot-Token": token}) == 200
    fleetbot.delivery.run_once()
    assert posted(slack)["forged-1"] == 1


def test_healthz_reports_the_pipeline(world):
    _sandbox, _slack, fleetbot, _driver = world
    assert fleetbot.start_scheduler()  # healthy only while some process schedules
    with urllib.request.urlopen(fleetbot.settings.public_url + "/healthz", timeout=5) as answer:
        report = json.loads(answer.read())
    assert report["ok"] is True and "deliveries" in report


def test_subscribe_routes_future_alerts(world):
    sandbox, slack, fleetbot, driver = world
    reply = driver.command("/fleet", f"subscribe <#{OPS}|ops> severity>=critical").replies()[0]
    assert OPS in reply["text"]
    fleetbot.poller.poll_once()
    fleetbot.delivery.run_once()
    vin = sandbox.vehicles()[5]["vin"]
    alert = sandbox.add_alert(vin, type="BrakingSystemFailure", severity="Critical")
    fleetbot.poller.poll_once()
    fleetbot.delivery.run_once()
    in_ops = Counter(a for m in slack.messages(OPS) for a in alert_ids_in(m.metadata))
    assert in_ops[alert["id"]] == 1 and posted(slack)[alert["id"]] == 1
