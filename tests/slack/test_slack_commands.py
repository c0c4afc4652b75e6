"""/trips, /alert and /fleet over HTTP, signed exactly as Slack sends them, on real parts."""

from __future__ import annotations

import dataclasses
import logging
import time
from urllib.parse import urlencode

import pytest
from slack_bolt import BoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.slack.app import build_app, close_app
from bot.slack.blocks import MAX_BLOCKS, MAX_SECTION_TEXT
from bot.slack.parsing import MAX_RANGE_DAYS
from tests.slack.conftest import ADMIN, ALERTS, GUEST, OPS, World, all_text, make_world, reply

FORM = "application/x-www-form-urlencoded"
TRIPS_USAGE = "Usage:* `/trips"
ALERT_USAGE = "Usage:* `/alert"


def assert_within_limits(message: dict) -> None:
    """Block Kit: at most 50 blocks, section texts at most 3000 characters."""
    blocks = message.get("blocks") or []
    assert len(blocks) <= MAX_BLOCKS
    for block in blocks:
        if block.get("type") == "section":
            assert len(block["text"]["text"]) <= MAX_SECTION_TEXT


# -- acking and request verification --------------------------------------------------------


def test_command_ack_is_empty_and_reply_is_ephemeral(world: World) -> None:
    """The ack carries nothing; the answer comes on the response_url, only for the asker."""
    result = world.driver.command("/trips", world.vehicle()["vin"] + " 7d")
    assert result.status == 200
    assert result.body == ""
    message = reply(result)
    assert message["response_type"] == "ephemeral"


def test_ack_does_not_wait_for_the_api(world: World) -> None:
    """With a slow API, the ack is back before the reply exists: the API call came after it."""
    world.services.directory.refresh()  # the directory is warm, as it is in production
    world.sandbox.latency = 0.4
    result = world.driver.command("/fleet", f"status {world.vehicle()['vin']}")
    assert result.status == 200
    assert world.slack.responses_for(result.response_url or "") == []
    assert "Status of" in all_text(reply(result))


def test_unsigned_request_is_rejected(world: World) -> None:
    """No signature → 401, and nothing runs."""
    body = urlencode({"command": "/fleet", "text": "help", "user_id": ADMIN}).encode()
    result = world.driver.raw(body, {"Content-Type": FORM})
    assert result.status == 401


def test_badly_signed_request_is_rejected(world: World) -> None:
    """A signature made with another secret → 401."""
    body = urlencode({"command": "/fleet", "text": "help"}).encode()
    headers = world.driver.signed_headers(body)
    headers["X-Slack-Signature"] = "v0=" + "0" * 64
    result = world.driver.raw(
        body, {**headers, "Content-Type": "application/x-www-form-urlencoded"}
    )
    assert result.status == 401


def test_stale_request_is_rejected(world: World) -> None:
    """A correctly signed request older than 5 minutes (a replay) → 401."""
    body = urlencode({"command": "/fleet", "text": "help", "user_id": ADMIN}).encode()
    headers = world.driver.signed_headers(body, timestamp=int(time.time()) - 6 * 60)
    result = world.driver.raw(
        body, {**headers, "Content-Type": "application/x-www-form-urlencoded"}
    )
    assert result.status == 401


# -- /trips ---------------------------------------------------------------------------------


def test_trips_last_7_days(world: World) -> None:
    """Trips grouped by day with totals, times as Slack dates and places as map links."""
    vin = world.vehicle()["vin"]
    messages = world.driver.command("/trips", f"{vin} 7d").replies()
    text = "\n".join(all_text(m) for m in messages)
    assert f"Trips of {world.name()}" in text
    assert "<!date^" in text
    assert "openstreetmap.org" in text
    assert " km" in text
    assert " L fuel" in text or " kWh" in text
    for message in messages:
        assert_within_limits(message)


def test_trips_by_id_and_label_case_insensitive(world: World) -> None:
    """A vehicle is found by API id, and by a label an admin gave it, in any case."""
    vehicle = world.vehicle(2)
    by_id = reply(world.driver.command("/trips", f"{vehicle['id'].upper()} yesterday"))
    assert vehicle["vin"] in all_text(by_id)
    labelled = reply(world.driver.command("/fleet", f"vehicles label {vehicle['vin']} Van-7"))
    assert "Van-7" in all_text(labelled)
    by_label = reply(world.driver.command("/trips", "van-7 2026-11-18"))
    assert "Van-7" in all_text(by_label)


