"""120 simulated days of Fleetbot in under a minute: exactly once, ended edits, bounded ledger.

Real parts throughout (the sandbox API over mTLS, the Slack stand-in, a SQLite file, the bot as
``build_fleetbot`` wires it); only time is fake. Run with ``-s`` to see the figures.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from bot.config import Settings
from bot.errors import NoData
from bot.psa.client import PsaClient
from bot.sandbox.psa import PsaSandbox
from tests.months_world import (
    FakeClock,
    Plan,
    World,
    fast_dir,
    make_script,
    owed,
    posts,
    rows_needed,
    seeded_alerts,
    stories,
    world_parts,
)

T0 = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)
#: ledger rows (all tables) may be this many times the alerts it must still know, plus a base
ROWS_PER_NEEDED_ALERT = 3
ROWS_BASE = 100


def test_a_vehicle_out_of_the_sandbox_fleet_is_unknown_to_the_api_until_it_is_back(certs):
    with PsaSandbox(certs, vehicles=3) as sandbox:
        api = PsaClient.from_settings(Settings.from_env(sandbox.env()))
        try:
            vehicle = api.vehicle(sandbox.vehicles()[1]["id"])
            alert = sandbox.add_alert(vehicle.vin or "")
            sandbox.remove_vehicle(vehicle.vin or "")
            assert vehicle.id not in {v.id for v in api.vehicles()}
            with pytest.raises(NoData):
                api.vehicle(vehicle.id)
            assert list(api.alerts(vehicle.id)) == []
            sandbox.restore_vehicle(vehicle.id)
            assert vehicle.id in {v.id for v in api.vehicles()}
            assert alert["id"] in {a.id for a in api.alerts(vehicle.id)}
        finally:
            api.close()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_120_days_every_alert_posted_once_ended_ones_edited_ledger_bounded(certs, tmp_path):
    plan = Plan()
    clock = FakeClock(T0)
    sandbox, slack = world_parts(plan, tmp_path, certs, clock)
    with sandbox, slack, fast_dir(tmp_path) as workdir:
        vins = [v["vin"] for v in sandbox.vehicles()]
        script = make_script(plan, T0, vins, seeded_alerts(sandbox))
        world = World(plan, workdir, sandbox, slack, clock)
        try:
            world.play(script)
        finally:
            world.close()
        found = posts(slack)
    due = owed(script)
    figures = world.figures

    counts = Counter({alert_id: len(p) for alert_id, p in found.items()})
    shown = [p for ps in found.values() for p in ps]
    rows = {day: sum(tables.values()) for day, tables in figures.ledger_rows.items()}
    needed = {day: rows_needed(script, T0 + dt.timedelta(days=day)) for day in (40, plan.days)}
    print(
        f"\n{plan.days} days, {plan.vehicles} vehicles: {len(script.alerts)} alerts"
        f" ({sum(a.seeded for a in script.alerts)} there at the start,"
        f" {len(due.forbidden)} of them already over), {len(due.required)} owed,"
        f" {len(due.held)} held by a mute ({len(due.optional)} over before it ended);"
        f" {len(script.mutes)} mutes, {len(script.absences)} absences, {figures.crashes} crashes"
        f" ({figures.lost_answers} with a lost Slack answer)\n"
        f"Slack: {len({(p.channel, p.ts) for p in shown})} alert messages,"
        f" {len(shown)} alert posts ({sum(p.digest for p in shown)} in digests),"
        f" {len({(p.channel, p.ts) for p in shown if p.edited})} messages edited\n"
        f"ticks {figures.ticks}, job runs {dict(figures.job_runs)}, API calls {figures.api_calls}\n"
        f"ledger rows by day: {', '.join(f'{d}: {rows[d]}' for d in sorted(rows) if d % 10 == 0)}"
        f"; alerts it must know: day 40: {needed[40]}, day {plan.days}: {needed[plan.days]}\n"
        f"ledger tables at the end: {figures.ledger_rows[plan.days]}\n"
        f"wall time {figures.wall:.1f} s"
    )

    lost = due.required - set(counts)
    checks = {
        "posted more than once": {a for a, n in counts.items() if n > 1},
        "never posted, held by a mute and still active when it ended": lost & set(due.held),
        "never posted, started on a muted vehicle but not held (Critical, or another type)": (
            lost & due.passed
        ),
        "never posted": lost - set(due.held) - due.passed,
        "posted but must not be": set(counts) - due.required - due.optional,
        "ended, but the message does not say so": {
            a for a in due.ended & set(counts) if not all(p.shows_ended for p in found[a])
        },
    }
    problems = [
        f"{len(ids)} alerts {what}:\n  {stories(script, ids, found)}"
        for what, ids in checks.items()
        if ids
    ]
    limit = ROWS_PER_NEEDED_ALERT * needed[plan.days] + ROWS_BASE
    if rows[plan.days] > limit:
        problems.append(f"ledger has {rows[plan.days]} rows at day {plan.days}, more than {limit}")
    assert not problems, "\n".join(problems)
    # The script really did what it is meant to.
    assert figures.crashes >= plan.days // 5 and figures.lost_answers > 0
    assert len(due.held) >= 10 and len(due.optional) > 0
    assert figures.job_runs["prune"] >= plan.days
