"""Rectified flow, the timestep sampler and the strategies: what is noised, at what timestep, what the loss sees."""

import math
from statistics import NormalDist

import pytest
import torch

from trainer import flow
from trainer.config import ModelConfig, TimestepConfig
from trainer.models import load_components
from trainer.strategies import Batch, ICLora, TextToVideo, predict


@pytest.fixture(scope="module")
def transformer():
    return load_components(ModelConfig()).transformer


def _batch(b=2, f=3, h=4, w=4, ref=False):
    gen = torch.Generator().manual_seed(1)
    lat = torch.randn(b, 8, f, h, w, generator=gen)
    return Batch(latents=lat, prompt_embeds=torch.randn(b, 6, 16, generator=gen), prompt_mask=torch.ones(b, 6),
                 audio_prompt_embeds=torch.randn(b, 6, 8, generator=gen), fps=24.0,
                 ref_latents=torch.randn(b, 8, f, h, w, generator=gen) if ref else None)


def test_shift_mu_is_linear_in_tokens_and_not_clamped():
    cfg = TimestepConfig()
    assert flow.shift_mu(1024, cfg) == pytest.approx(0.95)
    assert flow.shift_mu(4096, cfg) == pytest.approx(2.05)
    assert flow.shift_mu(2560, cfg) == pytest.approx(1.5)
    assert flow.shift_mu(6144, cfg) == pytest.approx(0.95 + 5120 * 1.1 / 3072)  # 768x512x121: ~2.78
    assert flow.shift_mu(512, cfg) == pytest.approx(0.95 - 512 * 1.1 / 3072)


def _stretched_cdf(s: float, tokens: int, cfg: TimestepConfig) -> float:
    """P(sample <= s) for eps < s < 1, written out from the definition: the stretch is monotone, so each
    stretched value z comes from one logit x = logit(low + z (high - low)); reflection folds z < eps onto
    2 eps - z; then the uniform share on [eps, 1]."""
    mu, eps = flow.shift_mu(tokens, cfg), cfg.eps
    low, high = (1 / (1 + math.exp(-(mu + z))) for z in (-2.5758, 3.0902))
    normal = NormalDist(mu, 1.0)

    def below(z: float) -> float:  # P(stretched value before reflection <= z)
        p = low + z * (high - low)
        return 0.0 if p <= 0 else 1.0 if p >= 1 else normal.cdf(math.log(p / (1 - p)))

    stretched = below(s) - below(2 * eps - s)
    return (1 - cfg.uniform_fraction) * stretched + cfg.uniform_fraction * (s - eps) / (1 - eps)


def test_sampler_quantiles_match_the_stretched_shifted_logit_normal():
    cfg, tokens = TimestepConfig(), 2688  # 768x512x49: 24 x 16 x 7 latent tokens
    s = flow.sample_sigmas(400_000, tokens, cfg, torch.Generator().manual_seed(0))
    assert s.dtype == torch.float32 and s.min() >= cfg.eps and s.max() <= 1
    for q in (0.05, 0.2, 0.5, 0.76, 0.9):
        assert (s <= q).double().mean().item() == pytest.approx(_stretched_cdf(q, tokens, cfg), abs=0.003)
    # The figures that say what the stretch changes: median ~0.76 and ~4.5% of draws below 0.2 at 2688 tokens
    # (the unstretched, clamped sampler gave 0.81 and 2.2%: half the low-noise training).
    assert s.median().item() == pytest.approx(0.757, abs=0.005)
    assert (s < 0.2).double().mean().item() == pytest.approx(0.0447, abs=0.002)


def test_sampler_uniform_share_and_reflection_below_eps():
    gen = torch.Generator().manual_seed(1)
    u = flow.sample_sigmas(50_000, 4096, TimestepConfig(uniform_fraction=1.0), gen)
    assert u.mean().item() == pytest.approx(0.5, abs=0.01) and u.min() >= 1e-3
    # Without the uniform share nothing lands below eps: the 0.5% under the stretch's low end is reflected up.
    only = flow.sample_sigmas(200_000, 1024, TimestepConfig(uniform_fraction=0.0), gen)
    assert only.min() >= 1e-3 and (only < 0.01).double().mean().item() < 0.01
    cfg = TimestepConfig(uniform_fraction=0.0)
    assert (only <= 0.3).double().mean().item() == pytest.approx(_stretched_cdf(0.3, 1024, cfg), abs=0.003)


def test_sampler_stays_finite_at_large_token_counts():
    s = flow.sample_sigmas(10_000, 60_000, TimestepConfig(), torch.Generator().manual_seed(2))  # 1920x1088x225
    assert torch.isfinite(s).all() and s.min() >= 1e-3 and s.max() <= 1


