"""Scheduled work (APScheduler 3.x): poll, deliver, refresh the directory, check certs, prune.

Job bodies are plain callables tested without the scheduler. Exactly one process schedules
per database file: it holds an exclusive ``flock`` on ``<db>.scheduler.lock``, which the
kernel releases when the process dies (kill -9 included). A process that finds the lock taken
waits as a standby (:class:`ScheduleKeeper`) and takes over when the holder goes away.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import functools
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from bot.alerts.delivery import DeliveryService
from bot.alerts.poller import Poller, PollReport
from bot.psa.quota import QuotaBudget
from bot.store import Ledger
from bot.store.ledger import iso, utcnow

log = logging.getLogger(__name__)

LOCK_RETRY_SECONDS = 5.0  # a standby takes over within this (plus a poll) of the holder dying
PROC_LOCKS = Path("/proc/locks")
CERT_WARNING_DAYS = (30, 14, 7, 1)
CERT_NOTICE = (
    ":warning: Fleetbot's client certificate for the Connected Car API expires {when} "
    "({days} days left). Ask Stellantis to sign a new CSR and update PSA_CERT_FILE before then."
)


class SchedulerLock:
    """An exclusive, crash-safe lock: one scheduler per database file."""

    def __init__(self, db_path: Path) -> None:
        self.path = Path(f"{db_path}.scheduler.lock")
        self._file: IO[str] | None = None

    def acquire(self) -> bool:
        """True if this process now schedules; False if another one does."""
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle
        return True

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._file is not None

    def release(self) -> None:
        """Let another process schedule."""
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def holder_present(self) -> bool:
        """True while some process (this one included) holds the lock; never takes it."""
        if self.held:
            return True
        try:
            stat = self.path.stat()
            recorded = self.path.read_text().strip()
        except FileNotFoundError:
            return False
        try:
            table = PROC_LOCKS.read_text()
        except OSError:  # no /proc (not Linux): a shared probe, released at once
            return self._probe_shared()
        device = f"{os.major(stat.st_dev):02x}:{os.minor(stat.st_dev):02x}:{stat.st_ino}"
        for line in table.splitlines():
            fields = line.split()
            if "->" in fields or len(fields) < 6 or fields[1] != "FLOCK":
                continue  # "->" marks a process blocked waiting for a lock, not a holder
            pid, where = fields[4], fields[5]
            # Matching the pid recorded in the file too covers filesystems whose device
            # numbers /proc/locks and stat() report differently (overlay mounts).
            if where == device or (where.endswith(f":{stat.st_ino}") and pid == recorded):
                return True
        return False

    def _probe_shared(self) -> bool:
        with self.path.open("a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False


@dataclasses.dataclass
class PollJob:
    """Poll when due (the quota may stretch the interval), then deliver."""

    poller: Poller
    delivery: DeliveryService
    ledger: Ledger
    budget: QuotaBudget
    push_enabled: Callable[[], bool]
    clock: Callable[[], dt.datetime] = utcnow
    stop: threading.Event | None = None
    next_due: dt.datetime | None = None
    interval: float | None = None

    def __call__(self) -> PollReport | None:
        """Run a cycle if due; returns its report, or None when not due yet or stopping."""
        now = self.clock()
        if (self.next_due and now < self.next_due) or self._stopping():
            return None
        report = self.poller.poll_once(stop=self.stop)
        if is_good_poll(report):
            self.ledger.set_state(LAST_GOOD_POLL, iso(now))
        if self._stopping():
            return report  # rows stay pending for the next process; the cursor is committed
        self.delivery.run_once(stop=self.stop)
        quota = self.poller.api.quota
        interval = self.budget.effective_interval(
            report.cycle_cost(),  # calls the cycle really spent (pages on the fleet path)
            quota.daily_limit,
            push_enabled=self.push_enabled(),
        )
        if interval != self.interval:
            log.info(
                "polling every %.0f s (configured %.0f s, daily quota %s, push %s)",
                interval,
                self.budget.interval,
                quota.daily_limit,
                "on" if self.push_enabled() else "off",
            )
            self.interval = interval
        self.next_due = now + dt.timedelta(seconds=interval)
        self.ledger.set_state("next_poll", iso(self.next_due))
        self.ledger.set_state(
            "quota",
            {
                "daily_limit": quota.daily_limit,
                "daily_remaining": quota.daily_remaining,
                "burst_limit": quota.burst_limit,
                "interval": interval,
            },
        )
        return report

    def _stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()


LAST_GOOD_POLL = "last_good_poll"  # state key: when the last poll that reached the API started


def is_good_poll(report: PollReport) -> bool:
    """A poll counts as good when it ran and at least one vehicle answered (or none exist)."""
    return report.skipped is None and (report.vehicles == 0 or report.errors < report.vehicles)


@dataclasses.dataclass
class CertificateJob:
    """Warn the fallback channel at 30/14/7/1 days before the client certificate expires."""

    expiry: Callable[[], dt.datetime]
    ledger: Ledger
    notify: Callable[[str], None]
    clock: Callable[[], dt.datetime] = utcnow

    def __call__(self) -> int | None:
        """Returns the days left when a warning was sent, else None."""
        expires = self.expiry()
        days = (expires - self.clock()).days
        for threshold in CERT_WARNING_DAYS:
            if days <= threshold and self.ledger.first_time(f"cert:{expires.date()}:{threshold}"):
                self.notify(CERT_NOTICE.format(when=expires.date().isoformat(), days=days))
                return days
        return None


def build_scheduler(
    jobs: dict[str, tuple[Callable[[], Any], float]],
) -> BackgroundScheduler:
    """A scheduler running each job every N seconds (id → (callable, seconds)).

    ``coalesce`` and ``max_instances=1``: a slow poll never stacks up behind itself.
    """
    scheduler = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=4)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
        timezone=dt.UTC,
    )
    for job_id, (func, seconds) in jobs.items():
        scheduler.add_job(
            func,
            "interval",
            seconds=seconds,
            id=job_id,
            name=job_id,
            next_run_time=dt.datetime.now(dt.UTC),
            replace_existing=True,
        )
    scheduler.add_listener(_job_failed, EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    return scheduler


class ScheduleKeeper:
    """Runs the scheduler while holding the lock, or waits as a standby and takes over.

    ``start()`` tries the lock once; if another process holds it, a standby thread retries
    every ``retry`` seconds until it wins or ``stop`` is set. ``close()`` stops both within a
    deadline and releases the lock only when no job of ours is still running.
    """

    def __init__(
        self,
        lock: SchedulerLock,
        jobs: Callable[[], dict[str, tuple[Callable[[], Any], float]]],
        *,
        stop: threading.Event,
        retry: float = LOCK_RETRY_SECONDS,
    ) -> None:
        self.lock = lock
        self.jobs = jobs
        self.stop = stop
        self.retry = retry
        self.scheduler: BackgroundScheduler | None = None
        self._mutex = threading.Lock()
        self._running = 0
        self._idle = threading.Condition()
        self._standby: threading.Thread | None = None

    @property
    def scheduling(self) -> bool:
        """True once this process runs the scheduler."""
        return self.scheduler is not None

    def start(self) -> bool:
        """Schedule now if the lock is free (True), else wait as a standby (False)."""
        if self._take_over():
            return True
        if self._standby is None:
            log.warning(
                "another fleetbot schedules for this database: standing by, retrying every %.0f s",
                self.retry,
            )
            self._standby = threading.Thread(
                target=self._stand_by, name="fleetbot-standby", daemon=True
            )
            self._standby.start()
        return False

    def _stand_by(self) -> None:
        while not self.stop.wait(self.retry):
            if self._take_over():
                log.warning("the scheduling fleetbot is gone: this one schedules now")
                return

    def _take_over(self) -> bool:
        with self._mutex:
            if self.scheduler is not None:
                return True
            if self.stop.is_set() or not self.lock.acquire():
                return False
            scheduler = build_scheduler(
                {
                    job_id: (self._tracked(func), secs)
                    for job_id, (func, secs) in self.jobs().items()
                }
            )
            # known as scheduling before the first job can run (jobs start due at once)
            self.scheduler = scheduler
            try:
                scheduler.start()
            except BaseException:
                self.scheduler = None
                self.lock.release()
                raise
            return True

    def _tracked(self, func: Callable[[], Any]) -> Callable[[], Any]:
        @functools.wraps(func)
        def run() -> Any:
            with self._idle:
                if self.stop.is_set():
                    return None  # queued before the stop: do not start new work
                self._running += 1
            try:
                return func()
            finally:
                with self._idle:
                    self._running -= 1
                    self._idle.notify_all()

        return run

    def wake(self, job_id: str) -> None:
        """Run a job now (when this process schedules)."""
        scheduler = self.scheduler
        if scheduler is not None and not self.stop.is_set():
            scheduler.modify_job(job_id, next_run_time=dt.datetime.now(dt.UTC))

    def close(self, timeout: float) -> bool:
        """Stop scheduling; True when every job finished within ``timeout`` and the lock is free.

        On False a job is still running: the lock stays held (so no other process starts
        delivering beside it) until this process exits.
        """
        self.stop.set()
        if self._standby is not None:
            self._standby.join(timeout)
        with self._mutex:
            scheduler, self.scheduler = self.scheduler, None
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        with self._idle:
            finished = self._idle.wait_for(lambda: self._running == 0, timeout)
        if finished:
            self.lock.release()
        return finished


def _job_failed(event: JobExecutionEvent) -> None:
    if event.exception is not None:
        log.error("scheduled job %s failed: %s", event.job_id, event.exception)
    else:
        log.warning("scheduled job %s missed its run time", event.job_id)
