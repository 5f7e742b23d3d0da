// Every Backend kernel on both backends (wasm SIMD and the plain-JS reference), on seeded random
// data over odd and aligned sizes, against references computed here in float64 (or, where the
// result is a single IEEE operation, bit-exactly with Math.fround). Each output buffer sits
// between guard cells holding a sentinel, so a SIMD body or tail writing past its end fails.
import { describe, expect, it } from "vitest";
import { createBackend, type Backend, type GemmForm } from "../src/backend/index.js";
import { Generator } from "../src/random.js";

const wasm = createBackend("wasm");
const js = createBackend("js");
const BACKENDS: readonly Backend[] = [wasm, js];
/** Odd lengths (SIMD tails of 1, 3, 1 and 1 elements) plus aligned ones. */
const ODD = [1, 3, 5, 17, 1001];
const LENGTHS = [...ODD, 4, 8, 64];
const SENTINEL = 987654.3125;
const U = 2 ** -24; // unit roundoff of float32
const f32 = Math.fround;

// ---- buffers with guard cells ----------------------------------------------------------------

interface Buf {
  be: Backend;
  base: number;
  /** byte offset of element 0 */
  ptr: number;
  n: number;
  pre: number;
  post: number;
  guard: number;
}

/**
 * n elements (float32, or int32 with `int`) between `pre` and `post` guard cells holding `guard`.
 * pre = 16 keeps element 0 on a 64-byte boundary; other values misalign it.
 */
function alloc(be: Backend, n: number, init?: ArrayLike<number> | null,
               opts: { pre?: number; post?: number; int?: boolean; guard?: number } = {}): Buf {
  const pre = opts.pre ?? 16;
  const post = opts.post ?? 16;
  const guard = opts.guard ?? SENTINEL;
  const base = be.heap.alloc((pre + n + post) * 4);
  const e0 = base >> 2;
  be.f32().fill(guard, e0, e0 + pre + n + post);
  if (init) {
    if (opts.int) be.i32().set(init, e0 + pre);
    else be.f32().set(init, e0 + pre);
  }
  return { be, base, ptr: base + pre * 4, n, pre, post, guard };
}

function read(b: Buf): Float32Array {
  const p = b.ptr >> 2;
  return b.be.f32().slice(p, p + b.n);
}

function readI32(b: Buf): Int32Array {
  const p = b.ptr >> 2;
  return b.be.i32().slice(p, p + b.n);
}

/** Index (relative to element 0) of the first guard cell that changed, or null. */
function guardBroken(b: Buf): number | null {
  const f = b.be.f32();
  const e0 = b.base >> 2;
  const same = (v: number) => Object.is(v, f32(b.guard));
  for (let i = 0; i < b.pre; i++) if (!same(f[e0 + i])) return i - b.pre;
  const after = (b.ptr >> 2) + b.n;
  for (let i = 0; i < b.post; i++) if (!same(f[after + i])) return b.n + i;
  return null;
}

function expectGuards(label: string, ...bufs: Buf[]): void {
  for (const b of bufs) {
    const at = guardBroken(b);
    expect(at, `${label}: wrote outside its buffer at element ${at}`).toBeNull();
  }
}

function freeAll(...bufs: Buf[]): void {
  for (const b of bufs) b.be.heap.free(b.base);
}

// ---- data and comparisons --------------------------------------------------------------------

function randArray(g: Generator, n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = g.uniform(lo, hi);
  return a;
}

function randLabels(g: Generator, M: number, C: number): Int32Array {
  const a = new Int32Array(M);
  for (let i = 0; i < M; i++) a[i] = g.randint(C);
  return a;
}

/** First element where |got - ref| > tol(i) (NaN must match NaN), as a message; null if none. */
function mismatch(label: string, got: ArrayLike<number>, ref: ArrayLike<number>,
                  tol: (i: number) => number): string | null {
  if (got.length !== ref.length) return `${label}: length ${got.length} ≠ ${ref.length}`;
  for (let i = 0; i < ref.length; i++) {
    if (Number.isNaN(ref[i])) {
      if (!Number.isNaN(got[i])) return `${label}: [${i}] got ${got[i]}, expected NaN`;
      continue;
    }
    const err = Math.abs(got[i] - ref[i]);
    if (!(err <= tol(i))) return `${label}: [${i}] got ${got[i]}, expected ${ref[i]} (|err| ${err} > tol ${tol(i)})`;
  }
  return null;
}

function expectClose(label: string, got: ArrayLike<number>, ref: ArrayLike<number>, tol: (i: number) => number): void {
  expect(mismatch(label, got, ref, tol)).toBeNull();
}

/** Bitwise equality (Object.is: NaN equals NaN, -0 differs from +0). */
function expectBitwise(label: string, got: ArrayLike<number>, ref: ArrayLike<number>): void {
  let bad: string | null = got.length === ref.length ? null : `${label}: length ${got.length} ≠ ${ref.length}`;
  for (let i = 0; bad === null && i < ref.length; i++) {
    if (!Object.is(got[i], ref[i])) bad = `${label}: [${i}] got ${got[i]}, expected exactly ${ref[i]}`;
  }
  expect(bad).toBeNull();
}

// ---- gemm ------------------------------------------------------------------------------------

interface GemmOpts {
  acc: boolean;
  bias: boolean;
  /** extra elements per row beyond the logical width (lda - width, ...) */
  padA: number;
  padB: number;
  padC: number;
}

interface GemmData {
  form: GemmForm;
  M: number;
  N: number;
  K: number;
  lda: number;
  ldb: number;
  ldc: number;
  A: Float32Array;
  B: Float32Array;
  C0: Float32Array;
  bias: Float32Array;
  opts: GemmOpts;
}

