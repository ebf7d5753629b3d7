"""LTX LoRAs as ltx-trainer, the musubi-tuner LTX fork, ai-toolkit, diffusers and ComfyUI write them: each gets the
right convention, layers, rank, alpha, version, trigger and verdict (tests/tools/lora_layouts.py has the layouts)."""

import json

import pytest

from tests.tools.lora_factory import ltx2_modules
from tests.tools.lora_layouts import (ai_toolkit_lora, comfy_extracted_lora, diffusers_lora, musubi_comfy_lora,
                                      musubi_metadata, musubi_training_lora, ltx_trainer_lora)
from tools.inspect import inspect_lora

SIX = ["attn1", "attn2", "audio_attn1", "audio_attn2", "audio_to_video_attn", "video_to_audio_attn"]


def test_ltx_trainer_checkpoint_is_read_as_a_default_audio_video_lora(tmp_path):
    r = inspect_lora(ltx_trainer_lora(tmp_path / "lora_weights_step_02000.safetensors"))
    assert (r.convention, r.prefix, r.kind, r.rank.mode, r.alpha, r.scale) == (
        "comfy", "diffusion_model.", "lora", 4, 4.0, 1.0)
    assert r.targets.families == SIX and r.targets.layers_adapted == 2 * 24
    assert r.modality == "audio+video" and r.audio_trained is True
    # nothing in the file names the version: it loads on 2.3 whatever it was trained on, so say "unknown"
    assert r.base_model.family == "ltx-2.x" and r.verdict.status == "unknown"
    assert r.ic_lora is None and r.health.status == "ok"
    # its checkpoint name is the only trace of the trainer and the step
    assert (r.training.tool, r.training.steps, r.migration.carry_over.steps) == ("ltx-trainer", 2000, 2000)
    renamed = inspect_lora(ltx_trainer_lora(tmp_path / "mychar.safetensors"), header_only=True)
    assert (renamed.training.tool, renamed.training.steps) == (None, None)


@pytest.mark.parametrize("factor,legacy,expected", [
    (2, False, {"reference_downscale_factor": 2.0, "reference_spatial_scale_factor": 2.0}),
    (1, True, {"reference_downscale_factor": 1.0}),  # the older video-to-video strategy always writes it
])
def test_ltx_trainer_ic_lora_metadata_is_read(tmp_path, factor, legacy, expected):
    r = inspect_lora(ltx_trainer_lora(tmp_path / "lora_weights_step_03000.safetensors", audio=False,
                                      ic_factor=factor, legacy_ic=legacy), header_only=True)
    assert r.ic_lora == expected and r.training.tool == "ltx-trainer"
    assert r.migration.recipe == "face" and "IC-LoRA" in r.migration.why


def test_ltx_trainer_ic_lora_at_factor_1_has_no_metadata_so_its_name_says_it(tmp_path):
    # ltx-trainer writes the factors only when they differ from 1: Lightricks' own names still say IC-LoRA
    path = ltx_trainer_lora(tmp_path / "ltx-2.3-22b-ic-lora-union-control-ref0.5.safetensors", audio=False,
                            ic_factor=1)
    r = inspect_lora(path, target="ltx-2.5", header_only=True)
    assert r.metadata == {} and r.ic_lora == {"reference_downscale_factor": 1.0}
    assert r.base_model.family == "ltx-2.3"
    assert r.verdict.status == "loads-but-invalid" and "IC-LoRA" in r.verdict.reason
    assert any("says IC-LoRA" in e for e in r.verdict.evidence)
    plain = inspect_lora(ltx_trainer_lora(tmp_path / "comic-lora-ltx-2.3.safetensors", audio=False),
                         target="ltx-2.5", header_only=True)
    assert plain.ic_lora is None and plain.verdict.status == "test-first"  # "comic-lora" is not "ic-lora"


