"""Scheduler pieces as plain objects: the one-scheduler lock, poll pacing, certificate warnings."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
import threading
from types import SimpleNamespace

from bot.alerts.poller import PollReport, QuotaBudget
from bot.scheduler import CertificateJob, PollJob, SchedulerLock, build_scheduler
from bot.store import Ledger

T0 = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.UTC)


def test_only_one_process_holds_the_scheduler_lock(tmp_path):
    db = tmp_path / "fleetbot.db"
    mine = SchedulerLock(db)
    assert mine.acquire() is True
    probe = textwrap.dedent(
        f"""
        from bot.scheduler import SchedulerLock
        print(SchedulerLock({str(db)!r}).acquire())
        """
    )
    other = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert other.stdout.strip() == "False"
    mine.release()
    again = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert again.stdout.strip() == "True"


def test_a_killed_holder_releases_the_lock(tmp_path):
    db = tmp_path / "fleetbot.db"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"from bot.scheduler import SchedulerLock\n"
         f"import sys, time\nlock = SchedulerLock({str(db)!r})\nassert lock.acquire()\n"
         f"print('held', flush=True)\ntime.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout.readline().strip() == "held"
    assert SchedulerLock(db).acquire() is False
    holder.kill()
    holder.wait()
    holder.stdout.close()
    successor = SchedulerLock(db)
    assert successor.acquire() is True
    successor.release()


def test_quota_budget_fits_a_thousand_vehicles_in_the_daily_quota():
    budget = QuotaBudget(interval=60, reserve=0.10)
    interval = budget.effective_interval(1_000, 100_000)
    calls_per_day = 86_400 / interval * 1_000
    assert calls_per_day <= 0.90 * 100_000 + 1
    assert interval == 960  # 1,000 calls per cycle, 90,000 calls a day
    assert budget.effective_interval(25, 100_000) == 60  # small fleets keep the configured pace
    assert budget.effective_interval(25, 100_000, push_enabled=True) == 900
    assert budget.can_afford(1_000, 100_000, remaining=11_000) is True
    assert budget.can_afford(1_000, 100_000, remaining=10_500) is False


class FakePoller:
    def __init__(self, vehicles: int, daily_limit: int) -> None:
        self.cycles = 0
        self.errors = 0
        self.stops: list[threading.Event | None] = []
        self.vehicles = vehicles
        self.api = SimpleNamespace(
            quota=SimpleNamespace(
                daily_limit=daily_limit, daily_remaining=daily_limit, burst_limit=100
            )
        )

    def poll_once(self, *, stop: threading.Event | None = None) -> PollReport:
        self.cycles += 1
        self.stops.append(stop)
        return PollReport(vehicles=self.vehicles, api_calls=self.vehicles, errors=self.errors)


def test_poll_job_waits_for_the_stretched_interval(tmp_path):
    now = [T0]
    ledger = Ledger(tmp_path / "f.db")
    poller = FakePoller(vehicles=1_000, daily_limit=100_000)
    deliveries = []
    job = PollJob(
        poller,  # type: ignore[arg-type]
        SimpleNamespace(run_once=lambda stop: deliveries.append(1)),  # type: ignore[arg-type]
        ledger,
        QuotaBudget(interval=60),
        push_enabled=lambda: False,
        clock=lambda: now[0],
    )
    assert job() is not None
    now[0] = T0 + dt.timedelta(seconds=900)
    assert job() is None  # 960 s between cycles for 1,000 vehicles
    now[0] = T0 + dt.timedelta(seconds=961)
    assert job() is not None
    assert poller.cycles == 2 and len(deliveries) == 2
    assert ledger.get_state("quota")["interval"] == 960
    ledger.close()


def test_certificate_warnings_go_out_once_per_threshold(tmp_path):
    ledger = Ledger(tmp_path / "f.db")
    now = [T0]
    sent: list[str] = []
    job = CertificateJob(
        lambda: T0 + dt.timedelta(days=40), ledger, sent.append, clock=lambda: now[0]
    )
    assert job() is None
    now[0] = T0 + dt.timedelta(days=11)  # 29 days left
    assert job() == 29 and job() is None
    now[0] = T0 + dt.timedelta(days=33, hours=1)  # 6 days left: the 7-day warning
    assert job() == 6
    assert len(sent) == 2 and "PSA_CERT_FILE" in sent[0]
    ledger.close()


def test_build_scheduler_sets_ids_coalesce_and_single_instances():
    scheduler = build_scheduler({"poll": (lambda: None, 60), "deliver": (lambda: None, 2)})
    scheduler.start(paused=True)
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
    finally:
        scheduler.shutdown(wait=False)
    assert set(jobs) == {"poll", "deliver"}
    assert all(job.coalesce and job.max_instances == 1 for job in jobs.values())
