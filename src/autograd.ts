// Reverse-mode autograd. Each recorded op stores a GradNode on its output: the inputs and a
// backward function that turns the output's gradient into its inputs' gradients through a
// BackwardContext. backward() orders the graph topologically from the loss and runs the nodes
// in reverse; gradients of leaves accumulate into `.grad` (as in PyTorch), intermediate
// gradients are temporaries freed as soon as their node has run.
import type { Backend } from "./backend/backend.js";
import { AnomalyError, ShapeError, ValueError, shapeStr } from "./errors.js";
import { type Scope, allocStorage, allocTemp, currentScope, endStep, isGradEnabled, outputScope, releaseTemp } from "./lifetime.js";
import { Tensor, emptyTensor, sameBackend, type DType, type Shape } from "./tensor.js";
import { checkArgCount } from "./check.js";

export interface GradNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  backward(grad: Tensor, ctx: BackwardContext): void;
  /** Set after a backward() without retainGraph: saved tensors may be gone. */
  freed?: boolean;
  /** Anomaly mode: where the forward op was called (stack trace). */
  stack?: string;
}

// ---- anomaly mode (torch.autograd.detect_anomaly) -------------------------------------------
//
// Off by default: then the only cost is one boolean test per op. On, every op's float32 output
// is scanned for NaN/±Infinity as it is made (forward), and every gradient as backward() writes
// it; the first one found throws an AnomalyError naming the op, the direction and the shapes.
// The scan is one backend kernel call (nonfiniteCount) per tensor.

let anomalyMode = false;

/** Turns anomaly detection on or off for everything that follows (torch.autograd.set_detect_anomaly). */
export function setDetectAnomaly(mode: boolean): void {
  checkArgCount("setDetectAnomaly", arguments, 1);
  if (typeof mode !== "boolean") throw new ValueError(`setDetectAnomaly: expected true or false, got ${String(mode)}`);
  anomalyMode = mode;
}

/** Whether anomaly detection is on (torch.is_anomaly_enabled). */
export function isAnomalyEnabled(): boolean {
  checkArgCount("isAnomalyEnabled", arguments, 0);
  return anomalyMode;
}

/**
 * Runs fn with anomaly detection on, then restores the previous mode (torch.autograd.detect_anomaly
 * as a context manager). If fn returns a Promise the mode stays on until it settles.
 *
 *   autograd.detectAnomaly(() => { criterion(model(x), y).backward(); });
 */
export function detectAnomaly<T>(fn: () => T): T {
  checkArgCount("detectAnomaly", arguments, 1);
  if (typeof fn !== "function") throw new ValueError(`detectAnomaly: expected a function, got ${typeof fn}`);
  const previous = anomalyMode;
  anomalyMode = true;
  let result: T;
  try {
    result = fn();
  } catch (e) {
    anomalyMode = previous;
    throw e;
  }
  if (result instanceof Promise) return result.finally(() => (anomalyMode = previous)) as T;
  anomalyMode = previous;
  return result;
}

/** Names of an op's inputs, where they are fixed (else inputs are numbered). */
const INPUT_NAMES: Record<string, readonly string[]> = {
  linear: ["input", "weight", "bias"],
  conv2d: ["input", "weight", "bias"],
  matmul: ["a", "b"],
  add: ["a", "b"],
  sub: ["a", "b"],
  mul: ["a", "b"],
  mseLoss: ["input", "target"],
};

function inputName(op: string, i: number): string {
  const name = INPUT_NAMES[op]?.[i];
  return name === undefined ? `input ${i}` : `${name} (input ${i})`;
}

function nonfinite(t: Tensor): number {
  return t.dtype === "float32" ? t.backend.nonfiniteCount(t.ptr, t.size) : 0;
}

/** "NaN at index 3" / "Infinity at index 0": the first non-finite element, found in JS. */
function firstNonfinite(t: Tensor): string {
  const d = t.data;
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) return `${d[i]} at index ${i}`;
  return "none";
}

function describeInputs(op: string, inputs: readonly Tensor[]): { text: string; bad: boolean } {
  let bad = false;
  const parts = inputs.map((t, i) => {
    const n = nonfinite(t);
    if (n > 0) bad = true;
    return `${inputName(op, i)} ${shapeStr(t.shape)}${n > 0 ? ` with ${n} non-finite` : ""}`;
  });
  return { text: parts.join(", "), bad };
}

function forwardCall(node: GradNode): string {
  if (node.stack === undefined) return "";
  const frames = node.stack
    .split("\n")
    .slice(1, 11)
    .map((l) => `  ${l.trim()}`)
    .join("\n");
  return `\nThe forward call of ${node.op}:\n${frames}`;
}

