"""Captioning: one ``Captioner`` interface, backends vlm | claude | sidecar | template, preview, jobs, edits."""

from tools.caption.base import CaptionItem, Captioner
from tools.caption.jobs import enqueue_caption_job, register_caption_job, run_caption_job
from tools.caption.service import (CaptionPreview, CaptionResult, CaptionRun, caption_all, caption_preview,
                                   get_captioner, set_caption)

# Read by tools.train.launch.register_job_kinds (what `loraport worker` and `serve` call at start-up).
JOB_KINDS = {"caption": run_caption_job}

__all__ = ["JOB_KINDS", "CaptionItem", "CaptionPreview", "CaptionResult", "CaptionRun", "Captioner", "caption_all",
           "caption_preview", "enqueue_caption_job", "get_captioner", "register_caption_job", "set_caption"]