def test_musubi_training_format_keys_decode_to_ltx_blocks(tmp_path):
    # lora_unet_model_transformer_blocks_0_audio_to_video_attn_to_out_0: "model" is the fork's wrapper
    r = inspect_lora(musubi_training_lora(tmp_path / "mychar.safetensors", rank=8, alpha=4.0))
    assert (r.convention, r.prefix, r.kind) == ("kohya", "lora_unet_", "lora")
    assert r.targets.blocks == {"transformer_blocks": [0, 1]} and r.targets.families == SIX
    assert "audio_to_video_attn.to_out.0" in r.targets.modules and "model" not in r.targets.families
    assert (r.rank.mode, r.alpha, r.scale) == (8, 4.0, 0.5)
    assert r.modality == "audio+video" and r.base_model.family == "ltx-2.x" and r.base_model.confidence >= 0.9


def test_musubi_ltx23_lora_is_not_called_ltx2_by_its_family_id(tmp_path):
    """The fork writes "LTX2/lora" and "ltx2_v1" for 2.3 runs too (2.3 is its default): the DiT file decides."""
    path = musubi_training_lora(tmp_path / "a.safetensors", ltx2_modules(n_blocks=2, audio=False),
                                metadata=musubi_metadata("ltx-2.3-22b-dev.safetensors"))
    r = inspect_lora(path, header_only=True)
    assert (r.base_model.family, r.base_model.version, r.verdict.status) == ("ltx-2.3", "2.3", "native")
    assert any("names the LTX-2 family but not which version" in e for e in r.base_model.evidence)
    assert any("ss_sd_model_name" in e for e in r.base_model.evidence)
    assert r.training.tool == "kohya/musubi" and r.training.steps == 2000 and r.training.learning_rate == 1e-4
    old = musubi_training_lora(tmp_path / "b.safetensors", ltx2_modules(n_blocks=2, audio=False),
                               metadata=musubi_metadata("ltx-2-19b-dev-fp8.safetensors"))
    r2 = inspect_lora(old, header_only=True)
    assert (r2.base_model.family, r2.verdict.status) == ("ltx-2", "loads-but-invalid")


def test_musubi_family_id_alone_rules_out_ltx_video_but_picks_no_version(tmp_path):
    md = musubi_metadata(dit="")
    path = musubi_training_lora(tmp_path / "c.safetensors", ltx2_modules(n_blocks=2, audio=False), metadata=md)
    r = inspect_lora(path, header_only=True)
    assert r.base_model.family == "ltx-2.x" and r.base_model.version is None
    assert r.verdict.status == "unknown" and "LTX-2.3" in r.verdict.reason


def test_musubi_dora_and_text_connector(tmp_path):
    path = musubi_training_lora(tmp_path / "d.safetensors", dora=True, connector=True,
                                metadata=musubi_metadata("ltx-2.3-22b-dev.safetensors"))
    r = inspect_lora(path)
    assert r.kind == "dora" and r.base_model.family == "ltx-2.3"
    assert "embeddings_connector" in r.targets.families and r.targets.blocks == {"transformer_blocks": [0, 1]}
    assert r.health.status == "ok"


def test_musubi_ic_training_flags_mark_an_ic_lora(tmp_path):
    md = musubi_metadata(ss_ic_lora_strategy="v2v", ss_v2v_training="True")
    r = inspect_lora(musubi_training_lora(tmp_path / "e.safetensors", metadata=md), target="ltx-2.5",
                     header_only=True)
    assert r.ic_lora == {"reference_downscale_factor": 1.0}
    assert any("ss_ic_lora_strategy" in e for e in r.verdict.evidence)
    assert r.verdict.status == "loads-but-invalid"
    md = musubi_metadata(ss_ic_lora_strategy="v2v", ss_reference_downscale_factor="2", reference_downscale_factor="2")
    r2 = inspect_lora(musubi_training_lora(tmp_path / "f.safetensors", metadata=md), header_only=True)
    assert r2.ic_lora == {"reference_downscale_factor": 2.0}


