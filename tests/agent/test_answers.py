"""check_hardware answers for the model the conversation is about: 2.5 when the user picked it, before any plan."""

from agent.answers import check_hardware
from agent.toolkit import ToolContext


def _ctx(workspace, state):
    return ToolContext(workspace=workspace, thread_id="t1", state=state, any_path=False)


def test_a_gpu_question_is_answered_for_the_version_the_user_chose(workspace):
    picked = check_hardware(_ctx(workspace, {"overrides": {"model": "ltx-2.5"}}), "will it fit on my 4090?")
    default = check_hardware(_ctx(workspace, {}), "will it fit on my 4090?")
    assert picked["model"] == "ltx-2.5" and default["model"] == "ltx-2.3"
    assert "4090" in picked["gpu"] and picked["vram_gb"] == default["vram_gb"]


def test_a_tiny_plan_is_answered_for_its_real_twin(workspace):
    answer = check_hardware(_ctx(workspace, {"config": {"model": {"id": "tiny-ltx-2.5"}}}), "24 GB enough?")
    assert answer["model"] == "ltx-2.5" and answer["vram_gb"] == 24