/** Random operands laid out with row strides; cells between rows of A and B are NaN, of C the sentinel. */
function gemmData(g: Generator, form: GemmForm, M: number, N: number, K: number, opts: GemmOpts): GemmData {
  const [aRows, aCols] = form === "tn" ? [K, M] : [M, K];
  const [bRows, bCols] = form === "nt" ? [N, K] : [K, N];
  const lda = aCols + opts.padA, ldb = bCols + opts.padB, ldc = N + opts.padC;
  const strided = (rows: number, cols: number, ld: number, pad: number) => {
    const a = new Float32Array(rows === 0 ? 0 : (rows - 1) * ld + cols).fill(pad);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) a[r * ld + c] = g.uniform(-1, 1);
    return a;
  };
  return {
    form, M, N, K, lda, ldb, ldc, opts,
    A: strided(aRows, aCols, lda, NaN),
    B: strided(bRows, bCols, ldb, NaN),
    C0: strided(M, N, ldc, SENTINEL),
    bias: randArray(g, N),
  };
}

const aAt = (d: GemmData, i: number, k: number) => (d.form === "tn" ? d.A[k * d.lda + i] : d.A[i * d.lda + k]);
const bAt = (d: GemmData, k: number, j: number) => (d.form === "nt" ? d.B[j * d.ldb + k] : d.B[k * d.ldb + j]);

/** float64 result and Σ|terms| per element (for the error bound). */
function gemmRef(d: GemmData): { ref: Float64Array; mag: Float64Array } {
  const { M, N, K } = d;
  const ref = new Float64Array(M * N), mag = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = d.opts.acc ? d.C0[i * d.ldc + j] : 0;
      let m = Math.abs(s);
      if (d.opts.bias) { s += d.bias[j]; m += Math.abs(d.bias[j]); }
      for (let k = 0; k < K; k++) {
        const p = aAt(d, i, k) * bAt(d, k, j);
        s += p;
        m += Math.abs(p);
      }
      ref[i * N + j] = s;
      mag[i * N + j] = m;
    }
  }
  return { ref, mag };
}

/** Runs the gemm on `be`; returns C's logical elements; checks guards, padding and inputs. */
function runGemm(be: Backend, d: GemmData, label: string): Float32Array {
  const a = alloc(be, d.A.length, d.A, { guard: NaN, pre: 17 });
  const b = alloc(be, d.B.length, d.B, { guard: NaN });
  const c = alloc(be, d.C0.length, d.C0, { pre: 16 + (d.M % 3) });
  const bias = alloc(be, d.N, d.bias, { guard: NaN });
  be.gemm(d.form, d.M, d.N, d.K, a.ptr, d.lda, b.ptr, d.ldb, c.ptr, d.ldc, d.opts.bias ? bias.ptr : 0, d.opts.acc);
  const full = read(c);
  expectGuards(label, c);
  // Padding cells between rows of C (ldc > N) must keep the sentinel.
  for (let i = 0; i < d.M; i++) {
    for (let j = d.N; j < d.ldc && i * d.ldc + j < full.length; j++) {
      expect(full[i * d.ldc + j], `${label}: wrote padding C[${i}][${j}] (ldc ${d.ldc})`).toBe(SENTINEL);
    }
  }
  expectBitwise(`${label}: A unchanged`, read(a), d.A);
  expectBitwise(`${label}: B unchanged`, read(b), d.B);
  const out = new Float32Array(d.M * d.N);
  for (let i = 0; i < d.M; i++) for (let j = 0; j < d.N; j++) out[i * d.N + j] = full[i * d.ldc + j];
  freeAll(a, b, c, bias);
  return out;
}

function checkGemm(g: Generator, form: GemmForm, M: number, N: number, K: number, opts: GemmOpts): void {
  const d = gemmData(g, form, M, N, K, opts);
  const { ref, mag } = gemmRef(d);
  // Recursive float32 summation of K+2 terms (each product rounded once): |err| ≤ (K+2)·u·Σ|terms|.
  // Twice that bound; a missing, doubled or misplaced term is far above it.
  const tol = (i: number) => 2 * (K + 2) * U * mag[i] + 1e-30;
  const label = `gemm ${form} M=${M} N=${N} K=${K} acc=${opts.acc} bias=${opts.bias} ld+=(${opts.padA},${opts.padB},${opts.padC})`;
  for (const be of BACKENDS) expectClose(`${label} [${be.name}]`, runGemm(be, d, `${label} [${be.name}]`), ref, tol);
}

const FORMS: readonly GemmForm[] = ["nn", "nt", "tn"];
const SMALL = [1, 2, 3, 4, 5, 7, 8, 9, 17];
const OPTS: readonly GemmOpts[] = [
  { acc: false, bias: false, padA: 0, padB: 0, padC: 0 },
  { acc: true, bias: false, padA: 3, padB: 1, padC: 5 },
  { acc: false, bias: true, padA: 1, padB: 4, padC: 2 },
  { acc: true, bias: true, padA: 8, padB: 3, padC: 7 },
];

