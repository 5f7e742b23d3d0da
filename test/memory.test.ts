// Memory lifetimes: a training loop's memory stays flat; step tensors are released two steps
// later (and throw on access) unless kept; noGrad releases its temporaries; memory growth keeps
// tensors readable; an allocation beyond the limit throws OutOfMemoryError and the backend
// carries on.
import { describe, expect, it } from "vitest";
import { createBackend, type Backend } from "../src/backend/index.js";
import { type Tensor, tensor, zeros } from "../src/tensor.js";
import * as ops from "../src/ops/index.js";
import { noGrad, stepScopeSizes } from "../src/lifetime.js";
import { Generator } from "../src/random.js";
import { OutOfMemoryError, ReleasedTensorError } from "../src/errors.js";

const NAMES = ["wasm", "js"] as const;

function uniform(g: Generator, n: number, bound: number): Float32Array {
  return Float32Array.from({ length: n }, () => g.uniform(-bound, bound));
}

/** A 20→32→ReLU→5 MLP with 4 fixed batches of 16 whose labels come from a random linear teacher. */
function makeMlp(be: Backend, seed = 7) {
  const g = new Generator(seed);
  const param = (shape: number[], fanIn: number) =>
    tensor(uniform(g, shape[0] * (shape[1] ?? 1), 1 / Math.sqrt(fanIn)), { shape, backend: be, requiresGrad: true });
  const params = [param([32, 20], 20), param([32], 20), param([5, 32], 32), param([5], 32)];
  const teacher = uniform(g, 5 * 20, 1);
  const batches = Array.from({ length: 4 }, () => {
    const x = uniform(g, 16 * 20, 1);
    const labels = Int32Array.from({ length: 16 }, (_, i) => {
      let best = 0,
        bestV = -Infinity;
      for (let c = 0; c < 5; c++) {
        let v = 0;
        for (let k = 0; k < 20; k++) v += x[i * 20 + k] * teacher[c * 20 + k];
        if (v > bestV) {
          bestV = v;
          best = c;
        }
      }
      return best;
    });
    return { x: tensor(x, { shape: [16, 20], backend: be }), y: tensor(labels, { backend: be }) };
  });
  const [W1, b1, W2, b2] = params;
  /** One training step: forward, backward, SGD via axpy inside noGrad, grads disposed. */
  const step = (k: number, lr = 0.1) => {
    const { x, y } = batches[k % batches.length];
    const h = ops.linear(x, W1, b1).relu();
    const loss = ops.crossEntropy(ops.linear(h, W2, b2), y);
    loss.backward();
    const value = loss.item();
    noGrad(() => {
      for (const p of params) {
        be.axpy(p.ptr, p.grad!.ptr, -lr, p.size);
        p.grad!.dispose();
        p.grad = null;
      }
    });
    return { h, loss, value };
  };
  const dispose = () => {
    for (const p of params) p.dispose();
    for (const b of batches) {
      b.x.dispose();
      b.y.dispose();
    }
  };
  return { params, step, dispose };
}

