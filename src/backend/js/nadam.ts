// The plain-JS twin of assembly/nadam.ts (float64 arithmetic, float32 storage).
import type { Kernels } from "../backend.js";
import type { JsMemory } from "./memory.js";

/** NAdam's step as a plain loop. */
export function nadamKernels({ f32 }: JsMemory) {
  return {
    nadamStep(p, g, m, v, n, beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps, weightDecay, bc2, c1, c2) {
      const F = f32();
      for (let i = 0; i < n; i++) {
        const w = F[(p >>> 2) + i];
        let d = F[(g >>> 2) + i];
        if (weightDecay !== 0) d += weightDecay * w;
        const mi = (F[(m >>> 2) + i] = beta1 * F[(m >>> 2) + i] + oneMinusBeta1 * d);
        const vi = (F[(v >>> 2) + i] = beta2 * F[(v >>> 2) + i] + oneMinusBeta2 * d * d);
        const denom = Math.sqrt(vi / bc2) + eps;
        F[(p >>> 2) + i] = w - (c1 * d) / denom - (c2 * mi) / denom;
      }
    },
  } satisfies Pick<Kernels, "nadamStep">;
}
