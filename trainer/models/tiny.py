"""The embedded ``tiny-ltx-2.3`` stack: LTX-2.3's diffusers classes with tiny dimensions and fixed-seed weights.

Same classes, flags and wiring as the real model (gated attention, prompt AdaLN, per-modality text projections,
Gemma 3 hidden states from every layer into the connectors), so train/sample/evaluate exercise the real code paths
on a laptop CPU in seconds. Its outputs are noise. The real model's flags: docs/ltx.md ("Loading real weights").
"""

import copy
import functools

import torch

# Words the tiny tokenizer knows; anything else maps to <unk> (the tiny model's outputs are noise anyway).
_VOCAB_TEXT = """a an the of and in on at with to from by is are red green blue white black yellow orange purple
gray pink brown bright dark light small large big tiny moving still slow fast square circle ball cat dog person
man woman face camera pan zoom walk walking run running dance dancing robot video clip scene style sky sea water
tree city street night day sun moon fire smoke car close up shot view portrait painting cartoon sks ohwx trigger"""

GEMMA_HIDDEN = 16
GEMMA_LAYERS = 2
MAX_SEQUENCE_LENGTH = 32  # tiny text length; a multiple of the connectors' learnable registers (8)


def _tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<unk>", "<bos>", "<eos>"]
    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator([_VOCAB_TEXT], trainers.WordLevelTrainer(special_tokens=specials))
    # Gemma prepends <bos>; the pipeline tokenizes with add_special_tokens=True.
    tok.post_processor = processors.TemplateProcessing(single="<bos> $A", special_tokens=[("<bos>", 2)])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>", bos_token="<bos>", eos_token="<eos>",
        padding_side="left", model_max_length=MAX_SEQUENCE_LENGTH,
    )


def _text_encoder(vocab_size: int):
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration

    text = dict(vocab_size=vocab_size, hidden_size=GEMMA_HIDDEN, intermediate_size=32,
                num_hidden_layers=GEMMA_LAYERS, num_attention_heads=2, num_key_value_heads=1, head_dim=8,
                max_position_embeddings=MAX_SEQUENCE_LENGTH * 4, sliding_window=MAX_SEQUENCE_LENGTH,
                pad_token_id=0, bos_token_id=2, eos_token_id=3)
    # 8x8 images in 4x4 patches -> 2x2 patches -> mm_tokens_per_image 4; the vision tower is never used.
    vision = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                  image_size=8, patch_size=4)
    cfg = Gemma3Config(text_config=text, vision_config=vision, mm_tokens_per_image=4,
                       boi_token_index=vocab_size, eoi_token_index=vocab_size, image_token_index=vocab_size)
    return Gemma3ForConditionalGeneration(cfg).eval()


def _transformer():
    from diffusers import LTX2VideoTransformer3DModel

    return LTX2VideoTransformer3DModel(
        in_channels=8, out_channels=8, patch_size=1, patch_size_t=1, num_attention_heads=2, attention_head_dim=8,
        cross_attention_dim=16, audio_in_channels=4, audio_out_channels=4, audio_num_attention_heads=2,
        audio_attention_head_dim=4, audio_cross_attention_dim=8, num_layers=2, qk_norm="rms_norm_across_heads",
        caption_channels=GEMMA_HIDDEN, rope_double_precision=False, rope_type="split",
        vae_scale_factors=(8, 8, 8),  # the tiny VAE compresses 8x in time and space (the real one 8, 32, 32)
        # the four LTX-2.3 flags
        gated_attn=True, cross_attn_mod=True, audio_gated_attn=True, audio_cross_attn_mod=True,
        use_prompt_embeddings=False,
    )


def _connectors():
    from diffusers.pipelines.ltx2 import LTX2TextConnectors

    # heads x head_dim must equal the transformer's cross-attention dims they feed: video 2x8=16, audio 2x4=8.
    return LTX2TextConnectors(
        caption_channels=GEMMA_HIDDEN, text_proj_in_factor=GEMMA_LAYERS + 1,
        video_connector_num_attention_heads=2, video_connector_attention_head_dim=8, video_connector_num_layers=2,
        video_connector_num_learnable_registers=8, video_gated_attn=True,
        audio_connector_num_attention_heads=2, audio_connector_attention_head_dim=4, audio_connector_num_layers=2,
        audio_connector_num_learnable_registers=8, audio_gated_attn=True,
        connector_rope_base_seq_len=MAX_SEQUENCE_LENGTH, rope_double_precision=False, rope_type="split",
        per_modality_projections=True, video_hidden_dim=16, audio_hidden_dim=8, proj_bias=True,
    )


