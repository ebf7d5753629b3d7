"""inspect_lora names the right family, verdict and migration for every layout of docs/ltx.md ("LoRA file formats")."""

import json

import pytest

from core.errors import LoraportError
from tests.tools.lora_factory import (flux_modules, hunyuan_modules, loraport_metadata, ltx2_metadata, ltx2_modules,
                                      ltx_video_modules, make_lora, make_ltx2_lora, make_ltx23_lora, sdxl_modules,
                                      wan_modules)
from tools.inspect import inspect_lora


@pytest.fixture(scope="module")
def old_ltx2(tmp_path_factory):
    """The default LTX-2 trainer LoRA, full 48-block layout, no metadata, neutral name."""
    return make_ltx2_lora(tmp_path_factory.mktemp("ltx2") / "my_lora.safetensors", rank=2)


def test_default_ltx2_layout_is_counted_exactly(old_ltx2):
    r = inspect_lora(old_ltx2, header_only=True)
    assert (r.n_tensors, r.targets.layers_adapted) == (2304, 1152)
    assert (r.convention, r.prefix, r.kind) == ("comfy", "diffusion_model.", "lora")
    assert r.rank.model_dump() == {"min": 2, "max": 2, "mode": 2}
    assert (r.alpha, r.scale) == (2.0, 1.0)  # comfy keys carry no alpha: loaders use alpha = rank
    assert r.modality == "audio+video"
    assert r.targets.blocks == {"transformer_blocks": list(range(48))}
    assert "video_to_audio_attn.to_out.0" in r.targets.modules
    assert r.dtypes == {"BF16": 2304}


def test_ltx2_keys_alone_cannot_tell_2_from_23(old_ltx2):
    r = inspect_lora(old_ltx2, header_only=True)
    assert r.base_model.family == "ltx-2.x" and r.base_model.version is None
    assert any("cannot tell" in e for e in r.base_model.evidence)
    assert r.verdict.status == "unknown"


def test_ltx2_with_musubi_metadata_loads_but_is_invalid_on_23(tmp_path):
    path = make_ltx2_lora(tmp_path / "a.safetensors", rank=2, n_blocks=2, metadata=ltx2_metadata())
    r = inspect_lora(path, header_only=True)
    assert (r.base_model.family, r.base_model.version, r.base_model.variant) == ("ltx-2", "2", "19b")
    assert r.base_model.confidence >= 0.85
    assert any("modelspec.architecture" in e for e in r.base_model.evidence)
    assert r.verdict.status == "loads-but-invalid" and "retrain" in r.verdict.action.lower()
    assert r.training.model_dump() | {"tool": None} == {
        "tool": None, "steps": 2000, "learning_rate": 1e-4, "rank": 4, "alpha": 4.0,
        "base_model_version": "ltx2", "dataset_size": None, "resolution": None}
    assert r.training.tool == "kohya/musubi"
    assert r.trigger_words == ["ohwx"] and r.migration.carry_over.trigger_word == "ohwx"


def test_ltx2_file_name_decides_with_lower_confidence(tmp_path):
    r = inspect_lora(make_ltx2_lora(tmp_path / "ltx-2-19b-mychar.safetensors", rank=2, n_blocks=2), header_only=True)
    assert r.base_model.family == "ltx-2" and r.base_model.confidence == 0.75
    assert any("file name" in e for e in r.base_model.evidence)
    r23 = inspect_lora(make_ltx2_lora(tmp_path / "ltx-2.3-22b-mychar.safetensors", rank=2, n_blocks=2),
                       header_only=True)
    assert r23.base_model.family == "ltx-2.3" and r23.verdict.status == "native"


def test_gate_logits_mark_ltx23_as_native(tmp_path):
    r = inspect_lora(make_ltx23_lora(tmp_path / "x.safetensors", rank=2, n_blocks=4), header_only=True)
    assert (r.base_model.family, r.base_model.version, r.base_model.variant) == ("ltx-2.3", "2.3", "22b")
    assert r.base_model.confidence >= 0.8 and any("to_gate_logits" in e for e in r.base_model.evidence)
    assert r.verdict.status == "native"
    on_ltx2 = inspect_lora(tmp_path / "x.safetensors", target="ltx-2", header_only=True)
    assert on_ltx2.verdict.status == "loads-but-invalid"


