// The live loss chart: inline SVG drawn from (step, loss) points; no library.

const NS = "http://www.w3.org/2000/svg";
const W = 480, H = 180, PAD = { l: 48, r: 12, t: 12, b: 26 };

function svg(tag, attrs, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

export class LossChart {
  constructor(totalSteps) {
    this.total = totalSteps || 1;
    this.points = [];
    this.node = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "loss-chart", role: "img",
                             "aria-label": "Training loss by step" });
  }

  add(step, loss) {
    if (step === null || step === undefined || loss === null || loss === undefined || !isFinite(loss)) return;
    if (this.points.length && step <= this.points[this.points.length - 1][0]) return; // replays never redraw
    this.points.push([step, loss]);
    this.draw();
  }

  setTotal(total) { if (total) { this.total = total; this.draw(); } }

  draw() {
    const node = this.node;
    node.replaceChildren();
    const pts = this.points;
    const losses = pts.map((p) => p[1]);
    let lo = Math.min(...losses), hi = Math.max(...losses);
    if (!pts.length) { lo = 0; hi = 1; }
    if (hi - lo < 1e-9) { hi += 0.5; lo -= 0.5; }
    const x = (step) => PAD.l + (step / Math.max(this.total, 1)) * (W - PAD.l - PAD.r);
    const y = (loss) => PAD.t + (1 - (loss - lo) / (hi - lo)) * (H - PAD.t - PAD.b);
    node.append(svg("rect", { x: PAD.l, y: PAD.t, width: W - PAD.l - PAD.r, height: H - PAD.t - PAD.b,
                              class: "plot-bg" }));
    for (const value of [hi, (hi + lo) / 2, lo]) {
      node.append(svg("line", { x1: PAD.l, x2: W - PAD.r, y1: y(value), y2: y(value), class: "grid" }));
      node.append(svg("text", { x: PAD.l - 6, y: y(value) + 4, "text-anchor": "end", class: "tick" },
                      value.toPrecision(3)));
    }
    node.append(svg("text", { x: PAD.l, y: H - 6, class: "tick" }, "0"));
    node.append(svg("text", { x: W - PAD.r, y: H - 6, "text-anchor": "end", class: "tick" }, `step ${this.total}`));
    if (!pts.length) return;
    const line = pts.map(([s, l]) => `${x(s).toFixed(1)},${y(l).toFixed(1)}`).join(" ");
    node.append(svg("polyline", { points: line, class: "loss-line" }));
    // A smoothed curve (EMA) shows the trend through the step-to-step noise of flow-matching loss.
    let ema = losses[0];
    const smooth = pts.map(([s, l]) => { ema = 0.8 * ema + 0.2 * l; return `${x(s).toFixed(1)},${y(ema).toFixed(1)}`; });
    node.append(svg("polyline", { points: smooth.join(" "), class: "loss-ema" }));
    const [ls, ll] = pts[pts.length - 1];
    node.append(svg("circle", { cx: x(ls), cy: y(ll), r: 3, class: "loss-dot" }));
    node.dataset.points = String(pts.length);
  }
}
