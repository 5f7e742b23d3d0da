// A one-line live progress bar for training epochs: redrawn in place with "\r" at most ~12 times a
// second, never wider than the terminal, and silent when the stream is not a terminal (a log file
// or a pipe gets only the summary lines the caller prints).
//
//   Epoch 2/5 ██████████████░░░░░░░░░░  58%  348/600  71,902 samples/s  loss 0.2841  ETA 0.4s

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

export interface ProgressFields {
  /** Running mean loss of the epoch so far. */
  loss?: number;
  samplesPerSec?: number;
  /** Anything else to show, e.g. "lr 0.001". */
  extra?: string;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--";
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  if (seconds < 60) return `${Math.round(seconds)}s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds - 60 * m);
  if (m < 60) return `${m}m${String(s).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

export const formatInt = (n: number): string => Math.round(n).toLocaleString("en-US");

export class ProgressBar {
  private lastDraw = -Infinity;
  private drawn = false;
  private readonly start: number;

  /** `enabled` defaults to whether the stream is a terminal. */
  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: ProgressStream = process.stdout,
    readonly enabled: boolean = stream.isTTY === true,
    private readonly now: () => number = () => performance.now(),
    /** Work done before this bar started (a resumed epoch): not counted in the rate. */
    private readonly startDone = 0,
  ) {
    this.start = now();
  }

  /** Redraws if enough time has passed (or `force`); `done` out of the total. */
  update(done: number, fields: ProgressFields = {}, force = false): void {
    if (!this.enabled) return;
    const t = this.now();
    if (!force && t - this.lastDraw < 80) return;
    this.lastDraw = t;
    this.stream.write(`\r${this.render(done, fields, (t - this.start) / 1000)}\x1b[K`);
    this.drawn = true;
  }

  /** The bar's text for `done` after `elapsed` seconds (no control characters). */
  render(done: number, fields: ProgressFields, elapsed: number): string {
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const rate = elapsed > 0 ? (done - this.startDone) / elapsed : 0;
    const eta = rate > 0 ? (this.total - done) / rate : NaN;
    const parts = [
      `${Math.round(100 * frac)
        .toString()
        .padStart(3)}%`,
      `${done}/${this.total}`,
    ];
    if (fields.samplesPerSec !== undefined && fields.samplesPerSec > 0) parts.push(`${formatInt(fields.samplesPerSec)} samples/s`);
    if (fields.loss !== undefined) parts.push(`loss ${fields.loss.toFixed(4)}`);
    if (fields.extra) parts.push(fields.extra);
    parts.push(`ETA ${formatDuration(eta)}`);
    const tail = parts.join("  ");
    const columns = Math.max(40, (this.stream.columns || 100) - 1);
    const room = columns - this.label.length - tail.length - 2;
    const width = Math.max(0, Math.min(30, room));
    const full = Math.round(width * frac);
    const bar = width >= 5 ? `${"█".repeat(full)}${"░".repeat(width - full)} ` : "";
    return `${this.label} ${bar}${tail}`.slice(0, columns);
  }

  /** Clears the bar's line, so the caller's summary line takes its place. */
  clear(): void {
    if (this.enabled && this.drawn) this.stream.write("\r\x1b[2K");
    this.drawn = false;
  }
}
