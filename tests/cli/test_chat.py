"""`loraport chat --json`: one user line in, every event out as one JSON line; /approve answers the approval."""

import json

from typer.testing import CliRunner

from cli.main import build_app
from core.store import open_db


def _chat(lines: list[str], *args: str) -> list[dict]:
    result = CliRunner().invoke(build_app(), ["chat", "--json", *args], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("thread: ")  # stdout holds nothing but events
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_chat_json_streams_typed_events_per_line(workspace):
    events = _chat(["help", "what does rank do?", "/approve"], "--thread", "cli-1")
    assert [e["type"] for e in events] == ["text", "turn_end", "tool_start", "tool_end", "text", "turn_end",
                                               "error", "turn_end"]
    assert events[2] == {"type": "tool_start", "tool": "explain_settings", "args": {"setting": "rank"}}
    assert "capacity" in events[3]["result"]["explanation"]


def test_chat_json_approve_launches_after_the_request(workspace, tmp_path):
    from tests.agent.conftest import tiny_config
    from trainer import jobs

    db = open_db(workspace)
    jobs.enqueue(db, "train", tiny_config(tmp_path, recipe="style", steps=100), workspace=workspace)
    events = _chat(["retrain my style lora with 20% more steps", "/approve"], "--thread", "cli-2", "--no-run-jobs")
    kinds = [e["type"] for e in events]
    request = events[kinds.index("approval_request")]
    assert request["tool"] == "retrain_with" and "steps 100 -> 120" in request["summary"]
    launched = [e for e in events if e["type"] == "tool_end" and e["tool"] == "retrain_with"]
    assert kinds.index("approval_request") < events.index(launched[0])
    assert db["jobs"].count == 2 and launched[0]["result"]["based_on"]


def test_chat_thread_continues_across_invocations(workspace):
    _chat(["it's a style"], "--thread", "cli-3")
    events = _chat(["/reject"], "--thread", "cli-3")
    assert events[0]["type"] == "error"  # nothing pending; the thread is the same and remembers its recipe
    from agent.session import Sidekick

    assert Sidekick(workspace, "cli-3", brain="guided").state()["recipe"] == "style"


def test_chat_terminal_asks_yes_no_and_a_no_launches_nothing(workspace, tmp_path):
    from tests.agent.conftest import tiny_config
    from trainer import jobs

    db = open_db(workspace)
    jobs.enqueue(db, "train", tiny_config(tmp_path, recipe="style", steps=100), workspace=workspace)
    result = CliRunner().invoke(build_app(), ["chat", "--thread", "tty", "--no-run-jobs"],
                                input="retrain my style lora with rank 16\nn\n")
    assert result.exit_code == 0, result.output
    assert "Approval needed: Retrain from job" in result.output and "rank 32 -> 16" in result.output
    assert "Go ahead?" in result.output and "i won't start that retrain" in result.output.lower()
    assert db["jobs"].count == 1


def test_chat_uploads_note_reaches_the_parser(workspace, tmp_path):
    from agent.brains.guided import GuidedBrain
    from agent.session import Sidekick

    events = list(Sidekick(workspace, "up", brain=GuidedBrain()).send("here it is", uploads=[tmp_path / "x.safetensors"]))
    assert [e.args for e in events if e.type == "tool_start"] == [{"path": str(tmp_path / "x.safetensors")}]
