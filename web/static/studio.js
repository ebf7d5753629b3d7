// LoRA Studio: pick a trained LoRA (or upload one), prompt with its trigger word, generate with and without it.

import { el, getJSON, sendJSON, upload } from "./api.js";

export class Studio {
  constructor(root) {
    this.root = root;
    this.form = root.querySelector("#studio-form");
    this.select = root.querySelector("#studio-lora");
    this.prompt = root.querySelector("#studio-prompt");
    this.seed = root.querySelector("#studio-seed");
    this.model = root.querySelector("#studio-model");  // another base: the as-is comparison of an old LoRA
    this.out = root.querySelector("#studio-out");
    this.status = root.querySelector("#studio-status");
    this.loras = new Map();
    this.form.addEventListener("submit", (e) => { e.preventDefault(); this.generate(); });
    this.select.addEventListener("change", () => { this.fillTrigger(); this.checkReference(); });
    root.querySelector("#studio-upload").addEventListener("change", (e) => this.uploadLora(e.target));
    // IC-LoRAs render from a reference: its box shows when the LoRA's metadata says it needs one.
    this.refBox = root.querySelector("#studio-reference");
    this.refPick = root.querySelector("#studio-ref-pick");
    root.querySelector("#studio-ref-upload").addEventListener("change", (e) => this.uploadReference(e.target));
    // Does the old LoRA still work? The inspector's verdict in plain words, shown when a LoRA is picked.
    this.check = root.querySelector("#studio-check");
    this.strength = root.querySelector("#studio-strength");
    const shown = root.querySelector("#studio-strength-out");
    this.strength.addEventListener("input", () => { shown.textContent = Number(this.strength.value).toFixed(2); });
    this.select.addEventListener("change", () => this.checkLora());
  }

  async checkLora() {
    const param = this.loraParam();
    this.check.hidden = !param;
    if (!param) return;
    try {
      const c = await getJSON(`/api/studio/check?${new URLSearchParams(param)}`);
      const works = c.verdict === "native";
      this.check.className = `studio-check verdict-${c.verdict}`;
      this.check.replaceChildren(el("strong", {}, works ? "It works on LTX-2.3." : `On LTX-2.3: ${c.verdict}.`), " ", c.text,
        c.trained_for ? ` (made for ${c.trained_for})` : "");
      const lora = this.loras.get(this.select.value);
      if (lora && !lora.trigger_word && c.trigger) { lora.trigger_word = c.trigger; this.fillTrigger(); }
    } catch (err) { this.check.textContent = err.message; }
  }

  loraParam() {
    const [kind, id] = (this.select.value || ":").split(":");
    return id ? { [kind === "job" ? "lora_job_id" : "lora_upload_id"]: id } : null;
  }

  async checkReference() {
    const param = this.loraParam();
    this.ic = false;
    if (param) {
      try {
        const info = await getJSON(`/api/studio/lora-info?${new URLSearchParams(param)}`);
        this.ic = info.ic_lora;
        const uploaded = [...this.refPick.querySelectorAll("option[data-upload]")];
        this.refPick.replaceChildren(el("option", { value: "" }, info.references.length
          ? "Pick one of its dataset's references…" : "Upload a reference →"),
          ...info.references.map((r) => el("option", { value: `media:${r}` }, r)), ...uploaded);
      } catch (err) { this.status.textContent = err.message; }
    }
    this.refBox.hidden = !this.ic;
  }

  async uploadReference(input) {
    const files = [...input.files];
    input.value = "";
    if (!files.length) return;
    this.status.textContent = "uploading the reference…";
    try {
      const [u] = await upload(files.slice(0, 1));
      if (!u || u.kind !== "dataset") { this.status.textContent = "That is not an image or a clip."; return; }
      this.refPick.append(el("option", { value: `upload:${u.id}`, "data-upload": true }, `uploaded · ${u.files[0].name}`));
      this.refPick.value = `upload:${u.id}`;
      this.status.textContent = `Reference ${u.files[0].name} uploaded.`;
    } catch (err) { this.status.textContent = err.message; }
  }

