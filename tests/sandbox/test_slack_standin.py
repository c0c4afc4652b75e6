"""Tests for the Slack stand-in and driver, through the real slack_sdk and a real slack-bolt app."""

from __future__ import annotations

import http.client
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.client import RemoteDisconnected
from typing import Any
from urllib.parse import urlencode
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.sandbox.slack import Message, SlackDriver, SlackStandIn

SIGNING_SECRET = "sandbox-signing-secret"
ALERT_METADATA = {"event_type": "fleet_alert", "event_payload": {"alert_id": "a1", "vin": "VIN1"}}
ALERT_BLOCKS: list[dict[str, Any]] = [
    {"type": "header", "text": {"type": "plain_text", "text": "Low washer fluid"}},
    {"type": "section", "text": {"type": "mrkdwn", "text": "*VIN1* needs washer fluid"}},
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "Warning · 09:12"}]},
    {
        "type": "actions",
        "block_id": "alert-actions",
        "elements": [
            {
                "type": "button",
                "action_id": "ack",
                "value": "a1",
                "text": {"type": "plain_text", "text": "Acknowledge"},
            },
            {
                "type": "button",
                "action_id": "details",
                "value": "a1",
                "text": {"type": "plain_text", "text": "Details"},
            },
        ],
    },
]


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    """A started stand-in, stopped after the test."""
    with SlackStandIn() as s:
        yield s


def client_for(standin: SlackStandIn, **kw: Any) -> WebClient:
    """A real slack_sdk WebClient pointed at the stand-in."""
    kw.setdefault("token", standin.bot_token)
    kw.setdefault("timeout", 5)
    return WebClient(base_url=standin.api_url, **kw)


@pytest.fixture
def client(standin: SlackStandIn) -> WebClient:
    """A WebClient without retries, so every fault is visible."""
    return client_for(standin, retry_handlers=[])


# --- Web API ----------------------------------------------------------------------------------


def test_auth_test_returns_the_bot_identity(client: WebClient, standin: SlackStandIn) -> None:
    """auth.test answers with Slack's fields for the bot."""
    resp = client.auth_test()
    assert resp["ok"] is True
    assert resp["user_id"] == "U0FLEETBOT"
    assert resp["team_id"] == "T0SANDBOX"
    assert resp["bot_id"] == "B0FLEETBOT"
    assert resp["url"].startswith("https://")
    assert standin.calls[-1].method == "auth.test"
    assert standin.calls[-1].token_ok is True


def test_wrong_or_missing_token_is_rejected(standin: SlackStandIn) -> None:
    """A wrong token gets invalid_auth and no token gets not_authed, as with real Slack."""
    with pytest.raises(SlackApiError) as wrong:
        client_for(standin, token="xoxb-wrong").chat_postMessage(channel="C0OPS", text="hi")
    assert wrong.value.response["error"] == "invalid_auth"
    assert standin.calls[-1].token_ok is False
    with pytest.raises(SlackApiError) as missing:
        client_for(standin, token=None).auth_test()
    assert missing.value.response["error"] == "not_authed"
    assert standin.messages() == []


def test_post_with_metadata_shows_metadata_only_when_asked(
    client: WebClient, standin: SlackStandIn
) -> None:
    """Metadata is stored and conversations.history returns it only with include_all_metadata."""
    post = client.chat_postMessage(
        channel="C0ALERTS", text="washer fluid", blocks=ALERT_BLOCKS, metadata=ALERT_METADATA
    )
    assert post["channel"] == "C0ALERTS"
    assert post["message"]["metadata"] == ALERT_METADATA
    with_md = client.conversations_history(channel="C0ALERTS", include_all_metadata=True)
    item = with_md["messages"][0]
    assert item["ts"] == post["ts"]
    assert item["metadata"] == ALERT_METADATA
    assert item["blocks"] == ALERT_BLOCKS
    assert item["bot_id"] == "B0FLEETBOT"
    without = client.conversations_history(channel="C0ALERTS")
    assert "metadata" not in without["messages"][0]
    [msg] = standin.messages("C0ALERTS")
    assert msg.metadata == ALERT_METADATA
    assert msg.user == "U0FLEETBOT"


