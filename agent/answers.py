"""Tools that answer the follow-up questions people ask: will it fit on my card, where is my file and how do I use
it in ComfyUI, and how does this run compare with the earlier ones. They read; none of them changes anything.
"""

import json
from pathlib import Path
from typing import Any

from agent.ltx25 import thread_target
from agent.state import latest_job
from agent.toolkit import ToolContext
from core.errors import LoraportError
from core.store import open_db
from trainer.models import is_tiny


def check_hardware(ctx: ToolContext, question: str | None = None) -> dict[str, Any]:
    """Say whether training fits on a GPU the user names ("my 4090", "24 GB") or on this machine, and with what."""
    from tools.plan.gpus import gpu_from_text
    from tools.plan.hardware import detect_hardware, pick_tier

    named = gpu_from_text(question or "")
    hw = named or detect_hardware()
    plan = ctx.state.get("plan") or {}
    model = ((ctx.state.get("config") or {}).get("model") or {}).get("id") or thread_target(ctx.state)
    asked = model.removeprefix("tiny-")  # the question is about the real model of the version chosen
    memory = plan.get("memory") if not named else None  # the plan's own memory model, for this machine's card
    if isinstance(memory, dict) and memory:
        text = str(memory.get("summary") or _memory_line(memory))
        return {"gpu": hw.name, "vram_gb": hw.vram_gb, "model": asked, "source": "plan memory", "memory": memory,
                "summary": f"On {hw.name}: {text}"}
    tier = pick_tier(hw, asked)
    fits = tier.tier in ("standard", "low_vram")
    where = f"{hw.name}" + (f" ({hw.vram_gb:g} GB)" if hw.vram_gb else "")
    lead = f"Yes, {asked} trains on {where}" if fits else f"Not {asked} on {where}"
    changes = f" The plan would use: {', '.join(tier.changes)}." if tier.changes else ""
    return {"gpu": hw.name, "vram_gb": hw.vram_gb, "model": asked, "tier": tier.tier, "fits": fits,
            "source": "hardware tiers", "summary": f"{lead}. {tier.reason}{changes}"}


def _memory_line(memory: dict[str, Any]) -> str:
    """The plan's memory model (tools.plan.memory.MemoryPlan as JSON) in one or two sentences."""
    if memory.get("peak_gib") is None:
        return "the plan has no memory estimate for this card."
    of = f" of {memory['vram_gib']:g} GB" if memory.get("vram_gib") else ""
    text = f"predicted peak {memory['peak_gib']:.1f} GiB{of}: it {'fits' if memory.get('fits') else 'does NOT fit'}"
    if memory.get("techniques"):
        text += f", using {', '.join(memory['techniques'])}"
    return f"{text}. {' '.join(memory.get('reasons') or [])}".strip()


def how_to_use(ctx: ToolContext, job_id: str | None = None) -> dict[str, Any]:
    """Where the trained LoRA file is, its trigger, and how to use it in ComfyUI (node, folder, strength)."""
    from trainer import jobs

    job_id = job_id or latest_job(ctx.state, "train")
    if not job_id:
        raise LoraportError("Nothing trained in this conversation yet, so there is no file: say 'list my loras' "
                            "to see earlier runs.")
    db = open_db(ctx.workspace)
    try:
        job = jobs.get_job(db, job_id)
    finally:
        db.conn.close()
    trigger = ((job.config.get("data") or {}).get("trigger_word") or "").strip()
    if not job.lora_path:
        return {"job_id": job_id, "status": job.status, "summary": f"Job {job_id} is {job.status}: the LoRA file "
                f"appears in {job.run_dir} when it finishes. Say 'status' to follow it."}
    name = Path(job.lora_path).name
    use_trigger = f"start the prompt with the trigger \"{trigger}\"" if trigger else "no trigger is needed"
    how = (f"In ComfyUI: copy {name} into ComfyUI/models/loras/, add a LoraLoaderModelOnly node after the "
           f"{job.model_id or 'LTX-2.3'} model loader, pick the file and start at strength 1.0 (its alpha equals "
           f"its rank, so 1.0 is the strength it was trained at; try 0.6-1.2), and {use_trigger}.")
    from trainer.reference import ic_lora_usage

    how = ic_lora_usage(job.config, job.lora_path) or how  # an IC-LoRA is used with a reference
    tiny = " This run used the tiny demo model, so the file only shows the flow." if is_tiny(
        job.model_id) else ""
    return {"job_id": job_id, "lora_path": job.lora_path, "trigger": trigger or None, "model": job.model_id,
            "summary": f"Your LoRA: {job.lora_path}\n{how}{tiny}"}


