// The plain-JS twin of assembly/matmul.ts: gemm in its three forms, float64 row accumulators. Each kernel's contract (shapes, modes)
// is documented once, on the AssemblyScript export.
import type { GemmForm, Kernels } from "../backend.js";
import type { JsMemory } from "./memory.js";

/** Gemm in its three forms, float64 row accumulators as plain loops. */
export function matmulKernels({ f32 }: JsMemory) {
  return {
    gemm(form: GemmForm, M, N, K, a, lda, b, ldb, c, ldc, bias, accumulate, relu = false) {
      const f = f32();
      const A = a >>> 2,
        B = b >>> 2,
        C = c >>> 2,
        bi = bias >>> 2;
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
        // ReLU on the rounded float32 result, as the relu twin does it (NaN stays NaN).
        if (relu) for (let j = 0; j < N; j++) if (!(f[C + i * ldc + j] > 0 || Number.isNaN(f[C + i * ldc + j]))) f[C + i * ldc + j] = 0;
      }
    },
  } satisfies Pick<Kernels, "gemm">;
}