def test_form_encoded_post_with_token_parameter(standin: SlackStandIn) -> None:
    """Form bodies with a token field and JSON-string blocks/metadata work like JSON bodies."""
    form = {
        "token": standin.bot_token,
        "channel": "C0DEPOT",
        "text": "hello",
        "blocks": json.dumps(ALERT_BLOCKS),
        "metadata": json.dumps(ALERT_METADATA),
    }
    req = urllib.request.Request(
        standin.api_url + "chat.postMessage", data=urlencode(form).encode(), method="POST"
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        data = json.load(resp)
    assert data["ok"] is True
    [msg] = standin.messages("C0DEPOT")
    assert msg.blocks == ALERT_BLOCKS
    assert msg.metadata == ALERT_METADATA
    assert "token" not in standin.calls[-1].params


def test_bad_metadata_and_empty_message_are_refused(client: WebClient) -> None:
    """Metadata without event_payload and a post without text or blocks get Slack's errors."""
    with pytest.raises(SlackApiError) as bad:
        client.chat_postMessage(channel="C0OPS", text="x", metadata={"event_type": "t"})
    assert bad.value.response["error"] == "invalid_metadata_schema"
    with pytest.raises(SlackApiError) as empty:
        client.api_call("chat.postMessage", json={"channel": "C0OPS"})
    assert empty.value.response["error"] == "no_text"


def test_update_keeps_ts_and_records_history(client: WebClient, standin: SlackStandIn) -> None:
    """chat.update changes the message in place and keeps the earlier version."""
    post = client.chat_postMessage(channel="C0ALERTS", text="v1", metadata=ALERT_METADATA)
    upd = client.chat_update(channel="C0ALERTS", ts=post["ts"], text="v2")
    assert upd["ts"] == post["ts"]
    [msg] = standin.messages("C0ALERTS")
    assert (msg.text, msg.edited, msg.ts) == ("v2", True, post["ts"])
    assert msg.metadata == ALERT_METADATA  # an update without metadata keeps it
    assert [h["text"] for h in msg.history] == ["v1"]
    with pytest.raises(SlackApiError) as missing:
        client.chat_update(channel="C0ALERTS", ts="1.000001", text="nope")
    assert missing.value.response["error"] == "message_not_found"


def test_history_pages_newest_first(client: WebClient) -> None:
    """Paging with limit and cursor walks every message once, newest first."""
    posted = [client.chat_postMessage(channel="C0OPS", text=f"m{i}")["ts"] for i in range(7)]
    seen: list[str] = []
    pages = 0
    cursor = None
    while True:
        page = client.conversations_history(channel="C0OPS", limit=3, cursor=cursor)
        pages += 1
        seen += [m["ts"] for m in page["messages"]]
        if not page["has_more"]:
            assert "response_metadata" not in page
            break
        cursor = page["response_metadata"]["next_cursor"]
    assert pages == 3
    assert seen == list(reversed(posted))
    window = client.conversations_history(
        channel="C0OPS", oldest=posted[2], latest=posted[4], inclusive=True
    )
    assert [m["text"] for m in window["messages"]] == ["m4", "m3", "m2"]
    exclusive = client.conversations_history(channel="C0OPS", oldest=posted[2], latest=posted[4])
    assert [m["text"] for m in exclusive["messages"]] == ["m3"]


def test_ts_are_unique_and_increasing_with_a_frozen_clock() -> None:
    """Two posts in the same microsecond still get distinct, increasing ts."""
    with SlackStandIn(clock=lambda: 1_700_000_000.0) as s:
        c = client_for(s)
        ts = [c.chat_postMessage(channel="C0OPS", text=str(i))["ts"] for i in range(3)]
    assert ts == ["1700000000.000000", "1700000000.000001", "1700000000.000002"]


@pytest.mark.parametrize(
    ("breakage", "error"),
    [
        ("archive_channel", "is_archived"),
        ("delete_channel", "channel_not_found"),
        ("kick_bot", "not_in_channel"),
    ],
)
def test_channel_errors(
    client: WebClient, standin: SlackStandIn, breakage: str, error: str
) -> None:
    """Archived, deleted and bot-less channels refuse posts with Slack's error strings."""
    getattr(standin, breakage)("C0ALERTS")
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C0ALERTS", text="x")
    assert exc.value.response["error"] == error
    standin.restore_channel("C0ALERTS")
    assert client.chat_postMessage(channel="C0ALERTS", text="x")["ok"] is True


def test_unknown_channel_and_unknown_method(client: WebClient) -> None:
    """An unknown channel is channel_not_found and an unknown method is unknown_method."""
    with pytest.raises(SlackApiError) as chan:
        client.chat_postMessage(channel="C0NOPE", text="x")
    assert chan.value.response["error"] == "channel_not_found"
    with pytest.raises(SlackApiError) as method:
        client.api_call("no.such.method")
    assert method.value.response["error"] == "unknown_method"


def test_other_methods(client: WebClient, standin: SlackStandIn) -> None:
    """conversations.info/join/list, users.info, postEphemeral, getPermalink and views.publish."""
    standin.kick_bot("C0DEPOT")
    info = client.conversations_info(channel="C0DEPOT")["channel"]
    assert (info["id"], info["is_member"], info["is_archived"]) == ("C0DEPOT", False, False)
    assert client.conversations_join(channel="C0DEPOT")["channel"]["is_member"] is True
    names = {c["id"] for c in client.conversations_list()["channels"]}
    assert names == {"C0ALERTS", "C0OPS", "C0DEPOT"}
    assert client.users_info(user="U0FLEETBOT")["user"]["is_bot"] is True
    eph = client.chat_postEphemeral(channel="C0OPS", user="U0MANAGER", text="psst")
    assert eph["message_ts"]
    assert standin.ephemerals[-1]["text"] == "psst"
    assert standin.messages("C0OPS") == []  # ephemerals are not channel messages
    ts = client.chat_postMessage(channel="C0OPS", text="x")["ts"]
    link = client.chat_getPermalink(channel="C0OPS", message_ts=ts)["permalink"]
    assert link.endswith("/archives/C0OPS/p" + ts.replace(".", ""))
    view = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Hi"}}],
    }
    published = client.views_publish(user_id="U0MANAGER", view=view)
    assert published["view"]["type"] == "home"
    assert standin.views["U0MANAGER"] == view


