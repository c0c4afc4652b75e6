"""What the ledger hands out: frozen records, the router's answer, and UTC time as text."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    """Now, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


def iso(moment: dt.datetime | None) -> str | None:
    """A UTC ISO-8601 string for the database (sortable as text)."""
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds")


def from_iso(text: str | None) -> dt.datetime | None:
    """Parse what :func:`iso` wrote."""
    return dt.datetime.fromisoformat(text) if text else None


@dataclasses.dataclass(frozen=True)
class StoredAlert:
    """An alert as the ledger keeps it (independent of the API client's models)."""

    id: str
    vehicle_id: str | None
    vin: str
    type: str
    severity: str | None
    active: bool
    started_at: dt.datetime | None = None
    end_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    payload: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def ended(self) -> bool:
        """True once the API says the alert is over."""
        return not self.active or self.end_at is not None


@dataclasses.dataclass(frozen=True)
class Delivery:
    """One alert to post (or posted) in one channel."""

    id: int
    alert: StoredAlert
    channel: str
    state: str
    attempts: int
    slack_ts: str | None
    digest: bool
    update_pending: bool
    acked_by: str | None
    acked_at: dt.datetime | None
    batch: str | None
    last_error: str | None
    created_at: dt.datetime
    held_by_mute: bool = False  # a mute held it back; its message says so
    strikes: int = 0  # unrecognised Slack errors so far
    update_attempts: int = 0  # failed in-place edits so far


@dataclasses.dataclass(frozen=True)
class Destination:
    """Where a router sends an alert: a channel, held back by mute ``held_by`` when given."""

    channel: str
    held_by: int | None = None


@dataclasses.dataclass(frozen=True)
class Mute:
    """Hold back a vehicle's alerts (only ``types``, when given) until ``until``."""

    id: int
    vin: str
    until: dt.datetime
    types: tuple[str, ...] | None  # None: every type
    include_critical: bool  # `all` given, or the per-type Mute button
    muted_by: str | None
    muted_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class Route:
    """Alerts matching these filters go to ``channel``."""

    id: int
    channel: str
    min_severity: int
    types: tuple[str, ...] | None
    vins: tuple[str, ...] | None
    created_by: str | None
    parked_reason: str | None = None
    escalate_every: dt.timedelta | None = None  # remind this often while nobody acknowledges
    escalate_to: str | None = None  # the mention reminders carry (None: `<!here>`)

    @property
    def parked(self) -> bool:
        """A parked route gets nothing until an admin re-subscribes the channel."""
        return self.parked_reason is not None


@dataclasses.dataclass(frozen=True)
class IngestResult:
    """What one call to :meth:`Ledger.ingest` changed."""

    new_alerts: int = 0
    ended_alerts: int = 0
    deliveries: int = 0
    held: int = 0
    stale: int = 0


@dataclasses.dataclass(frozen=True)
class Release:
    """What :meth:`Ledger.release_held` did."""

    posted: int = 0
    closed: int = 0
    still_held: int = 0


Router = Callable[[StoredAlert], Sequence["str | Destination"]]
