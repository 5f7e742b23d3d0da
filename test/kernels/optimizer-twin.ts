// Shared by the optimizer kernel tests: runs a step kernel for a few steps on both backends over
// odd lengths (SIMD tails) with guard cells around every buffer, and compares wasm with its JS twin.
import { expect } from "vitest";
import type { Backend } from "../../src/backend/index.js";
import { Generator } from "../../src/random.js";
import { BACKENDS, ODD, type Buf, alloc, expectGuards, freeAll, randArray, read } from "./buffers.js";

/**
 * `run(be, p, g, state, step)` calls the kernel once; `stateCount` state buffers start at
 * `init` (0 by default). After three steps every buffer must match between the backends.
 */
export function checkTwin(name: string, stateCount: number, run: (be: Backend, p: Buf, g: Buf, state: Buf[], step: number) => void, init = 0, seed = 90): void {
  const gen = new Generator(seed);
  for (const n of ODD) {
    const P = randArray(gen, n),
      grads = [randArray(gen, n), randArray(gen, n, -0.1, 0.1), randArray(gen, n)];
    const results: Float32Array[][] = [];
    for (const be of BACKENDS) {
      const p = alloc(be, n, P),
        g = alloc(be, n);
      const state = Array.from({ length: stateCount }, (_, k) => alloc(be, n, new Float32Array(n).fill(init), { pre: 17 + k }));
      grads.forEach((G, s) => {
        be.f32().set(G, g.ptr >> 2);
        run(be, p, g, state, s + 1);
      });
      expectGuards(`${name} ${be.name}`, p, ...state);
      results.push([read(p), ...state.map(read)]);
      freeAll(p, g, ...state);
    }
    results[0].forEach((wasm, k) => {
      const ref = results[1][k];
      const big = ref.reduce((a, b) => Math.max(a, Math.abs(b)), 0);
      for (let i = 0; i < n; i++) {
        expect(Math.abs(wasm[i] - ref[i]), `${name} n=${n} buffer ${k} [${i}]: wasm ${wasm[i]} vs js ${ref[i]}`).toBeLessThanOrEqual(
          1e-5 * Math.abs(ref[i]) + 1e-6 * big,
        );
      }
    });
  }
}