def test_thread_replies_stay_out_of_history(client: WebClient) -> None:
    """Replies show as reply_count on the parent and in conversations.replies, as in Slack."""
    parent = client.chat_postMessage(channel="C0OPS", text="parent")["ts"]
    reply = client.chat_postMessage(channel="C0OPS", text="reply", thread_ts=parent)["ts"]
    [item] = client.conversations_history(channel="C0OPS")["messages"]
    assert (item["ts"], item["reply_count"], item["latest_reply"]) == (parent, 1, reply)
    thread = client.conversations_replies(channel="C0OPS", ts=parent)["messages"]
    assert [m["text"] for m in thread] == ["parent", "reply"]


def test_thread_shapes_follow_slacks_documentation(
    client: WebClient, standin: SlackStandIn
) -> None:
    """conversations.replies: the parent first with reply_count, replies with thread_ts and
    parent_user_id, metadata only with include_all_metadata; asked by a reply's ts it answers
    the whole thread; a reply to a reply joins the parent's thread (one level, as in Slack)."""
    parent = client.chat_postMessage(channel="C0OPS", text="parent")["ts"]
    meta = {"event_type": "fleet_alert_followup",
            "event_payload": {"alert_id": "a1", "kind": "ack", "n": 1}}  # fmt: skip
    first = client.chat_postMessage(channel="C0OPS", text="one", thread_ts=parent, metadata=meta)
    second = client.chat_postMessage(channel="C0OPS", text="two", thread_ts=first["ts"])
    assert second["message"]["thread_ts"] == parent
    plain = client.conversations_replies(channel="C0OPS", ts=parent)["messages"]
    assert "metadata" not in plain[1]
    thread = client.conversations_replies(channel="C0OPS", ts=first["ts"],
                                          include_all_metadata=True)["messages"]  # fmt: skip
    head, one, two = thread
    assert head["ts"] == parent and head["thread_ts"] == parent and head["reply_count"] == 2
    assert "parent_user_id" not in head
    assert (one["thread_ts"], one["parent_user_id"]) == (parent, standin.bot_user_id)
    assert one["metadata"] == meta and one["bot_id"] == standin.bot_id
    assert two["text"] == "two" and "subtype" not in one
    with pytest.raises(SlackApiError, match="thread_not_found"):
        client.conversations_replies(channel="C0OPS", ts="1.000001")


