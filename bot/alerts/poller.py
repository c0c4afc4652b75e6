"""Pull source: ask the API for each vehicle's alerts changed since its cursor, within quota.

A cycle fetches with bounded concurrency through the one shared client (its limiter keeps us
under the burst limit), then records every alert and every moved cursor in one transaction.
The daily quota, not CPU, bounds polling: :class:`QuotaBudget` stretches the interval so a
day of cycles fits in the quota minus a reserve kept for people's slash commands.

Odd input never stops a cycle: an unreadable record is skipped (and logged) by the client or
here, a vehicle whose answer cannot be read at all is that vehicle's error, and the others'
alerts and cursors are committed. A cycle can be stopped (shutdown) and has an overall
deadline and a page cap per vehicle; a vehicle not fully fetched keeps its cursor.

Where the API serves the fleet-wide alert collection (``FLEETBOT_POLL_BY=auto`` or ``fleet``),
one paged request covers every vehicle with a cursor (``timestamps`` from the oldest cursor minus
the overlap; open alerts it leaves out are asked for around their starts), and what it returns
is split per vehicle and ingested exactly as the
per-vehicle path would (vehicles seen for the first time are still fetched one by one, so the
first-start baseline is the same). Should the gateway refuse the collection, ``auto`` falls back
to per-vehicle calls, says so once, records it in the ledger state ``poll_path`` and asks again
a day later.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Literal, Protocol

from bot.errors import ApiError, CertificateError, FleetbotError, NoData
from bot.psa.client import Quota, refuses_route
from bot.psa.models import Alert, UnreadableRecord, finite_json
from bot.psa.quota import QuotaBudget
from bot.store import IngestResult, Ledger, StoredAlert
from bot.store.ledger import Router, from_iso, iso, utcnow

log = logging.getLogger(__name__)

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
FLEET_NOT_POLLED = "the fleet-wide alerts were not polled this cycle (cursors kept): %s"
FLEET_PAGE_CAP = "page cap of {pages} reached for the fleet-wide alerts (cursors kept)"
FELL_BACK = (
    "the API refuses the fleet-wide alert collection ({why}); polling vehicle by vehicle "
    "instead (one call per vehicle) and asking again at {at}"
)
STILL_REFUSED = "the API still refuses the fleet-wide alert collection (%s); asking again at %s"
FLEET_BACK = "the API serves the fleet-wide alert collection again: polling the fleet in one go"
FORCED_REFUSED = (
    "FLEETBOT_POLL_BY=fleet, but the API refuses the fleet-wide alert collection (%s): "
    "no alerts polled; set FLEETBOT_POLL_BY=auto or vehicle"
)
DIRECTORY_FAILED = "the directory refresh failed"
STRANGER = "alerts of vehicle %s (VIN %s) not stored: not in the fleet directory, even refreshed"

PollBy = Literal["auto", "fleet", "vehicle"]
POLL_PATH = "poll_path"  # ledger state key; shape in Poller.path_state()
PROBE_EVERY = dt.timedelta(days=1)
DEFAULT_FLEET_MAX_PAGES = 2_000  # 120,000 alerts: a leasing fleet's first start, not a runaway
MAX_WINDOWS = 10  # timestamps intervals per request (the gateway caps the repeated key)
DIRECTORY_PAGE = 60  # vehicles per page of the directory listing (the API's largest page)
EDGE = dt.timedelta(seconds=1)  # around an open alert's start, whatever the gateway rounds


class DirectoryRefresh(Protocol):
    """Lists the fleet into the ledger; ``each`` sees every vehicle as it is listed."""

    def __call__(self, each: Callable[[Mapping[str, Any]], object] | None = None) -> object: ...


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

    def fleet_alerts(
        self,
        windows: Sequence[tuple[dt.datetime | None, dt.datetime | None]] = (),
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


def reach_back(
    starts: Iterable[dt.datetime], limit: int = MAX_WINDOWS
) -> list[list[tuple[dt.datetime, dt.datetime | None]]]:
    """Short ``timestamps`` windows around each start, ``limit`` per request, oldest first.

    Under the "start" reading of ``timestamps`` a window around an open alert's start is what
    returns that alert (and its end); under the "whole life" reading a short window returns only
    the alerts alive at that instant, not the fleet's whole history since then.
    """
    windows: list[tuple[dt.datetime, dt.datetime | None]] = [
        (at - EDGE, at + EDGE) for at in sorted(set(starts))
    ]
    return [windows[i : i + limit] for i in range(0, len(windows), limit)]


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
    #: "fleet" (one collection for the fleet) or "vehicle" (one call per vehicle)
    path: str = "vehicle"
    #: API calls a full cycle on this path costs, from what this one spent (directory excluded)
    planned_calls: int | None = None

    def cycle_cost(self) -> int:
        """Calls to budget per cycle: what a cycle really spent, else one per vehicle."""
        if self.planned_calls is not None:
            return self.planned_calls
        return max(self.api_calls, self.vehicles)

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
        refresh_directory: DirectoryRefresh | None = None,
        budget: QuotaBudget | None = None,
        workers: int = 10,
        overlap: dt.timedelta = dt.timedelta(minutes=10),
        clock: Callable[[], dt.datetime] = utcnow,
        deadline: float | None = None,
        max_pages: int = DEFAULT_MAX_PAGES,
        poll_by: PollBy = "vehicle",
        fleet_max_pages: int = DEFAULT_FLEET_MAX_PAGES,
        probe_every: dt.timedelta = PROBE_EVERY,
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
        if poll_by not in ("auto", "fleet", "vehicle"):
            raise ValueError(f"poll_by must be 'auto', 'fleet' or 'vehicle', not {poll_by!r}")
        self.poll_by: PollBy = poll_by
        self.fleet_max_pages = fleet_max_pages
        self.probe_every = probe_every
        # auto mode after a refusal: why, since when, and when to ask the collection again
        self._refused: dict[str, Any] | None = self._restore_refusal()
        self._fleet_calls = 1  # what the last fleet-path cycle spent polling
        self._lock = threading.Lock()

    def poll_once(self, *, stop: threading.Event | None = None) -> PollReport:
        """Fetch, record and move cursors; never raises for a single vehicle's failure.

        Once ``stop`` is set (or the deadline passes) no new request starts: what was fetched
        is recorded, and vehicles not fully fetched keep their cursors.
        """
        with self._lock:
            return self._poll(stop or threading.Event())

    def path_state(self) -> dict[str, Any]:
        """The ledger state ``poll_path``, shown in ``/fleet status`` and App Home.

        ``{"mode": "auto"|"fleet"|"vehicle", "path": "fleet"|"vehicle", "fallback": bool,
        "reason": str|None, "since": ISO|None, "next_probe": ISO|None}``: ``path`` is how the
        next cycle polls; ``fallback`` is true while ``auto`` polls per vehicle because the API
        refuses the fleet collection (``reason`` in words, ``since`` when that began,
        ``next_probe`` when the collection is asked again).
        """
        refused = self._refused
        path = "vehicle" if self.poll_by == "vehicle" or refused else "fleet"
        return {
            "mode": self.poll_by,
            "path": path,
            "fallback": refused is not None,
            "reason": refused["reason"] if refused else None,
            "since": iso(refused["since"]) if refused else None,
            "next_probe": iso(refused["next_probe"]) if refused else None,
        }

    def _restore_refusal(self) -> dict[str, Any] | None:
        """A fallback recorded by an earlier process, so a restart does not probe at once."""
        if self.poll_by != "auto":
            return None
        saved = self.ledger.get_state(POLL_PATH)
        if not isinstance(saved, Mapping) or not saved.get("fallback"):
            return None
        since, probe = from_iso(saved.get("since")), from_iso(saved.get("next_probe"))
        if since is None or probe is None:
            return None
        return {"reason": str(saved.get("reason") or ""), "since": since, "next_probe": probe}

    def _fleet_due(self) -> bool:
        """Whether this cycle asks the fleet-wide collection (auto: unless refused, not yet due)."""
        if self.poll_by != "auto":
            return self.poll_by == "fleet"
        return self._refused is None or self.clock() >= self._refused["next_probe"]

    def _poll(self, stop: threading.Event) -> PollReport:
        report = PollReport()
        ends_at = time.monotonic() + self.deadline
        vehicles = self.ledger.vehicles()
        directory_calls = 0  # before the cycle's counter starts (first start)
        in_cycle = 0  # directory calls the cycle's counter also counts (made during it)
        by_fleet = self._fleet_due()
        # First start per vehicle: poll each vehicle as its directory page arrives.
        stream = not vehicles and self.refresh_directory is not None and not by_fleet
        if not vehicles and self.refresh_directory is not None and not stream:
            before = self.api.calls
            self.refresh_directory()
            directory_calls += self.api.calls - before
            vehicles = self.ledger.vehicles()
        cursors = self.ledger.cursors()
        planned = self._fleet_calls if by_fleet else len(vehicles)
        quota = self.api.quota
        if not self.budget.can_afford(planned, quota.daily_limit, quota.daily_remaining):
            report.skipped = f"daily quota low ({quota.daily_remaining} left); waiting"
            log.warning("%s", report.skipped)
            return report
        open_alerts = self.ledger.open_alerts()
        oldest_open = oldest_open_alerts(open_alerts)
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

        results: list[_Fetched] | None = None
        fleet_note: str | None = None
        if by_fleet:
            fleet = _FleetPass(self, vehicles, cursors, open_alerts, halt)
            results = fleet.run(fetch)
            in_cycle += fleet.directory_calls
            vehicles = fleet.vehicles
            fleet_note = fleet.note
            if results is None:
                self._fall_back(fleet.refusal or "")
            elif self._refused is not None:
                log.warning("%s", FLEET_BACK)
                self._refused = None
        if results is None and stream:
            report.path = "vehicle"
            vehicles, results, in_cycle = self._stream(fetch, halted)
        elif results is None:
            report.path = "vehicle"
            with ThreadPoolExecutor(self.workers, thread_name_prefix="poll") as pool:
                results = list(pool.map(fetch, vehicles))
        else:
            report.path = "fleet"

        first_seen = {r.vehicle["id"] for r in results if r.vehicle["id"] not in cursors}
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
        report.cut_short = (
            "; ".join(n for n in (fleet_note, self._cut_short(results, halted)) if n) or None
        )
        report.api_calls = self.api.calls - calls_before + directory_calls
        spent = max(report.api_calls - directory_calls - in_cycle, 1)
        if report.path == "fleet":
            report.planned_calls = spent
            if report.incomplete == 0:
                self._fleet_calls = spent
        else:
            # a cut-short cycle still plans for a full one
            report.planned_calls = max(spent, len(vehicles))
        report.quota_left = self.api.quota.daily_remaining
        report.seconds = (self.clock() - started).total_seconds()
        self.ledger.set_state(
            "last_poll",
            {"at": iso(started), **dataclasses.asdict(report)},
        )
        self.ledger.set_state(POLL_PATH, self.path_state())
        log.log(logging.WARNING if report.cut_short else logging.INFO, "%s", report.summary())
        return report

    def _stream(
        self, fetch: Callable[[Mapping[str, Any]], _Fetched], halted: list[str]
    ) -> tuple[list[dict[str, Any]], list[_Fetched], int]:
        """Refresh the directory while polling each vehicle as it is listed.

        Returns the vehicles, their parts and the directory's calls (pages of the listing:
        the client's counter also counts the alert calls running beside it). Should the
        listing fail, no new alert call starts and the error is the cycle's, as before.
        """
        assert self.refresh_directory is not None
        listed: list[dict[str, Any]] = []
        futures: list[Future[_Fetched]] = []
        with ThreadPoolExecutor(self.workers, thread_name_prefix="poll") as pool:

            def each(vehicle: Mapping[str, Any]) -> None:
                listed.append(dict(vehicle))
                futures.append(pool.submit(fetch, listed[-1]))

            try:
                self.refresh_directory(each=each)
            except BaseException:
                halted.append(DIRECTORY_FAILED)
                raise
        pages = max(1, -(-len(listed) // DIRECTORY_PAGE))
        return listed, [f.result() for f in futures], pages

    def _fall_back(self, reason: str) -> None:
        """Poll per vehicle until the next probe; said once in words, then only at probes."""
        now = self.clock()
        probe = now + self.probe_every
        if self._refused is None:
            log.warning("%s", FELL_BACK.format(why=reason, at=iso(probe)))
            self._refused = {"reason": reason, "since": now, "next_probe": probe}
        else:
            log.info(STILL_REFUSED, reason, iso(probe))
            self._refused = {**self._refused, "reason": reason, "next_probe": probe}

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


class _FleetPass:
    """One cycle's fleet-wide fetch, split per vehicle (see :meth:`run`)."""

    def __init__(
        self,
        poller: Poller,
        vehicles: list[dict[str, Any]],
        cursors: Mapping[str, dt.datetime],
        open_alerts: Iterable[StoredAlert],
        halt: Callable[[], bool],
    ) -> None:
        self.poller = poller
        self.vehicles = vehicles  # grows with vehicles found by a directory refresh
        self.cursors = cursors
        self.open_alerts = open_alerts
        self.halt = halt
        self.refusal: str | None = None  # the gateway refused the collection (auto: fall back)
        self.note: str | None = None  # a page cap, in words
        self.directory_calls = 0
        #: each covered vehicle's own window start, as its per-vehicle query would have it
        self.since_of: dict[str, dt.datetime | None] = {}

    def run(self, fetch: Callable[[Mapping[str, Any]], _Fetched]) -> list[_Fetched] | None:
        """Each vehicle's part of the cycle; None when ``auto`` must fall back to per vehicle.

        Vehicles with a cursor are covered by the collection. On first start (no cursor at
        all) the collection's whole history replaces one call per vehicle; a vehicle new to an
        already polled fleet is fetched on its own, as the per-vehicle path would.
        """
        if not self.vehicles:
            return []
        covered = [v for v in self.vehicles if v["id"] in self.cursors]
        since: dt.datetime | None = None
        if covered:
            solo = [v for v in self.vehicles if v["id"] not in self.cursors]
            since = min(self.cursors[v["id"]] for v in covered) - self.poller.overlap
        else:
            covered, solo = self.vehicles, []
        parts = {v["id"]: _Fetched(v) for v in covered}
        if since is not None:
            oldest = oldest_open_alerts(self.open_alerts)
            self.since_of = {
                vid: query_since(self.cursors[vid], oldest.get(vid), self.poller.overlap)
                for vid in parts
            }
        strangers = self._collect(parts, since)
        if strangers is None:
            return None
        solo += self._discovered(strangers, parts)
        results = list(parts.values())
        if solo:
            with ThreadPoolExecutor(self.poller.workers, thread_name_prefix="poll") as pool:
                results += pool.map(fetch, solo)
        return results

    def _collect(self, parts: dict[str, _Fetched], since: dt.datetime | None) -> list[Alert] | None:
        """Fetch the collection into ``parts``; alerts of unknown vehicles are returned.

        First ``since/`` (everything when None). Open alerts started before ``since`` that the
        answer left out (the gateway matches starts, not lives) are then asked for by small
        windows around their starts, so their ends are seen as the per-vehicle path sees them.
        """
        poller = self.poller
        by_id = {v["id"]: v for v in self.vehicles}
        by_vin = {v["vin"]: v for v in self.vehicles}
        strangers: list[Alert] = []
        seen: set[str] = set()
        cut = failed = False

        def more_pages(pages: int) -> bool:
            nonlocal cut
            if self.halt():
                cut = True
            elif pages >= poller.fleet_max_pages:
                cut = True
                self.note = FLEET_PAGE_CAP.format(pages=poller.fleet_max_pages)
            return not cut

        def ask(windows: Sequence[tuple[dt.datetime | None, dt.datetime | None]]) -> None:
            for alert in poller.api.fleet_alerts(windows, more_pages=more_pages):
                seen.add(alert.id)
                vehicle = by_id.get(alert.vehicle_id or "") or by_vin.get(alert.vin or "")
                if vehicle is None:
                    strangers.append(alert)
                    continue
                part = parts.get(vehicle["id"])
                if part is not None and _in_window(alert, self.since_of.get(part.vehicle["id"])):
                    _add(part, alert)  # (a vehicle fetched on its own has no part here)

        if self.halt():
            return []
        try:
            ask([(since, None)] if since is not None else [])
            if since is not None:
                missed = [
                    a.started_at
                    for a in self.open_alerts
                    if a.started_at
                    and a.started_at < since
                    and a.vehicle_id in parts
                    and a.id not in seen
                ]
                for windows in reach_back(missed):
                    if cut or self.halt():
                        cut = True
                        break
                    ask(windows)
        except CertificateError:
            raise
        except ApiError as exc:
            failed = True
            if refuses_route(exc):
                reason = f"HTTP {exc.status}: {exc.message}"
                if poller.poll_by == "auto":
                    self.refusal = reason
                    return None
                log.warning(FORCED_REFUSED, reason)
            else:
                log.warning(FLEET_NOT_POLLED, exc)
        except Exception as exc:  # odd data found a bug: this cycle's fleet fetch only
            log.warning(FLEET_NOT_POLLED, type(exc).__name__, exc_info=True)
            failed = True
        for part in parts.values():
            part.failed = failed
            part.complete = not (cut or failed)
        return strangers

    def _discovered(
        self, strangers: list[Alert], parts: dict[str, _Fetched]
    ) -> list[dict[str, Any]]:
        """Vehicles a directory refresh found for alerts of unknown vehicles (polled on their own).

        Their alerts from the collection are left out: the vehicle's own first poll fetches
        everything, as the per-vehicle path would for a vehicle new to the directory.
        """
        if not strangers:
            return []
        refresh = self.poller.refresh_directory
        if refresh is not None:
            before = self.poller.api.calls
            refresh()
            self.directory_calls += self.poller.api.calls - before
        fresh = self.poller.ledger.vehicles()
        by_id = {v["id"]: v for v in fresh}
        by_vin = {v["vin"]: v for v in fresh}
        found: dict[str, dict[str, Any]] = {}
        missing: set[tuple[str, str]] = set()
        for alert in strangers:
            vehicle = by_id.get(alert.vehicle_id or "") or by_vin.get(alert.vin or "")
            if vehicle is None:
                missing.add((alert.vehicle_id or "-", alert.vin or "-"))
            elif vehicle["id"] not in parts:
                found[vehicle["id"]] = vehicle
        for vid, vin in sorted(missing):
            log.warning(STRANGER, vid, vin)
        self.vehicles = [*self.vehicles, *found.values()]
        return list(found.values())


def _in_window(alert: Alert, since: dt.datetime | None) -> bool:
    """Whether the vehicle's own query (``since/``) returns ``alert`` under either reading.

    A reach-back window around one vehicle's open alert also returns other vehicles' alerts
    alive then; those lie outside their own vehicle's window, may have been pruned from the
    ledger already, and must not come back as new.
    """
    if since is None or not alert.ended:
        return True
    return any(at is not None and at >= since for at in (alert.end_at, alert.started_at))


def _add(part: _Fetched, alert: Alert) -> None:
    """Add one alert of the collection to its vehicle's part, as the per-vehicle path would."""
    vid, vin = part.vehicle["id"], part.vehicle["vin"]
    try:
        if alert.vehicle_id != vid:
            alert = dataclasses.replace(alert, vehicle_id=vid)
        part.alerts.append(to_stored(alert, vin=vin, vehicle_id=vid))
    except ValueError as exc:
        part.unreadable += 1
        log.warning(SKIPPED, vid, vin, exc)
