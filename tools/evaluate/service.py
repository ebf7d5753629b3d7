"""evaluate(): render the sample set with and without the LoRA, measure, judge, and write the report.

Order: resolve what is evaluated -> weight health (cheap, and a broken file skips the renders) -> held-out and
training-clip flow loss with vs without the LoRA -> the run's own curves (report.json) -> samples through the
trainer's sampler (LTX2Pipeline, the pipeline users generate with) -> kept checkpoints -> optional models ->
verdict -> report.json + HTML.
"""

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from core.workspace import Workspace
from tools.evaluate import audio as AU
from tools.evaluate import metrics as M
from tools.evaluate import reference as IC
from tools.evaluate.models import EvalPrompt, EvalReport, Metric, SamplePair, Suggestion, Verdict
from tools.evaluate.prompts import pick_prompts
from tools.evaluate.source import Source, resolve
from tools.evaluate.training import heldout_trend, training_loss

if TYPE_CHECKING:
    from tools.inspect.safetensors_header import Header

MEANINGS = {
    "weight_health": ("NaN, Inf or all-zero layers in the file (from the inspector): broken weights "
                      "do nothing or render black."),
    "holdout_loss": ("Flow-matching loss on clips the LoRA never trained on, with vs without it: "
                     "lower = it learned something that carries over."),
    "train_fit": ("The same loss on training clips; fit_gap = how much more it improves there than on "
                  "held-out clips: above 20% means the LoRA fits its clips more than the concept."),
    "heldout_trend": ("Rise of held-out loss from its best checkpoint to the end while training loss "
                      "fell: above 5% = over-fitting."),
    "training_loss": "The training loss curve: NaN or a late rise means training diverged.",
    "strength": ("How far the LoRA moves a generation from the base model's at the same seed (share "
                 "of the pixel range)."),
    "memorisation": ("Correlation of new- and held-out-prompt generations with the nearest training "
                     "clip, vs the base model's: near 1 = it copies clips."),
    "diversity": ("How different generations are across prompts and seeds (1 - mean correlation): "
                  "near 0 = everything looks the same."),
    "prompt_adherence": ("Image-text similarity of each generation to its prompt (CLIP/SigLIP), with "
                         "vs without the LoRA."),
    "identity_similarity": ("Face-embedding similarity of generated faces to the training faces (Face"
                            " recipe)."),
    "reference_following": IC.FOLLOWING_MEANING,
}
MAX_REFERENCES = 8  # training clips decoded for memorisation: enough to find the nearest, cheap on a big set
TRAIN_FIT_ITEMS = 4  # training clips scored for train_fit


