"""The Bolt app, built by a factory from the collaborators the composition root passes in.

One app serves both connection modes (HTTP via :mod:`bot.web`, Socket Mode via
:func:`start_socket_mode` here). Each surface registers its own thin listeners: the commands in
:mod:`bot.slack.commands`, the buttons in :mod:`bot.slack.actions`, the App Home in
:mod:`bot.slack.home`. Slash commands and buttons are acked at once and their work
runs lazily in a separate thread pool, so a slow API never delays an ack: acks run on one pool,
lazy work on another, and a burst of slow commands cannot starve the acks.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltResponse, Respond
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.lazy_listener.thread_runner import ThreadLazyListenerRunner
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient

from bot.config import Settings
from bot.errors import ConfigError
from bot.slack import actions, handling, home
from bot.slack.commands import alert, fleet, trips
from bot.slack.context import PushMonitors, SlackServices, UserZones

__all__ = [
    "PushMonitors",
    "SlackServices",
    "UserZones",
    "build_app",
    "close_app",
    "start_socket_mode",
]

log = logging.getLogger(__name__)

ACK_THREADS = 16  # acks are instant; events (App Home) run here too
WORK_THREADS = 16  # lazy API work; the API client's own pool and limiter bound it further
RETRY_HEADER = "x-slack-retry-num"
#: variables Bolt reads from the environment on its own (its token, signing secret, OAuth);
#: Fleetbot's Settings are the one reader of the environment, so Bolt must not see them
BOLT_ENV_FALLBACKS = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_VERIFICATION_TOKEN",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
)
_environment = threading.Lock()


def skip_event_retries(
    request: BoltRequest, body: dict[str, Any], next: Any
) -> BoltResponse | None:  # `next`: Bolt injects by this name
    """Answer 200 to Slack's retried event deliveries without acting twice.

    Slack retries an event when our first answer was late or failed; the first delivery is
    being (or has been) handled, so a retry is acknowledged and dropped. Commands and button
    clicks are never retried by Slack.
    """
    if body.get("type") == "event_callback" and request.headers.get(RETRY_HEADER):
        log.info("dropped a retried event delivery (%s)", body.get("event_id"))
        return BoltResponse(status=200, body="")
    next()
    return None


def on_error(error: Exception, body: dict[str, Any], respond: Respond | None) -> None:
    """The global error handler: log with a reference and tell the person; never silence."""
    kind = body.get("command") or body.get("type") or "request"
    message = handling.unexpected(str(kind), error)
    handling.send(respond, message, where=str(kind))


def build_app(
    services: SlackServices,
    *,
    settings: Settings,
    client: WebClient,
    process_before_response: bool = False,
) -> App:
    """The Fleetbot Bolt app with every surface registered (no network I/O here)."""
    # Without a signing secret (Socket Mode needs none) HTTP requests must still fail closed:
    # an empty secret would let anyone sign, so use one nobody knows.
    signing_secret = settings.slack_signing_secret or secrets.token_hex(32)
    with _hidden_from_bolt(BOLT_ENV_FALLBACKS):
        app = App(
            name="fleetbot",  # else Bolt walks the whole stack to name itself
            signing_secret=signing_secret,
            client=client,  # carries the token
            token_verification_enabled=False,  # `fleetbot check` calls auth.test, not start-up
            ignoring_self_events_enabled=True,
            process_before_response=process_before_response,
            listener_executor=ThreadPoolExecutor(ACK_THREADS, thread_name_prefix="slack-ack"),
        )
    runner = app.listener_runner
    runner.lazy_listener_runner = ThreadLazyListenerRunner(
        logger=runner.logger,
        executor=ThreadPoolExecutor(WORK_THREADS, thread_name_prefix="slack-work"),
    )
    app.use(skip_event_retries)
    app.error(on_error)
    for surface in (trips, alert, fleet, actions, home):
        surface.register(app, services)
    return app


@contextlib.contextmanager
def _hidden_from_bolt(names: tuple[str, ...]) -> Iterator[None]:
    """Take ``names`` out of the environment while Bolt builds the app, then put them back.

    Bolt falls back to ``SLACK_BOT_TOKEN`` even when given a client (then warns at every start
    that the token is unused), and turns on its OAuth flow when ``SLACK_CLIENT_ID`` and
    ``SLACK_CLIENT_SECRET`` are set; everything it needs is passed in explicitly instead.
    """
    with _environment:
        hidden = {name: os.environ.pop(name) for name in names if name in os.environ}
        try:
            yield
        finally:
            os.environ.update(hidden)


def close_app(app: App) -> None:
    """Stop the app's thread pools, letting running work finish."""
    runner = app.listener_runner
    lazy = runner.lazy_listener_runner
    if isinstance(lazy, ThreadLazyListenerRunner):
        lazy.executor.shutdown(wait=True)
    runner.listener_executor.shutdown(wait=True)


def start_socket_mode(app: App, app_token: str | None) -> SocketModeHandler:
    """Connect to Slack over Socket Mode; events are then handled in background threads.

    Returns the handler: call ``.close()`` to disconnect.
    """
    if not app_token:
        raise ConfigError("SLACK_APP_TOKEN", "is required for Socket Mode")
    handler = SocketModeHandler(app, app_token)
    handler.connect()
    return handler
