"""``fleetbot demo``: the real bot between the API sandbox (real mTLS) and the Slack stand-in.

No credentials: certificates are generated into a temporary folder, the database is a
temporary file. The tour prints the Slack conversation as people would read it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from bot.config import Settings

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

    from bot.sandbox.psa import PsaSandbox
    from bot.sandbox.slack import SlackDriver, SlackStandIn
    from bot.wiring import Fleetbot

ALERTS, OPS = "C0ALERTS", "C0OPS"
MANAGER = "U0MANAGER"
SIGNING_SECRET_BYTES = 16

RULE = "─" * 78


def say(text: str) -> None:
    """Print narration (flushed: the demo is often piped)."""
    print(text, flush=True)


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


@contextlib.contextmanager
def demo_world(workdir: Path) -> Iterator[DemoWorld]:
    """Sandbox API, Slack stand-in, the bot wired to both and served on 127.0.0.1."""
    from bot.sandbox.psa import PsaSandbox, SandboxCerts
    from bot.sandbox.slack import SlackDriver, SlackStandIn
    from bot.web import make_wsgi_app, serve
    from bot.wiring import build_fleetbot

    certs = SandboxCerts.create(workdir / "certs")
    signing_secret = secrets.token_hex(SIGNING_SECRET_BYTES)
    webhook_token = secrets.token_urlsafe(16)
    with PsaSandbox(certs, vehicles=25) as sandbox, SlackStandIn(channels=(ALERTS, OPS)) as slack:
        slack.add_user(MANAGER, "manager")
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
        }
        fleetbot = build_fleetbot(Settings.from_env(env))
        late.app = make_wsgi_app(fleetbot.app, psa_events=fleetbot.webhook, health=fleetbot.health)
        driver = SlackDriver(
            slack, server.url + "/slack/events", signing_secret, user_id=MANAGER, channel_id=OPS
        )
        try:
            yield DemoWorld(sandbox, slack, fleetbot, driver)
        finally:
            fleetbot.close()
            server.close()


def run_demo(*, interactive: bool) -> int:
    """Play the tour; then a prompt for slash commands when ``interactive``."""
    with (
        tempfile.TemporaryDirectory(prefix="fleetbot-demo-") as tmp,
        demo_world(Path(tmp)) as (sandbox, slack, fleetbot, driver),
    ):
        tour(sandbox, slack, fleetbot, driver)
        if interactive:
            prompt(slack, driver)
    return 0


def show(slack: SlackStandIn, since: int) -> int:
    """Print what happened in Slack since ``since``; return the new mark."""
    text = slack.transcript(since=since).strip()
    if text:
        say(text)
    return slack.mark()


def command(slack: SlackStandIn, driver: SlackDriver, line: str) -> None:
    """Send one slash command the way Slack does and print the conversation."""
    name, _, text = line.strip().partition(" ")
    mark = slack.mark()
    result = driver.command(name, text)
    if result.status != 200:
        say(f"(the bot answered HTTP {result.status})")
        return
    with contextlib.suppress(TimeoutError):
        result.replies(timeout=15)
    show(slack, mark)


def tour(sandbox: PsaSandbox, slack: SlackStandIn, fleetbot: Fleetbot, driver: SlackDriver) -> None:
    """The scripted part: first poll, a new alert and its reminder, commands, a button, push,
    an alert ending."""
    from bot.alerts.followups import FollowupService

    vehicles = sandbox.vehicles()
    first, second = vehicles[0], vehicles[1]
    say(RULE)
    say(f"Fleetbot demo — sandbox API {sandbox.base_url} (mTLS), Slack stand-in {slack.url}")
    say(f"Fleet {sandbox.fleet_id}: {len(vehicles)} vehicles. Everything runs on this machine.")
    say(RULE)

    say(
        "\n1. An admin routes critical alerts to #ops (everything else goes to #alerts), "
        "escalating what nobody acknowledges within 15 minutes:"
    )
    command(
        slack,
        driver,
        f"/fleet subscribe <#{OPS}|ops> severity>=critical escalate=15m to=<@{MANAGER}|manager>",
    )

    say("\n2. First start: the alerts active right now are delivered (a digest when many):")
    mark = slack.mark()
    report = fleetbot.poller.poll_once()
    delivered = fleetbot.delivery.run_once()
    say(f"   [{report.summary()}; {delivered.posted_messages} messages posted]")
    show(slack, mark)

    say(f"\n3. A new critical alert starts on {first['vin']}; the next poll posts it once:")
    sandbox.add_alert(first["vin"], type="LeftFrontTirePuncture", severity="Critical")
    mark = slack.mark()
    fleetbot.poll_job.next_due = None
    fleetbot.poll_job()
    show(slack, mark)

    say("\n   Nobody acknowledges it; 15 minutes later (the demo moves its clock) a reminder")
    say("   mentions the escalation target in the alert's thread, not in the channel:")
    mark = slack.mark()
    later = fleetbot.clock() + dt.timedelta(minutes=15, seconds=1)
    FollowupService(fleetbot.ledger, fleetbot.delivery.slack, clock=lambda: later).run_once()
    show(slack, mark)

    say("\n4. Someone clicks Acknowledge: the message is updated in place, its thread says who:")
    posted = [
        m
        for m in slack.messages(OPS)
        if not m.is_reply and m.metadata and "alert_id" in str(m.metadata)
    ]
    if posted:
        mark = slack.mark()
        driver.click(posted[-1], "alert_ack")
        with contextlib.suppress(TimeoutError):
            slack.wait_for(lambda s: s.mark() > mark + 2, timeout=10)  # click, edit, reply
        show(slack, mark)

    say("\n5. Slash commands:")
    command(slack, driver, f"/trips {first['vin']} yesterday")
    command(slack, driver, f"/alert {first['vin']}")
    command(slack, driver, f"/fleet where {second['vin']}")
    command(slack, driver, "/trips nosuchcar yesterday")

    say("\n6. Push: an admin enables the API monitor; a new alert arrives without a poll:")
    command(slack, driver, "/fleet monitor enable")
    fleetbot.start_scheduler()
    mark = slack.mark()
    sandbox.add_alert(second["vin"], type="AddWasherFluid", severity="Information")
    with contextlib.suppress(TimeoutError):
        slack.wait_for(lambda s: s.mark() > mark, timeout=15)
    show(slack, mark)

    say("\n7. The alert ends: its message is edited, not re-posted, and its thread says when:")
    alert_id = sandbox.alerts(second["vin"])[-1]["id"]
    mark = slack.mark()
    sandbox.end_alert(alert_id)
    with contextlib.suppress(TimeoutError):
        slack.wait_for(lambda s: s.mark() > mark + 1, timeout=15)  # the edit, then the reply
    show(slack, mark)
    say(RULE)


def prompt(slack: SlackStandIn, driver: SlackDriver) -> None:
    """Type slash commands (e.g. `/fleet vehicles`); an empty line or Ctrl-D quits."""
    say("Type a slash command (/trips, /alert, /fleet help); empty line to quit.")
    for line in sys.stdin:
        if not line.strip():
            break
        if not line.startswith("/"):
            say("Commands start with / — try /fleet help")
            continue
        command(slack, driver, line)
