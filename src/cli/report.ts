// report.html: one self-contained page per training run — inline SVG charts (loss, accuracy,
// learning rate), the confusion matrix, per-class precision/recall and a grid of misclassified
// test digits as data: URL PNGs. No scripts or fonts from anywhere; open it from disk.
import { encodePng } from "./image.js";
import type { Evaluation } from "./common.js";

/** One line of metrics.jsonl. */
export interface MetricLine {
  type: "step" | "epoch";
  step: number;
  epoch: number;
  loss: number;
  lr: number;
  accuracy: number;
  samples_per_s: number;
  split: "train" | "test";
  [key: string]: unknown;
}

export interface ReportInput {
  title: string;
  /** Settings shown in a table (flag → value). */
  config: [string, string][];
  /** Headline results, one per line. */
  summary: string[];
  metrics: MetricLine[];
  evaluation: Evaluation;
  /** Raw test images [N, 28, 28] uint8, indexed like the evaluation. */
  images: Uint8Array;
  /** Most misclassified digits shown (default 64). */
  maxMisclassified?: number;
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// ---- charts --------------------------------------------------------------------------------------

export interface Series {
  name: string;
  color: string;
  points: [number, number][];
  /** Draw a dot per point (for sparse series such as per-epoch values). */
  markers?: boolean;
  line?: boolean;
  width?: number;
  opacity?: number;
}

interface ChartOptions {
  xLabel: string;
  yLabel: string;
  logY?: boolean;
  yMin?: number;
  yMax?: number;
  format?: (v: number) => string;
  /** Vertical guides, e.g. epoch boundaries: [x, label]. */
  guides?: [number, string][];
}

/** ~5 round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo) || !Number.isFinite(lo) || !Number.isFinite(hi)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  // A range at the limit of float spacing (steps that do not move lo) gets its two ends.
  if (!(step > 0) || !Number.isFinite(step) || lo + step === lo || hi - step === hi) return [lo, hi];
  // Ticks by index, not by repeated addition: always a bounded number of iterations.
  const first = Math.ceil(lo / step),
    last = Math.floor(hi / step + 1e-9);
  if (!(last - first < 100)) return [lo, hi];
  const ticks: number[] = [];
  for (let k = first; k <= last; k++) ticks.push(Number((k * step).toPrecision(12)));
  return ticks.length > 0 ? ticks : [lo, hi];
}

/** Smallest and largest of many values (Math.min(...values) overflows the stack past ~100k). */
function extent(values: Iterable<number>): [number, number] {
  let lo = Infinity,
    hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) ticks.push(Number(v.toPrecision(6)));
    }
  }
  return ticks.length >= 2 ? ticks : [lo, hi];
}

const fmtNum = (v: number): string => {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(0).replace("e+", "e");
  return String(Number(v.toPrecision(3)));
};

/** A line chart as an inline <svg>; the element gets `id`. */
export function lineChart(id: string, series: Series[], o: ChartOptions): string {
  const W = 640,
    H = 270,
    L = 60,
    R = 14,
    T = 30,
    B = 42;
  const all = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!o.logY || y > 0));
  if (all.length === 0) {
    return `<svg id="${id}" class="chart" viewBox="0 0 ${W} ${H}" role="img"><text x="${W / 2}" y="${H / 2}" text-anchor="middle" class="muted">no data</text></svg>`;
  }
  let [x0, x1] = extent(all.map((p) => p[0]));
  if (x1 === x0) [x0, x1] = [x0 - 1, x1 + 1];
  const [yLo, yHi] = extent(all.map((p) => p[1]));
  let y0 = o.yMin ?? yLo;
  let y1 = o.yMax ?? yHi;
  if (o.logY) {
    y0 = Math.max(y0, 1e-6);
    if (y1 <= y0) y1 = y0 * 10;
  } else if (y1 === y0) {
    [y0, y1] = [y0 - Math.abs(y0 || 1) * 0.1, y1 + Math.abs(y1 || 1) * 0.1];
  } else if (o.yMin === undefined) {
    y0 -= (y1 - y0) * 0.04;
  }
  const fy = o.logY ? (v: number) => Math.log(v) : (v: number) => v;
  const sx = (x: number) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const sy = (y: number) => T + (1 - (fy(Math.min(Math.max(y, y0), y1)) - fy(y0)) / (fy(y1) - fy(y0))) * (H - T - B);
  const format = o.format ?? fmtNum;
  const parts: string[] = [];
  parts.push(`<svg id="${id}" class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(o.yLabel)} by ${esc(o.xLabel)}">`);
  // Grid and axes.
  for (const t of o.logY ? logTicks(y0, y1) : niceTicks(y0, y1)) {
    const y = sy(t).toFixed(1);
    parts.push(
      `<line x1="${L}" x2="${W - R}" y1="${y}" y2="${y}" class="grid"/><text x="${L - 6}" y="${y}" dy="0.32em" text-anchor="end" class="tick">${esc(format(t))}</text>`,
    );
  }
  for (const t of niceTicks(x0, x1, 6)) {
    const x = sx(t).toFixed(1);
    parts.push(`<text x="${x}" y="${H - B + 16}" text-anchor="middle" class="tick">${esc(fmtNum(t))}</text>`);
  }
  for (const [gx, label] of o.guides ?? []) {
    if (gx <= x0 || gx >= x1) continue;
    const x = sx(gx).toFixed(1);
    parts.push(`<line x1="${x}" x2="${x}" y1="${T}" y2="${H - B}" class="guide"><title>${esc(label)}</title></line>`);
  }
  parts.push(`<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" class="axis"/><line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" class="axis"/>`);
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle" class="label">${esc(o.xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle" class="label">${esc(o.yLabel)}</text>`);
  // Series.
  for (const s of series) {
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!o.logY || y > 0));
    if (pts.length === 0) continue;
    if (s.line !== false && pts.length > 1) {
      const d = pts.map(([x, y], i) => `${i === 0 ? "M" : "L"}${sx(x).toFixed(1)} ${sy(y).toFixed(1)}`).join("");
      parts.push(
        `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="${s.width ?? 1.5}" stroke-opacity="${s.opacity ?? 1}" stroke-linejoin="round"/>`,
      );
    }
    if (s.markers || pts.length === 1) {
      for (const [x, y] of pts) {
        parts.push(
          `<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3.5" fill="${s.color}"><title>${esc(s.name)}: ${esc(format(y))} at ${esc(o.xLabel)} ${fmtNum(x)}</title></circle>`,
        );
      }
    }
  }
  // Legend.
  let lx = L + 12;
  for (const s of series) {
    parts.push(`<rect x="${lx}" y="9" width="12" height="3" fill="${s.color}"/><text x="${lx + 17}" y="11" dy="0.32em" class="legend">${esc(s.name)}</text>`);
    lx += 17 + Math.ceil(s.name.length * 6.4) + 16;
  }
  parts.push("</svg>");
  return parts.join("");
}

