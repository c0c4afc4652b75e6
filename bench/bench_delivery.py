"""A burst of alerts for three channels at once through the real DeliveryService.

1,000 alerts are queued in one ingest (routes by vehicle split them over three channels), then
the real :class:`~bot.alerts.delivery.DeliveryService` (one post per second per channel)
posts them to the Slack stand-in, which answers 429 above ~1 post/s per channel. Delivery runs
are repeated, as the scheduler does, until the outbox is empty. Deliveries are counted from the
message metadata in the channels: every alert exactly once.

    .venv/bin/python -m bench.bench_delivery [--alerts 1000] [--channels 3] [--write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import Row, fmt, print_rows, section, update_results
from bot.alerts.delivery import DeliveryService
from bot.alerts.routing import AlertRouter
from bot.config import Settings
from bot.directory import VehicleDirectory
from bot.messages.alert_table import ALERT_TEXTS
from bot.messages.alerts import alert_ids_in
from bot.posting.slack_port import SlackPort
from bot.sandbox.slack import SlackStandIn
from bot.store import Ledger, StoredAlert
from bot.wiring import slack_web_client

NAME = "delivery"
TITLE = "alerts for several channels at once through DeliveryService"
SEVERITIES = ("Information", "Warning", "Critical")
TARGET_RATE = 1.0
RATE_SLACK = 1.05  # "≤ ~1 post/s": allow the stand-in's clock granularity
TIMEOUT = 900.0


def _alerts(count: int, vehicles: list[dict[str, Any]]) -> list[StoredAlert]:
    """``count`` active alerts spread over the vehicles, shaped like API v3 alerts."""
    types = sorted(ALERT_TEXTS)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    out = []
    for i in range(count):
        vehicle = vehicles[i % len(vehicles)]
        started = now - dt.timedelta(seconds=count - i)
        kind, severity = types[(i * 7) % len(types)], SEVERITIES[i % len(SEVERITIES)]
        payload = {
            "id": f"bench-alert-{i:05d}",
            "vin": vehicle["vin"],
            "active": True,
            "type": kind,
            "severity": severity,
            "createdAt": started.isoformat(),
            "startedAt": started.isoformat(),
            "startPosition": {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [2.35 + i / 1e4, 48.85, 35]},
                "properties": {"updatedAt": started.isoformat()},
            },
        }
        out.append(
            StoredAlert(
                id=payload["id"],
                vehicle_id=vehicle["id"],
                vin=vehicle["vin"],
                type=kind,
                severity=severity,
                active=True,
                started_at=started,
                updated_at=started,
                payload=payload,
            )
        )
    return out


def run(
    alerts: int = 1000,
    channels: int = 3,
    vehicles: int = 60,
    post_rate: float = 1.0,
    interval: float = 1.0,
) -> dict[str, Any]:
    """Queue ``alerts`` alerts for ``channels`` channels, deliver them all; return the figures."""
    names = [f"C0BENCH{i}" for i in range(channels)]
    fleet = [
        {"id": f"veh-{i:04d}", "vin": f"VR3BENCH{i:09d}", "brand": "Peugeot", "model": "e-208"}
        for i in range(vehicles)
    ]
    with (
        tempfile.TemporaryDirectory(prefix="bench-delivery-") as tmp,
        SlackStandIn(channels=names, post_rate_per_channel=post_rate) as slack,
    ):
        settings = Settings.from_env(
            {
                "SLACK_BOT_TOKEN": slack.bot_token,
                "SLACK_API_URL": slack.api_url,
                "FLEETBOT_DB": str(Path(tmp) / "d.db"),
            }
        )
        ledger = Ledger(settings.db_path)
        try:
            ledger.replace_vehicles(fleet)
            for n, channel in enumerate(names):
                ledger.add_route(channel, vins=[v["vin"] for v in fleet[n::channels]])
            queued = ledger.ingest(_alerts(alerts, fleet), AlertRouter.from_ledger(ledger, None))
            delivery = DeliveryService(
                ledger,
                SlackPort(slack_web_client(settings)),
                # names() reads the ledger only: no API client is needed for it
                vehicle_names=VehicleDirectory(None, ledger).names,  # type: ignore[arg-type]
                per_channel_interval=interval,
            )
            runs = rate_limited = 0
            wall_start = time.time()  # the stand-in stamps its calls with time.time()
            started = time.perf_counter()
            while time.perf_counter() - started < TIMEOUT:
                report = delivery.run_once()
                runs += 1
                rate_limited += report.rate_limited
                counts = ledger.counts()
                if not counts.get("pending") and not counts.get("sending"):
                    break
                time.sleep(0.1)  # deferred rows wait for their retry time
            seconds = time.perf_counter() - started
            final = ledger.counts()
        finally:
            ledger.close()
        posts = [c for c in slack.calls if c.method == "chat.postMessage" and c.status == 200]
        per_channel = {}
        found: Counter[str] = Counter()
        digests = 0
        for channel in names:
            times = sorted(c.time for c in posts if c.params.get("channel") == channel)
            messages = slack.messages(channel)
            for message in messages:
                ids = alert_ids_in(message.metadata)
                found.update(ids)
                digests += len(ids) > 1
            per_channel[channel] = {
                "messages": len(messages),
                "first_post_after": times[0] - wall_start if times else None,
                "last_post_after": times[-1] - wall_start if times else None,
                "sustained_rate": (len(times) - 1) / (times[-1] - times[0])
                if len(times) > 1
                else 0.0,
                "peak_in_1s": max(
                    (sum(1 for u in times if t <= u < t + 1.0) for t in times), default=0
                ),
            }
        throttled = slack.ratelimited
    expected = {a.id for a in _alerts(alerts, fleet)}
    return {
        "alerts": alerts,
        "channels": channels,
        "queued": queued.deliveries,
        "seconds": seconds,
        "delivery_runs": runs,
        "messages": sum(c["messages"] for c in per_channel.values()),
        "digests": digests,
        "per_channel": per_channel,
        "max_sustained_rate": max(c["sustained_rate"] for c in per_channel.values()),
        "max_peak_in_1s": max(c["peak_in_1s"] for c in per_channel.values()),
        # what 1 post/s per channel allows when channels are served side by side
        "ideal_seconds": max(c["messages"] for c in per_channel.values()) / post_rate,
        "slowest_first_post": max((c["first_post_after"] or 0.0) for c in per_channel.values()),
        "ratelimited_429": throttled,
        "rate_limited_seen_by_service": rate_limited,
        "lost": len(expected - set(found)),
        "duplicated": sum(n - 1 for n in found.values() if n > 1),
        "unexpected": len(set(found) - expected),
        "outbox": final,
    }


def rows(f: dict[str, Any]) -> list[Row]:
    """The figures against DESIGN.md section 8."""
    return [
        Row("delivery: alerts / channels", f"{f['alerts']:,} / {f['channels']}"),
        Row("delivery: seconds until all delivered", fmt(f["seconds"], 1, "s")),
        Row(
            "delivery: ideal at 1 post/s/channel, channels in parallel",
            fmt(f["ideal_seconds"], 1, "s"),
        ),
        Row("delivery: latest first post of a channel", fmt(f["slowest_first_post"], 1, "s")),
        Row(
            "delivery: posts/s per channel sustained (max)",
            fmt(f["max_sustained_rate"], 2),
            "≤ ~1",
            f["max_sustained_rate"] <= TARGET_RATE * RATE_SLACK,
        ),
        Row("delivery: most posts in any 1 s, one channel", str(f["max_peak_in_1s"])),
        Row("delivery: messages (of which digests)", f"{f['messages']} ({f['digests']})"),
        Row("delivery: 429 answers from Slack", str(f["ratelimited_429"]), "0 (ideally)"),
        Row("delivery: alerts lost", str(f["lost"]), "0", f["lost"] == 0),
        Row("delivery: alerts duplicated", str(f["duplicated"]), "0", f["duplicated"] == 0),
    ]


def main(argv: list[str] | None = None) -> int:
    """Run at full size (or as told), print the figures, optionally write RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args(argv)
    figures = run(alerts=args.alerts, channels=args.channels)
    for channel, c in figures["per_channel"].items():
        print(
            f"{channel}: {c['messages']} messages, {c['sustained_rate']:.2f} posts/s sustained, "
            f"at most {c['peak_in_1s']} in 1 s, "
            f"first post after {c['first_post_after'] or 0:.1f} s, "
            f"last after {c['last_post_after'] or 0:.1f} s"
        )
    print(f"delivery runs: {figures['delivery_runs']}, outbox at the end: {figures['outbox']}")
    print_rows(TITLE, rows(figures))
    if args.write:
        update_results({NAME: section(NAME, rows(figures))})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
