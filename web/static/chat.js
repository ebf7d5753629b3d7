// The migration tab: the chat websocket, streamed replies, cards, and the wizard strip.

import { el, getJSON, upload } from "./api.js";
import { diffLine, greeting, label, lorasTable, plainCard } from "./talk.js";
import { approvalCard, asIsCard, datasetCard, evaluationCard, inspectCard, JobCard, recipeCard,
         settingsCard } from "./cards.js";

const STEPS = ["Inspect", "Recipe", "Dataset", "Review", "Train", "Evaluate"];
const CARD_OF = { inspect_lora: inspectCard, choose_recipe: recipeCard, import_dataset: datasetCard,
                  check_dataset: datasetCard, evaluate: evaluationCard, evaluate_as_is: asIsCard };

export class Chat {
  constructor(root, threadId) {
    this.root = root;
    this.threadId = threadId;
    this.log = root.querySelector("#log");
    this.jobs = new Map();
    this.pendingUploads = [];
    this.bubble = null; // the assistant reply being streamed
    this.retry = 500;
    this.buildWizard();
    this.bindComposer();
  }

  // --- the websocket ---------------------------------------------------------------------------------------
  connect() {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    this.ws = new WebSocket(`${proto}://${location.host}/ws/chat/${encodeURIComponent(this.threadId)}`);
    this.setStatus("connecting…");
    this.log.replaceChildren();
    this.jobs.clear();
    this.bubble = null;
    this.ws.onmessage = (m) => this.onFrame(JSON.parse(m.data));
    this.ws.onopen = () => { this.retry = 500; };
    this.ws.onclose = () => {
      this.setStatus("disconnected — reconnecting…");
      setTimeout(() => this.connect(), this.retry);
      this.retry = Math.min(this.retry * 2, 8000);
    };
  }