// ---- the page ------------------------------------------------------------------------------------

const pctText = (x: number, d = 1) => (Number.isFinite(x) ? `${(100 * x).toFixed(d)}%` : "–");

function confusionTable(e: Evaluation): string {
  const offMax = Math.max(1, ...e.confusion.flatMap((row, t) => row.filter((_, p) => p !== t)));
  const head = `<tr><th class="corner" title="rows: true class, columns: predicted class">true ↓ pred →</th>${e.confusion.map((_, p) => `<th>${p}</th>`).join("")}<th>recall</th></tr>`;
  const rows = e.confusion.map((row, t) => {
    const cells = row.map((v, p) => {
      const title = `true ${t}, predicted ${p}: ${v}`;
      if (p === t) {
        const a = e.support[t] > 0 ? v / e.support[t] : 0;
        return `<td class="diag" style="background:rgba(46,160,67,${(0.15 + 0.6 * a).toFixed(2)})" title="${title}">${v}</td>`;
      }
      const a = v / offMax;
      return `<td style="${v > 0 ? `background:rgba(218,54,51,${(0.08 + 0.7 * a).toFixed(2)})` : ""}" title="${title}">${v || ""}</td>`;
    });
    return `<tr><th>${t}</th>${cells.join("")}<td class="num">${pctText(e.recall[t])}</td></tr>`;
  });
  const precision = `<tr><th title="precision">prec.</th>${e.precision.map((p) => `<td class="num">${pctText(p)}</td>`).join("")}<td></td></tr>`;
  return `<table id="confusion" class="confusion">${head}${rows.join("")}${precision}</table>`;
}

function misclassifiedGrid(input: ReportInput): string {
  const e = input.evaluation;
  const wrong: number[] = [];
  for (let i = 0; i < e.total; i++) if (e.predicted[i] !== e.targets[i]) wrong.push(i);
  wrong.sort((a, b) => e.confidence[b] - e.confidence[a] || a - b);
  const shown = wrong.slice(0, input.maxMisclassified ?? 64);
  if (shown.length === 0) return `<div id="misclassified" class="grid"><p class="muted">No test digit was misclassified.</p></div>`;
  const items = shown.map((i) => {
    const png = encodePng(input.images.subarray(i * 784, (i + 1) * 784), 28, 28);
    const src = `data:image/png;base64,${Buffer.from(png).toString("base64")}`;
    return (
      `<figure title="test image #${i}: true ${e.targets[i]}, predicted ${e.predicted[i]} with probability ${pctText(e.confidence[i])}">` +
      `<img src="${src}" width="56" height="56" alt="test image ${i}"><figcaption><b>${e.targets[i]}</b>→<span class="bad">${e.predicted[i]}</span> ${pctText(e.confidence[i], 0)}</figcaption></figure>`
    );
  });
  return (
    `<div id="misclassified" class="grid">${items.join("")}</div>` +
    `<p class="muted">${shown.length} of ${wrong.length} misclassified test images, most confident mistakes first (true → predicted, probability of the prediction).</p>`
  );
}

