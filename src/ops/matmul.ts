// Matrix products on the SIMD gemm: linear (x · Wᵀ + b as one fused gemm), matmul with PyTorch's
// rules (1-D, 2-D, batched with broadcast batch dims) and bmm. A transposed operand (a .mT or
// .transpose view) is read in place through the gemm's nt/tn forms instead of being copied.
import { ShapeError, shapeStr } from "../errors.js";
import { type Tensor, numel, requireFloat, sameBackend } from "../tensor.js";
import { opOutput, record } from "../autograd.js";
import type { Backend, GemmForm } from "../backend/backend.js";
import { broadcastShapes, contiguousStrides } from "../layout.js";
import { contiguous, requireTensor, squeeze, unsqueeze } from "./layout.js";
import { checkArgCount } from "../check.js";
import { allocTemp, releaseTemp } from "../lifetime.js";

/**
 * y (*, OUT) = x (*, IN) · W (OUT, IN)ᵀ + b (OUT), PyTorch's F.linear.
 * backward: dx = dy · W (nn), dW += dyᵀ · x (tn), db += column sums of dy.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  checkArgCount("linear", arguments, 3);
  return linearOp("linear", x, weight, bias ?? null, false);
}

/**
 * relu(linear(x, W, b)) as one gemm whose epilogue applies the ReLU as it stores y: the same
 * bits as the two ops, one pass over y fewer forward and one autograd node. nn.Sequential uses
 * it for a Linear directly followed by a ReLU. backward: dh = relu'(y) · dy, then linear's.
 */
export function linearRelu(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  checkArgCount("linearRelu", arguments, 3);
  return linearOp("linear_relu", x, weight, bias ?? null, true);
}

// Errors say "linear" for both: the user wrote a Linear layer.
function linearOp(node: string, x: Tensor, weight: Tensor, bias: Tensor | null, relu: boolean): Tensor {
  const name = "linear";
  const be = bias ? sameBackend(name, x, weight, bias) : sameBackend(name, x, weight);
  requireFloat(name, "input", x);
  requireFloat(name, "weight", weight);
  if (bias) requireFloat(name, "bias", bias);
  if (weight.ndim !== 2) throw new ShapeError(`${name}: weight must be 2-D (out_features, in_features), got ${shapeStr(weight.shape)}`);
  const [OUT, IN] = weight.shape;
  if (x.ndim < 1 || x.shape[x.ndim - 1] !== IN) {
    throw new ShapeError(
      `${name}: input of shape ${shapeStr(x.shape)} does not fit weight ${shapeStr(weight.shape)}: ` +
        `expected last dimension ${IN} (in_features), got ${x.ndim < 1 ? "a scalar" : x.shape[x.ndim - 1]}`,
    );
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== OUT)) {
    throw new ShapeError(`${name}: bias must have shape [${OUT}] to match weight ${shapeStr(weight.shape)}, got ${shapeStr(bias.shape)}`);
  }
  const xc = contiguous(x),
    w = contiguous(weight),
    b = bias ? contiguous(bias) : null;
  const rows = numel(x.shape.slice(0, -1)); // also when IN = 0: then y = bias in every row
  const inputs = b ? [xc, w, b] : [xc, w];
  const out = opOutput(be, [...x.shape.slice(0, -1), OUT], inputs);
  be.gemm("nt", rows, OUT, IN, xc.ptr, IN, w.ptr, IN, out.ptr, OUT, b ? b.ptr : 0, false, relu);
  return record(out, node, inputs, (g, ctx) => {
    const backward = (dy: number) => {
      ctx.accumulate(xc, (dx, acc) => be.gemm("nn", rows, IN, OUT, dy, OUT, w.ptr, IN, dx, IN, 0, acc));
      ctx.accumulate(w, (dw, acc) => be.gemm("tn", OUT, IN, rows, dy, OUT, xc.ptr, IN, dw, IN, 0, acc));
      if (b) ctx.accumulate(b, (db, acc) => be.colSum(db, dy, rows, OUT, acc));
    };
    if (!relu) return backward(g.ptr);
    const dh = allocTemp(be, out.size * 4);
    try {
      be.reluBackward(dh.ptr, g.ptr, out.ptr, out.size);
      backward(dh.ptr);
    } finally {
      releaseTemp(dh);
    }
  });
}

