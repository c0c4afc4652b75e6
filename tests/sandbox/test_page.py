"""The HTML page of the Slack stand-in's conversation: names not ids, escaped, seen in Chromium."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient

from bot.sandbox.psa import PsaSandbox, SandboxCerts
from bot.sandbox.slack import SlackStandIn
from bot.sandbox.slack.page import render_page, write_page

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NO_CHROMIUM = (
    "Chromium is not installed: `apt-get install chromium` (Debian; .ci/run does it) "
    "to check the page as a browser shows it"
)
CHART_TITLE = "Alerts per day"
HOSTILE = "<img src=x onerror=alert(1)> & <script>alert(2)</script>"


def png(width: int, height: int) -> bytes:
    """A small striped PNG (a stand-in for the report's chart)."""
    rows = b"".join(
        b"\x00" + b"".join(bytes((40, 120 + x % 100, 200)) for x in range(width))
        for _ in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def conversation(tmp_path_factory):
    """Real alert messages posted by `fleetbot poll`, then a thread, an ephemeral and a chart."""
    tmp = tmp_path_factory.mktemp("page")
    certs = SandboxCerts.create(tmp / "certs")
    with PsaSandbox(certs, vehicles=3) as sandbox, SlackStandIn() as slack:
        slack.add_user("U0MANAGER", "manager")
        sandbox.add_alert(sandbox.vehicles()[0]["vin"])
        sandbox.add_alert(sandbox.vehicles()[1]["vin"], type="TyrePressureLow", severity="Alert")
        clean = {
            k: v for k, v in os.environ.items() if not k.startswith(("PSA_", "SLACK_", "FLEETBOT_"))
        }
        env = {
            **clean,
            **sandbox.env(),
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_API_URL": slack.api_url,
            "FLEETBOT_DB": str(tmp / "fleetbot.db"),
            "FLEETBOT_ALERT_CHANNEL": "C0OPS",
        }
        done = subprocess.run(
            [sys.executable, "-m", "bot", "--env-file", os.devnull, "poll"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 0, done.stderr
        client = WebClient(token=slack.bot_token, base_url=slack.api_url)
        first = slack.messages("C0OPS")[0]
        client.chat_postMessage(
            channel="C0OPS", thread_ts=first.ts, text="Acknowledged by <@U0MANAGER> in <#C0DEPOT>"
        )
        client.chat_postEphemeral(
            channel="C0OPS", user="U0MANAGER", text="Muted for 24 h: only you see this"
        )
        chart = "data:image/png;base64," + base64.b64encode(png(240, 120)).decode()
        client.chat_postMessage(
            channel="C0ALERTS",
            text="Daily report",
            blocks=[
                {"type": "header", "text": {"type": "plain_text", "text": HOSTILE}},
                {"type": "section", "text": {"type": "mrkdwn", "text": "*Daily report*"}},
                {
                    "type": "image",
                    "image_url": chart,
                    "alt_text": "chart",
                    "title": {"type": "plain_text", "text": CHART_TITLE},
                },
            ],
        )
        client.chat_postMessage(
            channel="C0ALERTS",
            text="&lt;b&gt;escaped by Slack&lt;/b&gt; <javascript:alert(3)|a link>",
        )
        yield slack, tmp


def visible_text(page: str) -> str:
    """The text a reader could see (tags, styles and attributes dropped)."""

    class Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.parts: list[str] = []
            self.skip = 0

        def handle_starttag(self, tag, attrs):
            self.skip += tag in ("style", "script", "title")

        def handle_endtag(self, tag):
            self.skip -= tag in ("style", "script", "title")

        def handle_data(self, data):
            if not self.skip:
                self.parts.append(data)

    parser = Text()
    parser.feed(page)
    return " ".join(parser.parts)


def test_people_and_channels_by_name_dates_in_the_zone_and_links_by_label(conversation):
    slack, _tmp = conversation
    page = render_page(slack, zone="Asia/Tokyo")
    text = visible_text(page)
    for raw in ("C0OPS", "C0DEPOT", "U0MANAGER", "<!date", "<@", "<#", "|"):
        assert raw not in text, raw
    assert "#ops" in text and "#depot" in text and "@manager" in text
    assert "Add windscreen washer fluid" in text and "Acknowledge" in text
    assert "Only visible to @manager" in text
    # Dates in the reader's zone, not the UTC fallback; "Today" for {date_short_pretty}.
    started = re.search(r"<!date\^(\d+)\^", json.dumps(slack.messages("C0OPS")[0].blocks))
    assert started is not None
    tokyo = dt.datetime.fromtimestamp(int(started.group(1)), ZoneInfo("Asia/Tokyo"))
    assert "UTC" not in text and f"Started Today {tokyo:%H:%M}" in text
    assert 'href="https://www.openstreetmap.org/' in page and "mlat" not in text


def test_everything_is_escaped_and_nothing_loads_from_outside(conversation):
    slack, _tmp = conversation
    page = render_page(slack)
    assert "<script" not in page and "<img src=x" not in page and "javascript:" not in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page
    assert "&lt;b&gt;escaped by Slack&lt;/b&gt;" in page
    assert "default-src 'none'; img-src data:" in page
    assert 'src="data:image/png;base64,' in page


def test_thread_replies_sit_under_their_message(conversation):
    slack, _tmp = conversation
    page = render_page(slack)
    thread = page.index('<div class="thread">')
    assert page.index("Add windscreen washer fluid") < thread < page.index("Acknowledged by")
    assert page.index("Acknowledged by") < page.index("Tyre pressure low")


PROBE = """<script>
addEventListener('load', () => {
  const seen = el => { const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'; };
  const texts = {};
  for (const needle of NEEDLES) {
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    let node, found = false;
    while ((node = walker.nextNode())) {
      if (node.data.includes(needle) && seen(node.parentElement)) { found = true; break; }
    }
    texts[needle] = found;
  }
  const buttons = [...document.querySelectorAll('[role=button]')]
    .filter(seen).map(b => b.textContent.trim());
  const images = [...document.images]
    .map(i => ({alt: i.alt, shown: i.complete && i.naturalWidth > 0 && seen(i)}));
  document.body.setAttribute('data-probe', JSON.stringify({texts, buttons, images}));
});
</script>"""


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def probe(page: Path, needles: list[str], workdir: Path, *, height: int) -> dict[str, Any]:
    """What Chromium shows of ``page``: which ``needles`` are visible, the buttons, the images.

    The probe needs a script; the page itself allows none, so a copy relaxes only that.
    """
    probed = page.read_text().replace(
        "default-src 'none'", "default-src 'none'; script-src 'unsafe-inline'"
    )
    probed = probed.replace("</body>", PROBE.replace("NEEDLES", json.dumps(needles)) + "</body>")
    (workdir / "probed.html").write_text(probed)
    done = chromium(
        f"--window-size=1280,{height}",
        "--virtual-time-budget=5000",
        "--dump-dom",
        (workdir / "probed.html").as_uri(),
        profile=workdir / "profile-dom",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    marker = 'data-probe="'
    start = done.stdout.index(marker) + len(marker)
    raw = done.stdout[start : done.stdout.index('"', start)]
    found: dict[str, Any] = json.loads(raw.replace("&quot;", '"').replace("&amp;", "&"))
    return found


@pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)
def test_chromium_shows_the_alerts_the_buttons_and_the_chart(conversation):
    slack, tmp = conversation
    page = write_page(slack, tmp / "conversation.html")
    needles = ["Add windscreen washer fluid", "Tyre pressure low", "Acknowledged by", CHART_TITLE]
    shown = probe(page, needles, tmp, height=2000)
    assert all(shown["texts"].values()), shown["texts"]
    assert shown["buttons"].count("Acknowledge") == 2 and "Mute 24 h" in shown["buttons"]
    assert shown["images"] == [{"alt": "chart", "shown": True}]

    shot = tmp / "conversation.png"
    done = chromium(
        f"--screenshot={shot}",
        "--window-size=1280,1400",
        page.as_uri(),
        profile=tmp / "profile-shot",
    )
    assert done.returncode == 0 and shot.stat().st_size > 10_000, done.stderr[-2000:]
