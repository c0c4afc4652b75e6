"""Markup injection: text from outside reaches Slack escaped, in every field and every surface.

Hostile values (a channel ping, a user mention, a forged link, a bare ``&``) go into every
field that reaches a message: API alert types, labels and severities, vehicle brand, places,
ledger errors, and what people type. Everything Fleetbot then sends to the Slack stand-in
(posts, edits, App Home, replies on response_urls) is searched for the raw markup.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.alerts.delivery import DeliveryService
from bot.directory import VehicleEntry
from bot.messages.alerts import (
    ACTION_DIGEST_ACK,
    alert_detail,
    alert_message,
    alerts_message,
    digest_message,
)
from bot.messages.fleet import (
    failed_message,
    mutes_message,
    routes_message,
    status_message,
    vehicles_message,
    where_message,
)
from bot.messages.home import HomeFacts, home_view
from bot.messages.markup import echo, escape
from bot.posting.slack_port import SlackPort
from bot.psa.models import Alert, EnergyLevel, Position, VehicleStatus
from bot.sandbox.psa import SandboxCerts
from bot.sandbox.slack.server import Message
from bot.slack.parsing import unescape_command
from bot.store import Delivery, Mute, Route, StoredAlert
from tests.slack.conftest import ADMIN, ALERTS, NOW, OPS, World, all_text, make_world, reply

PING, MENTION, LINK, AMP = "<!channel>", "<@U123>", "<https://evil.example|x>", "Fish & Chips"
HOSTILE = f"{PING} {MENTION} {LINK} {AMP}"
# The words people cannot type in a single token (commands split on spaces).
HOSTILE_WORD = "<!channel>&<https://evil.example|x>"
RAW = (PING, MENTION, "<https://evil.example", AMP, "<!channel>&")


def raw_markup_in(sent: Any) -> list[str]:
    """The hostile markers found raw anywhere in what was sent (as JSON text)."""
    text = json.dumps(sent, ensure_ascii=False)
    return [marker for marker in RAW if marker in text]


def sent_to_slack(world: World) -> list[Any]:
    """Every Web API call's parameters and every response_url POST the bot made."""
    with world.slack._lock:
        calls = [dataclasses.asdict(c)["params"] for c in world.slack.calls]
        responses = list(world.slack.responses)
    return [*calls, *responses]


def edited(message: Message | None) -> bool:
    """True once the message was edited."""
    return message is not None and message.edited


def hostile_alert(alert_id: str, vin: str, *, ended: bool = False) -> StoredAlert:
    """An alert whose every free-text field carries markup, as the API could send it."""
    place = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [2.35, 48.85]},
             "properties": {"place": HOSTILE}}  # fmt: skip
    return StoredAlert(
        id=alert_id,
        vehicle_id=None,
        vin=vin,
        type=HOSTILE,
        severity=HOSTILE,
        active=not ended,
        started_at=NOW - dt.timedelta(hours=1),
        end_at=NOW if ended else None,
        payload={"label": HOSTILE, "startPosition": place},
    )


@pytest.fixture
def hostile_world(slack_certs: SandboxCerts, tmp_path: Any) -> Iterator[World]:
    """A world whose first vehicle is branded with markup and has an alert typed with it."""
    with make_world(slack_certs, tmp_path / "fleetbot.db") as world:
        sandbox = world.sandbox
        with sandbox._lock:  # the sandbox has no knob for a hostile brand: set the record
            sandbox._fleet.vehicles[0].brand = HOSTILE
        sandbox.add_alert(world.vehicle()["vin"], type=HOSTILE, severity=HOSTILE)
        world.services.directory.refresh()
        yield world


