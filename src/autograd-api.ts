// The `autograd` namespace of the package (torch.autograd): anomaly detection, user-defined
// differentiable functions (autograd.Function), gradients without touching .grad
// (autograd.grad), and a finite-difference gradient check (autograd.gradcheck).
//   import { autograd } from "wasmgrad";
//   autograd.setDetectAnomaly(true);              // or: autograd.detectAnomaly(() => { ... })
import { ShapeError, ValueError, shapeStr } from "./errors.js";
import { Tensor, tensor } from "./tensor.js";
import { type BackwardContext, gradientsOf, isRecording, record } from "./autograd.js";
import { noGrad, noGradIntoStep } from "./lifetime.js";
import { checkArgCount, checkOptions, describe } from "./check.js";
import { Generator } from "./random.js";
import { cat, contiguous, reshape, slice } from "./ops/layout.js";

export { setDetectAnomaly, isAnomalyEnabled, detectAnomaly } from "./autograd.js";
export { checkpoint } from "./autograd-checkpoint.js";

/** What forward() and backward() of an autograd.Function share (torch's ctx). */
export class FunctionCtx {
  constructor() {
    checkArgCount("FunctionCtx", arguments, 0);
  }
  /** For each argument of apply(): whether it is a tensor that needs a gradient. */
  needsInputGrad: boolean[] = [];
  private saved: Tensor[] = [];
  /** Keeps tensors for backward() (torch's ctx.save_for_backward). */
  saveForBackward(...tensors: Tensor[]): void {
    tensors.forEach((t, i) => {
      if (!(t instanceof Tensor)) throw new ValueError(`saveForBackward: argument ${i} must be a Tensor, got ${describe(t)}`);
    });
    this.saved = tensors;
  }
  /** The tensors given to saveForBackward, in order. */
  get savedTensors(): Tensor[] {
    return [...this.saved];
  }
  /** Any other field a Function wants to keep (torch's ctx.<name> = ...). */
  [key: string]: unknown;
}

/**
 * A differentiable function with a hand-written backward, as torch.autograd.Function:
 *
 *   class Cube extends autograd.Function {
 *     static forward(ctx, x) { ctx.saveForBackward(x); return x.pow(3); }
 *     static backward(ctx, g) { const [x] = ctx.savedTensors; return [g.mul(x.square()).mul(3)]; }
 *   }
 *   const y = Cube.apply(x);
 *
 * forward runs without recording (its ops are not differentiated); backward gets one gradient per
 * output and returns one gradient (or null) per argument of apply(). Several outputs: return an
 * array from forward; backward then receives all their gradients at once.
 */
// biome-ignore lint/suspicious/noShadowRestrictedNames: torch's name (autograd.Function), only ever used qualified
// biome-ignore lint/complexity/noStaticOnlyClass: users subclass it and override the static forward/backward, as in torch
export class Function {
  /** The computation: any tensors and other values in, a tensor or an array of tensors out. */
  static forward(_ctx: FunctionCtx, ..._args: unknown[]): Tensor | Tensor[] {
    throw new ValueError(`${this.name}.forward is not implemented: define static forward(ctx, ...args)`);
  }

  /** The gradients of the arguments (null where none), given the outputs' gradients. */
  static backward(_ctx: FunctionCtx, ..._grads: Tensor[]): (Tensor | null) | (Tensor | null)[] {
    throw new ValueError(`${this.name}.backward is not implemented: define static backward(ctx, ...gradOutputs)`);
  }

