"""A seeded 120-day script for Fleetbot and the world that plays it on a fake clock.

The world is the real bot (``build_fleetbot``) between the PSA sandbox over mTLS and the Slack
stand-in, both reading the same fake clock, with a real SQLite file that outlives every crash.
Scheduled jobs are the bot's own callables, run when due on the fake clock. What the bot had to
deliver is worked out from the script alone; what it delivered is read from the stand-in.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import inspect
import json
import math
import random
import sqlite3
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.messages import texts
from bot.sandbox.psa import PsaSandbox, SandboxCerts
from bot.sandbox.slack import SlackStandIn
from bot.slack.app import close_app
from bot.wiring import Fleetbot, build_fleetbot

ALERTS, OPS = "C0ALERTS", "C0OPS"
ADMIN = "U0ADMIN"
EVENT_ALERT, EVENT_DIGEST = "fleet_alert", "fleet_alert_digest"
ENDED_MARK = texts.ALERT_ENDED.split("{")[0].strip()  # ":checkered_flag: Ended"

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)
#: fake time between scheduler ticks; a tick with nothing new is skipped up to IDLE_TICK
TICK = dt.timedelta(minutes=30)
IDLE_TICK = dt.timedelta(hours=12)
SETTLE_TICKS = 4  # after the script: every tick runs, so what is due gets done
#: jobs repeating more often than this (all but pruning) run at ticks but never cause one
ROUTINE_JOB = 12 * 3600.0
#: how late the bot may notice a mute starting or ending (a tick plus the poll overlap)
MUTE_MARGIN = 2 * TICK

RAM_DIR = "/dev/shm"
TABLES_SQL = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"

NORMAL_TYPES = {
    "AddWasherFluid": "Warning",
    "TrunkOrHoodOpen": "Information",
    "RiskOfIce": "Information",
    "ReplaceBrakePads": "Warning",
    "HeadlightsFault": "Information",
    "AbsBrakingSystemFault": "Warning",
}
CRITICAL_TYPES = ("BrakingSystemFailure", "PowerSteeringFailure")


@dataclasses.dataclass(frozen=True)
class Plan:
    """The knobs of one script."""

    seed: int = 20260301
    days: int = 120
    vehicles: int = 20
    alerts_per_day: float = 2.0
    alerts_per_mute: tuple[int, int] = (1, 3)  # started on the vehicle while it is muted
    critical_share: float = 0.15
    shortest: dt.timedelta = 5 * MINUTE
    longest: dt.timedelta = 60 * DAY
    absences: int = 8
    mutes: int = 32
    crash_every: tuple[float, float] = (3.0, 5.0)  # days
    retention_days: int = 30


@dataclasses.dataclass
class PlannedAlert:
    """An alert the script raises (or one the sandbox had at the start, ``seeded``)."""

    key: int
    vin: str
    type: str
    severity: str
    start: dt.datetime
    end: dt.datetime | None  # None: still active when the script ends
    seeded: bool = False
    id: str = ""  # the sandbox's id, known once raised


@dataclasses.dataclass(frozen=True)
class PlannedMute:
    """A mute an admin sets, maybe lifts early, else lets expire."""

    vin: str
    start: dt.datetime
    until: dt.datetime
    lifted_at: dt.datetime | None
    types: tuple[str, ...] | None
    include_critical: bool

    @property
    def end(self) -> dt.datetime:
        """When the mute stops holding alerts."""
        return self.lifted_at or self.until

    def holds(self, alert: PlannedAlert) -> bool:
        """Whether DESIGN §5 says this mute holds ``alert`` back (if it starts in time)."""
        if alert.vin != self.vin or (self.types and alert.type not in self.types):
            return False
        return self.include_critical or alert.severity != "Critical"


@dataclasses.dataclass(frozen=True)
class Absence:
    """A vehicle out of the fleet between ``leave`` and ``back``."""

    vin: str
    leave: dt.datetime
    back: dt.datetime


@dataclasses.dataclass(frozen=True)
class Event:
    """One thing that happens at ``at``."""

    at: dt.datetime
    kind: str  # start | end | leave | back | mute | unmute | mute-expires | crash
    alert: PlannedAlert | None = None
    mute: PlannedMute | None = None
    vin: str = ""


@dataclasses.dataclass
class Script:
    """Everything that happens in the simulated months, in time order."""

    plan: Plan
    t0: dt.datetime
    alerts: list[PlannedAlert]
    mutes: list[PlannedMute]
    absences: list[Absence]
    crashes: list[dt.datetime]
    events: list[Event]

    @property
    def horizon(self) -> dt.datetime:
        """When the script stops."""
        return self.t0 + self.plan.days * DAY


def log_uniform(rng: random.Random, lo: dt.timedelta, hi: dt.timedelta) -> dt.timedelta:
    """A duration spread evenly over orders of magnitude (minutes as often as weeks)."""
    seconds = math.exp(rng.uniform(math.log(lo.total_seconds()), math.log(hi.total_seconds())))
    return dt.timedelta(seconds=round(seconds))


def _free(
    spans: Sequence[tuple[dt.datetime, dt.datetime]], lo: dt.datetime, hi: dt.datetime
) -> bool:
    """Whether [lo, hi] meets none of ``spans``."""
    return all(hi <= a or lo >= b for a, b in spans)


def make_script(
    plan: Plan, t0: dt.datetime, vins: Sequence[str], seeded: Sequence[PlannedAlert]
) -> Script:
    """A seeded script: alerts, absences, mutes and crashes over ``plan.days`` days."""
    rng = random.Random(plan.seed)
    horizon = t0 + plan.days * DAY
    at = lambda lo, hi: t0 + dt.timedelta(days=rng.uniform(lo, hi))  # noqa: E731

    absences: list[Absence] = []
    away: dict[str, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    while len(absences) < plan.absences:
        vin = rng.choice(vins)
        leave = at(2, plan.days - 12)
        back = leave + dt.timedelta(days=rng.uniform(2, 10))
        if _free(away[vin], leave - DAY, back + DAY):
            away[vin].append((leave, back))
            absences.append(Absence(vin, leave, back))

    mutes: list[PlannedMute] = []
    muted: dict[str, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    all_types = [*NORMAL_TYPES, *CRITICAL_TYPES]
    while len(mutes) < plan.mutes:
        vin = rng.choice(vins)
        start = at(1, plan.days - 5)
        length = log_uniform(rng, HOUR, 4 * DAY)
        lifted = start + length * rng.uniform(0.2, 0.8) if rng.random() < 0.35 else None
        if not _free(muted[vin], start - 3 * TICK, start + length + 3 * TICK):
            continue
        muted[vin].append((start, start + length))
        types = tuple(rng.sample(all_types, rng.choice((1, 2)))) if rng.random() < 0.4 else None
        mutes.append(PlannedMute(vin, start, start + length, lifted, types, rng.random() < 0.25))

    alerts: list[PlannedAlert] = []
    moment = t0
    while True:
        moment += dt.timedelta(days=rng.expovariate(plan.alerts_per_day))
        if moment >= horizon - DAY:
            break
        present = [v for v in vins if _free(away[v], moment, moment)]
        vin = rng.choice(present)
        if rng.random() < plan.critical_share:
            kind, severity = rng.choice(CRITICAL_TYPES), "Critical"
        else:
            kind = rng.choice(list(NORMAL_TYPES))
            severity = NORMAL_TYPES[kind]
        end: dt.datetime | None = moment + log_uniform(rng, plan.shortest, plan.longest)
        if end is not None and end >= horizon:
            end = None
        alerts.append(PlannedAlert(len(alerts), vin, kind, severity, moment, end))
    for m in mutes:  # the brake failure an hour after someone muted washer fluid
        for _ in range(rng.randint(*plan.alerts_per_mute)):
            moment = m.start + (m.end - m.start) * rng.random()
            if not _free(away[m.vin], moment, moment):
                continue
            if rng.random() < 0.3:
                kind = rng.choice(CRITICAL_TYPES)
            elif m.types and rng.random() < 0.6:
                kind = rng.choice(m.types)
            else:
                kind = rng.choice(list(NORMAL_TYPES))
            severity = NORMAL_TYPES.get(kind, "Critical")
            end = moment + log_uniform(rng, plan.shortest, plan.longest)
            alerts.append(
                PlannedAlert(
                    len(alerts), m.vin, kind, severity, moment, end if end < horizon else None
                )
            )
    for alert in seeded:  # alerts active at the start end within the longest alert's life
        if alert.end is None:
            alert.end = at(0.05, plan.longest / DAY - 2)

    crashes: list[dt.datetime] = []
    moment = t0
    while True:
        moment += dt.timedelta(days=rng.uniform(*plan.crash_every))
        if moment >= horizon:
            break
        crashes.append(moment)

    events = [Event(a.start, "start", alert=a) for a in alerts]
    events += [Event(a.end, "end", alert=a) for a in [*alerts, *seeded] if a.end and a.end > t0]
    events += [Event(b.leave, "leave", vin=b.vin) for b in absences]
    events += [Event(b.back, "back", vin=b.vin) for b in absences]
    events += [Event(m.start, "mute", mute=m) for m in mutes]
    events += [Event(m.end, "unmute" if m.lifted_at else "mute-expires", mute=m) for m in mutes]
    events += [Event(c, "crash") for c in crashes]
    events.sort(key=lambda e: e.at)
    return Script(plan, t0, [*seeded, *alerts], mutes, absences, crashes, events)


# -- what the bot owes ----------------------------------------------------------------------


@dataclasses.dataclass
class Owed:
    """Which alerts must reach Slack once, may (held by a mute, then ended), or must not."""

    required: set[str]
    optional: set[str]
    forbidden: set[str]
    ended: set[str]  # ended before the script stopped: their message must say so
    held: dict[str, PlannedMute]
    passed: set[str]  # started on a muted vehicle, but the mute lets it through


def owed(script: Script) -> Owed:
    """Work out, from the script alone, what every alert's fate in Slack must be."""
    required: set[str] = set()
    optional: set[str] = set()
    forbidden: set[str] = set()
    held: dict[str, PlannedMute] = {}
    passed: set[str] = set()
    for alert in script.alerts:
        if alert.seeded and alert.end is not None and alert.end <= script.t0:
            forbidden.add(alert.id)  # ended before the first start: never posted
            continue
        required.add(alert.id)
        for mute in script.mutes:
            if mute.vin != alert.vin or not mute.start <= alert.start <= mute.end:
                continue
            if not mute.holds(alert):
                passed.add(alert.id)
        for mute in script.mutes:
            if mute.holds(alert) and mute.start - MUTE_MARGIN <= alert.start <= mute.end:
                held[alert.id] = mute
                if alert.end is not None and alert.end <= mute.end + MUTE_MARGIN:
                    required.discard(alert.id)  # over before the mute: held for good
                    optional.add(alert.id)
    ended = {a.id for a in script.alerts if a.end is not None and a.id not in forbidden}
    return Owed(required, optional, forbidden, ended, held, passed - set(held))


