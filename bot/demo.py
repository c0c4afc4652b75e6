"""``fleetbot demo``: the real bot between the API sandbox (real mTLS) and the Slack stand-in.

No credentials: certificates are generated into a temporary folder, the database is a
temporary file, both removed at exit. The tour prints the Slack conversation as a person would
read it; the bot's log lines go to a file, and the conversation is also written as an HTML page.
Both are kept in the output folder (a new ``fleetbot-demo-…`` folder in the system's temporary
folder unless ``--output`` names one) and their paths are printed at the end.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, TextIO

from bot.config import Settings
from bot.store.ledger import utcnow

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

    from bot.sandbox.psa import PsaSandbox
    from bot.sandbox.slack import SlackDriver, SlackStandIn
    from bot.sandbox.slack.server import Message
    from bot.wiring import Fleetbot

ALERTS, OPS = "C0ALERTS", "C0OPS"
MANAGER, MANAGER_NAME = "U0MANAGER", "manager"
ZONE = "Europe/Paris"  # the reader's zone: the sandbox fleet drives in France and around
SIGNING_SECRET_BYTES = 16
VEHICLES = 25
WAIT = 15.0  # seconds to wait for Slack to show something the bot does in the background
ACK, MUTE = "alert_ack", "alert_mute"  # the alert buttons' action ids
LOG_NAME, PAGE_NAME = "fleetbot-demo.log", "conversation.html"
PAGE_TITLE = "Fleetbot demo"
ESCALATE_AFTER = dt.timedelta(minutes=15, seconds=1)

RULE = "─" * 78
STARTING = "Starting a pretend Connected Car API, a pretend Slack and Fleetbot between them …"
READY = " ready."
HEADER = (
    "Fleetbot demo: {vehicles} pretend vehicles (fleet {fleet}) behind an API on this machine\n"
    "(real mTLS), a pretend Slack workspace with #alerts and #ops, and @{manager} as admin.\n"
    "Times are shown in {zone}, as @{manager}'s Slack shows them."
)
STEPS = {
    "digest": (
        "First start: the alerts active right now are posted once, many at a time as a digest."
    ),
    "subscribe": (
        "An admin sends critical alerts to #ops, and asks for reminders to @manager when nobody "
        "acknowledges one within 15 minutes:"
    ),
    "new": (
        "Two critical alerts start on the road. The next poll posts each once, with the town the "
        "vehicle is near:"
    ),
    "ack": "@manager clicks Acknowledge on the first: the message changes, its thread says who:",
    "escalate": (
        "Nobody acknowledges the second. The demo moves its clock 15 minutes on; the reminder "
        "mentions @manager in the alert's thread, not in the channel:"
    ),
    "mute": (
        "@manager clicks Mute 24 h on it: that kind of alert on that vehicle stays quiet for a "
        "day, and the thread says so:"
    ),
    "end": "The first alert ends on the vehicle: its message is edited, its thread says when:",
    "commands": "Slash commands: a vehicle's trips yesterday, and its alerts:",
    "bad": "A mistyped command gets an answer that says what went wrong and how to write it:",
    "push": ("Push: an admin turns the API's monitor on; a new alert then arrives without a poll:"),
    "report": "And every morning (or now, on request) the fleet report with its chart:",
}
PAGE_WRITTEN = "The conversation as a Slack page: {path}"
LOG_WRITTEN = "Fleetbot's log: {path}"
PROMPT_HELP = "Type a slash command (/trips, /alert, /fleet help); an empty line quits."
PROMPT = "> "
NOT_A_COMMAND = "Commands start with / — try /fleet help"
HTTP_ANSWER = "(the bot answered HTTP {status})"
NOTHING_SHOWN = "(nothing came back within {seconds:.0f} s)"


class DemoWorld(NamedTuple):
    """The demo's parts: API sandbox, Slack stand-in, the bot, and a driver playing Slack."""

    sandbox: PsaSandbox
    slack: SlackStandIn
    fleetbot: Fleetbot
    driver: SlackDriver


class LateApp:
    """A WSGI app that answers 503 until the bot's app is set.

    The bot's HTTP server must be listening before its settings can name the public URL
    that push monitors call back, so the server starts first and gets the app after.
    """

    def __init__(self) -> None:
        self.app: Callable[..., Iterable[bytes]] | None = None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if self.app is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"starting"]
        return self.app(environ, start_response)


class DemoClock:
    """The bot's clock: the real one, plus however far the demo has moved it on."""

    def __init__(self) -> None:
        self.ahead = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return utcnow() + self.ahead


