// The plain-JS twin of assembly/radam.ts (float64 arithmetic, float32 storage).
import type { Kernels } from "../backend.js";
import type { JsMemory } from "./memory.js";

/** RAdam's step as a plain loop. */
export function radamKernels({ f32 }: JsMemory) {
  return {
    radamStep(p, g, m, v, n, beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps, weightDecay, bc1, lr, rectified, k) {
      const F = f32();
      for (let i = 0; i < n; i++) {
        const w = F[(p >>> 2) + i];
        let d = F[(g >>> 2) + i];
        if (weightDecay !== 0) d += weightDecay * w;
        const mi = (F[(m >>> 2) + i] = beta1 * F[(m >>> 2) + i] + oneMinusBeta1 * d);
        const vi = (F[(v >>> 2) + i] = beta2 * F[(v >>> 2) + i] + oneMinusBeta2 * d * d);
        const mhat = mi / bc1;
        F[(p >>> 2) + i] = rectified ? w - (mhat * k) / (Math.sqrt(vi) + eps) : w - mhat * lr;
      }
    },
  } satisfies Pick<Kernels, "radamStep">;
}
