"""The ``template`` backend: a caption from what is known without a model (kind, length, size, audio).

It never looks at pixels, so it cannot describe what varies between clips: its captions are marked
``quality: "low"`` wherever they show, and the preview says so. It exists so a user without a vision model or an
API key can still train (the trigger word then carries the whole concept) and edit captions by hand.
"""

from PIL import Image

from tools.caption.base import CaptionItem, Captioner


class TemplateCaptioner(Captioner):
    name = "template"
    quality = "low"
    sound = "silent-blind"  # "with sound" says a track exists, never what is in it

    def caption(self, frames: list[Image.Image], *, guidance: str) -> str:
        if not frames:
            return "a video clip"
        w, h = frames[0].size
        return f"a {_shape(w, h)} {'image' if len(frames) == 1 else 'video clip'}"

    def caption_item(self, item: CaptionItem, *, guidance: str) -> str:
        e = item.entry
        parts = [f"a {_shape(e.width, e.height)}" if e.width and e.height else "a"]
        if e.kind == "image":
            parts.append("image")
        else:
            parts.append(f"{e.duration_s:.1f} second video clip" if e.duration_s else "video clip")
            if e.has_audio:
                parts.append("with sound")
        return " ".join(parts)


def _shape(width: int, height: int) -> str:
    if width > height * 1.1:
        return "landscape"
    if height > width * 1.1:
        return "portrait"
    return "square"