def _video_vae():
    from diffusers import AutoencoderKLLTX2Video

    vae = AutoencoderKLLTX2Video(
        in_channels=3, out_channels=3, latent_channels=8, block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(16, 32, 64), layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1), spatio_temporal_scaling=(True,) * 4,
        decoder_spatio_temporal_scaling=(True,) * 3, decoder_inject_noise=(False,) * 4,
        downsample_type=("spatial", "temporal", "spatiotemporal", "spatiotemporal"), upsample_residual=(True,) * 3,
        upsample_factor=(2, 2, 2), timestep_conditioning=False, patch_size=1, patch_size_t=1,
        encoder_causal=True, decoder_causal=False, decoder_spatial_padding_mode="zeros",
        # diffusers derives 2**4 = 16 from spatio_temporal_scaling, but these blocks really compress 8x in each of
        # time and space (one block is spatial-only, one temporal-only): 17x64x64 -> 3x8x8.
        spatial_compression_ratio=8, temporal_compression_ratio=8,
    )
    vae.use_framewise_encoding = False
    vae.use_framewise_decoding = False
    return vae


def _audio_vae_and_vocoder():
    from diffusers import AutoencoderKLLTX2Audio
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder

    # A working audio branch at the real model's rates (16 kHz, hop 160: 100 mel frames a second, 25 latent frames
    # a second) with 8 mel bins instead of 64. ch_mult has three levels, so the encoder halves time and mel twice
    # (4x, like the real VAE's): a (1, 2, T, 8) log-mel -> (1, 2, (T - 1) // 4 + 1, 2) latents, packed by the
    # pipeline to 2 x 2 = 4 features a token = the transformer's audio_in_channels. The per-channel latent
    # statistics have base_channels = 4 entries, one per packed feature, as the real VAE's 128 = 8 x 16.
    audio_vae = AutoencoderKLLTX2Audio(
        base_channels=4, output_channels=2, ch_mult=(1, 2, 4), num_res_blocks=1, attn_resolutions=None,
        in_channels=2, resolution=32, latent_channels=2, norm_type="pixel", causality_axis="height", dropout=0.0,
        mid_block_add_attention=False, sample_rate=16000, mel_hop_length=160, is_causal=True, mel_bins=8,
    )
    # Upsamples 4 * 4 * 5 * 2 = 160 = the hop, so one mel frame becomes 160 samples and a second of latents a
    # second of 16 kHz stereo sound (the real LTX-2 vocoder: 240x to 24 kHz; 2.3's adds a 48 kHz extension).
    vocoder = LTX2Vocoder(
        in_channels=2 * 8, hidden_channels=32, out_channels=2, upsample_kernel_sizes=[8, 8, 15, 4],
        upsample_factors=[4, 4, 5, 2], resnet_kernel_sizes=[3], resnet_dilations=[[1, 3, 5]],
        leaky_relu_negative_slope=0.1, output_sampling_rate=16000,
    )
    return audio_vae, vocoder


def scheduler():
    from diffusers import FlowMatchEulerDiscreteScheduler

    # LTX-2's scheduler config: dynamic shifting, mu linear in tokens from 0.95 (1024) to 2.05 (4096).
    return FlowMatchEulerDiscreteScheduler(
        use_dynamic_shifting=True, base_shift=0.95, max_shift=2.05, base_image_seq_len=1024,
        max_image_seq_len=4096, shift_terminal=0.1,
    )


@functools.lru_cache(maxsize=1)
def _template() -> dict:
    """Build once per process; every seed is fixed so each build gives identical weights."""
    return build_template(_transformer, _text_encoder)


def build_template(transformer, text_encoder) -> dict:
    """Every part of a tiny stack with the given transformer and text encoder builders; each part is built from
    seed 0, so a twin stack (tiny-ltx-2.5) gets weights identical to this one's in the parts they share."""
    tokenizer = _tokenizer()
    parts = {"tokenizer": tokenizer}
    for name, build in (("transformer", transformer), ("connectors", _connectors), ("vae", _video_vae)):
        torch.manual_seed(0)
        parts[name] = build().eval()
    torch.manual_seed(0)
    parts["text_encoder"] = text_encoder(len(tokenizer))
    torch.manual_seed(0)
    audio_vae, vocoder = _audio_vae_and_vocoder()
    parts["audio_vae"], parts["vocoder"] = audio_vae.eval(), vocoder.eval()
    for module in parts.values():
        if isinstance(module, torch.nn.Module):
            module.requires_grad_(False)
    return parts


def build_tiny_parts() -> dict:
    return fresh_parts(_template())


def fresh_parts(template: dict) -> dict:
    """Fresh copies of cached tiny modules: callers (peft, LoRA loading) mutate them, the cache stays clean."""
    parts = {k: (v if k == "tokenizer" else copy.deepcopy(v)) for k, v in template.items()}
    parts["scheduler"] = scheduler()
    return parts