/** How a batch of matrices (…, R, C) lies in memory for the gemm. */
interface MatrixLayout {
  /** "n": rows `ld` elements apart (row-major); "t": stored transposed, columns `ld` apart */
  form: "n" | "t";
  ld: number;
}

/** n when the last dim is unit-stride, t when the second-to-last is, else null (copy needed). */
function layoutOf(t: Tensor): MatrixLayout | null {
  const nd = t.ndim;
  const [R, C] = [t.shape[nd - 2], t.shape[nd - 1]];
  const [sR, sC] = [t.strides[nd - 2], t.strides[nd - 1]];
  // Rows (or columns) must not overlap: an expanded dim (stride 0) needs a copy.
  if ((sC === 1 || C === 1) && (R === 1 || sR >= C)) return { form: "n", ld: R === 1 ? Math.max(C, 1) : sR };
  if ((sR === 1 || R === 1) && (C === 1 || sC >= R)) return { form: "t", ld: C === 1 ? Math.max(R, 1) : sC };
  return null;
}

/**
 * Matrix product with PyTorch's rules: 1-D·1-D is a dot product, 2-D·2-D a matrix product, a
 * 1-D operand gets a dim prepended (first) or appended (second) that is removed afterwards, and
 * with more dims the leading (batch) dims broadcast. Each batch is one gemm (threaded when big).
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  checkArgCount("matmul", arguments, 2);
  requireTensor("matmul", a);
  requireTensor("matmul", b);
  sameBackend("matmul", a, b);
  requireFloat("matmul", "first operand", a);
  requireFloat("matmul", "second operand", b);
  if (a.ndim === 0 || b.ndim === 0)
    throw new ShapeError(`matmul: both operands need at least one dimension, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  if (a.ndim === 1 && b.ndim === 1) {
    if (a.shape[0] !== b.shape[0]) throw new ShapeError(`matmul: 1-D operands of different lengths ${a.shape[0]} and ${b.shape[0]}`);
    return squeeze(batchedMatmul(unsqueeze(a, 0), unsqueeze(b, 1)), [0, 1]);
  }
  if (a.ndim === 1) return squeeze(batchedMatmul(unsqueeze(a, 0), b), -2);
  if (b.ndim === 1) return squeeze(batchedMatmul(a, unsqueeze(b, 1)), -1);
  return batchedMatmul(a, b);
}

/** Batched matrix product of 3-D tensors (B, M, K) · (B, K, N), torch.bmm (no broadcasting). */
export function bmm(a: Tensor, b: Tensor): Tensor {
  checkArgCount("bmm", arguments, 2);
  requireTensor("bmm", a);
  requireTensor("bmm", b);
  if (a.ndim !== 3 || b.ndim !== 3) throw new ShapeError(`bmm: expected two 3-D tensors, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  if (a.shape[0] !== b.shape[0]) throw new ShapeError(`bmm: batch sizes differ: ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  return matmul(a, b);
}

/** Batch index → element offset of an operand whose batch dims broadcast against `batch`. */
function batchOffsets(t: Tensor, batch: readonly number[], useStrides: readonly number[]): number[] {
  const nb = t.ndim - 2;
  const off = batch.length - nb;
  const n = numel(batch);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    let rest = i,
      o = 0;
    for (let d = batch.length - 1; d >= 0; d--) {
      const idx = rest % batch[d];
      rest = Math.floor(rest / batch[d]);
      const td = d - off;
      if (td >= 0 && t.shape[td] !== 1) o += idx * useStrides[td];
    }
    out[i] = o;
  }
  return out;
}

