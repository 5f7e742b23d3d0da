// sgdStep on both backends against PyTorch's documented update rules, evaluated
// here in float64 over several steps:
//   https://pytorch.org/docs/stable/generated/torch.optim.SGD.html
//   https://pytorch.org/docs/stable/generated/torch.optim.Adam.html
//   https://pytorch.org/docs/stable/generated/torch.optim.AdamW.html
// The kernels take precomputed scalars (assembly/sgd.ts and assembly/adam.ts): 1 - dampening, stepSize = lr/(1-β1^t),
// bc2Sqrt = sqrt(1-β2^t), decay = 1 - lr·λ. The references below use the documented formulas
// directly (m̂ = m/(1-β1^t), v̂ = v/(1-β2^t), ...), not those scalars. Each suite also checks that
// plausible wrong rules (eps inside the sqrt, dampened first momentum step, ...) are rejected,
// so the comparisons are known to be sharp enough to fail.
import { describe, expect, it } from "vitest";
import type { Backend } from "../../src/backend/index.js";
import { Generator } from "../../src/random.js";

const STEPS = 5;
import { BACKENDS, LENGTHS, mismatch, randArray, tracked } from "./optimizer-reference.js";
import * as bufs from "./buffers.js";

// ---- SGD ---------------------------------------------------------------------------------------

interface SgdConfig {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}

/** Wrong rules the test must be able to tell apart from the right one. */
type SgdVariant = "torch" | "dampenFirstStep" | "bufStartsAtZero" | "decayAfterMaximize" | "nesterovOff";

/**
 * torch.optim.SGD, as documented:
 *   g ← ∇ (−∇ if maximize); if λ ≠ 0: g ← g + λθ
 *   if μ ≠ 0: b ← (t > 1 ? μ b + (1−τ) g : g); g ← (nesterov ? g + μ b : b)
 *   θ ← θ − γ g
 */
function sgdReference(P: Float32Array, grads: Float32Array[], c: SgdConfig, variant: SgdVariant = "torch") {
  const p = tracked(P);
  const buf = tracked(new Float64Array(P.length));
  grads.forEach((G, s) => {
    const t = s + 1;
    for (let i = 0; i < P.length; i++) {
      let g = G[i];
      let gMag = Math.abs(G[i]);
      if (c.maximize && variant !== "decayAfterMaximize") g = -g;
      if (c.weightDecay !== 0) {
        g += c.weightDecay * p.v[i];
        gMag += Math.abs(c.weightDecay * p.v[i]);
      }
      if (c.maximize && variant === "decayAfterMaximize") g = -g;
      if (c.momentum !== 0) {
        if (t > 1 || variant === "bufStartsAtZero") {
          buf.v[i] = c.momentum * buf.v[i] + (1 - c.dampening) * g;
          buf.mag[i] = c.momentum * buf.mag[i] + Math.abs(1 - c.dampening) * gMag;
        } else if (variant === "dampenFirstStep") {
          buf.v[i] = (1 - c.dampening) * g;
          buf.mag[i] = Math.abs(1 - c.dampening) * gMag;
        } else {
          buf.v[i] = g;
          buf.mag[i] = gMag;
        }
        if (c.nesterov && variant !== "nesterovOff") {
          g = g + c.momentum * buf.v[i];
          gMag = gMag + c.momentum * buf.mag[i];
        } else {
          g = buf.v[i];
          gMag = buf.mag[i];
        }
      }
      p.v[i] -= c.lr * g;
      p.mag[i] += c.lr * gMag;
    }
  });
  return { p, buf };
}

function runSgd(be: Backend, P: Float32Array, grads: Float32Array[], c: SgdConfig) {
  const n = P.length;
  const p = be.heap.alloc(n * 4),
    g = be.heap.alloc(n * 4),
    buf = be.heap.alloc(n * 4);
  be.f32().set(P, p >> 2);
  be.f32().fill(NaN, buf >> 2, (buf >> 2) + n); // the first step must not read the buffer
  grads.forEach((G, s) => {
    be.f32().set(G, g >> 2);
    be.sgdStep(p, g, c.momentum !== 0 ? buf : 0, n, c.lr, c.momentum, 1 - c.dampening, c.weightDecay, c.nesterov, s === 0, c.maximize);
  });
  const out = { p: be.f32().slice(p >> 2, (p >> 2) + n), buf: be.f32().slice(buf >> 2, (buf >> 2) + n) };
  for (const ptr of [p, g, buf]) be.heap.free(ptr);
  return out;
}

