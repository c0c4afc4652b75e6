"""Arbitrary text at every command: always a 200 ack and a helpful ephemeral reply."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.slack.conftest import World, all_text

WORDS = ["today", "yesterday", "7d", "2026-11-20", "2026-11-01..2026-11-07", "..", "help",
         "vehicles", "status", "where", "subscribe", "unsubscribe", "routes", "mute", "unmute",
         "monitor", "list", "enable", "label", "severity>=warn", "types=", "<#C0OPS|ops>", "30m",
         "999d", "<!channel>", "*", "`", "\u00a0", "payload", "payload={}"]  # fmt: skip
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def texts_for(world: World) -> st.SearchStrategy[str]:
    """Free text, and sentences of plausible words, VINs and ids mixed with free text."""
    vehicle = world.vehicle(0)
    pieces = st.one_of(
        st.sampled_from([*WORDS, vehicle["vin"], vehicle["id"], vehicle["vin"].lower()]),
        st.text(max_size=20),
    )
    return st.one_of(
        st.text(max_size=200),
        st.lists(pieces, max_size=6).map(" ".join),
    )


def check(world: World, command: str, text: str) -> None:
    """A 200 ack, then an ephemeral reply with words in it (or a refusal in the ack)."""
    result = world.driver.command(command, text)
    assert result.status == 200, result.body
    if result.json and result.json.get("text"):  # refused in middleware: the ack is the reply
        assert result.json["response_type"] == "ephemeral"
        return
    (message,) = result.replies()[:1]
    assert message["response_type"] == "ephemeral"
    assert all_text(message).strip()
    assert "Something went wrong" not in all_text(message)


@pytest.mark.parametrize("command", ["/trips", "/alert", "/fleet"])
def test_any_text_gets_an_answer(shared_world: World, command: str) -> None:
    """Whatever is typed after the command, the bot answers helpfully and never crashes."""

    @SETTINGS
    @given(text=texts_for(shared_world))
    def run(text: str) -> None:
        check(shared_world, command, text)

    run()
