"""The ``claude`` backend: Anthropic's Messages API with vision, on frames sampled from each clip.

Used when ``ANTHROPIC_API_KEY`` is set. Frames go as base64 JPEG image blocks (downscaled: a caption needs no
4K pixels and tokens cost money); ``settings.anthropic_base_url`` points the SDK elsewhere (tests use a loopback
fake). The reply's text blocks are the caption; anything else in the reply is ignored.
"""

import base64
import io

from PIL import Image

from core.errors import LoraportError
from core.settings import Settings, get_settings

from tools.caption.base import BASE_INSTRUCTIONS, Captioner

MAX_SIDE = 768


class ClaudeCaptioner(Captioner):
    name = "claude"

    def __init__(self, settings: Settings | None = None, *, model: str | None = None, frames_per_clip: int = 4,
                 max_tokens: int = 200):
        settings = settings or get_settings()
        if settings.anthropic_api_key is None:
            raise LoraportError("the claude backend needs ANTHROPIC_API_KEY; set it, or use --backend vlm or template.")
        import anthropic

        self.client = anthropic.Anthropic(api_key=settings.anthropic_api_key.get_secret_value(),
                                          base_url=settings.anthropic_base_url, max_retries=2, timeout=120.0)
        self.model = model or settings.llm_model
        self.frames_per_clip = frames_per_clip
        self.max_tokens = max_tokens

    def caption(self, frames: list[Image.Image], *, guidance: str) -> str:
        import anthropic

        if not frames:
            raise LoraportError("no frames could be read from this file, so it cannot be captioned.")
        content = [_image_block(f) for f in frames]
        content.append({"type": "text", "text": f"Caption this clip ({len(frames)} frames in order)."})
        try:
            reply = self.client.messages.create(
                model=self.model, max_tokens=self.max_tokens,
                system=f"{BASE_INSTRUCTIONS}\nGuidance for this dataset: {guidance.strip()}",
                messages=[{"role": "user", "content": content}],
            )
        except anthropic.APIError as err:
            raise LoraportError(f"Claude could not caption this clip ({type(err).__name__}: {str(err)[:200]}). "
                                "Check the API key and network, or use --backend vlm or template.") from None
        return " ".join(b.text for b in reply.content if getattr(b, "type", None) == "text")


def _image_block(frame: Image.Image) -> dict:
    img = frame.convert("RGB")
    img.thumbnail((MAX_SIDE, MAX_SIDE))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85)
    return {"type": "image",
            "source": {"type": "base64", "media_type": "image/jpeg", "data": base64.b64encode(buf.getvalue()).decode()}}