@contextlib.contextmanager
def demo_world(
    workdir: Path, *, clock: Callable[[], dt.datetime] = utcnow, zone: str = "UTC"
) -> Iterator[DemoWorld]:
    """Sandbox API, Slack stand-in, the bot wired to both and served on 127.0.0.1."""
    from bot.sandbox.psa import PsaSandbox, SandboxCerts
    from bot.sandbox.slack import SlackDriver, SlackStandIn
    from bot.web import make_wsgi_app, serve
    from bot.wiring import build_fleetbot

    certs = SandboxCerts.create(workdir / "certs")
    signing_secret = secrets.token_hex(SIGNING_SECRET_BYTES)
    webhook_token = secrets.token_urlsafe(16)
    with (
        PsaSandbox(certs, vehicles=VEHICLES) as sandbox,
        SlackStandIn(channels=(ALERTS, OPS)) as slack,
    ):
        slack.add_user(MANAGER, MANAGER_NAME, tz=zone)
        late = LateApp()
        server = serve(late, "127.0.0.1", 0)
        env = {
            **sandbox.env("fleets"),
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": signing_secret,
            "SLACK_API_URL": slack.api_url,
            "FLEETBOT_DB": str(workdir / "fleetbot.db"),
            "FLEETBOT_ALERT_CHANNEL": ALERTS,
            "FLEETBOT_ADMINS": MANAGER,
            "FLEETBOT_PUBLIC_URL": server.url,
            "FLEETBOT_WEBHOOK_TOKEN": webhook_token,
            "FLEETBOT_POLL_INTERVAL": "60",
            "FLEETBOT_TIMEZONE": zone,
        }
        try:
            fleetbot = build_fleetbot(Settings.from_env(env), clock=clock)
        except BaseException:
            server.close()
            raise
        late.app = make_wsgi_app(fleetbot.app, psa_events=fleetbot.webhook, health=fleetbot.health)
        driver = SlackDriver(
            slack, server.url + "/slack/events", signing_secret, user_id=MANAGER, channel_id=OPS
        )
        try:
            yield DemoWorld(sandbox, slack, fleetbot, driver)
        finally:
            fleetbot.close()
            server.close()


def wants_colour(stream: TextIO) -> bool:
    """ANSI colour only on a terminal, and never when NO_COLOR is set (no-color.org)."""
    isatty = getattr(stream, "isatty", None)
    return "NO_COLOR" not in os.environ and isatty is not None and bool(isatty())


