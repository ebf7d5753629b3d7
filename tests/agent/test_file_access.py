"""Over the web or a chat app the person typing does not own the server: only workspace files may be named."""

from agent.brains.guided import GuidedBrain
from agent.session import Sidekick
from tests.tools.lora_factory import make_ltx2_lora


def _inspect_result(events):
    ends = [e for e in events if e.type == "tool_end" and e.tool == "inspect_lora"]
    assert ends, [e.type for e in events]
    return ends[-1].result


def test_remote_surface_refuses_a_server_path_outside_the_workspace(workspace, tmp_path):
    secret = make_ltx2_lora(tmp_path / "private" / "x.safetensors", rank=2, n_blocks=2)
    kick = Sidekick(workspace, "web-1", brain=GuidedBrain(), surface="web")
    result = _inspect_result(list(kick.send(f"inspect {secret}")))
    assert "only read files you uploaded" in result["error"]
    assert "old_lora" not in kick.state()


def test_remote_surface_reads_an_uploaded_file(workspace):
    upload = make_ltx2_lora(workspace.uploads_dir / "u1" / "old.safetensors", rank=2, n_blocks=2)
    kick = Sidekick(workspace, "web-2", brain=GuidedBrain(), surface="web")
    result = _inspect_result(list(kick.send(f"inspect {upload}")))
    assert result["base_model"]["family"] in {"ltx-2", "ltx-2.x"}


def test_terminal_surface_may_name_any_local_file(workspace, tmp_path):
    local = make_ltx2_lora(tmp_path / "mine.safetensors", rank=2, n_blocks=2)
    kick = Sidekick(workspace, "cli-1", brain=GuidedBrain(), surface="cli")
    result = _inspect_result(list(kick.send(f"inspect {local}")))
    assert "error" not in result