# -- the world --------------------------------------------------------------------------------


class FakeClock:
    """Simulated time, shared by the sandbox, the Slack stand-in and the bot."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def epoch(self) -> float:
        """Seconds since the epoch, for the Slack stand-in's message ts."""
        return self.now.timestamp()

    def move_to(self, moment: dt.datetime) -> None:
        """Go forward (never back: ts and cursors must stay ordered)."""
        self.now = max(self.now, moment)


class FakeScheduler:
    """Runs the bot's scheduled jobs when due on the fake clock, as APScheduler would."""

    def __init__(self, jobs: dict[str, tuple[Callable[[], Any], float]], now: dt.datetime):
        self.jobs = jobs
        self.next_run = {name: now for name in jobs}  # every job runs at start
        self.runs: Counter[str] = Counter()

    def due(self, now: dt.datetime, *, routine: bool = True) -> list[str]:
        """Jobs due now; ``routine=False`` leaves out jobs repeating within ROUTINE_JOB."""
        return [
            name
            for name, (_, seconds) in self.jobs.items()
            if self.next_run[name] <= now and (routine or seconds > ROUTINE_JOB)
        ]

    def run_due(self, now: dt.datetime) -> None:
        """Run every due job once (coalescing missed runs) and schedule its next run."""
        for name in self.due(now):
            func, seconds = self.jobs[name]
            func()
            self.runs[name] += 1
            step = dt.timedelta(seconds=seconds)
            missed = (now - self.next_run[name]) // step
            self.next_run[name] += (missed + 1) * step


