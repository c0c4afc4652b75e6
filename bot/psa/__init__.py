"""Client of the Stellantis Connected Car B2B Web API (knows nothing of Slack or the store)."""

from __future__ import annotations

from bot.psa.client import (
    PsaClient,
    Quota,
    RetryPolicy,
    build_alert_monitor,
    quiet_http_logs,
)
from bot.psa.dates import format_datetime, interval, parse_datetime, parse_duration
from bot.psa.limiter import RateLimiter
from bot.psa.models import (
    Alert,
    AverageConsumption,
    EnergyConsumption,
    EnergyLevel,
    Fleet,
    Maintenance,
    Monitor,
    MonitorRef,
    Page,
    Position,
    Trip,
    TripFault,
    Vehicle,
    VehicleStatus,
)
from bot.psa.routes import ROUTES, Route, resolve
from bot.psa.tls import build_ssl_context, certificate_expiry, days_until_expiry

__all__ = [
    "ROUTES",
    "Alert",
    "AverageConsumption",
    "EnergyConsumption",
    "EnergyLevel",
    "Fleet",
    "Maintenance",
    "Monitor",
    "MonitorRef",
    "Page",
    "Position",
    "PsaClient",
    "Quota",
    "RateLimiter",
    "RetryPolicy",
    "Route",
    "Trip",
    "TripFault",
    "Vehicle",
    "VehicleStatus",
    "build_alert_monitor",
    "build_ssl_context",
    "certificate_expiry",
    "days_until_expiry",
    "format_datetime",
    "interval",
    "parse_datetime",
    "parse_duration",
    "quiet_http_logs",
    "resolve",
]
