"""Every user-facing training setting: its name, where it lives in ``TrainConfig``, what it does, its bounds.

One table, the settings vocabulary, serves the recipes (which settings a recipe may set), the plan (which
values it resolves), the one override applier (``tools.plan.overrides``: plan, retrain, the sidekick's
``set_option`` and the CLI's ``--set``), ``explain_setting("what does rank do?")``, the sidekick's list of shown
options and the guided brain's reader of everyday sentences (names, aliases and units: "3000 steps"). The text
is data: one plain sentence of *what the setting does*; the *why this value* comes from the recipe or the plan.

Bounds come from ``TrainConfig``'s own field constraints unless an entry sets a narrower range, so the chat, the
CLI and the config never disagree about what is allowed.
"""

import re
from dataclasses import dataclass, field, replace
from typing import Any

from trainer.config import TrainConfig


@dataclass(frozen=True)
class SettingInfo:
    name: str
    path: tuple[str, ...] | None  # location in TrainConfig; None = derived (buckets, validation size)
    what: str
    kind: str  # int | float | str | bool | list | buckets
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    aliases: tuple[str, ...] = field(default_factory=tuple)
    overridable: bool = True
    units: tuple[str, ...] = ()  # words a spoken value may carry: "3000 steps", "49 frames"


def _s(name, path, what, kind, low=None, high=None, choices=(), aliases=(), overridable=True,
       units=()) -> SettingInfo:
    info = SettingInfo(name, tuple(path.split(".")) if path else None, what, kind, low, high, tuple(choices),
                       tuple(aliases), overridable, tuple(units))
    return _with_config_bounds(info)


def _with_config_bounds(info: SettingInfo) -> SettingInfo:
    """Fill a missing bound from the TrainConfig field's ge/gt/le/lt, so there is one range per setting."""
    if info.path is None or info.kind not in ("int", "float") or None not in (info.low, info.high):
        return info
    model: Any = TrainConfig
    for part in info.path[:-1]:
        model = model.model_fields[part].annotation
    meta = model.model_fields[info.path[-1]].metadata
    low = next((getattr(m, a) for m in meta for a in ("ge", "gt") if getattr(m, a, None) is not None), None)
    high = next((getattr(m, a) for m in meta for a in ("le", "lt") if getattr(m, a, None) is not None), None)
    return replace(info, low=info.low if info.low is not None else low,
                   high=info.high if info.high is not None else high)


