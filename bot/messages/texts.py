"""Every sentence Fleetbot says in Slack, in one place; placeholders use ``str.format`` names.

Alert types and severities in words are a table of their own, in :mod:`bot.messages.alert_table`.
"""

from __future__ import annotations

# -- usage -----------------------------------------------------------------------------

TRIPS_USAGE = (
    "*Usage:* `/trips &lt;vehicle&gt; [when]`\n"
    "`&lt;vehicle&gt;` is a VIN, an API vehicle id or a label. `when` is `today` (default), "
    "`yesterday`, `7d` (the last 7 days), a day `2026-11-20`, or a range "
    "`2026-11-01..2026-11-07` (at most 31 days)."
)
ALERT_USAGE = (
    "*Usage:* `/alert &lt;vehicle&gt; [alert-id]`\n"
    "Shows the active alerts of a vehicle, then those of the last 7 days; "
    "with an alert id, that alert in detail."
)
FLEET_USAGE = (
    "*Usage:* `/fleet &lt;subcommand&gt;`\n"
    "• `help` — this text\n"
    "• `vehicles [filter]` — the fleet (filter on VIN, label, brand or model)\n"
    "• `status [vehicle]` — energy, autonomy, odometer, ignition, position, maintenance; "
    "without a vehicle: last and next poll, quota left, delivery backlog, parked routes\n"
    "• `where &lt;vehicle&gt;` — last known position with a map link\n"
    "• `routes` — which channels get which alerts\n"
    "• `mutes` — which vehicles are muted, and until when\n"
    "• `monitor list` — push monitors at the API\n"
    "• `sites` — named places (depots, customers) that positions are told by\n"
    "*Admins only:*\n"
    "• `vehicles label &lt;vin&gt; &lt;label&gt;` — give a vehicle a name people use\n"
    "• `subscribe [#channel] [severity>=warning] [types=A,B] [vehicles=V1,V2]` — send alerts "
    "to a channel (this one by default)\n"
    "• `unsubscribe [#channel]` — stop sending alerts to a channel\n"
    "• `mute &lt;vehicle&gt; &lt;duration&gt;` (e.g. `30m`, `2h`, `3d`, at most `30d`) and "
    "`unmute &lt;vehicle&gt;`\n"
    "• `monitor enable|disable` — turn push (API monitors) on or off\n"
    "• `site add &lt;name&gt; &lt;lat&gt;,&lt;lon&gt; [&lt;radius&gt;m]` (default 300 m) and "
    "`site remove &lt;name&gt;` — name a place\n"
    "• `failed` — alerts Slack refused for good, and why; `retry` — queue them all again\n"
    "• `report daily &lt;HH:MM&gt; [#channel]`, `report off [#channel]`, `report now [#channel]` "
    "— the daily fleet report"
)
FLEET_SUBCOMMAND_USAGE = {
    "vehicles": (
        "*Usage:* `/fleet vehicles [filter]` or `/fleet vehicles label &lt;vin&gt; &lt;label&gt;`"
    ),
    "status": "*Usage:* `/fleet status [vehicle]` (no vehicle: how polling and delivery are doing)",
    "where": "*Usage:* `/fleet where &lt;vehicle&gt;`",
    "subscribe": (
        "*Usage:* `/fleet subscribe [#channel] [severity>=information|warning|critical] "
        "[types=TypeA,TypeB] [vehicles=VIN1,VIN2] [escalate=15m [to=@person|@group]]` — "
        "with `escalate=`, an alert nobody acknowledges gets a reminder in its thread every "
        "that long (3 at most), mentioning `to=` (default @here)."
    ),
    "unsubscribe": "*Usage:* `/fleet unsubscribe [#channel]`",
    "routes": "*Usage:* `/fleet routes`",
    "mute": (
        "*Usage:* `/fleet mute &lt;vehicle&gt; &lt;duration&gt; [types=TypeA,TypeB] [all]` — "
        "duration like `30m`, `2h`, `24h`, `3d`. Held alerts still active are posted when the "
        "mute ends; Critical alerts are posted anyway unless you add `all`."
    ),
    "unmute": "*Usage:* `/fleet unmute &lt;vehicle&gt;`",
    "monitor": "*Usage:* `/fleet monitor list|enable|disable`",
    "mutes": "*Usage:* `/fleet mutes`",
    "site": (
        "*Usage:* `/fleet site add &lt;name&gt; &lt;lat&gt;,&lt;lon&gt; [&lt;radius&gt;m]` "
        "(e.g. `/fleet site add Depot Nord 48.8566,2.3522 300m`; radius 300 m by default) "
        "or `/fleet site remove &lt;name&gt;`"
    ),
    "sites": "*Usage:* `/fleet sites`",
    "failed": "*Usage:* `/fleet failed` (admins: alerts Slack refused for good)",
    "retry": "*Usage:* `/fleet retry` (admins: queue every failed alert again)",
    "help": "*Usage:* `/fleet help`",
    "report": (
        "*Usage:* `/fleet report daily &lt;HH:MM&gt; [#channel]` (every day, FLEETBOT_TIMEZONE), "
        "`/fleet report off [#channel]` or `/fleet report now [#channel]` (yesterday's, now); "
        "admins only, this channel by default"
    ),
}

