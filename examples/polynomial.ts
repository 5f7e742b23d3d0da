// "Learning PyTorch with Examples" (pytorch/tutorials, beginner/pytorch_with_examples), the two
// autograd programs ported line by line: fit y = sin(x) on [-π, π] with a third-order polynomial
//  1. raw tensors + autograd: y = a + b x + c x² + d x³, plain gradient descent (lr 1e-6);
//  2. a custom autograd.Function: y = a + b P3(c + d x) with the Legendre polynomial
//     P3(x) = ½(5x³ - 3x) and its hand-written backward (lr 5e-6).
// Both print `t loss` every 100 steps and the fitted formula, as the tutorial does; the same
// program in torch is examples/pytorch/polynomial.py.
import { type Tensor, autograd, full, linspace, manualSeed, noGrad, randn, setBackend } from "wasmgrad";
import { parseFlags } from "../src/cli/flags.js";

const args = parseFlags(
  "npm run polynomial --",
  "Fits sin(x) with a cubic: raw tensors + autograd, then a custom autograd.Function (the PyTorch tutorial's two programs).",
  {
    steps: { type: "int", default: 2000, min: 1, help: "gradient steps per program" },
    seed: { type: "int", default: 0, min: 0, help: "random seed for the first program's a, b, c, d" },
    init: { type: "string", help: "start the first program from 'a,b,c,d' instead of randn (e.g. torch's draws)" },
    backend: { type: "string", default: "wasm", choices: ["wasm", "js"], help: "kernel backend" },
  },
);
setBackend(args.backend);
manualSeed(args.seed);

const x = linspace(-Math.PI, Math.PI, 2000);
const y = x.sin();

/** Plain gradient descent on the given scalars (the tutorial's `a -= learning_rate * a.grad`). */
function descend(params: Tensor[], learningRate: number): void {
  noGrad(() => {
    for (const p of params) {
      p.sub_(p.grad!.mul(learningRate));
      p.grad = null;
    }
  });
}

function parseInit(text: string): number[] {
  const v = text.split(",").map(Number);
  if (v.length !== 4 || v.some((n) => !Number.isFinite(n))) {
    console.error(`npm run polynomial: --init needs four numbers 'a,b,c,d', got '${text}'`);
    process.exit(2);
  }
  return v;
}

// ---- 1. tensors and autograd ----------------------------------------------------------------
const start = args.init === undefined ? null : parseInit(args.init);
const [a, b, c, d] = [0, 1, 2, 3].map((i) => (start === null ? randn([], { requiresGrad: true }) : full([], start[i], { requiresGrad: true })));
let learningRate = 1e-6;
for (let t = 0; t < args.steps; t++) {
  const yPred = a
    .add(b.mul(x))
    .add(c.mul(x.pow(2)))
    .add(d.mul(x.pow(3)));
  const loss = yPred.sub(y).pow(2).sum();
  if (t % 100 === 99) console.log(t, loss.item());
  loss.backward();
  descend([a, b, c, d], learningRate);
}
console.log(`Result: y = ${a.item()} + ${b.item()} x + ${c.item()} x^2 + ${d.item()} x^3`);

// ---- 2. a custom autograd.Function ------------------------------------------------------------
class LegendrePolynomial3 extends autograd.Function {
  /** Computes P3(input) and keeps the input for backward. */
  static override forward(ctx: autograd.FunctionCtx, input: Tensor): Tensor {
    ctx.saveForBackward(input);
    return input.pow(3).mul(5).sub(input.mul(3)).mul(0.5);
  }
  /** dP3/dx = 1.5 (5x² - 1), times the incoming gradient. */
  static override backward(ctx: autograd.FunctionCtx, gradOutput: Tensor): Tensor {
    const [input] = ctx.savedTensors;
    return gradOutput.mul(input.pow(2).mul(5).sub(1).mul(1.5));
  }
}

const [a2, b2, c2, d2] = [0.0, -1.0, 0.0, 0.3].map((v) => full([], v, { requiresGrad: true }));
learningRate = 5e-6;
for (let t = 0; t < args.steps; t++) {
  const P3 = (input: Tensor) => LegendrePolynomial3.apply(input) as Tensor;
  const yPred = a2.add(b2.mul(P3(c2.add(d2.mul(x)))));
  const loss = yPred.sub(y).pow(2).sum();
  if (t % 100 === 99) console.log(t, loss.item());
  loss.backward();
  descend([a2, b2, c2, d2], learningRate);
}
console.log(`Result: y = ${a2.item()} + ${b2.item()} * P3(${c2.item()} + ${d2.item()} x)`);
