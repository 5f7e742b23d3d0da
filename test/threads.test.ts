// The worker pool: results bitwise identical to one thread, slices that cover C exactly once,
// silent fallback to one thread where a pool cannot run.
import { afterAll, describe, expect, it } from "vitest";
import { createBackend, type Backend } from "../src/backend/index.js";
import { splitGemm, type GemmArgs } from "../src/backend/threads.js";
import { workersReady } from "./helpers/threads.js";
import { DataLoader, Generator, data, getBackend, getNumThreads, manualSeed, nn, optim, setBackend, setNumThreads, tensor } from "../src/index.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the backend's pool has started its workers (they start asynchronously). */
async function withThreads(be: Backend, n: number): Promise<void> {
  expect(be.setNumThreads(n)).toBe(n);
  await workersReady(be);
}

function fillRandom(be: Backend, ptr: number, n: number, g: Generator): void {
  const f = be.f32();
  for (let i = 0; i < n; i++) f[(ptr >> 2) + i] = g.normal();
}

describe("thread pool", () => {
  const be = createBackend("wasm");
  afterAll(() => be.setNumThreads(1));

  it("runs on a shared memory where the runtime allows threads", () => {
    expect(be.memory.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it("gives bitwise the same gemm results with 1, 2 and 3 threads, all forms, split by rows or columns", async () => {
    const g = new Generator(5);
    // Big enough to be split (≥ 8 MFLOP); wider than tall splits by columns (M = 2 and 3: the dot
    // path for nt), taller by rows; 30×40 on 2 threads leaves a 16-column slice, which reads A in
    // place where the whole gemm packs it.
    const shapes: [number, number, number][] = [
      [100, 128, 784],
      [37, 300, 401],
      [2, 3000, 1500],
      [3, 2100, 1300],
      [260, 64, 300],
      [30, 40, 4000],
    ];
    const cases = shapes.flatMap(([M, N, K]) =>
      (["nn", "nt", "tn"] as const).map((form) => {
        const c = {
          form,
          M,
          N,
          K,
          A: be.heap.alloc(M * K * 4),
          B: be.heap.alloc(N * K * 4),
          bias: be.heap.alloc(N * 4),
          C: be.heap.alloc(M * N * 4),
          results: [] as Buffer[],
        };
        fillRandom(be, c.A, M * K, g);
        fillRandom(be, c.B, N * K, g);
        fillRandom(be, c.bias, N, g);
        return c;
      }),
    );
    for (const threads of [1, 2, 3]) {
      await withThreads(be, threads);
      for (const { form, M, N, K, A, B, bias, C, results } of cases) {
        fillRandom(be, C, M * N, new Generator(9)); // same start for the accumulate
        be.gemm(form, M, N, K, A, form === "tn" ? M : K, B, form === "nt" ? K : N, C, N, bias, true);
        results.push(Buffer.from(be.f32().slice(C >> 2, (C >> 2) + M * N).buffer));
      }
    }
    // The pool really ran slices on workers (not only on the main thread).
    expect(be.threadStats()!.splits).toBeGreaterThan(0);
    expect(be.threadStats()!.workerSlices).toBeGreaterThan(0);
    for (const { form, M, N, K, A, B, bias, C, results } of cases) {
      for (const r of results.slice(1)) expect(r.equals(results[0]), `${form} ${M}x${N}x${K}`).toBe(true);
      for (const p of [A, B, bias, C]) be.heap.free(p);
    }
  });

  it("splits a small gemm (1–8 MFLOP) only while the worker is spinning, with the same bits", async () => {
    const g = new Generator(11);
    const alloc = (M: number, N: number, K: number) => {
      const p = { M, N, K, A: be.heap.alloc(M * K * 4), B: be.heap.alloc(N * K * 4), C: be.heap.alloc(M * N * 4) };
      fillRandom(be, p.A, M * K, g);
      fillRandom(be, p.B, N * K, g);
      return p;
    };
    const small = alloc(100, 64, 128); // 1.6 MFLOP: the seed MLP's second layer
    const big = alloc(100, 128, 784); // 20 MFLOP: always split
    const run = (p: typeof small) => {
      be.gemm("nt", p.M, p.N, p.K, p.A, p.K, p.B, p.K, p.C, p.N, 0, false);
      return Buffer.from(be.f32().slice(p.C >> 2, (p.C >> 2) + p.M * p.N).buffer);
    };
    await withThreads(be, 1);
    const reference = run(small);
    await withThreads(be, 2);
    const splits = () => be.threadStats()!.splits;
    await sleep(50); // the worker spins 2 ms after its last job, then sleeps
    let before = splits();
    expect(run(small).equals(reference)).toBe(true);
    expect(splits(), "a small gemm is not split for a sleeping worker").toBe(before);
    let splitWhileHot = false;
    // Under a loaded machine the worker may miss a job (the main thread takes it back) or sleep
    // before the next one; keep trying for a while.
    for (const end = performance.now() + 5000; !splitWhileHot && performance.now() < end; ) {
      run(big);
      before = splits();
      expect(run(small).equals(reference)).toBe(true);
      splitWhileHot = splits() > before;
    }
    expect(splitWhileHot, "a small gemm right after a big one is split").toBe(true);
    for (const p of [small, big]) for (const ptr of [p.A, p.B, p.C]) be.heap.free(ptr);
  });

  it("splits into slices that cover every row or column exactly once", () => {
    const base: GemmArgs = { form: "nn", M: 0, N: 0, K: 5, a: 1000, lda: 7, b: 5000, ldb: 9, c: 9000, ldc: 11, bias: 0, accumulate: false };
    for (const [M, N, parts] of [
      [100, 128, 2],
      [101, 7, 3],
      [9, 100, 2],
      [3, 200, 2],
      [1, 10, 2],
    ]) {
      for (const form of ["nn", "nt", "tn", "dot"] as const) {
        const g = { ...base, form, M, N, ldc: N + 3, bias: 64 };
        const slices = splitGemm(g, parts);
        const byRows = slices.length > 1 && slices[0].N === N && slices.some((s) => s.M !== M);
        const cells = new Set<number>();
        for (const s of slices) {
          for (let i = 0; i < s.M; i++)
            for (let j = 0; j < s.N; j++) {
              const at = (s.c - g.c) / 4 + i * g.ldc + j; // element index into C
              expect(cells.has(at)).toBe(false);
              cells.add(at);
            }
          if (byRows) {
            const r0 = (s.c - g.c) / 4 / g.ldc;
            expect(s.a - g.a).toBe(form === "tn" ? r0 * 4 : r0 * g.lda * 4);
          } else if (slices.length > 1) {
            const c0 = (s.c - g.c) / 4;
            expect(s.b - g.b).toBe(form === "nt" || form === "dot" ? c0 * g.ldb * 4 : c0 * 4);
            expect(s.bias - g.bias).toBe(c0 * 4);
          }
        }
        expect(cells.size).toBe(M * N);
      }
    }
  });

  it("trains the seed MLP to bitwise identical weights with 1 and 2 threads", async () => {
    const train = async (threads: number) => {
      setBackend("wasm");
      setNumThreads(threads);
      await sleep(300);
      manualSeed(0);
      const g = new Generator(1);
      const x = tensor(
        Float32Array.from({ length: 1000 * 784 }, () => g.normal()),
        { shape: [1000, 784] },
      );
      const y = tensor(Int32Array.from({ length: 1000 }, () => g.randint(10)));
      const model = new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 64), new nn.ReLU(), new nn.Linear(64, 10));
      const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
      const loss = new nn.CrossEntropyLoss();
      for (const [xb, yb] of new DataLoader(new data.TensorDataset(x, y), { batchSize: 500, shuffle: true })) {
        opt.zeroGrad();
        loss(model(xb), yb).backward();
        opt.step();
      }
      return model.parameters().map((p) => Buffer.from(p.data.slice().buffer));
    };
    const one = await train(1);
    const two = await train(2);
    expect(getNumThreads()).toBe(2);
    expect(getBackend().threadStats()!.workerSlices).toBeGreaterThan(0);
    setNumThreads(1);
    two.forEach((b, i) => expect(b.equals(one[i])).toBe(true));
  });

  it("falls back to one thread silently where there is no pool", () => {
    expect(createBackend("js").setNumThreads(4)).toBe(1);
    const plain = createBackend("wasm", { shared: false });
    expect(plain.memory.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    expect(plain.setNumThreads(2)).toBe(1);
    expect(plain.getNumThreads()).toBe(1);
    expect(() => setNumThreads(0)).toThrow(/integer from 1 to 256/);
  });
});

describe("activations on threads", () => {
  it("GELU (tanh), SiLU and exp forward and backward split by element ranges, bitwise equal to one thread", async () => {
    const run = async (threads: number) => {
      const be = createBackend("wasm");
      expect(be.setNumThreads(threads)).toBe(threads);
      await workersReady(be);
      const g = new Generator(3);
      // 500,003 elements (past the split threshold of a sleeping worker; not a multiple of 4, so the
      // last range has a scalar tail)
      const x = tensor(
        Float32Array.from({ length: 500_003 }, () => g.normal() * 3),
        { backend: be, requiresGrad: true },
      );
      const y = nn.functional.gelu(x, { approximate: "tanh" }).add(nn.functional.silu(x)).add(x.mul(0.1).exp());
      y.mul(y).sum().backward();
      const out = [...y.toArray(), ...x.grad!.toArray()];
      const splits = be.threadStats()?.splits ?? 0;
      be.setNumThreads(1);
      return { out, splits };
    };
    const one = await run(1);
    const two = await run(2);
    expect(two.splits, "the pool took ranges").toBeGreaterThan(0);
    expect(two.out).toEqual(one.out);
  });
});
