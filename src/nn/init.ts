// Parameter initialisation (torch.nn.init), in place, from the seeded global generator.
import { ValueError } from "../errors.js";
import { Tensor } from "../tensor.js";
import { defaultGenerator, type Generator } from "../random.js";

/** fan_in and fan_out of a weight [out, in, ...kernel] as PyTorch computes them. */
export function fans(t: Tensor): [number, number] {
  if (t.ndim < 2) throw new ValueError(`fan in/out need a tensor with at least 2 dims, got ${t.ndim}`);
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return [t.shape[1] * receptive, t.shape[0] * receptive];
}

/** gain for a nonlinearity (torch.nn.init.calculate_gain). */
export function calculateGain(nonlinearity: "linear" | "relu" | "leaky_relu" | "tanh" | "sigmoid", param?: number): number {
  switch (nonlinearity) {
    case "linear": case "sigmoid": return 1;
    case "tanh": return 5 / 3;
    case "relu": return Math.SQRT2;
    case "leaky_relu": {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
  }
}

export function uniform_(t: Tensor, low = 0, high = 1, generator: Generator = defaultGenerator): Tensor {
  const d = t.data;
  for (let i = 0; i < d.length; i++) d[i] = generator.uniform(low, high);
  return t;
}

export function normal_(t: Tensor, mean = 0, std = 1, generator: Generator = defaultGenerator): Tensor {
  const d = t.data;
  for (let i = 0; i < d.length; i++) d[i] = mean + std * generator.normal();
  return t;
}

export function constant_(t: Tensor, value: number): Tensor {
  t.data.fill(value);
  return t;
}
export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}
export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

/** U(-b, b) with b = gain · sqrt(3 / fan), gain from `nonlinearity` and `a` (PyTorch defaults). */
export function kaimingUniform_(
  t: Tensor,
  { a = 0, mode = "fan_in", nonlinearity = "leaky_relu" }: { a?: number; mode?: "fan_in" | "fan_out"; nonlinearity?: "relu" | "leaky_relu" } = {},
  generator: Generator = defaultGenerator,
): Tensor {
  const [fanIn, fanOut] = fans(t);
  const fan = mode === "fan_in" ? fanIn : fanOut;
  const bound = calculateGain(nonlinearity, a) * Math.sqrt(3 / fan);
  return uniform_(t, -bound, bound, generator);
}

/** U(-b, b) with b = gain · sqrt(6 / (fan_in + fan_out)). */
export function xavierUniform_(t: Tensor, gain = 1, generator: Generator = defaultGenerator): Tensor {
  const [fanIn, fanOut] = fans(t);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -bound, bound, generator);
}