def test_loraport_export_is_ltx23_native_with_full_confidence(tmp_path):
    # The trainer's default export: video-only q/k/v/out (keys shared with LTX-2 and LTX-Video 13B) + loraport.*
    path = make_lora(tmp_path / "lora.safetensors", ltx2_modules(n_blocks=2, audio=False), rank=2,
                     metadata=loraport_metadata(recipe="style", steps=1500))
    r = inspect_lora(path, header_only=True)
    assert (r.base_model.family, r.base_model.confidence, r.verdict.status) == ("ltx-2.3", 1.0, "native")
    assert r.training.tool == "loraport" and r.training.steps == 1500
    assert r.migration.recipe == "style" and "loraport" in r.migration.why


def test_tiny_loraport_export_is_ltx23(tmp_path):
    tiny = {f"transformer_blocks.{b}.attn1.{p}": (16, 16) for b in range(2) for p in ("to_q", "to_k", "to_v")}
    r = inspect_lora(make_lora(tmp_path / "t.safetensors", tiny, rank=2,
                               metadata=loraport_metadata("tiny-ltx-2.3")), header_only=True)
    assert (r.base_model.family, r.base_model.variant, r.base_model.confidence) == ("ltx-2.3", "tiny", 1.0)
    assert r.verdict.status == "native"


def test_ltx_video_2b_is_incompatible(tmp_path):
    r = inspect_lora(make_lora(tmp_path / "v.safetensors", ltx_video_modules("2b"), rank=1), header_only=True)
    assert (r.base_model.family, r.base_model.variant, r.base_model.version) == ("ltx-video", "2b", "0.9.x")
    assert r.verdict.status == "incompatible" and r.modality == "video"


def test_ltx_video_13b_needs_a_name_to_be_told_from_ltx2(tmp_path):
    mods = ltx_video_modules("13b")
    anon = inspect_lora(make_lora(tmp_path / "lora.safetensors", mods, rank=1), header_only=True)
    assert anon.base_model.family == "ltx-2.x" and anon.base_model.confidence <= 0.5
    assert any("LTX-Video 13B" in e for e in anon.base_model.evidence)
    named = inspect_lora(make_lora(tmp_path / "ltxv-13b-0.9.7-dev-lora.safetensors", mods, rank=1), header_only=True)
    assert (named.base_model.family, named.base_model.variant) == ("ltx-video", "13b")
    assert named.verdict.status == "loads-but-invalid"  # same shapes as 2.3's video stream: loads, means nothing


def test_kohya_ltx_reports_alpha_scale_and_decoded_modules(tmp_path):
    path = make_lora(tmp_path / "k.safetensors", ltx2_modules(n_blocks=2), rank=4, convention="kohya", alpha=1.0)
    r = inspect_lora(path, header_only=True)
    assert (r.convention, r.prefix, r.kind) == ("kohya", "lora_unet_", "lora")
    assert (r.alpha, r.scale) == (1.0, 0.25)
    assert "audio_to_video_attn.to_out.0" in r.targets.modules
    assert r.base_model.family == "ltx-2.x"


@pytest.mark.parametrize("size,i2v,convention,variant", [
    ("1.3b", False, "comfy", "1.3b"), ("14b", True, "kohya", "14b-i2v")])
def test_wan_is_incompatible(tmp_path, size, i2v, convention, variant):
    path = make_lora(tmp_path / "w.safetensors", wan_modules(size, i2v), rank=1, convention=convention)
    r = inspect_lora(path, header_only=True)
    assert (r.base_model.family, r.base_model.variant) == ("wan", variant)
    assert r.verdict.status == "incompatible" and r.convention == convention


def test_hunyuan_and_flux_are_told_apart(tmp_path):
    h = inspect_lora(make_lora(tmp_path / "h.safetensors", hunyuan_modules(), rank=1), header_only=True)
    f = inspect_lora(make_lora(tmp_path / "f.safetensors", flux_modules(), rank=1, convention="kohya"),
                     header_only=True)
    assert h.base_model.family == "hunyuan-video" and h.verdict.status == "incompatible"
    assert f.base_model.family == "flux" and f.verdict.status == "incompatible" and f.modality == "image"


