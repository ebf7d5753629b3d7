"""The platform endpoints against hostile senders: huge bodies, malformed but correctly signed payloads, and
browser headers (the endpoints are signed, so the Origin guard leaves them to the signature)."""

import json

import pytest

from tests.web.bots.conftest import discord_headers, slack_headers


def _streamed(size: int):
    yield b'{"type": "event_callback", "pad": "'
    for _ in range(size // (1 << 16)):
        yield b"x" * (1 << 16)
    yield b'"}'


@pytest.mark.parametrize("path", ["/slack/events", "/discord/interactions"])
def test_a_body_over_a_mebibyte_is_413_declared_or_streamed_and_reaches_no_agent(make_client, scripted, path):
    client = make_client(sidekick_factory=scripted)
    big = b'{"pad": "' + b"x" * (2 << 20) + b'"}'
    headers = slack_headers(big) if path.startswith("/slack") else discord_headers(big)
    assert client.post(path, content=big, headers={"Content-Type": "application/json", **headers}).status_code == 413
    streamed = client.post(path, content=_streamed(2 << 20), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413
    assert scripted.received == []


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b"null", b'{"type": 5}', b'{"type": "event_callback"}',
                                  b"payload=%7Bnot-json", b"payload=%5B%5D", b"[" * 100_000])
def test_signed_but_malformed_slack_payloads_are_a_4xx_or_ignored_never_a_500(make_client, scripted, body):
    client = make_client(sidekick_factory=scripted)
    ctype = "application/x-www-form-urlencoded" if body.startswith(b"payload=") else "application/json"
    response = client.post("/slack/events", content=body, headers={"Content-Type": ctype, **slack_headers(body)})
    assert response.status_code < 500, response.text
    assert scripted.received == []


@pytest.mark.parametrize("payload", [{}, {"type": "x"}, {"type": 2}, {"type": 2, "data": "str"},
                                     {"type": 3, "data": {"custom_id": 5}}, [], "text"])
def test_signed_but_malformed_discord_payloads_are_a_4xx_or_ignored_never_a_500(make_client, scripted, payload):
    client = make_client(sidekick_factory=scripted)
    body = json.dumps(payload).encode()
    response = client.post("/discord/interactions", content=body, headers=discord_headers(body))
    assert response.status_code < 500, response.text
    assert scripted.received == []


def test_a_body_that_is_not_utf8_with_a_made_up_signature_is_401(make_client, scripted):
    client = make_client(sidekick_factory=scripted)
    headers = {"Content-Type": "application/json", "X-Slack-Signature": "v0=" + "0" * 64,
               **{k: v for k, v in slack_headers(b"{}").items() if k != "X-Slack-Signature"}}
    response = client.post("/slack/events", content=b"\xff\xfe{}", headers=headers)
    assert response.status_code == 401
    body = b"\xff\xfe"
    response = client.post("/discord/interactions", content=body,
                           headers={**discord_headers(b"{}"), "Content-Type": "application/json"})
    assert response.status_code == 401
    assert scripted.received == []


def test_a_browser_origin_on_a_signed_path_is_left_to_the_signature(make_client, scripted):
    client = make_client(sidekick_factory=scripted)
    response = client.post("/slack/events", content=b"{}", headers={"Content-Type": "application/json",
                                                                    "Origin": "https://evil.example"})
    assert response.status_code == 401  # refused for the missing signature, not let through
