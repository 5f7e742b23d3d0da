// The plain-JS twin of assembly/conv.ts: im2col/col2im and pooling over NCHW images. Each kernel's contract (shapes, modes)
// is documented once, on the AssemblyScript export.
import type { Kernels } from "../backend.js";
import type { JsMemory } from "./memory.js";

/** Im2col/col2im and pooling over NCHW images as plain loops. */
export function convKernels({ f32, i32 }: JsMemory) {
  return {
    im2col(cols, x, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW, ld, images) {
      const f = f32();
      for (let n = 0; n < images; n++) {
        const X = (x >>> 2) + n * C * H * W;
        for (let c = 0; c < C; c++) {
          for (let i = 0; i < kh; i++) {
            for (let j = 0; j < kw; j++) {
              let d = (cols >>> 2) + n * OH * OW + ((c * kh + i) * kw + j) * ld;
              for (let oy = 0; oy < OH; oy++) {
                for (let ox = 0; ox < OW; ox++) {
                  const y = oy * sh - ph + i * dh,
                    xx = ox * sw - pw + j * dw;
                  f[d++] = y >= 0 && y < H && xx >= 0 && xx < W ? f[X + (c * H + y) * W + xx] : 0;
                }
              }
            }
          }
        }
      }
    },
    col2im(dx, cols, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW, ld, accumulate, images) {
      const f = f32();
      for (let n = 0; n < images; n++) {
        const D = (dx >>> 2) + n * C * H * W;
        if (!accumulate) f.fill(0, D, D + C * H * W);
        for (let c = 0; c < C; c++) {
          for (let i = 0; i < kh; i++) {
            for (let j = 0; j < kw; j++) {
              let s = (cols >>> 2) + n * OH * OW + ((c * kh + i) * kw + j) * ld;
              for (let oy = 0; oy < OH; oy++) {
                for (let ox = 0; ox < OW; ox++, s++) {
                  const y = oy * sh - ph + i * dh,
                    xx = ox * sw - pw + j * dw;
                  if (y >= 0 && y < H && xx >= 0 && xx < W) f[D + (c * H + y) * W + xx] += f[s];
                }
              }
            }
          }
        }
      }
    },
    swap01(dst, src, A, B, P) {
      const f = f32();
      for (let a = 0; a < A; a++) {
        for (let b = 0; b < B; b++) f.copyWithin((dst >>> 2) + (b * A + a) * P, (src >>> 2) + (a * B + b) * P, (src >>> 2) + (a * B + b + 1) * P);
      }
    },
    maxPool2d(y, idx, x, P, H, W, kh, kw, sh, sw, ph, pw, OH, OW) {
      const f = f32(),
        I = i32();
      for (let p = 0; p < P; p++) {
        const X = (x >>> 2) + p * H * W;
        for (let oy = 0; oy < OH; oy++) {
          for (let ox = 0; ox < OW; ox++) {
            const y0 = Math.max(oy * sh - ph, 0),
              y1 = Math.min(oy * sh - ph + kh, H);
            const x0 = Math.max(ox * sw - pw, 0),
              x1 = Math.min(ox * sw - pw + kw, W);
            let best = -Infinity,
              arg = y0 * W + x0;
            search: for (let yy = y0; yy < y1; yy++) {
              for (let xx = x0; xx < x1; xx++) {
                const v = f[X + yy * W + xx];
                if (v > best || Number.isNaN(v)) {
                  best = v;
                  arg = yy * W + xx;
                  if (Number.isNaN(v)) break search;
                }
              }
            }
            const o = p * OH * OW + oy * OW + ox;
            f[(y >>> 2) + o] = best;
            I[(idx >>> 2) + o] = arg;
          }
        }
      }
    },
    maxPool2dBackward(dx, dy, idx, P, H, W, OH, OW, accumulate) {
      const f = f32(),
        I = i32(),
        D = dx >>> 2;
      if (!accumulate) f.fill(0, D, D + P * H * W);
      for (let p = 0; p < P; p++) {
        for (let o = 0; o < OH * OW; o++) {
          const q = p * OH * OW + o;
          f[D + p * H * W + I[(idx >>> 2) + q]] += f[(dy >>> 2) + q];
        }
      }
    },
    avgPool2d(y, x, P, H, W, kh, kw, sh, sw, ph, pw, OH, OW) {
      const f = f32();
      for (let p = 0; p < P; p++) {
        for (let oy = 0; oy < OH; oy++) {
          for (let ox = 0; ox < OW; ox++) {
            let s = 0;
            for (let yy = Math.max(oy * sh - ph, 0); yy < Math.min(oy * sh - ph + kh, H); yy++) {
              for (let xx = Math.max(ox * sw - pw, 0); xx < Math.min(ox * sw - pw + kw, W); xx++) s += f[(x >>> 2) + (p * H + yy) * W + xx];
            }
            f[(y >>> 2) + (p * OH + oy) * OW + ox] = s / (kh * kw);
          }
        }
      }
    },
    avgPool2dBackward(dx, dy, P, H, W, kh, kw, sh, sw, ph, pw, OH, OW, accumulate) {
      const f = f32(),
        D = dx >>> 2;
      if (!accumulate) f.fill(0, D, D + P * H * W);
      for (let p = 0; p < P; p++) {
        for (let oy = 0; oy < OH; oy++) {
          for (let ox = 0; ox < OW; ox++) {
            const v = f[(dy >>> 2) + (p * OH + oy) * OW + ox] / (kh * kw);
            for (let yy = Math.max(oy * sh - ph, 0); yy < Math.min(oy * sh - ph + kh, H); yy++) {
              for (let xx = Math.max(ox * sw - pw, 0); xx < Math.min(ox * sw - pw + kw, W); xx++) f[D + (p * H + yy) * W + xx] += v;
            }
          }
        }
      }
    },
    adaptiveAvgPool2d(y, x, P, H, W, OH, OW) {
      const F = f32();
      for (let p = 0; p < P; p++) {
        for (let i = 0; i < OH; i++) {
          const y0 = Math.floor((i * H) / OH),
            y1 = Math.ceil(((i + 1) * H) / OH);
          for (let j = 0; j < OW; j++) {
            const x0 = Math.floor((j * W) / OW),
              x1 = Math.ceil(((j + 1) * W) / OW);
            let s = 0;
            for (let r = y0; r < y1; r++) for (let c = x0; c < x1; c++) s += F[(x >>> 2) + (p * H + r) * W + c];
            F[(y >>> 2) + (p * OH + i) * OW + j] = s / ((y1 - y0) * (x1 - x0));
          }
        }
      }
    },
    adaptiveAvgPool2dBackward(dx, dy, P, H, W, OH, OW, accumulate) {
      const F = f32(),
        D = dx >>> 2;
      if (!accumulate) F.fill(0, D, D + P * H * W);
      for (let p = 0; p < P; p++) {
        for (let i = 0; i < OH; i++) {
          const y0 = Math.floor((i * H) / OH),
            y1 = Math.ceil(((i + 1) * H) / OH);
          for (let j = 0; j < OW; j++) {
            const x0 = Math.floor((j * W) / OW),
              x1 = Math.ceil(((j + 1) * W) / OW);
            const g = F[(dy >>> 2) + (p * OH + i) * OW + j] / ((y1 - y0) * (x1 - x0));
            for (let r = y0; r < y1; r++) for (let c = x0; c < x1; c++) F[D + (p * H + r) * W + c] += g;
          }
        }
      }
    },
  } satisfies Pick<
    Kernels,
    "im2col" | "col2im" | "swap01" | "maxPool2d" | "maxPool2dBackward" | "avgPool2d" | "avgPool2dBackward" | "adaptiveAvgPool2d" | "adaptiveAvgPool2dBackward"
  >;
}