/** Anomaly mode, forward: throws if `out` of `op` holds NaN/Inf. */
function checkForward(out: Tensor, op: string, inputs: readonly Tensor[]): void {
  // Views share their input's memory (reshape): the input was checked where it was made.
  if (out.dtype !== "float32" || inputs.some((t) => t.storage === out.storage)) return;
  const bad = nonfinite(out);
  if (bad === 0) return;
  const ins = describeInputs(op, inputs);
  throw new AnomalyError(
    `${op} (forward) produced ${bad} non-finite value${bad > 1 ? "s" : ""} (NaN or ±Infinity) in its output of shape ` +
      `${shapeStr(out.shape)}, first ${firstNonfinite(out)}; inputs: ${ins.text}. ` +
      (ins.bad
        ? "An input was already non-finite: the values came from before this op (the data, a parameter after optimizer.step(), or a tensor made outside autograd)."
        : "All its inputs were finite: this op made them (overflow, log or division of 0, ...)."),
  );
}

/** Anomaly mode, backward: throws if node's backward made a gradient of an input non-finite. */
function checkBackward(t: Tensor, g: Tensor, ctx: BackwardContext, leafBefore: Map<Tensor, number>): void {
  const node = t.node!;
  node.inputs.forEach((u, i) => {
    if (!u.requiresGrad) return;
    const grad = u.node === null ? u.grad : ctx.pending.get(u);
    if (grad === null || grad === undefined || (leafBefore.get(u) ?? 0) > 0) return;
    const bad = nonfinite(grad);
    if (bad === 0) return;
    const incoming = nonfinite(g);
    throw new AnomalyError(
      `${node.op} (backward) produced ${bad} non-finite value${bad > 1 ? "s" : ""} (NaN or ±Infinity) in the gradient of its ` +
        `${inputName(node.op, i)} of shape ${shapeStr(u.shape)}, first ${firstNonfinite(grad)}; the gradient flowing into it ` +
        `(shape ${shapeStr(g.shape)}) was ${incoming > 0 ? `already non-finite (${incoming} values)` : "finite"}; forward: ` +
        `${node.inputs.map((x) => shapeStr(x.shape)).join(", ")} → ${shapeStr(t.shape)}.${forwardCall(node)}`,
    );
  });
}

/** Whether an op on these inputs is recorded for autograd. */
export function isRecording(inputs: readonly Tensor[]): boolean {
  if (!isGradEnabled()) return false;
  for (const t of inputs) if (t.requiresGrad) return true;
  return false;
}

/**
 * Allocates an op's output with the right lifetime (see lifetime.ts): in the step scope when
 * recorded or derived from step tensors, in the noGrad scope inside noGrad, else persistent.
 */
export function opOutput(backend: Backend, shape: Shape, inputs: readonly Tensor[], dtype: DType = "float32"): Tensor {
  return emptyTensor(backend, shape, dtype, outputScope(backend, isRecording(inputs), inputs));
}

/** Records `out` as produced by `op` from `inputs` when autograd is on for them; returns out. */
export function record(out: Tensor, op: string, inputs: readonly Tensor[], backward: (grad: Tensor, ctx: BackwardContext) => void): Tensor {
  if (anomalyMode) checkForward(out, op, inputs);
  if (isRecording(inputs)) {
    out.node = anomalyMode ? { op, inputs, backward, stack: new Error().stack } : { op, inputs, backward };
    out.requiresGrad = true;
  }
  return out;
}

/** Gradient plumbing handed to each node's backward function. */
export class BackwardContext {
  /** Pending gradients of non-leaf tensors, keyed by tensor. */
  readonly pending = new Map<Tensor, Tensor>();

  /**
   * autograd.grad's mode: gradients of leaves go into `capture` (for the leaves it lists) instead
   * of their .grad, which stays untouched. null: backward()'s mode, leaves accumulate into .grad.
   */
  constructor(
    readonly capture: Map<Tensor, Tensor | null> | null = null,
    private readonly resultScope: Scope | null = null,
  ) {}

  /** A captured gradient's tensor, in the scope autograd.grad was called from. */
  result(t: Tensor): Tensor {
    return new Tensor(allocStorage(t.backend, t.size * 4, this.resultScope), t.shape, "float32");
  }

  needsGrad(t: Tensor): boolean {
    return t.requiresGrad;
  }

