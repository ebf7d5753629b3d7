"""Evaluation of an IC-LoRA: does it follow the reference it is given?

An IC-LoRA is judged on what it is for. Every sample is rendered from a reference of the dataset, with and without
the LoRA (the base model gets the same reference tokens through the same in-context pipeline, so only the LoRA
differs): held-out pairs first (their own caption and reference, never trained on), then new prompts with a
held-out reference, then a training pair. Three measurements:

- ``holdout_loss``: flow loss on the held-out targets' tokens given their reference (the reference tokens clean and
  outside the loss, as in training);
- ``reference_following``: how much each generation resembles the reference it was conditioned on, with vs without
  the LoRA. The measure is said in ``detail.measure``: ``identity`` (face-embedding cosine, when a face model is
  configured), else ``clip`` (CLIP/SigLIP image-embedding cosine, when a CLIP model is configured), else ``pixel``
  (correlation of small RGB clips, ``tools.evaluate.metrics.features``);
- the usual strength, memorisation and diversity.

Advice speaks of the reference: a LoRA that pastes the reference (its pose, background, framing) is too literal
(lower rank, fewer steps, an earlier checkpoint); one whose generations are no closer to the reference than the
base's ignores it (more steps: reading the reference is a skill an IC-LoRA needs steps to learn).
"""

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from tools.evaluate import metrics as M
from tools.evaluate.models import EvalPrompt, EvalReport, Metric, Suggestion, Verdict
from tools.evaluate.prompts import recipe_prompts, with_trigger
from tools.evaluate.verdict import MEMORISATION_GAIN, MEMORISATION_LEVEL

HOLDOUT_MEANING = ("Flow-matching loss on held-out targets given their reference (reference tokens clean and "
                   "outside the loss, as in training), with vs without the LoRA: lower = it learned to use the "
                   "reference.")
FOLLOWING_MEANING = ("Similarity of each generation to the reference it was conditioned on, with vs without the "
                     "LoRA (same reference, same seed); detail.measure says how: identity (face embeddings), clip "
                     "(CLIP/SigLIP image embeddings) or pixel (correlation of small RGB clips).")
MEASURE_WORDS = {"identity": "face-identity similarity", "clip": "CLIP image similarity",
                 "pixel": "pixel correlation"}


def ic_prompts(data, *, recipe: str | None, trigger: str | None, n_holdout: int = 2, n_new: int = 2,
               n_train: int = 1) -> list[EvalPrompt]:
    """Held-out pairs (caption + own reference), new prompts with held-out references, then training pairs."""
    held = [i for i in data.holdout if i.reference]
    train = [i for i in data.train if i.reference]
    pool = [i.reference for i in held + train]
    out: list[EvalPrompt] = []
    seen: set[tuple[str, str]] = set()

    def add(kind: str, text: str, reference: str) -> bool:
        key = (" ".join(text.split()).lower(), reference)
        if not key[0] or key in seen:
            return False
        seen.add(key)
        out.append(EvalPrompt(kind=kind, text=text, reference=reference))
        return True

    for item in held[:n_holdout]:
        add("holdout", item.caption, item.reference)
    if pool:
        for k, template in enumerate(recipe_prompts(recipe)[:n_new]):
            add("new", with_trigger(template, trigger), pool[k % len(pool)])
    taken = 0
    for item in train:
        if taken >= n_train:
            break
        taken += add("train", item.caption, item.reference)
    return out


# -- similarity to the reference ---------------------------------------------------------------------------------

Similarity = Callable[[np.ndarray, np.ndarray], float]  # (generated (F,H,W,3), reference (F',h,w,3)) uint8 -> score


def pick_measure(clip_model: str | None, face_model: str | None) -> tuple[str, Similarity, str | None]:
    """(name, similarity, note): identity with a face model and insightface installed, else CLIP with a CLIP
    model, else pixel correlation; ``note`` says why a better measure was not used."""
    note = None
    if face_model:
        import importlib.util

        pack = Path(face_model).expanduser()
        if importlib.util.find_spec("insightface") is None:
            note = "a face model is configured but insightface is not installed (pip install insightface onnxruntime)"
        elif not any(pack.glob("*.onnx")):  # insightface would try to download a missing pack: never here
            note = f"the face model folder {pack} holds no .onnx model files"
        else:
            return "identity", _identity_similarity(pack), None
    if clip_model:
        return "clip", _clip_similarity(clip_model), note
    return "pixel", pixel_similarity, note


def pixel_similarity(generated: np.ndarray, reference: np.ndarray) -> float:
    """Correlation of the two clips in the common small space (1 = the same picture up to brightness/contrast)."""
    return M.similarity(M.features(generated), M.features(reference))


def _frames(clip: np.ndarray, n: int = 4) -> list[np.ndarray]:
    idx = np.unique(np.linspace(0, len(clip) - 1, num=min(n, len(clip))).round().astype(int))
    return [clip[i] for i in idx]


def _clip_similarity(model_path: str) -> Similarity:
    """Cosine of mean image embeddings (4 frames each) from a local CLIP or SigLIP model (never downloaded)."""
    import torch
    import torch.nn.functional as F
    from PIL import Image
    from transformers import AutoImageProcessor, AutoModel

    model = AutoModel.from_pretrained(model_path, local_files_only=True).eval()
    processor = AutoImageProcessor.from_pretrained(model_path, local_files_only=True)

    @torch.no_grad()
    def embed(clip: np.ndarray) -> torch.Tensor:
        inputs = processor(images=[Image.fromarray(f) for f in _frames(clip)], return_tensors="pt")
        out = model.get_image_features(pixel_values=inputs["pixel_values"])
        feats = out if isinstance(out, torch.Tensor) else out.pooler_output  # (n, D)
        return F.normalize(F.normalize(feats, dim=-1).mean(0), dim=0)

    return lambda generated, reference: float(torch.dot(embed(generated), embed(reference)))


