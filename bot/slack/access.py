"""Who may do what: admin-only subcommands and buttons, refused politely (fail closed).

Admins are the Slack user ids in FLEETBOT_ADMINS; when it is empty nobody is an admin. Which
`/fleet` forms are admin-only is said once, in :data:`bot.slack.commands.fleet.FLEET_TABLE`,
whose middleware refuses them in the ack; buttons are refused by :func:`action_admin_gate`; and
the surfaces check again with :func:`require_admin`, so a listener registered without its gate
still refuses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from typing import Any

from slack_bolt import BoltResponse, Respond

from bot.errors import UserInputError
from bot.messages import texts
from bot.messages.markup import escape, text_reply
from bot.slack import handling
from bot.slack.context import SlackServices

log = logging.getLogger(__name__)

Gate = Callable[..., BoltResponse | None]


def refusal_text(what: str, admins: Collection[str] = ()) -> str:
    """The polite refusal, naming what only admins may do (a key of texts.NOT_ADMIN_WHAT) and
    the admins to ask, as mentions people can click."""
    doing = texts.NOT_ADMIN_WHAT[what]
    if not admins:
        return texts.NOT_ADMIN_NONE.format(what=doing)
    mentions = ", ".join(f"<@{escape(user)}>" for user in sorted(admins))
    return texts.NOT_ADMIN.format(what=doing, admins=mentions)


def refusal(what: str, admins: Collection[str] = ()) -> dict[str, Any]:
    """The polite ephemeral refusal."""
    return text_reply(refusal_text(what, admins))


def require_admin(services: SlackServices, user: str | None, what: str) -> None:
    """Refuse politely unless ``user`` is an admin."""
    if not services.is_admin(user):
        raise UserInputError(refusal_text(what, services.settings.admins))


def action_admin_gate(services: SlackServices, what: str) -> Gate:
    """Middleware for an admin-only button: others get an ephemeral refusal, nothing changes."""

    def action_admin_gate(
        body: dict[str, Any], respond: Respond | None, next: Callable[[], None]
    ) -> BoltResponse | None:
        user = (body.get("user") or {}).get("id")
        if not services.is_admin(user):
            log.info("refused the %s button to a non-admin", what)
            # block_actions ignore the ack body: the refusal must go to the response_url
            answer = {**refusal(what, services.settings.admins), "replace_original": False}
            handling.send(respond, answer, where=what)
            return BoltResponse(status=200, body="")
        next()
        return None

    return action_admin_gate
