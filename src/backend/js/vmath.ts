// The plain-JS twin of assembly/vmath.ts: the same float32 exp, log, tanh, sigmoid and erf,
// operation for operation, each step rounded to float32 with Math.fround (a float64 +, -, ×, ÷
// or sqrt of two float32 values rounds to the same float32 as the float32 instruction), so the
// results equal the wasm kernels' bit for bit.
const f = Math.fround;

const view = new DataView(new ArrayBuffer(4));
/** The int32 bits of a float32. */
export function bits(x: number): number {
  view.setFloat32(0, x);
  return view.getInt32(0);
}
/** The float32 with these int32 bits. */
export function fromBits(i: number): number {
  view.setInt32(0, i);
  return view.getFloat32(0);
}

/** wasm's f32.min/max: NaN if either operand is NaN (-0 < +0). */
export function fmin(a: number, b: number): number {
  return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b);
}
export function fmax(a: number, b: number): number {
  return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b);
}

/** wasm's f32.nearest: round half to even. */
export function nearest(x: number): number {
  if (!Number.isFinite(x)) return x;
  const fl = Math.floor(x),
    d = x - fl;
  const r = d < 0.5 ? fl : d > 0.5 ? fl + 1 : fl % 2 === 0 ? fl : fl + 1;
  return r === 0 ? (x < 0 || Object.is(x, -0) ? -0 : 0) : r;
}

/** wasm's i32.trunc_sat_f32_s. */
export function truncSat(x: number): number {
  if (Number.isNaN(x)) return 0;
  return Math.max(-2147483648, Math.min(2147483647, Math.trunc(x)));
}

const LOG2E = f(Math.LOG2E),
  LN2_HI = f(0.693359375),
  LN2_LO = f(-2.1219444e-4);
const EXP_P = [1.98756915e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1].map(f);

export function sexp(x: number): number {
  x = fmin(fmax(x, -104), 89);
  const fx = nearest(f(x * LOG2E));
  let r = f(x - f(fx * LN2_HI));
  r = f(r - f(fx * LN2_LO));
  const z = f(r * r);
  let y = f(f(EXP_P[0] * r) + EXP_P[1]);
  for (let k = 2; k < 6; k++) y = f(f(y * r) + EXP_P[k]);
  y = f(f(f(y * z) + r) + 1);
  const n = truncSat(fx);
  const n1 = n >> 1,
    n2 = n - n1;
  return f(f(y * fromBits((n1 + 127) << 23)) * fromBits((n2 + 127) << 23));
}

const SQRTHF = f(Math.SQRT1_2),
  TWO23 = 8388608,
  MIN_NORMAL = f(1.17549435e-38);
const LOG_P = [
  7.0376836292e-2, -1.151461031e-1, 1.167699874e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1,
].map(f);

export function slog(x: number): number {
  const tiny = x < MIN_NORMAL;
  const xs = tiny ? f(x * TWO23) : x;
  const b = bits(xs);
  let e = (b >>> 23) - 126 - (tiny ? 23 : 0);
  let m = fromBits((b & 0x807fffff) | 0x3f000000);
  if (m < SQRTHF) {
    e -= 1;
    m = f(f(m + m) - 1);
  } else {
    m = f(m - 1);
  }
  const z = f(m * m);
  let y = f(f(LOG_P[0] * m) + LOG_P[1]);
  for (let k = 2; k < 9; k++) y = f(f(y * m) + LOG_P[k]);
  y = f(f(y * m) * z);
  const fe = f(e);
  y = f(y + f(fe * LN2_LO));
  y = f(y + f(z * -0.5));
  const r = f(f(m + y) + f(fe * LN2_HI));
  if (x === 0) return -Infinity;
  if (!(x >= 0)) return NaN;
  return x === Infinity ? x : r;
}

const TANH_P = [-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1].map(f);

export function stanh(x: number): number {
  const a = Math.abs(x);
  const z = f(x * x);
  let p = f(f(TANH_P[0] * z) + TANH_P[1]);
  for (let k = 2; k < 5; k++) p = f(f(p * z) + TANH_P[k]);
  if (a < 0.625) return f(f(f(p * z) * x) + x);
  const e = sexp(f(a + a));
  const r = f(1 - f(2 / f(e + 1)));
  return x < 0 || Object.is(x, -0) ? -Math.abs(r) : Math.abs(r);
}

export function ssigmoid(x: number): number {
  const e = sexp(-Math.abs(x));
  const d = f(1 + e);
  return x >= 0 ? f(1 / d) : f(e / d);
}

const ERF_A = [
  -2.72614225801306e-10, 2.77068142495902e-8, -2.10102402082508e-6, -5.69250639462346e-5, -7.34990630326855e-4, -2.95459980854025e-3, -1.60960333262415e-2,
].map(f);
const ERF_B = [-1.45660718464996e-5, -2.13374055278905e-4, -1.68282697438203e-3, -7.37332916720468e-3, -1.42647390514189e-2].map(f);

export function serf(x: number): number {
  x = fmin(fmax(x, -4), 4);
  const x2 = f(x * x);
  let p = f(f(x2 * ERF_A[0]) + ERF_A[1]);
  for (let k = 2; k < 7; k++) p = f(f(x2 * p) + ERF_A[k]);
  p = f(p * x);
  let q = f(f(x2 * ERF_B[0]) + ERF_B[1]);
  for (let k = 2; k < 5; k++) q = f(f(x2 * q) + ERF_B[k]);
  return f(p / q);
}

export function slog1p(x: number): number {
  const u = f(x + 1);
  const d = f(u - 1);
  if (d === 0) return x;
  if (x === Infinity) return u;
  return f(slog(u) * f(x / d));
}

export function sexpm1(x: number): number {
  const u = sexp(x);
  const um1 = f(u - 1);
  if (u === Infinity) return u;
  if (um1 === -1) return um1;
  if (um1 === 0) return x;
  return f(f(um1 * x) / slog(u));
}
