// The plain-JS twin of assembly/adamax.ts (float64 arithmetic, float32 storage).
import type { Kernels } from "../backend.js";
import type { JsMemory } from "./memory.js";

/** Adamax's step as a plain loop. */
export function adamaxKernels({ f32 }: JsMemory) {
  return {
    adamaxStep(p, g, m, u, n, beta1, oneMinusBeta1, beta2, eps, weightDecay, clr, maximize) {
      const F = f32();
      for (let i = 0; i < n; i++) {
        const w = F[(p >>> 2) + i];
        let d = maximize ? -F[(g >>> 2) + i] : F[(g >>> 2) + i];
        if (weightDecay !== 0) d += weightDecay * w;
        const mi = (F[(m >>> 2) + i] = beta1 * F[(m >>> 2) + i] + oneMinusBeta1 * d);
        const ui = (F[(u >>> 2) + i] = Math.max(beta2 * F[(u >>> 2) + i], Math.abs(d) + eps));
        F[(p >>> 2) + i] = w - (clr * mi) / ui;
      }
    },
  } satisfies Pick<Kernels, "adamaxStep">;
}
