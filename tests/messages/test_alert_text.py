"""Tests for bot.messages.alert_text: alert types and severities in words."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from bot.messages.alert_text import (
    ALERT_TEXTS,
    SEVERITIES,
    UNKNOWN_ALERT,
    alert_text,
    humanise_type,
    language,
    normalise_type,
    parse_severity,
    severity_badge,
    severity_rank,
)

CURRENT_SPEC = "api-b2b-v3.19.2.yaml"
# Older specs whose alert types are camelCase (2019 quick-guide era, and 3.0.7).
CAMELCASE_SPECS = (
    "api-b2b-v2.0-2019-08-02.yaml",
    "api-b2b-v2.0.3-2019-08-28.yaml",
    "api-b2b-v3.0.7.yaml",
)


def _spec_dir() -> Path:
    """Return the vendor spec directory: $FLEETBOT_PSA_SPECS or the repo's sibling shared/."""
    override = os.environ.get("FLEETBOT_PSA_SPECS")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2].parent / "shared" / "psa-api"


def _alert_types(name: str) -> list[str]:
    """Return the AlertMsgEnum values of one spec file, skipping the test if it is absent."""
    path = _spec_dir() / name
    if not path.is_file():
        pytest.skip(f"vendor spec {path} not found; set FLEETBOT_PSA_SPECS to its directory")
    # 3.0.7 holds literal TABs that YAML rejects (see SOURCE.md); spaces are equivalent there.
    spec: Any = YAML(typ="safe").load(path.read_text(encoding="utf-8").replace("\t", " "))
    values = spec["components"]["schemas"]["AlertMsgEnum"]["enum"]
    assert all(isinstance(v, str) for v in values)
    return list(values)


def test_every_current_type_has_english_and_french_text() -> None:
    """Every v3.19.2 AlertMsgEnum value is in the table, and alert_text uses that entry."""
    types = _alert_types(CURRENT_SPEC)
    assert len(types) >= 100  # the spec lists 104; a parse slip would show up as a tiny list
    missing = [t for t in types if t not in ALERT_TEXTS]
    assert missing == []
    for t in types:
        assert normalise_type(t) == t
        assert alert_text(t, "en-GB") == ALERT_TEXTS[t].en
        assert alert_text(t, "fr-FR") == ALERT_TEXTS[t].fr


@pytest.mark.parametrize("spec_name", CAMELCASE_SPECS)
def test_every_older_camelcase_type_maps_after_normalisation(spec_name: str) -> None:
    """Each camelCase type of the 2019 specs and 3.0.7 finds its entry once normalised."""
    types = _alert_types(spec_name)
    assert any(t[:1].islower() for t in types)  # really the camelCase generation
    unmapped = [t for t in types if normalise_type(t) not in ALERT_TEXTS]
    assert unmapped == []
    for t in types:
        entry = ALERT_TEXTS[normalise_type(t)]
        assert alert_text(t, "en") == entry.en
        assert alert_text(t, "fr") == entry.fr


def test_examples_read_like_instructions() -> None:
    """The brief's example is worded as asked, in both languages."""
    assert alert_text("AddWasherFluid") == "Add windscreen washer fluid"
    assert alert_text("AddWasherFluid", "fr-FR") == "Faire l'appoint de liquide lave-glace"
    assert alert_text("addWasherFluid", "en-GB") == "Add windscreen washer fluid"


def test_no_empty_or_padded_text() -> None:
    """No entry has an empty, blank or whitespace-padded string in either language."""
    for key, entry in ALERT_TEXTS.items():
        assert key and key == key.strip() and key[0].isupper(), key
        for text in (entry.en, entry.fr):
            assert text and text == text.strip() and "  " not in text, key


def test_french_differs_from_english() -> None:
    """French texts are translations, not copies of the English (catches copy-paste)."""
    same = [k for k, e in ALERT_TEXTS.items() if e.en.casefold() == e.fr.casefold()]
    assert len(same) <= len(ALERT_TEXTS) // 20, same
    english_words = (" fault", "have it", " open", " the ", " low")
    leaked = [k for k, e in ALERT_TEXTS.items() if any(w in e.fr.lower() for w in english_words)]
    assert leaked == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("addWasherFluid", "AddWasherFluid"),
        ("  AddWasherFluid\n", "AddWasherFluid"),
        ("alertCoolantTemp", "AlertCoolantTemp"),
        ("coolantLevelLow", "CoolantLevellow"),  # vendor spelling is the key; case drift tolerated
        ("someNewThing", "SomeNewThing"),  # unknown: kept, only first letter raised
        ("SomeNewThing", "SomeNewThing"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_normalise_type(raw: str, expected: str) -> None:
    """normalise_type strips, raises the first letter, and keeps unknown types."""
    assert normalise_type(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("SomeNewThing", "Some new thing"),
        ("someNewThing", "Some new thing"),
        ("ESPSensorFault", "ESP sensor fault"),
        ("SpeedLimitTo90km", "Speed limit to 90 km"),
        ("brand_new_ALERT", "Brand new ALERT"),
    ],
)
def test_unknown_type_is_humanised(raw: str, expected: str) -> None:
    """An unknown type is split into words in both locales instead of raising."""
    assert normalise_type(raw) not in ALERT_TEXTS
    assert humanise_type(raw) == expected
    assert alert_text(raw, "en-GB") == expected
    assert alert_text(raw, "fr-FR") == expected


