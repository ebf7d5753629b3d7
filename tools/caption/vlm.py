"""The ``vlm`` backend: a transformers vision-language model (``settings.caption_model``: a local folder or hub id).

Loaded with ``AutoProcessor`` + ``AutoModelForImageTextToText.from_pretrained``, the same code path for a real
model (Qwen2.5-VL, SmolVLM, LLaVA, ...) and the tiny random one the tests save to a temp dir. The frames of one
clip go in as several images of one user turn, through the processor's own chat template. Decoding is greedy, so
the same clip gives the same caption. Only the newly generated tokens are decoded: the prompt is never echoed.
"""

import logging
from pathlib import Path

from PIL import Image

from core.errors import LoraportError

from tools.caption.base import Captioner, prompt_text

log = logging.getLogger(__name__)


class VlmCaptioner(Captioner):
    name = "vlm"

    def __init__(self, model_id: str | Path, *, device: str | None = None, max_new_tokens: int = 96,
                 frames_per_clip: int = 4):
        self.model_id = str(model_id)
        self.device = device
        self.max_new_tokens = max_new_tokens
        self.frames_per_clip = frames_per_clip
        self._processor = None
        self._model = None

    def prepare(self) -> None:
        """Load processor and model once (lazily: listing backends must not load weights)."""
        if self._model is not None:
            return
        import torch
        from transformers import AutoModelForImageTextToText, AutoProcessor

        device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
        try:
            self._processor = AutoProcessor.from_pretrained(self.model_id)
            self._model = AutoModelForImageTextToText.from_pretrained(self.model_id, dtype=dtype).to(device).eval()
        except (OSError, ValueError, KeyError) as err:
            raise LoraportError(
                f"could not load the caption model {self.model_id!r} ({type(err).__name__}: {str(err)[:200]}). "
                "Set LORAPORT_CAPTION_MODEL to a local folder with a transformers vision-language model "
                "(processor + weights), or use --backend claude / template."
            ) from None
        self.device = device

    def caption(self, frames: list[Image.Image], *, guidance: str) -> str:
        import torch

        self.prepare()
        if not frames:
            raise LoraportError("no frames could be read from this file, so it cannot be captioned.")
        messages = [{"role": "user", "content": [*({"type": "image"} for _ in frames),
                                                  {"type": "text", "text": prompt_text(guidance)}]}]
        try:
            prompt = self._processor.apply_chat_template(messages, add_generation_prompt=True)
        except ValueError as err:  # a processor saved without a chat template: not a chat VLM
            raise LoraportError(f"the caption model {self.model_id!r} has no chat template ({err}); use an "
                                "instruction-tuned vision-language model.") from None
        inputs = self._processor(images=frames, text=prompt, return_tensors="pt")
        inputs = inputs.to(self._model.device, dtype=self._model.dtype)  # casts pixel values only, not token ids
        with torch.inference_mode():
            out = self._model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        new_tokens = out[:, inputs["input_ids"].shape[1]:]  # (1, T_new): drop the echoed prompt
        return self._processor.batch_decode(new_tokens, skip_special_tokens=True)[0]