# -- errors and refusals ---------------------------------------------------------------

NEED_VEHICLE = "Which vehicle? Give a VIN, an API vehicle id or a label."
NO_SUCH_VEHICLE = "No such vehicle “{query}”."
DID_YOU_MEAN = " Did you mean {options}?"
EMPTY_FLEET = "The fleet directory is empty: the API lists no vehicles for this fleet."
TOO_MANY_ARGUMENTS = "I did not understand “{extra}”."
BAD_WHEN = "I cannot read “{when}” as a date or a range."
FUTURE_DATE = "{day} is in the future: there are no trips yet."
REVERSED_RANGE = "The range {start}..{end} ends before it starts."
RANGE_TOO_LONG = "That is {days} days; ask for at most {limit} days at a time."
BAD_DURATION = "I cannot read “{text}” as a duration: use e.g. `30m`, `2h`, `24h` or `3d`."
DURATION_TOO_LONG = "That is too long: at most {limit}."
DURATION_TOO_SHORT = "That is too short: at least {limit}."
TOO_EARLY = "{day} is before {earliest}: there is nothing that old."
BAD_CHANNEL = (
    "“{text}” is not a channel I can use: mention it with `#` so Slack links it "
    "(e.g. `#fleet-alerts`)."
)
BAD_SEVERITY = "Unknown severity “{text}”: use information, warning or critical."
BAD_OPTION = "I did not understand “{text}”."
EMPTY_LIST_OPTION = "`{name}=` needs at least one value."
REPORTS_NOT_CONFIGURED = "The fleet report is not set up in this bot."
UNKNOWN_SUBCOMMAND = "I do not know `/fleet {name}`."
NOT_ADMIN = "Sorry, only Fleetbot admins can {what}. Ask one of them to do it for you: {admins}."
NOT_ADMIN_NONE = (
    "Sorry, only Fleetbot admins can {what}, and no admin is set up yet "
    "(whoever runs Fleetbot can name some)."
)
NOT_ADMIN_WHAT = {
    "subscribe": "subscribe channels to alerts",
    "unsubscribe": "unsubscribe channels",
    "mute": "mute vehicles",
    "unmute": "unmute vehicles",
    "monitor": "turn push monitors on or off",
    "label": "label vehicles",
    "mute_button": "mute vehicles",
    "unmute_button": "unmute vehicles",
    "failed": "list failed deliveries",
    "retry": "retry failed deliveries",
    "site": "add or remove sites",
    "report": "post or schedule the fleet report",
}
SOMETHING_WRONG = (
    "Something went wrong on my side (ref `{ref}`). An admin can look it up in the logs."
)

# -- alert messages (channel posts and digests) -----------------------------------------

