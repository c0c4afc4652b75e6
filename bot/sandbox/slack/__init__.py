"""Local stand-in for the Slack Web API and a driver that plays Slack calling the bot."""

from __future__ import annotations

from bot.sandbox.slack.driver import CommandResult, SlackDriver
from bot.sandbox.slack.server import Call, Message, SlackStandIn

__all__ = ["Call", "CommandResult", "Message", "SlackDriver", "SlackStandIn"]
