// Parameter initialisation (torch.nn.init), in place, from the seeded global generator.
import { ValueError } from "../errors.js";
import { Tensor } from "../tensor.js";
import { defaultGenerator, type Generator } from "../random.js";
import { checkArgCount, checkGenerator, checkOptions, describe } from "../check.js";

/** t must be a float32 tensor and the numbers finite; init functions write every element. */
function checkInit(owner: string, t: Tensor, numbers: Record<string, number>, generator?: Generator): void {
  if (!(t instanceof Tensor)) throw new ValueError(`${owner}: expected a Tensor, got ${describe(t)}`);
  for (const [name, v] of Object.entries(numbers)) {
    if (typeof v !== "number" || !Number.isFinite(v)) throw new ValueError(`${owner}: ${name} must be a finite number, got ${describe(v)}`);
  }
  if (generator !== undefined) checkGenerator(owner, "generator", generator);
}

/** fan_in and fan_out of a weight [out, in, ...kernel] as PyTorch computes them. */
export function fans(t: Tensor): [number, number] {
  checkArgCount("fans", arguments, 1);
  if (!(t instanceof Tensor)) throw new ValueError(`fan in/out need a Tensor, got ${describe(t)}`);
  if (t.ndim < 2) throw new ValueError(`fan in/out need a tensor with at least 2 dims, got ${t.ndim}`);
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return [t.shape[1] * receptive, t.shape[0] * receptive];
}

/** gain for a nonlinearity (torch.nn.init.calculate_gain). */
export function calculateGain(nonlinearity: "linear" | "relu" | "leaky_relu" | "tanh" | "sigmoid", param?: number): number {
  checkArgCount("calculateGain", arguments, 2);
  switch (nonlinearity) {
    case "linear":
    case "sigmoid":
      return 1;
    case "tanh":
      return 5 / 3;
    case "relu":
      return Math.SQRT2;
    case "leaky_relu": {
      const slope = param ?? 0.01;
      if (typeof slope !== "number" || !Number.isFinite(slope))
        throw new ValueError(`calculateGain: negative slope must be a finite number, got ${describe(slope)}`);
      return Math.sqrt(2 / (1 + slope * slope));
    }
  }
  throw new ValueError(`calculateGain: unsupported nonlinearity ${describe(nonlinearity)} (expected 'linear', 'relu', 'leaky_relu', 'tanh' or 'sigmoid')`);
}

/** Fills t with U(low, high) in place (nn.init.uniform_). */
export function uniform_(t: Tensor, low = 0, high = 1, generator: Generator = defaultGenerator): Tensor {
  checkArgCount("uniform_", arguments, 4);
  checkInit("uniform_", t, { low, high }, generator);
  const d = t.data;
  for (let i = 0; i < d.length; i++) d[i] = generator.uniform(low, high);
  return t;
}

/** Fills t with N(mean, std²) in place (nn.init.normal_). */
export function normal_(t: Tensor, mean = 0, std = 1, generator: Generator = defaultGenerator): Tensor {
  checkArgCount("normal_", arguments, 4);
  checkInit("normal_", t, { mean, std }, generator);
  const d = t.data;
  for (let i = 0; i < d.length; i++) d[i] = mean + std * generator.normal();
  return t;
}

/** Fills t with value in place (nn.init.constant_). */
export function constant_(t: Tensor, value: number): Tensor {
  checkArgCount("constant_", arguments, 2);
  if (!(t instanceof Tensor)) throw new ValueError(`constant_: expected a Tensor, got ${describe(t)}`);
  if (typeof value !== "number") throw new ValueError(`constant_: value must be a number, got ${describe(value)}`);
  t.data.fill(value);
  return t;
}
/** Fills t with 0 in place (nn.init.zeros_). */
export function zeros_(t: Tensor): Tensor {
  checkArgCount("zeros_", arguments, 1);
  return constant_(t, 0);
}
/** Fills t with 1 in place (nn.init.ones_). */
export function ones_(t: Tensor): Tensor {
  checkArgCount("ones_", arguments, 1);
  return constant_(t, 1);
}

/** U(-b, b) with b = gain · sqrt(3 / fan), gain from `nonlinearity` and `a` (PyTorch defaults). */
export function kaimingUniform_(
  t: Tensor,
  options: { a?: number; mode?: "fan_in" | "fan_out"; nonlinearity?: "relu" | "leaky_relu" } = {},
  generator: Generator = defaultGenerator,
): Tensor {
  checkArgCount("kaimingUniform_", arguments, 3);
  checkOptions("kaimingUniform_", options, ["a", "mode", "nonlinearity"]);
  const { a = 0, mode = "fan_in", nonlinearity = "leaky_relu" } = options;
  if (mode !== "fan_in" && mode !== "fan_out") throw new ValueError(`kaimingUniform_: mode must be 'fan_in' or 'fan_out', got ${describe(mode)}`);
  if (nonlinearity !== "relu" && nonlinearity !== "leaky_relu")
    throw new ValueError(`kaimingUniform_: nonlinearity must be 'relu' or 'leaky_relu', got ${describe(nonlinearity)}`);
  if (t.size === 0) return t; // as torch: initialising a zero-element tensor is a no-op
  const [fanIn, fanOut] = fans(t);
  const fan = mode === "fan_in" ? fanIn : fanOut;
  const bound = calculateGain(nonlinearity, a) * Math.sqrt(3 / fan);
  return uniform_(t, -bound, bound, generator);
}

/** U(-b, b) with b = gain · sqrt(6 / (fan_in + fan_out)). */
export function xavierUniform_(t: Tensor, gain = 1, generator: Generator = defaultGenerator): Tensor {
  checkArgCount("xavierUniform_", arguments, 3);
  if (t.size === 0) return t; // as torch: initialising a zero-element tensor is a no-op
  const [fanIn, fanOut] = fans(t);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -bound, bound, generator);
}
