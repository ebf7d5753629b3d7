"""Validation prompts encoded once, in the text phase, so sampling during training never brings Gemma back.

The cache holds Gemma's packed hidden states and mask per text (what ``LTX2Pipeline._get_gemma_prompt_embeds``
returns, on the CPU); the pipeline still runs the text connectors on them, as it does for a prompt string.
"""

import torch


def with_trigger(prompt: str, trigger: str | None) -> str:
    """A validation prompt as it is rendered: the trigger in front (captions got it at preprocessing), unless the
    prompt holds it already; a trigger of several words ("zorbly style") counts when held word for word."""
    trigger = (trigger or "").strip()
    return prompt if not trigger or f" {trigger} " in f" {prompt} " else f"{trigger} {prompt}"


def validation_texts(cfg) -> list[str]:
    """The prompts validation renders (``with_trigger``, so they are the very texts sampling asks for) and the
    negative prompt."""
    v = cfg.validation
    if not (v.every and v.prompts):
        return []
    texts = [with_trigger(p, cfg.data.trigger_word) for p in v.prompts]
    negative = getattr(getattr(v, "guidance", None), "negative_prompt", "")
    return list(dict.fromkeys([*texts, negative or ""]))


@torch.no_grad()
def encode(components, texts: list[str]) -> None:
    """Encode ``texts`` with Gemma where it sits now (the text phase) into ``components.prompt_cache``."""
    from diffusers import LTX2Pipeline

    if not texts:
        return
    pipe = LTX2Pipeline(scheduler=None, vae=None, audio_vae=None, text_encoder=components.text_encoder,
                        tokenizer=components.tokenizer, connectors=components.connectors, transformer=None,
                        vocoder=None)
    for text in texts:
        embeds, mask = pipe._get_gemma_prompt_embeds([text], max_sequence_length=components.spec.max_sequence_length,
                                                     device=components.text_encoder.device)
        components.prompt_cache[text] = (embeds.cpu(), mask.cpu())


def swap_in(components, kwargs: dict, device: torch.device) -> dict:
    """Pipeline keyword arguments with cached embeddings in place of ``prompt`` / ``negative_prompt`` strings,
    when both are cached; otherwise unchanged (the pipeline encodes them itself)."""
    cache = getattr(components, "prompt_cache", None) or {}
    prompt, negative = kwargs.get("prompt"), kwargs.get("negative_prompt") or ""
    if prompt not in cache or negative not in cache:
        return kwargs
    out = {k: v for k, v in kwargs.items() if k not in ("prompt", "negative_prompt")}
    (pe, pm), (ne, nm) = cache[prompt], cache[negative]
    out.update(prompt_embeds=pe.to(device), prompt_attention_mask=pm.to(device),
               negative_prompt_embeds=ne.to(device), negative_prompt_attention_mask=nm.to(device))
    return out
