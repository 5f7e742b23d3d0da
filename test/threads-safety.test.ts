// Memory safety of the thread pool: no worker may write into memory the main thread has given
// back. A gemm that fails (an OutOfMemoryError for scratch, any exception) returns only after
// every slice it handed out was taken back or finished; a closed pool keeps its control blocks
// until its workers have exited; and under random resizes, shutdowns and out-of-memory failures
// every result that is returned is bitwise the one-thread result. The same holds for range jobs
// (split-kernels.ts): a failing range rethrows only once the worker's range has finished.
import { describe, expect, it } from "vitest";
import { type Backend, createBackend } from "../src/backend/index.js";
import type { GemmArgs, ThreadPool } from "../src/backend/threads.js";
import { OutOfMemoryError } from "../src/errors.js";
import { Generator } from "../src/random.js";
import { matmul, noGrad, tensor } from "../src/index.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Allocates and fills n random floats on a backend; returns the pointer. */
function randomBuffer(be: Backend, n: number, g: Generator): number {
  const p = be.heap.alloc(n * 4);
  const f = be.f32();
  for (let i = 0; i < n; i++) f[(p >> 2) + i] = g.normal();
  return p;
}

/** Runs gemms on the pool until a worker has taken a slice (workers start asynchronously). */
async function warmPool(be: Backend): Promise<void> {
  const g = new Generator(1);
  const [M, N, K] = [256, 256, 256];
  const a = randomBuffer(be, M * K, g),
    b = randomBuffer(be, K * N, g),
    c = be.heap.alloc(M * N * 4);
  for (let i = 0; i < 200 && (be.threadStats()?.workerSlices ?? 0) === 0; i++) {
    be.gemm("nn", M, N, K, a, K, b, N, c, N, 0, false);
    await sleep(5);
  }
  for (const p of [a, b, c]) be.heap.free(p);
  expect(be.threadStats()?.workerSlices ?? 0).toBeGreaterThan(0);
}

describe("a failing threaded gemm", () => {
  it("returns or throws only after every handed-out slice has finished: no late writes into C", async () => {
    const be = createBackend("wasm");
    be.setNumThreads(2);
    await warmPool(be);
    const g = new Generator(2);
    const [M, N, K] = [512, 512, 512]; // ~270 MFLOP: a worker slice takes milliseconds
    const a = randomBuffer(be, M * K, g),
      b = randomBuffer(be, K * N, g),
      c = be.heap.alloc(M * N * 4);
    for (let trial = 0; trial < 5; trial++) {
      be.f32().fill(0, c >> 2, (c >> 2) + M * N);
      // The main thread's own slice fails at once (as an OutOfMemoryError for its scratch would).
      const failing = () => {
        throw new OutOfMemoryError("simulated: no memory for this thread's slice");
      };
      const args: GemmArgs = { form: "nn", M, N, K, a, lda: K, b, ldb: N, c, ldc: N, bias: 0, accumulate: false };
      const threaded = poolOf(be);
      expect(() => threaded.gemm(args, failing, () => {})).toThrow(OutOfMemoryError);
      const snapshot = be.f32().slice(c >> 2, (c >> 2) + M * N);
      await sleep(60);
      const later = be.f32().slice(c >> 2, (c >> 2) + M * N);
      expect(later).toEqual(snapshot); // nothing wrote into C after the throw
    }
    for (const p of [a, b, c]) be.heap.free(p);
    be.setNumThreads(1);
  }, 60_000);

  it("allocates all scratch before handing out work: an OutOfMemoryError there leaves no slice running", async () => {
    const be = createBackend("wasm");
    be.setNumThreads(2);
    await warmPool(be);
    const g = new Generator(3);
    const [M, N, K] = [512, 512, 512];
    const a = randomBuffer(be, M * K, g),
      b = randomBuffer(be, K * N, g),
      c = be.heap.alloc(M * N * 4);
    be.f32().fill(0, c >> 2, (c >> 2) + M * N);
    const args: GemmArgs = { form: "nn", M, N, K, a, lda: K, b, ldb: N, c, ldc: N, bias: 0, accumulate: false };
    let ranLocal = false;
    const reserve = () => {
      throw new OutOfMemoryError("simulated: no memory for scratch");
    };
    expect(() =>
      poolOf(be).gemm(
        args,
        () => {
          ranLocal = true;
        },
        reserve,
      ),
    ).toThrow(OutOfMemoryError);
    await sleep(60);
    expect(ranLocal).toBe(false);
    expect(
      be
        .f32()
        .subarray(c >> 2, (c >> 2) + M * N)
        .every((v) => v === 0),
    ).toBe(true); // no worker ran a slice
    for (const p of [a, b, c]) be.heap.free(p);
    be.setNumThreads(1);
  }, 60_000);
});