def test_trips_range_and_day(world: World) -> None:
    """A range of days and a single day both answer with the period in words."""
    vin = world.vehicle()["vin"]
    ranged = all_text(reply(world.driver.command("/trips", f"{vin} 2026-11-15..2026-11-17")))
    assert "from 2026-11-15 to 2026-11-17" in ranged
    spaced = all_text(reply(world.driver.command("/trips", f"{vin} 2026-11-15 .. 2026-11-17")))
    assert "from 2026-11-15 to 2026-11-17" in spaced
    day = all_text(reply(world.driver.command("/trips", f"{vin} 2026-11-01")))
    assert "No trips" in day and "on 2026-11-01" in day


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "Which vehicle?"),
        ("NOPE-NOT-A-CAR", "No such vehicle"),
        ("{vin} tomorrow", "cannot read"),
        ("{vin} 2026-11-21", "in the future"),
        ("{vin} 2026-02-30", "cannot read"),
        ("{vin} 2026-11-07..2026-11-01", "ends before it starts"),
        ("{vin} 2026-09-01..2026-11-01", f"at most {MAX_RANGE_DAYS} days"),
        ("{vin} 99d", f"at most {MAX_RANGE_DAYS} days"),
        ("{vin} today please", "did not understand"),
    ],
)
def test_trips_bad_input_gets_problem_and_usage(world: World, text: str, problem: str) -> None:
    """Each bad input: an ephemeral reply naming the problem, then the usage."""
    message = reply(world.driver.command("/trips", text.format(vin=world.vehicle()["vin"])))
    assert message["response_type"] == "ephemeral"
    assert problem in all_text(message)
    assert TRIPS_USAGE in all_text(message)


def test_unknown_vehicle_suggests_close_matches(world: World) -> None:
    """A VIN with one typo gets "Did you mean" with the real VIN."""
    vin = world.vehicle()["vin"]
    typo = vin[:-1] + ("0" if vin[-1] != "0" else "1")
    text = all_text(reply(world.driver.command("/trips", typo)))
    assert "No such vehicle" in text
    assert f"Did you mean `{vin}`" in text


# -- /alert ---------------------------------------------------------------------------------


def test_alert_lists_active_first_then_recent(world: World) -> None:
    """Active alerts come before ended ones, each in words with its id."""
    vehicle = world.vehicle(5)
    alerts = world.sandbox.alerts(vehicle["vin"])
    text = all_text(reply(world.driver.command("/alert", vehicle["vin"])))
    assert "Active now* (1)" in text
    assert text.index("Active now") < text.index("Ended in the last 7 days")
    for alert in alerts:
        assert alert["id"] in text


def test_alert_detail_by_id(world: World) -> None:
    """With an id: that alert, its type, state and where it started."""
    vehicle = world.vehicle(5)
    alert = world.sandbox.alerts(vehicle["vin"])[0]
    text = all_text(reply(world.driver.command("/alert", f"{vehicle['vin']} {alert['id']}")))
    assert f"`{alert['id']}`" in text
    assert f"`{alert['type']}`" in text
    assert "openstreetmap.org" in text


def test_alert_none_is_no_data_not_failure(world: World) -> None:
    """A vehicle without alerts: a plain "No alerts … in the last 7 days"."""
    vin = world.vehicle(1)["vin"]
    text = all_text(reply(world.driver.command("/alert", vin)))
    assert f"No alerts for *{world.name(1)}* in the last 7 days" in text


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "Which vehicle?"),
        ("XYZ", "No such vehicle"),
        ("{vin} not-an-alert-id", "No alert `not-an-alert-id`"),
        ("{vin} a b", "did not understand"),
    ],
)
def test_alert_bad_input_gets_problem_and_usage(world: World, text: str, problem: str) -> None:
    """Each bad input: the problem, then the usage."""
    message = reply(world.driver.command("/alert", text.format(vin=world.vehicle()["vin"])))
    assert message["response_type"] == "ephemeral"
    assert problem in all_text(message)
    assert ALERT_USAGE in all_text(message)