def _identity_similarity(pack: Path) -> Similarity:
    """Cosine of insightface face embeddings (the largest face of 4 frames, averaged); NaN when a clip shows no face.

    ``pack`` is a local insightface model pack folder (``<root>/models/<name>``, e.g. buffalo_l)."""
    from insightface.app import FaceAnalysis

    app = FaceAnalysis(name=pack.name, root=str(pack.parent.parent), providers=["CPUExecutionProvider"])
    app.prepare(ctx_id=-1)

    def embed(clip: np.ndarray) -> np.ndarray | None:
        vecs = []
        for frame in _frames(clip):
            faces = app.get(np.ascontiguousarray(frame[:, :, ::-1]))  # insightface takes BGR
            if faces:
                big = max(faces, key=lambda f: (f.bbox[2] - f.bbox[0]) * (f.bbox[3] - f.bbox[1]))
                vecs.append(big.normed_embedding)
        if not vecs:
            return None
        v = np.mean(vecs, axis=0)
        return v / max(np.linalg.norm(v), 1e-8)

    def similarity(generated: np.ndarray, reference: np.ndarray) -> float:
        a, b = embed(generated), embed(reference)
        return float("nan") if a is None or b is None else float(np.dot(a, b))

    return similarity


def following_metric(pairs: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], *, clip_model: str | None,
                     face_model: str | None) -> tuple[Metric, list[tuple[float, float]]]:
    """``reference_following`` over (reference, base, lora) frames; also the per-sample (lora, base) scores."""
    if not pairs:
        return Metric(name="reference_following", meaning=FOLLOWING_MEANING,
                      skipped="no sample was rendered from a reference"), []
    name, sim, note = pick_measure(clip_model, face_model)
    scores = [(sim(lora, ref), sim(base, ref)) for ref, base, lora in pairs]
    lora_v = M.mean_finite([s[0] for s in scores])
    base_v = M.mean_finite([s[1] for s in scores])
    detail = {"measure": name, "measure_words": MEASURE_WORDS[name], "per_sample": [s[0] for s in scores],
              "gain": lora_v - base_v if M.finite(lora_v) and M.finite(base_v) else None}
    if note:
        detail["note"] = note
    return Metric(name="reference_following", meaning=FOLLOWING_MEANING, value=lora_v, base=base_v,
                  detail=detail, skipped=None if M.finite(lora_v) else "no face found in the generations"), scores


# -- verdict and advice ------------------------------------------------------------------------------------------

def judge_reference(report: EvalReport, verdict: Verdict) -> Verdict:
    """The verdict, reworded for an IC-LoRA: copying the reference is over-fitting (too literal); a LoRA that is
    weak or no closer to the reference than the base ignores it."""
    if verdict.status == "broken":
        return verdict
    m = report.metrics.get("reference_following")
    if m is None or m.skipped or not M.finite(m.value) or not M.finite(m.base):
        return verdict
    gain, words = m.value - m.base, m.detail.get("measure_words", "similarity")
    if gain >= MEMORISATION_GAIN and m.value >= MEMORISATION_LEVEL:
        evidence = (f"reference_following: generations reach {m.value:.2f} {words} with their reference (base "
                    f"{m.base:.2f}): the LoRA pastes the reference (pose, background, framing) rather than "
                    "carrying the identity into the new scene")
        status = "over-fit"
        return Verdict(status=status, evidence=[evidence, *verdict.evidence] if verdict.status == status
                       else [evidence], suggestions=literal_advice(report))
    if verdict.status == "weak" or gain <= 0:
        evidence = (f"reference_following: generations with the LoRA reach {m.value:.2f} {words} with their "
                    f"reference, the base {m.base:.2f}: the LoRA " + ("barely follows" if gain > 0 else "ignores")
                    + " the reference")
        more = ignored_advice(report)
        rest = [s for s in verdict.suggestions if s.retrain_with != more.retrain_with]
        return Verdict(status=verdict.status, evidence=[*verdict.evidence, evidence], suggestions=[more, *rest])
    return verdict


def literal_advice(report: EvalReport) -> list[Suggestion]:
    confirm = "reference_following closer to the base's while holdout_loss stays below the base's"
    out = []
    pick = report.best_checkpoint
    if pick is not None and pick != report.steps:
        out.append(Suggestion(action=f"Use the checkpoint at step {pick}: it copies the reference less.",
                              why="earlier checkpoints have seen the pairs fewer times", checkpoint=pick,
                              confirm=confirm))
    if (report.rank or 0) > 16:
        out.append(Suggestion(action="Retrain at rank 16: less capacity to copy the reference's pose and background.",
                              why="the LoRA reproduces the reference too literally", retrain_with={"rank": "16"},
                              confirm=confirm))
    out.append(Suggestion(action="Retrain with 30% fewer steps.", why="the LoRA reproduces the reference too literally",
                          retrain_with={"steps": "-30%"}, confirm=confirm))
    return out


def ignored_advice(report: EvalReport) -> Suggestion:
    return Suggestion(action="Retrain with 20% more steps: reading the reference is a skill an IC-LoRA needs more "
                             "steps to learn than a plain LoRA.",
                      why="generations are barely closer to their reference with the LoRA than without",
                      retrain_with={"steps": "+20%"},
                      confirm="reference_following above the base's and holdout_loss improvement above 10%")
