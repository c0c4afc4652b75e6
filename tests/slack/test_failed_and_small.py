"""`/fleet failed` and `/fleet retry` over HTTP and the ledger, and the small fixes of issue 7."""

from __future__ import annotations

import datetime as dt

from bot.alerts.delivery import DeliveryService
from bot.messages.alerts import ACTION_DIGEST_ACK, alert_message
from bot.posting.slack_port import SlackPort
from bot.store import StoredAlert
from tests.slack.conftest import ADMIN, ALERTS, GUEST, NOW, OPS, World, all_text, reply

GONE = "C0GONE"


def alert(world: World, alert_id: str, *, index: int = 0, **changes: object) -> StoredAlert:
    """A Warning on a sandbox vehicle."""
    values: dict = {"id": alert_id, "vehicle_id": None, "vin": world.vehicle(index)["vin"],
                    "type": "OilLevelLow", "severity": "Warning", "active": True,
                    "started_at": NOW - dt.timedelta(minutes=5), **changes}  # fmt: skip
    return StoredAlert(**values)


def fail(world: World, alerts: list[StoredAlert], channel: str, error: str) -> None:
    """Record the alerts and mark their deliveries failed, as delivery does for good."""
    world.ledger.ingest(alerts, lambda _: [channel])
    world.ledger.mark_failed([d.id for d in world.ledger.claim()], error=error)


def delivery(world: World) -> DeliveryService:
    """Delivery as the composition root builds it, on the world's ledger and Slack stand-in."""
    return DeliveryService(
        world.ledger,
        SlackPort(world.client),
        vehicle_names=world.services.directory.names,
        per_channel_interval=0.0,
        reconcile_grace=dt.timedelta(0),
    )


# -- /fleet failed, /fleet retry ------------------------------------------------------------


def test_ledger_lists_failed_newest_first_and_retries_them_all(world: World) -> None:
    """failed() is newest first within its limit; retry_failed() resets them to pending."""
    fail(world, [alert(world, "a-old")], OPS, "Slack refused chat_postMessage: msg_too_long")
    fail(world, [alert(world, "a-new", index=1)], OPS, "Slack refused: invalid_blocks")
    world.ledger.ingest([alert(world, "a-fine", index=2)], lambda _: [OPS])

    assert [d.alert.id for d in world.ledger.failed()] == ["a-new", "a-old"]
    assert [d.alert.id for d in world.ledger.failed(limit=1)] == ["a-new"]
    assert world.ledger.retry_failed() == 2
    assert world.ledger.failed() == [] and world.ledger.retry_failed() == 0
    again = world.ledger.delivery("a-old", OPS)
    assert again is not None
    assert (again.state, again.attempts) == ("pending", 0)
    assert again.last_error == "Slack refused chat_postMessage: msg_too_long"  # kept
    assert world.ledger.counts() == {"pending": 3}


def test_failed_lists_what_slack_refused_in_words(world: World) -> None:
    """Vehicle, alert in words, channel, the error in words and when, for admins only."""
    world.services.directory.refresh()
    fail(world, [alert(world, "a-1")], GONE, f"{GONE}: channel_not_found")
    fail(world, [alert(world, "a-2", index=1, type="BrakingSystemFailure")], OPS,
         "Slack refused chat_postMessage in C0OPS: something_new")  # fmt: skip

    answer = all_text(reply(world.driver.command("/fleet", "failed")))
    assert "Alerts Slack refused for good* (2)" in answer
    assert world.name(0) in answer and world.name(1) in answer
    assert "Engine oil level low" in answer
    assert "Braking system failure" in answer
    assert f"<#{GONE}>" in answer and "the channel no longer exists" in answer
    assert "Slack said: Slack refused chat_postMessage in C0OPS: something_new" in answer
    assert "queued <!date^" in answer and "/fleet retry" in answer
    assert answer.index("Braking") < answer.index("Engine oil")  # newest first

    refused = world.driver.command("/fleet", "failed", user_id=GUEST)
    assert refused.json is not None and "only Fleetbot admins" in refused.json["text"]


