"""Bots under test: the real app with both bots on, pointed at a loopback fake of Slack and Discord, and requests
signed here the way the platforms sign them (Slack's SignatureVerifier, a generated Ed25519 key)."""

import json
import time
from urllib.parse import urlencode

import pytest
from nacl.signing import SigningKey
from slack_sdk.signature import SignatureVerifier

from tests.web.bots.fakes import BOT_TOKEN, FakePlatforms

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DISCORD_KEY = SigningKey.generate()  # the test plays Discord: its own key pair
APP_ID = "1100000000000000001"


@pytest.fixture
def fake():
    from web.server import ThreadedServer

    platforms = FakePlatforms()
    with ThreadedServer(platforms.app) as server:
        platforms.url = server.url
        yield platforms


@pytest.fixture
def bot_settings(fake, monkeypatch, workspace):
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_API_BASE", f"{fake.url}/slack/api/")
    monkeypatch.setenv("DISCORD_PUBLIC_KEY", DISCORD_KEY.verify_key.encode().hex())
    monkeypatch.setenv("DISCORD_APP_ID", APP_ID)
    monkeypatch.setenv("DISCORD_API_BASE", f"{fake.url}/discord/api/v10")
    monkeypatch.setenv("LORAPORT_BOT_ADMINS", '["UADMIN"]')
    from core.settings import get_settings

    return get_settings()


@pytest.fixture
def make_client(bot_settings):
    """``make_client(sidekick_factory=None, settings=None)``: a TestClient of the app (its loop keeps running
    between calls, so the bots' background work goes on)."""
    from fastapi.testclient import TestClient

    from web.app import create_app

    clients = []

    def make(sidekick_factory=None, settings=None):
        client = TestClient(create_app(settings or bot_settings, sidekick_factory=sidekick_factory))
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


# -- Slack -------------------------------------------------------------------------------------------------------

def slack_headers(body: bytes, *, ts: int | None = None, secret: str = SIGNING_SECRET, **extra) -> dict:
    ts = str(ts if ts is not None else int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature, **extra}


def slack_event(event: dict, event_id: str = "Ev01") -> tuple[bytes, str]:
    body = {"token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback", "event_id": event_id,
            "event_time": int(time.time()), "event": event, "authorizations": [{"team_id": "T1", "user_id": "UBOT",
                                                                                 "is_bot": True}]}
    return json.dumps(body).encode(), "application/json"


def mention(text: str, *, user: str = "U1", ts: str = "1700000000.000100", files: list | None = None,
            event_id: str = "Ev01") -> tuple[bytes, str]:
    event = {"type": "app_mention", "user": user, "text": f"<@UBOT> {text}", "ts": ts, "channel": "C1",
             "team": "T1", "event_ts": ts}
    if files:
        event["files"] = files
    return slack_event(event, event_id)


def block_action(user: str, action_id: str, approval_id: str, message: dict) -> tuple[bytes, str]:
    payload = {"type": "block_actions", "user": {"id": user, "team_id": "T1"}, "team": {"id": "T1"},
               "api_app_id": "A1", "channel": {"id": "C1"}, "container": {"type": "message"},
               "trigger_id": f"trig-{user}-{time.monotonic_ns()}", "message": message,
               "actions": [{"type": "button", "action_id": action_id, "block_id": "loraport_approval",
                            "value": approval_id, "action_ts": str(time.time())}]}
    return urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"


def post_slack(client, body_ctype: tuple[bytes, str], **header_kw):
    body, ctype = body_ctype
    return client.post("/slack/events", content=body,
                       headers={"Content-Type": ctype, **slack_headers(body, **header_kw)})


# -- Discord -----------------------------------------------------------------------------------------------------

def discord_headers(body: bytes, *, ts: int | None = None, key: SigningKey = DISCORD_KEY) -> dict:
    ts = str(ts if ts is not None else int(time.time()))
    return {"X-Signature-Timestamp": ts, "X-Signature-Ed25519": key.sign(ts.encode() + body).signature.hex(),
            "Content-Type": "application/json"}


def post_discord(client, payload: dict, **header_kw):
    body = json.dumps(payload).encode()
    return client.post("/discord/interactions", content=body, headers=discord_headers(body, **header_kw))


def command(text: str, *, user: str = "111", token: str = "tok-cmd", attachment: dict | None = None) -> dict:
    options = [{"name": "message", "type": 3, "value": text}]
    data: dict = {"id": "cmd1", "name": "loraport", "type": 1, "options": options}
    if attachment:
        options.append({"name": "attachment", "type": 11, "value": attachment["id"]})
        data["resolved"] = {"attachments": {attachment["id"]: attachment}}
    return {"type": 2, "id": f"i-{time.monotonic_ns()}", "application_id": APP_ID, "token": token,
            "guild_id": "G1", "channel_id": "CH1", "member": {"user": {"id": user, "username": user}}, "data": data}


def button(custom_id: str, *, user: str, token: str, content: str = "") -> dict:
    return {"type": 3, "id": f"i-{time.monotonic_ns()}", "application_id": APP_ID, "token": token,
            "guild_id": "G1", "channel_id": "CH1", "member": {"user": {"id": user}},
            "message": {"id": "m1", "content": content}, "data": {"custom_id": custom_id, "component_type": 2}}
