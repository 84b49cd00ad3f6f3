"""Webhook blocks post to a real HTTP receiver on 127.0.0.1; assertions are on what arrived."""

from __future__ import annotations

import base64
import json
import urllib.parse

import pytest
from headwater import Block, flow
from headwater.blocks.notifications import NotificationBlock, notify
from headwater.errors import BlockValidationError
from headwater_notify import (
    CustomWebhook,
    DiscordWebhook,
    MicrosoftTeamsWebhook,
    NotificationDeliveryError,
    SlackWebhook,
)

TOKEN = "xoxb-planted-T0k3n-9"


def test_slack_posts_subject_and_body(receiver):
    SlackWebhook(url=f"{receiver.url}/services/{TOKEN}").save("alerts")
    block = Block.load("slack-webhook/alerts")
    assert isinstance(block, NotificationBlock)
    block.notify("nightly load failed", subject="etl")
    [req] = receiver.wait_for(1)
    assert req.method == "POST" and req.path == f"/services/{TOKEN}"
    assert req.headers["content-type"] == "application/json"
    assert req.json() == {"text": "*etl*\nnightly load failed"}


def test_teams_posts_an_adaptive_card(receiver):
    MicrosoftTeamsWebhook(url=receiver.url + "/workflow").notify("rows: 12", subject="done")
    [req] = receiver.wait_for(1)
    card = req.json()["attachments"][0]["content"]
    assert [item["text"] for item in card["body"]] == ["done", "rows: 12"]


def test_discord_from_id_and_token_or_url(receiver):
    DiscordWebhook(url=receiver.url + "/api/webhooks/1/tok", botname="hw").notify("hello", subject="s")
    [req] = receiver.wait_for(1)
    assert req.json() == {"content": "**s**\nhello", "tts": False, "username": "hw"}
    with pytest.raises(BlockValidationError, match="webhook_id and webhook_token"):
        DiscordWebhook(webhook_id="1")


def test_custom_webhook_renders_template_and_sends_secret_header(receiver):
    hook = CustomWebhook(
        name="ops", url=receiver.url + "/in", method="PUT",
        headers={"X-Source": "{{ name }}"}, secret_headers={"Authorization": f"Bearer {TOKEN}"},
        json_data={"text": "{{ subject }}: {{ body }}", "tags": ["{{ name }}", 3]},
    )
    hook.save("ops")
    CustomWebhook.load("ops").notify("all good", subject="nightly")
    [req] = receiver.wait_for(1)
    assert req.method == "PUT"
    assert req.headers["authorization"] == f"Bearer {TOKEN}" and req.headers["x-source"] == "ops"
    assert req.json() == {"text": "nightly: all good", "tags": ["ops", 3]}


def test_custom_webhook_template_that_cannot_render_is_refused_at_creation():
    with pytest.raises(BlockValidationError, match="unknown template field.*flow_name"):
        CustomWebhook(url="http://127.0.0.1:9/x", json_data={"text": "{{ flow_name }}"})


def test_url_must_be_http():
    with pytest.raises(BlockValidationError, match="http"):
        SlackWebhook(url="hooks.slack.com/services/x")


def test_retries_server_errors_then_delivers(receiver):
    receiver.statuses.extend([503, 429])
    SlackWebhook(url=receiver.url + "/x", retries=3).notify("eventually")
    reqs = receiver.wait_for(3)
    assert len(reqs) == 3 and reqs[-1].json() == {"text": "eventually"}


def test_refusal_is_one_line_without_the_url(receiver):
    receiver.statuses.append(403)
    with pytest.raises(NotificationDeliveryError) as info:
        SlackWebhook(url=f"{receiver.url}/services/{TOKEN}").notify("x")
    text = str(info.value)
    assert "HTTP 403" in text and "\n" not in text and TOKEN not in text and receiver.url not in text
    assert len(receiver.requests) == 1  # a 4xx is not retried


def test_unreachable_endpoint_is_retried_then_one_line():
    with pytest.raises(NotificationDeliveryError, match=r"could not be reached .* after 2 attempts"):
        SlackWebhook(url=f"http://127.0.0.1:9/services/{TOKEN}", retries=1).notify("x")


def test_webhook_url_is_not_stored_or_shown(headwater_home):
    SlackWebhook(url=f"https://hooks.example/services/{TOKEN}").save("alerts")
    forms = [TOKEN, urllib.parse.quote(TOKEN), json.dumps(TOKEN)[1:-1], base64.b64encode(TOKEN.encode()).decode()]
    for path in headwater_home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(form.encode() in data for form in forms), path
    block = SlackWebhook.load("alerts")
    assert TOKEN not in repr(block) and TOKEN not in str(block.model_dump())


def test_async_twin_delivers(receiver):
    import asyncio

    asyncio.run(SlackWebhook(url=receiver.url + "/a").anotify("from async"))
    assert receiver.wait_for(1)[0].json() == {"text": "from async"}


def test_flow_on_failure_notify_shortcut(receiver):
    SlackWebhook(url=receiver.url + "/alerts").save("alerts")

    @flow(name="nightly-load", on_failure=[notify("slack-webhook/alerts")])
    def nightly(password: str = "x"):
        raise RuntimeError("warehouse unreachable")

    with pytest.raises(RuntimeError):
        nightly()
    [req] = receiver.wait_for(1)
    text = req.json()["text"]
    assert text.startswith("*nightly-load: Failed*\n")
    assert "nightly-load entered Failed" in text and "warehouse unreachable" in text


def test_notify_shortcut_template_and_secret_parameters_masked(receiver):
    from headwater import Secret

    Secret(value=TOKEN).save("api")
    SlackWebhook(url=receiver.url + "/alerts").save("alerts")

    @flow(name="uses-secret", on_completion=[notify("alerts", body="{name} {state} with {parameters}")])
    def uses(key: str):
        return 1

    uses(Secret.load("api").get())
    text = receiver.wait_for(1)[0].json()["text"]
    assert "uses-secret Completed with" in text and TOKEN not in text