describe("gemm", () => {
  it("small shapes: every (M, N) in {1,2,3,4,5,7,8,9,17}², K cycling, all accumulate/bias/stride options", () => {
    const g = new Generator(1);
    const Ks = [1, 3, 4, 5, 8, 9, 17, 33];
    FORMS.forEach((form, f) => {
      let c = f;
      for (const M of SMALL) {
        for (const N of SMALL) {
          const K = Ks[c % Ks.length];
          for (const opts of OPTS) checkGemm(g, form, M, N, K, opts);
          c += 3;
        }
      }
    });
  });

  it("'nt' with M < 4 (the dot-product path) over many N and K", () => {
    const g = new Generator(2);
    for (const M of [1, 2, 3]) {
      for (const N of [1, 3, 4, 5, 7, 8, 9, 17]) {
        for (const K of [1, 2, 3, 4, 5, 7, 8, 9, 17, 33, 257, 785]) {
          checkGemm(g, "nt", M, N, K, OPTS[(M + N + K) % OPTS.length]);
        }
      }
    }
  });

  it("larger shapes: K across the 256-slice boundary, wide and tall panels, MNIST-sized layers", () => {
    const g = new Generator(3);
    const shapes: [number, number, number][] = [
      [1, 33, 257], [2, 17, 784], [3, 100, 785], [4, 9, 257], [5, 128, 33], [7, 257, 9],
      [8, 785, 5], [9, 784, 17], [17, 33, 785], [33, 17, 257], [128, 100, 9], [257, 8, 100],
      [784, 3, 33], [785, 1, 128], [100, 128, 257],
    ];
    for (const form of FORMS) {
      shapes.forEach(([M, N, K], s) => {
        checkGemm(g, form, M, N, K, OPTS[s % OPTS.length]);
        checkGemm(g, form, M, N, K, OPTS[(s + 3) % OPTS.length]);
      });
    }
    // The MNIST MLP's first layer: forward x·Wᵀ, dW = dyᵀ·x, dx = dy·W (batch 100, 784 → 128).
    checkGemm(g, "nt", 100, 128, 784, OPTS[2]);
    checkGemm(g, "tn", 128, 784, 100, OPTS[1]);
    checkGemm(g, "nn", 100, 784, 128, OPTS[3]);
  });

  it("K = 0 gives (accumulate ? C : 0) + bias", () => {
    const g = new Generator(4);
    for (const form of FORMS) for (const opts of OPTS) for (const [M, N] of [[1, 1], [3, 5], [9, 17]]) checkGemm(g, form, M, N, 0, opts);
  });

  it("wasm: bits do not depend on how rows are split (documented: fixed summation order on every path)", () => {
    const g = new Generator(5);
    for (const form of FORMS) {
      for (const opts of OPTS) {
        const M = 9, N = 17, K = 300;
        const d = gemmData(g, form, M, N, K, opts);
        const full = runGemm(wasm, d, `split ${form}`);
        // Row blocks of the same problem; 'nt' keeps blocks of ≥ 4 rows (fewer take the dot path).
        const blocks = form === "nt" ? [[0, 4], [4, 9]] : Array.from({ length: M }, (_, i) => [i, i + 1]);
        for (const [r0, r1] of blocks) {
          const rows = r1 - r0;
          const sub: GemmData = {
            ...d,
            M: rows,
            A: form === "tn" ? d.A.subarray(r0) : d.A.subarray(r0 * d.lda),
            C0: d.C0.subarray(r0 * d.ldc, r0 * d.ldc + (rows - 1) * d.ldc + N),
          };
          const part = runGemm(wasm, sub, `split ${form} rows ${r0}..${r1}`);
          expectBitwise(`gemm ${form} rows ${r0}..${r1} vs full`, part, full.subarray(r0 * N, r1 * N));
        }
      }
    }
  });

  it("wasm blocked path: each C element is (C + bias) + Σ_k a·b in increasing k, float32 mul then add", () => {
    const g = new Generator(6);
    for (const form of FORMS) {
      for (const opts of OPTS) {
        for (const [M, N, K] of [[4, 8, 3], [5, 9, 257], [9, 17, 513], [7, 33, 40]]) {
          const d = gemmData(g, form, M, N, K, opts);
          const ref = new Float32Array(M * N);
          for (let i = 0; i < M; i++) {
            for (let j = 0; j < N; j++) {
              let v = opts.acc ? d.C0[i * d.ldc + j] : 0;
              if (opts.bias) v = f32(v + d.bias[j]);
              for (let k = 0; k < K; k++) v = f32(v + f32(aAt(d, i, k) * bAt(d, k, j)));
              ref[i * N + j] = v;
            }
          }
          expectBitwise(`gemm ${form} ${M}x${N}x${K} acc=${opts.acc} bias=${opts.bias}`, runGemm(wasm, d, "order"), ref);
        }
      }
    }
  });
});

// ---- elementwise ------------------------------------------------------------------------------