  /** Runs forward and records this Function for autograd (torch's Fn.apply). */
  static apply(...args: unknown[]): Tensor | Tensor[] {
    const name = this.name || "Function";
    const ctx = new FunctionCtx();
    ctx.needsInputGrad = args.map((a) => a instanceof Tensor && a.requiresGrad);
    const inputs = args.filter((a): a is Tensor => a instanceof Tensor);
    const backend = inputs[0]?.backend;
    const run = () => this.forward(ctx, ...args);
    const result = backend === undefined ? noGrad(run) : noGradIntoStep(run, backend);
    const outputs = Array.isArray(result) ? result : [result];
    outputs.forEach((o, i) => {
      if (!(o instanceof Tensor))
        throw new ValueError(`${name}.forward must return a Tensor or an array of Tensors, got ${describe(o)}${Array.isArray(result) ? ` at index ${i}` : ""}`);
    });
    const diff = inputs.filter((t) => t.requiresGrad);
    if (diff.length === 0 || !isRecording(diff)) return result;
    const floats = outputs.filter((o) => o.dtype === "float32");
    const backward = (grads: Tensor[], bctx: BackwardContext) => this.runBackward(name, ctx, args, grads, bctx);
    if (floats.length === 1 && outputs.length === 1) {
      // A fresh tensor object over the output's memory, so an argument returned as is keeps its own node.
      const out = record(new Tensor(outputs[0].storage, outputs[0].shape, "float32", outputs[0].offset, outputs[0].strides), name, diff, (g, bctx) =>
        backward([g], bctx),
      );
      return Array.isArray(result) ? [out] : out;
    }
    // Several outputs: pack them into one recorded tensor and hand out views of it, so autograd
    // gathers every output's gradient before calling backward once.
    const flat = floats.map((o) => reshape(contiguous(o.detach()), [o.size]));
    const packed = record(cat(flat, 0).detach(), name, diff, (g, bctx) => {
      let at = 0;
      const grads = floats.map((o) => {
        const part = reshape(slice(g, 0, at, at + o.size), o.shape);
        at += o.size;
        return part;
      });
      backward(grads, bctx);
    });
    let at = 0;
    const views = outputs.map((o) => {
      if (o.dtype !== "float32") return o;
      const v = reshape(slice(packed, 0, at, at + o.size), o.shape);
      at += o.size;
      return v;
    });
    return views;
  }

  /** Calls the user's backward and accumulates what it returns into the arguments' gradients. */
  private static runBackward(name: string, ctx: FunctionCtx, args: unknown[], grads: Tensor[], bctx: BackwardContext): void {
    noGrad(() => {
      const returned = this.backward(ctx, ...grads.map((g) => g.detach()));
      const list = Array.isArray(returned) ? returned : [returned];
      if (list.length !== args.length) {
        throw new ValueError(
          `${name}.backward returned ${list.length} gradient(s), expected ${args.length} (one per argument of apply(), null where there is none)`,
        );
      }
      args.forEach((a, i) => {
        const g = list[i];
        if (!(a instanceof Tensor) || !a.requiresGrad) return;
        if (g === null || g === undefined) return;
        if (!(g instanceof Tensor)) throw new ValueError(`${name}.backward: the gradient of input ${i} must be a Tensor or null, got ${describe(g)}`);
        if (g.ndim !== a.ndim || g.shape.some((d, k) => d !== a.shape[k])) {
          throw new ShapeError(`${name}.backward returned a gradient of shape ${shapeStr(g.shape)} for input ${i}, whose shape is ${shapeStr(a.shape)}`);
        }
        const dense = contiguous(g.dtype === "float32" ? g : g.float());
        bctx.accumulate(a, (dst, acc) => {
          if (acc) a.backend.add(dst, dst, dense.ptr, a.size);
          else a.backend.copy(dst, dense.ptr, a.size * 4);
        });
      });
    });
  }
}

/** Options of autograd.grad. */
export interface GradOptions {
  /** The gradient of each output (required for outputs with more than one element). */
  gradOutputs?: (Tensor | null)[] | Tensor | null;
  /** Keep the graph for another backward pass. */
  retainGraph?: boolean;
  /** Return null (instead of throwing) for an input the outputs do not depend on. */
  allowUnused?: boolean;
  /** Not supported: higher-order gradients need a graph of the backward pass. */
  createGraph?: boolean;
}

/**
 * torch.autograd.grad: the gradients of the outputs (weighted by gradOutputs) with respect to
 * each input — leaves or intermediate tensors — returned as new tensors; no .grad is touched.
 */
export function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], options: GradOptions = {}): (Tensor | null)[] {
  checkArgCount("autograd.grad", arguments, 3);
  checkOptions("autograd.grad", options, ["gradOutputs", "retainGraph", "allowUnused", "createGraph"]);
  if (options.createGraph) throw new ValueError("autograd.grad: createGraph is not supported (no higher-order gradients)");
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const ins = Array.isArray(inputs) ? inputs : [inputs];
  outs.forEach((o, i) => {
    if (!(o instanceof Tensor)) throw new ValueError(`autograd.grad: output ${i} must be a Tensor, got ${describe(o)}`);
  });
  ins.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new ValueError(`autograd.grad: input ${i} must be a Tensor, got ${describe(t)}`);
    if (!t.requiresGrad) throw new ValueError(`autograd.grad: input ${i} (shape ${shapeStr(t.shape)}) does not require grad`);
  });
  const go =
    options.gradOutputs === undefined || options.gradOutputs === null ? [] : Array.isArray(options.gradOutputs) ? options.gradOutputs : [options.gradOutputs];
  if (go.length > 0 && go.length !== outs.length) throw new ValueError(`autograd.grad: ${go.length} gradOutputs for ${outs.length} outputs`);
  const grads = outs.map((_, i) => go[i] ?? undefined);
  const result = gradientsOf(outs, grads, ins, options.retainGraph ?? false);
  result.forEach((g, i) => {
    if (g === null && !options.allowUnused) {
      throw new ValueError(
        `autograd.grad: input ${i} (shape ${shapeStr(ins[i].shape)}) was not used to compute the outputs; pass { allowUnused: true } to get null for it`,
      );
    }
  });
  return result;
}

