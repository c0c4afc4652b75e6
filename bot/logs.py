"""Logging set-up: one line per event, text for people or JSON for machines, never a secret.

:func:`configure_logging` is called once, by the command line, before anything logs. Every
handler it installs carries :class:`RedactFilter`, so no logger (ours or a library's) can write
a token, a Basic header, a ``client_id`` or a configured password, and :class:`RelevelFilter`,
which moves library lines that are louder than their news (a coalesced job tick skipped, an
error the caller logs itself) to a lower level.

A line about one alert's delivery passes the alert, its vehicle and the channel as ``extra``::

    log.info("posted", extra=alert_extra(alert_id, vin, channel))
    # same as extra={"alert_id": alert_id, "vin": vin, "channel": channel}

JSON lines then carry them as fields next to ``time``, ``level``, ``logger`` and ``event`` (the
message); text lines end with ``alert_id=… vin=… channel=…``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.config import Settings

#: the per-alert fields, in the order text lines show them
ALERT_FIELDS = ("alert_id", "vin", "channel")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 4  # shorter "secrets" would blank out ordinary words

#: library loggers and their level (the root level applies to the rest)
LIBRARY_LEVELS = {
    "apscheduler": logging.WARNING,  # logs every job run at INFO: a line every 2 s
    "httpx": logging.WARNING,  # INFO request lines print full URLs, client_id included
    "httpcore": logging.WARNING,
    "slack_sdk": logging.WARNING,  # DEBUG dumps whole request bodies
    "slack_bolt": logging.INFO,
    "waitress": logging.INFO,
    "urllib3": logging.WARNING,
    "asyncio": logging.WARNING,
}
#: libraries that may speak at DEBUG with --verbose (the rest keep their level)
VERBOSE_LIBRARIES = ("slack_sdk", "slack_bolt", "apscheduler", "waitress")
#: library lines louder than what they report: (logger, start of the unformatted message, level)
LIBRARY_RELEVELS: tuple[tuple[str, str, int], ...] = (
    # Jobs are coalesced with max_instances=1: a tick that finds the job still running is
    # normal (a long poll, a delivery burst), and the next tick runs it.
    ("apscheduler", 'Execution of job "%s" skipped: maximum number of running', logging.DEBUG),
    # After a suspend or under load; coalescing runs the job once, nothing is lost.
    ("apscheduler", 'Run time of job "%s" was missed by', logging.INFO),
    # The error is raised to Fleetbot, which logs it once, with the alert it was about.
    ("slack_sdk", "Failed to send a request to Slack API server", logging.DEBUG),
)
UNCAUGHT = "uncaught exception in %s"

#: secrets recognisable by their shape, wherever they come from
_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bxox[a-z]-[A-Za-z0-9-]+"), REDACTED),
    (re.compile(r"\bxapp-[A-Za-z0-9-]+"), REDACTED),
    (re.compile(r"\b(Basic|Bearer)(\s+)[A-Za-z0-9+/=._~-]+", re.IGNORECASE), rf"\1\2{REDACTED}"),
    (
        re.compile(
            r"(?<![a-z])(client_id|secret|password|token)(=|[\"']\s*:\s*[\"']?)[^&\s\"',;}]+",
            re.IGNORECASE,
        ),
        rf"\1\2{REDACTED}",
    ),
)
#: every attribute a bare LogRecord has: anything else on a record came from ``extra``
_RECORD_ATTRS = frozenset(
    [*vars(logging.LogRecord("", 0, "", 0, "", None, None)), "message", "asctime", "taskName"]
)

_secrets: set[str] = set()
_secret_pattern: re.Pattern[str] | None = None
_lock = threading.Lock()


def alert_extra(alert_id: str | None, vin: str | None, channel: str | None) -> dict[str, Any]:
    """The ``extra`` of a log line about one alert's delivery."""
    return {"alert_id": alert_id, "vin": vin, "channel": channel}


def add_secrets(values: Iterable[str | None]) -> None:
    """Hide these values (passwords, tokens, client_id …) from every log line from now on."""
    global _secret_pattern
    with _lock:
        _secrets.update(v for v in values if v and len(v) >= MIN_SECRET_LENGTH)
        # longest first, so a secret containing another is hidden whole
        ordered = sorted(_secrets, key=len, reverse=True)
        _secret_pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None


def redact(text: str) -> str:
    """``text`` with every known secret and every secret-shaped token replaced."""
    pattern = _secret_pattern
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    for shape, replacement in _SHAPES:
        text = shape.sub(replacement, text)
    return text


