"""The typed shapes of an evaluation: prompts, samples, metrics, checkpoints, verdict and suggestions."""

from typing import Any, Literal

from pydantic import BaseModel, Field

Status = Literal["weak", "good", "over-fit", "broken"]


class EvalPrompt(BaseModel):
    kind: Literal["train", "new", "holdout"] = Field(description="train = a training caption (in-distribution); "
                                                     "new = a recipe prompt with the trigger; holdout = a held-out caption.")
    text: str
    reference: str | None = Field(None, description="IC-LoRA: the dataset reference (relative path) it is rendered "
                                  "from, with and without the LoRA.")


class SamplePair(BaseModel):
    """One prompt at one seed, rendered by the base model and by the base + LoRA."""

    prompt: str
    kind: str
    seed: int
    base_mp4: str
    base_sheet: str
    lora_mp4: str
    lora_sheet: str
    strength: float = Field(description="Mean absolute pixel difference LoRA vs base, 0..1.")
    nearest_train_lora: float | None = Field(None, description="Correlation with the nearest training clip (LoRA).")
    nearest_train_base: float | None = Field(None, description="The same for the base model's generation.")
    reference: str | None = Field(None, description="IC-LoRA: the reference both clips were rendered from.")
    base_beside_mp4: str | None = Field(None, description="IC-LoRA: the reference beside the base's clip.")
    lora_beside_mp4: str | None = Field(None, description="IC-LoRA: the reference beside the LoRA's clip.")
    reference_lora: float | None = Field(None, description="IC-LoRA: similarity of the LoRA's clip to the reference.")
    reference_base: float | None = Field(None, description="IC-LoRA: the same for the base's clip.")
    audio_strength: float | None = Field(None, description="How far the LoRA moves the generated sound from the "
                                         "base's, a share of the log-mel range (None: no sound track).")


class Metric(BaseModel):
    name: str
    meaning: str = Field(description="One line: what the number says.")
    value: float | str | None = None
    base: float | None = Field(None, description="The base model's value where one exists.")
    detail: dict[str, Any] = Field(default_factory=dict)
    skipped: str | None = Field(None, description="Why it was not measured (None = measured).")


class CheckpointScore(BaseModel):
    step: int
    path: str
    holdout_loss: float | None = None
    improvement: float | None = Field(None, description="Share of the base model's held-out loss removed.")
    memorisation: float | None = Field(None, description="Nearest-training-clip correlation gain over base.")
    final: bool = False
    recommended: bool = False


class Suggestion(BaseModel):
    action: str = Field(description="What to do, in plain English.")
    why: str = Field(description="The measurement that points to it.")
    confirm: str = Field(description="The metric that would confirm it worked, and in which direction.")
    retrain_with: dict[str, str] | None = Field(None, description="Overrides for tools.train.retrain.retrain_with / "
                                                "tools.plan.service (e.g. {'steps': '+20%'}); None = no new run needed.")
    checkpoint: int | None = Field(None, description="A kept checkpoint step to export instead of retraining.")


class Verdict(BaseModel):
    status: Status
    evidence: list[str]
    suggestions: list[Suggestion] = Field(default_factory=list)


class Comparison(BaseModel):
    """Old LoRA on its old model vs the evaluated LoRA on the new one, same prompts and seeds (optional)."""

    done: bool = False
    old_model: str | None = Field(None, description="The model the old LoRA was rendered on (ltx-2, ltx-2.3, ...).")
    skipped: str | None = None
    pairs: list[dict[str, str]] = Field(default_factory=list)


class EvalReport(BaseModel):
    lora_path: str
    job_id: str | None = None
    run_dir: str | None = None
    model_id: str
    tiny: bool = Field(False, description="The tiny demo model: its samples are noise.")
    recipe: str | None = None
    trigger_word: str | None = None
    steps: int | None = Field(None, description="Steps the run trained (shown, never used for the verdict).")
    rank: int | None = None
    learning_rate: float | None = None
    dataset_dir: str | None = None
    out_dir: str
    prompts: list[EvalPrompt] = Field(default_factory=list)
    samples: list[SamplePair] = Field(default_factory=list)
    metrics: dict[str, Metric] = Field(default_factory=dict)
    checkpoints: list[CheckpointScore] = Field(default_factory=list)
    best_checkpoint: int | None = None
    train_losses: list[tuple[int, float]] = Field(default_factory=list)
    holdout_curve: list[tuple[int, float]] = Field(default_factory=list)
    verdict: Verdict
    comparison: Comparison = Field(default_factory=Comparison)
    render_size: dict[str, int] = Field(default_factory=dict, description="width, height, frames and steps "
                                        "the samples were rendered with.")
    report_json: str | None = None
    report_html: str | None = None
    summary: str = ""
    warnings: list[str] = Field(default_factory=list)

    def value(self, name: str) -> Any:
        """A metric's value, or None when it was skipped or not measured."""
        m = self.metrics.get(name)
        return None if m is None or m.skipped else m.value