/** Options of autograd.gradcheck. */
export interface GradcheckOptions {
  /** Finite-difference step (default 1e-3: the inputs are float32). */
  eps?: number;
  /** Absolute tolerance (default 1e-3). */
  atol?: number;
  /** Relative tolerance (default 1e-2). */
  rtol?: number;
  /** Seed of the random output weighting (default 0). */
  seed?: number;
}

/**
 * torch.autograd.gradcheck for float32: compares the gradients autograd computes for fn's
 * float inputs that require grad with central finite differences, for the scalar Σ out·R (R a
 * random weighting of each output). The differences are taken in float64 from float32
 * evaluations, so the default tolerances are looser than torch's float64 gradcheck. Returns
 * true, or throws a ValueError naming the input, the element and both values.
 */
export function gradcheck(fn: (...xs: Tensor[]) => Tensor | Tensor[], inputs: Tensor[], options: GradcheckOptions = {}): true {
  checkArgCount("gradcheck", arguments, 3);
  checkOptions("gradcheck", options, ["eps", "atol", "rtol", "seed"]);
  if (typeof fn !== "function") throw new ValueError(`gradcheck: fn must be a function, got ${describe(fn)}`);
  if (!Array.isArray(inputs)) throw new ValueError(`gradcheck: inputs must be an array of Tensors, got ${describe(inputs)}`);
  const eps = options.eps ?? 1e-3,
    atol = options.atol ?? 1e-3,
    rtol = options.rtol ?? 1e-2;
  const g = new Generator(options.seed ?? 0);
  const outputsOf = () => {
    const r = fn(...inputs);
    return Array.isArray(r) ? r : [r];
  };
  const first = outputsOf();
  const weights = first.map((o) => Float64Array.from({ length: o.size }, () => g.uniform(-1, 1)));
  const objective = () => noGrad(() => outputsOf().reduce((s, o, k) => s + o.toArray().reduce((a, v, j) => a + v * weights[k][j], 0), 0));
  // Analytical: the gradient of Σ out·R.
  const wanted = inputs.map((t, i) => ({ t, i })).filter(({ t }) => t instanceof Tensor && t.requiresGrad && t.dtype === "float32");
  if (wanted.length === 0) throw new ValueError("gradcheck: no input is a float32 tensor that requires grad");
  const analytic = grad(
    first.filter((o) => o.requiresGrad),
    wanted.map(({ t }) => t),
    {
      gradOutputs: first
        .filter((o) => o.requiresGrad)
        .map((o) => tensor(Float32Array.from(weights[first.indexOf(o)]), { shape: [...o.shape], backend: o.backend })),
      allowUnused: true,
    },
  );
  wanted.forEach(({ t, i }, k) => {
    if (!t.isContiguous() || !t.isLeaf) throw new ValueError(`gradcheck: input ${i} must be a contiguous leaf tensor (perturbed in place)`);
    const a = analytic[k]?.toArray() ?? new Array<number>(t.size).fill(0);
    const data = t.data;
    for (let j = 0; j < t.size; j++) {
      const x0 = data[j];
      t.data[j] = x0 + eps;
      const plus = objective();
      t.data[j] = x0 - eps;
      const minus = objective();
      t.data[j] = x0;
      const numeric = (plus - minus) / (Math.fround(x0 + eps) - Math.fround(x0 - eps));
      if (!(Math.abs(a[j] - numeric) <= atol + rtol * Math.abs(numeric))) {
        throw new ValueError(
          `gradcheck: the gradient of input ${i} (shape ${shapeStr(t.shape)}) at element ${j} is ${a[j]} by autograd but ${numeric} by finite differences (eps ${eps}, atol ${atol}, rtol ${rtol})`,
        );
      }
    }
  });
  return true;
}
