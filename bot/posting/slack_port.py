"""The few Slack Web API calls delivery makes, with Slack's failures translated to bot.errors.

What each failure proves decides what delivery does with a row:

- 429 / ``ratelimited``: nothing happened; wait ``Retry-After`` and post again.
- a channel error: the route is unusable; park it (``ChannelUnavailable``).
- the token is refused (``TOKEN_ERRORS``): nothing can happen until it works; pause delivery,
  rows stay pending (``SlackTokenRefused``).
- no answer, a 5xx, or an error saying Slack itself failed (``UNSURE_ERRORS``) to a post: it
  may have been stored; reconcile against the channel, never blind-retry (``OutcomeUnknown``).
- an error proving this very message can never be posted (``UNPOSTABLE_ERRORS``): failed for
  good, admins are told (``MessageUnpostable``).
- an edit whose message is gone (``GONE_ERRORS``): give the edit up (``MessageGone``).
- anything else: plain ``SlackError``; delivery retries it with backoff and a cap.
"""

from __future__ import annotations

import http.client
import socket
import threading
import urllib.error
from collections.abc import Iterator, Mapping
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError

from bot.errors import (
    ChannelUnavailable,
    MessageGone,
    MessageUnpostable,
    OutcomeUnknown,
    SlackError,
    SlackRateLimited,
    SlackTokenRefused,
)

