"""Phases that never share the GPU: which parts of a model sit on the accelerator while each step of a run works.

A real LTX-2.3 run cannot hold everything at once (transformer 35 GiB in bf16, Gemma 23, connectors 6), so a run
goes through phases, and entering one moves every other part back to the CPU first:
- ``text``: Gemma and the text connectors encode every caption (cached to disk), then leave;
- ``vae``: the video VAE (and the audio VAE, for sound) encodes every clip (cached), then leaves;
- ``train``: only the transformer (its blocks streamed by group offload when that is on);
- ``sample``: what the pipeline needs to render validation clips, Gemma only when the prompts were not encoded in
  the text phase (the trainer returns to ``train`` afterwards);
- ``idle``: nothing.
``Components.home`` is the accelerator; without one (CPU runs, the tiny model) every move is a no-op, yet the
phase and the resident set are still recorded, which is what tests check. Parts the run keeps on the CPU on
purpose (the text encoder with ``text_encoder = cpu``) never move.
"""

import contextlib
import gc

import torch

PARTS = ("transformer", "text_encoder", "connectors", "vae", "audio_vae", "vocoder")
PHASE_PARTS: dict[str, tuple[str, ...]] = {
    "text": ("text_encoder", "connectors"),
    "vae": ("vae", "audio_vae"),  # the audio VAE encodes clips' sound beside the picture (small)
    "train": ("transformer",),
    "sample": ("transformer", "text_encoder", "connectors", "vae", "audio_vae", "vocoder"),
    "idle": (),
}


def _move(module: torch.nn.Module, device: torch.device) -> None:
    module.to(device)


def _device_of(module: torch.nn.Module) -> torch.device | None:
    p = next(module.parameters(), None)
    return p.device if p is not None else None


def enter(components, phase: str) -> set[str]:
    """Move ``phase``'s parts to ``components.home`` and every other part to the CPU (others first, so the GPU
    is free before anything arrives); returns and records the parts now resident on the accelerator."""
    home = getattr(components, "home", None)
    wanted = set(PHASE_PARTS[phase]) - set(getattr(components, "pinned_to_cpu", ()))
    if phase == "sample" and getattr(components, "prompt_cache", None):
        wanted.discard("text_encoder")  # validation prompts were encoded in the text phase
    modules = {n: getattr(components, n, None) for n in PARTS}
    modules = {n: m for n, m in modules.items() if isinstance(m, torch.nn.Module)}
    managed = set(getattr(components, "offloaded", ()))  # group offload hooks place these themselves
    if home is not None and torch.device(home).type != "cpu":
        cpu = torch.device("cpu")
        for name in sorted(set(modules) - wanted - managed):
            if _device_of(modules[name]) != cpu:
                _move(modules[name], cpu)
        _release()
        for name in sorted(wanted & set(modules) - managed):
            if _device_of(modules[name]) != torch.device(home):
                _move(modules[name], torch.device(home))
    components.phase = phase
    components.resident = wanted & set(modules)
    return components.resident


def _release() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


@contextlib.contextmanager
def optimizer_state_on_cpu(optimizer: torch.optim.Optimizer, enabled: bool):
    """Hold the optimizer's state tensors (AdamW's moments) in host RAM for the duration, then put each back on
    the device it came from: room on the GPU for sampling in the middle of a run."""
    if not enabled:
        yield
        return
    moved = []
    for state in optimizer.state.values():
        for key, value in state.items():
            if torch.is_tensor(value) and value.device.type != "cpu":
                moved.append((state, key, value.device))
                state[key] = value.to("cpu")
    _release()
    try:
        yield
    finally:
        for state, key, device in moved:
            state[key] = state[key].to(device)


def apply_group_offload(transformer: torch.nn.Module, onload: torch.device, *, use_stream: bool) -> None:
    """Keep the transformer's blocks in CPU memory and copy each to ``onload`` just before it runs (diffusers'
    ``enable_group_offload`` at block level; with a CUDA stream the next block is copied while this one runs).
    Apply after the LoRA layers are injected, so they travel with their blocks."""
    transformer.enable_group_offload(onload_device=onload, offload_device=torch.device("cpu"),
                                     offload_type="block_level", num_blocks_per_group=1, use_stream=use_stream)
