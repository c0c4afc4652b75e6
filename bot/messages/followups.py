"""Thread replies under an alert's message: who did what and when, and escalation reminders.

Each reply carries metadata ``fleet_alert_followup`` naming the alert, the kind and the number
``n``, which delivery uses to find a reply whose answer was lost before posting it again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from bot.messages import texts
from bot.messages.markup import Message, escape, slack_date, truncate

EVENT_FOLLOWUP = "fleet_alert_followup"
#: reminders per alert and channel, at most
MAX_REMINDERS = 3


def duration_words(duration: dt.timedelta) -> str:
    """A duration in words: `15 minutes`, `2 hours`, `1 day`, `90 seconds`."""
    seconds = int(duration.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}" + ("s" if count != 1 else "")
    return f"{seconds} second" + ("s" if seconds != 1 else "")


def muted_kind(words: str, vehicle: str) -> str:
    """What the Mute 24 h button silences: that kind of alert on that vehicle (both escaped)."""
    return texts.FOLLOWUP_MUTED_KIND.format(words=words, vehicle=escape(vehicle))


def about(duration: dt.timedelta) -> str:
    """An elapsed time in words, rounded down to its largest sensible unit (`15 minutes`)."""
    seconds = int(duration.total_seconds())
    for size, floor in ((86400, 2 * 86400), (3600, 2 * 3600), (60, 60)):
        if seconds >= floor:
            return duration_words(dt.timedelta(seconds=seconds - seconds % size))
    return duration_words(dt.timedelta(seconds=max(seconds, 0)))


def ack_text(user: str, at: dt.datetime, what: str = texts.FOLLOWUP_THIS_ALERT) -> str:
    """Who acknowledged, and when."""
    return texts.FOLLOWUP_ACK.format(user=escape(user), what=what, when=slack_date(at))


def ack_all_text(user: str, at: dt.datetime, count: int) -> str:
    """Who acknowledged every alert of a digest, and when."""
    return texts.FOLLOWUP_ACK_ALL.format(user=escape(user), count=count, when=slack_date(at))


def mute_text(user: str, at: dt.datetime, until: dt.datetime, what: str) -> str:
    """Who muted what, when, and until when."""
    return texts.FOLLOWUP_MUTE.format(
        user=escape(user), what=what, when=slack_date(at), until=slack_date(until)
    )


def unmute_text(user: str, at: dt.datetime, what: str) -> str:
    """Who lifted the mute, and when."""
    return texts.FOLLOWUP_UNMUTE.format(user=escape(user), what=what, when=slack_date(at))


def ended_text(at: dt.datetime | None, what: str = texts.FOLLOWUP_THIS_ALERT) -> str:
    """When the alert ended (capitalised: it starts the reply)."""
    return texts.FOLLOWUP_ENDED.format(what=what[:1].upper() + what[1:], when=slack_date(at))


def reminder_text(to: str, since: dt.timedelta, n: int, what: str) -> str:
    """An escalation reminder mentioning ``to`` (a mention already validated, kept as given)."""
    return texts.FOLLOWUP_REMINDER.format(
        to=to,
        what=what[:1].upper() + what[1:],
        since=about(since),
        n=n,
        max=MAX_REMINDERS,
    )


def followup_message(alert_id: str, kind: str, n: int, text: str, *, thread_ts: str) -> Message:
    """The ``chat.postMessage`` arguments of one quiet thread reply (never broadcast)."""
    return {
        "text": truncate(text),  # the alert's words come from the API: any length
        "thread_ts": thread_ts,
        "metadata": {
            "event_type": EVENT_FOLLOWUP,
            "event_payload": {"alert_id": alert_id, "kind": kind, "n": n},
        },
    }


def followup_key(metadata: Mapping[str, Any] | None) -> tuple[str, str, int] | None:
    """(alert id, kind, n) of a thread reply's metadata; None for any other message."""
    if not metadata or metadata.get("event_type") != EVENT_FOLLOWUP:
        return None
    payload = metadata.get("event_payload") or {}
    try:
        return str(payload["alert_id"]), str(payload["kind"]), int(payload["n"])
    except (KeyError, TypeError, ValueError):
        return None
