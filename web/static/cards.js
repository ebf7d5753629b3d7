// Cards drawn from tool results: inspection, recipe, dataset, settings, approval, training, evaluation.

import { el, fileURL, fmtDuration, getJSON, sendJSON } from "./api.js";
import { LossChart } from "./chart.js";

const pct = (x) => `${Math.round(x * 100)}%`;

function card(kind, title, ...body) {
  return el("section", { class: `card card-${kind}`, "data-card": kind }, el("h3", {}, title), ...body);
}

function list(items, cls) {
  return items?.length ? el("ul", { class: cls }, items.map((x) => el("li", {}, String(x)))) : null;
}

function facts(pairs) {
  return el("dl", { class: "facts" },
    pairs.filter(([, v]) => v !== null && v !== undefined && v !== "").map(([k, v]) => [el("dt", {}, k), el("dd", {}, String(v))]));
}

export function inspectCard(r) {
  const v = r.verdict || {}, base = r.base_model || {}, rank = r.rank || {}, health = r.health || {};
  return card("inspect", "Your old LoRA",
    el("p", { class: `verdict verdict-${v.status}` }, el("strong", {}, v.status || "unknown"), v.reason ? ` — ${v.reason}` : ""),
    v.action ? el("p", { class: "action" }, v.action) : null,
    v.test_plan?.length ? el("ol", { class: "test-plan" }, ...v.test_plan.map((step) => el("li", {}, step))) : null,
    v.evidence?.length ? el("details", { class: "verdict-evidence" }, el("summary", {}, `Evidence, judged for ${v.target}`),
                            list(v.evidence)) : null,
    facts([
      ["Trained for", [base.family, base.variant].filter(Boolean).join(" ") + (base.confidence !== undefined ? ` (confidence ${pct(base.confidence)})` : "")],
      ["Rank", rank.mode ?? rank.max], ["Trigger words", (r.trigger_words || []).join(", ")],
      ["Format", [r.convention, r.kind].filter(Boolean).join(", ")], ["Weights", health.status],
      ["Suggested recipe", r.migration?.recipe],
    ]),
    list(health.findings, "findings"));
}

export function recipeCard(r) {
  return card("recipe", `Recipe: ${r.title || r.recipe}`, el("p", {}, r.description || ""),
    r.why ? el("p", { class: "muted" }, r.why) : null);
}

export function datasetCard(r) {
  const grid = el("div", { class: "thumbs" });
  for (const f of (r.files || []).slice(0, 60)) grid.append(fileTile(r, f));
  return card("dataset", `Dataset${r.name ? `: ${r.name}` : ""}`,
    el("p", {}, `${r.n_videos || 0} clips, ${r.n_images || 0} images` + (r.holdout?.length ? `, ${r.holdout.length} held out to measure over-fitting` : "")),
    list(r.warnings, "warnings"), list(r.recommendations, "recommendations"), grid);
}

function fileTile(report, f) {
  const src = fileURL(`${report.path}/${f.name}`);
  const media = f.kind === "image" ? el("img", { src, alt: f.name, loading: "lazy" })
    : el("video", { src, muted: true, preload: "metadata", playsinline: true, title: f.name,
                    onmouseenter: (e) => e.target.play().catch(() => {}), onmouseleave: (e) => e.target.pause() });
  const tile = el("figure", { class: f.error ? "tile refused" : "tile" }, media,
    el("figcaption", {}, el("span", { class: "name" }, f.name),
      f.error ? el("span", { class: "error" }, f.error) : el("span", { class: "muted" }, [f.bucket, f.split].filter(Boolean).join(" · "))));
  if (!f.error && report.id) tile.append(captionEditor(report.id, f));
  return tile;
}

function captionEditor(datasetId, f) {
  const box = el("textarea", { rows: 2, "aria-label": `Caption of ${f.name}`, placeholder: "No caption yet" });
  box.value = f.caption || "";
  const status = el("span", { class: "muted", role: "status" });
  const save = el("button", { type: "button", class: "small", onclick: async () => {
    status.textContent = "saving…";
    try {
      await sendJSON("PUT", `/api/datasets/${encodeURIComponent(datasetId)}/captions`, { media: f.name, caption: box.value });
      status.textContent = "saved";
    } catch (err) { status.textContent = err.message; }
  } }, "Save caption");
  return el("div", { class: "caption-edit" }, box, save, status);
}

const SOURCE_WORDS = { recipe: "from the recipe", dataset: "fitted to your clips", old_lora: "from your old LoRA",
                       hardware: "for your GPU", user: "set by you" };