def evaluate(lora_or_job: str | Path, dataset: str | Path | None = None, *, checkpoints: bool = True,
             out_dir: Path | None = None, seeds: Sequence[int] = (42,), sample_steps: int | None = None,
             n_new: int = 2, clip_model: str | None = None, old_lora: str | Path | None = None,
             on_progress: Callable[[str], None] | None = None, model: str | None = None,
             old_model: str | None = None, workspace: Workspace | None = None,
             header: "Header | None" = None) -> EvalReport:
    """Evaluate a trained LoRA: held-out loss, strength, memorisation, and a verdict with its evidence.

    ``model`` evaluates it on another base than its own (tools.evaluate.asis); ``old_model`` is the base the
    ``old_lora`` is rendered on for the old-on-old comparison. ``header``: the safetensors header of the LoRA file
    ``lora_or_job`` names, when the caller has read it (tools.evaluate.asis): the file's header is not read again."""
    from tools.evaluate.checkpoints import recommend, score_checkpoints
    from tools.evaluate.compare import compare_old, old_model_for
    from tools.evaluate.report import summary, write_report
    from tools.evaluate.verdict import decide
    from trainer.data import prepare_dataset
    from trainer.models import load_components

    note = on_progress or (lambda message: None)
    workspace = workspace or Workspace.from_settings()
    src = resolve(lora_or_job, dataset, model, workspace=workspace, header=header)
    cfg = src.config
    out = Path(out_dir) if out_dir else _default_out(src, workspace)
    out.mkdir(parents=True, exist_ok=True)
    report = _blank_report(src, out)
    report.metrics["weight_health"] = _health(src.lora_path, header)
    broken = report.metrics["weight_health"].value == "broken"

    note("preparing the dataset")
    components = load_components(cfg.model, device=_device())
    data = prepare_dataset(cfg, components, workspace.cache_dir(cfg.model.id))
    if data.errors:
        report.warnings.append(f"{len(data.errors)} file(s) of the dataset could not be used: "
                               + "; ".join(f"{e.media}: {e.message}" for e in data.errors[:3]))
    note("measuring held-out loss")
    report.metrics["holdout_loss"] = _loss_metric("holdout_loss", components, data.holdout, src.lora_path,
                                                  "the dataset has no held-out clip (set holdout_fraction > 0 or "
                                                  "mark a clip split=holdout)")
    report.metrics["train_fit"] = _loss_metric("train_fit", components, data.train[:TRAIN_FIT_ITEMS], src.lora_path,
                                               "the dataset has no training clip")
    _fit_gap(report)
    report.metrics["holdout_audio_loss"] = AU.audio_loss_metric(report)
    _training_metrics(report, src)

    ic = cfg.strategy.name == "ic-lora"  # judged on following the reference: tools.evaluate.reference
    if ic:
        report.metrics["holdout_loss"].meaning = IC.HOLDOUT_MEANING
        prompts = IC.ic_prompts(data, recipe=cfg.recipe, trigger=cfg.data.trigger_word, n_new=n_new)
    else:
        prompts = pick_prompts([i.caption for i in data.train], [i.caption for i in data.holdout],
                               recipe=cfg.recipe, trigger=cfg.data.trigger_word, n_new=n_new)
    report.prompts = prompts
    sampler = _Sampler(components, cfg, out / "samples", seeds, sample_steps, _references(cfg, data) if ic else {})
    report.render_size = {**sampler.size, "steps": sampler.steps}
    clips: list = []
    if broken:
        for name in ("strength", "memorisation", "diversity"):
            report.metrics[name] = Metric(name=name, meaning=MEANINGS[name], skipped="the weights are broken: "
                                          "generations would show NaN, not the LoRA")
    else:
        note(f"rendering {len(prompts) * len(seeds) * 2} samples")
        refs = [M.features(M.decode_latents(components, it.latents)) for it in data.train[:MAX_REFERENCES]]
        clips = _sample_metrics(report, sampler, prompts, src.lora_path, refs)
        report.metrics["audio_strength"] = AU.audio_strength_metric(report.samples, cfg.data.audio != "off")
        if checkpoints and src.run_dir is not None:
            note("scoring the kept checkpoints")
            base = report.metrics["holdout_loss"].base
            report.checkpoints = score_checkpoints(
                components, cfg, src.run_dir, out / "checkpoints", holdout_items=data.holdout, base_loss=base,
                final_step=src.steps, memorisation=lambda f: _memorisation_gain(sampler, prompts, f, refs))
            report.best_checkpoint = recommend(report.checkpoints)
    report.metrics["prompt_adherence"] = _adherence(clips, clip_model)
    report.metrics["identity_similarity"] = _identity(cfg.recipe, ic)
    if ic:
        _reference_following(report, sampler, clip_model)

    report.verdict = AU.judge_audio(report, decide(report, long_run_steps=_long_run(cfg.recipe)))
    if ic:
        report.verdict = IC.judge_reference(report, report.verdict)
    report.verdict.suggestions += _recipe_advice(cfg.recipe, report.verdict)
    report.comparison = compare_old(old_lora, report, components_dir=out / "compare",
                                    old_model=old_model or old_model_for(old_lora, cfg.model.id))
    report.summary = summary(report)
    write_report(report)
    note("done")
    return report


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _default_out(src: Source, workspace: Workspace) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    if src.run_dir is not None:
        return src.run_dir / "eval" / stamp
    return workspace.runs_dir / "evaluations" / f"{src.lora_path.stem}-{stamp}"


