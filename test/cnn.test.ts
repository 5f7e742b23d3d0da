// Conv2d, pooling, batch norm and dropout: forward values and gradients against float64
// references written here (direct loops, no im2col), on both backends.
import { describe, expect, it } from "vitest";
import { createBackend } from "../src/backend/index.js";
import { tensor } from "../src/tensor.js";
import * as ops from "../src/ops/index.js";
import { Generator } from "../src/random.js";
import { ShapeError, ValueError, nn, setBackend, manualSeed, randn, noGrad } from "../src/index.js";
import { BACKENDS, type Case, type Vec, checkCase, mismatch } from "./helpers/gradcheck.js";

interface ConvGeom {
  N: number;
  C: number;
  H: number;
  W: number;
  O: number;
  kh: number;
  kw: number;
  s: [number, number];
  p: [number, number];
  d: [number, number];
}

function outDim(size: number, k: number, s: number, p: number, d: number) {
  return Math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1;
}

/** Direct convolution (cross-correlation) in float64. */
function convRef(x: Vec, w: Vec, b: Vec | null, g: ConvGeom): Vec {
  const { N, C, H, W, O, kh, kw, s, p, d } = g;
  const OH = outDim(H, kh, s[0], p[0], d[0]),
    OW = outDim(W, kw, s[1], p[1], d[1]);
  const y = new Float64Array(N * O * OH * OW);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++)
      for (let oy = 0; oy < OH; oy++)
        for (let ox = 0; ox < OW; ox++) {
          let acc = b ? b[o] : 0;
          for (let c = 0; c < C; c++)
            for (let i = 0; i < kh; i++)
              for (let j = 0; j < kw; j++) {
                const yy = oy * s[0] - p[0] + i * d[0],
                  xx = ox * s[1] - p[1] + j * d[1];
                if (yy >= 0 && yy < H && xx >= 0 && xx < W) acc += x[((n * C + c) * H + yy) * W + xx] * w[((o * C + c) * kh + i) * kw + j];
              }
          y[((n * O + o) * OH + oy) * OW + ox] = acc;
        }
  return y;
}

/** `out`: the output size when it is not the floor formula's (ceil_mode, sizes worked out by hand). */
function poolRef(x: Vec, P: number, H: number, W: number, k: number, s: number, pad: number, kind: "max" | "avg", out?: [number, number]): Vec {
  const [OH, OW] = out ?? [outDim(H, k, s, pad, 1), outDim(W, k, s, pad, 1)];
  const y = new Float64Array(P * OH * OW);
  for (let q = 0; q < P; q++)
    for (let oy = 0; oy < OH; oy++)
      for (let ox = 0; ox < OW; ox++) {
        let m = -Infinity,
          sum = 0;
        for (let i = 0; i < k; i++)
          for (let j = 0; j < k; j++) {
            const yy = oy * s - pad + i,
              xx = ox * s - pad + j;
            if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
            const v = x[(q * H + yy) * W + xx];
            m = Math.max(m, v);
            sum += v;
          }
        y[(q * OH + oy) * OW + ox] = kind === "max" ? m : sum / (k * k);
      }
  return y;
}

/** Training-mode batch norm with batch statistics (biased variance). */
function bnRef(x: Vec, w: Vec | null, b: Vec | null, N: number, C: number, S: number, eps: number): Vec {
  const y = new Float64Array(x.length);
  for (let c = 0; c < C; c++) {
    let m = 0;
    for (let n = 0; n < N; n++) for (let k = 0; k < S; k++) m += x[(n * C + c) * S + k];
    m /= N * S;
    let v = 0;
    for (let n = 0; n < N; n++) for (let k = 0; k < S; k++) v += (x[(n * C + c) * S + k] - m) ** 2;
    v /= N * S;
    for (let n = 0; n < N; n++)
      for (let k = 0; k < S; k++) {
        const o = (n * C + c) * S + k;
        y[o] = ((x[o] - m) / Math.sqrt(v + eps)) * (w ? w[c] : 1) + (b ? b[c] : 0);
      }
  }
  return y;
}

const convCase = (name: string, g: ConvGeom, bias: boolean, imagesPerGemm?: number): Case => ({
  name,
  inputs: [{ shape: [g.N, g.C, g.H, g.W] }, { shape: [g.O, g.C, g.kh, g.kw] }, ...(bias ? [{ shape: [g.O] }] : [])],
  lib: ([x, w, b]) => ops.conv2d(x, w, b ?? null, { stride: g.s, padding: g.p, dilation: g.d, imagesPerGemm }),
  ref: ([x, w, b]) => convRef(x, w, b ?? null, g),
});