describe("elementwise kernels", () => {
  it("fill", () => {
    for (const be of BACKENDS) {
      for (const n of LENGTHS) {
        for (const value of [0, -0, 1.5, -3.25e-3, 0.1, NaN, Infinity]) {
          const d = alloc(be, n, null, { pre: 16 + (n % 4) });
          be.fill(d.ptr, n, value);
          expectBitwise(`fill ${be.name} n=${n} ${value}`, read(d), new Float32Array(n).fill(value));
          expectGuards(`fill ${be.name} n=${n}`, d);
          freeAll(d);
        }
      }
    }
  });

  it("copy: byte counts not a multiple of 4, overlapping regions both ways", () => {
    const g = new Generator(10);
    for (const be of BACKENDS) {
      for (const bytes of [1, 3, 4, 13, 64, 4005]) {
        for (const shift of [0, 3, -5, 64, -64]) {
          const len = bytes + 256;
          const src = new Uint8Array(len);
          for (let i = 0; i < len; i++) src[i] = g.randint(256);
          const base = be.heap.alloc(len + 256);
          const from = base + 128;
          const u8 = be.u8();
          u8.fill(0xa5, base, base + len + 256);
          u8.set(src, from);
          const expected = u8.slice(base, base + len + 256);
          expected.set(src.subarray(0, bytes), 128 + shift);
          be.copy(from + shift, from, bytes);
          expectBitwise(`copy ${be.name} ${bytes}B shift ${shift}`, be.u8().slice(base, base + len + 256), expected);
          be.heap.free(base);
        }
      }
    }
  });

  const binaryOps = [
    ["add", (a: number, b: number) => a + b],
    ["sub", (a: number, b: number) => a - b],
    ["mul", (a: number, b: number) => a * b],
  ] as const;

  it("add, sub, mul: correctly rounded float32, including aliasing dst = a", () => {
    const g = new Generator(11);
    for (const [name, op] of binaryOps) {
      for (const n of LENGTHS) {
        const A = randArray(g, n, -10, 10), B = randArray(g, n, -10, 10);
        const ref = A.map((v, i) => f32(op(v, B[i])));
        for (const be of BACKENDS) {
          const a = alloc(be, n, A, { pre: 17 }), b = alloc(be, n, B), d = alloc(be, n, null, { pre: 18 });
          be[name](d.ptr, a.ptr, b.ptr, n);
          expectBitwise(`${name} ${be.name} n=${n}`, read(d), ref);
          expectGuards(`${name} ${be.name} n=${n}`, d);
          be[name](a.ptr, a.ptr, b.ptr, n);
          expectBitwise(`${name} in place ${be.name} n=${n}`, read(a), ref);
          expectGuards(`${name} in place ${be.name} n=${n}`, a);
          freeAll(a, b, d);
        }
      }
    }
  });

  it("affine and axpy", () => {
    const g = new Generator(12);
    for (const n of LENGTHS) {
      for (const [s, t] of [[1, 0], [-1, 0], [0.1, -0.3], [2.5, 1e-3], [1 / 3, 0]]) {
        const A = randArray(g, n, -5, 5), D = randArray(g, n, -5, 5);
        const affRef = Array.from(A, (v) => v * s + t);
        const axpyRef = Array.from(D, (v, i) => v + s * A[i]);
        // a·s and its sum: a few roundings each, s itself possibly rounded to float32.
        const tolAff = (i: number) => 4 * U * (Math.abs(A[i] * s) + Math.abs(t)) + 1e-30;
        const tolAxpy = (i: number) => 4 * U * (Math.abs(A[i] * s) + Math.abs(D[i])) + 1e-30;
        for (const be of BACKENDS) {
          const a = alloc(be, n, A), d = alloc(be, n, null, { pre: 19 });
          be.affine(d.ptr, a.ptr, s, t, n);
          expectClose(`affine ${be.name} n=${n} s=${s} t=${t}`, read(d), affRef, tolAff);
          expectGuards(`affine ${be.name}`, d);
          be.affine(a.ptr, a.ptr, s, t, n);
          expectClose(`affine in place ${be.name} n=${n}`, read(a), affRef, tolAff);
          freeAll(a, d);
          const x = alloc(be, n, A), y = alloc(be, n, D, { pre: 17 });
          be.axpy(y.ptr, x.ptr, s, n);
          expectClose(`axpy ${be.name} n=${n} alpha=${s}`, read(y), axpyRef, tolAxpy);
          expectGuards(`axpy ${be.name}`, y);
          expectBitwise(`axpy x unchanged ${be.name}`, read(x), A);
          freeAll(x, y);
        }
      }
    }
  });

  it("rowwise modes 0 (add), 1 (multiply), 2 (subtract)", () => {
    const g = new Generator(13);
    const ops = [(a: number, r: number) => a + r, (a: number, r: number) => a * r, (a: number, r: number) => a - r];
    for (const M of [1, 3, 5]) {
      for (const N of [...ODD, 8]) {
        const A = randArray(g, M * N, -4, 4), R = randArray(g, N, -4, 4);
        for (const mode of [0, 1, 2] as const) {
          const ref = A.map((v, i) => f32(ops[mode](v, R[i % N])));
          for (const be of BACKENDS) {
            const a = alloc(be, M * N, A), r = alloc(be, N, R, { pre: 17 }), d = alloc(be, M * N, null, { pre: 18 });
            be.rowwise(d.ptr, a.ptr, r.ptr, M, N, mode);
            expectBitwise(`rowwise mode ${mode} ${be.name} ${M}x${N}`, read(d), ref);
            expectGuards(`rowwise ${be.name}`, d);
            freeAll(a, r, d);
          }
        }
      }
    }
  });

  it("relu: max(x, 0), NaN stays NaN, -0 gives +0, infinities and subnormals", () => {
    const g = new Generator(14);
    const specials = [NaN, -0, 0, -Infinity, Infinity, 1e-40, -1e-40, -1, 1, 3.4e38, -3.4e38];
    for (const n of LENGTHS) {
      // Random data, then every special at every position (SIMD body lanes and the scalar tail).
      const inputs = [randArray(g, n, -2, 2)];
      for (let off = 0; off < specials.length; off++) {
        inputs.push(Float32Array.from({ length: n }, (_, i) => specials[(i + off) % specials.length]));
      }
      for (const X of inputs) {
        const ref = X.map((v) => (Number.isNaN(v) ? NaN : v > 0 ? v : 0));
        for (const be of BACKENDS) {
          const x = alloc(be, n, X), d = alloc(be, n, null, { pre: 17 });
          be.relu(d.ptr, x.ptr, n);
          expectBitwise(`relu ${be.name} n=${n} [${Array.from(X.subarray(0, 4))}...]`, read(d), ref);
          expectGuards(`relu ${be.name}`, d);
          freeAll(x, d);
        }
      }
    }
  });

  it("reluBackward: dy where y > 0, else 0 (also for NaN y); NaN dy passes where y > 0", () => {
    const g = new Generator(15);
    // (y, dy) pairs placed at every position: NaN y, zero y, subnormal y, NaN dy, -0 dy.
    const pairs = [[NaN, 1], [0, 2], [-0, -2], [1e-40, 3], [0.5, NaN], [0.25, -0], [0, NaN], [2, -1.5]];
    for (const n of LENGTHS) for (let off = 0; off <= pairs.length; off++) {
      const Y = randArray(g, n, -1, 1).map((v) => (v < 0 ? 0 : v));
      const DY = randArray(g, n, -3, 3);
      if (off < pairs.length) {
        for (let i = 0; i < n; i++) [Y[i], DY[i]] = pairs[(i + off) % pairs.length];
      }
      const ref = DY.map((v, i) => (Y[i] > 0 ? v : 0));
      for (const be of BACKENDS) {
        const y = alloc(be, n, Y), dy = alloc(be, n, DY, { pre: 19 }), dx = alloc(be, n, null, { pre: 17 });
        be.reluBackward(dx.ptr, dy.ptr, y.ptr, n);
        expectBitwise(`reluBackward ${be.name} n=${n}`, read(dx), ref);
        expectGuards(`reluBackward ${be.name}`, dx);
        freeAll(y, dy, dx);
      }
    }
  });
});

