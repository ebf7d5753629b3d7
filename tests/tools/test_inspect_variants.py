"""Adapter kinds (LoKr, LoHa, DoRA in its three spellings), mixed ranks and alphas, and the places trainers put a
trigger word: each read as the file says."""

import json

import pytest
import torch
from safetensors.torch import save_file

from tests.tools.lora_factory import ltx2_modules
from tests.tools.lora_layouts import kohya_keys, peft_keys
from tools.inspect import inspect_lora


def _save(tmp_path, tensors, metadata=None, name="l.safetensors"):
    save_file(tensors, str(tmp_path / name), metadata=metadata)
    return tmp_path / name


def _lokr(prefix: str, mods: dict, rank: int | None, alpha: float = 1.0, factor: int = 8) -> dict:
    """LyCORIS / ai-toolkit LoKr: delta W = kron(w1, w2); w2 is (out/f, in/f), or w2_a @ w2_b at a rank."""
    out = {}
    for mod, (o, i) in mods.items():
        k = prefix + mod
        out[f"{k}.lokr_w1"] = torch.randn(factor, factor) * 0.1
        if rank is None:
            out[f"{k}.lokr_w2"] = torch.randn(o // factor, i // factor) * 0.1
        else:
            out[f"{k}.lokr_w2_a"] = torch.randn(o // factor, rank) * 0.1
            out[f"{k}.lokr_w2_b"] = torch.randn(rank, i // factor) * 0.1
        out[f"{k}.alpha"] = torch.tensor(alpha)
    return out


def test_ai_toolkit_lokr_in_comfy_names_on_ltx23(tmp_path):
    r = inspect_lora(_save(tmp_path, _lokr("diffusion_model.", ltx2_modules(n_blocks=1, gate=False), rank=4)))
    assert (r.kind, r.convention, r.rank.mode) == ("lokr", "comfy", 4)
    assert r.base_model.family == "ltx-2.x" and r.modality == "audio+video" and r.health.status == "ok"


def test_full_lokr_without_a_rank_is_still_read(tmp_path):
    mods = ltx2_modules(n_blocks=1, gate=True)
    r = inspect_lora(_save(tmp_path, _lokr("lora_unet_", {k.replace(".", "_"): v for k, v in mods.items()},
                                          rank=None, factor=4)))
    assert (r.kind, r.convention, r.rank.mode, r.scale) == ("lokr", "lycoris", None, None)
    assert r.base_model.family == "ltx-2.3" and "to_gate_logits" in " ".join(r.targets.modules)
    assert r.health.status == "ok"


def test_kohya_loha_with_alpha(tmp_path):
    tensors = {}
    for mod, (o, i) in ltx2_modules(n_blocks=1, audio=False).items():
        k = "lora_unet_" + mod.replace(".", "_")
        tensors |= {f"{k}.hada_w1_a": torch.randn(o, 4) * .1, f"{k}.hada_w1_b": torch.randn(4, i) * .1,
                    f"{k}.hada_w2_a": torch.randn(o, 4) * .1, f"{k}.hada_w2_b": torch.randn(4, i) * .1,
                    f"{k}.alpha": torch.tensor(2.0)}
    r = inspect_lora(_save(tmp_path, tensors))
    assert (r.kind, r.convention, r.rank.mode, r.alpha, r.scale) == ("loha", "lycoris", 4, 2.0, 0.5)
    assert r.targets.families == ["attn1", "attn2"] and r.health.status == "ok"


@pytest.mark.parametrize("dora_key", ["dora_scale", "lora_magnitude_vector", "lora_magnitude_vector.weight"])
def test_dora_in_each_spelling(tmp_path, dora_key):
    mods = ltx2_modules(n_blocks=1, audio=False)
    tensors = peft_keys(mods, "diffusion_model.", rank=4)
    tensors |= {f"diffusion_model.{m}.{dora_key}": torch.ones(o) for m, (o, _) in mods.items()}
    r = inspect_lora(_save(tmp_path, tensors))
    assert r.kind == "dora" and r.rank.mode == 4 and r.targets.layers_adapted == len(mods)
    assert r.health.status == "ok" and r.health.zero_B_layers == 0


def test_peft_adapter_name_in_the_keys(tmp_path):
    mods = ltx2_modules(n_blocks=1, audio=False)
    keys = peft_keys(mods, "base_model.model.", rank=4)
    tensors = {k.replace(".weight", ".default.weight"): v for k, v in keys.items()}
    r = inspect_lora(_save(tmp_path, tensors))
    assert (r.convention, r.kind, r.rank.mode, r.targets.layers_adapted) == ("peft", "lora", 4, len(mods))


def test_mixed_ranks_and_alphas(tmp_path):
    mods = ltx2_modules(n_blocks=2)
    video = {m: s for m, s in mods.items() if ".attn1." in m or ".attn2." in m}
    audio = {m: s for m, s in mods.items() if m not in video}
    tensors = kohya_keys(video, rank=32, alpha=16.0) | kohya_keys(audio, rank=8, alpha=8.0, seed=1)
    r = inspect_lora(_save(tmp_path, tensors))
    assert r.rank.model_dump() == {"min": 8, "max": 32, "mode": 8}  # 32 audio-branch layers vs 16 video ones
    assert (r.alpha, r.scale) == (8.0, 1.0)  # the most common alpha, over the most common rank
    assert "rank 8 (8-32)" in r.summary()
    assert r.migration.carry_over.rank == 8


@pytest.mark.parametrize("metadata,expected", [
    ({"modelspec.trigger_phrase": "zxq person"}, ["zxq person"]),
    ({"ss_tag_frequency": json.dumps({"10_ohwx woman": {"ohwx": 12, "woman": 12, "smiling": 3}})}, ["ohwx"]),
    ({"ss_tag_frequency": json.dumps({"1_sks dog": {"sks dog": 1}})}, ["sks dog"]),  # ai-toolkit
    ({"ss_tag_frequency": json.dumps({"img": {"a photo": 3}})}, []),  # captions only: no folder convention
    ({"ss_datasets": json.dumps([{"subsets": [{"class_tokens": "mychar", "num_repeats": 1}]}])}, ["mychar"]),
    ({"loraport.trigger_word": "zxq", "modelspec.trigger_phrase": "ZXQ"}, ["zxq"]),  # one word, case-blind
    ({"trigger_word": "a" * 500}, ["a" * 100]),  # cut, never the whole value
    ({"ss_tag_frequency": "not json"}, []),
    ({"ss_training_comment": "my char v2. Trigger word: zxq man, use strength 0.8"}, ["zxq man"]),
    ({"modelspec.description": "A dance LoRA.\ntriggers = 'dnc'"}, ["dnc"]),
    ({"modelspec.description": "no word that sets anything off here"}, []),
    ({"ss_dataset_dirs": json.dumps({"10_zxq man": {"n_repeats": 10, "img_count": 24}})}, ["zxq"]),  # kohya
])
def test_trigger_words_from_the_places_trainers_write_them(tmp_path, metadata, expected):
    tensors = peft_keys(ltx2_modules(n_blocks=1, audio=False), "diffusion_model.", rank=2)
    r = inspect_lora(_save(tmp_path, tensors, metadata), header_only=True)
    assert r.trigger_words == expected
    assert r.migration.carry_over.trigger_word == (expected[0] if expected else None)


def test_metadata_never_runs_or_formats_anything(tmp_path):
    evil = {"modelspec.trigger_phrase": "{__import__('os').system('touch pwned')}",
            "ss_output_name": "$(touch pwned)", "name": "{0.__class__}"}
    tensors = peft_keys(ltx2_modules(n_blocks=1, audio=False), "diffusion_model.", rank=2)
    r = inspect_lora(_save(tmp_path, tensors, evil), header_only=True)
    assert r.trigger_words == [evil["modelspec.trigger_phrase"]]
    assert not (tmp_path / "pwned").exists()
    assert repr(evil["modelspec.trigger_phrase"]) in r.summary()  # shown as quoted data, never formatted


def _only(families: tuple[str, ...], n_blocks: int = 2) -> dict:
    return {m: s for m, s in ltx2_modules(n_blocks=n_blocks).items() if m.split(".")[2] in families}


@pytest.mark.parametrize("families,extra,modality", [
    (("audio_attn1", "audio_attn2"), {"transformer_blocks.0.audio_ff.net.0.proj": (8192, 2048)}, "audio"),  # a voice
    (("audio_to_video_attn", "video_to_audio_attn"), {}, "audio+video"),  # lip-sync: cross-modal only
    (("attn1", "audio_attn1"), {}, "audio+video"),
    (("attn1", "attn2"), {"transformer_blocks.1.ff.net.2": (4096, 16384)}, "video"),
])
def test_audio_branch_targets_set_the_modality(tmp_path, families, extra, modality):
    for convention in ("comfy", "kohya"):
        mods = _only(families) | extra
        tensors = kohya_keys(mods, rank=2) if convention == "kohya" else peft_keys(mods, "diffusion_model.", rank=2)
        r = inspect_lora(_save(tmp_path, tensors, name=f"{convention}.safetensors"))
        assert r.modality == modality, convention
        assert r.base_model.family == "ltx-2.x"  # audio or not, these keys are the same on 2, 2.3 and 2.5
        audio_layers = sum(f.startswith("audio") or f.endswith("to_audio_attn") for f in
                           (m.split(".")[2] for m in mods))
        assert r.health.audio_B_layers == audio_layers and r.audio_trained is (True if audio_layers else None)


def test_kohya_audio_layers_left_at_zero_read_as_sound_not_trained(tmp_path):
    tensors = kohya_keys(ltx2_modules(n_blocks=2), rank=2)
    for k in tensors:
        if k.endswith("lora_up.weight") and "audio" in k:
            tensors[k] = torch.zeros_like(tensors[k])
    r = inspect_lora(_save(tmp_path, tensors))
    assert r.modality == "audio+video" and r.audio_trained is False
    assert r.health.status == "suspect" and "sound not trained" in r.summary()


def test_scale_pairs_each_layers_alpha_with_its_own_rank(tmp_path):
    mods = list(ltx2_modules(n_blocks=2).items())  # 48 layers
    x, y, z = dict(mods[:20]), dict(mods[20:35]), dict(mods[35:])
    # x: rank 8 alpha 8, y: rank 32 alpha 32 (scale 1 on 35 layers); z: rank 16 alpha 32 (scale 2 on 13).
    # The most common alpha (32) over the most common rank (8) is 4, which no layer has.
    tensors = kohya_keys(x, rank=8, alpha=8.0) | kohya_keys(y, rank=32, alpha=32.0, seed=1) | \
        kohya_keys(z, rank=16, alpha=32.0, seed=2)
    r = inspect_lora(_save(tmp_path, tensors), header_only=True)
    assert (r.rank.mode, r.alpha, r.scale) == (8, 32.0, 1.0)
