"""Dates as the Connected Car API writes them, and the ISO-8601 intervals it reads."""

from __future__ import annotations

import re
from datetime import UTC, datetime

# "2017-08-10T13:46:39.652+0000": an offset without a colon (not RFC 3339, seen in samples)
_COMPACT_OFFSET = re.compile(r"([+-])(\d{2})(\d{2})$")
# nanosecond fractions: Python reads at most 6 digits
_LONG_FRACTION = re.compile(r"(\.\d{6})\d+")
# "Mon Jun 03 08:35:36 GMT 2019": Java's Date.toString(), seen in samples
_JAVA_DATE = re.compile(
    r"^[A-Z][a-z]{2} ([A-Z][a-z]{2}) (\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (GMT|UTC|Z) (\d{4})$"
)
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)}
# ISO-8601 duration as used by the API ("PT14H30M", "P1DT2H", "PT3600.5S")
_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_datetime(value: str | None) -> datetime | None:
    """Parse an API date (RFC 3339, ``+0000`` offsets or Java style) to an aware UTC datetime."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    java = _JAVA_DATE.match(text)
    if java:
        month, day, hh, mm, ss, _zone, year = java.groups()
        if month not in _MONTHS:
            raise ValueError(f"unreadable date: {text!r}")
        return datetime(int(year), _MONTHS[month], int(day), int(hh), int(mm), int(ss), tzinfo=UTC)
    iso = text.replace(" ", "T", 1) if "T" not in text and " " in text else text
    iso = _COMPACT_OFFSET.sub(r"\1\2:\3", iso) if "T" in iso else iso
    iso = _LONG_FRACTION.sub(r"\1", iso)
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        raise ValueError(f"unreadable date: {text!r}") from None
    if parsed.tzinfo is None:
        # RFC 3339 requires an offset; the API means UTC when it leaves it out
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_duration(value: object) -> float | None:
    """Seconds from a number, a numeric string or an ISO-8601 duration; None if absent."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    match = _DURATION.match(text.upper())
    if not match or not any(match.groupdict().values()):
        raise ValueError(f"unreadable duration: {text!r}")
    parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    return parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]


def format_datetime(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` (naive datetimes are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    if value.microsecond:
        value = value.replace(microsecond=(value.microsecond // 1000) * 1000)
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def interval(start: datetime | None = None, end: datetime | None = None) -> str:
    """One ``timestamps`` value: ``T1/T2``, ``T/`` (open end) or ``/T`` (open start)."""
    if start is None and end is None:
        raise ValueError("an interval needs a start or an end")
    if start is not None and end is not None and end < start:
        raise ValueError("the interval ends before it starts")
    left = format_datetime(start) if start is not None else ""
    right = format_datetime(end) if end is not None else ""
    return f"{left}/{right}"


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


__all__ = [
    "format_datetime",
    "interval",
    "parse_datetime",
    "parse_duration",
    "utcnow",
]