def mute(
    ledger: Any,
    vin: str,
    until: dt.datetime,
    *,
    by: str,
    types: tuple[str, ...] | None,
    include_critical: bool,
) -> None:
    """Mute through the ledger, whichever of its two signatures it has.

    The old ``mute(vin, until, by)`` can only mute the whole vehicle, Critical included.
    """
    if "include_critical" in inspect.signature(ledger.mute).parameters:
        ledger.mute(vin, until, by=by, types=types, include_critical=include_critical)
    else:
        ledger.mute(vin, until, by)


@dataclasses.dataclass
class Figures:
    """What the run did, for the report."""

    ticks: int = 0
    crashes: int = 0
    lost_answers: int = 0
    wall: float = 0.0
    ledger_rows: dict[int, dict[str, int]] = dataclasses.field(default_factory=dict)
    job_runs: Counter[str] = dataclasses.field(default_factory=Counter)
    api_calls: int = 0


class World:
    """Sandbox, Slack stand-in and the bot, driven through a script on one fake clock."""

    def __init__(
        self, plan: Plan, workdir: Path, sandbox: PsaSandbox, slack: SlackStandIn, clock: FakeClock
    ) -> None:
        self.plan = plan
        self.sandbox = sandbox
        self.slack = slack
        self.clock = clock
        self.db_path = workdir / "fleetbot.db"
        self.settings = Settings.from_env(
            {
                **sandbox.env(),
                "SLACK_BOT_TOKEN": slack.bot_token,
                "SLACK_SIGNING_SECRET": "months-signing-secret",
                "SLACK_API_URL": slack.api_url,
                "FLEETBOT_DB": str(self.db_path),
                "FLEETBOT_ALERT_CHANNEL": ALERTS,
                "FLEETBOT_ADMINS": ADMIN,
                "FLEETBOT_POLL_INTERVAL": str(int(TICK.total_seconds())),
                "FLEETBOT_RETENTION_DAYS": str(plan.retention_days),
            }
        )
        self.figures = Figures()
        self.rng = random.Random(f"{plan.seed}:crashes")
        self.scheduler: FakeScheduler | None = None
        self.bot = self.build()
        self.bot.ledger.add_route(OPS, min_severity=2)  # Critical alerts go to #ops

    def build(self) -> Fleetbot:
        """Start the bot on the SQLite file (after a crash: on what the crash left)."""
        bot = build_fleetbot(
            self.settings, clock=self.clock, per_channel_interval=0.0
        )  # pacing sleeps in real time
        bot.poller.workers = 1  # one thread polls fastest against an in-process sandbox
        self.scheduler = FakeScheduler(bot.scheduled_jobs(), self.clock())
        return bot

    def crash(self) -> None:
        """Abandon the bot mid-work: free its sockets and files, run nothing else, rebuild."""
        bot, scheduler = self.bot, self.scheduler
        assert scheduler is not None
        if self.rng.random() < 0.6:
            # Slack stores the next post but its answer never arrives, then the process dies.
            self.slack.fail_next("chat.postMessage", "drop_after_post")
            self.figures.lost_answers += 1
            scheduler.run_due(self.clock())
            self.figures.ticks += 1
        else:
            bot.poller.poll_once()  # new alerts committed; the process dies before delivery
        self.figures.job_runs.update(scheduler.runs)
        self.figures.api_calls += bot.api.calls
        close_app(bot.app)
        bot.api.close()
        bot.ledger.close()
        self.figures.crashes += 1
        self.bot = self.build()

    def tick(self) -> None:
        """Run the jobs due now."""
        assert self.scheduler is not None
        self.scheduler.run_due(self.clock())
        self.figures.ticks += 1

    def close(self) -> None:
        """Stop the bot cleanly at the end."""
        assert self.scheduler is not None
        self.figures.job_runs.update(self.scheduler.runs)
        self.figures.api_calls += self.bot.api.calls
        self.bot.close()

    def apply(self, event: Event) -> None:
        """Make one scripted thing happen (in the sandbox or through an admin's mute)."""
        if event.kind == "start" and event.alert is not None:
            alert = event.alert
            event.alert.id = self.sandbox.add_alert(alert.vin, alert.type, alert.severity)["id"]
        elif event.kind == "end" and event.alert is not None:
            self.sandbox.end_alert(event.alert.id)
        elif event.kind == "leave":
            self.sandbox.remove_vehicle(event.vin)
        elif event.kind == "back":
            self.sandbox.restore_vehicle(event.vin)
        elif event.kind == "mute" and event.mute is not None:
            m = event.mute
            mute(
                self.bot.ledger,
                m.vin,
                m.until,
                by=ADMIN,
                types=m.types,
                include_critical=m.include_critical,
            )
        elif event.kind == "unmute" and event.mute is not None:
            self.bot.ledger.unmute(event.mute.vin)

    def ledger_rows(self) -> dict[str, int]:
        """Rows per table of the SQLite file, read beside the bot (not through its ledger)."""
        with contextlib.closing(sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)) as db:
            tables = [r[0] for r in db.execute(TABLES_SQL)]
            # The names come from sqlite_master, not from outside.
            count = 'SELECT count(*) FROM "{}"'
            return {t: db.execute(count.format(t)).fetchone()[0] for t in tables}

    def play(self, script: Script) -> None:
        """Play the script tick by tick, then let the bot settle for a few ticks."""
        started = time.perf_counter()
        events = iter(script.events)
        upcoming = next(events, None)
        last_tick: dt.datetime | None = None
        restarted = False
        steps = int((script.horizon - script.t0) / TICK)
        for step in range(steps + SETTLE_TICKS):
            moment = script.t0 + step * TICK
            changed = crashed = False
            while upcoming is not None and upcoming.at <= moment:
                self.clock.move_to(upcoming.at)
                if upcoming.kind == "crash":
                    crashed = True
                else:
                    self.apply(upcoming)
                    changed = True
                upcoming = next(events, None)
            self.clock.move_to(moment)
            day = (moment - script.t0) // DAY
            if day not in self.figures.ledger_rows and last_tick is not None:
                self.figures.ledger_rows[day] = self.ledger_rows()
            assert self.scheduler is not None
            if crashed:
                self.crash()
                restarted = True
                continue
            busy = changed or restarted or moment > script.horizon
            idle = last_tick is not None and moment - last_tick < IDLE_TICK
            if idle and not busy and not self.scheduler.due(moment, routine=False):
                continue
            self.tick()
            last_tick, restarted = moment, False
        self.figures.ledger_rows[self.plan.days] = self.ledger_rows()
        self.figures.wall = time.perf_counter() - started