def _blank_report(src: Source, out: Path) -> EvalReport:
    from trainer.models import get_model_spec

    cfg = src.config
    return EvalReport(lora_path=str(src.lora_path), job_id=src.job_id, run_dir=str(src.run_dir) if src.run_dir else None,
                      model_id=cfg.model.id, tiny=get_model_spec(cfg.model.id).tiny, recipe=cfg.recipe,
                      trigger_word=cfg.data.trigger_word, steps=src.steps, rank=cfg.lora.rank,
                      learning_rate=cfg.optim.learning_rate, dataset_dir=str(cfg.data.dataset_dir), out_dir=str(out),
                      verdict=Verdict(status="good", evidence=[]))


def _health(path: Path, header: "Header | None" = None) -> Metric:
    from tools.inspect import inspect_lora

    health = inspect_lora(path, header=header).health
    return Metric(name="weight_health", meaning=MEANINGS["weight_health"], value=health.status,
                  detail=health.model_dump())


def _loss_metric(name: str, components, items: Sequence, lora_path: Path, why_skipped: str) -> Metric:
    from trainer.losses import holdout_losses

    if not items:
        return Metric(name=name, meaning=MEANINGS[name], skipped=why_skipped)
    base_split = holdout_losses(components, items)
    lora_split = holdout_losses(components, items, lora_path)
    base, lora = base_split.total, lora_split.total
    improvement = M.relative_improvement(base, lora) if M.finite(lora) else None
    return Metric(name=name, meaning=MEANINGS[name], value=lora, base=base,
                  detail={"improvement": improvement, "clips": len(items), "audio": lora_split.audio,
                          "audio_base": base_split.audio, "audio_clips": lora_split.audio_items})


def _fit_gap(report: EvalReport) -> None:
    """train_fit.detail.fit_gap: how much more of the base's loss the LoRA removes on its training clips than on
    held-out ones. A LoRA that learned the concept scores both alike; one that memorised its clips does not."""
    train, held = report.metrics["train_fit"], report.metrics["holdout_loss"]
    a, b = train.detail.get("improvement"), held.detail.get("improvement")
    if M.finite(a) and M.finite(b):
        train.detail["fit_gap"] = a - b


def _training_metrics(report: EvalReport, src: Source) -> None:
    rep = src.train_report or {}
    report.train_losses = [(int(s), float(v)) for s, v in rep.get("losses") or []]
    report.holdout_curve = [(int(s), float(v)) for s, v in rep.get("holdout_curve") or []]
    why = "no training record (report.json) for this file" if not rep else None
    report.metrics["training_loss"] = training_loss(report.train_losses, MEANINGS["training_loss"], why)
    report.metrics["heldout_trend"] = heldout_trend(report.holdout_curve, report.train_losses,
                                                    MEANINGS["heldout_trend"], why)


class _Sampler:
    """Renders through trainer.sample.generate at the run's first video bucket; base renders are cached."""

    def __init__(self, components, cfg, out_dir: Path, seeds: Sequence[int], steps: int | None,
                 references: dict | None = None):
        spec = components.spec
        self.references = references or {}  # IC-LoRA: dataset label -> trainer.reference.Reference
        self.ic_pairs: list[tuple] = []  # IC-LoRA: (reference, base, LoRA) frames per sample
        bucket = next((b for b in cfg.data.buckets if b.frames > 1), cfg.data.buckets[0])
        self.components, self.out_dir, self.seeds = components, out_dir, list(seeds)
        self.size = dict(width=bucket.width, height=bucket.height, frames=bucket.frames)
        self.steps = steps or (2 if spec.tiny else 30)
        self.fps = 24.0
        self.guidance = cfg.validation.guidance  # the run's own sampling (ltx-pipelines' defaults unless changed)
        self._base: dict = {}

    def render(self, index: int, prompt: str, seed: int, lora_path: Path | None, tag: str,
               reference: str | None = None):
        from trainer.sample import generate

        if lora_path is None and (prompt, seed, reference) in self._base:
            return self._base[(prompt, seed, reference)]
        res = generate(self.components, prompt, lora_path=lora_path, seed=seed, steps=self.steps,
                       out_dir=self.out_dir, name=f"p{index}-s{seed}-{tag}", fps=self.fps, **self.size,
                       reference=self.references.get(reference) if reference else None, guidance=self.guidance)
        if lora_path is None:
            self._base[(prompt, seed, reference)] = res
        return res


