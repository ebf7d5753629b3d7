"""The ``sidecar`` backend: the captions the user brought (``clip.txt`` or a captions table), already imported.

Import read them into the dataset (``caption_source = "sidecar"``); this backend returns them so that a caption job
can approve them all in one step, and refuses clearly when a file has none.
"""

from PIL import Image

from core.errors import LoraportError

from tools.caption.base import CaptionItem, Captioner


class SidecarCaptioner(Captioner):
    name = "sidecar"
    sound = "as-written"

    def caption(self, frames: list[Image.Image], *, guidance: str) -> str:
        raise LoraportError("the sidecar backend reads existing captions; it cannot describe frames.")

    def caption_item(self, item: CaptionItem, *, guidance: str) -> str:
        if item.entry.caption_source != "sidecar" or not item.entry.caption:
            raise LoraportError(
                f"{item.entry.name} has no caption file: add {item.path.with_suffix('.txt').name} beside it and "
                "import again, or use --backend vlm, claude or template."
            )
        return item.entry.caption
