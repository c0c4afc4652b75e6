"""What each Slack error proves, as SlackPort translates it (over HTTP to the stand-in)."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.errors import (
    ChannelUnavailable,
    MessageGone,
    MessageUnpostable,
    OutcomeUnknown,
    SlackError,
    SlackRateLimited,
    SlackTokenRefused,
)
from bot.posting.slack_port import SlackPort
from bot.sandbox.slack import SlackStandIn
from bot.wiring import slack_web_client

MESSAGE = {"text": "hello"}


@pytest.fixture
def standin():
    with SlackStandIn(channels=("C0ALERTS",)) as standin:
        yield standin


@pytest.fixture
def port(standin):
    settings = Settings.from_env(
        {"SLACK_BOT_TOKEN": standin.bot_token, "SLACK_API_URL": standin.api_url}
    )
    # the bot's own client, but a 429 comes back at once: SlackPort's translation is the subject
    return SlackPort(slack_web_client(settings, rate_limit_retries=0))


@pytest.mark.parametrize(
    ("error", "raised"),
    [
        ("invalid_auth", SlackTokenRefused),
        ("token_revoked", SlackTokenRefused),
        ("account_inactive", SlackTokenRefused),
        ("missing_scope", SlackTokenRefused),
        ("internal_error", OutcomeUnknown),
        ("fatal_error", OutcomeUnknown),
        ("request_timeout", OutcomeUnknown),
        ("500", OutcomeUnknown),
        ("msg_too_long", MessageUnpostable),
        ("invalid_blocks", MessageUnpostable),
        ("is_archived", ChannelUnavailable),
        ("ratelimited", SlackRateLimited),
        ("brand_new_error", SlackError),
    ],
)
def test_a_post_error_is_classed_by_what_it_proves(standin, port, error, raised):
    standin.fail_next("chat.postMessage", error)
    with pytest.raises(SlackError) as caught:
        port.post("C0ALERTS", MESSAGE)
    assert type(caught.value) is raised


GONE = ["message_not_found", "cant_update_message", "edit_window_closed"]


@pytest.mark.parametrize("error", GONE)
def test_an_edit_of_a_gone_message_is_message_gone(standin, port, error):
    ts = port.post("C0ALERTS", MESSAGE)
    standin.fail_next("chat.update", error)
    with pytest.raises(MessageGone):
        port.update("C0ALERTS", ts, MESSAGE)


def test_an_edit_failing_on_slacks_side_is_a_plain_retryable_error(standin, port):
    ts = port.post("C0ALERTS", MESSAGE)
    standin.fail_next("chat.update", "internal_error")
    with pytest.raises(SlackError) as caught:
        port.update("C0ALERTS", ts, MESSAGE)
    assert type(caught.value) is SlackError


def test_the_own_bot_id_is_asked_once(standin, port):
    assert port.own_bot_id() == port.own_bot_id() == standin.bot_id
    assert [c.method for c in standin.calls].count("auth.test") == 1