ALERT_WORDS = "{badge} *{words}*"  # one alert in words: every line about an alert starts so
ALERT_OF_VEHICLE = "{line} — {vehicle}"
ALERT_ACKNOWLEDGE = "Acknowledge"
ALERT_DETAILS = "Details"
ALERT_TRIPS_TODAY = "Trips today"
ALERT_MUTE = "Mute 24 h"
ALERT_ACKED_BY = ":white_check_mark: Acknowledged by <@{user}> at {when}"
ALERT_ACKED_BY_NO_TIME = ":white_check_mark: Acknowledged by <@{user}>"
ALERT_ENDED = ":checkered_flag: Ended {when}"
ALERT_STARTED = "Started {when}"
ALERT_HELD = ":mute: Held back by a mute until now"
DIGEST_TITLE = "{count} new vehicle alerts"
DIGEST_TITLE_ENDED = "{count} vehicle alerts — all ended"
DIGEST_ACK_ALL = "Acknowledge all"
ALERT_UNMUTE = "Unmute"
ALERT_MUTED_BY = ":mute: Muted by <@{user}> until {until}"
ALERT_MUTED = ":mute: Muted until {until}"
DIGEST_MORE = "Acknowledge each alert here; `/alert &lt;vehicle&gt;` shows the details."
UNKNOWN_PLACE = "position unknown"
UNKNOWN_TIME = "unknown time"

# -- places and sites (what a position reads as; always the label of a map link) ----------

PLACE_AT_SITE = "at {site}"
PLACE_NEAR_SITE = "{km} from {site}"
PLACE_NEAR_TOWN = "near {town}, {country}"
PLACE_REMOTE = "{km} from {town}, {country}"  # no town within 50 km: at sea, or a desert
PLACE_ON_MAP = "on the map"  # a point nobody can name (no gazetteer handed in)
OPEN_MAP = "Open map"
SITES_TITLE = "*Sites* ({count}) — positions within a site's radius read as “at” it"
SITES_LINE = "• *{name}* — {radius} m around {where}{by}"
SITES_BY = " (added by <@{user}>)"
SITES_NONE = "No sites yet. An admin can name one: `/fleet site add Depot 48.85,2.35 300m`."
SITE_ADDED = "Site *{name}* added: positions within {radius} m of it now read “at {name}”."
SITE_REMOVED = "Site *{name}* removed."
SITE_EXISTS = "There is already a site called *{name}*; remove it first to move it."
SITE_UNKNOWN = "There is no site called “{name}”."
SITE_NEED_NAME = "Give the site a name."
SITE_BAD_POSITION = (
    "I cannot read “{text}” as a position: write latitude,longitude in decimal degrees, "
    "e.g. `48.8566,2.3522`."
)
SITE_BAD_RADIUS = "I cannot read “{text}” as a radius: write metres, e.g. `300m` (10 m to 50 km)."
SITE_NAME_TOO_LONG = "That name is too long: at most {limit} characters."

# -- API troubles, said plainly ----------------------------------------------------------

API_UNAVAILABLE = "The Connected Car API is not answering right now; please try again in a minute."
API_RATE_LIMITED = (
    "The Connected Car API is rate-limiting us right now; please try again in a minute."
)
API_AUTH = (
    "The Connected Car API refused Fleetbot's credentials; an admin should run `fleetbot check`."
)
API_CERTIFICATE = (
    "Fleetbot cannot set up its secure connection to the Connected Car API (certificate "
    "problem); an admin should run `fleetbot check`."
)
API_OTHER = "The Connected Car API answered with an error{ref}; please try again later."
API_REF = " (ref `{uuid}`)"

# -- /trips ------------------------------------------------------------------------------

TRIPS_NONE = "No trips for *{vehicle}* {period}."
TRIPS_TITLE = "*Trips of {vehicle}* {period} — {count} trips, {distance}, {duration}{energy}"
TRIPS_DAY = "*{day}* — {count} trips, {distance}, {duration}{energy}"
TRIPS_LINE = (
    "{start} → {end} · *{distance}* in {duration}{speeds}{energy}\n{from_place} → {to_place}"
)
TRIPS_AVG_SPEED = "avg {speed:.0f} km/h"
TRIPS_MAX_SPEED = "max {speed:.0f} km/h"
TRIPS_PER_100_KM = "{value:.1f} {unit}/100 km"
DAY_RANGE = "{start} – {end}"  # noqa: RUF001 (an en dash, as ranges are printed)
DAY_RANGE_ONE_MONTH = "{start}–{end}"  # noqa: RUF001
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
TRIPS_PAGE = "Trips of {vehicle}, part {page} of {pages}"
TRIPS_MORE = "… and {count} more trips not shown: ask for a shorter range."
TRIPS_INCOMPLETE = " :warning: incomplete"
PERIOD_TODAY = "today"
PERIOD_YESTERDAY = "yesterday"
PERIOD_DAY = "on {day}"
PERIOD_RANGE = "over {range}"
PERIOD_LAST_DAYS = "in the last {days} days"

