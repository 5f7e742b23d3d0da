// Scaled dot-product attention: softmax(scale · q kᵀ + mask) v. The fused kernel
// (assembly/attention.ts) never stores the T×S score matrix and reads q, k, v and writes the output
// through strides, so heads split out of a projection need no copies; the composed form
// (matmul → softmax → dropout → matmul) serves dropout and is the reference in tests.
import { ShapeError, ValueError, shapeStr } from "../errors.js";
import type { Backend } from "../backend/backend.js";
import { type Tensor, full, numel, requireFloat, sameBackend } from "../tensor.js";
import { isRecording, opOutput, record, tempTensor } from "../autograd.js";
import { allocTemp, noGrad, releaseTemp } from "../lifetime.js";
import { broadcastShapes } from "../layout.js";
import { checkArgCount, checkBool, checkFiniteNumber, checkGenerator, checkOptions } from "../check.js";
import { type Generator, defaultGenerator } from "../random.js";
import { contiguous, expand, requireTensor, reshape, to, transpose, triu } from "./layout.js";
import { add, maskedFill, mul, where } from "./elementwise.js";
import { matmul } from "./matmul.js";
import { softmax } from "./softmax.js";
import { dropout } from "./norm.js";

/** Options of scaledDotProductAttention (torch's attn_mask, dropout_p, is_causal, scale). */
export interface AttentionOptions {
  /** bool (true = may attend) or float (added to the scores), broadcastable to (…, T, S) */
  attnMask?: Tensor | null;
  /** hide key j from query i when j > i (top-left aligned, as torch) */
  isCausal?: boolean;
  /** dropout on the attention weights (always applied when > 0, as torch's functional form) */
  dropoutP?: number;
  /** factor on q·k; default 1/√E */
  scale?: number | null;
  /** random numbers for dropout */
  generator?: Generator;
}

const OPTION_KEYS = ["attnMask", "isCausal", "dropoutP", "scale", "generator"] as const;

/**
 * F.scaled_dot_product_attention: q (…, T, E), k (…, S, E), v (…, S, Ev) → (…, T, Ev), leading
 * dims broadcast. Runs the fused kernel unless dropout is on or Ev ≠ E (then the composed form).
 * A float attnMask gets no gradient.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  const op = "scaledDotProductAttention";
  checkArgCount(op, arguments, 4);
  requireTensor(op, q);
  requireTensor(op, k);
  requireTensor(op, v);
  checkOptions(op, options, OPTION_KEYS);
  const { attnMask = null, isCausal = false, dropoutP = 0, scale = null, generator = defaultGenerator } = options;
  sameBackend(op, q, k, v);
  requireFloat(op, "query", q);
  requireFloat(op, "key", k);
  requireFloat(op, "value", v);
  checkBool(op, "isCausal", isCausal);
  checkFiniteNumber(op, "dropoutP", dropoutP, 0, 1);
  if (scale !== null) checkFiniteNumber(op, "scale", scale);
  checkGenerator(op, "generator", generator);
  if (q.ndim < 2 || k.ndim < 2 || v.ndim < 2) {
    throw new ShapeError(`${op}: query, key and value need at least 2 dims (…, L, E), got ${shapeStr(q.shape)}, ${shapeStr(k.shape)}, ${shapeStr(v.shape)}`);
  }
  const [T, E] = q.shape.slice(-2);
  const [S, Ek] = k.shape.slice(-2);
  const [Sv, Ev] = v.shape.slice(-2);
  if (Ek !== E) throw new ShapeError(`${op}: query ${shapeStr(q.shape)} and key ${shapeStr(k.shape)} differ in the last dim (${E} ≠ ${Ek})`);
  if (Sv !== S) throw new ShapeError(`${op}: key ${shapeStr(k.shape)} and value ${shapeStr(v.shape)} differ in the sequence dim (${S} ≠ ${Sv})`);
  if (attnMask !== null) {
    requireTensor(op, attnMask);
    sameBackend(op, q, attnMask);
    if (isCausal) throw new ValueError(`${op}: pass either attnMask or isCausal, not both (as torch)`);
  }
  const batch = broadcastShapes(`${op} (batch dims)`, q.shape.slice(0, -2), k.shape.slice(0, -2), v.shape.slice(0, -2));
  const s = scale ?? 1 / Math.sqrt(E);
  const mask = attnMask === null ? null : additiveMask(op, attnMask, [...batch, T, S]);
  if (dropoutP > 0 || Ev !== E || T === 0 || S === 0 || E === 0 || numel(batch) === 0) {
    const ex = (t: Tensor, n: number) => expand(t, [...batch, t.shape[t.ndim - 2], n]);
    return attentionComposed(ex(q, E), ex(k, E), ex(v, Ev), mask, s, isCausal, dropoutP, generator);
  }
  // (…) → (B, H): the last batch dim is H, the rest B (views where the layout allows).
  const H = batch.length === 0 ? 1 : batch[batch.length - 1];
  const B = numel(batch) / Math.max(H, 1);
  const as4 = (t: Tensor, n: number) => reshape(expand(t, [...batch, t.shape[t.ndim - 2], E]), [B, H, n, E]);
  const mask4 = mask === null ? null : reshape(mask, [B, H, T, S]);
  const out = fusedAttention(as4(q, T), as4(k, S), as4(v, S), mask4, s, isCausal, 0, "bhtd");
  return reshape(out, [...batch, T, E]);
}

/** A bool (true = attend) or float mask as float32 additive scores broadcast to `shape`. */
function additiveMask(op: string, m: Tensor, shape: number[]): Tensor {
  let f: Tensor;
  if (m.dtype === "bool") f = where(m, 0, -Infinity);
  else if (m.dtype === "float32") f = m;
  else throw new ValueError(`${op}: attnMask must be bool or float32, got ${m.dtype}`);
  try {
    broadcastShapes(op, m.shape, shape);
  } catch {
    throw new ShapeError(`${op}: attnMask of shape ${shapeStr(m.shape)} does not broadcast to the scores' shape ${shapeStr(shape)}`);
  }
  return expand(f, shape);
}

