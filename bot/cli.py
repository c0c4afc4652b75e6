"""The ``fleetbot`` command: ``run``, ``demo``, ``poll``, ``check``, ``sandbox`` and ``report``."""

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

from bot.config import API_REQUIRED, RUN_REQUIRED, Settings, problems_of
from bot.errors import ConfigError, FleetbotError
from bot.logs import configure_logging, say_failure

log = logging.getLogger("bot")

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
EXIT_INTERRUPTED = 130  # the shell's code for a command stopped by Ctrl-C
CERT_WARN_DAYS = 30
JOB_STOP_SECONDS = 6.0  # of the 10 s SIGTERM budget; closing the rest takes well under a second
CANNOT_LISTEN = "cannot listen on {where}: {why}"
JOBS_ABANDONED = "a scheduled job did not stop within %.0f s: exiting without waiting for it"
DESCRIPTION = (
    "Fleetbot posts your Stellantis fleet's vehicle alerts in Slack and answers questions "
    "about the fleet. Try `fleetbot demo` first: it needs no credentials."
)
EPILOG = (
    "Settings come from environment variables (or the --env-file): PSA_* for the Connected "
    "Car API, SLACK_* for Slack, FLEETBOT_* for the bot; the README lists them all. "
    "`fleetbot check` tells you what is missing or wrong."
)
POLL_LOCKED = (
    "fleetbot: a running fleetbot already polls and delivers for {db}; "
    "`fleetbot poll` is for when it is stopped (its App Home and /fleet status show the last poll)"
)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fleetbot`` command."""
    parser = argparse.ArgumentParser(prog="fleetbot", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument(
        "--env-file",
        type=Path,
        default=Path(".env"),
        help="file of settings to read (default: .env)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail (debug)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "run", help="run the bot: answer Slack (HTTP, or Socket Mode with SLACK_APP_TOKEN) and poll"
    )
    demo = commands.add_parser(
        "demo", help="see Fleetbot at work on this machine: a pretend fleet and Slack, no set-up"
    )
    demo.add_argument("--no-interactive", action="store_true", help="exit after the tour")
    demo.add_argument(
        "--output",
        type=Path,
        default=None,
        help="folder for the conversation page and the log (default: a new temporary folder)",
    )
    commands.add_parser("poll", help="fetch new alerts once and post them, then exit")
    commands.add_parser(
        "check", help="test the settings, certificate, API and Slack access; list every problem"
    )
    sandbox = commands.add_parser(
        "sandbox", help="run the pretend Connected Car API alone, to point a real Fleetbot at it"
    )
    sandbox.add_argument("--port", type=int, default=0, help="port to listen on (default: any)")
    sandbox.add_argument("--vehicles", type=int, default=25, help="vehicles in the pretend fleet")
    sandbox.add_argument(
        "--dir",
        type=Path,
        default=Path(".fleetbot-sandbox"),
        help="where its certificates are kept (default: .fleetbot-sandbox)",
    )
    report = commands.add_parser(
        "report", help="post the daily fleet report to a channel now (once per channel and day)"
    )
    report.add_argument("--channel", required=True, help="Slack channel id, e.g. C0123ABCD")
    report.add_argument(
        "--day", type=_day, default=None, help="YYYY-MM-DD (default: yesterday, FLEETBOT_TIMEZONE)"
    )
    args = parser.parse_args(argv)

    if args.command not in ("demo", "sandbox") and args.env_file.is_file():
        load_dotenv(args.env_file, override=False)
    # Before anything logs; bad settings are reported by the command itself, all at once.
    configure_logging(Settings.collect()[0], verbose=args.verbose, quiet=args.command == "check")
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
        for problem in problems_of(exc):
            say_failure(f"configuration error: {problem}", variable=problem.variable)
        return EXIT_CONFIG
    except FleetbotError as exc:
        say_failure(str(exc))
        return EXIT_FAILED


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
    failures = 0

    def report(ok: bool, text: str) -> None:
        nonlocal failures
        failures += 0 if ok else 1
        print(f"{'ok  ' if ok else 'FAIL'}  {text}")

    # Every bad setting, one line each; then every check the good ones still allow.
    settings, problems = Settings.collect()
    api_problems = settings.missing(*API_REQUIRED, "PSA_FLEET_ID")
    for problem in [*problems, *api_problems, *settings.missing("SLACK_BOT_TOKEN")]:
        report(False, f"settings: {problem}")
    if not problems and not api_problems:
        report(True, f"settings: API {settings.psa_api_url} ({settings.psa_api_style} style)")
    if not api_problems:
        check_api(settings, report)
    if settings.slack_bot_token:
        check_slack(settings, report)
    return EXIT_OK if failures == 0 else EXIT_FAILED


def check_api(settings: Settings, report: Callable[[bool, str], None]) -> None:
    """The certificate and key load, and the API answers for the fleet."""
    from bot.psa.client import PsaClient
    from bot.psa.tls import build_ssl_context, days_until_expiry

    assert settings.psa_cert_file is not None  # required by the caller
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
            expiry = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
            report(True, f"certificate: loaded, expires in {days:.0f} days ({expiry:%Y-%m-%d})")
        try:
            with PsaClient.from_settings(settings, max_attempts=1) as api:
                found = "vehicles found" if next(iter(api.vehicles()), None) else "no vehicles"
            report(True, f"API: fleet {settings.psa_fleet_id} answers ({found})")
        except FleetbotError as exc:
            report(False, f"API: {exc}")


def check_slack(settings: Settings, report: Callable[[bool, str], None]) -> None:
    """Slack accepts the bot token."""
    from slack_sdk.errors import SlackApiError

    from bot.wiring import slack_web_client

    try:
        answer = slack_web_client(settings).auth_test()
        report(True, f"Slack: signed in as {answer.get('user')} in {answer.get('team')}")
    except SlackApiError as exc:
        report(False, f"Slack: auth.test refused: {exc.response.get('error')}")
    except (OSError, ValueError) as exc:  # URLError, timeouts, refused connections
        report(False, f"Slack: {settings.slack_api_url} unreachable: {exc}")


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
    try:
        return run_demo(interactive=interactive, output=args.output)
    except KeyboardInterrupt:  # Ctrl-C during the tour: everything is already cleaned up
        return EXIT_INTERRUPTED