def seeded_alerts(sandbox: PsaSandbox) -> list[PlannedAlert]:
    """The alerts the sandbox has before the script starts (active or ended)."""
    out = []
    for n, raw in enumerate(sandbox.alerts()):
        end = dt.datetime.fromisoformat(raw["endAt"]) if raw.get("endAt") else None
        out.append(
            PlannedAlert(
                key=-1 - n,
                vin=raw["vin"],
                type=raw["type"],
                severity=raw["severity"],
                start=dt.datetime.fromisoformat(raw["startedAt"]),
                end=end,
                seeded=True,
                id=raw["id"],
            )
        )
    return out


# -- what Slack holds -------------------------------------------------------------------------


def alert_ids(metadata: dict[str, Any] | None) -> list[str]:
    """Alert ids a message's metadata names (read here, not with the bot's own helper)."""
    if not metadata:
        return []
    payload = metadata.get("event_payload") or {}
    if metadata.get("event_type") == EVENT_ALERT:
        return [str(payload.get("alert_id"))]
    if metadata.get("event_type") == EVENT_DIGEST:
        return [str(a) for a in payload.get("alert_ids") or []]
    return []


@dataclasses.dataclass(frozen=True)
class Post:
    """One alert as shown in one Slack message."""

    channel: str
    ts: str
    digest: bool
    edited: bool
    shows_ended: bool | None  # None: the digest's layout does not say which part is whose


