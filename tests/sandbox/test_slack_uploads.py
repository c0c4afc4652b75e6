"""The stand-in's external upload, driven by slack_sdk's own ``files_upload_v2``."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sandbox.slack import SlackStandIn

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    """A started stand-in, stopped after the test."""
    with SlackStandIn() as s:
        yield s


@pytest.fixture
def client(standin: SlackStandIn) -> WebClient:
    """A real WebClient without retries."""
    return WebClient(token=standin.bot_token, base_url=standin.api_url, retry_handlers=[])


def image(file_id: str) -> list[dict[str, object]]:
    """One image block naming an uploaded file."""
    return [{"type": "image", "slack_file": {"id": file_id}, "alt_text": "chart"}]


def test_upload_then_show_in_an_image_block(client: WebClient, standin: SlackStandIn) -> None:
    """getUploadURLExternal → bytes → completeUploadExternal; the file can then be shown."""
    done = client.files_upload_v2(content=PNG, filename="c.png", title="Chart", alt_txt="chart")
    file = done["file"]
    assert file["mimetype"] == "image/png" and file["size"] == len(PNG) and file["title"] == "Chart"
    assert [c.method for c in standin.calls] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    assert standin.files[file["id"]].data == PNG
    posted = client.chat_postMessage(channel="C0ALERTS", text="r", blocks=image(file["id"]))
    assert posted["ok"]


def test_unknown_or_unfinished_file_in_an_image_block_is_invalid_blocks(
    client: WebClient,
) -> None:
    """An image block naming a file Slack does not have (or not finished) is refused."""
    with pytest.raises(SlackApiError) as unknown:
        client.chat_postMessage(channel="C0ALERTS", text="r", blocks=image("F0NOSUCH"))
    assert unknown.value.response["error"] == "invalid_blocks"
    started = client.files_getUploadURLExternal(filename="c.png", length=len(PNG))
    with pytest.raises(SlackApiError) as unfinished:
        client.chat_postMessage(channel="C0ALERTS", text="r", blocks=image(started["file_id"]))
    assert unfinished.value.response["error"] == "invalid_blocks"
    no_alt = [{"type": "image", "slack_file": {"id": started["file_id"]}}]
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="C0ALERTS", text="r", blocks=no_alt)


def test_complete_needs_the_bytes_and_the_announced_length(client: WebClient) -> None:
    """Completing before the upload, or with a different size, is refused."""
    started = client.files_getUploadURLExternal(filename="c.png", length=len(PNG))
    with pytest.raises(SlackApiError) as early:
        client.files_completeUploadExternal(files=[{"id": started["file_id"], "title": "t"}])
    assert early.value.response["error"] == "file_not_found"
    request = urllib.request.Request(started["upload_url"], data=PNG[:10], method="POST")
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 200
    with pytest.raises(SlackApiError) as short:
        client.files_completeUploadExternal(files=[{"id": started["file_id"], "title": "t"}])
    assert short.value.response["error"] == "file_upload_size_mismatch"
    with pytest.raises(SlackApiError) as bad:
        client.files_getUploadURLExternal(filename="c.png", length=0)
    assert bad.value.response["error"] == "invalid_arguments"


def test_upload_shared_to_a_channel_is_recorded(client: WebClient, standin: SlackStandIn) -> None:
    """With a channel the file is shared there (and the transcript says so)."""
    done = client.files_upload_v2(content=PNG, filename="c.png", title="Chart", channel="C0OPS")
    assert standin.files[done["file"]["id"]].channels == ["C0OPS"]
    assert "shared a file: Chart" in standin.transcript()
