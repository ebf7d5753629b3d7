"""The embedded ``tiny-ltx-2.5`` stack: ``tiny-ltx-2.3`` with LTX-2.5's changes, at the same tiny width.

What differs from the 2.3 twin, each a flag or class the installed diffusers / transformers define for LTX-2.5:
- the transformer has no bias in the video feed-forward (``ff_bias=False``; the audio feed-forward keeps its
  bias) and carries the learned keyframe position embedding (``use_keyframes_abs_pos_embedding=True``, a
  zero-initialised ``(1, inner_dim)`` parameter that only keyframe pipelines apply);
- the text encoder is Gemma-4-shaped (``Gemma4UnifiedForConditionalGeneration``, the class ``LTX2Pipeline``
  accepts for LTX-2.5) instead of Gemma 3, text-only at tiny width, with the same locally trained tokenizer.
Everything else is the 2.3 twin's, built from the same seeds: the video VAE is bit-identical to tiny-ltx-2.3's
(LTX-2.5 reuses 2.3's VAE encoder), so latents encoded by either are interchangeable.
"""

import functools

from trainer.models import tiny

GEMMA_LAYERS = tiny.GEMMA_LAYERS  # the connectors read every hidden state: layers + 1 of them


def _text_encoder(vocab_size: int):
    from transformers import Gemma4UnifiedConfig, Gemma4UnifiedForConditionalGeneration

    text = dict(vocab_size=vocab_size, hidden_size=tiny.GEMMA_HIDDEN, intermediate_size=32,
                num_hidden_layers=GEMMA_LAYERS, num_attention_heads=2, num_key_value_heads=1, head_dim=8,
                global_head_dim=8, layer_types=["sliding_attention", "full_attention"],
                max_position_embeddings=tiny.MAX_SEQUENCE_LENGTH * 4, sliding_window=tiny.MAX_SEQUENCE_LENGTH,
                pad_token_id=0, bos_token_id=2, eos_token_id=3)
    # Text only: the prompt path never feeds images or audio to the encoder.
    cfg = Gemma4UnifiedConfig(text_config=text, vision_config=None, audio_config=None)
    return Gemma4UnifiedForConditionalGeneration(cfg).eval()


def _transformer():
    from diffusers import LTX2VideoTransformer3DModel

    base = tiny._transformer()
    config = {k: v for k, v in base.config.items() if not k.startswith("_")}
    config.update(ff_bias=False, use_keyframes_abs_pos_embedding=True)  # the two LTX-2.5 flags
    return LTX2VideoTransformer3DModel(**config)


@functools.lru_cache(maxsize=1)
def _template() -> dict:
    """Build once per process with the 2.3 twin's seeds, so shared parts get identical weights."""
    return tiny.build_template(_transformer, _text_encoder)


def build_tiny25_parts() -> dict:
    """Fresh copies of the cached tiny-ltx-2.5 modules (callers mutate them; the cache stays clean)."""
    return tiny.fresh_parts(_template())
