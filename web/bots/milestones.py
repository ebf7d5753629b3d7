"""From the stream of a thread's frames (agent events and job events) to the few messages worth posting in chat.

A browser tab draws every delta and every loss point; a Slack or Discord thread gets one message per turn of the
sidekick's reply, approval requests (with buttons), and per job: started, 25 / 50 / 75 / 100 %, finished (with the
LoRA and its trigger word), failed or cancelled, plus the evaluation summary. Pure: the platform posts what this
returns, and job facts come from ``job_info`` (injected, so tests need no database).
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tools.plan.estimate import human_duration

TERMINAL = {"finished", "failed", "cancelled"}
QUARTERS = (25, 50, 75, 100)
EVAL_TOOLS = {"evaluate"}


@dataclass
class JobInfo:
    """What a finished message needs from the job's record."""

    kind: str
    lora_path: Path | None = None
    trigger_word: str | None = None
    final_loss: float | None = None
    steps: int | None = None
    summary: str | None = None  # what a non-training job (an evaluation) concluded


@dataclass
class Post:
    kind: Literal["text", "approval", "job", "finished", "error"]
    text: str
    approval_id: str | None = None
    requester: str | None = None  # who may answer the approval (platform user id)
    file: Path | None = None  # the finished LoRA, when there is one to attach
    job_id: str | None = None


class Milestones:
    """Stateful per thread: it buffers the reply's text deltas and remembers which quarters each job has posted."""

    def __init__(self, job_info: Callable[[str], JobInfo | None] = lambda job_id: None):
        self.job_info = job_info
        self._text: list[str] = []
        self._evals: list[str] = []
        self._quarter: dict[str, int] = {}

    def feed(self, frame: dict[str, Any]) -> list[Post]:
        if frame.get("replay"):  # history replayed on attach was posted when it happened
            return []
        kind = frame.get("type")
        if kind == "text":
            if frame.get("role", "assistant") == "assistant":
                self._text.append(str(frame.get("text") or ""))
            return []
        if kind == "tool_end" and frame.get("tool") in EVAL_TOOLS and frame.get("ok", True):
            summary = _eval_summary(frame.get("result"))
            if summary:
                self._evals.append(summary)
            return []
        if kind == "approval_request":
            return [*self.flush(), Post("approval", str(frame.get("summary") or "Approve this step?"),
                                        approval_id=str(frame.get("id")), requester=frame.get("by"))]
        if kind == "error":
            return [*self.flush(), Post("error", str(frame.get("message") or "Something went wrong."))]
        if kind == "turn_end":
            return self.flush()
        if kind == "job_event":
            return self._job(frame.get("event") or {})
        return []

    def flush(self) -> list[Post]:
        """The reply so far as one message, then any evaluation summary the reply did not already say."""
        text = "".join(self._text).strip()
        posts = [Post("text", text)] if text else []
        posts += [Post("text", f"Evaluation: {s}") for s in self._evals if s not in text]
        self._text, self._evals = [], []
        return posts

    def _job(self, event: dict[str, Any]) -> list[Post]:
        job_id, kind, etype = str(event.get("job_id") or ""), event.get("kind") or "train", event.get("type")
        what = "Training" if kind == "train" else f"The {kind} job"
        if etype == "started":
            total = f" ({event['total']} steps)" if event.get("total") else ""
            return [Post("job", f"{what} started: job {job_id}{total}.", job_id=job_id)]
        if etype == "progress":
            return self._progress(job_id, what, event)
        if etype == "finished":
            return [self._finished(job_id, kind, event)]
        if etype == "failed":
            why = f": {event['message']}" if event.get("message") else ""
            return [Post("job", f"{what} failed (job {job_id}){why}", job_id=job_id)]
        if etype == "cancelled":
            return [Post("job", f"{what} was cancelled (job {job_id}); its checkpoints are kept.", job_id=job_id)]
        return []

    def _progress(self, job_id: str, what: str, event: dict[str, Any]) -> list[Post]:
        step, total = event.get("step"), event.get("total")
        if not step or not total:
            return []
        crossed = [q for q in QUARTERS if step * 100 >= q * total]
        if not crossed or crossed[-1] <= self._quarter.get(job_id, 0):
            return []
        self._quarter[job_id] = crossed[-1]  # jumping 0 -> 75 posts 75 only: milestones, not a log
        parts = [f"{what} {crossed[-1]}%: step {step} of {total}"]
        if event.get("loss") is not None:
            parts.append(f"loss {float(event['loss']):.4f}")
        if event.get("eta_s") and crossed[-1] < 100:
            parts.append(f"about {human_duration(float(event['eta_s']))} left")
        return [Post("job", ", ".join(parts) + f" (job {job_id}).", job_id=job_id)]

    def _finished(self, job_id: str, kind: str, event: dict[str, Any]) -> Post:
        info = self.job_info(job_id) or JobInfo(kind=kind)
        if kind == "evaluate" and info.summary:
            return Post("job", f"Evaluation (job {job_id}): {info.summary}", job_id=job_id)
        if kind != "train":
            message = f" {event['message']}" if event.get("message") else ""
            return Post("job", f"The {kind} job {job_id} finished.{message}", job_id=job_id)
        lines = [f"Finished: job {job_id}" + (f" after {info.steps} steps" if info.steps else "")
                 + (f", final loss {info.final_loss:.4f}" if info.final_loss is not None else "") + "."]
        if info.trigger_word:
            lines.append(f"Trigger word: `{info.trigger_word}` (put it in your prompts to call the LoRA).")
        has_file = info.lora_path is not None and Path(info.lora_path).is_file()
        lines.append("The LoRA is attached." if has_file else
                     f"Download it from the loraport panel (Studio, job {job_id}).")
        if str(event.get("message") or "done") != "done":  # an IC-LoRA: how to use it with a reference
            lines.append(str(event["message"]).removeprefix("done. "))
        lines.append("Say 'evaluate' to measure it against the base model.")
        return Post("finished", "\n".join(lines), file=Path(info.lora_path) if has_file else None, job_id=job_id)


def _eval_summary(result: Any) -> str | None:
    if not isinstance(result, dict):
        return None
    for key in ("summary", "verdict"):
        value = result.get(key)
        if isinstance(value, dict):
            value = value.get("summary") or value.get("text") or value.get("status")
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None