def test_a_broadcast_reply_also_shows_in_history(client: WebClient) -> None:
    """reply_broadcast: the reply is in its thread and in the channel as a thread_broadcast."""
    parent = client.chat_postMessage(channel="C0OPS", text="parent")["ts"]
    client.chat_postMessage(channel="C0OPS", text="quiet", thread_ts=parent)
    loud = client.chat_postMessage(
        channel="C0OPS", text="loud", thread_ts=parent, reply_broadcast=True
    )["ts"]
    items = client.conversations_history(channel="C0OPS")["messages"]
    assert [m["text"] for m in items] == ["loud", "parent"]
    assert items[0]["subtype"] == "thread_broadcast" and items[0]["thread_ts"] == parent
    assert items[1]["reply_count"] == 2 and items[1]["latest_reply"] == loud


@pytest.mark.timeout(20)
def test_stop_closes_idle_keep_alive_connections() -> None:
    """stop() returns although a client keeps an HTTP/1.1 connection open."""
    s = SlackStandIn().start()
    host, port = s.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        conn.request("POST", "/api/auth.test", headers={"Authorization": f"Bearer {s.bot_token}"})
        assert json.loads(conn.getresponse().read())["ok"] is True
        s.stop()  # the connection is still open here
        with pytest.raises(RuntimeError):
            _ = s.api_url
    finally:
        conn.close()


# --- faults ---------------------------------------------------------------------------------------


def test_rate_limit_knob_answers_429_with_retry_after(
    client: WebClient, standin: SlackStandIn
) -> None:
    """rate_limit_rate=1 makes WebClient see a 429 SlackApiError carrying Retry-After."""
    standin.rate_limit_rate = 1.0
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C0OPS", text="x")
    assert exc.value.response.status_code == 429
    assert exc.value.response["error"] == "ratelimited"
    assert exc.value.response.headers["Retry-After"] == "1"
    assert standin.messages() == []
    assert standin.ratelimited == 1


def test_error_knob_answers_500(client: WebClient, standin: SlackStandIn) -> None:
    """error_rate=1 gives HTTP 500 and nothing is stored."""
    standin.error_rate = 1.0
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C0OPS", text="x")
    assert exc.value.response.status_code == 500
    assert standin.messages() == []


def test_drop_after_post_stores_the_message_but_sends_no_answer(
    client: WebClient, standin: SlackStandIn
) -> None:
    """The client sees a connection error although the message was posted (unknown outcome)."""
    standin.drop_after_post_rate = 1.0
    with pytest.raises((urllib.error.URLError, ConnectionError, RemoteDisconnected)):
        client.chat_postMessage(channel="C0ALERTS", text="x", metadata=ALERT_METADATA)
    [msg] = standin.messages("C0ALERTS")
    assert msg.metadata == ALERT_METADATA
    assert standin.calls[-1].status == 0
    assert standin.calls[-1].fault == "drop_after_post"