def test_noising_interpolates_and_target_is_the_velocity():
    x0, e = torch.randn(2, 5, 3), torch.randn(2, 5, 3)
    assert torch.equal(flow.add_noise(x0, e, torch.zeros(2)), x0)
    assert torch.equal(flow.add_noise(x0, e, torch.ones(2)), e)
    s, h = torch.full((2,), 0.3), 1e-3
    slope = (flow.add_noise(x0, e, s + h) - flow.add_noise(x0, e, s)) / h
    assert torch.allclose(slope, flow.velocity_target(x0, e), atol=1e-2)


def test_masked_mse_ignores_masked_tokens_and_normalises_per_sample():
    target = torch.zeros(2, 4, 3)
    pred = torch.ones(2, 4, 3)
    mask = torch.tensor([[True, True, False, False], [True, True, True, True]])
    base = flow.masked_mse(pred, target, mask)
    pred[0, 2:] = 100.0  # masked tokens: no effect
    assert torch.equal(flow.masked_mse(pred, target, mask), base)
    assert base.tolist() == [1.0, 1.0]


def test_first_frame_conditioning_keeps_first_latent_frame_clean_at_timestep_zero(transformer):
    batch = _batch()
    x0 = TextToVideo(transformer)._tokens(batch.latents)
    frame = 4 * 4  # tokens of one latent frame
    cond = TextToVideo(transformer, first_frame_p=1.0).prepare_inputs(batch, torch.Generator().manual_seed(0))
    assert torch.equal(cond.tokens[:, :frame], x0[:, :frame])
    assert (cond.timesteps[:, :frame] == 0).all() and (cond.timesteps[:, frame:] > 0).all()
    assert not cond.loss_mask[:, :frame].any() and cond.loss_mask[:, frame:].all()
    free = TextToVideo(transformer, first_frame_p=0.0).prepare_inputs(batch, torch.Generator().manual_seed(0))
    assert free.loss_mask.all() and not torch.equal(free.tokens[:, :frame], x0[:, :frame])
    assert torch.allclose(free.timesteps, free.sigma[:, None].expand_as(free.timesteps))


def test_fixed_sigma_turns_conditioning_off_and_sets_the_timesteps(transformer):
    inputs = TextToVideo(transformer, first_frame_p=1.0).prepare_inputs(
        _batch(), torch.Generator().manual_seed(0), sigma=torch.tensor([0.25, 0.75]))
    assert inputs.loss_mask.all()
    assert inputs.timesteps[:, 0].tolist() == [250.0, 750.0] and inputs.sigma.tolist() == [250.0, 750.0]


def test_ic_lora_puts_clean_reference_tokens_in_front_outside_the_loss(transformer):
    batch = _batch(ref=True)
    strat = ICLora(transformer, first_frame_p=0.0)
    inputs = strat.prepare_inputs(batch, torch.Generator().manual_seed(0))
    n_ref = 3 * 4 * 4
    assert inputs.n_prefix == n_ref and inputs.tokens.shape[1] == 2 * n_ref
    assert torch.equal(inputs.tokens[:, :n_ref], strat._tokens(batch.ref_latents))
    assert (inputs.timesteps[:, :n_ref] == 0).all() and (inputs.timesteps[:, n_ref:] > 0).all()
    assert inputs.coords.shape == (2, 3, 2 * n_ref, 2)
    pred = predict(transformer, inputs, {"use_cross_timestep": True})
    assert pred.shape == inputs.tokens.shape
    loss = strat.compute_loss(pred, inputs)
    pred[:, :n_ref] += 100.0  # the reference part of the prediction is not scored
    assert torch.equal(strat.compute_loss(pred, inputs), loss)


def test_ic_lora_without_reference_says_how_to_add_one(transformer):
    from core.errors import LoraportError

    with pytest.raises(LoraportError, match="reference"):
        ICLora(transformer).prepare_inputs(_batch(), torch.Generator())


def test_video_prediction_ignores_the_dummy_audio_stream(transformer):
    strat = TextToVideo(transformer)
    inputs = strat.prepare_inputs(_batch(), torch.Generator().manual_seed(0))
    with torch.no_grad():
        a = predict(transformer, inputs, {"use_cross_timestep": True})
        inputs.audio_tokens = torch.randn_like(inputs.audio_tokens) * 10
        b = predict(transformer, inputs, {"use_cross_timestep": True})
    assert torch.equal(a, b) and math.isfinite(a.abs().sum().item())