const CASES: Case[] = [
  convCase("conv2d 3×3", { N: 2, C: 3, H: 6, W: 5, O: 4, kh: 3, kw: 3, s: [1, 1], p: [0, 0], d: [1, 1] }, true),
  convCase("conv2d padding 2, no bias", { N: 1, C: 2, H: 5, W: 5, O: 3, kh: 5, kw: 5, s: [1, 1], p: [2, 2], d: [1, 1] }, false),
  convCase("conv2d stride 2×3, padding 1×0", { N: 2, C: 2, H: 7, W: 8, O: 3, kh: 3, kw: 2, s: [2, 3], p: [1, 0], d: [1, 1] }, true),
  convCase("conv2d dilation 2, padding 2", { N: 1, C: 3, H: 7, W: 6, O: 2, kh: 3, kw: 3, s: [1, 1], p: [2, 2], d: [2, 2] }, true),
  convCase("conv2d 1×1, 9 channels", { N: 3, C: 9, H: 2, W: 3, O: 5, kh: 1, kw: 1, s: [1, 1], p: [0, 0], d: [1, 1] }, true),
  // 5 images in gemms of 2, 2 and 1 image(s), and one image per gemm
  convCase("conv2d in groups of 2 images", { N: 5, C: 2, H: 5, W: 4, O: 3, kh: 3, kw: 2, s: [1, 2], p: [1, 1], d: [1, 1] }, true, 2),
  convCase("conv2d one image per gemm", { N: 3, C: 2, H: 4, W: 4, O: 2, kh: 3, kw: 3, s: [1, 1], p: [1, 1], d: [1, 1] }, false, 1),
  {
    name: "maxPool2d 2×2",
    inputs: [{ shape: [2, 3, 4, 6] }],
    lib: ([x]) => ops.maxPool2d(x, 2),
    ref: ([x]) => poolRef(x, 6, 4, 6, 2, 2, 0, "max"),
  },
  {
    name: "maxPool2d 3×3 stride 2 padding 1",
    inputs: [{ shape: [1, 2, 7, 5] }],
    lib: ([x]) => ops.maxPool2d(x, 3, { stride: 2, padding: 1 }),
    ref: ([x]) => poolRef(x, 2, 7, 5, 3, 2, 1, "max"),
  },
  {
    // windows start at rows 0, 2, 4 (the last covers row 4 only) and columns 0, 2, 4, 6
    name: "maxPool2d 2×2 ceilMode",
    inputs: [{ shape: [1, 2, 5, 7] }],
    lib: ([x]) => ops.maxPool2d(x, 2, { ceilMode: true }),
    ref: ([x]) => poolRef(x, 2, 5, 7, 2, 2, 0, "max", [3, 4]),
  },
  {
    // rows: windows start at -1, 1, 3 (one at 5 would start in the padding: dropped, as PyTorch);
    // columns (6 wide): -1, 1, 3, 5
    name: "maxPool2d 2×2 padding 1 ceilMode",
    inputs: [{ shape: [2, 1, 5, 6] }],
    lib: ([x]) => ops.maxPool2d(x, 2, { padding: 1, ceilMode: true }),
    ref: ([x]) => poolRef(x, 2, 5, 6, 2, 2, 1, "max", [3, 4]),
  },
  {
    // 6 rows, kernel 3, stride 2, padding 1: windows start at -1, 1, 3, 5 (floor mode stops at 3)
    name: "maxPool2d 3×3 stride 2 padding 1 ceilMode",
    inputs: [{ shape: [1, 2, 6, 6] }],
    lib: ([x]) => ops.maxPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true }),
    ref: ([x]) => poolRef(x, 2, 6, 6, 3, 2, 1, "max", [4, 4]),
  },
  {
    name: "avgPool2d 2×2",
    inputs: [{ shape: [2, 2, 4, 4] }],
    lib: ([x]) => ops.avgPool2d(x, 2),
    ref: ([x]) => poolRef(x, 4, 4, 4, 2, 2, 0, "avg"),
  },
  {
    name: "avgPool2d 3×3 stride 1 padding 1 (count_include_pad)",
    inputs: [{ shape: [1, 2, 4, 5] }],
    lib: ([x]) => ops.avgPool2d(x, 3, { stride: 1, padding: 1 }),
    ref: ([x]) => poolRef(x, 2, 4, 5, 3, 1, 1, "avg"),
  },
  {
    name: "batchNorm training (N, C, H, W) with affine",
    inputs: [{ shape: [3, 2, 2, 3] }, { shape: [2] }, { shape: [2] }],
    lib: ([x, w, b]) => ops.batchNorm(x, null, null, w, b, { training: true }),
    ref: ([x, w, b]) => bnRef(x, w, b, 3, 2, 6, 1e-5),
  },
  {
    name: "batchNorm training (N, C) without affine",
    inputs: [{ shape: [5, 4] }],
    lib: ([x]) => ops.batchNorm(x, null, null, null, null, { training: true }),
    ref: ([x]) => bnRef(x, null, null, 5, 4, 1, 1e-5),
  },
  {
    name: "conv → relu → maxpool → batchNorm → linear",
    inputs: [{ shape: [2, 1, 6, 6] }, { shape: [3, 1, 3, 3] }, { shape: [3] }, { shape: [2, 12] }],
    lib: ([x, w, b, fc]) => {
      const h = ops.maxPool2d(ops.relu(ops.conv2d(x, w, b)), 2);
      return ops.linear(ops.flatten(ops.batchNorm(h, null, null, null, null, { training: true }), 1), fc);
    },
    ref: ([x, w, b, fc]) => {
      const c = convRef(x, w, b, { N: 2, C: 1, H: 6, W: 6, O: 3, kh: 3, kw: 3, s: [1, 1], p: [0, 0], d: [1, 1] }).map((v) => Math.max(v, 0));
      const h = bnRef(poolRef(c, 6, 4, 4, 2, 2, 0, "max"), null, null, 2, 3, 4, 1e-5);
      const y = new Float64Array(4);
      for (let n = 0; n < 2; n++) for (let o = 0; o < 2; o++) for (let k = 0; k < 12; k++) y[n * 2 + o] += h[n * 12 + k] * fc[o * 12 + k];
      return y;
    },
  },
];

