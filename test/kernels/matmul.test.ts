// The gemm kernels (assembly/matmul.ts): wasm SIMD and the plain-JS reference, on seeded random data over odd and aligned
// sizes, against float64 references (or bit-exactly, where the result is one IEEE operation).
import { describe, expect, it } from "vitest";
import type { Backend, GemmForm } from "../../src/backend/index.js";
import { Generator } from "../../src/random.js";
import { BACKENDS, wasm, SENTINEL, U, alloc, expectBitwise, expectClose, expectGuards, f32, freeAll, randArray, read } from "./buffers.js";

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
  const lda = aCols + opts.padA,
    ldb = bCols + opts.padB,
    ldc = N + opts.padC;
  const strided = (rows: number, cols: number, ld: number, pad: number) => {
    const a = new Float32Array(rows === 0 ? 0 : (rows - 1) * ld + cols).fill(pad);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) a[r * ld + c] = g.uniform(-1, 1);
    return a;
  };
  return {
    form,
    M,
    N,
    K,
    lda,
    ldb,
    ldc,
    opts,
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
  const ref = new Float64Array(M * N),
    mag = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = d.opts.acc ? d.C0[i * d.ldc + j] : 0;
      let m = Math.abs(s);
      if (d.opts.bias) {
        s += d.bias[j];
        m += Math.abs(d.bias[j]);
      }
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
      [1, 33, 257],
      [2, 17, 784],
      [3, 100, 785],
      [4, 9, 257],
      [5, 128, 33],
      [7, 257, 9],
      [8, 785, 5],
      [9, 784, 17],
      [17, 33, 785],
      [33, 17, 257],
      [128, 100, 9],
      [257, 8, 100],
      [784, 3, 33],
      [785, 1, 128],
      [100, 128, 257],
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
    for (const form of FORMS)
      for (const opts of OPTS)
        for (const [M, N] of [
          [1, 1],
          [3, 5],
          [9, 17],
        ])
          checkGemm(g, form, M, N, 0, opts);
  });

  it("wasm: bits do not depend on how rows are split (documented: fixed summation order on every path)", () => {
    const g = new Generator(5);
    for (const form of FORMS) {
      for (const opts of OPTS) {
        const M = 9,
          N = 17,
          K = 300;
        const d = gemmData(g, form, M, N, K, opts);
        const full = runGemm(wasm, d, `split ${form}`);
        // Row blocks of the same problem; 'nt' keeps blocks of ≥ 4 rows (fewer take the dot path).
        const blocks =
          form === "nt"
            ? [
                [0, 4],
                [4, 9],
              ]
            : Array.from({ length: M }, (_, i) => [i, i + 1]);
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
        for (const [M, N, K] of [
          [4, 8, 3],
          [5, 9, 257],
          [9, 17, 513],
          [7, 33, 40],
        ]) {
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