describe("a failing range job", () => {
  it("returns (rethrows) only after the worker's range has finished: nothing writes afterwards", async () => {
    const be = createBackend("wasm");
    be.setNumThreads(2);
    await warmPool(be);
    const pool = poolOf(be);
    const g = new Generator(4);
    const n = 4_000_003; // a worker range of 2M GELUs takes milliseconds
    const x = randomBuffer(be, n, g),
      y = be.heap.alloc(n * 4);
    const half = (y >> 2) + Math.round(n / 2 / 4) * 4; // the worker's first element
    let claimed = 0;
    for (let trial = 0; trial < 5; trial++) {
      be.f32().fill(0, y >> 2, (y >> 2) + n);
      // This thread's own range fails — once the worker has started its range (it wrote its
      // first element), so that the failure meets a running worker.
      const args = (lo: number, hi: number): number[] => {
        if (lo === 0) {
          for (const end = performance.now() + 2000; be.f32()[half] === 0 && performance.now() < end; );
          throw new OutOfMemoryError("simulated: this thread's range fails");
        }
        return [11, y + 4 * lo, x + 4 * lo, hi - lo, 0, 0]; // GELU (erf)
      };
      expect(() => pool.ranges("unary", n, 4, 1e9, args)).toThrow(OutOfMemoryError);
      const last = be.f32()[(y >> 2) + n - 1];
      if (be.f32()[half] !== 0) {
        claimed++;
        expect(last, "the worker's range had finished when the error came out").not.toBe(0);
      }
      const snapshot = Buffer.from(be.u8().slice(y, y + 4 * n));
      await sleep(60);
      expect(Buffer.from(be.u8().slice(y, y + 4 * n)).equals(snapshot)).toBe(true); // nothing wrote into y after the throw
    }
    expect(claimed, "a worker took its range in some trial").toBeGreaterThan(0);
    for (const p of [x, y]) be.heap.free(p);
    be.setNumThreads(1);
  }, 60_000);

  it("posts nothing when building an argument list fails", async () => {
    const be = createBackend("wasm");
    be.setNumThreads(2);
    await warmPool(be);
    const before = be.threadStats()!.postedSlices;
    expect(() => poolOf(be).ranges("relu", 1_000_000, 4, 1e9, (lo, hi) => [lo, hi])).toThrow(/relu takes 3 arguments, got 2/);
    await sleep(20);
    expect(be.threadStats()!.postedSlices).toBe(before);
    be.setNumThreads(1);
  }, 60_000);
});

/** The live pool of a wasm backend (a test-only look inside). */
function poolOf(be: Backend): ThreadPool {
  const stats = be.threadStats();
  expect(stats).not.toBeNull();
  const pool = be.threadPool?.() ?? null;
  expect(pool).not.toBeNull();
  return pool!;
}

describe("closing a pool", () => {
  it("keeps the workers' control blocks and scratch until the workers have exited (tensors allocated right after stay intact)", async () => {
    const be = createBackend("wasm");
    for (let trial = 0; trial < 12; trial++) {
      be.setNumThreads(2);
      await warmPool(be);
      const pool = poolOf(be);
      be.setNumThreads(1); // close(): the workers are still spinning right now
      // Fill whatever the heap hands out next with 7s: if it handed out a control block, a worker
      // that is still alive writes into it.
      const blocks: number[] = [];
      for (let i = 0; i < 64; i++) {
        const p = be.heap.alloc(64);
        be.f32().fill(7, p >> 2, (p >> 2) + 16);
        blocks.push(p);
      }
      await sleep(150);
      for (const p of blocks) expect(Array.from(be.f32().subarray(p >> 2, (p >> 2) + 16)).every((v) => v === 7)).toBe(true);
      for (const p of blocks) be.heap.free(p);
      expect(pool.closed).toBe(true);
      for (let i = 0; i < 100 && !pool.released; i++) await sleep(20);
      expect(pool.released).toBe(true); // and they did go back to the heap
    }
  }, 120_000);
});

describe("thread-pool stress", () => {
  it("random thread counts, shutdowns and out-of-memory failures: every returned product is bitwise the one-thread product", async () => {
    const g = new Generator(9);
    const single = createBackend("wasm", { maxMemoryBytes: 64 * 2 ** 20 });
    const be = createBackend("wasm", { maxMemoryBytes: 64 * 2 ** 20 });
    let ooms = 0;
    let checked = 0;
    for (let round = 0; round < 40; round++) {
      const threads = 1 + g.randint(3);
      be.setNumThreads(threads);
      if (g.random() < 0.5) await sleep(5);
      const M = 64 + g.randint(400),
        N = 64 + g.randint(400),
        K = 64 + g.randint(600);
      const av = Float32Array.from({ length: M * K }, () => g.normal());
      const bv = Float32Array.from({ length: K * N }, () => g.normal());
      // Sometimes leave too little memory: big ballast tensors, so scratch or output allocation fails.
      const ballast: number[] = [];
      if (g.random() < 0.4) {
        // Fill the memory (big blocks, then small ones), then give back 0–2.5 MiB: the product's
        // inputs, output or scratch may or may not fit, so allocations fail at different stages.
        for (const size of [4 * 2 ** 20, 64 * 2 ** 10]) {
          try {
            for (;;) ballast.push(be.heap.alloc(size));
          } catch (e) {
            expect(e).toBeInstanceOf(OutOfMemoryError);
          }
        }
        for (let i = g.randint(40); i > 0; i--) be.heap.free(ballast.pop()!);
      }
      try {
        const ours = noGrad(() => matmul(tensor(av, { shape: [M, K], backend: be }), tensor(bv, { shape: [K, N], backend: be })).toArray());
        const ref = noGrad(() => matmul(tensor(av, { shape: [M, K], backend: single }), tensor(bv, { shape: [K, N], backend: single })).toArray());
        expect(ours).toEqual(ref);
        checked++;
      } catch (e) {
        expect(e).toBeInstanceOf(OutOfMemoryError);
        ooms++;
      }
      for (const p of ballast) be.heap.free(p);
      if (g.random() < 0.3) be.setNumThreads(1); // shut the pool down right after a job
    }
    be.setNumThreads(1);
    expect(checked).toBeGreaterThan(20);
    expect(ooms).toBeGreaterThan(0);
  }, 180_000);
});