def compare_runs(ctx: ToolContext, runs: list[str] | None = None) -> dict[str, Any]:
    """Compare this conversation's training runs side by side: settings, final loss and evaluation verdict;
    ``runs`` names two to set against each other (run numbers as listed, "3", or job ids), else first and last."""
    from trainer import jobs

    ids = [j for j in ctx.state.get("job_ids") or [] if j.startswith("train")]
    if len(ids) < 2:
        raise LoraportError("There is only one run in this conversation so far: after a retrain I can compare "
                            "them. Say 'list my loras' to see every run.")
    verdicts = {e.get("job_id"): e for e in ctx.state.get("evaluations") or []}
    db = open_db(ctx.workspace)
    try:
        rows = [_row(jobs.get_job(db, j), verdicts.get(j)) for j in ids]
    finally:
        db.conn.close()
    first, last = _picked(rows, runs) if runs else (rows[0], rows[-1])
    lines = [f"- run {i}: {r['job_id']} ({r['status']}): rank {r['rank']}, {r['steps']} steps, lr {r['lr']}"
             f"{_verdict_words(r)}" for i, r in enumerate(rows, 1)]
    span = (f"run {rows.index(first) + 1} to run {rows.index(last) + 1}" if runs else
            "the first run to the latest")
    return {"runs": rows, "summary": "Your runs, oldest first:\n" + "\n".join(lines) + "\n"
            + _change_words(first, last, span)}


def _picked(rows: list[dict[str, Any]], runs: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two runs a user named ("run 3 and run 4", job ids), oldest first; an unknown one is a clear error."""
    chosen = []
    for ref in runs[:2]:
        ref = str(ref).strip().lstrip("#")
        if ref.isdigit() and not any(r["job_id"] == ref for r in rows):
            if not 1 <= int(ref) <= len(rows):
                raise LoraportError(f"There is no run {ref}: this conversation has {len(rows)} runs "
                                    f"(1 to {len(rows)}).")
            chosen.append(rows[int(ref) - 1])
        else:
            match = [r for r in rows if r["job_id"] == ref or r["job_id"].endswith(ref)]
            if not match:
                raise LoraportError(f"No run of this conversation is called {ref}.")
            chosen.append(match[0])
    if len(chosen) < 2:
        chosen.append(rows[-1])
    return (chosen[0], chosen[1]) if rows.index(chosen[0]) <= rows.index(chosen[1]) else (chosen[1], chosen[0])


def _row(job, evaluation: dict[str, Any] | None) -> dict[str, Any]:
    cfg = job.config or {}
    holdout = None
    if evaluation:
        metric = (evaluation.get("metrics") or {}).get("holdout_loss") or {}
        holdout = metric.get("value")
    return {"job_id": job.job_id, "status": job.status, "rank": (cfg.get("lora") or {}).get("rank"),
            "steps": (cfg.get("optim") or {}).get("steps"), "lr": (cfg.get("optim") or {}).get("learning_rate"),
            "verdict": ((evaluation or {}).get("verdict") or {}).get("status"), "holdout_loss": holdout}


def _verdict_words(row: dict[str, Any]) -> str:
    return f", verdict {row['verdict']}" if row["verdict"] else ", not evaluated yet"


def _change_words(first: dict[str, Any], last: dict[str, Any], span: str = "the first run to the latest") -> str:
    changed = [f"{k} {first[k]} -> {last[k]}" for k in ("rank", "steps", "lr") if first[k] != last[k]]
    text = f"From {span}: {', '.join(changed) or 'the same settings'}."
    if first["holdout_loss"] is not None and last["holdout_loss"] is not None:
        better = "lower (better on clips it never saw)" if last["holdout_loss"] < first["holdout_loss"] else \
            "not lower (no better on clips it never saw)"
        text += f" Held-out loss is {better}."
    elif not (first["verdict"] and last["verdict"]):
        text += " Evaluate both to compare what they learned; say 'evaluate'."
    return text


def my_loras(ctx: ToolContext, recipe: str | None = None) -> list[dict[str, Any]]:
    """List the LoRAs trained in this workspace (newest first) with recipe, trigger, verdict and file; or one recipe's."""
    from agent.history import trained_loras

    rows = trained_loras(ctx.workspace, recipe=recipe)
    if not rows:
        return rows
    db = open_db(ctx.workspace)
    try:
        ids = [r["id"] for r in rows]
        marks = ", ".join("?" for _ in ids)
        configs = {r["id"]: r["config"] for r in db["jobs"].rows_where(f"id in ({marks})", ids, select="id, config")}
        verdicts: dict[str, str] = {}
        for row in db["jobs"].rows_where("kind = 'evaluate' and status = 'finished'", order_by="created_at",
                                         select="config, result"):
            of = json.loads(row["config"] or "{}").get("lora_or_job")
            status = json.loads(row["result"] or "{}").get("status")
            if of in configs and status:
                verdicts[of] = status
    finally:
        db.conn.close()
    for row in rows:
        config = json.loads(configs.get(row["id"]) or "{}")
        row["trigger"] = (config.get("data") or {}).get("trigger_word")
        row["verdict"] = verdicts.get(row["id"])
    return rows