def test_default_webclient_retry_duplicates_a_dropped_post(standin: SlackStandIn) -> None:
    """WebClient's default ConnectionErrorRetryHandler re-posts after a drop: a duplicate."""
    standin.fail_next("chat.postMessage", "drop_after_post")
    client_for(standin).chat_postMessage(channel="C0ALERTS", text="once?")
    assert [m.text for m in standin.messages("C0ALERTS")] == ["once?", "once?"]


def test_fail_next_injects_exactly_one_fault(client: WebClient, standin: SlackStandIn) -> None:
    """A queued Slack error hits only the next call of that method."""
    standin.fail_next("chat.postMessage", "channel_not_found")
    assert client.auth_test()["ok"] is True  # other methods are unaffected
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C0OPS", text="x")
    assert exc.value.response["error"] == "channel_not_found"
    assert client.chat_postMessage(channel="C0OPS", text="x")["ok"] is True
    standin.fail_next("chat.update", "ratelimited")
    ts = standin.messages("C0OPS")[0].ts
    with pytest.raises(SlackApiError) as limited:
        client.chat_update(channel="C0OPS", ts=ts, text="y")
    assert limited.value.response.status_code == 429


def test_fail_next_timeout_stores_then_answers_late(standin: SlackStandIn) -> None:
    """A timeout fault processes the post and delays the answer past the client's timeout."""
    standin.fail_next("chat.postMessage", "timeout")
    slow = client_for(standin, timeout=0.5, retry_handlers=[])
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        slow.chat_postMessage(channel="C0OPS", text="late")
    assert [m.text for m in standin.messages("C0OPS")] == ["late"]


def test_fault_seed_makes_random_faults_repeatable(standin: SlackStandIn) -> None:
    """The same seed gives the same sequence of faults."""
    client = client_for(standin, retry_handlers=[])
    standin.rate_limit_rate = 0.5

    def statuses() -> list[int]:
        out = []
        for _ in range(12):
            try:
                out.append(client.auth_test().status_code)
            except SlackApiError as exc:
                out.append(exc.response.status_code)
        return out

    standin.fault_seed = 7
    first = statuses()
    standin.fault_seed = 7
    assert statuses() == first
    assert {200, 429} <= set(first)


def test_post_rate_per_channel() -> None:
    """With post_rate_per_channel, a second post in the same second to one channel is a 429."""
    now = [1_700_000_000.0]
    with SlackStandIn(clock=lambda: now[0], post_rate_per_channel=1.0) as s:
        c = client_for(s, retry_handlers=[])
        c.chat_postMessage(channel="C0OPS", text="1")
        with pytest.raises(SlackApiError) as exc:
            c.chat_postMessage(channel="C0OPS", text="2")
        assert exc.value.response.status_code == 429
        c.chat_postMessage(channel="C0ALERTS", text="other channel")
        now[0] += 1.0
        c.chat_postMessage(channel="C0OPS", text="3")
        assert [m.text for m in s.messages("C0OPS")] == ["1", "3"]
        assert s.ratelimited == 1


# --- response URLs, transcript, wait_for ----------------------------------------------------------


def test_response_url_replace_original_updates_the_bound_message(
    client: WebClient, standin: SlackStandIn
) -> None:
    """A replace_original POST to a message-bound response_url rewrites that message."""
    ts = client.chat_postMessage(channel="C0ALERTS", text="alert", metadata=ALERT_METADATA)["ts"]
    bound = standin.response_url(channel="C0ALERTS", message_ts=ts, user="U0MANAGER")
    resp = WebhookClient(bound, timeout=5).send(text="acknowledged", replace_original=True)
    assert (resp.status_code, resp.body) == (200, "ok")
    msg = standin.message("C0ALERTS", ts)
    assert msg is not None
    assert (msg.text, msg.edited, msg.metadata) == ("acknowledged", True, ALERT_METADATA)
    assert standin.responses[-1]["replace_original"] is True
    assert standin.responses_for(bound)[0]["text"] == "acknowledged"