def test_musubi_comfy_export_with_dora_scale_and_connector(tmp_path):
    path = musubi_comfy_lora(tmp_path / "g.safetensors", dora=True, connector=True)
    r = inspect_lora(path)
    assert (r.convention, r.kind, r.alpha, r.scale) == ("comfy", "dora", 8.0, 1.0)  # alpha folded into B
    assert "video_embeddings_connector" in r.targets.families
    assert r.base_model.family == "ltx-2.x" and r.modality == "audio+video" and r.health.status == "ok"


@pytest.mark.parametrize("version,family,status", [("2.3", "ltx-2.3", "native"), ("2.0", "ltx-2", "loads-but-invalid")])
def test_ai_toolkit_whole_transformer_lora(tmp_path, version, family, status):
    r = inspect_lora(ai_toolkit_lora(tmp_path / "my_lora_v1.safetensors", version=version))
    assert r.base_model.family == family and r.verdict.status == status
    assert r.training.tool == "ai-toolkit" and r.training.steps == 3000
    assert r.trigger_words == ["ohwx man"] and r.migration.carry_over.trigger_word == "ohwx man"
    assert {"ff", "audio_ff", "patchify_proj", "adaln_single"} <= set(r.targets.families)
    assert r.modality == "audio+video" and r.health.status == "ok"
    # ss_base_model_version "ltx2" is written for every version: it never counts as LTX-2 evidence
    assert not any("ss_base_model_version" in e and "says ltx-2" in e for e in r.base_model.evidence)


def test_ai_toolkit_25_job_name_says_25_and_its_verdict_on_23_is_retrain(tmp_path):
    path = ai_toolkit_lora(tmp_path / "x.safetensors", version="2.5", job="ltx25_mychar_v1", trigger=None)
    r = inspect_lora(path, header_only=True)
    assert r.base_model.family == "ltx-2.5" and r.verdict.status == "loads-but-invalid"
    assert inspect_lora(path, target="ltx-2.5", header_only=True).verdict.status == "native"
    assert r.trigger_words == []


def test_diffusers_save_lora_weights_reads_alpha_from_adapter_metadata(tmp_path):
    path = diffusers_lora(tmp_path / "pytorch_lora_weights.safetensors", ltx2_modules(n_blocks=2, gate=True),
                          rank=4, alpha=8)
    r = inspect_lora(path, header_only=True)
    assert (r.convention, r.prefix, r.alpha, r.scale) == ("diffusers", "transformer.", 8.0, 2.0)
    assert r.training.tool == "diffusers" and r.base_model.family == "ltx-2.3"


def test_diffusers_adapter_metadata_base_model_names_the_version(tmp_path):
    path = diffusers_lora(tmp_path / "pytorch_lora_weights.safetensors", ltx2_modules(n_blocks=2, audio=False),
                          base="Lightricks/LTX-2.3")
    r = inspect_lora(path, header_only=True)
    assert r.base_model.family == "ltx-2.3" and r.verdict.status == "native"
    assert any("lora_adapter_metadata" in e for e in r.base_model.evidence)


def test_comfyui_extracted_lora(tmp_path):
    r = inspect_lora(comfy_extracted_lora(tmp_path))
    assert (r.convention, r.kind, r.rank.mode, r.dtypes) == ("comfy", "lora", 8, {"F16": 2 * 2 * 6 * 5})
    assert r.base_model.family == "ltx-2.3" and r.health.status == "ok"


def test_kohya_keys_of_every_ltx_family_decode_whole(tmp_path):
    from tests.tools.lora_layouts import kohya_keys
    from safetensors.torch import save_file

    mods = ltx2_modules(n_blocks=1, gate=True, ff=True)
    mods |= {"transformer_blocks.0.audio_ff.net.0.proj": (8192, 2048), "audio_prompt_adaln_single.linear": (4096, 2048),
             "av_ca_video_scale_shift_adaln_single.linear": (4 * 4096, 4096)}
    save_file(kohya_keys(mods), str(tmp_path / "k.safetensors"))
    r = inspect_lora(tmp_path / "k.safetensors", header_only=True)
    assert {m.removeprefix("transformer_blocks.0.") for m in mods} == set(r.targets.modules)
    assert r.base_model.family == "ltx-2.3"


