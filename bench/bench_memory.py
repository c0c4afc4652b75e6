"""Resident memory of ``fleetbot run`` with 1,000 vehicles over time (target < 150 MB, flat).

Starts the PSA sandbox (1,000 vehicles, 50 ms latency) and the Slack stand-in in this process,
then ``python -m bot run`` in HTTP mode as a subprocess pointed at them, polling every 5 s.
The daily quota is set high (10 M) on purpose, so the quota budget does not stretch the
interval to 16 minutes and the bot polls back to back: the harshest case for memory. A few
alerts start and end in the sandbox every tick, so delivery and message updates run too.
VmRSS (/proc/<pid>/status) is sampled every few seconds.

    .venv/bin/python -m bench.bench_memory [--seconds 120] [--every 5] [--write]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.common import ROOT, Row, fmt, print_rows, section, update_results
from bot.sandbox.psa import PsaSandbox, SandboxCerts
from bot.sandbox.slack import SlackStandIn

NAME = "memory"
TITLE = "fleetbot run: resident memory over time"
CHANNEL = "C0ALERTS"
TARGET_MB = 150.0
FLAT_MB = 5.0  # drift between the middle and the last third of the run counted as flat
START_TIMEOUT = 60.0
SIGNING_SECRET = "bench-signing-secret"


def rss_mb(pid: int) -> float | None:
    """VmRSS of a process in MB (None once it has gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _health(port: int) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return dict(json.loads(answer.read()))
    except (OSError, ValueError):
        return None


def run(
    vehicles: int = 1000,
    seconds: float = 120.0,
    every: float = 5.0,
    poll_interval: float = 5.0,
    latency: float = 0.05,
    daily_limit: int = 10_000_000,
    alerts_per_tick: int = 3,
) -> dict[str, Any]:
    """Run the bot for ``seconds``, sampling its RSS every ``every`` seconds; return figures."""
    rng = random.Random(1)
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        work = Path(tmp)
        certs = SandboxCerts.create(work / "certs")
        with (
            PsaSandbox(certs, vehicles=vehicles, latency=latency, daily_limit=daily_limit) as api,
            SlackStandIn(channels=(CHANNEL,), post_rate_per_channel=1.0) as slack,
        ):
            port = _free_port()
            env = {
                **{k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ},
                **api.env(),
                "PYTHONPATH": str(ROOT),
                "PYTHONUNBUFFERED": "1",
                "SLACK_BOT_TOKEN": slack.bot_token,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": slack.api_url,
                "FLEETBOT_DB": str(work / "fleetbot.db"),
                "FLEETBOT_ALERT_CHANNEL": CHANNEL,
                "FLEETBOT_POLL_INTERVAL": str(poll_interval),
                "HOST": "127.0.0.1",
                "PORT": str(port),
            }
            log_path = work / "fleetbot.log"
            with log_path.open("w") as log:
                bot = subprocess.Popen(  # noqa: S603 - our own interpreter and package
                    [sys.executable, "-m", "bot", "--env-file", str(work / "none.env"), "run"],
                    env=env,
                    cwd=work,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
                try:
                    samples, health = _sample(bot, port, api, rng, seconds, every, alerts_per_tick)
                finally:
                    if bot.poll() is None:
                        bot.send_signal(signal.SIGTERM)
                        try:
                            bot.wait(timeout=30)
                        except subprocess.TimeoutExpired:
                            bot.kill()
                            bot.wait()
            log_text = log_path.read_text(errors="replace")
            requests = api.stats.requests
            posted = len(slack.messages(CHANNEL))
            throttled = slack.ratelimited
    if not samples:
        tail = "\n".join(log_text.splitlines()[-15:])
        raise RuntimeError(f"fleetbot run never answered /healthz; its log ends with:\n{tail}")
    values = [mb for _, mb in samples]
    third = max(1, len(values) // 3)
    middle, last = values[third : 2 * third] or values, values[-third:]
    return {
        "vehicles": vehicles,
        "seconds": samples[-1][0],
        "samples": samples,
        "start_mb": values[0],
        "peak_mb": max(values),
        "end_mb": values[-1],
        "drift_mb": statistics.median(last) - statistics.median(middle),
        "exit_code": bot.returncode,
        "api_requests": requests,
        "messages_posted": posted,
        "slack_429": throttled,
        "last_poll": (health or {}).get("last_poll"),
        "deliveries": (health or {}).get("deliveries"),
        "log_errors": sum(1 for line in log_text.splitlines() if " ERROR " in line),
        "tracebacks": log_text.count("Traceback"),
    }


def _sample(
    bot: subprocess.Popen[bytes],
    port: int,
    api: PsaSandbox,
    rng: random.Random,
    seconds: float,
    every: float,
    alerts_per_tick: int,
) -> tuple[list[tuple[float, float]], dict[str, Any] | None]:
    """Wait for /healthz, then sample RSS and stir the fleet until ``seconds`` have passed."""
    deadline = time.monotonic() + START_TIMEOUT
    while _health(port) is None:
        if bot.poll() is not None or time.monotonic() > deadline:
            return [], None
        time.sleep(0.2)
    vins = [v["vin"] for v in api.vehicles()]
    open_alerts: list[str] = []
    samples: list[tuple[float, float]] = []
    started = time.monotonic()
    while True:
        elapsed = time.monotonic() - started
        mb = rss_mb(bot.pid)
        if mb is None or bot.poll() is not None:
            break
        samples.append((elapsed, mb))
        if elapsed >= seconds:
            break
        for _ in range(alerts_per_tick):
            open_alerts.append(api.add_alert(rng.choice(vins), severity="Warning")["id"])
        while len(open_alerts) > 10 * alerts_per_tick:
            api.end_alert(open_alerts.pop(0))
        time.sleep(max(0.0, started + len(samples) * every - time.monotonic()))
    return samples, _health(port)


def rows(f: dict[str, Any]) -> list[Row]:
    """The figures against DESIGN.md section 8."""
    return [
        Row("memory: vehicles / sampled for", f"{f['vehicles']:,} / {f['seconds']:.0f} s"),
        Row("memory: RSS at start", fmt(f["start_mb"], 1, "MB")),
        Row(
            "memory: RSS peak",
            fmt(f["peak_mb"], 1, "MB"),
            f"< {TARGET_MB:.0f} MB",
            f["peak_mb"] < TARGET_MB,
        ),
        Row("memory: RSS at end", fmt(f["end_mb"], 1, "MB")),
        Row(
            "memory: drift, middle → last third",
            fmt(f["drift_mb"], 1, "MB"),
            f"flat (< {FLAT_MB:.0f} MB)",
            f["drift_mb"] < FLAT_MB,
        ),
        Row(
            "memory: API requests / Slack messages",
            f"{f['api_requests']:,} / {f['messages_posted']}",
        ),
        Row(
            "memory: errors in the bot's log",
            str(f["log_errors"] + f["tracebacks"]),
            "0",
            f["log_errors"] + f["tracebacks"] == 0,
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    """Run for ~2 minutes (or as told), print the figures, optionally write RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vehicles", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--every", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args(argv)
    figures = run(vehicles=args.vehicles, seconds=args.seconds, every=args.every)
    print("RSS samples (s: MB): " + ", ".join(f"{t:.0f}: {mb:.1f}" for t, mb in figures["samples"]))
    print(f"last poll {figures['last_poll']}, deliveries {figures['deliveries']}")
    print_rows(TITLE, rows(figures))
    if args.write:
        update_results({NAME: section(NAME, rows(figures))})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
