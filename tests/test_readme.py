"""The README keeps telling the truth: its settings table, its systemd unit, its troubleshooting."""

from __future__ import annotations

import ast
import inspect
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from bot import cli, config
from bot.alerts.delivery import FAILED_NOTICE, PARKED_NOTICE, PAUSED_LOG
from bot.config import Settings
from bot.reports.post import TEXT as REPORT_TEXT
from bot.scheduler import CERT_NOTICE
from bot.wiring import Fleetbot

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
UNIT = ROOT / "deploy" / "fleetbot.service"
DESIGN = ROOT.parent / "shared" / "DESIGN.md"
UNIT_BINARY = "/opt/fleetbot/.venv/bin/fleetbot"
VARIABLE = re.compile(r"`([A-Z][A-Z0-9_]*)`")
ENV_NAME = re.compile(r"^(?:(?:PSA|SLACK|FLEETBOT)_[A-Z0-9_]+|PORT|HOST)$")


def section(text: str, heading: str) -> str:
    """The text under the first heading that starts with ``heading``, up to the next one as big."""
    level = heading.split(" ", 1)[0]
    start = next(m for m in re.finditer(rf"^{re.escape(heading)}.*$", text, re.MULTILINE))
    rest = text[start.end() :]
    end = re.search(rf"^#{{1,{len(level)}}} ", rest, re.MULTILINE)
    return rest[: end.start()] if end else rest


def table_variables(text: str) -> list[str]:
    """Every variable named in the first column of the first Markdown table in ``text``."""
    rows = [line for line in text.splitlines() if line.startswith("|")]
    assert len(rows) > 2, "no table found"
    names = []
    for row in rows[2:]:  # after the header and the |---| line
        names += VARIABLE.findall(row.split("|")[1])
    return names


class Recording(Mapping[str, str]):
    """An empty environment that remembers every name read from it."""

    def __init__(self) -> None:
        self.read: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.read.add(name)
        raise KeyError(name)

    def get(self, name: str, default: object = None) -> object:  # type: ignore[override]
        self.read.add(name)
        return default

    def __contains__(self, name: object) -> bool:
        self.read.add(str(name))
        return False

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def variables_the_code_reads() -> set[str]:
    """What Settings reads from the environment, plus every variable name bot/config.py spells."""
    env = Recording()
    Settings.collect(env)
    tree = ast.parse(inspect.getsource(config))
    spelled = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and ENV_NAME.match(node.value)
    }
    assert len(env.read) >= 20, env.read  # the recording really saw the reads
    return env.read | spelled


def test_the_settings_table_lists_exactly_what_the_code_reads():
    listed = table_variables(section(README.read_text(), "### 3. Settings"))
    assert len(listed) == len(set(listed)), "a variable is listed twice"
    code = variables_the_code_reads()
    assert sorted(code - set(listed)) == [], "read by bot/config.py, missing from the README"
    assert sorted(set(listed) - code) == [], "in the README, never read by bot/config.py"


def test_the_settings_table_covers_design_section_3():
    if not DESIGN.is_file():
        pytest.skip(f"{DESIGN} is absent (the contract lives beside the repository)")
    design = set(table_variables(section(DESIGN.read_text(), "## 3.")))
    assert len(design) >= 25, design
    listed = set(table_variables(section(README.read_text(), "### 3. Settings")))
    assert sorted(design - listed) == [], "in DESIGN.md §3, missing from the README"


def test_every_setting_row_has_a_default_and_a_meaning():
    text = section(README.read_text(), "### 3. Settings")
    rows = [line for line in text.splitlines() if line.startswith("|")][2:]
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert len(cells) == 3 and all(cells), row


# -- the systemd unit -----------------------------------------------------------------------


def test_the_readme_shows_the_unit_file_as_it_is():
    assert UNIT.read_text() in README.read_text()


def test_the_systemd_unit_verifies(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian: the systemd package)")
    unit = UNIT.read_text()
    assert f"ExecStart={UNIT_BINARY} " in unit
    # verify wants the ExecStart binary to exist: point it at one that does
    checked = tmp_path / UNIT.name
    checked.write_text(unit.replace(UNIT_BINARY, sys.executable))
    done = subprocess.run(
        [analyze, "verify", "--man=no", str(checked)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # verify exits 0 on unknown keys and bad values, only saying so: read what it says
    about_ours = [line for line in done.stderr.splitlines() if UNIT.name in line]
    assert done.returncode == 0 and about_ours == [], done.stderr


# -- troubleshooting -------------------------------------------------------------------------


def health_reason_codes() -> set[str]:
    """The reason codes Fleetbot.health can report, read from its source."""
    tree = ast.parse(inspect.cleandoc("\n" + inspect.getsource(Fleetbot.health)))
    codes = {
        node.elts[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Tuple)
        and len(node.elts) == 2
        and isinstance(node.elts[0], ast.Constant)
        and isinstance(node.elts[0].value, str)
    }
    assert len(codes) >= 5, codes
    return codes


def check_failure_kinds() -> set[str]:
    """What `fleetbot check` names at the start of its FAIL lines, read from bot/cli.py."""
    kinds = set()
    for node in ast.walk(ast.parse(inspect.getsource(cli))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "report"
            and len(node.args) == 2
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value is False
        ):
            text = node.args[1]
            first = text.values[0] if isinstance(text, ast.JoinedStr) else text
            assert isinstance(first, ast.Constant), ast.dump(text)
            kinds.add(str(first.value).split(":", 1)[0])
    assert len(kinds) >= 4, kinds
    return kinds


def troubleshooting() -> str:
    return section(README.read_text(), "## Troubleshooting")


@pytest.mark.parametrize("code", sorted(health_reason_codes()))
def test_every_healthz_reason_is_explained(code):
    assert f"- `{code}` — " in troubleshooting()


@pytest.mark.parametrize("kind", sorted(check_failure_kinds()))
def test_every_kind_of_check_failure_is_explained(kind):
    assert f"`FAIL  {kind}: " in troubleshooting()


@pytest.mark.parametrize(
    "notice",
    [
        FAILED_NOTICE,
        PARKED_NOTICE,
        CERT_NOTICE,
        PAUSED_LOG,
        REPORT_TEXT["gave_up"],
        REPORT_TEXT["skipped_quota"],
    ],
    ids=["failed", "parked", "certificate", "paused", "report-gave-up", "report-quota"],
)
def test_every_notice_to_operators_is_explained(notice):
    fixed = re.split(r"[{%<]", notice, maxsplit=1)[0]  # the words before the first placeholder
    assert len(fixed) > 10 and fixed in troubleshooting(), fixed


def test_every_image_the_readme_shows_is_in_the_repository():
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README.read_text())
    assert images, "the README shows the demo page"
    for image in images:
        assert (README.parent / image).is_file(), image
