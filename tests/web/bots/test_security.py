"""Requests that are not provably from Slack or Discord do nothing; approvals answer only to their requester;
nothing posted carries a secret or a local path."""

import threading
import time

import pytest

from core.settings import get_settings
from core.store import open_db
from core.workspace import Workspace
from tests.web.bots.conftest import (SIGNING_SECRET, button, command, discord_headers, mention, post_discord,
                                     post_slack, slack_headers)
from web.bots import security, status_lines


def _slack_calls(scripted):
    return [r for r in scripted.received if r[0].startswith("slack-")]


@pytest.mark.slow
def test_forged_slack_signature_is_401_and_nothing_runs(make_client, scripted, fake):
    client = make_client(scripted)
    response = post_slack(client, mention("launch"), secret="not-the-signing-secret")
    assert response.status_code == 401
    unsigned = client.post("/slack/events", content=mention("launch")[0], headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    time.sleep(0.3)  # had anything been scheduled, it would have reached the agent or the fake by now
    assert _slack_calls(scripted) == [] and fake.calls == []


@pytest.mark.slow
def test_stale_slack_timestamp_is_401_even_when_signed(make_client, scripted, fake):
    client = make_client(scripted)
    response = post_slack(client, mention("launch"), ts=int(time.time()) - 6 * 60)
    assert response.status_code == 401
    time.sleep(0.3)
    assert _slack_calls(scripted) == [] and fake.calls == []


@pytest.mark.slow
def test_replayed_slack_request_is_401_and_runs_once(make_client, scripted, fake):
    client = make_client(scripted)
    body, ctype = mention("hello there", event_id="EvReplay")
    headers = {"Content-Type": ctype, **slack_headers(body)}
    assert client.post("/slack/events", content=body, headers=headers).status_code == 200
    assert client.post("/slack/events", content=body, headers=headers).status_code == 401
    fake.wait_for(lambda: fake.slack("chat.postMessage"), what="the reply")
    time.sleep(0.3)
    assert [r[2] for r in _slack_calls(scripted)] == ["hello there"]


@pytest.mark.slow
def test_slack_retry_of_a_taken_event_is_acknowledged_but_not_run_twice(make_client, scripted, fake):
    client = make_client(scripted)
    first = post_slack(client, mention("hello there", event_id="EvRetry"), ts=int(time.time()) - 60)
    retry = post_slack(client, mention("hello there", event_id="EvRetry"),  # a minute later: newly signed
                       **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert first.status_code == 200 and retry.status_code == 200
    fake.wait_for(lambda: fake.slack("chat.postMessage"), what="the reply")
    time.sleep(0.3)
    assert [r[2] for r in _slack_calls(scripted)] == ["hello there"]
    assert len(fake.slack("chat.postMessage")) == 1


@pytest.mark.slow
def test_slack_is_acknowledged_before_the_agent_answers(make_client, fake):
    release, started = threading.Event(), threading.Event()

    class SlowSidekick:
        def __init__(self, workspace, thread_id):
            pass

        def send(self, text, uploads=None):
            started.set()
            release.wait(30)  # the agent is still thinking when Slack gets its answer
            yield {"type": "text", "text": "done thinking"}
            yield {"type": "turn_end"}

        def history(self):
            return []

        def pending_approval(self):
            return None

    client = make_client(SlowSidekick)
    response = post_slack(client, mention("think hard"))
    assert response.status_code == 200 and not release.is_set()
    assert started.wait(30)  # the work began after the answer
    assert fake.slack("chat.postMessage") == []
    release.set()
    reply = fake.wait_for(lambda: fake.slack("chat.postMessage"), what="the late reply")[0]
    assert reply["text"] == "done thinking"


@pytest.mark.slow
def test_signed_platform_requests_pass_the_access_token_check(make_client, scripted, monkeypatch, fake):
    monkeypatch.setenv("LORAPORT_TOKEN", "panel-secret-token")
    client = make_client(scripted, get_settings())
    assert client.get("/api/jobs").status_code == 401  # the panel still needs the token
    assert post_slack(client, mention("hello there")).status_code == 200  # Slack cannot send it; it signs
    assert post_discord(client, {"type": 1}).json() == {"type": 1}


def test_discord_ping_gets_pong(make_client):
    response = post_discord(make_client(), {"type": 1})
    assert response.status_code == 200 and response.json() == {"type": 1}


@pytest.mark.slow
def test_discord_bad_stale_or_replayed_signature_is_401_and_nothing_runs(make_client, scripted, fake):
    from nacl.signing import SigningKey

    client = make_client(scripted)
    payload = command("launch")
    assert post_discord(client, payload, key=SigningKey.generate()).status_code == 401  # not Discord's key
    assert post_discord(client, payload, ts=int(time.time()) - 6 * 60).status_code == 401
    body = b'{"type": 1}'
    headers = discord_headers(body)
    tampered = client.post("/discord/interactions", content=b'{"type": 2}', headers=headers)
    assert tampered.status_code == 401
    assert client.post("/discord/interactions", content=body, headers=headers).status_code == 200
    assert client.post("/discord/interactions", content=body, headers=headers).status_code == 401  # replay
    time.sleep(0.3)
    assert [r for r in scripted.received if r[0].startswith("discord-")] == [] and fake.calls == []


def test_admin_may_answer_anyones_approval_and_only_once(workspace):
    settings = get_settings(bot_admins=["UADMIN", "discord:999"])
    db = open_db(workspace)
    security.record_approval(db, "ap-1", "slack-T1-C1-1.0", "slack", "U1")
    record = security.get_approval(db, "ap-1")
    assert security.may_answer(settings, record, "slack", "U1")
    assert not security.may_answer(settings, record, "slack", "U2")
    assert not security.may_answer(settings, record, "discord", "U1")  # same id on another platform is not U1
    assert security.may_answer(settings, record, "slack", "UADMIN")
    assert security.may_answer(settings, None, "discord", "999")  # an admin answers even unrecorded requests
    assert not security.may_answer(settings, None, "slack", "U1")
    assert security.claim(db, "ap-1", "U1") and not security.claim(db, "ap-1", "UADMIN")


def test_scrubber_removes_workspace_paths_other_paths_and_secrets(monkeypatch, workspace):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-123-456-abcdefabcdef")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-api03-secretsecretsecret")
    clean = security.Scrubber(get_settings(), workspace)
    home = workspace.home
    text = (f"Saved {home}/runs/job-1/lora.safetensors and read /etc/loraport/clips/a.mp4, C:\\Users\\me\\x.zip; "
            f"token xoxb-123-456-abcdefabcdef, key sk-ant-api03-secretsecretsecret, secret {SIGNING_SECRET}. "
            "See https://example.com/docs/bots and `rank 32 -> 16`.")
    out = clean(text)
    assert str(home) not in out and "/etc/loraport" not in out and "C:\\Users" not in out
    assert "lora.safetensors" in out and "a.mp4" in out and "x.zip" in out  # the file names stay readable
    assert "xoxb-" not in out and "sk-ant" not in out and SIGNING_SECRET not in out
    assert "https://example.com/docs/bots" in out and "rank 32 -> 16" in out


@pytest.mark.slow
def test_agent_errors_with_local_paths_reach_slack_scrubbed(make_client, fake, workspace_home):
    class LeakySidekick:
        def __init__(self, workspace, thread_id):
            self.workspace = workspace

        def send(self, text, uploads=None):
            yield {"type": "error", "message": f"Could not read {self.workspace.home}/uploads/up-1/x.safetensors"}
            yield {"type": "text", "text": f"Your clips are in {Workspace(workspace_home).datasets_dir}/ds-1."}
            yield {"type": "turn_end"}

        def history(self):
            return []

        def pending_approval(self):
            return None

    client = make_client(LeakySidekick)
    post_slack(client, mention("inspect it"))
    posts = fake.wait_for(lambda: len(fake.slack("chat.postMessage")) >= 2 and fake.slack("chat.postMessage"),
                          what="two posts")
    assert "x.safetensors" in posts[1]["text"] or "x.safetensors" in posts[0]["text"]
    assert not any(str(workspace_home) in text for text in fake.texts())


def test_serve_says_which_bots_are_on(workspace):
    off = status_lines(get_settings())
    assert off == ["  slack bot: off (set SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN; see docs/bots.md)",
                   "  discord bot: off (set DISCORD_PUBLIC_KEY and DISCORD_APP_ID; see docs/bots.md)"]


def test_serve_lists_the_bot_endpoints_when_configured(bot_settings):
    lines = status_lines(bot_settings)
    assert "slack bot: on at POST /slack/events" in lines[0]
    assert "discord bot: on at POST /discord/interactions" in lines[1]


@pytest.mark.slow
def test_component_from_a_foreign_button_or_app_is_refused(make_client):
    client = make_client()
    response = post_discord(client, button("someone:else:1", user="111", token="t"))
    assert response.json()["data"]["flags"] == 64
    foreign = {**command("hello"), "application_id": "42"}
    assert post_discord(client, foreign).status_code == 400