SETTINGS: dict[str, SettingInfo] = {s.name: s for s in [
    _s("model", "model.id", "Which base model the LoRA is trained on; a LoRA only works with the model it was "
       "trained on.", "str", aliases=("base model", "base")),
    _s("quantize_base", "model.quantize_base", "Stores the frozen base weights in fewer bits: int8 or float8 "
       "(torchao) halve their memory, nf4 (bitsandbytes, NVIDIA GPUs) quarters it, at a small cost in speed and "
       "fidelity; the LoRA itself still trains in full precision.", "str", choices=("none", "int8", "float8", "nf4"),
       aliases=("quantize", "quantization", "base precision", "int8", "nf4", "4bit")),
    _s("offload", "model.offload", "Block offload: the transformer's blocks wait in CPU memory and are copied to the "
       "GPU one at a time as they run, so a card far smaller than the model can train it, with slower steps and "
       "more system RAM.", "str", choices=("none", "blocks"), aliases=("block swap", "blockswap", "group offload",
                                                                    "cpu offload")),
    _s("text_encoder", "model.text_encoder", "How the Gemma text encoder runs while captions are encoded (it is "
       "freed before training starts): bf16, int8 or nf4 on the GPU, or on the CPU for small cards; auto picks "
       "by the GPU's memory.", "str", choices=("auto", "bf16", "int8", "nf4", "cpu"),
       aliases=("text encoder", "gemma")),
    _s("vae_tiling", "model.vae_tiling", "Encodes and decodes video in tiles, so large clips fit on small cards; "
       "a little slower.", "bool", aliases=("vae tiling", "tiled vae", "tiling")),
    _s("trigger", "data.trigger_word", "A made-up word put in front of every caption so the LoRA's concept is "
       "called up by writing it in a prompt.", "str", aliases=("trigger word", "trigger_word", "token")),
    _s("strategy", "strategy.name", "How each training example is built: text-to-video (caption -> clip) or "
       "IC-LoRA (reference clip + caption -> clip).", "str", choices=("text-to-video", "ic-lora"),
       aliases=("mode",)),
    _s("reference_suffix", "strategy.reference_suffix", "IC-LoRA: how a clip's reference is found (clip.mp4 -> "
       "clip_ref.mp4), unless captions.jsonl names it.", "str", aliases=("reference",)),
    _s("reference_downscale_factor", "strategy.reference_downscale_factor", "IC-LoRA: references are encoded at "
       "1/n of the clip's width and height (fewer tokens, less memory); written into the LoRA so ComfyUI and "
       "ltx-pipelines read the reference at the same scale.", "int",
       aliases=("reference downscale", "reference scale", "downscale factor")),
    _s("rank", "lora.rank", "The LoRA's capacity: how many directions each adapted layer may change in. Higher "
       "learns more detail but memorises more and makes a bigger file.", "int",
       aliases=("r", "lora rank", "dim", "network_dim")),
    _s("alpha", "lora.alpha", "Scales the LoRA's effect (scale = alpha / rank). Alpha equal to rank keeps every "
       "loader's scale the same.", "float", 0.5, 512, aliases=("lora alpha", "network_alpha")),
    _s("targets", "lora.target_modules", "Which layers inside each transformer block get a LoRA: the attention "
       "projections to_q, to_k, to_v and to_out.0, or paths inside a block such as attn1.to_q, or the video "
       "feed-forward ff.net.0.proj and ff.net.2 (more capacity). A name that matches no layer is an error.", "list", aliases=("target modules", "target_modules")),
    _s("video_only", "lora.video_only", "Adapt only the video stream's attention, leaving the audio branch "
       "untouched.", "bool", aliases=("video only",)),
    _s("audio", "data.audio", "Trains the clips' sound together with the picture, so a LoRA that learned a voice "
       "or a signature sound keeps it: on (clips without sound train the picture only and are listed), off (the "
       "picture only, the sound of the base model), or required (clips without sound are refused).", "str",
       choices=("on", "off", "required"), aliases=("sound", "voice", "audio training", "train audio")),
    _s("learning_rate", "optim.learning_rate", "How big each update step is. Too high and training goes noisy or "
       "burns in artefacts; too low and it learns nothing in the steps given.", "float", 1e-6, 1e-2,
       aliases=("lr", "learning rate")),
    _s("steps", "optim.steps", "How many optimisation steps to run; with batch 1, one step sees one clip.",
       "int", 10, 100_000, aliases=("max_steps", "training steps", "iterations"), units=("steps", "iterations")),
    _s("optimizer", "optim.optimizer", "The update rule. AdamW keeps two running averages per trainable weight; "
       "the 8-bit version stores them in a quarter of the memory.", "str", choices=("adamw", "adamw8bit"),
       aliases=("optim",)),
    _s("schedule", "optim.schedule", "How the learning rate changes over the run: constant, linearly down "
       "to a tenth of its peak at the last step (as Lightricks' trainer does), or along a cosine to zero.",
       "str", choices=("constant", "linear", "cosine"),
       aliases=("scheduler", "lr schedule")),
    _s("warmup_steps", "optim.warmup_steps", "Steps at the start where the learning rate ramps up from zero, so "
       "the first large gradients do not knock the LoRA off course.", "int", 0, 10_000, aliases=("warmup",)),
    _s("batch_size", "optim.batch_size", "Clips per step. Larger batches average out noise but need memory in "
       "proportion.", "int", 1, 64, aliases=("batch", "bs")),
    _s("grad_accum", "optim.grad_accum", "Steps of gradients added up before one update: a bigger effective "
       "batch without the memory.", "int", 1, 256, aliases=("gradient accumulation", "accumulation")),
    _s("weight_decay", "optim.weight_decay", "Pulls the LoRA weights gently towards zero each step, a mild "
       "guard against over-fitting.", "float", 0, 1),
    _s("max_grad_norm", "optim.max_grad_norm", "Clips each step's gradient to this size, so one odd clip cannot "
       "throw training off.", "float", 0.01, 100, aliases=("grad clip", "gradient clipping")),
    _s("gradient_checkpointing", "optim.gradient_checkpointing", "Recomputes activations during the backward "
       "pass instead of storing them: much less memory for about a third more time per step.", "bool",
       aliases=("checkpointing", "grad checkpointing")),
    _s("mixed_precision", "optim.mixed_precision", "Runs the maths in bf16 on CUDA (auto) while keeping the "
       "LoRA's own weights in fp32.", "str", choices=("auto", "bf16", "no"), aliases=("precision",)),
    _s("buckets", None, "The sizes clips are trained at (width x height x frames). Each clip goes to the bucket "
       "nearest its aspect ratio, is resized, centre-cropped and cut to that many frames; images use 1 frame.",
       "buckets", aliases=("resolution", "frames", "bucket")),
    _s("first_frame_p", "data.first_frame_conditioning_p", "How often the clip's first frame is given clean as a "
       "condition, teaching image-to-video alongside text-to-video.", "float", 0, 1,
       aliases=("first frame", "first_frame_conditioning_p", "i2v")),
    _s("holdout_fraction", "data.holdout_fraction", "Share of clips kept out of training to measure over-fitting "
       "(held-out loss) and to test on clips the LoRA never saw.", "float", 0, 0.5,
       aliases=("holdout", "validation split")),
    _s("checkpoint_every", "checkpoints.every", "Steps between saved checkpoints; the best LoRA is often an "
       "earlier checkpoint, not the last.", "int", 1, 100_000,
       aliases=("save_every", "checkpoints", "checkpoint every", "save every", "checkpoints every",
                "save a checkpoint every")),
    _s("checkpoint_keep", "checkpoints.keep", "How many recent checkpoints to keep on disk.", "int", 1, 100),
    _s("validation_every", "validation.every", "Steps between sample videos rendered at fixed seeds during "
       "training (0 turns them off).", "int", 0, 100_000,
       aliases=("sample_every", "validation", "validate every", "validation every", "sample every", "samples every",
                "preview every", "render every")),
    _s("validation_prompts", "validation.prompts", "Prompts rendered during training to watch the LoRA learn; "
       "they use the trigger word.", "list", aliases=("prompts", "sample prompts")),
    _s("validation_seeds", "validation.seeds", "Fixed random seeds for the validation samples, so the videos "
       "differ only by what the LoRA learned.", "list"),
    _s("validation_steps", "validation.inference_steps", "Denoising steps per validation sample: more is "
       "cleaner and slower.", "int", 1, 200, aliases=("inference_steps", "sampling steps")),
    _s("guidance_scale", "validation.guidance.guidance_scale", "Classifier-free guidance for the video of "
       "validation and evaluation samples: how hard each step is pushed towards the prompt and away from the "
       "negative prompt.", "float", 1, 20, aliases=("cfg", "cfg scale", "guidance scale")),
    _s("stg_scale", "validation.guidance.stg_scale", "Spatio-temporal guidance (STG) for the samples' video: "
       "steers away from a copy of the model with one block's self-attention skipped, for steadier motion and "
       "structure (0 turns it off).", "float", 0, 10, aliases=("stg", "stg scale")),
    _s("stg_blocks", "validation.guidance.stg_blocks", "Which transformer blocks STG skips; by default the "
       "model's own (28 for LTX-2.3, 29 for LTX-2).", "list", aliases=("stg block", "stg blocks")),
    _s("guidance_rescale", "validation.guidance.guidance_rescale", "Pulls the guided prediction's spread back "
       "towards the unguided one, against over-saturated, burnt samples (0 turns it off).", "float",
       aliases=("rescale", "cfg rescale")),
    _s("modality_scale", "validation.guidance.modality_scale", "Audio-video modality guidance for the samples' "
       "video: steers away from a pass where picture and sound do not see each other.", "float", 1, 10,
       aliases=("modality guidance",)),
    _s("audio_guidance_scale", "validation.guidance.audio_guidance_scale", "Classifier-free guidance for the "
       "samples' sound.", "float", 1, 20, aliases=("audio cfg",)),
    _s("audio_stg_scale", "validation.guidance.audio_stg_scale", "Spatio-temporal guidance for the samples' "
       "sound.", "float", 0, 10, aliases=("audio stg",)),
    _s("audio_guidance_rescale", "validation.guidance.audio_guidance_rescale", "Guidance rescale for the "
       "samples' sound.", "float"),
    _s("audio_modality_scale", "validation.guidance.audio_modality_scale", "Audio-video modality guidance for "
       "the samples' sound.", "float", 1, 10),
    _s("negative_prompt", "validation.guidance.negative_prompt", "What the samples are steered away from; by "
       "default Lightricks' official list of artefacts (subtitles, blur, distortions, bad audio, ...).", "str",
       aliases=("negative prompt",)),
    _s("lora_precision", "checkpoints.precision", "Precision of the exported LoRA file: bf16 (half the size, as "
       "Lightricks' trainer saves it) or fp32. Training itself always keeps the LoRA in fp32.", "str",
       choices=("bf16", "fp32"), aliases=("export precision", "file precision")),
    _s("timestep_sampling", None, "How noise levels are drawn during training: Lightricks' stretched shifted "
       "logit-normal (more weight on high noise for larger clips, stretched so low noise levels are trained "
       "too) with 10% uniform samples.", "str", choices=("shifted-logit-normal",), overridable=False),
    _s("dataset", "data.dataset_dir", "The folder of clips and captions the LoRA learns from.", "str",
       overridable=False),
    _s("validation_size", None, "Width x height x frames of the validation samples; follows the first bucket.",
       "str", overridable=False),
    _s("seed", "seed", "The random seed: the same data, settings and seed give the same LoRA.", "int", 0,
       2**31 - 1),
]}


