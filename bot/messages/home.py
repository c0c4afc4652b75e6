"""The App Home view, and the pipeline lines `/fleet status` shares with it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from bot.messages import texts
from bot.messages.alert_text import severity_rank
from bot.messages.alerts import alert_line, alert_words, badge
from bot.messages.fleet import route_lines
from bot.messages.markup import (
    MAX_VIEW_BLOCKS,
    button,
    context,
    escape,
    pack_sections,
    section,
    slack_date,
)
from bot.store import Delivery, Route, StoredAlert

MAX_HOME_VEHICLES = 25
#: alerts waiting for acknowledgement shown on the App Home, oldest first
MAX_HOME_WAITING = 10
ACTION_HOME_ACK = "home_ack"


def home_ack_value(channel: str, alert_id: str) -> str:
    """The App Home Acknowledge button's value: which alert, in which channel."""
    return f"{channel}|{alert_id}"


def read_home_ack_value(value: str) -> tuple[str, str] | None:
    """(channel, alert id) from :func:`home_ack_value`; None for anything else."""
    channel, bar, alert_id = value.partition("|")
    return (channel, alert_id) if bar and channel and alert_id else None


@dataclasses.dataclass(frozen=True)
class HomeFacts:
    """Everything the App Home shows, gathered by the service."""

    open_alerts: Sequence[StoredAlert]
    names: Mapping[str, str]
    routes: Sequence[Route]
    last_poll: Mapping[str, Any] | None
    next_poll: dt.datetime | None
    quota: Mapping[str, Any] | None
    backlog: Mapping[str, int]
    locale: str = "en-GB"
    poll_path: Mapping[str, Any] | None = None  # the poller's `poll_path` state
    waiting: Sequence[Delivery] = ()  # posted, open, unacknowledged: oldest first


def waiting_blocks(facts: HomeFacts) -> list[dict[str, Any]]:
    """What waits for acknowledgement, oldest first, each with its Acknowledge button."""
    if not facts.waiting:
        return [section(texts.HOME_WAITING_NONE)]
    blocks = [section(texts.HOME_WAITING_TITLE.format(count=len(facts.waiting)))]
    for row in facts.waiting[:MAX_HOME_WAITING]:
        vehicle = facts.names.get(row.alert.vin, row.alert.vin)
        line = texts.HOME_WAITING_LINE.format(
            line=alert_line(row.alert, facts.locale, vehicle),
            when=slack_date(row.alert.started_at or row.created_at),
            channel=escape(row.channel),
        )
        block = section(line)
        block["accessory"] = button(
            texts.ALERT_ACKNOWLEDGE,
            ACTION_HOME_ACK,
            home_ack_value(row.channel, row.alert.id),
            "primary",
        )
        blocks.append(block)
    if len(facts.waiting) > MAX_HOME_WAITING:
        more = len(facts.waiting) - MAX_HOME_WAITING
        blocks.append(context(texts.HOME_WAITING_MORE.format(count=more)))
    return blocks


