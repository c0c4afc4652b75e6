"""Fleetbot's exceptions: one small tree, translated at the boundaries.

    FleetbotError                    anything Fleetbot raises on purpose
    ├── ConfigError                  a setting is missing or invalid (names the variable)
    ├── ApiError                     the Connected Car API call did not give us data
    │   ├── CertificateError         mTLS set-up or handshake failed: not retried, reported
    │   ├── ApiAuthError             401/403: wrong login, password or client_id
    │   ├── NoData                   404 with code 40400/40410: "nothing there", not a failure
    │   ├── NotFound                 any other 404
    │   ├── RateLimited              429 that outlived our retries (carries retry_after)
    │   ├── ApiUnavailable           transport error, timeout or 5xx that outlived our retries
    │   └── ApiResponseError         any other HTTP error, or a body we cannot read
    ├── StoreError                   the SQLite ledger cannot be read or written
    ├── SlackError                   a Slack Web API call failed
    │   ├── ChannelUnavailable       channel_not_found / not_in_channel / is_archived: park route
    │   ├── SlackRateLimited         429 from Slack (carries retry_after): wait, then retry
    │   ├── OutcomeUnknown           the post may or may not have happened: reconcile, never retry
    │   ├── SlackTokenRefused        invalid_auth / token_revoked / …: pause delivery, probe, resume
    │   ├── MessageUnpostable        msg_too_long / invalid_blocks / …: this message never will be
    │   └── MessageGone              message_not_found / cant_update_message: nothing left to edit
    └── UserInputError               a person typed something we cannot use (text is shown to them)

httpx, ssl, sqlite3 and slack_sdk exceptions never leave the module that called them: they are
caught there and re-raised as one of these, with the original as ``__cause__``. Messages are
written for an operator at 3 a.m.: what failed and what to do, never a secret.
"""

from __future__ import annotations


class FleetbotError(Exception):
    """Base class of every exception Fleetbot raises on purpose."""


class ConfigError(FleetbotError):
    """A setting is missing or invalid; the message names the environment variable."""

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        self.problem = problem
        super().__init__(f"{variable}: {problem}")


class ApiError(FleetbotError):
    """A Connected Car API call failed.

    ``status`` is the HTTP status (None before a response), ``code`` the API's xError code
    (e.g. 40410), ``uuid`` the API's error reference to quote to Stellantis support.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        uuid: str | None = None,
        operation: str | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.code = code
        self.uuid = uuid
        self.operation = operation
        super().__init__(message)

    def __str__(self) -> str:
        parts = [self.message]
        if self.operation:
            parts.append(f"during {self.operation}")
        if self.status is not None:
            parts.append(f"(HTTP {self.status}" + (f", code {self.code})" if self.code else ")"))
        if self.uuid:
            parts.append(f"[ref {self.uuid}]")
        return " ".join(parts)


class CertificateError(ApiError):
    """The mutual-TLS set-up or handshake failed; retrying will not help."""


class ApiAuthError(ApiError):
    """The API refused our credentials (HTTP Basic login/password or client_id)."""


class NoData(ApiError):
    """The API says there is nothing there (404 with 40400/40410): show as "no data"."""


class NotFound(ApiError):
    """The API answered 404 for something other than "no data"."""


class RateLimited(ApiError):
    """The API kept answering 429; ``retry_after`` is its last Retry-After in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class ApiUnavailable(ApiError):
    """The API could not be reached, timed out or kept failing with 5xx."""


class ApiResponseError(ApiError):
    """The API answered with an error we do not otherwise classify, or an unreadable body."""


class StoreError(FleetbotError):
    """The SQLite ledger could not be read or written."""


class SlackError(FleetbotError):
    """A Slack Web API call failed; ``error`` is Slack's error string when it gave one."""

    def __init__(self, message: str, *, error: str | None = None, channel: str | None = None):
        self.error = error
        self.channel = channel
        super().__init__(message)


class ChannelUnavailable(SlackError):
    """The channel is gone, archived, or the bot is not in it: park the route."""


class SlackRateLimited(SlackError):
    """Slack answered 429: nothing was done; try again after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float = 1.0, channel: str | None = None):
        super().__init__(message, error="ratelimited", channel=channel)
        self.retry_after = retry_after


class OutcomeUnknown(SlackError):
    """A post may have reached Slack without us seeing the answer: reconcile, do not re-post."""


class SlackTokenRefused(SlackError):
    """Slack refuses the bot token itself: nothing can be posted until it works again."""


class MessageUnpostable(SlackError):
    """Slack says this very message can never be posted (too long, invalid blocks, …)."""


class MessageGone(SlackError):
    """The message to edit is gone or can no longer be edited: give the edit up."""


class UserInputError(FleetbotError):
    """A person's input is unusable; the message is meant to be shown to them as is."""