@pytest.mark.parametrize("raw", ["", "   ", "___", "--"])
def test_type_without_words_gets_generic_text(raw: str) -> None:
    """A blank or wordless type still gives a readable, localised text."""
    assert alert_text(raw, "en-GB") == UNKNOWN_ALERT.en
    assert alert_text(raw, "fr") == UNKNOWN_ALERT.fr


@settings(deadline=None, max_examples=200)
@given(raw=st.text(), locale=st.sampled_from(["en-GB", "fr-FR", "", "de"]))
def test_alert_text_never_raises_and_never_empty(raw: str, locale: str) -> None:
    """Whatever the API sends as type, the text is a non-empty string."""
    text = alert_text(raw, locale)
    assert isinstance(text, str) and text.strip()


def test_label_from_api_is_preferred() -> None:
    """A label sent by the API (up to 3.0.7) is shown as is, whatever our table says."""
    label = "Niveau de liquide lave-glace bas"
    assert alert_text("AddWasherFluid", "en-GB", label=label) == label
    assert alert_text("SomeNewThing", "fr-FR", label=f"  {label} ") == label


@pytest.mark.parametrize("label", [None, "", "   "])
def test_blank_label_falls_back_to_table(label: str | None) -> None:
    """A missing or blank label does not hide the table's text."""
    assert alert_text("OilLevelLow", "en-GB", label=label) == ALERT_TEXTS["OilLevelLow"].en


@pytest.mark.parametrize(
    ("locale", "lang"),
    [
        ("fr", "fr"),
        ("fr-FR", "fr"),
        ("FR_ca", "fr"),
        (" fr-BE", "fr"),
        ("en-GB", "en"),
        ("en-US", "en"),
        ("de-DE", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_locale_selection(locale: str | None, lang: str) -> None:
    """French for locales starting with fr, English for every other locale."""
    assert language(locale) == lang
    entry = ALERT_TEXTS["LeftFrontTirePuncture"]
    assert alert_text("LeftFrontTirePuncture", locale or "") == getattr(entry, lang)


def test_default_locale_is_english() -> None:
    """alert_text and severity_badge default to en-GB."""
    assert alert_text("RiskOfIce") == "Risk of ice: drive carefully"
    assert severity_badge("Warning") == ":large_orange_circle: Warning"


@pytest.mark.parametrize(
    ("severity", "en", "fr"),
    [
        ("Critical", ":red_circle: Critical", ":red_circle: Critique"),
        ("Warning", ":large_orange_circle: Warning", ":large_orange_circle: Avertissement"),
        ("Information", ":large_blue_circle: Information", ":large_blue_circle: Information"),
        ("critical", ":red_circle: Critical", ":red_circle: Critique"),
        (None, ":white_circle:", ":white_circle:"),
        ("", ":white_circle:", ":white_circle:"),
        ("Fatal", ":white_circle: Fatal", ":white_circle: Fatal"),
    ],
)
def test_severity_badge(severity: str | None, en: str, fr: str) -> None:
    """Each severity has its emoji and name; unknown ones get a neutral badge."""
    assert severity_badge(severity, "en-GB") == en
    assert severity_badge(severity, "fr-FR") == fr


@pytest.mark.parametrize(
    ("severity", "rank"),
    [
        ("Information", 0),
        ("Warning", 1),
        ("Critical", 2),
        ("WARNING", 1),
        ("crit", 2),
        (None, 0),
        ("", 0),
        ("Fatal", 0),
    ],
)
def test_severity_rank(severity: str | None, rank: int) -> None:
    """Information < Warning < Critical; unknown and missing rank as Information."""
    assert severity_rank(severity) == rank


def test_severity_rank_orders_the_spec_enum() -> None:
    """The spec's severities are strictly increasing in rank, as routing expects."""
    ranks = [severity_rank(s) for s in SEVERITIES]
    assert ranks == sorted(ranks) and len(set(ranks)) == 3
    threshold = severity_rank(parse_severity("warn"))
    assert [s for s in SEVERITIES if severity_rank(s) >= threshold] == ["Warning", "Critical"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("info", "Information"),
        ("Information", "Information"),
        ("INFO", "Information"),
        ("warn", "Warning"),
        (" Warning ", "Warning"),
        ("crit", "Critical"),
        ("CRITICAL", "Critical"),
        ("critique", "Critical"),
        ("avertissement", "Warning"),
        ("", None),
        ("urgent", None),
        (">=warn", None),  # the operator belongs to the route parser, not here
    ],
)
def test_parse_severity(text: str, expected: str | None) -> None:
    """Names and short forms are accepted in any case; anything else is None."""
    assert parse_severity(text) == expected
