// Elementwise math (assembly/math.ts on assembly/vmath.ts): the wasm kernels and their JS twins
// give the same bits (sin, cos and non-special pow excepted), every SIMD lane agrees with the
// scalar tail, values are within a few float32 ulps of float64 references, the special values
// (NaN, ±inf, ±0, denormals, overflow) come out as PyTorch's, and each derivative matches a float64
// formula.
import { describe, expect, it } from "vitest";
import { UnaryOp } from "../../src/backend/kernel-exports.generated.js";
import { Generator } from "../../src/random.js";
import { BACKENDS, alloc, expectBitwise, expectGuards, freeAll, js, read, wasm } from "./buffers.js";

const f = Math.fround;

/** erf in float64 (Abramowitz–Stegun 7.1.26 is too coarse; this series/continued fraction is 1e-15). */
function erf64(x: number): number {
  const t = Math.abs(x);
  let r: number;
  if (t < 2.5) {
    // Maclaurin series
    let term = t,
      sum = t;
    for (let n = 1; n < 60; n++) {
      term *= (-t * t) / n;
      sum += term / (2 * n + 1);
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // erfc continued fraction (Lentz)
    let fcf = t,
      C = t,
      D = 0;
    for (let n = 1; n < 200; n++) {
      const an = n / 2;
      D = t + an * D;
      D = 1 / D;
      C = t + an / C;
      const delta = C * D;
      fcf *= delta;
      if (Math.abs(delta - 1) < 1e-16) break;
    }
    r = 1 - Math.exp(-t * t) / Math.sqrt(Math.PI) / fcf;
  }
  return x < 0 ? -r : r;
}

const SQRT1_2 = Math.SQRT1_2;
const K = Math.sqrt(2 / Math.PI);

/** float64 references of each op (parameters p0, p1). */
const REF: Record<number, (x: number, p0: number, p1: number) => number> = {
  [UnaryOp.Neg]: (x) => -x,
  [UnaryOp.Abs]: Math.abs,
  [UnaryOp.Exp]: Math.exp,
  [UnaryOp.Expm1]: Math.expm1,
  [UnaryOp.Log]: Math.log,
  [UnaryOp.Log1p]: Math.log1p,
  [UnaryOp.Sqrt]: Math.sqrt,
  [UnaryOp.Rsqrt]: (x) => 1 / Math.sqrt(x),
  [UnaryOp.Sin]: Math.sin,
  [UnaryOp.Cos]: Math.cos,
  [UnaryOp.Tanh]: Math.tanh,
  [UnaryOp.Sigmoid]: (x) => 1 / (1 + Math.exp(-x)),
  [UnaryOp.LogSigmoid]: (x) => Math.min(x, 0) - Math.log1p(Math.exp(-Math.abs(x))),
  [UnaryOp.Gelu]: (x) => 0.5 * x * (1 + erf64(x * SQRT1_2)),
  [UnaryOp.GeluTanh]: (x) => 0.5 * x * (1 + Math.tanh(K * (x + 0.044715 * x ** 3))),
  [UnaryOp.Silu]: (x) => x / (1 + Math.exp(-x)),
  [UnaryOp.Softplus]: (x, b, th) => (b * x > th ? x : Math.log1p(Math.exp(b * x)) / b),
  [UnaryOp.LeakyRelu]: (x, s) => (x > 0 ? x : s * x),
  [UnaryOp.Elu]: (x, a) => (x > 0 ? x : a * Math.expm1(x)),
  [UnaryOp.Clamp]: (x, lo, hi) => Math.max(Math.min(x, hi), lo),
  [UnaryOp.PowScalar]: (x, p) => x ** p,
  [UnaryOp.Square]: (x) => x * x,
  [UnaryOp.Reciprocal]: (x) => 1 / x,
  [UnaryOp.Sign]: Math.sign,
  [UnaryOp.Floor]: Math.floor,
  [UnaryOp.Ceil]: Math.ceil,
  [UnaryOp.Trunc]: Math.trunc,
};

/** float64 derivatives. */
const DREF: Record<number, (x: number, p0: number, p1: number) => number> = {
  [UnaryOp.Neg]: () => -1,
  [UnaryOp.Abs]: (x) => Math.sign(x),
  [UnaryOp.Exp]: Math.exp,
  [UnaryOp.Expm1]: Math.exp,
  [UnaryOp.Log]: (x) => 1 / x,
  [UnaryOp.Log1p]: (x) => 1 / (1 + x),
  [UnaryOp.Sqrt]: (x) => 0.5 / Math.sqrt(x),
  [UnaryOp.Rsqrt]: (x) => -0.5 * x ** -1.5,
  [UnaryOp.Sin]: Math.cos,
  [UnaryOp.Cos]: (x) => -Math.sin(x),
  [UnaryOp.Tanh]: (x) => 1 - Math.tanh(x) ** 2,
  [UnaryOp.Sigmoid]: (x) => {
    const s = 1 / (1 + Math.exp(-x));
    return s * (1 - s);
  },
  [UnaryOp.LogSigmoid]: (x) => 1 - 1 / (1 + Math.exp(-x)),
  [UnaryOp.Gelu]: (x) => 0.5 * (1 + erf64(x * SQRT1_2)) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI),
  [UnaryOp.GeluTanh]: (x) => {
    const t = Math.tanh(K * (x + 0.044715 * x ** 3));
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * K * (1 + 3 * 0.044715 * x * x);
  },
  [UnaryOp.Silu]: (x) => {
    const s = 1 / (1 + Math.exp(-x));
    return s * (1 + x * (1 - s));
  },
  [UnaryOp.Softplus]: (x, b, th) => (b * x > th ? 1 : 1 / (1 + Math.exp(-b * x))),
  [UnaryOp.LeakyRelu]: (x, s) => (x > 0 ? 1 : s),
  [UnaryOp.Elu]: (x, a) => (x > 0 ? 1 : a * Math.exp(x)),
  [UnaryOp.Clamp]: (x, lo, hi) => (x >= lo && x <= hi ? 1 : 0),
  [UnaryOp.PowScalar]: (x, p) => p * x ** (p - 1),
  [UnaryOp.Square]: (x) => 2 * x,
  [UnaryOp.Reciprocal]: (x) => -1 / (x * x),
  [UnaryOp.Sign]: () => 0,
  [UnaryOp.Floor]: () => 0,
  [UnaryOp.Ceil]: () => 0,
  [UnaryOp.Trunc]: () => 0,
};