def _sample_metrics(report: EvalReport, sampler: _Sampler, prompts: list[EvalPrompt], lora_path: Path,
                    refs: list) -> list[tuple]:
    """Render every prompt x seed with and without the LoRA; returns [(prompt, base frames, LoRA frames)]."""
    clips = []
    lora_feats, base_feats, mem_lora, mem_base = [], [], [], []
    for i, p in enumerate(prompts):
        for seed in sampler.seeds:
            base = sampler.render(i, p.text, seed, None, "base", p.reference)
            lora = sampler.render(i, p.text, seed, lora_path, "lora", p.reference)
            clips.append((p.text, base.frames, lora.frames))
            if lora.reference_frames is not None:
                sampler.ic_pairs.append((lora.reference_frames, base.frames, lora.frames))
            fb, fl = M.features(base.frames), M.features(lora.frames)
            lora_feats.append(fl)
            base_feats.append(fb)
            near_l, near_b = M.nearest_similarity(fl, refs), M.nearest_similarity(fb, refs)
            if p.kind != "train":
                mem_lora.append(near_l)
                mem_base.append(near_b)
            report.samples.append(SamplePair(
                prompt=p.text, kind=p.kind, seed=seed, base_mp4=str(base.mp4_path), base_sheet=str(base.sheet_path),
                lora_mp4=str(lora.mp4_path), lora_sheet=str(lora.sheet_path),
                strength=M.strength(lora.frames, base.frames), nearest_train_lora=_num(near_l),
                audio_strength=AU.audio_strength(lora.audio, base.audio, lora.sample_rate),
                nearest_train_base=_num(near_b), reference=lora.reference,
                base_beside_mp4=_str(base.beside_mp4), lora_beside_mp4=_str(lora.beside_mp4)))
    strengths = [s.strength for s in report.samples]
    report.metrics["strength"] = Metric(name="strength", meaning=MEANINGS["strength"], value=M.mean_finite(strengths),
                                        detail={"per_sample": strengths})
    if mem_lora and refs:
        report.metrics["memorisation"] = Metric(name="memorisation", meaning=MEANINGS["memorisation"],
                                                value=M.mean_finite(mem_lora), base=M.mean_finite(mem_base),
                                                detail={"gain": M.mean_finite(mem_lora) - M.mean_finite(mem_base)})
    else:
        report.metrics["memorisation"] = Metric(name="memorisation", meaning=MEANINGS["memorisation"],
                                                skipped="no new or held-out prompt, or no training clip to compare")
    div_l, div_b = M.diversity(lora_feats), M.diversity(base_feats)
    report.metrics["diversity"] = Metric(name="diversity", meaning=MEANINGS["diversity"], value=div_l, base=div_b,
                                         skipped=None if div_l is not None else "needs two or more generations")
    return clips


def _memorisation_gain(sampler: _Sampler, prompts: list[EvalPrompt], lora_file: Path, refs: list) -> float | None:
    """Memorisation gain of one checkpoint: its first two new prompts at the first seed, vs the base's."""
    chosen = [(i, p) for i, p in enumerate(prompts) if p.kind == "new"][:2]
    if not chosen or not refs:
        return None
    seed, gains = sampler.seeds[0], []
    for i, p in chosen:
        base = sampler.render(i, p.text, seed, None, "base", p.reference)
        ck = sampler.render(i, p.text, seed, lora_file, lora_file.stem, p.reference)
        gains.append(M.nearest_similarity(M.features(ck.frames), refs) - M.nearest_similarity(M.features(base.frames), refs))
    return M.mean_finite(gains)


