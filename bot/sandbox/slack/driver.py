"""Plays Slack's servers calling the bot: signed slash commands, button clicks and events."""

from __future__ import annotations

import hashlib
import http.client
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from slack_sdk.signature import SignatureVerifier

from bot.sandbox.slack import render
from bot.sandbox.slack.server import Message, SlackStandIn

VERIFICATION_TOKEN = "sandbox-verification-token"  # noqa: S105 - Slack's legacy field, a constant
FORM_TYPE = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"
RETRY_REASON = "http_timeout"
MSG_NO_RESPONSE_URL = "this request carried no response_url, so there are no replies to wait for"
MSG_NO_ACTION = "no element with action_id {action_id!r} in message {ts}; found: {found}"
CLICK_NOTE = " clicked"


@dataclass
class CommandResult:
    """The bot's immediate HTTP answer (the ack) to one request from the driver."""

    status: int
    body: str
    json: dict[str, Any] | None
    elapsed: float
    response_url: str | None = None
    standin: SlackStandIn | None = field(default=None, repr=False, compare=False)

    def replies(self, timeout: float = 10, count: int = 1) -> list[dict[str, Any]]:
        """Wait until ``count`` POSTs reach this request's response_url; return all received.

        Raises TimeoutError (with the transcript) when they do not arrive within ``timeout``.
        """
        url, standin = self.response_url, self.standin
        if url is None or standin is None:
            raise ValueError(MSG_NO_RESPONSE_URL)
        standin.wait_for(lambda s: len(s.responses_for(url)) >= count, timeout)
        return standin.responses_for(url)


def find_action(blocks: list[Any] | None, action_id: str) -> tuple[dict[str, Any], str] | None:
    """Return (element, block_id) of the interactive element with this action_id, or None."""
    for index, block in enumerate(blocks or []):
        if not isinstance(block, dict):
            continue
        elements = list(block.get("elements") or [])
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        for element in elements:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                # Slack gives every block an id; invent a stable one when the bot set none.
                return element, str(block.get("block_id") or f"b{index}")
    return None


def _action_ids(blocks: list[Any] | None) -> list[str]:
    """List every action_id in the blocks (for error messages)."""
    found: list[str] = []
    for block in blocks or []:
        if isinstance(block, dict):
            elements = [*(block.get("elements") or []), block.get("accessory")]
            found += [e["action_id"] for e in elements if isinstance(e, dict) and "action_id" in e]
    return found


