"""Training strategies: how a batch of cached latents becomes transformer inputs, and what the loss covers.

Two methods per strategy (the ltx-trainer shape): `prepare_inputs(batch, generator)` noises the latents and
marks conditioning tokens; `compute_loss(pred, inputs)` is the per-sample flow loss over the other tokens.
Conditioning tokens (a clean first latent frame, IC-LoRA reference tokens) get timestep 0 through LTX-2's
per-token `timestep` (B, T), the same mechanism LTX2ImageToVideoPipeline uses
(`timestep.unsqueeze(-1) * (1 - conditioning_mask)`).
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch
from diffusers import LTX2Pipeline

from trainer import flow
from trainer.config import TimestepConfig, TrainConfig


@dataclass
class Batch:
    """A collated batch of cached items (one bucket, so all shapes agree)."""

    latents: torch.Tensor  # (B, C, F, H, W) normalised VAE latents
    prompt_embeds: torch.Tensor  # (B, L, D_video): video context after the text connectors
    prompt_mask: torch.Tensor  # (B, L) 1 = real token
    audio_prompt_embeds: torch.Tensor | None = None  # (B, L, D_audio)
    fps: float = 24.0
    ref_latents: torch.Tensor | None = None  # IC-LoRA: (B, C, F', H', W'), the same latent grid as `latents`
    audio_latents: torch.Tensor | None = None  # (B, L, D_audio) packed, normalised audio tokens; None = no sound

    def to(self, device, dtype=None) -> "Batch":
        def mv(t):
            return None if t is None else t.to(device=device, dtype=dtype if t.is_floating_point() else None)

        return Batch(mv(self.latents), mv(self.prompt_embeds), self.prompt_mask.to(device),
                     mv(self.audio_prompt_embeds), self.fps, mv(self.ref_latents), mv(self.audio_latents))


@dataclass
class ModelInputs:
    """Everything one transformer forward needs, plus the loss target and mask."""

    tokens: torch.Tensor  # (B, T, C) noisy tokens (conditioning tokens clean)
    timesteps: torch.Tensor  # (B, T) per-token timestep in [0, 1000]; 0 on conditioning tokens
    sigma: torch.Tensor  # (B,) noise level s, scaled to [0, 1000] (LTX-2.3 prompt AdaLN reads it)
    coords: torch.Tensor  # (B, 3, T, 2) RoPE bounds in pixel space
    targets: torch.Tensor  # (B, T_target, C) velocity e - x0 of the target tokens
    loss_mask: torch.Tensor  # (B, T_target) true where the loss counts
    prompt_embeds: torch.Tensor
    prompt_mask: torch.Tensor
    audio_prompt_embeds: torch.Tensor  # (B, L, D_audio), or (B, 1, D_audio) zeros when the data has none
    audio_tokens: torch.Tensor  # (B, L, C_audio) noisy audio tokens; (B, 1, C_audio) zeros without sound
    audio_coords: torch.Tensor  # (B, 1, L, 2)
    grid: tuple[int, int, int]  # latent (F, H, W) of the target
    fps: float
    n_prefix: int = 0  # tokens in front of the target (IC-LoRA reference), dropped before the loss
    audio_timesteps: torch.Tensor | None = None  # (B, L) the video's noise level on every audio token
    audio_targets: torch.Tensor | None = None  # (B, L, C_audio) velocity e - x0; None = video-only

    @property
    def with_audio(self) -> bool:
        return self.audio_targets is not None


class Strategy(ABC):
    def __init__(self, transformer, timesteps: TimestepConfig | None = None, first_frame_p: float = 0.0):
        """`transformer` is the bare LTX2VideoTransformer3DModel (not a DDP wrapper): its RoPE modules build the
        coords of any latent grid, and its config gives the patch and audio sizes."""
        self.timesteps_cfg = timesteps or TimestepConfig()
        self.first_frame_p = first_frame_p
        self.rope, self.audio_rope = transformer.rope, transformer.audio_rope
        tcfg = transformer.config
        self.patch = (tcfg.patch_size, tcfg.patch_size_t)
        self.audio_dims = (tcfg.audio_in_channels, tcfg.audio_cross_attention_dim)
        # The base weights' dtype (bf16 on CUDA): inputs are cast to it so that forwards outside autocast
        # (holdout loss, evaluation) work too; the loss is computed in fp32 whatever it is.
        self.dtype = transformer.dtype

    @abstractmethod
    def prepare_inputs(self, batch: Batch, generator: torch.Generator, sigma: torch.Tensor | None = None
                       ) -> ModelInputs:
        """Noise the batch. `sigma` (B,) in (0, 1) fixes the noise levels and turns first-frame conditioning off
        (evaluation at fixed timesteps); otherwise both are drawn from `generator`."""

    def compute_loss(self, pred, inputs: ModelInputs) -> torch.Tensor:
        """Per-sample loss (B,): MSE over the video target tokens that are not conditioning, plus (with sound)
        the MSE over every audio token; the two add, as in ltx-trainer's audio-video strategy."""
        video, audio = self.modality_losses(pred, inputs)
        return video if audio is None else video + audio

    def modality_losses(self, pred, inputs: ModelInputs) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(video (B,), audio (B,) or None): `pred` is what `predict` returned for these inputs."""
        video, audio = pred if isinstance(pred, tuple) else (pred, None)
        video_loss = flow.masked_mse(video[:, inputs.n_prefix:], inputs.targets, inputs.loss_mask)
        if not inputs.with_audio or audio is None:
            return video_loss, None
        every = torch.ones(audio.shape[:2], dtype=torch.bool, device=audio.device)
        return video_loss, flow.masked_mse(audio, inputs.audio_targets, every)

    def _tokens(self, latents: torch.Tensor) -> torch.Tensor:
        return LTX2Pipeline._pack_latents(latents, *self.patch)  # (B, C, F, H, W) -> (B, F*H*W, C)

    def _noised_target(self, batch: Batch, generator: torch.Generator, sigma: torch.Tensor | None):
        """Noise the target latents; returns (x_t, timesteps, sigma, coords, target, loss_mask)."""
        b, _, f, h, w = batch.latents.shape
        x0 = self._tokens(batch.latents)  # (B, T, C)
        cpu = dict(generator=generator)
        first_frame_p = self.first_frame_p if sigma is None else 0.0
        if sigma is None:
            sigma = flow.sample_sigmas(b, x0.shape[1], self.timesteps_cfg, generator)
        sigma = sigma.to(x0.device, torch.float32)
        noise = torch.randn(x0.shape, **cpu).to(x0.device, x0.dtype)
        # First-frame conditioning: with probability p per sample the first latent frame (its (h/p)(w/p) tokens
        # lead the sequence) stays clean at timestep 0, which teaches image-to-video alongside text-to-video.
        cond = torch.zeros(b, x0.shape[1], dtype=torch.bool, device=x0.device)
        if f > 1:
            frame_tokens = (h // self.patch[0]) * (w // self.patch[0])
            cond[:, :frame_tokens] = (torch.rand(b, **cpu) < first_frame_p).to(x0.device)[:, None]
        x_t = torch.where(cond[..., None], x0, flow.add_noise(x0, noise, sigma))
        timesteps = (sigma[:, None] * (~cond)) * flow.TIMESTEP_SCALE  # (B, T)
        coords = self.rope.prepare_video_coords(b, f, h, w, x0.device, fps=batch.fps)
        return x_t, timesteps, sigma * flow.TIMESTEP_SCALE, coords, flow.velocity_target(x0, noise), ~cond

    def _inputs(self, batch: Batch, tokens, timesteps, sigma, coords, targets, loss_mask, n_prefix=0) -> ModelInputs:
        b, _, f, h, w = batch.latents.shape
        dev, dtype = tokens.device, self.dtype
        # Video-only training: one silent audio token; `predict` isolates the modalities so it cannot leak in.
        audio = torch.zeros(b, 1, self.audio_dims[0], device=dev, dtype=dtype)
        audio_ctx = batch.audio_prompt_embeds
        if audio_ctx is None:
            audio_ctx = torch.zeros(b, 1, self.audio_dims[1], device=dev, dtype=dtype)
        audio_coords = self.audio_rope.prepare_audio_coords(b, 1, dev)
        return ModelInputs(tokens.to(dtype), timesteps, sigma, coords, targets, loss_mask,
                           batch.prompt_embeds.to(dtype), batch.prompt_mask, audio_ctx.to(dtype), audio, audio_coords,
                           (f, h, w), batch.fps, n_prefix)


    def _with_audio(self, inputs: ModelInputs, batch: Batch, generator: torch.Generator) -> ModelInputs:
        """Joint audio-video training (ltx-trainer's audio-video strategy): the clip's audio tokens get the same
        noise level s as its video, x_t = (1 - s) x0 + s e, with s as the timestep of every audio token and
        velocity targets e - x0; their positions are the audio RoPE's (seconds of the mel grid). The noise is
        drawn after all of the video's draws, so a batch without sound is noised exactly as before."""
        if batch.audio_latents is None:
            return inputs
        x0 = batch.audio_latents.float()  # (B, L, D_audio)
        b, length, _ = x0.shape
        noise = torch.randn(x0.shape, generator=generator).to(x0.device)
        s = inputs.sigma.to(x0.device) / flow.TIMESTEP_SCALE  # (B,) in (0, 1)
        inputs.audio_tokens = flow.add_noise(x0, noise, s).to(self.dtype)
        inputs.audio_timesteps = inputs.sigma[:, None].expand(b, length)  # (B, L), scaled like the video's
        inputs.audio_targets = flow.velocity_target(x0, noise)
        inputs.audio_coords = self.audio_rope.prepare_audio_coords(b, length, x0.device)
        return inputs


class TextToVideo(Strategy):
    def prepare_inputs(self, batch: Batch, generator: torch.Generator, sigma: torch.Tensor | None = None
                       ) -> ModelInputs:
        inputs = self._inputs(batch, *self._noised_target(batch, generator, sigma))
        return self._with_audio(inputs, batch, generator)


class ICLora(Strategy):
    """Reference latents go in front of the target tokens, clean at timestep 0, outside the loss.

    Token order does not matter to the transformer (full attention, positions come from RoPE coords); the
    reference gets the coords of its own grid, like LTX2InContextPipeline's reference conditions. A reference
    encoded at 1/n of the target's size (strategy.reference_downscale_factor) has its spatial coords scaled by n,
    the factor read from the two grids as ltx-trainer infers it, so it lands on the target's grid as the
    pipeline's ``reference_downscale_factor`` puts it at generation time.
    """

    def prepare_inputs(self, batch: Batch, generator: torch.Generator, sigma: torch.Tensor | None = None
                       ) -> ModelInputs:
        if batch.ref_latents is None:
            from core.errors import LoraportError

            raise LoraportError("IC-LoRA needs a reference clip for every training clip: add `reference` to "
                                "captions.jsonl or a <clip>_ref file beside each clip.")
        x_t, timesteps, sigma, coords, targets, loss_mask = self._noised_target(batch, generator, sigma)
        b, _, rf, rh, rw = batch.ref_latents.shape
        ref = self._tokens(batch.ref_latents)  # (B, T_ref, C)
        ref_coords = self.rope.prepare_video_coords(b, rf, rh, rw, ref.device, fps=batch.fps)
        scale = batch.latents.shape[3] // rh
        if scale != 1:  # (B, 3, T, 2): axis 1 = height, axis 2 = width, in pixels
            ref_coords[:, 1:3] = ref_coords[:, 1:3] * scale
        tokens = torch.cat([ref, x_t], dim=1)
        timesteps = torch.cat([timesteps.new_zeros(b, ref.shape[1]), timesteps], dim=1)
        coords = torch.cat([ref_coords, coords], dim=2)
        return self._inputs(batch, tokens, timesteps, sigma, coords, targets, loss_mask, n_prefix=ref.shape[1])


STRATEGIES: dict[str, type[Strategy]] = {"text-to-video": TextToVideo, "ic-lora": ICLora}


def get_strategy(cfg: TrainConfig, transformer) -> Strategy:
    """The strategy named by cfg.strategy.name, bound to the bare transformer (see Strategy.__init__)."""
    return STRATEGIES[cfg.strategy.name](transformer, cfg.timesteps, cfg.data.first_frame_conditioning_p)


def predict(model, inputs: ModelInputs, forward_kwargs: dict | None = None):
    """One transformer forward. `model` may be DDP-wrapped. Returns the video velocity prediction (B, T, C), or,
    when the inputs carry sound, the pair (video (B, T, C), audio (B, L, C_audio)) that `compute_loss` takes.

    Video-only inputs run with `isolate_modalities=True`: the audio<->video cross-attention is off, so the video
    output is what it is with no audio at all (ltx-trainer's video-only training passes `audio=None`) and the
    audio stream costs one dummy token. With sound, cross-modal attention is on (`isolate_modalities=False`) and
    both modalities are denoised together, as in ltx-trainer's audio-video strategy.

    `forward_kwargs` come from the model spec. LTX-2.3: `use_cross_timestep=True`, with which diffusers computes
    the audio<->video cross-attention modulation (scale/shift and gate) from the *other* modality's sigma. That is
    what ltx-core's transformer did at the LTX-2.3 release (2026-03) and so what the 2.3 weights were trained
    with. ltx-core at HEAD (from 2026-05) takes the scale/shift from each modality's own per-token timesteps and
    only the gate from the other's sigma, a mix diffusers cannot express; LTX-2 used the own timesteps for both
    (`use_cross_timestep=False`). Joint training gives both modalities the same noise level, so the choices
    differ only on conditioning tokens (a clean first frame, timestep 0). docs/ltx.md has the details.
    """
    f, h, w = inputs.grid
    audio_ctx = inputs.audio_prompt_embeds
    audio_mask = inputs.prompt_mask if audio_ctx.shape[1] == inputs.prompt_mask.shape[1] else None
    with_audio = inputs.with_audio
    video, audio = model(
        hidden_states=inputs.tokens, audio_hidden_states=inputs.audio_tokens,
        encoder_hidden_states=inputs.prompt_embeds, audio_encoder_hidden_states=audio_ctx,
        timestep=inputs.timesteps, audio_timestep=inputs.audio_timesteps if with_audio else inputs.sigma,
        sigma=inputs.sigma, audio_sigma=inputs.sigma,
        encoder_attention_mask=inputs.prompt_mask, audio_encoder_attention_mask=audio_mask,
        num_frames=f, height=h, width=w, fps=inputs.fps, audio_num_frames=inputs.audio_tokens.shape[1],
        video_coords=inputs.coords, audio_coords=inputs.audio_coords, isolate_modalities=not with_audio,
        return_dict=False, **(forward_kwargs or {}),
    )
    return (video, audio) if with_audio else video