def _adherence(clips: list[tuple], clip_model: str | None) -> Metric:
    from core.settings import get_settings

    path = clip_model or get_settings().clip_model
    meaning = MEANINGS["prompt_adherence"]
    if not path:
        return Metric(name="prompt_adherence", meaning=meaning, skipped="no CLIP/SigLIP model configured "
                      "(pass clip_model=<local folder> or set LORAPORT_CLIP_MODEL)")
    if not clips:
        return Metric(name="prompt_adherence", meaning=meaning, skipped="no samples were rendered")
    prompts = [c[0] for c in clips]
    base = M.clip_adherence(path, prompts, [c[1] for c in clips])
    lora = M.clip_adherence(path, prompts, [c[2] for c in clips])
    return Metric(name="prompt_adherence", meaning=meaning, value=M.mean_finite(lora), base=M.mean_finite(base),
                  detail={"model": str(path), "per_sample": lora})


def _identity(recipe: str | None, ic: bool = False) -> Metric:
    import importlib.util

    meaning = MEANINGS["identity_similarity"]
    if ic:
        return Metric(name="identity_similarity", meaning=meaning, skipped="an IC-LoRA is measured against each "
                      "sample's own reference: see reference_following")
    if recipe != "face":
        return Metric(name="identity_similarity", meaning=meaning, skipped="only measured for the Face recipe")
    if importlib.util.find_spec("insightface") is None:
        return Metric(name="identity_similarity", meaning=meaning, skipped="no face-embedding model installed "
                      "(optional extra: insightface)")
    return Metric(name="identity_similarity", meaning=meaning, skipped="insightface is installed but no face "
                  "model folder is configured")


def _references(cfg, data) -> dict:
    """IC-LoRA: the dataset's references by their dataset-relative name (held-out pairs first)."""
    from trainer.reference import validation_references

    return {r.label: r for r in validation_references(cfg, data)}


def _reference_following(report: EvalReport, sampler: _Sampler, clip_model: str | None) -> None:
    """reference_following over the samples rendered from a reference; per-sample scores onto the sample pairs."""
    from core.settings import get_settings

    settings = get_settings()
    metric, scores = IC.following_metric(sampler.ic_pairs, clip_model=clip_model or settings.clip_model,
                                         face_model=str(settings.face_model) if settings.face_model else None)
    report.metrics["reference_following"] = metric
    for sample, (lora, base) in zip([s for s in report.samples if s.reference], scores, strict=False):
        sample.reference_lora, sample.reference_base = _num(lora), _num(base)


def _long_run(recipe: str | None) -> int | None:
    """The recipe's own maximum step count: a run that reached it is 'already long'."""
    if not recipe:
        return None
    from core.errors import LoraportError
    from tools.recipes import load_recipe

    try:
        return load_recipe(recipe).steps.max
    except LoraportError:
        return None


def _recipe_advice(recipe: str | None, verdict: Verdict) -> list[Suggestion]:
    """The recipe's own advice for a weak or over-fit result, as further (unlaunched) suggestions."""
    if not recipe or verdict.status not in ("weak", "over-fit"):
        return []
    from core.errors import LoraportError
    from tools.recipes import load_recipe

    try:
        advice = load_recipe(recipe).advice
    except LoraportError:
        return []
    lines = advice.weak if verdict.status == "weak" else advice.overfit
    confirm = ("holdout_loss improvement and strength rise" if verdict.status == "weak"
               else "memorisation and heldout_trend fall")
    return [Suggestion(action=line, why=f"the {recipe} recipe's advice for a {verdict.status} LoRA", confirm=confirm)
            for line in lines]


def _str(path) -> str | None:
    return None if path is None else str(path)


def _num(x: float) -> float | None:
    return x if M.finite(x) else None