interface Spec {
  op: number;
  name: string;
  lo: number;
  hi: number;
  p0?: number;
  p1?: number;
  /** allowed error in float32 ulps of the result (relative), plus an absolute floor */
  ulps: number;
  abs?: number;
  /** the JS twin is only close (float64 Math functions), not bitwise */
  approxTwin?: boolean;
}

const SPECS: Spec[] = [
  { op: UnaryOp.Neg, name: "neg", lo: -10, hi: 10, ulps: 0 },
  { op: UnaryOp.Abs, name: "abs", lo: -10, hi: 10, ulps: 0 },
  { op: UnaryOp.Exp, name: "exp", lo: -87, hi: 88, ulps: 2 },
  { op: UnaryOp.Expm1, name: "expm1", lo: -10, hi: 10, ulps: 4, abs: 1e-7 },
  { op: UnaryOp.Log, name: "log", lo: 1e-30, hi: 1e30, ulps: 2, abs: 1e-7 },
  { op: UnaryOp.Log1p, name: "log1p", lo: -0.99, hi: 100, ulps: 4, abs: 1e-8 },
  { op: UnaryOp.Sqrt, name: "sqrt", lo: 0, hi: 1e6, ulps: 0.5 },
  { op: UnaryOp.Rsqrt, name: "rsqrt", lo: 1e-6, hi: 1e6, ulps: 1.5 },
  { op: UnaryOp.Sin, name: "sin", lo: -10, hi: 10, ulps: 2, abs: 1e-7, approxTwin: true },
  { op: UnaryOp.Cos, name: "cos", lo: -10, hi: 10, ulps: 2, abs: 1e-7, approxTwin: true },
  { op: UnaryOp.Tanh, name: "tanh", lo: -10, hi: 10, ulps: 3, abs: 1e-8 },
  { op: UnaryOp.Sigmoid, name: "sigmoid", lo: -30, hi: 30, ulps: 3, abs: 1e-12 },
  { op: UnaryOp.LogSigmoid, name: "logSigmoid", lo: -30, hi: 30, ulps: 4, abs: 1e-7 },
  // 1 + erf(x/√2) cancels for x ≪ 0 (as in PyTorch, which evaluates the same expression in float32).
  { op: UnaryOp.Gelu, name: "gelu", lo: -6, hi: 6, ulps: 6, abs: 1e-6 },
  { op: UnaryOp.GeluTanh, name: "geluTanh", lo: -6, hi: 6, ulps: 6, abs: 2e-7 },
  { op: UnaryOp.Silu, name: "silu", lo: -20, hi: 20, ulps: 4, abs: 1e-7 },
  { op: UnaryOp.Softplus, name: "softplus", lo: -20, hi: 20, p0: 2, p1: 5, ulps: 4, abs: 1e-7 },
  { op: UnaryOp.LeakyRelu, name: "leakyRelu", lo: -5, hi: 5, p0: 0.1, ulps: 0.5 },
  { op: UnaryOp.Elu, name: "elu", lo: -10, hi: 5, p0: 1.5, ulps: 4, abs: 1e-7 },
  { op: UnaryOp.Clamp, name: "clamp", lo: -2, hi: 2, p0: -0.5, p1: 0.7, ulps: 0 },
  { op: UnaryOp.PowScalar, name: "pow 2", lo: -10, hi: 10, p0: 2, ulps: 0.5 },
  { op: UnaryOp.PowScalar, name: "pow 0.5", lo: 0, hi: 100, p0: 0.5, ulps: 0.5 },
  { op: UnaryOp.PowScalar, name: "pow 2.7", lo: 0.01, hi: 10, p0: 2.7, ulps: 3, approxTwin: true },
  { op: UnaryOp.Square, name: "square", lo: -100, hi: 100, ulps: 0.5 },
  { op: UnaryOp.Reciprocal, name: "reciprocal", lo: 0.01, hi: 100, ulps: 0.5 },
  { op: UnaryOp.Sign, name: "sign", lo: -3, hi: 3, ulps: 0 },
  { op: UnaryOp.Floor, name: "floor", lo: -30, hi: 30, ulps: 0 },
  { op: UnaryOp.Ceil, name: "ceil", lo: -30, hi: 30, ulps: 0 },
  { op: UnaryOp.Trunc, name: "trunc", lo: -30, hi: 30, ulps: 0 },
];