  async refresh() {
    let loras = [];
    try { loras = await getJSON("/api/loras"); } catch (err) { this.status.textContent = err.message; }
    const keep = this.select.value;
    const uploaded = [...this.select.querySelectorAll("option[data-upload]")];
    this.select.replaceChildren(...loras.map((l) => {
      this.loras.set(`job:${l.job_id}`, l);
      return el("option", { value: `job:${l.job_id}` },
        `${l.recipe || "LoRA"} · ${l.trigger_word || "no trigger"} · ${l.job_id}`);
    }), ...uploaded);
    if (!this.select.options.length) {
      this.select.append(el("option", { value: "", disabled: true }, "No LoRA yet: train one, or upload a .safetensors"));
    }
    if (keep && [...this.select.options].some((o) => o.value === keep)) this.select.value = keep;
    this.fillTrigger();
    this.checkReference();
  }

  fillTrigger() {
    const lora = this.loras.get(this.select.value);
    const trigger = lora?.trigger_word;
    if (trigger && !this.prompt.value.includes(trigger)) {
      this.prompt.value = `${trigger} ${this.prompt.value.replace(/^\S+\s/, (w) => (this.lastTrigger && w.trim() === this.lastTrigger ? "" : w))}`.trim();
    }
    this.lastTrigger = trigger;
  }

  async uploadLora(input) {
    const files = [...input.files];
    input.value = "";
    if (!files.length) return;
    this.status.textContent = "uploading…";
    try {
      for (const u of await upload(files)) {
        if (u.kind !== "lora") { this.status.textContent = "That is not a .safetensors LoRA."; continue; }
        const value = `upload:${u.id}`;
        this.loras.set(value, { trigger_word: null });
        this.select.append(el("option", { value, "data-upload": true }, `uploaded · ${u.files[0].name}`));
        this.select.value = value;
        this.status.textContent = `Uploaded ${u.files[0].name}.`;
        this.checkLora();
      }
    } catch (err) { this.status.textContent = err.message; }
  }

  async generate() {
    const [kind, id] = (this.select.value || ":").split(":");
    if (!id) { this.status.textContent = "Pick a LoRA first (or upload one)."; return; }
    const body = { prompt: this.prompt.value.trim(), seed: Number(this.seed.value || 42), compare: true,
                   [kind === "job" ? "lora_job_id" : "lora_upload_id"]: id };
    if (!body.prompt) { this.status.textContent = "Write a prompt first."; this.prompt.focus(); return; }
    if (this.model.value) body.model = this.tinyTwin ? `tiny-${this.model.value}` : this.model.value;
    body.lora_strength = Number(this.strength.value);
    const frames = this.root.querySelector("#studio-frames").value;
    const size = this.root.querySelector("#studio-size").value;
    const negative = this.root.querySelector("#studio-negative").value.trim();
    if (frames) body.frames = Number(frames);
    if (size) [body.width, body.height] = size.split("x").map(Number);
    if (negative) body.negative_prompt = negative;
    if (this.ic) {
      const [refKind, ...rest] = (this.refPick.value || "").split(":");
      const ref = rest.join(":");
      if (!ref) { this.status.textContent = "This IC-LoRA needs a reference: pick one or upload an image or clip."; return; }
      body[refKind === "upload" ? "reference_upload_id" : "reference_media"] = ref;
    }
    const button = this.form.querySelector("button[type=submit]");
    button.disabled = true;
    this.status.textContent = "Generating with and without the LoRA…";
    try {
      const r = await sendJSON("POST", "/api/studio/generate", body);
      this.show(r);
      this.status.textContent = `Done in ${r.seconds} s (seed ${r.seed}).`;
    } catch (err) {
      this.status.textContent = err.message;
    } finally {
      button.disabled = false;
    }
  }

  show(r) {
    const clip = (title, c) => el("figure", { class: "clip" },
      el("figcaption", {}, title),
      el("video", { src: c.video_url, controls: true, autoplay: true, loop: true, muted: true, playsinline: true }),
      c.sheet_url ? el("img", { src: c.sheet_url, alt: `${title}: frames`, class: "sheet" }) : null);
    this.out.replaceChildren(
      r.note ? el("p", { class: "noise-note", role: "note" }, r.note) : null,
      el("div", { class: "side-by-side" },
        r.reference ? clip(`Reference · ${r.reference_name || ""}`, r.reference) : null,
        clip(`With the LoRA · ${r.model_id}`, r.with_lora),
        r.without_lora ? clip(`Without (same seed) · ${r.model_id}`, r.without_lora) : null));
  }
}
