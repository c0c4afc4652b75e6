"""``fleetbot run | demo | poll | check | sandbox | report`` (DESIGN.md section 4)."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from dotenv import load_dotenv

from bot.config import API_REQUIRED, RUN_REQUIRED, Settings
from bot.errors import ConfigError, FleetbotError
from bot.psa.client import quiet_http_logs

log = logging.getLogger("bot")

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
CERT_WARN_DAYS = 30
JOB_STOP_SECONDS = 6.0  # of the 10 s SIGTERM budget; closing the rest takes well under a second
CANNOT_LISTEN = "cannot listen on {where}: {why}"
JOBS_ABANDONED = "a scheduled job did not stop within %.0f s: exiting without waiting for it"
POLL_LOCKED = (
    "fleetbot: a running fleetbot already polls and delivers for {db}; "
    "`fleetbot poll` is for when it is stopped (its App Home and /fleet status show the last poll)"
)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fleetbot`` command."""
    parser = argparse.ArgumentParser(prog="fleetbot", description=__doc__)
    parser.add_argument("--env-file", type=Path, default=Path(".env"), help="default: .env")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="the bot: Slack (HTTP or Socket Mode) plus the scheduler")
    demo = commands.add_parser("demo", help="everything locally, no credentials needed")
    demo.add_argument("--no-interactive", action="store_true", help="exit after the tour")
    commands.add_parser("poll", help="one poll-and-deliver cycle, then exit")
    commands.add_parser("check", help="validate settings, certificate, API and Slack access")
    sandbox = commands.add_parser("sandbox", help="run the local API sandbox alone")
    sandbox.add_argument("--port", type=int, default=0)
    sandbox.add_argument("--vehicles", type=int, default=25)
    sandbox.add_argument("--dir", type=Path, default=Path(".fleetbot-sandbox"))
    report = commands.add_parser(
        "report", help="post the daily fleet report to a channel now (once per channel and day)"
    )
    report.add_argument("--channel", required=True, help="Slack channel id, e.g. C0123ABCD")
    report.add_argument(
        "--day", type=_day, default=None, help="YYYY-MM-DD (default: yesterday, FLEETBOT_TIMEZONE)"
    )
    args = parser.parse_args(argv)

    configure_logging(verbose=args.verbose)
    if args.command not in ("demo", "sandbox") and args.env_file.is_file():
        load_dotenv(args.env_file, override=False)
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "run": cmd_run,
        "demo": cmd_demo,
        "poll": cmd_poll,
        "check": cmd_check,
        "sandbox": cmd_sandbox,
        "report": cmd_report,
    }
    try:
        return handlers[args.command](args)
    except ConfigError as exc:
        print(f"fleetbot: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except FleetbotError as exc:
        print(f"fleetbot: {exc}", file=sys.stderr)
        return EXIT_FAILED


def configure_logging(*, verbose: bool) -> None:
    """The process's one logging set-up: format, level, and the loggers kept quiet."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # apscheduler logs every job run at INFO: a line every 2 s drowns what matters.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    quiet_http_logs()  # httpx's request lines carry the API's client_id in the URL


def cmd_run(args: argparse.Namespace) -> int:
    """Serve Slack and schedule until SIGTERM/SIGINT."""
    from bot.slack.app import start_socket_mode
    from bot.web import make_wsgi_app, serve
    from bot.wiring import build_fleetbot

    settings = Settings.from_env()
    settings.require(*RUN_REQUIRED)
    socket_mode = settings.slack_app_token is not None
    if not socket_mode:
        settings.require("SLACK_SIGNING_SECRET")
    fleetbot = build_fleetbot(settings)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: fleetbot.stop.set())
    # The lock first: /healthz then never reports "no scheduler" for a moment at start.
    scheduling = fleetbot.start_scheduler()
    try:
        try:
            server = serve(
                make_wsgi_app(
                    None if socket_mode else fleetbot.app,
                    psa_events=fleetbot.webhook,
                    health=fleetbot.health,
                ),
                settings.host,
                settings.port,
            )
        except OSError as exc:
            where = f"{settings.host}:{settings.port}"
            raise ConfigError("PORT", CANNOT_LISTEN.format(where=where, why=exc.strerror)) from exc
        handler = start_socket_mode(fleetbot.app, settings.slack_app_token) if socket_mode else None
    except BaseException:  # do not leave a scheduler running (and holding the lock) behind
        fleetbot.close(JOB_STOP_SECONDS)
        raise
    if handler is not None:
        fleetbot.slack_connected = handler.client.is_connected
    log.info(
        "fleetbot running: %s, HTTP on %s, %s",
        "Socket Mode" if socket_mode else "HTTP mode (/slack/events)",
        server.url,
        "scheduling" if scheduling else "standing by (another process schedules)",
    )
    fleetbot.stop.wait()
    log.info("stopping")
    if handler is not None:
        handler.close()
    finished = fleetbot.shutdown(JOB_STOP_SECONDS)
    server.close()
    if not finished:
        # Safe by design (a kill -9 loses nothing): leave now rather than overrun the deadline.
        log.warning(JOBS_ABANDONED, JOB_STOP_SECONDS)
        logging.shutdown()
        os._exit(EXIT_OK)
    fleetbot.close()
    log.info("stopped")
    return EXIT_OK


def cmd_poll(args: argparse.Namespace) -> int:
    """One poll and one delivery run, then a one-line summary."""
    from bot.scheduler import SchedulerLock
    from bot.wiring import build_fleetbot

    settings = Settings.from_env()
    settings.require(*RUN_REQUIRED)
    # Delivering while a running bot delivers from the same database could reconcile its
    # in-flight posts as missing and post them twice: take the scheduler's lock or stop.
    lock = SchedulerLock(settings.db_path)
    if not lock.acquire():
        print(POLL_LOCKED.format(db=settings.db_path), file=sys.stderr)
        return EXIT_FAILED
    fleetbot = build_fleetbot(settings)
    try:
        report = fleetbot.poller.poll_once(stop=fleetbot.stop)
        delivered = fleetbot.delivery.run_once()
    finally:
        fleetbot.close()
        lock.release()
    print(
        f"{report.summary()}; posted {delivered.posted_messages} messages "
        f"({delivered.delivered_alerts} alerts), {delivered.updated} updated"
    )
    return EXIT_OK if not report.errors else EXIT_FAILED


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a day (YYYY-MM-DD): {text!r}") from None


def cmd_report(args: argparse.Namespace) -> int:
    """Post one channel's report for a day; a second run says where the first one is (exit 0).

    No scheduler lock: the report's outbox row is claimed under the database's write lock, so
    this can run beside a running bot without posting twice.
    """
    from bot.wiring import build_fleetbot

    settings = Settings.from_env()
    settings.require(*RUN_REQUIRED)
    fleetbot = build_fleetbot(settings)
    try:
        assert fleetbot.reports is not None
        outcome = fleetbot.reports.post(args.channel, args.day)
    finally:
        fleetbot.close()
    print(outcome.text, file=sys.stdout if outcome.ok else sys.stderr)
    return EXIT_OK if outcome.ok else EXIT_FAILED


def cmd_check(args: argparse.Namespace) -> int:
    """Validate everything an operator sets up; one line per check, exit 0 only if all pass."""
    from slack_sdk.errors import SlackApiError

    from bot.psa.client import PsaClient
    from bot.psa.tls import build_ssl_context, days_until_expiry
    from bot.wiring import slack_web_client

    failures = 0

    def report(ok: bool, text: str) -> None:
        nonlocal failures
        failures += 0 if ok else 1
        print(f"{'ok  ' if ok else 'FAIL'}  {text}")

    try:
        settings = Settings.from_env()
        settings.require(*API_REQUIRED, "PSA_FLEET_ID")
    except ConfigError as exc:
        report(False, f"settings: {exc}")
        return EXIT_FAILED
    report(True, f"settings: API {settings.psa_api_url} ({settings.psa_api_style} style)")

    assert settings.psa_cert_file is not None  # required above
    try:
        build_ssl_context(
            settings.psa_cert_file,
            settings.psa_key_file,
            settings.psa_key_password,
            settings.psa_ca_file,
        )
        days = days_until_expiry(settings.psa_cert_file)
    except FleetbotError as exc:
        report(False, f"certificate: {exc}")
    else:
        if days < 0:
            report(False, f"certificate: {settings.psa_cert_file} expired {-days:.0f} days ago")
        elif days < CERT_WARN_DAYS:
            print(f"warn  certificate: expires in {days:.0f} days: renew it soon")
        else:
            report(True, f"certificate: loaded, expires in {days:.0f} days")
        try:
            with PsaClient.from_settings(settings, max_attempts=1) as api:
                found = "vehicles found" if next(iter(api.vehicles()), None) else "no vehicles"
            report(True, f"API: fleet {settings.psa_fleet_id} answers ({found})")
        except FleetbotError as exc:
            report(False, f"API: {exc}")

    if not settings.slack_bot_token:
        report(False, "Slack: SLACK_BOT_TOKEN: is required but not set")
    else:
        try:
            answer = slack_web_client(settings).auth_test()
            report(True, f"Slack: signed in as {answer.get('user')} in {answer.get('team')}")
        except SlackApiError as exc:
            report(False, f"Slack: auth.test refused: {exc.response.get('error')}")
        except (OSError, ValueError) as exc:  # URLError, timeouts, refused connections
            report(False, f"Slack: {settings.slack_api_url} unreachable: {exc}")
    return EXIT_OK if failures == 0 else EXIT_FAILED


def cmd_sandbox(args: argparse.Namespace) -> int:
    """Run the API sandbox alone and print how to point Fleetbot at it."""
    from bot.sandbox.psa import PsaSandbox, SandboxCerts

    certs = SandboxCerts.create(args.dir.resolve())
    with PsaSandbox(certs, vehicles=args.vehicles, port=args.port) as sandbox:
        print(f"PSA sandbox listening on {sandbox.base_url}")
        print("Point Fleetbot at it with:")
        for key, value in sandbox.env().items():
            print(f"  export {key}={value}")
        print("Ctrl-C to stop.")
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """Everything on this machine: sandbox API, Slack stand-in, the real bot between them."""
    from bot.demo import run_demo

    interactive = sys.stdin.isatty() and not args.no_interactive
    return run_demo(interactive=interactive)