/** Causal masks by backend and (T, S), kept for reuse: made afresh per call they would be persistent tensors every step. */
const causalMasks = new WeakMap<Backend, Map<string, Tensor>>();
const CAUSAL_MASKS_KEPT = 8;

/** The (T, S) bool mask of positions j > i that causal attention hides (at most 8 sizes kept per backend). */
function causalMask(backend: Backend, T: number, S: number): Tensor {
  let masks = causalMasks.get(backend);
  if (masks === undefined) causalMasks.set(backend, (masks = new Map()));
  const key = `${T}x${S}`;
  let m = masks.get(key);
  if (m === undefined) {
    m = noGrad(() => to(triu(full([T, S], 1, { backend }), 1), "bool")).keep();
    if (masks.size >= CAUSAL_MASKS_KEPT) {
      const [oldest, t] = masks.entries().next().value as [string, Tensor];
      masks.delete(oldest);
      t.dispose();
    }
    masks.set(key, m);
  }
  return m;
}

/** The composed form: softmax(scale · q kᵀ (+ mask, causal)) (dropout) · v, one op after another. */
export function attentionComposed(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  mask: Tensor | null,
  scale: number,
  causal: boolean,
  dropoutP: number,
  generator: Generator = defaultGenerator,
): Tensor {
  let scores = mul(matmul(q, transpose(k, -2, -1)), scale);
  const [T, S] = scores.shape.slice(-2);
  if (causal) scores = maskedFill(scores, causalMask(q.backend, T, S), -Infinity);
  if (mask !== null) scores = add(scores, mask);
  let attn = softmax(scores, -1);
  if (dropoutP > 0) attn = dropout(attn, dropoutP, true, generator);
  return matmul(attn, v);
}

/**
 * How the fused kernel's output lies: (B,H,T,D) as torch returns it, or with heads next to each
 * other for an output projection: (B,T,H,D) (batch first) or (T,B,H,D) (sequence first).
 */
export type AttentionLayout = "bhtd" | "bthd" | "tbhd";