describe("CNN ops vs float64 references", () => {
  for (const c of CASES) {
    for (const be of BACKENDS) {
      it(`${c.name} [${be.name}]`, () => checkCase(c, be, 11));
    }
  }
});

describe("maxPool2d 2×2 kernel (the SIMD fast path)", () => {
  it("gives the js backend's maxima and argmax on ties, NaN, ±0 and -Infinity, for any width", () => {
    const wasm = createBackend("wasm"),
      js = createBackend("js");
    const g = new Generator(3);
    const pool = [-1, 0, -0, 1, 2, NaN, -Infinity, 0.5];
    for (const [P, H, W] of [
      [3, 4, 8],
      [2, 5, 9],
      [4, 28, 28],
      [2, 14, 14],
      [1, 2, 30],
      [2, 3, 16],
      [1, 6, 7],
    ]) {
      const OH = Math.floor(H / 2),
        OW = Math.floor(W / 2),
        n = P * H * W,
        m = P * OH * OW;
      // Mostly ties; every eighth plane has no NaN, so plain maxima are covered too.
      const x = Float32Array.from({ length: n }, (_, i) => pool[g.randint(Math.floor(i / (H * W)) % 8 === 7 ? 5 : pool.length)]);
      const run = (be: typeof wasm) => {
        const px = be.heap.alloc(n * 4),
          py = be.heap.alloc(m * 4),
          pi = be.heap.alloc(m * 4);
        be.f32().set(x, px >> 2);
        be.maxPool2d(py, pi, px, P, H, W, 2, 2, 2, 2, 0, 0, OH, OW);
        const out = { y: be.f32().slice(py >> 2, (py >> 2) + m), idx: be.i32().slice(pi >> 2, (pi >> 2) + m) };
        for (const q of [px, py, pi]) be.heap.free(q);
        return out;
      };
      const a = run(wasm),
        b = run(js);
      for (let i = 0; i < m; i++) {
        const same = Number.isNaN(b.y[i]) ? Number.isNaN(a.y[i]) : Object.is(a.y[i], b.y[i]);
        expect(same && a.idx[i] === b.idx[i], `${P}×${H}×${W} output ${i}: wasm ${a.y[i]} at ${a.idx[i]}, js ${b.y[i]} at ${b.idx[i]}`).toBe(true);
      }
    }
  });
});