  send(frame) {
    if (this.ws?.readyState !== WebSocket.OPEN) { this.notice("Not connected yet: try again in a moment."); return false; }
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  setStatus(text) { document.querySelector("#conn").textContent = text; }

  // --- frames -> the page -----------------------------------------------------------------------------------
  onFrame(f) {
    switch (f.type) {
      case "replay_end":
        this.setStatus("connected");
        if (this.log.childElementCount) this.refreshState(); else this.append(greeting());
        break;
      case "text": f.role === "user" ? this.userMessage(f) : this.streamText(f.text); break;
      case "tool_start": this.endBubble(); this.working(f.tool); break;
      case "tool_end": this.endBubble(); this.toolResult(f); if (f.tool === "evaluate") this.refreshState(); break;
      case "approval_request": this.endBubble(); this.append(approvalCard(f, (word, id) => this.send({ type: word, id }))); break;
      case "job_event": this.jobEvent(f.event || {}); break;
      case "error": this.endBubble(); this.notice(f.message, "error"); break;
      case "turn_end": this.endBubble(); this.clearWorking(); this.shownInCard = null; this.refreshState(); break;
      default: break;
    }
  }

  userMessage(f) {
    this.endBubble();
    this.disableOldApprovals();
    const files = (f.uploads || []).map((u) => el("span", { class: "chip" }, `${u.kind}: ${u.files.map((x) => x.name).join(", ")}`));
    this.append(el("div", { class: "msg user" }, el("p", {}, f.text.replace(/\nuploaded: ".*"/g, "")), files));
  }

  streamText(text) {
    if (this.shownInCard) {  // the inspection is on its card: its lines are not said again below it
      text = text.split("\n").filter((line) => !this.shownInCard.has(line.trim())).join("\n").replace(/^\n+/, "");
      if (!text.trim()) return;
    }
    if (!this.bubble) {
      this.bubble = el("p", {});
      this.append(el("div", { class: "msg assistant" }, this.bubble));
    }
    this.bubble.textContent += text; // deltas of one reply (the anthropic brain streams them)
    this.scroll();
  }

  endBubble() { this.bubble = null; }

  working(tool) {
    this.clearWorking();
    this.workingNode = el("p", { class: "working", role: "status" }, `${label(tool)}…`);
    this.append(this.workingNode);
  }

  clearWorking() { this.workingNode?.remove(); this.workingNode = null; }

  toolResult(f) {
    this.clearWorking();
    const result = f.result;
    if (f.ok !== false && (f.tool === "launch_training" || f.tool === "retrain_with") && result?.job_id) {
      this.jobCard(result.job_id);
      return;
    }
    if (f.ok !== false && f.tool === "set_option") { this.append(diffLine(result)); return; }
    if (f.ok !== false && f.tool === "list_my_loras") { this.append(lorasTable(result)); return; }
    if (f.ok !== false && f.tool === "evaluate" && ["queued", "running"].includes(result?.status)) {
      this.jobCard(result.job_id); // the evaluation runs as a job; its verdict card comes when it finishes
      return;
    }
    if (f.ok !== false && f.tool === "explain_settings" && result?.settings) {
      this.append(settingsCard(result.settings, null));
      return;
    }
    const draw = f.ok !== false && result && typeof result === "object" ? CARD_OF[f.tool] : null;
    if (draw && f.tool === "inspect_lora" && result.summary) {
      this.shownInCard = new Set(String(result.summary).split("\n").map((line) => line.trim()).filter(Boolean));
    }
    const say = (text) => this.send({ type: "message", text, uploads: [] });
    this.append(draw ? draw(result, say) : plainCard(f.tool, result, f.ok));
  }

  jobCard(jobId) {
    if (!this.jobs.has(jobId)) {
      const jc = new JobCard(jobId, (text) => this.send({ type: "message", text, uploads: [] }));
      if (jobId.startsWith("evaluate-")) jc.node.querySelector("h3").textContent = `Evaluating (job ${jobId})`;
      this.jobs.set(jobId, jc);
      this.append(jc.node);
    }
    return this.jobs.get(jobId);
  }

  jobEvent(e) {
    if (!e.job_id) return;
    const jc = this.jobCard(e.job_id);
    jc.update(e);
    if (["finished", "failed", "cancelled"].includes(e.type)) this.refreshState();
    if (e.type !== "finished") return;
    if (e.job_id.startsWith("evaluate-")) {
      this.send({ type: "news" }); // the sidekick tells the verdict and draws its card (once: it is idempotent)
    } else if (e.job_id.startsWith("train") && !jc.node.querySelector(".evaluate-offer")) {
      jc.node.append(el("p", { class: "evaluate-offer" }, "Training finished. ",
        el("button", { type: "button", class: "primary", onclick: (ev) => { ev.target.disabled = true; this.send({ type: "message", text: "evaluate", uploads: [] }); } },
           "Evaluate it")));
    }
  }

  disableOldApprovals() {
    for (const b of this.log.querySelectorAll(".card-approval button")) b.disabled = true;
  }

  append(node) { this.log.append(node); this.scroll(); }

  scroll() {
    this.log.scrollTop = this.log.scrollHeight;
    // On a phone the log does not scroll by itself (the page does): bring the newest item into view.
    if (this.log.scrollHeight <= this.log.clientHeight) this.log.lastElementChild?.scrollIntoView({ block: "nearest" });
  }

  notice(text, cls = "notice") { this.append(el("p", { class: `msg ${cls}`, role: "alert" }, text)); }

  // --- the wizard strip and the plan follow the thread's state ----------------------------------------------
  buildWizard() {
    this.strip = this.root.querySelector("#wizard");
    this.strip.replaceChildren(...STEPS.map((name, i) => el("li", { "data-step": name.toLowerCase() },
      el("span", { class: "n" }, String(i + 1)), el("span", { class: "label" }, name))));
  }

  async refreshState() {
    let s;
    try { s = await getJSON(`/api/threads/${encodeURIComponent(this.threadId)}/state`); } catch { s = {}; }
    const jobIds = s.job_ids || [];
    const last = jobIds.length ? this.jobs.get(jobIds[jobIds.length - 1]) : null;
    const trained = last?.node.classList.contains("finished");
    const done = [s.old_lora != null || !!s.recipe, !!s.recipe, !!s.dataset, jobIds.length > 0, !!trained,
                  (s.evaluations || []).length > 0];
    const current = done.indexOf(false);
    this.strip.querySelectorAll("li").forEach((li, i) => {
      li.className = done[i] ? "done" : i === current ? "current" : "";
      if (i === current) li.setAttribute("aria-current", "step"); else li.removeAttribute("aria-current");
    });
    const plan = this.root.querySelector("#plan");
    if (s.plan_settings && Object.keys(s.plan_settings).length) plan.replaceChildren(settingsCard(s.plan_settings, s.estimate));
  }

  // --- the composer: text, files (picker or drop), Enter to send --------------------------------------------
  bindComposer() {
    const form = this.root.querySelector("#composer");
    const text = form.querySelector("textarea");
    const picker = form.querySelector("input[type=file]");
    this.chips = form.querySelector("#attached");
    form.addEventListener("submit", (e) => { e.preventDefault(); this.submit(text); });
    text.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); this.submit(text); }
    });
    picker.addEventListener("change", () => { this.attach([...picker.files]); picker.value = ""; });
    const drop = this.root.querySelector("#chat");
    drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("dragging"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("dragging"));
    drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("dragging"); this.attach([...e.dataTransfer.files]); });
  }

  async attach(files) {
    if (!files.length) return;
    const chip = el("span", { class: "chip busy" }, `uploading ${files.length} file(s)… 0%`);
    this.chips.append(chip);
    try {
      const uploads = await upload(files, (p) => { chip.textContent = `uploading ${files.length} file(s)… ${Math.round(p * 100)}%`; });
      chip.remove();
      for (const u of uploads) {
        this.pendingUploads.push(u);
        this.chips.append(el("span", { class: "chip", "data-upload": u.id }, `${u.kind}: ${u.files.map((f) => f.name).join(", ")}`));
      }
    } catch (err) {
      chip.remove();
      this.notice(err.message, "error");
    }
  }

  submit(textarea) {
    const text = textarea.value.trim();
    if (!text && !this.pendingUploads.length) return;
    const frame = { type: "message", text, uploads: this.pendingUploads.map((u) => u.id) };
    if (!this.send(frame)) return;
    textarea.value = "";
    this.pendingUploads = [];
    this.chips.replaceChildren();
  }
}