def when_of(value: object) -> dt.datetime | None:
    """Read a stored timestamp (ISO text or datetime) as an aware datetime."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and value:
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return None


def home_view(facts: HomeFacts) -> dict[str, Any]:
    """The App Home tab: what waits for acknowledgement, then open alerts per vehicle,
    severities, routes, polling and quota."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": texts.HOME_TITLE}},
        *waiting_blocks(facts),
        {"type": "divider"},
    ]
    by_vin: dict[str, list[StoredAlert]] = defaultdict(list)
    for alert in facts.open_alerts:
        by_vin[alert.vin].append(alert)
    lines = [texts.HOME_OPEN_TITLE.format(count=len(by_vin))]
    if not by_vin:
        lines.append(texts.HOME_OPEN_NONE)
    ranked = sorted(
        by_vin.items(), key=lambda kv: (-max(severity_rank(a.severity) for a in kv[1]), kv[0])
    )
    for vin, alerts in ranked[:MAX_HOME_VEHICLES]:
        badges = ", ".join(
            f"{badge(a.severity, facts.locale)} {alert_words(a.type, facts.locale)}"
            for a in alerts[:5]
        )
        lines.append(
            texts.HOME_OPEN_LINE.format(
                vehicle=escape(facts.names.get(vin, vin)), count=len(alerts), badges=badges
            )
        )
    if len(ranked) > MAX_HOME_VEHICLES:
        lines.append(texts.HOME_OPEN_MORE.format(count=len(ranked) - MAX_HOME_VEHICLES))
    blocks += pack_sections(lines)

    severities = Counter(a.severity or "" for a in facts.open_alerts)
    if severities:
        counts = " · ".join(
            f"{badge(s or None, facts.locale)} {n}"
            for s, n in sorted(severities.items(), key=lambda kv: -severity_rank(kv[0]))
        )
        blocks.append(section(texts.HOME_SEVERITY.format(counts=counts)))

    blocks.append({"type": "divider"})
    route_block = [texts.HOME_ROUTES_TITLE]
    route_block += route_lines(facts.routes, facts.names) or [texts.ROUTES_NONE]
    blocks += pack_sections(route_block)
    parked = [r.channel for r in facts.routes if r.parked]
    if parked:
        blocks.append(
            section(texts.HOME_PARKED.format(channels=", ".join(f"<#{escape(c)}>" for c in parked)))
        )

    blocks.append({"type": "divider"})
    status = pipeline_lines(facts)
    blocks += pack_sections(status)
    blocks.append(context(texts.HOME_FOOTER))
    if len(blocks) > MAX_VIEW_BLOCKS:
        blocks = [*blocks[: MAX_VIEW_BLOCKS - 1], blocks[-1]]
    return {"type": "home", "blocks": blocks}


def pipeline_lines(facts: HomeFacts) -> list[str]:
    """Last and next poll, quota left and the delivery backlog (App Home, `/fleet status`)."""
    status: list[str] = []
    poll = facts.last_poll or {}
    if poll.get("at"):
        status.append(
            texts.HOME_POLL.format(
                when=slack_date(when_of(poll.get("at"))),
                vehicles=escape(poll.get("vehicles", "?")),
                new_alerts=escape(poll.get("new_alerts", "?")),
                calls=escape(poll.get("api_calls", "?")),
            )
        )
    else:
        status.append(texts.HOME_POLL_NEVER)
    if facts.next_poll is not None:
        status.append(texts.HOME_NEXT_POLL.format(when=slack_date(facts.next_poll)))
    quota = facts.quota or {}
    if quota.get("daily_remaining") is not None:
        status.append(
            texts.HOME_QUOTA.format(
                remaining=f"{quota['daily_remaining']:,}"
                if isinstance(quota["daily_remaining"], int)
                else escape(quota["daily_remaining"]),
                limit=escape(quota.get("daily_limit") or "?"),
            )
        )
    else:
        status.append(texts.HOME_QUOTA_UNKNOWN)
    path = facts.poll_path or {}
    if path.get("fallback"):
        status.append(
            texts.HOME_PATH_FALLBACK.format(
                since=slack_date(when_of(path.get("since"))),
                reason=escape(path.get("reason") or "?"),
                next_probe=slack_date(when_of(path.get("next_probe"))),
            )
        )
    elif path.get("path") == "fleet":
        status.append(texts.HOME_PATH_FLEET)
    elif path.get("path") == "vehicle":
        status.append(texts.HOME_PATH_VEHICLE)
    if facts.backlog:
        status.append(
            texts.HOME_BACKLOG.format(
                counts=", ".join(f"{n} {state}" for state, n in sorted(facts.backlog.items()))
            )
        )
    else:
        status.append(texts.HOME_BACKLOG_NONE)
    return status
