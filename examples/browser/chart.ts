// A line chart on a plain canvas, shared by the playground pages (MNIST and GPT).
/** One line (or dots) of a chart: points (step, value). */
export interface Series {
  points: [number, number][];
  color: string;
  label: string;
  dots?: boolean;
}

/** Draws series on a canvas: title and legend, round-number grid, x from 0 to the last step. */
export function drawChart(
  canvas: HTMLCanvasElement,
  title: string,
  series: Series[],
  opts: { yMin?: number; yMax?: number; percent?: boolean; totalSteps?: number },
): void {
  const dpr = window.devicePixelRatio || 1;
  const W = canvas.clientWidth,
    H = canvas.clientHeight;
  if (canvas.width !== Math.round(W * dpr)) canvas.width = Math.round(W * dpr);
  if (canvas.height !== Math.round(H * dpr)) canvas.height = Math.round(H * dpr);
  const g = canvas.getContext("2d")!;
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, W, H);
  const L = 46,
    R = 12,
    T = 24,
    B = 22;
  const pts = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y));
  g.font = "12px system-ui, sans-serif";
  g.fillStyle = "#1f2328";
  g.fillText(title, L, 15);
  let lx = L + g.measureText(title).width + 16;
  for (const s of series) {
    g.fillStyle = s.color;
    g.fillRect(lx, 9, 12, 3);
    g.fillStyle = "#656d76";
    g.fillText(s.label, lx + 16, 15);
    lx += 16 + g.measureText(s.label).width + 14;
  }
  const x1 = Math.max(opts.totalSteps ?? 1, ...pts.map((p) => p[0]));
  let y0 = opts.yMin ?? Math.min(...pts.map((p) => p[1]));
  let y1 = opts.yMax ?? Math.max(...pts.map((p) => p[1]));
  if (!Number.isFinite(y0) || !Number.isFinite(y1)) [y0, y1] = [0, 1];
  if (y1 - y0 < 1e-9) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  // Grid lines at round numbers, at most 5 steps; the range grows to whole steps.
  const raw = (y1 - y0) / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((v) => v >= raw - 1e-12) ?? raw;
  const count = Math.max(1, Math.ceil((y1 - y0) / step - 1e-9));
  if (opts.percent) y0 = Math.max(0, y1 - count * step);
  else y1 = y0 + count * step;
  const sx = (x: number) => L + (x / x1) * (W - L - R);
  const sy = (y: number) => T + (1 - (y - y0) / (y1 - y0)) * (H - T - B);
  g.strokeStyle = "#e4e8ec";
  g.fillStyle = "#656d76";
  g.font = "11px system-ui, sans-serif";
  g.textAlign = "right";
  for (let i = 0; i <= count; i++) {
    const v = y0 + step * i;
    const y = sy(v);
    g.beginPath();
    g.moveTo(L, y);
    g.lineTo(W - R, y);
    g.stroke();
    g.fillText(opts.percent ? `${Number((100 * v).toPrecision(3))}%` : String(Number(v.toPrecision(3))), L - 5, y + 4);
  }
  g.textAlign = "center";
  g.fillText("step", (L + W - R) / 2, H - 5);
  g.textAlign = "left";
  g.fillText("0", L, H - 5);
  g.textAlign = "right";
  g.fillText(String(Math.round(x1)), W - R, H - 5);
  g.textAlign = "left";
  for (const s of series) {
    g.strokeStyle = s.color;
    g.fillStyle = s.color;
    g.lineWidth = 1.6;
    g.beginPath();
    s.points.forEach(([x, y], i) => (i === 0 ? g.moveTo(sx(x), sy(y)) : g.lineTo(sx(x), sy(y))));
    if (!s.dots) g.stroke();
    if (s.dots)
      for (const [x, y] of s.points) {
        g.beginPath();
        g.arc(sx(x), sy(y), 3.5, 0, 2 * Math.PI);
        g.fill();
      }
  }
}

/** draw() at the next animation frame, once however often this is called before then (a step's
 *  messages can arrive faster than the page repaints). */
export function onNextFrame(draw: () => void): () => void {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      draw();
    });
  };
}
