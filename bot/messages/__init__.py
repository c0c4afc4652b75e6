"""What people read: alert types in words, Block Kit for alerts, digests and command replies.

Pure functions from data (``bot.psa.models``, ``bot.store`` data classes) to text and Slack
message dicts; no I/O, and no import of ``bot.alerts`` or ``bot.slack`` (DESIGN §2).

- :mod:`~bot.messages.texts`: every sentence, as constants.
- :mod:`~bot.messages.alert_text` (+ :mod:`~bot.messages.alert_table`): alert type and
  severity in words.
- :mod:`~bot.messages.markup`: the mrkdwn boundary (:func:`~bot.messages.markup.escape`),
  dates, places, sections and Block Kit limits.
- :mod:`~bot.messages.alerts`: alert and digest messages, their metadata and action ids, and
  the `/alert` replies.
- :mod:`~bot.messages.trips`, :mod:`~bot.messages.fleet`, :mod:`~bot.messages.home`: the
  replies of `/trips`, `/fleet` and the App Home.
"""