# -- /alert ------------------------------------------------------------------------------

ALERTS_NONE = "No alerts for *{vehicle}* in the last {days} days."
ALERTS_TITLE = "*Alerts of {vehicle}*"
ALERTS_ACTIVE = "*Active now* ({count})"
ALERTS_RECENT = "*Ended in the last {days} days* ({count})"
ALERTS_NONE_ACTIVE = "No active alert."
ALERT_LINE = "{line} · {when} · {where} · id `{id}`"
ALERT_LINE_ENDED = "{line} · {when} → {end} · {where} · id `{id}`"
ALERTS_MORE = "… and {count} more alerts not shown."
ALERT_NOT_FOUND = "No alert `{id}` for *{vehicle}*."
ALERT_DETAIL_FIELDS = (
    "*Alert id:* `{id}`\n*Type:* `{type}`\n*State:* {state}\n*Started:* {started}{ended}\n"
    "*Where:* {where}"
)
ALERT_DETAIL_ENDED = "\n*Ended:* {when} at {where}"
ALERT_STATE_ACTIVE = "active"
ALERT_STATE_ENDED = "ended"
ALERT_ACKED = "\n*Acknowledged:* by <@{user}> {when}"

# -- /fleet ------------------------------------------------------------------------------

VEHICLES_TITLE = "*Fleet vehicles* ({count}{filtered})"
VEHICLES_FILTERED = " matching “{filter}”"
VEHICLES_NONE = "No vehicle matches “{filter}”."
VEHICLE_LINE = "• {name}`{vin}` · id `{id}`{car}"
VEHICLES_MORE = "… and {count} more: narrow with `/fleet vehicles &lt;filter&gt;`."
LABEL_SET = "*{vin}* is now known as *{label}*."
LABEL_TAKEN = "The label “{label}” looks like a VIN or vehicle id of another vehicle."
LABEL_BAD = "A label is 1 to 40 characters, without spaces, `&lt;`, `&gt;`, `&amp;` or `*`."

STATUS_TITLE = "*Status of {vehicle}*{updated}"
STATUS_UPDATED = " (as of {when})"
STATUS_ENERGY = "*{kind}:* {level}{autonomy}{charging}"
STATUS_AUTONOMY = " · {km} autonomy"
STATUS_CHARGING = " · charging: {status}"
STATUS_ODOMETER = "*Odometer:* {km}"
STATUS_IGNITION = "*Ignition:* {state}"
STATUS_MOVING = "*Moving:* {moving}"
STATUS_POSITION = "*Last position:* {where}"
STATUS_MAINTENANCE = "*Maintenance due:* {due}"
STATUS_MAINTENANCE_DAYS = "in {days} days"
STATUS_MAINTENANCE_KM = "in {km}"
STATUS_NOTHING = "The API has no status for *{vehicle}* yet."
ENERGY_NAMES = {"Fuel": "Fuel", "Electric": "Battery"}
YES = "yes"
NO = "no"
UNKNOWN = "unknown"

WHERE_TEXT = "*{vehicle}* was last seen {when}: {where}"
WHERE_NONE = "The API has no position for *{vehicle}* yet."

