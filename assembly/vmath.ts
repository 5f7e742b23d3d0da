// Internal: float32 exp, log, tanh and erf, four lanes at a time (f32x4) and one at a time (f32)
// with exactly the same operations in the same order, so a kernel's SIMD body and scalar tail
// agree bit for bit — and so does src/backend/js/vmath.ts, which repeats every step with
// Math.fround. No fused multiply-add anywhere: every product and sum is rounded, as everywhere
// in the kernels. Accuracy is a few float32 ulps (tested against float64 references).
//
// exp and log follow Cephes' expf/logf (range reduction by ln 2 split in two constants, then a
// polynomial); tanh is Cephes' tanhf (an odd polynomial below 0.625, 1 - 2/(e^2x + 1) above);
// erf is Eigen's float rational approximation on [-4, 4].

// ---- exp ---------------------------------------------------------------------------------------
const LOG2E: f32 = 1.44269504088896341;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;
const EXP_P0: f32 = 1.9875691500e-4;
const EXP_P1: f32 = 1.3981999507e-3;
const EXP_P2: f32 = 8.3334519073e-3;
const EXP_P3: f32 = 4.1665795894e-2;
const EXP_P4: f32 = 1.6666665459e-1;
const EXP_P5: f32 = 5.0000001201e-1;
const EXP_LO: f32 = -104;
const EXP_HI: f32 = 89;
const ROUND_MAGIC: f32 = 12582912; // 1.5·2^23
const ROUND_MAGIC_BITS: i32 = 0x4b400000;

// e^x for four lanes; NaN stays NaN, overflow gives +inf, underflow 0 (denormals kept).
@inline export function vexp(x: v128): v128 {
  // pmin/pmax are one instruction each on x86 (min/max are ~8); a NaN lane stays NaN either way.
  x = f32x4.pmin(f32x4.pmax(x, vconst(0)), vconst(1));
  // Round to nearest even by adding 1.5·2^23: the sum's low mantissa bits are then the integer n,
  // so fx = nearest(x·log2 e) and n come without the slower nearest and trunc_sat instructions.
  const t = f32x4.add(f32x4.mul(x, vconst(2)), vconst(3));
  const fx = f32x4.sub(t, vconst(3));
  let r = f32x4.sub(x, f32x4.mul(fx, vconst(4)));
  r = f32x4.sub(r, f32x4.mul(fx, vconst(5)));
  const z = f32x4.mul(r, r);
  let y = f32x4.add(f32x4.mul(vconst(6), r), vconst(7));
  y = f32x4.add(f32x4.mul(y, r), vconst(8));
  y = f32x4.add(f32x4.mul(y, r), vconst(9));
  y = f32x4.add(f32x4.mul(y, r), vconst(10));
  y = f32x4.add(f32x4.mul(y, r), vconst(11));
  y = f32x4.add(f32x4.add(f32x4.mul(y, z), r), vconst(12));
  // y · 2^n as y · 2^(n>>1) · 2^(n - (n>>1)): both factors are normal numbers for n in [-151, 129].
  const n = i32x4.sub(t, i32x4.splat(ROUND_MAGIC_BITS));
  const n1 = i32x4.shr_s(n, 1), n2 = i32x4.sub(n, n1);
  const bias = i32x4.splat(127);
  const s1 = i32x4.shl(i32x4.add(n1, bias), 23), s2 = i32x4.shl(i32x4.add(n2, bias), 23);
  return f32x4.mul(f32x4.mul(y, s1), s2);
}

@inline export function sexp(x: f32): f32 {
  x = min<f32>(max<f32>(x, EXP_LO), EXP_HI);
  const fx = nearest<f32>(x * LOG2E);
  let r = x - fx * LN2_HI;
  r = r - fx * LN2_LO;
  const z = r * r;
  let y = EXP_P0 * r + EXP_P1;
  y = y * r + EXP_P2;
  y = y * r + EXP_P3;
  y = y * r + EXP_P4;
  y = y * r + EXP_P5;
  y = y * z + r + 1;
  const n = <i32>fx;
  const n1 = n >> 1, n2 = n - n1;
  return y * reinterpret<f32>((n1 + 127) << 23) * reinterpret<f32>((n2 + 127) << 23);
}

// ---- log ---------------------------------------------------------------------------------------
const SQRTHF: f32 = 0.707106781186547524;
const LOG_P0: f32 = 7.0376836292e-2;
const LOG_P1: f32 = -1.1514610310e-1;
const LOG_P2: f32 = 1.1676998740e-1;
const LOG_P3: f32 = -1.2420140846e-1;
const LOG_P4: f32 = 1.4249322787e-1;
const LOG_P5: f32 = -1.6668057665e-1;
const LOG_P6: f32 = 2.0000714765e-1;
const LOG_P7: f32 = -2.4999993993e-1;
const LOG_P8: f32 = 3.3333331174e-1;
const TWO23: f32 = 8388608; // 2^23: scales denormals up to normal numbers
const MIN_NORMAL: f32 = 1.17549435e-38;