// ---- reductions -------------------------------------------------------------------------------

describe("reductions", () => {
  it("sum is accumulated in float64", () => {
    const g = new Generator(20);
    for (const n of [...LENGTHS, 0, 100003]) {
      const X = randArray(g, n, -1, 1);
      if (n > 0) X[0] = 1e7; // a large term: a float32 accumulator would lose the small ones
      let ref = 0, mag = 0;
      for (let i = 0; i < n; i++) { ref += X[i]; mag += Math.abs(X[i]); }
      for (const be of BACKENDS) {
        const x = alloc(be, n, X, { pre: 17 });
        const s = be.sum(x.ptr, n);
        expect(Math.abs(s - ref), `sum ${be.name} n=${n}: ${s} vs ${ref}`).toBeLessThanOrEqual(n * 2 ** -52 * mag);
        freeAll(x);
      }
    }
  });

  it("colSum, with and without accumulate", () => {
    const g = new Generator(21);
    for (const M of [1, 3, 17, 100]) {
      for (const N of [...ODD, 4, 33]) {
        const X = randArray(g, M * N, -2, 2), D0 = randArray(g, N, -2, 2);
        for (const acc of [false, true]) {
          const ref = new Float64Array(N), mag = new Float64Array(N);
          for (let j = 0; j < N; j++) {
            ref[j] = acc ? D0[j] : 0;
            mag[j] = Math.abs(ref[j]);
            for (let i = 0; i < M; i++) { ref[j] += X[i * N + j]; mag[j] += Math.abs(X[i * N + j]); }
          }
          for (const be of BACKENDS) {
            const x = alloc(be, M * N, X), d = alloc(be, N, D0, { pre: 18 });
            be.colSum(d.ptr, x.ptr, M, N, acc);
            expectClose(`colSum ${be.name} ${M}x${N} acc=${acc}`, read(d), ref, (j) => 2 * (M + 1) * U * mag[j]);
            expectGuards(`colSum ${be.name}`, d);
            freeAll(x, d);
          }
        }
      }
    }
  });

  it("argmaxRows: first maximum; ties, NaN (the maximum, first one wins), infinities, ±0", () => {
    const g = new Generator(22);
    const argmaxRef = (row: Float32Array): number => {
      for (let j = 0; j < row.length; j++) if (Number.isNaN(row[j])) return j;
      let best = 0;
      for (let j = 1; j < row.length; j++) if (row[j] > row[best]) best = j;
      return best;
    };
    for (const N of [...ODD, 4, 8]) {
      const rows: Float32Array[] = [];
      const plain = () => randArray(g, N, -5, 5);
      rows.push(plain());
      rows.push(new Float32Array(N).fill(2)); // all equal: 0
      rows.push(new Float32Array(N).fill(-Infinity));
      if (N > 1) {
        let r = plain(); r[N - 1] = 9; r[Math.floor(N / 2)] = 9; rows.push(r); // tie: the earlier
        r = plain(); r[0] = NaN; rows.push(r);
        r = plain(); r[N - 1] = NaN; rows.push(r);
        r = plain(); r[N - 1] = NaN; r[Math.floor((N - 1) / 2)] = NaN; rows.push(r);
        r = plain(); r[0] = 100; r[N - 1] = NaN; rows.push(r); // NaN after the maximum still wins
        r = plain(); r[N - 1] = Infinity; rows.push(r);
        r = new Float32Array(N).fill(-1); r[0] = -0; r[N - 1] = 0; rows.push(r); // -0 == +0: first
        r = new Float32Array(N).fill(-Infinity); r[N - 1] = -3e38; rows.push(r);
      } else {
        rows.push(new Float32Array([NaN]));
      }
      const M = rows.length;
      const X = new Float32Array(M * N);
      rows.forEach((r, i) => X.set(r, i * N));
      const ref = rows.map(argmaxRef);
      for (const be of BACKENDS) {
        const x = alloc(be, M * N, X), d = alloc(be, M, null, { pre: 17 });
        be.argmaxRows(d.ptr, x.ptr, M, N);
        expect(Array.from(readI32(d)), `argmaxRows ${be.name} N=${N}`).toEqual(ref);
        expectGuards(`argmaxRows ${be.name}`, d);
        freeAll(x, d);
      }
    }
  });
});

// ---- losses and (log-)softmax ------------------------------------------------------------------

/** float64 log Σ exp of a row. */
function lse64(x: ArrayLike<number>, o: number, C: number): number {
  let m = -Infinity;
  for (let j = 0; j < C; j++) m = Math.max(m, x[o + j]);
  let s = 0;
  for (let j = 0; j < C; j++) s += Math.exp(x[o + j] - m);
  return m + Math.log(s);
}

