"""Captioning: one ``Captioner`` interface, backends vlm | claude | sidecar | template, preview, jobs, edits."""

from tools.caption.base import CaptionItem, Captioner
from tools.caption.jobs import enqueue_caption_job, run_caption_job
from tools.caption.service import (CaptionPreview, CaptionResult, CaptionRun, caption_all, caption_preview,
                                   get_captioner, set_caption)

__all__ = ["CaptionItem", "CaptionPreview", "CaptionResult", "CaptionRun", "Captioner", "caption_all",
           "caption_preview", "enqueue_caption_job", "get_captioner", "run_caption_job", "set_caption"]