def posts(slack: SlackStandIn) -> dict[str, list[Post]]:
    """Alert id → every message of the bot that carries it."""
    found: dict[str, list[Post]] = defaultdict(list)
    for message in slack.messages():
        if message.user != slack.bot_user_id:
            continue
        ids = alert_ids(message.metadata)
        digest = (message.metadata or {}).get("event_type") == EVENT_DIGEST
        sections = [b for b in message.blocks or [] if b.get("type") == "section"]
        for n, alert_id in enumerate(ids):
            if not digest:
                shown: bool | None = ENDED_MARK in json.dumps(message.blocks or message.text)
            elif len(sections) == len(ids):  # one section per alert, in metadata order
                shown = ENDED_MARK in json.dumps(sections[n])
            else:  # another layout: the block naming the alert (its button), if any
                own = [b for b in message.blocks or [] if alert_id in json.dumps(b)]
                shown = ENDED_MARK in json.dumps(own[0]) if len(own) == 1 else None
            found[alert_id].append(Post(message.channel, message.ts, digest, message.edited, shown))
    return found


def oldest_open(script: Script, vin: str, moment: dt.datetime) -> PlannedAlert | None:
    """The vehicle's oldest alert open at ``moment`` (its poll window reaches back to it)."""
    open_then = [
        a
        for a in script.alerts
        if a.vin == vin and a.start <= moment and (a.end is None or a.end > moment)
    ]
    return min(open_then, key=lambda a: a.start, default=None)


