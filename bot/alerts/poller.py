"""Pull source: ask the API for each vehicle's alerts changed since its cursor, within quota.

A cycle fetches with bounded concurrency through the one shared client (its limiter keeps us
under the burst limit), then records every alert and every moved cursor in one transaction.
The daily quota, not CPU, bounds polling: :class:`QuotaBudget` stretches the interval so a
day of cycles fits in the quota minus a reserve kept for people's slash commands.

Odd input never stops a cycle: an unreadable record is skipped (and logged) by the client or
here, a vehicle whose answer cannot be read at all is that vehicle's error, and the others'
alerts and cursors are committed. A cycle can be stopped (shutdown) and has an overall
deadline and a page cap per vehicle; a vehicle not fully fetched keeps its cursor.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from bot.errors import ApiError, CertificateError, FleetbotError, NoData
from bot.psa.client import Quota
from bot.psa.models import Alert, UnreadableRecord, finite_json
from bot.store import IngestResult, Ledger, StoredAlert
from bot.store.ledger import Router, iso, utcnow

log = logging.getLogger(__name__)

DAY = 86_400.0
DEFAULT_DEADLINE = 300.0  # seconds; at least 3 intervals (see Poller)
DEFAULT_MAX_PAGES = 50  # 3,000 alerts of one vehicle in one cycle is already a runaway

NOT_POLLED = "alerts of %s not polled this cycle: %s"
UNEXPECTED = "alerts of %s not polled this cycle: unreadable answer (%s)"
SKIPPED = "skipped an unreadable alert of vehicle %s (VIN %s): %s"
ISOLATING = "storing this cycle's alerts failed (%s); storing vehicle by vehicle"
NOT_STORED = "alerts of %s not stored this cycle (its cursor stays): %s"
STOPPED = "stopped by shutdown"
DEADLINE = "deadline of {seconds:.0f}s reached"
PAGE_CAP = "page cap of {pages} reached for {vins} (cursors kept; the rest next cycle)"
CUT_SHORT = "{why}: {n} of {total} vehicles not fully polled (their cursors kept)"


class AlertSource(Protocol):
    """What the poller needs from the API client."""

    @property
    def quota(self) -> Quota: ...

    @property
    def calls(self) -> int: ...

    def alerts(
        self,
        vehicle_id: str,
        since: dt.datetime | None = None,
        *,
        more_pages: Callable[[int], bool] | None = None,
    ) -> Iterable[Alert]: ...


def to_stored(
    alert: Alert, *, vin: str | None = None, vehicle_id: str | None = None
) -> StoredAlert:
    """The ledger's view of an API alert (PascalCase type, raw body kept for rendering).

    UnreadableRecord when the alert has no id or its body cannot be kept as strict JSON.
    """
    if not alert.id:
        raise UnreadableRecord("alert without a usable id")
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
        payload=finite_json(alert.raw),
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
    #: records that could not be read and were left out (each one logged with its vehicle)
    unreadable: int = 0
    #: vehicles whose alerts were not fully fetched (stop, deadline or page cap): cursors kept
    incomplete: int = 0
    #: why the cycle was cut short, in words (None when it ran to the end)
    cut_short: str | None = None

    def summary(self) -> str:
        """One line for operators."""
        if self.skipped:
            return f"poll skipped: {self.skipped}"
        quota = "unknown" if self.quota_left is None else f"{self.quota_left:,}"
        line = (
            f"polled {self.vehicles} vehicles in {self.seconds:.1f}s: "
            f"{self.new_alerts} new alerts, "
            f"{self.ended_alerts} ended, {self.queued} queued, {self.api_calls} API calls, "
            f"{self.errors} errors, quota left {quota}"
        )
        if self.unreadable:
            line += f"; {self.unreadable} unreadable records skipped"
        if self.cut_short:
            line += f"; {self.cut_short}"
        return line


@dataclasses.dataclass
class _Fetched:
    """One vehicle's part of a cycle."""

    vehicle: Mapping[str, Any]
    alerts: list[StoredAlert] = dataclasses.field(default_factory=list)
    complete: bool = False  # every page was read: its cursor may move
    failed: bool = False
    capped: bool = False
    unreadable: int = 0


