"""The evaluation's outputs: ``report.json`` (atomic), a self-contained HTML page, and a plain-English summary.

The HTML embeds its pictures (loss curve, contact sheets) as base64 PNGs so it can be mailed or attached as one
file; the clips are linked beside it (``<video src>`` relative to the page). Every caption and prompt is escaped:
text from the user's dataset is data, never markup.
"""

import base64
import html
import io
import json
import os
from pathlib import Path

from core.atomic import atomic_write_json, atomic_write_text
from tools.evaluate.models import EvalReport

STATUS_WORDS = {
    "good": "looks good",
    "weak": "is weak: it barely changes the model",
    "over-fit": "is over-fitting: it copies its training clips or got worse on new ones",
    "broken": "is broken",
}


def summary(report: EvalReport) -> str:
    """Two or three sentences for a chat card, Slack or Discord: the verdict, its main evidence, the next step."""
    name = Path(report.lora_path).name
    parts = [f"{name} {STATUS_WORDS[report.verdict.status]}."]
    if report.verdict.evidence:
        parts.append("Evidence: " + report.verdict.evidence[0].split(": ", 1)[-1] + ".")
    if report.verdict.suggestions:
        parts.append("Next: " + report.verdict.suggestions[0].action)
    if report.tiny:
        parts.append("(Tiny demo model: its samples are noise; the numbers still show the flow.)")
    return " ".join(parts)


def loss_curve_png(report: EvalReport) -> bytes | None:
    """Training loss per step and held-out loss per checkpoint (base as a line), as PNG bytes; None without data."""
    if not report.train_losses and not report.holdout_curve:
        return None
    import matplotlib

    matplotlib.use("Agg")  # no display: render to a buffer
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    if report.train_losses:
        steps, vals = zip(*report.train_losses, strict=True)
        ax.plot(steps, vals, lw=0.8, alpha=0.6, label="training loss")
    if report.holdout_curve:
        steps, vals = zip(*report.holdout_curve, strict=True)
        ax.plot(steps, vals, "o-", lw=1.5, label="held-out loss")
    ho = report.metrics.get("holdout_loss")
    if ho is not None and ho.base is not None:
        ax.axhline(ho.base, ls="--", color="grey", lw=1, label="held-out, base model")
    ax.set_xlabel("step")
    ax.set_ylabel("flow-matching loss")
    ax.legend(fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _img(path_or_bytes, alt: str) -> str:
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'


def _video(path: str, page_dir: Path) -> str:
    rel = os.path.relpath(path, page_dir)
    return f'<video controls loop muted src="{html.escape(rel)}"></video>'


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value)) if value is not None else "&ndash;"


def render_html(report: EvalReport, page_dir: Path) -> str:
    e = html.escape
    v = report.verdict
    rows = "".join(
        f"<tr><td>{e(m.name)}</td><td>{_fmt(m.value) if not m.skipped else 'skipped'}</td><td>{_fmt(m.base)}</td>"
        f"<td>{e(m.meaning)}{('<br><i>' + e(m.skipped) + '</i>') if m.skipped else ''}</td></tr>"
        for m in report.metrics.values())
    sugg = "".join(f"<li><b>{e(s.action)}</b><br>why: {e(s.why)}<br>confirm with: {e(s.confirm)}"
                   f"{('<br>retrain with: <code>' + e(json.dumps(s.retrain_with)) + '</code>') if s.retrain_with else ''}</li>"
                   for s in v.suggestions)
    ckpts = "".join(f"<tr><td>{c.step}{' (final)' if c.final else ''}{' &#9733; recommended' if c.recommended else ''}"
                    f"</td><td>{_fmt(c.holdout_loss)}</td><td>{_fmt(c.improvement)}</td><td>{_fmt(c.memorisation)}</td></tr>"
                    for c in report.checkpoints)
    # An IC-LoRA's clips are shown as reference (left) | generation (right), both rendered from that reference.
    samples = "".join(
        f"<div class=s><p><b>{e(s.kind)}</b> &middot; seed {s.seed} &middot; strength {s.strength:.4f}<br>{e(s.prompt)}"
        f"{('<br>reference: ' + e(s.reference) + ' (left of each clip)') if s.reference else ''}</p>"
        f"<p>without LoRA<br>{_img(s.base_sheet, 'base')}<br>{_video(s.base_beside_mp4 or s.base_mp4, page_dir)}</p>"
        f"<p>with LoRA<br>{_img(s.lora_sheet, 'lora')}<br>{_video(s.lora_beside_mp4 or s.lora_mp4, page_dir)}</p></div>"
        for s in report.samples if Path(s.base_sheet).is_file() and Path(s.lora_sheet).is_file())
    curve = loss_curve_png(report)
    compare = (f"<p>{e(report.comparison.skipped)}</p>" if report.comparison.skipped else "".join(
        f"<div class=s><p>{e(p['prompt'])}</p><p>old LoRA on LTX-2<br>{_img(p['old_sheet'], 'old')}</p>"
        f"<p>new LoRA on LTX-2.3<br>{_img(p['new_sheet'], 'new')}</p></div>" for p in report.comparison.pairs))
    tiny = "<p class=warn>Tiny demo model: samples are noise.</p>" if report.tiny else ""
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>loraport evaluation: {e(Path(report.lora_path).name)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:auto}}td,th{{border-bottom:1px solid #ddd;padding:4px;vertical-align:top}}
.s{{display:flex;gap:12px;border-top:1px solid #ccc}}.s p{{flex:1}}img,video{{max-width:100%}}.warn{{color:#a60}}
.status{{font-size:1.4em}}</style></head><body>
<h1>Evaluation of {e(Path(report.lora_path).name)}</h1>{tiny}
<p class=status>Verdict: <b>{e(v.status)}</b></p><p>{e(report.summary)}</p>
<h2>Evidence</h2><ul>{''.join(f'<li>{e(x)}</li>' for x in v.evidence)}</ul>
<h2>Suggestions</h2><ul>{sugg or '<li>none</li>'}</ul>
<h2>Metrics</h2><table><tr><th>metric</th><th>LoRA</th><th>base</th><th>meaning</th></tr>{rows}</table>
<h2>Loss curve</h2>{_img(curve, 'loss curve') if curve else '<p>no training record</p>'}
<h2>Checkpoints</h2><table><tr><th>step</th><th>held-out loss</th><th>improvement</th><th>memorisation gain</th></tr>{ckpts}</table>
<h2>Samples (with / without the LoRA, same seed)</h2>{samples}
<h2>Old LoRA on LTX-2 vs new on LTX-2.3</h2>{compare}
<p><small>model {e(report.model_id)} &middot; steps {_fmt(report.steps)} &middot; rank {_fmt(report.rank)} &middot;
dataset {e(report.dataset_dir or '')}</small></p></body></html>"""


def write_report(report: EvalReport) -> EvalReport:
    """Write ``report.json`` and ``report.html`` into ``report.out_dir`` (each atomically); paths go on the report."""
    out = Path(report.out_dir)
    report.report_json = str(out / "report.json")
    report.report_html = str(out / "report.html")
    atomic_write_text(out / "report.html", render_html(report, out))
    atomic_write_json(out / "report.json", json.loads(report.model_dump_json()))
    return report