  /**
   * For kernels that can accumulate: calls write(dst, accumulate) with the gradient buffer of t
   * and whether it already holds a gradient to add to.
   */
  accumulate(t: Tensor, write: (dst: number, accumulate: boolean) => void): void {
    if (!t.requiresGrad) return;
    if (t.node === null && this.capture !== null) {
      if (!this.capture.has(t)) return;
      const got = this.capture.get(t);
      if (got === null || got === undefined) {
        const g = this.result(t);
        write(g.ptr, false);
        this.capture.set(t, g);
      } else {
        write(got.ptr, true);
      }
      return;
    }
    if (t.node === null) {
      // Leaf: .grad is persistent and accumulates across backward() calls.
      if (t.grad === null) {
        t.grad = emptyTensor(t.backend, t.shape, "float32", null);
        write(t.grad.ptr, false);
      } else {
        write(t.grad.ptr, true);
      }
      return;
    }
    const existing = this.pending.get(t);
    if (existing === undefined) {
      const g = tempTensor(t.backend, t.shape);
      write(g.ptr, false);
      this.pending.set(t, g);
    } else {
      write(this.ownPending(t, existing).ptr, true);
    }
  }

  /** For kernels that overwrite: computes into a fresh buffer and adds it if t has a gradient. */
  assign(t: Tensor, write: (dst: number) => void): void {
    if (!t.requiresGrad) return;
    if (t.node === null && this.capture !== null && !this.capture.has(t)) return;
    const target = t.node === null ? (this.capture !== null ? this.capture.get(t) : t.grad) : this.pending.get(t);
    if (target === null || target === undefined) {
      this.accumulate(t, (dst) => write(dst));
      return;
    }
    const tmp = tempTensor(t.backend, t.shape);
    try {
      write(tmp.ptr);
      this.accumulate(t, (dst) => t.backend.add(dst, dst, tmp.ptr, t.size));
    } finally {
      releaseTemp(tmp.storage);
    }
  }

  /** Hands `grad` (same number of elements as t) to t without copying when t has none yet. */
  pass(t: Tensor, grad: Tensor): void {
    if (!t.requiresGrad) return;
    if (t.node !== null && !this.pending.has(t)) {
      grad.storage.refs++;
      this.pending.set(t, new Tensor(grad.storage, t.shape, "float32", grad.offset));
      return;
    }
    this.assign(t, (dst) => t.backend.copy(dst, grad.ptr, t.size * 4));
  }

  /** A pending gradient shared with another tensor is copied before it is written. */
  private ownPending(t: Tensor, g: Tensor): Tensor {
    if (g.storage.refs === 1) return g;
    const own = tempTensor(t.backend, t.shape);
    t.backend.copy(own.ptr, g.ptr, t.size * 4);
    releaseTemp(g.storage);
    this.pending.set(t, own);
    return own;
  }
}

/** @internal A float32 gradient buffer outside every scope, freed by releaseTemp(t.storage). */
export function tempTensor(backend: Backend, shape: Shape): Tensor {
  let n = 1;
  for (const d of shape) n *= d;
  return new Tensor(allocTemp(backend, n * 4), shape, "float32");
}

/** Non-leaf tensors reachable from the roots, in topological order (inputs before outputs). */
function topoOrder(roots: readonly Tensor[]): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, number][] = [];
  for (const root of roots) {
    if (root.node === null || seen.has(root)) continue;
    seen.add(root);
    stack.push([root, 0]);
    drain(stack, seen, order);
  }
  return order;
}