def test_cli_json_of_a_musubi_file(tmp_path, capsys):
    from cli.main import main

    path = musubi_training_lora(tmp_path / "mychar.safetensors", metadata=musubi_metadata())
    with pytest.raises(SystemExit) as done:
        main(["inspect", str(path), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert done.value.code == 0
    assert report["base_model"]["family"] == "ltx-2.3" and report["verdict"]["status"] == "native"
    assert report["targets"]["blocks"] == {"transformer_blocks": [0, 1]} and report["scale"] == 0.5


def test_verdict_evidence_reads_the_stream_width_not_the_gate_head_count(tmp_path):
    # ai-toolkit's 2.3 file lists attn1.to_gate_logits (out = 32 heads) before attn1.to_k in the file
    r = inspect_lora(ai_toolkit_lora(tmp_path / "g.safetensors", version="2.3"), target="ltx-2.5", header_only=True)
    width = [e for e in r.verdict.evidence if "wide" in e]
    assert width and width[0].startswith("video stream is 4096 wide") and "32 wide" not in " ".join(width)


@pytest.mark.parametrize("extra,family", [
    ({"text_embedding_projection.aggregate_embed": (3840, 3840 * 49)}, "ltx-2"),  # LTX-2's one text projection
    ({"text_embedding_projection.video_aggregate_embed": (4096, 3840 * 49)}, "ltx-2.3"),  # 2.3's per modality
    ({"diffusion_model.caption_projection.linear_1": (4096, 3840)}, "ltx-2"),
    ({"diffusion_model.audio_prompt_adaln_single.linear": (4096, 2048)}, "ltx-2.3"),
    ({"diffusion_model.video_embeddings_connector.transformer_1d_blocks.0.attn1.to_gate_logits": (32, 4096)},
     "ltx-2.3"),  # 2.3's connectors are gated too
])
def test_top_level_text_side_layers_tell_ltx2_from_23(tmp_path, extra, family):
    from tests.tools.lora_layouts import peft_keys
    from safetensors.torch import save_file

    tensors = peft_keys(ltx2_modules(n_blocks=2), "diffusion_model.", rank=2) | peft_keys(extra, "", rank=2)
    save_file(tensors, str(tmp_path / "t.safetensors"))
    r = inspect_lora(tmp_path / "t.safetensors", header_only=True)
    assert r.base_model.family == family and r.base_model.confidence >= 0.8


@pytest.mark.parametrize("prefix", ["lora_unet_", "lora_transformer_", "lora_unet_model_"])
def test_every_kohya_prefix_decodes_to_the_same_blocks(tmp_path, prefix):
    from tests.tools.lora_layouts import kohya_keys
    from safetensors.torch import save_file

    save_file(kohya_keys(ltx2_modules(n_blocks=3), prefix=prefix, rank=2), str(tmp_path / "k.safetensors"))
    r = inspect_lora(tmp_path / "k.safetensors", header_only=True)
    assert r.convention == "kohya" and r.targets.blocks == {"transformer_blocks": [0, 1, 2]}
    assert r.targets.families == SIX and r.modality == "audio+video"


@pytest.mark.parametrize("name,metadata", [
    ("my_tiny_dancer_ltx-2.3.safetensors", None),
    ("dancer.safetensors", {"modelspec.architecture": "tiny-ltx-2.3/lora"}),
])
def test_tiny_in_a_name_does_not_make_a_full_width_lora_the_tiny_twin(tmp_path, name, metadata):
    from tests.tools.lora_factory import make_lora

    full = make_lora(tmp_path / name, ltx2_modules(n_blocks=2, gate=True), rank=2, metadata=metadata)
    r = inspect_lora(full, header_only=True)
    assert (r.base_model.family, r.base_model.variant) == ("ltx-2.3", "22b")  # never tiny: evaluate would swap models
    tiny = {f"transformer_blocks.{b}.attn1.{p}": (16, 16) for b in range(2) for p in ("to_q", "to_k", "to_gate_logits")}
    small = make_lora(tmp_path / f"small_{name}", tiny, rank=2, metadata=metadata)
    assert inspect_lora(small, header_only=True).base_model.variant == "tiny"


@pytest.mark.parametrize("name,why", [
    ("ltx-2.3-22b-ic-lora-motion-track-control-ref0.5.safetensors", "'control': a control IC-LoRA"),  # not "motion"
    ("ltx-2-19b-ic-lora-canny-control.safetensors", "'canny': a control IC-LoRA"),
    ("ltx-2-19b-ic-lora-detailer.safetensors", "'detailer': a control IC-LoRA"),
    ("ltx-2.5-22b-ic-lora-pixel-spatial-upscaler-x2-1.0.safetensors", "'upscaler': a control IC-LoRA"),
    ("my-face-ic-lora.safetensors", "most often used to keep an identity"),
])
def test_ic_loras_get_the_ic_recipe_and_control_ones_say_so(tmp_path, name, why):
    r = inspect_lora(ltx_trainer_lora(tmp_path / name, audio=False, ic_factor=2), header_only=True)
    assert r.migration.recipe == "face" and r.ic_lora is not None and why in r.migration.why


def test_layers_the_target_lacks_are_named_instead_of_loads_without_any_error(tmp_path):
    new = inspect_lora(ai_toolkit_lora(tmp_path / "new.safetensors", version="2.3"), target="ltx-2", header_only=True)
    assert new.verdict.status == "loads-but-invalid" and "do not exist in ltx-2" in new.verdict.reason
    assert "prompt_adaln_single.linear" in new.verdict.reason and "without any error" not in new.verdict.reason
    old = inspect_lora(ai_toolkit_lora(tmp_path / "old.safetensors", version="2.0"), header_only=True)
    assert old.verdict.status == "loads-but-invalid" and "caption_projection" in old.verdict.reason
    plain = inspect_lora(musubi_training_lora(tmp_path / "p.safetensors",
                                              metadata=musubi_metadata("ltx-2-19b-dev.safetensors")), header_only=True)
    assert "so it loads without any error" in plain.verdict.reason  # q/k/v/out only: every key exists in 2.3


def test_a_gated_lora_without_any_name_says_it_may_be_25(tmp_path):
    from tests.tools.lora_factory import make_ltx23_lora

    path = make_ltx23_lora(tmp_path / "mychar.safetensors", rank=2, n_blocks=2)
    on23 = inspect_lora(path, header_only=True)
    assert on23.verdict.status == "native"
    assert "if you trained it on LTX-2.5, it is not native here" in on23.verdict.reason
    on25 = inspect_lora(path, target="ltx-2.5", header_only=True)
    assert on25.verdict.status == "test-first" and "it is native here: use it as it is" in on25.verdict.reason
    named = inspect_lora(make_ltx23_lora(tmp_path / "ltx-2.3-22b-mychar.safetensors", rank=2, n_blocks=2),
                         header_only=True)
    assert named.verdict.status == "native" and "2.5" not in named.verdict.reason  # the name settled it


def test_a_lora_shape_converted_from_ltx2_to_23_is_still_an_ltx2_lora(tmp_path):
    # the musubi fork's convert_ltx2_lora_to_ltx23 keeps the input's metadata and adds ss_ltx_lora_converter
    md = musubi_metadata(dit="", ss_ltx_lora_converter="ltx2_to_ltx23_v1", ss_ltx_lora_target_variant="av",
                         ss_ltx_lora_groups_exact="48", ss_ltx_lora_groups_reshaped="0")
    r = inspect_lora(musubi_training_lora(tmp_path / "mychar_ltx23.safetensors", metadata=md), header_only=True)
    assert r.base_model.family == "ltx-2" and r.verdict.status == "loads-but-invalid"
    assert any("converted for 2.3, not retrained" in e for e in r.base_model.evidence)
