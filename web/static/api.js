// Talking to the loraport server: JSON fetches, uploads, file URLs. The token (if any) rides in a cookie.

export async function getJSON(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  return unwrap(response);
}

export async function sendJSON(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
  });
  return unwrap(response);
}

async function unwrap(response) {
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || `${response.status} ${response.statusText}`);
  return data;
}

// Upload files with progress; resolves to the server's list of uploads [{id, kind, path, files}].
export function upload(files, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const file of files) form.append("files", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/uploads");
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress?.(e.loaded / e.total);
    xhr.onload = () => {
      let data = {};
      try { data = JSON.parse(xhr.responseText); } catch { /* not JSON: reported below */ }
      if (xhr.status === 201) resolve(data);
      else reject(new Error(data.error || `upload failed (${xhr.status})`));
    };
    xhr.onerror = () => reject(new Error("upload failed: the server closed the connection (file too large?)"));
    xhr.send(form);
  });
}

let home = "";
export function setHome(value) { home = value.replace(/\/+$/, ""); }

// A workspace path (as events carry it) -> the URL that serves it.
export function fileURL(path) {
  if (!path) return null;
  if (path.startsWith("/api/")) return path;
  let rel = home && path.startsWith(home + "/") ? path.slice(home.length + 1) : null;
  if (rel === null) {
    // The path may name the workspace another way (a resolved symlink): cut at the workspace's own folders.
    const m = path.match(/\/((?:runs|datasets|uploads|studio)\/.*)$/);
    rel = m ? m[1] : path;
  }
  return "/api/files/" + rel.split("/").map(encodeURIComponent).join("/");
}

export function el(tag, attrs = {}, ...children) {
  // Every piece of text goes in as a text node: captions, metadata and model output are never HTML.
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}
