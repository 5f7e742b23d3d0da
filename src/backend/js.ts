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
    affine(dst, a, s, t, n) {
      const f = f32(), D = dst >> 2, A = a >> 2;
      for (let i = 0; i < n; i++) f[D + i] = f[A + i] * s + t;
    },
    axpy(dst, x, alpha, n) {
      const f = f32(), D = dst >> 2, X = x >> 2;
      for (let i = 0; i < n; i++) f[D + i] += alpha * f[X + i];
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
