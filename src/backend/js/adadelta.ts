// The plain-JS twin of assembly/adadelta.ts (float64 arithmetic, float32 storage).
import type { Kernels } from "../backend.js";
import type { JsMemory } from "./memory.js";

/** Adadelta's step as a plain loop. */
export function adadeltaKernels({ f32 }: JsMemory) {
  return {
    adadeltaStep(p, g, sq, acc, n, lr, rho, oneMinusRho, eps, weightDecay, maximize) {
      const F = f32();
      for (let i = 0; i < n; i++) {
        const w = F[(p >>> 2) + i];
        let d = maximize ? -F[(g >>> 2) + i] : F[(g >>> 2) + i];
        if (weightDecay !== 0) d += weightDecay * w;
        const s = (F[(sq >>> 2) + i] = rho * F[(sq >>> 2) + i] + oneMinusRho * d * d);
        const delta = (Math.sqrt(F[(acc >>> 2) + i] + eps) / Math.sqrt(s + eps)) * d;
        F[(acc >>> 2) + i] = rho * F[(acc >>> 2) + i] + oneMinusRho * delta * delta;
        F[(p >>> 2) + i] = w - lr * delta;
      }
    },
  } satisfies Pick<Kernels, "adadeltaStep">;
}
