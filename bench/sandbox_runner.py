"""Runs the PSA sandbox in its own process for the benchmarks, driven by lines on stdin.

Prints one JSON line ``{"env": {...}}`` when listening, then answers each stdin line with one
JSON line: ``stats`` (counters since the last reset, plus this process's CPU seconds),
``reset``; end of input stops it.

    python bench/sandbox_runner.py --dir /tmp/certs --vehicles 1000 --latency 0.05
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.sandbox.psa import PsaSandbox, SandboxCerts  # noqa: E402 - after the path set-up


def main() -> int:
    """Start the sandbox, then serve stdin commands until end of input."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, required=True, help="certificates go here")
    parser.add_argument("--vehicles", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request")
    parser.add_argument("--burst-limit", type=int, default=100)
    parser.add_argument("--daily-limit", type=int, default=100_000)
    args = parser.parse_args()

    certs = SandboxCerts.create(args.dir)
    with PsaSandbox(
        certs,
        vehicles=args.vehicles,
        latency=args.latency,
        burst_limit=args.burst_limit,
        daily_limit=args.daily_limit,
    ) as sandbox:
        print(json.dumps({"env": sandbox.env()}), flush=True)
        for line in sys.stdin:
            command = line.strip()
            if command == "stats":
                s = sandbox.stats
                answer = {
                    "requests": s.requests,
                    "by_status": dict(s.by_status),
                    "peak_per_second": s.peak_per_second,
                    "connections": s.connections,
                    "cpu_seconds": time.process_time(),
                }
            elif command == "reset":
                sandbox.reset_stats()
                answer = {"ok": True}
            else:
                answer = {"error": f"unknown command {command!r}"}
            print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