// ln x for four lanes; ln 0 = -inf, ln x<0 = NaN, ln inf = inf, NaN stays NaN.
@inline export function vlog(x: v128): v128 {
  const tiny = f32x4.lt(x, vconst(13));
  const xs = v128.bitselect(f32x4.mul(x, vconst(14)), x, tiny);
  let e = i32x4.sub(i32x4.shr_u(xs, 23), i32x4.splat(126));
  e = i32x4.sub(e, v128.and(tiny, i32x4.splat(23)));
  let m = v128.or(v128.and(xs, i32x4.splat(0x807fffff)), i32x4.splat(0x3f000000));
  const low = f32x4.lt(m, vconst(15));
  e = i32x4.add(e, low); // a true lane is -1
  m = f32x4.sub(f32x4.add(m, v128.and(m, low)), vconst(12));
  const z = f32x4.mul(m, m);
  let y = f32x4.add(f32x4.mul(vconst(16), m), vconst(17));
  y = f32x4.add(f32x4.mul(y, m), vconst(18));
  y = f32x4.add(f32x4.mul(y, m), vconst(19));
  y = f32x4.add(f32x4.mul(y, m), vconst(20));
  y = f32x4.add(f32x4.mul(y, m), vconst(21));
  y = f32x4.add(f32x4.mul(y, m), vconst(22));
  y = f32x4.add(f32x4.mul(y, m), vconst(23));
  y = f32x4.add(f32x4.mul(y, m), vconst(24));
  y = f32x4.mul(f32x4.mul(y, m), z);
  const fe = f32x4.convert_i32x4_s(e);
  y = f32x4.add(y, f32x4.mul(fe, vconst(5)));
  y = f32x4.add(y, f32x4.mul(z, vconst(25)));
  let r = f32x4.add(f32x4.add(m, y), f32x4.mul(fe, vconst(4)));
  // Special cases last: x = 0 → -inf, x < 0 or NaN → NaN, x = inf → inf.
  r = v128.bitselect(f32x4.splat(-Infinity), r, f32x4.eq(x, vconst(26)));
  r = v128.bitselect(f32x4.splat(NaN), r, v128.not(f32x4.ge(x, vconst(26))));
  return v128.bitselect(x, r, f32x4.eq(x, f32x4.splat(Infinity)));
}

@inline export function slog(x: f32): f32 {
  const tiny = x < MIN_NORMAL;
  const xs = tiny ? x * TWO23 : x;
  const bits = reinterpret<i32>(xs);
  let e = (<i32>(<u32>bits >> 23)) - 126 - (tiny ? 23 : 0);
  let m = reinterpret<f32>((bits & 0x807fffff) | 0x3f000000);
  if (m < SQRTHF) {
    e -= 1;
    m = m + m - 1;
  } else {
    m = m - 1;
  }
  const z = m * m;
  let y = LOG_P0 * m + LOG_P1;
  y = y * m + LOG_P2;
  y = y * m + LOG_P3;
  y = y * m + LOG_P4;
  y = y * m + LOG_P5;
  y = y * m + LOG_P6;
  y = y * m + LOG_P7;
  y = y * m + LOG_P8;
  y = y * m * z;
  const fe = <f32>e;
  y = y + fe * LN2_LO;
  y = y + z * -0.5;
  const r = m + y + fe * LN2_HI;
  if (x == 0) return -Infinity;
  if (!(x >= 0)) return NaN;
  return x == Infinity ? x : r;
}

// ---- tanh --------------------------------------------------------------------------------------
const TANH_SMALL: f32 = 0.625;
const TANH_P0: f32 = -5.70498872745e-3;
const TANH_P1: f32 = 2.06390887954e-2;
const TANH_P2: f32 = -5.37397155531e-2;
const TANH_P3: f32 = 1.33314422036e-1;
const TANH_P4: f32 = -3.33332819422e-1;

@inline export function vtanh(x: v128): v128 {
  const a = f32x4.abs(x);
  const z = f32x4.mul(x, x);
  let p = f32x4.add(f32x4.mul(vconst(27), z), vconst(28));
  p = f32x4.add(f32x4.mul(p, z), vconst(29));
  p = f32x4.add(f32x4.mul(p, z), vconst(30));
  p = f32x4.add(f32x4.mul(p, z), vconst(31));
  const small = f32x4.add(f32x4.mul(f32x4.mul(p, z), x), x);
  const e = vexp(f32x4.add(a, a));
  let big = f32x4.sub(vconst(12), f32x4.div(vconst(32), f32x4.add(e, vconst(12))));
  big = v128.or(v128.and(big, i32x4.splat(0x7fffffff)), v128.and(x, i32x4.splat(0x80000000))); // sign of x
  return v128.bitselect(small, big, f32x4.lt(a, vconst(33)));
}