SUBSCRIBED = "<#{channel}> now gets {what}."
SUBSCRIBE_ALL = "all vehicle alerts"
SUBSCRIBE_FILTERED = "alerts{severity}{types}{vins}"
SUBSCRIBE_SEVERITY = " of severity {severity} or more"
SUBSCRIBE_TYPES = " of types {types}"
SUBSCRIBE_VINS = " for {vins}"
SUBSCRIBE_ESCALATE = (
    "; unacknowledged alerts are escalated to {to} every {every} (3 reminders at most)"
)
BAD_MENTION = (
    "`to=` takes a person or a user group as Slack completes them (type `@` and pick one), "
    "not “{text}”."
)
TO_WITHOUT_ESCALATE = "`to=` says whom an escalation mentions: add `escalate=<duration>` too."
SUBSCRIBE_INVITE = " Make sure Fleetbot is in that channel (`/invite @Fleetbot`)."
RESUBSCRIBED = "<#{channel}> is back: it gets {what} again, as before it was parked."
UNSUBSCRIBED = "<#{channel}> no longer gets alerts."
NOT_SUBSCRIBED = "<#{channel}> was not subscribed to anything."
ROUTES_TITLE = "*Alert routes*"
ROUTES_NONE = "No channel is subscribed: `/fleet subscribe` in a channel to start."
ROUTE_LINE = "• <#{channel}> — {what}{by}"
ROUTE_BY = " (set by <@{user}>)"
ROUTE_PARKED = (
    "\n    :double_vertical_bar: parked: {reason} — an admin can `/fleet subscribe` it again"
)
ROUTES_DEFAULT = "Alerts that match no route go to <#{channel}>."
MUTES_LINE = "• :mute: {vehicle} — {what} until {until}{by}"
MUTES_BY = " (muted by <@{user}>)"
MUTES_TITLE = "*Mutes in force*"
MUTES_NONE = "No vehicle is muted."
MUTE_EVERY_TYPE = "every alert"
MUTE_TYPES = "{types}"
MUTE_CRITICAL_POSTED = ", Critical still posted"
MUTE_CRITICAL_HELD = ", Critical included"

MUTED = (
    ":mute: *{vehicle}*: {what} held back until {until}{critical}. Alerts still active "
    "then are posted when the mute ends (or `/fleet unmute`)."
)
UNMUTED = (
    ":loud_sound: *{vehicle}* is no longer muted: alerts it held that are still active are "
    "being posted now."
)
NOT_MUTED = "*{vehicle}* was not muted."

FAILED_NONE = ":white_check_mark: No failed deliveries: Slack took every alert."
FAILED_TITLE = "*Alerts Slack refused for good* ({count})"
FAILED_LINE = "• {line} · <#{channel}> · {error} · queued {when}"
FAILED_MORE = "… and {count} more."
FAILED_RETRY_HINT = "Fix the cause, then `/fleet retry` queues them all again."
RETRIED = ":repeat: {count} failed alerts are queued again; they go out with the next delivery."
RETRY_NONE = "There are no failed deliveries to retry."
SLACK_ERROR_UNKNOWN = "no reason given"
SLACK_ERROR_OTHER = "Slack said: {error}"
SLACK_ERRORS = {
    "channel_not_found": "the channel no longer exists, or Fleetbot cannot see it",
    "not_in_channel": "Fleetbot is not in the channel",
    "is_archived": "the channel is archived",
    "msg_too_long": "the message was too long for Slack",
    "no_text": "the message was empty",
    "invalid_blocks": "Slack rejected the message layout",
    "invalid_blocks_format": "Slack rejected the message layout",
    "too_many_attachments": "the message had too many attachments",
    "invalid_metadata_format": "Slack rejected the message metadata",
    "invalid_metadata_schema": "Slack rejected the message metadata",
    "metadata_too_large": "the message metadata was too large",
    "restricted_action": "the workspace does not let Fleetbot post there",
    "restricted_action_read_only_channel": "the channel is read-only",
    "restricted_action_thread_only_channel": "the channel only allows replies in threads",
    "restricted_action_non_threadable_channel": "the channel does not allow threads",
    "cannot_reply_to_message": "the message cannot be replied to",
    "ekm_access_denied": "the workspace's key management denied access",
    "team_access_not_granted": "Fleetbot is not allowed in that workspace",
    "invalid_auth": "Slack refused Fleetbot's token",
    "not_authed": "Slack refused Fleetbot's token",
    "token_revoked": "Fleetbot's token was revoked",
    "token_expired": "Fleetbot's token expired",
    "account_inactive": "Fleetbot's Slack account is inactive",
    "missing_scope": "Fleetbot lacks a Slack permission it needs",
    "message_not_found": "the message was deleted",
    "cant_update_message": "the message can no longer be edited",
    "edit_window_closed": "the message is too old to edit",
}

