"""Scheduler pieces as plain objects: the lock, the standby keeper, poll pacing, cert warnings."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
import threading
import time
from types import SimpleNamespace

import pytest

import bot.scheduler as scheduler_module
from bot.alerts.poller import PollReport
from bot.psa.quota import QuotaBudget
from bot.scheduler import (
    LAST_GOOD_POLL,
    CertificateJob,
    PollJob,
    ScheduleKeeper,
    SchedulerLock,
    build_scheduler,
    is_good_poll,
)
from bot.store import Ledger
from bot.store.ledger import iso

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


def hold_in_other_process(db) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", f"from bot.scheduler import SchedulerLock\n"
         f"import time\nlock = SchedulerLock({str(db)!r})\nassert lock.acquire()\n"
         f"print('held', flush=True)\ntime.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def can_take(db) -> bool:
    probe = f"from bot.scheduler import SchedulerLock\nprint(SchedulerLock({str(db)!r}).acquire())"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return done.stdout.strip() == "True"


@pytest.mark.parametrize("proc_locks", [True, False], ids=["proc-locks", "shared-probe"])
def test_holder_present_sees_other_processes_and_never_takes_the_lock(
    tmp_path, monkeypatch, proc_locks
):
    if not proc_locks:
        monkeypatch.setattr(scheduler_module, "PROC_LOCKS", tmp_path / "no-such-file")
    db = tmp_path / "fleetbot.db"
    probe = SchedulerLock(db)
    assert probe.holder_present() is False  # no lock file yet
    holder = hold_in_other_process(db)
    try:
        assert probe.holder_present() is True
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
    assert probe.holder_present() is False
    assert can_take(db)  # probing left nothing behind
    mine = SchedulerLock(db)
    assert mine.acquire() and mine.holder_present() and probe.holder_present()
    mine.release()


def test_holder_present_matches_by_recorded_pid_when_devices_differ(tmp_path, monkeypatch):
    db = tmp_path / "fleetbot.db"
    lock = SchedulerLock(db)
    lock.path.write_text("4242\n")
    inode = lock.path.stat().st_ino
    table = tmp_path / "locks"
    monkeypatch.setattr(scheduler_module, "PROC_LOCKS", table)
    table.write_text(f"1: FLOCK  ADVISORY  WRITE 4242 00:99:{inode} 0 EOF\n")
    assert lock.holder_present() is True
    table.write_text(f"1: FLOCK  ADVISORY  WRITE 4343 00:99:{inode} 0 EOF\n")
    assert lock.holder_present() is False  # another file with the same inode elsewhere
    table.write_text(f"1: -> FLOCK  ADVISORY  WRITE 4242 00:99:{inode} 0 EOF\n")
    assert lock.holder_present() is False  # a waiter, not a holder


def test_keeper_waits_for_running_jobs_and_keeps_the_lock_while_one_is_stuck(tmp_path):
    db = tmp_path / "fleetbot.db"
    started, release = threading.Event(), threading.Event()
    runs: list[str] = []

    def stuck() -> None:
        started.set()
        release.wait(30)
        runs.append("stuck")

    keeper = ScheduleKeeper(
        SchedulerLock(db), lambda: {"stuck": (stuck, 3600)}, stop=threading.Event()
    )
    assert keeper.start() is True
    assert started.wait(10)
    assert keeper.close(timeout=0.3) is False  # the job outlived the deadline
    assert not can_take(db)  # nobody may deliver beside the stuck job
    release.set()
    assert keeper.close(timeout=10) is True
    assert runs == ["stuck"] and can_take(db)


def test_keeper_stands_by_and_takes_over_when_the_holder_is_killed(tmp_path):
    db = tmp_path / "fleetbot.db"
    ran = threading.Event()
    stop = threading.Event()
    keeper = ScheduleKeeper(
        SchedulerLock(db), lambda: {"job": (ran.set, 3600)}, stop=stop, retry=0.1
    )
    holder = hold_in_other_process(db)
    try:
        assert keeper.start() is False
        assert not ran.wait(0.5) and not keeper.scheduling  # standing by
        holder.kill()
        holder.wait()
        assert ran.wait(10) and keeper.scheduling
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
        assert keeper.close(timeout=10)
    assert can_take(db)


def test_a_stopping_keeper_gives_up_standing_by(tmp_path):
    db = tmp_path / "fleetbot.db"
    stop = threading.Event()
    keeper = ScheduleKeeper(SchedulerLock(db), lambda: {}, stop=stop, retry=0.05)
    holder = hold_in_other_process(db)
    try:
        assert keeper.start() is False
        assert keeper.close(timeout=5) is True
        holder.kill()
        holder.wait()
        time.sleep(0.3)
        assert not keeper.scheduling and can_take(db)
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()


def poll_job(tmp_path, poller: FakePoller, stop: threading.Event):
    ledger = Ledger(tmp_path / "f.db")
    deliveries: list[threading.Event | None] = []
    job = PollJob(
        poller,  # type: ignore[arg-type]
        SimpleNamespace(run_once=lambda stop: deliveries.append(stop)),  # type: ignore[arg-type]
        ledger,
        QuotaBudget(interval=60),
        push_enabled=lambda: False,
        clock=lambda: T0,
        stop=stop,
    )
    return job, ledger, deliveries


def test_poll_job_hands_on_its_stop_event_and_skips_work_once_stopping(tmp_path):
    stop = threading.Event()
    poller = FakePoller(vehicles=5, daily_limit=100_000)
    job, ledger, deliveries = poll_job(tmp_path, poller, stop)
    assert job() is not None
    assert poller.stops == [stop] and deliveries == [stop]
    assert ledger.get_state(LAST_GOOD_POLL) == iso(T0)

    job.next_due = None
    stopping = poller.poll_once

    def poll_then_stop(*, stop=None):
        report = stopping(stop=stop)
        job.stop.set()  # SIGTERM arrives during the poll
        return report

    poller.poll_once = poll_then_stop  # type: ignore[method-assign]
    assert job() is not None
    assert len(deliveries) == 1  # no delivery started after the stop
    job.next_due = None
    assert job() is None and poller.cycles == 2  # no poll starts once stopping
    ledger.close()


def test_a_poll_in_which_no_vehicle_answered_is_not_recorded_as_good(tmp_path):
    poller = FakePoller(vehicles=5, daily_limit=100_000)
    poller.errors = 5
    job, ledger, _deliveries = poll_job(tmp_path, poller, threading.Event())
    assert job() is not None
    assert ledger.get_state(LAST_GOOD_POLL) is None
    poller.errors = 4
    job.next_due = None
    assert job() is not None and ledger.get_state(LAST_GOOD_POLL) == iso(T0)
    assert is_good_poll(PollReport(vehicles=0)) and not is_good_poll(PollReport(skipped="quota"))
    ledger.close()
