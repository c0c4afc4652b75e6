"""Acking at once, running listener work after it, and turning failures into polite replies.

Bolt swallows exceptions raised in lazy listeners (it only logs them), so every lazy function
goes through :func:`run`: a person always gets an answer, and an unexpected error gets a short
reference that also appears in the log line with the traceback.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from slack_bolt import Ack
from slack_bolt.context.respond import Respond
from slack_sdk.errors import SlackApiError

from bot.errors import (
    ApiAuthError,
    ApiError,
    ApiUnavailable,
    CertificateError,
    RateLimited,
    UserInputError,
)
from bot.messages import texts
from bot.messages.markup import error_reply, escape

log = logging.getLogger(__name__)

LOG_UNEXPECTED = "unexpected error in %s (ref %s)"

Message = dict[str, Any]
Result = Message | list[Message] | None


def ack_at_once(ack: Ack) -> None:
    """Acknowledge a command or a click within Slack's 3 s: no I/O here, the work runs lazily."""
    ack()


def new_ref() -> str:
    """A short reference a person can quote and an admin can grep for."""
    return secrets.token_hex(4).upper()


def api_problem(exc: ApiError) -> str:
    """An API failure in words for the person who asked."""
    if isinstance(exc, ApiUnavailable):
        return texts.API_UNAVAILABLE
    if isinstance(exc, RateLimited):
        return texts.API_RATE_LIMITED
    if isinstance(exc, ApiAuthError):
        return texts.API_AUTH
    if isinstance(exc, CertificateError):
        return texts.API_CERTIFICATE
    return texts.API_OTHER.format(
        ref=texts.API_REF.format(uuid=escape(exc.uuid)) if exc.uuid else ""
    )


def unexpected(where: str, exc: BaseException) -> Message:
    """Log an unexpected error with a reference and return the reply that quotes it."""
    ref = new_ref()
    log.error(LOG_UNEXPECTED, where, ref, exc_info=exc)
    return error_reply(texts.SOMETHING_WRONG.format(ref=ref))


def error_message(exc: BaseException, *, where: str, usage: str | None = None) -> Message:
    """The reply for a failure: the person's mistake with usage, the API's trouble, or a ref."""
    if isinstance(exc, UserInputError):
        return error_reply(str(exc), usage)
    if isinstance(exc, ApiError):
        # ApiError texts carry no secret (the client scrubs them); the operator wants them
        log.warning("%s: API error: %s", where, exc)
        return error_reply(api_problem(exc))
    return unexpected(where, exc)


def send(respond: Respond | None, result: Result, *, where: str) -> None:
    """POST the replies to the response_url (at most five are accepted by Slack)."""
    if respond is None or result is None:
        return
    messages: Iterable[Mapping[str, Any]] = result if isinstance(result, list) else [result]
    for message in messages:
        try:
            respond(**message)
        except (SlackApiError, OSError, ValueError) as exc:
            # nobody left to tell: the response_url is gone or unreachable
            log.warning("%s: could not reply on the response_url (%s)", where, type(exc).__name__)
            return


def run(
    where: str,
    respond: Respond | None,
    work: Callable[[], Result],
    *,
    usage: str | Callable[[], str] | None = None,
) -> None:
    """Do ``work`` and send its replies; any failure becomes a reply too (never silence)."""
    try:
        result = work()
    except Exception as exc:  # the boundary: every failure becomes a reply
        text = usage() if callable(usage) else usage
        result = error_message(exc, where=where, usage=text)
    send(respond, result, where=where)