CHANNEL_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        # The workspace forbids posting there: a channel setting, so park the route like the rest.
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
    }
)
# The token (or the app's grant) is refused: every call fails alike until someone fixes it, so
# failing rows would turn a token rotation into silent loss. `missing_scope` belongs here too:
# a reinstall without chat:write is a workspace setting an admin fixes, not a bad message.
TOKEN_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "missing_scope",
        "no_permission",
        "not_allowed_token_type",
        "team_access_not_granted",
        "ekm_access_denied",
        "org_login_required",
        "team_is_restricted",
        "enterprise_is_restricted",
        "access_denied",
    }
)
# Slack failed on its side: a post may or may not have been stored.
UNSURE_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
# Only errors about the message itself: sending the same message again can never work.
UNPOSTABLE_ERRORS = frozenset(
    {
        "msg_too_long",
        "msg_blocks_too_long",
        "no_text",
        "invalid_blocks",
        "invalid_blocks_format",
        "too_many_attachments",
        "invalid_attachments",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "metadata_too_large",
        "metadata_must_be_sent_from_app",
        "invalid_arguments",
        "invalid_charset",
        "invalid_form_data",
        "invalid_json",
        "json_not_object",
    }
)
GONE_ERRORS = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})

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
        self._bot_id: str | None = None
        self._bot_id_lock = threading.Lock()

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

    def upload(
        self,
        content: bytes,
        *,
        filename: str,
        title: str,
        alt_text: str,
        channel: str | None = None,
        thread_ts: str | None = None,
    ) -> str:
        """Slack's external upload (``files_upload_v2``); return the file id.

        Without ``channel`` the file is shared nowhere: it shows only where a message's image
        block names it, so an upload a crash orphaned is seen by nobody.
        """
        response = self._call(
            "files_upload_v2",
            None,
            unknown_outcome=False,
            content=content,
            filename=filename,
            title=title,
            alt_txt=alt_text,
            **({"channel": channel} if channel else {}),
            **({"thread_ts": thread_ts} if thread_ts else {}),
        )
        return str(response["file"]["id"])

    def permalink(self, channel: str, ts: str) -> str:
        """``chat.getPermalink``: a link to one message."""
        response = self._call("chat_getPermalink", channel, unknown_outcome=False, message_ts=ts)
        return str(response["permalink"])

    def auth_test(self) -> dict[str, Any]:
        """``auth.test``: the cheapest call that proves the token works (used as a probe)."""
        response = self._call("auth_test", None, unknown_outcome=False)
        data = dict(response.data) if hasattr(response, "data") else dict(response)
        if data.get("bot_id"):
            self._bot_id = str(data["bot_id"])
        return data

    def own_bot_id(self) -> str | None:
        """This app's ``bot_id`` (from ``auth.test``, asked once and cached)."""
        with self._bot_id_lock:
            if self._bot_id is None:
                self.auth_test()
            return self._bot_id

    def history(self, channel: str, *, oldest: float) -> Iterator[dict[str, Any]]:
        """Channel messages newer than ``oldest`` (epoch seconds), with their metadata."""
        return self._messages("conversations_history", channel, oldest=f"{oldest:.6f}")

    def replies(self, channel: str, thread_ts: str) -> Iterator[dict[str, Any]]:
        """A thread's messages (parent first), with their metadata."""
        return self._messages("conversations_replies", channel, ts=thread_ts)

    def _messages(self, method: str, channel: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Every message a paged conversations method returns, following Slack's cursor."""
        cursor: str | None = None
        while True:
            response = self._call(
                method,
                channel,
                unknown_outcome=False,
                limit=200,
                include_all_metadata=True,
                cursor=cursor,
                **kwargs,
            )
            yield from response.get("messages") or []
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not response.get("has_more") or not cursor:
                return

    def _call(
        self, method: str, channel: str | None, *, unknown_outcome: bool, **kwargs: Any
    ) -> Any:
        if channel is not None:
            kwargs["channel"] = channel
        try:
            return getattr(self.client, method)(**kwargs)
        except SlackApiError as exc:
            raise translate(exc, method, channel, unknown_outcome) from exc
        except SlackRequestError as exc:  # files_upload_v2: the upload URL refused the bytes
            raise SlackError(f"Slack refused {method}: {exc}", channel=channel) from exc
        except _TRANSPORT_ERRORS as exc:
            reason = f"{type(exc).__name__}: {exc}"
            if unknown_outcome:
                raise OutcomeUnknown(
                    f"no answer from Slack to {method} in {channel} ({reason}); will reconcile",
                    channel=channel,
                ) from exc
            raise SlackError(f"Slack unreachable for {method} ({reason})", channel=channel) from exc


def translate(
    exc: SlackApiError, method: str, channel: str | None, unknown_outcome: bool
) -> SlackError:
    """Slack's answer as the bot.errors class that says what delivery must do."""
    response = exc.response
    status = getattr(response, "status_code", None)
    error = response.get("error") if hasattr(response, "get") else None
    where = f" in {channel}" if channel else ""
    if status == 429 or error == "ratelimited":
        headers = getattr(response, "headers", {}) or {}
        retry_after = _seconds(headers.get("Retry-After") or headers.get("retry-after"))
        return SlackRateLimited(
            f"Slack rate-limited {method}", retry_after=retry_after, channel=channel
        )
    if error in CHANNEL_ERRORS:
        return ChannelUnavailable(
            f"Slack refused {method}{where}: {error}", error=error, channel=channel
        )
    if error in TOKEN_ERRORS:
        return SlackTokenRefused(
            f"Slack refuses the bot token ({error})", error=error, channel=channel
        )
    if error in GONE_ERRORS and method == "chat_update":
        return MessageGone(f"the message{where} cannot be edited: {error}", error=error)
    unsure = error in UNSURE_ERRORS or (status is not None and status >= 500)
    if unsure and unknown_outcome:
        return OutcomeUnknown(
            f"Slack answered {error or f'HTTP {status}'} to {method}{where}; will reconcile",
            error=error,
            channel=channel,
        )
    if error in UNPOSTABLE_ERRORS:
        return MessageUnpostable(
            f"Slack refused {method}{where}: {error}", error=error, channel=channel
        )
    return SlackError(
        f"Slack refused {method}{where}: {error or status}", error=error, channel=channel
    )


def _seconds(value: object) -> float:
    try:
        return max(0.0, float(str(value)))
    except ValueError:
        return 1.0
