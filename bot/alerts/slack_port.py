"""The few Slack Web API calls delivery makes, with Slack's failures translated to bot.errors.

The distinction that matters: a post that certainly did not happen (429, a Slack error
answer) may be retried; a post whose answer we never saw (timeout, dropped connection,
5xx) raises OutcomeUnknown and is reconciled against the channel history instead.
"""

from __future__ import annotations

import http.client
import socket
import urllib.error
from collections.abc import Iterator, Mapping
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.errors import ChannelUnavailable, OutcomeUnknown, SlackError, SlackRateLimited

CHANNEL_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived"})

_TRANSPORT_ERRORS = (
    urllib.error.URLError,
    http.client.HTTPException,
    ConnectionError,
    socket.timeout,
    TimeoutError,
    OSError,
)


class SlackPort:
    """Posts, updates and reads channel messages through a slack_sdk ``WebClient``."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def post(self, channel: str, message: Mapping[str, Any]) -> str:
        """Post a message; return its ts."""
        response = self._call("chat_postMessage", channel, unknown_outcome=True, **message)
        return str(response["ts"])

    def update(self, channel: str, ts: str, message: Mapping[str, Any]) -> None:
        """Edit a message in place (idempotent, so safe to repeat)."""
        self._call("chat_update", channel, unknown_outcome=False, ts=ts, **message)

    def post_text(self, channel: str, text: str) -> None:
        """A plain notice (admin warnings)."""
        self._call("chat_postMessage", channel, unknown_outcome=True, text=text)

    def history(self, channel: str, *, oldest: float) -> Iterator[dict[str, Any]]:
        """Channel messages newer than ``oldest`` (epoch seconds), with their metadata."""
        cursor: str | None = None
        while True:
            response = self._call(
                "conversations_history",
                channel,
                unknown_outcome=False,
                oldest=f"{oldest:.6f}",
                limit=200,
                include_all_metadata=True,
                cursor=cursor,
            )
            yield from response.get("messages") or []
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not response.get("has_more") or not cursor:
                return

    def _call(self, method: str, channel: str, *, unknown_outcome: bool, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, method)(channel=channel, **kwargs)
        except SlackApiError as exc:
            raise _translate(exc, method, channel, unknown_outcome) from exc
        except _TRANSPORT_ERRORS as exc:
            reason = f"{type(exc).__name__}: {exc}"
            if unknown_outcome:
                raise OutcomeUnknown(
                    f"no answer from Slack to {method} in {channel} ({reason}); will reconcile",
                    channel=channel,
                ) from exc
            raise SlackError(f"Slack unreachable for {method} ({reason})", channel=channel) from exc


def _translate(exc: SlackApiError, method: str, channel: str, unknown_outcome: bool) -> SlackError:
    response = exc.response
    status = getattr(response, "status_code", None)
    error = response.get("error") if hasattr(response, "get") else None
    if status == 429 or error == "ratelimited":
        headers = getattr(response, "headers", {}) or {}
        retry_after = _seconds(headers.get("Retry-After") or headers.get("retry-after"))
        return SlackRateLimited(
            f"Slack rate-limited {method}", retry_after=retry_after, channel=channel
        )
    if error in CHANNEL_ERRORS:
        return ChannelUnavailable(
            f"Slack refused {method} in {channel}: {error}", error=error, channel=channel
        )
    if status is not None and status >= 500 and unknown_outcome:
        return OutcomeUnknown(
            f"Slack answered HTTP {status} to {method} in {channel}; will reconcile",
            channel=channel,
        )
    return SlackError(
        f"Slack refused {method} in {channel}: {error or status}", error=error, channel=channel
    )


def _seconds(value: object) -> float:
    try:
        return max(0.0, float(str(value)))
    except ValueError:
        return 1.0