describe("batch norm state", () => {
  it("updates running stats like PyTorch and uses them in eval", () => {
    for (const be of BACKENDS) {
      setBackend(be.name);
      const bn = new nn.BatchNorm2d(2, { momentum: 0.1 });
      const g = new Generator(3);
      const data = Float32Array.from({ length: 4 * 2 * 3 }, () => g.normal() * 2 + 1);
      const x = tensor(data, { shape: [4, 2, 3, 1] });
      bn(x);
      const per = (c: number) => Array.from({ length: 4 * 3 }, (_, k) => data[(Math.floor(k / 3) * 2 + c) * 3 + (k % 3)]);
      for (let c = 0; c < 2; c++) {
        const v = per(c);
        const m = v.reduce((a, b) => a + b, 0) / 12;
        const unbiased = v.reduce((a, b) => a + (b - m) ** 2, 0) / 11;
        expect(bn.running_mean!.toArray()[c]).toBeCloseTo(0.1 * m, 5);
        expect(bn.running_var!.toArray()[c]).toBeCloseTo(0.9 + 0.1 * unbiased, 5);
      }
      expect(bn.num_batches_tracked!.item()).toBe(1);
      expect(Object.keys(bn.stateDict())).toEqual(["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]);
      bn.eval();
      const y = noGrad(() => bn(x)).toArray();
      const rm = bn.running_mean!.toArray(),
        rv = bn.running_var!.toArray();
      y.forEach((v, i) => {
        const c = Math.floor(i / 3) % 2;
        expect(v).toBeCloseTo((data[i] - rm[c]) / Math.sqrt(rv[c] + 1e-5), 5);
      });
      expect(bn.num_batches_tracked!.item()).toBe(1); // eval does not count
    }
  });

  it("eval-mode gradient uses the running statistics", () => {
    const be = createBackend("wasm");
    const rm = tensor([0.5, -1], { backend: be }),
      rv = tensor([4, 0.25], { backend: be });
    const x = tensor([1, 2, 3, 4], { shape: [2, 2], backend: be, requiresGrad: true });
    ops.batchNorm(x, rm, rv, null, null, { training: false }).sum().backward();
    const want = [1 / Math.sqrt(4 + 1e-5), 1 / Math.sqrt(0.25 + 1e-5)];
    expect(mismatch("dx", x.grad!.toArray(), [want[0], want[1], want[0], want[1]], 1e-6, 0)).toBeNull();
  });
});

describe("dropout", () => {
  it("keeps about 1-p of the elements, scales them by 1/(1-p), same mask on both backends", () => {
    const masks: number[][] = [];
    for (const be of BACKENDS) {
      const x = tensor(new Float32Array(20001).fill(1), { backend: be, requiresGrad: true });
      const y = ops.dropout(x, 0.3, true, new Generator(42));
      const v = y.toArray();
      const kept = v.filter((e) => e !== 0);
      expect(kept.every((e) => e === Math.fround(1 / 0.7))).toBe(true);
      expect(Math.abs(kept.length / v.length - 0.7)).toBeLessThan(0.015);
      y.sum().backward();
      expect(x.grad!.toArray()).toEqual(v); // dx = dy · mask
      masks.push(v);
    }
    expect(masks[0]).toEqual(masks[1]);
  });

  it("is the identity in eval mode; the module follows train()/eval(); seeds repeat", () => {
    setBackend("wasm");
    const drop = new nn.Dropout(0.5);
    const x = randn([4, 8]);
    drop.eval();
    expect(drop(x)).toBe(x);
    drop.train();
    manualSeed(5);
    const a = drop(x).toArray();
    manualSeed(5);
    expect(drop(x).toArray()).toEqual(a);
    expect(() => new nn.Dropout(1.5)).toThrow(ValueError);
  });
});

describe("layers and errors", () => {
  it("MaxPool2d takes ceilMode as PyTorch's ceil_mode (output shapes worked out by hand)", () => {
    setBackend("wasm");
    const x = randn([1, 3, 9, 7]);
    expect(noGrad(() => new nn.MaxPool2d(2)(x).shape)).toEqual([1, 3, 4, 3]);
    expect(noGrad(() => new nn.MaxPool2d(2, { ceilMode: true })(x).shape)).toEqual([1, 3, 5, 4]);
    expect(noGrad(() => new nn.MaxPool2d(3, { stride: 2, padding: 1, ceilMode: true })(x).shape)).toEqual([1, 3, 5, 4]);
  });

  it("Conv2d initialises like PyTorch and names shapes in errors", () => {
    setBackend("wasm");
    manualSeed(0);
    const conv = new nn.Conv2d(3, 8, 5, { padding: "same" });
    expect(conv.weight.shape).toEqual([8, 3, 5, 5]);
    expect(conv.padding).toEqual([2, 2]);
    const bound = 1 / Math.sqrt(3 * 25);
    for (const p of [conv.weight, conv.bias!]) {
      expect(Math.max(...p.toArray().map(Math.abs))).toBeLessThanOrEqual(bound);
    }
    expect(conv(randn([2, 3, 9, 7])).shape).toEqual([2, 8, 9, 7]);
    expect(() => conv(randn([2, 4, 9, 7]))).toThrow(/has 4 channels but weight \[8, 3, 5, 5\] expects 3/);
    expect(() => conv(randn([3, 9, 7]))).toThrow(ShapeError);
    expect(() => new nn.Conv2d(1, 1, 3)(randn([1, 1, 2, 2]))).toThrow(/too small/);
    expect(Object.keys(new nn.Sequential(conv, new nn.BatchNorm2d(8)).stateDict())).toEqual([
      "0.weight",
      "0.bias",
      "1.weight",
      "1.bias",
      "1.running_mean",
      "1.running_var",
      "1.num_batches_tracked",
    ]);
  });
});
