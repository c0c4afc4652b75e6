"""When a post whose outcome is unknown is looked for in the channel (alerts, replies, reports)."""

from __future__ import annotations

import datetime as dt

#: reconciliation looks this far before the oldest unsure row (clock skew, slow posts)
RECONCILE_MARGIN = dt.timedelta(minutes=10)
#: an unsure row is looked up only once this old: Slack may still be storing a slow post
RECONCILE_GRACE = dt.timedelta(seconds=30)
