"""Daily report schedules: one APScheduler cron job per channel, in FLEETBOT_TIMEZONE.

The ledger's ``report_schedules`` is the truth; :meth:`ReportSchedules.sync` makes a running
scheduler's ``report:<channel>`` jobs match it (at start, when a schedule changes, and every
minute, so a change made through a standby process reaches the one that schedules).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from zoneinfo import ZoneInfo

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.store import Ledger

log = logging.getLogger(__name__)

JOB_PREFIX = "report:"
#: a scheduler that was down at the time still posts within this long after it
MISFIRE_GRACE = 3600
_HH_MM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_hh_mm(text: str) -> dt.time | None:
    """``07:30`` → 07:30; None when it is not a 24-hour ``HH:MM``."""
    found = _HH_MM.match(text.strip())
    return dt.time(int(found.group(1)), int(found.group(2))) if found else None


def report_trigger(at: dt.time, zone: ZoneInfo) -> CronTrigger:
    """Every day at ``at`` on the wall clock of ``zone`` (DST changes included)."""
    return CronTrigger(hour=at.hour, minute=at.minute, timezone=zone)


class ReportSchedules:
    """Keeps a scheduler's report jobs in step with the ledger."""

    def __init__(self, ledger: Ledger, run: Callable[[str], object], zone: ZoneInfo) -> None:
        self.ledger = ledger
        self.run = run
        self.zone = zone
        self.scheduler: BaseScheduler | None = None
        self._installed: dict[str, str] = {}  # channel → HH:MM as scheduled

    def attach(self, scheduler: BaseScheduler) -> None:
        """This process schedules now: install the jobs."""
        self.scheduler = scheduler
        self._installed = {}
        self.sync()

    def sync(self) -> int:
        """Add, move and remove ``report:`` jobs to match the ledger; returns the job count."""
        scheduler = self.scheduler
        if scheduler is None:
            return 0
        wanted = {s.channel: s.at for s in self.ledger.report_schedules()}
        for channel in set(self._installed) - set(wanted):
            job = scheduler.get_job(JOB_PREFIX + channel)
            if job is not None:
                job.remove()
            del self._installed[channel]
            log.info("daily report for %s is off", channel)
        for channel, at in wanted.items():
            if self._installed.get(channel) == at:
                continue
            time = parse_hh_mm(at)
            if time is None:
                log.error("ignoring the report schedule of %s: bad time %r", channel, at)
                continue
            scheduler.add_job(
                self.run,
                report_trigger(time, self.zone),
                args=[channel],
                id=JOB_PREFIX + channel,
                name=JOB_PREFIX + channel,
                replace_existing=True,
                misfire_grace_time=MISFIRE_GRACE,
            )
            self._installed[channel] = at
            log.info("daily report for %s at %s %s", channel, at, self.zone.key)
        return len(self._installed)

    def next_run(self, channel: str) -> dt.datetime | None:
        """When ``channel``'s report runs next (None when not scheduled here)."""
        scheduler = self.scheduler
        job = scheduler.get_job(JOB_PREFIX + channel) if scheduler is not None else None
        return job.next_run_time if job is not None else None


DESK_TEXT = {
    "scheduled": (
        "Every day at {at} ({zone}) I will post the fleet report for the day before in "
        "<#{channel}>."
    ),
    "bad_time": "`{at}` is not a time of day: use 24-hour `HH:MM`, e.g. `07:30`.",
    "off": "No more daily fleet report in <#{channel}>.",
    "was_off": "<#{channel}> had no daily fleet report.",
}


class ReportDesk:
    """What `/fleet report …` asks for, answered in words (admins only, checked by the table)."""

    def __init__(
        self,
        post: Callable[[str, str], str],
        ledger: Ledger,
        schedules: ReportSchedules,
    ) -> None:
        self._post = post
        self.ledger = ledger
        self.schedules = schedules

    def now(self, channel: str, user: str) -> str:
        """Post yesterday's report in ``channel`` now (once: a second time says where it is)."""
        return self._post(channel, user)

    def daily(self, channel: str, at: str, user: str) -> str:
        """Schedule ``channel``'s report daily at ``at``; raises ValueError on a bad time."""
        time = parse_hh_mm(at)
        if time is None:
            raise ValueError(DESK_TEXT["bad_time"].format(at=at))
        at = time.strftime("%H:%M")
        self.ledger.set_report_schedule(channel, at, by=user)
        self.schedules.sync()
        return DESK_TEXT["scheduled"].format(at=at, zone=self.schedules.zone.key, channel=channel)

    def off(self, channel: str, user: str) -> str:
        """Stop ``channel``'s daily report."""
        removed = self.ledger.remove_report_schedule(channel)
        self.schedules.sync()
        return DESK_TEXT["off" if removed else "was_off"].format(channel=channel)