function drain(stack: [Tensor, number][], seen: Set<Tensor>, order: Tensor[]): void {
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.node!.inputs;
    if (i < inputs.length) {
      top[1]++;
      const u = inputs[i];
      if (u.node !== null && u.requiresGrad && !seen.has(u)) {
        seen.add(u);
        stack.push([u, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
}

/** loss.backward(): gradients of one root accumulated into the leaves' .grad. */
export function runBackward(root: Tensor, gradient: Tensor | undefined, retainGraph: boolean): void {
  backwardPass("backward", [root], [gradient], retainGraph, null);
}

/**
 * autograd.grad's engine: the gradients of Σ roots·gradients w.r.t. each of `inputs` (leaves or
 * intermediate tensors), without touching any leaf's .grad; null for an input no root depends on.
 */
export function gradientsOf(
  roots: readonly Tensor[],
  gradients: readonly (Tensor | undefined)[],
  inputs: readonly Tensor[],
  retainGraph: boolean,
): (Tensor | null)[] {
  const capture = new Map<Tensor, Tensor | null>();
  for (const t of inputs) capture.set(t, null);
  backwardPass("grad", roots, gradients, retainGraph, capture);
  return inputs.map((t) => capture.get(t) ?? null);
}

function backwardPass(
  op: string,
  roots: readonly Tensor[],
  gradients: readonly (Tensor | undefined)[],
  retainGraph: boolean,
  capture: Map<Tensor, Tensor | null> | null,
): void {
  roots.forEach((root, k) => {
    const gradient = gradients[k];
    const what = roots.length > 1 ? `${op}(): output ${k}` : `${op}()`;
    const withGradient = op === "backward" && roots.length === 1 ? "backward(gradient)" : what;
    if (!root.requiresGrad) {
      throw new ValueError(
        `${what}: this tensor does not require grad and has no grad_fn (no input of the computation has requiresGrad = true, or it ran inside noGrad)`,
      );
    }
    if (gradient === undefined && root.size !== 1) {
      throw new ShapeError(
        `${what}: a gradient can be implied only for one-element outputs, this one has shape ${shapeStr(root.shape)}; pass ${op === "backward" ? "backward(gradient)" : "gradOutputs"}`,
      );
    }
    if (gradient !== undefined && (gradient.size !== root.size || gradient.ndim !== root.ndim || gradient.shape.some((d, i) => d !== root.shape[i]))) {
      throw new ShapeError(`${withGradient}: gradient shape ${shapeStr(gradient.shape)} does not match output shape ${shapeStr(root.shape)}`);
    }
    if (root.node?.freed) {
      throw new ValueError(`${what}: trying to backward through the graph a second time; pass { retainGraph: true } to the first backward() to allow it`);
    }
    if (anomalyMode && gradient !== undefined) {
      const bad = nonfinite(gradient);
      if (bad > 0)
        throw new AnomalyError(
          `${withGradient}: the gradient passed in (shape ${shapeStr(gradient.shape)}) holds ${bad} non-finite values, first ${firstNonfinite(gradient)}`,
        );
    }
  });
  const backend = sameBackend(op, ...roots, ...gradients.filter((g): g is Tensor => g !== undefined));
  // Gradients autograd.grad returns live where it was called: the innermost noGrad scope, or
  // the current training step (released with it, after the next backward()).
  const ctx = new BackwardContext(capture, currentScope(backend));
  propagate(backend, roots, gradients, ctx, retainGraph);
  // A retained graph keeps its step open: its saved tensors must survive the next backward().
  if (!retainGraph) endStep(backend);
}

/**
 * @internal The engine's core: seeds the roots with their gradients and runs every node reachable
 * from them in reverse topological order through `ctx`. Does not end the step (autograd.checkpoint
 * runs it inside a backward pass, on the graph it recomputes).
 */
export function propagate(
  backend: Backend,
  roots: readonly Tensor[],
  gradients: readonly (Tensor | undefined)[],
  ctx: BackwardContext,
  retainGraph: boolean,
): void {
  const capture = ctx.capture;
  const order = topoOrder(roots);
  try {
    roots.forEach((root, k) => {
      const gradient = gradients[k] === undefined ? undefined : denseGradient(gradients[k]!);
      // A leaf root gets the seed itself; a non-leaf root starts its pending gradient.
      ctx.accumulate(root, (dst, acc) => seed(backend, dst, acc, root.size, gradient));
    });
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const g = ctx.pending.get(t);
      if (g === undefined) continue;
      ctx.pending.delete(t);
      if (capture?.has(t)) {
        const kept = ctx.result(t);
        backend.copy(kept.ptr, g.ptr, t.size * 4);
        capture.set(t, kept);
      }
      // Anomaly mode: leaf gradients that were already non-finite (from an earlier backward) are
      // not blamed on this node.
      let leafBefore: Map<Tensor, number> | null = null;
      if (anomalyMode) {
        leafBefore = new Map();
        for (const u of t.node!.inputs) if (u.node === null && u.grad !== null) leafBefore.set(u, nonfinite(u.grad));
      }
      try {
        t.node!.backward(g, ctx);
        if (leafBefore !== null) checkBackward(t, g, ctx, leafBefore);
      } finally {
        releaseTemp(g.storage);
      }
      if (!retainGraph) t.node!.freed = true;
    }
  } finally {
    for (const g of ctx.pending.values()) releaseTemp(g.storage);
  }
}

/** A gradient given by the caller, as dense memory (a strided view is copied). */
function denseGradient(g: Tensor): Tensor {
  if (g.isContiguous()) return g;
  return g.contiguous();
}

function seed(backend: Backend, dst: number, accumulate: boolean, n: number, gradient: Tensor | undefined): void {
  if (gradient === undefined) {
    if (accumulate) backend.affine(dst, dst, 1, 1, n);
    else backend.fill(dst, n, 1);
  } else if (accumulate) {
    backend.add(dst, dst, gradient.ptr, n);
  } else {
    backend.copy(dst, gradient.ptr, n * 4);
  }
}
