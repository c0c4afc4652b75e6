"""bot.messages.markup: the mrkdwn boundary, dates and places."""

from __future__ import annotations

import datetime as dt

from bot.messages import texts
from bot.messages.markup import echo, escape, place, position_text, slack_date
from bot.psa.models import Position

FEATURE = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [2.2945, 48.8584, 35]}}


def test_escape_and_echo_make_outside_text_inert() -> None:
    """Slack's three control characters become entities; echo also makes one short line."""
    assert escape("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"
    assert escape(None) == ""
    assert echo("a\nb`c" + "x" * 100, limit=10) == "a b'cxxxx…"


def test_places_put_latitude_first() -> None:
    """GeoJSON is [lon, lat]; the OpenStreetMap link, parsed or raw, says lat first."""
    link = "https://www.openstreetmap.org/?mlat=48.85840&mlon=2.29450"
    assert link in place(Position.from_api(FEATURE))
    assert link in position_text(FEATURE)
    assert position_text({"geometry": {"coordinates": ["nan", 1]}}) == texts.UNKNOWN_PLACE


def test_slack_date_has_a_utc_fallback() -> None:
    """Readers see their own zone; the fallback text is UTC; no time says so."""
    moment = dt.datetime(2026, 11, 20, 19, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert slack_date(moment).endswith("|2026-11-20 18:00 UTC>")
    assert slack_date(None) == texts.UNKNOWN_TIME
