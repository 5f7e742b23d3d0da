// Matrix products: linear (x · Wᵀ + b as one fused gemm) and matmul, with their backward.
import { ShapeError, shapeStr } from "../errors.js";
import { Tensor, requireFloat, sameBackend } from "../tensor.js";
import { opOutput, record } from "../autograd.js";

/**
 * y (*, OUT) = x (*, IN) · W (OUT, IN)ᵀ + b (OUT), PyTorch's F.linear.
 * backward: dx = dy · W (nn), dW += dyᵀ · x (tn), db += column sums of dy.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const be = bias ? sameBackend("linear", x, weight, bias) : sameBackend("linear", x, weight);
  requireFloat("linear", "input", x);
  requireFloat("linear", "weight", weight);
  if (bias) requireFloat("linear", "bias", bias);
  if (weight.ndim !== 2) throw new ShapeError(`linear: weight must be 2-D (out_features, in_features), got ${shapeStr(weight.shape)}`);
  const [OUT, IN] = weight.shape;
  if (x.ndim < 1 || x.shape[x.ndim - 1] !== IN) {
    throw new ShapeError(
      `linear: input of shape ${shapeStr(x.shape)} does not fit weight ${shapeStr(weight.shape)}: ` +
        `expected last dimension ${IN} (in_features), got ${x.ndim < 1 ? "a scalar" : x.shape[x.ndim - 1]}`,
    );
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== OUT)) {
    throw new ShapeError(`linear: bias must have shape [${OUT}] to match weight ${shapeStr(weight.shape)}, got ${shapeStr(bias.shape)}`);
  }
  const rows = IN === 0 ? 0 : x.size / IN;
  const inputs = bias ? [x, weight, bias] : [x, weight];
  const out = opOutput(be, [...x.shape.slice(0, -1), OUT], inputs);
  be.gemm("nt", rows, OUT, IN, x.ptr, IN, weight.ptr, IN, out.ptr, OUT, bias ? bias.ptr : 0, false);
  return record(out, "linear", inputs, (g, ctx) => {
    ctx.accumulate(x, (dx, acc) => be.gemm("nn", rows, IN, OUT, g.ptr, OUT, weight.ptr, IN, dx, IN, 0, acc));
    ctx.accumulate(weight, (dw, acc) => be.gemm("tn", OUT, IN, rows, g.ptr, OUT, x.ptr, IN, dw, IN, 0, acc));
    if (bias) ctx.accumulate(bias, (db, acc) => be.colSum(db, g.ptr, rows, OUT, acc));
  });
}

/**
 * C (M,N) = A (M,K) · B (K,N) for 2-D tensors.
 * backward: dA = dC · Bᵀ (nt), dB = Aᵀ · dC (tn).
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const be = sameBackend("matmul", a, b);
  requireFloat("matmul", "first operand", a);
  requireFloat("matmul", "second operand", b);
  if (a.ndim !== 2 || b.ndim !== 2) {
    throw new ShapeError(`matmul: expected two 2-D tensors, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  }
  const [M, K] = a.shape;
  const [K2, N] = b.shape;
  if (K !== K2) {
    throw new ShapeError(`matmul: shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)} cannot be multiplied (${K} ≠ ${K2})`);
  }
  const out = opOutput(be, [M, N], [a, b]);
  be.gemm("nn", M, N, K, a.ptr, K, b.ptr, N, out.ptr, N, 0, false);
  return record(out, "matmul", [a, b], (g, ctx) => {
    ctx.accumulate(a, (da, acc) => be.gemm("nt", M, K, N, g.ptr, N, b.ptr, N, da, K, 0, acc));
    ctx.accumulate(b, (db, acc) => be.gemm("tn", K, N, M, a.ptr, K, g.ptr, N, db, N, 0, acc));
  });
}
