// The fused linear + ReLU (a gemm whose epilogue applies the ReLU, used by nn.Sequential for a
// Linear directly followed by a ReLU) against the two ops it replaces: the same bits forward and
// backward on every gemm path (packed panels, partial panels, leftover rows, the dot path for
// fewer than 4 rows, several K slices, K = 0), on both backends and with a thread pool.
import { afterAll, describe, expect, it } from "vitest";
import { type Backend, createBackend } from "../../src/backend/index.js";
import { Generator, type Tensor, getBackend, nn, setBackend, tensor } from "../../src/index.js";

const F = nn.functional;
import { workersReady } from "../helpers/threads.js";

interface Case {
  rows: number;
  IN: number;
  OUT: number;
  bias: boolean;
}

// rows × IN → OUT: 100×784→128 has 4 K slices and only full panels; 7×13→10 a partial panel and
// 3 leftover rows; 2×33→5 and 3×9→20 the dot path (nt with fewer than 4 rows); 5×0→3 only the bias.
const CASES: Case[] = [
  { rows: 100, IN: 784, OUT: 128, bias: true },
  { rows: 7, IN: 13, OUT: 10, bias: true },
  { rows: 6, IN: 300, OUT: 12, bias: false },
  { rows: 2, IN: 33, OUT: 5, bias: true },
  { rows: 3, IN: 9, OUT: 20, bias: false },
  { rows: 5, IN: 0, OUT: 3, bias: true },
];

interface Run {
  y: Float32Array;
  dx: Float32Array;
  dw: Float32Array;
  db: Float32Array | null;
}

/** make() with `be` as the current backend (where modules put their parameters). */
function onBackend<T>(be: Backend, make: () => T): T {
  const before = getBackend();
  setBackend(be);
  try {
    return make();
  } finally {
    setBackend(before);
  }
}

/** One forward and backward through `model` with fixed inputs, weights and upstream gradient. */
function run(be: Backend, c: Case, fused: boolean): Run {
  const g = new Generator(c.rows * 1000 + c.IN * 10 + c.OUT);
  const values = (n: number) =>
    Array.from({ length: n }, (_, i) => {
      if (i % 17 === 5) return 0; // exact zeros, and -0: relu and its gradient at 0
      if (i % 23 === 7) return -0;
      return g.normal();
    });
  const linear = onBackend(be, () => new nn.Linear(c.IN, c.OUT, { bias: c.bias }));
  const model = fused ? new nn.Sequential(linear, new nn.ReLU()) : null;
  linear.weight.data.set(values(c.OUT * c.IN));
  linear.bias?.data.set(values(c.OUT));
  const x = tensor(values(c.rows * c.IN), { shape: [c.rows, c.IN], backend: be, requiresGrad: true });
  const y: Tensor = model ? model(x) : F.relu(linear(x));
  const up = tensor(values(c.rows * c.OUT), { shape: [c.rows, c.OUT], backend: be });
  y.mul(up).sum().backward();
  return {
    y: Float32Array.from(y.data),
    dx: Float32Array.from(x.grad?.data ?? []),
    dw: Float32Array.from(linear.weight.grad?.data ?? []),
    db: linear.bias ? Float32Array.from(linear.bias.grad?.data ?? []) : null,
  };
}

/** Bitwise equality, NaN-aware, with the first differing index in the message. */
function expectSameBits(got: Float32Array | null, want: Float32Array | null, what: string): void {
  expect(got === null, what).toBe(want === null);
  if (got === null || want === null) return;
  expect(got.length, what).toBe(want.length);
  const a = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const b = new Uint32Array(want.buffer, want.byteOffset, want.length);
  const bad = a.findIndex((v, i) => v !== b[i] && !(Number.isNaN(got[i]) && Number.isNaN(want[i])));
  expect(bad, `${what}: first difference at ${bad}: ${got[bad]} vs ${want[bad]}`).toBe(-1);
}

