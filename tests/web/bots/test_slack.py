"""The Slack bot end to end: signed events in, the real sidekick (guided brain) and worker, posts to a fake Slack."""

import json
from urllib.parse import urlencode

import pytest

from core.store import open_db
from tests.tools.lora_factory import make_ltx2_lora
from tests.web.bots.conftest import block_action, mention, post_slack, slack_event
from tests.web.bots.flows import seed_finished_style_run, run_queued_jobs


@pytest.mark.slow
def test_inspect_this_with_a_lora_attached_posts_the_verdict_in_the_thread(make_client, fake, tmp_path,
                                                                          workspace_home):
    lora = make_ltx2_lora(tmp_path / "old_style.safetensors", n_blocks=2)
    fake.files["old_style.safetensors"] = lora.read_bytes()
    files = [{"id": "F1", "name": "old_style.safetensors", "size": lora.stat().st_size,
              "url_private_download": f"{fake.url}/slack/files/old_style.safetensors"}]
    client = make_client()

    response = post_slack(client, mention("inspect this", files=files))
    assert response.status_code == 200

    reply = fake.wait_for(lambda: [m for m in fake.slack("chat.postMessage") if "On ltx-2.3" in m.get("text", "")],
                          what="inspect verdict")[0]
    assert reply["channel"] == "C1" and reply["thread_ts"] == "1700000000.000100"  # in the user's thread
    assert "old_style.safetensors" in reply["text"]
    assert fake.downloads == [{"name": "old_style.safetensors", "auth": "Bearer xoxb-test-bot-token-1234567890"}]
    [manifest] = (workspace_home / "uploads").glob("up-*.json")
    assert json.loads(manifest.read_text())["kind"] == "lora"  # the web's upload storage
    assert not any(str(workspace_home) in text for text in fake.texts())  # no local paths leave the server


@pytest.mark.slow
def test_retrain_asks_with_buttons_refuses_other_users_and_trains_for_the_requester(make_client, fake, tmp_path,
                                                                                   workspace):
    seed_finished_style_run(workspace, tmp_path, steps=10)
    client = make_client()

    assert post_slack(client, mention("retrain my style LoRA with 20% more steps", user="U1")).status_code == 200
    ask = fake.wait_for(lambda: [m for m in fake.slack("chat.postMessage") if m.get("blocks")],
                        what="approval request")[0]
    blocks = ask["blocks"] if isinstance(ask["blocks"], list) else json.loads(ask["blocks"])
    buttons = {e["action_id"]: e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]}
    assert set(buttons) == {"loraport_approve", "loraport_reject"}
    assert "steps 10 -&gt; 12" in ask["text"]  # Slack's escape for ">"
    message = {"ts": "1700000999.000100", "thread_ts": ask["thread_ts"], "blocks": blocks}

    # someone else clicks Approve: told no, privately; nothing is queued
    post_slack(client, block_action("U2", "loraport_approve", buttons["loraport_approve"], message))
    refusal = fake.wait_for(lambda: fake.slack("chat.postEphemeral"), what="refusal")[0]
    assert refusal["user"] == "U2" and "<@U1>" in refusal["text"]
    assert _train_jobs(workspace) == 1 and not fake.slack("chat.update")
    # nor can they answer in words in the thread ("sure" is an answer, the same word list as the session's)
    post_slack(client, _reply_in_thread("sure", ask["thread_ts"], user="U2"))
    fake.wait_for(lambda: len(fake.slack("chat.postEphemeral")) == 2, what="second refusal")
    assert _train_jobs(workspace) == 1

    # the requester clicks: the buttons go, the job is queued on the tiny model and trained by the worker
    post_slack(client, block_action("U1", "loraport_approve", buttons["loraport_approve"], message))
    update = fake.wait_for(lambda: fake.slack("chat.update"), what="button update")[0]
    assert "Approved by <@U1>" in update["text"]
    fake.wait_for(lambda: _train_jobs(workspace) == 2, what="queued job")
    run_queued_jobs(workspace)

    done = fake.wait_for(lambda: fake.slack("files.completeUploadExternal"), what="finished upload")[0]
    assert "Finished" in done["initial_comment"] and "`sks`" in done["initial_comment"]
    assert done["thread_ts"] == ask["thread_ts"] and fake.uploads  # the LoRA itself went to the thread
    posted = " ".join(m.get("text", "") for m in fake.slack("chat.postMessage"))
    assert "Training started" in posted
    for quarter in ("25%", "50%", "75%", "100%"):
        assert quarter in posted
    # a second click on the answered request does nothing but say so
    post_slack(client, block_action("U1", "loraport_approve", buttons["loraport_approve"], message))
    fake.wait_for(lambda: any("already answered" in m["text"] for m in fake.slack("chat.postEphemeral")),
                  what="already answered")
    assert _train_jobs(workspace) == 2


def _train_jobs(workspace) -> int:
    return open_db(workspace)["jobs"].count_where("kind = 'train'")


def _reply_in_thread(text: str, thread_ts: str, *, user: str):
    body, ctype = mention(text, user=user, ts="1700000002.000100", event_id=f"Ev-{user}-{text}")
    event = json.loads(body)
    event["event"]["thread_ts"] = thread_ts
    return json.dumps(event).encode(), ctype


@pytest.mark.slow
def test_slash_command_opens_a_thread_and_answers_in_it(make_client, scripted, fake):
    client = make_client(scripted)
    form = urlencode({"command": "/loraport", "text": "hello there", "user_id": "U1", "channel_id": "C9",
                      "team_id": "T1", "trigger_id": "trig-1", "response_url": f"{fake.url}/slack/respond"})
    response = post_slack(client, (form.encode(), "application/x-www-form-urlencoded"))
    assert response.status_code == 200
    root, reply = fake.wait_for(lambda: len(fake.slack("chat.postMessage")) >= 2 and fake.slack("chat.postMessage"),
                                what="thread")[:2]
    assert root["text"] == "<@U1> asked: hello there" and "thread_ts" not in root
    assert reply["text"] == "you said: hello there" and reply["channel"] == "C9"
    assert reply["thread_ts"].startswith("1700000")  # the root message's ts, as the fake returned it
    assert scripted.received[0][0] == f"slack-T1-C9-{reply['thread_ts']}"


@pytest.mark.slow
def test_empty_slash_command_gets_usage_and_runs_nothing(make_client, scripted):
    client = make_client(scripted)
    form = urlencode({"command": "/loraport", "text": " ", "user_id": "U1", "channel_id": "C9", "team_id": "T1"})
    response = post_slack(client, (form.encode(), "application/x-www-form-urlencoded"))
    assert "Usage" in response.text and scripted.received == []


def test_direct_message_is_one_conversation_answered_in_place(make_client, scripted, fake):
    client = make_client(scripted)
    event = {"type": "message", "channel_type": "im", "user": "U1", "text": "hi &amp; hello", "ts": "1700000000.1",
             "channel": "D1"}
    assert post_slack(client, slack_event(event, "EvDm")).status_code == 200
    [reply] = fake.wait_for(lambda: fake.slack("chat.postMessage"), what="DM reply")
    assert reply["channel"] == "D1" and "thread_ts" not in reply and reply["text"] == "you said: hi &amp; hello"
    assert scripted.received[0][:3] == ("slack-T1-D1-dm", "send", "hi & hello")


def test_url_verification_challenge_is_answered(make_client):
    body = json.dumps({"token": "legacy", "challenge": "c-123", "type": "url_verification"}).encode()
    response = post_slack(make_client(), (body, "application/json"))
    assert response.status_code == 200 and response.json() == {"challenge": "c-123"}
