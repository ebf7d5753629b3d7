// How the panel talks: a greeting, plain names for what the sidekick is doing, a setting change as one line,
// "my LoRAs" as a table. No internal tool names, file names of docs or raw dicts reach the page.

import { el } from "./api.js";

const LABELS = {
  inspect_lora: "Checking your old LoRA", list_recipes: "Recipes", choose_recipe: "Recipe",
  import_dataset: "Importing your clips", check_dataset: "Checking your clips", caption_preview: "Captioning a few clips",
  caption_all: "Captioning every clip", set_option: "Changing the plan", explain_settings: "Explaining",
  estimate: "Estimating", launch_training: "Starting training", job_status: "Checking the job",
  cancel_job: "Stopping the job", evaluate: "Evaluation", suggest_adjustments: "Suggestions",
  retrain_with: "Starting the retrain", export_checkpoint: "Exporting the checkpoint", list_my_loras: "Your LoRAs",
  check_hardware: "Your GPU", how_to_use: "Using your LoRA", compare_runs: "Comparing your runs",
};

export const label = (tool) => LABELS[tool] || "The sidekick";

export function greeting() {
  return el("div", { class: "msg assistant greeting", "data-greeting": "" },
    el("p", {}, "Hi! I move your LoRA from LTX-2 to LTX-2.3. Attach your old LoRA (.safetensors) and I'll check it; " +
               "no old file? Tell me what it taught (\"it's a person\", \"a watercolour style\")."),
    el("label", { class: "button primary", for: "file-pick" }, "Attach your old LoRA…"));
}

// "rank 4 -> 16; alpha 4.0 -> 16.0" as one line of old → new.
export function diffLine(result) {
  const changed = String(result?.changed || "no change");
  const text = changed === "no change" ? "No change: that is already the plan's value." : `Changed: ${changed.replace(/->/g, "→")}`;
  return el("p", { class: "msg diff", role: "status" }, text);
}

export function lorasTable(rows) {
  if (!rows?.length) return el("p", { class: "msg assistant" }, "No LoRAs trained here yet.");
  const head = el("tr", {}, ["Run", "Recipe", "Trigger", "Verdict", "File"].map((h) => el("th", { scope: "col" }, h)));
  const body = rows.map((r) => el("tr", {},
    el("td", {}, r.id), el("td", {}, r.recipe || "—"), el("td", {}, r.trigger ? el("code", {}, r.trigger) : "—"),
    el("td", { class: `verdict-${r.verdict || "none"}` }, r.verdict || (r.status === "finished" ? "not evaluated" : r.status)),
    el("td", {}, r.lora_path ? el("a", { href: `/api/jobs/${encodeURIComponent(r.id)}/lora`, download: true }, "Download") : "—")));
  return el("section", { class: "card card-loras", "data-card": "loras" }, el("h3", {}, "Your LoRAs"),
    el("div", { class: "table-wrap" }, el("table", { class: "loras" }, el("thead", {}, head), el("tbody", {}, body))));
}

// Any other result, in words: its summary or its error, never its JSON.
export function plainCard(tool, result, ok) {
  const text = (result && typeof result === "object" && (result.error || result.summary)) ||
               (typeof result === "string" ? result : "");
  return el("section", { class: `card card-${ok === false ? "error" : "tool"}`, "data-card": "tool" },
    el("h3", {}, label(tool)), text ? el("p", { class: ok === false ? "error" : "" }, text) : null);
}
