"""The report on real parts: the PSA sandbox over mTLS, a real SQLite ledger filled by the poller.

The sandbox and the report share a fixed clock, so "yesterday" and the sandbox's week of trips
are stable. Tests change the sandbox's own records (under its lock) to stage edge cases, then
compute what the report must say from those records, independently of the client's parsing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.alerts.poller import Poller
from bot.alerts.routing import AlertRouter
from bot.config import Settings
from bot.directory import VehicleDirectory
from bot.psa.client import PsaClient, RetryPolicy
from bot.psa.quota import QuotaBudget
from bot.reports.gather import DayGatherer
from bot.sandbox.psa import PsaSandbox, SandboxCerts
from bot.sandbox.psa import fleet as records
from bot.store import Ledger

PARIS = ZoneInfo("Europe/Paris")
FALLBACK = "C0REPORTS"
FAST_RETRY = RetryPolicy(
    attempts=3, timeout=10.0, wait_initial=0.01, wait_max=0.05, wait_jitter=0.01,
    max_retry_after=0.05,
)  # fmt: skip


@pytest.fixture(scope="session")
def report_certs(tmp_path_factory: pytest.TempPathFactory) -> SandboxCerts:
    """Sandbox certificates, made once."""
    return SandboxCerts.create(tmp_path_factory.mktemp("report-certs"))


@dataclasses.dataclass
class ReportWorld:
    """A sandbox, a client, a ledger the poller has filled, and a gatherer over them."""

    sandbox: PsaSandbox
    api: PsaClient
    ledger: Ledger
    gatherer: DayGatherer
    now: dt.datetime

    @property
    def fleet(self) -> records.Fleet:
        """The sandbox's own records (change them only under :meth:`edit`)."""
        return self.sandbox._fleet

    @contextlib.contextmanager
    def edit(self) -> Iterator[records.Fleet]:
        """Change the sandbox's records while it serves nobody."""
        with self.sandbox._lock:
            yield self.sandbox._fleet

    def directory(self) -> list[dict[str, Any]]:
        """The ledger's vehicle directory, as the report reads it."""
        return self.ledger.vehicles()


@contextlib.contextmanager
def make_report_world(
    certs: SandboxCerts,
    db: Path,
    now: dt.datetime,
    *,
    vehicles: int = 12,
    zone: ZoneInfo = PARIS,
    retry: RetryPolicy = FAST_RETRY,
    style: str = "fleets",
) -> Iterator[ReportWorld]:
    """Start the sandbox at ``now``, list the fleet and poll its alerts once into the ledger."""

    def clock() -> dt.datetime:
        return now

    with PsaSandbox(certs, vehicles=vehicles, clock=clock) as sandbox:
        settings = Settings.from_env({**sandbox.env(style), "FLEETBOT_DB": str(db)})
        api = PsaClient.from_settings(settings, retry=retry)
        ledger = Ledger(db, clock=clock)
        try:
            directory = VehicleDirectory(api, ledger, clock=clock)
            directory.refresh()
            Poller(
                api,
                ledger,
                router=lambda: AlertRouter.from_ledger(ledger, FALLBACK),
                budget=QuotaBudget(interval=1),
            ).poll_once()
            gatherer = DayGatherer(api, ledger, zone=zone, clock=clock)
            yield ReportWorld(sandbox, api, ledger, gatherer, now)
        finally:
            api.close()
            ledger.close()


WorldFactory = Callable[..., contextlib.AbstractContextManager[ReportWorld]]


@pytest.fixture
def report_world(report_certs: SandboxCerts, tmp_path: Path) -> WorldFactory:
    """Build a world at a chosen ``now`` (``with report_world(now) as world:``)."""

    def build(now: dt.datetime, **options: Any) -> contextlib.AbstractContextManager[ReportWorld]:
        return make_report_world(report_certs, tmp_path / "report.db", now, **options)

    return build
