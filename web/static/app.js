// The page: tabs, the conversation picker, and the two views (Migrate and LoRA Studio).

import { el, getJSON, setHome } from "./api.js";
import { Chat } from "./chat.js";
import { Studio } from "./studio.js";

function newThreadId() {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return "web-" + [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function currentThread() {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("thread");
  const id = fromHash || localStorage.getItem("loraport.thread") || newThreadId();
  localStorage.setItem("loraport.thread", id);
  if (!fromHash) history.replaceState(null, "", `#thread=${id}`);
  return id;
}

function bindTabs(studio) {
  const tabs = [...document.querySelectorAll("[role=tab]")];
  const select = (tab) => {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
    }
    if (tab.id === "tab-studio") studio.refresh();
    tab.focus();
  };
  tabs.forEach((tab, i) => {
    tab.addEventListener("click", () => select(tab));
    tab.addEventListener("keydown", (e) => {  // arrow keys move between tabs (WAI-ARIA tabs pattern)
      if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
        select(tabs[(i + (e.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length]);
      }
    });
  });
}

async function fillThreads(threadId) {
  const pick = document.getElementById("thread-pick");
  let threads = [];
  try { threads = await getJSON("/api/threads"); } catch { /* an empty picker still works */ }
  if (!threads.some((t) => t.id === threadId)) threads.unshift({ id: threadId, title: "New conversation" });
  pick.replaceChildren(...threads.map((t) => el("option", { value: t.id }, t.title || t.id)));
  pick.value = threadId;
  pick.onchange = () => { location.hash = `thread=${pick.value}`; };
}

let studioTiny = false;

// The target model (LTX-2.3 until the user picks 2.5) is a choice in the conversation: picking it says so to the
// sidekick in words ("target 2.5"), the same as typing it, so every brain and surface sees the same request.
async function bindTarget(chat, threadId) {
  const pick = document.getElementById("target-pick");
  try {
    const state = await getJSON(`/api/threads/${encodeURIComponent(threadId)}/state`);
    const model = state?.config?.model?.id || "";
    if (model.endsWith("2.5")) pick.value = "2.5";
  } catch { /* a new conversation: LTX-2.3 */ }
  pick.onchange = () => chat.send({ type: "message", text: `target ${pick.value}`, uploads: [] });
}

async function main() {
  try {
    const health = await getJSON("/api/health");
    setHome(health.home);
    studioTiny = Boolean(health.default_model_tiny);  // the Studio renders on the tiny twins then
    if (studioTiny) {
      const note = document.getElementById("tiny-note");
      note.textContent = `Demo model (${health.default_model}): it has random weights, so every clip it makes is noise. ` +
        "Training, progress, samples and the download all work for real; point loraport at LTX-2.3 weights for real pictures.";
      note.hidden = false;
    }
  } catch (err) {
    document.getElementById("conn").textContent = err.message;
  }
  const threadId = currentThread();
  const chat = new Chat(document.getElementById("view-migrate"), threadId);
  const studio = new Studio(document.getElementById("view-studio"));
  studio.tinyTwin = studioTiny;
  bindTarget(chat, threadId);
  bindTabs(studio);
  fillThreads(threadId);
  document.getElementById("new-thread").addEventListener("click", () => { location.hash = `thread=${newThreadId()}`; });
  window.addEventListener("hashchange", () => location.reload());
  chat.connect();
  document.getElementById("composer-text").focus();
}

main();
