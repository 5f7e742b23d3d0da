// The plain-JS twin of assembly/rmsprop.ts (float64 arithmetic, float32 storage).
import type { Kernels } from "../backend.js";
import type { JsMemory } from "./memory.js";

/** RMSprop's step as a plain loop. */
export function rmspropKernels({ f32 }: JsMemory) {
  return {
    rmspropStep(p, g, sq, gavg, buf, n, lr, alpha, oneMinusAlpha, eps, weightDecay, momentum, centered, maximize) {
      const F = f32();
      for (let i = 0; i < n; i++) {
        const w = F[(p >>> 2) + i];
        let d = maximize ? -F[(g >>> 2) + i] : F[(g >>> 2) + i];
        if (weightDecay !== 0) d += weightDecay * w;
        const s = (F[(sq >>> 2) + i] = alpha * F[(sq >>> 2) + i] + oneMinusAlpha * d * d);
        let avg: number;
        if (centered) {
          const ga = (F[(gavg >>> 2) + i] = alpha * F[(gavg >>> 2) + i] + oneMinusAlpha * d);
          avg = Math.sqrt(s - ga * ga) + eps;
        } else {
          avg = Math.sqrt(s) + eps;
        }
        if (momentum > 0) {
          const b = (F[(buf >>> 2) + i] = momentum * F[(buf >>> 2) + i] + d / avg);
          F[(p >>> 2) + i] = w - lr * b;
        } else {
          F[(p >>> 2) + i] = w - (lr * d) / avg;
        }
      }
    },
  } satisfies Pick<Kernels, "rmspropStep">;
}
