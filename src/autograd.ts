// Reverse-mode autograd. Each recorded op stores a GradNode on its output: the inputs and a
// backward function that turns the output's gradient into its inputs' gradients through a
// BackwardContext. backward() orders the graph topologically from the loss and runs the nodes
// in reverse; gradients of leaves accumulate into `.grad` (as in PyTorch), intermediate
// gradients are temporaries freed as soon as their node has run.
import type { Backend } from "./backend/backend.js";
import { ShapeError, ValueError, shapeStr } from "./errors.js";
import { allocTemp, endStep, isGradEnabled, outputScope, releaseTemp } from "./lifetime.js";
import { Tensor, emptyTensor, sameBackend, type Shape } from "./tensor.js";

export interface GradNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  backward(grad: Tensor, ctx: BackwardContext): void;
  /** Set after a backward() without retainGraph: saved tensors may be gone. */
  freed?: boolean;
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
export function opOutput(backend: Backend, shape: Shape, inputs: readonly Tensor[], dtype: "float32" | "int32" = "float32"): Tensor {
  return emptyTensor(backend, shape, dtype, outputScope(isRecording(inputs), inputs));
}

/** Records `out` as produced by `op` from `inputs` when autograd is on for them; returns out. */
export function record(out: Tensor, op: string, inputs: readonly Tensor[],
                       backward: (grad: Tensor, ctx: BackwardContext) => void): Tensor {
  if (isRecording(inputs)) {
    out.node = { op, inputs, backward };
    out.requiresGrad = true;
  }
  return out;
}

/** Gradient plumbing handed to each node's backward function. */
export class BackwardContext {
  /** Pending gradients of non-leaf tensors, keyed by tensor. */
  readonly pending = new Map<Tensor, Tensor>();

  needsGrad(t: Tensor): boolean {
    return t.requiresGrad;
  }

  /**
   * For kernels that can accumulate: calls write(dst, accumulate) with the gradient buffer of t
   * and whether it already holds a gradient to add to.
   */
  accumulate(t: Tensor, write: (dst: number, accumulate: boolean) => void): void {
    if (!t.requiresGrad) return;
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
    const target = t.node === null ? t.grad : this.pending.get(t);
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

function tempTensor(backend: Backend, shape: Shape): Tensor {
  let n = 1;
  for (const d of shape) n *= d;
  return new Tensor(allocTemp(backend, n * 4), shape, "float32");
}

/** Non-leaf tensors reachable from root, in topological order (inputs before outputs). */
function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
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
  return order;
}

export function runBackward(root: Tensor, gradient: Tensor | undefined, retainGraph: boolean): void {
  if (!root.requiresGrad) {
    throw new ValueError("backward(): this tensor does not require grad and has no grad_fn (no input of the computation has requiresGrad = true, or it ran inside noGrad)");
  }
  if (gradient === undefined && root.size !== 1) {
    throw new ShapeError(`backward(): a gradient can be implied only for one-element outputs, this one has shape ${shapeStr(root.shape)}; pass backward(gradient)`);
  }
  if (gradient !== undefined && gradient.size !== root.size) {
    throw new ShapeError(`backward(gradient): gradient shape ${shapeStr(gradient.shape)} does not match output shape ${shapeStr(root.shape)}`);
  }
  const backend = gradient === undefined ? root.backend : sameBackend("backward", root, gradient);
  const ctx = new BackwardContext();
  if (root.node === null) {
    // A leaf that requires grad: its gradient is the seed itself.
    ctx.accumulate(root, (dst, acc) => seed(backend, dst, acc, root.size, gradient));
    if (!retainGraph) endStep();
    return;
  }
  if (root.node.freed) {
    throw new ValueError("backward(): trying to backward through the graph a second time; pass { retainGraph: true } to the first backward() to allow it");
  }
  const order = topoOrder(root);
  const seedGrad = tempTensor(backend, root.shape);
  seed(backend, seedGrad.ptr, false, root.size, gradient);
  ctx.pending.set(root, seedGrad);
  try {
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const g = ctx.pending.get(t);
      if (g === undefined) continue;
      ctx.pending.delete(t);
      try {
        t.node!.backward(g, ctx);
      } finally {
        releaseTemp(g.storage);
      }
      if (!retainGraph) t.node!.freed = true;
    }
  } finally {
    for (const g of ctx.pending.values()) releaseTemp(g.storage);
  }
  // A retained graph keeps its step open: its saved tensors must survive the next backward().
  if (!retainGraph) endStep();
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