/** Bound on the float32 error of a row's log-sum-exp (C-term sum, max and log roundings). */
function lseErr(x: ArrayLike<number>, o: number, C: number, l: number): number {
  let mx = 0;
  for (let j = 0; j < C; j++) mx = Math.max(mx, Math.abs(x[o + j]));
  return (2 * C + 8) * U + 4 * U * (Math.abs(l) + mx);
}

const LOSS_SHAPES: [number, number][] = [[1, 1], [1, 3], [3, 5], [5, 17], [3, 1001], [4, 8], [7, 4]];

describe("softmax cross-entropy (fused)", () => {
  const cases = (g: Generator) => LOSS_SHAPES.map(([M, C]) => ({ M, C, X: randArray(g, M * C, -4, 4), L: randLabels(g, M, C) }));

  function checkXent(M: number, C: number, X: Float32Array, L: Int32Array, tag: string): void {
    const lse = new Float64Array(M), loss = new Float64Array(M), err = new Float64Array(M);
    let total = 0;
    for (let i = 0; i < M; i++) {
      lse[i] = lse64(X, i * C, C);
      loss[i] = lse[i] - X[i * C + L[i]];
      err[i] = lseErr(X, i * C, C, lse[i]) + 2 * U * Math.abs(loss[i]);
      total += loss[i];
    }
    const g = new Generator(M * 1000 + C);
    const scales = randArray(g, M, -2, 2);
    for (const be of BACKENDS) {
      const x = alloc(be, M * C, X), lab = alloc(be, M, L, { int: true });
      const losses = alloc(be, M, null, { pre: 17 }), l = alloc(be, M, null, { pre: 18 });
      for (const withLosses of [true, false]) {
        const t = be.softmaxXentForward(x.ptr, lab.ptr, M, C, withLosses ? losses.ptr : 0, l.ptr);
        const tag2 = `${tag} ${be.name} ${M}x${C}`;
        expect(Number.isFinite(t), `${tag2}: total finite`).toBe(true);
        expect(Math.abs(t - total), `${tag2}: total ${t} vs ${total}`).toBeLessThanOrEqual(err.reduce((a, b) => a + b, 0));
        expectClose(`${tag2}: lse`, read(l), lse, (i) => err[i]);
        if (withLosses) expectClose(`${tag2}: losses`, read(losses), loss, (i) => err[i]);
      }
      expectGuards(`xent forward ${be.name}`, losses, l);
      // backward: (softmax - onehot) · scale · scales[i]
      for (const [scale, useScales] of [[1, false], [0.25, false], [-1.5, true]] as const) {
        const dx = alloc(be, M * C, null, { pre: 19 }), sc = alloc(be, M, scales);
        be.softmaxXentBackward(dx.ptr, x.ptr, lab.ptr, l.ptr, M, C, scale, useScales ? sc.ptr : 0);
        const got = read(dx);
        const ref = new Float64Array(M * C), tol = new Float64Array(M * C);
        for (let i = 0; i < M; i++) {
          const s = scale * (useScales ? scales[i] : 1);
          for (let j = 0; j < C; j++) {
            const p = Math.exp(X[i * C + j] - lse[i]);
            ref[i * C + j] = (j === L[i] ? p - 1 : p) * s;
            tol[i * C + j] = Math.abs(s) * (p * (err[i] + 4 * U) + 4 * U) + 1e-37;
          }
        }
        expect(got.every(Number.isFinite), `${tag} backward finite ${be.name}`).toBe(true);
        expectClose(`${tag} backward ${be.name} ${M}x${C} scale=${scale} scales=${useScales}`, got, ref, (k) => tol[k]);
        expectGuards(`xent backward ${be.name}`, dx);
        freeAll(dx, sc);
      }
      freeAll(x, lab, losses, l);
    }
  }

  it("forward (losses, lse, total) and backward (scale, per-row scales) vs float64", () => {
    for (const { M, C, X, L } of cases(new Generator(30))) checkXent(M, C, X, L, "xent");
  });

  it("large logits (±1e4) stay finite and correct", () => {
    const g = new Generator(31);
    for (const [M, C] of [[4, 3], [5, 17], [3, 1001]]) {
      const X = randArray(g, M * C, -1e4, 1e4);
      for (let i = 0; i < M * C; i++) if (g.random() < 0.3) X[i] = g.random() < 0.5 ? 1e4 : -1e4;
      X[0] = 1e4; X[1] = 1e4; // a tie at the top of row 0
      const L = randLabels(g, M, C);
      L[0] = 1;
      checkXent(M, C, X, L, "xent ±1e4");
    }
  });
});