class Poller:
    """One poll cycle over the fleet directory (see the module docstring)."""

    def __init__(
        self,
        api: AlertSource,
        ledger: Ledger,
        *,
        router: Callable[[], Router],
        refresh_directory: Callable[[], object] | None = None,
        budget: QuotaBudget | None = None,
        workers: int = 10,
        overlap: dt.timedelta = dt.timedelta(minutes=10),
        clock: Callable[[], dt.datetime] = utcnow,
        deadline: float | None = None,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> None:
        self.api = api
        self.ledger = ledger
        self.router = router
        self.refresh_directory = refresh_directory
        self.budget = budget or QuotaBudget()
        self.workers = workers
        self.overlap = overlap  # re-ask a little of the past: late-indexed changes are not missed
        self.clock = clock
        # wall time (monotonic, whatever ``clock`` says) one cycle may take before it stops
        self.deadline = (
            deadline if deadline is not None else max(3 * self.budget.interval, DEFAULT_DEADLINE)
        )
        self.max_pages = max_pages  # per vehicle and cycle: a runaway paging cannot pin a worker
        self._lock = threading.Lock()

    def poll_once(self, *, stop: threading.Event | None = None) -> PollReport:
        """Fetch, record and move cursors; never raises for a single vehicle's failure.

        Once ``stop`` is set (or the deadline passes) no new request starts: what was fetched
        is recorded, and vehicles not fully fetched keep their cursors.
        """
        with self._lock:
            return self._poll(stop or threading.Event())

    def _poll(self, stop: threading.Event) -> PollReport:
        report = PollReport()
        ends_at = time.monotonic() + self.deadline
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
        skipped_before = getattr(self.api, "skipped", 0)
        started = self.clock()
        halted: list[str] = []  # why no new request may start (first reason wins)

        def halt() -> bool:
            if not halted:
                if stop.is_set():
                    halted.append(STOPPED)
                elif time.monotonic() >= ends_at:
                    halted.append(DEADLINE.format(seconds=self.deadline))
            return bool(halted)

        def fetch(vehicle: Mapping[str, Any]) -> _Fetched:
            if halt():
                return _Fetched(vehicle)
            return self._fetch(vehicle, cursors, oldest_open, halt)

        with ThreadPoolExecutor(self.workers, thread_name_prefix="poll") as pool:
            results = list(pool.map(fetch, vehicles))

        first_seen = {v["id"] for v in vehicles if v["id"] not in cursors}
        result = self._ingest(results, first_seen, started, report)

        report.vehicles = len(vehicles)
        report.new_alerts, report.ended_alerts, report.queued = (
            result.new_alerts,
            result.ended_alerts,
            result.deliveries,
        )
        report.errors += sum(r.failed for r in results)
        report.incomplete = sum(not r.complete and not r.failed for r in results)
        report.unreadable = sum(r.unreadable for r in results) + max(
            0, getattr(self.api, "skipped", 0) - skipped_before
        )
        report.cut_short = self._cut_short(results, halted)
        report.api_calls = self.api.calls - calls_before
        report.quota_left = self.api.quota.daily_remaining
        report.seconds = (self.clock() - started).total_seconds()
        self.ledger.set_state(
            "last_poll",
            {"at": iso(started), **dataclasses.asdict(report)},
        )
        log.log(logging.WARNING if report.cut_short else logging.INFO, "%s", report.summary())
        return report

    def _fetch(
        self,
        vehicle: Mapping[str, Any],
        cursors: Mapping[str, dt.datetime],
        oldest_open: Mapping[str, dt.datetime],
        halt: Callable[[], bool],
    ) -> _Fetched:
        """One vehicle's alerts; any failure is this vehicle's, never the cycle's."""
        fetched = _Fetched(vehicle)
        cut = False

        def more_pages(pages: int) -> bool:
            nonlocal cut
            if halt():
                cut = True
            elif pages >= self.max_pages:
                cut = fetched.capped = True
            return not cut

        vid, vin = vehicle["id"], vehicle["vin"]
        since = query_since(cursors.get(vid), oldest_open.get(vid), self.overlap)
        try:
            for alert in self.api.alerts(vid, since=since, more_pages=more_pages):
                try:
                    fetched.alerts.append(to_stored(alert, vin=vin, vehicle_id=vid))
                except ValueError as exc:
                    fetched.unreadable += 1
                    log.warning(SKIPPED, vid, vin, exc)
        except NoData:
            pass
        except CertificateError:
            raise  # not this vehicle's problem: reported by the caller
        except ApiError as exc:
            log.warning(NOT_POLLED, vin, exc)
            fetched.failed = True
        except Exception as exc:  # odd data found a bug: this vehicle's failure only
            log.warning(UNEXPECTED, vin, type(exc).__name__, exc_info=True)
            fetched.failed = True
        fetched.complete = not (cut or fetched.failed)
        return fetched

    def _ingest(
        self,
        results: list[_Fetched],
        first_seen: set[str],
        started: dt.datetime,
        report: PollReport,
    ) -> IngestResult:
        """Record every fetched alert and move complete vehicles' cursors, in one transaction.

        Should the batch fail on something in the data (not the database), each vehicle is
        stored on its own, so one vehicle's odd alert cannot hold back the others.
        """
        router = self.router()
        parts = [r for r in results if r.alerts or r.complete]
        try:
            return self.ledger.ingest(
                [a for r in parts for a in r.alerts],
                router,
                cursors={r.vehicle["id"]: started for r in parts if r.complete},
                baseline=first_seen,
            )
        except (FleetbotError, sqlite3.OperationalError):
            raise  # the database itself: nothing was committed, the next cycle retries
        except Exception as exc:
            log.warning(ISOLATING, type(exc).__name__)
        new = ended = queued = 0
        for part in parts:
            try:
                one = self.ledger.ingest(
                    part.alerts,
                    router,
                    cursors={part.vehicle["id"]: started} if part.complete else {},
                    baseline=first_seen,
                )
            except (FleetbotError, sqlite3.OperationalError):
                raise
            except Exception as exc:
                log.warning(NOT_STORED, part.vehicle["vin"], type(exc).__name__)
                part.failed, part.complete = True, False
                continue
            new, ended, queued = (
                new + one.new_alerts,
                ended + one.ended_alerts,
                queued + one.deliveries,
            )
        return IngestResult(new, ended, queued)

    def _cut_short(self, results: list[_Fetched], halted: list[str]) -> str | None:
        """Why some vehicles were not fully polled, in words (None when all were)."""
        notes = []
        if halted:
            missing = sum(not r.complete and not r.failed and not r.capped for r in results)
            notes.append(CUT_SHORT.format(why=halted[0], n=missing, total=len(results)))
        capped = [str(r.vehicle["vin"]) for r in results if r.capped]
        if capped:
            shown = ", ".join(capped[:5]) + (
                f" and {len(capped) - 5} more" if len(capped) > 5 else ""
            )
            notes.append(PAGE_CAP.format(pages=self.max_pages, vins=shown))
        return "; ".join(notes) or None
