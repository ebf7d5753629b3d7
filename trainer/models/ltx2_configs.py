"""The real LTX-2.3 and LTX-2 parts' diffusers configs, so a model can be built without its weights.

Two uses: the memory model builds the transformer on the ``meta`` device from these to count parameters and
sizes (no weights needed), and a single-file checkpoint paired with a bare Gemma 3 folder gets its part configs
from here. Values are those of diffusers' LTX-2 conversion script for versions 2.3 and 2.0 (docs/ltx.md).
"""

from typing import Any

TRANSFORMER_23: dict[str, Any] = dict(
    in_channels=128, out_channels=128, patch_size=1, patch_size_t=1, num_attention_heads=32, attention_head_dim=128,
    cross_attention_dim=4096, vae_scale_factors=(8, 32, 32), pos_embed_max_pos=20, base_height=2048,
    base_width=2048, gated_attn=True, cross_attn_mod=True, audio_in_channels=128, audio_out_channels=128,
    audio_patch_size=1, audio_patch_size_t=1, audio_num_attention_heads=32, audio_attention_head_dim=64,
    audio_cross_attention_dim=2048, audio_scale_factor=4, audio_pos_embed_max_pos=20, audio_sampling_rate=16000,
    audio_hop_length=160, audio_gated_attn=True, audio_cross_attn_mod=True, num_layers=48,
    activation_fn="gelu-approximate", qk_norm="rms_norm_across_heads", norm_elementwise_affine=False, norm_eps=1e-6,
    caption_channels=3840, attention_bias=True, attention_out_bias=True, rope_theta=10000.0,
    rope_double_precision=True, causal_offset=1, timestep_scale_multiplier=1000,
    cross_attn_timestep_scale_multiplier=1000, rope_type="split", use_prompt_embeddings=False, perturbed_attn=True,
)

CONNECTORS_23: dict[str, Any] = dict(
    caption_channels=3840, text_proj_in_factor=49, video_connector_num_attention_heads=32,
    video_connector_attention_head_dim=128, video_connector_num_layers=8, video_connector_num_learnable_registers=128,
    video_gated_attn=True, audio_connector_num_attention_heads=32, audio_connector_attention_head_dim=64,
    audio_connector_num_layers=8, audio_connector_num_learnable_registers=128, audio_gated_attn=True,
    connector_rope_base_seq_len=4096, rope_theta=10000.0, rope_double_precision=True,
    causal_temporal_positioning=False, rope_type="split", per_modality_projections=True, video_hidden_dim=4096,
    audio_hidden_dim=2048, proj_bias=True,
)

VAE_23: dict[str, Any] = dict(
    in_channels=3, out_channels=3, latent_channels=128, block_out_channels=(256, 512, 1024, 1024),
    down_block_types=("LTX2VideoDownBlock3D",) * 4, decoder_block_out_channels=(256, 512, 512, 1024),
    layers_per_block=(4, 6, 4, 2, 2), decoder_layers_per_block=(4, 6, 4, 2, 2),
    spatio_temporal_scaling=(True,) * 4, decoder_spatio_temporal_scaling=(True,) * 4,
    decoder_inject_noise=(False,) * 5, downsample_type=("spatial", "temporal", "spatiotemporal", "spatiotemporal"),
    upsample_type=("spatiotemporal", "spatiotemporal", "temporal", "spatial"), upsample_residual=(False,) * 4,
    upsample_factor=(2, 2, 1, 2), timestep_conditioning=False, patch_size=4, patch_size_t=1, resnet_norm_eps=1e-6,
    encoder_causal=True, decoder_causal=False, encoder_spatial_padding_mode="zeros",
    decoder_spatial_padding_mode="zeros", spatial_compression_ratio=32, temporal_compression_ratio=8,
)

AUDIO_VAE_23: dict[str, Any] = dict(
    base_channels=128, output_channels=2, ch_mult=(1, 2, 4), num_res_blocks=2, attn_resolutions=None, in_channels=2,
    resolution=256, latent_channels=8, norm_type="pixel", causality_axis="height", dropout=0.0,
    mid_block_add_attention=False, sample_rate=16000, mel_hop_length=160, is_causal=True, mel_bins=64, double_z=True,
)

VOCODER_23: dict[str, Any] = dict(
    in_channels=128, hidden_channels=1536, out_channels=2, upsample_kernel_sizes=[11, 4, 4, 4, 4, 4],
    upsample_factors=[5, 2, 2, 2, 2, 2], resnet_kernel_sizes=[3, 7, 11],
    resnet_dilations=[[1, 3, 5], [1, 3, 5], [1, 3, 5]], act_fn="snakebeta", leaky_relu_negative_slope=0.1,
    antialias=True, antialias_ratio=2, antialias_kernel_size=12, final_act_fn=None, final_bias=False,
    bwe_in_channels=128, bwe_hidden_channels=512, bwe_out_channels=2, bwe_upsample_kernel_sizes=[12, 11, 4, 4, 4],
    bwe_upsample_factors=[6, 5, 2, 2, 2], bwe_resnet_kernel_sizes=[3, 7, 11],
    bwe_resnet_dilations=[[1, 3, 5], [1, 3, 5], [1, 3, 5]], bwe_act_fn="snakebeta", bwe_leaky_relu_negative_slope=0.1,
    bwe_antialias=True, bwe_antialias_ratio=2, bwe_antialias_kernel_size=12, bwe_final_act_fn=None,
    bwe_final_bias=False, filter_length=512, hop_length=80, window_length=512, num_mel_channels=64,
    input_sampling_rate=16000, output_sampling_rate=48000,
)

