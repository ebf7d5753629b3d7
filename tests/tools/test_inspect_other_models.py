"""LoRAs trained on other models, in the layouts their trainers write: each is called plainly "not an LTX LoRA"
(incompatible, or unknown with the reason), never given an LTX verdict; a file with no LoRA layer is refused."""

import pytest
import torch
from safetensors.torch import save_file

from core.errors import LoraportError
from tests.tools.lora_layouts import kohya_keys, peft_keys
from tools.inspect import inspect_lora

LTX_STATUSES = {"native", "test-first", "loads-but-invalid"}


def _wan(n: int, d: int, diffusers: bool, i2v: bool = False) -> dict:
    mods = {}
    for b in range(n):
        if diffusers:  # diffusers' WanTransformer3DModel names
            mods |= {f"blocks.{b}.attn1.{p}": (d, d) for p in ("to_q", "to_k", "to_v", "to_out.0")}
            mods |= {f"blocks.{b}.attn2.{p}": (d, d) for p in ("to_q", "to_k", "to_v", "to_out.0")}
            mods |= {f"blocks.{b}.ffn.net.0.proj": (4 * d, d), f"blocks.{b}.ffn.net.2": (d, 4 * d)}
            if i2v:
                mods |= {f"blocks.{b}.attn2.add_k_proj": (d, d), f"blocks.{b}.attn2.add_v_proj": (d, d)}
        else:  # the original (musubi, ComfyUI) names
            mods |= {f"blocks.{b}.{a}.{p}": (d, d) for a in ("self_attn", "cross_attn") for p in "qkvo"}
            mods |= {f"blocks.{b}.ffn.0": (4 * d, d), f"blocks.{b}.ffn.2": (d, 4 * d)}
            if i2v:
                mods |= {f"blocks.{b}.cross_attn.k_img": (d, d), f"blocks.{b}.cross_attn.v_img": (d, d)}
    return mods


def _hunyuan_original(n_double=20, n_single=40, d=3072) -> dict:
    mods = {}
    for b in range(n_double):
        for s in ("img", "txt"):
            mods |= {f"double_blocks.{b}.{s}_attn_qkv": (3 * d, d), f"double_blocks.{b}.{s}_attn_proj": (d, d),
                     f"double_blocks.{b}.{s}_mlp.fc1": (4 * d, d), f"double_blocks.{b}.{s}_mod.linear": (6 * d, d)}
    mods |= {f"single_blocks.{b}.linear1": (7 * d, d) for b in range(n_single)}
    return mods


def _mmdit_diffusers(n_double: int, n_single: int, d: int = 3072) -> dict:
    """Flux / HunyuanVideo in diffusers names: transformer_blocks (attn.to_q, add_q_proj) + single blocks."""
    mods = {}
    for b in range(n_double):
        mods |= {f"transformer_blocks.{b}.attn.{p}": (d, d) for p in ("to_q", "to_k", "add_q_proj", "to_add_out")}
        mods[f"transformer_blocks.{b}.ff.net.2"] = (d, 4 * d)
    mods |= {f"single_transformer_blocks.{b}.attn.to_q": (d, d) for b in range(n_single)}
    mods |= {f"single_transformer_blocks.{b}.proj_mlp": (4 * d, d) for b in range(n_single)}
    return mods


def _qwen_image(n=60, d=3072) -> dict:
    mods = {}
    for b in range(n):
        mods |= {f"transformer_blocks.{b}.attn.{p}": (d, d) for p in ("to_q", "to_k", "to_v", "add_q_proj")}
        mods |= {f"transformer_blocks.{b}.img_mlp.net.0.proj": (4 * d, d),
                 f"transformer_blocks.{b}.img_mod.1": (6 * d, d)}
    return mods


def _plain(n: int, d: int, attn: str = "attn1", ff: bool = False) -> dict:
    """transformer_blocks.N.<attn>.to_q ... at width d: CogVideoX, Mochi, SD3, PixArt share these names."""
    mods = {f"transformer_blocks.{b}.{attn}.{p}": (d, d) for b in range(n) for p in ("to_q", "to_k", "to_v")}
    if ff:
        mods |= {f"transformer_blocks.{b}.ff.net.2": (d, 4 * d) for b in range(n)}
    return mods


def _sd15_kohya() -> dict:
    mods = {}
    for blk, d in (("down_blocks.1.attentions.0", 640), ("up_blocks.3.attentions.2", 320)):
        base = f"{blk}.transformer_blocks.0"
        mods |= {f"{base}.attn1.to_q": (d, d), f"{base}.attn2.to_k": (d, 768), f"{base}.attn2.to_v": (d, 768)}
    return mods


def _write(tmp_path, name: str, tensors: dict, metadata: dict | None = None):
    save_file(tensors, str(tmp_path / name), metadata=metadata)
    return tmp_path / name


