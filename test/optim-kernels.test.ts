// sgdStep and adamStep on both backends against PyTorch's documented update rules, evaluated
// here in float64 over several steps:
//   https://pytorch.org/docs/stable/generated/torch.optim.SGD.html
//   https://pytorch.org/docs/stable/generated/torch.optim.Adam.html
//   https://pytorch.org/docs/stable/generated/torch.optim.AdamW.html
// The kernels take precomputed scalars (assembly/optim.ts): 1 - dampening, stepSize = lr/(1-β1^t),
// bc2Sqrt = sqrt(1-β2^t), decay = 1 - lr·λ. The references below use the documented formulas
// directly (m̂ = m/(1-β1^t), v̂ = v/(1-β2^t), ...), not those scalars. Each suite also checks that
// plausible wrong rules (eps inside the sqrt, dampened first momentum step, ...) are rejected,
// so the comparisons are known to be sharp enough to fail.
import { describe, expect, it } from "vitest";
import { createBackend, type Backend } from "../src/backend/index.js";
import { Generator } from "../src/random.js";

const BACKENDS: readonly Backend[] = [createBackend("wasm"), createBackend("js")];
const LENGTHS = [1, 7, 1001];
const STEPS = 5;
const RTOL = 1e-5;

function randArray(g: Generator, n: number, scale: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = g.uniform(-scale, scale);
  return a;
}

/** A float64 state array with the magnitude scale of each element (for a cancellation-aware tolerance). */
interface Tracked {
  v: Float64Array;
  mag: Float64Array;
}

const tracked = (init: ArrayLike<number>): Tracked => ({ v: Float64Array.from(init), mag: Float64Array.from(init, Math.abs) });

function mismatch(label: string, got: ArrayLike<number>, ref: Tracked): string | null {
  for (let i = 0; i < ref.v.length; i++) {
    const err = Math.abs(got[i] - ref.v[i]);
    const tol = RTOL * (Math.abs(ref.v[i]) + ref.mag[i]) + 1e-30;
    if (!(err <= tol)) return `${label}: [${i}] got ${got[i]}, expected ${ref.v[i]} (|err| ${err} > ${tol})`;
  }
  return null;
}

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
  const p = be.heap.alloc(n * 4), g = be.heap.alloc(n * 4), buf = be.heap.alloc(n * 4);
  be.f32().set(P, p >> 2);
  be.f32().fill(NaN, buf >> 2, (buf >> 2) + n); // the first step must not read the buffer
  grads.forEach((G, s) => {
    be.f32().set(G, g >> 2);
    be.sgdStep(p, g, c.momentum !== 0 ? buf : 0, n, c.lr, c.momentum, 1 - c.dampening, c.weightDecay,
               c.nesterov, s === 0, c.maximize);
  });
  const out = { p: be.f32().slice(p >> 2, (p >> 2) + n), buf: be.f32().slice(buf >> 2, (buf >> 2) + n) };
  for (const ptr of [p, g, buf]) be.heap.free(ptr);
  return out;
}

const SGD_CONFIGS: [string, SgdConfig, SgdVariant[]][] = [
  ["plain", { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false }, []],
  // (with dampening 0, a buffer starting at zero gives the same first step: only checked with τ > 0)
  ["momentum 0.9", { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false, maximize: false }, []],
  ["momentum + dampening 0.5", { lr: 0.05, momentum: 0.9, dampening: 0.5, weightDecay: 0, nesterov: false, maximize: false },
    ["dampenFirstStep", "bufStartsAtZero"]],
  ["nesterov", { lr: 0.1, momentum: 0.8, dampening: 0, weightDecay: 0, nesterov: true, maximize: false }, ["nesterovOff"]],
  ["weight decay + momentum", { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0.1, nesterov: false, maximize: false }, []],
  ["weight decay, no momentum", { lr: 0.2, momentum: 0, dampening: 0, weightDecay: 0.5, nesterov: false, maximize: false }, []],
  ["maximize + weight decay + dampening", { lr: 0.1, momentum: 0.5, dampening: 0.2, weightDecay: 0.3, nesterov: false, maximize: true },
    ["decayAfterMaximize", "dampenFirstStep"]],
  ["nesterov + weight decay + maximize", { lr: 0.05, momentum: 0.7, dampening: 0, weightDecay: 0.2, nesterov: true, maximize: true },
    ["decayAfterMaximize", "nesterovOff"]],
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
            expect(mismatch(`${name} n=${n} Δparam`, got.p.map((v, i) => v - P[i]), dRef)).toBeNull();
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
  const p = tracked(P), m = tracked(new Float64Array(n)), v = tracked(new Float64Array(n)), vmax = tracked(new Float64Array(n));
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
      p.mag[i] += Math.abs(c.lr * (m.mag[i] / bc1) / denom);
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
    be.adamStep(p, g, m, v, c.amsgrad ? vmax : 0, n, 1 - c.beta1, c.beta2, 1 - c.beta2, c.eps, c.weightDecay,
                1 - c.lr * c.weightDecay, c.decoupled, c.amsgrad, c.maximize, stepSize, bc2Sqrt);
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
  ["AdamW + amsgrad + maximize, betas (0.8, 0.99)", { ...base, beta1: 0.8, beta2: 0.99, weightDecay: 0.05, decoupled: true, amsgrad: true, maximize: true },
    [1, 0.1, 1, 0.1, 0.1], ["coupledDecay", "amsgradOnCorrectedV"]],
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
