// Fused scaled-dot-product attention (assembly/attention.ts, src/ops/attention.ts): forward and all
// three gradients against a float64 reference written here, wasm bitwise equal to its js twin,
// strided (head-split) inputs equal to dense ones, tiles and row blocks with tails, masks
// (bool, float, broadcast), causal, fully masked rows, the composed form, and bad input.
import { describe, expect, it } from "vitest";
import { createBackend } from "../../src/backend/index.js";
import type { Backend } from "../../src/backend/backend.js";
import { ShapeError, type Tensor, ValueError, nn, tensor } from "../../src/index.js";
import { attentionComposed, fusedAttention } from "../../src/ops/attention.js";
import { Generator } from "../../src/random.js";
import { thrown } from "../helpers/errors.js";
import { workersReady } from "../helpers/threads.js";

const BACKENDS = [createBackend("wasm"), createBackend("js")];
const F = nn.functional;

interface Case {
  B: number;
  H: number;
  T: number;
  S: number;
  D: number;
  causal?: boolean;
  mask?: "bool" | "float" | "headsBroadcast";
}

const CASES: Case[] = [
  { B: 1, H: 1, T: 1, S: 1, D: 1 },
  { B: 2, H: 3, T: 5, S: 7, D: 3 },
  { B: 1, H: 2, T: 9, S: 9, D: 8, causal: true },
  { B: 1, H: 1, T: 70, S: 130, D: 6 },
  { B: 1, H: 2, T: 67, S: 67, D: 16, causal: true },
  { B: 2, H: 2, T: 6, S: 11, D: 5, mask: "bool" },
  { B: 1, H: 3, T: 4, S: 66, D: 4, mask: "float" },
  { B: 2, H: 2, T: 5, S: 5, D: 7, mask: "headsBroadcast" },
];

/** Inputs of a case as float32 values (a mask with every row keeping at least one key). */
function inputs(c: Case, seed: number) {
  const g = new Generator(seed);
  const r = (n: number) => Float32Array.from({ length: n }, () => g.normal());
  const q = r(c.B * c.H * c.T * c.D),
    k = r(c.B * c.H * c.S * c.D),
    v = r(c.B * c.H * c.S * c.D),
    dout = r(c.B * c.H * c.T * c.D);
  let mask: { shape: number[]; values: number[]; bool: boolean } | null = null;
  if (c.mask) {
    const Hm = c.mask === "headsBroadcast" ? 1 : c.H;
    const n = c.B * Hm * c.T * c.S;
    const bool = c.mask !== "float";
    const values = Array.from({ length: n }, (_, i) => {
      if (i % c.S === 0) return bool ? 1 : 0.5; // key 0 always visible
      return bool ? (g.random() < 0.6 ? 1 : 0) : g.normal() * 2;
    });
    mask = { shape: [c.B, Hm, c.T, c.S], values, bool };
  }
  return { q, k, v, dout, mask };
}

/** float64 attention with its gradients, straight from the definition. */
function reference(c: Case, x: ReturnType<typeof inputs>, scale: number) {
  const { B, H, T, S, D } = c;
  const o = new Float64Array(B * H * T * D),
    dq = new Float64Array(B * H * T * D),
    dk = new Float64Array(B * H * S * D),
    dv = new Float64Array(B * H * S * D);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const bh = b * H + h;
      for (let i = 0; i < T; i++) {
        const s = new Float64Array(S);
        for (let j = 0; j < S; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += x.q[(bh * T + i) * D + d] * x.k[(bh * S + j) * D + d];
          s[j] = dot * scale;
          if (c.causal && j > i) s[j] = -Infinity;
          if (x.mask) {
            const hm = x.mask.shape[1] === 1 ? 0 : h;
            const mv = x.mask.values[((b * x.mask.shape[1] + hm) * T + i) * S + j];
            s[j] = x.mask.bool ? (mv ? s[j] : -Infinity) : s[j] + mv;
          }
        }
        const m = Math.max(...s);
        const p = Array.from(s, (z) => Math.exp(z - m));
        const sum = p.reduce((a, z) => a + z, 0);
        for (let j = 0; j < S; j++) p[j] /= sum;
        const g = Array.from({ length: D }, (_, d) => x.dout[(bh * T + i) * D + d]);
        const dp = new Float64Array(S);
        for (let j = 0; j < S; j++)
          for (let d = 0; d < D; d++) {
            o[(bh * T + i) * D + d] += p[j] * x.v[(bh * S + j) * D + d];
            dp[j] += g[d] * x.v[(bh * S + j) * D + d];
            dv[(bh * S + j) * D + d] += p[j] * g[d];
          }
        let delta = 0;
        for (let j = 0; j < S; j++) delta += p[j] * dp[j];
        for (let j = 0; j < S; j++) {
          const ds = p[j] * (dp[j] - delta) * scale;
          for (let d = 0; d < D; d++) {
            dq[(bh * T + i) * D + d] += ds * x.k[(bh * S + j) * D + d];
            dk[(bh * S + j) * D + d] += ds * x.q[(bh * T + i) * D + d];
          }
        }
      }
    }
  return { o, dq, dk, dv };
}