def test_response_url_ephemeral_and_in_channel(standin: SlackStandIn) -> None:
    """Ephemeral replies are only recorded; in_channel replies become channel messages."""
    url = standin.response_url(channel="C0OPS", user="U0MANAGER")
    WebhookClient(url, timeout=5).send(text="only you")
    WebhookClient(url, timeout=5).send(text="everyone", response_type="in_channel")
    assert [r["text"] for r in standin.responses_for(url)] == ["only you", "everyone"]
    assert [m.text for m in standin.messages("C0OPS")] == ["everyone"]
    unknown = WebhookClient(standin.url + "/response/nope", timeout=5).send(text="x")
    assert unknown.status_code == 404
    standin.fail_next("response_url", "expired_url")
    expired = WebhookClient(url, timeout=5).send(text="too late")
    assert (expired.status_code, expired.body) == (404, "expired_url")
    assert len(standin.responses_for(url)) == 2


def test_transcript_renders_blocks_as_text(client: WebClient, standin: SlackStandIn) -> None:
    """The transcript shows block text, context and button labels per message and update."""
    ts = client.chat_postMessage(channel="C0ALERTS", text="fallback", blocks=ALERT_BLOCKS)["ts"]
    mark = standin.mark()
    client.chat_update(channel="C0ALERTS", ts=ts, text="done", blocks=[])
    text = standin.transcript()
    assert "#alerts  Fleetbot: LOW WASHER FLUID" in text
    assert "VIN1 needs washer fluid" in text  # bold, as Slack shows it
    assert "Warning · 09:12" in text
    assert "[Acknowledge] [Details]" in text
    assert "fallback" not in text  # blocks win over the fallback text
    assert standin.transcript(since=mark) == "#alerts  Fleetbot (edited): done"


def test_wait_for_raises_with_a_dump(client: WebClient, standin: SlackStandIn) -> None:
    """wait_for fails with the transcript and the last calls when the condition never holds."""
    client.chat_postMessage(channel="C0OPS", text="something")
    with pytest.raises(TimeoutError) as exc:
        standin.wait_for(lambda s: len(s.messages()) > 1, timeout=0.1)
    assert "#ops  Fleetbot: something" in str(exc.value)
    assert "chat.postMessage status=200" in str(exc.value)


# --- driver against a real slack-bolt app ---------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    """wsgiref handler that does not print access logs."""

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""


