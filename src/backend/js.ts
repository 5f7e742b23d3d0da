// The plain-JS reference backend: the same kernels as assembly/, written as straightforward
// loops over typed arrays on a memory of the same kind, managed by the same Heap. It is the
// oracle the tests compare the wasm kernels against and the "JS" side of the benchmarks, so it
// favours obviously-right code (float64 accumulators, cache-friendly loop order) over tricks.
import { type Backend, type GemmForm, MemoryViews, type MemoryOptions, createMemory } from "./backend.js";
import { Heap } from "./heap.js";

/** Returns the reference backend on a fresh memory. */
export function createJsBackend(options: MemoryOptions = {}): Backend {
  const { memory, max } = createMemory(options);
  const views = new MemoryViews(memory);
  const heap = new Heap(memory, 1024, max);
  const f32 = () => views.f32();
  const i32 = () => views.i32();

  /** Row-wise log Σ exp over row `o` (element index) of width C. */
  const logSumExp = (f: Float32Array, o: number, C: number): number => {
    let m = -Infinity;
    for (let j = 0; j < C; j++) m = Math.max(m, f[o + j]);
    let s = 0;
    for (let j = 0; j < C; j++) s += Math.exp(f[o + j] - m);
    return m + Math.log(s);
  };
  const rowScale = (f: Float32Array, scale: number, scales: number, i: number) =>
    scales ? scale * f[(scales >> 2) + i] : scale;

  return {
    name: "js",
    heap,
    memory,
    f32,
    i32,
    u8: () => views.u8(),
    // Plain loops stay on one thread: the reference backend is the single-threaded baseline.
    setNumThreads: () => 1,
    getNumThreads: () => 1,
    threadStats: () => null,

    gemm(form: GemmForm, M, N, K, a, lda, b, ldb, c, ldc, bias, accumulate) {
      const f = f32();
      const A = a >> 2, B = b >> 2, C = c >> 2, bi = bias >> 2;
      const row = new Float64Array(N);
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < N; j++) {
          row[j] = (accumulate ? f[C + i * ldc + j] : 0) + (bias ? f[bi + j] : 0);
        }
        if (form === "nt") {
          // C(i,j) = Σ_k A(i,k) B(j,k): both rows contiguous in k.
          for (let j = 0; j < N; j++) {
            let s = 0;
            for (let k = 0; k < K; k++) s += f[A + i * lda + k] * f[B + j * ldb + k];
            row[j] += s;
          }
        } else {
          // C(i,:) += A(i,k) B(k,:), A(i,k) read from A (M,K) or from Aᵀ stored (K,M).
          for (let k = 0; k < K; k++) {
            const aik = form === "nn" ? f[A + i * lda + k] : f[A + k * lda + i];
            const bk = B + k * ldb;
            for (let j = 0; j < N; j++) row[j] += aik * f[bk + j];
          }
        }
        for (let j = 0; j < N; j++) f[C + i * ldc + j] = row[j];
      }
    },

    fill(dst, n, value) {
      f32().fill(value, dst >> 2, (dst >> 2) + n);
    },
    copy(dst, src, bytes) {
      const u = views.u8();
      u.copyWithin(dst, src, src + bytes);
    },
    add(dst, a, b, n) {
      const f = f32(), D = dst >> 2, A = a >> 2, B = b >> 2;
      for (let i = 0; i < n; i++) f[D + i] = f[A + i] + f[B + i];
    },
    sub(dst, a, b, n) {
      const f = f32(), D = dst >> 2, A = a >> 2, B = b >> 2;
      for (let i = 0; i < n; i++) f[D + i] = f[A + i] - f[B + i];
    },
    mul(dst, a, b, n) {
      const f = f32(), D = dst >> 2, A = a >> 2, B = b >> 2;
      for (let i = 0; i < n; i++) f[D + i] = f[A + i] * f[B + i];
    },
    // Scalars arrive as float32, as the wasm parameters do, and each float32 operation is
    // rounded (a double computes one +, × of floats exactly before the rounding): same bits.
    affine(dst, a, s, t, n) {
      const f = f32(), D = dst >> 2, A = a >> 2, S = Math.fround(s), T = Math.fround(t);
      for (let i = 0; i < n; i++) f[D + i] = Math.fround(f[A + i] * S) + T;
    },
    axpy(dst, x, alpha, n) {
      const f = f32(), D = dst >> 2, X = x >> 2, al = Math.fround(alpha);
      for (let i = 0; i < n; i++) f[D + i] += Math.fround(al * f[X + i]);
    },
    rowwise(dst, a, row, M, N, mode) {
      const f = f32(), D = dst >> 2, A = a >> 2, R = row >> 2;
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < N; j++) {
          const v = f[A + i * N + j];
          const r = f[R + j];
          f[D + i * N + j] = mode === 1 ? v * r : mode === 2 ? v - r : v + r;
        }
      }
    },
    relu(dst, x, n) {
      const f = f32(), D = dst >> 2, X = x >> 2;
      for (let i = 0; i < n; i++) {
        const v = f[X + i];
        f[D + i] = v > 0 || Number.isNaN(v) ? v : 0;
      }
    },
    reluBackward(dx, dy, y, n) {
      const f = f32(), DX = dx >> 2, DY = dy >> 2, Y = y >> 2;
      for (let i = 0; i < n; i++) f[DX + i] = f[Y + i] > 0 ? f[DY + i] : 0;
    },

    sum(x, n) {
      const f = f32(), X = x >> 2;
      let s = 0;
      for (let i = 0; i < n; i++) s += f[X + i];
      return s;
    },
    colSum(dst, x, M, N, accumulate) {
      const f = f32(), D = dst >> 2, X = x >> 2;
      for (let j = 0; j < N; j++) {
        let s = accumulate ? f[D + j] : 0;
        for (let i = 0; i < M; i++) s += f[X + i * N + j];
        f[D + j] = s;
      }
    },
    argmaxRows(dst, x, M, N) {
      const f = f32(), I = i32(), X = x >> 2;
      for (let i = 0; i < M; i++) {
        let arg = 0;
        let best = f[X + i * N];
        for (let j = 1; j < N && !Number.isNaN(best); j++) {
          const v = f[X + i * N + j];
          if (Number.isNaN(v) || v > best) {
            best = v;
            arg = j;
          }
        }
        I[(dst >> 2) + i] = arg;
      }
    },

    softmaxXentForward(x, labels, M, C, losses, lse) {
      const f = f32(), I = i32(), X = x >> 2;
      let total = 0;
      for (let i = 0; i < M; i++) {
        const l = logSumExp(f, X + i * C, C);
        const loss = l - f[X + i * C + I[(labels >> 2) + i]];
        f[(lse >> 2) + i] = l;
        if (losses) f[(losses >> 2) + i] = loss;
        total += loss;
      }
      return total;
    },
    softmaxXentBackward(dx, x, labels, lse, M, C, scale, scales) {
      const f = f32(), I = i32(), X = x >> 2, DX = dx >> 2;
      for (let i = 0; i < M; i++) {
        const l = f[(lse >> 2) + i];
        const label = I[(labels >> 2) + i];
        const s = rowScale(f, scale, scales, i);
        for (let j = 0; j < C; j++) {
          const p = Math.exp(f[X + i * C + j] - l);
          f[DX + i * C + j] = (j === label ? p - 1 : p) * s;
        }
      }
    },
    logSoftmaxForward(y, x, M, C) {
      const f = f32(), X = x >> 2, Y = y >> 2;
      for (let i = 0; i < M; i++) {
        const l = logSumExp(f, X + i * C, C);
        for (let j = 0; j < C; j++) f[Y + i * C + j] = f[X + i * C + j] - l;
      }
    },
    logSoftmaxBackward(dx, dy, y, M, C) {
      const f = f32(), DX = dx >> 2, DY = dy >> 2, Y = y >> 2;
      for (let i = 0; i < M; i++) {
        let s = 0;
        for (let j = 0; j < C; j++) s += f[DY + i * C + j];
        for (let j = 0; j < C; j++) {
          f[DX + i * C + j] = f[DY + i * C + j] - Math.exp(f[Y + i * C + j]) * s;
        }
      }
    },
    softmaxForward(y, x, M, C) {
      const f = f32(), X = x >> 2, Y = y >> 2;
      for (let i = 0; i < M; i++) {
        const l = logSumExp(f, X + i * C, C);
        for (let j = 0; j < C; j++) f[Y + i * C + j] = Math.exp(f[X + i * C + j] - l);
      }
    },
    softmaxBackward(dx, dy, y, M, C) {
      const f = f32(), DX = dx >> 2, DY = dy >> 2, Y = y >> 2;
      for (let i = 0; i < M; i++) {
        let s = 0;
        for (let j = 0; j < C; j++) s += f[DY + i * C + j] * f[Y + i * C + j];
        for (let j = 0; j < C; j++) {
          f[DX + i * C + j] = f[Y + i * C + j] * (f[DY + i * C + j] - s);
        }
      }
    },
    nllForward(x, labels, M, C, losses) {
      const f = f32(), I = i32();
      let total = 0;
      for (let i = 0; i < M; i++) {
        const loss = -f[(x >> 2) + i * C + I[(labels >> 2) + i]];
        if (losses) f[(losses >> 2) + i] = loss;
        total += loss;
      }
      return total;
    },
    nllBackward(dx, labels, M, C, scale, scales) {
      const f = f32(), I = i32(), DX = dx >> 2;
      f.fill(0, DX, DX + M * C);
      for (let i = 0; i < M; i++) f[DX + i * C + I[(labels >> 2) + i]] = -rowScale(f, scale, scales, i);
    },
    mseForward(a, b, n, out) {
      const f = f32(), A = a >> 2, B = b >> 2;
      let total = 0;
      for (let i = 0; i < n; i++) {
        const d = f[A + i] - f[B + i];
        if (out) f[(out >> 2) + i] = d * d;
        total += d * d;
      }
      return total;
    },
    mseBackward(dx, a, b, n, scale, scales) {
      const f = f32(), A = a >> 2, B = b >> 2, DX = dx >> 2;
      for (let i = 0; i < n; i++) f[DX + i] = (f[A + i] - f[B + i]) * rowScale(f, scale, scales, i);
    },

    sumsq(x, n) {
      const f = f32(), X = x >> 2;
      let s = 0;
      for (let i = 0; i < n; i++) s += f[X + i] * f[X + i];
      return s;
    },
    nonfiniteCount(x, n) {
      const f = f32(), X = x >> 2;
      let c = 0;
      for (let i = 0; i < n; i++) if (!Number.isFinite(f[X + i])) c++;
      return c;
    },

    im2col(cols, x, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW, ld) {
      const f = f32(), X = x >> 2;
      for (let c = 0; c < C; c++) {
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            let d = (cols >> 2) + ((c * kh + i) * kw + j) * ld;
            for (let oy = 0; oy < OH; oy++) {
              for (let ox = 0; ox < OW; ox++) {
                const y = oy * sh - ph + i * dh, xx = ox * sw - pw + j * dw;
                f[d++] = y >= 0 && y < H && xx >= 0 && xx < W ? f[X + (c * H + y) * W + xx] : 0;
              }
            }
          }
        }
      }
    },
    col2im(dx, cols, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW, ld, accumulate) {
      const f = f32(), D = dx >> 2;
      if (!accumulate) f.fill(0, D, D + C * H * W);
      for (let c = 0; c < C; c++) {
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            let s = (cols >> 2) + ((c * kh + i) * kw + j) * ld;
            for (let oy = 0; oy < OH; oy++) {
              for (let ox = 0; ox < OW; ox++, s++) {
                const y = oy * sh - ph + i * dh, xx = ox * sw - pw + j * dw;
                if (y >= 0 && y < H && xx >= 0 && xx < W) f[D + (c * H + y) * W + xx] += f[s];
              }
            }
          }
        }
      }
    },
    swap01(dst, src, A, B, P) {
      const f = f32();
      for (let a = 0; a < A; a++) {
        for (let b = 0; b < B; b++) f.copyWithin((dst >> 2) + (b * A + a) * P, (src >> 2) + (a * B + b) * P, (src >> 2) + (a * B + b + 1) * P);
      }
    },
    maxPool2d(y, idx, x, P, H, W, kh, kw, sh, sw, ph, pw, OH, OW) {
      const f = f32(), I = i32();
      for (let p = 0; p < P; p++) {
        const X = (x >> 2) + p * H * W;
        for (let oy = 0; oy < OH; oy++) {
          for (let ox = 0; ox < OW; ox++) {
            const y0 = Math.max(oy * sh - ph, 0), y1 = Math.min(oy * sh - ph + kh, H);
            const x0 = Math.max(ox * sw - pw, 0), x1 = Math.min(ox * sw - pw + kw, W);
            let best = -Infinity, arg = y0 * W + x0;
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
            f[(y >> 2) + o] = best;
            I[(idx >> 2) + o] = arg;
          }
        }
      }
    },
    maxPool2dBackward(dx, dy, idx, P, H, W, OH, OW, accumulate) {
      const f = f32(), I = i32(), D = dx >> 2;
      if (!accumulate) f.fill(0, D, D + P * H * W);
      for (let p = 0; p < P; p++) {
        for (let o = 0; o < OH * OW; o++) {
          const q = p * OH * OW + o;
          f[D + p * H * W + I[(idx >> 2) + q]] += f[(dy >> 2) + q];
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
              for (let xx = Math.max(ox * sw - pw, 0); xx < Math.min(ox * sw - pw + kw, W); xx++) s += f[(x >> 2) + (p * H + yy) * W + xx];
            }
            f[(y >> 2) + (p * OH + oy) * OW + ox] = s / (kh * kw);
          }
        }
      }
    },
    avgPool2dBackward(dx, dy, P, H, W, kh, kw, sh, sw, ph, pw, OH, OW, accumulate) {
      const f = f32(), D = dx >> 2;
      if (!accumulate) f.fill(0, D, D + P * H * W);
      for (let p = 0; p < P; p++) {
        for (let oy = 0; oy < OH; oy++) {
          for (let ox = 0; ox < OW; ox++) {
            const v = f[(dy >> 2) + (p * OH + oy) * OW + ox] / (kh * kw);
            for (let yy = Math.max(oy * sh - ph, 0); yy < Math.min(oy * sh - ph + kh, H); yy++) {
              for (let xx = Math.max(ox * sw - pw, 0); xx < Math.min(ox * sw - pw + kw, W); xx++) f[D + (p * H + yy) * W + xx] += v;
            }
          }
        }
      }
    },
    channelFill(y, v, N, C, S) {
      const f = f32();
      for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) {
        const o = (y >> 2) + (n * C + c) * S;
        f.fill(f[(v >> 2) + c], o, o + S);
      }
    },
    channelSum(dst, x, N, C, S, accumulate) {
      const f = f32();
      for (let c = 0; c < C; c++) {
        let s = accumulate ? f[(dst >> 2) + c] : 0;
        for (let n = 0; n < N; n++) for (let k = 0; k < S; k++) s += f[(x >> 2) + (n * C + c) * S + k];
        f[(dst >> 2) + c] = s;
      }
    },
    bnStats(mean, variance, x, N, C, S) {
      const f = f32();
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let n = 0; n < N; n++) for (let k = 0; k < S; k++) s += f[(x >> 2) + (n * C + c) * S + k];
        const m = s / (N * S);
        let q = 0;
        for (let n = 0; n < N; n++) for (let k = 0; k < S; k++) q += (f[(x >> 2) + (n * C + c) * S + k] - m) ** 2;
        f[(mean >> 2) + c] = m;
        f[(variance >> 2) + c] = q / (N * S);
      }
    },
    bnForward(y, x, mean, invstd, weight, bias, N, C, S) {
      const f = f32();
      for (let c = 0; c < C; c++) {
        const m = f[(mean >> 2) + c], r = f[(invstd >> 2) + c];
        const w = weight ? f[(weight >> 2) + c] : 1, b = bias ? f[(bias >> 2) + c] : 0;
        for (let n = 0; n < N; n++) for (let k = 0; k < S; k++) {
          const o = (n * C + c) * S + k;
          f[(y >> 2) + o] = (f[(x >> 2) + o] - m) * r * w + b;
        }
      }
    },
    bnBackwardSums(sums, dy, x, mean, invstd, N, C, S) {
      const f = f32();
      for (let c = 0; c < C; c++) {
        const m = f[(mean >> 2) + c], r = f[(invstd >> 2) + c];
        let sumDy = 0, sumDyXhat = 0;
        for (let n = 0; n < N; n++) for (let k = 0; k < S; k++) {
          const o = (n * C + c) * S + k;
          sumDy += f[(dy >> 2) + o];
          sumDyXhat += f[(dy >> 2) + o] * (f[(x >> 2) + o] - m) * r;
        }
        f[(sums >> 2) + c] = sumDy;
        f[(sums >> 2) + C + c] = sumDyXhat;
      }
    },
    bnBackwardDx(dx, dy, x, mean, invstd, weight, sums, N, C, S, batchStats) {
      const f = f32(), M = N * S;
      for (let c = 0; c < C; c++) {
        const m = f[(mean >> 2) + c], r = f[(invstd >> 2) + c], w = weight ? f[(weight >> 2) + c] : 1;
        const a = (w * f[(sums >> 2) + c]) / M, b = (w * f[(sums >> 2) + C + c]) / M;
        for (let n = 0; n < N; n++) for (let k = 0; k < S; k++) {
          const o = (n * C + c) * S + k;
          const gh = f[(dy >> 2) + o] * w;
          f[(dx >> 2) + o] = batchStats ? r * (gh - a - (f[(x >> 2) + o] - m) * r * b) : gh * r;
        }
      }
    },
    dropout(y, mask, x, n, threshold, scale, seed) {
      const f = f32();
      for (let i = 0; i < n; i++) {
        let h = (Math.imul(i, 0x9e3779b1) + seed) >>> 0;
        h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
        h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
        h = (h ^ (h >>> 16)) >>> 0;
        const m = h >= threshold >>> 0 ? scale : 0;
        f[(mask >> 2) + i] = m;
        f[(y >> 2) + i] = f[(x >> 2) + i] * m;
      }
    },

    affineNearest(dst, src, N, C, H, W, OH, OW, maps, fills) {
      const f = f32(), m = new Float64Array(memory.buffer, maps, N * 6);
      for (let n = 0; n < N; n++) {
        const [a, b, c, d, e, g] = m.subarray(n * 6, n * 6 + 6);
        for (let y = 0; y < OH; y++) {
          for (let x = 0; x < OW; x++) {
            const xi = Math.floor(a * x + b * y + c + 0.5), yi = Math.floor(d * x + e * y + g + 0.5);
            const inside = xi >= 0 && xi < W && yi >= 0 && yi < H;
            for (let ch = 0; ch < C; ch++) {
              f[(dst >> 2) + ((n * C + ch) * OH + y) * OW + x] = inside
                ? f[(src >> 2) + ((n * C + ch) * H + yi) * W + xi]
                : f[(fills >> 2) + ch];
            }
          }
        }
      }
    },

    sgdStep(p, g, buf, n, lr, momentum, oneMinusDampening, weightDecay, nesterov, firstStep, maximize) {
      const f = f32(), P = p >> 2, G = g >> 2, BUF = buf >> 2;
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
    adamStep(p, g, m, v, vmax, n, oneMinusBeta1, beta2, oneMinusBeta2, eps, weightDecay, decay,
             decoupled, amsgrad, maximize, stepSize, bc2Sqrt) {
      const f = f32(), P = p >> 2, G = g >> 2, Mo = m >> 2, V = v >> 2, VM = vmax >> 2;
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
  };
}
