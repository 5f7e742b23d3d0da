// adamStep on both backends against PyTorch's documented update rules, evaluated
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

import { BACKENDS, LENGTHS, mismatch, randArray, tracked } from "./optimizer-reference.js";
import * as bufs from "./buffers.js";

// ---- Adam / AdamW --------------------------------------------------------------------------------

interface AdamConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** AdamW: θ ← θ − γλθ instead of g ← g + λθ */
  decoupled: boolean;
  amsgrad: boolean;
  maximize: boolean;
}

type AdamVariant = "torch" | "epsInsideSqrt" | "noBiasCorrection" | "amsgradOnCorrectedV" | "coupledDecay" | "decoupledDecay";

/**
 * torch.optim.Adam / AdamW, as documented:
 *   g ← ∇ (−∇ if maximize)
 *   AdamW: θ ← θ − γλθ        Adam: if λ ≠ 0: g ← g + λθ
 *   m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;  m̂ ← m / (1−β1^t)
 *   amsgrad: v^max ← max(v^max, v); v̂ ← v^max / (1−β2^t)     else v̂ ← v / (1−β2^t)
 *   θ ← θ − γ m̂ / (√v̂ + ε)
 */
function adamReference(P: Float32Array, grads: Float32Array[], c: AdamConfig, variant: AdamVariant = "torch") {
  const n = P.length;
  const p = tracked(P),
    m = tracked(new Float64Array(n)),
    v = tracked(new Float64Array(n)),
    vmax = tracked(new Float64Array(n));
  const vhatMax = new Float64Array(n); // for the (older-docs) max over bias-corrected v̂
  const decoupled = variant === "coupledDecay" ? false : variant === "decoupledDecay" ? true : c.decoupled;
  grads.forEach((G, s) => {
    const t = s + 1;
    const bc1 = variant === "noBiasCorrection" ? 1 : 1 - c.beta1 ** t;
    const bc2 = variant === "noBiasCorrection" ? 1 : 1 - c.beta2 ** t;
    for (let i = 0; i < n; i++) {
      let g = c.maximize ? -G[i] : G[i];
      let gMag = Math.abs(G[i]);
      if (c.weightDecay !== 0) {
        if (decoupled) {
          p.v[i] -= c.lr * c.weightDecay * p.v[i];
        } else {
          g += c.weightDecay * p.v[i];
          gMag += Math.abs(c.weightDecay * p.v[i]);
        }
      }
      m.v[i] = c.beta1 * m.v[i] + (1 - c.beta1) * g;
      m.mag[i] = c.beta1 * m.mag[i] + (1 - c.beta1) * gMag;
      v.v[i] = c.beta2 * v.v[i] + (1 - c.beta2) * g * g;
      v.mag[i] = v.v[i];
      const mhat = m.v[i] / bc1;
      let vhat: number;
      if (!c.amsgrad) {
        vhat = v.v[i] / bc2;
      } else if (variant === "amsgradOnCorrectedV") {
        vhatMax[i] = Math.max(vhatMax[i], v.v[i] / bc2);
        vhat = vhatMax[i];
      } else {
        vmax.v[i] = Math.max(vmax.v[i], v.v[i]);
        vmax.mag[i] = vmax.v[i];
        vhat = vmax.v[i] / bc2;
      }
      const denom = variant === "epsInsideSqrt" ? Math.sqrt(vhat + c.eps) : Math.sqrt(vhat) + c.eps;
      const step = (c.lr * mhat) / denom;
      p.v[i] -= step;
      p.mag[i] += Math.abs((c.lr * (m.mag[i] / bc1)) / denom);
    }
  });
  return { p, m, v, vmax };
}

function runAdam(be: Backend, P: Float32Array, grads: Float32Array[], c: AdamConfig) {
  const n = P.length;
  const [p, g, m, v, vmax] = Array.from({ length: 5 }, () => be.heap.alloc(n * 4));
  be.f32().set(P, p >> 2);
  for (const z of [m, v, vmax]) be.f32().fill(0, z >> 2, (z >> 2) + n);
  grads.forEach((G, s) => {
    const t = s + 1;
    be.f32().set(G, g >> 2);
    // The scalars assembly/optim.ts documents, computed in float64 as PyTorch does in Python.
    const stepSize = c.lr / (1 - c.beta1 ** t);
    const bc2Sqrt = Math.sqrt(1 - c.beta2 ** t);
    be.adamStep(
      p,
      g,
      m,
      v,
      c.amsgrad ? vmax : 0,
      n,
      1 - c.beta1,
      c.beta2,
      1 - c.beta2,
      c.eps,
      c.weightDecay,
      1 - c.lr * c.weightDecay,
      c.decoupled,
      c.amsgrad,
      c.maximize,
      stepSize,
      bc2Sqrt,
    );
  });
  const read = (ptr: number) => be.f32().slice(ptr >> 2, (ptr >> 2) + n);
  const out = { p: read(p), m: read(m), v: read(v), vmax: read(vmax) };
  for (const ptr of [p, g, m, v, vmax]) be.heap.free(ptr);
  return out;
}

const base: AdamConfig = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, amsgrad: false, maximize: false };