function expectFusedEqualsUnfused(be: Backend): void {
  for (const c of CASES) {
    const name = `${c.rows}x${c.IN}->${c.OUT}${c.bias ? "" : " no bias"}`;
    const fused = run(be, c, true);
    const plain = run(be, c, false);
    expectSameBits(fused.y, plain.y, `${name} y`);
    expectSameBits(fused.dx, plain.dx, `${name} dx`);
    expectSameBits(fused.dw, plain.dw, `${name} dW`);
    expectSameBits(fused.db, plain.db, `${name} db`);
    // Not vacuous: the ReLU cut something and let something through.
    if (c.IN > 0) {
      expect(fused.y.some((v) => v === 0)).toBe(true);
      expect(fused.y.some((v) => v > 0)).toBe(true);
    }
  }
}

describe("fused linear + ReLU", () => {
  it("equals linear then relu bit for bit on the wasm kernels", () => {
    expectFusedEqualsUnfused(createBackend("wasm"));
  });

  it("equals linear then relu bit for bit on the plain-JS kernels", () => {
    expectFusedEqualsUnfused(createBackend("js"));
  });

  it("keeps NaN (as relu does) and applies the ReLU once, after the whole sum", () => {
    const be = createBackend("wasm");
    const lin = onBackend(be, () => new nn.Linear(300, 9)); // two K slices: a ReLU after the first would change the sum
    const x = tensor(
      Array.from({ length: 4 * 300 }, (_, i) => (i === 5 ? Number.NaN : Math.sin(i))),
      { shape: [4, 300], backend: be },
    );
    const y = new nn.Sequential(lin, new nn.ReLU())(x).data;
    // Row 0 holds the NaN input: every output of that row is NaN; float64 reference elsewhere.
    const W = lin.weight.data,
      b = lin.bias?.data ?? new Float32Array(9),
      X = x.data;
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 9; j++) {
        let s = b[j];
        for (let k = 0; k < 300; k++) s += X[i * 300 + k] * W[j * 300 + k];
        if (i === 0) expect(Number.isNaN(y[i * 9 + j])).toBe(true);
        else expect(y[i * 9 + j]).toBeCloseTo(Math.max(s, 0), 4);
      }
    }
  });

  it("gives the bias in every row for inputs with 0 features, as PyTorch (was uninitialised memory)", () => {
    for (const be of [createBackend("wasm"), createBackend("js")]) {
      const lin = onBackend(be, () => new nn.Linear(0, 3));
      lin.bias?.data.set([1.5, -2, 0.25]);
      be.heap.alloc(1 << 16); // dirty the memory the outputs will come from
      const x = tensor([], { shape: [4, 0], backend: be });
      expect(Array.from(lin(x).data)).toEqual([1.5, -2, 0.25, 1.5, -2, 0.25, 1.5, -2, 0.25, 1.5, -2, 0.25]);
      expect(Array.from(new nn.Sequential(lin, new nn.ReLU())(x).data)).toEqual([1.5, 0, 0.25, 1.5, 0, 0.25, 1.5, 0, 0.25, 1.5, 0, 0.25]);
    }
  });

  it("is not used when a Linear or ReLU subclass overrides forward", () => {
    class Shifted extends nn.Linear {
      override forward(x: Tensor): Tensor {
        return super.forward(x).add(-100); // everything negative: ReLU → 0
      }
    }
    const be = createBackend("wasm");
    const seq = onBackend(be, () => new nn.Sequential(new Shifted(4, 3), new nn.ReLU()));
    const y = seq(tensor([[1, 2, 3, 4]], { backend: be }));
    expect(Array.from(y.data)).toEqual([0, 0, 0]);
  });

  describe("with a 2-thread pool", () => {
    const be = createBackend("wasm");
    afterAll(() => be.setNumThreads(1));

    it("equals one thread and the unfused ops bit for bit, with the gemm split", async () => {
      const one = run(createBackend("wasm"), { rows: 512, IN: 300, OUT: 96, bias: true }, true);
      expect(be.setNumThreads(2)).toBe(2);
      await workersReady(be);
      const before = be.threadStats?.()?.postedSlices ?? 0;
      const c: Case = { rows: 512, IN: 300, OUT: 96, bias: true };
      const fused = run(be, c, true);
      expect(be.threadStats?.()?.postedSlices ?? 0).toBeGreaterThan(before);
      const plain = run(be, c, false);
      for (const k of ["y", "dx", "dw", "db"] as const) {
        expectSameBits(fused[k], one[k], `2 threads vs 1: ${k}`);
        expectSameBits(fused[k], plain[k], `fused vs unfused on 2 threads: ${k}`);
      }
    });
  });
});
