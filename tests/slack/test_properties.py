"""Arbitrary and hostile text at every command: always a 200 ack and a helpful ephemeral reply."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.slack.commands.fleet import FLEET_TABLE
from tests.slack.conftest import GUEST, World, all_text

WORDS = ["today", "yesterday", "7d", "2026-11-20", "2026-11-01..2026-11-07", "..", "help",
         "vehicles", "status", "where", "subscribe", "unsubscribe", "routes", "mute", "unmute",
         "monitor", "list", "enable", "label", "severity>=warn", "types=", "<#C0OPS|ops>", "30m",
         "999d", "<!channel>", "*", "`", "\u00a0", "payload", "payload={}"]  # fmt: skip
ARABIC_DAY = "\u0662\u0660\u0662\u0666-\u0661\u0661-\u0662\u0660"  # 2026-11-20 in Arabic digits
# What a hostile or careless person types: markup, entities, control characters, odd unicode,
# extreme dates and durations (the overflow class), and very long words.
HOSTILE = ["<!channel>", "<!here>", "<@U123>", "<@U123|bob>", "<!subteam^S1|team>",
           "<https://evil.example|x>", "&lt;", "&lt;!channel&gt;", "&amp;", "&", "<", ">",
           "\x00", "\x1b[31m", "\r\n", "\t", "\u200b", "\u202e", "\ufeff", "\U0001f697",
           "é", "İ", "ß", ARABIC_DAY, "0001-01-01", "9999-12-31", "0001-01-01..0001-01-07",
           "2026-11-01..9999-12-31", "9999-12-31..0001-01-01", "0000-00-00", "2026-02-30",
           "999999999d", "99999999999999999999w", "0s", "-5m", "1e9h", "0m", "30d", "31d",
           "999d", "0d", "-1d", "x" * 10_000, "types=" + "A," * 2000, "vehicles=" + "," * 50,
           "severity>=" + "z" * 5000, "to=<!channel>", "escalate=999999999d"]  # fmt: skip
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
USAGE = "Usage:*"


def texts_for(world: World, prefix: str = "") -> st.SearchStrategy[str]:
    """Free text, and sentences of plausible and hostile words, VINs and ids mixed together."""
    vehicle = world.vehicle(0)
    pieces = st.one_of(
        st.sampled_from([*WORDS, vehicle["vin"], vehicle["id"], vehicle["vin"].lower()]),
        st.sampled_from(HOSTILE),
        st.text(max_size=20),
    )
    sentences = st.one_of(
        st.text(max_size=200),
        st.lists(pieces, max_size=6).map(" ".join),
        # the usual shape, one argument hostile: `<vehicle> <hostile>` and `<hostile> <when>`
        st.tuples(st.just(vehicle["vin"]), st.sampled_from(HOSTILE)).map(" ".join),
        st.tuples(st.sampled_from(HOSTILE), st.sampled_from(WORDS)).map(" ".join),
    )
    return sentences.map(lambda text: f"{prefix} {text}".strip())


def check(world: World, command: str, text: str, *, user: str | None = None) -> str:
    """A 200 ack, then an ephemeral reply with words in it (or a refusal in the ack)."""
    result = world.driver.command(command, text, user_id=user)
    assert result.status == 200, result.body
    if result.json and result.json.get("text"):  # refused in middleware: the ack is the reply
        assert result.json["response_type"] == "ephemeral"
        return str(result.json["text"])
    (message,) = result.replies()[:1]
    assert message["response_type"] == "ephemeral"
    answer = all_text(message)
    assert answer.strip()
    assert "Something went wrong" not in answer, (text, answer)
    assert "Traceback" not in answer
    return answer


@pytest.mark.parametrize("command", ["/trips", "/alert", "/fleet"])
def test_any_text_gets_an_answer(shared_world: World, command: str) -> None:
    """Whatever is typed after the command, the bot answers helpfully and never crashes."""

    @SETTINGS
    @given(text=texts_for(shared_world))
    def run(text: str) -> None:
        check(shared_world, command, text)

    run()


FLEET_WORDS = sorted({f"{name} {word}" for s in FLEET_TABLE for name in s.names
                      for word in s.forms} | {n for s in FLEET_TABLE for n in s.names})  # fmt: skip


@pytest.mark.parametrize("subcommand", FLEET_WORDS)
def test_every_fleet_subcommand_survives_hostile_arguments(
    shared_world: World, subcommand: str
) -> None:
    """Each name, alias and form of the table, followed by hostile text, as admin and not."""

    @settings(SETTINGS, max_examples=8)
    @given(text=texts_for(shared_world, subcommand), admin=st.booleans())
    def run(text: str, admin: bool) -> None:
        check(shared_world, "/fleet", text, user=None if admin else GUEST)

    run()


@pytest.mark.parametrize(
    ("command", "text", "usage"),
    [
        ("/trips", "{vin} 0001-01-01", "/trips"),
        ("/trips", "{vin} 0001-01-01..0001-01-07", "/trips"),
        ("/trips", "{vin} 9999-12-31", "/trips"),
        ("/trips", "{vin} 2026-11-01..9999-12-31", "/trips"),
        ("/trips", "{vin} 999999999d", "/trips"),
        ("/trips", "{vin} " + ARABIC_DAY, "/trips"),
        ("/trips", "\x00\x1b[31m", "/trips"),
        ("/alert", "{vin} " + "x" * 10_000, "/alert"),
        ("/alert", "&lt;!channel&gt;", "/alert"),
        ("/fleet", "mute {vin} 999999999d", "/fleet mute"),
        ("/fleet", "mute {vin} 99999999999999999999w", "/fleet mute"),
        ("/fleet", "mute {vin} 0s", "/fleet mute"),
        ("/fleet", "mute {vin} -5m", "/fleet mute"),
        ("/fleet", "subscribe severity>=" + "z" * 5000, "/fleet subscribe"),
        ("/fleet", "where \u202e\u200b", "/fleet where"),
        ("/fleet", "x" * 10_000, "/fleet"),
    ],
)
def test_hostile_values_get_the_usage(world: World, command: str, text: str, usage: str) -> None:
    """Known crash classes: a polite reply that names the usage, never a stack trace."""
    answer = check(world, command, text.format(vin=world.vehicle()["vin"]))
    assert USAGE in answer and usage in answer, answer
    assert len(answer) < 12_000  # a 10 kB word is quoted short, not echoed whole
