"""Shared bits of the benchmarks: verdict rows, machine description, RESULTS.md sections."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "RESULTS.md"

RESULTS_HEADER = """# Benchmark results

Figures for DESIGN.md section 8, written by `python -m bench` (`make bench`); each section is
replaced when its benchmark runs again. Benchmarks print figures, they are not pass/fail tests:
the verdict compares one run with the target. Machine: a shared 2-core box, so expect noise of
several percent between runs.

| date | machine | figure | measured | target | verdict |
|---|---|---|---|---|---|
"""
SECTION = re.compile(
    r"<!-- bench:(?P<name>[a-z_]+) -->\n(?P<body>.*?)<!-- /bench:(?P=name) -->\n", re.S
)


@dataclasses.dataclass(frozen=True)
class Row:
    """One figure compared with its target (``ok`` None: informative, no target)."""

    figure: str
    measured: str
    target: str = "—"
    ok: bool | None = None

    @property
    def verdict(self) -> str:
        """pass / MISS / info."""
        return "info" if self.ok is None else ("pass" if self.ok else "MISS")


def machine() -> str:
    """A short description of this machine: cores, CPU model, Python."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}"


def print_rows(title: str, rows: Sequence[Row], out: IO[str] | None = None) -> None:
    """Print a bench's verdict table."""
    out = out or sys.stdout
    print(f"\n== {title}", file=out)
    width = max((len(r.figure) for r in rows), default=10)
    for r in rows:
        print(
            f"  {r.figure:<{width}}  {r.measured:>14}  target {r.target:<14} {r.verdict}", file=out
        )


def section(name: str, rows: Sequence[Row], *, when: dt.date | None = None, note: str = "") -> str:
    """The RESULTS.md table rows of one bench, between markers."""
    day = (when or dt.date.today()).isoformat()
    host = machine()
    lines = [f"<!-- bench:{name} -->"]
    lines += [
        f"| {day} | {host} | {r.figure} | {r.measured} | {r.target} | {r.verdict} |" for r in rows
    ]
    if note:
        lines.append(f"| {day} | {host} | {name}: note | {note} | — | info |")
    lines.append(f"<!-- /bench:{name} -->")
    return "\n".join(lines) + "\n"


def update_results(sections: Mapping[str, str], path: Path = RESULTS) -> None:
    """Replace (or append) the named sections of RESULTS.md, keeping the others."""
    text = path.read_text() if path.is_file() else ""
    existing = {m["name"]: m.group(0) for m in SECTION.finditer(text)}
    existing.update(sections)
    order = ["poll", "quota", "delivery", "ack", "memory"]
    names = [n for n in order if n in existing] + sorted(set(existing) - set(order))
    tail = ""
    if "\n## Notes\n" in text:
        tail = text[text.index("\n## Notes\n") :]
    path.write_text(RESULTS_HEADER + "".join(existing[n] for n in names) + tail)


def fmt(value: float, digits: int = 2, unit: str = "") -> str:
    """A number with a fixed number of decimals and an optional unit."""
    return f"{value:,.{digits}f}{(' ' + unit) if unit else ''}"


# --------------------------------------------------------------------- sandbox in a subprocess


class SandboxProcess:
    """The PSA sandbox in a child process (``bench/sandbox_runner.py``), driven over its stdin.

    Keeps the sandbox's CPU out of the bench process, so ``time.process_time()`` there is the
    client's alone.
    """

    def __init__(self, work: Path, **options: Any) -> None:
        args = [sys.executable, str(BENCH_DIR / "sandbox_runner.py"), "--dir", str(work)]
        for key, value in options.items():
            args += [f"--{key.replace('_', '-')}", str(value)]
        self._proc = subprocess.Popen(  # noqa: S603 - our own interpreter and script
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        self._lock = threading.Lock()
        hello = self._read()
        self.env: dict[str, str] = hello["env"]
        self.pid = self._proc.pid

    def _read(self) -> dict[str, Any]:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("the sandbox subprocess exited early (see its stderr above)")
        return dict(json.loads(line))

    def command(self, name: str) -> dict[str, Any]:
        """Send one command (stats, reset) and return its JSON answer."""
        assert self._proc.stdin is not None
        with self._lock:
            self._proc.stdin.write(name + "\n")
            self._proc.stdin.flush()
            return self._read()

    def stats(self) -> dict[str, Any]:
        """Counters since the last reset: requests, by_status, peak_per_second, connections."""
        return self.command("stats")

    def reset(self) -> None:
        """Start counting afresh (rate-limit windows are kept)."""
        self.command("reset")

    def close(self) -> None:
        """Ask the child to stop and wait for it."""
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            try:
                self._proc.stdin.close()
                self._proc.wait(timeout=20)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def statuses(by_status: Iterable[tuple[Any, int]] | Mapping[Any, int]) -> dict[int, int]:
    """Normalise a status counter (JSON keys are strings)."""
    items = by_status.items() if isinstance(by_status, Mapping) else by_status
    return {int(k): int(v) for k, v in items}
