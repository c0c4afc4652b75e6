"""The Bolt app over HTTP: acks, request signatures, and failures turned into replies."""

from __future__ import annotations

import dataclasses
import logging
import time
from urllib.parse import urlencode

import pytest
from slack_bolt import BoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.slack.app import build_app, close_app
from tests.slack.conftest import ADMIN, World, all_text, make_world, reply

FORM = "application/x-www-form-urlencoded"


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