describe("training memory is flat", () => {
  for (const name of NAMES) {
    it(`${name}: 1,000 SGD steps of a 20→32→5 MLP; heap and memory stop growing after step 10`, () => {
      const be = createBackend(name);
      const mlp = makeMlp(be);
      const losses: number[] = [];
      let warm: ReturnType<Backend["heap"]["stats"]> | null = null;
      let warmScopes: ReturnType<typeof stepScopeSizes> | null = null;
      const worst = { liveBytes: 0, reservedBytes: 0, memoryBytes: 0, liveBlocks: 0, scope: 0 };
      for (let k = 1; k <= 1000; k++) {
        losses.push(mlp.step(k).value);
        const s = be.heap.stats();
        if (k === 10) {
          warm = s;
          warmScopes = stepScopeSizes();
        } else if (k > 10) {
          worst.liveBytes = Math.max(worst.liveBytes, s.liveBytes);
          worst.reservedBytes = Math.max(worst.reservedBytes, s.reservedBytes);
          worst.memoryBytes = Math.max(worst.memoryBytes, s.memoryBytes);
          worst.liveBlocks = Math.max(worst.liveBlocks, s.liveBlocks);
          const sc = stepScopeSizes();
          worst.scope = Math.max(worst.scope, sc.current + sc.previous);
        }
      }
      expect(warm).not.toBeNull();
      expect(worst.liveBytes, "liveBytes grew after warm-up").toBeLessThanOrEqual(warm!.liveBytes);
      expect(worst.liveBlocks, "live blocks grew after warm-up").toBeLessThanOrEqual(warm!.liveBlocks);
      expect(worst.reservedBytes, "reservedBytes grew after warm-up").toBeLessThanOrEqual(warm!.reservedBytes);
      expect(worst.memoryBytes, "memory grew after warm-up").toBeLessThanOrEqual(warm!.memoryBytes);
      expect(be.memory.buffer.byteLength).toBe(warm!.memoryBytes);
      expect(worst.scope, "step scopes grew").toBeLessThanOrEqual(warmScopes!.current + warmScopes!.previous);
      // It trained: the loss fell (the labels come from a linear teacher).
      const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(mean(losses.slice(-20))).toBeLessThan(0.5 * mean(losses.slice(0, 20)));
      // Disposing everything persistent returns the heap to (about) nothing: only step
      // tensors of the last two steps remain until the next backward.
      mlp.dispose();
      expect(be.heap.stats().liveBytes).toBeLessThan(warm!.liveBytes);
    });
  }
});

