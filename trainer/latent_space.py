"""When two models' video latents are interchangeable: exactly when their VAE encoders are the same bytes.

LTX-2.5 reuses LTX-2.3's VAE encoder, so a clip encoded for one is the same latent for the other; LTX-2's encoder
is different. Rather than trusting a version table, the latent cache is keyed by a fingerprint of what encoding
reads: the encoder's weights and buffers (including the latent mean / std used to normalise), the scaling factor
and the encoder's config. Equal fingerprints mean byte-identical encoders, so the cached latents are provably the
ones a fresh encode would give; a decoder-only difference (2.5's optional diffusion decoder) does not matter.
Text embeddings are never shared: each model's text encoder is its own (2.5 reads Gemma 4, 2.3 Gemma 3).
"""

import hashlib
import json

import torch

_ENCODE_ONLY = ("decoder", "upsample", "timestep_conditioning")  # config keys that affect only decoding


def latent_space_key(vae) -> str:
    """A hex fingerprint of everything the VAE's encode + normalise reads; cached on the module."""
    cached = getattr(vae, "_loraport_latent_key", None)
    if cached is not None:
        return cached
    h = hashlib.sha256()
    config = {k: v for k, v in dict(vae.config).items() if not k.startswith("_") and not k.startswith(_ENCODE_ONLY)}
    h.update(json.dumps(config, sort_keys=True, default=str).encode())
    for name, tensor in sorted(vae.state_dict().items()):
        if name.startswith("decoder."):
            continue
        t = tensor.detach().to("cpu").contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    key = h.hexdigest()[:32]
    vae._loraport_latent_key = key  # weights are frozen during preparation; a reload builds a new module
    return key