# LTX-2 (19B): the same conversion script's "2.0" configs. Its transformer has no gates or prompt AdaLN and keeps the
# caption projection (use_prompt_embeddings); its connectors are 2 layers of 30 x 128 without per-modality
# projections; its VAE decoder has 3 up blocks; its vocoder is the 24 kHz LTX2Vocoder.
TRANSFORMER_20: dict[str, Any] = {
    **TRANSFORMER_23, "gated_attn": False, "cross_attn_mod": False, "audio_gated_attn": False,
    "audio_cross_attn_mod": False, "use_prompt_embeddings": True, "perturbed_attn": False,
}

CONNECTORS_20: dict[str, Any] = dict(
    caption_channels=3840, text_proj_in_factor=49, video_connector_num_attention_heads=30,
    video_connector_attention_head_dim=128, video_connector_num_layers=2, video_connector_num_learnable_registers=128,
    video_gated_attn=False, audio_connector_num_attention_heads=30, audio_connector_attention_head_dim=128,
    audio_connector_num_layers=2, audio_connector_num_learnable_registers=128, audio_gated_attn=False,
    connector_rope_base_seq_len=4096, rope_theta=10000.0, rope_double_precision=True,
    causal_temporal_positioning=False, rope_type="split", per_modality_projections=False, proj_bias=False,
)

VAE_20: dict[str, Any] = dict(
    in_channels=3, out_channels=3, latent_channels=128, block_out_channels=(256, 512, 1024, 2048),
    down_block_types=("LTX2VideoDownBlock3D",) * 4, decoder_block_out_channels=(256, 512, 1024),
    layers_per_block=(4, 6, 6, 2, 2), decoder_layers_per_block=(5, 5, 5, 5), spatio_temporal_scaling=(True,) * 4,
    decoder_spatio_temporal_scaling=(True,) * 3, decoder_inject_noise=(False,) * 4,
    downsample_type=("spatial", "temporal", "spatiotemporal", "spatiotemporal"),
    upsample_type=("spatiotemporal",) * 3, upsample_residual=(True,) * 3, upsample_factor=(2, 2, 2),
    timestep_conditioning=False, patch_size=4, patch_size_t=1, resnet_norm_eps=1e-6, encoder_causal=True,
    decoder_causal=False, encoder_spatial_padding_mode="zeros", decoder_spatial_padding_mode="reflect",
    spatial_compression_ratio=32, temporal_compression_ratio=8,
)

VOCODER_20: dict[str, Any] = dict(
    in_channels=128, hidden_channels=1024, out_channels=2, upsample_kernel_sizes=[16, 15, 8, 4, 4],
    upsample_factors=[6, 5, 2, 2, 2], resnet_kernel_sizes=[3, 7, 11],
    resnet_dilations=[[1, 3, 5], [1, 3, 5], [1, 3, 5]], act_fn="leaky_relu", leaky_relu_negative_slope=0.1, antialias=False, final_act_fn="tanh", final_bias=True,
    output_sampling_rate=24000,
)

# The scheduler config LTX-2.x ships (dynamic shifting, mu linear in tokens from 0.95 at 1024 to 2.05 at 4096).
SCHEDULER: dict[str, Any] = dict(use_dynamic_shifting=True, base_shift=0.95, max_shift=2.05, base_image_seq_len=1024,
                                 max_image_seq_len=4096, shift_terminal=0.1)

# Part -> (diffusers class name, config) for a version: what a single file's parts are built as.
PART_CLASSES: dict[str, dict[str, tuple[str, dict[str, Any]]]] = {
    "2.3": {"transformer": ("LTX2VideoTransformer3DModel", TRANSFORMER_23),
            "connectors": ("LTX2TextConnectors", CONNECTORS_23),
            "vae": ("AutoencoderKLLTX2Video", VAE_23), "audio_vae": ("AutoencoderKLLTX2Audio", AUDIO_VAE_23),
            "vocoder": ("LTX2VocoderWithBWE", VOCODER_23)},
    "2": {"transformer": ("LTX2VideoTransformer3DModel", TRANSFORMER_20),
          "connectors": ("LTX2TextConnectors", CONNECTORS_20),
          "vae": ("AutoencoderKLLTX2Video", VAE_20), "audio_vae": ("AutoencoderKLLTX2Audio", AUDIO_VAE_23),
          "vocoder": ("LTX2Vocoder", VOCODER_20)},
}
# What a version's vocoder must be when a folder does not say (2.3's BWE vocoder runs at 48 kHz).
DEFAULT_VOCODER = {"2.3": "LTX2VocoderWithBWE", "2": "LTX2Vocoder"}