function run(be: Backend, c: Case, x: ReturnType<typeof inputs>, layout: "dense" | "strided") {
  const opt = { backend: be };
  const { B, H, T, S, D } = c;
  // strided: q, k, v as head views of (B, T, H, D) buffers, as a projection would give them.
  const make = (vals: Float32Array, n: number) => {
    if (layout === "dense") {
      const leaf = tensor(vals, { shape: [B, H, n, D], requiresGrad: true, ...opt });
      return { leaf, view: leaf, dense: true };
    }
    const bthd = new Float32Array(vals.length);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let t = 0; t < n; t++) for (let d = 0; d < D; d++) bthd[((b * n + t) * H + h) * D + d] = vals[((b * H + h) * n + t) * D + d];
    const leaf = tensor(bthd, { shape: [B, n, H, D], requiresGrad: true, ...opt });
    return { leaf, view: leaf.transpose(1, 2), dense: false };
  };
  const q = make(x.q, T),
    k = make(x.k, S),
    v = make(x.v, S);
  const attnMask = x.mask ? tensor(x.mask.values, { shape: x.mask.shape, dtype: x.mask.bool ? "bool" : "float32", ...opt }) : null;
  const out = F.scaledDotProductAttention(q.view, k.view, v.view, { attnMask, isCausal: c.causal ?? false });
  out.backward(tensor(x.dout, { shape: [B, H, T, D], ...opt }));
  // gradients back in (B,H,n,D) order
  const gradOf = (t: { leaf: Tensor; dense: boolean }) => (t.dense ? t.leaf.grad! : t.leaf.grad!.transpose(1, 2).contiguous()).toArray();
  return { o: out.toArray(), dq: gradOf(q), dk: gradOf(k), dv: gradOf(v) };
}

/** A factory of tensors of standard-normal values on `be`, drawn from a generator seeded with `seed`. */
function normals(seed: number, be: Backend, requiresGrad = false) {
  const g = new Generator(seed);
  return (...shape: number[]) =>
    tensor(
      Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => g.normal()),
      { shape, backend: be, requiresGrad },
    );
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string) {
  expect(got.length, what).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1e-3 + Math.abs(want[i])));
  expect(worst, what).toBeLessThan(2e-4);
}