/** [name, config, gradient scale per step, rules that must be told apart] */
const ADAM_CONFIGS: [string, AdamConfig, number[], AdamVariant[]][] = [
  ["Adam defaults (lr 0.1)", base, [1, 1, 1, 1, 1], ["noBiasCorrection"]],
  // Gradients of 1e-3 make √v̂ ≈ ε: the position of ε matters.
  ["eps 1e-3 with small gradients", { ...base, eps: 1e-3 }, [1e-3, 1e-3, 1e-3, 1e-3, 1e-3], ["epsInsideSqrt", "noBiasCorrection"]],
  ["Adam, L2 weight decay", { ...base, weightDecay: 0.1 }, [1, 1, 1, 1, 1], ["decoupledDecay"]],
  ["AdamW, decoupled weight decay", { ...base, weightDecay: 0.1, decoupled: true }, [1, 1, 1, 1, 1], ["coupledDecay"]],
  // A large first gradient then small ones: v shrinks, v^max keeps the first value.
  ["amsgrad", { ...base, beta2: 0.9, amsgrad: true }, [1, 0.05, 0.05, 0.05, 0.05], ["amsgradOnCorrectedV", "noBiasCorrection"]],
  ["maximize", { ...base, maximize: true, beta1: 0.8 }, [1, 1, 1, 1, 1], []],
  [
    "AdamW + amsgrad + maximize, betas (0.8, 0.99)",
    { ...base, beta1: 0.8, beta2: 0.99, weightDecay: 0.05, decoupled: true, amsgrad: true, maximize: true },
    [1, 0.1, 1, 0.1, 0.1],
    ["coupledDecay", "amsgradOnCorrectedV"],
  ],
];

describe("adamStep vs torch.optim.Adam / AdamW", () => {
  for (const be of BACKENDS) {
    for (const [name, cfg, scales, wrong] of ADAM_CONFIGS) {
      it(`${be.name}: ${name}`, () => {
        const g = new Generator(name.length * 17 + 3);
        for (const n of LENGTHS) {
          const P = randArray(g, n, 1);
          const grads = scales.map((s) => randArray(g, n, s));
          expect(grads.length).toBeGreaterThanOrEqual(3);
          const got = runAdam(be, P, grads, cfg);
          const ref = adamReference(P, grads, cfg);
          expect(mismatch(`${name} n=${n} param`, got.p, ref.p)).toBeNull();
          expect(mismatch(`${name} n=${n} exp_avg`, got.m, ref.m)).toBeNull();
          expect(mismatch(`${name} n=${n} exp_avg_sq`, got.v, ref.v)).toBeNull();
          if (cfg.amsgrad) expect(mismatch(`${name} n=${n} max_exp_avg_sq`, got.vmax, ref.vmax)).toBeNull();
          for (const variant of wrong) {
            const bad = adamReference(P, grads, cfg, variant);
            expect(mismatch("", got.p, bad.p), `${name}: the '${variant}' rule must be distinguishable`).not.toBeNull();
          }
        }
      });
    }
  }
});

describe("adamStep, wasm vs js over odd lengths", () => {
  it("adamStep over all flag combinations", () => {
    const g = new Generator(51);
    const b1 = 0.9,
      b2 = 0.999,
      lr = 0.01;
    for (const n of bufs.ODD) {
      for (const [wd, decoupled, amsgrad, maximize] of [
        [0, false, false, false],
        [0.1, false, true, false],
        [0.1, true, false, true],
        [0.05, true, true, false],
      ] as const) {
        const P = bufs.randArray(g, n),
          grads = [bufs.randArray(g, n), bufs.randArray(g, n, -0.1, 0.1), bufs.randArray(g, n)];
        const results: Float32Array[][] = [];
        for (const be of bufs.BACKENDS) {
          const p = bufs.alloc(be, n, P),
            gr = bufs.alloc(be, n),
            m = bufs.alloc(be, n, new Float32Array(n)),
            v = bufs.alloc(be, n, new Float32Array(n), { pre: 17 }),
            vm = bufs.alloc(be, n, new Float32Array(n), { pre: 18 });
          grads.forEach((G, s) => {
            const t = s + 1;
            be.f32().set(G, gr.ptr >> 2);
            be.adamStep(
              p.ptr,
              gr.ptr,
              m.ptr,
              v.ptr,
              amsgrad ? vm.ptr : 0,
              n,
              1 - b1,
              b2,
              1 - b2,
              1e-8,
              wd,
              1 - lr * wd,
              decoupled,
              amsgrad,
              maximize,
              lr / (1 - b1 ** t),
              Math.sqrt(1 - b2 ** t),
            );
          });
          bufs.expectGuards(`adam ${be.name}`, p, m, v, vm);
          results.push([bufs.read(p), bufs.read(m), bufs.read(v), bufs.read(vm)]);
          bufs.freeAll(p, gr, m, v, vm);
        }
        // m is an average of gradients of both signs: it can cancel to far below their size, so
        // the tolerance scales with the largest value of each state, not only the element's own.
        for (let k = 0; k < 4; k++) {
          const ref = results[1][k];
          const big = ref.reduce((a, b) => Math.max(a, Math.abs(b)), 0);
          bufs.expectClose(`adam state ${k} wasm vs js n=${n}`, results[0][k], ref, (i) => 1e-5 * Math.abs(ref[i]) + 1e-6 * big);
        }
      }
    }
  });
});
