// The plain-JS twin of assembly/sgd.ts: the SGD step. Each kernel's contract (shapes, modes)
// is documented once, on the AssemblyScript export.
import type { Kernels } from "../backend.js";
import type { JsMemory } from "./memory.js";

/** The SGD step as plain loops. */
export function sgdKernels({ f32 }: JsMemory) {
  return {
    sgdStep(p, g, buf, n, lr, momentum, oneMinusDampening, weightDecay, nesterov, firstStep, maximize) {
      const f = f32(),
        P = p >>> 2,
        G = g >>> 2,
        BUF = buf >>> 2;
      for (let i = 0; i < n; i++) {
        let d = maximize ? -f[G + i] : f[G + i];
        if (weightDecay !== 0) d += weightDecay * f[P + i];
        if (momentum !== 0) {
          const bv = firstStep ? d : momentum * f[BUF + i] + oneMinusDampening * d;
          f[BUF + i] = bv;
          d = nesterov ? d + momentum * bv : bv;
        }
        f[P + i] = f[P + i] - lr * d;
      }
    },
  } satisfies Pick<Kernels, "sgdStep">;
}