CASES = [
    ("wan21_t2v_1.3b_musubi", lambda: kohya_keys(_wan(30, 1536, False), rank=2), "wan", "1.3b"),
    ("wan21_i2v_14b_comfy", lambda: peft_keys(_wan(40, 5120, False, i2v=True), "diffusion_model.", rank=1), "wan",
     "14b-i2v"),
    ("wan_diffusers", lambda: peft_keys(_wan(30, 1536, True), "transformer.", rank=2), "wan", "1.3b"),
    ("wan22_ti2v_5b", lambda: peft_keys(_wan(30, 3072, True), "transformer.", rank=1), "wan", "5b"),
    ("hunyuan_musubi", lambda: kohya_keys(_hunyuan_original(), rank=1), "hunyuan-video", None),
    ("hunyuan_comfy", lambda: peft_keys(_hunyuan_original(), "diffusion_model.", rank=1), "hunyuan-video", None),
    ("hunyuan_diffusers", lambda: peft_keys(_mmdit_diffusers(20, 40), "transformer.", rank=1), "hunyuan-video", None),
    ("flux_kohya", lambda: kohya_keys({**{f"double_blocks.{b}.img_attn.qkv": (9216, 3072) for b in range(19)},
                                       **{f"single_blocks.{b}.linear1": (21504, 3072) for b in range(38)}}, rank=1),
     "flux", None),
    ("flux_ai_toolkit", lambda: peft_keys(_mmdit_diffusers(19, 38), "transformer.", rank=1), "flux", None),
    ("sd15_kohya", lambda: kohya_keys(_sd15_kohya(), rank=2), "sd1", None),
]


@pytest.mark.parametrize("name,build,family,variant", CASES, ids=[c[0] for c in CASES])
def test_other_model_layouts_are_incompatible(tmp_path, name, build, family, variant):
    r = inspect_lora(_write(tmp_path, f"{name}.safetensors", build()), header_only=True)
    assert (r.base_model.family, r.base_model.variant) == (family, variant)
    assert r.verdict.status == "incompatible" and "not an LTX model" in r.verdict.reason
    assert "retrain" in r.verdict.action.lower()


@pytest.mark.parametrize("name,mods", [
    ("qwen_image", _qwen_image()), ("sd3_medium", _plain(24, 1536, attn="attn", ff=True)),
    ("cogvideox_5b", _plain(42, 3072)), ("mochi_1", _plain(48, 3072)), ("pixart_sigma", _plain(28, 1152)),
])
def test_look_alike_transformer_blocks_are_never_called_ltx(tmp_path, name, mods):
    r = inspect_lora(_write(tmp_path, "lora.safetensors", peft_keys(mods, "transformer.", rank=1)), header_only=True)
    assert r.base_model.family == "unknown" and r.verdict.status == "unknown"
    assert "nothing in it says it is an LTX-2, 2.3 or 2.5 LoRA" in r.verdict.reason
    assert r.verdict.status not in LTX_STATUSES


@pytest.mark.parametrize("arch,name", [("Qwen-Image/lora", "qwen-image"), ("stable-diffusion-3-medium/lora",
                                                                           "stable-diffusion-3"),
                                       ("CogVideoX-5b", "cogvideox"), ("HiDream-O1-Image/lora", "hidream")])
def test_metadata_naming_another_model_makes_an_unknown_layout_incompatible(tmp_path, arch, name):
    path = _write(tmp_path, "lora.safetensors", peft_keys(_qwen_image(n=4), "transformer.", rank=1),
                  {"modelspec.architecture": arch})
    r = inspect_lora(path, header_only=True)
    assert (r.base_model.family, r.base_model.variant, r.verdict.status) == ("other", name, "incompatible")
    assert name in r.verdict.reason and "not an LTX model" in r.verdict.reason
    assert f"lora for {name} (not an LTX model)" in r.summary() and r.modality is None


def test_ltx_metadata_on_a_wan_file_does_not_make_it_ltx(tmp_path):
    path = _write(tmp_path, "ltx-2.3-22b-mychar.safetensors", kohya_keys(_wan(30, 1536, False), rank=1),
                  {"modelspec.architecture": "LTX2/lora", "ss_sd_model_name": "ltx-2.3-22b-dev.safetensors"})
    r = inspect_lora(path, header_only=True)
    assert r.base_model.family == "wan" and r.verdict.status == "incompatible"
    assert r.base_model.confidence <= 0.7 and any("trusting the keys" in e for e in r.base_model.evidence)


def test_ltx_video_2b_in_diffusers_names_is_incompatible(tmp_path):
    mods = _plain(28, 2048) | {f"transformer_blocks.{b}.attn2.to_q": (2048, 2048) for b in range(28)}
    r = inspect_lora(_write(tmp_path, "ltxv_lora.safetensors", peft_keys(mods, "transformer.", rank=1)),
                     header_only=True)
    assert (r.base_model.family, r.base_model.variant, r.verdict.status) == ("ltx-video", "2b", "incompatible")