/** Output shape and (b, h, t) element strides of each layout. */
function outputLayout(layout: AttentionLayout, B: number, H: number, T: number, D: number): { shape: number[]; strides: number[] } {
  if (layout === "bhtd") return { shape: [B, H, T, D], strides: [H * T * D, T * D, D] };
  if (layout === "bthd") return { shape: [B, T, H, D], strides: [T * H * D, D, H * D] };
  return { shape: [T, B, H, D], strides: [H * D, D, B * H * D] };
}

/**
 * @internal The fused kernel on 4-D q (B,H,T,D), k and v (B,H,S,D) of any strides (the last dim
 * unit-stride, else copied); mask a float (B|1, H|1, T, S) tensor or null; causal hides j > i + offset.
 * Returns the output in `layout`, recorded for autograd.
 */
export function fusedAttention(
  q0: Tensor,
  k0: Tensor,
  v0: Tensor,
  mask: Tensor | null,
  scale: number,
  causal: boolean,
  causalOffset: number,
  layout: AttentionLayout,
): Tensor {
  const unit = (t: Tensor) => (t.strides[3] === 1 || t.shape[3] === 1 ? t : contiguous(t));
  const q = unit(q0),
    k = unit(k0),
    v = unit(v0);
  const be = q.backend;
  const [B, H, T, D] = q.shape;
  const S = k.shape[2];
  // The mask's (T, S) rows must be dense; its B and H dims may be 1 or broadcast (stride 0).
  let m: Tensor | null = null;
  let mB = 0,
    mH = 0;
  if (mask !== null) {
    const rowsDense = (mask.strides[3] === 1 || S === 1) && (mask.strides[2] === S || T === 1);
    m = rowsDense ? mask : contiguous(mask);
    mB = m.shape[0] === 1 ? 0 : m.strides[0];
    mH = m.shape[1] === 1 ? 0 : m.strides[1];
  }
  const ol = outputLayout(layout, B, H, T, D);
  const out = opOutput(be, ol.shape, [q, k, v]);
  const strides = [...q.strides.slice(0, 3), ...k.strides.slice(0, 3), ...v.strides.slice(0, 3), ...ol.strides, mB, mH];
  const scaleBits = new Int32Array(Float32Array.of(scale).buffer)[0];
  const sizes = [B, H, T, S, D, scaleBits, causal ? 1 : 0, causalOffset];
  const recording = isRecording([q, k, v]);
  const lse = recording ? opOutput(be, [B, H, T], [q, k, v]) : null;
  const lseTemp = lse === null ? allocTemp(be, B * H * T * 4) : null;
  const work = allocTemp(be, be.attentionWorkFloats() * 4);
  try {
    const lsePtr = lse !== null ? lse.ptr : lseTemp!.ptr;
    const args = be.writeMeta(Int32Array.of(out.ptr, lsePtr, q.basePtr, k.basePtr, v.basePtr, m ? m.basePtr : 0, ...sizes, ...strides));
    be.attentionForward(args, 0, B * H, work.ptr);
  } finally {
    releaseTemp(work);
    if (lseTemp !== null) releaseTemp(lseTemp);
  }
  if (lse === null) return out;
  return record(out, "scaledDotProductAttention", [q, k, v], (g, ctx) => {
    const dq = tempTensor(be, [B, H, T, D]),
      dk = tempTensor(be, [B, H, S, D]),
      dv = tempTensor(be, [B, H, S, D]);
    const w = allocTemp(be, 2 * be.attentionWorkFloats() * 4);
    try {
      const args = be.writeMeta(
        Int32Array.of(dq.ptr, dk.ptr, dv.ptr, g.ptr, q.basePtr, k.basePtr, v.basePtr, out.ptr, lse.ptr, m ? m.basePtr : 0, ...sizes, ...strides),
      );
      be.attentionBackward(args, 0, B * H, w.ptr);
      ctx.pass(q, dq);
      ctx.pass(k, dk);
      ctx.pass(v, dv);
    } finally {
      releaseTemp(w);
      for (const t of [dq, dk, dv]) releaseTemp(t.storage);
    }
  });
}
