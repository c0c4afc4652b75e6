"""Pull source: ask the API for each vehicle's alerts changed since its cursor, within quota.

A cycle fetches with bounded concurrency through the one shared client (its limiter keeps us
under the burst limit), then records every alert and every moved cursor in one transaction.
The daily quota, not CPU, bounds polling: :class:`QuotaBudget` stretches the interval so a
day of cycles fits in the quota minus a reserve kept for people's slash commands.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from bot.errors import ApiError, CertificateError, NoData
from bot.psa.models import Alert
from bot.store import Ledger, StoredAlert
from bot.store.ledger import Router, iso, utcnow

log = logging.getLogger(__name__)

DAY = 86_400.0


class AlertSource(Protocol):
    """What the poller needs from the API client."""

    def alerts(self, vehicle_id: str, since: dt.datetime | None = None) -> Iterable[Alert]: ...


def to_stored(
    alert: Alert, *, vin: str | None = None, vehicle_id: str | None = None
) -> StoredAlert:
    """The ledger's view of an API alert (PascalCase type, raw body kept for rendering)."""
    return StoredAlert(
        id=alert.id,
        vehicle_id=alert.vehicle_id or vehicle_id,
        vin=alert.vin or vin or "",
        type=alert.type_key,
        severity=alert.severity,
        active=not alert.ended,
        started_at=alert.started_at or alert.created_at,
        end_at=alert.end_at,
        updated_at=alert.updated_at,
        payload=alert.raw,
    )


def oldest_open_alerts(open_alerts: Iterable[StoredAlert]) -> dict[str, dt.datetime]:
    """Vehicle id → start of its oldest alert we still believe open."""
    oldest: dict[str, dt.datetime] = {}
    for alert in open_alerts:
        if alert.vehicle_id and alert.started_at:
            known = oldest.get(alert.vehicle_id)
            oldest[alert.vehicle_id] = min(known, alert.started_at) if known else alert.started_at
    return oldest


def query_since(
    cursor: dt.datetime | None, oldest_open: dt.datetime | None, overlap: dt.timedelta
) -> dt.datetime | None:
    """Where a vehicle's alert query starts: None (everything) on its first poll.

    Otherwise the cursor minus an overlap, reaching back to the oldest alert we believe open:
    the spec does not say whether ``timestamps`` matches an alert's start or its whole life,
    and an end must be noticed either way.
    """
    if cursor is None:
        return None
    since = cursor - overlap
    return min(since, oldest_open) if oldest_open else since


@dataclasses.dataclass(frozen=True)
class QuotaBudget:
    """How often we may poll: never faster than configured, never past the daily quota."""

    interval: float = 60.0
    reserve: float = 0.10  # share of the daily quota kept for slash commands and push set-up
    push_interval: float = 900.0  # with push on, polling is only a safety net

    def effective_interval(
        self, calls_per_cycle: int, daily_limit: int | None, *, push_enabled: bool = False
    ) -> float:
        """Seconds between cycles so that a day of cycles fits the quota minus the reserve."""
        seconds = self.interval
        if daily_limit:
            budget = daily_limit * (1 - self.reserve)
            seconds = max(seconds, DAY * calls_per_cycle / budget)
        if push_enabled:
            seconds = max(seconds, self.push_interval)
        return seconds

    def can_afford(
        self, calls_per_cycle: int, daily_limit: int | None, remaining: int | None
    ) -> bool:
        """False when a cycle now would eat into the reserve (the window is sliding: wait)."""
        if not daily_limit or remaining is None:
            return True
        return remaining - calls_per_cycle >= daily_limit * self.reserve


@dataclasses.dataclass
class PollReport:
    """What one cycle did (printed by `fleetbot poll`, stored for App Home)."""

    vehicles: int = 0
    new_alerts: int = 0
    ended_alerts: int = 0
    queued: int = 0
    api_calls: int = 0
    errors: int = 0
    skipped: str | None = None
    quota_left: int | None = None
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for operators."""
        if self.skipped:
            return f"poll skipped: {self.skipped}"
        quota = "unknown" if self.quota_left is None else f"{self.quota_left:,}"
        return (
            f"polled {self.vehicles} vehicles in {self.seconds:.1f}s: "
            f"{self.new_alerts} new alerts, "
            f"{self.ended_alerts} ended, {self.queued} queued, {self.api_calls} API calls, "
            f"{self.errors} errors, quota left {quota}"
        )


class Poller:
    """One poll cycle over the fleet directory (see the module docstring)."""

    def __init__(
        self,
        api: Any,
        ledger: Ledger,
        *,
        router: Callable[[], Router],
        refresh_directory: Callable[[], object] | None = None,
        budget: QuotaBudget | None = None,
        workers: int = 10,
        overlap: dt.timedelta = dt.timedelta(minutes=10),
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.api = api
        self.ledger = ledger
        self.router = router
        self.refresh_directory = refresh_directory
        self.budget = budget or QuotaBudget()
        self.workers = workers
        self.overlap = overlap  # re-ask a little of the past: late-indexed changes are not missed
        self.clock = clock
        self._lock = threading.Lock()

    def poll_once(self, *, stop: threading.Event | None = None) -> PollReport:
        """Fetch, record and move cursors; never raises for a single vehicle's failure."""
        with self._lock:
            return self._poll()

    def _poll(self) -> PollReport:
        report = PollReport()
        vehicles = self.ledger.vehicles()
        if not vehicles and self.refresh_directory is not None:
            self.refresh_directory()
            vehicles = self.ledger.vehicles()
        quota = self.api.quota
        if not self.budget.can_afford(len(vehicles), quota.daily_limit, quota.daily_remaining):
            report.skipped = f"daily quota low ({quota.daily_remaining} left); waiting"
            log.warning("%s", report.skipped)
            return report
        cursors = self.ledger.cursors()
        oldest_open = oldest_open_alerts(self.ledger.open_alerts())
        calls_before = self.api.calls
        started = self.clock()

        def fetch(vehicle: Mapping[str, Any]) -> tuple[Mapping[str, Any], list[Alert] | None]:
            since = query_since(
                cursors.get(vehicle["id"]), oldest_open.get(vehicle["id"]), self.overlap
            )
            try:
                alerts = list(self.api.alerts(vehicle["id"], since=since))
            except NoData:
                alerts = []
            except CertificateError:
                raise
            except ApiError as exc:
                log.warning("alerts of %s not polled this cycle: %s", vehicle["vin"], exc)
                return vehicle, None
            return vehicle, alerts

        with ThreadPoolExecutor(self.workers, thread_name_prefix="poll") as pool:
            results = list(pool.map(fetch, vehicles))

        stored: list[StoredAlert] = []
        moved: dict[str, dt.datetime] = {}
        for vehicle, alerts in results:
            if alerts is None:
                report.errors += 1
                continue
            moved[vehicle["id"]] = started
            stored += [to_stored(a, vin=vehicle["vin"], vehicle_id=vehicle["id"]) for a in alerts]
        first_seen = {v["id"] for v in vehicles if v["id"] not in cursors}
        result = self.ledger.ingest(stored, self.router(), cursors=moved, baseline=first_seen)

        report.vehicles = len(vehicles)
        report.new_alerts, report.ended_alerts, report.queued = (
            result.new_alerts,
            result.ended_alerts,
            result.deliveries,
        )
        report.api_calls = self.api.calls - calls_before
        report.quota_left = self.api.quota.daily_remaining
        report.seconds = (self.clock() - started).total_seconds()
        self.ledger.set_state(
            "last_poll",
            {"at": iso(started), **dataclasses.asdict(report)},
        )
        log.info("%s", report.summary())
        return report
