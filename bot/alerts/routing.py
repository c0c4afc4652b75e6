"""Which channels get an alert: routes (severity, types, vehicles), mutes, the fallback channel."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from bot.alerts.render import normalise_type, severity_rank
from bot.store import Ledger, Route, StoredAlert


class AlertRouter:
    """A snapshot of routes and mutes, taken once per batch so one batch routes consistently."""

    def __init__(
        self,
        routes: Sequence[Route],
        mutes: Mapping[str, dt.datetime],
        fallback_channel: str | None,
    ) -> None:
        self.routes = [r for r in routes if not r.parked]
        self.mutes = mutes
        self.fallback_channel = fallback_channel

    @classmethod
    def from_ledger(cls, ledger: Ledger, fallback_channel: str | None) -> AlertRouter:
        """Read the current routes and mutes."""
        return cls(ledger.routes(), ledger.mutes(), fallback_channel)

    def __call__(self, alert: StoredAlert) -> list[str]:
        """Channels for this alert: every matching route, else the fallback; none if muted."""
        if alert.vin in self.mutes:
            return []
        channels = [route.channel for route in self.routes if matches(route, alert)]
        if not channels and self.fallback_channel:
            channels = [self.fallback_channel]
        return list(dict.fromkeys(channels))


def matches(route: Route, alert: StoredAlert) -> bool:
    """Whether ``route`` takes ``alert`` (all given filters must hold)."""
    if severity_rank(alert.severity) < route.min_severity:
        return False
    if route.types and normalise_type(alert.type) not in {normalise_type(t) for t in route.types}:
        return False
    return not (route.vins and alert.vin not in route.vins)
