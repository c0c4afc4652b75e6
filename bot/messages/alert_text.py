"""Alert type and severity in words (English or French), from the codes the API sends.

Since spec 3.0.7 the API sends only a ``type`` code (PascalCase in 3.19.2, camelCase in the 2019
specs and 3.0.7) and no human text, so Fleetbot words it itself from ``ALERT_TEXTS``. Unknown
types are humanised ("SomeNewThing" -> "Some new thing"), never an error: the vendor adds types
without notice and an alert must still reach Slack.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from bot.messages.alert_table import ALERT_TEXTS, AlertText

__all__ = [
    "ALERT_TEXTS",
    "SEVERITIES",
    "SEVERITY",
    "UNKNOWN_ALERT",
    "UNKNOWN_SEVERITY",
    "AlertText",
    "SeverityStyle",
    "alert_text",
    "humanise_type",
    "language",
    "normalise_type",
    "parse_severity",
    "severity_badge",
    "severity_rank",
]

# Shown when the type is empty or cannot be humanised.
UNKNOWN_ALERT = AlertText("Vehicle alert", "Alerte véhicule")

# Case-insensitive index, for a type whose case drifted (e.g. "CoolantLevelLow" vs "...Levellow").
_CASEFOLDED: Mapping[str, str] = MappingProxyType({k.casefold(): k for k in ALERT_TEXTS})

# Words of an identifier: acronyms ("ESP" in "ESPFault"), capitalised or lower words, numbers.
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_SEPARATORS = re.compile(r"[^A-Za-z0-9]+")


@dataclass(frozen=True, slots=True)
class SeverityStyle:
    """How one severity level is shown: Slack emoji, English and French name, routing rank."""

    emoji: str
    en: str
    fr: str
    rank: int


SEVERITIES: tuple[str, ...] = ("Information", "Warning", "Critical")

SEVERITY: Mapping[str, SeverityStyle] = MappingProxyType(
    {
        "Information": SeverityStyle(":large_blue_circle:", "Information", "Information", 0),
        "Warning": SeverityStyle(":large_orange_circle:", "Warning", "Avertissement", 1),
        "Critical": SeverityStyle(":red_circle:", "Critical", "Critique", 2),
    }
)

# Missing severity: neutral badge, lowest rank (so it never passes a severity>=Warning route).
UNKNOWN_SEVERITY = SeverityStyle(":white_circle:", "Unknown severity", "Gravité inconnue", 0)

# Accepted spellings for `/fleet subscribe severity>=…` (lower-cased): names, short forms, French.
_SEVERITY_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "information": "Information",
        "informational": "Information",
        "info": "Information",
        "inf": "Information",
        "warning": "Warning",
        "warn": "Warning",
        "avertissement": "Warning",
        "critical": "Critical",
        "crit": "Critical",
        "critique": "Critical",
    }
)


def language(locale: str | None) -> str:
    """Return "fr" for a locale starting with "fr" (fr, fr-FR, fr_CA), else "en"."""
    return "fr" if (locale or "").strip().lower().startswith("fr") else "en"


def normalise_type(raw: str) -> str:
    """Return the PascalCase key for an alert type: stripped, first letter upper-cased.

    A type that matches a known key except for letter case returns that key; any other
    unknown type is kept as it is (after the two steps above).
    """
    text = raw.strip()
    pascal = text[:1].upper() + text[1:]
    if pascal in ALERT_TEXTS:
        return pascal
    return _CASEFOLDED.get(pascal.casefold(), pascal)


def humanise_type(type_: str) -> str:
    """Turn an unknown type code into words ("SomeNewThing" -> "Some new thing"); "" if none."""
    text = type_.strip()
    if not text:
        return ""
    if not text.isascii():
        # Our word splitter knows only ASCII letters; show such codes as they came.
        return text
    words = [w for part in _SEPARATORS.split(text) for w in _WORD.findall(part)]
    if not words:
        return ""
    # Acronyms (ESP, ABS) keep their capitals; other words are lower-cased like a sentence.
    shown = [w if len(w) > 1 and w.isupper() else w.lower() for w in words]
    sentence = " ".join(shown)
    return sentence[:1].upper() + sentence[1:]


def alert_text(type_: str, locale: str = "en-GB", label: str | None = None) -> str:
    """Return the alert in words for the locale, preferring the API's own ``label``.

    A non-blank ``label`` wins because it is the vendor's wording (APIs up to 3.0.7 sent it in
    the requested locale) and may be more precise than our table; newer APIs send none, and
    then the type is looked up in ``ALERT_TEXTS`` (French for "fr*" locales, else English).
    An unknown type is humanised from its code; this function never raises.
    """
    if label is not None and label.strip():
        return label.strip()
    key = normalise_type(type_ or "")
    known = ALERT_TEXTS.get(key)
    if known is None:
        humanised = humanise_type(key)
        if humanised:
            return humanised
        known = UNKNOWN_ALERT
    return known.fr if language(locale) == "fr" else known.en


def parse_severity(text: str) -> str | None:
    """Return the canonical severity (Information/Warning/Critical) for a name or short form.

    Case-insensitive; accepts info, warn, crit (and French critique, avertissement); None if
    the text names no severity.
    """
    return _SEVERITY_ALIASES.get(text.strip().lower()) if text else None


def _style(severity: str | None) -> SeverityStyle | None:
    """Return the style of a severity as sent by the API or typed by a person, if known."""
    if not severity:
        return None
    return SEVERITY.get(severity) or SEVERITY.get(parse_severity(severity) or "")


def severity_badge(severity: str | None, locale: str = "en-GB") -> str:
    """Return emoji and name of a severity, e.g. ":red_circle: Critical" (fr: "Critique")."""
    style = _style(severity)
    french = language(locale) == "fr"
    if style is None:
        name = (severity or "").strip()
        if not name:
            # The 2019 (quick-guide) API sends no severity at all: saying "unknown" on
            # every alert would be noise, so only the neutral dot is shown.
            return UNKNOWN_SEVERITY.emoji
        # An unknown value is still shown as sent, so nothing the API says is hidden.
        return f"{UNKNOWN_SEVERITY.emoji} {name}"
    return f"{style.emoji} {style.fr if french else style.en}"


def severity_rank(severity: str | None) -> int:
    """Return 0 for Information, 1 for Warning, 2 for Critical, and 0 for anything else."""
    style = _style(severity)
    return style.rank if style is not None else UNKNOWN_SEVERITY.rank
