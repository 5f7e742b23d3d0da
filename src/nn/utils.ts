// torch.nn.utils gradient clipping: clipGradNorm_, clipGradValue_, and the two halves of
// clipGradNorm_ that PyTorch ≥ 2.6 exposes (getTotalNorm, clipGradsWithNorm_).
//
// The 2-norm comes from the backend's `sumsq` kernel (Σ g² in float64, SIMD in wasm); other norms
// read the gradients in TypeScript. Scaling is the backend's `affine` kernel, in place.
import { ValueError } from "../errors.js";
import { Tensor } from "../tensor.js";
import { describe, checkArgCount } from "../check.js";

/** A norm order: a positive number, Infinity (max |g|) or the string "inf". */
export type NormType = number | "inf";

function toList(tensors: Tensor | Iterable<Tensor>): Tensor[] {
  if (tensors instanceof Tensor) return [tensors];
  if (tensors === null || typeof tensors !== "object" || typeof (tensors as Iterable<Tensor>)[Symbol.iterator] !== "function") {
    throw new ValueError(`expected a tensor or an iterable of tensors (model.parameters()), got ${describe(tensors)}`);
  }
  const list = Array.from(tensors);
  list.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new ValueError(`expected tensors (model.parameters()), got ${describe(t)} at index ${i}`);
  });
  return list;
}

/** The gradients of `parameters` that exist (parameters without a gradient are skipped). */
function gradsOf(parameters: Tensor | Iterable<Tensor>): Tensor[] {
  const grads: Tensor[] = [];
  for (const p of toList(parameters)) if (p.grad !== null) grads.push(p.grad);
  return grads;
}

function normOrder(normType: NormType, owner: string): number {
  const p = normType === "inf" ? Infinity : normType;
  if (typeof p !== "number" || !(p > 0)) {
    throw new ValueError(`${owner}: unsupported normType ${String(normType)} (expected a number > 0, Infinity or "inf")`);
  }
  return p;
}

/**
 * The p-norm of all the given tensors together, as if they were concatenated into one vector
 * (torch.nn.utils.get_total_norm). Computed in float64; returns 0 for an empty list.
 */
export function getTotalNorm(tensors: Tensor | Iterable<Tensor>, normType: NormType = 2, errorIfNonfinite = false): number {
  checkArgCount("getTotalNorm", arguments, 3);
  const p = normOrder(normType, "getTotalNorm");
  const list = toList(tensors);
  let total: number;
  if (p === 2) {
    let s = 0;
    for (const t of list) s += t.backend.sumsq(t.ptr, t.size);
    total = Math.sqrt(s);
  } else if (p === Infinity) {
    total = 0; // max |g|; a NaN anywhere makes it NaN, as torch.max does
    let nan = false;
    for (const t of list) {
      const d = t.data;
      for (let i = 0; i < d.length; i++) {
        const a = Math.abs(d[i]);
        if (a > total) total = a;
        else if (Number.isNaN(a)) nan = true;
      }
    }
    if (nan) total = NaN;
  } else {
    let s = 0;
    for (const t of list) {
      const d = t.data;
      for (let i = 0; i < d.length; i++) s += Math.abs(d[i]) ** p;
    }
    total = s ** (1 / p);
  }
  if (errorIfNonfinite && !Number.isFinite(total)) {
    throw new ValueError(
      `the total norm of order ${p} for gradients from \`parameters\` is non-finite, so it cannot be clipped. ` +
        "To disable this error and scale the gradients by the non-finite norm anyway, set `errorIfNonfinite = false`",
    );
  }
  return total;
}

/**
 * Scales the gradients of `parameters` in place by maxNorm / (totalNorm + 1e-6) when that is
 * below 1 (torch.nn.utils.clip_grads_with_norm_). A NaN total norm makes the gradients NaN, and an
 * infinite one zeroes them, as in PyTorch.
 */
export function clipGradsWithNorm_(parameters: Tensor | Iterable<Tensor>, maxNorm: number, totalNorm: number): void {
  checkArgCount("clipGradsWithNorm_", arguments, 3);
  if (typeof maxNorm !== "number" || Number.isNaN(maxNorm)) throw new ValueError(`clipGradNorm_: invalid maxNorm ${maxNorm}`);
  const clipCoef = maxNorm / (totalNorm + 1e-6);
  // PyTorch clamps the coefficient to 1 and always multiplies; × 1 changes nothing, so skip it.
  if (clipCoef >= 1) return;
  // The coefficient is a float32 in the kernel (as torch's float32 tensor math has it); rounding it
  // here gives the js backend the same bits as wasm, whose affine takes an f32.
  const coef = Math.fround(clipCoef);
  for (const g of gradsOf(parameters)) g.backend.affine(g.ptr, g.ptr, coef, 0, g.size);
}

/**
 * Clips the gradient norm of `parameters` (torch.nn.utils.clip_grad_norm_): the norm is computed
 * over all gradients together as if concatenated, and the gradients are scaled in place by
 * maxNorm / (total + 1e-6) when that is below 1. Returns the total norm before clipping.
 *
 *   loss.backward();
 *   nn.utils.clipGradNorm_(model.parameters(), 1.0);
 *   optimizer.step();
 */
export function clipGradNorm_(parameters: Tensor | Iterable<Tensor>, maxNorm: number, normType: NormType = 2, errorIfNonfinite = false): number {
  checkArgCount("clipGradNorm_", arguments, 4);
  // Arguments are checked even when there is nothing to clip, so a bad call fails on step one.
  if (typeof maxNorm !== "number" || Number.isNaN(maxNorm)) throw new ValueError(`clipGradNorm_: invalid maxNorm ${maxNorm}`);
  normOrder(normType, "clipGradNorm_");
  const list = toList(parameters);
  const grads = gradsOf(list);
  if (grads.length === 0) return 0;
  const total = getTotalNorm(grads, normType, errorIfNonfinite);
  clipGradsWithNorm_(list, maxNorm, total);
  return total;
}

/** Clamps every gradient element of `parameters` to [-clipValue, clipValue], in place (torch.nn.utils.clip_grad_value_). */
export function clipGradValue_(parameters: Tensor | Iterable<Tensor>, clipValue: number): void {
  checkArgCount("clipGradValue_", arguments, 2);
  if (typeof clipValue !== "number" || Number.isNaN(clipValue)) throw new ValueError(`clipGradValue_: invalid clipValue ${clipValue}`);
  toList(parameters);
  // torch.clamp(g, -clipValue, clipValue): NaN stays NaN; a negative clipValue gives all clipValue.
  const hi = Math.fround(clipValue),
    lo = -hi;
  for (const g of gradsOf(parameters)) {
    const d = g.data;
    for (let i = 0; i < d.length; i++) d[i] = Math.min(Math.max(d[i], lo), hi);
  }
}
