"""IC-LoRA sampling with a reference: diffusers' in-context pipeline, the same latents training uses, the
reference's settings read from a LoRA file, and the side-by-side clip."""

import av
import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from core.errors import LoraportError
from tests.trainer.clips import make_clip, make_image
from trainer.config import Bucket, ModelConfig
from trainer.models import load_components
from trainer.reference import (Reference, load_reference_frames, read_reference_settings, reference_metadata,
                               reference_settings, reference_size, side_by_side)
from trainer.sample import build_pipeline, generate

KW = dict(seed=3, width=64, height=64, frames=17, steps=2)


@pytest.fixture(scope="module")
def components():
    return load_components(ModelConfig())


@pytest.fixture
def ref_clip(tmp_path):
    return make_clip(tmp_path / "face_ref.mp4", color=(20, 40, 220), pattern="moving")


@pytest.mark.slow
def test_a_reference_conditions_the_render_and_is_shown_beside_it(components, tmp_path, ref_clip):
    plain = generate(components, "a person waves", out_dir=tmp_path, name="plain", **KW)
    ref = Reference(ref_clip, label="people/face_ref.mp4")
    a = generate(components, "a person waves", out_dir=tmp_path, name="a", reference=ref, **KW)
    b = generate(components, "a person waves", out_dir=tmp_path, name="b", reference=ref, **KW)
    assert np.array_equal(a.frames, b.frames)  # deterministic for a seed and reference
    assert np.abs(a.frames.astype(int) - plain.frames.astype(int)).mean() > 1.0  # the reference tokens count
    assert a.reference == "people/face_ref.mp4" and plain.reference is None and plain.beside_mp4 is None
    with av.open(str(a.beside_mp4)) as c:
        s = c.streams.video[0]
        assert (s.codec_context.width, s.codec_context.height) == (128, 64)  # reference | generation
        assert sum(1 for _ in c.decode(video=0)) == 17
    assert a.beside_sheet.is_file()


def test_the_pipeline_encodes_the_reference_exactly_as_training_caches_it(components, ref_clip):
    """Same pixels (resize + centre crop), same VAE mean, same normalisation: the reference tokens the in-context
    pipeline puts in front are the training cache's reference latents."""
    from diffusers import LTX2Pipeline
    from diffusers.pipelines.ltx2.pipeline_ltx2_ic_lora import LTX2ReferenceCondition

    from trainer.data import encode_video
    from trainer.media import decode

    pipe = build_pipeline(components, in_context=True)
    pixels = load_reference_frames(Reference(ref_clip), 64, 64, 17, 32)
    tokens, coords, _, counts = pipe._encode_reference_conditions(
        [LTX2ReferenceCondition(frames=pixels)], height=64, width=64, num_frames=17, device="cpu",
        dtype=torch.float32)
    cached = encode_video(components, decode(ref_clip, Bucket(width=64, height=64, frames=17)))
    expected = LTX2Pipeline._pack_latents(cached.unsqueeze(0), 1, 1)
    assert tokens.shape == expected.shape and counts == [expected.shape[1]]
    assert torch.allclose(tokens, expected, atol=1e-5)


@pytest.mark.slow
def test_an_image_reference_is_one_frame_and_a_short_clip_keeps_its_8k_plus_1_frames(components, tmp_path):
    image = make_image(tmp_path / "face.png", size=(80, 48))
    assert load_reference_frames(Reference(image), 64, 64, 17, 32).shape == (1, 3, 64, 64)
    short = make_clip(tmp_path / "short.mp4", frames=12)
    assert load_reference_frames(Reference(short), 64, 64, 17, 32).shape[0] == 9  # 12 -> 8k+1
    res = generate(components, "x", out_dir=tmp_path, name="img", reference=Reference(image), **KW)
    assert res.frames.shape == (17, 64, 64, 3)


@pytest.mark.slow
def test_a_downscaled_reference_is_read_at_the_smaller_size(components, tmp_path, ref_clip):
    pixels = load_reference_frames(Reference(ref_clip, downscale_factor=2), 64, 128, 17, 32)
    assert pixels.shape == (17, 3, 64, 32)
    with pytest.raises(LoraportError, match="multiples of 32"):
        reference_size(64, 64, 4, 32)
    res = generate(components, "x", out_dir=tmp_path, name="half", seed=1, width=64, height=128, frames=9, steps=2,
                   reference=Reference(ref_clip, downscale_factor=2))
    assert res.frames.shape == (9, 128, 64, 3) and res.beside_mp4.is_file()


def test_reference_settings_follow_the_keys_ltx_trainer_writes(tmp_path):
    assert reference_settings({}) == reference_settings({"loraport.strategy": "text-to-video"})
    assert not reference_settings({}).ic_lora
    assert reference_settings({"loraport.strategy": "ic-lora"}).ic_lora
    s = reference_settings({"reference_downscale_factor": "2"})
    assert s.ic_lora and s.downscale_factor == 2 and s.temporal_scale_factor == 1
    assert reference_settings({"reference_spatial_scale_factor": "4"}).downscale_factor == 4
    # ComfyUI's IC-LoRA loader warns without reference_downscale_factor, so it is always there; temporal only != 1
    assert reference_metadata(1, 1) == {"reference_spatial_scale_factor": "1", "reference_downscale_factor": "1"}
    assert reference_metadata(2, 2) == {"reference_spatial_scale_factor": "2", "reference_downscale_factor": "2",
                                        "reference_temporal_scale_factor": "2"}
    with pytest.raises(LoraportError, match="whole number"):
        reference_settings({"reference_downscale_factor": "half"})
    path = tmp_path / "ic.safetensors"
    save_file({"x": torch.zeros(1)}, str(path), metadata={"reference_temporal_scale_factor": "2"})
    assert read_reference_settings(path).temporal_scale_factor == 2


def test_side_by_side_scales_a_small_short_reference_to_the_generation():
    ref = np.full((3, 16, 8, 3), 200, np.uint8)
    gen = np.zeros((9, 32, 32, 3), np.uint8)
    out = side_by_side(ref, gen)
    assert out.shape == (9, 32, 48, 3)
    assert (out[:, :, :16] == 200).all() and (out[:, :, 16:] == 0).all()
