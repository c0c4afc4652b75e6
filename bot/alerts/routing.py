"""Which channels get an alert: routes (severity, types, vehicles), mutes, the fallback channel.

A mute never drops an alert: it holds it. The router sends a muted alert to the same channels
as any other, as :class:`Destination` rows held by the mute (the one ending last, so the hold
lasts while any mute covers it); delivery releases them when the mute ends or is lifted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.messages.alert_text import normalise_type, severity_rank
from bot.store import Destination, Ledger, Mute, Route, StoredAlert

#: severity_rank of Critical: held only by a mute given `all` (or the per-type Mute button)
CRITICAL_RANK = 2


class AlertRouter:
    """A snapshot of routes and mutes, taken once per batch so one batch routes consistently."""

    def __init__(
        self,
        routes: Sequence[Route],
        mutes: Iterable[Mute],
        fallback_channel: str | None,
    ) -> None:
        self.routes = [r for r in routes if not r.parked]
        self.mutes = list(mutes)
        self.fallback_channel = fallback_channel

    @classmethod
    def from_ledger(cls, ledger: Ledger, fallback_channel: str | None) -> AlertRouter:
        """Read the current routes and mutes."""
        return cls(ledger.routes(), ledger.mutes(), fallback_channel)

    def __call__(self, alert: StoredAlert) -> list[Destination]:
        """Every matching route, else the fallback; held by a mute when one covers the alert."""
        channels = [route.channel for route in self.routes if matches(route, alert)]
        if not channels and self.fallback_channel:
            channels = [self.fallback_channel]
        mute = covering_mute(alert, self.mutes)
        held_by = mute.id if mute else None
        return [Destination(channel, held_by) for channel in dict.fromkeys(channels)]


def matches(route: Route, alert: StoredAlert) -> bool:
    """Whether ``route`` takes ``alert`` (all given filters must hold)."""
    if severity_rank(alert.severity) < route.min_severity:
        return False
    if route.types and normalise_type(alert.type) not in {normalise_type(t) for t in route.types}:
        return False
    return not (route.vins and alert.vin not in route.vins)


def covers(mute: Mute, alert: StoredAlert) -> bool:
    """Whether ``mute`` holds ``alert`` back (Critical only with ``include_critical``)."""
    if mute.vin != alert.vin:
        return False
    if mute.types and normalise_type(alert.type) not in {normalise_type(t) for t in mute.types}:
        return False
    return mute.include_critical or severity_rank(alert.severity) < CRITICAL_RANK


def covering_mute(alert: StoredAlert, mutes: Iterable[Mute]) -> Mute | None:
    """The mute in force that holds ``alert`` longest, or None."""
    return max((m for m in mutes if covers(m, alert)), key=lambda m: m.until, default=None)
