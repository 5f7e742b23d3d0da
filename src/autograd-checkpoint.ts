// autograd.checkpoint (torch.utils.checkpoint.checkpoint): run a block without keeping its
// activations, and recompute them in backward. The forward pass runs the block with autograd on
// in a step scope of its own, released as soon as the block returns, so only its inputs and its
// output stay; the backward pass replays the block from its inputs with the default generator
// rewound to where the forward started (dropout draws the same mask), backpropagates through the
// replay into the inputs and the parameters, and releases the replay's activations. The replay
// runs the same kernels on the same values: the gradients are bitwise those without checkpointing.
import { ShapeError, ValueError, shapeStr } from "./errors.js";
import { BackwardContext, propagate, record } from "./autograd.js";
import { type Scope, currentScope, inPrivateStep, isGradEnabled } from "./lifetime.js";
import { Tensor } from "./tensor.js";
import { defaultGenerator } from "./random.js";
import { getBackend } from "./backend/current.js";
import { checkFunction, describe } from "./check.js";

/**
 * The backward context of a replay: gradients of the replay's stand-ins for the block's inputs
 * are captured (then handed to the real inputs), those of every other leaf (the parameters) go
 * to the enclosing pass's context, which adds them to .grad (or captures them for autograd.grad).
 */
class ReplayContext extends BackwardContext {
  constructor(
    private readonly outer: BackwardContext,
    standIns: Map<Tensor, Tensor | null>,
  ) {
    super(standIns, null);
  }
  override accumulate(t: Tensor, write: (dst: number, accumulate: boolean) => void): void {
    if (t.node === null && !this.capture!.has(t)) this.outer.accumulate(t, write);
    else super.accumulate(t, write);
  }
  override assign(t: Tensor, write: (dst: number) => void): void {
    if (t.node === null && !this.capture!.has(t)) this.outer.assign(t, write);
    else super.assign(t, write);
  }
}

/** Leaf stand-ins over the inputs' memory: the block's graph stops at them. */
function standIns(args: readonly unknown[]): { args: unknown[]; pairs: [Tensor, Tensor][] } {
  const pairs: [Tensor, Tensor][] = [];
  const out = args.map((a) => {
    if (!(a instanceof Tensor)) return a;
    const s = new Tensor(a.storage, a.shape, a.dtype, a.offset, a.strides);
    s.requiresGrad = a.requiresGrad;
    pairs.push([a, s]);
    return s;
  });
  return { args: out, pairs };
}

function checkOutput(y: unknown): Tensor {
  if (!(y instanceof Tensor)) throw new ValueError(`checkpoint: fn must return one Tensor, got ${describe(y)}`);
  return y;
}

/**
 * The leaves that need a gradient (parameters the block uses) reachable from y, stopping at the
 * stand-ins. A tensor that needs a gradient and comes from the graph outside the block (captured
 * by fn's closure instead of passed as an input) would be backpropagated twice: refused.
 */
function leavesOf(y: Tensor, standInList: readonly Tensor[], scope: Scope): Tensor[] {
  const isStandIn = new Set(standInList);
  const inputMemory = new Set(standInList.map((s) => s.storage));
  const leaves: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack = [y];
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (seen.has(t) || !t.requiresGrad) continue;
    seen.add(t);
    if (t.node === null) {
      if (!isStandIn.has(t)) leaves.push(t);
      continue;
    }
    const sc = t.storage.scope;
    if (sc !== null && sc !== scope && !inputMemory.has(t.storage))
      throw new ValueError(
        `checkpoint: fn uses a tensor of shape ${shapeStr(t.shape)} that needs a gradient and was computed outside it; pass it to checkpoint as an input`,
      );
    for (const u of t.node.inputs) stack.push(u);
  }
  return leaves;
}

/**
 * torch.utils.checkpoint.checkpoint: returns fn(...inputs) without keeping fn's intermediate
 * activations; backward() recomputes them (one extra forward of fn) and releases them again. Trades
 * compute for memory in deep models: checkpoint each block and the activations kept are the
 * blocks' inputs only. fn must be deterministic given its inputs and the default generator (whose
 * state is replayed, so dropout masks match); it returns one tensor. Tensors that need gradients
 * must be inputs or leaves (parameters) — not results computed outside fn. Inside noGrad it just calls fn.
 *
 *   for (const block of blocks) x = autograd.checkpoint((h) => block.forward(h), x);
 */
export function checkpoint(fn: (...inputs: never[]) => Tensor, ...inputs: unknown[]): Tensor {
  checkFunction("checkpoint", "fn", fn);
  const call = fn as (...xs: unknown[]) => unknown;
  if (!isGradEnabled()) return checkOutput(call(...inputs));
  const backend = inputs.find((a): a is Tensor => a instanceof Tensor)?.backend ?? getBackend();
  const rng = defaultGenerator.getState();
  let leaves: Tensor[] = [];
  const y = inPrivateStep(
    backend,
    () => {
      const s = standIns(inputs);
      const out = checkOutput(call(...s.args));
      leaves = leavesOf(
        out,
        s.pairs.map(([, t]) => t),
        currentScope(backend),
      );
      return out;
    },
    (out) => [out],
  );
  // A fresh tensor without the block's graph (its activations are gone).
  const result = new Tensor(y.storage, y.shape, y.dtype, y.offset, y.strides);
  const needGrad = [...inputs.filter((a): a is Tensor => a instanceof Tensor && a.requiresGrad), ...leaves];
  if (needGrad.length === 0 || !y.requiresGrad) return result;
  return record(result, "checkpoint", needGrad, (g, ctx) => {
    const now = defaultGenerator.getState();
    defaultGenerator.setState(rng);
    try {
      inPrivateStep(backend, () => {
        const s = standIns(inputs);
        const again = checkOutput(call(...s.args));
        if (again.ndim !== y.ndim || again.shape.some((d, i) => d !== y.shape[i]))
          throw new ShapeError(`checkpoint: fn returned ${shapeStr(again.shape)} when recomputed in backward, ${shapeStr(y.shape)} in forward`);
        const captured = new Map<Tensor, Tensor | null>(s.pairs.filter(([, t]) => t.requiresGrad).map(([, t]) => [t, null]));
        propagate(backend, [again], [g], new ReplayContext(ctx, captured), false);
        for (const [input, standIn] of s.pairs) {
          const gi = captured.get(standIn);
          if (gi === null || gi === undefined) continue;
          const n = input.size;
          ctx.accumulate(input, (dst, acc) => {
            if (acc) backend.add(dst, dst, gi.ptr, n);
            else backend.copy(dst, gi.ptr, n * 4);
          });
          gi.dispose();
        }
      });
    } finally {
      defaultGenerator.setState(now);
    }
  });
}