describe("log-softmax, softmax, nll, mse", () => {
  it("logSoftmax forward and backward", () => {
    const g = new Generator(40);
    for (const [M, C] of LOSS_SHAPES) {
      for (const range of [4, 1e4]) {
        const X = randArray(g, M * C, -range, range), DY = randArray(g, M * C, -1, 1);
        const yRef = new Float64Array(M * C), yTol = new Float64Array(M * C);
        for (let i = 0; i < M; i++) {
          const l = lse64(X, i * C, C), e = lseErr(X, i * C, C, l);
          for (let j = 0; j < C; j++) {
            yRef[i * C + j] = X[i * C + j] - l;
            yTol[i * C + j] = e + 2 * U * Math.abs(yRef[i * C + j]);
          }
        }
        // Backward is fed the float32 forward output, as autograd does.
        const Y = Float32Array.from(yRef);
        const dxRef = new Float64Array(M * C), dxTol = new Float64Array(M * C);
        for (let i = 0; i < M; i++) {
          let s = 0, sAbs = 0;
          for (let j = 0; j < C; j++) { s += DY[i * C + j]; sAbs += Math.abs(DY[i * C + j]); }
          for (let j = 0; j < C; j++) {
            const p = Math.exp(Y[i * C + j]);
            dxRef[i * C + j] = DY[i * C + j] - p * s;
            dxTol[i * C + j] = 4 * U * Math.abs(DY[i * C + j]) + p * sAbs * (C + 8) * U + 1e-37;
          }
        }
        for (const be of BACKENDS) {
          const x = alloc(be, M * C, X), y = alloc(be, M * C, null, { pre: 17 });
          be.logSoftmaxForward(y.ptr, x.ptr, M, C);
          expectClose(`logSoftmax ${be.name} ${M}x${C} ±${range}`, read(y), yRef, (k) => yTol[k]);
          expectGuards(`logSoftmax ${be.name}`, y);
          const yy = alloc(be, M * C, Y), dy = alloc(be, M * C, DY), dx = alloc(be, M * C, null, { pre: 18 });
          be.logSoftmaxBackward(dx.ptr, dy.ptr, yy.ptr, M, C);
          expectClose(`logSoftmaxBackward ${be.name} ${M}x${C}`, read(dx), dxRef, (k) => dxTol[k]);
          expectGuards(`logSoftmaxBackward ${be.name}`, dx);
          freeAll(x, y, yy, dy, dx);
        }
      }
    }
  });

  it("softmax forward and backward", () => {
    const g = new Generator(41);
    for (const [M, C] of LOSS_SHAPES) {
      for (const range of [4, 1e4]) {
        const X = randArray(g, M * C, -range, range), DY = randArray(g, M * C, -1, 1);
        const yRef = new Float64Array(M * C), yTol = new Float64Array(M * C);
        for (let i = 0; i < M; i++) {
          const l = lse64(X, i * C, C), e = lseErr(X, i * C, C, l);
          for (let j = 0; j < C; j++) {
            yRef[i * C + j] = Math.exp(X[i * C + j] - l);
            yTol[i * C + j] = yRef[i * C + j] * (e + 8 * U) + 1e-37;
          }
        }
        const Y = Float32Array.from(yRef);
        const dxRef = new Float64Array(M * C), dxTol = new Float64Array(M * C);
        for (let i = 0; i < M; i++) {
          let s = 0, sAbs = 0;
          for (let j = 0; j < C; j++) { s += DY[i * C + j] * Y[i * C + j]; sAbs += Math.abs(DY[i * C + j] * Y[i * C + j]); }
          for (let j = 0; j < C; j++) {
            const y = Y[i * C + j], dy = DY[i * C + j];
            dxRef[i * C + j] = y * (dy - s);
            dxTol[i * C + j] = y * (Math.abs(dy) + sAbs) * (C + 8) * U + 1e-37;
          }
        }
        for (const be of BACKENDS) {
          const x = alloc(be, M * C, X), y = alloc(be, M * C, null, { pre: 17 });
          be.softmaxForward(y.ptr, x.ptr, M, C);
          const got = read(y);
          expect(got.every(Number.isFinite), `softmax finite ${be.name}`).toBe(true);
          expectClose(`softmax ${be.name} ${M}x${C} ±${range}`, got, yRef, (k) => yTol[k]);
          expectGuards(`softmax ${be.name}`, y);
          const yy = alloc(be, M * C, Y), dy = alloc(be, M * C, DY), dx = alloc(be, M * C, null, { pre: 18 });
          be.softmaxBackward(dx.ptr, dy.ptr, yy.ptr, M, C);
          expectClose(`softmaxBackward ${be.name} ${M}x${C}`, read(dx), dxRef, (k) => dxTol[k]);
          expectGuards(`softmaxBackward ${be.name}`, dx);
          freeAll(x, y, yy, dy, dx);
        }
      }
    }
  });

  it("nll forward and backward", () => {
    const g = new Generator(42);
    for (const [M, C] of LOSS_SHAPES) {
      const X = randArray(g, M * C, -5, 0), L = randLabels(g, M, C), scales = randArray(g, M, -2, 2);
      const losses = Array.from(L, (c, i) => -X[i * C + c]);
      const total = losses.reduce((a, b) => a + b, 0);
      for (const be of BACKENDS) {
        const x = alloc(be, M * C, X), lab = alloc(be, M, L, { int: true }), out = alloc(be, M, null, { pre: 17 });
        const t = be.nllForward(x.ptr, lab.ptr, M, C, out.ptr);
        expect(Math.abs(t - total), `nll total ${be.name}`).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(total)));
        expectBitwise(`nll losses ${be.name} ${M}x${C}`, read(out), losses);
        expectGuards(`nll ${be.name}`, out);
        expect(be.nllForward(x.ptr, lab.ptr, M, C, 0)).toBe(t);
        for (const [scale, useScales] of [[0.5, false], [-3, true]] as const) {
          const dx = alloc(be, M * C, randArray(g, M * C), { pre: 18 }), sc = alloc(be, M, scales);
          be.nllBackward(dx.ptr, lab.ptr, M, C, scale, useScales ? sc.ptr : 0);
          const ref = new Float64Array(M * C);
          for (let i = 0; i < M; i++) ref[i * C + L[i]] = -scale * (useScales ? scales[i] : 1);
          expectClose(`nllBackward ${be.name} ${M}x${C}`, read(dx), ref, (k) => 2 * U * Math.abs(ref[k]));
          expectGuards(`nllBackward ${be.name}`, dx);
          freeAll(dx, sc);
        }
        freeAll(x, lab, out);
      }
    }
  });

  it("mse forward (sum, per-element squares) and backward (scale, per-element scales)", () => {
    const g = new Generator(43);
    for (const n of LENGTHS) {
      const A = randArray(g, n, -3, 3), B = randArray(g, n, -3, 3), scales = randArray(g, n, -2, 2);
      const sq = Array.from(A, (a, i) => (a - B[i]) ** 2);
      const total = sq.reduce((a, b) => a + b, 0);
      for (const be of BACKENDS) {
        const a = alloc(be, n, A), b = alloc(be, n, B), out = alloc(be, n, null, { pre: 17 });
        const t = be.mseForward(a.ptr, b.ptr, n, out.ptr);
        expect(Math.abs(t - total), `mse total ${be.name} n=${n}`).toBeLessThanOrEqual(4 * U * total + 1e-30);
        expectClose(`mse squares ${be.name} n=${n}`, read(out), sq, (i) => 4 * U * sq[i]);
        expectGuards(`mse ${be.name}`, out);
        expect(be.mseForward(a.ptr, b.ptr, n, 0)).toBe(t);
        for (const [scale, useScales] of [[2 / n, false], [-0.7, true]] as const) {
          const dx = alloc(be, n, null, { pre: 18 }), sc = alloc(be, n, scales);
          be.mseBackward(dx.ptr, a.ptr, b.ptr, n, scale, useScales ? sc.ptr : 0);
          const ref = Array.from(A, (v, i) => (v - B[i]) * scale * (useScales ? scales[i] : 1));
          expectClose(`mseBackward ${be.name} n=${n}`, read(dx), ref, (i) => 4 * U * Math.abs(ref[i]) + 1e-37);
          expectGuards(`mseBackward ${be.name}`, dx);
          freeAll(dx, sc);
        }
        freeAll(a, b, out);
      }
    }
  });
});