@pytest.fixture
def bolt_url(standin: SlackStandIn) -> Iterator[str]:
    """A tiny slack-bolt app served over WSGI on 127.0.0.1, talking to the stand-in."""
    app = App(
        signing_secret=SIGNING_SECRET,
        client=WebClient(token=standin.bot_token, base_url=standin.api_url, timeout=5),
        token_verification_enabled=False,
    )

    @app.command("/hello")
    def hello(ack: Any, respond: Any, command: dict[str, Any]) -> None:
        ack()
        respond(f"hello {command['user_name']} in {command['channel_name']}: {command['text']}")

    @app.action("ack")
    def on_ack(ack: Any, respond: Any, body: dict[str, Any]) -> None:
        ack()
        alert = body["message"]["metadata"]["event_payload"]["alert_id"]
        respond(replace_original=True, text=f"{alert} acknowledged by <@{body['user']['id']}>")

    @app.event("app_home_opened")
    def home(event: dict[str, Any], client: WebClient) -> None:
        view = {
            "type": "home",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Fleet"}}],
        }
        client.views_publish(user_id=event["user"], view=view)

    server: WSGIServer = make_server(
        "127.0.0.1", 0, SlackRequestHandler(app), handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/slack/events"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def driver(standin: SlackStandIn, bolt_url: str) -> SlackDriver:
    """A driver signing with the app's secret."""
    return SlackDriver(standin, bolt_url, SIGNING_SECRET)


def test_signed_command_is_accepted_and_reply_arrives(
    driver: SlackDriver, standin: SlackStandIn
) -> None:
    """Bolt verifies the signature, acks with 200 and its respond() reaches the response_url."""
    result = driver.command("/hello", "world")
    assert result.status == 200
    [reply] = result.replies()
    assert reply["text"] == "hello manager in ops: world"
    assert reply["channel"] == "C0OPS"
    assert "#ops  manager: /hello world" in standin.transcript()
    assert "(only visible to @manager): hello manager" in standin.transcript()


def test_click_with_replace_original_updates_the_message(
    driver: SlackDriver, standin: SlackStandIn, client: WebClient
) -> None:
    """A button click carries the message (with metadata) and replace_original rewrites it."""
    client.chat_postMessage(
        channel="C0ALERTS", text="alert", blocks=ALERT_BLOCKS, metadata=ALERT_METADATA
    )
    [message] = standin.messages("C0ALERTS")
    result = driver.click(message, "ack")
    assert result.status == 200
    result.replies()
    updated = standin.message("C0ALERTS", message.ts)
    assert updated is not None
    assert updated.text == "a1 acknowledged by <@U0MANAGER>"
    assert updated.history[0]["blocks"] == ALERT_BLOCKS
    assert "manager clicked: [Acknowledge]" in standin.transcript()
    with pytest.raises(LookupError):
        driver.click(message, "no-such-button")


def test_event_reaches_the_app(driver: SlackDriver, standin: SlackStandIn) -> None:
    """An app_home_opened event (also retried) is accepted and the app publishes a view."""
    event = {"type": "app_home_opened", "user": "U0MANAGER", "channel": "D0MANAGER", "tab": "home"}
    assert driver.event(event).status == 200
    standin.wait_for(lambda s: "U0MANAGER" in s.views)
    assert driver.event(event, retry_num=1).status == 200


def test_bad_or_stale_signature_is_401(driver: SlackDriver, standin: SlackStandIn) -> None:
    """Bolt refuses a wrongly signed or stale request with 401, and nothing is posted."""
    body = urlencode({"command": "/hello", "text": "x", "user_id": "U0MANAGER"}).encode()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    forged = {**form, **driver.signed_headers(body), "X-Slack-Signature": "v0=" + "0" * 64}
    assert driver.raw(body, forged).status == 401
    stale = {**form, **driver.signed_headers(body, timestamp=1_600_000_000)}
    assert driver.raw(body, stale).status == 401
    assert driver.raw(body, form).status == 401
    assert standin.responses == []


def test_message_dataclass_fields() -> None:
    """Message keeps Slack's fields with safe defaults for a fresh post."""
    msg = Message("C0OPS", "1.000001", "t", None, None, "U0FLEETBOT")
    assert (msg.thread_ts, msg.edited, msg.history) == (None, False, [])


def test_a_revoked_token_is_refused_on_every_call_until_restored():
    with SlackStandIn() as standin:
        client = WebClient(token=standin.bot_token, base_url=standin.api_url)
        standin.revoke_token()
        for call in (client.auth_test, lambda: client.chat_postMessage(channel="C0OPS", text="x")):
            with pytest.raises(SlackApiError) as refused:
                call()
            assert refused.value.response["error"] == "invalid_auth"
        standin.restore_token()
        assert client.auth_test()["bot_id"] == standin.bot_id


def test_messages_carry_the_bot_id_of_the_app_that_posted_them():
    with SlackStandIn() as standin:
        client = WebClient(token=standin.bot_token, base_url=standin.api_url)
        client.chat_postMessage(channel="C0OPS", text="ours")
        forged = {"event_type": "fleet_alert", "event_payload": {"alert_id": "a1"}}
        standin.post_as_app("C0OPS", "theirs", metadata=forged)
        history = client.conversations_history(channel="C0OPS", include_all_metadata=True)
        by_text = {m["text"]: m for m in history["messages"]}
        assert by_text["ours"]["bot_id"] == standin.bot_id
        assert by_text["theirs"]["bot_id"] == "B0OTHERAPP"
        assert by_text["theirs"]["metadata"] == forged