def story(script: Script, alert_id: str, found: dict[str, list[Post]]) -> str:
    """One line telling what happened to an alert: its life, mutes, absences, posts."""
    alert = next((a for a in script.alerts if a.id == alert_id), None)
    if alert is None:
        return f"{alert_id}: not an alert of the sandbox"
    last = alert.end or script.horizon

    def day(moment: dt.datetime) -> str:
        return f"day {(moment - script.t0) / DAY:.1f}"

    parts = [
        f"{alert.id[:8]} {alert.type}/{alert.severity} on …{alert.vin[-6:]}",
        f"started {day(alert.start)}",
        f"ended {day(alert.end)}" if alert.end else "still active",
    ]
    for m in script.mutes:
        if m.vin == alert.vin and m.start - DAY <= last and m.end + DAY >= alert.start:
            parts.append(
                f"vehicle muted {day(m.start)} to {day(m.end)} "
                f"({'types ' + ','.join(m.types) if m.types else 'every type'}, "
                f"{'all' if m.include_critical else 'Critical still posted'}, "
                f"{'lifted' if m.lifted_at else 'expired'})"
            )
    for b in script.absences:
        if b.vin == alert.vin and b.leave <= last and b.back >= alert.start:
            parts.append(f"vehicle away {day(b.leave)} to {day(b.back)}")
    shown = sorted(found.get(alert.id, []), key=lambda p: float(p.ts))
    lines = []
    for n, post in enumerate(shown):
        moment = dt.datetime.fromtimestamp(float(post.ts), dt.UTC)
        line = f"{day(moment)}{' in a digest' if post.digest else ''}"
        line += (" edited" if post.edited else "") + (" shows ended" if post.shows_ended else "")
        window = oldest_open(script, alert.vin, moment - TICK)  # as the poll before saw it
        if n and window is not None and window is not alert and window.start <= last:
            line += f" (vehicle's oldest open alert started {day(window.start)})"
        lines.append(line)
    parts.append("posted " + (", ".join(lines) or "never"))
    return "; ".join(parts)


def stories(script: Script, ids: set[str], found: dict[str, list[Post]], most: int = 6) -> str:
    """Stories of a few alerts, one per line."""
    chosen = sorted(ids)[:most]
    more = f"\n  … and {len(ids) - most} more" if len(ids) > most else ""
    return "\n  ".join(story(script, a, found) for a in chosen) + more


def rows_needed(script: Script, moment: dt.datetime) -> int:
    """Alerts a ledger must still know at ``moment``: open, ended within the retention, or
    inside their vehicle's poll window (forgetting them would post them again)."""
    horizon = moment - script.plan.retention_days * DAY
    count = 0
    for alert in script.alerts:
        if alert.start > moment or (alert.seeded and alert.end and alert.end <= script.t0):
            continue
        window = oldest_open(script, alert.vin, moment)
        if alert.end is None or alert.end > horizon or (window and alert.end >= window.start):
            count += 1
    return count


@contextlib.contextmanager
def fast_dir(fallback: Path) -> Iterator[Path]:
    """A folder in RAM when there is one: the SQLite file is real, only its fsyncs get cheap."""
    if Path(RAM_DIR).is_dir():
        with tempfile.TemporaryDirectory(dir=RAM_DIR, prefix="fleetbot-months-") as tmp:
            yield Path(tmp)
    else:
        yield fallback


def world_parts(
    plan: Plan, workdir: Path, certs: SandboxCerts, clock: FakeClock
) -> tuple[PsaSandbox, SlackStandIn]:
    """The sandbox API (limits out of the way: quota is not what this test is about) and Slack."""
    sandbox = PsaSandbox(
        certs,
        vehicles=plan.vehicles,
        seed=plan.seed,
        clock=clock,
        burst_limit=1_000_000,
        daily_limit=1_000_000_000,
    )
    slack = SlackStandIn(channels=(ALERTS, OPS), clock=clock.epoch)
    return sandbox, slack
