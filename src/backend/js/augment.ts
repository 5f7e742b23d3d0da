// The plain-JS twin of assembly/augment.ts: the affine warp of image batches. Each kernel's contract (shapes, modes)
// is documented once, on the AssemblyScript export.
import type { Kernels } from "../backend.js";
import type { JsMemory } from "./memory.js";

/** The affine warp of image batches as plain loops. */
export function augmentKernels({ f32, memory }: JsMemory) {
  return {
    affineNearest(dst, src, N, C, H, W, OH, OW, maps, fills) {
      const f = f32(),
        m = new Float64Array(memory.buffer, maps, N * 6);
      for (let n = 0; n < N; n++) {
        const [a, b, c, d, e, g] = m.subarray(n * 6, n * 6 + 6);
        for (let y = 0; y < OH; y++) {
          for (let x = 0; x < OW; x++) {
            const xi = Math.floor(a * x + b * y + c + 0.5),
              yi = Math.floor(d * x + e * y + g + 0.5);
            const inside = xi >= 0 && xi < W && yi >= 0 && yi < H;
            for (let ch = 0; ch < C; ch++) {
              f[(dst >>> 2) + ((n * C + ch) * OH + y) * OW + x] = inside ? f[(src >>> 2) + ((n * C + ch) * H + yi) * W + xi] : f[(fills >>> 2) + ch];
            }
          }
        }
      }
    },
  } satisfies Pick<Kernels, "affineNearest">;
}
