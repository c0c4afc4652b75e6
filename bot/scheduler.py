"""Scheduled work (APScheduler 3.x): poll, deliver, refresh the directory, check certs, prune.

Job bodies are plain callables tested without the scheduler. Exactly one process schedules
per database file: it holds an exclusive ``flock`` on ``<db>.scheduler.lock``, which the
kernel releases when the process dies (kill -9 included), so a restart can take over.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from bot.alerts.delivery import DeliveryService
from bot.alerts.poller import Poller, PollReport, QuotaBudget
from bot.store import Ledger
from bot.store.ledger import iso, utcnow

log = logging.getLogger(__name__)

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

    def release(self) -> None:
        """Let another process schedule."""
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


@dataclasses.dataclass
class PollJob:
    """Poll when due (the quota may stretch the interval), then deliver."""

    poller: Poller
    delivery: DeliveryService
    ledger: Ledger
    budget: QuotaBudget
    push_enabled: Callable[[], bool]
    clock: Callable[[], dt.datetime] = utcnow
    next_due: dt.datetime | None = None
    interval: float | None = None

    def __call__(self) -> PollReport | None:
        """Run a cycle if due; returns its report, or None when not due yet."""
        now = self.clock()
        if self.next_due and now < self.next_due:
            return None
        report = self.poller.poll_once()
        self.delivery.run_once()
        quota = self.poller.api.quota
        interval = self.budget.effective_interval(
            max(report.api_calls, report.vehicles),
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


def _job_failed(event: JobExecutionEvent) -> None:
    if event.exception is not None:
        log.error("scheduled job %s failed: %s", event.job_id, event.exception)
    else:
        log.warning("scheduled job %s missed its run time", event.job_id)