class SlackDriver:
    """Acts like Slack's servers calling the bot, signing requests with the signing secret."""

    def __init__(
        self,
        standin: SlackStandIn,
        bot_url: str,
        signing_secret: str,
        *,
        team_id: str = "T0SANDBOX",
        user_id: str = "U0MANAGER",
        user_name: str = "manager",
        channel_id: str = "C0OPS",
        timeout: float = 10,
    ) -> None:
        self.standin = standin
        self.bot_url = bot_url
        self.team_id = team_id
        self.user_id = user_id
        self.user_name = user_name
        self.channel_id = channel_id
        self.timeout = timeout
        self._verifier = SignatureVerifier(signing_secret)
        self._ids = itertools.count(1)
        self._envelopes: dict[str, dict[str, Any]] = {}
        if user_id not in standin.users:
            standin.add_user(user_id, user_name)

    # --- requests --------------------------------------------------------------------------------

    def command(
        self,
        command: str,
        text: str = "",
        *,
        user_id: str | None = None,
        channel_id: str | None = None,
    ) -> CommandResult:
        """POST a slash command exactly as Slack does (form-encoded, signed)."""
        user = user_id or self.user_id
        channel = channel_id or self.channel_id
        name = self._name(user)
        url = self.standin.response_url(channel=channel, user=user)
        fields = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "team_domain": self.standin.team_domain,
            "channel_id": channel,
            "channel_name": self.standin.channel_name(channel),
            "user_id": user,
            "user_name": name,
            "command": command,
            "text": text,
            "api_app_id": self.standin.app_id,
            "is_enterprise_install": "false",
            "response_url": url,
            "trigger_id": self._trigger_id(),
        }
        self.standin.record(render.Entry("command", channel, name, f"{command} {text}".strip()))
        body = urlencode(fields).encode()
        return self._post(body, {**self.signed_headers(body), "Content-Type": FORM_TYPE}, url)

    def click(
        self,
        message: Message,
        action_id: str,
        *,
        value: str | None = None,
        user_id: str | None = None,
    ) -> CommandResult:
        """POST a block_actions payload for a button on a channel message, as Slack sends it."""
        user = user_id or self.user_id
        name = self._name(user)
        current = self.standin.message(message.channel, message.ts) or message
        found = find_action(current.blocks, action_id)
        if found is None:
            raise LookupError(
                MSG_NO_ACTION.format(
                    action_id=action_id, ts=current.ts, found=_action_ids(current.blocks)
                )
            )
        element, block_id = found
        url = self.standin.response_url(channel=current.channel, message_ts=current.ts, user=user)
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id,
            "text": element.get("text"),
            "value": value if value is not None else element.get("value"),
            "type": element.get("type", "button"),
            "action_ts": f"{time.time():.6f}",
        }
        if "style" in element:
            action["style"] = element["style"]
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user, "username": name, "name": name, "team_id": self.team_id},
            "api_app_id": self.standin.app_id,
            "token": VERIFICATION_TOKEN,
            "container": {
                "type": "message",
                "message_ts": current.ts,
                "channel_id": current.channel,
                "is_ephemeral": False,
            },
            "trigger_id": self._trigger_id(),
            "team": {"id": self.team_id, "domain": self.standin.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": current.channel, "name": self.standin.channel_name(current.channel)},
            "message": self.standin.message_payload(current),
            "state": {"values": {}},
            "response_url": url,
            "actions": [action],
        }
        label = render.block_lines([{"type": "actions", "elements": [element]}])
        self.standin.record(
            render.Entry(
                "click", current.channel, name, " ".join(label), note=CLICK_NOTE, ts=current.ts
            )
        )
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self._post(body, {**self.signed_headers(body), "Content-Type": FORM_TYPE}, url)

    def click_home(
        self, action_id: str, *, value: str | None = None, user_id: str | None = None
    ) -> CommandResult:
        """POST a block_actions payload for a button on the user's App Home, as Slack sends it
        (a view container, the view itself, and no response_url)."""
        user = user_id or self.user_id
        name = self._name(user)
        view = self.standin.views.get(user)
        found = find_action((view or {}).get("blocks"), action_id)
        if view is None or found is None:
            raise LookupError(
                MSG_NO_ACTION.format(
                    action_id=action_id, ts="home", found=_action_ids((view or {}).get("blocks"))
                )
            )
        element, block_id = found
        view_id = str(view.get("id") or "V0HOME")
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user, "username": name, "name": name, "team_id": self.team_id},
            "api_app_id": self.standin.app_id,
            "token": VERIFICATION_TOKEN,
            "container": {"type": "view", "view_id": view_id},
            "trigger_id": self._trigger_id(),
            "team": {"id": self.team_id, "domain": self.standin.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "view": {**view, "id": view_id, "type": "home"},
            "state": {"values": {}},
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": block_id,
                    "text": element.get("text"),
                    "value": value if value is not None else element.get("value"),
                    "type": element.get("type", "button"),
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        label = render.block_lines([{"type": "actions", "elements": [element]}])
        self.standin.record(render.Entry("click", "home", name, " ".join(label), note=CLICK_NOTE))
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self._post(body, {**self.signed_headers(body), "Content-Type": FORM_TYPE}, None)

    def event(self, event: dict[str, Any], *, retry_num: int | None = None) -> CommandResult:
        """POST an Events API envelope (event_callback); a retry resends the same envelope."""
        digest = hashlib.sha256(json.dumps(event, sort_keys=True).encode()).hexdigest()
        event_id = "Ev" + digest[:10].upper()
        envelope = self._envelopes.get(event_id)
        if envelope is None:
            now = time.time()
            envelope = {
                "token": VERIFICATION_TOKEN,
                "team_id": self.team_id,
                "context_team_id": self.team_id,
                "api_app_id": self.standin.app_id,
                "event": {"event_ts": f"{now:.6f}", **event},
                "type": "event_callback",
                "event_id": event_id,
                "event_time": int(now),
                "authorizations": [
                    {
                        "enterprise_id": None,
                        "team_id": self.team_id,
                        "user_id": self.standin.bot_user_id,
                        "is_bot": True,
                        "is_enterprise_install": False,
                    }
                ],
                "is_ext_shared_channel": False,
                "event_context": f"4-{event_id}",
            }
            self._envelopes[event_id] = envelope
        body = json.dumps(envelope).encode()
        headers = {**self.signed_headers(body), "Content-Type": JSON_TYPE}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = RETRY_REASON
        user = str(event.get("user") or "")
        self.standin.record(
            render.Entry(
                "event",
                str(event.get("channel") or "-"),
                self._name(user) if user else "Slack",
                f"(event {event.get('type', '?')})",
            )
        )
        return self._post(body, headers, None)

    def raw(self, body: bytes, headers: dict[str, str]) -> CommandResult:
        """POST exactly these bytes and headers (for unsigned, stale or malformed requests)."""
        return self._post(body, headers, None)

    def signed_headers(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """Return Slack's v0 signature headers for this body."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signature = self._verifier.generate_signature(timestamp=ts, body=body)
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": str(signature)}

    # --- helpers ---------------------------------------------------------------------------------

    def _name(self, user_id: str) -> str:
        return self.user_name if user_id == self.user_id else self.standin.user_name(user_id)

    def _trigger_id(self) -> str:
        digest = hashlib.sha256(f"{time.time_ns()}:{next(self._ids)}".encode()).hexdigest()
        return f"{int(time.time())}.{self.team_id}.{digest[:32]}"

    def _post(
        self, body: bytes, headers: dict[str, str], response_url: str | None
    ) -> CommandResult:
        """POST to the bot and return its immediate answer."""
        parts = urlsplit(self.bot_url)
        conn_cls = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        conn = conn_cls(parts.hostname or "127.0.0.1", parts.port, timeout=self.timeout)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            start = time.perf_counter()
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            elapsed = time.perf_counter() - start
            status = response.status
        finally:
            conn.close()
        text = data.decode("utf-8", "replace")
        parsed: dict[str, Any] | None = None
        if text.lstrip().startswith("{"):
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
        return CommandResult(status, text, parsed, elapsed, response_url, self.standin)