class RedactFilter(logging.Filter):
    """Rewrites a record's message, exception text and extra strings without secrets."""

    _exceptions = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact in place (once per record, whatever the handler) and let the record through."""
        try:
            message = record.getMessage()
        except Exception:  # a bad %-format must not lose the line (logging would print a traceback)
            message = f"{record.msg!r} % {record.args!r}"
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._exceptions.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for name, value in _extras(record).items():
            if isinstance(value, str):
                setattr(record, name, redact(value))
        return True


class RelevelFilter(logging.Filter):
    """Gives the library lines of LIBRARY_RELEVELS their level; drops those now below the root's.

    The root's level (INFO, or DEBUG with --verbose) decides, not the library logger's: a line
    moved down from WARNING to INFO is still shown, one moved to DEBUG only with --verbose.
    """

    def __init__(self, relevels: Iterable[tuple[str, str, int]] = LIBRARY_RELEVELS) -> None:
        super().__init__()
        self.relevels = tuple(relevels)

    def filter(self, record: logging.LogRecord) -> bool:
        """Relevel a matching record; keep it only if the root logger is enabled at its level."""
        if not isinstance(record.msg, str):
            return True
        for name, start, level in self.relevels:
            from_it = record.name == name or record.name.startswith(f"{name}.")
            if from_it and record.msg.startswith(start):
                record.levelno, record.levelname = level, logging.getLevelName(level)
                return logging.getLogger().isEnabledFor(level)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, event, then any extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Serialise one record."""
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
        }
        for name, value in _extras(record).items():
            if value is not None:
                line[name] = value if _plain(value) else str(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return redact(json.dumps(line, ensure_ascii=False, default=str))


class TextFormatter(logging.Formatter):
    """The classic one-line format, with the per-alert fields appended when given."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        """Format one record (a traceback, if any, follows on its own lines)."""
        text = super().format(record)
        fields = " ".join(
            f"{name}={getattr(record, name)}"
            for name in ALERT_FIELDS
            if getattr(record, name, None) is not None
        )
        if fields:
            head, sep, tail = text.partition("\n")
            text = f"{head} [{fields}]{sep}{tail}"
        return redact(text)


def resolve_format(value: str | None, stream: IO[str] | None) -> str:
    """``text`` or ``json``: an explicit choice, else text on a terminal and JSON elsewhere."""
    if value in ("text", "json"):
        return value
    isatty = getattr(stream, "isatty", None)
    return "text" if stream is not None and isatty is not None and isatty() else "json"


def configure_logging(
    settings_or_format: Settings | str | None,
    *,
    verbose: bool = False,
    stream: IO[str] | None = None,
    file: str | Path | None = None,
    quiet: bool = False,
) -> logging.Handler:
    """Install the one log handler (on ``file``, else ``stream``, else stderr); return it.

    ``settings_or_format`` is the Settings (their FLEETBOT_LOG_FORMAT and secrets are used), or
    ``"text"``/``"json"``, or None for the automatic choice; an unknown string also means
    automatic (``Settings.from_env`` reports it). ``quiet`` writes nothing (``fleetbot check``
    prints its own lines). Calling it again replaces the earlier set-up.
    """
    from bot.config import Settings

    chosen: str | None
    if isinstance(settings_or_format, Settings):
        chosen = settings_or_format.log_format
        add_secrets(settings_or_format.secrets())
    else:
        chosen = settings_or_format
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "fleetbot", False)]:
        root.removeHandler(old)
        old.close()

    handler: logging.Handler
    if quiet and not verbose:
        handler = logging.NullHandler()  # also keeps logging's last resort from printing
    elif file is not None:
        handler = logging.FileHandler(file, encoding="utf-8")
        handler.setFormatter(JsonFormatter() if chosen != "text" else TextFormatter())
    else:
        target = stream if stream is not None else sys.stderr
        handler = logging.StreamHandler(target)
        json_lines = resolve_format(chosen, target) == "json"
        handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    setattr(handler, "fleetbot", True)  # noqa: B010 - marks ours, to replace on a second call
    handler.addFilter(RelevelFilter())  # first: it matches the message before redaction
    handler.addFilter(RedactFilter())
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for name, level in LIBRARY_LEVELS.items():
        debug = verbose and name in VERBOSE_LIBRARIES
        logging.getLogger(name).setLevel(logging.DEBUG if debug else level)
    logging.captureWarnings(True)  # Python warnings become log lines in the same format
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_thread_uncaught
    return handler


def say_failure(text: str, **fields: Any) -> None:
    """Tell the operator why a command stops, as a JSON line when stderr carries JSON logs.

    Under a service manager stderr is the log, so it stays all JSON (``fields``, such as the
    setting's ``variable``, join the line); elsewhere it is one ``fleetbot: …`` line.
    """
    if any(_json_on_stderr(h) for h in logging.getLogger().handlers):
        logging.getLogger("bot").error("%s", text, extra=fields)
    else:
        print(f"fleetbot: {redact(text)}", file=sys.stderr)


def _json_on_stderr(handler: logging.Handler) -> bool:
    """Whether ``handler`` is Fleetbot's, writing JSON lines to stderr (not to a log file)."""
    return (
        getattr(handler, "fleetbot", False)
        and type(handler) is logging.StreamHandler
        and handler.stream is sys.stderr
        and isinstance(handler.formatter, JsonFormatter)
    )


def _log_uncaught(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    """Uncaught exceptions become one log line (JSON when logs are), not a bare traceback."""
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, exc, tb)
        return
    logging.getLogger("bot").critical(UNCAUGHT, "the main thread", exc_info=(kind, exc, tb))


def _log_thread_uncaught(args: threading.ExceptHookArgs) -> None:
    """The same for a thread that died of an exception."""
    if args.exc_type is SystemExit or args.exc_value is None:
        return
    where = f"thread {args.thread.name}" if args.thread else "a thread"
    logging.getLogger("bot").error(
        UNCAUGHT, where, exc_info=(args.exc_type, args.exc_value, args.exc_traceback)
    )


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a log call passed with ``extra=``."""
    return {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRS}


def _plain(value: object) -> bool:
    """Whether JSON can hold ``value`` as it is."""
    if isinstance(value, str | int | float | bool):
        return True
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    return False