def test_sdxl_kohya_is_incompatible(tmp_path):
    r = inspect_lora(make_lora(tmp_path / "s.safetensors", sdxl_modules(), rank=2, convention="kohya"),
                     header_only=True)
    assert (r.base_model.family, r.modality, r.verdict.status) == ("sdxl", "image", "incompatible")


def test_lokr_is_recognised_with_its_rank(tmp_path):
    path = make_lora(tmp_path / "lokr.safetensors", ltx2_modules(n_blocks=2), rank=4, kind="lokr")
    r = inspect_lora(path)
    assert (r.kind, r.convention, r.rank.mode) == ("lokr", "lycoris", 4)
    assert r.base_model.family == "ltx-2.x" and r.health.status == "ok"


def test_diffusers_folder_with_adapter_config(tmp_path):
    folder = tmp_path / "my_adapter"
    make_lora(folder / "pytorch_lora_weights.safetensors", ltx2_modules(n_blocks=2, gate=True), rank=4,
              convention="diffusers")
    (folder / "adapter_config.json").write_text(json.dumps(
        {"r": 4, "lora_alpha": 8, "base_model_name_or_path": "Lightricks/LTX-2.3"}))
    r = inspect_lora(folder, header_only=True)
    assert (r.convention, r.prefix) == ("diffusers", "transformer.")
    assert (r.alpha, r.scale) == (8.0, 2.0)
    assert r.base_model.family == "ltx-2.3"
    assert any("adapter_config" in e for e in r.base_model.evidence)


def test_metadata_that_contradicts_the_keys_is_outweighed(tmp_path):
    path = make_lora(tmp_path / "w.safetensors", wan_modules("1.3b"), rank=1,
                     metadata={"modelspec.architecture": "ltx-2.3/lora"})
    r = inspect_lora(path, header_only=True)
    assert r.base_model.family == "wan" and r.base_model.confidence <= 0.7
    assert any("trusting the keys" in e for e in r.base_model.evidence)


def test_ic_lora_factors_suggest_the_face_recipe(tmp_path):
    path = make_ltx23_lora(tmp_path / "ic.safetensors", rank=2, n_blocks=2,
                           metadata={"reference_downscale_factor": "2"})
    r = inspect_lora(path, header_only=True)
    assert r.ic_lora == {"reference_downscale_factor": 2.0}
    assert r.migration.recipe == "face" and "guess" in r.migration.why


@pytest.mark.parametrize("name,audio,rank,recipe", [
    ("anime_style_v2.safetensors", True, 2, "style"),
    ("lora.safetensors", False, 8, "motion"),
    ("lora.safetensors", True, 2, "character"),
])
def test_recipe_guess_says_it_is_a_guess(tmp_path, name, audio, rank, recipe):
    r = inspect_lora(make_lora(tmp_path / name, ltx2_modules(n_blocks=1, audio=audio), rank=rank), header_only=True)
    assert r.migration.recipe == recipe and "guess" in r.migration.why
    assert r.migration.carry_over.rank == rank


def test_long_metadata_values_are_cut(tmp_path):
    tags = json.dumps({"10_ohwx woman": {f"tag{i}": i for i in range(500)}})
    path = make_ltx2_lora(tmp_path / "m.safetensors", rank=1, n_blocks=1, metadata={"ss_tag_frequency": tags})
    r = inspect_lora(path, header_only=True)
    assert len(r.metadata["ss_tag_frequency"]) < 400 and "chars)" in r.metadata["ss_tag_frequency"]
    assert r.trigger_words == ["ohwx"]  # kohya's "<repeats>_<token> <class>" folder convention