# -- /fleet ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "help", "HELP"])
def test_fleet_help(world: World, text: str) -> None:
    """Help lists every subcommand."""
    message = all_text(reply(world.driver.command("/fleet", text)))
    for name in ("vehicles", "status", "where", "subscribe", "unsubscribe", "routes", "mute"):
        assert f"`{name}" in message


def test_fleet_unknown_subcommand_gets_help(world: World) -> None:
    """An unknown subcommand says so and shows the help."""
    message = all_text(reply(world.driver.command("/fleet", "launch rockets")))
    assert "I do not know `/fleet launch`" in message
    assert "Usage:* `/fleet &lt;subcommand&gt;`" in message


def test_fleet_vehicles_and_filter(world: World) -> None:
    """The fleet list, and a filter that narrows it."""
    vehicles = world.sandbox.vehicles()
    listing = all_text(reply(world.driver.command("/fleet", "vehicles")))
    assert f"Fleet vehicles* ({len(vehicles)})" in listing
    assert all(v["vin"] in listing for v in vehicles)
    vin = vehicles[3]["vin"]
    filtered = all_text(reply(world.driver.command("/fleet", f"vehicles {vin[-6:].lower()}")))
    assert vin in filtered and "(1 matching" in filtered
    nothing = all_text(reply(world.driver.command("/fleet", "vehicles zzzz")))
    assert "No vehicle matches" in nothing


def test_fleet_status(world: World) -> None:
    """Energy level and autonomy, odometer, ignition and position."""
    vin = world.vehicle()["vin"]
    text = all_text(reply(world.driver.command("/fleet", f"status {vin}")))
    assert f"Status of {world.name()}" in text
    assert "%" in text and "autonomy" in text
    assert "Odometer:" in text and "Ignition:" in text and "openstreetmap.org" in text


def test_fleet_status_without_a_vehicle_shows_the_pipeline(world: World) -> None:
    """Last poll, quota and backlog: what an operator checks first."""
    world.services.ledger.set_state(
        "last_poll", {"at": "2026-11-27T08:00:00+00:00", "vehicles": 25}
    )
    world.services.ledger.set_state("quota", {"daily_limit": 100_000, "daily_remaining": 99_000})
    text = all_text(reply(world.driver.command("/fleet", "status")))
    assert "25 vehicles" in text and "99,000 of 100000" in text


def test_fleet_where(world: World) -> None:
    """Last position with a map link and a Slack date."""
    vin = world.vehicle()["vin"]
    text = all_text(reply(world.driver.command("/fleet", f"where {vin}")))
    assert f"*{world.name()}* was last seen <!date^" in text
    assert "openstreetmap.org" in text


@pytest.mark.parametrize(
    ("text", "problem", "usage"),
    [
        ("status a b", "", "/fleet status [vehicle]"),
        ("where nowhere", "No such vehicle", "/fleet where &lt;vehicle&gt;"),
        ("mute {vin}", "", "/fleet mute &lt;vehicle&gt; &lt;duration&gt;"),
        ("mute {vin} forever", "cannot read “forever” as a duration", "/fleet mute"),
        ("mute {vin} 31d", "at most 30 days", "/fleet mute"),
        ("subscribe severity>=loud", "Unknown severity", "/fleet subscribe"),
        ("subscribe #general", "not a channel I can use", "/fleet subscribe"),
        ("subscribe colour=red", "did not understand", "/fleet subscribe"),
        ("subscribe vehicles=NOPE", "No such vehicle", "/fleet subscribe"),
        ("monitor reboot", "", "/fleet monitor list|enable|disable"),
        ("vehicles label {vin}", "", "/fleet vehicles label &lt;vin&gt; &lt;label&gt;"),
        ("vehicles label {vin} <!here>", "A label is", "/fleet vehicles"),
    ],
)
def test_fleet_bad_input(world: World, text: str, problem: str, usage: str) -> None:
    """Each bad input: an ephemeral reply with the problem and that subcommand's usage."""
    message = reply(world.driver.command("/fleet", text.format(vin=world.vehicle()["vin"])))
    assert message["response_type"] == "ephemeral"
    assert problem in all_text(message)
    assert usage in all_text(message)


