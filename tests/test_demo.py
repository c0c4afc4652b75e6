"""`fleetbot demo` as a newcomer runs it: the transcript, its page and log, and the prompt."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.demo import LOG_WRITTEN, PAGE_WRITTEN, PROMPT, PROMPT_HELP
from tests.processes import clean_environ
from tests.sandbox.test_page import CHROMIUM, NO_CHROMIUM, probe, visible_text

DEMO_TIMEOUT = 120
RAW_IDS = re.compile(r"\b[CUW]0[A-Z0-9]+\b|<@|<#|<!date")
URL = re.compile(r"https?://\S+")
VIN_LENGTH = 17  # Opel VINs start W0L: those are vehicles, not Slack ids


def raw_ids(text: str) -> list[str]:
    """Slack ids and markup a reader should never see (URLs are shown as Slack shows them)."""
    found = RAW_IDS.findall(URL.sub("", text))
    return [raw for raw in found if len(raw) != VIN_LENGTH]


#: what each capability leaves in the transcript, in the tour's order
CAPABILITIES = {
    "first-start digest": "8 NEW VEHICLE ALERTS",
    "an alert by place name": "near Paris 18 Buttes-Montmartre, FR",
    "acknowledge, thread reply": "↳ Fleetbot: ✅ @manager acknowledged this alert",
    "escalation reminder": "↳ Fleetbot: @manager 🚨 This alert is still not acknowledged",
    "mute by type": "↳ Fleetbot: 🔇 @manager muted",
    "an alert ending": "🏁 This alert ended",
    "/trips": "manager: /trips VF39V0WG7PL496586 yesterday",
    "/alert": "manager: /alert VF39V0WG7PL496586",
    "a bad command": "No such vehicle “nosuchcar”",
    "its helpful answer": "Usage: `/trips <vehicle> [when]`",
    "push delivery": "Push is on",
    "morning report": "FLEET REPORT",
    "its chart": "[image: Fleet on",
}


def clean_env() -> dict[str, str]:
    """This environment without any Fleetbot, Slack or API settings, colour allowed."""
    return {k: v for k, v in clean_environ().items() if k != "NO_COLOR"}


def printed_path(template: str, stdout: str) -> Path:
    """The path the demo printed after ``template``'s text."""
    prefix = template.split("{", 1)[0]
    [line] = [line for line in stdout.splitlines() if line.startswith(prefix)]
    return Path(line[len(prefix) :].strip())


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> subprocess.CompletedProcess[str]:
    """One run of `python -m bot demo` without a terminal (the tour only)."""
    output = tmp_path_factory.mktemp("demo")
    return subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--output", str(output)],
        env=clean_env(),
        cwd=output,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )


def test_the_tour_exits_0_and_shows_names_not_ids_nor_log_lines(demo):
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert demo.stderr == ""
    out = demo.stdout
    assert "#ops" in out and "#alerts" in out and "@manager" in out
    assert not raw_ids(out), raw_ids(out)
    assert "\x1b[" not in out  # no colour when stdout is not a terminal
    for line in out.splitlines():
        assert not line.lstrip().startswith("{"), line  # no JSON log line
        assert not re.search(r"\b(DEBUG|INFO|WARNING|ERROR)\b", line), line
    assert "maximum number of running instances" not in out


def test_the_tour_shows_every_capability_in_order(demo):
    out = demo.stdout
    at = [out.find(text) for text in CAPABILITIES.values()]
    missing = [name for name, where in zip(CAPABILITIES, at, strict=True) if where < 0]
    assert not missing, out
    assert at == sorted(at), dict(zip(CAPABILITIES, at, strict=True))
    # one short narration line before each step: numbered 1. to 11.
    steps = re.findall(r"^(\d+)\. ", out, re.MULTILINE)
    assert steps == [str(n) for n in range(1, 12)]


def test_the_page_and_the_log_are_kept_and_the_log_has_the_bot_s_lines(demo):
    page = printed_path(PAGE_WRITTEN, demo.stdout)
    log = printed_path(LOG_WRITTEN, demo.stdout)
    assert page.is_file() and log.is_file()
    logged = log.read_text()
    assert "bot.alerts.delivery" in logged and "posted" in logged
    assert "xoxb-" not in logged
    text = page.read_text()
    assert "default-src 'none'; img-src data:" in text
    assert 'src="data:image/png;base64,' in text  # the uploaded chart, inlined
    assert not raw_ids(visible_text(text)), raw_ids(visible_text(text))


@pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)
def test_chromium_shows_the_demo_page_alerts_buttons_and_the_chart(demo, tmp_path):
    page = printed_path(PAGE_WRITTEN, demo.stdout)
    needles = [
        "Front left tyre puncture",
        "acknowledged this alert",
        "This alert ended",
        "Fleet on",
    ]
    shown = probe(page, needles, tmp_path, height=4000)
    assert all(shown["texts"].values()), shown["texts"]
    assert "Acknowledge" in shown["buttons"] and "Unmute" in shown["buttons"]
    charts = [i for i in shown["images"] if i["alt"].startswith("Chart")]
    assert charts and all(i["shown"] for i in charts), shown["images"]


class Terminal:
    """The parent side of a pseudo-terminal, read up to what a test waits for."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.pending = b""

    def read_until(self, needle: str, timeout: float) -> str:
        """Everything up to and including ``needle`` (AssertionError with what came if not)."""
        want = needle.encode()
        deadline = time.monotonic() + timeout
        while want not in self.pending:
            left = deadline - time.monotonic()
            came = self.pending.decode(errors="replace")
            assert left > 0, f"{needle!r} not seen in {timeout} s:\n{came}"
            ready, _, _ = select.select([self.fd], [], [], min(left, 0.5))
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:  # the child closed the terminal
                    chunk = b""
                assert chunk, f"closed before {needle!r}:\n{came}"
                self.pending += chunk
        at = self.pending.index(want) + len(want)
        seen, self.pending = self.pending[:at], self.pending[at:]
        return seen.decode(errors="replace")


def test_on_a_terminal_it_prompts_answers_a_command_and_quits_on_an_empty_line(tmp_path):
    parent, child = pty.openpty()
    env = {**clean_env(), "NO_COLOR": "1", "TERM": "dumb"}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "demo", "--output", str(tmp_path)],
        stdin=child,
        stdout=child,
        stderr=child,
        env=env,
        cwd=tmp_path,
        close_fds=True,
    )
    os.close(child)
    terminal = Terminal(parent)
    try:
        shown = terminal.read_until(PROMPT_HELP, DEMO_TIMEOUT)
        assert "\x1b[1" not in shown  # NO_COLOR holds on a terminal too
        terminal.read_until(PROMPT, 10)
        os.write(parent, b"/fleet help\n")
        answer = terminal.read_until("Admins only:", 30)
        assert "manager: /fleet help" in answer and "Usage:" in answer
        terminal.read_until(PROMPT, 30)
        os.write(parent, b"\n")
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(parent)