def test_nothing_raw_reaches_slack_from_any_surface(hostile_world: World) -> None:
    """Commands, echoes, App Home, alert posts, digests and their edits: all escaped."""
    world = hostile_world
    vin = world.vehicle()["vin"]
    api_alert = next(a for a in world.sandbox.alerts(vin) if a["type"] == HOSTILE)

    # delivery: one alert alone in #alerts, a burst (digest) in #ops, as delivery renders them
    world.ledger.add_route(OPS, types=[HOSTILE], created_by=ADMIN)
    world.ledger.ingest([hostile_alert("h-0", vin)], lambda _: [ALERTS])
    world.ledger.ingest([hostile_alert(f"h-{i}", vin) for i in range(1, 6)], lambda _: [OPS])
    delivery = DeliveryService(
        world.ledger,
        SlackPort(world.client),
        vehicle_names=world.services.directory.names,
        fallback_channel=ALERTS,
        per_channel_interval=0.0,
        reconcile_grace=dt.timedelta(0),
    )
    report = delivery.run_once()
    assert report.delivered_alerts == 6 and report.posted_messages == 2
    # acknowledge inside the digest, then end an alert so delivery redraws the digest
    (digest,) = world.slack.messages(OPS)
    world.driver.click(digest, ACTION_DIGEST_ACK)
    world.slack.wait_for(lambda s: edited(s.message(OPS, digest.ts)))
    world.ledger.ingest([hostile_alert("h-1", vin, ended=True)], lambda _: [OPS])
    assert delivery.run_once().updated == 1
    # a failure with a hostile error, as /fleet failed shows it
    world.ledger.ingest([hostile_alert("h-9", vin)], lambda _: ["C0GONE"])
    world.ledger.mark_failed([d.id for d in world.ledger.claim()], error=HOSTILE)

    texts = [
        ("/alert", vin),
        ("/alert", f"{vin} {api_alert['id']}"),
        ("/alert", f"{vin} {HOSTILE_WORD}"),
        ("/alert", HOSTILE),
        ("/trips", f"{vin} 7d"),
        ("/trips", f"{vin} {HOSTILE_WORD}"),
        ("/trips", HOSTILE_WORD),
        ("/fleet", "vehicles"),
        ("/fleet", "vehicles fish"),
        ("/fleet", f"vehicles {HOSTILE}"),
        ("/fleet", f"status {vin}"),
        ("/fleet", "status"),
        ("/fleet", f"where {vin}"),
        ("/fleet", f"where {HOSTILE_WORD}"),
        ("/fleet", "routes"),
        ("/fleet", "failed"),
        ("/fleet", f"subscribe types={HOSTILE_WORD}"),
        ("/fleet", f"mute {vin} {HOSTILE_WORD}"),
        ("/fleet", f"vehicles label {vin} {HOSTILE_WORD}"),
        ("/fleet", HOSTILE),
    ]
    for command, text in texts:
        answer = all_text(reply(world.driver.command(command, text)))
        assert answer.strip(), (command, text)
    # the same values as Slack really sends them: its own entities, decoded once, escaped again
    reply(world.driver.command("/fleet", f"vehicles {escape(HOSTILE)}"))
    world.driver.event({"type": "app_home_opened", "user": ADMIN, "tab": "home"})
    world.slack.wait_for(lambda s: ADMIN in s.views)

    sent = sent_to_slack(world)
    methods = {c.method for c in world.slack.calls}
    assert {"chat.postMessage", "chat.update", "views.publish"} <= methods
    assert len(world.slack.responses) >= len(texts)
    assert raw_markup_in(sent) == []
    everything = json.dumps(sent, ensure_ascii=False)
    # the hostile text is still shown to people, as text
    assert "&lt;!channel&gt;" in everything and "Fish &amp; Chips" in everything


def test_the_check_sees_raw_markup(hostile_world: World) -> None:
    """The search above finds markup when it is there (so it cannot pass by looking nowhere)."""
    world = hostile_world
    world.client.chat_postMessage(channel=OPS, text=f"unescaped {HOSTILE}")
    assert raw_markup_in(sent_to_slack(world)) == list(RAW[:4])


# -- the boundary itself ----------------------------------------------------------------------

