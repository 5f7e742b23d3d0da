// The plain-JS twin of assembly/adam.ts: the Adam/AdamW step. Each kernel's contract (shapes, modes)
// is documented once, on the AssemblyScript export.
import type { Kernels } from "../backend.js";
import type { JsMemory } from "./memory.js";

/** The Adam/AdamW step as plain loops. */
export function adamKernels({ f32 }: JsMemory) {
  return {
    adamStep(p, g, m, v, vmax, n, oneMinusBeta1, beta2, oneMinusBeta2, eps, weightDecay, decay, decoupled, amsgrad, maximize, stepSize, bc2Sqrt) {
      const f = f32(),
        P = p >>> 2,
        G = g >>> 2,
        Mo = m >>> 2,
        V = v >>> 2,
        VM = vmax >>> 2;
      for (let i = 0; i < n; i++) {
        let w = f[P + i];
        let d = maximize ? -f[G + i] : f[G + i];
        if (weightDecay !== 0) {
          if (decoupled) w *= decay;
          else d += weightDecay * w;
        }
        const mi = f[Mo + i] + oneMinusBeta1 * (d - f[Mo + i]);
        const vi = beta2 * f[V + i] + oneMinusBeta2 * d * d;
        f[Mo + i] = mi;
        f[V + i] = vi;
        let vd = vi;
        if (amsgrad) {
          vd = Math.max(f[VM + i], vi);
          f[VM + i] = vd;
        }
        f[P + i] = w - stepSize * (mi / (Math.sqrt(vd) / bc2Sqrt + eps));
      }
    },
  } satisfies Pick<Kernels, "adamStep">;
}
