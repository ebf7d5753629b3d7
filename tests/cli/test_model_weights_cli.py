"""What a user sees from the CLI when --model or the weights setting points at the wrong thing: one plain error
or plan warning, never a traceback, and never another model trained instead."""

import json

import pytest
import torch
from safetensors.torch import save_file

from cli.main import main
from tests.trainer.clips import make_clip


@pytest.fixture()
def clips(tmp_path):
    for i in range(2):
        make_clip(tmp_path / "clips" / f"c{i}.mp4", frames=17, size=(96, 64), color=(60 * i, 120, 30))
    return tmp_path / "clips"


class _Result:
    def __init__(self, code: int, out: str, err: str):
        self.exit_code, self.stdout, self.output = code, out, out + err


@pytest.fixture()
def run(capsys):
    """The CLI as a user starts it (``main``: its error handler included)."""
    def _run(*args: str) -> _Result:
        with pytest.raises(SystemExit) as exit_:
            main(list(args))
        out, err = capsys.readouterr()
        return _Result(exit_.value.code or 0, out, err)

    return _run


@pytest.fixture()
def lora_as_base(tmp_path, monkeypatch):
    path = tmp_path / "my_character_lora.safetensors"
    save_file({"diffusion_model.transformer_blocks.0.attn1.to_q.lora_A.weight": torch.zeros(4, 16),
               "diffusion_model.transformer_blocks.0.attn1.to_q.lora_B.weight": torch.zeros(16, 4)}, str(path))
    monkeypatch.setenv("LORAPORT_MODEL_PATH", str(path))
    monkeypatch.setenv("LORAPORT_TEXT_ENCODER_PATH", str(tmp_path))
    return path


@pytest.mark.slow
def test_plan_warns_that_the_weights_setting_holds_a_lora(clips, lora_as_base, run):
    result = run("plan", "--recipe", "style", "--dataset", str(clips), "--model", "ltx-2.3", "--vram-gb", "24",
                  "--json")
    assert result.exit_code == 0, result.output
    warnings = json.loads(result.stdout)["warnings"]
    assert any("ltx-2.3 weights set on this machine cannot be used" in w and "is a LoRA, not a base" in w
               for w in warnings)


def test_train_refuses_before_queueing_and_trains_nothing_else(clips, lora_as_base, workspace_home, run):
    result = run("train", "--recipe", "none", "--dataset", str(clips), "--model", "ltx-2.3", "--steps", "2")
    assert result.exit_code != 0
    assert "is a LoRA, not a base model" in result.output and "Traceback" not in result.output
    assert "job " not in result.output  # nothing was queued or run


@pytest.mark.parametrize("given, said", [
    ("/models/ltx-2.3-22b-dev.safetensors", "not a path.*LORAPORT_MODEL_PATH=/models/ltx-2.3-22b-dev.safetensors"),
    ("LTX-2.3", "Did you mean ltx-2.3\\?"),
    ("no-such-model", "Unknown model 'no-such-model'"),
])
def test_a_wrong_model_id_is_one_plain_error(clips, workspace_home, run, given, said):
    import re

    for command in (("plan", "--recipe", "style"), ("train", "--recipe", "none")):
        result = run(*command, "--dataset", str(clips), "--model", given)
        assert result.exit_code != 0, result.output
        assert re.search(said, " ".join(result.output.split())) and "Traceback" not in result.output


@pytest.mark.slow  # writes the tiny model in Lightricks' layout (~2 s)
def test_plan_says_which_weights_it_will_load_and_that_a_distilled_file_is_not_the_dev_one(clips, tmp_path,
                                                                                           monkeypatch, run):
    from safetensors.torch import save_file as save

    from tests.trainer import ltx_layouts as layouts

    parts = layouts.tiny_parts()
    layouts.write_diffusers_folder(tmp_path / "configs", parts,
                                   configs_only=("transformer", "vae", "audio_vae", "vocoder", "connectors"))
    tensors, _ = layouts.fp8_scaled(layouts.lightricks_state_dict(parts))
    save(tensors, str(tmp_path / "ltx-2.3-22b-distilled-fp8.safetensors"))
    monkeypatch.setenv("LORAPORT_MODEL_PATH", str(tmp_path / "ltx-2.3-22b-distilled-fp8.safetensors"))
    monkeypatch.setenv("LORAPORT_TEXT_ENCODER_PATH", str(tmp_path / "configs"))
    result = run("plan", "--recipe", "style", "--dataset", str(clips), "--model", "ltx-2.3", "--vram-gb", "24",
                 "--json")
    doc = json.loads(result.stdout)
    note = next(n for n in doc["model_notes"] if n.startswith("Weights: "))
    assert "single-file LTX-2.3 checkpoint ltx-2.3-22b-distilled-fp8.safetensors" in note
    assert "fp8 file" in note and "Its name says distilled" in note
    assert not any("cannot be used" in w for w in doc["warnings"])
