"""`/fleet site add|remove`, `/fleet sites`, and named places in what the bot posts.

Over real HTTP: signed commands through the driver, the API sandbox over mTLS, alerts posted
to the Slack stand-in by the delivery service, a real ledger file and the real gazetteer.
"""

from __future__ import annotations

import re

from bot.alerts.delivery import DeliveryService
from bot.messages.places import ACTION_OPEN_MAP
from bot.store import StoredAlert
from tests.messages.test_places import bare_pairs
from tests.slack.conftest import ALERTS, GUEST, World, all_text, reply

LINK_WORDS = re.compile(r"<https://www\.openstreetmap\.org/\?mlat=[^|>]+\|([^>]+)>")


def fleet(world: World, text: str, user: str | None = None) -> str:
    """A `/fleet` command's reply, as text."""
    result = world.driver.command("/fleet", text, user_id=user)
    assert result.status == 200, result.body
    if result.json is not None:  # refused in the ack itself
        return str(result.json.get("text"))
    return all_text(reply(result))


def last_position(world: World) -> tuple[float, float]:
    """Where the sandbox says the first vehicle is now."""
    position = world.api.last_position(world.vehicle()["id"])
    return position.lat, position.lon


def test_admin_adds_lists_and_removes_a_site(world: World) -> None:
    """Add (default radius 300 m), list as anyone, names unique in any case, remove."""
    added = fleet(world, "site add Depot Nord 48.8566, 2.3522")
    assert "Site *Depot Nord* added" in added and "300 m" in added
    assert "already a site" in fleet(world, "site add depot NORD 45.0,5.0 1km")
    listed = fleet(world, "sites", user=GUEST)
    assert "*Depot Nord* — 300 m around" in listed and "<@U0MANAGER>" in listed
    assert bare_pairs({"text": listed}) == []
    assert "Site *Depot Nord* removed" in fleet(world, "site remove depot nord")
    assert "No sites yet" in fleet(world, "sites")
    assert world.ledger.sites() == []


def test_bad_input_gets_the_usage_and_guests_are_refused(world: World) -> None:
    """Missing or odd parts: what is wrong, then the usage; a guest cannot change sites."""
    for text, problem in [
        ("site", "Usage"),
        ("site add", "Give the site a name"),
        ("site add Depot", "cannot read “Depot” as a position"),
        ("site add Depot 95.0,2.0", "cannot read “95.0,2.0” as a position"),
        ("site add Depot 48.0,2.0 5m", "as a radius"),
        ("site add 48.0,2.0", "Give the site a name"),
        ("site remove", "Give the site a name"),
        ("site remove Nowhere", "no site called “Nowhere”"),
        ("sites extra", "I did not understand"),
    ]:
        answer = fleet(world, text)
        assert problem in answer, (text, answer)
        assert "Something went wrong" not in answer
    refused = fleet(world, "site add Depot 48.0,2.0", user=GUEST)
    assert "only Fleetbot admins can add or remove sites" in refused
    assert world.ledger.sites() == []


def test_where_reads_at_a_site_then_km_from_it_then_a_town(world: World) -> None:
    """`/fleet where`: at the site, a few km from it, or the gazetteer's town; always a link."""
    lat, lon = last_position(world)
    vin = world.vehicle()["vin"]
    town = fleet(world, f"where {vin}")
    (words,) = set(LINK_WORDS.findall(town))
    assert words.startswith("near ") and re.search(r", [A-Z]{2}$", words), words
    fleet(world, f"site add Yard {lat + 0.05:.5f},{lon:.5f}")  # about 5.6 km north
    (words,) = set(LINK_WORDS.findall(fleet(world, f"where {vin}")))
    assert re.fullmatch(r"5\.\d km from Yard", words), words
    fleet(world, f"site add Home base {lat:.5f},{lon:.5f} 200m")
    (words,) = set(LINK_WORDS.findall(fleet(world, f"where {vin}")))
    assert words == "at Home base"


def test_a_site_called_channel_is_inert(world: World) -> None:
    """A site named ``<!channel>`` (Slack sends it escaped) never pings, anywhere it shows."""
    lat, lon = last_position(world)
    added = fleet(world, f"site add &lt;!channel&gt; {lat:.5f},{lon:.5f}")
    assert "&lt;!channel&gt;" in added and "<!channel>" not in added
    assert [s.name for s in world.ledger.sites()] == ["<!channel>"]
    listed = fleet(world, "sites")
    assert "*&lt;!channel&gt;*" in listed and "<!channel>" not in listed
    where = fleet(world, f"where {world.vehicle()['vin']}")
    assert "|at &lt;!channel&gt;>" in where and "<!channel>" not in where


def posted_alert(world: World) -> tuple[StoredAlert, dict[str, object]]:
    """One sandbox alert, delivered by the bot's delivery service to #alerts."""
    world.services.directory.refresh()
    raw = next(a for a in world.sandbox.alerts() if a.get("startPosition"))
    vehicle = next(v for v in world.sandbox.vehicles() if v["vin"] == raw["vin"])
    alert = StoredAlert(
        id=raw["id"],
        vehicle_id=vehicle["id"],
        vin=raw["vin"],
        type=raw["type"],
        severity=raw["severity"],
        active=True,
        payload=raw,
    )
    world.ledger.ingest([alert], lambda _: [ALERTS])
    delivery: DeliveryService = world.fleetbot.delivery
    delivery.run_once()
    (message,) = [m for m in world.slack.messages(ALERTS) if raw["id"] in str(m.metadata)]
    return alert, {"text": message.text, "blocks": message.blocks, "ts": message.ts}


def test_an_alert_message_names_its_place_and_has_an_open_map_button(world: World) -> None:
    """Delivered to Slack: the start place at a site, in words, and an Open map link button."""
    world.services.directory.refresh()
    raw = next(a for a in world.sandbox.alerts() if a.get("startPosition"))
    lon, lat = raw["startPosition"]["geometry"]["coordinates"][:2]
    fleet(world, f"site add Customer A {lat:.5f},{lon:.5f} 250m")
    _alert, message = posted_alert(world)
    text = all_text(message)
    assert "|at Customer A>" in text
    assert bare_pairs(message) == []
    (actions,) = [b for b in message["blocks"] if b["type"] == "actions"]  # type: ignore[union-attr]
    (open_map,) = [e for e in actions["elements"] if e["action_id"] == ACTION_OPEN_MAP]
    assert open_map["text"]["text"] == "Open map"
    assert open_map["url"].startswith(f"https://www.openstreetmap.org/?mlat={lat:.5f}")
    # Slack sends the click of a link button too: it is acked, nothing else happens
    (stand_in_message,) = [m for m in world.slack.messages(ALERTS) if m.ts == message["ts"]]
    click = world.driver.click(stand_in_message, ACTION_OPEN_MAP)
    assert click.status == 200
    assert world.slack.message(ALERTS, str(message["ts"])).edited is False  # type: ignore[union-attr]


def test_trips_name_both_ends_and_show_speeds(world: World) -> None:
    """`/trips`: start → end in words with map links, speeds, per-100-km, no bare numbers."""
    vin = world.vehicle()["vin"]
    result = world.driver.command("/trips", f"{vin} 7d")
    answer = reply(result)
    text = all_text(answer)
    assert "km/h" in text and "/100 km" in text
    places = LINK_WORDS.findall(text)
    assert places and all(p.startswith(("near ", "at ")) or " km from " in p for p in places)
    assert bare_pairs(answer) == []
