"""Run every benchmark in sequence and write bench/RESULTS.md (``python -m bench``, ``make bench``).

.venv/bin/python -m bench [--only poll,quota,delivery,ack,memory,report] [--memory-seconds 120]
                          [--no-write]
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import re
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from bench.common import BENCH_DIR, ROOT, Row, print_rows, section, update_results

ORDER = ("poll", "quota", "delivery", "ack", "memory", "report")
ACK_MISSING = (
    "bench/bench_ack.py is missing (it belongs to the slash-command helper): "
    "the ack-latency benchmark is skipped"
)
ACK_TARGET_MS = 100.0
ACK_P99 = re.compile(r"ack p99:\s*([\d.]+)\s*ms")


def _module(name: str) -> Any:
    return importlib.import_module(f"bench.bench_{name}")


def _ack() -> list[Row]:
    """bench_ack, whichever shape it has: run()/rows() if present, else its script's output."""
    if importlib.util.find_spec("bench.bench_ack") is None:
        print(ACK_MISSING)
        return [Row("ack: benchmark", "missing", "—", None)]
    module = _module("ack")
    if hasattr(module, "run") and hasattr(module, "rows"):
        return list(module.rows(module.run()))
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(BENCH_DIR / "bench_ack.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    print(done.stdout, end="")
    print(done.stderr, end="", file=sys.stderr)
    found = ACK_P99.search(done.stdout)
    if done.returncode != 0 or not found:
        return [Row("ack: slash command ack p99", "failed", "< 100 ms", False)]
    p99 = float(found.group(1))
    rows = [Row("ack: slash command ack p99", f"{p99:.1f} ms", "< 100 ms", p99 < ACK_TARGET_MS)]
    for label, pattern in (
        ("ack p50", r"ack p50:\s*([\d.]+ ms)"),
        ("API latency", r"API latency:\s*(\d+ ms)"),
    ):
        match = re.search(pattern, done.stdout)
        if match:
            rows.append(Row(f"ack: {label}", match.group(1)))
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks at full size, print their figures, update RESULTS.md."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(ORDER), help="comma-separated subset")
    parser.add_argument("--memory-seconds", type=float, default=120.0)
    parser.add_argument("--no-write", action="store_true", help="do not touch RESULTS.md")
    args = parser.parse_args(argv)
    chosen = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(chosen) - set(ORDER))
    if unknown:
        parser.error(f"unknown benchmarks: {', '.join(unknown)} (known: {', '.join(ORDER)})")

    runners: dict[str, Callable[[], list[Row]]] = {
        "poll": lambda: _module("poll").rows(_module("poll").run()),
        "quota": lambda: _module("quota").rows(_module("quota").run()),
        "delivery": lambda: _module("delivery").rows(_module("delivery").run()),
        "ack": _ack,
        "memory": lambda: _module("memory").rows(
            _module("memory").run(seconds=args.memory_seconds)
        ),
        "report": lambda: _module("report").rows(_module("report").run()),
    }
    sections: dict[str, str] = {}
    failures = 0
    for name in (n for n in ORDER if n in chosen):
        print(f"\n### {name} ...", flush=True)
        started = time.perf_counter()
        try:
            rows = runners[name]()
        except Exception as exc:  # one broken bench must not hide the others' figures
            traceback.print_exc()
            failures += 1
            rows = [Row(f"{name}: benchmark", f"failed: {type(exc).__name__}", "—", False)]
        print_rows(f"{name} ({time.perf_counter() - started:.0f} s)", rows)
        sections[name] = section(name, rows)
        if not args.no_write:
            update_results({name: sections[name]})  # after each: a later crash keeps these
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