ENTITY = re.compile(r"&(?!amp;|lt;|gt;)")


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_escape_makes_any_text_inert_and_loses_nothing(text: str) -> None:
    """No `<` or `>` survives, every `&` starts an entity, and decoding gives the text back."""
    shown = escape(text)
    assert "<" not in shown and ">" not in shown
    assert not ENTITY.search(shown)
    assert unescape_command(shown) == text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=500))
def test_echo_is_short_inert_and_one_line(text: str) -> None:
    """What people typed comes back as one short line that cannot ping or link."""
    shown = echo(text)
    assert "<" not in shown and ">" not in shown and "\n" not in shown
    assert not ENTITY.search(shown)
    assert len(unescape_command(shown)) <= 60


def mrkdwn_texts(node: Any) -> Iterator[str]:
    """Every text Slack renders in a message or view (not ids, values or metadata)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("metadata", "value", "action_id", "block_id"):
                continue
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from mrkdwn_texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from mrkdwn_texts(item)


hostile_text = st.one_of(
    st.sampled_from([PING, MENTION, LINK, AMP, HOSTILE, "<!here|here>", "<#C1|x>", "a>b<c"]),
    st.text(alphabet="<>&!@#|:/ abc", min_size=1, max_size=30),
)


@settings(max_examples=60, deadline=None)
@given(value=hostile_text)
def test_every_renderer_escapes_every_outside_field(value: str) -> None:
    """Each builder, fed the value in every free-text field, shows no `<` or bare `&` of it."""
    place = Position(lon=2.35, lat=48.85, at=NOW)
    alert = Alert(id=value, vin=value, type=value, severity=value, label=value, active=True,
                  started_at=NOW, start_position=place)  # fmt: skip
    stored = StoredAlert(id="s1", vehicle_id=None, vin=value, type=value, severity=value,
                         active=True, started_at=NOW,
                         payload={"label": value, "startPosition": {
                             "geometry": {"coordinates": [2.0, 48.0]},
                             "properties": {"place": value}}})  # fmt: skip
    entry = VehicleEntry(id=value, vin=value, label=value, brand=value, model=value)
    status = VehicleStatus(energies=(EnergyLevel(type=value, level=50.0,
                                                 charging_status=value),),
                           ignition=value, position=place)  # fmt: skip
    route = Route(1, "C0X", 1, (value,), (value,), "U1", parked_reason=value)
    names = {value: value}
    delivery = Delivery(id=1, alert=stored, channel="C0X", state="failed", attempts=1,
                        slack_ts=None, digest=False, update_pending=False, acked_by=value,
                        acked_at=NOW, batch=None, last_error=value, created_at=NOW)  # fmt: skip
    facts = HomeFacts(open_alerts=[stored], names=names, routes=[route],
                            last_poll={"at": NOW.isoformat(), "vehicles": value},
                            next_poll=None, quota={"daily_remaining": value},
                            backlog={})  # fmt: skip
    mute = Mute(1, value, NOW, (value,), False, value, NOW)
    rendered = [
        alert_message(stored, vehicle_name=value, acked_by=value, acked_at=NOW),
        digest_message([(stored, value, NOW), (stored, None)], names=names),
        alerts_message(value, [alert], 7, "en-GB"),
        alert_detail(value, alert, "fr-FR", acked_by=value, acked_at=NOW),
        vehicles_message([entry], echo(value)),
        status_message(value, status),
        where_message(value, place),
        routes_message([route], [mute], names, "C0DEFAULT"),
        mutes_message([mute], names),
        failed_message([delivery], 2, names, "en-GB"),
        home_view(facts),
    ]
    for message in rendered:
        for text in mrkdwn_texts(message):
            # our own markup: <!date^…>, <https://www.openstreetmap.org…|…>, <#…>, <@…>
            ours = re.sub(r"<(!date\^[^<>]*|https://www\.openstreetmap\.org/[^|<>]*\|[^<>]*|"
                          r"#[^<>]*|@[^<>]*)>", "", text)  # fmt: skip
            if any(c in value for c in "<>"):
                assert "<" not in ours and ">" not in ours, (value, text)
            assert not ENTITY.search(ours), (value, text)
