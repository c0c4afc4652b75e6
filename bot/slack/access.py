"""Admin-only subcommands and buttons, checked in listener middleware (fail closed).

Admins are the Slack user ids in FLEETBOT_ADMINS; when it is empty nobody is an admin. Which
`/fleet` forms are admin-only is said once, in :data:`bot.slack.services.FLEET_TABLE`; this gate
and the dispatcher look a text up there the same way, and the services check again, so a
listener registered without the gate still refuses.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltResponse, Respond

from bot.slack import handling, texts, views
from bot.slack.services import SlackServices, fleet_request

log = logging.getLogger(__name__)

Gate = Callable[..., BoltResponse | None]


def refusal(what: str) -> dict[str, Any]:
    """The polite ephemeral refusal."""
    return views.text_reply(texts.NOT_ADMIN.format(what=texts.NOT_ADMIN_WHAT[what]))


def fleet_admin_gate(services: SlackServices) -> Gate:
    """Middleware for `/fleet`: a non-admin asking for an admin subcommand gets the refusal as
    the ack itself (no I/O, no lazy work started)."""

    def fleet_admin_gate(
        body: dict[str, Any], next: Callable[[], None]
    ) -> BoltResponse | None:  # `next`: Bolt injects by this name
        request = fleet_request(body.get("text"))
        user = body.get("user_id")
        if request is not None and request.form.admin and not services.is_admin(user):
            what = request.form.what or request.subcommand.name
            log.info("refused /fleet %s to a non-admin", request.subcommand.name)
            return BoltResponse(
                status=200,
                body=json.dumps(refusal(what)),
                headers={"content-type": "application/json;charset=utf-8"},
            )
        next()
        return None

    return fleet_admin_gate


def action_admin_gate(services: SlackServices, what: str) -> Gate:
    """Middleware for an admin-only button: others get an ephemeral refusal, nothing changes."""

    def action_admin_gate(
        body: dict[str, Any], respond: Respond | None, next: Callable[[], None]
    ) -> BoltResponse | None:
        user = (body.get("user") or {}).get("id")
        if not services.is_admin(user):
            log.info("refused the %s button to a non-admin", what)
            # block_actions ignore the ack body: the refusal must go to the response_url
            handling.send(respond, {**refusal(what), "replace_original": False}, where=what)
            return BoltResponse(status=200, body="")
        next()
        return None

    return action_admin_gate