class Tour:
    """Narrates and plays the tour against a demo world, printing what Slack shows."""

    def __init__(self, world: DemoWorld, clock: DemoClock, *, out: TextIO, colour: bool) -> None:
        self.sandbox, self.slack, self.fleetbot, self.driver = world
        self.clock = clock
        self.out = out
        self.colour = colour
        self.step_no = 0

    def say(self, text: str = "") -> None:
        """Print a line (flushed: the demo is often piped)."""
        print(text, file=self.out, flush=True)

    def step(self, key: str) -> None:
        """A numbered narration line before each step."""
        self.step_no += 1
        line = f"{self.step_no}. {STEPS[key]}"
        self.say("\n" + (f"\x1b[1;33m{line}\x1b[0m" if self.colour else line))

    def show(self, since: int) -> int:
        """Print what happened in Slack since ``since``; return the new mark."""
        text = self.slack.transcript(since=since, zone=ZONE, colour=self.colour).strip()
        if text:
            self.say(text)
        return self.slack.mark()

    def wait(self, since: int, entries: int) -> None:
        """Wait until at least ``entries`` more things happened in Slack, then show them."""
        try:
            self.slack.wait_for(lambda s: s.mark() >= since + entries, timeout=WAIT)
        except TimeoutError:
            self.show(since)
            self.say(NOTHING_SHOWN.format(seconds=WAIT))
            return
        self.show(since)

    def command(self, line: str) -> None:
        """Send one slash command the way Slack does and print the conversation."""
        name, _, text = line.strip().partition(" ")
        mark = self.slack.mark()
        result = self.driver.command(name, text)
        if result.status != 200:
            self.say(HTTP_ANSWER.format(status=result.status))
            return
        with contextlib.suppress(TimeoutError):
            result.replies(timeout=WAIT)
        self.show(mark)

    def click(self, message: Message, action_id: str, entries: int) -> None:
        """Click a button on a message; show the click and the ``entries`` that follow it."""
        mark = self.slack.mark()
        self.driver.click(message, action_id)
        self.wait(mark, entries + 1)

    def alert_message(self, vin: str) -> Message:
        """The latest top-level message about ``vin`` in #ops."""
        return [m for m in self.slack.messages(OPS) if not m.is_reply and vin in m.text][-1]

    def poll(self) -> None:
        """One poll cycle now, and its posts."""
        self.fleetbot.poll_job.next_due = None
        self.fleetbot.poll_job()

    def play(self) -> None:
        """The scripted part, every capability in turn."""
        vehicles = self.sandbox.vehicles()
        first, second, third = (v["vin"] for v in vehicles[:3])
        self.say(RULE)
        self.say(
            HEADER.format(
                vehicles=len(vehicles), fleet=self.sandbox.fleet_id, manager=MANAGER_NAME, zone=ZONE
            )
        )
        self.say(RULE)

        self.step("digest")
        mark = self.slack.mark()
        self.fleetbot.poller.poll_once()
        self.fleetbot.delivery.run_once()
        self.show(mark)

        self.step("subscribe")
        self.command(
            f"/fleet subscribe <#{OPS}|ops> severity>=critical escalate=15m "
            f"to=<@{MANAGER}|{MANAGER_NAME}>"
        )

        self.step("new")
        self.sandbox.add_alert(first, type="LeftFrontTirePuncture", severity="Critical")
        self.sandbox.add_alert(second, type="EngineOilPressureFailure", severity="Critical")
        mark = self.slack.mark()
        self.poll()
        self.show(mark)

        self.step("ack")
        self.click(self.alert_message(first), ACK, entries=2)  # the edit, the thread reply

        self.step("escalate")
        mark = self.slack.mark()
        self.clock.ahead += ESCALATE_AFTER
        if self.fleetbot.followups is not None:
            self.fleetbot.followups.run_once()
        self.show(mark)

        self.step("mute")
        self.click(self.alert_message(second), MUTE, entries=2)

        self.step("end")
        alert_id = self.sandbox.alerts(first)[-1]["id"]
        self.sandbox.end_alert(alert_id)
        mark = self.slack.mark()
        self.poll()
        if self.fleetbot.followups is not None:
            self.fleetbot.followups.run_once()
        self.wait(mark, 2)

        self.step("commands")
        self.command(f"/trips {first} yesterday")
        self.command(f"/alert {first}")

        self.step("bad")
        self.command("/trips nosuchcar yesterday")

        self.step("push")
        self.command("/fleet monitor enable")
        self.fleetbot.start_scheduler()
        mark = self.slack.mark()
        self.sandbox.add_alert(third, type="AddWasherFluid", severity="Information")
        self.wait(mark, 1)

        self.step("report")
        self.command("/fleet report now")
        self.say(RULE)


def run_demo(
    *,
    interactive: bool,
    output: Path | None = None,
    out: TextIO | None = None,
    colour: bool | None = None,
) -> int:
    """Play the tour; then a prompt for slash commands when ``interactive``.

    Logs go to a file in ``output`` (a new temporary folder when None), next to the HTML page.
    """
    from bot.logs import configure_logging
    from bot.sandbox.slack.page import write_page

    out = out or sys.stdout
    colour = wants_colour(out) if colour is None else colour
    folder = output or Path(tempfile.mkdtemp(prefix="fleetbot-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    log_path, page_path = folder / LOG_NAME, folder / PAGE_NAME
    handler = configure_logging("text", file=log_path)
    stop_on_signals()
    print(STARTING, end="", file=out, flush=True)
    clock = DemoClock()
    try:
        with (
            tempfile.TemporaryDirectory(prefix="fleetbot-demo-work-") as tmp,
            demo_world(Path(tmp), clock=clock, zone=ZONE) as world,
        ):
            print(READY, file=out, flush=True)
            tour = Tour(world, clock, out=out, colour=colour)
            try:
                tour.play()
            finally:
                write_page(world.slack, page_path, zone=ZONE, title=PAGE_TITLE)
            tour.say(PAGE_WRITTEN.format(path=page_path))
            tour.say(LOG_WRITTEN.format(path=log_path))
            if interactive:
                prompt(tour)
    finally:
        handler.close()
    return 0


def stop_on_signals() -> None:
    """A closed terminal (SIGHUP) or SIGTERM unwinds like an exception: the work folder goes."""

    def leave(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, leave)


def prompt(tour: Tour) -> None:
    """Type slash commands (e.g. `/fleet vehicles`); an empty line or Ctrl-D quits."""
    tour.say()
    tour.say(PROMPT_HELP)
    while True:
        try:
            line = input(PROMPT)
        except (EOFError, KeyboardInterrupt):  # Ctrl-D or Ctrl-C quit like an empty line
            tour.say()
            break
        if not line.strip():
            break
        if not line.startswith("/"):
            tour.say(NOT_A_COMMAND)
            continue
        tour.command(line)