const STYLE = `
:root{--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--bg:#fff;--card:#f6f8fa}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg);margin:0;padding:24px;max-width:1400px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:0 0 8px}.muted{color:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:16px;margin-top:16px}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px}
.chart{width:100%;height:auto;display:block}.chart .grid{stroke:#e4e8ec}.chart .guide{stroke:#b8c0c8;stroke-dasharray:3 3}
.chart .axis{stroke:#8c959f}.chart text{fill:var(--muted);font-size:11px}.chart .label{font-size:12px}.chart .legend{fill:var(--fg);font-size:12px}
table{border-collapse:collapse}td,th{padding:3px 7px;text-align:right;font-variant-numeric:tabular-nums}
.scroll{overflow-x:auto}.confusion{font-size:12px;width:100%;min-width:480px;table-layout:fixed}.confusion td,.confusion th{border:1px solid var(--line);padding:2px 4px;overflow:hidden}.confusion th{background:#eef1f4}.confusion .corner{font-weight:normal;font-size:10px;color:var(--muted);text-align:center}
.confusion .diag{font-weight:600}.num{color:var(--muted);font-size:12px}
.kv td:first-child{text-align:left;color:var(--muted)}.kv td{text-align:left}
.summary{font-size:15px;margin:8px 0 0;padding-left:18px}
.grid{display:flex;flex-wrap:wrap;gap:6px}figure{margin:0;text-align:center;background:#fff;border:1px solid var(--line);border-radius:4px;padding:3px}
figure img{image-rendering:pixelated;display:block;background:#000}figcaption{font-size:11px}.bad{color:#cf222e;font-weight:600}
`;

export function renderReport(input: ReportInput): string {
  const steps = input.metrics.filter((m) => m.type === "step");
  const epochs = input.metrics.filter((m) => m.type === "epoch");
  const guides: [number, string][] = epochs.map((m) => [m.step, `end of epoch ${m.epoch}`]);
  const lossValues = [...steps, ...epochs].map((m) => m.loss).filter((v) => Number.isFinite(v) && v > 0);
  const logLoss = lossValues.length > 1 && extent(lossValues)[1] / extent(lossValues)[0] > 8;

  const loss = lineChart(
    "loss-chart",
    [
      { name: "training loss (per log interval)", color: "#0969da", points: steps.map((m) => [m.step, m.loss]), opacity: 0.75 },
      { name: "epoch mean training loss", color: "#8250df", points: epochs.map((m) => [m.step, m.loss]), markers: true, width: 2 },
      { name: "test loss", color: "#bf3989", points: epochs.map((m) => [m.step, Number(m.test_loss)]), markers: true, width: 2 },
    ],
    { xLabel: "step", yLabel: "cross-entropy loss", logY: logLoss, guides },
  );
  const accuracy = lineChart(
    "accuracy-chart",
    [
      { name: "training batches", color: "#0969da", points: steps.map((m) => [m.step, m.accuracy]), opacity: 0.75 },
      { name: "test set (end of epoch)", color: "#1a7f37", points: epochs.map((m) => [m.step, m.accuracy]), markers: true, width: 2 },
    ],
    { xLabel: "step", yLabel: "accuracy", yMax: 1, format: (v) => `${Number((100 * v).toPrecision(3))}%`, guides },
  );
  const lr = lineChart("lr-chart", [{ name: "learning rate", color: "#bc4c00", points: steps.map((m) => [m.step, m.lr]), width: 2 }], {
    xLabel: "step",
    yLabel: "learning rate",
    yMin: 0,
    guides,
  });

  const e = input.evaluation;
  const perClass = `<table class="kv"><tr><th>class</th><th>precision</th><th>recall</th><th>support</th></tr>${e.precision
    .map((p, c) => `<tr><td>${c}</td><td>${pctText(p, 2)}</td><td>${pctText(e.recall[c], 2)}</td><td>${e.support[c]}</td></tr>`)
    .join("")}</table>`;
  const config = `<table class="kv">${input.config.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join("")}</table>`;

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(input.title)}</title><style>${STYLE}</style></head>
<body>
<h1>${esc(input.title)}</h1>
<ul class="summary">${input.summary.map((s) => `<li>${esc(s)}</li>`).join("")}</ul>
<div class="cards">
<section id="loss"><h2>Loss</h2>${loss}</section>
<section id="accuracy"><h2>Accuracy</h2>${accuracy}</section>
<section id="lr"><h2>Learning rate schedule</h2>${lr}</section>
<section id="confusion-matrix"><h2>Confusion matrix (test set, ${e.total} images, accuracy ${pctText(e.accuracy, 2)})</h2><div class="scroll">${confusionTable(e)}</div></section>
<section id="misclassified-digits" style="grid-column:1/-1"><h2>Misclassified test digits</h2>${misclassifiedGrid(input)}</section>
<section id="per-class"><h2>Per class</h2>${perClass}</section>
<section id="config"><h2>Run</h2>${config}</section>
</div>
<p class="muted">Written by <code>wasmgrad train</code>; the numbers behind the charts are in metrics.jsonl next to this file.</p>
</body></html>
`;
}
