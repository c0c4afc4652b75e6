"""Slash-command ack latency while the API is slow (DESIGN.md section 8: p99 < 100 ms).

Starts the PSA sandbox with 300 ms latency per request, the Slack stand-in and the real bot in
HTTP mode (waitress), then sends ~200 signed slash commands from 8 concurrent "Slack" clients
and reports how long the bot took to answer each HTTP request (the ack), and how long until
every reply had arrived on its response_url. Prints figures; asserts nothing.

    .venv/bin/python bench/bench_ack.py [--commands 200] [--latency 0.3] [--senders 8]
                                        [--process-before-response]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402 - after the path set-up above
from bot.sandbox.psa import PsaSandbox, SandboxCerts  # noqa: E402
from bot.sandbox.slack import CommandResult, SlackDriver, SlackStandIn  # noqa: E402
from bot.web import make_wsgi_app, serve  # noqa: E402
from bot.wiring import build_fleetbot  # noqa: E402

SIGNING_SECRET = "bench-signing-secret"


def percentile(values: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of ``values`` fall (nearest rank)."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.3, help="API latency, seconds")
    parser.add_argument("--senders", type=int, default=8, help="concurrent Slack clients")
    parser.add_argument(
        "--process-before-response",
        action="store_true",
        help="run ack functions inline (lazy work still runs in threads)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        certs = SandboxCerts.create(work / "certs")
        with (
            PsaSandbox(certs, vehicles=25, latency=args.latency) as sandbox,
            SlackStandIn(channels=("C0OPS",)) as slack,
        ):
            settings = Settings.from_env(
                {
                    **sandbox.env(),
                    "SLACK_BOT_TOKEN": slack.bot_token,
                    "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                    "SLACK_API_URL": slack.api_url,
                    "FLEETBOT_DB": str(work / "bench.db"),
                }
            )
            fleetbot = build_fleetbot(
                settings, process_before_response=args.process_before_response
            )
            server = serve(make_wsgi_app(fleetbot.app), "127.0.0.1", 0)
            driver = SlackDriver(slack, server.url + "/slack/events", SIGNING_SECRET)
            vins = [v["vin"] for v in sandbox.vehicles()]
            commands = [
                ("/fleet", f"status {vins[i % len(vins)]}")
                if i % 3 == 0
                else ("/alert", vins[i % len(vins)])
                if i % 3 == 1
                else ("/trips", f"{vins[i % len(vins)]} yesterday")
                for i in range(args.commands)
            ]
            driver.command("/fleet", "help").replies()  # warm-up: auth.test, first connection

            started = time.perf_counter()
            with ThreadPoolExecutor(args.senders) as senders:
                results: list[CommandResult] = list(
                    senders.map(lambda c: driver.command(c[0], c[1]), commands)
                )
            sent = time.perf_counter() - started
            for result in results:
                result.replies(timeout=300)
            answered = time.perf_counter() - started

            acks = [r.elapsed * 1000 for r in results]
            statuses = {r.status for r in results}
            print(f"commands:        {len(results)} from {args.senders} senders")
            print(f"API latency:     {args.latency * 1000:.0f} ms per request (sandbox)")
            print(f"process_before_response: {args.process_before_response}")
            print(f"HTTP statuses:   {sorted(statuses)}")
            print(f"ack p50:         {statistics.median(acks):.1f} ms")
            print(f"ack p99:         {percentile(acks, 0.99):.1f} ms")
            print(f"ack max:         {max(acks):.1f} ms")
            print(f"all sent in:     {sent:.2f} s")
            print(f"all replied in:  {answered:.2f} s")
            print(f"API requests:    {sandbox.stats.requests}")

            server.close()
            fleetbot.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