@inline export function stanh(x: f32): f32 {
  const a = abs<f32>(x);
  const z = x * x;
  let p = TANH_P0 * z + TANH_P1;
  p = p * z + TANH_P2;
  p = p * z + TANH_P3;
  p = p * z + TANH_P4;
  if (a < TANH_SMALL) return p * z * x + x;
  const e = sexp(a + a);
  return copysign<f32>(<f32>1 - <f32>2 / (e + 1), x);
}

// ---- sigmoid -----------------------------------------------------------------------------------

// σ(x) = 1/(1 + e^-|x|) for x ≥ 0 and e^-|x|/(1 + e^-|x|) below, so tiny results stay exact
// (σ(-100) is a denormal, as in PyTorch, not 0).
@inline export function vsigmoid(x: v128): v128 {
  const e = vexp(f32x4.neg(f32x4.abs(x)));
  const d = f32x4.add(vconst(12), e);
  return v128.bitselect(f32x4.div(vconst(12), d), f32x4.div(e, d), f32x4.ge(x, vconst(26)));
}

@inline export function ssigmoid(x: f32): f32 {
  const e = sexp(-abs<f32>(x));
  const d = <f32>1 + e;
  return x >= 0 ? <f32>1 / d : e / d;
}

// ---- erf ---------------------------------------------------------------------------------------
const ERF_A0: f32 = -2.72614225801306e-10;
const ERF_A1: f32 = 2.77068142495902e-08;
const ERF_A2: f32 = -2.10102402082508e-06;
const ERF_A3: f32 = -5.69250639462346e-05;
const ERF_A4: f32 = -7.34990630326855e-04;
const ERF_A5: f32 = -2.95459980854025e-03;
const ERF_A6: f32 = -1.60960333262415e-02;
const ERF_B0: f32 = -1.45660718464996e-05;
const ERF_B1: f32 = -2.13374055278905e-04;
const ERF_B2: f32 = -1.68282697438203e-03;
const ERF_B3: f32 = -7.37332916720468e-03;
const ERF_B4: f32 = -1.42647390514189e-02;

@inline export function verf(x: v128): v128 {
  x = f32x4.pmin(f32x4.pmax(x, vconst(34)), vconst(35)); // pmin/pmax: see vexp
  const x2 = f32x4.mul(x, x);
  let p = f32x4.add(f32x4.mul(x2, vconst(36)), vconst(37));
  p = f32x4.add(f32x4.mul(x2, p), vconst(38));
  p = f32x4.add(f32x4.mul(x2, p), vconst(39));
  p = f32x4.add(f32x4.mul(x2, p), vconst(40));
  p = f32x4.add(f32x4.mul(x2, p), vconst(41));
  p = f32x4.add(f32x4.mul(x2, p), vconst(42));
  p = f32x4.mul(p, x);
  let q = f32x4.add(f32x4.mul(x2, vconst(43)), vconst(44));
  q = f32x4.add(f32x4.mul(x2, q), vconst(45));
  q = f32x4.add(f32x4.mul(x2, q), vconst(46));
  q = f32x4.add(f32x4.mul(x2, q), vconst(47));
  return f32x4.div(p, q);
}

@inline export function serf(x: f32): f32 {
  x = min<f32>(max<f32>(x, -4), 4);
  const x2 = x * x;
  let p = x2 * ERF_A0 + ERF_A1;
  p = x2 * p + ERF_A2;
  p = x2 * p + ERF_A3;
  p = x2 * p + ERF_A4;
  p = x2 * p + ERF_A5;
  p = x2 * p + ERF_A6;
  p = p * x;
  let q = x2 * ERF_B0 + ERF_B1;
  q = x2 * q + ERF_B2;
  q = x2 * q + ERF_B3;
  q = x2 * q + ERF_B4;
  return p / q;
}

// ---- constants ----------------------------------------------------------------------------------
// The vector functions' float constants as data. V8 rebuilds every f32x4.splat of a constant
// inside a loop (3 instructions each, ~40 per exp), while a broadcast load from memory is one
// (measured: exp 15% faster). The same values, so the same bits.
const VCONST = memory.data<f32>([EXP_LO, EXP_HI, LOG2E, ROUND_MAGIC, LN2_HI, LN2_LO, EXP_P0, EXP_P1, EXP_P2, EXP_P3, EXP_P4, EXP_P5, 1, MIN_NORMAL, TWO23, SQRTHF, LOG_P0, LOG_P1, LOG_P2, LOG_P3, LOG_P4, LOG_P5, LOG_P6, LOG_P7, LOG_P8, -0.5, 0, TANH_P0, TANH_P1, TANH_P2, TANH_P3, TANH_P4, 2, TANH_SMALL, -4, 4, ERF_A0, ERF_A1, ERF_A2, ERF_A3, ERF_A4, ERF_A5, ERF_A6, ERF_B0, ERF_B1, ERF_B2, ERF_B3, ERF_B4]);
@inline function vconst(i: i32): v128 {
  return v128.load32_splat(VCONST + (<usize>i << 2));
}