// ---- optimizer steps: wasm against js over odd lengths (exact rules: optim-kernels.test.ts) ----

describe("optimizer kernels, wasm vs js", () => {
  it("sgdStep over all flag combinations", () => {
    const g = new Generator(50);
    for (const n of ODD) {
      for (const [momentum, damp, wd, nesterov, maximize] of [
        [0, 0, 0, false, false], [0.9, 0, 0, false, false], [0.9, 0.3, 0.01, true, false], [0.5, 0.1, 0.05, false, true],
      ] as const) {
        const P = randArray(g, n), results: Float32Array[][] = [];
        const grads = [randArray(g, n), randArray(g, n), randArray(g, n)];
        for (const be of BACKENDS) {
          const p = alloc(be, n, P), gr = alloc(be, n), buf = alloc(be, n, null, { pre: 17 });
          grads.forEach((G, step) => {
            be.f32().set(G, gr.ptr >> 2);
            be.sgdStep(p.ptr, gr.ptr, momentum ? buf.ptr : 0, n, 0.1, momentum, 1 - damp, wd, nesterov, step === 0, maximize);
          });
          expectGuards(`sgd ${be.name}`, p, buf);
          results.push([read(p), read(buf)]);
          freeAll(p, gr, buf);
        }
        const tol = (i: number) => 1e-6 * (1 + Math.abs(results[1][0][i]));
        expectClose(`sgd p wasm vs js n=${n} m=${momentum}`, results[0][0], results[1][0], tol);
        if (momentum) expectClose(`sgd buf wasm vs js n=${n}`, results[0][1], results[1][1], (i) => 1e-6 * (1 + Math.abs(results[1][1][i])));
      }
    }
  });

  it("adamStep over all flag combinations", () => {
    const g = new Generator(51);
    const b1 = 0.9, b2 = 0.999, lr = 0.01;
    for (const n of ODD) {
      for (const [wd, decoupled, amsgrad, maximize] of [
        [0, false, false, false], [0.1, false, true, false], [0.1, true, false, true], [0.05, true, true, false],
      ] as const) {
        const P = randArray(g, n), grads = [randArray(g, n), randArray(g, n, -0.1, 0.1), randArray(g, n)];
        const results: Float32Array[][] = [];
        for (const be of BACKENDS) {
          const p = alloc(be, n, P), gr = alloc(be, n), m = alloc(be, n, new Float32Array(n)),
            v = alloc(be, n, new Float32Array(n), { pre: 17 }), vm = alloc(be, n, new Float32Array(n), { pre: 18 });
          grads.forEach((G, s) => {
            const t = s + 1;
            be.f32().set(G, gr.ptr >> 2);
            be.adamStep(p.ptr, gr.ptr, m.ptr, v.ptr, amsgrad ? vm.ptr : 0, n, 1 - b1, b2, 1 - b2, 1e-8, wd,
                        1 - lr * wd, decoupled, amsgrad, maximize, lr / (1 - b1 ** t), Math.sqrt(1 - b2 ** t));
          });
          expectGuards(`adam ${be.name}`, p, m, v, vm);
          results.push([read(p), read(m), read(v), read(vm)]);
          freeAll(p, gr, m, v, vm);
        }
        // m is an average of gradients of both signs: it can cancel to far below their size, so
        // the tolerance scales with the largest value of each state, not only the element's own.
        for (let k = 0; k < 4; k++) {
          const ref = results[1][k];
          const big = ref.reduce((a, b) => Math.max(a, Math.abs(b)), 0);
          expectClose(`adam state ${k} wasm vs js n=${n}`, results[0][k], ref, (i) => 1e-5 * Math.abs(ref[i]) + 1e-6 * big);
        }
      }
    }
  });
});

describe("scalar arguments", () => {
  it("affine and axpy give the same bits on both backends for scalars that are not float32", () => {
    const g = new Generator(17);
    const src = Float32Array.from({ length: 1001 }, () => g.normal() * 7);
    const results = BACKENDS.map((be) => {
      const a = alloc(be, src.length, src);
      const d = alloc(be, src.length);
      be.affine(d.ptr, a.ptr, 1 / 3, Math.PI, src.length);
      be.axpy(d.ptr, a.ptr, Math.E / 10, src.length);
      const out = read(d);
      freeAll(a, d);
      return Array.from(out);
    });
    expect(results[1]).toEqual(results[0]);
  });
});