# A trigger is a short phrase of one to six words ("zorbly", "zorbly style", "ohwx man"): letters, digits, '-',
# '_', '.', and an apostrophe inside a word. Anything longer or odder in a LoRA's metadata is data, not a trigger.
_TRIGGER = re.compile(r"[\w][\w\-.']*(?: [\w][\w\-.']*){0,5}")


def clean_trigger(text: Any) -> str | None:
    """The trigger phrase as written (inner spaces collapsed), or None when it is not a plausible trigger."""
    if not isinstance(text, str):
        return None
    phrase = " ".join(text.split())
    return phrase if len(phrase) <= 64 and _TRIGGER.fullmatch(phrase) else None


def find_setting(text: str) -> SettingInfo | None:
    """Map a name, alias or question ("what does the lr do?") to a setting; longest match wins."""
    q = " ".join(text.lower().replace("?", " ").replace("_", " ").replace("-", " ").split())
    if (key := q.replace(" ", "_")) in SETTINGS:
        return SETTINGS[key]
    best: tuple[int, SettingInfo] | None = None
    for info in SETTINGS.values():
        for word in (info.name.replace("_", " "), *(a.replace("_", " ") for a in info.aliases)):
            if f" {word} " in f" {q} " and (best is None or len(word) > best[0]):
                best = (len(word), info)
    return best[1] if best else None


def config_value(config: dict[str, Any] | None, path) -> Any:
    """The value at a setting's path (``("lora", "rank")``) in TrainConfig JSON; None where the path is absent."""
    node: Any = config
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node
