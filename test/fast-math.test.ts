// The fast-math kernels (relaxed SIMD): where the runtime lacks relaxed SIMD — this Node 20
// without its flag — initFastMath loads nothing and fastMath requests run the default kernels
// bit for bit; in a Node started with --experimental-wasm-relaxed-simd the fast kernels run,
// stay as close to float64 as the default ones, differ from them only in the last bits, and give
// the same bits with 1 and 2 threads (test/helpers/fast-math-child.ts).
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createBackend, initFastMath, manualSeed, nn, optim, rand, relaxedSimdSupported, setBackend, tensor } from "../src/index.js";
import type { Backend } from "../src/index.js";

const nodeMajor = Number(process.versions.node.split(".")[0]);

/** Five SGD steps of a small MLP on `be`: the final weights, bit for bit. */
function weightsAfterTraining(be: Backend): number[] {
  setBackend(be);
  manualSeed(0);
  const model = new nn.Sequential(new nn.Linear(30, 40), new nn.ReLU(), new nn.Linear(40, 4));
  const opt = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const x = rand([16, 30]),
    y = tensor(
      Int32Array.from({ length: 16 }, (_, i) => i % 4),
      { dtype: "int32" },
    );
  for (let i = 0; i < 5; i++) {
    opt.zeroGrad();
    nn.functional.crossEntropy(model.forward(x), y).backward();
    opt.step();
  }
  return model.parameters().flatMap((p) => p.toArray().flat() as number[]);
}

describe.runIf(nodeMajor < 21)("fast math on a runtime without relaxed SIMD (Node 20, no flag)", () => {
  it("initFastMath loads nothing and fastMath falls back to the default kernels, same bits", async () => {
    expect(relaxedSimdSupported()).toBe(false);
    expect(await initFastMath({ plain: "file:///nonexistent/a.wasm", shared: "file:///nonexistent/b.wasm" })).toBe(false);
    const asked = createBackend("wasm", { fastMath: true });
    expect(asked.fastMath).toBe(false);
    expect(weightsAfterTraining(asked)).toEqual(weightsAfterTraining(createBackend("wasm")));
  });
});

describe("fast math with relaxed SIMD (a Node child with --experimental-wasm-relaxed-simd)", () => {
  const child = spawnSync(
    process.execPath,
    ["--experimental-wasm-relaxed-simd", "--import", "tsx", "--conditions=wasmgrad-source", join(import.meta.dirname, "helpers", "fast-math-child.ts")],
    { encoding: "utf8", timeout: 120_000 },
  );
  const facts = (() => {
    try {
      return JSON.parse(child.stdout.trim().split("\n").pop() ?? "") as Record<string, unknown>;
    } catch {
      throw new Error(`the child printed no facts: ${child.stderr}`);
    }
  })();

  it("loads the fast kernels and reports them on the backends that run them", () => {
    expect(facts.supported).toBe(true);
    expect(facts.loaded).toBe(true);
    expect(facts.setFastMath).toBe(true);
    expect(facts.defaultIsFast).toBe(true);
    expect(facts.backends).toEqual([true, true, false]);
    expect([facts.distDefault, facts.distBackend]).toEqual([true, true]); // dist/kernels*-relaxed.wasm found by default
  });

  it("names a missing kernel file instead of falling back silently", () => {
    expect(facts.missingFile).toMatch(/^ValueError: initFastMath: cannot read .*no-such-kernels\.wasm/);
  });

  it("refuses to switch kernels under live tensors", () => {
    expect(facts.lateSwitch).toMatch(/^ValueError: setFastMath\(false\): the wasm backend is already running fast-math kernels/);
  });

  it("gemm stays as close to float64 as the default kernels, and 1 and 2 threads agree bitwise", () => {
    const exact = facts.gemmErrExact as number;
    expect(exact).toBeGreaterThan(0);
    expect(facts.gemmErrFast as number).toBeLessThan(2 * exact);
    expect(facts.gemmThreadsSame).toBe(true);
    expect(facts.gemmUnsharedSame).toBe(true);
  });

  it("attention and training stay within float32 rounding of the default kernels", () => {
    expect(facts.attentionMaxDiff as number).toBeLessThan(1e-5 * (facts.attentionMaxAbs as number));
    expect(facts.lossMaxDiff as number).toBeLessThan(1e-5);
  });
});