MONITOR_NOT_CONFIGURED = (
    "Push is not configured: set FLEETBOT_PUBLIC_URL and FLEETBOT_WEBHOOK_TOKEN to use "
    "API monitors. Alerts still arrive by polling."
)

# -- buttons -----------------------------------------------------------------------------

ALREADY_ACKED = "Already acknowledged by <@{user}> {when}."
ACKED_EPHEMERAL = "Acknowledged."
ALERT_GONE = "I no longer know alert `{id}`; it may have been pruned."
MUTED_BUTTON = ":mute: *{vehicle}* is muted for 24 h (until {until})."
UNMUTED_BUTTON = ":loud_sound: *{vehicle}*: {what} posted again; what the mute held comes now."
UNMUTE_GONE = "That mute has already ended or was lifted."
ACKED_ALL = "Acknowledged {count} alerts."
ACKED_ALL_NONE = "Every alert here was already acknowledged."

# -- thread replies (the alert's history, quiet: never broadcast) ------------------------

FOLLOWUP_ACK = ":white_check_mark: <@{user}> acknowledged {what} at {when}."
FOLLOWUP_ACK_ALL = ":white_check_mark: <@{user}> acknowledged all {count} alerts at {when}."
FOLLOWUP_MUTE = ":mute: <@{user}> muted {what} at {when}, until {until}."
FOLLOWUP_UNMUTE = ":loud_sound: <@{user}> unmuted {what} at {when}."
FOLLOWUP_ENDED = ":checkered_flag: {what} ended at {when}."
FOLLOWUP_REMINDER = (
    "{to} :rotating_light: {what} is still not acknowledged, {since} after it was posted "
    "(reminder {n} of {max})."
)
FOLLOWUP_THIS_ALERT = "this alert"
FOLLOWUP_MUTED_KIND = "“{words}” alerts of {vehicle}"

# -- App Home ----------------------------------------------------------------------------

HOME_TITLE = "Fleetbot — the fleet at a glance"
HOME_WAITING_TITLE = "*Waiting for acknowledgement* ({count}, oldest first)"
HOME_WAITING_NONE = ":white_check_mark: Nothing is waiting for acknowledgement."
HOME_WAITING_LINE = "{line}\n{when} in <#{channel}>"
HOME_WAITING_MORE = "… and {count} more."
HOME_OPEN_TITLE = "*Vehicles with open alerts* ({count})"
HOME_OPEN_NONE = ":white_check_mark: No open alerts."
HOME_OPEN_LINE = "• *{vehicle}* — {count} open: {badges}"
HOME_OPEN_MORE = "… and {count} more vehicles."
HOME_SEVERITY = "*Open alerts by severity:* {counts}"
HOME_ROUTES_TITLE = "*Routes*"
HOME_POLL = "*Last poll:* {when} — {vehicles} vehicles, {new_alerts} new alerts, {calls} API calls"
HOME_POLL_NEVER = "*Last poll:* not yet"
HOME_NEXT_POLL = "*Next poll:* {when}"
HOME_QUOTA = "*API quota left today:* {remaining} of {limit}"
HOME_QUOTA_UNKNOWN = "*API quota left today:* unknown (no API call yet)"
HOME_PATH_FLEET = "*Polling:* the fleet-wide alert collection (a few calls a cycle)"
HOME_PATH_VEHICLE = "*Polling:* vehicle by vehicle (`FLEETBOT_POLL_BY=vehicle`)"
HOME_PATH_FALLBACK = (
    ":warning: *Polling:* vehicle by vehicle since {since}, because the API refuses the "
    "fleet-wide alert collection ({reason}); asked again {next_probe}"
)
HOME_BACKLOG = "*Deliveries:* {counts}"
HOME_BACKLOG_NONE = "*Deliveries:* none yet"
HOME_PARKED = ":double_vertical_bar: *Parked routes:* {channels}"
HOME_FOOTER = "Type `/fleet help` in any channel for commands."