def test_subscribe_routes_unsubscribe(world: World) -> None:
    """An admin subscribes a channel with filters; routes shows it; unsubscribe removes it."""
    vehicle = world.vehicle(4)
    text = (
        f"subscribe <#{ALERTS}|alerts> severity>=warn types=AddWasherFluid,lowFuel "
        f"vehicles={vehicle['id']}"
    )
    answer = all_text(reply(world.driver.command("/fleet", text)))
    assert f"<#{ALERTS}> now gets alerts of severity Warning or more" in answer
    assert "/invite" in answer  # another channel than the one typed in
    (route,) = world.ledger.routes()
    assert (route.channel, route.min_severity, route.created_by) == (ALERTS, 1, ADMIN)
    assert route.types == ("AddWasherFluid", "LowFuel")
    assert route.vins == (vehicle["vin"],)

    here = all_text(reply(world.driver.command("/fleet", "subscribe")))
    assert f"<#{OPS}> now gets all vehicle alerts" in here
    listing = all_text(reply(world.driver.command("/fleet", "routes")))
    assert f"<#{ALERTS}>" in listing and f"<#{OPS}>" in listing

    gone = all_text(reply(world.driver.command("/fleet", f"unsubscribe <#{ALERTS}>")))
    assert "no longer gets alerts" in gone
    assert [r.channel for r in world.ledger.routes()] == [OPS]
    again = all_text(reply(world.driver.command("/fleet", f"unsubscribe <#{ALERTS}>")))
    assert "was not subscribed" in again


def test_routes_show_parked_with_reason(world: World) -> None:
    """A parked route is listed with why, so an admin can fix it."""
    world.ledger.add_route(ALERTS)
    world.ledger.park_route(ALERTS, "channel_not_found")
    text = all_text(reply(world.driver.command("/fleet", "routes")))
    assert "parked: channel_not_found" in text


def test_mute_and_unmute(world: World) -> None:
    """An admin mutes a vehicle for a while and lifts it."""
    vin = world.vehicle()["vin"]
    muted = all_text(reply(world.driver.command("/fleet", f"mute {vin} 2h")))
    assert "every alert held back until <!date^" in muted
    assert "Critical still posted" in muted
    [mute] = world.ledger.mutes()
    assert (mute.vin, mute.types, mute.include_critical, mute.muted_by) == (vin, None, False, ADMIN)
    unmuted = all_text(reply(world.driver.command("/fleet", f"unmute {vin}")))
    assert "no longer muted" in unmuted
    assert world.ledger.mutes() == []


def test_mute_by_type_with_all_and_the_list(world: World) -> None:
    """`types=` and `all` reach the ledger as given; `/fleet mutes` shows who, what and until."""
    vin = world.vehicle()["vin"]
    muted = all_text(
        reply(world.driver.command("/fleet", f"mute {vin} 1d types=addWasherFluid,TyreFlat all"))
    )
    assert "AddWasherFluid, TyreFlat held back until" in muted
    assert "Critical included" in muted
    [mute] = world.ledger.mutes()
    assert mute.types == ("AddWasherFluid", "TyreFlat") and mute.include_critical
    listing = all_text(reply(world.driver.command("/fleet", "mutes", user_id=GUEST)))
    assert "AddWasherFluid, TyreFlat, Critical included until <!date^" in listing
    assert f"muted by <@{ADMIN}>" in listing


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("mute {vin} 2h types=", "types"),
        ("mute {vin} 2h everything", "everything"),
        ("mute {vin} 0s", "at least"),
    ],
)
def test_mute_bad_options_say_what_is_wrong(world: World, text: str, problem: str) -> None:
    """A bad mute option is named back with the usage, and nothing is muted."""
    answer = all_text(
        reply(world.driver.command("/fleet", text.format(vin=world.vehicle()["vin"])))
    )
    assert problem in answer
    assert world.ledger.mutes() == []


def test_monitor_without_push_configured(world: World) -> None:
    """No MonitorService: monitor subcommands say push is not configured."""
    text = all_text(reply(world.driver.command("/fleet", "monitor enable")))
    assert "Push is not configured" in text