def test_report_json_has_the_contract_shape(old_ltx2):
    d = inspect_lora(old_ltx2, header_only=True).model_dump(mode="json")
    assert list(d) == ["path", "file_size", "n_tensors", "n_params", "dtypes", "convention", "prefix", "kind",
                       "base_model", "modality", "audio_trained", "rank", "alpha", "scale", "targets", "ic_lora", "metadata",
                       "trigger_words", "training", "health", "verdict", "migration"]
    assert set(d["base_model"]) == {"family", "variant", "version", "confidence", "evidence"}
    assert set(d["targets"]) == {"families", "modules", "blocks", "layers_adapted"}
    assert set(d["training"]) == {"tool", "steps", "learning_rate", "rank", "alpha", "base_model_version",
                                  "dataset_size", "resolution"}
    assert set(d["health"]) == {"checked", "nan_tensors", "inf_tensors", "zero_B_layers", "near_zero_B_layers",
                                "median_norm", "max_norm", "audio_B_layers", "audio_trained_B_layers",
                                "audio_median_norm", "status", "findings"}
    assert set(d["verdict"]) == {"target", "status", "reason", "action", "evidence", "test_plan"}
    assert set(d["migration"]["carry_over"]) == {"rank", "steps", "learning_rate", "trigger_word", "resolution",
                                                 "frames"}
    json.dumps(d)


def test_summary_names_family_verdict_and_recipe(tmp_path):
    r = inspect_lora(make_ltx2_lora(tmp_path / "a.safetensors", rank=2, n_blocks=2, metadata=ltx2_metadata()))
    text = r.summary()
    assert "ltx-2 (19b)" in text and "loads-but-invalid" in text and "Weights: ok" in text
    assert "Suggested recipe:" in text and len(text.splitlines()) <= 10


def test_unknown_target_is_refused(old_ltx2):
    with pytest.raises(LoraportError, match="ltx-2.3"):
        inspect_lora(old_ltx2, target="sd15", header_only=True)


def test_trainer_export_of_the_tiny_model_is_ltx23_native(tmp_path):
    """The real export path (peft on the tiny 2.3 transformer -> trainer.export) is recognised as our own file."""
    import torch

    from trainer.config import TrainConfig
    from trainer.export import export_lora, lora_metadata
    from trainer.lora import add_lora
    from trainer.models import load_components

    cfg = TrainConfig.model_validate({"data": {"dataset_dir": str(tmp_path), "trigger_word": "zxq"},
                                      "lora": {"rank": 4}, "recipe": "style"})
    transformer = load_components(cfg.model).transformer
    add_lora(transformer, cfg.lora)
    for name, p in transformer.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(p, std=0.01)  # peft starts B at zero: a fresh LoRA would read as "broken"
    path = export_lora(transformer, tmp_path / "lora.safetensors", lora_metadata(cfg, steps=10))
    r = inspect_lora(path)
    assert (r.base_model.family, r.base_model.confidence, r.verdict.status) == ("ltx-2.3", 1.0, "native")
    assert (r.convention, r.health.status, r.rank.mode, r.scale) == ("comfy", "ok", 4, 1.0)
    assert r.migration.recipe == "style" and r.migration.carry_over.trigger_word == "zxq"


def test_dora_loha_and_diff_kinds_are_named(tmp_path):
    import torch
    from safetensors.torch import save_file

    base = "diffusion_model.transformer_blocks.0.attn1.to_q"
    files = {
        "dora": {f"{base}.lora_A.weight": torch.ones(2, 64), f"{base}.lora_B.weight": torch.ones(64, 2),
                 f"{base}.dora_scale": torch.ones(1, 64)},
        "loha": {f"{base}.hada_w1_a": torch.ones(64, 2), f"{base}.hada_w1_b": torch.ones(2, 64),
                 f"{base}.hada_w2_a": torch.ones(64, 2), f"{base}.hada_w2_b": torch.ones(2, 64)},
        "diff": {f"{base}.diff": torch.ones(64, 64), f"{base}.diff_b": torch.ones(64)},
    }
    for kind, tensors in files.items():
        save_file(tensors, str(tmp_path / f"{kind}.safetensors"))
        r = inspect_lora(tmp_path / f"{kind}.safetensors")
        assert r.kind == kind and r.targets.modules == ["attn1.to_q"] and r.health.status == "ok"
    assert inspect_lora(tmp_path / "loha.safetensors", header_only=True).rank.mode == 2
