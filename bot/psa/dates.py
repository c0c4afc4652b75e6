"""Dates as the Connected Car API writes them, and the ISO-8601 intervals it reads."""

from __future__ import annotations

import math
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
UNREADABLE_DATE = "unreadable date: {text!r}"
UNREADABLE_DURATION = "unreadable duration: {text!r}"
OUT_OF_RANGE = "a number out of range"
QUOTE_LIMIT = 60  # characters of a bad value quoted in an error: enough to recognise it


def parse_datetime(value: str | None) -> datetime | None:
    """Parse an API date (RFC 3339, ``+0000`` offsets or Java style) to an aware UTC datetime.

    Anything that is not a date, or that lies outside what Python can hold once moved to UTC
    (``0001-01-01T00:00:00+01:00``, a Java null date), is a ValueError, never an OverflowError.
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        return _parse(text)
    except (ValueError, OverflowError):
        raise ValueError(UNREADABLE_DATE.format(text=text[:QUOTE_LIMIT])) from None


def _parse(text: str) -> datetime:
    java = _JAVA_DATE.match(text)
    if java:
        month, day, hh, mm, ss, _zone, year = java.groups()
        if month not in _MONTHS:
            raise ValueError(month)
        return datetime(int(year), _MONTHS[month], int(day), int(hh), int(mm), int(ss), tzinfo=UTC)
    iso = text.replace(" ", "T", 1) if "T" not in text and " " in text else text
    iso = _COMPACT_OFFSET.sub(r"\1\2:\3", iso) if "T" in iso else iso
    iso = _LONG_FRACTION.sub(r"\1", iso)
    parsed = datetime.fromisoformat(iso)
    if parsed.tzinfo is None:
        # RFC 3339 requires an offset; the API means UTC when it leaves it out
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_duration(value: object) -> float | None:
    """Seconds from a number, a numeric string or an ISO-8601 duration; None if absent.

    A duration that is not a finite number of seconds (``NaN``, ``Infinity``, a negative
    count) is a ValueError.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _finite_duration(value, OUT_OF_RANGE)
    text = str(value).strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        return _finite_duration(number, text)
    match = _DURATION.match(text.upper())
    if not match or not any(match.groupdict().values()):
        raise ValueError(UNREADABLE_DURATION.format(text=text[:QUOTE_LIMIT]))
    parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    seconds = parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]
    return _finite_duration(seconds, text)


def _finite_duration(value: float, text: str) -> float:
    try:
        seconds = float(value)
    except OverflowError:  # an int too large for a float
        seconds = math.inf
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(UNREADABLE_DURATION.format(text=text[:QUOTE_LIMIT]))
    return seconds


def format_datetime(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` (naive datetimes are taken as UTC).

    Built with ``isoformat``, which always writes four year digits (``strftime("%Y")`` writes
    ``5`` for year 5 on glibc, which no ISO-8601 reader accepts).
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC).replace(tzinfo=None)
    spec = "milliseconds" if value.microsecond // 1000 else "seconds"
    return value.isoformat(timespec=spec) + "Z"


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