describe("step lifetimes", () => {
  for (const name of NAMES) {
    it(`${name}: a tensor from two steps ago throws ReleasedTensorError; .keep() prevents it`, () => {
      const be = createBackend(name);
      const mlp = makeMlp(be, 11);
      const s1 = mlp.step(1);
      const h1Values = Array.from(s1.h.data);
      // Still readable after its own backward (loss.item() after backward() is the usual pattern).
      expect(s1.loss.item()).toBe(s1.value);
      const kept = s1.h.keep();
      expect(kept).toBe(s1.h);

      const s2 = mlp.step(2);
      const s2h = s2.h; // not kept
      expect(s2.loss.item()).toBe(s2.value); // the current step is readable
      expect(Array.from(s1.h.data), "kept tensor intact").toEqual(h1Values);

      mlp.step(3); // ends step 3: releases step 2
      expect(() => s2h.data).toThrow(ReleasedTensorError);
      expect(() => s2h.toArray()).toThrow(ReleasedTensorError);
      expect(() => s2.loss.item()).toThrow(ReleasedTensorError);
      expect(() => s2h.add(1)).toThrow(ReleasedTensorError);
      expect(() => s2h.keep()).toThrow(ReleasedTensorError);
      expect(() => s2h.data).toThrow(/keep\(\)/); // the message says how to hold it longer

      for (let k = 4; k < 10; k++) mlp.step(k);
      expect(Array.from(s1.h.data), "kept tensor survives many steps unchanged").toEqual(h1Values);
      const live = be.heap.stats().liveBytes;
      s1.h.dispose();
      expect(be.heap.stats().liveBytes).toBeLessThan(live);
      expect(() => s1.h.data).toThrow(ReleasedTensorError);
      mlp.dispose();
    });

    it(`${name}: noGrad releases its temporaries on exit and keeps what it returns`, () => {
      const be = createBackend(name);
      const a = tensor([1, -2, 3, -4, 5], { backend: be });
      const before = be.heap.stats().liveBytes;
      let inner: Tensor | null = null;
      const r = noGrad(() => {
        inner = a.mul(2);
        const t = inner.add(1);
        return t.relu();
      });
      expect(() => inner!.data).toThrow(ReleasedTensorError);
      expect(Array.from(r.data)).toEqual([3, 0, 7, 0, 11]);
      const oneBlock = be.heap.stats().liveBytes - before;
      expect(oneBlock).toBeGreaterThan(0);
      expect(be.heap.stats().liveBlocks).toBeGreaterThan(0);

      // Returned arrays and objects of tensors are kept too; nested scopes hand results outward.
      let nestedTemp: Tensor | null = null;
      const { p, q } = noGrad(() => {
        const [x, y] = noGrad(() => {
          nestedTemp = a.mul(3);
          return [nestedTemp.add(1), a.sub(1)];
        });
        expect(() => nestedTemp!.data).toThrow(ReleasedTensorError);
        const scratch = x.mul(y);
        return { p: scratch.add(0), q: y };
      });
      expect(Array.from(p.data)).toEqual([0, 15, 20, 55, 64]);
      expect(Array.from(q.data)).toEqual([0, -3, 2, -5, 4]);

      // Results are persistent: they outlive training steps.
      const mlp = makeMlp(be, 12);
      for (let k = 0; k < 3; k++) mlp.step(k);
      expect(Array.from(r.data)).toEqual([3, 0, 7, 0, 11]);
      mlp.dispose();

      const beforeDispose = be.heap.stats().liveBytes;
      r.dispose();
      p.dispose();
      q.dispose();
      expect(be.heap.stats().liveBytes).toBe(beforeDispose - 3 * oneBlock);
      a.dispose();
    });

    it(`${name}: memory growth keeps old tensors readable (views refreshed)`, () => {
      const be = createBackend(name);
      const g = new Generator(3);
      const vals = uniform(g, 1000, 10);
      const t = tensor(vals, { backend: be });
      const W = tensor(uniform(g, 4000 * 10, 1), { shape: [4000, 10], backend: be });
      const x = tensor(uniform(g, 1000 * 10, 1), { shape: [1000, 10], backend: be });
      const mem0 = be.memory.buffer.byteLength;

      // The output of this op (1000×4000 floats, 16 MB) does not fit: the op's own allocation grows memory.
      const y = ops.linear(x, W);
      expect(be.memory.buffer.byteLength).toBeGreaterThan(mem0);
      expect(Array.from(t.data)).toEqual(Array.from(vals));
      expect(t.data.buffer).toBe(be.memory.buffer);
      expect(be.f32().buffer).toBe(be.memory.buffer);
      const xs = x.data,
        ws = W.data,
        ys = y.data;
      for (const [i, o] of [
        [0, 0],
        [999, 3999],
        [517, 2048],
      ]) {
        let s = 0;
        for (let k = 0; k < 10; k++) s += xs[i * 10 + k] * ws[o * 10 + k];
        expect(Math.abs(ys[i * 4000 + o] - s)).toBeLessThan(1e-5);
      }

      // And again through a factory, then arithmetic on a tensor created before both growths.
      const mem1 = be.memory.buffer.byteLength;
      const big = zeros([12 << 20], { backend: be });
      expect(be.memory.buffer.byteLength).toBeGreaterThan(mem1);
      expect(Array.from(t.mul(2).data)).toEqual(Array.from(vals, (v) => Math.fround(v * 2)));
      expect(big.data[big.size - 1]).toBe(0);
      for (const z of [t, W, x, y, big]) z.dispose();
    });

    it(`${name}: backward growing memory mid-way gives the same gradients`, () => {
      const run = (be: Backend) => {
        const g = new Generator(21);
        const x = tensor(uniform(g, 600 * 50, 1), { shape: [600, 50], backend: be });
        const W = tensor(uniform(g, 700 * 50, 0.1), { shape: [700, 50], backend: be, requiresGrad: true });
        const labels = tensor(
          Int32Array.from({ length: 600 }, (_, i) => i % 700),
          { backend: be },
        );
        ops.crossEntropy(ops.linear(x, W).relu(), labels).backward();
        return { grad: Array.from(W.grad!.data), mem: be.memory.buffer.byteLength };
      };
      // A roomy backend first (grown in advance), then a fresh one that grows during the step.
      const roomy = createBackend(name);
      roomy.heap.free(roomy.heap.alloc(48 << 20));
      const a = run(roomy);
      const fresh = createBackend(name);
      const mem0 = fresh.memory.buffer.byteLength;
      const b = run(fresh);
      expect(b.mem).toBeGreaterThan(mem0);
      expect(b.grad).toEqual(a.grad);
    });
  }
});