function batchedMatmul(a0: Tensor, b0: Tensor): Tensor {
  const be = a0.backend;
  const [M, K] = [a0.shape[a0.ndim - 2], a0.shape[a0.ndim - 1]];
  const [K2, N] = [b0.shape[b0.ndim - 2], b0.shape[b0.ndim - 1]];
  if (K !== K2) {
    throw new ShapeError(`matmul: shapes ${shapeStr(a0.shape)} and ${shapeStr(b0.shape)} cannot be multiplied (${K} ≠ ${K2})`);
  }
  const batch = broadcastShapes("matmul (batch dims)", a0.shape.slice(0, -2), b0.shape.slice(0, -2));
  let la = layoutOf(a0),
    lb = layoutOf(b0);
  // gemm has nn, nt and tn forms: a copy where the layout needs a "tt" or is not a matrix layout.
  const a = la === null || (la.form === "t" && lb?.form === "t") ? contiguous(a0) : a0;
  if (a !== a0) la = layoutOf(a);
  const b = lb === null ? contiguous(b0) : b0;
  if (b !== b0) lb = layoutOf(b);
  const fa = la!,
    fb = lb!;
  const nBatch = numel(batch);
  const out = opOutput(be, [...batch, M, N], [a, b]);
  const aOff = batchOffsets(a, batch, a.strides),
    bOff = batchOffsets(b, batch, b.strides);
  const form = (fa.form + fb.form) as GemmForm;
  for (let i = 0; i < nBatch; i++) {
    gemmLaid(be, form, M, N, K, a.basePtr + aOff[i] * 4, fa.ld, b.basePtr + bOff[i] * 4, fb.ld, out.ptr + i * M * N * 4, N, false);
  }
  return record(out, "matmul", [a, b], (g, ctx) => {
    // Gradients are dense in the operand's own shape; a broadcast operand sums over the batches
    // that reuse it (accumulating gemms after the first touch of each slot).
    const aDense = batchOffsets(a, batch, contiguousStrides(a.shape));
    const bDense = batchOffsets(b, batch, contiguousStrides(b.shape));
    if (a.requiresGrad) {
      ctx.accumulate(a, (da, acc) => {
        const seen = new Set<number>();
        for (let i = 0; i < nBatch; i++) {
          const first = !seen.has(aDense[i]);
          seen.add(aDense[i]);
          // dA (M,K) = dC (M,N) · Bᵀ: B row-major (K,N) → nt; B stored transposed (N,K) → nn.
          gemmLaid(be, fb.form === "n" ? "nt" : "nn", M, K, N, g.ptr + i * M * N * 4, N, b.basePtr + bOff[i] * 4, fb.ld, da + aDense[i] * 4, K, acc || !first);
        }
        if (nBatch === 0 && !acc) be.fill(da, a.size, 0);
      });
    }
    if (b.requiresGrad) {
      ctx.accumulate(b, (db, acc) => {
        const seen = new Set<number>();
        for (let i = 0; i < nBatch; i++) {
          const first = !seen.has(bDense[i]);
          seen.add(bDense[i]);
          // dB (K,N) = Aᵀ · dC: A row-major (M,K) → tn; A stored transposed (K,M) → nn.
          gemmLaid(be, fa.form === "n" ? "tn" : "nn", K, N, M, a.basePtr + aOff[i] * 4, fa.ld, g.ptr + i * M * N * 4, N, db + bDense[i] * 4, N, acc || !first);
        }
        if (nBatch === 0 && !acc) be.fill(db, b.size, 0);
      });
    }
  });
}

/** One gemm in one of the forms the kernels have (nn, nt, tn). */
function gemmLaid(
  be: Backend,
  form: GemmForm | "tt",
  M: number,
  N: number,
  K: number,
  a: number,
  lda: number,
  b: number,
  ldb: number,
  c: number,
  ldc: number,
  accumulate: boolean,
): void {
  if (form === "tt") throw new ShapeError("internal: matmul reached a tt gemm");
  be.gemm(form, M, N, K, a, lda, b, ldb, c, ldc, 0, accumulate);
}