def test_a_full_checkpoint_is_refused_as_not_a_lora(tmp_path):
    tensors = {"model.diffusion_model.transformer_blocks.0.attn1.to_q.weight": torch.zeros(8, 8),
               "model.diffusion_model.transformer_blocks.0.attn1.to_q.bias": torch.zeros(8),
               "lora_unet_transformer_blocks_0_attn1_to_q.alpha": torch.tensor(4.0)}
    with pytest.raises(LoraportError, match="holds no LoRA layers") as err:
        inspect_lora(_write(tmp_path, "ltx-2.3-22b-dev.safetensors", tensors))
    assert "full model" in err.value.message


def test_a_textual_inversion_embedding_is_refused_as_not_a_lora(tmp_path):
    with pytest.raises(LoraportError, match="holds no LoRA layers"):
        inspect_lora(_write(tmp_path, "ohwx.safetensors", {"emb_params": torch.zeros(4, 768)}))


@pytest.mark.parametrize("fmt", ["processor", "lora_linear_layer"])
def test_diffusers_older_sd_lora_formats_are_read_as_sd_not_refused(tmp_path, fmt):
    tensors = {}
    for blk, d in (("down_blocks.1.attentions.0", 640), ("up_blocks.1.attentions.0", 1280)):
        attn2 = f"unet.{blk}.transformer_blocks.0.attn2"
        for proj, (o, i) in {"to_q": (d, d), "to_k": (d, 2048), "to_out": (d, d)}.items():
            if fmt == "processor":
                down, up = f"{attn2}.processor.{proj}_lora.down.weight", f"{attn2}.processor.{proj}_lora.up.weight"
            else:
                name = "to_out.0" if proj == "to_out" else proj
                layer = f"{attn2}.{name}.lora_linear_layer"
                down, up = f"{layer}.down.weight", f"{layer}.up.weight"
            tensors[down], tensors[up] = torch.randn(4, i) * 0.1, torch.randn(o, 4) * 0.1
    r = inspect_lora(_write(tmp_path, "sdxl_old.safetensors", tensors))
    assert (r.base_model.family, r.verdict.status, r.rank.mode) == ("sdxl", "incompatible", 4)
    assert "attn2.to_out.0" in " ".join(r.targets.modules) and r.health.status == "ok"


def test_a_layout_without_blocks_says_so_in_its_reason(tmp_path):
    mods = {f"layers.{i}.attention.{p}": (3840, 3840) for i in range(30) for p in ("to_q", "to_k")}  # Z-Image-like
    r = inspect_lora(_write(tmp_path, "z.safetensors", peft_keys(mods, "diffusion_model.", rank=1)), header_only=True)
    assert r.base_model.family == "unknown" and r.verdict.status == "unknown"
    assert "no LTX block or layer among its 60 adapted modules" in r.verdict.reason


def test_an_ltx_lora_named_after_another_model_keeps_its_ltx_keys(tmp_path):
    from tests.tools.lora_factory import make_ltx2_lora

    r = inspect_lora(make_ltx2_lora(tmp_path / "my_sd3_style_for_wan.safetensors", rank=1, n_blocks=1),
                     header_only=True)
    assert r.base_model.family == "ltx-2.x" and r.verdict.status == "unknown"
    assert any("says stable-diffusion-3, which these keys rule out" in e for e in r.base_model.evidence)


@pytest.mark.parametrize("n,d,family,status", [
    (28, 1152, "unknown", "unknown"),  # PixArt-Sigma / Sana: caption_projection too, but 1152 wide
    (28, 2048, "ltx-video", "incompatible"),  # LTX-Video 2B has a caption projection
    (48, 4096, "ltx-2", "loads-but-invalid"),  # LTX-2 or LTX-Video 13B: neither is 2.3
])
def test_a_caption_projection_alone_is_not_taken_for_ltx2(tmp_path, n, d, family, status):
    mods = _plain(n, d) | {"caption_projection.linear_1": (d, 4096), "caption_projection.linear_2": (d, d)}
    r = inspect_lora(_write(tmp_path, "c.safetensors", peft_keys(mods, "transformer.", rank=1)), header_only=True)
    assert (r.base_model.family, r.verdict.status) == (family, status)
    if family == "ltx-2":
        assert r.base_model.confidence <= 0.6 and any("LTX-Video 13B" in e for e in r.base_model.evidence)
        named = _write(tmp_path, "ltxv-13b-0.9.8-style.safetensors", peft_keys(mods, "transformer.", rank=1))
        assert inspect_lora(named, header_only=True).base_model.family == "ltx-video"