describe("out of memory", () => {
  for (const name of NAMES) {
    it(`${name}: an OutOfMemoryError inside gemm (its packing scratch) leaves no dangling memory`, () => {
      const be = createBackend(name, { maxMemoryBytes: 64 << 20 });
      const f = () => be.f32();
      const alloc = (n: number, v: number) => {
        const p = be.heap.alloc(n * 4);
        f().fill(v, p >> 2, (p >> 2) + n);
        return p;
      };
      // A small product first (the wasm backend sizes its packing scratch here).
      const a = alloc(128, 1),
        b = alloc(128, 1),
        c = alloc(128, 0);
      be.gemm("nn", 8, 8, 8, a, 8, b, 8, c, 8, 0, false);
      expect(f()[c >> 2]).toBe(8);
      // Aᵀ·B with M = 100,000 rows: packing Aᵀ needs ~100 MB of scratch, beyond the limit.
      const M = 100_000;
      const at = alloc(M, 1),
        bt = alloc(1, 2),
        ct = alloc(M, 0);
      let threw: unknown = null;
      try {
        be.gemm("tn", M, 1, 1, at, M, bt, 1, ct, 1, 0, false);
      } catch (e) {
        threw = e;
      }
      if (threw !== null) expect(threw).toBeInstanceOf(OutOfMemoryError);
      else expect(f()[(ct >> 2) + M - 1]).toBe(2); // a backend without scratch just computes it
      // New blocks of every size class near the scratch's must not be written by later products.
      const victims = [2000, 2100, 2200, 2300, 2400, 2600, 3000].map((n) => ({ n, p: alloc(n, 42) }));
      be.gemm("nn", 8, 8, 8, a, 8, b, 8, c, 8, 0, false);
      be.gemm("nt", 9, 9, 8, a, 8, b, 8, c, 9, 0, false);
      be.gemm("tn", 8, 8, 8, a, 8, b, 8, c, 8, 0, false);
      expect(f()[c >> 2]).toBe(8);
      for (const { n, p } of victims) {
        const data = f().subarray(p >> 2, (p >> 2) + n);
        expect(
          data.every((v) => v === 42),
          `block of ${n} floats overwritten by gemm`,
        ).toBe(true);
      }
    });

    it(`${name}: OutOfMemoryError beyond maxMemoryBytes (64 MiB); the backend keeps working`, () => {
      const be = createBackend(name, { maxMemoryBytes: 64 << 20 });
      const keep = tensor([1, 2, 3], { backend: be });
      expect(() => zeros([32 << 20], { backend: be })).toThrow(OutOfMemoryError); // 128 MiB
      expect(() => zeros([32 << 20], { backend: be })).toThrow(/64\.0 MiB/);
      expect(be.memory.buffer.byteLength).toBeLessThanOrEqual(64 << 20);

      // Fits alone, not next to another one of its size.
      const big = zeros([10 << 20], { backend: be }); // 40 MiB
      expect(() => zeros([10 << 20], { backend: be })).toThrow(OutOfMemoryError);
      // From inside an op: the output of [4096,1]·[1,4096] is 64 MiB.
      const u = tensor(new Float32Array(4096).fill(1), { shape: [4096, 1], backend: be });
      const v = tensor(new Float32Array(4096).fill(2), { shape: [1, 4096], backend: be });
      expect(() => u.matmul(v)).toThrow(OutOfMemoryError);
      big.dispose();
      const again = zeros([10 << 20], { backend: be }); // the freed block serves it
      expect(again.data[123]).toBe(0);
      again.dispose();

      // Still computes correctly, old tensors intact, and training still works.
      expect(Array.from(keep.add(keep).data)).toEqual([2, 4, 6]);
      const w = u.reshape(64, 64).matmul(v.reshape(64, 64));
      expect(w.data[0]).toBe(128);
      const mlp = makeMlp(be, 5);
      const first = mlp.step(0).value;
      let last = first;
      for (let k = 1; k < 50; k++) last = mlp.step(k).value;
      expect(last).toBeLessThan(first);
      expect(be.memory.buffer.byteLength).toBeLessThanOrEqual(64 << 20);
      mlp.dispose();
    });
  }
});
