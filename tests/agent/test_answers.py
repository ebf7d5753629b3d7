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


def test_how_to_use_tells_an_ic_lora_with_its_reference_as_the_finished_message_does(workspace, tmp_path):
    from agent.answers import how_to_use
    from core.store import open_db
    from tests.agent.conftest import tiny_config
    from trainer.jobs import enqueue
    from trainer.reference import finished_message

    db = open_db(workspace)
    plain = tiny_config(tmp_path)
    ic = plain.model_copy(update={"strategy": plain.strategy.model_copy(
        update={"name": "ic-lora", "reference_downscale_factor": 2})})
    ids = {}
    for name, cfg in (("plain", plain), ("ic", ic)):
        ids[name] = enqueue(db, "train", cfg, workspace=workspace)
        db["jobs"].update(ids[name], {"status": "finished", "lora_path": str(tmp_path / f"{name}.safetensors")})
        ids[name + "_config"] = cfg.model_dump(mode="json")
    db.conn.close()
    ctx = _ctx(workspace, {})
    said = how_to_use(ctx, ids["ic"])["summary"]
    usage = finished_message(ids["ic_config"], tmp_path / "ic.safetensors").removeprefix("done. ")
    assert usage in said and "LTXAddVideoICLoRAGuide" in said and "LoraLoaderModelOnly node" not in said
    assert "LoraLoaderModelOnly node" in how_to_use(ctx, ids["plain"])["summary"]