@pytest.mark.parametrize(
    "text",
    ["subscribe", "unsubscribe", "mute {vin} 1h", "unmute {vin}", "monitor enable",
     "monitor disable", "vehicles label {vin} van"],
)  # fmt: skip
def test_admin_subcommands_refused_for_others(world: World, text: str) -> None:
    """A non-admin gets a polite refusal as the ack itself, and nothing changes."""
    vin = world.vehicle()["vin"]
    result = world.driver.command("/fleet", text.format(vin=vin), user_id=GUEST)
    assert result.status == 200
    assert result.json is not None
    assert result.json["response_type"] == "ephemeral"
    assert "only Fleetbot admins can" in result.json["text"]
    assert world.ledger.routes() == []
    assert world.ledger.mutes() == []
    assert all(v["label"] is None for v in world.ledger.vehicles())


def test_read_only_subcommands_open_to_everyone(world: World) -> None:
    """Listing routes and monitors needs no admin."""
    routes = reply(world.driver.command("/fleet", "routes", user_id=GUEST))
    assert "Alert routes" in all_text(routes)


def test_empty_admin_list_means_nobody(slack_certs, tmp_path) -> None:
    """FLEETBOT_ADMINS unset: even the would-be admin is refused (fail closed)."""
    with make_world(slack_certs, tmp_path / "f.db") as built:
        built.services.settings = dataclasses.replace(built.services.settings, admins=frozenset())
        result = built.driver.command("/fleet", "subscribe")
        assert result.json is not None and "only Fleetbot admins" in result.json["text"]
        assert built.ledger.routes() == []


class ExplodingMonitors:
    """A monitor service that fails unexpectedly (a real object, not a mock)."""

    def enable(self, user: str) -> str:
        """Fail."""
        raise RuntimeError("boom")

    def disable(self, user: str) -> str:
        """Fail."""
        raise RuntimeError("boom")

    def list(self) -> str:
        """Fail."""
        raise RuntimeError("boom")


def test_unexpected_error_gets_a_reference(
    slack_certs, tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    """An unexpected error: the person gets "something went wrong (ref X)", the log has X."""
    with make_world(slack_certs, tmp_path / "f.db", monitors=ExplodingMonitors()) as built:
        with caplog.at_level(logging.ERROR):
            text = all_text(reply(built.driver.command("/fleet", "monitor list")))
        assert "Something went wrong" in text
        ref = text.split("(ref `", 1)[1].split("`", 1)[0]
        assert any(ref in r.getMessage() and r.exc_info for r in caplog.records)


def test_api_outage_is_said_plainly(world: World) -> None:
    """The API failing every time: a plain sentence, not a stack trace or silence."""
    world.services.directory.refresh()
    world.sandbox.error_rate = 1.0
    text = all_text(reply(world.driver.command("/fleet", f"status {world.vehicle()['vin']}")))
    assert "not answering right now" in text


def test_text_mentioning_payload_is_read_as_a_command(world: World) -> None:
    """Bolt alone reads a form body containing "payload" as empty (404); ours reads it right."""
    message = all_text(reply(world.driver.command("/fleet", "payload")))
    assert "I do not know `/fleet payload`" in message
    world.slack.add_channel("C0PAYLOAD", "payload-team")
    vin = world.vehicle()["vin"]
    there = reply(world.driver.command("/fleet", f"where {vin}", channel_id="C0PAYLOAD"))
    assert f"*{world.name()}* was last seen" in all_text(there)


def test_without_signing_secret_http_requests_fail_closed(world: World) -> None:
    """No SLACK_SIGNING_SECRET (Socket Mode set-up): HTTP requests are still refused (401)."""
    settings = dataclasses.replace(world.services.settings, slack_signing_secret=None)
    app = build_app(world.services, settings=settings, client=world.client)
    try:
        body = urlencode({"command": "/fleet", "text": "help", "user_id": ADMIN}).encode()
        timestamp = str(int(time.time()))
        signature = SignatureVerifier("guess").generate_signature(timestamp=timestamp, body=body)
        request = BoltRequest(
            body=body.decode(),
            headers={
                "content-type": FORM,
                "x-slack-request-timestamp": timestamp,
                "x-slack-signature": signature,
            },
        )
        assert app.dispatch(request).status == 401
    finally:
        close_app(app)
