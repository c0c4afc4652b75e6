"""The one `/fleet` table: every name, alias and admin form, walked as a non-admin over HTTP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from bot.alerts.webhook import MonitorService
from bot.errors import UserInputError
from bot.messages import texts
from bot.sandbox.psa import SandboxCerts
from bot.slack.commands import fleet
from bot.slack.commands.fleet import FLEET_TABLE, fleet_reply
from bot.store import StoredAlert
from tests.slack.conftest import GUEST, NOW, OPS, World, all_text, make_world, reply

REFUSED = "only Fleetbot admins"

# What an admin would type after each admin form so that it changes something: the walk
# proves the refusal, so each of these must be a real change for an admin (see the last test).
ADMIN_ARGS = {
    ("vehicles", "label"): "{vin} walker",
    ("subscribe", None): "severity>=critical",
    ("unsubscribe", None): "",
    ("mute", None): "{vin} 2h",
    ("unmute", None): "{vin}",
    ("monitor", "enable"): "",
    ("monitor", "disable"): "",
    ("failed", None): "",
    ("retry", None): "",
    ("site", "add"): "Depot 48.85,2.35",
    ("site", "remove"): "Yard",
    ("report", "daily"): "07:30",
    ("report", "off"): "",
    ("report", "now"): "",
}


def cases(word: str) -> list[str]:
    """The word as typed in lower, upper and mixed case."""
    mixed = "".join(c.upper() if i % 2 else c for i, c in enumerate(word))
    return list(dict.fromkeys([word, word.upper(), mixed]))


def walk() -> Iterator[tuple[str, str | None, str, bool]]:
    """Every (subcommand, form word, spelling typed, admin?) the table allows."""
    for sub in FLEET_TABLE:
        for name in sub.names:
            for spelled in cases(name):
                yield sub.name, None, spelled, sub.default.admin
                for word, form in sub.forms.items():
                    for spelled_word in cases(word):
                        yield sub.name, word, f"{spelled} {spelled_word}", form.admin


def snapshot(world: World) -> list[str]:
    """Everything the ledger holds, as SQL."""
    return list(world.ledger.database.db.conn.iterdump())


@pytest.fixture(scope="module")
def table_world(
    slack_certs: SandboxCerts, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """A world where every admin form would change something: a route, a mute, a failure."""
    with make_world(slack_certs, tmp_path_factory.mktemp("table") / "fleetbot.db") as world:
        world.services.monitors = MonitorService(
            world.api, world.ledger, public_url="https://fleetbot.example", token="hook-secret"
        )
        vin = world.vehicle()["vin"]
        world.ledger.add_route(OPS, min_severity=0, created_by="U0MANAGER")
        world.ledger.mute(vin, NOW + dt.timedelta(hours=1), by="U0MANAGER")
        alert = StoredAlert(id="a-failed", vehicle_id=None, vin=vin, type="OilLevelLow",
                            severity="Warning", active=True, started_at=NOW)  # fmt: skip
        world.ledger.ingest([alert], lambda _: [OPS])
        (row,) = world.ledger.claim()
        world.ledger.mark_failed([row.id], error="Slack refused chat_postMessage: msg_too_long")
        world.ledger.add_monitor("m-1", "https://fleetbot.example/psa/events", "U0MANAGER")
        world.ledger.add_site("Yard", 48.0, 2.0, 300, by="U0MANAGER")
        yield world


def test_every_form_of_the_table_as_a_non_admin(table_world: World) -> None:
    """Admin forms are refused in the ack and change nothing; the others are never refused."""
    world = table_world
    vin = world.vehicle()["vin"]
    walked = 0
    for name, word, typed, admin in walk():
        args = ADMIN_ARGS.get((name, word), "") if admin else ""
        text = f"{typed} {args.format(vin=vin)}".strip()
        before = snapshot(world)
        result = world.driver.command("/fleet", text, user_id=GUEST)
        assert result.status == 200, text
        if admin:
            assert result.json is not None, f"/fleet {text} was not refused"
            assert REFUSED in result.json["text"] and result.json["response_type"] == "ephemeral"
            assert snapshot(world) == before, f"/fleet {text} changed the ledger"
        else:
            answer = all_text(reply(result))
            assert REFUSED not in answer, f"/fleet {text} was refused"
            assert "Something went wrong" not in answer
        walked += 1
    assert walked >= 3 * sum(len(s.names) * (1 + len(s.forms)) for s in FLEET_TABLE)


def test_the_dispatcher_refuses_without_the_gate(table_world: World) -> None:
    """Called without the middleware, each admin form still refuses a non-admin."""
    world = table_world
    vin = world.vehicle()["vin"]
    for name, word, typed, admin in walk():
        if not admin:
            continue
        text = f"{typed} {ADMIN_ARGS[(name, word)].format(vin=vin)}".strip()
        before = snapshot(world)
        with pytest.raises(UserInputError, match=REFUSED):
            fleet_reply(world.services, text, user=GUEST, channel=OPS)
        assert snapshot(world) == before


def test_every_admin_form_is_walked_and_is_a_real_change() -> None:
    """The walk knows each admin form, so a new admin subcommand cannot slip past this test."""
    admin_forms = {
        (sub.name, word)
        for sub in FLEET_TABLE
        for word, form in [(None, sub.default), *sub.forms.items()]
        if form.admin
    }
    assert admin_forms == set(ADMIN_ARGS)
    assert {"mute", "unmute", "mutes"} <= set(fleet.FLEET_NAMES)
    assert fleet.FLEET_NAMES["mutes"].default.admin is False


def test_admin_forms_do_change_the_ledger_for_an_admin(
    slack_certs: SandboxCerts, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The same texts, typed by an admin, do change something (so the walk is meaningful)."""
    with make_world(slack_certs, tmp_path_factory.mktemp("admin") / "fleetbot.db") as world:
        vin = world.vehicle()["vin"]
        world.ledger.add_route(OPS, created_by="U0MANAGER")
        world.ledger.mute(vin, NOW + dt.timedelta(hours=1))
        world.ledger.add_site("Yard", 48.0, 2.0, 300)
        for (name, word), args in ADMIN_ARGS.items():
            if name in ("monitor", "failed"):
                continue  # push needs the API monitor; `failed` only reads (checked elsewhere)
            if name == "retry":
                alert = StoredAlert(id=f"a-{name}", vehicle_id=None, vin=vin, type="X",
                                    severity=None, active=True)  # fmt: skip
                world.ledger.ingest([alert], lambda _: [OPS])
                world.ledger.mark_failed([d.id for d in world.ledger.claim()], error="x")
            text = f"{name} {word or ''} {args.format(vin=vin)}".split()
            before = snapshot(world)
            answer = all_text(reply(world.driver.command("/fleet", " ".join(text))))
            assert REFUSED not in answer, answer
            assert snapshot(world) != before, f"/fleet {' '.join(text)} changed nothing"


def test_unknown_subcommand_gets_the_usage(world: World) -> None:
    """A subcommand the table does not know: the usage, for anyone."""
    answer = all_text(reply(world.driver.command("/fleet", "frobnicate now", user_id=GUEST)))
    assert "I do not know `/fleet frobnicate`" in answer
    assert texts.FLEET_USAGE.splitlines()[0] in answer


def test_help_names_every_subcommand() -> None:
    """The help lists each subcommand of the table."""
    for sub in FLEET_TABLE:
        if sub.name != "help":
            assert f"`{sub.name}" in texts.FLEET_USAGE, sub.name