export function settingsCard(settings, estimate) {
  // Two rows per setting (value, then why and where it came from): readable in a narrow column and on a phone.
  const rows = Object.entries(settings || {}).flatMap(([name, s]) => [
    el("tr", { class: "setting" }, el("th", { scope: "row" }, name.replace(/_/g, " ")),
      el("td", { class: "value" }, fmtValue(s.value))),
    el("tr", { class: "why" }, el("td", { colspan: 2 }, s.explanation || "",
      s.source ? el("span", { class: "source", "data-source": s.source }, SOURCE_WORDS[s.source] || s.source) : null)),
  ]);
  return card("settings", "The plan, setting by setting",
    estimate?.summary ? el("p", { class: "estimate" }, "Estimate: ", el("strong", {}, estimate.summary)) : null,
    el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Setting"), el("th", {}, "Value"))), el("tbody", {}, rows)));
}

function fmtValue(v) {
  if (v && typeof v === "object") return Array.isArray(v) ? v.map(fmtValue).join(", ") : JSON.stringify(v);
  return String(v);
}

export function approvalCard(req, answer) {
  const buttons = el("div", { class: "buttons" });
  const done = (word, ok) => () => {
    for (const b of buttons.querySelectorAll("button")) b.disabled = true;
    node.classList.add(ok ? "approved" : "rejected");
    status.textContent = ok ? "Approved." : "Declined.";
    answer(word, req.id);
  };
  const status = el("p", { class: "muted", role: "status" });
  buttons.append(el("button", { type: "button", class: "primary", onclick: done("approve", true) }, "Approve"),
                 el("button", { type: "button", onclick: done("reject", false) }, "Reject"));
  const node = card("approval", "Your approval is needed", el("p", {}, req.summary || req.tool), buttons, status);
  node.dataset.approvalId = req.id;
  return node;
}

export function evaluationCard(r, say) {
  const verdict = r.verdict || {};
  const metrics = Object.values(r.metrics || {}).map((m) => el("tr", {},
    el("th", { scope: "row" }, m.name), el("td", { class: "value" }, m.skipped ? "skipped" : fmtValue(m.value)),
    el("td", {}, m.skipped ? m.skipped : m.meaning || "")));
  const suggestions = (verdict.suggestions || []).map((s, i) => el("li", {},
    el("strong", {}, s.action), el("span", { class: "muted" }, ` — ${s.why} Confirm: ${s.confirm}`),
    s.retrain_with && say ? el("button", { type: "button", class: "small", onclick: () => say(`try suggestion ${i + 1}`) },
                               `Try suggestion ${i + 1}`) : null));
  // An IC-LoRA's pairs were rendered from a reference: each clip shows it on the left.
  const pairs = (r.samples || []).slice(0, 3).map((p) => el("div", { class: "pair" },
    el("p", { class: "muted" }, `${p.kind}: ${p.prompt}` + (p.reference ? ` · reference ${p.reference} (left)` : "")),
    el("div", { class: "side-by-side" },
      el("figure", { class: "clip" }, el("figcaption", {}, "Base model"), video(p.base_beside_mp4 || p.base_mp4)),
      el("figure", { class: "clip" }, el("figcaption", {}, "With the LoRA"), video(p.lora_beside_mp4 || p.lora_mp4)))));
  return card("evaluation", "Evaluation",
    el("p", { class: `verdict verdict-${verdict.status}` }, el("strong", {}, verdict.status || "done")),
    r.tiny ? el("p", { class: "noise-note" }, "Tiny demo model: its samples are noise; the numbers still follow the training.") : null,
    verdict.evidence?.length ? el("div", {}, el("h4", {}, "Evidence"), list(verdict.evidence)) : null,
    suggestions.length ? el("div", {}, el("h4", {}, "What to try next"), el("ol", {}, suggestions)) : null,
    metrics.length ? el("details", {}, el("summary", {}, "Measurements"), el("table", {}, el("tbody", {}, metrics))) : null,
    pairs.length ? el("details", { open: true }, el("summary", {}, "Samples, same seed"), pairs) : null,
    r.report_html ? el("a", { href: fileURL(r.report_html), target: "_blank", rel: "noopener" }, "Open the full report") : null);
}

function video(path) {
  return el("video", { src: fileURL(path), controls: true, muted: true, loop: true, preload: "metadata", playsinline: true });
}

export function genericCard(tool, result, ok) {
  const summary = result && typeof result === "object" && result.summary;
  return card(ok === false ? "error" : "tool", tool.replace(/_/g, " "),
    summary ? el("p", {}, summary) : null,
    ok === false && result?.error ? el("p", { class: "error" }, result.error) : null,
    el("details", {}, el("summary", {}, "Details"), el("pre", {}, JSON.stringify(result, null, 2))));
}

// A training job: progress bar with ETA, live loss chart, samples, and the download once finished.
export class JobCard {
  constructor(jobId, say) {
    this.jobId = jobId;
    this.chart = new LossChart(1);
    this.bar = el("progress", { max: 1, value: 0, "aria-label": "Training progress" });
    this.label = el("span", { class: "progress-label" }, "queued");
    this.eta = el("span", { class: "muted" });
    this.samples = el("div", { class: "samples" });
    this.download = el("div", { class: "download" });
    // Stopping goes through the sidekick, which asks for approval and keeps the checkpoints.
    this.stop = say ? el("button", { type: "button", class: "small", onclick: () => say(`cancel job ${jobId}`) }, "Stop…") : null;
    this.node = card("job", `Training ${jobId}`, el("div", { class: "progress-row" }, this.bar, this.label, this.eta, this.stop),
      this.chart.node, this.samples, this.download);
    this.node.dataset.jobId = jobId;
    this.seenSamples = new Set();
  }

  update(e) {
    if (e.total) { this.bar.max = e.total; this.chart.setTotal(e.total); }
    if (e.step !== null && e.step !== undefined) this.bar.value = e.step;
    const share = this.bar.max ? this.bar.value / this.bar.max : 0;
    if (e.type === "progress" || e.type === "checkpoint") {
      this.chart.add(e.step, e.loss);
      this.label.textContent = `step ${e.step} / ${e.total ?? this.bar.max} (${pct(share)})` + (e.loss != null ? ` · loss ${Number(e.loss).toFixed(4)}` : "");
      this.eta.textContent = e.eta_s != null ? `about ${fmtDuration(e.eta_s)} left` + (e.it_per_s ? ` · ${Number(e.it_per_s).toFixed(2)} it/s` : "") : "";
    } else if (e.type === "sample" && e.path && !this.seenSamples.has(e.path)) {
      this.seenSamples.add(e.path);
      this.addSample(e.path, e.step, e.message);
    } else if (e.type === "started") {
      this.label.textContent = e.message || "started";
    }
    if (["finished", "failed", "cancelled"].includes(e.type)) this.stop?.remove();
    if (e.type === "finished") {
      this.bar.value = this.bar.max;
      this.label.textContent = `finished: step ${e.step ?? this.bar.max} of ${this.bar.max} (100%)`;
      this.eta.textContent = "";
      this.node.classList.add("finished");
      this.showDownload();
      // An IC-LoRA's finished message says how to use it in ComfyUI with a reference.
      if (e.message && e.message !== "done" && !this.usage) {
        this.usage = el("p", { class: "muted usage" }, e.message.replace(/^done\.\s*/, ""));
        this.node.append(this.usage);
      }
    } else if (e.type === "failed" || e.type === "cancelled") {
      this.label.textContent = `${e.type}${e.message ? `: ${e.message}` : ""}`;
      this.node.classList.add(e.type);
    } else if (e.type === "queued") {
      this.label.textContent = e.message || "queued: waiting for the worker";
    }
  }

  addSample(path, step, message) {
    const url = fileURL(path);
    const media = /\.(png|jpe?g|webp)$/i.test(path) ? el("img", { src: url, alt: `sample at step ${step}` })
      : el("video", { src: url, controls: true, muted: true, loop: true, preload: "metadata", playsinline: true });
    // An IC-LoRA's sample is its reference (left) beside the generation; the message names the reference.
    const ref = /\(reference: ([^)]*)\)$/.exec(message || "");
    this.samples.append(el("figure", { class: "sample" }, media, el("figcaption", {},
      `sample, step ${step ?? "?"}` + (ref ? ` · left: reference ${ref[1]}, right: generated` : ""))));
  }

  async showDownload() {
    if (this.downloadShown) return; // a replayed "finished" must not add a second button
    this.downloadShown = true;
    let trigger = null;
    try { trigger = (await getJSON(`/api/jobs/${this.jobId}`)).config?.data?.trigger_word; } catch { /* shown without */ }
    this.download.append(
      el("a", { class: "button primary", href: `/api/jobs/${encodeURIComponent(this.jobId)}/lora`, download: true }, "Download the LoRA (.safetensors)"),
      trigger ? el("p", {}, "Trigger word: ", el("code", { class: "trigger" }, trigger), " — start your prompts with it.") : null);
  }
}

// The as-is test: an old LoRA on the new base beside that base alone (same prompts and seeds), and its verdict.
export function asIsCard(r) {
  const ev = r.evaluation || {};
  const pairs = (ev.samples || []).slice(0, 3).map((p) => el("div", { class: "pair" },
    el("p", { class: "muted" }, `${p.kind}: ${p.prompt} (seed ${p.seed})`),
    el("div", { class: "side-by-side" },
      el("figure", { class: "clip" }, el("figcaption", {}, `${r.target} alone`), video(p.base_mp4)),
      el("figure", { class: "clip" }, el("figcaption", {}, "With your LoRA, as it is"), video(p.lora_mp4)))));
  return card("as-is", `Your LoRA as it is on ${r.target}`,
    el("p", { class: `verdict verdict-${r.verdict}` }, el("strong", {}, r.headline || r.verdict)),
    ev.tiny ? el("p", { class: "noise-note" }, "Tiny demo model: its samples are noise; the numbers are real measurements.") : null,
    list(r.evidence),
    pairs.length ? el("details", { open: true }, el("summary", {}, "With and without, same seed"), pairs) : null,
    ev.report_html ? el("a", { href: fileURL(ev.report_html), target: "_blank", rel: "noopener" }, "Open the full report") : null);
}