const SGD_CONFIGS: [string, SgdConfig, SgdVariant[]][] = [
  ["plain", { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false }, []],
  // (with dampening 0, a buffer starting at zero gives the same first step: only checked with τ > 0)
  ["momentum 0.9", { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false, maximize: false }, []],
  [
    "momentum + dampening 0.5",
    { lr: 0.05, momentum: 0.9, dampening: 0.5, weightDecay: 0, nesterov: false, maximize: false },
    ["dampenFirstStep", "bufStartsAtZero"],
  ],
  ["nesterov", { lr: 0.1, momentum: 0.8, dampening: 0, weightDecay: 0, nesterov: true, maximize: false }, ["nesterovOff"]],
  ["weight decay + momentum", { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0.1, nesterov: false, maximize: false }, []],
  ["weight decay, no momentum", { lr: 0.2, momentum: 0, dampening: 0, weightDecay: 0.5, nesterov: false, maximize: false }, []],
  [
    "maximize + weight decay + dampening",
    { lr: 0.1, momentum: 0.5, dampening: 0.2, weightDecay: 0.3, nesterov: false, maximize: true },
    ["decayAfterMaximize", "dampenFirstStep"],
  ],
  [
    "nesterov + weight decay + maximize",
    { lr: 0.05, momentum: 0.7, dampening: 0, weightDecay: 0.2, nesterov: true, maximize: true },
    ["decayAfterMaximize", "nesterovOff"],
  ],
];

describe("sgdStep vs torch.optim.SGD", () => {
  for (const be of BACKENDS) {
    for (const [name, cfg, wrong] of SGD_CONFIGS) {
      it(`${be.name}: ${name}`, () => {
        const g = new Generator(name.length * 31 + 7);
        for (const n of LENGTHS) {
          const P = randArray(g, n, 1);
          const grads = Array.from({ length: STEPS }, () => randArray(g, n, 1));
          const got = runSgd(be, P, grads, cfg);
          const ref = sgdReference(P, grads, cfg);
          expect(mismatch(`${name} n=${n} param`, got.p, ref.p)).toBeNull();
          if (cfg.momentum !== 0) expect(mismatch(`${name} n=${n} momentum_buffer`, got.buf, ref.buf)).toBeNull();
          if (cfg.lr !== 0 && cfg.weightDecay === 0) {
            // The parameter change is lr · Σ(update): checked directly too, not only as part of p.
            const dRef = tracked(ref.p.v.map((v, i) => v - P[i]));
            dRef.mag.set(ref.p.mag.map((m, i) => m - Math.abs(P[i])));
            expect(
              mismatch(
                `${name} n=${n} Δparam`,
                got.p.map((v, i) => v - P[i]),
                dRef,
              ),
            ).toBeNull();
          }
          for (const variant of wrong) {
            const bad = sgdReference(P, grads, cfg, variant);
            const differs = mismatch("", got.p, bad.p) !== null || (cfg.momentum !== 0 && mismatch("", got.buf, bad.buf) !== null);
            expect(differs, `${name}: the '${variant}' rule must be distinguishable`).toBe(true);
          }
        }
      });
    }
  }
});

describe("sgdStep, wasm vs js over odd lengths", () => {
  it("sgdStep over all flag combinations", () => {
    const g = new Generator(50);
    for (const n of bufs.ODD) {
      for (const [momentum, damp, wd, nesterov, maximize] of [
        [0, 0, 0, false, false],
        [0.9, 0, 0, false, false],
        [0.9, 0.3, 0.01, true, false],
        [0.5, 0.1, 0.05, false, true],
      ] as const) {
        const P = bufs.randArray(g, n),
          results: Float32Array[][] = [];
        const grads = [bufs.randArray(g, n), bufs.randArray(g, n), bufs.randArray(g, n)];
        for (const be of bufs.BACKENDS) {
          const p = bufs.alloc(be, n, P),
            gr = bufs.alloc(be, n),
            buf = bufs.alloc(be, n, null, { pre: 17 });
          grads.forEach((G, step) => {
            be.f32().set(G, gr.ptr >> 2);
            be.sgdStep(p.ptr, gr.ptr, momentum ? buf.ptr : 0, n, 0.1, momentum, 1 - damp, wd, nesterov, step === 0, maximize);
          });
          bufs.expectGuards(`sgd ${be.name}`, p, buf);
          results.push([bufs.read(p), bufs.read(buf)]);
          bufs.freeAll(p, gr, buf);
        }
        const tol = (i: number) => 1e-6 * (1 + Math.abs(results[1][0][i]));
        bufs.expectClose(`sgd p wasm vs js n=${n} m=${momentum}`, results[0][0], results[1][0], tol);
        if (momentum) bufs.expectClose(`sgd buf wasm vs js n=${n}`, results[0][1], results[1][1], (i) => 1e-6 * (1 + Math.abs(results[1][1][i])));
      }
    }
  });
});