describe("scaledDotProductAttention (fused)", () => {
  it.each(CASES.map((c) => [JSON.stringify(c), c] as const))("matches float64 and is bitwise equal across backends %s", (_n, c) => {
    const x = inputs(c, 7 + c.T);
    const ref = reference(c, x, 1 / Math.sqrt(c.D));
    const results = BACKENDS.flatMap((be) => [run(be, c, x, "dense"), run(be, c, x, "strided")]);
    for (const [name, key] of [
      ["output", "o"],
      ["dq", "dq"],
      ["dk", "dk"],
      ["dv", "dv"],
    ] as const) {
      expectClose(results[0][key], ref[key], `${name} vs float64`);
      for (const r of results.slice(1)) expect(Array.from(r[key]), `${name}: wasm/js, dense/strided bitwise`).toEqual(Array.from(results[0][key]));
    }
  });

  it("equals the composed form (matmul → softmax → matmul) in float32 and explicit scale", () => {
    for (const be of BACKENDS) {
      const r = normals(3, be);
      const [q, k, v] = [r(2, 3, 10, 8), r(2, 3, 12, 8), r(2, 3, 12, 8)];
      const fused = F.scaledDotProductAttention(q, k, v, { scale: 0.3 }).toArray();
      const composed = attentionComposed(q, k, v, null, 0.3, false, 0).toArray();
      expectClose(fused, composed, "fused vs composed");
    }
  });

  it("takes 3-D and 5-D inputs and broadcasts key/value batch dims", () => {
    const be = BACKENDS[0];
    const r = normals(4, be);
    const q3 = r(4, 5, 6),
      k3 = r(4, 7, 6),
      v3 = r(4, 7, 6);
    expect(F.scaledDotProductAttention(q3, k3, v3).shape).toEqual([4, 5, 6]);
    const q5 = r(2, 2, 3, 5, 4),
      k5 = r(2, 1, 3, 6, 4),
      v5 = r(2, 1, 3, 6, 4);
    const out = F.scaledDotProductAttention(q5, k5, v5);
    expect(out.shape).toEqual([2, 2, 3, 5, 4]);
    const expanded = F.scaledDotProductAttention(q5, k5.expand(2, 2, 3, 6, 4).contiguous(), v5.expand(2, 2, 3, 6, 4).contiguous());
    expect(out.toArray()).toEqual(expanded.toArray());
  });

  it("a row that sees no key gives NaN, as torch's softmax over all -inf", () => {
    for (const be of BACKENDS) {
      const q = tensor(
        [
          [1, 2],
          [3, 4],
        ],
        { backend: be },
      );
      const mask = tensor(
        [
          [true, false],
          [false, false],
        ],
        { backend: be },
      );
      const out = F.scaledDotProductAttention(q, q, q, { attnMask: mask }).tolist() as number[][];
      expect(out[0].every(Number.isFinite)).toBe(true);
      expect(out[1].every(Number.isNaN)).toBe(true);
    }
  });

  it("dropout runs the composed form: p = 1 gives zeros, p = 0 the fused result", () => {
    const be = BACKENDS[0];
    const r = normals(5, be);
    const [q, k, v] = [r(1, 2, 4, 4), r(1, 2, 4, 4), r(1, 2, 4, 4)];
    expect(
      F.scaledDotProductAttention(q, k, v, { dropoutP: 1 })
        .toArray()
        .every((z) => z === 0),
    ).toBe(true);
    const kept = F.scaledDotProductAttention(q, k, v, { dropoutP: 0.5, generator: new Generator(1) }).toArray();
    expect(kept.some((z) => z === 0) || kept.length > 0).toBe(true);
  });

  it("causal offset (bottom-right alignment) equals an explicit mask", () => {
    for (const be of BACKENDS) {
      const r = normals(6, be);
      const [q, k, v] = [r(1, 2, 3, 4), r(1, 2, 8, 4), r(1, 2, 8, 4)];
      const viaOffset = fusedAttention(q, k, v, null, 0.5, true, 5, "bhtd").toArray();
      const m = tensor(
        Array.from({ length: 24 }, (_, n) => Math.floor(n % 8) <= Math.floor(n / 8) + 5),
        { shape: [3, 8], backend: be },
      );
      const viaMask = F.scaledDotProductAttention(q, k, v, { attnMask: m, scale: 0.5 }).toArray();
      expect(Array.from(viaOffset)).toEqual(Array.from(viaMask));
    }
  });

  it("bad input names the problem", () => {
    const be = BACKENDS[0];
    const z = (...s: number[]) => tensor(new Float32Array(s.reduce((a, b) => a * b)), { shape: s, backend: be });
    expect(thrown(ShapeError, () => F.scaledDotProductAttention(z(2, 3, 4), z(2, 5, 6), z(2, 5, 6))).message).toMatch(
      /query \[2, 3, 4\] and key \[2, 5, 6\] differ in the last dim \(4 ≠ 6\)/,
    );
    expect(thrown(ShapeError, () => F.scaledDotProductAttention(z(2, 3, 4), z(2, 5, 4), z(2, 6, 4))).message).toMatch(/sequence dim \(5 ≠ 6\)/);
    expect(thrown(ShapeError, () => F.scaledDotProductAttention(z(4), z(4), z(4))).message).toMatch(/at least 2 dims/);
    expect(thrown(ValueError, () => F.scaledDotProductAttention(z(3, 4), z(3, 4), z(3, 4), { attnMask: z(3, 3), isCausal: true })).message).toMatch(
      /either attnMask or isCausal/,
    );
    expect(thrown(ShapeError, () => F.scaledDotProductAttention(z(3, 4), z(5, 4), z(5, 4), { attnMask: z(3, 4) })).message).toMatch(
      /attnMask of shape \[3, 4\] does not broadcast to the scores' shape \[3, 5\]/,
    );
    expect(thrown(ValueError, () => F.scaledDotProductAttention(z(3, 4), z(3, 4), z(3, 4), { isCasual: true } as never)).message).toMatch(/isCasual/);
    expect(thrown(ValueError, () => F.scaledDotProductAttention(z(3, 4), z(3, 4), z(3, 4), { dropoutP: 1.5 })).message).toMatch(/dropoutP/);
  });
});

describe("fused attention on threads", () => {
  it("splits (batch, head) pairs over 2 threads with the same bits as 1 thread, forward and backward", async () => {
    const results: number[][] = [];
    for (const threads of [1, 2]) {
      const be = createBackend("wasm");
      expect(be.setNumThreads(threads)).toBe(threads);
      await workersReady(be);
      const r = normals(11, be, true);
      // 4·T²·D·pairs = 19.7 MFLOP forward: past the split threshold of a worker that is not spinning
      const [q, k, v] = [r(3, 4, 160, 16), r(3, 4, 160, 16), r(3, 4, 160, 16)];
      const out = fusedAttention(q, k, v, null, 0.25, true, 0, "bhtd");
      out.mul(out).sum().backward();
      results.push([...out.toArray(), ...q.grad!.toArray(), ...k.grad!.toArray(), ...v.grad!.toArray()]);
      if (threads === 2) expect(be.threadStats()!.splits, "the pool took slices").toBeGreaterThan(0);
      be.setNumThreads(1);
    }
    expect(results[1]).toEqual(results[0]);
  });
});