def test_nothing_failed(world: World) -> None:
    """No failures: said plainly; retry has nothing to do."""
    assert "No failed deliveries" in all_text(reply(world.driver.command("/fleet", "failed")))
    assert "no failed deliveries to retry" in all_text(
        reply(world.driver.command("/fleet", "retry"))
    )


def test_retry_queues_them_and_delivery_posts_them(world: World) -> None:
    """After the cause is fixed, /fleet retry says how many, and the next run posts them."""
    world.services.directory.refresh()
    fail(world, [alert(world, f"a-{i}", index=i) for i in range(2)], ALERTS, "msg_too_long")
    refused = world.driver.command("/fleet", "retry", user_id=GUEST)
    assert refused.json is not None and world.ledger.counts() == {"failed": 2}

    answer = all_text(reply(world.driver.command("/fleet", "retry")))
    assert "2 failed alerts are queued again" in answer
    assert world.ledger.counts() == {"pending": 2}
    assert delivery(world).run_once().delivered_alerts == 2
    assert world.ledger.counts() == {"sent": 2}
    assert len(world.slack.messages(ALERTS)) == 2


# -- small ones -----------------------------------------------------------------------------


def test_digest_shows_when_it_was_acknowledged(world: World) -> None:
    """Acknowledged inside a digest, then redrawn by delivery: the time stays, never 'unknown'."""
    world.services.directory.refresh()
    world.ledger.ingest([alert(world, f"d-{i}", index=i) for i in range(5)], lambda _: [OPS])
    service = delivery(world)
    assert service.run_once().posted_messages == 1
    (digest,) = world.slack.messages(OPS)
    world.driver.click(digest, ACTION_DIGEST_ACK)
    world.slack.wait_for(lambda s: bool(getattr(s.message(OPS, digest.ts), "edited", False)))
    acked = all_text({"blocks": world.slack.message(OPS, digest.ts).blocks})  # type: ignore[union-attr]
    assert f"Acknowledged by <@{ADMIN}> at <!date^{int(NOW.timestamp())}^" in acked

    ended = alert(world, "d-3", index=3, active=False, end_at=NOW)
    world.ledger.ingest([ended], lambda _: [OPS])
    assert service.run_once().updated == 1
    redrawn = all_text({"blocks": world.slack.message(OPS, digest.ts).blocks})  # type: ignore[union-attr]
    assert f"Acknowledged by <@{ADMIN}> at <!date^{int(NOW.timestamp())}^" in redrawn
    assert "unknown time" not in redrawn and "Ended" in redrawn


def test_notification_text_names_the_vin_once(world: World) -> None:
    """The push-notification fallback says the VIN once, with or without a label."""
    world.services.directory.refresh()
    stored = alert(world, "n-1")
    unlabelled = alert_message(stored, vehicle_name=world.name(0))
    assert world.name(0).count(stored.vin) == 1
    assert unlabelled["text"].count(stored.vin) == 1
    labelled = alert_message(stored, vehicle_name="Van 12")
    assert labelled["text"].count(stored.vin) == 1 and "Van 12" in labelled["text"]


def test_subscribe_unparks_a_parked_route_keeping_its_filters(world: World) -> None:
    """No filter given: the parked route comes back as it was; filters given: they replace."""
    world.services.directory.refresh()
    vin = world.vehicle()["vin"]
    world.driver.command("/fleet", f"subscribe severity>=warning types=OilLevelLow vehicles={vin}")
    world.slack.wait_for(lambda s: bool(world.ledger.routes()))
    assert world.ledger.park_route(OPS, "not_in_channel")

    answer = all_text(reply(world.driver.command("/fleet", "subscribe")))
    (route,) = world.ledger.routes()
    assert not route.parked
    assert (route.min_severity, route.types, route.vins) == (1, ("OilLevelLow",), (vin,))
    assert "is back" in answer and "OilLevelLow" in answer

    world.ledger.park_route(OPS, "not_in_channel")
    reply(world.driver.command("/fleet", "subscribe severity>=critical"))
    (route,) = world.ledger.routes()
    assert (route.parked, route.min_severity, route.types, route.vins) == (False, 2, None, None)

    reply(world.driver.command("/fleet", "subscribe"))  # not parked: all alerts, as before
    (route,) = world.ledger.routes()
    assert (route.min_severity, route.types, route.vins) == (0, None, None)
