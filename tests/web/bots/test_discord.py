"""The Discord bot end to end: signed interactions in, the real sidekick and worker, the webhook calls recorded."""

import pytest

from core.store import open_db
from tests.tools.lora_factory import make_ltx2_lora
from tests.web.bots.conftest import APP_ID, button, command, post_discord
from tests.web.bots.flows import run_queued_jobs, seed_finished_style_run


@pytest.mark.slow
def test_inspect_command_with_an_attachment_defers_then_edits_in_the_verdict(make_client, fake, tmp_path,
                                                                             workspace_home):
    lora = make_ltx2_lora(tmp_path / "old.safetensors", n_blocks=2)
    fake.files["old.safetensors"] = lora.read_bytes()
    attachment = {"id": "att1", "filename": "old.safetensors", "size": lora.stat().st_size,
                  "url": f"{fake.url}/discord/attachments/old.safetensors"}
    client = make_client()

    response = post_discord(client, command("inspect this", token="tok-inspect", attachment=attachment))
    assert response.json() == {"type": 5}  # deferred: Discord shows "thinking…" while the agent works

    original = f"PATCH /webhooks/{APP_ID}/tok-inspect/messages/@original"
    [edit] = fake.wait_for(lambda: fake.discord(original), what="the edited reply")
    assert "On ltx-2.3" in edit["args"]["content"] and "old.safetensors" in edit["args"]["content"]
    assert edit["args"]["allowed_mentions"] == {"parse": []}
    assert not any(str(workspace_home) in text for text in fake.texts())


@pytest.mark.slow
def test_retrain_buttons_answer_only_the_requester_and_the_finished_lora_is_posted(make_client, fake, tmp_path,
                                                                                  workspace):
    seed_finished_style_run(workspace, tmp_path)
    client = make_client()

    assert post_discord(client, command("retrain my style LoRA with 20% more steps", user="111",
                                        token="tok-1")).json() == {"type": 5}
    [ask] = fake.wait_for(lambda: [c for c in fake.discord() if c["args"].get("components")], what="buttons")
    assert ask["method"] == f"PATCH /webhooks/{APP_ID}/tok-1/messages/@original"
    ids = [b["custom_id"] for row in ask["args"]["components"] for b in row["components"]]
    approve = next(i for i in ids if i.startswith("loraport:approve:"))
    assert "steps 10 -> 12" in ask["args"]["content"] and "<@111>" in ask["args"]["content"]

    refused = post_discord(client, button(approve, user="222", token="tok-2", content=ask["args"]["content"]))
    assert refused.json()["type"] == 4 and refused.json()["data"]["flags"] == 64  # only 222 sees it
    assert "<@111>" in refused.json()["data"]["content"]
    talk = post_discord(client, command("yes", user="222", token="tok-x"))  # nor can they answer in words
    assert talk.json()["type"] == 4 and talk.json()["data"]["flags"] == 64
    assert _train_jobs(workspace) == 1

    accepted = post_discord(client, button(approve, user="111", token="tok-3", content=ask["args"]["content"]))
    assert accepted.json()["type"] == 7 and accepted.json()["data"]["components"] == []  # the buttons go
    assert "Approved by <@111>" in accepted.json()["data"]["content"]
    fake.wait_for(lambda: _train_jobs(workspace) == 2, what="queued job")
    run_queued_jobs(workspace)

    followups = f"POST /webhooks/{APP_ID}/tok-3"
    done = fake.wait_for(lambda: [c for c in fake.discord(followups) if "_file" in c["args"]], what="the LoRA")[0]
    assert "Finished" in done["args"]["content"] and "`sks`" in done["args"]["content"]
    assert done["args"]["_file"]["size"] > 0
    said = " ".join(c["args"].get("content", "") for c in fake.discord(followups))
    assert "Training started" in said and "50%" in said and "100%" in said


def _train_jobs(workspace) -> int:
    return open_db(workspace)["jobs"].count_where("kind = 'train'")


async def test_milestones_after_the_interaction_token_expires_go_to_the_channel_with_the_bot_token(
        fake, bot_settings, monkeypatch):
    from core.settings import get_settings
    from web.bots.discord import TOKEN_LIFE_S, DiscordSink
    from web.bots.milestones import Post

    monkeypatch.setenv("DISCORD_BOT_TOKEN", "bot-token-for-tests")
    sink = DiscordSink(get_settings(), "tok-old", "CH1", lambda text: text, deferred=False)
    await sink.post(Post("job", "Training 50%"))
    sink.born -= TOKEN_LIFE_S + 1  # a long job: the interaction's 15 minutes are over
    await sink.post(Post("job", "Training 100%"))
    webhook, channel = fake.discord()
    assert webhook["method"] == f"POST /webhooks/{APP_ID}/tok-old" and webhook["args"]["content"] == "Training 50%"
    assert channel["method"] == "POST /channels/CH1/messages" and channel["args"]["content"] == "Training 100%"
    assert channel["headers"]["authorization"] == "Bot bot-token-for-tests"
