// The plain-JS twin of assembly/adagrad.ts (float64 arithmetic, float32 storage).
import type { Kernels } from "../backend.js";
import type { JsMemory } from "./memory.js";

/** Adagrad's step as a plain loop. */
export function adagradKernels({ f32 }: JsMemory) {
  return {
    adagradStep(p, g, sum, n, clr, eps, weightDecay, maximize) {
      const F = f32();
      for (let i = 0; i < n; i++) {
        const w = F[(p >>> 2) + i];
        let d = maximize ? -F[(g >>> 2) + i] : F[(g >>> 2) + i];
        if (weightDecay !== 0) d += weightDecay * w;
        const s = (F[(sum >>> 2) + i] = F[(sum >>> 2) + i] + d * d);
        F[(p >>> 2) + i] = w - (clr * d) / (Math.sqrt(s) + eps);
      }
    },
  } satisfies Pick<Kernels, "adagradStep">;
}