/** One float32 ulp at |v| (the spacing of float32 numbers there). */
function ulp(v: number): number {
  const a = Math.abs(v);
  if (a < 2 ** -126) return 2 ** -149;
  return 2 ** (Math.floor(Math.log2(a)) - 23);
}

function sample(g: Generator, s: Spec, n: number): Float32Array {
  const x = new Float32Array(n);
  // Log-uniform for wide positive ranges, uniform otherwise.
  const logScale = s.lo > 0 && s.hi / s.lo > 1e3;
  for (let i = 0; i < n; i++) x[i] = logScale ? Math.exp(g.uniform(Math.log(s.lo), Math.log(s.hi))) : g.uniform(s.lo, s.hi);
  return x;
}

function run(be: typeof wasm, op: number, x: Float32Array, p0 = 0, p1 = 0): Float32Array {
  const a = alloc(be, x.length, x),
    d = alloc(be, x.length, null, { pre: 17 });
  be.unary(op, d.ptr, a.ptr, x.length, p0, p1);
  expectGuards(`unary ${op} ${be.name}`, d);
  const out = read(d);
  freeAll(a, d);
  return out;
}

describe("unary math kernels", () => {
  const g = new Generator(7);
  for (const s of SPECS) {
    it(`${s.name}: wasm = js twin, SIMD lanes = scalar tail, within ${s.ulps} ulps of float64`, () => {
      const x = sample(g, s, 4003);
      const got = run(wasm, s.op, x, s.p0, s.p1);
      const twin = run(js, s.op, x, s.p0, s.p1);
      if (s.approxTwin) {
        for (let i = 0; i < x.length; i++) {
          expect(Math.abs(got[i] - twin[i]), `${s.name}(${x[i]}) wasm ${got[i]} vs js ${twin[i]}`).toBeLessThanOrEqual(2 * ulp(twin[i]) + 1e-7);
        }
      } else {
        expectBitwise(`${s.name} wasm vs js`, got, twin);
      }
      // Each element computed alone (always the scalar tail) equals the SIMD result.
      for (let i = 0; i < 64; i++) {
        const one = run(wasm, s.op, x.subarray(i, i + 1), s.p0, s.p1);
        expect(Object.is(one[0], got[i]), `${s.name}(${x[i]}): scalar ${one[0]} vs SIMD lane ${got[i]}`).toBe(true);
      }
      const ref = REF[s.op];
      for (let i = 0; i < x.length; i++) {
        // Parameters reach the kernel as float32, so the reference takes them rounded too.
        const r = ref(x[i], f(s.p0 ?? 0), f(s.p1 ?? 0));
        const tol = s.ulps * ulp(r) + (s.abs ?? 0);
        if (!(Math.abs(got[i] - r) <= tol)) expect.fail(`${s.name}(${x[i]}) = ${got[i]}, float64 ${r}, error ${Math.abs(got[i] - r) / ulp(r)} ulps`);
      }
    });
  }

  it("special values: NaN, ±inf, ±0, denormals, overflow and underflow as PyTorch", () => {
    const cases: [number, number[], number[]][] = [
      [
        UnaryOp.Exp,
        [NaN, Infinity, -Infinity, 0, -0, 88.72, 89, -87.3, -103, -104, -200],
        [NaN, Infinity, 0, 1, 1, f(Math.exp(f(88.72))), Infinity, f(Math.exp(f(-87.3))), f(Math.exp(-103)), 0, 0],
      ],
      [
        UnaryOp.Log,
        [NaN, Infinity, -Infinity, 0, -0, -1, 1, 1e-45, 1e-40],
        [NaN, Infinity, NaN, -Infinity, -Infinity, NaN, 0, f(Math.log(f(1e-45))), f(Math.log(f(1e-40)))],
      ],
      [UnaryOp.Log1p, [NaN, Infinity, -1, -2, 0, 1e-10], [NaN, Infinity, -Infinity, NaN, 0, f(1e-10)]],
      [UnaryOp.Tanh, [NaN, Infinity, -Infinity, 0, 30, -30], [NaN, 1, -1, 0, 1, -1]],
      [UnaryOp.Sigmoid, [NaN, Infinity, -Infinity, 0, 100, -100], [NaN, 1, 0, 0.5, 1, f(1 / (1 + Math.exp(100)))]],
      [UnaryOp.Sqrt, [NaN, Infinity, -1, 0, -0], [NaN, Infinity, NaN, 0, -0]],
      [UnaryOp.Gelu, [NaN, Infinity, -Infinity, 0, 10, -10], [NaN, Infinity, NaN, 0, 10, -0]],
      [UnaryOp.Expm1, [NaN, Infinity, -Infinity, 0, 1e-10, 100], [NaN, Infinity, -1, 0, f(1e-10), Infinity]],
    ];
    for (const be of BACKENDS) {
      for (const [op, xs, want] of cases) {
        const got = run(be, op, Float32Array.from(xs));
        xs.forEach((x, i) => {
          const w = f(want[i]);
          const ok = Number.isNaN(w)
            ? Number.isNaN(got[i])
            : !Number.isFinite(w)
              ? got[i] === w
              : w === 0
                ? Math.abs(got[i]) <= 2 ** -149
                : Math.abs(got[i] - w) <= 2 * ulp(w);
          expect(ok, `${be.name} op ${op}(${x}) = ${got[i]}, expected ${w}`).toBe(true);
        });
      }
    }
  });

  it("geluTanh backward, which takes σ(2u) from the output, is right at tiny, denormal and large inputs", () => {
    const x = Float32Array.from([0, -0, 1e-45, -3e-39, 1e-30, -1e-19, 1e-10, -2e-5, 9, -9, 30, -30]);
    const dy = new Float32Array(x.length).fill(1);
    const outs = BACKENDS.map((be) => {
      const y = run(be, UnaryOp.GeluTanh, x);
      const [bx, by, bdy, dx] = [alloc(be, x.length, x), alloc(be, x.length, y), alloc(be, x.length, dy), alloc(be, x.length, null)];
      be.unaryBackward(UnaryOp.GeluTanh, dx.ptr, bdy.ptr, bx.ptr, by.ptr, x.length, 0, 0);
      const r = read(dx);
      freeAll(bx, by, bdy, dx);
      return r;
    });
    expectBitwise("geluTanh backward wasm vs js", outs[0], outs[1]);
    for (let i = 0; i < x.length; i++) {
      const r = DREF[UnaryOp.GeluTanh](x[i], 0, 0);
      if (!(Math.abs(outs[0][i] - r) <= 1e-6 * Math.abs(r) + 1e-7)) expect.fail(`geluTanh'(${x[i]}) = ${outs[0][i]}, float64 ${r}`);
    }
  });

  it("unaryBackward: dy · op'(x) against float64 derivatives, wasm = js twin", () => {
    const g2 = new Generator(8);
    for (const s of SPECS) {
      const x = sample(g2, s, 257);
      const dy = Float32Array.from({ length: x.length }, () => g2.uniform(-2, 2));
      const outs = BACKENDS.map((be) => {
        const y = run(be, s.op, x, s.p0, s.p1);
        const bx = alloc(be, x.length, x),
          by = alloc(be, x.length, y),
          bdy = alloc(be, x.length, dy),
          dx = alloc(be, x.length, null, { pre: 18 });
        be.unaryBackward(s.op, dx.ptr, bdy.ptr, bx.ptr, by.ptr, x.length, s.p0 ?? 0, s.p1 ?? 0);
        expectGuards(`unaryBackward ${s.name} ${be.name}`, dx);
        const r = read(dx);
        freeAll(bx, by, bdy, dx);
        return r;
      });
      if (!s.approxTwin && s.op !== UnaryOp.Sin && s.op !== UnaryOp.Cos) expectBitwise(`${s.name} backward wasm vs js`, outs[0], outs[1]);
      const d = DREF[s.op];
      for (let i = 0; i < x.length; i++) {
        const r = dy[i] * d(x[i], s.p0 ?? 0, s.p1 ?? 0);
        const tol = 1e-5 * Math.abs(r) + 1e-6 * Math.abs(dy[i]);
        if (!(Math.abs(outs[0][i] - r) <= tol)) expect.fail(`${s.name}'(${x[i]}) · ${dy[i]} = ${outs[0][i]}, float64 ${r}`);
      }
    }
  });
});
